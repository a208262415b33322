"""Writing data files: documents in id-range shards.

Documents are sorted by id and shard ``i`` of ``n`` holds the ids whose first 32 bits fall
in the i-th of n equal ranges. Adding a document therefore changes one shard only (good for
git), and the shard count ``n`` is the smallest power of two that keeps shards near the
configured size, so no file grows without bound. Each shard is hashed and counted as it is
written; gzip shards are deterministic (no time, no name).
"""

from __future__ import annotations

import bisect
import gzip
import hashlib
import io
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from corpuspack.safefs import create_file

QUEUED = 4  # parts of batches waiting for the writing thread (a batch: BATCH_ROWS documents)


def shard_count(total_bytes: int, shard_bytes: int) -> int:
    """The smallest power of two n with total_bytes / n <= shard_bytes."""
    n = 1
    while total_bytes > n * shard_bytes:
        n *= 2
    return n


def shard_of(doc_id: bytes, n: int) -> int:
    """The shard an id belongs to among n shards."""
    return (int(doc_id[:8], 16) * n) >> 32


def shard_filename(index: int, n: int, compression: str = "none") -> str:
    """The data file of shard ``index`` of n: ``documents-00003-of-00008.jsonl[.gz]``."""
    ext = ".jsonl.gz" if compression == "gzip" else ".jsonl"
    return f"documents-{index:05d}-of-{n:05d}{ext}"


def _first_id(index: int, n: int) -> str:
    """The smallest id (as a prefix) of shard ``index`` of n."""
    return f"{-(-(index << 32) // n):08x}"


@dataclass(frozen=True)
class ShardInfo:
    """One written data file."""

    name: str
    filename: str
    rows: int
    bytes: int
    sha256: str


class _HashingFile(io.RawIOBase):
    """A write-only file that hashes and counts what goes through it."""

    def __init__(self, path: Path) -> None:
        self._fh = create_file(path)
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._fh.write(data)
        self.sha.update(data)
        self.size += len(data)
        return len(data)

    def close(self) -> None:
        if not self._fh.closed:
            self._fh.flush()
            os.fsync(self._fh.fileno())
            self._fh.close()
        super().close()


class ShardWriter:
    """Write sorted document lines into id-range shards, one open file at a time.

    Writing, compressing and hashing run on one background thread, in the order given: they
    release the GIL, so they overlap with the sort that yields the next batch (the writes
    took 0.19 s of the basic benchmark build's 0.52 s of final passes, the sort's take and
    partition 0.15 s). At most :data:`QUEUED` batches wait; an error on the thread is raised
    by the next call. Call :meth:`close`, or :meth:`abort` when giving up, so that nothing
    is still writing afterwards.
    """

    def __init__(self, folder: Path, n_shards: int, compression: str = "none") -> None:
        self.folder, self.n, self.compression = folder, n_shards, compression
        self.shards: list[ShardInfo] = []
        self._current = -1
        self._raw: _HashingFile | None = None
        self._out: IO[bytes] | None = None
        self._rows = 0
        self._last_id = b""
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="corpuspack-shards")
        self._queued: deque[Future[None]] = deque()

    def _close_current(self) -> None:
        if self._raw is None or self._out is None:
            return
        if self._out is not self._raw:
            self._out.close()
        self._raw.close()
        filename = shard_filename(self._current, self.n, self.compression)
        self.shards.append(ShardInfo(filename.split(".")[0], filename, self._rows,
                                     self._raw.size, self._raw.sha.hexdigest()))
        self._raw = self._out = None

    def _open(self, index: int) -> IO[bytes]:
        if index != self._current or self._out is None:
            self._close_current()
            self._current, self._rows = index, 0
            self._raw = _HashingFile(self.folder / shard_filename(index, self.n, self.compression))
            if self.compression == "gzip":
                # fixed mtime and no file name: the same data gives the same bytes
                self._out = gzip.GzipFile(  # type: ignore[assignment]
                    filename="", mode="wb", fileobj=self._raw, compresslevel=6, mtime=0)
            else:
                self._out = self._raw  # type: ignore[assignment]
        assert self._out is not None
        return self._out

    def _write(self, index: int, data: Any, rows: int) -> None:  # on the thread
        self._open(index).write(data)
        self._rows += rows

    def _queue(self, fn: Any, *args: Any) -> None:
        self._queued.append(self._io.submit(fn, *args))
        while len(self._queued) > QUEUED or (self._queued and self._queued[0].done()):
            self._queued.popleft().result()

    def add_batch(self, ids: list[str], lines: Any) -> None:
        """Append document lines given as an Arrow binary array (no nulls), with their ids
        in strictly increasing order: each shard's part is written in one piece, straight
        from the array's buffer."""
        import numpy as np
        import pyarrow as pa

        if not ids:
            return
        if ids[0].encode() <= self._last_id or any(
                a >= b for a, b in zip(ids, ids[1:], strict=False)):
            raise ValueError("document ids must be written in increasing order")
        self._last_id = ids[-1].encode()
        width = np.int64 if pa.types.is_large_binary(lines.type) else np.int32
        offsets = np.frombuffer(lines.buffers()[1], dtype=width)[
            lines.offset : lines.offset + len(lines) + 1]
        data = memoryview(lines.buffers()[2]) if len(lines) else memoryview(b"")
        start = 0
        while start < len(ids):
            index = shard_of(ids[start].encode(), self.n)
            end = len(ids)
            if shard_of(ids[-1].encode(), self.n) != index:  # the first id of the next shard
                end = bisect.bisect_left(ids, _first_id(index + 1, self.n), start)
            # the memoryview keeps the Arrow buffer alive until the thread has written it
            self._queue(self._write, index, data[offsets[start] : offsets[end]], end - start)
            start = end

    def close(self) -> list[ShardInfo]:
        """Finish the last shard and list every shard written."""
        self._queue(self._close_current)
        try:
            while self._queued:
                self._queued.popleft().result()
        finally:
            self._io.shutdown(wait=True)
        return self.shards

    def abort(self) -> None:
        """Stop writing: queued writes are dropped, the one under way finishes, the open
        file is closed (it stays partly written; the caller removes its folder)."""
        for future in self._queued:
            future.cancel()
        self._io.shutdown(wait=True)
        self._queued.clear()
        if self._raw is not None:
            self._raw.close()
