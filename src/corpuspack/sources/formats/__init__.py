"""The registry of source formats: one module per format, each declaring a ``FORMAT``.

:data:`FORMATS` maps each format's name to its :class:`~corpuspack.sources.readers.Format`
(name, file extensions, one document per file or many, reader, what becomes a document).
From it derive: which files the walk reads (:func:`format_of`, by extension), how
:func:`corpuspack.pipeline.process_file` reads them (the format's ``read``), the values of
the ``format`` column (:data:`corpuspack.document.FORMATS`, in registry order), the
``[boilerplate.formats.NAME]`` tables (:data:`corpuspack.boilerplate.FORMATS`) and the
README's table of source formats (tests/test_docs.py checks it).

Adding a format
---------------
1. Write ``corpuspack/sources/formats/NAME.py``: a reader function in the field's terms
   (``read_pdf(data, ...) -> RawRecord``, say, which tests can call on bytes), a
   ``read(source)`` adapting it to :data:`~corpuspack.sources.readers.Reader`, and
   ``FORMAT = Format(name=..., extensions=(...), many=..., read=read, documents=...)``.
2. Append the module to :data:`MODULES` below. Registry order is the order of the
   ``format`` column's values in every package's schema: append, never reorder.
3. Add the format's row to the README's table (the test names it).

What a reader gets is a :class:`~corpuspack.sources.readers.Source`:

- **Text formats** (Markdown, reStructuredText) take ``source.data()`` and decode it with
  :func:`~corpuspack.sources.decode.decode_bytes` (byte order mark, UTF-8, declared charset,
  detector), passing ``source.score``; the record's ``decoding`` is the decoded record.
- **Binary formats** (PDF, DOCX, ODT, EPUB) take ``source.data()``, the raw (decompressed)
  bytes, and parse them as they are: no decoding, ``encoding`` names what the container
  declares (``"utf-8"`` for XML-based ones). The whole file is in memory, bounded by
  ``max_file_mb``.
- **Formats of many records** (JSONL, CSV, TSV, WARC) set ``many=True`` and read the file as it
  comes, by ``source.lines()`` (line-based) or ``source.stream()`` (a binary stream, for
  records that span lines: WARC, CSV with quoted line breaks): the file is then bounded
  only by ``max_inflated_mb`` when compressed, and each record by
  ``source.max_record_bytes``. Each record has a ``record`` key (its id, or its position),
  and a ``position`` when the key is not it; the pipeline skips a record whose key repeats
  an earlier one of the file. A record that cannot be read is a ``BadRecord(position,
  reason)`` and the rest go on.
- Any reader raises :class:`~corpuspack.errors.SkipFile` for a file it cannot read at all;
  other exceptions are reported as unexpected errors, never stop a build.
- Import heavy libraries inside the reader function (as HTML does trafilatura): this
  registry is imported by the document schema, which every command uses.

Gzip (``NAME.EXT.gz``) is handled for every format before the reader sees the bytes. The
boilerplate rules treat HTML and Markdown specially (:mod:`corpuspack.boilerplate`); any
other format gets the defaults of plain text unless ``[boilerplate.formats.NAME]`` says
otherwise.
"""

from __future__ import annotations

import os

from corpuspack.sources.formats import (
    csv,
    docx,
    epub,
    html,
    jsonl,
    markdown,
    odt,
    pdf,
    rst,
    text,
    tsv,
    warc,
)
from corpuspack.sources.readers import Format

MODULES = (text, markdown, html, jsonl, pdf, docx, odt, epub, warc, csv, tsv, rst)
FORMATS: dict[str, Format] = {module.FORMAT.name: module.FORMAT for module in MODULES}
BY_EXTENSION: dict[str, Format] = {ext: f for f in FORMATS.values() for ext in f.extensions}


def _check() -> None:
    """Refuse a registry that would read one file two ways or name a format twice."""
    extensions = [ext for f in FORMATS.values() for ext in f.extensions]
    if len(FORMATS) != len(MODULES) or len(BY_EXTENSION) != len(extensions):
        raise ValueError("source formats repeat a name or an extension")
    for ext in extensions:
        if not ext.startswith(".") or ext != ext.lower() or ext == ".gz":
            raise ValueError(f"format extension {ext!r}: a lower-case '.ext', not .gz")


_check()


def format_of(name: str) -> tuple[Format, bool] | None:
    """The format of a file name and whether it is gzip-compressed (``NAME.EXT.gz``), or
    None when no format has its extension (case does not matter)."""
    lower = name.lower()
    compressed = lower.endswith(".gz")
    if compressed:
        lower = lower[:-3]
    found = BY_EXTENSION.get(os.path.splitext(lower)[1])
    return (found, compressed) if found else None
