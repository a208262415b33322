"""TSV tables (``.tsv``, ``.tab``): one document per row, streamed, as CSV is.

The reader is CSV's (:func:`corpuspack.sources.formats.csv.iter_table`) with the standard
library's ``excel-tab`` dialect: cells separated by tabs, a cell quoted (``"…"``, a quote
inside doubled) when it holds a tab, a line break or starts with a quote. The same header
rules (the text column found by name or named by ``text_column``; ``id`` the record key;
other columns metadata), limits and skip reasons apply.
"""

from __future__ import annotations

from collections.abc import Iterator

from corpuspack.sources.formats.csv import iter_table
from corpuspack.sources.readers import BadRecord, Format, RawRecord, Source


def read(source: Source) -> Iterator[RawRecord | BadRecord]:
    with source.stream() as stream:
        yield from iter_table(stream, "\t", source.max_record_bytes, source.notes,
                              source.text_column, "tsv")


FORMAT = Format(
    name="tsv",
    extensions=(".tsv", ".tab"),
    many=True,
    read=read,
    documents="one document per row (streamed), tab-separated, cells quoted as in CSV; "
              "columns as in CSV",
)
