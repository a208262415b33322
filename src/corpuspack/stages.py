"""The stages of a build, one function each, on an executor and a query engine.

1. plan (:func:`walk`): walk the source folder; batch files into tasks;
2. map (:func:`map_files`, :mod:`corpuspack.tasks` on the executor): read, decode,
   normalise, strip per-document boilerplate, redact, identify languages, decide the quality
   filters; write one typed run per task (:mod:`corpuspack.runs`);
3. frequent lines (:func:`refine`): count lines across documents of each source
   (:mod:`corpuspack.passes`); rewrite the documents holding frequent ones (executor);
4. duplicates: exact duplicates (:mod:`corpuspack.dedup`) and near-duplicate candidate
   pairs (:mod:`corpuspack.neardup`), for a large corpus by partitions of their keys'
   hash, a shuffle of tasks on the executor (:func:`partitions`); then
   (:func:`duplicates`, which finds them itself for a small corpus) the near-duplicate
   decisions and what the shards get;
5. lists (:func:`lists`): the report's counts, skipped, filtered and duplicate lists;
6. shards (:func:`shards`): documents in id order into id-range shards
   (:mod:`corpuspack.shards`); with a cache, a shard whose documents did not change is
   copied from the committed package instead (:func:`reused_shards`);
7. descriptor and report (:func:`describe`) into the staging folder; the commit
   (:mod:`corpuspack.commit`) is :func:`corpuspack.build.build`'s.

Stages 3 to 7 query the runs with DuckDB; none holds the corpus in memory.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from corpuspack import guard, passes
from corpuspack.build_record import Recorded
from corpuspack.cache import Cache, Keys, Planned, settings_digest
from corpuspack.commit import DESCRIPTOR_IN_STAGING, write_json
from corpuspack.config import CorpusConfig
from corpuspack.dedup import DedupResult, find_exact_duplicates, load_exact_duplicates
from corpuspack.document import table_schema
from corpuspack.errors import CorpusError
from corpuspack.executors import Executor, frozen_heap
from corpuspack.guard import Limits
from corpuspack.neardup import find_clusters, load_pairs
from corpuspack.package import REPORT_FILE, SCHEMA_FILE, descriptor
from corpuspack.pipeline import Settings
from corpuspack.progress import ProgressHook
from corpuspack.report import BuildReport, Skipped
from corpuspack.runs import (
    DocSettings,
    LinesWriter,
    Runs,
    file_key_of,
    merge_runs,
    prepare,
    read_counts,
    register,
    wanted_writer,
)
from corpuspack.safefs import same_bytes
from corpuspack.shards import ShardInfo, ShardWriter, shard_count, shard_filename
from corpuspack.sources.files import SourceFile, walk_sources
from corpuspack.tasks import (
    RefineTask,
    Walked,
    map_tasks,
    run_map,
    run_refine,
)

if TYPE_CHECKING:
    import duckdb

MiB = 1 << 20
PLAN_CHUNK = 512  # files looked up in the cache at once
# a run holding fewer of a build's files than MERGE_SMALL_FILES, of fewer bytes than
# MERGE_SMALL_BYTES, is small; a build that used MERGE_AT small runs merges them
# (merge_small_runs)
MERGE_SMALL_FILES = 64
MERGE_SMALL_BYTES = 8 * MiB
MERGE_AT = 16
AUDIT_FILE = "boilerplate-audit.jsonl"


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
        text_column=opts.text_column,
    )



def build_into(config: CorpusConfig, staging: Path, workdir: Path, executor: Executor,
               progress: ProgressHook, cache: Cache | None = None,
               reuse: Callable[[str], Recorded | None] | None = None
               ) -> BuildReport | Recorded:
    """Build the package of ``config`` into ``staging`` (nothing committed), working in
    ``workdir``, reading and filling ``cache``; return the report.

    With a cache, the report's ``plan_key`` names what the build's outputs follow from (the
    config and every file's key, see :func:`plan_key`); ``reuse`` is asked for a recorded
    build of that key when every file came from the cache, and a record it gives is
    returned instead, nothing staged: the corpus-wide passes are not run."""
    prepare()  # imports the workers inherit, before the heap is frozen
    with frozen_heap():
        return _build_into(Build(config, staging, workdir, executor, progress, cache),
                           reuse)


def _build_into(b: Build, reuse: Callable[[str], Recorded | None] | None
                ) -> BuildReport | Recorded:
    with timed(b, "map"):
        map_files(b)
    b.report.plan_key = plan_key(b)
    if reuse is not None and b.report.plan_key and not b.report.files_processed:
        with timed(b, "record"):
            recorded = reuse(b.report.plan_key)
        if recorded is not None:
            recorded.report.stage_seconds = b.report.stage_seconds
            recorded.report.plan_key = b.report.plan_key
            return recorded
    refine(b)
    with timed(b, "partitions"):
        found = partitions(b)
    con = b.connect()
    try:
        with timed(b, "duplicates"):
            dedup = duplicates(b, con, found)
        with timed(b, "lists"):
            lists(b, con, dedup)
        with timed(b, "shards"):
            written = shards(b, con, dedup)
        with timed(b, "describe"):
            describe(b, con, written)
        with timed(b, "merge_runs"):
            merge_small_runs(b, con)
    finally:
        con.close()
    return b.report


@contextmanager
def timed(b: Build, stage: str) -> Iterator[None]:
    """Add the wall seconds of the block to ``report.stage_seconds[stage]``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds = b.report.stage_seconds
        seconds[stage] = seconds.get(stage, 0.0) + time.perf_counter() - start


def _timed_items(b: Build, stage: str, items: Iterator[Planned | Walked]
                 ) -> Iterator[Planned | Walked]:
    """``items``, adding the time spent producing each to ``stage_seconds[stage]``."""
    while True:
        with timed(b, stage):
            item = next(items, None)
        if item is None:
            return
        yield item


@dataclass
class Build:
    """One build in progress: its inputs, where it writes, what it found so far."""

    config: CorpusConfig
    staging: Path
    workdir: Path
    executor: Executor
    progress: ProgressHook
    cache: Cache | None = None
    report: BuildReport = field(default_factory=BuildReport)
    runs: Runs = field(default_factory=Runs)
    # what the outputs follow from: the walk's skips and every planned file's key
    planned: Any = field(default_factory=lambda: hashlib.blake2b(digest_size=16))
    uncacheable: int = 0  # files read whose results may not be cached (changed meanwhile)
    # small runs this build wrote into the cache: (docs path, files path, cacheable keys,
    # bytes of those files)
    small_runs: list[tuple[str, str, list[bytes], int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.settings = settings_for(self.config)
        self.doc_settings = DocSettings(self.config.near_dedup,
                                        self.config.boilerplate.counts_lines,
                                        self.config.quality)

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A query engine over the build's runs (closed before the executor runs again:
        forking a process that runs DuckDB's threads is not safe)."""
        con = passes.connect(self.workdir, self.executor.workers)
        passes.fit_documents(con, passes.run_rows(self.runs))
        register(con, self.runs)
        con.execute(passes.CANDIDATES_VIEW)
        return con


def cache_settings(b: Build) -> bytes:
    """The digest of what per-file work depends on besides the file: its settings and the
    document settings of runs, without those only corpus-wide passes use."""
    config = b.config
    rules = replace(config.boilerplate, frequent_min_docs=0, frequent_min_fraction=0.0)
    near = replace(config.near_dedup, threshold=0.0, keep=False)
    return settings_digest(replace(b.settings, boilerplate=rules), near,
                           b.doc_settings.line_keys, b.doc_settings.filters)


def walk(b: Build) -> Iterator[SourceFile]:
    """Every source file of the build; skipped ones go to a LINES file."""
    opts = b.config.options
    exclude = (b.config.data_dir, b.config.data_dir.parent / ".git")
    skips = LinesWriter(b.workdir / "skips-walk.parquet")
    for item in walk_sources(b.config.source_dir, exclude,
                             max_manifest_bytes=opts.max_manifest_mb * MiB,
                             max_manifest_patterns=opts.max_manifest_patterns,
                             max_meta_bytes=opts.max_meta_kb * 1024, notes=b.report.notes):
        if isinstance(item, Skipped):
            line = item.to_line()
            skips.add(line)
            b.planned.update(b"s%d\n" % len(line) + line)
            b.report.files_seen += item.record is None  # a manifest row is no file
        else:
            yield item
    b.runs.skips.append(skips.close())


def plan(b: Build) -> Iterator[Planned | Walked]:
    """The files to read, with their keys: with a cache, files whose results it holds are
    taken from it (named in ``runs.cached``) and not read; a :class:`~corpuspack.tasks.Walked`
    mark after each PLAN_CHUNK files looked up."""
    files = walk(b)
    cache = b.cache
    if cache is None:
        for src in files:
            yield Planned(src, file_key_of(src.rel))
        return
    keys = Keys(cache, b.config.source_dir, cache_settings(b))
    wanted = wanted_writer(b.workdir / "cached.parquet")
    used: dict[str, str] = {}
    paths: dict[tuple[str, str], tuple[str, ...]] = {}  # a run's names -> its paths
    while chunk := list(itertools.islice(files, PLAN_CHUNK)):
        planned = list(keys.plan(chunk))
        b.planned.update(b"".join(b"k" + p.key for p in planned))
        hits = cache.lookup([p.key for p in planned])
        cached = size = 0
        for p in planned:
            hit = hits.get(p.key)
            if hit is None:
                yield p
                continue
            docs, files_name = paths.get(hit) or paths.setdefault(
                hit, tuple(str(cache.path(n)) for n in hit))
            used[docs] = files_name
            wanted.add(docs, files_name, p.key)
            cached += 1
            size += p.src.size
        b.report.files_cached += cached
        b.progress.advance(cached, size)
        yield Walked(len(chunk))
    b.runs.cached = wanted.close()
    b.runs.cached_docs, b.runs.cached_files = list(used), list(used.values())
    keys.save()


def plan_key(b: Build) -> str | None:
    """The key of what a build's outputs follow from, once its files are planned: the
    config (:func:`~corpuspack.cache.settings_digest`: every setting and corpuspack's
    code), the walk's skips and notes, and every file's key (its bytes, sidecar, manifest
    metadata and path) in walk order. None without a cache, or when a file read by this
    build changed meanwhile (its result is on no key)."""
    if b.cache is None or b.uncacheable:
        return None
    digest = b.planned.copy()
    digest.update(settings_digest(b.config))
    digest.update(orjson.dumps([b.report.files_seen, sorted(b.report.notes.items())]))
    return digest.hexdigest()


def map_files(b: Build) -> None:
    """Read every source file into runs, on the executor (with a cache: into it, each run
    indexed as it comes, so a killed build resumes from there)."""
    b.progress.stage("reading sources (files)")
    out, tmp = b.workdir / "runs", None
    if b.cache is not None:
        out, tmp = b.cache.runs_dir, b.cache.tmp_dir
    out.mkdir(exist_ok=True)
    planned = _timed_items(b, "walk", plan(b))
    opts = b.config.options
    limits = Limits(opts.max_file_seconds, opts.max_file_memory_mb, os.urandom(8).hex())
    tasks = map_tasks(planned, b.settings, b.doc_settings, out, tmp, limits=limits)
    try:
        for result in b.executor.map(run_map, tasks):
            b.runs.docs.append(result.docs)
            b.runs.files.append(result.files)
            if b.cache is not None:
                b.cache.add_run(Path(result.docs).name, Path(result.files).name, result.keys)
                if _small(len(result.keys), result.bytes_in):
                    b.small_runs.append((result.docs, result.files, result.keys,
                                         result.bytes_in))
            b.uncacheable += result.n_files - len(result.keys)
            b.report.files_processed += result.n_files
            b.progress.advance(result.n_files, result.bytes_in)
    finally:
        guard.close()  # the reader of this process (one worker: the map ran here)
    if b.cache is not None:
        b.cache.flush()


def _small(files: int, size: int) -> bool:
    return 0 < files < MERGE_SMALL_FILES and size < MERGE_SMALL_BYTES


def merge_small_runs(b: Build, con: duckdb.DuckDBPyConnection) -> None:
    """Merge the small runs of the cache this build used into runs of at most
    TASK_MAX_FILES files and TASK_MAX_BYTES bytes, for the builds after it.

    Every task writes a run, and a build's passes open every run that holds one of its
    files: DuckDB took 0.16 ms more per run file and query (94 runs against one file of
    the same rows). A rebuild of a few changed files adds small runs, and a run of a full
    build shrinks as its files change, so without merging, a cache used for many rebuilds
    would slow every build down. Once a build used :data:`MERGE_AT` runs holding fewer than
    :data:`MERGE_SMALL_FILES` of its files each, and fewer than :data:`MERGE_SMALL_BYTES`
    of them (a run of a few large files is no fragment), their rows of those files are
    copied unchanged into new runs (:func:`corpuspack.runs.merge_runs`) and the index
    points the files' keys at them; the old runs are no longer looked up and go as
    eviction removes unused runs. The package does not change: the same rows are read from
    other files. A merge that fails leaves the cache as it was (no build needs a cache)."""
    from corpuspack import tasks

    cache = b.cache
    if cache is None or cache.broken:
        return
    try:
        small = list(b.small_runs)
        # runs holding few of the files, counted without reading the runs (that read cost
        # a rebuild 0.08 s): fewer than MERGE_AT of them, and there is nothing to merge
        few = 0 if b.runs.cached is None else con.execute(
            f"SELECT count(*) FROM (SELECT run FROM wanted GROUP BY run "
            f"HAVING count(*) < {int(MERGE_SMALL_FILES)})").fetchall()[0][0]
        if len(small) + few < MERGE_AT:
            return
        if few:
            # only the small runs' keys come to Python
            small += [(docs, files, keys, int(size)) for docs, files, keys, size in con.execute(
                "SELECT n.docs, n.files, list(w.file ORDER BY w.file), "
                "coalesce(sum(f.bytes_in), 0) FROM wanted w JOIN wanted_runs n USING (run) "
                "JOIN files f ON f.file = w.file GROUP BY n.docs, n.files "
                f"HAVING count(*) < {int(MERGE_SMALL_FILES)} "
                f"AND coalesce(sum(f.bytes_in), 0) < {int(MERGE_SMALL_BYTES)}").fetchall()]
        if len(small) < MERGE_AT:
            return
        b.progress.stage("merging small runs of the cache")
        small.sort()
        groups: list[list[tuple[str, str, list[bytes], int]]] = [[]]
        files = size = 0
        for part in small:
            if groups[-1] and (files + len(part[2]) > tasks.TASK_MAX_FILES
                               or size + part[3] > tasks.TASK_MAX_BYTES):
                groups.append([])
                files = size = 0
            groups[-1].append(part)
            files += len(part[2])
            size += part[3]
        for group in groups:
            if len(group) > 1:
                docs, names, keys = merge_runs([(d, f, k) for d, f, k, _ in group],
                                               cache.runs_dir, cache.tmp_dir)
                cache.add_run(Path(docs).name, Path(names).name, keys)
    except Exception:  # noqa: BLE001 - the cache only saves work: leave it as it was
        return


def refine(b: Build) -> None:
    """Count lines across documents of each source; remove the frequent ones (on the
    executor) from the documents holding them."""
    rules = b.config.boilerplate
    if not rules.counts_lines:
        return
    b.progress.stage("counting lines across documents")
    with timed(b, "frequent_lines"):
        con = b.connect()
        try:
            b.report.frequent_lines = passes.frequent_lines(con, rules.frequent_min_docs,
                                                            rules.frequent_min_fraction)
            inputs = passes.refine_inputs(con, b.workdir / "refine-input",
                                          4 * b.executor.workers) \
                if b.report.frequent_lines else []
        finally:
            con.close()
    if not inputs:
        return
    with timed(b, "refine"):
        _refine_documents(b, inputs)


def _refine_documents(b: Build, inputs: list[str]) -> None:
    rules = b.config.boilerplate
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


def partitions(b: Build) -> list[passes.PartitionResult] | None:
    """The exact-duplicate and near-duplicate candidate passes, partitioned by a hash of
    their keys (:func:`corpuspack.passes.partitions_for`) as a shuffle on the executor:
    split tasks each spread a share of the runs' keys over the partitions, then one task
    per partition and pass reads that partition's keys. Their results in the order of
    (kind, partition); None when the passes run in the main process instead."""
    n = passes.partitions_for(b.executor.workers, passes.run_rows(b.runs))
    if n is None:
        return None
    near = b.config.near_dedup.enabled
    splits = passes.split_tasks(b.runs, n, b.workdir, near, b.executor.workers)
    kinds = ["exact"] + (["near"] if near else [])
    tasks = [passes.PartitionTask(kind, part, n, str(b.workdir), b.config.options.exact_dedup)
             for kind in kinds for part in range(n)]
    b.progress.stage("finding duplicates (partitions)", len(splits) + len(tasks))
    for _ in b.executor.map(passes.run_split, splits):
        b.progress.advance(1)
    found = []
    for result in b.executor.map(passes.run_partition, tasks):
        found.append(result)
        b.progress.advance(1)
    return sorted(found, key=lambda r: (r.kind, r.part))


def duplicates(b: Build, con: duckdb.DuckDBPyConnection,
               found: list[passes.PartitionResult] | None) -> DedupResult:
    """Exact duplicates and near-duplicate pairs (from the partitions, or found here when
    ``found`` is None), near-duplicate clusters, and what the shards get."""
    b.progress.stage("finding duplicates" if found is None else "deciding near-duplicates")
    config, report = b.config, b.report
    if found is None:
        dedup = find_exact_duplicates(con, config.options.exact_dedup)
    else:
        exact = [r for r in found if r.kind == "exact"]
        dedup = load_exact_duplicates(con, [r.path for r in exact],
                                      sum(r.kept_bytes for r in exact))
    report.duplicates_dropped = dedup.duplicates
    near = config.near_dedup
    members: dict[str, tuple[str, float]] = {}
    if near.enabled:
        con.execute("CREATE OR REPLACE VIEW near_input AS SELECT id, signature, bands "
                    "FROM candidates WHERE signature IS NOT NULL")
        if found is not None:
            load_pairs(con, [r.path for r in found if r.kind == "near"])
        clusters = find_clusters(con, near, pairs_ready=found is not None, folder=b.workdir)
        members = clusters.members
        report.near_pairs_checked = clusters.pairs_checked
        report.near_duplicate_clusters = clusters.clusters
    settled = passes.settle(con, members, near.keep)
    report.near_duplicates_dropped = settled.near_dropped
    return dedup


def lists(b: Build, con: duckdb.DuckDBPyConnection, dedup: DedupResult) -> None:
    """The report's counts and lists: skipped, filtered, duplicates; fail when no document
    is left."""
    report, workdir = b.report, b.workdir
    found = passes.counts(con)
    report.files_seen += found["files"]
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
    skipped = workdir / "skipped.jsonl"
    report.count_skipped(passes.sorted_lines(con, "SELECT line FROM skips UNION ALL "
                                             "SELECT line FROM collisions", skipped), skipped)
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


def shards(b: Build, con: duckdb.DuckDBPyConnection, dedup: DedupResult
            ) -> list[ShardInfo]:
    """Write the documents in id order into id-range shards; with a cache, a shard whose
    data file an earlier build wrote is copied from the data folder instead, when it is
    there as written (:func:`reused_shards`)."""
    options, report = b.config.options, b.report
    b.progress.stage("writing shards (documents)", report.documents_read
                     - report.documents_filtered - dedup.duplicates)
    n_shards = shard_count(dedup.kept_bytes, max(1, int(options.shard_size_mb * MiB)))
    keys = shard_keys(b, con, n_shards)
    reused = reused_shards(b, keys, n_shards)
    for info in reused.values():
        report.documents_written += info.rows
        b.progress.advance(info.rows)
    writer = ShardWriter(b.staging, n_shards, options.compression)
    wanted = None if b.cache is None else (n_shards, sorted(set(keys) - set(reused)))
    try:
        for ids, lines in passes.ordered_documents(con, b.workdir / "order", wanted):
            writer.add_batch(ids, lines)
            report.documents_written += len(ids)
            b.progress.advance(len(ids))
    except BaseException:
        writer.abort()
        raise
    shards = sorted([*writer.close(), *reused.values()], key=lambda s: s.filename)
    if b.cache is not None:
        by_name = {s.filename: s for s in shards}
        named = {key: shard_filename(i, n_shards, options.compression)
                 for i, key in keys.items()}
        b.cache.record_shards({key: by_name[name] for key, name in named.items()
                               if name in by_name})
    report.shards_reused = len(reused)
    report.shards = shards
    report.bytes_out = sum(s.bytes for s in shards)
    report.data_files = [s.filename for s in shards]
    return shards


def shard_keys(b: Build, con: duckdb.DuckDBPyConnection, n: int) -> dict[int, bytes]:
    """With a cache, the key of each of the ``n`` shards that will hold documents: its
    documents (:func:`corpuspack.passes.shard_keys`) under the build's whole configuration
    and corpuspack's code (:func:`~corpuspack.cache.settings_digest`); none without one
    (the runs' file keys are then their paths only, not their contents)."""
    if b.cache is None:
        return {}
    head = settings_digest(b.config) + f"|{n}|{b.config.options.compression}|".encode()
    return {index: hashlib.sha256(head + b"%d|" % index + digest).digest()
            for index, digest in passes.shard_keys(con, n).items()}


def reused_shards(b: Build, keys: dict[int, bytes], n: int) -> dict[int, ShardInfo]:
    """The shards copied into the staging folder from the data folder: those whose key
    names a data file an earlier build wrote (the cache's record of it) that the data
    folder still holds byte for byte (:func:`~corpuspack.safefs.same_bytes`: its size and
    SHA-256 checked as it is copied, never through a link). Cost: reading and writing the
    file once, instead of reading, sorting and writing its documents' lines."""
    if b.cache is None or not keys:
        return {}
    known = b.cache.written_shards(list(keys.values()))
    compression, folder = b.config.options.compression, b.config.data_dir
    reused = {}
    for index, key in sorted(keys.items()):
        info = known.get(key)
        name = shard_filename(index, n, compression)
        if info is not None and info.filename == name and same_bytes(
                folder / name, info.bytes, info.sha256, root=folder,
                copy_to=b.staging / name):
            reused[index] = info
    return reused


def describe(b: Build, con: duckdb.DuckDBPyConnection, shards: list[ShardInfo]) -> None:
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
