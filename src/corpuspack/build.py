"""``corpuspack build``: sources in, a validated-ready corpus package out.

Stages, each streaming and bounded in memory:

1. walk the source folder and batch files into tasks;
2. map (:mod:`corpuspack.passes`, on a process pool): read, decode, normalise, strip
   per-document boilerplate, redact, identify languages; write runs sorted by id with their
   dedup keys, MinHash signatures and line keys (:mod:`corpuspack.runs`);
3. count lines across documents of each source; if some are frequent, or quality filters
   are set, refine every run (again on the pool);
4. exact dedup over all keys (:mod:`corpuspack.dedup`), near-duplicate clusters from the
   band keys and signatures (:mod:`corpuspack.neardup`);
5. merge the sorted runs, drop or mark duplicates, write id-range shards;
6. write the schema, build report and descriptor into a staging folder and commit it
   atomically (:mod:`corpuspack.write`), or with ``check`` compare it with what is there.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import orjson

from corpuspack import passes
from corpuspack.config import CorpusConfig
from corpuspack.dedup import DedupResult, find_exact_duplicates
from corpuspack.document import table_schema
from corpuspack.errors import CorpusError, UsageError
from corpuspack.executors import INHERITED_FDS, Executor, resolve
from corpuspack.lock import exclusive, lock_path
from corpuspack.neardup import find_clusters
from corpuspack.ownership import LEGACY_DATA, check_output, check_replaceable
from corpuspack.package import REPORT_FILE, SCHEMA_FILE, descriptor
from corpuspack.pipeline import Settings
from corpuspack.progress import NoProgress, ProgressHook
from corpuspack.report import BuildReport, Skipped
from corpuspack.runs import (
    DocSettings,
    LinesWriter,
    Runs,
    file_key_of,
    read_counts,
    register,
    write_lines,
)
from corpuspack.safefs import OWN_MARKER, UnsafeFile, open_read, read_bytes, remove_own_dir
from corpuspack.sources.files import SourceFile, walk_sources
from corpuspack.tasks import RefineTask, map_tasks, run_map, run_refine
from corpuspack.write import (
    DESCRIPTOR_IN_STAGING,
    Layout,
    ShardInfo,
    ShardWriter,
    commit,
    record_staging,
    recover,
    shard_count,
    write_json,
)

if TYPE_CHECKING:
    import duckdb

MiB = 1 << 20


def settings_for(config: CorpusConfig) -> Settings:
    """The per-file settings a config implies."""
    opts = config.options
    return Settings(
        defaults=dict(config.defaults),
        language_sample_chars=opts.language_sample_chars,
        max_file_bytes=opts.max_file_mb * MiB,
        max_inflated_bytes=opts.max_inflated_mb * MiB,
        max_document_bytes=opts.max_document_mb * MiB,
        max_metadata_bytes=opts.max_metadata_kb * 1024,
        max_meta_bytes=opts.max_meta_kb * 1024,
        boilerplate=config.boilerplate,
        pii=config.pii,
        repetition_signals=config.quality.wants_repetition,
    )


@contextmanager
def _lock(layout: Layout) -> Iterator[None]:
    with exclusive(lock_path(layout.parent, layout.data_dir.name), str(layout.data_dir)) as fd:
        INHERITED_FDS.add(fd)
        try:
            yield
        finally:
            INHERITED_FDS.discard(fd)


MAX_DESCRIPTOR_BYTES = 64 << 20


def check_outputs(config: CorpusConfig) -> None:
    """Refuse (UsageError, exit 2) a build that would replace what corpuspack did not write.

    The data folder must not overlap the sources, be or contain the config's folder, the
    current folder or a ``.git`` folder, and may hold only files corpuspack wrote (its
    record); an existing descriptor must be one corpuspack wrote; a package folder given
    with ``--out`` is checked like the data folder.
    """
    near = [("the sources", config.source_dir)]
    over = [("the config's folder", config.config_file.parent)] if config.config_file else []
    if config.config_file is None or config.package_dir != config.root:
        check_output(config.package_dir, "output folder", not_near=near, not_over=over)
    check_output(config.data_dir, "data folder", not_near=near, not_over=over)
    check_replaceable(config.data_dir, "data folder", LEGACY_DATA)
    _check_descriptor(config.descriptor)


def _check_descriptor(path: Path) -> None:
    if not os.path.lexists(path):
        return
    try:
        value = orjson.loads(read_bytes(path, max_bytes=MAX_DESCRIPTOR_BYTES,
                                        what="datapackage.json"))
        generator = value["corpuspack"]["generator"]
        ours = isinstance(generator, str) and generator.startswith("corpuspack")
    except (UnsafeFile, orjson.JSONDecodeError, KeyError, TypeError):
        ours = False
    if not ours or os.path.islink(path):
        raise UsageError(f"{path} was not written by corpuspack: refusing to replace it; "
                         "move it away or choose another output folder")


def build(config: CorpusConfig, *, workers: int | None = None, strict: bool = False,
          check: bool = False, progress: ProgressHook | None = None,
          executor: Executor | str | None = None) -> BuildReport:
    """Build the corpus package described by ``config``; return the build report.

    ``executor`` runs the per-file work: an :class:`~corpuspack.executors.Executor`, a name
    (``"local"``, ``"serial"``, see :func:`~corpuspack.executors.get_executor`) or None for
    the local process pool of ``workers`` processes (default: all cores).

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
    run_on = resolve(executor, workers)
    if check:
        with tempfile.TemporaryDirectory(prefix="corpuspack-check-") as tmp:
            staging, workdir = Path(tmp) / "staging", Path(tmp) / "work"
            staging.mkdir()
            workdir.mkdir()
            report = _build_into(config, staging, workdir, run_on, progress)
            record_staging(staging, report.shards)
            report.check_differences = _compare(config, staging)
            _keep_lists(report)
    else:
        check_outputs(config)
        with _lock(layout):
            recover(layout)
            check_outputs(config)  # again: recovery may have changed what is there
            staging, workdir = layout.new_staging(), layout.new_workdir()
            try:
                report = _build_into(config, staging, workdir, run_on, progress)
                if strict and report.skip_count:
                    first = report.first_skipped[0]
                    raise CorpusError(
                        f"--strict: {report.skip_count} file(s) or record(s) were skipped "
                        f"(first: {first.path}: {first.reason})")
                _keep_lists(report)
                record_staging(staging, report.shards)
                commit(layout, staging)
            finally:
                remove_own_dir(workdir)
                remove_own_dir(staging)
    report.seconds = time.perf_counter() - started
    if check and strict and report.skip_count:
        raise CorpusError(f"--strict: {report.skip_count} file(s) or record(s) were skipped")
    return report


@dataclass
class _Build:
    """One build in progress: its inputs, where it writes, what it found so far."""

    config: CorpusConfig
    staging: Path
    workdir: Path
    executor: Executor
    progress: ProgressHook
    report: BuildReport = field(default_factory=BuildReport)
    runs: Runs = field(default_factory=Runs)

    def __post_init__(self) -> None:
        self.settings = settings_for(self.config)
        self.doc_settings = DocSettings(self.config.near_dedup,
                                        self.config.boilerplate.counts_lines,
                                        self.config.quality)

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A query engine over the build's runs (closed before the executor runs again:
        forking a process that runs DuckDB's threads is not safe)."""
        con = passes.connect(self.workdir, self.executor.workers)
        register(con, self.runs)
        con.execute("CREATE OR REPLACE VIEW candidates AS SELECT * FROM docs "
                    "WHERE filtered IS NULL")
        return con


def _build_into(config: CorpusConfig, staging: Path, workdir: Path, executor: Executor,
                progress: ProgressHook) -> BuildReport:
    b = _Build(config, staging, workdir, executor, progress)
    _map(b)
    _refine(b)
    con = b.connect()
    try:
        dedup, settled = _duplicates(b, con)
        _lists(b, con, dedup)
        shards = _shards(b, con, dedup)
        _describe(b, con, shards)
    finally:
        con.close()
    return b.report


def _walk(b: _Build) -> Iterator[tuple[SourceFile, bytes]]:
    """Every source file of the build with its key; skipped ones go to a LINES file."""
    opts = b.config.options
    exclude = (b.config.data_dir, b.config.data_dir.parent / ".git")
    skips = LinesWriter(b.workdir / "skips-walk.parquet")
    for item in walk_sources(b.config.source_dir, exclude,
                             max_manifest_bytes=opts.max_manifest_mb * MiB,
                             max_manifest_patterns=opts.max_manifest_patterns,
                             max_meta_bytes=opts.max_meta_kb * 1024):
        if isinstance(item, Skipped):
            skips.add(item.to_line())
        else:
            yield item, file_key_of(item.rel)
    b.runs.skips.append(skips.close())


def _map(b: _Build) -> None:
    """Read every source file into runs, on the executor."""
    b.progress.stage("reading sources (files)")
    out = b.workdir / "runs"
    out.mkdir()
    for result in b.executor.map(run_map, map_tasks(_walk(b), b.settings, b.doc_settings,
                                                    out)):
        b.runs.docs.append(result.docs)
        b.runs.files.append(result.files)
        b.progress.advance(result.n_files, result.bytes_in)


def _refine(b: _Build) -> None:
    """Count lines across documents of each source; remove the frequent ones (on the
    executor) from the documents holding them."""
    rules = b.config.boilerplate
    if not rules.counts_lines:
        return
    b.progress.stage("counting lines across documents")
    con = b.connect()
    try:
        b.report.frequent_lines = passes.frequent_lines(con, rules.frequent_min_docs,
                                                        rules.frequent_min_fraction)
        inputs = passes.refine_inputs(con, b.workdir / "refine-input",
                                      4 * b.executor.workers) if b.report.frequent_lines \
            else []
    finally:
        con.close()
    if not inputs:
        return
    b.progress.stage("removing frequent lines (documents)", len(inputs))
    out = b.workdir / "refined"
    out.mkdir()
    tasks = [RefineTask(i, path, rules, b.doc_settings, b.config.quality.wants_repetition,
                        str(out)) for i, path in enumerate(inputs)]
    for result in b.executor.map(run_refine, tasks):
        if result.docs:
            b.runs.refined.append(result.docs)
        if result.audit:
            b.runs.audit.append(result.audit)
        b.report.removed.update(result.removed)
        b.progress.advance(1)


def _duplicates(b: _Build, con: duckdb.DuckDBPyConnection
                ) -> tuple[DedupResult, passes.Settled]:
    """Exact duplicates, near-duplicate clusters, and what the shards get."""
    b.progress.stage("finding duplicates")
    config, report = b.config, b.report
    dedup = find_exact_duplicates(con, config.options.exact_dedup)
    report.duplicates_dropped = dedup.duplicates
    near = config.near_dedup
    members: dict[str, tuple[str, float]] = {}
    if near.enabled:
        con.execute("CREATE OR REPLACE VIEW near_input AS SELECT id, signature, bands "
                    "FROM candidates WHERE signature IS NOT NULL")
        clusters = find_clusters(con, near)
        members = clusters.members
        report.near_pairs_checked = clusters.pairs_checked
        report.near_duplicate_clusters = clusters.clusters
    settled = passes.settle(con, members, near.keep)
    report.near_duplicates_dropped = settled.near_dropped
    return dedup, settled


def _lists(b: _Build, con: duckdb.DuckDBPyConnection, dedup: DedupResult) -> None:
    """The report's counts and lists: skipped, filtered, duplicates; fail when no document
    is left."""
    report, workdir = b.report, b.workdir
    found = passes.counts(con)
    report.files_seen = found["files"]
    report.files_read = found["files_read"]
    report.documents_read = found["documents"]
    report.bytes_in = found["bytes_in"]
    report.repaired_mojibake = found["repaired"]
    report.encodings.update(found["encodings"])
    for blob in passes.file_counts(con):
        counts = read_counts(blob)
        report.removed.update(counts["removed"])
        report.pii.update(counts["pii"])
        report.notes.update(counts["notes"])
    collisions = write_lines(workdir / "skips-collisions.parquet", passes.collisions(con))
    skipped = workdir / "skipped.jsonl"
    report.count_skipped(passes.sorted_lines(
        con, f"SELECT line FROM skips UNION ALL SELECT line FROM read_parquet('{collisions}')",
        skipped), skipped)
    report.files_seen += passes.one(  # skipped by the walk
        con, f"SELECT count(*) FROM read_parquet('{b.runs.skips[0]}')")[0]
    report.filtered_file = workdir / "filtered.jsonl"
    for line in passes.sorted_lines(con, "SELECT filtered AS line FROM docs WHERE filtered "
                                    "IS NOT NULL", report.filtered_file):
        report.documents_filtered += 1
        report.filtered_by_reason[Skipped.from_line(line).reason.split(" ")[1]] += 1
    written = report.documents_read - report.documents_filtered - dedup.duplicates
    if written <= 0:
        reasons = {**report.skipped_by_reason, **{
            f"quality: {k}": v for k, v in sorted(report.filtered_by_reason.items())}}
        raise CorpusError(
            f"no documents: {report.files_seen} file(s) seen, {report.skip_count} skipped, "
            f"{report.documents_filtered} filtered, {dedup.duplicates} duplicates"
            + (" (" + ", ".join(f"{k}: {v}" for k, v in reasons.items()) + ")" if reasons
               else "")
        )
    report.duplicates_file = passes.duplicates(con, workdir / "duplicates.jsonl")


def _shards(b: _Build, con: duckdb.DuckDBPyConnection, dedup: DedupResult
            ) -> list[ShardInfo]:
    """Write the documents in id order into id-range shards."""
    options, report = b.config.options, b.report
    b.progress.stage("writing shards (documents)", report.documents_read
                     - report.documents_filtered - dedup.duplicates)
    n_shards = shard_count(dedup.kept_bytes, max(1, int(options.shard_size_mb * MiB)))
    writer = ShardWriter(b.staging, n_shards, options.compression)
    for ids, lines in passes.ordered_documents(con, dedup.kept_bytes):
        writer.add_batch(ids, lines)
        report.documents_written += len(ids)
        b.progress.advance(len(ids))
    shards = writer.close()
    report.shards = shards
    report.bytes_out = sum(s.bytes for s in shards)
    report.data_files = [s.filename for s in shards]
    return shards


def _describe(b: _Build, con: duckdb.DuckDBPyConnection, shards: list[ShardInfo]) -> None:
    """Schema, audit, build report and descriptor, into the staging folder."""
    config, report, staging = b.config, b.report, b.staging
    write_json(staging / SCHEMA_FILE, table_schema())
    if config.boilerplate.audit:
        for _ in passes.sorted_lines(con, "SELECT line FROM audit", staging / AUDIT_FILE):
            pass
        report.data_files.append(AUDIT_FILE)
    report.write_json(staging / REPORT_FILE, timing=False)
    stats = passes.statistics(con)
    write_json(staging / DESCRIPTOR_IN_STAGING,
               descriptor(config, shards, stats.to_dict(), report.summary(timing=False)))


AUDIT_FILE = "boilerplate-audit.jsonl"


def _keep_lists(report: BuildReport) -> None:
    """Move the report's long lists out of the work folder, for as long as it lives."""
    for attr in ("duplicates_file", "filtered_file", "skipped_file"):
        path = getattr(report, attr)
        if path is None:
            continue
        fd, name = tempfile.mkstemp(prefix=f"corpuspack-{attr.removesuffix('_file')}-")
        os.close(fd)
        shutil.move(path, name)
        setattr(report, attr, Path(name))
        weakref.finalize(report, os.unlink, name)


def _compare(config: CorpusConfig, staging: Path) -> list[str]:
    """Files that differ between a staged build and the committed package."""
    differences = []
    skip = {DESCRIPTOR_IN_STAGING, OWN_MARKER}
    built = {p.name for p in staging.iterdir() if p.is_file() and p.name not in skip}
    present = ({p.name for p in config.data_dir.iterdir() if p.name != OWN_MARKER}
               if config.data_dir.is_dir() else set())
    rel_data = os.path.relpath(config.data_dir, config.root)
    for name in sorted(built | present):
        if not _same_file(staging / name, config.data_dir / name, config.data_dir):
            differences.append(os.path.join(rel_data, name))
    descriptor_rel = os.path.relpath(config.descriptor, config.root)
    if not _same_file(staging / DESCRIPTOR_IN_STAGING, config.descriptor,
                      config.descriptor.parent):
        differences.append(descriptor_rel)
    return differences


def _same_file(built: Path, committed: Path, root: Path) -> bool:
    """True when two regular files hold the same bytes (a link or a FIFO never does)."""
    if not built.is_file() or os.path.islink(committed):
        return False
    try:
        with open(built, "rb") as a, open_read(committed, root=root) as b:
            if os.fstat(a.fileno()).st_size != os.fstat(b.fileno()).st_size:
                return False
            while True:
                chunk = a.read(1 << 20)
                if chunk != b.read(len(chunk) or 1):
                    return False
                if not chunk:
                    return True
    except UnsafeFile:
        return False
