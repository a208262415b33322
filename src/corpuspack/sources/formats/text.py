"""Plain text: the whole file is one document."""

from __future__ import annotations

from collections.abc import Iterator

from corpuspack.sources.decode import Scorer, decode_bytes
from corpuspack.sources.readers import Format, RawRecord, Source


def read_text(data: bytes, score: Scorer | None) -> RawRecord:
    """A plain text file is one document, decoded by
    :func:`~corpuspack.sources.decode.decode_bytes`."""
    decoded = decode_bytes(data, score=score)
    return RawRecord(decoded.text, decoded.encoding, decoding=decoded.record)


def read(source: Source) -> Iterator[RawRecord]:
    yield read_text(source.data(), source.score)


FORMAT = Format(
    name="text",
    extensions=(".txt", ".text"),
    many=False,
    read=read,
    documents="the whole file",
)
