"""Finding source files and reading their bytes safely.

The walk is deterministic (names sorted by code point at every level), skips hidden entries,
never leaves the source folder through a symbolic link, and knows which files are sources,
which are metadata (sidecars and manifests) and which it cannot read.
"""

from __future__ import annotations

import gzip
import os
import unicodedata
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from corpuspack.errors import SkipFile
from corpuspack.report import Skipped
from corpuspack.sources.metadata_files import (
    MANIFEST_NAMES,
    Manifest,
    is_sidecar,
    load_manifest,
    sidecar_names,
)

FORMAT_BY_SUFFIX = {
    ".txt": "text", ".text": "text",
    ".md": "markdown", ".markdown": "markdown",
    ".html": "html", ".htm": "html", ".xhtml": "html",
    ".jsonl": "jsonl", ".ndjson": "jsonl",
}
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class SourceFile:
    """One source file to read: where it is, what it is, manifest metadata, its sidecar."""

    path: str
    rel: str
    format: str
    compressed: bool
    size: int
    manifest: dict[str, Any] = field(default_factory=dict)
    sidecar: str | None = None


def source_format(name: str) -> tuple[str, bool] | None:
    """The format of a file name and whether it is gzip-compressed, or None if unsupported."""
    lower = name.lower()
    compressed = lower.endswith(".gz")
    if compressed:
        lower = lower[:-3]
    fmt = FORMAT_BY_SUFFIX.get(os.path.splitext(lower)[1])
    return (fmt, compressed) if fmt else None


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root + os.sep)


def walk_sources(root: Path, exclude: tuple[Path, ...] = ()) -> Iterator[SourceFile | Skipped]:
    """Yield every source file under ``root`` and a :class:`Skipped` for each unreadable one.

    ``exclude`` holds folders never to enter (the build's own output, when it lies inside).
    """
    real_root = os.path.realpath(root)
    excluded = {os.path.realpath(p) for p in exclude}
    yield from _walk(real_root, "", real_root, excluded, [])


def _rel_name(prefix: str, name: str) -> str:
    rel = prefix + name
    return rel if rel.isascii() else unicodedata.normalize("NFC", rel)


def _walk(
    directory: str, prefix: str, root: str, excluded: set[str], manifests: list[Manifest]
) -> Iterator[SourceFile | Skipped]:
    try:
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as exc:
        yield Skipped(prefix.rstrip("/") or ".", None, f"cannot list folder: {exc.strerror}")
        return
    here = list(manifests)
    sidecars = {entry.name for entry in entries if is_sidecar(entry.name)}
    for entry in entries:
        if entry.name in MANIFEST_NAMES and entry.is_file(follow_symlinks=False):
            rel = _rel_name(prefix, entry.name)
            try:
                here.append(load_manifest(Path(entry.path), prefix))
            except SkipFile as exc:
                yield Skipped(rel, None, exc.reason)
    for entry in entries:
        name = entry.name
        if name.startswith("."):
            continue
        rel = _rel_name(prefix, name)
        try:
            rel.encode("utf-8")
        except UnicodeEncodeError:
            yield Skipped(rel.encode("utf-8", "replace").decode(), None,
                          "file name is not valid UTF-8")
            continue
        path = entry.path
        if entry.is_symlink():
            target = os.path.realpath(path)
            if not _within(target, root):
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
            if os.path.realpath(path) in excluded:
                continue
            yield from _walk(path, rel + "/", root, excluded, here)
            continue
        if name in MANIFEST_NAMES or is_sidecar(name):
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
        meta: dict[str, Any] = {}
        for manifest in here:
            meta.update(manifest.lookup(rel))
        sidecar = None
        if sidecars:
            sidecar = next((n for n in sidecar_names(name) if n in sidecars), None)
        yield SourceFile(path, rel, kind[0], kind[1], st.st_size, meta,
                         os.path.join(directory, sidecar) if sidecar else None)


class _CappedReader:
    """Wrap a binary stream and refuse to produce more than ``limit`` bytes."""

    def __init__(self, raw: IO[bytes], limit: int, what: str) -> None:
        self.raw, self.limit, self.what, self.count = raw, limit, what, 0

    def _account(self, data: bytes) -> bytes:
        self.count += len(data)
        if self.count > self.limit:
            raise SkipFile(f"{self.what} exceeds the limit of {self.limit} bytes")
        return data

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            size = self.limit + 1 - self.count
        return self._account(self.raw.read(size))

    def readline(self, size: int = -1) -> bytes:
        return self._account(self.raw.readline(size))


def _open(src: SourceFile) -> IO[bytes]:
    fh = open(src.path, "rb")  # noqa: SIM115 - closed by the callers' context managers
    if not src.compressed:
        return fh
    return gzip.GzipFile(fileobj=fh, mode="rb")  # type: ignore[return-value]


_GZIP_ERRORS = (gzip.BadGzipFile, EOFError, zlib.error)


def _read_plain(src: SourceFile, max_bytes: int) -> bytes:
    # os.read of the size the walk saw: a buffered read(max_bytes) would allocate max_bytes
    fd = os.open(src.path, os.O_RDONLY)
    try:
        chunks, total = [], 0
        want = min(src.size, max_bytes) + 1
        while True:
            chunk = os.read(fd, want)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise SkipFile(f"file size exceeds the limit of {max_bytes} bytes")
            if len(chunk) < want:
                break  # a regular file returns less than asked only at its end
            want = min(_CHUNK, max_bytes + 1 - total)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(fd)


def read_bytes(src: SourceFile, max_bytes: int) -> bytes:
    """The whole (decompressed) content of a file; SkipFile if it exceeds ``max_bytes``."""
    what = "decompressed size" if src.compressed else "file size"
    try:
        if not src.compressed:
            return _read_plain(src, max_bytes)
        with _open(src) as fh:
            return _CappedReader(fh, max_bytes, what).read()
    except _GZIP_ERRORS as exc:
        raise SkipFile(f"corrupt gzip data: {exc}") from None
    except OSError as exc:
        raise SkipFile(f"cannot read file: {exc.strerror or exc}") from None


def iter_lines(src: SourceFile, max_total: int, max_line: int) -> Iterator[tuple[int, bytes]]:
    """Yield (line number, bytes) of a (decompressed) file, lines capped at ``max_line``.

    A longer line is yielded cut to ``max_line + 1`` bytes so that the caller can reject it;
    the rest of it is read and dropped without being kept in memory.
    """
    what = "decompressed size" if src.compressed else "file size"
    try:
        with _open(src) as fh:
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
    except _GZIP_ERRORS as exc:
        raise SkipFile(f"corrupt gzip data: {exc}") from None
    except OSError as exc:
        raise SkipFile(f"cannot read file: {exc.strerror or exc}") from None
