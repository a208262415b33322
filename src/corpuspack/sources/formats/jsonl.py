"""JSON lines: one document per line, an object with a string ``text`` (or ``content``)."""

from __future__ import annotations

import codecs
from collections import Counter
from collections.abc import Iterator
from typing import Any

from corpuspack.errors import SkipFile
from corpuspack.sources.decode import Scorer, decode_bytes
from corpuspack.sources.metadata_files import first_line
from corpuspack.sources.readers import BadRecord, Format, RawRecord, Source
from corpuspack.sources.safeparse import MetadataError, load_json

TEXT_KEYS = ("text", "content")  # the first present is the document's text
RECORD_ID_KEYS = ("id", "_id", "doc_id", "document_id")  # the first usable is its key


def _load_record(line: bytes | str, notes: Counter[str] | None) -> Any:
    try:
        value, doubts = load_json(line)
    except MetadataError as exc:
        raise SkipFile(f"JSON value {exc}") from None
    if doubts and notes is not None:
        notes.update(doubts)
    return value


def read_jsonl_line(line: bytes, number: int, score: Scorer | None,
                    notes: Counter[str] | None = None) -> RawRecord:
    """One JSONL line: an object with a string ``text`` (or ``content``) and metadata keys.

    The text is the first of ``text`` and ``content`` that holds a string. The record's key
    is its ``id`` (``_id``, ``doc_id``, ``document_id``: a non-empty string or an integer,
    kept in ``meta["source_id"]``; a ``source_id`` of the record's own is then kept as
    ``source_id_given``), else ``L<number>``; its position
    is ``L<number>``. Parsed by :func:`~corpuspack.sources.safeparse.load_json`: integers
    beyond 64 bits are kept exactly as strings (and can be record ids), lone surrogate
    escapes are removed (counted in ``notes``), nesting and size are bounded; SkipFile
    otherwise. A line that is not UTF-8 is decoded as a text file is.
    """
    encoding = "utf-8"
    decoding = None
    if number == 1 and line.startswith(codecs.BOM_UTF8):
        line = line[len(codecs.BOM_UTF8):]
    try:
        value = _load_record(line, notes)
    except ValueError as exc:
        try:
            line.decode("utf-8")
            raise SkipFile(f"invalid JSON: {first_line(exc)}") from None
        except UnicodeDecodeError:
            decoded = decode_bytes(line, score=score)
            encoding, decoding = decoded.encoding, decoded.record
            try:
                value = _load_record(decoded.text, notes)
            except ValueError as exc2:
                raise SkipFile(f"invalid JSON: {first_line(exc2)}") from None
    if not isinstance(value, dict):
        raise SkipFile("JSON value is not an object")
    given = [k for k in TEXT_KEYS if k in value]
    if not given:
        raise SkipFile("object has no 'text' or 'content' key")
    # the first that holds a string: "text": null beside a "content" string is no text
    text_key = next((k for k in given if isinstance(value[k], str)), None)
    if text_key is None:
        raise SkipFile(f"'{given[0]}' is not a string")
    text = value.pop(text_key)
    position = record = f"L{number}"
    for key in RECORD_ID_KEYS:
        rid = value.get(key)
        if isinstance(rid, (str, int)) and not isinstance(rid, bool) and str(rid).strip():
            record = str(rid).strip()
            value.pop(key)
            if "source_id" in value:  # the record's own, kept beside corpuspack's
                from corpuspack.metadata import given_key  # (it imports the registry)

                value[given_key("source_id", value)] = value.pop("source_id")
            value["source_id"] = rid
            break
    return RawRecord(text, encoding, value, record, decoding, position=position,
                     line_key=record is position)


def iter_jsonl(lines: Iterator[tuple[int, bytes]], max_line: int, score: Scorer | None,
               notes: Counter[str] | None = None) -> Iterator[RawRecord | BadRecord]:
    """Records of a JSONL file (lines as :meth:`Source.lines` gives them); a line over
    ``max_line`` bytes or that :func:`read_jsonl_line` refuses yields a :class:`BadRecord`
    instead, blank lines nothing. Doubts (lone surrogates removed) are counted in ``notes``.

    Record keys are not checked here: the pipeline skips a record whose key repeats an
    earlier one of the file (for every format of many records).
    """
    for number, line in lines:
        if len(line) > max_line:
            yield BadRecord(f"L{number}", f"line longer than the limit of {max_line} bytes")
            continue
        if not line.strip():
            continue
        record: RawRecord | BadRecord
        try:
            record = read_jsonl_line(line, number, score, notes)
        except SkipFile as exc:
            record = BadRecord(f"L{number}", exc.reason)
        del line  # not held beside the record's text while the record is processed
        yield record


def read(source: Source) -> Iterator[RawRecord | BadRecord]:
    return iter_jsonl(source.lines(), source.max_record_bytes, source.score, source.notes)


FORMAT = Format(
    name="jsonl",
    extensions=(".jsonl", ".ndjson"),
    many=True,
    read=read,
    documents="one document per line: an object with a string `text` (or `content`); "
              "`id`/`_id`/`doc_id` becomes the record key (else `L<line>`; a second record "
              "with the same id is skipped, but a key that meets another record's "
              "`L<line>` is numbered, `L2~2`, and counted in `notes`); other keys are "
              "metadata",
)
