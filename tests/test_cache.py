"""The build cache: the same bytes whatever it holds, only changed files read again, damaged
entries never used, a killed build resumed."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from corpuspack.build import build
from corpuspack.cache import DEFAULT_NAME, cache_folder, index_path
from corpuspack.commit import Layout, recover
from corpuspack.config import CorpusConfig, zero_config

from .conftest import SEED, make_tree


def package_bytes(package: Path) -> dict[str, str]:
    """sha256 of every file of a package (its cache aside)."""
    return {str(p.relative_to(package)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(package.rglob("*"))
            if p.is_file() and DEFAULT_NAME not in p.relative_to(package).parts}


def reference(src: Path, tmp: Path, name: str, **options: object) -> dict[str, str]:
    """The package a build without cache writes (into a folder named like the others:
    the package's name comes from it)."""
    config = _config(src, tmp / f"ref-{name}" / "pkg", **options)
    build(config, workers=1, cache=None)
    return package_bytes(config.package_dir)


def _config(src: Path, out: Path, **options: object) -> CorpusConfig:
    config = zero_config(src, out)
    if options:
        config = replace(config, **options)  # type: ignore[arg-type]
    return config


def runs(cache: Path) -> list[Path]:
    return sorted((cache / "runs").glob("*.docs.parquet"))


def stories(folder: Path, n: int, copies: int = 1) -> Path:
    """``folder`` with n files ``000.txt``... (by walk order), each a story of the seed
    document repeated ``copies`` times."""
    folder.mkdir()
    seed = SEED.read_text(encoding="utf-8")
    for i in range(n):
        (folder / f"{i:03d}.txt").write_text(f"Story {i}\n\n" + seed * copies,
                                             encoding="utf-8")
    return folder


@pytest.fixture()
def src(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "t")


def test_cold_warm_and_partly_warm_builds_write_the_same_bytes(src: Path,
                                                               tmp_path: Path) -> None:
    config = _config(src, tmp_path / "a" / "pkg")
    cache = tmp_path / "cache"
    cold = build(config, workers=2, cache=cache)
    assert cold.files_cached == 0 and runs(cache)
    assert package_bytes(config.package_dir) == reference(src, tmp_path, "1")
    warm = build(config, workers=2, cache=cache)
    # every file, skipped ones too (a reason to skip is a result)
    assert (warm.files_cached, warm.files_processed) == (cold.files_processed, 0)
    assert package_bytes(config.package_dir) == reference(src, tmp_path, "1")
    # the count of files taken from the cache is in what build --json prints, not the package
    assert warm.summary(timing=True)["files_cached"] == warm.files_cached
    assert "files_cached" not in json.loads((config.data_dir / "build-report.json").read_text())
    # one file edited, one added, one removed: only the edited and added ones are read
    (src / "notes" / "post.md").write_text((src / "notes" / "post.md").read_text(
        encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")
    shutil.copy(SEED, src / "news" / "added.txt")
    (src / "encodings" / "cs-cp1250.txt").unlink()
    partly = build(config, workers=2, cache=cache)
    assert (partly.files_cached, partly.files_processed) == (warm.files_cached - 2, 2)
    assert package_bytes(config.package_dir) == reference(src, tmp_path, "2")


def test_check_reads_the_cache(src: Path, tmp_path: Path) -> None:
    config = _config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    built = build(config, workers=1, cache=cache)
    check = build(config, workers=1, cache=cache, check=True)
    assert check.check_differences == []
    assert (check.files_cached, check.files_processed) == (built.files_processed, 0)
    (src / "news" / "new.txt").write_text("A new article arrived today.", encoding="utf-8")
    stale = build(config, workers=1, cache=cache, check=True)
    assert stale.check_differences and stale.files_cached == check.files_cached
    assert stale.files_processed == 1


@pytest.mark.parametrize("damage", ["flip", "truncate", "remove", "index"])
def test_a_damaged_cache_is_never_used(src: Path, tmp_path: Path, damage: str) -> None:
    config = _config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    build(config, workers=1, cache=cache)
    [run] = runs(cache)
    if damage == "flip":
        data = bytearray(run.read_bytes())
        data[len(data) // 2] ^= 0x55  # in the middle of the data: Parquet may not notice
        run.write_bytes(bytes(data))
    elif damage == "truncate":
        with open(run, "r+b") as fh:
            fh.truncate(run.stat().st_size // 2)
    elif damage == "remove":
        run.unlink()
    else:
        (index_path(cache)).write_bytes(b"not a database at all" * 100)
    again = build(config, workers=1, cache=cache)
    if damage != "index":
        assert again.files_cached == 0  # the damaged run held every file: all read again
        # written anew by the rebuild: the same results, so the same bytes and name
        assert hashlib.sha256(run.read_bytes()).hexdigest() == run.name.split(".")[0]
    assert package_bytes(config.package_dir) == reference(src, tmp_path, "1")
    assert build(config, workers=1, cache=cache).files_cached > 0  # and cached anew


def test_settings_make_their_own_entries(src: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    plain = _config(src, tmp_path / "pkg")
    build(plain, workers=1, cache=cache)
    near_off = replace(plain, near_dedup=replace(plain.near_dedup, enabled=False))
    assert build(near_off, workers=1, cache=cache).files_cached == 0
    assert package_bytes(near_off.package_dir) == reference(
        src, tmp_path, "near", near_dedup=near_off.near_dedup)
    # the threshold is a corpus-wide setting: per-file results are reused
    looser = replace(plain, near_dedup=replace(plain.near_dedup, threshold=0.5))
    assert build(looser, workers=1, cache=cache).files_cached > 0
    assert package_bytes(looser.package_dir) == reference(
        src, tmp_path, "loose", near_dedup=looser.near_dedup)


def test_eviction(src: Path, tmp_path: Path) -> None:
    from corpuspack.cache import Cache

    config = _config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    build(config, workers=1, cache=cache)
    opened = Cache(cache)
    try:
        assert opened.evict(max_bytes=0) == 0  # used in the last hour: kept
        opened.db.execute("UPDATE runs SET used = used - 2 * 3600")
        assert opened.evict() == 0  # recent enough, and the cache is small
        assert opened.evict(max_bytes=0) == 1 and not runs(cache)
        assert opened.db.execute("SELECT count(*) FROM entries").fetchone() == (0,)
    finally:
        opened.close()
    assert build(config, workers=1, cache=cache).files_cached == 0
    assert package_bytes(config.package_dir) == reference(src, tmp_path, "1")


def test_where_the_cache_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from corpuspack.cache import DEFAULT_CACHE

    descriptor = tmp_path / "pkg" / "datapackage.json"
    monkeypatch.delenv("CORPUSPACK_CACHE", raising=False)
    assert cache_folder(descriptor, DEFAULT_CACHE) == tmp_path / "pkg" / DEFAULT_NAME
    assert cache_folder(descriptor, None) is None
    assert cache_folder(descriptor, tmp_path / "c") == tmp_path / "c"
    monkeypatch.setenv("CORPUSPACK_CACHE", str(tmp_path / "env"))
    assert cache_folder(descriptor, DEFAULT_CACHE) == tmp_path / "env"
    monkeypatch.setenv("CORPUSPACK_CACHE", "off")
    assert cache_folder(descriptor, DEFAULT_CACHE) is None


def test_the_default_cache_survives_recovery_and_is_ignored_by_git(
        src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from corpuspack.scaffold import GITIGNORE

    monkeypatch.delenv("CORPUSPACK_CACHE", raising=False)
    config = _config(src, tmp_path / "pkg")
    build(config, workers=1)
    cache = config.package_dir / DEFAULT_NAME
    assert runs(cache)
    recover(Layout(config.descriptor, config.data_dir))
    build(config, workers=1)
    assert runs(cache)
    assert ".corpuspack-cache/" in GITIGNORE
    repo_ignore = (Path(__file__).parent.parent / ".gitignore").read_text(encoding="utf-8")
    assert ".corpuspack-cache/" in repo_ignore


def test_a_cache_inside_the_sources_is_refused(src: Path, tmp_path: Path) -> None:
    from corpuspack.errors import UsageError

    with pytest.raises(UsageError, match="inside the source folder"):
        build(_config(src, tmp_path / "pkg"), workers=1, cache=src / "cache")


_DRIVER = r"""
import sys
from pathlib import Path
from corpuspack import tasks
from corpuspack.build import build
from corpuspack.config import zero_config
tasks.TASK_MAX_FILES = 40
report = build(zero_config(Path(sys.argv[1]), Path(sys.argv[2])), workers=2,
               cache=Path(sys.argv[3]))
print(report.files_cached)
"""


def test_a_killed_build_resumes(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    seed = SEED.read_text(encoding="utf-8")
    for i in range(1200):
        (src / f"{i:05d}.txt").write_text(f"Story {i}\n\n{seed}", encoding="utf-8")
    cache, out = tmp_path / "cache", tmp_path / "pkg"
    proc = subprocess.Popen([sys.executable, "-c", _DRIVER, str(src), str(out), str(cache)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while len(list((cache / "runs").glob("*.files.parquet"))) < 3:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no task finished"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)  # the main process, during the map stage
    proc.wait()
    finished = len(list((cache / "runs").glob("*.files.parquet")))
    assert finished < 1200 // 40  # killed before the end
    # resumed in a process of its own too: keys hold the digest of corpuspack's code as it
    # is on disk when a process first makes one
    resumed = subprocess.run([sys.executable, "-c", _DRIVER, str(src), str(out), str(cache)],
                             capture_output=True, text=True, check=True)
    cached = int(resumed.stdout.split()[-1])
    assert 40 * finished <= cached < 1200  # every task the killed build finished
    assert package_bytes(out) == reference(src, tmp_path, "killed")


def test_the_index_is_rebuilt_from_the_runs(src: Path, tmp_path: Path) -> None:
    config = _config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    first = build(config, workers=1, cache=cache)
    with sqlite3.connect(index_path(cache)) as db:
        db.execute("DELETE FROM entries")
        db.execute("DELETE FROM runs")
    again = build(config, workers=1, cache=cache)
    assert (again.files_cached, again.files_processed) == (first.files_processed, 0)
    assert package_bytes(config.package_dir) == reference(src, tmp_path, "1")


def test_a_folder_that_is_not_a_cache_is_refused_and_left_alone(src: Path,
                                                                tmp_path: Path) -> None:
    from corpuspack.errors import UsageError

    mine = tmp_path / "mine"
    (mine / "tmp").mkdir(parents=True)
    (mine / "index.sqlite").write_bytes(b"my notes, not a database")
    (mine / "tmp" / "draft.txt").write_text("keep me", encoding="utf-8")
    os.utime(mine / "tmp" / "draft.txt", (0, 0))  # old: a cache's leftovers would go
    config = _config(src, tmp_path / "a" / "pkg")
    with pytest.raises(UsageError, match="not a corpuspack cache"):
        build(config, workers=1, cache=mine)
    assert (mine / "index.sqlite").read_bytes() == b"my notes, not a database"
    assert (mine / "tmp" / "draft.txt").read_text(encoding="utf-8") == "keep me"
    (tmp_path / "link").symlink_to(mine)
    with pytest.raises(UsageError, match="symbolic link"):
        build(config, workers=1, cache=tmp_path / "link")
    empty = tmp_path / "empty"
    empty.mkdir()
    build(config, workers=1, cache=empty)  # an empty folder becomes a cache, tagged
    assert (empty / "CACHEDIR.TAG").is_file()
    assert build(config, workers=1, cache=empty).files_cached > 0


@pytest.mark.parametrize("size", [0, 1, 4095, 1 << 20, (1 << 20) + 1, 3 << 20])
def test_a_file_digest_is_the_sha256_of_its_bytes(tmp_path: Path, size: int) -> None:
    """Sizes around the reads' chunk (DIGEST_CHUNK, 1 MiB): every byte counted once."""
    from corpuspack.cache import DIGEST_CHUNK, file_digest

    assert DIGEST_CHUNK == 1 << 20
    data = os.urandom(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    assert file_digest(str(path)) == hashlib.sha256(data).digest()


def test_a_file_digest_reads_chunks_whatever_size_fstat_gave(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file that grows after its fstat (or a /proc file, of size 0) is read in chunks,
    not in reads of the size fstat gave (8 MiB took 8,388,609 one-byte reads, 9.6 s)."""
    from corpuspack import cache as cache_module

    data = os.urandom(8 << 20)
    path = tmp_path / "growing.bin"
    path.write_bytes(data)
    real_fstat, real_read = os.fstat, os.read
    reads = 0

    def fstat_before_growth(fd: int) -> os.stat_result:
        st = real_fstat(fd)
        return os.stat_result((st.st_mode, st.st_ino, st.st_dev, st.st_nlink, st.st_uid,
                               st.st_gid, 0, st.st_atime, st.st_mtime, st.st_ctime))

    def counted(fd: int, n: int) -> bytes:
        nonlocal reads
        reads += 1
        return real_read(fd, n)

    monkeypatch.setattr(cache_module.os, "fstat", fstat_before_growth)
    monkeypatch.setattr(cache_module.os, "read", counted)
    assert cache_module.file_digest(str(path)) == hashlib.sha256(data).digest()
    assert reads <= 2 + len(data) // cache_module.DIGEST_CHUNK


def test_a_file_digest_refuses_what_is_no_regular_file(tmp_path: Path) -> None:
    """A FIFO (with a writer holding it open: a read would wait, and hashlib.file_digest
    hashed its buffer for ever), a folder and a final symbolic link raise OSError: such
    files are never keyed, so never cached. In a child process, so a hang fails."""
    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    (tmp_path / "real.txt").write_text("text", encoding="utf-8")
    (tmp_path / "link.txt").symlink_to(tmp_path / "real.txt")
    code = (
        "import os, sys\n"
        "from corpuspack.cache import file_digest\n"
        "writer = os.open(sys.argv[1], os.O_RDWR)\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        file_digest(path)\n"
        "    except OSError:\n"
        "        continue\n"
        "    sys.exit(f'read: {path}')\n")
    done = subprocess.run([sys.executable, "-c", code, str(fifo), str(tmp_path),
                           str(tmp_path / "link.txt")], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr


def test_the_files_a_rebuild_reads_go_to_the_workers_as_the_walk_finds_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Edited files scattered over the walk make several tasks, each sent once the walk is
    TASK_WALK_FILES files past its first file, not one task after the walk; the package is
    the same bytes."""
    from corpuspack import stages, tasks

    src = stories(tmp_path / "src", 64)
    monkeypatch.setattr(stages, "PLAN_CHUNK", 4)
    monkeypatch.setattr(tasks, "TASK_WALK_FILES", 16)
    monkeypatch.setattr(tasks, "TASK_WALK_MIN_FILES", 1)
    config = _config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    build(config, workers=1, cache=cache)
    before = set(runs(cache))
    for i in (1, 2, 20, 45, 63):  # walk order is name order: a mark after files 3, 7, ...
        path = src / f"{i:03d}.txt"
        path.write_text(path.read_text(encoding="utf-8") + "\nEdited.\n", encoding="utf-8")
    report = build(config, workers=1, cache=cache)
    assert report.files_processed == 5
    # 1 and 2 go at the mark after file 15 (16 files past the start of their chunk), 20 at
    # the one after 35, 45 after 59, 63 at the end of the walk
    assert len(set(runs(cache)) - before) == 4
    assert package_bytes(config.package_dir) == reference(src, tmp_path, "scattered")


def test_files_are_batched_by_count_and_size_and_at_walk_marks() -> None:
    from corpuspack.cache import Planned
    from corpuspack.tasks import (
        TASK_MAX_FILES,
        TASK_WALK_FILES,
        TASK_WALK_MIN_FILES,
        Walked,
        map_tasks,
    )

    def planned(i: int) -> Planned:
        from corpuspack.sources.files import SourceFile

        return Planned(SourceFile(f"/x/{i}.txt", f"{i}.txt", "text", False, 10),
                       i.to_bytes(16, "big"))

    def sizes(items: list[Planned | Walked]) -> list[int]:
        return [len(t.files) for t in map_tasks(items, None, None, Path("/x"))]  # type: ignore

    files: list[Planned | Walked] = [planned(i) for i in range(TASK_MAX_FILES + 3)]
    assert sizes(files) == [TASK_MAX_FILES, 3]
    # a mark less than TASK_WALK_FILES past the batch's first file keeps it open
    assert sizes([planned(0), Walked(100), planned(1), Walked(100)]) == [2]
    # and so does a mark far enough with fewer than TASK_WALK_MIN_FILES files
    small = [planned(i) for i in range(TASK_WALK_MIN_FILES - 1)]
    assert sizes([Walked(5000), *small, Walked(TASK_WALK_FILES), planned(99)]) == [
        TASK_WALK_MIN_FILES]
    enough = [planned(i) for i in range(TASK_WALK_MIN_FILES)]
    assert sizes([Walked(5000), *enough, Walked(TASK_WALK_FILES - 1), planned(99),
                  Walked(1), planned(100)]) == [TASK_WALK_MIN_FILES + 1, 1]


def test_small_runs_are_merged_and_later_builds_read_the_merged_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rebuilds of a few edited files each add a small run; once a build used MERGE_AT
    small runs, their rows of its files are copied into one run and the index points the
    files' keys at it: with the small runs gone from the disk, a rebuild reads only the
    file edited since, and every package is the bytes of a build without cache."""
    from corpuspack import stages

    src = stories(tmp_path / "src", 40)
    monkeypatch.setattr(stages, "MERGE_AT", 3)
    monkeypatch.setattr(stages, "MERGE_SMALL_FILES", 10)
    config = _config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"

    def edit(*numbers: int) -> None:
        for i in numbers:
            path = src / f"{i:03d}.txt"
            path.write_text(path.read_text(encoding="utf-8") + "\nEdited.\n",
                            encoding="utf-8")

    build(config, workers=1, cache=cache)  # one run of 40 files
    seen = set(runs(cache))
    small: set[Path] = set()
    for numbers in ((1, 2), (11, 12), (21, 22)):
        edit(*numbers)
        report = build(config, workers=1, cache=cache)
        assert report.files_processed == 2
        added = set(runs(cache)) - seen
        seen |= added
        small |= added
    # the third rebuild used three small runs (two cached, its own): one more run, merged
    assert len(small) == 4
    with sqlite3.connect(index_path(cache)) as db:
        holders = dict(db.execute("SELECT docs, count(*) FROM entries GROUP BY docs"))
        files_of = dict(db.execute("SELECT docs, files FROM runs"))
    merged = [p for p in small if holders.get(p.name) == 6]
    assert len(merged) == 1
    assert package_bytes(config.package_dir) == reference(src, tmp_path, "merged-3")
    for path in small - set(merged):
        path.unlink()
        (path.parent / files_of[path.name]).unlink()
    edit(31)
    report = build(config, workers=1, cache=cache)
    assert (report.files_processed, report.files_cached) == (1, 39)
    assert package_bytes(config.package_dir) == reference(src, tmp_path, "merged-4")


def test_a_merge_that_fails_leaves_the_build_and_the_cache_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from corpuspack import stages

    def fails(*args: object) -> None:
        raise OSError("disk full")

    src = stories(tmp_path / "src", 8)
    monkeypatch.setattr(stages, "MERGE_AT", 2)
    monkeypatch.setattr(stages, "merge_runs", fails)
    monkeypatch.setattr("corpuspack.tasks.TASK_MAX_FILES", 1)
    config = _config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    build(config, workers=1, cache=cache)
    assert len(runs(cache)) == 8
    again = build(config, workers=1, cache=cache)
    assert again.files_cached == 8
    assert package_bytes(config.package_dir) == reference(src, tmp_path, "failed")
    assert not list((cache / "tmp").iterdir())


def test_a_walk_mark_never_sends_an_empty_task(monkeypatch: pytest.MonkeyPatch) -> None:
    from corpuspack import tasks

    monkeypatch.setattr(tasks, "TASK_WALK_MIN_FILES", 0)
    marks: list[object] = [tasks.Walked(5000), tasks.Walked(5000)]
    assert list(tasks.map_tasks(marks, None, None, Path("/x"))) == []  # type: ignore


def test_runs_giving_the_same_documents_keep_their_own_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two runs of files without text write the same documents (none): their docs files
    differ by the keys of their files (runs.files_digest), so neither takes the other's
    place in the cache's index and a rebuild reports every file (it lost one before)."""
    src = tmp_path / "src"
    src.mkdir()
    seed = SEED.read_text(encoding="utf-8")
    (src / "a.txt").write_text(f"Story\n\n{seed}", encoding="utf-8")
    (src / "e1.txt").write_text(" \n", encoding="utf-8")
    (src / "e2.txt").write_text("\t\n\n", encoding="utf-8")
    monkeypatch.setattr("corpuspack.tasks.TASK_MAX_FILES", 1)  # a run per file
    config = _config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    first = build(config, workers=1, cache=cache)
    (src / "a.txt").write_text(f"Story, edited\n\n{seed}", encoding="utf-8")
    again = build(config, workers=1, cache=cache)
    assert again.files_cached == 2
    assert again.files_seen == first.files_seen == 3
    assert package_bytes(config.package_dir) == reference(src, tmp_path, "no-text")


def test_a_merged_run_keeps_row_groups_within_the_run_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """merge_runs reads a run one row group at a time and writes a row group before the
    rows waiting would pass ROW_GROUP_BYTES (reading in batches took whole runs at once)."""
    import pyarrow.parquet as pq

    from corpuspack import runs as runs_module
    from corpuspack.runs import merge_runs, run_keys

    limit = 64 * 1024
    monkeypatch.setattr(runs_module, "ROW_GROUP_BYTES", limit)
    monkeypatch.setattr("corpuspack.tasks.TASK_MAX_FILES", 12)
    src = stories(tmp_path / "src", 24, copies=8)
    cache = tmp_path / "cache"
    build(_config(src, tmp_path / "pkg"), workers=1, cache=cache)
    files = sorted((cache / "runs").glob("*.files.parquet"))
    assert len(files) == 2
    parts = []
    for path in files:
        found = run_keys(path)
        parts.append((str(cache / "runs" / found.docs), str(path), found.cacheable))
        assert pq.ParquetFile(cache / "runs" / found.docs).num_row_groups > 1
    out = tmp_path / "out"
    out.mkdir()
    docs, _, keys = merge_runs(parts, out, out)
    assert len(keys) == 24
    merged = pq.ParquetFile(docs)
    sizes = [merged.read_row_group(i, columns=["nbytes"]).column(0).to_pylist()
             for i in range(merged.num_row_groups)]
    assert sum(map(len, sizes)) == 24
    # as RunWriter writes them: under the limit before the group's last row
    assert all(sum(group) - group[-1] < limit for group in sizes)
    assert max(map(len, sizes)) < 12


def test_eviction_removes_run_files_no_index_row_names_once_a_day_old(
        src: Path, tmp_path: Path) -> None:
    from corpuspack.cache import Cache

    config = _config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    build(config, workers=1, cache=cache)
    kept = sorted((cache / "runs").iterdir())
    old, new = cache / "runs" / ("a" * 64 + ".docs.parquet"), cache / "runs" / "b.parquet"
    for path in (old, new):
        path.write_bytes(b"left by a killed build")
    os.utime(old, (time.time() - 2 * 86400,) * 2)
    for path in kept:  # an indexed run, however old, goes only by its last use
        os.utime(path, (time.time() - 2 * 86400,) * 2)
    opened = Cache(cache)
    try:
        assert opened.evict() == 0
    finally:
        opened.close()
    assert sorted((cache / "runs").iterdir()) == sorted([*kept, new])
    assert build(config, workers=1, cache=cache).files_cached > 0


@pytest.mark.parametrize("inner", ["runs", "tmp"])
def test_a_cache_whose_runs_or_tmp_folder_is_a_link_is_not_used(
        src: Path, tmp_path: Path, inner: str) -> None:
    """A tagged cache folder (a cloned repository may hold one) whose runs/ or tmp/ is a
    symbolic link: eviction would remove day-old files where it leads. The build runs
    without the cache and the files there stay."""
    from corpuspack.cache import _TAG

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    precious = elsewhere / "notes.parquet"
    precious.write_bytes(b"mine")
    os.utime(precious, (time.time() - 3 * 86400,) * 2)
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "CACHEDIR.TAG").write_bytes(_TAG)
    (cache / inner).symlink_to(elsewhere)
    config = _config(src, tmp_path / "pkg")
    report = build(config, workers=1, cache=cache)
    assert report.files_cached == 0 and report.files_processed > 0
    assert precious.read_bytes() == b"mine"
    assert sorted(p.name for p in elsewhere.iterdir()) == ["notes.parquet"]
    assert package_bytes(config.package_dir) == reference(src, tmp_path, "linked")


@pytest.mark.parametrize("damage", ["flip, times set back", "replaced, times set back"])
def test_a_run_damaged_after_a_build_used_it_is_never_used(
        src: Path, tmp_path: Path, damage: str) -> None:
    """A run that a rebuild looked up and found right, then damaged with its size and its
    modification time kept, is hashed again by the next build and not used: every build
    hashes the runs it uses (a status check instead would miss damage that leaves the
    status alone, such as a disk's)."""
    config = _config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    build(config, workers=1, cache=cache)
    [run] = runs(cache)
    (src / "news" / "new-0.txt").write_text("Article 0 arrived today.", encoding="utf-8")
    assert build(config, workers=1, cache=cache).files_processed == 1  # the run was used
    st = run.stat()
    data = bytearray(run.read_bytes())
    data[len(data) // 2] ^= 0x55  # the same size
    if damage.startswith("flip"):
        with open(run, "r+b") as fh:
            fh.write(bytes(data))
    else:
        other = tmp_path / "other"
        other.write_bytes(bytes(data))
        os.replace(other, run)
    os.utime(run, ns=(st.st_atime_ns, st.st_mtime_ns))
    (src / "news" / "new-1.txt").write_text("Article 1 arrived today.", encoding="utf-8")
    again = build(config, workers=1, cache=cache)
    assert again.files_processed > 1  # the damaged run's files were read again
    assert not run.exists()  # dropped (their new run holds the new file too)
    assert package_bytes(config.package_dir) == reference(src, tmp_path, "1")


def test_a_cache_made_under_another_users_key_is_never_found(
        src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        user_cache_key: Path) -> None:
    # before: every key derived from the files and settings alone, so a cache committed to
    # a cloned repository (its default place is beside the descriptor) could hold crafted
    # runs, shard memos and build records under the keys the victim's build looks up
    config = _config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    first = build(config, workers=1, cache=cache)
    key = user_cache_key.read_bytes()
    assert len(key) == 32 and user_cache_key.stat().st_mode & 0o777 == 0o600
    reference_bytes = package_bytes(config.package_dir)
    cloned = tmp_path / "cloned-cache"
    shutil.copytree(cache, cloned)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "someone-else"))
    check = build(config, workers=1, cache=cloned, check=True)
    assert not check.from_record and check.check_differences == []
    assert (check.files_cached, check.files_processed) == (0, first.files_processed)
    other = build(config, workers=1, cache=cache)
    assert (other.files_cached, other.files_processed) == (0, first.files_processed)
    assert not other.from_record and other.shards_reused == 0
    assert (tmp_path / "someone-else" / "corpuspack" / "cache-key").read_bytes() != key
    monkeypatch.setenv("XDG_CACHE_HOME", str(user_cache_key.parent.parent))
    mine = build(config, workers=1, cache=cache, check=True)
    assert mine.from_record or mine.files_cached == first.files_processed
    assert package_bytes(config.package_dir) == reference_bytes


@pytest.mark.parametrize("kind", ["link", "short", "folder"])
def test_a_cache_key_that_is_not_a_file_of_32_bytes_is_not_used(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str) -> None:
    from corpuspack import cache as cache_module

    home = tmp_path / "xdg"
    path = home / "corpuspack" / "cache-key"
    path.parent.mkdir(parents=True)
    planted = tmp_path / "planted"
    planted.write_bytes(b"k" * 32)
    if kind == "link":
        path.symlink_to(planted)
    elif kind == "short":
        path.write_bytes(b"k" * 31)
    else:
        path.mkdir()
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    cache_module._read_or_make_key.cache_clear()
    key = cache_module.user_key()
    assert len(key) == 32 and key != b"k" * 32 and key != b"k" * 31 + b"\0"
    assert cache_module.user_key() == key  # the same in one process
    assert planted.read_bytes() == b"k" * 32 and path.is_symlink() == (kind == "link")


def test_an_index_that_came_with_the_cache_is_never_opened(
        src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        user_cache_key: Path) -> None:
    # before: the index was index.sqlite whoever built: one committed to a cloned repository,
    # with triggers, rewrote the rows the victim's own builds inserted (a shard memo made to
    # name a tampered data file, entries deleted)
    config = _config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "attacker"))
    build(config, workers=1, cache=cache)
    planted = index_path(cache)
    with sqlite3.connect(planted) as db:
        db.execute("CREATE TRIGGER gone AFTER INSERT ON entries BEGIN "
                   "DELETE FROM entries WHERE key = NEW.key; END")
        db.execute("CREATE TRIGGER lie AFTER INSERT ON shards BEGIN "
                   "UPDATE shards SET sha256 = 'f' WHERE key = NEW.key; END")
    for name in ("index.sqlite", "index-0000000000000000.sqlite"):
        shutil.copy(planted, cache / name)
    monkeypatch.setenv("XDG_CACHE_HOME", str(user_cache_key.parent.parent))
    first = build(config, workers=1, cache=cache)
    mine = index_path(cache)
    assert mine != planted and mine.exists()
    with sqlite3.connect(mine) as db:
        triggers = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'trigger'")
        assert triggers.fetchone() == (0,)
    (src / "news" / "seed.txt").write_text("An edit after the first build.", encoding="utf-8")
    again = build(config, workers=1, cache=cache)
    # the edited file and the link to it are read again, every other file is cached
    assert (again.files_cached, again.files_processed) == (first.files_processed - 2, 2)
    assert package_bytes(config.package_dir) == reference(src, tmp_path, "after-edit")
