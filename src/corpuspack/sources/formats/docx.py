"""Word documents (DOCX, Office Open XML): the body's text in order, headings, lists and
tables kept, and the core properties.

The document's XML is read directly with lxml (:mod:`._package`: zip and XML within
bounds) and written as simple HTML: paragraphs, headings (``Title`` and ``heading N``
styles, or an outline level), list items (numbered or bulleted as ``numbering.xml`` says,
nested by level), tables (cells in order) and code (``Source Code`` and preformatted
styles, as ``<pre>``); the text then comes from the same HTML extraction as EPUB chapters,
so one document as DOCX, ODT and EPUB gives one text. Measured against python-docx and
mammoth on 27 documents converted by pandoc (``scripts/measure_formats.py office``,
docs/design.md "More source formats"): the same words in the same order for all three;
python-docx gives no list bullets or numbers (0 of 144 items) and half the speed; mammoth
(to HTML, then the same extraction) a ninth of the speed, and it reads zip members whole,
with no bound.

Left out: deleted text of tracked changes (``w:del``), field codes, text boxes and the
fallback copies of drawings (``mc:Fallback``), footnotes, comments, headers and footers.

Metadata (``docProps/core.xml``): ``dc:title`` → title, ``dc:creator`` → author,
``dc:language`` → language, ``dcterms:created`` → date; ``meta`` gets subject, keywords,
description, category, last_modified_by and modified when set, and the application that
wrote the file (``docProps/app.xml``).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from typing import Any

from corpuspack.errors import SkipFile
from corpuspack.sources.formats._package import Package, body_html, escape, html_text, local
from corpuspack.sources.readers import Format, RawRecord, Source

_MAIN_NAMESPACES = ("http://schemas.openxmlformats.org/wordprocessingml/2006/main",
                    "http://purl.oclc.org/ooxml/wordprocessingml/main")  # transitional, strict
_HEADING = re.compile(r"^heading\s*([1-9])$", re.I)
_CODE_STYLES = {"source code", "sourcecode", "html preformatted", "preformatted text",
                "code", "macro text"}
# Elements whose content is not the document's text at that place
_SKIP = {"del", "delText", "instrText", "txbxContent", "Fallback", "footnoteReference",
         "endnoteReference", "commentReference", "rPr", "pPr", "fldData"}
_CORE = {"title": "title", "creator": "author", "language": "language", "created": "date",
         "subject": "subject", "keywords": "keywords", "description": "description",
         "category": "category", "lastModifiedBy": "last_modified_by",
         "modified": "modified"}


def _rels(package: Package, part: str) -> dict[str, str]:
    """Relationship type (its last path segment) → target part, for ``part`` (``""`` for
    the package's own ``_rels/.rels``)."""
    folder, name = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", name + ".rels")
    if rels not in package:
        return {}
    found: dict[str, str] = {}
    for rel in package.xml(rels):
        kind = (rel.get("Type") or "").rsplit("/", 1)[-1]
        target = rel.get("Target") or ""
        if rel.get("TargetMode") == "External" or not target or kind in found:
            continue
        found[kind] = (target.lstrip("/") if target.startswith("/")
                       else posixpath.normpath(posixpath.join(folder, target)))
    return found


class _Writer:
    """Walks the body of ``document.xml`` and writes its HTML."""

    def __init__(self, ns: str, styles: dict[str, str], numbering: dict[tuple[str, str], str]):
        self.ns, self.styles, self.numbering = ns, styles, numbering
        self.out: list[str] = []
        self.lists: list[str] = []  # tags of the open lists
        self.pre: list[str] | None = None  # lines of the open <pre>

    def w(self, name: str) -> str:
        return f"{{{self.ns}}}{name}"

    def val(self, node: Any, path: str) -> str | None:
        found = node.find(path.replace("w:", f"{{{self.ns}}}"))
        return None if found is None else found.get(self.w("val"))

    def run_text(self, node: Any, parts: list[str]) -> None:
        for child in node:
            name = local(child.tag)
            if name in _SKIP:
                continue
            if name == "t":
                parts.append(child.text or "")
            elif name == "tab":
                parts.append("\t")
            elif name in ("br", "cr"):
                parts.append("\n")
            elif name == "noBreakHyphen":
                parts.append("-")
            elif name == "p":  # a paragraph inside a run (content controls): a line
                parts.append("\n")
                self.run_text(child, parts)
            else:
                self.run_text(child, parts)

    def close_lists(self, depth: int = 0) -> None:
        while len(self.lists) > depth:
            self.out.append(f"</{self.lists.pop()}>")

    def close_pre(self) -> None:
        if self.pre is not None:
            self.out.append("<pre>" + escape("\n".join(self.pre)) + "</pre>")
            self.pre = None

    def paragraph(self, p: Any) -> None:
        parts: list[str] = []
        self.run_text(p, parts)
        text = "".join(parts)
        style = self.styles.get(self.val(p, "w:pPr/w:pStyle") or "", "")
        outline = self.val(p, "w:pPr/w:outlineLvl")
        if style == "pre":
            self.close_lists()
            self.pre = (self.pre or []) + text.split("\n")
            return
        self.close_pre()
        num_id, level = self.val(p, "w:pPr/w:numPr/w:numId"), self.val(p, "w:pPr/w:numPr/w:ilvl")
        if num_id and num_id != "0" and text.strip():
            depth = min(int(level) if level and level.isdigit() else 0, 8) + 1
            tag = self.numbering.get((num_id, str(depth - 1)), "ul")
            self.close_lists(depth)
            if len(self.lists) == depth and self.lists[-1] != tag:
                self.close_lists(depth - 1)
            while len(self.lists) < depth:
                self.lists.append(tag)
                self.out.append(f"<{tag}>")
            self.out.append("<li>" + escape(text).replace("\n", "<br>") + "</li>")
            return
        self.close_lists()
        if not text.strip():
            return
        body = escape(text).replace("\n", "<br>")
        if style.startswith("h"):
            self.out.append(f"<{style}>{body}</{style}>")
        elif outline and outline.isdigit() and int(outline) < 6:
            self.out.append(f"<h{int(outline) + 1}>{body}</h{int(outline) + 1}>")
        else:
            self.out.append(f"<p>{body}</p>")

    def blocks(self, node: Any) -> None:
        for child in node:
            name = local(child.tag)
            if name == "p":
                self.paragraph(child)
            elif name == "tbl":
                self.close_pre()
                self.close_lists()
                self.table(child)
            elif name in ("sdt", "sdtContent", "customXml", "ins", "smartTag"):
                self.blocks(child)

    def table(self, tbl: Any) -> None:
        self.out.append("<table>")
        for tr in tbl.iter(self.w("tr")):
            if tr.getparent() is not tbl and local(tr.getparent().tag) != "sdtContent":
                continue  # a row of a nested table: written with it
            self.out.append("<tr>")
            for tc in tr.iter(self.w("tc")):
                if tc.getparent() is not tr:
                    continue
                self.out.append("<td>")
                self.blocks(tc)
                self.close_pre()
                self.close_lists()
                self.out.append("</td>")
            self.out.append("</tr>")
        self.out.append("</table>")


def _styles(package: Package, part: str | None, ns: str) -> dict[str, str]:
    """Paragraph style id → ``h1``-``h6`` (``Title``, ``heading N``), ``pre`` (code styles)
    or ``""``, by the style's name (ids are localised: "Überschrift1")."""
    if not part or part not in package:
        return {}
    found: dict[str, str] = {}
    for style in package.xml(part).iter(f"{{{ns}}}style"):
        sid = style.get(f"{{{ns}}}styleId") or ""
        name_node = style.find(f"{{{ns}}}name")
        name = (name_node.get(f"{{{ns}}}val") if name_node is not None else None) or sid
        lower = name.strip().lower()
        heading = _HEADING.match(lower)
        if lower == "title":
            found[sid] = "h1"
        elif heading:
            found[sid] = f"h{min(int(heading.group(1)), 6)}"
        elif lower in _CODE_STYLES:
            found[sid] = "pre"
    return found


def _numbering(package: Package, part: str | None, ns: str) -> dict[tuple[str, str], str]:
    """(numId, level) → ``ol`` or ``ul`` (a ``bullet`` or ``none`` format)."""
    if not part or part not in package:
        return {}
    root = package.xml(part)

    def q(name: str) -> str:
        return f"{{{ns}}}{name}"

    abstract: dict[str, dict[str, str]] = {}
    for node in root.iter(q("abstractNum")):
        levels = {}
        for lvl in node.iter(q("lvl")):
            fmt = lvl.find(q("numFmt"))
            value = fmt.get(q("val")) if fmt is not None else "bullet"
            levels[lvl.get(q("ilvl")) or "0"] = "ul" if value in ("bullet", "none") else "ol"
        abstract[node.get(q("abstractNumId")) or ""] = levels
    found: dict[tuple[str, str], str] = {}
    for num in root.iter(q("num")):
        ref = num.find(q("abstractNumId"))
        levels = abstract.get(ref.get(q("val")) or "" if ref is not None else "", {})
        for level, tag in levels.items():
            found[(num.get(q("numId")) or "", level)] = tag
    return found


def _core_properties(package: Package, rels: dict[str, str]) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    core = rels.get("core-properties", "docProps/core.xml")
    if core in package:
        for node in package.xml(core):
            key = _CORE.get(local(node.tag))
            if key and node.text and node.text.strip():
                meta[key] = node.text.strip()
    app = rels.get("extended-properties", "docProps/app.xml")
    if app in package:
        for node in package.xml(app):
            if local(node.tag) == "Application" and node.text and node.text.strip():
                meta["application"] = node.text.strip()
    return meta


def read_docx(data: bytes, *, member_cap: int = 64 << 20) -> RawRecord:
    """The text and metadata of a DOCX file (module docstring); ``encoding`` is
    ``"utf-8"`` (the XML's). ``member_cap`` bounds each zip member (the reader passes
    ``max_document_mb``). SkipFile for a file that is not a readable DOCX (not a zip,
    truncated, no main document part, XML not well-formed), is password-protected, passes
    the zip caps (:class:`~._package.Package`) or holds no text."""
    package = Package(data, "DOCX", member_cap)
    rels = _rels(package, "")
    main = rels.get("officeDocument", "word/document.xml")
    if main not in package:
        raise SkipFile("not a DOCX: no main document part (word/document.xml)")
    root = package.xml(main)
    ns = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    if ns not in _MAIN_NAMESPACES or local(root.tag) != "document":
        raise SkipFile("not a DOCX: the main part is not a WordprocessingML document")
    parts = _rels(package, main)
    writer = _Writer(ns, _styles(package, parts.get("styles"), ns),
                     _numbering(package, parts.get("numbering"), ns))
    body = root.find(f"{{{ns}}}body")
    if body is not None:
        writer.blocks(body)
    writer.close_pre()
    writer.close_lists()
    text, verbatim = html_text(body_html(writer.out))
    if not text.strip():
        raise SkipFile("DOCX holds no text")
    return RawRecord(text, "utf-8", _core_properties(package, rels), verbatim=verbatim)


def read(source: Source) -> Iterator[RawRecord]:
    yield read_docx(source.data(), member_cap=source.max_record_bytes)


FORMAT = Format(
    name="docx",
    extensions=(".docx",),
    many=False,
    read=read,
    documents="the body in order (lxml): headings, paragraphs, numbered and bulleted lists, "
              "tables and code as the HTML extraction writes them; title, author, language "
              "and date from the core properties",
)
