"""CSV and TSV tables: one document per row, streamed (the standard library's csv module).

CSV is the ``excel`` dialect (commas), TSV (:mod:`.tsv`) the ``excel-tab`` dialect (tabs);
in both a field may be quoted (``"…"``, a quote inside doubled) and then hold the delimiter
and line breaks. The header row names the columns; the text is the column named by the
``text_column`` option when it is set (its name as written, else ignoring case; surrounding
spaces of header names never count), otherwise the first of ``text``, ``content``, ``body``
(any case) present; ``id`` (``_id``, ``doc_id``) is the record key (kept in
``meta["source_id"]``), else ``L<row>``; every other non-empty cell is metadata, so
``title``, ``date``, ``language``, ``url``, ``author`` and the other column names of the
README's metadata layers fill their columns. Quoted fields may span lines. The file is read
as it comes (never whole), in UTF-8 (a BOM is dropped; bytes that are not UTF-8 are replaced
and counted), each row bounded by ``max_document_mb``. A file without the text column (the
one named, or any of the three) is skipped, the reason naming its columns; a row without
text, or with more cells than the header, is a skipped record.
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
DIALECTS: dict[str, type[csv.Dialect]] = {",": csv.excel, "\t": csv.excel_tab}
MAX_SHOWN = 200  # characters of the header shown in a skip reason


def text_column_of(names: list[str], text_column: str = "") -> int:
    """Where the text is among the header's ``names`` (stripped): the column named
    ``text_column`` (exactly, else ignoring case), or when it is empty the first of
    :data:`TEXT_COLUMNS` (any case). Raises :class:`SkipFile` naming the columns there are
    when there is none."""
    lower = [n.lower() for n in names]
    shown = ", ".join(repr(n) for n in names)
    shown = shown if len(shown) <= MAX_SHOWN else shown[:MAX_SHOWN - 3] + "..."
    if text_column:
        wanted = text_column.strip()
        if wanted in names:
            return names.index(wanted)
        if wanted.lower() in lower:
            return lower.index(wanted.lower())
        raise SkipFile(f"table has no column {wanted!r} (text_column): its columns are "
                       f"{shown}")
    found = next((lower.index(c) for c in TEXT_COLUMNS if c in lower), None)
    if found is None:
        raise SkipFile(f"table has no text column (one of {', '.join(TEXT_COLUMNS)}; "
                       f"text_column names another): its columns are {shown}")
    return found


def iter_table(stream: BinaryIO, delimiter: str, max_row: int, notes: Counter[str],
               text_column: str = "", name: str = "csv") -> Iterator[RawRecord | BadRecord]:
    """The records of a CSV (``delimiter=","``) or TSV (``"\\t"``) stream, as the module
    docstring says; ``text_column`` is the option (empty: found by name), ``name`` the
    format, naming the notes. Raises :class:`SkipFile` for an empty table, an unreadable
    header or no text column; a row that cannot be read is a :class:`BadRecord`."""
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    csv.field_size_limit(max_row)
    reader = csv.reader(text, dialect=DIALECTS[delimiter])
    note = NOTE_REPLACED.replace("csv", name, 1)
    try:
        header = next(reader)
    except StopIteration:
        raise SkipFile("empty table: no header row") from None
    except csv.Error as exc:
        raise SkipFile(f"unreadable table header: {exc}") from None
    names = [h.strip() for h in header]
    lower = [n.lower() for n in names]
    text_at = text_column_of(names, text_column)
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
            notes[note] += body.count("\ufffd")
        meta: dict[str, Any] = {names[i]: cell for i, cell in enumerate(row)
                                if i != text_at and i != id_at and cell.strip() and names[i]}
        record = position
        if id_at is not None and id_at < len(row) and row[id_at].strip():
            record = row[id_at].strip()
            meta["source_id"] = record
        yield RawRecord(body, "utf-8", meta, record, position=position,
                        line_key=record is position)


def read(source: Source) -> Iterator[RawRecord | BadRecord]:
    with source.stream() as stream:
        yield from iter_table(stream, ",", source.max_record_bytes, source.notes,
                              source.text_column, "csv")


FORMAT = Format(
    name="csv",
    extensions=(".csv",),
    many=True,
    read=read,
    documents="one document per row (streamed): the `text` (`content`, `body`) column, or "
              "the one `text_column` names; `id` "
              "becomes the record key; other columns are metadata (`title`, `date`, "
              "`language`, `url`, `author` fill their columns)",
)
