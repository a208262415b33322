"""Looking inside a corpus: SQL over its documents, one document, a sample, statistics.

Every function takes a :class:`~corpuspack.reader.Package`: a package folder (JSON lines), a
release folder (Parquet) or a git revision. The documents are a DuckDB view named
``documents`` with the columns of :class:`~corpuspack.document.Document` (``meta`` as JSON,
``date`` as DATE). A folder or release is read in place by DuckDB, out of core; a git
revision is streamed into a temporary DuckDB database first.

The connection reads nothing but the package's own data files: DuckDB's access to other
files and to the network is switched off (``enable_external_access = false`` with only the
data files allowed), and it never installs or loads extensions, so a query cannot fetch a
URL or read outside the package.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from corpuspack.document import COLUMNS, to_arrow
from corpuspack.errors import CorpusError, UsageError
from corpuspack.reader import Package
from corpuspack.splits import Layout, layout_of_package

_SQL_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "number": "DOUBLE", "date": "DATE",
              "object": "JSON"}
MEMORY_LIMIT = "1GB"
_GLOB = frozenset("*?[]{}")  # DuckDB expands these in file paths
BATCH = 2000
BY = {"language": "coalesce(language, 'unknown')", "format": "format",
      "source": "CASE WHEN contains(source, '/') THEN split_part(source, '/', 1) "
                "ELSE '(top level)' END",
      "license": "coalesce(license, 'unspecified')", "encoding": "encoding"}


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


@contextmanager
def connect(package: Package) -> Iterator[Any]:
    """A DuckDB connection with a ``documents`` view over ``package`` (see the module
    docstring). Raises UsageError for a package without data files."""
    import duckdb

    with tempfile.TemporaryDirectory(prefix="corpuspack-sql-") as tmp:
        con = duckdb.connect(str(Path(tmp) / "documents.duckdb"))
        try:
            for setting in ("SET autoinstall_known_extensions = false",
                            "SET autoload_known_extensions = false",
                            f"SET memory_limit = '{MEMORY_LIMIT}'",
                            f"SET temp_directory = {_quote(tmp)}"):
                con.execute(setting)
            allowed = _documents_view(con, package)
            con.execute(f"SET allowed_paths = [{', '.join(map(_quote, allowed))}]")
            con.execute(f"SET allowed_directories = [{_quote(tmp)}]")
            con.execute("SET enable_external_access = false")
            yield con
        finally:
            con.close()


def _documents_view(con: Any, package: Package) -> list[str]:
    """Create the ``documents`` view; return the files it reads."""
    files = package.data_files
    if not files:
        raise UsageError(f"{package.label} has no data files")
    folder = package.folder
    if folder is None:  # a git revision: stream the documents into a table
        first = True
        for batch in _batches(package):
            con.register("batch", batch)
            con.execute(("CREATE TABLE documents_raw AS " if first else
                         "INSERT INTO documents_raw ") + "SELECT * FROM batch")
            con.unregister("batch")
            first = False
        con.execute("CREATE VIEW documents AS SELECT "
                    + ", ".join(f"CAST({c.name} AS JSON) AS meta" if c.kind == "object"
                                else c.name for c in COLUMNS) + " FROM documents_raw")
        return []
    from corpuspack.safefs import UnsafeFile, open_read

    for f in files:
        if any(c in f.path for c in _GLOB):
            raise UsageError(f"data file path {f.path!r} holds a wildcard character: DuckDB "
                             "would expand it, so it is not read")
        try:
            open_read(folder / f.path, root=folder, what="data file").close()
        except UnsafeFile as exc:
            raise UsageError(str(exc)) from None
    paths = [str(folder / f.path) for f in files]
    listed = "[" + ", ".join(map(_quote, paths)) + "]"
    if all(f.kind == "parquet" for f in files):
        source = f"read_parquet({listed})"
    else:
        columns = ", ".join(f"{_quote(c.name)}: '{_SQL_TYPES[c.kind]}'" for c in COLUMNS)
        source = (f"read_json({listed}, format = 'newline_delimited', "
                  f"columns = {{{columns}}})")
    select = ", ".join(f"CAST({c.name} AS JSON) AS {c.name}" if c.kind == "object" else c.name
                       for c in COLUMNS)
    con.execute(f"CREATE VIEW documents AS SELECT {select} FROM {source}")
    return paths


def _batches(package: Package) -> Iterator[Any]:
    batch: list[dict[str, Any]] = []
    for doc in package.iter_documents():
        batch.append(doc)
        if len(batch) >= BATCH:
            yield to_arrow(batch)
            batch = []
    if batch:
        yield to_arrow(batch)


@dataclass
class QueryResult:
    """Rows of a query, with their column names."""

    columns: list[str]
    rows: list[tuple[Any, ...]]
    truncated: bool = False

    def to_dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def query(package: Package, sql: str, limit: int = 1000) -> QueryResult:
    """Run one SQL statement over the ``documents`` view; at most ``limit`` rows are kept.

    Raises UsageError with DuckDB's message for a failing statement.
    """
    import duckdb

    if not sql.strip():
        raise UsageError("the query is empty")
    with connect(package) as con:
        try:
            if len(con.extract_statements(sql)) != 1:
                raise UsageError("give one SQL statement at a time")
            cursor = con.execute(sql)
        except duckdb.Error as exc:
            raise UsageError(f"query failed: {str(exc).strip().splitlines()[0]}") from None
        if cursor.description is None:
            return QueryResult([], [])
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchmany(limit + 1)
    return QueryResult(columns, [tuple(r) for r in rows[:limit]], len(rows) > limit)


def document(package: Package, doc_id: str) -> dict[str, Any]:
    """One document by id (a prefix of at least 4 hex digits is enough when it names one
    document). Raises UsageError when none or several match."""
    if len(doc_id) < 4 or not all(c in "0123456789abcdef" for c in doc_id):
        raise UsageError(f"{doc_id!r} is not a document id (hex digits, at least 4)")
    found = [d for d in _scan(package, lambda d: d["id"].startswith(doc_id), limit=2)]
    if not found:
        raise UsageError(f"no document with id {doc_id} in {package.label}")
    if len(found) > 1:
        raise UsageError(f"{doc_id} names more than one document: give more digits")
    return found[0]


def _scan(package: Package, keep: Any, limit: int) -> Iterator[dict[str, Any]]:
    n = 0
    for doc in package.iter_documents():
        if keep(doc):
            yield doc
            n += 1
            if n >= limit:
                return


@dataclass
class Why:
    """Why a document is in the corpus: the filters it passed and what was dropped for it."""

    filters: dict[str, Any] = field(default_factory=dict)  # rule -> (limit, value)
    exact_duplicates: list[str] = field(default_factory=list)
    near_duplicates: list[tuple[str, float]] = field(default_factory=list)


def why_kept(package: Package, doc: dict[str, Any]) -> Why:
    """The quality filters a document passed (from the settings the build recorded) and the
    documents dropped as its duplicates (from the build report)."""
    out = Why()
    settings = package.descriptor.get("corpuspack", {}).get("text_quality", {})
    quality = settings.get("quality", {}) if isinstance(settings, dict) else {}
    for rule, limit in sorted(quality.items()) if isinstance(quality, dict) else ():
        if rule.startswith(("min_", "max_")) and isinstance(limit, (int, float)):
            column = rule[4:]
            value = doc.get("n_words" if column == "words" else column)
            if value is not None:
                out.filters[rule] = (limit, value)
    report_rel = package.descriptor.get("corpuspack", {}).get("report")
    if report_rel and package.exists(report_rel):
        try:
            raw = orjson.loads(package.read(report_rel))
        except (orjson.JSONDecodeError, CorpusError):
            raw = {}
        for dup in raw.get("duplicates", []) if isinstance(raw, dict) else []:
            if isinstance(dup, dict) and dup.get("duplicate_of") == doc["id"]:
                if dup.get("kind") == "near":
                    out.near_duplicates.append((str(dup.get("id")),
                                                float(dup.get("similarity") or 0)))
                else:
                    out.exact_duplicates.append(str(dup.get("id")))
    return out


def sample(package: Package, n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` documents chosen by a hash of their id and ``seed``: the same corpus and seed
    give the same sample, and a document's chance does not depend on the others (bottom-k
    sampling over one streaming pass, bounded by ``n``)."""
    import heapq

    if n < 1:
        raise UsageError("the sample size must be at least 1")
    heap: list[tuple[int, str, dict[str, Any]]] = []
    salt = str(seed).encode()
    for doc in package.iter_documents():
        rank = -int.from_bytes(hashlib.blake2b(doc["id"].encode(), key=salt[:64],
                                               digest_size=8).digest(), "big")
        entry = (rank, doc["id"], {k: v for k, v in doc.items() if k != "text"}
                 | {"excerpt": doc["text"][:200]})
        if len(heap) < n:
            heapq.heappush(heap, entry)
        elif entry > heap[0]:
            heapq.heapreplace(heap, entry)
    return [d for _, _, d in sorted(heap, key=lambda e: (-e[0], e[1]))]


def stats(package: Package, by: str | None = None, layout: Layout | None = None
          ) -> QueryResult:
    """Documents, words and characters, in total or per language, format, top source folder,
    licence, encoding or split (``by``). Raises UsageError for another ``by``.

    ``by = "split"``: each document's split under ``layout``, by default the one a release
    recorded, else the ``[splits]`` of the config in the current folder when it builds this
    package, else ``train`` for every document (:func:`layout_of`)."""
    if by == "split":
        return _split_stats(package, layout or layout_of(package))
    if by is not None and by not in BY:
        raise UsageError(f"--by must be one of: {', '.join((*BY, 'split'))}")
    key = BY[by] if by else "'all'"
    sql = (f"SELECT {key} AS {by or 'corpus'}, count(*) AS documents, sum(n_words) AS words, "
           f"sum(n_chars) AS chars, round(avg(n_words), 1) AS mean_words FROM documents "
           f"GROUP BY ALL ORDER BY documents DESC, 1")
    return query(package, sql, limit=10_000)


def layout_of(package: Package) -> Layout:
    """The splits and subsets of a package: recorded in a release, else the config's in the
    current folder when it builds this package (at that revision for a git revision), else
    none (one ``train`` split): :func:`corpuspack.splits.layout_of_package`."""
    return layout_of_package(package) or Layout()


def _split_stats(package: Package, layout: Layout) -> QueryResult:
    """Documents, words and characters per split: one streaming pass."""
    assign = layout.splits.assigner()
    counts: dict[str, list[int]] = {}
    for doc in package.iter_documents():
        slot = counts.setdefault(assign(doc), [0, 0, 0])
        slot[0] += 1
        slot[1] += int(doc.get("n_words") or 0)
        slot[2] += int(doc.get("n_chars") or 0)
    rows = [(name, n, words, chars, round(words / n, 1))
            for name, (n, words, chars) in sorted(counts.items(), key=lambda i: (-i[1][0], i[0]))]
    return QueryResult(["split", "documents", "words", "chars", "mean_words"], rows)
