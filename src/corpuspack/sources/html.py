"""Guards for HTML whose nesting makes text extraction cost more than linear time or memory.

Measured with Resiliparse 2.0.1 (files of tags nested in a chain, each with a word of text):

- main-content extraction (``extract_plain_text(main_content=True)``) costs time in
  proportion to the number of elements times their depth: a chain of 15,000 ``<div>``
  took 4.3 s, of 30,000 16.5 s (unclosed ``<div>``, 200 kB), so 1 MB of them (200,000
  levels) would take well over 5 minutes; chains of other block elements (``<article>``,
  ``<em><div>``) behave alike. 1 MB of chains 512 deep took 0.7 to 1.3 s, 64 deep 0.2 s;
- with ``preserve_formatting=True`` every list level indents its items by two more spaces,
  so the text of nested lists grows with the square of their depth: 80 kB of nested
  ``<ol><li>`` gave 64 MB of text;
- parsing, ``<title>``, and all visible text as one paragraph
  (``preserve_formatting=False``) stayed linear on every kind of chain up to 4 MB (0.04 to
  0.12 s and 0.08 to 0.4 s per MB); so did trafilatura's metadata, but at up to 1.2 s
  per MB of dense ``<div>`` (lxml gives up past 256 levels).

So a page is measured first (:func:`check_nesting`, linear); a page nested deeper than
:data:`MAX_DEPTH` elements, or with lists nested deeper than :data:`MAX_LIST_DEPTH`, gets
its text by :func:`flat_text` and its title from ``<title>`` only (no trafilatura), and the
reader records why in ``meta["extraction"]``: :data:`FALLBACK_DEPTH` or
:data:`FALLBACK_LISTS`.
"""

from __future__ import annotations

import html as html_module
import re
import unicodedata
from typing import Any, cast

from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import (
    DOMContext,
    DOMNode,
    ElementNode,
    HTMLTree,
    NodeType,
    traverse_dom,
)

# Browsers nest no deeper: Blink's HTML parser stops at 512 levels
# (kMaximumHTMLParserDOMTreeDepth), so real pages never need more.
MAX_DEPTH = 512
# Indentation grows by two spaces per list level: 32 levels keep the text of a chain of lists
# within about 3.5 times its HTML's size ("<ul><li>x " per level); pages nest lists a few
# levels deep (930 real pages: rustdoc, mdBook, gtk-doc, Python and Debian docs: at most 6).
MAX_LIST_DEPTH = 32
FALLBACK_DEPTH = f"fallback: elements nested deeper than {MAX_DEPTH}"
FALLBACK_LISTS = f"fallback: lists nested deeper than {MAX_LIST_DEPTH}"
_LISTS = frozenset(("ul", "ol", "menu", "dir"))


class _Limit(Exception):
    """Raised inside the traversal to stop it when a limit is passed."""


def deeper_than(tree: HTMLTree, depth: int) -> bool:
    """Whether an element lies more than ``depth`` levels below ``<html>`` (``<body>`` is
    one level below it).

    One CSS query, ``:root > * > … > *``, matched in C from each element up through at
    most ``depth + 1`` parents: linear, about 3 ms per MB of ordinary HTML, 0.15 s per MB
    of chains 500 deep (a Python walk over the elements took 45 ms per MB).
    """
    if tree.document is None:
        return False
    return tree.document.query_selector(":root" + " > *" * (depth + 1)) is not None


def max_list_depth(tree: HTMLTree, limit: int = MAX_LIST_DEPTH) -> int:
    """How many lists (``ul``, ``ol``, ``menu``, ``dir``) the most deeply listed element is
    inside, or the first count beyond ``limit`` (the walk stops there). Linear."""
    root = tree.document.first_element_child if tree.document is not None else None
    if root is None:
        return 0
    open_lists: list[int] = []  # depths of the lists around the element visited
    deepest = 0

    def enter(context: DOMContext) -> None:
        nonlocal deepest
        depth = context.depth
        while open_lists and open_lists[-1] >= depth:  # pre-order: those lists are closed
            open_lists.pop()
        if cast(DOMNode, context.node).tag in _LISTS:
            open_lists.append(depth)
            if len(open_lists) > deepest:
                deepest = len(open_lists)
                if deepest > limit:
                    raise _Limit

    try:
        traverse_dom(root, enter, context=DOMContext(), elements_only=True)
    except _Limit:
        pass
    return deepest


def check_nesting(tree: HTMLTree) -> str | None:
    """Why main-content extraction must not run on this page (a ``FALLBACK_*`` value), or
    None when it may. Linear: one or two CSS queries (:func:`deeper_than`), and a walk
    over the elements (:func:`max_list_depth`) only for pages deeper than
    :data:`MAX_LIST_DEPTH` (none of 930 real pages measured was deeper than 30)."""
    # each list level is at least one element deep: a shallow page has no deep lists
    if not deeper_than(tree, MAX_LIST_DEPTH):
        return None
    if deeper_than(tree, MAX_DEPTH):
        return FALLBACK_DEPTH
    if max_list_depth(tree) > MAX_LIST_DEPTH:
        return FALLBACK_LISTS
    return None


def flat_text(tree: HTMLTree) -> str:
    """All visible text of a page as one paragraph (white space collapsed, no list
    indentation): linear in the page's size, for pages :func:`check_nesting` refuses."""
    text: str = extract_plain_text(
        tree, main_content=False, preserve_formatting=False, alt_texts=True, links=False,
        form_fields=False, noscript=False, comments=False, list_bullets=False,
        skip_elements=(*MEDIA, *RUBY_NOTES, *MEDIA_CAPTIONS))
    return text



# ---------------------------------------------------------------------------------------
# Main text with a fallback, the page's title, its verbatim lines

# Share of the words of the page's marked main content (or, on a page that marks none, of
# all its visible text) that the main-content text must have, or it is taken to have lost
# part of the page: scripts/measure_html.py coverage (docs/design.md, "HTML: when
# main-content extraction falls short").
MIN_REGION_COVERAGE = 0.5
MIN_BODY_COVERAGE = 0.25
# Lines of a text among which a part of the <title> is looked for: a page's heading comes
# before its text.
HEADING_LINES = 100
# Blocks checked per page: bounded work on pages of thousands of lists (genindex pages).
MAX_BLOCKS = 200
# word characters of a block looked for in the kept text (about 8 words)
_SAMPLE_CHARS = 40

_BLOCKS = "h1, h2, h3, h4, h5, h6, ul, ol, dl, table, pre"
# Paragraphs of the element a page marks as its main content, checked after the blocks:
# main-content extraction drops a paragraph for its element's class or tag ("comments-from-
# council", a <p class="related">, an <aside> correction, the article's <footer> byline)
# and keeps the rest, so no other check sees it go. (A <figcaption> is not checked: both
# extractions keep one wherever its <figure> is kept.)
_PROSE = "p, blockquote"
# a paragraph holding blocks is looked at through them (a quotation of quotations: each
# level's whole text once per level cost 33 s on a 2 MB page nested 200 deep)
_INNER = "p, blockquote, div, table, ul, ol, dl, pre, h1, h2, h3, h4, h5, h6"
_HIDDEN = ('[hidden], [aria-hidden="true"], [style*="display:none"], '
           '[style*="display: none"], [role=dialog], noscript, template, [layout=nodisplay]')
PROSE_MIN_WORDS = 6
# (Chinese and Japanese write no spaces: a sentence of this many characters is prose)
PROSE_MIN_CHARS_UNSPACED = 20
# sentence ends of European languages (German „…“ and »…«), Chinese and Japanese, Hindi
_SENTENCE_END = tuple(".!?…\"”’»)“«。！？」』।")
_NESTING = "ul, ol, dl, pre"
_BLOCK_NAMES = {"ul": "list", "ol": "list", "dl": "definition list", "table": "table",
                "pre": "code block", "blockquote": "quotation"}
_CHROME = ("nav, header, footer, aside, [role=navigation], [role=banner], [role=search], "
           "[role=contentinfo], [role=complementary], [role=dialog]")
_TITLE_META = ('meta[property="og:title"]', 'meta[name="twitter:title"]',
               'meta[name="dc.title" i]', 'meta[name="dcterms.title" i]',
               'meta[name="citation_title"]')
# a <code> that is the only element of a block (its text is then checked to be the block's)
_LONE_CODE = ":is(p, div, li, dd, dt, td, th, blockquote, figure, section, article, main, " \
    "body) > code:only-child"
# elements inside a <pre> after which Resiliparse starts a new line
_BREAKS = "address, article, aside, blockquote, br, dd, details, div, dl, dt, fieldset, " \
    "figure, footer, form, h1, h2, h3, h4, h5, h6, header, hr, li, main, nav, ol, p, " \
    "pre, section, table, tr, ul"
_NON_WORD = re.compile(r"\W+")
_NON_WORD_LINE = re.compile(r"[^\w\n]+")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# what ends a heading's text that is an anchor link, not text: Sphinx "¶", "#", "§"
_ANCHOR_TAIL = " \t\n¶#§"
_TITLE_SEPARATOR = re.compile(r"\s+[-–—|·:»]\s+")

REASON_HEADING = "missed the page's heading"
REASON_COVERAGE = "kept under {:.0%} of the text"
REASON_BLOCK = "dropped a {}"

# Links that only mark an anchor ("¶" after a heading): Sphinx, Docusaurus, VitePress,
# anchor.js, Jupyter. Main-content extraction drops Sphinx's itself; all-text extraction
# (a fallback) would end each heading with the mark.
ANCHOR_MARKS = ("a.headerlink", "a.hash-link", "a.header-anchor", "a.anchorjs-link",
                "a.anchor-link")
# Media and their stand-ins, which are no text of the page: an image's alternative text,
# the fallback content of <video>, <audio>, <object> and <canvas> ("Your browser does not
# support the video tag"), an SVG drawing's labels. Resiliparse's own switch for these
# (alt_texts=False) also drops every <figure> with all it holds, the tables, code listings
# and quotations that WordPress (wp-block-table, wp-block-pullquote), Jekyll and Hugo
# (figure.highlight) wrap in one, and their captions; so the switch stays on and these
# elements are skipped by name.
MEDIA = ("img", "area", "picture", "video", "audio", "object", "embed", "canvas", "svg",
         'input[type="image" i]')
# A ruby's reading (furigana, pinyin, bopomofo) and the parentheses shown where ruby is not
# supported: a gloss on the base text, which with it came out interleaved, "漢かん字じ"
# for "漢字"; the base text stays.
RUBY_NOTES = ("rt", "rp")
# The caption of an image, a video or a drawing: left out with it, as before figures were
# text (a gallery's eight "Photo: ..." lines, a carousel's captions in the fallback's
# reference when main-content extraction drops the carousel); a table's, a code listing's
# or a quotation's caption stays with it.
MEDIA_CAPTIONS = ("figure:has(img, picture, video, audio, object, embed, canvas, svg, iframe, "
                  "map, input) figcaption",)
TEXT_OPTIONS: dict[str, Any] = {
    "alt_texts": True, "links": False, "form_fields": False, "noscript": False,
    "comments": False, "list_bullets": True, "preserve_formatting": True,
    # (AMP's elements shown only on demand, a menu's amp-sidebar: layout="nodisplay")
    "skip_elements": (*ANCHOR_MARKS, "[layout=nodisplay]", *MEDIA, *RUBY_NOTES,
                      *MEDIA_CAPTIONS)}


def plain_text(tree: HTMLTree, main_content: bool, html: str | None = None) -> str:
    """Resiliparse's text of a page (its main content, or all its visible text), with
    list bullets and line breaks, without alt texts, form fields, comment sections, anchor
    marks (:data:`ANCHOR_MARKS`) or AMP elements laid out as hidden.

    Main content keeps what stands alone in an element (:func:`_marked_lone_text`; ``html``
    is the page's source, else the tree is serialised) and metadata elements inside a
    sentence (:func:`_unmark_inline_metadata`, which changes ``tree``)."""
    if not main_content:
        text: str = extract_plain_text(tree, main_content=False, **TEXT_OPTIONS)
        return text
    if html is None:
        html = (tree.document.html if tree.document is not None else None) or ""
    marked = _marked_lone_text(html)
    if marked is None:
        _unmark_inline_metadata(tree)
        text = extract_plain_text(tree, main_content=True, **TEXT_OPTIONS)
        return text
    source, marker = marked
    other = HTMLTree.parse(source)
    _drop_ruby_notes(other)
    _unmark_inline_metadata(other)
    text = extract_plain_text(other, main_content=True, **TEXT_OPTIONS)
    return text.replace(marker, "")


# Resiliparse's main-content extraction leaves out an article's metadata by its element
# (<time>) and attributes (rel="author", itemprop="author", "datePublished", "url"), also
# where it stands inside a sentence: "The council met on <time>Friday</time> and voted"
# came out as "The council met on and voted".
_INLINE_METADATA = ('time, [rel="author" i], [itemprop="author"], [itemprop="datePublished"], '
                    '[itemprop="url"]')
_WORD_END = re.compile(r"\w\s*$")
_SENTENCE_GOES_ON = re.compile(r"^\s*(?:\w|[.,;:!?)…])")


def _unmark_inline_metadata(tree: HTMLTree) -> None:
    """Make the metadata elements (:data:`_INLINE_METADATA`) that sit inside a sentence
    plain text to main-content extraction: a <time> of plain text becomes that text, the
    others lose the attribute. Inside a sentence: text ending in a letter or digit before
    it, and after it text going on with one or with punctuation ("met on
    <time>Friday</time>."). A dateline or byline of its own ("Published <time>3
    March</time>", "By <a rel=author>...</a>") is left to be dropped, as is a <time>
    holding elements (its text would run their lines together)."""
    body = tree.body
    if body is None:
        return
    for element in body.query_selector_all(_INLINE_METADATA):
        before, after = element.prev, element.next
        if before is None or after is None or before.type != NodeType.TEXT \
                or after.type != NodeType.TEXT \
                or not _WORD_END.search(before.text or "") \
                or not _SENTENCE_GOES_ON.match(after.text or ""):
            continue
        if element.tag == "time":
            children = element.child_nodes
            if len(children) != 1 or children[0].type != NodeType.TEXT:
                continue
            parent, text = element.parent, tree.create_text_node(element.text or "")
            if parent is not None and text is not None:
                parent.replace_child(text, element)
        else:
            for name in ("rel", "itemprop"):
                if element.hasattr(name):
                    element.delattr(name)


def _drop_ruby_notes(tree: HTMLTree) -> None:
    """Remove the ruby readings (:data:`RUBY_NOTES`) from the page, so that no check or
    title sees them either."""
    if tree.body is not None:
        for element in tree.body.query_selector_all(", ".join(RUBY_NOTES)):
            element.decompose()


# Resiliparse's main-content extraction (2.0.1, and its main branch) means to leave out an
# icon font's glyph: an element or text node holding one character of the Private Use
# Area (U+E000-U+F8FF) and nothing else. Its test reads the text's three UTF-8 bytes as
# one little-endian number and compares it with a range that nearly every three-byte text
# falls in: one character of U+0800-U+FFFF, or an ASCII character and one of two bytes. So
# a kanji alone in <b>, a ruby base (<ruby>漢<rt>かん</rt>字<rt>じ</rt></ruby> came out as
# "かん"), the と between two commands, a <td>€</td>, the dash of "1990<span>–</span>
# 2000", a Spanish <em>sí</em> were dropped. Such a text between two tags (or written as
# a character reference) gets a marker behind it in the page's source, which is parsed
# again for that extraction, and the marker is taken out of its text. Symbols (dingbats,
# stars, icons: Unicode's So), format and other invisible characters, and the Private Use
# Area are left to be dropped, as the test means.
_LONE_TEXT = re.compile(r"(>[ \t\n\r\f]*)([\u0800-\uffff]|[!-~][\u0080-\u07ff]|[!-~]?&#?\w{1,32};)"
                        r"(?=[ \t\n\r\f]*<)")
_KEPT_ALONE = frozenset(("L", "N", "P", "Sc", "Sm"))
# noncharacters (never in interchange text): the first one the page does not hold
_MARKERS = tuple(chr(c) for c in range(0xFDD0, 0xFDF0))


def _kept_alone(text: str) -> bool:
    """Whether Resiliparse's glyph test drops ``text`` and it is text to keep."""
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) != 3 or encoded[2] < 0x80:
        return False
    if len(text) == 2:
        return True  # an ASCII character and a letter of two bytes: "sí", "Mü"
    category = unicodedata.category(text)
    return category in _KEPT_ALONE or category[0] in _KEPT_ALONE


def _marked_lone_text(source: str) -> tuple[str, str] | None:
    """``source`` with a marker behind each text Resiliparse's glyph test would drop and
    :func:`_kept_alone` keeps, and the marker; None when there is none (or the page holds
    every marker)."""
    found = [m for m in _LONE_TEXT.finditer(source) if _kept_alone(
        html_module.unescape(m.group(2)))]
    if not found:
        return None
    marker = next((m for m in _MARKERS if m not in source), None)
    if marker is None:
        return None
    parts, at = [], 0
    for match in found:
        parts.append(source[at:match.end(2)])
        parts.append(marker)
        at = match.end(2)
    parts.append(source[at:])
    return "".join(parts), marker


def _text(node: ElementNode) -> str:
    return node.text or ""


def _canon(text: str) -> str:
    """The word characters of ``text``, case-folded, run together: how texts of one page
    extracted in different ways are compared (line breaks, bullets, spacing around icons
    and anchor marks differ between them)."""
    return _NON_WORD.sub("", text.casefold())


def _sample(text: str) -> str:
    return _canon(text)[:_SAMPLE_CHARS]


def _clean_heading(text: str) -> str:
    return " ".join(text.split()).rstrip(_ANCHOR_TAIL).strip()


def find_region(tree: HTMLTree) -> ElementNode | None:
    """The element a page marks as its main content: its ``<main>`` (the first not
    ``hidden``), else its ``[role=main]`` element, else its only ``<article>`` or the
    ``<article>`` holding its first ``<h1>``; None when it marks none."""
    doc = tree.document
    if doc is None:
        return None
    found = doc.query_selector("main:not([hidden])") or doc.query_selector("[role=main]")
    if found is not None:
        return found
    articles = doc.query_selector_all("article").values()
    if len(articles) == 1:
        return articles[0]
    if articles:
        h1 = doc.query_selector("article h1")
        if h1 is not None:
            return h1.closest("article")
    return None


def region_name(region: ElementNode) -> str:
    """How ``meta["extraction"]`` names a region: ``<main>``, ``<article>`` or
    ``[role=main]``."""
    return f"<{region.tag}>" if region.tag in ("main", "article") else "[role=main]"


def _title_parts(title: str) -> list[str]:
    """A ``<title>`` and its parts between separators (" - ", " — ", " | " ...), longest
    first."""
    parts = {p.strip() for p in _TITLE_SEPARATOR.split(title) if p.strip()}
    return sorted(parts | {title}, key=len, reverse=True)


def page_heading(tree: HTMLTree, region: ElementNode | None, visible: str) -> str | None:
    """The page's own heading (canonical: :func:`_canon`), which its main text must hold.

    The region's first ``<h1>``; else the longest part of the ``<title>`` (split at " - ",
    " — ", " | " ...) that is one of the first :data:`HEADING_LINES` lines of ``visible``
    (the region's text, or the body's: mdBook pages head their text with an ``<h2>``
    repeating the start of the ``<title>``); else the longest ``<h1>`` of the page whose
    text is part of the ``<title>``; else the page's only ``<h1>``; None for a page
    without any of them.
    """
    body = tree.body
    if body is None:
        return None
    if region is not None:
        for h1 in region.query_selector_all("h1").values():
            if text := _canon(_text(h1)):
                return text
    title = " ".join((tree.title or "").split())
    if title:
        first = "\n".join(visible.split("\n", HEADING_LINES)[:HEADING_LINES])
        lines = set(_NON_WORD_LINE.sub("", first.casefold()).split("\n"))
        for part in _title_parts(title):
            if (canon := _canon(part)) and canon in lines:
                return canon
    h1s = [t for t in (_canon(_text(h)) for h in body.query_selector_all("h1").values()) if t]
    in_title = [t for t in h1s if t in _canon(title)] if title else []
    if in_title:
        return max(in_title, key=len)
    return h1s[0] if len(h1s) == 1 else None


def _edge_item(node: ElementNode, names: frozenset[str], last: bool) -> ElementNode | None:
    """The first (last) element named in ``names`` down the first (last) children of
    ``node``, within a few levels (``<table><tbody><tr><td>``)."""
    child = node.last_element_child if last else node.first_element_child
    for _ in range(4):
        while child is not None and child.tag not in names and not child.first_element_child:
            child = child.prev_element if last else child.next_element
        if child is None or child.tag in names:
            return child
        child = child.last_element_child if last else child.first_element_child
    return None


_ITEMS = {"ul": frozenset(("li",)), "ol": frozenset(("li",)), "dl": frozenset(("dt", "dd")),
          "table": frozenset(("td", "th"))}
_LAYOUT = "p, div, table, ul, ol, dl, h1, h2, h3, h4, h5, h6"


def _samples(block: ElementNode) -> list[str]:
    """Texts showing whether a block reached a text: a heading's, the first line of a
    ``<pre>``, the first and last item of a list, the first and last cell of a table.
    A table whose cells hold blocks (a layout table) gives none: its blocks are checked."""
    tag = block.tag
    if tag == "pre":
        return [next((line for line in _text(block).split("\n") if _canon(line)), "")]
    if tag in _ITEMS:
        if tag == "table" and block.query_selector(_LAYOUT) is not None:
            return []
        ends = (_edge_item(block, _ITEMS[tag], last) for last in (False, True))
        return [_text(item) for item in ends if item is not None]
    return [_text(block)]


def _link_share(block: ElementNode) -> float:
    total = len(_canon(_text(block)))
    links = sum(len(_canon(_text(a))) for a in block.query_selector_all("a").values())
    return links / total if total else 0.0


def _neighbour(node: ElementNode, forward: bool) -> ElementNode | None:
    """The nearest element before (after) ``node`` at its level that has text."""
    sibling = node.next_element if forward else node.prev_element
    while sibling is not None and not _canon(_text(sibling)):
        sibling = sibling.next_element if forward else sibling.prev_element
    return sibling


def _context_kept(block: ElementNode, kept: str) -> bool:
    """Whether the element with text nearest to ``block`` (before it, else after it, at
    its level or its parent's) reached ``kept``: the block sat inside kept content."""
    near = _nearest(block, (False, True))
    return near is not None and _sample(_text(near)) in kept


def _nearest(block: ElementNode, directions: tuple[bool, ...]) -> ElementNode | None:
    """The element with text nearest to ``block`` in the first of ``directions`` (True:
    after it) that has one, at its level or up to two levels above."""
    node: ElementNode | None = block
    for _ in range(3):
        if node is None or node.tag == "body":
            return None
        for forward in directions:
            near = _neighbour(node, forward)
            if near is not None:
                return near
        node = node.parent_element
    return None


# a sample shorter than this is looked for at the start of a line (or cell) of the
# extraction, not anywhere in it: a list of "Flour", "Water", "Salt" under a sentence
# naming them was taken for kept (a probe)
_SHORT_SAMPLE = 16


def _kept_lines(text: str) -> list[str]:
    """The lines of an extraction, and the cells of its table rows (tab-separated)."""
    return [c for c in map(_canon, _CELLS.split(text)) if c]


_CELLS = re.compile(r"[\n\t]")


def _reached(sample: str, kept: str, lines: list[str] | None) -> bool:
    if lines is None or len(sample) >= _SHORT_SAMPLE:
        return sample in kept
    return any(line.startswith(sample) for line in lines)


def dropped_block(scope: ElementNode, kept: str, page_wide: bool,
                  text: str | None = None) -> str | None:
    """The kind of the first block of ``scope`` missing from ``kept`` (canonical text:
    :func:`_canon`): ``"heading"``, ``"list"``, ``"definition list"``, ``"table"`` or
    ``"code block"``; None when none is.

    Each block is looked for by the first 40 word characters of its samples (:func:`_samples`),
    a short one (under :data:`_SHORT_SAMPLE`) at the start of a line of ``text`` (the
    extraction) when it is given;
    lists and tables inside another are checked with it; at most :data:`MAX_BLOCKS`
    blocks. With ``page_wide`` (a page that marks no main content) a block counts only
    where it is not navigation: outside ``nav``, ``header``, ``footer``, ``aside`` and
    the navigation roles, with at most 20% of its text in links (Resiliparse's own bound
    for a link cluster), and next to content that was kept (:func:`_context_kept`).
    """
    checked = 0
    lines = _kept_lines(text) if text is not None else None
    for block in scope.query_selector_all(_BLOCKS).values():
        parent = block.parent_element
        if block.tag in _BLOCK_NAMES and parent is not None \
                and parent.closest(_NESTING) is not None:
            continue
        samples = [s for s in map(_sample, _samples(block)) if s]
        if not samples:
            continue
        checked += 1
        if checked > MAX_BLOCKS:
            break
        if all(_reached(s, kept, lines) for s in samples):
            continue
        if page_wide and (block.closest(_CHROME) is not None or _link_share(block) > 0.2
                          or not _context_kept(block, kept)):
            continue
        return _BLOCK_NAMES.get(block.tag or "", "heading")
    return None


def dropped_paragraph(scope: ElementNode, kept: str, reference: str) -> str | None:
    """``"paragraph"`` or ``"quotation"`` when main-content extraction dropped a paragraph
    of the author's from the region ``scope`` (``kept``, ``reference``: the canonical text
    of the extraction and of the region's whole text), else None; at most
    :data:`MAX_BLOCKS` paragraphs looked at.

    A paragraph of the author's (:func:`_is_prose`) that the region's whole text holds,
    visible, with kept content before it and after it or, inside an ``<article>``, as the
    article's last text: a comment section, a sidebar or a newsletter box after the
    article is not the article's, and a ``<noscript>`` paragraph, which the whole text
    leaves out too, would gain nothing."""
    for checked, block in enumerate(scope.query_selector_all(_PROSE).values()):
        if checked >= MAX_BLOCKS:
            break
        if block.query_selector(_INNER) is not None or block.closest(_HIDDEN) is not None:
            continue
        sample = _sample(_text(block))
        if sample in kept or sample not in reference or not _is_prose(block):
            continue
        article = block.closest("article")
        if _near_kept(block, kept, False) and (
                _near_kept(block, kept, True)
                or (article is not None and _last_in(block, article, kept))):
            return _BLOCK_NAMES.get(block.tag or "", "paragraph")
    return None


def _last_in(block: ElementNode, container: ElementNode, kept: str) -> bool:
    """Whether no element with text follows ``block`` inside ``container`` but dropped
    paragraphs of the author's (:func:`_passable`: the article's last two)."""
    node: ElementNode | None = block
    while node is not None and node is not container and node.tag != "body":
        sibling = _neighbour(node, True)
        for _ in range(_MAX_PASSED):
            if sibling is None or not _passable(sibling, kept):
                break
            sibling = _neighbour(sibling, True)
        if sibling is not None:
            return False
        node = node.parent_element
    return True


def _is_prose(block: ElementNode) -> bool:
    """A paragraph of the author's: a sentence of :data:`PROSE_MIN_WORDS` words or more
    (:data:`PROSE_MIN_CHARS_UNSPACED` characters in a script written without spaces), at
    most 20% of its text in links."""
    text = " ".join(_text(block).split())
    words = text.split()
    long_enough = len(words) >= PROSE_MIN_WORDS or (
        len(text) >= PROSE_MIN_CHARS_UNSPACED and len(text) >= 10 * len(words))
    return long_enough and text.endswith(_SENTENCE_END) and _link_share(block) <= 0.2


def _near_kept(block: ElementNode, kept: str, forward: bool) -> bool:
    """Whether the element with text nearest to ``block`` after it (``forward``) or before
    it, at its level or up to two levels above, reached ``kept``; dropped paragraphs of the
    author's on the way are passed over (:func:`_next_text`)."""
    near = _next_text(block, kept, forward)
    return near is not None and _sample(_text(near)) in kept


# dropped paragraphs passed over to find kept text (two or three in a "related" box)
_MAX_PASSED = 8


def _next_text(block: ElementNode, kept: str, forward: bool) -> ElementNode | None:
    """The element with text nearest to ``block`` in one direction (:func:`_nearest`),
    passing over at most :data:`_MAX_PASSED` dropped paragraphs beside it in its element
    (:func:`_passable`): two paragraphs in one dropped element each have the other for
    their nearest text."""
    node = block
    for _ in range(_MAX_PASSED):
        sibling = _neighbour(node, forward)
        if sibling is None or not _passable(sibling, kept):
            break
        node = sibling
    return _nearest(node, (forward,))


# elements of these classes or ids are a site's, whatever their paragraphs say: a
# newsletter box's two sentences, a comment thread, a cookie notice (a review)
_CHROME_BOX = re.compile(r"comment|newsletter|subscri|signup|sign-up|cookie|consent|promo",
                         re.IGNORECASE)


def _passable(node: ElementNode, kept: str) -> bool:
    """A paragraph (``<p>``, ``<blockquote>``) of the author's that extraction dropped,
    outside any element whose class or id names a newsletter box, comments or a cookie
    notice: passed over in looking for the kept text around a dropped paragraph."""
    if node.tag not in ("p", "blockquote") or _sample(_text(node)) in kept \
            or not _is_prose(node):
        return False
    ancestor: ElementNode | None = node
    while ancestor is not None and ancestor.tag != "body":
        marks = f"{ancestor.getattr('class') or ''} {ancestor.getattr('id') or ''}"
        if _CHROME_BOX.search(marks):
            return False
        ancestor = ancestor.parent_element
    return True


def _shortfall(text: str, kept: str, reference: str, scope: ElementNode,
               page_wide: bool) -> str | None:
    """Why ``text`` (main-content extraction; ``kept`` is its :func:`_canon` form) falls
    short of ``reference`` (all the text of ``scope``), or None: under the minimum share of
    its words (:data:`MIN_REGION_COVERAGE`, :data:`MIN_BODY_COVERAGE` for a whole page),
    or one of its blocks missing (:func:`dropped_block`)."""
    words = len(reference.split())
    least = MIN_BODY_COVERAGE if page_wide else MIN_REGION_COVERAGE
    if words and len(text.split()) < least * words:
        return REASON_COVERAGE.format(least)
    block = dropped_block(scope, kept, page_wide, text)
    if block is None and not page_wide:
        block = dropped_paragraph(scope, kept, _canon(reference))
    return REASON_BLOCK.format(block) if block else None


def main_text(tree: HTMLTree, region: ElementNode | None, html: str | None = None
              ) -> tuple[str, str | None]:
    """The page's main text, and why a fallback was taken (the ``meta["extraction"]``
    value) or None.

    Main-content extraction (Resiliparse) first. It drops whole elements by tag, class and
    id (``<aside>``, "comments", "related", a heading whose id says "related-…"), ``<ul>``
    less than four levels below ``<body>``, lists of links, and everything inside what it
    drops. Its text is checked against the text of the element the page marks as its main
    content (``region``: :func:`find_region`), or of the whole body when there is none: it
    must hold the page's heading (:func:`page_heading`), enough of the words and every
    block (:func:`_shortfall`). When it falls short, that element's text is taken
    (``"fallback: <main> subtree: …"``); when the heading is not in that element either
    but elsewhere on the page, the whole body's (``"fallback: whole body: …"``). The
    chrome a fallback brings in is for the boilerplate rules, which run on every document.
    ``html`` is the page's source (else the tree is serialised for :func:`plain_text`);
    ruby readings are removed from ``tree``.
    """
    _drop_ruby_notes(tree)
    text = plain_text(tree, main_content=True, html=html)
    body = tree.body
    if body is None:
        return text, None
    kept = _canon(text)
    body_text = None
    if region is not None:
        reference = plain_text(HTMLTree.parse(region.outer_html), main_content=False)
    else:
        reference = body_text = plain_text(tree, main_content=False)
    heading = page_heading(tree, region, reference)
    if heading is not None and heading not in kept:
        if heading in _canon(reference):
            return reference, _fallback(region, REASON_HEADING)
        body_text = body_text or plain_text(tree, main_content=False)
        if heading in _canon(body_text):
            return body_text, _fallback(None, REASON_HEADING)
    why = _shortfall(text, kept, reference, region or body, page_wide=region is None)
    return (text, None) if why is None else (reference, _fallback(region, why))


def _fallback(region: ElementNode | None, why: str) -> str:
    where = f"{region_name(region)} subtree" if region is not None else "whole body"
    return f"fallback: {where}: main-content extraction {why}"


def _meta_title(tree: HTMLTree) -> str | None:
    head = tree.head
    if head is None:
        return None
    for selector in _TITLE_META:
        node = head.query_selector(selector)
        content = " ".join((node.getattr("content") or "").split()) if node else ""
        if content:
            return content
    return None


def main_h1(tree: HTMLTree, region: ElementNode | None) -> str | None:
    """The text of the page's main ``<h1>``: the first of its region (:func:`find_region`)
    or, for a page that marks no main content, its only ``<h1>`` outside navigation,
    headers, footers, sidebars and dialogs; anchor marks ("¶", "#") trimmed."""
    body = tree.body
    if body is None:
        return None
    if region is not None:
        h1s = region.query_selector_all("h1").values()
    else:
        h1s = [h for h in body.query_selector_all("h1").values() if h.closest(_CHROME) is None]
        if len(h1s) != 1:
            return None
    for h1 in h1s:
        if text := _clean_heading(_text(h1)):
            return text
    return None


def title_candidates(tree: HTMLTree, region: ElementNode | None) -> dict[str, str | None]:
    """The page's own titles: ``meta`` (``og:title``, ``twitter:title``, ``dc.title``,
    ``citation_title``), ``title`` (``<title>``, white space collapsed) and ``h1``
    (:func:`main_h1`)."""
    return {"meta": _meta_title(tree),
            "title": " ".join((tree.title or "").split()) or None,
            "h1": main_h1(tree, region)}


#: Which of :func:`title_candidates` names a page, first found first: scripts/measure_html.py
#: titles (docs/design.md, "HTML titles").
TITLE_ORDER = ("meta", "h1", "title")


def page_title(tree: HTMLTree, region: ElementNode | None) -> str | None:
    """The page's title from its own metadata, in :data:`TITLE_ORDER`; never a heading of a
    dialog, help box or sidebar (trafilatura's guess takes the first ``<h2>`` of a page
    without a single ``<h1>``: "Keyboard shortcuts" on mdBook pages)."""
    found = title_candidates(tree, region)
    return next((found[k] for k in TITLE_ORDER if found[k]), None)


def _verbatim_forms(block: str) -> set[str]:
    """The stripped non-blank lines of a block, as extracted and as the pipeline's
    normalisation (:func:`corpuspack.normalise.normalise_text`) leaves them."""
    lines = {s for line in block.split("\n") if (s := line.strip())}
    if not block.isascii() or _CONTROL.search(block):
        from corpuspack.normalise import normalise_text

        lines |= {s for line in normalise_text(block).split("\n") if (s := line.strip())}
    return lines


def verbatim_lines(tree: HTMLTree) -> frozenset[str]:
    """The stripped lines of the page's ``<pre>`` blocks and block-level ``<code>`` (the
    only content of a ``<p>``, ``<div>``, ``<li>``, ``<td>`` … element), as they appear
    in its extracted text, for :attr:`corpuspack.sources.readers.RawRecord.verbatim`.

    Resiliparse writes a ``<pre>`` block's text as it is (lines are compared stripped, so
    list indentation does not matter), with a line break at each block element inside it
    (rustdoc's ``<div class="code-attribute">``: such a block is extracted on its own),
    and collapses the white space of other elements, a
    ``<code>`` outside ``<pre>`` included. Each line is given as extracted and as
    normalised (NFC, no control characters, mojibake repaired: the text of every document
    is normalised before the text-quality rules see it).
    """
    body = tree.body
    if body is None:
        return frozenset()
    lines: set[str] = set()
    for pre in body.query_selector_all("pre").values():
        lines |= _verbatim_forms(_text(pre))
        if pre.query_selector(_BREAKS) is not None:  # Resiliparse breaks lines there
            lines |= _verbatim_forms(plain_text(HTMLTree.parse(pre.outer_html), False))
    for code in body.query_selector_all(_LONE_CODE).values():
        text = " ".join(_text(code).split())
        parent = code.parent_element
        if text and parent is not None and code.closest("pre") is None \
                and text == " ".join(_text(parent).split()):
            lines |= _verbatim_forms(text)
    return frozenset(lines)
