"""HTML pages: the main text, the page's title and metadata (:mod:`corpuspack.sources.html`
does the extraction)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from resiliparse.parse.encoding import detect_encoding

from corpuspack.errors import SkipFile
from corpuspack.sources.decode import Scorer, decode_bytes
from corpuspack.sources.readers import Format, RawRecord, Source

_HTML_DATE_CONFIG = {"extensive_search": False, "original_date": True}


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


def read_html(data: bytes, score: Scorer | None, declared: str | None = None) -> RawRecord:
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

    ``declared`` is a charset named outside the page (a WARC response's HTTP header); else
    the page's ``<meta charset>``. Either is verified, not trusted
    (:func:`~corpuspack.sources.decode.decode_bytes`).

    A page nested too deeply for main-content extraction in linear time (see
    :mod:`corpuspack.sources.html`) gets all its visible text as one paragraph and its
    ``<title>``, without trafilatura, and ``meta["extraction"]`` says why. A page of more
    elements than its size allows (parsing would cost over about 130 times its size) or
    with an element of too many attributes (parsing costs time in their square) raises
    SkipFile with the reason (:func:`~corpuspack.sources.markup.check_markup`).
    """
    # imported here, as trafilatura is: importing the registry (the schema does) stays cheap
    from resiliparse.parse.html import HTMLTree

    from corpuspack.sources import html as extract
    from corpuspack.sources import markup

    if declared is None and not data.isascii():  # a charset from outside (HTTP) comes first
        declared = detect_encoding(data, html5_compatible=False, from_html_meta=True)
    decoded = decode_bytes(data, declared=declared, score=score)
    refused = markup.check_markup(decoded.text)
    if refused is not None:
        raise SkipFile(refused)
    tree = HTMLTree.parse(decoded.text)
    fallback = extract.check_nesting(tree)
    verbatim: frozenset[str] = frozenset()
    if fallback is not None:
        text = extract.flat_text(tree)
        meta: dict[str, Any] = {"extraction": fallback}
    else:
        region = extract.find_region(tree)
        text, fallback = extract.main_text(tree, region, decoded.text)
        meta = _html_metadata(decoded.text)
        meta.pop("title", None)  # trafilatura's may be a dialog's or a sidebar's heading
        title = extract.page_title(tree, region)
        if title:
            meta["title"] = title
        if fallback is not None:
            meta["extraction"] = fallback
        verbatim = extract.verbatim_lines(tree)
    root = tree.document.query_selector("html") if tree.document else None
    lang = root.getattr("lang") if root is not None else None
    if lang:
        meta["html_lang"] = lang
    if "title" not in meta and tree.title:
        meta["title"] = tree.title
    return RawRecord(text, decoded.encoding, meta, decoding=decoded.record, verbatim=verbatim)


def read(source: Source) -> Iterator[RawRecord]:
    yield read_html(source.data(), source.score)


FORMAT = Format(
    name="html",
    extensions=(".html", ".htm", ".xhtml"),
    many=False,
    read=read,
    documents="the main text (navigation, sidebars, footers removed) by Resiliparse, checked "
              "against the page's own main region (below); title from the page's metadata or "
              "main `<h1>`; author, date, site name and canonical URL by trafilatura; "
              "`<html lang>` kept as `meta.html_lang`",
)
