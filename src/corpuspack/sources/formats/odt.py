"""OpenDocument text (ODT): the body's text in order, headings, lists and tables kept, and
the document's metadata.

``content.xml`` is read directly with lxml (:mod:`._package`: zip and XML within bounds)
and written as simple HTML: ``text:h`` headings by outline level, paragraphs, lists
(numbered or bulleted as their list style says, nested), tables, sections and code
(``Preformatted Text`` and source-code paragraph styles, as ``<pre>``); the text then comes
from the same HTML extraction as DOCX and EPUB. odfpy (``scripts/measure_formats.py
office``, docs/design.md "More source formats") reads the same XML through its own DOM:
the same words, no list bullets or numbers (0 of 144 items), a sixth of the speed.

Left out: notes (footnotes and endnotes), annotations, tracked deletions
(``text:tracked-changes``), text in drawing frames and shapes, and the document's
headers and footers.

Metadata (``meta.xml``): ``dc:title`` → title, ``meta:initial-creator`` (else
``dc:creator``, who saved it last) → author, ``dc:language`` → language,
``meta:creation-date`` → date; ``meta`` gets ``dc:subject``, ``dc:description``, the
keywords, the generator, ``dc:date`` as modified, and the user-defined fields by their
names (a user-defined ``date`` field is the date as its author set it, and wins).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from corpuspack.errors import SkipFile
from corpuspack.sources.formats._package import Package, body_html, escape, html_text, local
from corpuspack.sources.readers import Format, RawRecord, Source

TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
STYLE = "urn:oasis:names:tc:opendocument:xmlns:style:1.0"
TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
META = "urn:oasis:names:tc:opendocument:xmlns:meta:1.0"
_MIMETYPE = b"application/vnd.oasis.opendocument.text"
_CODE_STYLES = {"preformatted text", "preformatted_20_text", "source text",
                "source_20_text", "source code", "sourcecode"}
# Inline elements whose content is not text at that place
_SKIP_INLINE = {"note", "annotation", "annotation-end", "tracked-changes", "frame",
                "custom-shape", "bookmark-ref-start", "change-start", "change-end",
                "sequence-decls", "user-field-decls", "variable-decls"}
_META = {"title": "title", "initial-creator": "author", "language": "language",
         "creation-date": "date", "subject": "subject", "description": "description",
         "keyword": "keywords", "generator": "generator", "date": "modified"}


def _q(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


class _Writer:
    """Walks ``office:text`` and writes its HTML."""

    def __init__(self, styles: dict[str, str], list_kinds: dict[str, list[str]]) -> None:
        self.styles, self.list_kinds = styles, list_kinds
        self.out: list[str] = []
        self.pre: list[str] | None = None

    def inline(self, node: Any, parts: list[str]) -> None:
        if node.text:
            parts.append(node.text)
        for child in node:
            name = local(child.tag)
            if name == "s":
                count = child.get(_q(TEXT, "c")) or "1"
                parts.append(" " * min(int(count) if count.isdigit() else 1, 1000))
            elif name == "tab":
                parts.append("\t")
            elif name == "line-break":
                parts.append("\n")
            elif name not in _SKIP_INLINE:
                self.inline(child, parts)
            if child.tail:
                parts.append(child.tail)

    def close_pre(self) -> None:
        if self.pre is not None:
            self.out.append("<pre>" + escape("\n".join(self.pre)) + "</pre>")
            self.pre = None

    def paragraph(self, node: Any, heading: int | None) -> None:
        parts: list[str] = []
        self.inline(node, parts)
        text = "".join(parts)
        if heading is None and self.styles.get(node.get(_q(TEXT, "style-name")) or "") == "pre":
            self.pre = (self.pre or []) + text.split("\n")
            return
        self.close_pre()
        if not text.strip():
            return
        body = escape(text).replace("\n", "<br>")
        tag = f"h{heading}" if heading else "p"
        self.out.append(f"<{tag}>{body}</{tag}>")

    def blocks(self, node: Any, list_style: str | None = None, level: int = 0) -> None:
        for child in node:
            name = local(child.tag)
            if name == "h":
                raw = child.get(_q(TEXT, "outline-level")) or "1"
                self.paragraph(child, min(max(int(raw) if raw.isdigit() else 1, 1), 6))
            elif name == "p":
                self.paragraph(child, None)
            elif name == "list":
                self.close_pre()
                style = child.get(_q(TEXT, "style-name")) or list_style
                kinds = self.list_kinds.get(style or "", [])
                tag = kinds[min(level, len(kinds) - 1)] if kinds else "ul"
                self.out.append(f"<{tag}>")
                for item in child:
                    if local(item.tag) in ("list-item", "list-header"):
                        self.out.append("<li>")
                        self.blocks(item, style, level + 1)
                        self.close_pre()
                        self.out.append("</li>")
                self.out.append(f"</{tag}>")
            elif name == "table":
                self.close_pre()
                self.table(child)
            elif name in ("section", "table-of-content", "index-body", "illustration-index",
                          "alphabetical-index", "user-index", "bibliography", "deletion",
                          "soft-page-break") or name == "change":
                if name not in ("deletion", "soft-page-break", "change"):
                    self.blocks(child, list_style, level)

    def table(self, table: Any) -> None:
        self.out.append("<table>")
        for row in table.iter(_q(TABLE, "table-row")):
            if row.getparent() is None or _ancestor_table(row) is not table:
                continue
            self.out.append("<tr>")
            for cell in row:
                if local(cell.tag) == "table-cell":
                    self.out.append("<td>")
                    self.blocks(cell)
                    self.close_pre()
                    self.out.append("</td>")
            self.out.append("</tr>")
        self.out.append("</table>")


def _ancestor_table(node: Any) -> Any:
    parent = node.getparent()
    while parent is not None and local(parent.tag) != "table":
        parent = parent.getparent()
    return parent


def _style_kinds(roots: list[Any]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Paragraph style name → ``pre`` for code styles (by name or display name, or a
    parent's); list style name → the tag of each level (``ol`` for a numbered level)."""
    parents: dict[str, str] = {}
    styles: dict[str, str] = {}
    lists: dict[str, list[str]] = {}
    for root in roots:
        for node in root.iter(_q(STYLE, "style")):
            name = node.get(_q(STYLE, "name")) or ""
            shown = (node.get(_q(STYLE, "display-name")) or name).lower()
            if name.lower() in _CODE_STYLES or shown in _CODE_STYLES:
                styles[name] = "pre"
            parent = node.get(_q(STYLE, "parent-style-name"))
            if parent:
                parents[name] = parent
        for node in root.iter(_q(TEXT, "list-style")):
            levels = []
            for level in node:
                kind = local(level.tag)
                if kind.startswith("list-level-style"):
                    levels.append("ol" if kind == "list-level-style-number" else "ul")
            lists[node.get(_q(STYLE, "name")) or ""] = levels
    for name in list(parents):
        seen, current = set(), name
        while current in parents and current not in seen and current not in styles:
            seen.add(current)
            current = parents[current]
        if styles.get(current) == "pre":
            styles[name] = "pre"
    return styles, lists


def _metadata(package: Package) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    if "meta.xml" not in package:
        return meta
    root = package.xml("meta.xml")
    office_meta = root.find(_q(OFFICE, "meta"))
    if office_meta is None:
        return meta
    creator = None
    keywords = []
    user: dict[str, str] = {}
    for node in office_meta:
        name, value = local(node.tag), (node.text or "").strip()
        if name == "user-defined":
            key = (node.get(_q(META, "name")) or "").strip()
            if key and value:
                user[key] = value
        elif not value:
            continue
        elif name == "creator":
            creator = value
        elif name == "keyword":
            keywords.append(value)
        elif name in _META:
            meta[_META[name]] = value
    if keywords:
        meta["keywords"] = keywords
    if "author" not in meta and creator:
        meta["author"] = creator
    meta.update(user)
    return meta


def read_odt(data: bytes, *, member_cap: int = 64 << 20) -> RawRecord:
    """The text and metadata of an ODT file (module docstring); ``encoding`` is ``"utf-8"``.
    ``member_cap`` bounds each zip member (the reader passes ``max_document_mb``).
    SkipFile for a file that is not a readable ODT (not a zip, truncated, another
    OpenDocument type, XML not well-formed), is encrypted, passes the zip caps
    (:class:`~._package.Package`) or holds no text."""
    package = Package(data, "ODT", member_cap)
    if "mimetype" in package:
        mimetype = package.read("mimetype").strip()
        if not mimetype.startswith(_MIMETYPE):
            raise SkipFile(f"not an OpenDocument text: its mimetype is {mimetype[:80]!a}")
    if "content.xml" not in package:
        raise SkipFile("not an ODT: no content.xml")
    manifest = package.read("META-INF/manifest.xml") if "META-INF/manifest.xml" in package \
        else b""
    if b"encryption-data" in manifest:
        raise SkipFile("password-protected ODT: its content is encrypted")
    content = package.xml("content.xml")
    roots = [content] + ([package.xml("styles.xml")] if "styles.xml" in package else [])
    writer = _Writer(*_style_kinds(roots))
    body = content.find(f"{_q(OFFICE, 'body')}/{_q(OFFICE, 'text')}")
    if body is not None:
        writer.blocks(body)
    writer.close_pre()
    text, verbatim = html_text(body_html(writer.out))
    if not text.strip():
        raise SkipFile("ODT holds no text")
    return RawRecord(text, "utf-8", _metadata(package), verbatim=verbatim)


def read(source: Source) -> Iterator[RawRecord]:
    yield read_odt(source.data(), member_cap=source.max_record_bytes)


FORMAT = Format(
    name="odt",
    extensions=(".odt",),
    many=False,
    read=read,
    documents="the body in order (lxml): headings, paragraphs, numbered and bulleted lists, "
              "tables and code as the HTML extraction writes them; title, author, language "
              "and date from `meta.xml`",
)
