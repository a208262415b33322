"""Exact deduplication over the whole corpus in bounded memory.

Workers write one key line per document (``sha256<TAB>id<TAB>bytes<TAB>"source"``). The keys
are split into partitions by hash, each partition is sorted on its own, and within a run of
equal hashes every document but the one with the smallest id is a duplicate. The result is a
file of :class:`~corpuspack.report.Duplicate` lines sorted by id, ready to be merged against
the sorted documents.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import orjson

from corpuspack.report import Duplicate
from corpuspack.sortutil import sort_lines

KEYS_PER_PARTITION = 1_000_000


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


def find_exact_duplicates(keys_files: list[Path], workdir: Path, n_docs: int,
                          enabled: bool = True) -> DedupResult:
    """Find documents with equal text; keep the first by id."""
    workdir.mkdir(parents=True, exist_ok=True)
    n_parts = max(1, -(-n_docs // KEYS_PER_PARTITION))
    part_paths = [workdir / f"keys-part-{i:05d}" for i in range(n_parts)]
    with ExitStack() as stack:
        outs = [stack.enter_context(open(p, "wb")) for p in part_paths]
        for path in keys_files:
            with open(path, "rb") as fh:
                for line in fh:
                    outs[int(line[:8], 16) % n_parts].write(line)

    kept_bytes = 0
    def duplicate_lines() -> Iterator[bytes]:
        nonlocal kept_bytes
        for part in part_paths:
            lines = part.read_bytes().splitlines(keepends=True)
            lines.sort()
            for group in _groups(lines):
                first = group[0]
                kept_bytes += int(first[2])
                for other in group[1:]:
                    if not enabled or other[1] == first[1]:
                        # same id twice is an id collision, reported when documents merge
                        kept_bytes += int(other[2])
                        continue
                    yield Duplicate(other[1].decode(), orjson.loads(other[3]),
                                    first[1].decode(), orjson.loads(first[3])).to_line()
            part.unlink()

    out_path = workdir / "duplicates.jsonl"
    count = 0
    with open(out_path, "wb") as out:
        for line in sort_lines(duplicate_lines(), workdir / "dup-sort", "dups"):
            out.write(line)
            count += 1
    return DedupResult(out_path, count, kept_bytes)
