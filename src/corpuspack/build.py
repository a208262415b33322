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

import heapq
import os
import shutil
import tempfile
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

from corpuspack.config import CorpusConfig
from corpuspack.dedup import find_exact_duplicates
from corpuspack.document import json_line, line_id, table_schema
from corpuspack.errors import CorpusError, UsageError
from corpuspack.lock import exclusive, lock_path
from corpuspack.neardup import find_clusters
from corpuspack.ownership import LEGACY_DATA, check_output, check_replaceable
from corpuspack.package import REPORT_FILE, SCHEMA_FILE, descriptor
from corpuspack.passes import (
    INHERITED_FDS,
    RefineTask,
    default_workers,
    frequent_lines,
    parallel_map,
    run_refine,
    run_task,
    tasks,
)
from corpuspack.pipeline import Settings
from corpuspack.progress import NoProgress, ProgressHook
from corpuspack.report import BuildReport, Duplicate, Skipped
from corpuspack.runs import Refine
from corpuspack.safefs import OWN_MARKER, UnsafeFile, open_read, read_bytes, remove_own_dir
from corpuspack.sortutil import merge_files, sort_lines
from corpuspack.sources.files import SourceFile, walk_sources
from corpuspack.stats import CorpusStats
from corpuspack.write import (
    DESCRIPTOR_IN_STAGING,
    Layout,
    ShardWriter,
    commit,
    record_staging,
    recover,
    shard_count,
    write_json,
)

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
                report = _build_into(config, staging, workdir, workers, progress)
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


def _build_into(config: CorpusConfig, staging: Path, workdir: Path, workers: int | None,
                progress: ProgressHook) -> BuildReport:
    report = BuildReport()
    settings = settings_for(config)
    workers = workers or default_workers()
    rules, near = config.boilerplate, config.near_dedup
    exclude = (config.data_dir, config.data_dir.parent / ".git")
    skip_files: list[Path] = [workdir / "skips-walk.jsonl"]
    walk_skips = open(skip_files[0], "xb")  # noqa: SIM115 - closed below

    def files() -> Iterator[SourceFile]:
        opts = config.options
        for item in walk_sources(config.source_dir, exclude,
                                 max_manifest_bytes=opts.max_manifest_mb * MiB,
                                 max_manifest_patterns=opts.max_manifest_patterns,
                                 max_meta_bytes=opts.max_meta_kb * 1024):
            if isinstance(item, Skipped):
                walk_skips.write(item.to_line())
                report.files_seen += 1
            else:
                yield item

    progress.stage("reading sources (files)")
    stems: list[str] = []
    groups: dict[str, int] = {}
    stats = CorpusStats()
    audit = open(workdir / "audit.jsonl", "wb")  # noqa: SIM115 - closed below
    for result in parallel_map(run_task, tasks(files(), settings, near, rules.counts_lines,
                                               workdir), workers):
        stems.extend(result.stems)
        for group, n in result.groups.items():
            groups[group] = groups.get(group, 0) + n
        report.files_seen += result.files
        report.files_read += result.files_read
        report.documents_read += result.documents
        report.bytes_in += result.file_stats.bytes_in
        report.repaired_mojibake += result.file_stats.repaired_mojibake
        report.removed.update(result.file_stats.removed)
        report.pii.update(result.file_stats.pii)
        audit.writelines(result.file_stats.audit)
        report.notes.update(result.file_stats.notes)
        report.encodings.update(result.encodings)
        if result.skips_file:
            skip_files.append(Path(result.skips_file))
        stats.update(result.stats)
        progress.advance(result.files, result.file_stats.bytes_in)
    walk_skips.close()
    report.sort_skipped(skip_files, workdir)
    stems.sort()

    frequent_file, frequent_digest = None, ""
    if rules.counts_lines:
        progress.stage("counting lines across documents")
        found, report.frequent_lines, frequent_digest = frequent_lines(
            stems, groups, rules.frequent_min_docs, rules.frequent_min_fraction, workdir)
        frequent_file = str(found) if report.frequent_lines else None
    if frequent_file or config.quality.active:
        progress.stage("removing frequent lines, filtering (runs)", len(stems))
        refine = Refine(frequent_file, frequent_digest, rules, config.quality, near)
        refine_tasks = [RefineTask(stem, refine, f"{stem}-r") for stem in stems]
        stems, stats = [], CorpusStats()
        with open(workdir / "filtered-unsorted.jsonl", "wb") as filtered:
            for refined in parallel_map(run_refine, refine_tasks, workers):
                stems.extend(refined.stems)
                stats.update(refined.stats)
                report.removed.update(refined.file_stats.removed)
                audit.writelines(refined.file_stats.audit)
                filtered.writelines(s.to_line() for s in refined.filtered)
                report.documents_filtered += len(refined.filtered)
                report.filtered_by_reason.update(s.reason.split(" ")[1] for s in refined.filtered)
                progress.advance(1)
        stems.sort()
        report.filtered_file = _sorted_file(workdir / "filtered-unsorted.jsonl",
                                            workdir / "filtered.jsonl", workdir)

    progress.stage("finding duplicates")
    dedup = find_exact_duplicates([Path(f"{s}.keys") for s in stems], workdir / "dedup",
                                  config.options.exact_dedup)
    report.duplicates_dropped = dedup.duplicates
    clusters: dict[str, tuple[str, float]] = {}
    if near.enabled:
        found_clusters = find_clusters([Path(f"{s}.bands") for s in stems],
                                       [Path(f"{s}.sig") for s in stems],
                                       workdir / "near", near,
                                       (d.id for d in _iter_duplicates(dedup.duplicates_file)))
        clusters = found_clusters.members
        report.near_pairs_checked = found_clusters.pairs_checked
        report.near_duplicate_clusters = found_clusters.clusters
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

    progress.stage("writing shards (documents)", written)
    n_shards = shard_count(dedup.kept_bytes, max(1, int(config.options.shard_size_mb * MiB)))
    writer = ShardWriter(staging, n_shards, config.options.compression)
    collisions: list[Skipped] = []
    near_file = workdir / "near-duplicates.jsonl"
    near_drops = open(near_file, "wb")  # noqa: SIM115 - closed below
    near_count = 0
    exact = _iter_duplicates(dedup.duplicates_file)
    next_drop = next(exact, None)
    previous = drops_id = b""
    drop_shas: list[str] = []  # texts to drop under the current id
    for line in merge_files([Path(f"{s}.jsonl") for s in stems], key=line_id,
                            workdir=workdir):
        doc_id = line_id(line)
        if doc_id != drops_id:
            drops_id, drop_shas = doc_id, []
            while next_drop is not None and next_drop.id.encode() <= doc_id:
                if next_drop.id.encode() == doc_id:
                    drop_shas.append(next_drop.sha256)
                next_drop = next(exact, None)
        if drop_shas:
            obj = orjson.loads(line)
            # two records may share an id (a data error): drop only those whose text repeats
            if obj["sha256"] in drop_shas:
                drop_shas.remove(obj["sha256"])
                stats.add(obj, sign=-1)
                continue
        if doc_id == previous:
            obj = orjson.loads(line)
            stats.add(obj, sign=-1)
            collisions.append(Skipped(obj["source"], obj.get("record"),
                                      f"id collision: another document has id {obj['id']}"))
            continue
        previous = doc_id
        member = clusters.get(doc_id.decode()) if clusters else None
        if member is not None:
            obj = orjson.loads(line)
            cluster, similarity = member
            if cluster != obj["id"] and not near.keep:
                stats.add(obj, sign=-1)
                near_drops.write(Duplicate(obj["id"], obj["source"], cluster, "", "near",
                                           similarity).to_line())
                near_count += 1
                continue
            obj["cluster"] = cluster
            line = json_line(obj)
        writer.add(doc_id, line)
        report.documents_written += 1
        progress.advance(1)
    shards = writer.close()
    report.shards = shards
    near_drops.close()
    if collisions:
        collision_file = workdir / "skips-collisions.jsonl"
        collision_file.write_bytes(b"".join(c.to_line() for c in collisions))
        report.sort_skipped([*skip_files, collision_file], workdir)
    report.near_duplicates_dropped = near_count
    report.duplicates_file = _all_duplicates(dedup.duplicates_file, near_file, stems, workdir)
    report.bytes_out = sum(s.bytes for s in shards)
    report.data_files = [s.filename for s in shards]

    write_json(staging / SCHEMA_FILE, table_schema())
    audit.close()
    if rules.audit:
        _sorted_file(workdir / "audit.jsonl", staging / AUDIT_FILE, workdir)
        report.data_files.append(AUDIT_FILE)
    report.write_json(staging / REPORT_FILE, timing=False)
    write_json(staging / DESCRIPTOR_IN_STAGING,
               descriptor(config, shards, stats.to_dict(), report.summary(timing=False)))
    return report


AUDIT_FILE = "boilerplate-audit.jsonl"


def _iter_duplicates(path: Path) -> Iterator[Duplicate]:
    with open(path, "rb") as fh:
        for line in fh:
            yield Duplicate.from_line(line)


def _all_duplicates(exact: Path, near_file: Path, stems: list[str], workdir: Path) -> Path:
    """One file of every dropped duplicate, in id order; near ones get their kept document's
    source filled in from the keys (the merge saw only ids). Only the kept documents of
    near-duplicate clusters are held in memory."""
    if near_file.stat().st_size == 0:
        return exact
    with open(near_file, "rb") as fh:
        wanted = {Duplicate.from_line(line).duplicate_of for line in fh}
    sources: dict[str, str] = {}
    for stem in stems:
        with open(f"{stem}.keys", "rb") as fh:
            for line in fh:
                _, doc_id, _, source = line.rstrip(b"\n").split(b"\t", 3)
                if doc_id.decode() in wanted:
                    sources[doc_id.decode()] = orjson.loads(source)
    def filled() -> Iterator[bytes]:
        with open(near_file, "rb") as fh:
            for line in fh:
                dup = Duplicate.from_line(line)
                yield Duplicate(dup.id, dup.source, dup.duplicate_of,
                                sources.get(dup.duplicate_of, ""), dup.kind,
                                dup.similarity).to_line()

    out = workdir / "all-duplicates.jsonl"
    with open(exact, "rb") as fh, open(out, "wb") as dest:
        dest.writelines(heapq.merge(fh, filled()))  # both are in id order
    return out


def _sorted_file(source: Path, out: Path, workdir: Path) -> Path:
    """Sort the lines of ``source`` into ``out`` in bounded memory."""
    with open(source, "rb") as lines, open(out, "wb") as fh:
        fh.writelines(sort_lines(lines, workdir, out.stem, 8 << 20))
    return out


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
