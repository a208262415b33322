"""What every reader shares: the record it yields, what it is given, how a format is declared.

A reader turns the bytes of one source file into raw records (text and the metadata the
source states about itself). Each format is one module of :mod:`corpuspack.sources.formats`
declaring a :class:`Format`; no reader normalises text or decides columns, which happens
once for every format in :mod:`corpuspack.pipeline`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, BinaryIO, NamedTuple, Protocol

from corpuspack.sources.decode import Scorer


@dataclass(slots=True)
class RawRecord:
    """Decoded text of one document and the metadata its source states about itself.

    ``record`` is the record's key inside a file of many records (its id, or ``L<line>``),
    unique within the file; None for a file that is one document. ``position`` is where the
    record is in its file as reports name it (``L<line>``), when that is not its key;
    ``line_key`` says that the key is that position (the record has no id).
    ``decoding`` says how the bytes were decoded when they were not strict UTF-8
    (:attr:`corpuspack.sources.decode.Decoded.record`); it becomes ``meta["decoding"]``.
    ``verbatim`` holds the lines the reader knows to be code or other verbatim text
    (Markdown code blocks, HTML ``<pre>``), stripped: text-quality rules never remove them.
    """

    text: str
    encoding: str
    meta: dict[str, Any] = field(default_factory=dict)
    record: str | None = None
    decoding: dict[str, Any] | None = None
    verbatim: frozenset[str] = frozenset()
    position: str | None = None
    line_key: bool = False  # ``record`` is the position, the record having no id of its own


class BadRecord(NamedTuple):
    """A record of a many-record file that cannot be read: its position in the file
    (``L<line>``) and why. The file's other records go on."""

    position: str
    reason: str


class Source(Protocol):
    """One source file as a reader sees it (the pipeline gives it; readers never open files).

    ``data()`` is the whole (decompressed) content, raw bytes, at most ``max_file_mb`` (and
    ``max_inflated_mb`` when compressed): a text format decodes it with
    :func:`corpuspack.sources.decode.decode_bytes`, a binary one parses it as it is.
    ``lines()`` yields ``(line number from 1, line bytes with their end)`` and ``stream()``
    opens a binary stream: both read the file as it comes, limited only by
    ``max_inflated_mb`` when compressed, so a format of many records reads through them and
    bounds each record by ``max_record_bytes`` (``max_document_mb``); a line longer than
    that comes cut to ``max_record_bytes + 1`` bytes, so that the reader can refuse it.
    Each raises :class:`~corpuspack.errors.SkipFile` when the file cannot be read (unsafe,
    corrupt gzip, over a limit). ``score`` is the language scorer decoding uses to choose
    between code pages; ``notes`` counts doubts about inputs read anyway (build report
    ``notes``). ``max_metadata_bytes`` and ``max_meta_bytes`` bound metadata found inside a
    source (front matter), as ``max_metadata_kb`` and ``max_meta_kb`` in bytes.
    """

    @property
    def score(self) -> Scorer | None: ...

    @property
    def notes(self) -> Counter[str]: ...

    @property
    def max_record_bytes(self) -> int: ...

    @property
    def max_metadata_bytes(self) -> int: ...

    @property
    def max_meta_bytes(self) -> int: ...

    @property
    def text_column(self) -> str: ...

    def data(self) -> bytes: ...

    def lines(self) -> Iterator[tuple[int, bytes]]: ...

    def stream(self) -> AbstractContextManager[BinaryIO]: ...


# A reader: a source file's records in file order, a BadRecord for each record that cannot
# be read; SkipFile for a file that cannot be read at all.
Reader = Callable[[Source], Iterable[RawRecord | BadRecord]]


@dataclass(frozen=True)
class Format:
    """A source format, as its module of :mod:`corpuspack.sources.formats` declares it.

    ``name`` is the ``format`` column's value and the ``[boilerplate.formats.NAME]`` table;
    ``extensions`` the lower-case file name endings that select it (each may be followed by
    ``.gz``); ``many`` says whether one file holds many documents (JSONL: each record has a
    key, unique within the file, or is skipped) or is one document (its id is its path's);
    ``read`` is its :data:`Reader`; ``documents`` says what becomes a document, as the
    README's table of source formats says it.
    """

    name: str
    extensions: tuple[str, ...]
    many: bool
    read: Reader
    documents: str
