"""EPUB books: the spine's chapters in reading order and the package's metadata.

The container (``META-INF/container.xml``) names the package document (OPF); its
``<metadata>`` gives the columns and its ``<spine>`` the chapters, XHTML documents read in
order (items marked ``linear="no"`` and the navigation document left out). Each chapter's
text comes from the HTML extraction with all its visible text (Resiliparse,
``main_content=False``: a book's chapters are all content, and a main-content guess would
drop a chapter's lists or asides); chapters are separated by a blank line, and the lines of
their ``<pre>`` blocks are verbatim. Chapters go through Resiliparse's HTML5 parser, which
reads no DTD and expands no entity declarations; container and OPF go through lxml within
the bounds of :mod:`._package`, as does the zip.

No EPUB library is used: ebooklib (the usual one) is AGPL-3.0, which does not fit an MIT
project, and reading the OPF is a few lines of lxml.

Metadata: ``dc:title`` → title, every ``dc:creator`` (``; ``-joined) → author,
``dc:language`` → language, ``dc:date`` (the publication event's in EPUB 2) → date,
``dc:publisher`` → publisher; ``meta`` gets ``identifier``, ``subjects``, ``description``
and ``rights``, and ``chapters`` (how many spine documents were read).

Skipped: a file that is not a readable EPUB (not a zip, truncated, no container or
package document, no chapter), a chapter listed in ``META-INF/encryption.xml`` (DRM:
publishers encrypt chapters; fonts alone may be obfuscated, which does not stop reading),
and the zip caps of :class:`~._package.Package`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

from corpuspack.errors import SkipFile
from corpuspack.sources.decode import Scorer, decode_bytes
from corpuspack.sources.formats._package import Package, html_text, local
from corpuspack.sources.readers import Format, RawRecord, Source

OPF = "http://www.idpf.org/2007/opf"
DC = "http://purl.org/dc/elements/1.1/"
_CONTAINER = "urn:oasis:names:tc:opendocument:xmlns:container"
_ENCRYPTION = "http://www.w3.org/2001/04/xmlenc#"
_CHAPTER_TYPES = {"application/xhtml+xml", "text/html", "application/x-dtbook+xml"}


def _path(base: str, href: str) -> str:
    """A member path from an href relative to ``base``'s folder (percent-escapes and
    fragments removed); '' for a path that would leave the package."""
    href = unquote(href.split("#", 1)[0])
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(base), href))
    return "" if joined.startswith("../") or joined == ".." else joined.lstrip("/")


def _package_document(package: Package) -> str:
    if "META-INF/container.xml" not in package:
        raise SkipFile("not an EPUB: no META-INF/container.xml")
    container = package.xml("META-INF/container.xml")
    for rootfile in container.iter(f"{{{_CONTAINER}}}rootfile"):
        path = rootfile.get("full-path") or ""
        if path and (rootfile.get("media-type") or "").endswith("oebps-package+xml"):
            return path.lstrip("/")
    raise SkipFile("not an EPUB: the container names no package document (OPF)")


def _metadata(opf: Any) -> dict[str, Any]:
    metadata = opf.find(f"{{{OPF}}}metadata")
    if metadata is None:
        return {}
    values: dict[str, list[tuple[str, Any]]] = {}
    for node in metadata.iter():
        if isinstance(node.tag, str) and node.tag.startswith(f"{{{DC}}}"):
            text = " ".join((node.text or "").split())
            if text:
                values.setdefault(local(node.tag), []).append((text, node))
    meta: dict[str, Any] = {}
    first = {key: items[0][0] for key, items in values.items()}
    for key, column in (("title", "title"), ("language", "language"),
                        ("publisher", "publisher"), ("identifier", "identifier"),
                        ("description", "description"), ("rights", "rights")):
        if key in first:
            meta[column] = first[key]
    if "creator" in values:
        meta["author"] = "; ".join(text for text, _ in values["creator"])
    if "subject" in values:
        meta["subjects"] = [text for text, _ in values["subject"]]
    dates = values.get("date", [])
    published = [text for text, node in dates if node.get(f"{{{OPF}}}event") == "publication"]
    if published or dates:
        meta["date"] = published[0] if published else dates[0][0]
    return meta


def _encrypted(package: Package) -> set[str]:
    if "META-INF/encryption.xml" not in package:
        return set()
    root = package.xml("META-INF/encryption.xml")
    return {unquote(ref.get("URI") or "").lstrip("/")
            for ref in root.iter(f"{{{_ENCRYPTION}}}CipherReference")}


def read_epub(data: bytes, score: Scorer | None = None, *,
              member_cap: int = 64 << 20) -> RawRecord:
    """The text of an EPUB's spine and its metadata (module docstring); ``encoding`` is the
    first chapter's (``"utf-8"`` for almost every book). ``member_cap`` bounds each zip
    member (the reader passes ``max_document_mb``). A chapter not in UTF-8 is decoded as a
    text file is (:func:`~corpuspack.sources.decode.decode_bytes`, with ``score``)."""
    package = Package(data, "EPUB", member_cap)
    opf_path = _package_document(package)
    if opf_path not in package:
        raise SkipFile(f"corrupt EPUB: the package document {opf_path!a} is missing")
    opf = package.xml(opf_path)
    manifest: dict[str, tuple[str, str, str]] = {}
    found_manifest = opf.find(f"{{{OPF}}}manifest")
    for item in found_manifest if found_manifest is not None else []:
        if local(item.tag) == "item" and item.get("id"):
            manifest[item.get("id")] = (item.get("href") or "", item.get("media-type") or "",
                                        item.get("properties") or "")
    encrypted = _encrypted(package)
    texts: list[str] = []
    verbatim: set[str] = set()
    encoding = None
    spine = opf.find(f"{{{OPF}}}spine")
    for itemref in spine if spine is not None else []:
        if local(itemref.tag) != "itemref" or itemref.get("linear") == "no":
            continue
        href, media_type, properties = manifest.get(itemref.get("idref") or "", ("", "", ""))
        if media_type not in _CHAPTER_TYPES or "nav" in properties.split():
            continue
        path = _path(opf_path, href)
        if not path or path not in package:
            continue
        if path in encrypted:
            raise SkipFile(f"DRM-protected EPUB: chapter {path!a} is encrypted")
        decoded = decode_bytes(package.read(path), score=score)
        encoding = encoding or decoded.encoding
        text, lines = html_text(decoded.text)
        if text.strip():
            texts.append(text.strip())
            verbatim |= lines
    if not texts:
        raise SkipFile("EPUB has no chapter with text in its spine")
    meta = _metadata(opf)
    meta["chapters"] = len(texts)
    return RawRecord("\n\n".join(texts), encoding or "utf-8", meta,
                     verbatim=frozenset(verbatim))


def read(source: Source) -> Iterator[RawRecord]:
    yield read_epub(source.data(), source.score, member_cap=source.max_record_bytes)


FORMAT = Format(
    name="epub",
    extensions=(".epub",),
    many=False,
    read=read,
    documents="the spine's chapters in order, each with all its text by the HTML extraction "
              "(no main-content guess); title, authors, language, date and publisher from "
              "the OPF metadata",
)
