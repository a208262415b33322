"""Finding source files and reading their bytes safely.

The walk is deterministic (names sorted by code point at every level), skips hidden entries,
never leaves the source folder through a symbolic link, and knows which files are sources,
which are metadata (sidecars and manifests) and which it cannot read.
"""

from __future__ import annotations

import gzip
import io
import os
import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from corpuspack import safefs
from corpuspack.errors import SkipFile
from corpuspack.report import Skipped
from corpuspack.sources.formats import format_of
from corpuspack.sources.metadata_files import (
    MANIFEST_NAMES,
    MAX_MANIFEST_BYTES,
    MAX_MANIFEST_PATTERNS,
    MAX_META_BYTES,
    Manifest,
    State,
    Wildcard,
    check_meta_size,
    is_sidecar,
    load_manifest,
    sidecar_key,
    sidecar_keys,
)

_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
GZIP_TRAILING_NOTE = "gzip trailing data ignored"
GZIP_MEMBERS_MIN = 1_000
GZIP_MEMBER_BYTES = 32 << 10  # a gzip file may hold one member per 32 KiB of its limit
GZIP_MEMBER_OUTPUT = 1 << 10  # or one per KiB of what its members held so far


COMPRESSED_SIZE_WHY = ("a compressed file may be no larger than what it may inflate to "
                       "(max_file_mb or max_inflated_mb) plus gzip's overhead on data that "
                       "does not compress")


def max_gzip_members(limit: int) -> int:
    """How many gzip members a compressed file that may inflate to ``limit`` bytes may hold
    whatever they hold: one per 32 KiB of the limit (BGZF, the blocked gzip of bgzip, holds
    at most 64 KiB per member), at least 1,000. Each member costs about 10 µs however
    little it holds: measured, 2,000,000 empty members (40 MB) took 21 s to read. A file
    may hold more while they hold a KiB each on average (:class:`_GzipMembers`): a
    ``.warc.gz`` has one member per record."""
    return max(GZIP_MEMBERS_MIN, limit // GZIP_MEMBER_BYTES)


def max_compressed_bytes(limit: int) -> int:
    """The largest compressed file that may inflate to ``limit`` bytes, in bytes: ``limit``
    plus 1/4096 of it plus 64 KiB. Deflate stores data that does not compress in blocks of
    at most 65,535 bytes with 5 bytes of header (RFC 1951, 3.2.4), 1/13,107 more; a gzip
    member adds 18 bytes and its optional header fields (RFC 1952). Bytes beyond that hold
    nothing (padding, empty blocks or members) and cost time for nothing."""
    return limit + limit // 4096 + (64 << 10)


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One source file to read: where it is, what it is, manifest metadata, its sidecar.

    ``root`` is the real path of the source folder: workers read the file and its sidecar
    only inside it (see :mod:`corpuspack.safefs`); empty means unchecked. ``identity`` is
    the (device, inode) the walk found inside the root: the file read must be that file.
    """

    path: str
    rel: str
    format: str
    compressed: bool
    size: int
    manifest: dict[str, Any] = field(default_factory=dict)
    sidecar: str | None = None
    root: str = ""
    identity: tuple[int, int] | None = None
    # (size, mtime_ns, ctime_ns, inode, device) as the walk found it: a cache's stat index
    # compares it without a second stat of every file
    stat: tuple[int, int, int, int, int] | None = None


def source_format(name: str) -> tuple[str, bool] | None:
    """The format name of a file name (by extension, from the registry of
    :mod:`corpuspack.sources.formats`) and whether it is gzip-compressed, or None if no
    format reads it."""
    found = format_of(name)
    return (found[0].name, found[1]) if found else None


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root + os.sep)


NO_SOURCE_FOR_SIDECAR = "sidecar matches no source file"
SIDECAR_NOT_USED = "sidecar not used: a more specific one wins"
NO_FILE_FOR_ROW = "manifest row matches no source file"


@dataclass(frozen=True, slots=True)
class _InvalidManifest:
    rel: str
    reason: str


@dataclass(frozen=True, slots=True)
class _Scope:
    """What the manifests above a folder give it: the valid ones (shallowest first), the
    deepest invalid one (its files are skipped), and the wildcard rows in effect (those
    that may still match a path below), each with the state of its :class:`Glob` over the
    folder's path, as ``(index in chain, row, state)``."""

    chain: tuple[Manifest, ...] = ()
    invalid: _InvalidManifest | None = None
    live: tuple[tuple[int, Wildcard, State], ...] = ()


@dataclass(frozen=True, slots=True)
class _Enter:
    """A folder to walk next (what a folder's listing yields instead of recursing)."""

    path: str
    prefix: str
    scope: _Scope


@dataclass(frozen=True, slots=True)
class _Limits:
    root: str
    excluded: set[tuple[int, int]]  # (device, inode): realpath costs a stat per level
    manifest_bytes: int
    manifest_patterns: int
    meta_bytes: int
    notes: Counter[str]


def walk_sources(root: Path, exclude: tuple[Path, ...] = (), *,
                 max_manifest_bytes: int = MAX_MANIFEST_BYTES,
                 max_manifest_patterns: int = MAX_MANIFEST_PATTERNS,
                 max_meta_bytes: int = MAX_META_BYTES,
                 notes: Counter[str] | None = None) -> Iterator[SourceFile | Skipped]:
    """Yield every source file under ``root`` and a :class:`Skipped` for each unreadable one.

    ``exclude`` holds folders never to enter (the build's own output, when it lies inside).
    The manifest caps are the ``max_manifest_mb`` (in bytes here), ``max_manifest_patterns``
    and ``max_meta_kb`` (in bytes) options; the defaults equal the options' defaults. A file
    under a manifest that cannot be read is skipped, with a reason naming the manifest: it
    would lack the metadata (a licence, say) that the manifest meant to give it.

    Metadata that reaches no file is on record: a sidecar that no file of its folder has
    (a :class:`Skipped` for it, record None) and a manifest row that matches no source file
    (a Skipped naming the manifest, record ``row N``), each counted in ``notes``
    (:data:`NO_SOURCE_FOR_SIDECAR`, :data:`SIDECAR_NOT_USED`, :data:`NO_FILE_FOR_ROW`), as
    are lone surrogates removed from manifests.

    The order is fixed: names sorted by code point at every level, a folder's files where
    the folder sorts (the Skipped for unused metadata after its folder's last entry). The
    walk is iterative, so folder depth is limited only by the system. Two names of one
    folder that are equal once NFC-normalised (as paths and ids are) are twins: the first
    by code point is read, each other one is skipped with a reason.

    Cost: a manifest is read once. At most ``max_manifest_patterns`` wildcard rows are in
    effect for any folder, all manifests above it together (a row is in effect where a
    path below the folder may still match it; a manifest that would pass the cap is
    invalid). Each is matched incrementally (:class:`Glob`): a folder or file costs one
    probe per manifest above it plus, per row in effect, work bounded by the length of its
    name and of the row's pattern, never by the depth or the length of the path.
    """
    real_root = os.path.realpath(root)
    excluded = set()
    for folder in exclude:
        try:
            st = os.stat(folder)
        except OSError:
            continue
        excluded.add((st.st_dev, st.st_ino))
    limits = _Limits(real_root, excluded, max_manifest_bytes, max_manifest_patterns,
                     max_meta_bytes, Counter() if notes is None else notes)
    stack = [_folder(real_root, "", _Scope(), limits)]
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
        elif isinstance(item, _Enter):
            stack.append(_folder(item.path, item.prefix, item.scope, limits))
        else:
            yield item


def _nfc_name(name: str) -> str:
    return name if name.isascii() else unicodedata.normalize("NFC", name)


def _load_manifests(entries: list[os.DirEntry[str]], prefix: str, scope: _Scope,
                    limits: _Limits) -> Iterator[Skipped | tuple[_Scope, list[str]]]:
    """Read the manifests of a folder: a Skipped for each invalid one, then the folder's
    scope and the paths of the manifests read (as the last item)."""
    chain, invalid, live = list(scope.chain), scope.invalid, list(scope.live)
    loaded: list[str] = []
    for entry in entries:
        if entry.name not in MANIFEST_NAMES or entry.is_dir(follow_symlinks=False):
            continue
        rel = prefix + entry.name
        try:
            manifest = load_manifest(
                Path(entry.path), prefix, limits.root, max_bytes=limits.manifest_bytes,
                max_patterns=limits.manifest_patterns, max_meta_bytes=limits.meta_bytes,
                in_effect=len(live), notes=limits.notes)
        except SkipFile as exc:
            yield Skipped(rel, None, exc.reason)
            invalid = _InvalidManifest(rel, exc.reason)
            continue
        chain.append(manifest)
        loaded.append(rel)
        base = len(prefix)
        for row in manifest.wildcards:
            state = row.glob.advance(row.glob.start(base), prefix, base)
            if state is not None:
                live.append((len(chain) - 1, row, state))
    yield _Scope(tuple(chain), invalid, tuple(live)), loaded


def _sidecars(entries: list[os.DirEntry[str]], prefix: str
              ) -> tuple[dict[tuple[str, str], str], list[Skipped]]:
    """The sidecars of a folder by :func:`sidecar_key` (the first by code point of names
    sharing a key), and a Skipped for each other one. A name that is not UTF-8 is no
    sidecar (the walk skips it as such)."""
    found: dict[tuple[str, str], str] = {}
    twins = []
    for entry in entries:
        key = sidecar_key(entry.name)
        if key is None or entry.is_dir(follow_symlinks=False) or not _is_utf8(entry.name):
            continue
        first = found.setdefault(key, entry.name)
        if first != entry.name:
            twins.append(Skipped(prefix + entry.name, None,
                                 f"same name as {first!a} once Unicode-normalised (NFC) and "
                                 "the suffix's case ignored, as sidecars are matched: only "
                                 "the first by code point is read"))
    return found, twins


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # bytes os.fsdecode turned into lone surrogates
        return False
    return True


def _rel_name(prefix: str, name: str) -> str:
    return prefix + _nfc_name(name)


def _folder(directory: str, prefix: str, scope: _Scope,
            limits: _Limits) -> Iterator[SourceFile | Skipped | _Enter]:
    """What one folder holds, in order; sub-folders as :class:`_Enter`."""
    try:
        with os.scandir(directory) as it:
            entries = sorted((e for e in it if not e.name.startswith(".")),
                             key=lambda e: e.name)
    except OSError as exc:
        yield Skipped(prefix.rstrip("/") or ".", None, f"cannot list folder: {exc.strerror}")
        return
    loaded: list[str] = []
    for item in _load_manifests(entries, prefix, scope, limits):
        if isinstance(item, Skipped):
            yield item
        else:
            scope, loaded = item
    invalid = scope.invalid
    exact = [(i, m, rows) for i, m in enumerate(scope.chain) if (rows := m.exact_in(prefix))]
    sidecars, sidecar_twins = _sidecars(entries, prefix)
    yield from sidecar_twins
    claimed: dict[str, str] = {}  # sidecar -> the first file claiming it
    shadowed: dict[str, tuple[str, str]] = {}  # sidecar -> (file, the sidecar it takes)
    if sidecars:
        for entry in entries:
            if entry.name in MANIFEST_NAMES or is_sidecar(entry.name) or \
                    entry.is_dir(follow_symlinks=False):
                continue
            present = [sidecars[k] for k in sidecar_keys(entry.name) if k in sidecars]
            if present:
                claimed.setdefault(present[0], entry.name)
                for other in present[1:]:
                    shadowed.setdefault(other, (entry.name, present[0]))
    reported = {s.path[len(prefix):] for s in sidecar_twins}  # names already on record
    twins: dict[str, str] = {}  # NFC path -> the path as named, of the first of its twins
    for entry in entries:
        name = entry.name
        if name in MANIFEST_NAMES and not entry.is_dir(follow_symlinks=False):
            continue
        rel = _rel_name(prefix, name)
        if not _is_utf8(name):
            yield Skipped(rel.encode("utf-8", "replace").decode(), None,
                          "file name is not valid UTF-8")
            reported.add(name)
            continue
        sidecar = is_sidecar(name)
        if not sidecar:
            first = twins.setdefault(rel, prefix + name)
            if first != prefix + name:
                yield Skipped(prefix + name, None,
                              f"same name as {first!a} once Unicode-normalised (NFC), as "
                              "paths and ids are: only the first by code point is read")
                continue
        elif name in reported:
            continue
        path = entry.path
        if entry.is_symlink():
            target = path = os.path.realpath(path)
            reason = None
            if not _within(target, limits.root):
                reason = "symbolic link leads outside the source folder"
            elif not os.path.exists(target):
                reason = "broken symbolic link"
            elif os.path.isdir(target):
                reason = ("symbolic link to a folder inside the source folder: not followed "
                          "(its files are read where they are)")
            if reason is not None:
                yield Skipped(rel, None, reason)
                reported.add(name)
                continue
        if entry.is_dir(follow_symlinks=False):
            st = entry.stat(follow_symlinks=False)
            if (st.st_dev, st.st_ino) not in limits.excluded:
                yield _Enter(path, rel + "/", _descend(scope, rel + "/", len(prefix)))
            continue
        if sidecar:
            continue
        try:
            st = os.stat(path)
        except OSError as exc:
            yield Skipped(rel, None, f"cannot read file: {exc.strerror}")
            continue
        if not entry.is_file():
            yield Skipped(rel, None, "not a regular file")
            continue
        kind = source_format(name)
        if kind is None:
            suffix = os.path.splitext(name)[1] or "(none)"
            yield Skipped(rel, None, f"unsupported file type: {suffix}")
            continue
        meta = _manifest_meta(rel, len(prefix), scope, exact)  # rows it matches: used
        if invalid:
            yield Skipped(rel, None, f"not read: the manifest {invalid.rel} that gives "
                                     f"its metadata is invalid ({invalid.reason})")
            continue
        if len(meta) > 1:  # one row was checked on loading; many could add up
            try:
                check_meta_size(meta, limits.meta_bytes, "the metadata its manifests give")
            except SkipFile as exc:
                yield Skipped(rel, None, exc.reason)
                continue
        found = next((sidecars[k] for k in sidecar_keys(name) if k in sidecars), None) \
            if sidecars else None
        yield SourceFile(path, rel, kind[0], kind[1], st.st_size, meta,
                         os.path.join(directory, found) if found else None, limits.root,
                         (st.st_dev, st.st_ino),
                         (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev))
    yield from _unused_metadata(prefix, sidecars, claimed, shadowed, reported,
                                scope, loaded, limits.notes)


def _descend(scope: _Scope, prefix: str, seen: int) -> _Scope:
    """The scope of a sub-folder whose path is ``prefix`` (its parent's the first ``seen``
    characters): each wildcard row's state carried over the folder's name, rows that can
    no longer match dropped."""
    if not scope.live:
        return scope
    live = []
    for index, row, state in scope.live:
        after = row.glob.advance(state, prefix, seen)
        if after is not None:
            live.append((index, row, after))
    return _Scope(scope.chain, scope.invalid, tuple(live))


def _manifest_meta(rel: str, seen: int, scope: _Scope,
                   exact: list[tuple[int, Manifest, dict[str, Any]]]) -> dict[str, Any]:
    """The metadata the manifests above give a file: every row matching it, shallower
    manifests first, then in row order; the rows are marked matched."""
    name = rel[seen:]
    found: list[tuple[int, int, dict[str, Any]]] = []
    for index, manifest, rows in exact:
        for number, meta in rows.get(name, ()):
            found.append((index, number, meta))
            manifest.matched.add(number)
    for index, row, state in scope.live:
        if row.glob.matches(state, rel, seen):
            found.append((index, row.number, row.meta))
            scope.chain[index].matched.add(row.number)
    found.sort(key=lambda item: (item[0], item[1]))
    out: dict[str, Any] = {}
    for _, _, values in found:
        out.update(values)
    return out


def _unused_metadata(prefix: str, sidecars: dict[tuple[str, str], str], claimed: dict[str, str],
                     shadowed: dict[str, tuple[str, str]], reported: set[str],
                     scope: _Scope, loaded: list[str], notes: Counter[str]
                     ) -> Iterator[Skipped]:
    """A Skipped for each sidecar of the folder that no file takes and for each row of the
    folder's manifests that matched no source file below, counted in ``notes``."""
    for name in sorted(set(sidecars.values()) - set(claimed) - reported):
        rel = _rel_name(prefix, name)
        if name in shadowed:
            source, used = shadowed[name]
            notes[SIDECAR_NOT_USED] += 1
            yield Skipped(rel, None, f"metadata file not used: {source!a} takes its "
                                     f"metadata from {used!a}")
        else:
            notes[NO_SOURCE_FOR_SIDECAR] += 1
            yield Skipped(rel, None, "metadata file matches no source file")
    for manifest, rel in zip(scope.chain[len(scope.chain) - len(loaded):], loaded,
                             strict=True):
        for number, pattern in manifest.unmatched():
            notes[NO_FILE_FOR_ROW] += 1
            yield Skipped(rel, f"row {number}",
                          f"manifest row matches no source file: path {pattern!a}")


class _CappedReader:
    """Wrap a binary stream and refuse to produce more than ``limit`` bytes."""

    def __init__(self, raw: IO[bytes], limit: int, what: str, why: str = "") -> None:
        self.raw, self.limit, self.what, self.count = raw, limit, what, 0
        self.why = f" ({why})" if why else ""

    def _account(self, data: bytes) -> bytes:
        self.count += len(data)
        if self.count > self.limit:
            raise SkipFile(f"{self.what} exceeds the limit of {self.limit:,} bytes{self.why}")
        return data

    def read(self, size: int) -> bytes:
        return self._account(self.raw.read(size))

    def readline(self, size: int = -1) -> bytes:
        return self._account(self.raw.readline(size))

    def close(self) -> None:
        self.raw.close()


class _GzipMembers(io.RawIOBase):
    """The decompressed bytes of every gzip member of a file, in turn (zlib does the format
    and checks each member's CRC and length).

    Bytes after the last member that do not start another member (padding, junk appended
    by a broken tool) are ignored and counted in ``notes`` under :data:`GZIP_TRAILING_NOTE`,
    as ``gunzip`` ignores them with a warning; a member cut short is an ``EOFError``. A
    member past ``max_members`` and past 1,000 plus one per KiB of what the members before
    it held is a SkipFile: members that hold next to nothing cost time for nothing.
    """

    def __init__(self, raw: IO[bytes], notes: Counter[str], max_members: int) -> None:
        self._raw, self._notes, self._max_members = raw, notes, max_members
        self._member = zlib.decompressobj(wbits=31)  # 16 + 15: gzip header and trailer
        self._members = 1
        self._produced = 0
        self._input = b""
        self._started = self._done = False

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()

    def readinto(self, buffer: Any) -> int:
        size = len(buffer)
        while not self._done:
            if self._member.eof:
                rest = self._member.unused_data
                while len(rest) < len(_GZIP_MAGIC):
                    more = self._raw.read(_CHUNK)
                    if not more:
                        break
                    rest += more
                if rest and not rest.startswith(_GZIP_MAGIC):
                    self._notes[GZIP_TRAILING_NOTE] += 1
                if not rest.startswith(_GZIP_MAGIC):
                    self._done = True
                    break
                self._members += 1
                if self._members > self._max_members and self._members > (
                        GZIP_MEMBERS_MIN + self._produced // GZIP_MEMBER_OUTPUT):
                    raise SkipFile(
                        f"compressed file holds more than {self._max_members:,} gzip members "
                        "(one per 32 KiB of what it may inflate to, at least 1,000) holding "
                        f"less than a KiB each on average ({self._produced:,} bytes in "
                        f"{self._members - 1:,}): recompress it as one member")
                self._member = zlib.decompressobj(wbits=31)
                self._input = rest
            if not self._input:
                self._input = self._raw.read(_CHUNK)
                if not self._input:
                    if self._started:
                        raise EOFError("compressed file ended before the end-of-stream "
                                       "marker was reached")
                    self._done = True  # an empty file
                    break
            self._started = True
            out = self._member.decompress(self._input, size)
            self._input = self._member.unconsumed_tail
            if out:
                self._produced += len(out)
                buffer[:len(out)] = out
                return len(out)
        return 0


def _open(src: SourceFile, notes: Counter[str], limit: int) -> IO[bytes]:
    """The file's (decompressed) bytes as a stream. A compressed file that may inflate to
    ``limit`` bytes may itself be at most :func:`max_compressed_bytes` and hold at most
    :func:`max_gzip_members` members: SkipFile saying which otherwise (UnsafeFile for a
    file that is not a regular file inside the root)."""
    if not src.compressed:
        return safefs.open_read(src.path, root=src.root or None, what="file",
                                identity=src.identity)
    cap = max_compressed_bytes(limit)
    try:
        fh = safefs.open_read(src.path, root=src.root or None, what="compressed file",
                              max_bytes=cap, identity=src.identity)
    except safefs.UnsafeFile as exc:
        if "exceeds the limit" in exc.reason:
            raise SkipFile(f"{exc.reason} ({COMPRESSED_SIZE_WHY})") from None
        raise
    raw = _CappedReader(fh, cap, "compressed file size", COMPRESSED_SIZE_WHY)  # if it grows
    return io.BufferedReader(_GzipMembers(cast(IO[bytes], raw), notes,
                                          max_gzip_members(limit)), _CHUNK)


_GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)


@contextmanager
def _read_errors() -> Iterator[None]:
    """Errors of reading a source file as SkipFile with the reason: unsafe file, corrupt
    gzip data, an OS error."""
    try:
        yield
    except safefs.UnsafeFile as exc:
        raise SkipFile(exc.reason) from None
    except _GZIP_ERRORS as exc:
        raise SkipFile(f"corrupt gzip data: {exc}") from None
    except OSError as exc:
        raise SkipFile(f"cannot read file: {exc.strerror or exc}") from None


def read_bytes(src: SourceFile, max_bytes: int, notes: Counter[str] | None = None) -> bytes:
    """The whole (decompressed) content of a file; SkipFile if it exceeds ``max_bytes``, is
    not a regular file inside ``src.root`` or is corrupt gzip. Doubts go to ``notes``."""
    with _read_errors():
        if not src.compressed:
            return safefs.read_bytes(src.path, root=src.root or None, max_bytes=max_bytes,
                                     what="file", identity=src.identity)
        with _open(src, Counter() if notes is None else notes, max_bytes) as fh:
            reader = _CappedReader(fh, max_bytes, "decompressed size")
            chunks = []
            while chunk := reader.read(_CHUNK):
                chunks.append(chunk)
            return b"".join(chunks)


def iter_lines(src: SourceFile, max_total: int, max_line: int,
               notes: Counter[str] | None = None) -> Iterator[tuple[int, bytes]]:
    """Yield (line number, bytes) of a (decompressed) file, lines capped at ``max_line``.

    A longer line is yielded cut to ``max_line + 1`` bytes so that the caller can reject it;
    the rest of it is read and dropped without being kept in memory. Raises SkipFile as
    :func:`read_bytes` does (after the lines read so far).
    """
    what = "decompressed size" if src.compressed else "file size"
    with _read_errors(), _open(src, Counter() if notes is None else notes, max_total) as fh:
        reader = _CappedReader(fh, max_total, what)
        number = 0
        while True:
            line = reader.readline(max_line + 1)
            if not line:
                return
            number += 1
            if len(line) > max_line and not line.endswith(b"\n"):
                while True:
                    rest = reader.readline(_CHUNK)
                    if not rest or rest.endswith(b"\n"):
                        break
            # handed over, not kept: a suspended generator holds its locals, and a line
            # (up to max_line bytes) must not live on while the caller processes it
            held = [line]
            del line
            yield number, held.pop()


class _Stream(io.RawIOBase):
    """A file's (decompressed) bytes, at most ``limit`` of them, read errors as SkipFile."""

    def __init__(self, raw: IO[bytes], limit: int, what: str) -> None:
        self._raw, self._limit, self._what, self._count = raw, limit, what, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with _read_errors():
            data = self._raw.read(len(buffer))
        self._count += len(data)
        if self._count > self._limit:
            raise SkipFile(f"{self._what} exceeds the limit of {self._limit:,} bytes")
        buffer[:len(data)] = data
        return len(data)


@contextmanager
def open_stream(src: SourceFile, max_total: int,
                notes: Counter[str] | None = None) -> Iterator[BinaryIO]:
    """The (decompressed) content of a file as a binary stream of at most ``max_total``
    bytes, for readers of records that span lines (WARC). Reading raises SkipFile as
    :func:`read_bytes` does; so does opening."""
    what = "decompressed size" if src.compressed else "file size"
    try:
        fh = _open(src, Counter() if notes is None else notes, max_total)
    except safefs.UnsafeFile as exc:
        raise SkipFile(exc.reason) from None
    except OSError as exc:
        raise SkipFile(f"cannot read file: {exc.strerror or exc}") from None
    with fh, io.BufferedReader(_Stream(fh, max_total, what), _CHUNK) as stream:
        yield cast(BinaryIO, stream)
