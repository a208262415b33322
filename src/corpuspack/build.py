"""``corpuspack build``: sources in, a validated-ready corpus package out.

Stages, each streaming and bounded in memory:

1. walk the source folder and batch files into tasks;
2. map: each task runs :func:`~corpuspack.pipeline.process_file` over its files (on a process
   pool) and writes its documents as a run file sorted by id, plus one dedup key per document;
3. exact dedup over all keys (:mod:`corpuspack.dedup`);
4. merge the sorted runs, drop duplicates, write id-range shards and count statistics;
5. write the schema, build report and descriptor into a staging folder and commit it
   atomically (:mod:`corpuspack.write`), or with ``check`` compare it with what is there.
"""

from __future__ import annotations

import fcntl
import multiprocessing
import os
import shutil
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import orjson

from corpuspack.config import CorpusConfig
from corpuspack.dedup import find_exact_duplicates, key_line
from corpuspack.document import Document, DocumentView, line_id, table_schema, to_json_line
from corpuspack.errors import CorpusError, UsageError
from corpuspack.package import REPORT_FILE, SCHEMA_FILE, descriptor
from corpuspack.pipeline import FileStats, Settings, identify_languages, process_file
from corpuspack.progress import NoProgress, ProgressHook
from corpuspack.report import BuildReport, Skipped
from corpuspack.sortutil import merge_files
from corpuspack.sources.files import SourceFile, walk_sources
from corpuspack.stats import CorpusStats
from corpuspack.write import (
    DESCRIPTOR_IN_STAGING,
    Layout,
    ShardWriter,
    commit,
    recover,
    shard_count,
    write_json,
)

MiB = 1 << 20
TASK_MAX_FILES = 256
TASK_MAX_BYTES = 32 * MiB
RUN_SPILL_BYTES = 64 * MiB
LANGUAGE_BATCH = 256


@dataclass(frozen=True)
class Task:
    """A batch of source files for one worker call."""

    index: int
    files: tuple[SourceFile, ...]
    settings: Settings
    workdir: str


@dataclass
class TaskResult:
    """What one task wrote and found."""

    index: int
    runs: list[str] = field(default_factory=list)
    keys: str = ""
    skipped: list[Skipped] = field(default_factory=list)
    files: int = 0
    files_read: int = 0
    documents: int = 0
    bytes_in: int = 0
    repaired_mojibake: int = 0
    encodings: dict[str, int] = field(default_factory=dict)
    stats: CorpusStats = field(default_factory=CorpusStats)


def run_task(task: Task) -> TaskResult:
    """Process a batch of files into sorted run files and dedup keys (runs in a worker)."""
    result = TaskResult(task.index)
    stats = FileStats()
    buffer: list[bytes] = []
    buffered = 0
    workdir = Path(task.workdir)
    keys_path = workdir / f"keys-{task.index:07d}"
    result.keys = str(keys_path)

    def spill() -> None:
        nonlocal buffer, buffered
        if buffer:
            buffer.sort(key=line_id)
            path = workdir / f"run-{task.index:07d}-{len(result.runs):04d}.jsonl"
            with open(path, "wb") as fh:
                fh.writelines(buffer)
            result.runs.append(str(path))
        buffer, buffered = [], 0

    batch: list[Document] = []

    def flush(keys: IO[bytes]) -> None:
        nonlocal buffered
        identify_languages(batch, task.settings)
        for doc in batch:
            line = to_json_line(doc)
            buffer.append(line)
            buffered += len(line)
            keys.write(key_line(doc.sha256, doc.id, len(line), doc.source))
            result.encodings[doc.encoding] = result.encodings.get(doc.encoding, 0) + 1
            result.stats.add(DocumentView(doc))
        batch.clear()
        if buffered >= RUN_SPILL_BYTES:
            spill()

    with open(keys_path, "wb") as keys:
        for src in task.files:
            result.files += 1
            file_failed = False
            for item in process_file(src, task.settings, stats, identify=False):
                if isinstance(item, Skipped):
                    result.skipped.append(item)
                    file_failed = file_failed or item.record is None
                    continue
                batch.append(item)
                result.documents += 1
                if len(batch) >= LANGUAGE_BATCH:
                    flush(keys)
            result.files_read += 0 if file_failed else 1
        flush(keys)
    spill()
    result.bytes_in = stats.bytes_in
    result.repaired_mojibake = stats.repaired_mojibake
    return result


def _tasks(files: Iterator[SourceFile], settings: Settings, workdir: Path) -> Iterator[Task]:
    batch: list[SourceFile] = []
    size = 0
    index = 0
    for src in files:
        batch.append(src)
        size += src.size
        if len(batch) >= TASK_MAX_FILES or size >= TASK_MAX_BYTES:
            yield Task(index, tuple(batch), settings, str(workdir))
            batch, size, index = [], 0, index + 1
    if batch:
        yield Task(index, tuple(batch), settings, str(workdir))


def _mp_context() -> multiprocessing.context.BaseContext:
    # fork starts workers at once with everything imported, but forking a process that runs
    # other threads (a progress bar's) can deadlock a child: then use a fork server instead
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["corpuspack.pipeline"])
        return context
    return multiprocessing.get_context("spawn")


def _map(tasks: Iterator[Task], workers: int) -> Iterator[TaskResult]:
    """Run tasks in this process (workers=1) or on a process pool, results as they finish."""
    if workers <= 1:
        for task in tasks:
            yield run_task(task)
        return
    context = _mp_context()
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        pending: set[Future[TaskResult]] = set()
        for task in tasks:
            pending.add(pool.submit(run_task, task))
            if len(pending) >= 2 * workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        for future in pending:
            yield future.result()


def default_workers() -> int:
    """All cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def settings_for(config: CorpusConfig) -> Settings:
    """The per-file settings a config implies."""
    opts = config.options
    return Settings(
        defaults=dict(config.defaults),
        language_sample_chars=opts.language_sample_chars,
        max_file_bytes=opts.max_file_mb * MiB,
        max_inflated_bytes=opts.max_inflated_mb * MiB,
        max_document_bytes=opts.max_document_mb * MiB,
    )


@contextmanager
def _lock(layout: Layout) -> Iterator[None]:
    layout.parent.mkdir(parents=True, exist_ok=True)
    path = layout.parent / f".corpuspack-lock-{layout.data_dir.name}"
    with open(path, "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CorpusError(f"another build is writing {layout.data_dir}") from None
        try:
            yield
        finally:
            path.unlink(missing_ok=True)
            fcntl.flock(fh, fcntl.LOCK_UN)


def build(config: CorpusConfig, *, workers: int | None = None, strict: bool = False,
          check: bool = False, progress: ProgressHook | None = None) -> BuildReport:
    """Build the corpus package described by ``config``; return the build report.

    With ``check`` nothing is written: the package is built in a temporary folder and
    compared byte for byte with the committed one; differing files are listed in
    ``report.check_differences``. With ``strict`` any skipped file or record fails the build
    (a :class:`CorpusError`) before anything is committed.
    """
    if not config.source_dir.is_dir():
        raise UsageError(f"source folder not found: {config.source_dir}")
    progress = progress or NoProgress()
    layout = Layout(config.descriptor, config.data_dir)
    started = time.perf_counter()
    if check:
        with tempfile.TemporaryDirectory(prefix="corpuspack-check-") as tmp:
            staging, workdir = Path(tmp) / "staging", Path(tmp) / "work"
            staging.mkdir()
            workdir.mkdir()
            report = _build_into(config, staging, workdir, workers, progress)
            report.check_differences = _compare(config, staging)
            _keep_duplicates(report)
    else:
        with _lock(layout):
            recover(layout)
            staging, workdir = layout.new_staging(), layout.new_workdir()
            try:
                report = _build_into(config, staging, workdir, workers, progress)
                if strict and report.skipped:
                    raise CorpusError(
                        f"--strict: {len(report.skipped)} file(s) or record(s) were skipped "
                        f"(first: {sorted(report.skipped)[0].path}: "
                        f"{sorted(report.skipped)[0].reason})"
                    )
                _keep_duplicates(report)
                commit(layout, staging)
            finally:
                shutil.rmtree(workdir, ignore_errors=True)
                shutil.rmtree(staging, ignore_errors=True)
    report.seconds = time.perf_counter() - started
    if check and strict and report.skipped:
        raise CorpusError(f"--strict: {len(report.skipped)} file(s) or record(s) were skipped")
    return report


def _build_into(config: CorpusConfig, staging: Path, workdir: Path, workers: int | None,
                progress: ProgressHook) -> BuildReport:
    report = BuildReport()
    settings = settings_for(config)
    exclude = (config.data_dir, config.data_dir.parent / ".git")
    walk_skips: list[Skipped] = []

    def files() -> Iterator[SourceFile]:
        for item in walk_sources(config.source_dir, exclude):
            if isinstance(item, Skipped):
                walk_skips.append(item)
                report.files_seen += 1
            else:
                yield item

    progress.stage("reading sources (files)")
    runs: list[Path] = []
    keys: list[Path] = []
    stats = CorpusStats()
    for result in _map(_tasks(files(), settings, workdir), workers or default_workers()):
        runs.extend(Path(r) for r in result.runs)
        keys.append(Path(result.keys))
        report.files_seen += result.files
        report.files_read += result.files_read
        report.documents_read += result.documents
        report.bytes_in += result.bytes_in
        report.repaired_mojibake += result.repaired_mojibake
        report.encodings.update(result.encodings)
        report.skipped.extend(result.skipped)
        stats.update(result.stats)
        progress.advance(result.files, result.bytes_in)
    report.skipped.extend(walk_skips)
    report.skipped.sort()

    progress.stage("finding exact duplicates")
    dedup = find_exact_duplicates(keys, workdir / "dedup", config.options.exact_dedup)
    report.duplicates_dropped = dedup.duplicates
    report.duplicates_file = dedup.duplicates_file
    if report.documents_read - dedup.duplicates <= 0:
        raise CorpusError(
            f"no documents: {report.files_seen} file(s) seen, {len(report.skipped)} skipped "
            f"(see the reasons with --json)"
        )

    progress.stage("writing shards (documents)", report.documents_read - dedup.duplicates)
    data = staging
    n_shards = shard_count(dedup.kept_bytes, max(1, int(config.options.shard_size_mb * MiB)))
    writer = ShardWriter(data, n_shards, config.options.compression)
    collisions: list[Skipped] = []
    drops = report.iter_duplicates()
    next_drop = next(drops, None)
    previous = b""
    for line in merge_files(runs, key=line_id, workdir=workdir):
        doc_id = line_id(line)
        while next_drop is not None and next_drop.id.encode() < doc_id:
            next_drop = next(drops, None)
        if next_drop is not None and next_drop.id.encode() == doc_id and doc_id != previous:
            next_drop = next(drops, None)
            previous = doc_id
            stats.add(orjson.loads(line), sign=-1)
            continue
        if doc_id == previous:
            obj = orjson.loads(line)
            stats.add(obj, sign=-1)
            collisions.append(Skipped(obj["source"], obj.get("record"),
                                      f"id collision: another document has id {obj['id']}"))
            continue
        previous = doc_id
        writer.add(doc_id, line)
        report.documents_written += 1
        progress.advance(1)
    shards = writer.close()
    report.skipped = sorted(report.skipped + collisions)
    report.bytes_out = sum(s.bytes for s in shards)
    report.data_files = [s.filename for s in shards]

    write_json(data / SCHEMA_FILE, table_schema())
    report.write_json(data / REPORT_FILE, timing=False)
    build_summary = report.summary(timing=False)
    write_json(staging / DESCRIPTOR_IN_STAGING,
               descriptor(config, shards, stats.to_dict(), build_summary))
    return report


def _keep_duplicates(report: BuildReport) -> None:
    """Move the duplicate list out of the work folder, for as long as the report lives."""
    if report.duplicates_file is None:
        return
    fd, name = tempfile.mkstemp(prefix="corpuspack-duplicates-")
    os.close(fd)
    shutil.move(report.duplicates_file, name)
    report.duplicates_file = Path(name)
    weakref.finalize(report, os.unlink, name)


def _compare(config: CorpusConfig, staging: Path) -> list[str]:
    """Files that differ between a staged build and the committed package."""
    differences = []
    built = {p.name for p in staging.iterdir() if p.is_file() and p.name != DESCRIPTOR_IN_STAGING}
    present = ({p.name for p in config.data_dir.iterdir() if p.is_file()}
               if config.data_dir.is_dir() else set())
    rel_data = os.path.relpath(config.data_dir, config.root)
    for name in sorted(built | present):
        a, b = staging / name, config.data_dir / name
        if not (a.exists() and b.exists()) or a.read_bytes() != b.read_bytes():
            differences.append(os.path.join(rel_data, name))
    descriptor_rel = os.path.relpath(config.descriptor, config.root)
    staged = staging / DESCRIPTOR_IN_STAGING
    if not config.descriptor.exists() or staged.read_bytes() != config.descriptor.read_bytes():
        differences.append(descriptor_rel)
    return differences

