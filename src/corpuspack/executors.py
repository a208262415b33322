"""Executors: where the parallel work of a build runs.

A build hands an executor a picklable function and picklable items (tasks that name their
input and output files); the executor yields the results as they finish, in any order. The
build never relies on that order: everything it collects is summed or sorted afterwards.

``serial``
    every task in this process, one after the other (tests, debugging, one core).
``local`` (the default)
    a pool of worker processes on this machine (:class:`LocalExecutor`).

:func:`get_executor` finds an executor by name; another engine is one module that calls
:func:`register` (issue 12 adds ``ray``). An engine whose workers run elsewhere must be able
to reach the files the tasks name: the build's work folder and cache.
"""

from __future__ import annotations

import ctypes
import gc
import importlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar, runtime_checkable

from corpuspack.errors import CorpusError, UsageError

T = TypeVar("T")
R = TypeVar("R")


@runtime_checkable
class Executor(Protocol):
    """Maps a function over items; results come as they finish (order not guaranteed)."""

    name: str

    @property
    def workers(self) -> int:
        """How many tasks run at once (the build sizes its partitions by it)."""
        ...

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        """``fn`` over ``items``. An exception in a task, or one raised while the results are
        consumed (Ctrl-C), stops every task still running before it propagates."""
        ...


class SerialExecutor:
    """Every task in this process, in order."""

    name = "serial"

    @property
    def workers(self) -> int:
        return 1

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        for item in items:
            yield fn(item)


# file descriptors a worker must not keep (the output's lock): set by the build
INHERITED_FDS: set[int] = set()
_PR_SET_PDEATHSIG = 1


def _mp_context() -> multiprocessing.context.BaseContext:
    # fork starts workers at once with everything imported, but forking a process that runs
    # other threads (a progress bar's, a query engine's) can deadlock a child: then use a
    # fork server instead
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["corpuspack.passes"])
        return context
    return multiprocessing.get_context("spawn")


def _worker_init() -> None:
    """Make a pool worker die with the process that started it, within a second.

    Killed main processes (OOM killer, ``kill PID``) left workers running for ever, holding
    the output's lock. Linux delivers SIGKILL on the parent's death (``PR_SET_PDEATHSIG``);
    elsewhere, and as a backstop, a thread polls the parent id. Workers ignore SIGINT: the
    main process handles Ctrl-C and stops them. Inherited lock descriptors are closed.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for fd in INHERITED_FDS:
        try:
            os.close(fd)
        except OSError:
            pass
    INHERITED_FDS.clear()  # closed: their numbers may name other files from now on
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="corpuspack-parent-watch", daemon=True).start()


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop a pool at once: pending tasks cancelled, running workers terminated."""
    processes = list(getattr(pool, "_processes", {}).values())  # no public API in 3.11
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(5)


class LocalExecutor:
    """A pool of ``workers`` processes on this machine (one: run in this process).

    At most two tasks per worker are in flight, so a long list of tasks is not pickled up
    front. Workers die with the main process (``PR_SET_PDEATHSIG`` and a watch thread),
    ignore SIGINT and close the build's lock. An exception (Ctrl-C, SIGTERM turned into
    KeyboardInterrupt by the CLI, an error in a task) stops every worker before it
    propagates; a worker killed by the system (out of memory) becomes a CorpusError.
    """

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self._workers = max(1, workers or default_workers())

    @property
    def workers(self) -> int:
        return self._workers

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        if self._workers <= 1:
            yield from SerialExecutor().map(fn, items)
            return
        with frozen_heap():
            yield from self._map(fn, items)

    def _map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        pool = ProcessPoolExecutor(max_workers=self._workers, mp_context=_mp_context(),
                                   initializer=_worker_init)
        try:
            pending: set[Future[R]] = set()
            for item in items:
                pending.add(pool.submit(fn, item))
                if len(pending) >= 2 * self._workers:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        yield future.result()
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        except BrokenProcessPool:
            _stop(pool)
            raise CorpusError("a worker process died (killed by the system, most likely out "
                              "of memory): lower --workers or the size limits in [options]"
                              ) from None
        except BaseException:
            _stop(pool)
            raise
        pool.shutdown(wait=True)


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Leave the objects that exist now out of garbage collection within the block, as
    CPython's documentation of ``gc.freeze`` advises before forking without exec: forked
    workers then never scan (nor copy, by writing their GC headers) the parent's modules
    and objects, and the parent's own collections skip them too. A build runs inside one
    (:func:`corpuspack.stages.build_into`); a pool outside one makes its own. Measured on
    the benchmark's basic build (20,000 documents, 2 workers): garbage collection took
    0.21 s of the main process and 0.11 s of each worker, 0.10 and 0.07 s frozen. Nothing
    is done when objects are frozen already (a caller's choice, or an enclosing block)."""
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


# name -> a class, or "module:attribute" imported on first use (engines with heavy imports)
_REGISTRY: dict[str, Any] = {"local": LocalExecutor, "serial": SerialExecutor,
                             "ray": "corpuspack.ray_executor:RayExecutor"}


def register(name: str, factory: Callable[..., Executor] | str) -> None:
    """Make an executor available by name: a callable taking ``workers=`` and options, or
    ``"module:attribute"`` naming one (imported when first asked for)."""
    _REGISTRY[name] = factory


def executor_names() -> list[str]:
    """The names :func:`get_executor` knows."""
    return sorted(_REGISTRY)


def get_executor(name: str = "local", *, workers: int | None = None,
                 **options: Any) -> Executor:
    """The executor called ``name``, for ``workers`` tasks at a time (default: all cores);
    ``options`` go to its constructor (a cluster address, say)."""
    factory = _REGISTRY.get(name)
    if factory is None:
        raise UsageError(f"unknown executor {name!r}: choose one of "
                         + ", ".join(executor_names()))
    if isinstance(factory, str):
        module, _, attribute = factory.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attribute)
        except ImportError as exc:
            raise UsageError(f"executor {name!r} is not installed ({exc})") from None
    if factory is SerialExecutor:
        return SerialExecutor()
    executor: Executor = factory(workers=workers, **options)
    return executor


def resolve(executor: Executor | str | None, workers: int | None) -> Executor:
    """The executor a build runs on: given, named, or the local pool of ``workers``."""
    if executor is None:
        return LocalExecutor(workers)
    if isinstance(executor, str):
        return get_executor(executor, workers=workers)
    return executor
