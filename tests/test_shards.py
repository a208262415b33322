"""Shard writing: id ranges, the writing thread, its errors and its end."""

from __future__ import annotations

import gzip
import hashlib
import threading
from pathlib import Path

import pyarrow as pa
import pytest

from corpuspack.shards import ShardWriter, shard_of


def _lines(ids: list[str]) -> pa.Array:
    return pa.array([f'{{"id":"{i}"}}\n'.encode() for i in ids], pa.large_binary())


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name.startswith("corpuspack-shards")}


@pytest.mark.parametrize("compression", ["none", "gzip"])
def test_batches_land_in_their_id_range_in_order(tmp_path: Path, compression: str) -> None:
    ids = [f"{i * 0x0123_4567 % (1 << 32):08x}{i:08x}" for i in range(2000)]
    ids.sort()
    writer = ShardWriter(tmp_path, 4, compression)
    for start in range(0, len(ids), 300):
        writer.add_batch(ids[start:start + 300], _lines(ids[start:start + 300]))
    shards = writer.close()
    assert not _threads()
    assert sum(s.rows for s in shards) == len(ids)
    for shard in shards:
        data = (tmp_path / shard.filename).read_bytes()
        assert shard.bytes == len(data) and shard.sha256 == hashlib.sha256(data).hexdigest()
        text = gzip.decompress(data) if compression == "gzip" else data
        got = [line[7:-3].decode() for line in text.splitlines(keepends=True)]
        index = int(shard.name.split("-")[1])
        assert got == [i for i in ids if shard_of(i.encode(), 4) == index]


def test_an_error_on_the_writing_thread_is_raised_by_a_later_call(tmp_path: Path) -> None:
    writer = ShardWriter(tmp_path / "missing", 1)
    with pytest.raises(OSError):  # by the next add when the thread failed already
        writer.add_batch(["00000001"], _lines(["00000001"]))
        writer.add_batch(["00000002"], _lines(["00000002"]))
        writer.close()
    writer.abort()  # what a failed build does
    assert not _threads()


def test_abort_stops_the_thread_and_closes_the_file(tmp_path: Path) -> None:
    writer = ShardWriter(tmp_path, 1)
    ids = [f"{i:016x}" for i in range(100)]
    writer.add_batch(ids, _lines(ids))
    writer.abort()
    assert not _threads()
    assert writer._raw is None or writer._raw.closed


def test_ids_out_of_order_are_refused(tmp_path: Path) -> None:
    writer = ShardWriter(tmp_path, 1)
    writer.add_batch(["00000002"], _lines(["00000002"]))
    with pytest.raises(ValueError, match="increasing order"):
        writer.add_batch(["00000001"], _lines(["00000001"]))
    writer.close()
