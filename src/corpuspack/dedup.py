"""Exact deduplication over the whole corpus: DuckDB queries, out of core, by partition.

Documents with equal text (equal ``sha256``) form a group; the first by id is kept and
every other one is a duplicate of it (the query orders a group by id, then by the size of
the JSON line and the source, as the sorted key lines of earlier versions did). A document
sharing its id with the first (two records with one id: a data error) is no duplicate: it
is reported as an id collision when documents are written.

The groups are independent, so the pass is split by a hash of the key (:func:`part_of`):
each partition is one query over its share of the groups (:func:`exact_partition`), run
on the executor as a task of its own (:func:`corpuspack.passes.run_partition`), and the
partitions' tables are combined (:func:`load_exact_duplicates`). Whatever the number of
partitions, every group lies in exactly one, so the result is the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from corpuspack.passes import one

if TYPE_CHECKING:
    import duckdb

EXACT_COLUMNS = ("id VARCHAR, source VARCHAR, sha256 VARCHAR, duplicate_of VARCHAR, "
                 "duplicate_of_source VARCHAR")


@dataclass
class DedupResult:
    """How many duplicates, and the bytes of the documents kept."""

    duplicates: int
    kept_bytes: int


def part_of(sha256: str, partitions: int) -> str:
    """SQL: the partition (0 to ``partitions - 1``) of the exact-dedup key held in the
    column ``sha256`` (hex): its first 15 hex digits (60 bits, uniform for SHA-256) modulo
    ``partitions``. Plain arithmetic on the key, so every node and DuckDB version agrees."""
    return f"('0x' || substr({sha256}, 1, 15))::BIGINT % {int(partitions)}"


def exact_partition(con: duckdb.DuckDBPyConnection, part: int, partitions: int,
                    enabled: bool = True) -> int:
    """Table ``exact_part (EXACT_COLUMNS)``: the exact duplicates among the documents of the
    view ``candidates (id, sha256, nbytes, source)`` whose key falls in partition ``part``
    of ``partitions``; return the bytes of the documents kept there (all of them when not
    ``enabled``). Memory: one partition's groups, spilled past DuckDB's memory limit."""
    where = f"WHERE {part_of('sha256', partitions)} = {int(part)}" if partitions > 1 else ""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE exact_groups AS
        SELECT id, source, sha256, nbytes,
               first_value(id) OVER w AS first_id,
               first_value(source) OVER w AS first_source
        FROM candidates {where}
        WINDOW w AS (PARTITION BY sha256 ORDER BY id, nbytes::VARCHAR, source)""")
    con.execute(f"CREATE OR REPLACE TEMP TABLE exact_part ({EXACT_COLUMNS})")
    if enabled:
        con.execute("INSERT INTO exact_part SELECT id, source, sha256, first_id, "
                    "first_source FROM exact_groups WHERE id <> first_id")
        found = one(con, "SELECT sum(nbytes) FROM exact_groups WHERE id = first_id")
    else:
        found = one(con, "SELECT sum(nbytes) FROM exact_groups")
    con.execute("DROP TABLE exact_groups")
    return int(found[0] or 0)


def load_exact_duplicates(con: duckdb.DuckDBPyConnection, paths: list[str],
                          kept_bytes: int) -> DedupResult:
    """Tables ``exact_duplicates (EXACT_COLUMNS)`` and ``gone (id)`` from the Parquet files
    of the partitions (``exact_part`` tables written out), ``kept_bytes`` their sum."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE exact_duplicates ({EXACT_COLUMNS})")
    if paths:
        listed = ", ".join("'" + p.replace("'", "''") + "'" for p in paths)
        con.execute(f"INSERT INTO exact_duplicates SELECT id, source, sha256, duplicate_of, "
                    f"duplicate_of_source FROM read_parquet([{listed}])")
    return _finish(con, kept_bytes)


def find_exact_duplicates(con: duckdb.DuckDBPyConnection, enabled: bool = True,
                          partitions: int = 1) -> DedupResult:
    """Tables ``exact_duplicates (id, source, sha256, duplicate_of, duplicate_of_source)``
    and ``gone (id)`` of the documents of the view ``candidates (id, sha256, nbytes,
    source)`` (the documents no filter dropped), in this connection: the ``partitions``
    queries of :func:`exact_partition` one after the other (a build runs them as tasks)."""
    con.execute(f"CREATE OR REPLACE TEMP TABLE exact_duplicates ({EXACT_COLUMNS})")
    kept_bytes = 0
    for part in range(partitions):
        kept_bytes += exact_partition(con, part, partitions, enabled)
        con.execute("INSERT INTO exact_duplicates SELECT * FROM exact_part")
    con.execute("DROP TABLE exact_part")
    return _finish(con, kept_bytes)


def _finish(con: duckdb.DuckDBPyConnection, kept_bytes: int) -> DedupResult:
    con.execute("CREATE OR REPLACE TEMP TABLE gone AS SELECT DISTINCT id FROM exact_duplicates")
    return DedupResult(int(one(con, "SELECT count(*) FROM exact_duplicates")[0]), kept_bytes)
