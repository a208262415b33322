"""The one record type of corpuspack and every schema derived from it.

:class:`Document` is the only definition of a corpus record. The JSON line layout, the Arrow
schema and the Frictionless Table Schema are all derived here from its fields, so adding a
column means adding one field below. The quality signal columns take their descriptions and
bounds from :data:`corpuspack.signals.REGISTRY`, and the ``format`` column's values are the
names of :data:`corpuspack.sources.formats.FORMATS`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from corpuspack.signals import BY_NAME as SIGNAL_BY_NAME
from corpuspack.sources.formats import FORMATS as SOURCE_FORMATS

if TYPE_CHECKING:
    import pyarrow as pa

ID_HEX_CHARS = 16
ID_PATTERN = f"^[0-9a-f]{{{ID_HEX_CHARS}}}$"
SHA256_PATTERN = "^[0-9a-f]{64}$"
LANGUAGE_PATTERN = "^[a-z]{2,3}$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
FORMATS: tuple[str, ...] = tuple(SOURCE_FORMATS)  # the registry's, in its order


def _column(
    kind: str, description: str, *, required: bool = False, default: Any = None, **constraints: Any
) -> Any:
    """Declare a Document field together with its schema facts."""
    meta = {"kind": kind, "description": description, "required": required, **constraints}
    if required:
        return field(metadata=meta)
    if isinstance(default, dict):
        return field(default_factory=dict, metadata=meta)
    return field(default=default, metadata=meta)


def _signal(name: str) -> Any:
    """Declare the column of a quality signal: its description and bounds come from its
    entry in :data:`corpuspack.signals.REGISTRY` (a KeyError for a name not there)."""
    signal = SIGNAL_BY_NAME[name]
    if signal.maximum is None:
        return _column("number", signal.description, minimum=0)
    return _column("number", signal.description, minimum=0, maximum=signal.maximum)


@dataclass(slots=True, kw_only=True)
class Document:
    """One normalised document of a corpus.

    Field order is the column order everywhere (JSON lines, Arrow, Table Schema); ``id`` comes
    first so that sorted shards can be merged by a prefix of each line.
    """

    id: str = _column(
        "string",
        "Stable id: BLAKE2b with an 8-byte digest (16 hex digits) over the source path "
        "('%' and '#' in it written %25 and %23), plus '#' and the record key for JSONL "
        "records. An edited source keeps its id.",
        required=True,
        pattern=ID_PATTERN,
        unique=True,
    )
    source: str = _column(
        "string", "Path of the source file relative to the source folder (POSIX, NFC).",
        required=True,
    )
    format: str = _column(
        "string", "Source format the document was read from.", required=True, enum=list(FORMATS)
    )
    record: str | None = _column(
        "string", "Record key inside a JSONL source: its id field, or L<line number>."
    )
    title: str | None = _column("string", "Title, from curator metadata or the source itself.")
    url: str | None = _column("string", "Canonical URL of the original, when known.")
    date: str | None = _column(
        "date", "Publication date (ISO 8601, YYYY-MM-DD), when known."
    )
    author: str | None = _column("string", "Author(s), when known.")
    publisher: str | None = _column("string", "Publisher or site name, when known.")
    language: str | None = _column(
        "string",
        "Language: ISO 639-1 code where the language has one, else ISO 639-3.",
        pattern=LANGUAGE_PATTERN,
    )
    language_score: float | None = _column(
        "number",
        "Confidence of the language identifier (0 to 1); empty when the language was declared.",
        minimum=0,
        maximum=1,
    )
    license: str | None = _column(
        "string", "Licence of the document (an SPDX identifier, LicenseRef-… or NOASSERTION)."
    )
    encoding: str = _column(
        "string", "Character encoding the source bytes were decoded with.", required=True
    )
    n_chars: int = _column(
        "integer", "Number of Unicode code points in text.", required=True, minimum=1
    )
    n_words: int = _column(
        "integer", "Number of whitespace-separated tokens in text.", required=True, minimum=0
    )
    mean_word_length: float | None = _signal("mean_word_length")
    symbol_ratio: float | None = _signal("symbol_ratio")
    punct_line_fraction: float | None = _signal("punct_line_fraction")
    duplicate_line_fraction: float | None = _signal("duplicate_line_fraction")
    non_alpha_word_fraction: float | None = _signal("non_alpha_word_fraction")
    bullet_line_fraction: float | None = _signal("bullet_line_fraction")
    ellipsis_line_fraction: float | None = _signal("ellipsis_line_fraction")
    short_line_fraction: float | None = _signal("short_line_fraction")
    duplicate_paragraph_fraction: float | None = _signal("duplicate_paragraph_fraction")
    duplicate_line_char_fraction: float | None = _signal("duplicate_line_char_fraction")
    duplicate_paragraph_char_fraction: float | None = _signal("duplicate_paragraph_char_fraction")
    top_2gram_char_fraction: float | None = _signal("top_2gram_char_fraction")
    top_3gram_char_fraction: float | None = _signal("top_3gram_char_fraction")
    top_4gram_char_fraction: float | None = _signal("top_4gram_char_fraction")
    duplicate_5gram_char_fraction: float | None = _signal("duplicate_5gram_char_fraction")
    duplicate_6gram_char_fraction: float | None = _signal("duplicate_6gram_char_fraction")
    duplicate_7gram_char_fraction: float | None = _signal("duplicate_7gram_char_fraction")
    duplicate_8gram_char_fraction: float | None = _signal("duplicate_8gram_char_fraction")
    duplicate_9gram_char_fraction: float | None = _signal("duplicate_9gram_char_fraction")
    duplicate_10gram_char_fraction: float | None = _signal("duplicate_10gram_char_fraction")
    sha256: str = _column(
        "string", "Hex SHA-256 of the UTF-8 encoded text.", required=True, pattern=SHA256_PATTERN
    )
    cluster: str | None = _column(
        "string", "Near-duplicate cluster: the id of the kept document (its own id on the "
        "kept one; with --keep-near-duplicates also on its near-duplicates); empty when the "
        "document has no near-duplicate.", pattern=ID_PATTERN)
    meta: dict[str, Any] = _column(
        "object", "Further metadata from the source, sidecar or manifest.", default={}
    )
    text: str = _column(
        "string",
        "Normalised text: NFC, LF line ends, no trailing spaces, at most one blank line in a row.",
        required=True,
    )


@dataclass(frozen=True)
class Column:
    """Schema facts of one Document field."""

    name: str
    kind: str
    description: str
    required: bool
    constraints: dict[str, Any]


def _columns() -> tuple[Column, ...]:
    cols = []
    for f in dataclasses.fields(Document):
        meta = dict(f.metadata)
        kind, description = meta.pop("kind"), meta.pop("description")
        required = meta.pop("required")
        cols.append(Column(f.name, kind, description, required, meta))
    return tuple(cols)


COLUMNS: tuple[Column, ...] = _columns()
COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in COLUMNS)

def arrow_schema() -> pa.Schema:
    """The Arrow schema of a corpus table (used for Parquet releases)."""
    import pyarrow as pa  # only publishing needs Arrow; building should not pay its import

    types = {
        "string": pa.string(),
        "integer": pa.int64(),
        "number": pa.float64(),
        "date": pa.date32(),
        # free-form metadata travels as a JSON object text: Arrow, Parquet and Hugging Face
        # features have no type for an object whose keys differ from row to row
        "object": pa.string(),
    }
    return pa.schema(
        [
            pa.field(c.name, types[c.kind], nullable=not c.required,
                     metadata={"description": c.description})
            for c in COLUMNS
        ]
    )


_HF_DTYPES = {"string": "string", "integer": "int64", "number": "float64", "date": "date32",
              "object": "string"}


def hf_features() -> list[dict[str, str]]:
    """Hugging Face ``dataset_info.features`` of the Parquet release (same as the Arrow
    schema: free-form metadata as JSON text)."""
    return [{"name": c.name, "dtype": _HF_DTYPES[c.kind]} for c in COLUMNS]


def to_arrow(docs: list[dict[str, Any]]) -> pa.RecordBatch:
    """Parsed documents (JSON objects) as an Arrow record batch of :func:`arrow_schema`."""
    import datetime as dt

    import pyarrow as pa

    columns: dict[str, list[Any]] = {name: [] for name in COLUMN_NAMES}
    for doc in docs:
        for c in COLUMNS:
            value = doc.get(c.name)
            if value is not None and c.kind == "date":
                value = dt.date.fromisoformat(value)
            elif c.kind == "object":
                value = orjson.dumps(value or {}, option=orjson.OPT_SORT_KEYS).decode()
            columns[c.name].append(value)
    schema = arrow_schema()
    return pa.record_batch([pa.array(columns[f.name], f.type) for f in schema], schema=schema)


def table_schema() -> dict[str, Any]:
    """The Frictionless Table Schema of the corpus's JSON lines shards."""
    fields = []
    for c in COLUMNS:
        spec: dict[str, Any] = {"name": c.name, "type": c.kind, "description": c.description}
        constraints = {k: v for k, v in c.constraints.items()}
        if c.required:
            constraints["required"] = True
        if constraints:
            spec["constraints"] = constraints
        fields.append(spec)
    return {"fields": fields, "primaryKey": ["id"], "missingValues": [""]}


class DocumentView(Mapping[str, Any]):
    """A read-only mapping of a document's columns, without copying them."""

    __slots__ = ("_doc",)

    def __init__(self, doc: Document) -> None:
        self._doc = doc

    def __getitem__(self, key: str) -> Any:
        try:
            return getattr(self._doc, key)
        except AttributeError:
            raise KeyError(key) from None

    def __iter__(self) -> Iterator[str]:
        return iter(COLUMN_NAMES)

    def __len__(self) -> int:
        return len(COLUMN_NAMES)


def document_id(source: str, record: str | None = None) -> str:
    """Derive the stable id of a document from its source path and JSONL record key.

    The id is BLAKE2b with an 8-byte digest (16 hex digits) over ``source``, plus ``#`` and
    ``record`` for a JSONL record. ``%`` and ``#`` in ``source`` are written ``%25`` and
    ``%23`` first, so that the key is unambiguous (a file ``a.jsonl#x.txt`` is not record
    ``x.txt`` of ``a.jsonl``) while a path holding neither keeps the id it always had.
    """
    if "%" in source or "#" in source:
        source = source.replace("%", "%25").replace("#", "%23")
    key = source if record is None else f"{source}#{record}"
    return hashlib.blake2b(key.encode("utf-8"), digest_size=ID_HEX_CHARS // 2).hexdigest()


def text_sha256(text: str) -> str:
    """Hex SHA-256 of the UTF-8 encoding of ``text``."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def json_line(value: Any) -> bytes:
    """``value`` as one line of JSON, in a bytes object of its own size.

    orjson returns its output in the buffer it wrote into (4 kB at least), so a list of
    short orjson lines costs 4 kB each; buffers of lines to be sorted are sized by length.
    """
    return bytes(memoryview(orjson.dumps(value, option=orjson.OPT_APPEND_NEWLINE)))


def to_json_line(doc: Document) -> bytes:
    """Serialise a document as one JSON line (keys in schema order, UTF-8, ending in LF)."""
    # orjson writes a dataclass's fields in their declared order: the column order
    return json_line(doc)


def from_json(obj: dict[str, Any]) -> Document:
    """Build a document from a parsed JSON line, ignoring unknown keys."""
    return Document(**{k: obj[k] for k in COLUMN_NAMES if k in obj})


def line_id(line: bytes) -> bytes:
    """The id of a serialised document, read without parsing the line."""
    # to_json_line writes '{"id":"' first; ids have a fixed length
    return line[7 : 7 + ID_HEX_CHARS]
