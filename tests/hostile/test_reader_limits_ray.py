"""A file that crashes its reader under the ray executor: the reader is forked from a Ray
worker (a process running Ray's threads), and the file is skipped as under the local pool,
the package the same bytes. Ray runs in a process of its own: its threads outlive
ray.shutdown, and readers forked later from a process holding them could deadlock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from corpuspack.build import build
from corpuspack.config import zero_config
from corpuspack.guard import MEMORY_REASON
from corpuspack.sources import formats
from tests.hostile.test_reader_limits import _crashing, _data, _tree

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="readers are forked")
ROOT = Path(__file__).resolve().parents[2]

_ON_RAY = """
import json, sys
from pathlib import Path

import ray

from corpuspack.build import build
from corpuspack.config import zero_config
from corpuspack.executors import get_executor
from tests.hostile.test_reader_limits_ray import crashing_text

src, out, path = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False,
         runtime_env={"worker_process_setup_hook": crashing_text,
                      "env_vars": {"PYTHONPATH": path}})
try:
    report = build(zero_config(src, out), executor=get_executor("ray", workers=2), cache=None)
finally:
    ray.shutdown()
print(json.dumps([{s.path: s.reason for s in report.first_skipped}, report.files_skipped,
                  report.documents_written]))
"""


def crashing_text() -> None:
    """Each Ray worker's setup hook: the text format's reader crashes on a file starting
    with CRASH (the crashing_reader fixture, in a process the test does not run)."""
    formats.FORMATS["text"] = replace(formats.FORMATS["text"], read=_crashing)


def test_a_crashing_file_under_ray_is_skipped_as_under_the_local_pool(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    src = _tree(tmp_path, {"page-04b.txt": b"CRASH here\n", "page-10b.txt": b"CRASH too\n"})
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, "PYTHONPATH": path, "RAY_AUTH_MODE": "disabled",
           "RAY_USAGE_STATS_ENABLED": "0", "CI": "1"}
    done = subprocess.run([sys.executable, "-c", _ON_RAY, str(src), str(tmp_path / "ray"),
                           path], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    reasons, skipped, written = json.loads(done.stdout.strip().splitlines()[-1])
    assert reasons == {"page-04b.txt": MEMORY_REASON, "page-10b.txt": MEMORY_REASON}
    assert (skipped, written) == (2, 12)
    monkeypatch.setitem(formats.FORMATS, "text",
                        replace(formats.FORMATS["text"], read=_crashing))
    build(zero_config(src, tmp_path / "local"), workers=2, cache=None)
    assert _data(tmp_path / "ray") == _data(tmp_path / "local")
