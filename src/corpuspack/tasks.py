"""The tasks an executor runs: the per-file stage and the refine pass.

``map`` (:func:`run_map`): each task reads a batch of source files with
:func:`~corpuspack.pipeline.process_file`, identifies languages in batches of
:data:`LANGUAGE_BATCH` documents and writes one run (:mod:`corpuspack.runs`).
``refine`` (:func:`run_refine`): each task rewrites the documents that hold lines frequent in
their source (found by :func:`corpuspack.passes.frequent_lines`).

Both are pure functions of their inputs: a task names the files it reads and the folder it
writes to, and returns what it wrote, so any executor (:mod:`corpuspack.executors`) runs it.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from corpuspack.boilerplate import Rules, remove_frequent
from corpuspack.cache import Planned, Stat
from corpuspack.document import Document, from_json
from corpuspack.guard import IN_BATCH, MEMORY_REASON, NO_LIMITS, Limits, guarded
from corpuspack.language import LOW_SCORE, LOW_SCORE_NOTE
from corpuspack.pipeline import (
    FileStats,
    Settings,
    fill_text_fields,
    identify_languages,
    process_file,
)
from corpuspack.report import Skipped
from corpuspack.runs import DocSettings, FileResult, RunWriter, read_docs, write_lines
from corpuspack.sources.files import SourceFile

MiB = 1 << 20
TASK_MAX_FILES = 256
TASK_MAX_BYTES = 32 * MiB
# with a cache, a batch of at least TASK_WALK_MIN_FILES goes once the walk is
# TASK_WALK_FILES files past its first file: see map_tasks
TASK_WALK_FILES = 4096
TASK_WALK_MIN_FILES = 64
LANGUAGE_BATCH = 256
# reasons that say more about this machine than about the file: never cached
_TRANSIENT = ("cannot ", "unexpected error", MEMORY_REASON, "changed since", "changed into",
              "not a regular file", "symbolic link", "broken symbolic link")


@dataclass(frozen=True)
class MapTask:
    """A batch of source files for one worker call, with the key of each file and the stat
    of the file and of its sidecar when the key was made (None: not checked)."""

    index: int
    files: tuple[SourceFile, ...]
    keys: tuple[bytes, ...]
    stats: tuple[tuple[Stat | None, Stat | None], ...]
    settings: Settings
    docs: DocSettings
    out: str  # folder the run is written to
    name: str  # of the run's files
    tmp: str | None = None  # with a cache: the cache's tmp folder (runs named by content)
    limits: Limits = NO_LIMITS  # what reading one file may cost (corpuspack.guard)


@dataclass
class MapResult:
    """The run a map task wrote, the keys it may cache and how much it read."""

    index: int
    docs: str
    files: str
    keys: list[bytes] = field(default_factory=list)
    n_files: int = 0
    bytes_in: int = 0


def _unchanged(path: str | None, stat: Stat | None) -> bool:
    if path is None:
        return True
    try:
        return stat is not None and Stat.of(path) == stat
    except OSError:
        return False


@dataclass
class _Pending:
    doc: Document
    file: FileResult
    seq: int
    line_keys: list[str] | None
    identify: bool
    index: int  # of its file in the task


def run_map(task: MapTask) -> MapResult:
    """Read a batch of files into one run (in a worker): in a reader process under the
    task's limits (:func:`corpuspack.guard.guarded`; a file the reader dies on is skipped
    with the reason), or in this process when the limits are off."""
    if not task.limits.enabled:
        return read_files(task, {}, _no_mark)
    return guarded(read_files, task, task.limits, lambda pid: _remove_leftovers(task, pid))


def _no_mark(index: int, starts: bool) -> None:
    pass


def _remove_leftovers(task: MapTask, pid: int) -> None:
    """Remove the temporary files a reader that died left of the task's run."""
    folder = Path(task.tmp or task.out)
    for path in folder.glob(f".{task.name}-{pid}-*"):
        with contextlib.suppress(OSError):
            path.unlink()


def read_files(task: MapTask, forced: dict[int, str], mark: Callable[[int, bool], None]
               ) -> MapResult:
    """Read the task's files into its run; each file of ``forced`` (index -> reason) is
    not read but skipped with the reason, and is not cached; with ``IN_BATCH`` in
    ``forced``, each file's documents are identified and written before the next file is
    read (the same rows: language identification is per document). ``mark(index, True)``
    names the file the reader is on and starts its time limit again: before a file is read,
    after each of its records, before each of its documents is written;
    ``mark(IN_BATCH, True)`` before a batch of several files' documents is identified,
    ``mark(-1, False)`` once no file is being read."""
    writer = RunWriter(task.docs, Path(task.out), task.name,
                       Path(task.tmp) if task.tmp else None)
    alone = IN_BATCH in forced
    batch: list[_Pending] = []
    result = MapResult(task.index, "", "")

    def flush() -> None:
        # a batch of documents of several files is no one file's: a death in it is put
        # on none, and the task read again with each file's documents finished alone
        spans = {p.index for p in batch}
        mark(spans.pop() if len(spans) == 1 else IN_BATCH, True)
        identify_languages([p.doc for p in batch], task.settings)
        for p in batch:
            score = p.doc.language_score
            if p.identify and score is not None and score < LOW_SCORE:
                p.file.notes[LOW_SCORE_NOTE] += 1
            mark(p.index, True)  # its signature and row: the time of one record
            writer.add(p.doc, p.file.key, p.seq, p.line_keys)
        batch.clear()

    files = []
    for index, (src, key, (stat, side_stat)) in enumerate(
            zip(task.files, task.keys, task.stats, strict=True)):
        stats = FileStats()
        file = FileResult(key, src.rel, notes=stats.notes)
        files.append(file)
        if index in forced:
            file.skips.append(Skipped(src.rel, None, forced[index]).to_line())
            file.read = file.cacheable = False
            file.bytes_in = src.size
            result.n_files += 1
            result.bytes_in += src.size
            continue
        mark(index, True)
        # a file that changed since its key was made (or during reading) is not cached
        checked = task.tmp is None or (_unchanged(src.path, stat)
                                       and _unchanged(src.sidecar, side_stat))
        seq = 0
        for item in process_file(src, task.settings, stats, identify=False):
            mark(index, True)  # each record of a file of many has the time of one file
            if isinstance(item, Skipped):
                file.skips.append(item.to_line())
                if item.record is None:
                    file.read = False
                    if item.reason.startswith(_TRANSIENT):
                        file.cacheable = False
                continue
            line_keys = stats.line_keys.pop(item.id, None)
            batch.append(_Pending(item, file, seq, line_keys, item.language is None, index))
            del item  # the batch holds the document until it is written, no longer
            seq += 1
            if len(batch) >= LANGUAGE_BATCH:
                flush()
        file.documents, file.bytes_in = seq, stats.bytes_in
        file.repaired, file.removed, file.pii = stats.repaired_mojibake, stats.removed, stats.pii
        file.audit = stats.audit
        if task.tmp is not None and not (checked and _unchanged(src.path, stat)
                                         and _unchanged(src.sidecar, side_stat)):
            file.cacheable = False
        result.n_files += 1
        result.bytes_in += stats.bytes_in
        if alone and batch:
            flush()
    flush()
    mark(-1, False)  # what follows is no file's doing: a death there fails the build
    for file in files:
        writer.add_file(file)
    result.docs, result.files = writer.close()
    result.keys = writer.keys() if task.tmp is not None else []
    return result


@dataclass(frozen=True)
class Walked:
    """A mark in the files to read: the walk went on by ``files`` files (those the cache
    holds included)."""

    files: int


def map_tasks(files: Iterable[Planned | Walked], settings: Settings, docs: DocSettings,
              out: Path, tmp: Path | None = None, prefix: str = "run",
              limits: Limits = NO_LIMITS) -> Iterator[MapTask]:
    """Batch files into tasks of at most TASK_MAX_FILES files or TASK_MAX_BYTES bytes.

    A batch of at least :data:`TASK_WALK_MIN_FILES` files also goes at the first
    :class:`Walked` mark at least :data:`TASK_WALK_FILES` files past the mark before its
    first file (marks come after each chunk the walk looked up at once): the
    few files a rebuild reads, scattered over the walk, then start on the workers while
    the walk goes on, spread over them, instead of making one task that waits for the end
    of the walk and runs on one worker (200 edited and 50 added files of 20,000: one task
    of 250 files, done after the walk). Smaller batches wait: each task is a run of its
    own, and every later build's passes open each run they use (0.16 ms a file a query,
    measured with 94 runs against one file of the same rows), while 64 files take a
    worker about 80 ms. The batches follow the files and the marks only, never timing."""
    batch: list[Planned] = []
    size = index = walked = opened = 0

    def task() -> MapTask:
        return MapTask(index, tuple(p.src for p in batch), tuple(p.key for p in batch),
                       tuple(p.stats for p in batch), settings, docs, str(out),
                       f"{prefix}-{index:07d}", str(tmp) if tmp else None, limits)

    for planned in files:
        if isinstance(planned, Walked):
            walked += planned.files
            if batch and len(batch) >= TASK_WALK_MIN_FILES \
                    and walked - opened >= TASK_WALK_FILES:
                yield task()
                batch, size, index = [], 0, index + 1
            continue
        if not batch:
            opened = walked
        batch.append(planned)
        size += planned.src.size
        if len(batch) >= TASK_MAX_FILES or size >= TASK_MAX_BYTES:
            yield task()
            batch, size, index = [], 0, index + 1
    if batch:
        yield task()


@dataclass(frozen=True)
class RefineTask:
    """Documents holding lines frequent in their source, to rewrite (one input file)."""

    index: int
    input: str  # rows of runs.REFINE_INPUT
    boilerplate: Rules
    docs: DocSettings
    repetition_signals: bool
    out: str


@dataclass
class RefineResult:
    """The rows a refine task wrote (replacing rows of the map stage) and what it removed."""

    docs: str | None = None
    audit: str | None = None
    removed: Counter[str] = field(default_factory=Counter)


def run_refine(task: RefineTask) -> RefineResult:
    """Remove the frequent lines of each document of the task's input; a document that
    loses lines gets its text columns, signature and filter recomputed (in a worker)."""
    name = f"refined-{task.index:07d}"
    writer = RunWriter(task.docs, Path(task.out), name)
    stats = FileStats()
    changed = 0
    for row in read_docs(task.input):
        doc = from_json(orjson.loads(row["line"]))
        frequent = {f"{row['group']}\t{e['key']}": (e["documents"], e["size"])
                    for e in row["frequent"]}
        rules = task.boilerplate.for_document(doc.source, doc.format)
        text, removal = remove_frequent(doc.text, row["group"], frequent, rules,
                                        row["line_keys"])
        if removal is None:
            continue
        doc.text = text
        fill_text_fields(doc, task.repetition_signals)
        stats.record(doc.id, [removal], task.boilerplate.audit)
        writer.add(doc, row["file"], row["seq"], row["line_keys"])
        changed += 1
    result = RefineResult(removed=stats.removed)
    if changed:
        result.docs = writer.close()[0]
        os.unlink(Path(task.out) / f"{name}.files.parquet")
    if stats.audit:
        result.audit = write_lines(Path(task.out) / f"refine-audit-{task.index:07d}.parquet",
                                   stats.audit)
    return result
