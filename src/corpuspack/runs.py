"""Runs: what the per-file stage writes for the corpus-wide passes, as typed Parquet.

This module is the only one that knows the run format. Each map task writes one *run*,
two Parquet files with declared Arrow schemas:

``<name>.docs.parquet`` (:data:`DOCS`)
    one row per document: its id, source, record, the exact-dedup key (``sha256``), the
    size of its JSON line (``nbytes``), the columns statistics need, its source ``group``
    and ``line_keys`` when ``frequent_lines`` runs on it, its MinHash ``signature`` (bytes:
    :func:`~corpuspack.neardup.signature_bytes`) and LSH ``bands`` (one 64-bit key per
    band), the :class:`~corpuspack.report.Skipped` line of a quality filter that drops it
    (``filtered``), and the document's JSON ``line``. ``file`` is the key of the source
    file the document came from (its cache key), ``seq`` its place in that file: ``(id,
    seq)`` is the final order, as the sorted merge of the former text runs had it.
``<name>.files.parquet`` (:data:`FILES`)
    one row per source file: whether it was read, its size, its counts (boilerplate
    removed, PII redacted, notes) as JSON, its skipped records and its audit lines.

Single-column files of JSON lines (:data:`LINES`: skipped files found by the walk, audit
lines of the refine pass, id collisions) hold the build's other lists.

:func:`register` makes all of a build's runs one set of DuckDB views; the passes
(:mod:`corpuspack.passes`) query those views only, never the files.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import os
import sys
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from corpuspack.boilerplate import source_group
from corpuspack.document import Document, to_json_line
from corpuspack.neardup import NearDedup, band_keys, signature, signature_bytes
from corpuspack.quality import SIGNALS, Filters, failed
from corpuspack.report import Skipped

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

ROW_GROUP_BYTES = 16 << 20
ROW_GROUP_ROWS = 8192
FORMAT_VERSION = 3  # of the files below: part of every cache key
# set to "1" in a process whose code hands pyarrow no pandas objects, as the command line's
# build: it then does not import pandas (pyarrow_without_pandas)
PYARROW_WITHOUT_PANDAS = "CORPUSPACK_PYARROW_WITHOUT_PANDAS"


def _schemas() -> tuple[pa.Schema, pa.Schema, pa.Schema]:
    import pyarrow as pa

    # the C library's allocator gives large buffers (a large document's column) back to
    # the system when freed; Arrow's default pool kept them, 4 times a 40 MB document
    pa.set_memory_pool(pa.system_memory_pool())

    docs = pa.schema([
        ("file", pa.binary(16)), ("seq", pa.int32()), ("id", pa.string()),
        ("source", pa.string()), ("record", pa.string()), ("sha256", pa.string()),
        ("nbytes", pa.int64()), ("language", pa.string()), ("format", pa.string()),
        ("encoding", pa.string()), ("license", pa.string()), ("date", pa.string()),
        ("n_chars", pa.int64()), ("n_words", pa.int64()), ("text_bytes", pa.int64()),
        ("group", pa.string()), ("line_keys", pa.list_(pa.string())),
        ("signature", pa.binary()), ("bands", pa.list_(pa.uint64())),
        ("filtered", pa.binary()), ("line", pa.large_binary()),
    ])
    files = pa.schema([
        ("file", pa.binary(16)), ("source", pa.string()), ("read", pa.bool_()),
        ("documents", pa.int64()), ("bytes_in", pa.int64()), ("repaired", pa.int64()),
        ("counts", pa.binary()), ("skips", pa.list_(pa.binary())),
        ("audit", pa.list_(pa.binary())), ("cacheable", pa.bool_()),
    ])
    lines = pa.schema([("line", pa.binary())])
    return docs, files, lines


class _Schemas:
    """The Arrow schemas, built on first use (pyarrow costs 0.15 s to import)."""

    _cached: tuple[pa.Schema, pa.Schema, pa.Schema] | None = None

    def get(self) -> tuple[pa.Schema, pa.Schema, pa.Schema]:
        if self._cached is None:
            self._cached = _schemas()
        return self._cached


SCHEMAS = _Schemas()


@dataclass
class FileResult:
    """What reading one source file gave, besides its documents."""

    key: bytes
    source: str
    read: bool = True
    documents: int = 0
    bytes_in: int = 0
    repaired: int = 0
    removed: Counter[str] = field(default_factory=Counter)
    pii: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)
    skips: list[bytes] = field(default_factory=list)
    audit: list[bytes] = field(default_factory=list)
    cacheable: bool = True


@dataclass(frozen=True)
class DocSettings:
    """What the run row of a document depends on besides the document (picklable)."""

    near: NearDedup
    line_keys: bool  # frequent_lines counts lines somewhere
    filters: Filters


def prepare() -> None:
    """Import what writing runs needs in this process: pyarrow, its Parquet module, and
    pandas, which pyarrow imports on its first conversion of a Python list (0.3 to 0.5 s;
    not where :data:`PYARROW_WITHOUT_PANDAS` is set to ``1``: see
    :func:`pyarrow_without_pandas`). Called before the map stage starts its workers, so
    that forked workers inherit them rather than each importing them (a worker spent 0.5 s
    of a 9 s map in that import, under py-spy); the main process imports them later
    anyway."""
    import pyarrow as pa
    import pyarrow.parquet  # noqa: F401

    if os.environ.get(PYARROW_WITHOUT_PANDAS) == "1":
        pyarrow_without_pandas()

    SCHEMAS.get()
    pa.array([0], pa.int64())


class _NoPandas(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)


def pyarrow_without_pandas() -> bool:
    """Have pyarrow convert Python lists without importing pandas, in a process that hands
    it no pandas objects (the command line's build, which sets
    :data:`PYARROW_WITHOUT_PANDAS`); True when done.

    pyarrow asks for pandas on its first conversion of anything but a NumPy array, to tell
    whether it is a pandas object, and imports it: 0.3 to 0.5 s of every build's main
    process on the benchmark machine (``python -X importtime``), a tenth of a rebuild after
    a few changes. Here that first question finds pandas missing, and pyarrow goes on
    without it: lists, NumPy and Parquet work as before, and pyarrow still imports pandas
    when asked for pandas objects (``to_pandas``), after which it knows pandas again.
    Until then it would take a pandas Series given to ``pa.array`` for a plain sequence,
    hence not in a library call. Nothing is done when pandas is imported already."""
    import pyarrow as pa

    if "pandas" in sys.modules:
        return False
    finder = _NoPandas()
    sys.meta_path.insert(0, finder)
    try:
        pa.array([0])
    finally:
        sys.meta_path.remove(finder)
    return "pandas" not in sys.modules


def _write(path: Path, table: pa.Table) -> None:
    import pyarrow.parquet as pq

    pq.write_table(table, path, compression="zstd", compression_level=1,
                   row_group_size=ROW_GROUP_ROWS)


class RunWriter:
    """Collect the rows of one run and write its files (in a worker). Document rows go to
    the Parquet file in row groups of at most ROW_GROUP_BYTES of JSON lines, so a task
    holds no more than one row group (or one large document) at a time."""

    def __init__(self, settings: DocSettings, folder: Path, name: str,
                 tmp: Path | None = None) -> None:
        """Write ``<name>.docs.parquet`` and ``<name>.files.parquet`` into ``folder``; with
        ``tmp`` (a folder on the same file system) name them by the SHA-256 of their bytes
        instead (the cache's runs: :mod:`corpuspack.cache`)."""
        self.settings, self.folder, self.name = settings, folder, name
        self.content_names = tmp is not None
        self._docs: dict[str, list[Any]] = {n: [] for n in SCHEMAS.get()[0].names}
        self._bytes = 0
        self._files: list[FileResult] = []
        self._writer: Any = None
        self._tmp = (tmp or folder) / f".{name}-{os.getpid()}-{os.urandom(4).hex()}.tmp"

    def add(self, doc: Document, file: bytes, seq: int,
            line_keys: list[str] | None = None, sig: list[int] | None | bool = True) -> None:
        """Add a document; ``line_keys``: the lines ``frequent_lines`` may remove from it
        (None: the rule does not run on it, and it is not counted in its source group);
        ``sig``: True to compute its MinHash signature, else the one it has."""
        line = to_json_line(doc)
        settings = self.settings
        values = sig_bands = None
        if settings.near.enabled:
            found = signature(doc.text, settings.near) if sig is True else sig
            if isinstance(found, list):
                values, sig_bands = signature_bytes(found), band_keys(found, settings.near)
        group = None
        if settings.line_keys and line_keys is not None:
            group = source_group(doc.source, doc.url, doc.publisher)
        filtered = None
        if settings.filters.active:
            reason = failed(settings.filters, doc.n_words, doc.language,
                            {name: getattr(doc, name) for name in SIGNALS})
            if reason is not None:
                filtered = Skipped(doc.source, doc.record, reason).to_line()
        row = self._docs
        row["file"].append(file)
        row["seq"].append(seq)
        row["id"].append(doc.id)
        row["source"].append(doc.source)
        row["record"].append(doc.record)
        row["sha256"].append(doc.sha256)
        row["nbytes"].append(len(line))
        row["language"].append(doc.language)
        row["format"].append(doc.format)
        row["encoding"].append(doc.encoding)
        row["license"].append(doc.license)
        row["date"].append(doc.date)
        row["n_chars"].append(doc.n_chars)
        row["n_words"].append(doc.n_words)
        row["text_bytes"].append(utf8_length(doc.text))
        row["group"].append(group)
        row["line_keys"].append(line_keys if group is not None else None)
        row["signature"].append(values)
        row["bands"].append(sig_bands)
        row["filtered"].append(filtered)
        row["line"].append(line)
        self._bytes += len(line)
        if self._bytes >= ROW_GROUP_BYTES or len(row["id"]) >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        schema = SCHEMAS.get()[0]
        if self._writer is None:
            self._writer = pq.ParquetWriter(self._tmp, schema, compression="zstd",
                                            compression_level=1, write_statistics=["id"])
        if self._docs["id"]:
            table = pa.table(self._docs, schema=schema)
            for column in self._docs.values():
                column.clear()
            self._bytes = 0
            self._writer.write_table(table)

    def add_file(self, result: FileResult) -> None:
        """Add the row of one source file (after its documents)."""
        self._files.append(result)

    def close(self) -> tuple[str, str]:
        """Write the run's files; return their paths (docs, files)."""
        import pyarrow as pa

        self._flush()
        self._writer.add_key_value_metadata({FILES_KEY: files_digest(f.key for f in self._files)})
        self._writer.close()
        docs_path = self._place(self._tmp, "docs")
        files = pa.table({
            "file": [f.key for f in self._files],
            "source": [f.source for f in self._files],
            "read": [f.read for f in self._files],
            "documents": [f.documents for f in self._files],
            "bytes_in": [f.bytes_in for f in self._files],
            "repaired": [f.repaired for f in self._files],
            "counts": [_counts(f) for f in self._files],
            "skips": [f.skips for f in self._files],
            "audit": [f.audit for f in self._files],
            "cacheable": [f.cacheable for f in self._files],
        }, schema=SCHEMAS.get()[1].with_metadata({"corpuspack.docs": docs_path.name}))
        tmp = self._tmp.with_suffix(".files.tmp")
        _write(tmp, files)
        return str(docs_path), str(self._place(tmp, "files"))

    def _place(self, tmp: Path, kind: str) -> Path:
        if self.content_names:
            return _content_named(tmp, self.folder, kind)
        path = self.folder / f"{self.name}.{kind}.parquet"
        os.replace(tmp, path)
        return path

    def keys(self) -> list[bytes]:
        """The keys of the source files whose results may be cached."""
        return [f.key for f in self._files if f.cacheable]


@dataclass
class RunKeys:
    """What a run's files file says about it: its docs file and its cacheable keys."""

    docs: str
    cacheable: list[bytes]


def run_keys(files_path: str | Path) -> RunKeys:
    """The docs file and cacheable file keys of a run, from its files file."""
    import pyarrow.parquet as pq

    table = pq.read_table(files_path, columns=["file", "cacheable"])
    docs = (table.schema.metadata or {}).get(b"corpuspack.docs", b"").decode()
    keys, flags = table.column("file").to_pylist(), table.column("cacheable").to_pylist()
    return RunKeys(docs, [k for k, ok in zip(keys, flags, strict=True) if ok])


def utf8_length(text: str) -> int:
    """The UTF-8 size of a text, encoded 1 MiB of characters at a time (a large document
    is not copied whole)."""
    if text.isascii():
        return len(text)
    if len(text) <= 1 << 20:
        return len(text.encode("utf-8"))
    return sum(len(text[i : i + (1 << 20)].encode("utf-8"))
               for i in range(0, len(text), 1 << 20))


def _counts(result: FileResult) -> bytes:
    return orjson.dumps({"removed": result.removed, "pii": result.pii, "notes": result.notes})


def read_counts(blob: bytes) -> dict[str, dict[str, int]]:
    """The counts a :data:`FILES` row holds (``removed``, ``pii``, ``notes``)."""
    value: dict[str, dict[str, int]] = orjson.loads(blob)
    return value


class RowsWriter:
    """Write a Parquet file of rows, in batches (a list may be long)."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path, self.schema = path, schema
        self._batch: list[tuple[Any, ...]] = []
        self._writer: Any = None

    def add(self, *row: Any) -> None:
        self._batch.append(row)
        if len(self._batch) >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, self.schema, compression="zstd",
                                            compression_level=1)
        columns: list[Sequence[Any]] = list(zip(*self._batch, strict=True)) if self._batch \
            else [[] for _ in self.schema.names]
        self._writer.write_table(pa.table(
            {n: pa.array(c, t) for n, t, c in zip(self.schema.names, self.schema.types,
                                                   columns, strict=True)},
            schema=self.schema))
        self._batch = []

    def close(self) -> str:
        """Finish the file; return its path."""
        self._flush()
        self._writer.close()
        return str(self.path)


class LinesWriter(RowsWriter):
    """Write a :data:`LINES` file of JSON lines."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, SCHEMAS.get()[2])


def wanted_writer(path: Path) -> RowsWriter:
    """A writer of the rows of cached runs a build uses: (docs, files, file key)."""
    import pyarrow as pa

    return RowsWriter(path, pa.schema([("docs", pa.string()), ("files", pa.string()),
                                       ("file", pa.binary(16))]))


def write_lines(path: Path, lines: Iterable[bytes]) -> str:
    """Write a :data:`LINES` file of JSON lines; return its path."""
    writer = LinesWriter(path)
    for line in lines:
        writer.add(line)
    return writer.close()


PART_BATCH_ROWS = 512


def write_parts(con: duckdb.DuckDBPyConnection, query: str, folder: Path) -> list[str]:
    """Write the rows of a query into Parquet files, one per value of its ``part`` column
    (an integer; the column itself is not written), streaming: each batch of
    :data:`PART_BATCH_ROWS` rows goes to its files as a row group (the refine pass's
    inputs; DuckDB's ``COPY ... PARTITION_BY`` buffered a row group per part, 8 MB per part
    for documents of 16 kB, and ran out of its memory limit). Returns the files, in part
    order."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(exist_ok=True)
    writers: dict[int, Any] = {}
    try:
        for batch in con.sql(query).to_arrow_reader(PART_BATCH_ROWS):
            parts = batch.column("part").to_numpy(zero_copy_only=False)
            rows = batch.drop_columns(["part"])
            for value in np.unique(parts).tolist():
                chosen = rows.filter(pa.array(parts == value))
                writer = writers.get(value)
                if writer is None:
                    writer = writers[value] = pq.ParquetWriter(
                        folder / f"part-{value:06d}.parquet", chosen.schema)
                writer.write_batch(chosen)
    finally:
        for writer in writers.values():
            writer.close()
    return [str(folder / f"part-{value:06d}.parquet") for value in sorted(writers)]


def read_docs(path: str | Path) -> Iterator[dict[str, Any]]:
    """The rows of a file of :func:`write_parts` (the refine pass reads its input this
    way)."""
    import pyarrow.parquet as pq

    table = pq.ParquetFile(path)
    for batch in table.iter_batches(batch_size=1024):
        yield from batch.to_pylist()


@dataclass
class Runs:
    """The run files of one build.

    ``docs`` and ``files``: runs this build wrote (every row is this build's). ``cached``:
    a file of (docs, files, file key) rows naming the rows of runs taken from the cache
    that this build uses (those runs also hold rows of files that changed since, or of
    other source folders); ``cached_docs``, ``cached_files``: those runs.
    """

    docs: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    cached: str | None = None
    cached_docs: list[str] = field(default_factory=list)
    cached_files: list[str] = field(default_factory=list)
    refined: list[str] = field(default_factory=list)  # rows replacing rows of docs
    audit: list[str] = field(default_factory=list)  # LINES files
    skips: list[str] = field(default_factory=list)  # LINES files


def _list(paths: Sequence[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def register(con: duckdb.DuckDBPyConnection, runs: Runs) -> None:
    """Create the views the passes query:

    ``base``     every document of the map stage (:data:`DOCS` columns);
    ``docs``     the documents after the refine pass (refined rows replace base rows);
    ``files``    one row per source file (:data:`FILES` columns);
    ``skips``    every skipped file or record, ``audit`` every audit line (``line``).
    """
    import pyarrow as pa

    docs_schema, files_schema, lines_schema = SCHEMAS.get()

    def source(paths: Sequence[str], schema: pa.Schema, name: str) -> str:
        if not paths:  # an empty relation with the columns
            con.register(f"empty_{name}", pa.table(
                {n: pa.array([], t) for n, t in zip(schema.names, schema.types,
                                                    strict=True)}))
            return f"empty_{name}"
        return f"read_parquet({_list(paths)})"

    def cached(paths: Sequence[str], kind: str) -> str:
        if not paths or runs.cached is None:
            return ""
        return (f" UNION ALL SELECT r.* EXCLUDE (filename) FROM read_parquet({_list(paths)}, "
                f"filename = true) r JOIN wanted_runs n ON n.{kind} = r.filename "
                "SEMI JOIN wanted w ON w.run = n.run AND w.file = r.file")

    if runs.cached is not None:
        # a file's row names its run by number: with the two paths of its run on every
        # row, the table of a rebuild of 200,000 cached files and the hash table of each
        # query's join on it outgrew the passes' memory limit
        con.execute(f"CREATE OR REPLACE TABLE wanted_runs AS SELECT row_number() OVER () "
                    f"AS run, docs, files FROM (SELECT DISTINCT docs, files FROM "
                    f"read_parquet({_list([runs.cached])}))")
        con.execute(f"CREATE OR REPLACE TABLE wanted AS SELECT n.run, c.file FROM "
                    f"read_parquet({_list([runs.cached])}) c JOIN wanted_runs n "
                    f"ON n.docs = c.docs AND n.files = c.files")
    con.execute(f"CREATE OR REPLACE VIEW base AS SELECT * FROM "
                f"{source(runs.docs, docs_schema, 'docs')}"
                f"{cached(runs.cached_docs, 'docs')}")
    con.execute(f"CREATE OR REPLACE VIEW files AS SELECT * FROM "
                f"{source(runs.files, files_schema, 'files')}"
                f"{cached(runs.cached_files, 'files')}")
    if runs.refined:
        con.execute(f"CREATE OR REPLACE VIEW refined AS SELECT * FROM "
                    f"{source(runs.refined, docs_schema, 'refined')}")
        con.execute("CREATE OR REPLACE VIEW docs AS "
                    "SELECT b.* FROM base b ANTI JOIN refined r ON b.file = r.file "
                    "AND b.seq = r.seq UNION ALL SELECT * FROM refined")
    else:
        con.execute("CREATE OR REPLACE VIEW docs AS SELECT * FROM base")
    lines = source(runs.skips, lines_schema, "skips")
    con.execute(f"CREATE OR REPLACE VIEW skips AS SELECT line FROM {lines} UNION ALL "
                "SELECT unnest(skips) AS line FROM files")
    lines = source(runs.audit, lines_schema, "audit")
    con.execute(f"CREATE OR REPLACE VIEW audit AS SELECT line FROM {lines} UNION ALL "
                "SELECT unnest(audit) AS line FROM files")


FILES_KEY = "corpuspack.files"


def files_digest(keys: Iterable[bytes]) -> str:
    """What a run's docs file says of the source files of its run (in its Parquet footer,
    under :data:`FILES_KEY`): the digest of their keys, in order. A cache names a run by
    the SHA-256 of its docs file; without this, two runs giving the same documents (none,
    for files without text) had one name, and the second run's files took the place of the
    first's in the cache's index: the first run's files were lost from later reports."""
    digest = hashlib.blake2b(digest_size=16)
    for key in keys:
        digest.update(key)  # 16 bytes each: the concatenation is unambiguous
    return digest.hexdigest()


def _content_named(tmp: Path, folder: Path, kind: str) -> Path:
    """Move a written run file into ``folder`` under the SHA-256 of its bytes."""
    with open(tmp, "rb") as fh:
        name = hashlib.file_digest(fh, "sha256").hexdigest()
    path = folder / f"{name}.{kind}.parquet"
    os.replace(tmp, path)  # equal bytes when it exists: replacing changes nothing
    return path


def merge_runs(parts: Sequence[tuple[str, str, Collection[bytes]]], folder: Path,
               tmp: Path) -> tuple[str, str, list[bytes]]:
    """Copy the rows of some files of some runs into one new run; return its (docs, files)
    paths and the keys of the files it holds.

    ``parts``: (docs path, files path, keys of the files to copy) of each run. Rows are
    copied unchanged, in the order of ``parts`` and of each run, into files named by the
    SHA-256 of their bytes in ``folder`` (written in ``tmp``, on the same file system), as a
    map task with a cache names its run. Memory: one row group of a run and the rows
    waiting for the next row group, at most ROW_GROUP_BYTES of JSON lines or
    ROW_GROUP_ROWS rows (or one large document), as when a run is written."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    docs_schema, files_schema, _ = SCHEMAS.get()
    stem = tmp / f".merged-{os.getpid()}-{os.urandom(4).hex()}"
    docs_tmp, files_tmp = stem.with_suffix(".docs.tmp"), stem.with_suffix(".files.tmp")
    writer = pq.ParquetWriter(docs_tmp, docs_schema, compression="zstd",
                              compression_level=1, write_statistics=["id"])
    pending: list[Any] = []
    rows = size = 0
    files: list[Any] = []

    def flush() -> None:
        nonlocal pending, rows, size
        if pending:
            writer.write_table(pa.concat_tables(pending))
        pending, rows, size = [], 0, 0

    try:
        for docs_path, files_path, keys in parts:
            wanted = pa.array(sorted(keys), pa.binary(16))
            table = pq.read_table(files_path, schema=files_schema)
            files.append(table.filter(pc.is_in(table.column("file"), value_set=wanted)))
            source = pq.ParquetFile(docs_path)
            for index in range(source.num_row_groups):  # one at a time: batches span them
                group = source.read_row_group(index).cast(docs_schema)
                chosen = group.filter(pc.is_in(group.column("file"), value_set=wanted))
                del group
                if not chosen.num_rows:
                    continue
                n = pc.sum(chosen.column("nbytes")).as_py()
                if size + n > ROW_GROUP_BYTES or rows + chosen.num_rows > ROW_GROUP_ROWS:
                    flush()
                pending.append(chosen)
                rows += chosen.num_rows
                size += n
        flush()
        merged = pa.concat_tables(files)
        writer.add_key_value_metadata({FILES_KEY: files_digest(
            merged.column("file").to_pylist())})
        writer.close()
        docs = _content_named(docs_tmp, folder, "docs")
        merged = merged.replace_schema_metadata({"corpuspack.docs": docs.name})
        _write(files_tmp, merged)
        files_out = _content_named(files_tmp, folder, "files")
    finally:
        writer.close()
        for leftover in (docs_tmp, files_tmp):
            leftover.unlink(missing_ok=True)
    keys_out = [k for k, ok in zip(merged.column("file").to_pylist(),
                                   merged.column("cacheable").to_pylist(), strict=True) if ok]
    return str(docs), str(files_out), keys_out


def file_key_of(source: str) -> bytes:
    """A key for a source file when no cache key is made: unique within a build."""
    return hashlib.blake2b(source.encode("utf-8"), digest_size=16).digest()


def remove(paths: Iterable[str]) -> None:
    """Remove run files (of the work folder)."""
    for p in paths:
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
