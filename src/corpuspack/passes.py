"""The parallel passes of a build, and the process pool they run on.

``map``: each task reads a batch of source files with
:func:`~corpuspack.pipeline.process_file`, identifies languages in batches and writes runs
(:mod:`corpuspack.runs`). ``refine``: each task rewrites one run with
:func:`~corpuspack.runs.refine_run`. Both are pure functions of their inputs, run here on a
local process pool; any engine that maps a function over a list (Ray Data's
``map_batches``, Dask) could run them instead.
"""

from __future__ import annotations

import ctypes
import hashlib
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from corpuspack.document import Document
from corpuspack.errors import CorpusError
from corpuspack.neardup import NearDedup
from corpuspack.pipeline import FileStats, Settings, identify_languages, process_file
from corpuspack.report import Skipped
from corpuspack.runs import Refine, RefineResult, RunWriter, refine_run
from corpuspack.sortutil import sort_lines
from corpuspack.sources.files import SourceFile
from corpuspack.stats import CorpusStats

MiB = 1 << 20
TASK_MAX_FILES = 256
TASK_MAX_BYTES = 32 * MiB
RUN_SPILL_BYTES = 64 * MiB
LANGUAGE_BATCH = 256
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Task:
    """A batch of source files for one worker call."""

    index: int
    files: tuple[SourceFile, ...]
    settings: Settings
    near: NearDedup
    line_keys: bool
    workdir: str


@dataclass
class TaskResult:
    """What one task wrote and found."""

    index: int
    stems: list[str] = field(default_factory=list)
    skips_file: str | None = None  # Skipped lines, unsorted (one bad file can have many)
    skip_count: int = 0
    files: int = 0
    files_read: int = 0
    documents: int = 0
    encodings: dict[str, int] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    stats: CorpusStats = field(default_factory=CorpusStats)
    file_stats: FileStats = field(default_factory=FileStats)


def run_task(task: Task) -> TaskResult:
    """Process a batch of files into runs (in a worker)."""
    result = TaskResult(task.index)
    stats = result.file_stats
    writer = RunWriter(str(Path(task.workdir) / f"run-{task.index:07d}"), task.near,
                       task.line_keys, RUN_SPILL_BYTES)
    batch: list[Document] = []
    skips_path = Path(task.workdir) / f"skips-{task.index:07d}.jsonl"
    skips = None

    def flush() -> None:
        identify_languages(batch, task.settings, stats)
        for doc in batch:
            writer.add(doc, line_keys=stats.line_keys.pop(doc.id, None))
            result.encodings[doc.encoding] = result.encodings.get(doc.encoding, 0) + 1
        batch.clear()

    for src in task.files:
        result.files += 1
        file_failed = False
        for item in process_file(src, task.settings, stats, identify=False):
            if isinstance(item, Skipped):
                if skips is None:
                    skips = open(skips_path, "xb")  # noqa: SIM115 - closed below
                skips.write(item.to_line())
                result.skip_count += 1
                file_failed = file_failed or item.record is None
                continue
            batch.append(item)
            result.documents += 1
            if len(batch) >= LANGUAGE_BATCH:
                flush()
        result.files_read += 0 if file_failed else 1
    flush()
    writer.spill()
    if skips is not None:
        skips.close()
        result.skips_file = str(skips_path)
    result.stems, result.groups, result.stats = writer.stems, writer.groups, writer.stats
    return result


def tasks(files: Iterator[SourceFile], settings: Settings, near: NearDedup, line_keys: bool,
          workdir: Path) -> Iterator[Task]:
    """Batch files into tasks of at most TASK_MAX_FILES files or TASK_MAX_BYTES bytes."""
    batch: list[SourceFile] = []
    size = 0
    index = 0
    for src in files:
        batch.append(src)
        size += src.size
        if len(batch) >= TASK_MAX_FILES or size >= TASK_MAX_BYTES:
            yield Task(index, tuple(batch), settings, near, line_keys, str(workdir))
            batch, size, index = [], 0, index + 1
    if batch:
        yield Task(index, tuple(batch), settings, near, line_keys, str(workdir))


@dataclass(frozen=True)
class RefineTask:
    """One run to refine."""

    stem: str
    refine: Refine
    out_prefix: str


def run_refine(task: RefineTask) -> RefineResult:
    """Refine one run (in a worker)."""
    return refine_run(task.stem, task.refine, task.out_prefix, RUN_SPILL_BYTES)


def _mp_context() -> multiprocessing.context.BaseContext:
    # fork starts workers at once with everything imported, but forking a process that runs
    # other threads (a progress bar's) can deadlock a child: then use a fork server instead
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["corpuspack.passes"])
        return context
    return multiprocessing.get_context("spawn")


# file descriptors a worker must not keep (the output's lock): set by the build
INHERITED_FDS: set[int] = set()
_PR_SET_PDEATHSIG = 1


def _worker_init() -> None:
    """Make a pool worker die with the process that started it, within a second.

    Killed main processes (OOM killer, ``kill PID``) left workers running for ever, holding
    the output's lock. Linux delivers SIGKILL on the parent's death (``PR_SET_PDEATHSIG``);
    elsewhere, and as a backstop, a thread polls the parent id. Workers ignore SIGINT: the
    main process handles Ctrl-C and stops them.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for fd in INHERITED_FDS:
        try:
            os.close(fd)
        except OSError:
            pass
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


def parallel_map(fn: Callable[[T], R], items: Iterable[T], workers: int) -> Iterator[R]:
    """``fn`` over ``items`` in this process (workers=1) or on a process pool; results come
    as they finish, at most two tasks per worker in flight.

    An exception (Ctrl-C, SIGTERM turned into KeyboardInterrupt by the CLI, an error in a
    task) stops every worker before it propagates. A worker killed by the system (out of
    memory) becomes a CorpusError.
    """
    if workers <= 1:
        for item in items:
            yield fn(item)
        return
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context(),
                               initializer=_worker_init)
    try:
        pending: set[Future[R]] = set()
        for item in items:
            pending.add(pool.submit(fn, item))
            if len(pending) >= 2 * workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        for future in pending:
            yield future.result()
    except BrokenProcessPool:
        _stop(pool)
        raise CorpusError("a worker process died (killed by the system, most likely out of "
                          "memory): lower --workers or the size limits in [options]") from None
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown(wait=True)


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def frequent_lines(stems: list[str], groups: dict[str, int], min_docs: int,
                   min_fraction: float, workdir: Path) -> tuple[Path, int, str]:
    """Write the ``<group><TAB><line hash><TAB><documents><TAB><group size>`` lines of the
    line keys found in enough documents of their group.

    The per-document line keys of all runs (``<group><TAB><key><TAB><text sha256><TAB><id>``,
    only of documents ``frequent_lines`` runs on, only lines it may remove) are sorted
    externally and counted in one pass, each distinct text once (exact copies of a page do
    not make its lines frequent); only groups with at least ``min_docs`` documents take
    part, and a key is frequent in at least ``max(min_docs, min_fraction * size)`` of them.
    Returns the file, how many keys it holds and a digest of its content.
    """
    out = workdir / "frequent-lines.txt"
    count = 0
    digest = hashlib.blake2b(digest_size=16)

    def keys() -> Iterator[bytes]:
        for stem in stems:
            with open(f"{stem}.lines", "rb") as fh:
                yield from fh

    with open(out, "wb") as fh:
        current, n = b"", 0

        def flush() -> int:
            group = current.split(b"\t", 1)[0].decode()
            size = groups.get(group, 0)
            if current and size >= min_docs and n >= max(min_docs, min_fraction * size):
                line = current + f"\t{n}\t{size}\n".encode()
                fh.write(line)
                digest.update(line)
                return 1
            return 0

        last_text = b""
        for line in sort_lines(keys(), workdir, "lines", 8 << 20):
            group, key, text = line.rstrip(b"\n").split(b"\t", 3)[:3]
            joined = group + b"\t" + key
            if joined != current:
                count += flush()
                current, n, last_text = joined, 0, b""
            if text != last_text:
                n += 1
                last_text = text
        count += flush()
    return out, count, digest.hexdigest()
