"""The corpus-wide passes of a build, as DuckDB queries over the runs.

Every pass reads the views of :func:`corpuspack.runs.register` (``base``, ``docs``,
``files``, ``skips``, ``audit``), never the files behind them. DuckDB runs out of core:
:func:`connect` gives it a memory limit, a spill folder in the build's work folder and a
number of threads. Exact duplicates (:mod:`corpuspack.dedup`) and near-duplicate candidates
(:mod:`corpuspack.neardup`) are passes too, partitioned by a hash of their key, as a
shuffle on the executor: split tasks (:func:`run_split`) each read a share of the runs and
write their keys by partition, then one task per partition (:func:`run_partition`), with
its own DuckDB, reads only that partition's keys. No single process reads the keys of the
whole corpus, and a cluster runs the tasks on any node.

Which documents a build writes (:func:`settle`): those no quality filter dropped, no exact
duplicate, not the second record of an id (an id collision) and no near-duplicate (unless
kept, marked). :func:`ordered_documents` streams them in id order: the final order, by
ranges of ids small enough to sort within the memory limit.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from corpuspack.document import json_line
from corpuspack.report import Duplicate, Skipped
from corpuspack.runs import Runs, register, write_parts
from corpuspack.stats import CorpusStats

if TYPE_CHECKING:
    import duckdb

MiB = 1 << 20
# DuckDB's memory limit: the queries spill to the work folder beyond it
MEMORY_LIMIT = os.environ.get("CORPUSPACK_MEMORY_LIMIT", "128MB")
# ... plus this much per document row of the runs, unless CORPUSPACK_MEMORY_LIMIT is set:
# the passes' joins and windows hold keys of every document (ids, hashes, sources), which
# do not all spill: 200,000 of scripts/bench.py's documents with every rule needed between
# 96 and 128 MB (failing at 96 MB) after the join tables were made lean
PER_DOCUMENT_BYTES = 512
# the JSON lines sorted by one query of ordered_documents (its sort must fit the limit:
# DuckDB sorted 700 MB of lines only with a limit of 1 GB; 16 MB was as fast as 48 MB)
SORT_BYTES = 16 * MiB
BATCH_ROWS = 2048
# documents of one refine task at most: a task holds its rewritten documents' rows until it
# writes them (lines, line keys, signatures as Python values), so its memory follows this,
# not the corpus
REFINE_TASK_ROWS = 512
# partitions of the exact and near-duplicate candidate passes (default: automatic)
PARTITIONS = "CORPUSPACK_PARTITIONS"
# below this many document rows in the runs the duplicate passes run in the main process:
# as tasks they cost about 0.3 s more a build (0.46 and 0.48 s against 0.14 s for both
# passes, 5,000 of scripts/bench.py's documents, all rules, 2 workers, stage_seconds);
# where the tasks start to pay was not measured: a million documents' keys sort within
# DuckDB's memory limit in one process, spilling
AUTO_PARTITION_ROWS = 1_000_000
# the documents the duplicate passes and the shards see: those no quality filter dropped
CANDIDATES_VIEW = ("CREATE OR REPLACE VIEW candidates AS SELECT * FROM docs "
                   "WHERE filtered IS NULL")


def connect(workdir: Path, threads: int) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for one build's passes: ``memory_limit``, spilling to
    ``workdir``, ``threads`` threads; insertion order is not kept (every result the build
    needs in an order says so)."""
    import duckdb

    from corpuspack.runs import SCHEMAS

    SCHEMAS.get()  # Arrow set up as the build uses it
    spill = workdir / "duckdb"
    spill.mkdir(exist_ok=True)
    con = duckdb.connect(config={
        "memory_limit": MEMORY_LIMIT, "threads": max(1, threads),
        "temp_directory": str(spill), "preserve_insertion_order": False})
    con.execute("SET enable_progress_bar = false")
    con.execute("SET arrow_large_buffer_size = true")  # a batch of lines may pass 2 GB
    con.execute("SET parquet_metadata_cache = true")  # runs are read once per id range
    return con


def partitions_for(workers: int, rows: int) -> int | None:
    """How many partitions (tasks on the executor) the duplicate passes are split into:
    ``CORPUSPACK_PARTITIONS`` if set (1 to 4096); else none (the passes run in the main
    process) for fewer than :data:`AUTO_PARTITION_ROWS` document ``rows``, and one per
    worker for more. Any choice gives the same output."""
    value = partitions_setting()
    if value is None:
        return None if rows < AUTO_PARTITION_ROWS else max(1, workers)
    return value


def partitions_setting() -> int | None:
    """``CORPUSPACK_PARTITIONS`` (None when unset); UsageError for a value out of 1-4096."""
    from corpuspack.errors import UsageError

    value = os.environ.get(PARTITIONS, "").strip()
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 4096:
        raise UsageError(f"{PARTITIONS} must be a whole number from 1 to 4096, not {value!r}")
    return int(value)


@dataclass(frozen=True)
class SplitTask:
    """Spread the keys of some runs over the partitions (picklable: a task on any node).
    ``runs`` names the runs to read: base runs (``docs``, ``cached_docs``; their rows that
    a refined row replaces are left out, so every refined run is named too) or, with
    ``refined_only``, refined runs."""

    index: int
    partitions: int
    runs: Runs
    workdir: str
    refined_only: bool = False
    near: bool = True


@dataclass(frozen=True)
class PartitionTask:
    """One partition of a duplicate pass (picklable: a task on any node). ``kind``:
    ``exact`` or ``near``; the task reads the partition's files of every split task and
    writes into ``workdir``."""

    kind: str
    part: int
    partitions: int
    workdir: str
    exact_dedup: bool = True


@dataclass(frozen=True)
class PartitionResult:
    """What a partition found: a Parquet file of its rows (exact duplicates, or candidate
    pairs) and, for exact duplicates, the bytes of the documents it keeps."""

    kind: str
    part: int
    path: str
    kept_bytes: int = 0


def run_rows(runs: Runs) -> int:
    """The document rows of a build's runs, from their Parquet metadata (a cached run
    counts all its rows, of files this build uses or not)."""
    import pyarrow.parquet as pq

    return sum(pq.read_metadata(path).num_rows for path in runs.docs + runs.cached_docs)


def _quoted(path: Path | str) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def split_tasks(runs: Runs, partitions: int, workdir: Path, near: bool, tasks: int
                ) -> list[SplitTask]:
    """About ``tasks`` split tasks over the runs of a build: each reads a share of its run
    files (never all of them), and the refined runs in tasks of their own."""
    base = [(path, False) for path in runs.docs] + [(path, True) for path in runs.cached_docs]
    out: list[SplitTask] = []

    def add(chosen: Runs, refined_only: bool) -> None:
        out.append(SplitTask(len(out), partitions, chosen, str(workdir), refined_only, near))

    size = max(1, -(-len(base) // max(1, tasks)))
    for start in range(0, len(base), size):
        chunk = base[start:start + size]
        add(Runs(docs=[p for p, cached in chunk if not cached], cached=runs.cached,
                 cached_docs=[p for p, cached in chunk if cached], refined=runs.refined),
            False)
    size = max(1, -(-len(runs.refined) // max(1, tasks)))
    for start in range(0, len(runs.refined), size):
        add(Runs(refined=runs.refined[start:start + size]), True)
    return out


def run_split(task: SplitTask) -> str:
    """Write the keys of the task's documents that no filter dropped, by partition, in a
    folder of the work folder (``split/<index>/{exact,near}/part=<p>/*.parquet``): for
    exact duplicates (id, source, sha256, nbytes), partition :func:`~corpuspack.dedup.
    part_of` its ``sha256``; for near-duplicates one row (id, h, band) per band, partition
    the band key ``h`` modulo the partitions. One DuckDB, one thread, the memory limit."""
    from corpuspack.dedup import part_of

    folder = Path(task.workdir) / "split" / f"{task.index:05d}"
    folder.mkdir(parents=True, exist_ok=True)
    con = connect(folder, 1)
    try:
        register(con, task.runs)
        if task.refined_only:
            rows = "SELECT * FROM refined"
        elif task.runs.refined:
            rows = ("SELECT b.* FROM base b ANTI JOIN refined r "
                    "ON b.file = r.file AND b.seq = r.seq")
        else:
            rows = "SELECT * FROM base"
        con.execute(f"CREATE OR REPLACE TEMP VIEW split_rows AS SELECT * FROM ({rows}) "
                    "WHERE filtered IS NULL")
        options = "(FORMAT parquet, PARTITION_BY (part), OVERWRITE_OR_IGNORE)"
        con.execute(f"""
            COPY (SELECT id, source, sha256, nbytes, {part_of('sha256', task.partitions)}
                         AS part FROM split_rows)
            TO {_quoted(folder / 'exact')} {options}""")
        if task.near:
            con.execute(f"""
                COPY (SELECT id, h, band, h % {int(task.partitions)} AS part
                      FROM (SELECT id, unnest(bands) AS h, unnest(range(len(bands))) AS band
                            FROM split_rows WHERE signature IS NOT NULL))
                TO {_quoted(folder / 'near')} {options}""")
    finally:
        con.close()
        shutil.rmtree(folder / "duckdb", ignore_errors=True)  # its spill files
    return str(folder)


EMPTY = {"exact": "SELECT NULL::VARCHAR AS id, NULL::VARCHAR AS source, "
                  "NULL::VARCHAR AS sha256, NULL::BIGINT AS nbytes WHERE false",
         "near": "SELECT NULL::VARCHAR AS id, NULL::UBIGINT AS h, NULL::BIGINT AS band "
                 "WHERE false"}


def run_partition(task: PartitionTask) -> PartitionResult:
    """Run one partition of the exact-duplicate (:func:`corpuspack.dedup.exact_partition`)
    or near-duplicate candidate pass (:func:`corpuspack.neardup.candidate_pairs`) in a
    DuckDB of its own (one thread, the memory limit, spilling into a folder of its own in
    the work folder) over only the partition's files of the split tasks; write its rows
    to a Parquet file there."""
    from corpuspack.dedup import exact_partition
    from corpuspack.neardup import candidate_pairs

    if task.kind not in EMPTY:
        raise ValueError(f"unknown partition kind {task.kind!r}")
    root = Path(task.workdir)
    files = sorted(str(p) for p in (root / "split").glob(
        f"*/{task.kind}/part={task.part}/*.parquet"))
    folder = root / "partitions" / f"{task.kind}-{task.part:05d}"
    folder.mkdir(parents=True, exist_ok=True)
    out = folder.with_suffix(".parquet")
    con = connect(folder, 1)
    try:
        columns = "id, source, sha256, nbytes" if task.kind == "exact" else "id, h, band"
        rows = (f"SELECT {columns} FROM read_parquet([{', '.join(map(_quoted, files))}], "
                "hive_partitioning = false)" if files else EMPTY[task.kind])
        kept = 0
        if task.kind == "exact":
            con.execute(f"CREATE OR REPLACE VIEW candidates AS {rows}")
            kept = exact_partition(con, 0, 1, task.exact_dedup)  # the files are the part
            table = "exact_part"
        else:
            candidate_pairs(con, buckets=f"({rows})")
            table = "near_pairs"
        con.execute(f"COPY {table} TO {_quoted(out)} (FORMAT parquet)")
    finally:
        con.close()
        shutil.rmtree(folder, ignore_errors=True)  # its spill files
    return PartitionResult(task.kind, task.part, str(out), kept)


# DuckDB builds a hash join's table on its right side; its optimizers may swap the sides
# (by estimated rows: a table of keys and the runs' lines count the same rows, and a 34 MB
# corpus then ran out of 128 MB building the table on the lines). Off while a query whose
# right side is the small one runs, so the lines stream through the join.
KEEP_JOIN_SIDES = "SET disabled_optimizers = 'join_order,build_side_probe_side'"
RESET_JOIN_SIDES = "RESET disabled_optimizers"


def one(con: duckdb.DuckDBPyConnection, query: str) -> tuple[Any, ...]:
    """The first row of a query's result (the whole result is read: DuckDB refuses new
    work on a connection with an unfinished result)."""
    rows = con.execute(query).fetchall()
    return tuple(rows[0]) if rows else ()


def frequent_lines(con: duckdb.DuckDBPyConnection, min_docs: int,
                   min_fraction: float) -> int:
    """Table ``frequent (g, k, documents, size)``: the line keys found in enough documents of
    their source group, and how many such keys there are.

    The candidate keys of every document ``frequent_lines`` runs on (``group`` set; only
    lines it may remove) are counted per (group, key), each distinct text once (exact copies
    of a page do not make its lines frequent); only groups with at least ``min_docs``
    documents take part, and a key is frequent in at least ``max(min_docs, min_fraction *
    size)`` of them.
    """
    con.execute("""
        CREATE OR REPLACE TEMP TABLE line_groups AS
        SELECT "group" AS g, count(*) AS size FROM base WHERE "group" IS NOT NULL GROUP BY 1""")
    con.execute("""
        CREATE OR REPLACE TEMP TABLE frequent AS
        SELECT c.g, c.k, c.documents, s.size
        FROM (SELECT g, k, count(DISTINCT sha256) AS documents
              FROM (SELECT "group" AS g, sha256, unnest(line_keys) AS k
                    FROM base WHERE "group" IS NOT NULL)
              GROUP BY g, k) c
        JOIN line_groups s USING (g)
        WHERE s.size >= $min_docs AND c.documents >= $min_docs
          AND c.documents >= $min_fraction * s.size""",
                {"min_docs": min_docs, "min_fraction": float(min_fraction)})
    return int(one(con, "SELECT count(*) FROM frequent")[0])


def refine_inputs(con: duckdb.DuckDBPyConnection, folder: Path, parts: int) -> list[str]:
    """Write the documents holding a frequent line of their group, with their candidate
    keys and the counts of their frequent ones, into about ``parts`` files (one refine task
    each), more when a file would pass :data:`REFINE_TASK_ROWS` documents; return the
    files."""
    con.execute("""
        CREATE OR REPLACE TEMP TABLE refine_keys AS
        SELECT file, seq, list(struct_pack(key := k, documents := f.documents,
                                           size := f.size)) AS frequent
        FROM (SELECT file, seq, "group" AS g, unnest(line_keys) AS k
              FROM base WHERE "group" IS NOT NULL) x
        JOIN frequent f USING (g, k)
        GROUP BY file, seq""")
    total = int(one(con, "SELECT count(*) FROM refine_keys")[0])
    if not total:
        return []
    per_file = max(64, min(-(-total // max(1, parts)), REFINE_TASK_ROWS))
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE refine_parts AS
        SELECT *, (row_number() OVER (ORDER BY file, seq) - 1) // {per_file} AS part
        FROM refine_keys""")  # numbered on the keys alone, never on the lines
    con.execute(KEEP_JOIN_SIDES)
    try:
        return write_parts(con, """
            SELECT b.file, b.seq, b."group", b.line_keys, r.frequent, b.line, r.part
            FROM base b JOIN refine_parts r ON b.file = r.file AND b.seq = r.seq""", folder)
    finally:
        con.execute(RESET_JOIN_SIDES)


@dataclass
class Settled:
    """What the build writes, in numbers."""

    written: int
    near_dropped: int
    collisions: int


def settle(con: duckdb.DuckDBPyConnection, clusters: dict[str, tuple[str, float]],
           keep_near: bool) -> Settled:
    """Tables ``kept`` (the documents no filter nor exact dedup dropped, numbered within
    their id: ``nth``), ``clusters (id, cluster, similarity)``, ``written`` (the first
    record of each id, with its cluster id or NULL, and whether it is a near-duplicate to
    drop) and ``collisions``."""
    import pyarrow as pa

    con.execute("""
        CREATE OR REPLACE TEMP TABLE kept AS
        SELECT file, seq, id, sha256, source, record, language, format, encoding, license,
               date, n_chars, n_words, text_bytes,
               row_number() OVER (PARTITION BY id ORDER BY seq) AS nth
        FROM candidates c
        WHERE NOT EXISTS (SELECT 1 FROM exact_duplicates d
                          WHERE d.id = c.id AND d.sha256 = c.sha256)""")
    ids = list(clusters)
    con.register("clusters_arrow", pa.table({
        "id": pa.array(ids, pa.string()),
        "cluster": pa.array([clusters[i][0] for i in ids], pa.string()),
        "similarity": pa.array([clusters[i][1] for i in ids], pa.float64())}))
    con.execute("CREATE OR REPLACE TEMP TABLE clusters AS SELECT * FROM clusters_arrow")
    con.unregister("clusters_arrow")
    drop_near = "FALSE" if keep_near else "c.cluster IS NOT NULL AND c.cluster <> k.id"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE written AS
        SELECT k.*, c.cluster, ({drop_near}) AS near_dropped
        FROM kept k LEFT JOIN clusters c ON c.id = k.id
        WHERE k.nth = 1""")
    row = one(con, "SELECT count(*) FILTER (WHERE NOT near_dropped), "
              "count(*) FILTER (WHERE near_dropped), "
              "(SELECT count(*) FROM kept WHERE nth > 1) FROM written")
    _collisions(con)
    return Settled(int(row[0]), int(row[1]), int(row[2]))


def _collisions(con: duckdb.DuckDBPyConnection) -> None:
    """Table ``collisions (line)``: Skipped lines of the second and later records of an id
    (a data error: rare)."""
    import pyarrow as pa

    rows = con.execute("SELECT source, record, id FROM kept WHERE nth > 1").fetchall()
    lines = [Skipped(source, record, f"id collision: another document has id {doc_id}"
                     ).to_line() for source, record, doc_id in rows]
    con.register("collisions_arrow", pa.table({"line": pa.array(lines, pa.binary())}))
    con.execute("CREATE OR REPLACE TEMP TABLE collisions AS SELECT * FROM collisions_arrow")
    con.unregister("collisions_arrow")


def statistics(con: duckdb.DuckDBPyConnection) -> CorpusStats:
    """The statistics of the documents written."""
    stats = CorpusStats()
    where = "FROM written WHERE NOT near_dropped"
    row = one(con, f"SELECT count(*), sum(n_chars), sum(n_words), sum(text_bytes) {where}")
    stats.documents, stats.chars, stats.words, stats.text_bytes = (int(v or 0) for v in row)
    for counter, column, missing in ((stats.languages, "language", "unknown"),
                                     (stats.formats, "format", "unknown"),
                                     (stats.encodings, "encoding", "unknown"),
                                     (stats.licenses, "license", "unspecified")):
        for value, n in con.execute(
                f"SELECT coalesce(nullif({column}, ''), '{missing}'), count(*) {where} "
                "GROUP BY 1").fetchall():
            counter[value] += n
    for value, n in con.execute(f"SELECT date, count(*) {where} AND date IS NOT NULL AND "
                                "date <> '' GROUP BY 1").fetchall():
        stats.dates[value] += n
    return stats


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """Sums over the source files and documents of the map stage."""
    row = one(con, "SELECT count(*), count(*) FILTER (WHERE read), sum(bytes_in), "
              "sum(repaired) FROM files")
    # one scan of the documents for both (each scan of the runs cost a rebuild 0.05 s)
    encodings = Counter({k: v for k, v in con.execute(
        "SELECT encoding, count(*) FROM base GROUP BY 1").fetchall()})
    return {"files": int(row[0]), "files_read": int(row[1]), "bytes_in": int(row[2] or 0),
            "repaired": int(row[3] or 0), "documents": sum(encodings.values()),
            "encodings": encodings}


def file_counts(con: duckdb.DuckDBPyConnection) -> Iterator[bytes]:
    """The ``counts`` JSON of every source file that has some."""
    empty = '{"removed":{},"pii":{},"notes":{}}'
    reader = con.sql(f"SELECT counts FROM files WHERE counts <> '{empty}'::BLOB"
                     ).to_arrow_reader(BATCH_ROWS)
    for batch in reader:
        yield from batch.column(0).to_pylist()


def sorted_lines(con: duckdb.DuckDBPyConnection, query: str, out: Path) -> Iterator[bytes]:
    """Write the lines a query gives (one BLOB column ``line``), sorted byte-wise, to
    ``out``, and yield each."""
    reader = con.sql(f"SELECT line FROM ({query}) ORDER BY line").to_arrow_reader(BATCH_ROWS)
    with open(out, "wb") as fh:
        for batch in reader:
            for line in batch.column(0).to_pylist():
                fh.write(line)
                yield line


def duplicates(con: duckdb.DuckDBPyConnection, out: Path) -> Path:
    """Every dropped duplicate, exact and near, in id order, as Duplicate lines."""
    reader = con.sql("""
        SELECT id, source, duplicate_of, duplicate_of_source, 'exact' AS kind,
               1.0::DOUBLE AS similarity, sha256
        FROM exact_duplicates
        UNION ALL
        SELECT w.id, w.source, w.cluster, s.source, 'near', c.similarity, ''
        FROM written w JOIN clusters c ON c.id = w.id
        LEFT JOIN (SELECT id, any_value(source) AS source FROM candidates GROUP BY id) s
               ON s.id = w.cluster
        WHERE w.near_dropped
        ORDER BY id, duplicate_of, source, kind, similarity, sha256""").to_arrow_reader(
        BATCH_ROWS)
    with open(out, "wb") as fh:
        for batch in reader:
            for row in batch.to_pylist():
                fh.write(Duplicate(row["id"], row["source"], row["duplicate_of"],
                                   row["duplicate_of_source"] or "", row["kind"],
                                   row["similarity"], row["sha256"]).to_line())
    return out


def fit_documents(con: duckdb.DuckDBPyConnection, rows: int) -> None:
    """Raise DuckDB's default memory limit by :data:`PER_DOCUMENT_BYTES` for each of the
    ``rows`` document rows of the runs (not a limit set with ``CORPUSPACK_MEMORY_LIMIT``):
    the passes' memory grows with the documents, about half a KiB each."""
    if "CORPUSPACK_MEMORY_LIMIT" in os.environ:
        return
    need = _bytes(MEMORY_LIMIT) + PER_DOCUMENT_BYTES * rows
    current = one(con, "SELECT current_setting('memory_limit')")[0]
    if need > _bytes(str(current)):
        con.execute(f"SET memory_limit = '{need // MiB + 1}MiB'")


def _fit_largest(con: duckdb.DuckDBPyConnection, largest: int) -> None:
    """Raise DuckDB's memory limit to hold a sort of a few copies of the largest line.

    A block of a sort holds a whole line: a 40 MB document failed to sort within 128 MB
    ("could not allocate block of size 40.3 MiB"); 6x its size sorted it (measured with the
    40 MB text of tests/hostile/test_bounded_cost.py). The limit then follows the largest
    single input, which ``max_file_mb`` and ``max_document_mb`` bound, not the corpus.
    """
    current = one(con, "SELECT current_setting('memory_limit')")[0]
    need = 64 * MiB + 6 * largest
    if need > _bytes(str(current)):
        con.execute(f"SET memory_limit = '{need // MiB + 1}MiB'")


def _bytes(setting: str) -> int:
    """Bytes of a DuckDB size setting such as ``122.0 MiB`` or ``128MB``."""
    import re

    found = re.fullmatch(r"\s*([\d.]+)\s*([KMGT]?i?B)?\s*", setting)
    if found is None:
        return 0
    unit = (found.group(2) or "B").upper()
    scale = {"B": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
             "KIB": 1 << 10, "MIB": 1 << 20, "GIB": 1 << 30, "TIB": 1 << 40}[unit]
    return int(float(found.group(1)) * scale)


def _shard_of(column: str, n: int) -> str:
    """SQL for :func:`corpuspack.shards.shard_of` of a hex id column among ``n`` shards."""
    return f"((('0x' || substr({column}, 1, 8))::UBIGINT * {int(n)}) >> 32)"


def shard_keys(con: duckdb.DuckDBPyConnection, n: int) -> dict[int, bytes]:
    """The documents each of ``n`` shards will hold, as a digest per shard index (shards
    with no document have none): SHA-256 over the (id, file key, record number, text
    SHA-256, cluster) of its documents in id order, from the table ``written``.

    A document's line follows from its file's key (the file's bytes, sidecar, manifest
    metadata, path, the per-file settings and corpuspack's code: :mod:`corpuspack.cache`)
    and its record number, except what the corpus-wide passes change: its text (frequent
    lines removed, which changes the text's SHA-256) and its cluster. With the build's
    whole configuration (:func:`corpuspack.stages.shards` adds it), the digest names the
    bytes of the shard's data file."""
    rows = con.execute(f"""
        SELECT {_shard_of("id", n)} AS shard,
               sha256(string_agg(concat_ws(' ', id, hex(file), seq, sha256,
                                           coalesce(cluster, '-')), chr(10)
                                 ORDER BY id, seq)) AS digest
        FROM written WHERE NOT near_dropped GROUP BY shard""").fetchall()
    return {int(shard): bytes.fromhex(digest) for shard, digest in rows}


def ordered_documents(con: duckdb.DuckDBPyConnection, folder: Path,
                      shards: tuple[int, list[int]] | None = None
                      ) -> Iterator[tuple[list[str], Any]]:
    """Batches of (ids, JSON lines as an Arrow binary array) of every document written, in
    id order; a kept document of a near-duplicate cluster (or one kept with ``keep``) gets
    its ``cluster``. ``shards`` (n, indexes): only the documents of these of n shards.

    Lines that fit :data:`SORT_BYTES` are sorted by one query. More are sorted as an
    external sort: ids are uniform hex, so ranges of ids by their first four digits split
    the lines evenly; one pass of a query spreads them over one file per range (in
    ``folder``), and each range is sorted on its own, at most about SORT_BYTES at a time.
    """
    within = ""
    if shards is not None:
        n, wanted = shards
        within = f" AND {_shard_of('d.id', n)} IN ({', '.join(map(str, map(int, wanted)))})" \
            if wanted else " AND false"
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE final AS
        SELECT d.file, d.seq, d.id, w.cluster, d.nbytes
        FROM written w JOIN candidates d ON d.file = w.file AND d.seq = w.seq
        WHERE NOT w.near_dropped{within}""")
    total_bytes = int(one(con, "SELECT coalesce(sum(nbytes), 0) FROM final")[0])
    _fit_largest(con, int(one(con, "SELECT coalesce(max(nbytes), 0) FROM final")[0]))
    # the id comes from the lines' side: the join's hash table holds (file, seq, cluster)
    # only, a third of what it took with the ids (200,000 documents outgrew 128 MB)
    query = """
        SELECT d.id, f.seq, f.cluster, d.line{extra}
        FROM docs d JOIN final f ON d.file = f.file AND d.seq = f.seq"""
    starts = [0]
    if total_bytes > SORT_BYTES:
        size = 0
        for prefix, n in con.execute("SELECT ('0x' || substr(id, 1, 4))::INTEGER AS p, "
                                     "sum(nbytes) FROM final GROUP BY p ORDER BY p"
                                     ).fetchall():
            if size and size + n > SORT_BYTES:
                starts.append(prefix)
                size = 0
            size += int(n)
    if len(starts) == 1:  # one range (a few documents, or one huge one): one query
        reader = con.sql(query.format(extra="") + " ORDER BY d.id, f.seq"
                         ).to_arrow_reader(BATCH_ROWS)
        for batch in reader:
            yield _marked(batch)
        return
    con.execute(KEEP_JOIN_SIDES)
    try:
        yield from _ranges_sorted(con, query, starts, folder)
    finally:
        con.execute(RESET_JOIN_SIDES)


def _ranges_sorted(con: duckdb.DuckDBPyConnection, query: str, starts: list[int],
                   folder: Path) -> Iterator[tuple[list[str], Any]]:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    bounds = np.array(starts[1:], dtype=np.int64)
    folder.mkdir(exist_ok=True)
    paths = [folder / f"range-{i:05d}.arrow" for i in range(len(starts))]
    writers: list[Any] = [None] * len(paths)
    try:
        reader = con.sql(query.format(
            extra=", ('0x' || substr(d.id, 1, 4))::INTEGER AS prefix")).to_arrow_reader(
            BATCH_ROWS)
        for batch in reader:
            which = np.searchsorted(bounds, batch.column(4).to_numpy(), side="right")
            order = np.argsort(which, kind="stable")
            batch = batch.take(pa.array(order)).drop_columns(["prefix"])
            counts = np.bincount(which, minlength=len(paths))
            start = 0
            for index, count in enumerate(counts.tolist()):
                if count:
                    if writers[index] is None:
                        writers[index] = pa.ipc.new_file(str(paths[index]), batch.schema)
                    writers[index].write_batch(batch.slice(start, count))
                    start += count
    finally:
        for writer in writers:
            if writer is not None:
                writer.close()
    for index, path in enumerate(paths):
        if writers[index] is None:
            continue
        with pa.memory_map(str(path)) as source:
            table = pa.ipc.open_file(source).read_all()
            # the order is found on the keys alone and the lines taken a batch at a time:
            # never a second copy of the whole range
            order = pc.sort_indices(table.select(["id", "seq"]),
                                    sort_keys=[("id", "ascending"), ("seq", "ascending")])
            for start in range(0, len(order), BATCH_ROWS):
                part = table.take(order[start:start + BATCH_ROWS]).combine_chunks()
                for batch in part.to_batches():
                    yield _marked(batch)
            del table, part
        path.unlink()


def _marked(batch: Any) -> tuple[list[str], Any]:
    """(ids, lines) of a batch of (id, seq, cluster, line): lines of documents with a
    cluster id rewritten with it."""
    import orjson
    import pyarrow as pa
    import pyarrow.compute as pc

    ids = batch.column(0).to_pylist()
    lines, marks = batch.column(3), batch.column(2)
    if marks.null_count < len(batch):
        # only the marked lines go through Python (converting the whole batch cost 0.14 s
        # of a build's shards stage, with about one document in twenty marked)
        marked = pc.is_valid(marks)
        where = pc.indices_nonzero(marked)
        rows = []
        for line, cluster in zip(lines.take(where).to_pylist(),
                                 marks.take(where).to_pylist(), strict=True):
            obj = orjson.loads(line)
            obj["cluster"] = cluster
            rows.append(json_line(obj))
        lines = pc.replace_with_mask(lines, marked, pa.array(rows, pa.large_binary()))
    return ids, lines
