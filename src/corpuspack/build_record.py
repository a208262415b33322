"""Records of past builds, kept in the cache: what a build's inputs were and what it wrote.

A build whose inputs match a record writes nothing: ``build`` finds the committed package
already equal to the recorded outputs, ``build --check`` compares the committed files with
the recorded digests. Neither reads a source file or runs a stage, so an unchanged corpus
costs a walk of ``stat`` calls and the hashing of the committed package.

The *inputs* of a build (:func:`fingerprint`) are its config (every setting, the paths
included), corpuspack itself (:func:`corpuspack.cache.code_digest`: its version, code and
the libraries it reads with), and the source folder as the walk sees it: every entry's
path, type, size, mtime, ctime, inode and device, in walk order (names sorted by code
point), with hidden names and the build's own output folder left out as the walk leaves
them out; a symbolic link adds where it leads and the status of what it leads to. The
status of a file stands for its bytes, as in git's index and in the cache's stat index
(:mod:`corpuspack.cache`): editing a file changes its mtime or, if the mtime is put back,
its ctime, which no user can set. A record is written only when every entry is older than
:data:`RACY_SECONDS` before the inputs were taken, so a file changed again within the
clock's resolution is never taken for unchanged.

A fresh clone (new inodes and times) misses that record. Its build walks the sources and
keys every file (hashing its bytes once), and when every file's results come from the
cache it looks the build up by its *plan key* (:func:`corpuspack.stages.plan_key`: the
config and every file's content key, in walk order), which a build records beside its
inputs' key: a match skips the corpus-wide passes and the shards.

Layout, beside the cache's runs::

    builds/<key>/record.json     outputs (name -> bytes, sha256), the report's counts
    builds/<key>/<list>.jsonl    the report's skipped, filtered and duplicate lists

``record.json`` carries the digest of its own body and of each list: a damaged or cut
record is removed and the build runs in full, never trusting it. The :data:`KEEP` records
used last are kept.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import struct
import tempfile
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from corpuspack.cache import settings_digest
from corpuspack.config import CorpusConfig
from corpuspack.errors import CorpusError
from corpuspack.report import BuildReport
from corpuspack.safefs import open_read, read_bytes

FORMAT = 1
KEEP = 16  # records kept in a cache (a few configs, outputs and branches)
RACY_SECONDS = 2.0  # as the stat index's (corpuspack.cache.RACY_SECONDS)
LISTS = ("skipped", "filtered", "duplicates")
_ENTRY = struct.Struct("<IQqqQQ")  # mode, size, mtime_ns, ctime_ns, inode, device

Outputs = dict[str, tuple[int, str]]  # a file of the staged package -> (bytes, sha256 hex)


@dataclass(frozen=True)
class Inputs:
    """The fingerprint of a build's inputs, taken before the build reads them."""

    key: str  # hex digest
    newest_ns: int  # the newest mtime or ctime of an entry of the source folder
    taken_ns: int  # when the fingerprint was taken (time.time_ns)
    seconds: float  # what taking it cost

    @property
    def settled(self) -> bool:
        """True when no entry changed within :data:`RACY_SECONDS` before it was taken."""
        return self.newest_ns < self.taken_ns - int(RACY_SECONDS * 1e9)


@dataclass
class Recorded:
    """A build on record: its outputs and its report (lists in temporary files)."""

    outputs: Outputs
    report: BuildReport


def fingerprint(config: CorpusConfig) -> Inputs:
    """The inputs of a build of ``config`` (see the module docstring). Cost: one ``stat``
    per entry of the source folder (0.08 s for 20,000 files, measured)."""
    started = time.perf_counter()
    taken = time.time_ns()
    digest = hashlib.blake2b(digest_size=16)
    digest.update(b"corpuspack build inputs %d\0" % FORMAT)
    digest.update(settings_digest(config))  # with corpuspack's code_digest
    root = os.path.realpath(config.source_dir)
    newest = _tree(digest, root, _excluded(config))
    return Inputs(digest.hexdigest(), newest, taken, time.perf_counter() - started)


def _excluded(config: CorpusConfig) -> set[tuple[int, int]]:
    """(device, inode) of the folders the walk never enters (corpuspack.stages.walk)."""
    out = set()
    for folder in (config.data_dir, config.data_dir.parent / ".git"):
        try:
            st = os.stat(folder)
        except OSError:
            continue
        out.add((st.st_dev, st.st_ino))
    return out


def _tree(digest: Any, root: str, excluded: set[tuple[int, int]]) -> int:
    """Feed every entry under ``root`` to ``digest``, in walk order; the newest time.

    Folders count with their times: an entry added or removed while a build ran changes
    its folder's ctime, which cannot be put back (hidden files do too, at the cost of a
    missed record)."""
    try:
        top = os.lstat(root)
    except OSError as exc:
        digest.update(b"\1unlisted\0" + str(exc.errno).encode() + b"\0")
        return 0
    newest = _feed(digest, b"", top)
    stack: list[tuple[str, bytes]] = [(root, b"")]
    while stack:
        folder, prefix = stack.pop()
        try:
            with os.scandir(folder) as it:
                entries = sorted((e for e in it if not e.name.startswith(".")),
                                 key=lambda e: e.name)
        except OSError as exc:
            digest.update(b"\1unlisted\0" + prefix + str(exc.errno).encode() + b"\0")
            continue
        below = []
        for entry in entries:
            name = prefix + os.fsencode(entry.name)
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                digest.update(b"\1gone\0" + name + b"\0")
                continue
            newest = max(newest, _feed(digest, name, st))
            if stat.S_ISDIR(st.st_mode):
                if (st.st_dev, st.st_ino) not in excluded:
                    below.append((entry.path, name + b"/"))
            elif stat.S_ISLNK(st.st_mode):
                newest = max(newest, _link(digest, entry.path))
        stack.extend(reversed(below))
    return newest


def _feed(digest: Any, name: bytes, st: os.stat_result) -> int:
    digest.update(name + b"\0" + _ENTRY.pack(st.st_mode, st.st_size, st.st_mtime_ns,
                                             st.st_ctime_ns, st.st_ino, st.st_dev))
    return max(st.st_mtime_ns, st.st_ctime_ns)


def _link(digest: Any, path: str) -> int:
    """Feed where a symbolic link leads: every link followed on the way (the link itself
    and the links among the folders of each target, with their status: repointing one
    changes its ctime), the resolved path and the status of what it leads to; the newest
    time seen (the walk reads a linked file inside the source folder where the link is)."""
    newest, hop = 0, path
    for _ in range(_MAX_HOPS):
        parent = os.path.dirname(hop)
        for folder in _folders(parent):
            if os.path.islink(folder):
                newest = max(newest, _feed_link(digest, folder))
        if not os.path.islink(hop):
            break
        newest = max(newest, _feed_link(digest, hop))
        hop = os.path.join(parent, os.readlink(hop))
    target = os.path.realpath(path)
    digest.update(b"\1link\0" + os.fsencode(target) + b"\0")
    try:
        st = os.stat(target)
    except OSError:
        digest.update(b"\1broken\0")
        return newest
    if stat.S_ISDIR(st.st_mode):  # the walk skips it, and reads the folder where it is
        digest.update(b"\1folder\0")
        return newest
    return max(newest, _feed(digest, b"\1target", st))


_MAX_HOPS = 40  # as the system's own limit on links followed (ELOOP)


def _folders(path: str) -> list[str]:
    """``path`` and each folder above it."""
    out = []
    while True:
        out.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            return out
        path = parent


def _feed_link(digest: Any, path: str) -> int:
    try:
        st = os.lstat(path)
        target = os.readlink(path)
    except OSError:
        digest.update(b"\1gone\0" + os.fsencode(path) + b"\0")
        return 0
    digest.update(b"\1hop\0" + os.fsencode(path) + b"\0" + os.fsencode(target) + b"\0")
    return _feed(digest, b"", st)


def _builds(folder: Path) -> Path:
    """The records' folder of a cache; OSError when it is a symbolic link (nothing is read
    or removed through one)."""
    builds = folder / "builds"
    if os.path.islink(builds):
        raise OSError(f"{builds} is a symbolic link")
    return builds


def load(folder: Path, key: str) -> Recorded | None:
    """The record of a build under ``key`` (its :class:`Inputs`' or its plan key), or None.
    A damaged record (its digests or shapes do not match, a file that is not a regular
    file or is too large) is removed and None returned."""
    try:
        builds = _builds(folder)
    except OSError:
        return None
    where = builds / key
    record = where / "record.json"
    if not os.path.lexists(where):
        return None
    lists: dict[str, Path] = {}
    try:
        if os.path.islink(where) or not where.is_dir():
            raise ValueError(f"{where} is not a folder")
        value = orjson.loads(read_bytes(record, root=builds, max_bytes=MAX_RECORD_BYTES,
                                        what="build record"))
        body = value["body"]
        if value["digest"] != _digest(body) or body["format"] != FORMAT \
                or body["key"] != key:
            raise ValueError(f"{record} does not match its digest")
        outputs = _outputs(body["outputs"])
        for name in LISTS:
            expected = body["lists"].get(name)
            if expected is not None:
                size, sha256 = _pair(expected)
                lists[name] = _copy_checked(where / f"{name}.jsonl", builds, size, sha256)
        report = BuildReport.of_record(body["report"], lists)
    except (CorpusError, OSError, ValueError, KeyError, TypeError, AttributeError):
        for path in lists.values():
            os.unlink(path)
        _remove(where)
        return None
    for path in lists.values():
        weakref.finalize(report, os.unlink, str(path))
    try:
        os.utime(record)  # used: kept longest
    except OSError:
        pass
    return Recorded(outputs, report)


MAX_RECORD_BYTES = 64 << 20  # counts, the first skipped, one line per output file


def _pair(value: Any) -> tuple[int, str]:
    """(bytes, sha256) from a record; TypeError for anything else."""
    if not (isinstance(value, list) and len(value) == 2 and type(value[0]) is int
            and isinstance(value[1], str) and len(value[1]) == 64):
        raise TypeError("not a (bytes, sha256) pair")
    return value[0], value[1]


def _outputs(value: Any) -> Outputs:
    if not isinstance(value, dict):
        raise TypeError("outputs: not a mapping")
    out = {}
    for name, pair in value.items():
        if not name or "/" in name or name in (".", ".."):
            raise ValueError(f"outputs: not a file name: {name!r}")
        out[name] = _pair(pair)
    return out


def _remove(path: Path) -> None:
    """Remove a record's entry, whatever it is (never following a link)."""
    if os.path.islink(path) or (os.path.lexists(path) and not path.is_dir()):
        try:
            os.unlink(path)
        except OSError:
            pass
    else:
        shutil.rmtree(path, ignore_errors=True)


def save(folder: Path, key: str, report: BuildReport, outputs: Outputs) -> bool:
    """Record a finished build under ``key`` (its lists copied); False, and nothing written,
    when the folder cannot take it. The caller checks that the key stands for the build's
    inputs (:attr:`Inputs.settled`, taken again after the build)."""
    try:
        builds = _builds(folder)
        builds.mkdir(exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix="record-", dir=builds))
    except OSError:
        return False
    try:
        lists = {}
        for name in LISTS:
            path = getattr(report, f"{name}_file")
            if path is not None:
                shutil.copyfile(path, tmp / f"{name}.jsonl")
                lists[name] = _file_digest(tmp / f"{name}.jsonl")
        body = {"format": FORMAT, "key": key, "report": report.to_record(),
                "lists": lists, "outputs": dict(sorted(outputs.items()))}
        (tmp / "record.json").write_bytes(orjson.dumps({"digest": _digest(body),
                                                        "body": body}))
        _remove(builds / key)
        os.rename(tmp, builds / key)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        return False
    _evict(builds)
    return True


def _evict(builds: Path, keep: int = KEEP) -> None:
    """Keep the ``keep`` records used last; remove the others, entries that are no record
    and leftovers of killed saves older than a day."""
    records = []
    now = time.time()
    for entry in os.scandir(builds):
        try:
            if not entry.is_dir(follow_symlinks=False):
                raise OSError("not a record")
            if entry.name.startswith("record-"):
                if entry.stat(follow_symlinks=False).st_mtime < now - 86400:
                    shutil.rmtree(entry.path, ignore_errors=True)
                continue
            records.append((os.lstat(os.path.join(entry.path, "record.json")).st_mtime,
                            entry.path))
        except OSError:
            _remove(Path(entry.path))
    for _, path in sorted(records, reverse=True)[keep:]:
        shutil.rmtree(path, ignore_errors=True)


def _digest(body: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()


def _file_digest(path: Path) -> tuple[int, str]:
    with open(path, "rb") as fh:
        return os.fstat(fh.fileno()).st_size, hashlib.file_digest(fh, "sha256").hexdigest()


def _copy_checked(path: Path, root: Path, size: int, sha256: str) -> Path:
    """A temporary copy of a recorded list (removed with the report), checked against its
    size and digest: ValueError when it does not match, UnsafeFile for a file that is not
    a regular one inside ``root`` or is larger than recorded."""
    fd, name = tempfile.mkstemp(prefix=f"corpuspack-{path.stem}-")
    try:
        digest, copied = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out, \
                open_read(path, root=root, max_bytes=size, what="build record list") as src:
            while chunk := src.read(min(1 << 20, size - copied + 1)):
                copied += len(chunk)
                if copied > size:
                    break
                digest.update(chunk)
                out.write(chunk)
        if (copied, digest.hexdigest()) != (size, sha256):
            raise ValueError(f"{path} does not match its record")
    except BaseException:
        os.unlink(name)
        raise
    return Path(name)


__all__ = ["Inputs", "Outputs", "Recorded", "fingerprint", "load", "save"]
