"""Markdown: the body is the text; YAML, JSON or TOML front matter becomes metadata."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from typing import Any

import frontmatter
from frontmatter.default_handlers import BaseHandler, JSONHandler, YAMLHandler

from corpuspack.errors import SkipFile
from corpuspack.sources.decode import Scorer, decode_bytes
from corpuspack.sources.metadata_files import (
    MAX_META_BYTES,
    MAX_METADATA_BYTES,
    NotAMapping,
    parse_mapping,
)
from corpuspack.sources.readers import Format, RawRecord, Source

_ATX_HEADING = re.compile(r"^#\s+(.+?)(?:\s+#+)?\s*$", re.MULTILINE)


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


class _Capped:
    """A python-frontmatter handler that reads its block with corpuspack's parsers, within
    the caps (python-frontmatter only finds and splits the block)."""

    KIND = ""

    def __init__(self, caps: _FrontMatter) -> None:
        super().__init__()
        self.caps = caps

    def load(self, fm: str, **kwargs: object) -> Any:
        return self.caps.load(fm, self.KIND)


class _YAMLFrontMatter(_Capped, YAMLHandler):
    KIND = "yaml"


class _JSONFrontMatter(_Capped, JSONHandler):
    KIND = "json"


class _TOMLFrontMatter(_Capped, BaseHandler):
    """Hugo's ``+++`` TOML front matter, read by the standard library's ``tomllib``."""

    KIND = "toml"
    FM_BOUNDARY = re.compile(r"^\+{3,}\s*$", re.MULTILINE)
    START_DELIMITER = END_DELIMITER = "+++"


_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*\r?\n)+")


def _trimmed(text: str) -> str:
    """``text`` without its leading blank lines and trailing white space (its first line's
    indentation kept)."""
    return _LEADING_BLANK_LINES.sub("", text).rstrip()


def read_markdown(data: bytes, score: Scorer | None, *,
                  max_metadata_bytes: int = MAX_METADATA_BYTES,
                  max_meta_bytes: int = MAX_META_BYTES,
                  notes: Counter[str] | None = None) -> RawRecord:
    """Markdown: YAML (``---``), JSON or TOML (``+++``) front matter becomes metadata, the
    body is the text; the first ``# heading`` is the title when the front matter gives
    none.

    The front matter is read as sidecars are (:mod:`corpuspack.sources.safeparse`): at most
    ``max_metadata_bytes`` (``max_metadata_kb``, checked before parsing), bounded expansion,
    values as written; SkipFile otherwise. A block that is YAML but no mapping (a ``---``
    rule, a paragraph, a rule) is no front matter: the whole file is the text.
    """
    decoded = decode_bytes(data, score=score)
    caps = _FrontMatter(max_metadata_bytes, max_meta_bytes, notes)
    handler = frontmatter.detect_format(decoded.text, [_YAMLFrontMatter(caps),
                                                       _JSONFrontMatter(caps),
                                                       _TOMLFrontMatter(caps)])
    meta: dict[str, Any] = {}
    content = _trimmed(decoded.text)
    if handler is not None:
        # split and loaded here, not by frontmatter.parse, which strips the body: the first
        # line's indentation (an indented code block) was lost
        split: tuple[str, str] | None
        try:
            split = handler.split(decoded.text.strip())
        except ValueError:
            split = None  # no closing delimiter: no front matter
        if split is not None:
            try:
                meta, content = dict(handler.load(split[0])), _trimmed(split[1])
            except NotAMapping:
                pass  # a rule, a paragraph and a rule (or a list): no front matter
    if "title" not in meta:
        heading = _ATX_HEADING.search(content)
        if heading:
            meta["title"] = heading.group(1)
    return RawRecord(content, decoded.encoding, meta, decoding=decoded.record)


def read(source: Source) -> Iterator[RawRecord]:
    yield read_markdown(source.data(), source.score,
                        max_metadata_bytes=source.max_metadata_bytes,
                        max_meta_bytes=source.max_meta_bytes, notes=source.notes)


FORMAT = Format(
    name="markdown",
    extensions=(".md", ".markdown"),
    many=False,
    read=read,
    documents="the body; YAML (or Hugo's TOML, `+++`) front matter becomes metadata; the "
              "first `# heading` is the title if none is given",
)
