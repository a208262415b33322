"""CSV and TSV tables: one document per row, streamed (the standard library's csv module).

The header row names the columns; the text is the first of ``text``, ``content``, ``body``
(any case) present; ``id`` (``_id``, ``doc_id``) is the record key (kept in
``meta["source_id"]``), else ``L<row>``; every other non-empty cell is metadata, so
``title``, ``date``, ``language``, ``url``, ``author`` and the other column names of the
README's metadata layers fill their columns. Quoted fields may span lines. The file is read
as it comes (never whole), in UTF-8 (a BOM is dropped; bytes that are not UTF-8 are
replaced and counted), each row bounded by ``max_document_mb``. A file without a text
column is skipped; a row without text, or with more cells than the header, is a skipped
record.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator
from typing import Any, BinaryIO

from corpuspack.errors import SkipFile
from corpuspack.sources.readers import BadRecord, Format, RawRecord, Source

TEXT_COLUMNS = ("text", "content", "body")
ID_COLUMNS = ("id", "_id", "doc_id", "document_id")
NOTE_REPLACED = "csv: bytes not UTF-8 replaced with U+FFFD"


def iter_table(stream: BinaryIO, delimiter: str, max_row: int,
               notes: Counter[str]) -> Iterator[RawRecord | BadRecord]:
    """The records of a CSV (``delimiter=","``) or TSV (``"\\t"``) stream (module
    docstring)."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    csv.field_size_limit(max_row)
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise SkipFile("empty table: no header row") from None
    except csv.Error as exc:
        raise SkipFile(f"unreadable table header: {exc}") from None
    names = [h.strip() for h in header]
    lower = [n.lower() for n in names]
    text_at = next((lower.index(c) for c in TEXT_COLUMNS if c in lower), None)
    if text_at is None:
        raise SkipFile(f"table has no text column (one of {', '.join(TEXT_COLUMNS)}): "
                       f"its columns are {', '.join(names)[:200]}")
    id_at = next((lower.index(c) for c in ID_COLUMNS if c in lower), None)
    while True:
        position = f"L{reader.line_num + 1}"
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield BadRecord(position, f"unreadable row: {exc}")
            continue
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(names):
            yield BadRecord(position, f"row has {len(row)} cells, the header {len(names)}")
            continue
        body = row[text_at] if text_at < len(row) else ""
        if not body.strip():
            yield BadRecord(position, f"row has no text in column {names[text_at]!r}")
            continue
        if "\ufffd" in body:
            notes[NOTE_REPLACED] += body.count("\ufffd")
        meta: dict[str, Any] = {names[i]: cell for i, cell in enumerate(row)
                                if i != text_at and i != id_at and cell.strip() and names[i]}
        record = position
        if id_at is not None and id_at < len(row) and row[id_at].strip():
            record = row[id_at].strip()
            meta["source_id"] = record
        yield RawRecord(body, "utf-8", meta, record, position=position)


def read(source: Source) -> Iterator[RawRecord | BadRecord]:
    with source.stream() as stream:
        yield from iter_table(stream, ",", source.max_record_bytes, source.notes)


FORMAT = Format(
    name="csv",
    extensions=(".csv",),
    many=True,
    read=read,
    documents="one document per row (streamed): the `text` (`content`, `body`) column; `id` "
              "becomes the record key; other columns are metadata (`title`, `date`, "
              "`language`, `url`, `author` fill their columns)",
)
