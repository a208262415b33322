"""The executor seam: the same bytes whatever runs the tasks, in whatever order they finish."""

from __future__ import annotations

import hashlib
import os
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

from corpuspack.build import build
from corpuspack.config import zero_config
from corpuspack.errors import CorpusError, UsageError
from corpuspack.executors import (
    Executor,
    LocalExecutor,
    SerialExecutor,
    executor_names,
    get_executor,
    register,
)

T = TypeVar("T")
R = TypeVar("R")


def package_bytes(package: Path) -> dict[str, str]:
    """sha256 of every file a build wrote (the cache beside it aside)."""
    return {str(p.relative_to(package)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(package.rglob("*"))
            if p.is_file() and not p.relative_to(package).parts[0].startswith(".corpuspack")}


class Reversed:
    """Runs every task in this process and hands the results back in reverse order."""

    name = "reversed"

    def __init__(self, workers: int | None = None) -> None:
        self.calls = 0

    @property
    def workers(self) -> int:
        return 3

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        self.calls += 1
        results = [fn(item) for item in items]
        yield from reversed(results)


def test_same_bytes_on_every_executor(tree: Path, tmp_path: Path) -> None:
    outputs = []
    reversed_executor = Reversed()
    for i, executor in enumerate([SerialExecutor(), "serial", LocalExecutor(2), "local",
                                  reversed_executor]):
        config = zero_config(tree, tmp_path / str(i) / "pkg")
        build(config, executor=executor)
        outputs.append(package_bytes(config.package_dir))
    assert reversed_executor.calls >= 1
    assert all(out == outputs[0] for out in outputs[1:])
    assert isinstance(reversed_executor, Executor)


def test_registry() -> None:
    assert {"local", "serial"} <= set(executor_names())
    assert isinstance(get_executor("serial"), SerialExecutor)
    local = get_executor("local", workers=3)
    assert isinstance(local, LocalExecutor) and local.workers == 3
    with pytest.raises(UsageError, match="unknown executor 'nope'"):
        get_executor("nope")
    register("reversed-test", Reversed)
    assert isinstance(get_executor("reversed-test"), Reversed)
    register("missing-test", "corpuspack_no_such_module:Engine")
    with pytest.raises(UsageError, match="not installed"):
        get_executor("missing-test")


def _fail_on_three(n: int) -> int:
    if n == 3:
        raise ValueError("task 3 failed")
    return n


def _die(n: int) -> int:
    if n == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return n


def test_a_task_error_stops_the_pool() -> None:
    with pytest.raises(ValueError, match="task 3 failed"):
        list(LocalExecutor(2).map(_fail_on_three, range(10)))


def test_a_killed_worker_is_one_error() -> None:
    with pytest.raises(CorpusError, match="a worker process died"):
        list(LocalExecutor(2).map(_die, range(10)))


def test_results_are_complete_whatever_the_order() -> None:
    assert sorted(LocalExecutor(2).map(_fail_on_three, [1, 2, 4, 5, 6])) == [1, 2, 4, 5, 6]
    assert list(SerialExecutor().map(str, [1, 2])) == ["1", "2"]


def _freeze_count(_: int) -> int:
    import gc

    return gc.get_freeze_count()


class Recording:
    """Runs tasks in this process and records how many objects were frozen meanwhile."""

    name = "recording"
    workers = 1

    def __init__(self) -> None:
        self.frozen: list[int] = []

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        import gc

        self.frozen.append(gc.get_freeze_count())
        yield from (fn(item) for item in items)


def test_the_heap_is_frozen_for_a_build_and_its_workers_and_unfrozen_after(
        tree: Path, tmp_path: Path) -> None:
    import gc

    from corpuspack.executors import frozen_heap

    assert gc.get_freeze_count() == 0
    with frozen_heap():
        frozen = gc.get_freeze_count()
        assert frozen > 0
        # workers forked inside see the parent's objects frozen (never scanned or copied;
        # a few die in the worker). Not when another test left threads in this process
        # (Ray's): the pool then starts its workers from a fork server (executors.py)
        counts = list(LocalExecutor(2).map(_freeze_count, range(4)))
        if threading.active_count() == 1:
            assert all(n > frozen // 2 for n in counts)
    assert gc.get_freeze_count() == 0
    assert all(n > 0 for n in LocalExecutor(2).map(_freeze_count, range(4)))  # its own
    assert gc.get_freeze_count() == 0
    recording = Recording()
    build(zero_config(tree, tmp_path / "pkg"), executor=recording)
    assert recording.frozen and all(n > 0 for n in recording.frozen)
    assert gc.get_freeze_count() == 0


def test_a_heap_frozen_by_the_caller_stays_frozen() -> None:
    import gc

    from corpuspack.executors import frozen_heap

    gc.freeze()
    try:
        before = gc.get_freeze_count()
        with frozen_heap():
            assert gc.get_freeze_count() == before
        assert sorted(LocalExecutor(2).map(_fail_on_three, [1, 2])) == [1, 2]
        # still frozen (a frozen object may have died meanwhile: the count is not exact)
        assert gc.get_freeze_count() > before // 2
    finally:
        gc.unfreeze()
