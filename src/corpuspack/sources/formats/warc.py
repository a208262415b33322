"""Web archives (WARC, ISO 28500; ``.warc``, ``.warc.gz``): one document per HTML or plain
text response.

Records are read as the file streams by FastWARC (Resiliparse's sibling project; measured
against warcio in docs/design.md, "More source formats": several times the records per
second on the same crawl), HTTP headers parsed. Each ``response`` (or ``resource``) record
with a 2xx status and an HTML or plain-text payload is a document: HTML through the HTML
reader (:func:`~corpuspack.sources.formats.html.read_html`), plain text decoded as a text
file is. The charset of the HTTP ``Content-Type`` is passed as the declared charset (it
comes before the page's ``<meta charset>``, as browsers read it), and either is verified by
decoding (:func:`~corpuspack.sources.decode.decode_bytes`), never trusted.

Columns: ``url`` is the record's ``WARC-Target-URI`` (angle brackets some writers add
removed), ``date`` its ``WARC-Date`` (the capture); the page's own title, author and
language as the HTML reader finds them; ``meta`` gets ``warc_record_id``, ``warc_date``
(the full capture time), ``http_status``, ``content_type``, ``http_charset`` when the header
names one, and a page's canonical URL as ``canonical_link``. The record's key is its target
URI; its position ``R<n>``, the record's number in the file.

Not documents, counted in the build report's notes (by record type, or by why a response
was left): ``warcinfo``, ``request``, ``metadata``, ``revisit`` and ``conversion`` records,
``resource`` records of other than an http(s) URI (wget's own arguments and log);
responses with a status other than 2xx, and responses whose payload is neither HTML nor
plain text (images, PDFs, scripts). A response whose payload is larger than
``max_document_mb`` or cut short is a skipped record with the reason.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from typing import Any, BinaryIO

from corpuspack.errors import SkipFile
from corpuspack.sources.decode import Scorer, codec_name, decode_bytes
from corpuspack.sources.formats.html import read_html
from corpuspack.sources.readers import BadRecord, Format, RawRecord, Source

NOTE_RECORD = "warc: {} records skipped"  # by record type
NOTE_STATUS = "warc: responses skipped: HTTP status {}xx"  # by status class
NOTE_TYPE = "warc: responses skipped: neither HTML nor plain text"
_HTML_TYPES = {"text/html", "application/xhtml+xml"}
_TEXT_TYPES = {"text/plain"}


def _content_type(value: str | None) -> tuple[str, str | None]:
    """(media type, charset) of a Content-Type header value."""
    if not value:
        return "", None
    media, *params = value.split(";")
    charset = None
    for param in params:
        key, _, val = param.partition("=")
        if key.strip().lower() == "charset":
            charset = val.strip().strip("\"'") or None
    return media.strip().lower(), charset


class _Forward(io.RawIOBase):
    """A stream that can "seek" forward only, by reading: FastWARC asks a Python stream for
    its position and seeks past record bodies, and the source's stream (decompressed as it
    is read) cannot seek."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw, self._pos = raw, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        buffer[:len(data)] = data
        self._pos += len(data)
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        target = offset if whence == io.SEEK_SET else self._pos + offset \
            if whence == io.SEEK_CUR else -1
        if target < self._pos:
            raise io.UnsupportedOperation("this stream seeks forward only")
        while self._pos < target:
            if not self.read(min(target - self._pos, 1 << 16)):
                break
        return self._pos


def iter_warc(stream: BinaryIO, max_record: int, score: Scorer | None,
              notes: Counter[str]) -> Iterator[RawRecord | BadRecord]:
    """The documents of a WARC stream (module docstring), a BadRecord for each response too
    large or cut short; records that are not documents are counted in ``notes``."""
    from fastwarc.warc import ArchiveIterator

    number = 0
    for record in ArchiveIterator(_Forward(stream), parse_http=True, verify_digests=False):
        number += 1
        position = f"R{number}"
        kind = str(record.record_type)
        if kind not in ("response", "resource"):
            notes[NOTE_RECORD.format(kind)] += 1
            continue
        uri = (record.headers.get("WARC-Target-URI") or "").strip().strip("<>")
        if kind == "resource" and not uri.lower().startswith(("http://", "https://")):
            notes[NOTE_RECORD.format(kind)] += 1  # a crawler's own files (wget's arguments)
            continue
        http = record.http_headers
        media, charset = _content_type(http.get("Content-Type") if http is not None
                                       else record.headers.get("Content-Type"))
        status = http.status_code if http is not None else None
        if http is not None and not (status and 200 <= status < 300):
            notes[NOTE_STATUS.format((status or 0) // 100)] += 1
            continue
        if media not in _HTML_TYPES and media not in _TEXT_TYPES:
            notes[NOTE_TYPE] += 1
            continue
        if record.content_length > max_record:
            yield BadRecord(position, f"WARC record payload of {record.content_length:,} "
                                      f"bytes is over the limit of {max_record:,} bytes")
            continue
        body = record.reader.read(record.content_length + 1)
        if len(body) < record.content_length:
            yield BadRecord(position, f"WARC record cut short: {len(body):,} of "
                                      f"{record.content_length:,} bytes")
            continue
        declared = codec_name(charset)
        try:
            if media in _HTML_TYPES:
                raw = read_html(body, score, declared)
            else:
                decoded = decode_bytes(body, declared=declared, score=score)
                raw = RawRecord(decoded.text, decoded.encoding, decoding=decoded.record)
        except SkipFile as exc:
            yield BadRecord(position, exc.reason)
            continue
        meta: dict[str, Any] = raw.meta
        if "url" in meta and meta["url"] != uri:
            meta["canonical_link"] = meta.pop("url")
        meta.pop("url", None)
        date = record.headers.get("WARC-Date") or ""
        meta.update({"url": uri or None, "warc_record_id": record.record_id,
                     "warc_date": date or None, "date": date[:10] or None,
                     "http_status": status, "content_type": media})
        if charset:
            meta["http_charset"] = charset
        raw.meta = {k: v for k, v in meta.items() if v is not None}
        raw.record = uri or position
        raw.position = position
        yield raw


def read(source: Source) -> Iterator[RawRecord | BadRecord]:
    with source.stream() as stream:
        yield from iter_warc(stream, source.max_record_bytes, source.score, source.notes)


FORMAT = Format(
    name="warc",
    extensions=(".warc",),
    many=True,
    read=read,
    documents="one document per HTML or plain-text response with a 2xx status (FastWARC), "
              "read as an HTML page or a text file, the HTTP charset declared before "
              "`<meta charset>`; `url` and `date` from the record headers; other records "
              "counted in the report's notes",
)
