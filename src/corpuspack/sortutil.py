"""External sorting and merging of byte lines, for corpus-wide passes in bounded memory.

Every intermediate file of a build holds lines whose byte order is the order we need
(document lines start with their id; key lines with a hash), so plain byte-wise sorting
and ``heapq.merge`` are all the machinery there is.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path

MAX_FAN_IN = 128
Key = Callable[[bytes], bytes]


def _identity(line: bytes) -> bytes:
    return line


def write_sorted(lines: list[bytes], path: Path, key: Key | None = None) -> Path:
    """Sort ``lines`` in memory and write them to ``path``."""
    lines.sort(key=key)
    with open(path, "wb") as fh:
        fh.writelines(lines)
    return path


def _iter_file(path: Path) -> Iterator[bytes]:
    with open(path, "rb", buffering=1 << 16) as fh:
        yield from fh


def merge_files(paths: list[Path], key: Key | None = None,
                workdir: Path | None = None) -> Iterator[bytes]:
    """Merge files that are each sorted into one sorted stream of lines.

    More than ``MAX_FAN_IN`` files are first merged in groups into files under ``workdir``,
    so that the number of open files stays bounded.
    """
    paths = list(paths)
    level = 0
    while len(paths) > MAX_FAN_IN:
        if workdir is None:
            raise ValueError("workdir is needed to merge this many files")
        merged = []
        for start in range(0, len(paths), MAX_FAN_IN):
            group = paths[start : start + MAX_FAN_IN]
            out = workdir / f"merge-{level}-{start // MAX_FAN_IN:06d}"
            lines: Iterator[bytes] = heapq.merge(*(_iter_file(p) for p in group),
                                                 key=key or _identity)
            with open(out, "wb") as fh:
                fh.writelines(lines)
            merged.append(out)
        paths, level = merged, level + 1
    with ExitStack() as stack:
        files = [stack.enter_context(open(p, "rb", buffering=1 << 16)) for p in paths]
        streams: list[Iterator[bytes]] = [iter(f) for f in files]
        yield from heapq.merge(*streams, key=key or _identity)


def sort_lines(lines: Iterable[bytes], workdir: Path, name: str,
               chunk_bytes: int = 64 << 20, key: Key | None = None) -> Iterator[bytes]:
    """Sort any number of lines with at most ``chunk_bytes`` of them in memory at a time."""
    os.makedirs(workdir, exist_ok=True)
    runs: list[Path] = []
    buffer: list[bytes] = []
    size = 0
    for line in lines:
        buffer.append(line)
        size += len(line)
        if size >= chunk_bytes:
            runs.append(write_sorted(buffer, workdir / f"{name}-{len(runs):06d}", key))
            buffer, size = [], 0
    if not runs:
        buffer.sort(key=key)
        yield from buffer
        return
    if buffer:
        runs.append(write_sorted(buffer, workdir / f"{name}-{len(runs):06d}", key))
    yield from merge_files(runs, key, workdir)
