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
    check_meta_size,
    is_sidecar,
    load_manifest,
    sidecar_names,
)

_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
GZIP_TRAILING_NOTE = "gzip trailing data ignored"


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


def source_format(name: str) -> tuple[str, bool] | None:
    """The format name of a file name (by extension, from the registry of
    :mod:`corpuspack.sources.formats`) and whether it is gzip-compressed, or None if no
    format reads it."""
    found = format_of(name)
    return (found[0].name, found[1]) if found else None


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root + os.sep)


@dataclass(frozen=True, slots=True)
class _InvalidManifest:
    rel: str
    reason: str


@dataclass(frozen=True, slots=True)
class _Enter:
    """A folder to walk next (what a folder's listing yields instead of recursing)."""

    path: str
    prefix: str
    manifests: list[Manifest | _InvalidManifest]


@dataclass(frozen=True, slots=True)
class _Limits:
    root: str
    excluded: set[tuple[int, int]]  # (device, inode): realpath costs a stat per level
    manifest_bytes: int
    manifest_patterns: int
    meta_bytes: int


def walk_sources(root: Path, exclude: tuple[Path, ...] = (), *,
                 max_manifest_bytes: int = MAX_MANIFEST_BYTES,
                 max_manifest_patterns: int = MAX_MANIFEST_PATTERNS,
                 max_meta_bytes: int = MAX_META_BYTES) -> Iterator[SourceFile | Skipped]:
    """Yield every source file under ``root`` and a :class:`Skipped` for each unreadable one.

    ``exclude`` holds folders never to enter (the build's own output, when it lies inside).
    The manifest caps are the ``max_manifest_mb`` (in bytes here), ``max_manifest_patterns``
    and ``max_meta_kb`` (in bytes) options; the defaults equal the options' defaults. A file
    under a manifest that cannot be read is skipped, with a reason naming the manifest: it
    would lack the metadata (a licence, say) that the manifest meant to give it.

    The order is fixed: names sorted by code point at every level, a folder's files where
    the folder sorts. The walk is iterative, so folder depth is limited only by the system.
    Two names of one folder that are equal once NFC-normalised (as paths and ids are) are
    twins: the first by code point is read, each other one is skipped with a reason.
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
                     max_meta_bytes)
    stack = [_folder(real_root, "", [], limits)]
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
        elif isinstance(item, _Enter):
            stack.append(_folder(item.path, item.prefix, item.manifests, limits))
        else:
            yield item


def _rel_name(prefix: str, name: str) -> str:
    rel = prefix + name
    return rel if rel.isascii() else unicodedata.normalize("NFC", rel)


def _folder(directory: str, prefix: str, manifests: list[Manifest | _InvalidManifest],
            limits: _Limits) -> Iterator[SourceFile | Skipped | _Enter]:
    """What one folder holds, in order; sub-folders as :class:`_Enter`."""
    try:
        with os.scandir(directory) as it:
            entries = sorted((e for e in it if not e.name.startswith(".")),
                             key=lambda e: e.name)
    except OSError as exc:
        yield Skipped(prefix.rstrip("/") or ".", None, f"cannot list folder: {exc.strerror}")
        return
    here = list(manifests)
    for entry in entries:
        if entry.name in MANIFEST_NAMES and not entry.is_dir(follow_symlinks=False):
            rel = prefix + entry.name
            try:
                here.append(load_manifest(
                    Path(entry.path), prefix, limits.root, max_bytes=limits.manifest_bytes,
                    max_patterns=limits.manifest_patterns, max_meta_bytes=limits.meta_bytes))
            except SkipFile as exc:
                yield Skipped(rel, None, exc.reason)
                here.append(_InvalidManifest(rel, exc.reason))
    invalid = [m for m in here if isinstance(m, _InvalidManifest)]
    sidecars = {entry.name for entry in entries if is_sidecar(entry.name)}
    twins: dict[str, str] = {}  # NFC path -> the path as named, of the first of its twins
    for entry in entries:
        name = entry.name
        if name in MANIFEST_NAMES and not entry.is_dir(follow_symlinks=False):
            continue
        rel = _rel_name(prefix, name)
        try:
            rel.encode("utf-8")
        except UnicodeEncodeError:
            yield Skipped(rel.encode("utf-8", "replace").decode(), None,
                          "file name is not valid UTF-8")
            continue
        if not is_sidecar(name):
            first = twins.setdefault(rel, prefix + name)
            if first != prefix + name:
                yield Skipped(prefix + name, None,
                              f"same name as {first!a} once Unicode-normalised (NFC), as "
                              "paths and ids are: only the first by code point is read")
                continue
        path = entry.path
        if entry.is_symlink():
            target = path = os.path.realpath(path)
            if not _within(target, limits.root):
                yield Skipped(rel, None, "symbolic link leads outside the source folder")
                continue
            if not os.path.exists(target):
                yield Skipped(rel, None, "broken symbolic link")
                continue
            if os.path.isdir(target):
                yield Skipped(rel, None, "symbolic link to a folder inside the source folder: "
                                         "not followed (its files are read where they are)")
                continue
        if entry.is_dir(follow_symlinks=False):
            st = entry.stat(follow_symlinks=False)
            if (st.st_dev, st.st_ino) not in limits.excluded:
                yield _Enter(path, rel + "/", here)
            continue
        if is_sidecar(name):
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
        if invalid:
            yield Skipped(rel, None, f"not read: the manifest {invalid[-1].rel} that gives "
                                     f"its metadata is invalid ({invalid[-1].reason})")
            continue
        meta: dict[str, Any] = {}
        for manifest in here:
            meta.update(manifest.lookup(rel))  # type: ignore[union-attr]
        if len(meta) > 1:  # one row was checked on loading; many could add up
            try:
                check_meta_size(meta, limits.meta_bytes, "the metadata its manifests give")
            except SkipFile as exc:
                yield Skipped(rel, None, exc.reason)
                continue
        sidecar = None
        if sidecars:
            sidecar = next((n for n in sidecar_names(name) if n in sidecars), None)
        yield SourceFile(path, rel, kind[0], kind[1], st.st_size, meta,
                         os.path.join(directory, sidecar) if sidecar else None, limits.root,
                         (st.st_dev, st.st_ino))


class _CappedReader:
    """Wrap a binary stream and refuse to produce more than ``limit`` bytes."""

    def __init__(self, raw: IO[bytes], limit: int, what: str) -> None:
        self.raw, self.limit, self.what, self.count = raw, limit, what, 0

    def _account(self, data: bytes) -> bytes:
        self.count += len(data)
        if self.count > self.limit:
            raise SkipFile(f"{self.what} exceeds the limit of {self.limit:,} bytes")
        return data

    def read(self, size: int) -> bytes:
        return self._account(self.raw.read(size))

    def readline(self, size: int = -1) -> bytes:
        return self._account(self.raw.readline(size))


class _GzipMembers(io.RawIOBase):
    """The decompressed bytes of every gzip member of a file, in turn (zlib does the format
    and checks each member's CRC and length).

    Bytes after the last member that do not start another member (padding, junk appended
    by a broken tool) are ignored and counted in ``notes`` under :data:`GZIP_TRAILING_NOTE`,
    as ``gunzip`` ignores them with a warning; a member cut short is an ``EOFError``.
    """

    def __init__(self, raw: IO[bytes], notes: Counter[str]) -> None:
        self._raw, self._notes = raw, notes
        self._member = zlib.decompressobj(wbits=31)  # 16 + 15: gzip header and trailer
        self._input = b""
        self._started = self._done = False

    def readable(self) -> bool:
        return True

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
                buffer[:len(out)] = out
                return len(out)
        return 0


def _open(src: SourceFile, notes: Counter[str]) -> IO[bytes]:
    fh = safefs.open_read(src.path, root=src.root or None, what="file", identity=src.identity)
    if not src.compressed:
        return fh
    return io.BufferedReader(_GzipMembers(fh, notes), _CHUNK)


_GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)


def read_bytes(src: SourceFile, max_bytes: int, notes: Counter[str] | None = None) -> bytes:
    """The whole (decompressed) content of a file; SkipFile if it exceeds ``max_bytes``, is
    not a regular file inside ``src.root`` or is corrupt gzip. Doubts go to ``notes``."""
    try:
        if not src.compressed:
            return safefs.read_bytes(src.path, root=src.root or None, max_bytes=max_bytes,
                                     what="file", identity=src.identity)
        with _open(src, Counter() if notes is None else notes) as fh:
            reader = _CappedReader(fh, max_bytes, "decompressed size")
            chunks = []
            while chunk := reader.read(_CHUNK):
                chunks.append(chunk)
            return b"".join(chunks)
    except safefs.UnsafeFile as exc:
        raise SkipFile(exc.reason) from None
    except _GZIP_ERRORS as exc:
        raise SkipFile(f"corrupt gzip data: {exc}") from None
    except OSError as exc:
        raise SkipFile(f"cannot read file: {exc.strerror or exc}") from None


def iter_lines(src: SourceFile, max_total: int, max_line: int,
               notes: Counter[str] | None = None) -> Iterator[tuple[int, bytes]]:
    """Yield (line number, bytes) of a (decompressed) file, lines capped at ``max_line``.

    A longer line is yielded cut to ``max_line + 1`` bytes so that the caller can reject it;
    the rest of it is read and dropped without being kept in memory. Raises SkipFile as
    :func:`read_bytes` does (after the lines read so far).
    """
    what = "decompressed size" if src.compressed else "file size"
    try:
        with _open(src, Counter() if notes is None else notes) as fh:
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
                yield number, line
    except safefs.UnsafeFile as exc:
        raise SkipFile(exc.reason) from None
    except _GZIP_ERRORS as exc:
        raise SkipFile(f"corrupt gzip data: {exc}") from None
    except OSError as exc:
        raise SkipFile(f"cannot read file: {exc.strerror or exc}") from None


class _Stream(io.RawIOBase):
    """A file's (decompressed) bytes, at most ``limit`` of them, read errors as SkipFile."""

    def __init__(self, raw: IO[bytes], limit: int, what: str) -> None:
        self._raw, self._limit, self._what, self._count = raw, limit, what, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._raw.read(len(buffer))
        except safefs.UnsafeFile as exc:
            raise SkipFile(exc.reason) from None
        except _GZIP_ERRORS as exc:
            raise SkipFile(f"corrupt gzip data: {exc}") from None
        except OSError as exc:
            raise SkipFile(f"cannot read file: {exc.strerror or exc}") from None
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
        fh = _open(src, Counter() if notes is None else notes)
    except safefs.UnsafeFile as exc:
        raise SkipFile(exc.reason) from None
    except OSError as exc:
        raise SkipFile(f"cannot read file: {exc.strerror or exc}") from None
    with fh, io.BufferedReader(_Stream(fh, max_total, what), _CHUNK) as stream:
        yield cast(BinaryIO, stream)
