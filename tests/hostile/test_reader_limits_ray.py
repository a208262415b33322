"""A file that crashes its reader under the ray executor: the reader is forked from a Ray
worker (a process running Ray's threads), and the file is skipped as under the local pool,
the package the same bytes."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from corpuspack.build import build
from corpuspack.config import zero_config
from corpuspack.guard import MEMORY_REASON
from corpuspack.sources import formats
from tests.hostile.test_reader_limits import _crashing, _data, _reasons, _tree

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="readers are forked")
ROOT = Path(__file__).resolve().parents[2]


def crashing_text() -> None:
    """Each Ray worker's setup hook: the text format's reader crashes on a file starting
    with CRASH (the crashing_reader fixture, in a process the test does not run)."""
    formats.FORMATS["text"] = replace(formats.FORMATS["text"], read=_crashing)


def test_a_crashing_file_under_ray_is_skipped_as_under_the_local_pool(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from corpuspack.executors import get_executor

    src = _tree(tmp_path, {"page-04b.txt": b"CRASH here\n", "page-10b.txt": b"CRASH too\n"})
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False,
             runtime_env={"worker_process_setup_hook": crashing_text,
                          "env_vars": {"PYTHONPATH": path}})
    try:
        executor = get_executor("ray", workers=2)
        report = build(zero_config(src, tmp_path / "ray"), executor=executor, cache=None)
    finally:
        ray.shutdown()
    assert _reasons(report) == {"page-04b.txt": MEMORY_REASON,
                                "page-10b.txt": MEMORY_REASON}
    assert report.files_skipped == 2 and report.documents_written == 12
    monkeypatch.setitem(formats.FORMATS, "text",
                        replace(formats.FORMATS["text"], read=_crashing))
    build(zero_config(src, tmp_path / "local"), workers=2, cache=None)
    assert _data(tmp_path / "ray") == _data(tmp_path / "local")
