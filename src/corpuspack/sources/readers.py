"""Readers: turn the bytes of one source file into raw records (text + own metadata).

Each reader handles one format; none of them normalises text or decides columns, which
happens once for every format in :mod:`corpuspack.pipeline`.
"""

from __future__ import annotations

import codecs
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import frontmatter
from frontmatter.default_handlers import JSONHandler, YAMLHandler
from resiliparse.parse.encoding import detect_encoding
from resiliparse.parse.html import HTMLTree

from corpuspack.errors import SkipFile
from corpuspack.metadata import RECORD_ID_KEYS, TEXT_KEYS
from corpuspack.sources.decode import Scorer, decode_bytes
from corpuspack.sources.metadata_files import (
    MAX_META_BYTES,
    MAX_METADATA_BYTES,
    SURROGATES_NOTE,
    first_line,
    parse_mapping,
)
from corpuspack.sources.safeparse import MetadataError, load_json

_ATX_HEADING = re.compile(r"^#\s+(.+?)(?:\s+#+)?\s*$", re.MULTILINE)
_HTML_DATE_CONFIG = {"extensive_search": False, "original_date": True}


@dataclass(slots=True)
class RawRecord:
    """Decoded text of one document and the metadata its source states about itself.

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


def read_text(data: bytes, score: Scorer | None) -> RawRecord:
    """A plain text file is one document."""
    decoded = decode_bytes(data, score=score)
    return RawRecord(decoded.text, decoded.encoding, decoding=decoded.record)


class _FrontMatter:
    """What a front matter handler needs to read the metadata block within the caps."""

    def __init__(self, max_bytes: int, max_meta_bytes: int, notes: Counter[str] | None):
        self.max_bytes, self.max_meta_bytes, self.notes = max_bytes, max_meta_bytes, notes

    def load(self, block: str, kind: str) -> dict[str, Any]:
        size = len(block.encode("utf-8", "surrogatepass"))
        if size > self.max_bytes:  # before parsing: the cap bounds the parser's work
            raise SkipFile(f"front matter is {size:,} bytes, over the limit of "
                           f"{self.max_bytes:,} bytes (max_metadata_kb)")
        return parse_mapping(block, kind, "front matter", max_meta_bytes=self.max_meta_bytes,
                             notes=self.notes)


class _YAMLFrontMatter(YAMLHandler):
    """python-frontmatter finds and splits the block; corpuspack's YAML reads it."""

    def __init__(self, caps: _FrontMatter) -> None:
        super().__init__()
        self.caps = caps

    def load(self, fm: str, **kwargs: object) -> Any:
        return self.caps.load(fm, "yaml")


class _JSONFrontMatter(JSONHandler):
    def __init__(self, caps: _FrontMatter) -> None:
        super().__init__()
        self.caps = caps

    def load(self, fm: str, **kwargs: object) -> Any:
        return self.caps.load(fm, "json")


def read_markdown(data: bytes, score: Scorer | None, *,
                  max_metadata_bytes: int = MAX_METADATA_BYTES,
                  max_meta_bytes: int = MAX_META_BYTES,
                  notes: Counter[str] | None = None) -> RawRecord:
    """Markdown: YAML (or JSON) front matter becomes metadata, the body is the text.

    The front matter is read as sidecars are (:mod:`corpuspack.sources.safeparse`): at most
    ``max_metadata_bytes`` (``max_metadata_kb``, checked before parsing), bounded expansion,
    values as written; SkipFile otherwise.
    """
    decoded = decode_bytes(data, score=score)
    caps = _FrontMatter(max_metadata_bytes, max_meta_bytes, notes)
    handler = frontmatter.detect_format(decoded.text, [_YAMLFrontMatter(caps),
                                                       _JSONFrontMatter(caps)])
    if handler is None:  # never None into frontmatter: it would pick its own handlers
        meta: dict[str, Any] = {}
        content = decoded.text.strip()
    else:
        found, content = frontmatter.parse(decoded.text, handler=handler)
        meta = dict(found)
    if "title" not in meta:
        heading = _ATX_HEADING.search(content)
        if heading:
            meta["title"] = heading.group(1)
    return RawRecord(content, decoded.encoding, meta, decoding=decoded.record)


def _html_metadata(html: str) -> dict[str, Any]:
    # trafilatura is imported here: it costs a quarter second and only HTML needs it
    from trafilatura.metadata import extract_metadata

    found = extract_metadata(html, extensive=False, date_config=_HTML_DATE_CONFIG)
    if found is None:
        return {}
    meta: dict[str, Any] = {}
    title = found.title.rstrip(" ¶#").strip() if found.title else None
    pairs = (("title", title), ("author", found.author), ("date", found.date),
             ("publisher", found.sitename), ("url", found.url),
             ("description", found.description))
    for key, value in pairs:
        if value:
            meta[key] = value
    for key in ("categories", "tags"):
        values = getattr(found, key, None)
        if values:
            meta[key] = list(values)
    return meta


def _plain_text(tree: HTMLTree, main_content: bool) -> str:
    from corpuspack.sources import html

    return html.plain_text(tree, main_content)


def read_html(data: bytes, score: Scorer | None) -> RawRecord:
    """HTML: main text by Resiliparse, page metadata by trafilatura, ``<html lang>`` kept.

    The main text is checked against the element the page marks as its main content
    (``<main>``, ``[role=main]``, ``<article>``) or its whole body, and replaced by that
    element's or the body's whole text when main-content extraction misses the page's
    heading, most of its text, or a heading, list, table or code block of it; then
    ``meta["extraction"]`` says which fallback was taken and why
    (:func:`corpuspack.sources.html.main_text`). The title is the page's own (``og:title``
    and the like, else the main ``<h1>``, else ``<title>``: :func:`~corpuspack.sources.html.
    page_title`), never trafilatura's guess. ``verbatim`` holds the lines of ``<pre>`` and
    block-level ``<code>`` (:func:`~corpuspack.sources.html.verbatim_lines`).

    A page nested too deeply for main-content extraction in linear time (see
    :mod:`corpuspack.sources.html`) gets all its visible text as one paragraph and its
    ``<title>``, without trafilatura, and ``meta["extraction"]`` says why.
    """
    from corpuspack.sources import html

    declared = None
    if not data.isascii():
        declared = detect_encoding(data, html5_compatible=False, from_html_meta=True)
    decoded = decode_bytes(data, declared=declared, score=score)
    tree = HTMLTree.parse(decoded.text)
    fallback = html.check_nesting(tree)
    verbatim: frozenset[str] = frozenset()
    if fallback is not None:
        text = html.flat_text(tree)
        meta: dict[str, Any] = {"extraction": fallback}
    else:
        region = html.find_region(tree)
        text, fallback = html.main_text(tree, region)
        meta = _html_metadata(decoded.text)
        meta.pop("title", None)  # trafilatura's may be a dialog's or a sidebar's heading
        title = html.page_title(tree, region)
        if title:
            meta["title"] = title
        if fallback is not None:
            meta["extraction"] = fallback
        verbatim = html.verbatim_lines(tree)
    root = tree.document.query_selector("html") if tree.document else None
    lang = root.getattr("lang") if root is not None else None
    if lang:
        meta["html_lang"] = lang
    if "title" not in meta and tree.title:
        meta["title"] = tree.title
    return RawRecord(text, decoded.encoding, meta, decoding=decoded.record, verbatim=verbatim)


def _load_record(line: bytes | str, notes: Counter[str] | None) -> Any:
    try:
        value, removed = load_json(line)
    except MetadataError as exc:
        raise SkipFile(f"JSON value {exc}") from None
    if removed and notes is not None:
        notes[SURROGATES_NOTE] += removed
    return value


def read_jsonl_line(line: bytes, number: int, score: Scorer | None,
                    notes: Counter[str] | None = None) -> RawRecord:
    """One JSONL line: an object with a string ``text`` (or ``content``) and metadata keys.

    Parsed by :func:`~corpuspack.sources.safeparse.load_json`: integers beyond 64 bits are
    kept exactly as strings (and can be record ids), lone surrogate escapes are removed
    (counted in ``notes``), nesting and size are bounded; SkipFile otherwise.
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
    text_key = next((k for k in TEXT_KEYS if k in value), None)
    if text_key is None:
        raise SkipFile("object has no 'text' or 'content' key")
    text = value.pop(text_key)
    if not isinstance(text, str):
        raise SkipFile(f"'{text_key}' is not a string")
    record = f"L{number}"
    for key in RECORD_ID_KEYS:
        rid = value.get(key)
        if isinstance(rid, (str, int)) and not isinstance(rid, bool) and str(rid).strip():
            record = str(rid).strip()
            value.pop(key)
            value["source_id"] = rid
            break
    return RawRecord(text, encoding, value, record, decoding)


def iter_jsonl(lines: Iterator[tuple[int, bytes]], max_line: int, score: Scorer | None,
               notes: Counter[str] | None = None) -> Iterator[RawRecord | tuple[str, str]]:
    """Records of a JSONL file; a bad line yields (record key, reason) instead.

    A record whose id repeats an earlier record's id in the file is reported, not read:
    the two would get one document id. The ids seen are kept for the file's duration.
    Doubts (lone surrogates removed) are counted in ``notes``.
    """
    seen: set[str] = set()
    for number, line in lines:
        if len(line) > max_line:
            yield f"L{number}", f"line longer than the limit of {max_line} bytes"
            continue
        if not line.strip():
            continue
        try:
            record = read_jsonl_line(line, number, score, notes)
        except SkipFile as exc:
            yield f"L{number}", exc.reason
            continue
        if record.record in seen:
            yield f"L{number}", f"id {record.record!r} repeats an earlier record's id"
            continue
        seen.add(record.record)  # type: ignore[arg-type]  # always set for JSONL
        yield record
