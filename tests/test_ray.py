"""The ray executor: the same build on Ray, byte for byte, on a local Ray instance and on one
started separately (``ray start --head``) that the build joins."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from corpuspack.build import build
from corpuspack.config import zero_config

from .conftest import make_tree

ray = pytest.importorskip("ray")

ENV = {**os.environ, "CI": "1", "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def digests(package: Path) -> dict[str, str]:
    return {p.relative_to(package).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(package.rglob("*")) if p.is_file()
            and not p.name.startswith(".corpuspack")}


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tree(tmp_path_factory.mktemp("ray-tree"))


@pytest.fixture(scope="module")
def local_build(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("local") / "pkg"
    build(zero_config(tree, out), workers=2, cache=None)
    return digests(out)


def _elsewhere(request: pytest.FixtureRequest) -> bool:
    """Run the calling test in a pytest process of its own and return True once it passed
    there; False in that process. Ray's threads outlive ray.shutdown, and a reader forked
    later from a process holding them (gRPC's among them) can deadlock: one did, in a
    test run of every test in random order."""
    nodeid = request.node.nodeid
    if os.environ.get("CORPUSPACK_OWN_PROCESS") == nodeid:
        return False
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "-p",
                           "no:cacheprovider", nodeid], cwd=request.config.rootpath,
                          env={**os.environ, "CORPUSPACK_OWN_PROCESS": nodeid},
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    return True


def test_a_local_ray_instance_gives_the_same_bytes(tree: Path, tmp_path: Path,
                                                   local_build: dict[str, str],
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   request: pytest.FixtureRequest) -> None:
    if _elsewhere(request):
        return
    from corpuspack.executors import get_executor

    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    # the duplicate passes in 4 partitions, each a Ray task (the local build: one per worker)
    monkeypatch.setenv("CORPUSPACK_PARTITIONS", "4")
    executor = get_executor("ray", workers=2)
    try:
        assert executor.workers == 2
        out = tmp_path / "pkg"
        report = build(zero_config(tree, out), executor=executor, cache=None)
        assert report.documents_written > 5
        assert report.duplicates_dropped and report.near_duplicates_dropped  # exercised
        assert ray.is_initialized()  # an executor given is the caller's to close
    finally:
        executor.close()  # type: ignore[attr-defined]
    assert not ray.is_initialized()
    assert digests(out) == local_build
    # named, the executor is made by build, which stops the instance it started
    again = tmp_path / "again" / "pkg"
    build(zero_config(tree, again), executor="ray", workers=2, cache=None)
    assert not ray.is_initialized()
    assert digests(again) == local_build


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_joining_a_ray_cluster_started_separately(tree: Path, tmp_path: Path,
                                                  local_build: dict[str, str]) -> None:
    ray_cli = shutil.which("ray") or str(Path(sys.executable).parent / "ray")
    port = _free_port()
    # a short path: Ray's socket paths under it must fit AF_UNIX's 107 bytes
    temp = Path(tempfile.mkdtemp(prefix="cpray-", dir="/tmp"))
    start = subprocess.run(
        [ray_cli, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
         "--num-cpus", "2", "--include-dashboard", "false", "--temp-dir", str(temp),
         "--disable-usage-stats"], capture_output=True, text=True, env=ENV, timeout=120)
    assert start.returncode == 0, start.stderr[-2000:]
    try:
        out = tmp_path / "pkg"
        done = subprocess.run(
            [sys.executable, "-m", "corpuspack.cli", "build", str(tree), "--out", str(out),
             "--executor", "ray", "--ray-address", f"127.0.0.1:{port}", "--no-cache"],
            capture_output=True, text=True, env=ENV, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        assert digests(out) == local_build
        # the cluster it joined is still there: the build left it running
        status = subprocess.run([ray_cli, "status", "--address", f"127.0.0.1:{port}"],
                                capture_output=True, text=True, env=ENV, timeout=60)
        assert status.returncode == 0, status.stderr[-2000:]
    finally:
        subprocess.run([ray_cli, "stop", "--force"], capture_output=True, env=ENV, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


def _square_slowly(n: int) -> int:
    import time

    time.sleep(0.2)
    return n * n


def test_an_interrupted_map_stops_the_local_instance_and_the_next_starts_one(
        monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    if _elsewhere(request):
        return
    from corpuspack.executors import get_executor

    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    monkeypatch.setenv("RAY_USAGE_STATS_ENABLED", "0")
    executor = get_executor("ray", workers=2)
    try:
        results = executor.map(_square_slowly, range(40))
        next(results)
        with pytest.raises(KeyboardInterrupt):
            results.throw(KeyboardInterrupt)  # Ctrl-C while tasks run
        assert not ray.is_initialized()  # every task stopped with the instance
        assert sorted(executor.map(_square_slowly, range(5))) == [0, 1, 4, 9, 16]
    finally:
        executor.close()  # type: ignore[attr-defined]
    assert not ray.is_initialized()
