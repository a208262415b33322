"""Exact deduplication over the whole corpus in bounded memory.

Workers write one key line per document (``sha256<TAB>id<TAB>bytes<TAB>"source"``). The key
lines of all workers are sorted externally (fixed-size chunks sorted in memory and merged
from disk), so documents with equal text become neighbours, ordered by id; every document
but the first of such a run is a duplicate. The result is a file of
:class:`~corpuspack.report.Duplicate` lines sorted by id, ready to be merged against the
sorted documents.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson

from corpuspack.report import Duplicate
from corpuspack.sortutil import sort_lines

SORT_CHUNK_BYTES = 8 << 20


def key_line(sha256: str, doc_id: str, nbytes: int, source: str) -> bytes:
    """The dedup key line of one document."""
    return b"%s\t%s\t%d\t%s\n" % (sha256.encode(), doc_id.encode(), nbytes, orjson.dumps(source))


@dataclass
class DedupResult:
    """Where the sorted duplicates are, how many, and the bytes of the documents kept."""

    duplicates_file: Path
    duplicates: int
    kept_bytes: int


def _groups(lines: Iterable[bytes]) -> Iterator[list[list[bytes]]]:
    group: list[list[bytes]] = []
    for line in lines:
        parts = line.rstrip(b"\n").split(b"\t", 3)
        if group and parts[0] != group[0][0]:
            yield group
            group = []
        group.append(parts)
    if group:
        yield group


def _key_lines(keys_files: list[Path]) -> Iterator[bytes]:
    for path in keys_files:
        with open(path, "rb") as fh:
            yield from fh


def find_exact_duplicates(keys_files: list[Path], workdir: Path,
                          enabled: bool = True) -> DedupResult:
    """Find documents with equal text; keep the first by id."""
    workdir.mkdir(parents=True, exist_ok=True)
    kept_bytes = 0

    def duplicate_lines() -> Iterator[bytes]:
        nonlocal kept_bytes
        by_hash = sort_lines(_key_lines(keys_files), workdir, "keys", SORT_CHUNK_BYTES)
        for group in _groups(by_hash):
            first = group[0]
            kept_bytes += int(first[2])
            for other in group[1:]:
                if not enabled or other[1] == first[1]:
                    # same id twice is an id collision, reported when documents merge
                    kept_bytes += int(other[2])
                    continue
                yield Duplicate(other[1].decode(), orjson.loads(other[3]),
                                first[1].decode(), orjson.loads(first[3]),
                                sha256=other[0].decode()).to_line()

    out_path = workdir / "duplicates.jsonl"
    count = 0
    with open(out_path, "wb") as out:
        for line in sort_lines(duplicate_lines(), workdir, "dups", SORT_CHUNK_BYTES):
            out.write(line)
            count += 1
    return DedupResult(out_path, count, kept_bytes)
