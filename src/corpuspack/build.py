"""``corpuspack build``: sources in, a validated-ready corpus package out.

:func:`build` checks the outputs, takes the output's lock, finishes an interrupted commit,
runs the stages (:mod:`corpuspack.stages`) into a staging folder and commits it atomically
(:mod:`corpuspack.commit`); with ``check`` it builds in a temporary folder and compares.
With a cache, a build whose inputs match a recorded one (:mod:`corpuspack.build_record`)
runs no stage: it finds the committed package equal to the recorded outputs and writes
nothing, or, with ``check``, compares the committed files with the recorded digests.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

from corpuspack import build_record
from corpuspack.cache import DEFAULT_CACHE, Cache, cache_folder, foreign, open_cache
from corpuspack.commit import DESCRIPTOR_IN_STAGING, Layout, commit, record_staging, recover
from corpuspack.config import CorpusConfig
from corpuspack.errors import CorpusError, UsageError
from corpuspack.executors import INHERITED_FDS, Executor, resolve
from corpuspack.lock import exclusive, lock_path
from corpuspack.ownership import LEGACY_DATA, check_output, check_replaceable
from corpuspack.progress import NoProgress, ProgressHook
from corpuspack.report import BuildReport
from corpuspack.safefs import (
    OWN_MARKER,
    UnsafeFile,
    is_within,
    read_bytes,
    remove_own_dir,
    same_bytes,
)

__all__ = ["DEFAULT_CACHE", "build", "check_outputs"]

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
    # a data folder without a record (written before records existed) is trusted by its
    # file names only beside a descriptor corpuspack wrote
    legacy = LEGACY_DATA if _check_descriptor(config.descriptor) else None
    check_replaceable(config.data_dir, "data folder", legacy)


def _check_descriptor(path: Path) -> bool:
    """True when the descriptor exists and corpuspack wrote it; UsageError when it exists
    and corpuspack did not."""
    if not os.path.lexists(path):
        return False
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
    return True


def build(config: CorpusConfig, *, workers: int | None = None, strict: bool = False,
          check: bool = False, progress: ProgressHook | None = None,
          executor: Executor | str | None = None,
          cache: Path | str | None = DEFAULT_CACHE) -> BuildReport:
    """Build the corpus package described by ``config``; return the build report.

    ``executor`` runs the per-file work: an :class:`~corpuspack.executors.Executor`, a name
    (``"local"``, ``"serial"``, see :func:`~corpuspack.executors.get_executor`) or None for
    the local process pool of ``workers`` processes (default: all cores).

    ``cache``: the folder of per-file results kept between builds (:mod:`corpuspack.cache`);
    by default ``CORPUSPACK_CACHE`` if set (``off``: none), else ``.corpuspack-cache``
    beside the descriptor; None: no cache. The output does not depend on it.

    With ``check`` nothing is written: the package is built in a temporary folder and
    compared byte for byte with the committed one; differing files are listed in
    ``report.check_differences``. With ``strict`` any skipped file or record fails the build
    (a :class:`CorpusError`) before anything is committed.
    """
    from corpuspack.passes import partitions_setting

    if not config.source_dir.is_dir():
        raise UsageError(f"source folder not found: {config.source_dir}")
    partitions_setting()  # a bad value fails every build, one from a record too
    progress = progress or NoProgress()
    layout = Layout(config.descriptor, config.data_dir)
    started = time.perf_counter()
    folder = cache_folder(config.descriptor, cache)
    if folder is not None:
        _check_cache_folder(config, folder)
    if check and folder is not None and cache is DEFAULT_CACHE \
            and not folder.parent.is_dir():
        folder = None  # nothing built there yet: --check creates no folder
    run_on = resolve(executor, workers)
    try:
        report = _build(config, check, strict, progress, layout, run_on, folder)
    finally:
        if run_on is not executor:  # made here from a name: stop what it started
            close = getattr(run_on, "close", None)
            if close is not None:
                close()
    report.seconds = time.perf_counter() - started
    if check and strict and report.skip_count:
        raise CorpusError(f"--strict: {report.skip_count} file(s) or record(s) were skipped")
    return report


@contextmanager
def _cache(folder: Path | None) -> Iterator[Cache | None]:
    """The cache, opened for a build (after the outputs were checked: a refused build
    leaves no trace) and evicted after it succeeded."""
    cache = open_cache(folder)
    try:
        yield cache
        if cache is not None:
            cache.evict()
    finally:
        if cache is not None:
            cache.close()


def _check_cache_folder(config: CorpusConfig, folder: Path) -> None:
    for name, path in (("the source folder", config.source_dir),
                       ("the data folder", config.data_dir)):
        if is_within(folder, path):
            raise UsageError(f"the cache {folder} lies inside {name}: choose another folder")
    why = foreign(folder)
    if why is not None:
        raise UsageError(f"the cache {folder} {why}: choose another folder")


def _build(config: CorpusConfig, check: bool, strict: bool, progress: ProgressHook,
           layout: Layout, run_on: Executor, folder: Path | None) -> BuildReport:
    # taken before anything reads the sources: a file changed meanwhile misses the record
    inputs = build_record.fingerprint(config) if folder is not None else None
    if check:
        recorded = _recorded(folder, inputs)
        if recorded is not None:
            report = recorded.report
            report.check_differences = _compare(config, recorded.outputs)
            return report
        with tempfile.TemporaryDirectory(prefix="corpuspack-check-") as tmp, \
                _cache(folder) as cache:
            staging, workdir = Path(tmp) / "staging", Path(tmp) / "work"
            staging.mkdir()
            workdir.mkdir()
            result = _stages(config, staging, workdir, run_on, progress, cache,
                             _reuse(folder, config, check))
            report, outputs = _staged(result, staging)
            report.check_differences = _compare(config, outputs)
    else:
        check_outputs(config)
        with _lock(layout):
            recover(layout)
            check_outputs(config)  # again: recovery may have changed what is there
            recorded = _recorded(folder, inputs)
            if recorded is not None and not _compare(config, recorded.outputs):
                _check_strict(recorded.report, strict)
                return recorded.report  # the committed package is what a build writes
            staging, workdir = layout.new_staging(), layout.new_workdir()
            try:
                with _cache(folder) as cache:
                    result = _stages(config, staging, workdir, run_on, progress, cache,
                                     _reuse(folder, config, check))
                _check_strict(result if isinstance(result, BuildReport) else result.report,
                              strict)
                report, outputs = _staged(result, staging)
                if not report.from_record:
                    commit(layout, staging)
            finally:
                remove_own_dir(workdir)
                remove_own_dir(staging)
    _save(folder, config, inputs, report, outputs)
    if inputs is not None:
        report.stage_seconds = {"inputs": inputs.seconds, **report.stage_seconds}
    return report


def _reuse(folder: Path | None, config: CorpusConfig, check: bool
           ) -> Callable[[str], build_record.Recorded | None] | None:
    """What the stages ask for a build on record by its plan key: with ``check`` any, else
    only one whose outputs the committed package already holds."""
    if folder is None:
        return None

    def reuse(key: str) -> build_record.Recorded | None:
        recorded = build_record.load(folder, key)
        if recorded is None or check or not _compare(config, recorded.outputs):
            return recorded
        return None

    return reuse


def _staged(result: BuildReport | build_record.Recorded, staging: Path
            ) -> tuple[BuildReport, build_record.Outputs]:
    """The report and outputs of the stages: a staged package's, or a record's."""
    if isinstance(result, build_record.Recorded):
        return result.report, result.outputs
    outputs = record_staging(staging, result.shards)
    _keep_lists(result)
    return result, outputs


def _save(folder: Path | None, config: CorpusConfig, inputs: build_record.Inputs | None,
          report: BuildReport, outputs: build_record.Outputs) -> None:
    """Record a build under its plan key, and under its inputs' key when they were settled
    and are the same after the build (a file changed while it ran, even if put back
    since, is not taken for what the build read)."""
    if folder is None:
        return
    if inputs is not None and inputs.settled \
            and build_record.fingerprint(config).key == inputs.key:
        build_record.save(folder, inputs.key, report, outputs)
    if report.plan_key and not report.from_record:
        build_record.save(folder, report.plan_key, report, outputs)


def _stages(config: CorpusConfig, staging: Path, workdir: Path, run_on: Executor,
            progress: ProgressHook, cache: Cache | None,
            reuse: Callable[[str], build_record.Recorded | None] | None
            ) -> BuildReport | build_record.Recorded:
    from corpuspack.stages import build_into  # imported when a build runs its stages

    return build_into(config, staging, workdir, run_on, progress, cache, reuse)


def _recorded(folder: Path | None, inputs: build_record.Inputs | None
              ) -> build_record.Recorded | None:
    if folder is None or inputs is None:
        return None
    started = time.perf_counter()
    recorded = build_record.load(folder, inputs.key)
    if recorded is not None:
        recorded.report.stage_seconds = {"inputs": inputs.seconds,
                                         "record": time.perf_counter() - started}
    return recorded


def _check_strict(report: BuildReport, strict: bool) -> None:
    if strict and report.skip_count:
        first = report.first_skipped[0]
        raise CorpusError(
            f"--strict: {report.skip_count} file(s) or record(s) were skipped "
            f"(first: {first.path}: {first.reason})")


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


def _compare(config: CorpusConfig, built: build_record.Outputs) -> list[str]:
    """Files that differ between a build's outputs (staged names -> bytes and sha256) and
    the committed package."""
    differences = []
    present = ({p.name for p in config.data_dir.iterdir() if p.name != OWN_MARKER}
               if config.data_dir.is_dir() else set())
    rel_data = os.path.relpath(config.data_dir, config.root)
    for name in sorted((set(built) - {DESCRIPTOR_IN_STAGING}) | present):
        if not _same_file(built.get(name), config.data_dir / name, config.data_dir):
            differences.append(os.path.join(rel_data, name))
    descriptor_rel = os.path.relpath(config.descriptor, config.root)
    if not _same_file(built.get(DESCRIPTOR_IN_STAGING), config.descriptor,
                      config.descriptor.parent):
        differences.append(descriptor_rel)
    return differences


def _same_file(built: tuple[int, str] | None, committed: Path, root: Path) -> bool:
    """True when a committed regular file has the built bytes and sha256 (a link or a FIFO
    never does)."""
    return built is not None and same_bytes(committed, built[0], built[1], root=root)
