"""Exact deduplication over the whole corpus: one DuckDB query, out of core.

Documents with equal text (equal ``sha256``) form a group; the first by id is kept and
every other one is a duplicate of it (the query orders a group by id, then by the size of
the JSON line and the source, as the sorted key lines of earlier versions did). A document
sharing its id with the first (two records with one id: a data error) is no duplicate: it
is reported as an id collision when documents are written.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from corpuspack.passes import one

if TYPE_CHECKING:
    import duckdb


@dataclass
class DedupResult:
    """How many duplicates, and the bytes of the documents kept."""

    duplicates: int
    kept_bytes: int


def find_exact_duplicates(con: duckdb.DuckDBPyConnection, enabled: bool = True,
                          partitions: int = 1) -> DedupResult:
    """Table ``exact_duplicates (id, source, sha256, duplicate_of, duplicate_of_source)`` of
    the documents of the view ``candidates (id, sha256, nbytes, source)`` (the documents no
    filter dropped), and table ``gone (id)`` of their ids.

    With ``partitions`` > 1 the groups are found partition by partition of the hash of
    ``sha256`` (each query reads one share of the groups: a cluster engine runs them
    apart); the result is the same.
    """
    con.execute("CREATE OR REPLACE TEMP TABLE exact_duplicates (id VARCHAR, source VARCHAR, "
                "sha256 VARCHAR, duplicate_of VARCHAR, duplicate_of_source VARCHAR)")
    kept_bytes = 0
    for part in range(partitions):
        where = f"WHERE hash(sha256) % {partitions} = {part}" if partitions > 1 else ""
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE exact_groups AS
            SELECT id, source, sha256, nbytes,
                   first_value(id) OVER w AS first_id,
                   first_value(source) OVER w AS first_source
            FROM candidates {where}
            WINDOW w AS (PARTITION BY sha256 ORDER BY id, nbytes::VARCHAR, source)""")
        if enabled:
            con.execute("INSERT INTO exact_duplicates SELECT id, source, sha256, first_id, "
                        "first_source FROM exact_groups WHERE id <> first_id")
            found = one(con, "SELECT sum(nbytes) FROM exact_groups WHERE id = first_id")
        else:
            found = one(con, "SELECT sum(nbytes) FROM exact_groups")
        kept_bytes += int(found[0] or 0)
    con.execute("DROP TABLE IF EXISTS exact_groups")
    con.execute("CREATE OR REPLACE TEMP TABLE gone AS SELECT DISTINCT id FROM exact_duplicates")
    return DedupResult(int(one(con, "SELECT count(*) FROM exact_duplicates")[0]), kept_bytes)
