"""What parsing a page of HTML would cost, told from its text before it is parsed.

Parsing is linear in a page's size but for three shapes, each measured with Resiliparse 2.0.1
(whose parser, lexbor, and trafilatura's lxml tree are what a build pays for):

- **elements**: about 1 kB of memory each in a build (:data:`MIN_BYTES_PER_ELEMENT`);
- **attributes of one element**: time in the square of their number (each new name is
  compared with those before it): 40,000 on one ``<div>`` (350 kB) took 2.2 s to parse and
  10.8 s for trafilatura's metadata, 100,000 (1.1 MB) 36 s in a build. Repeated ``<html>``
  and ``<body>`` tags add their attributes to the one element;
- **formatting elements left open** (``<b>``, ``<font>``, ``<a>`` ...): the parser reopens
  (clones, with their attributes) the ones a closed block left open at the next element or
  text, up to the nearest table cell, caption, object or template: 4.7 kB of 301 open
  ``<b>`` and 300 paragraphs made 90,601 elements, 16 kB 1,001,000 elements and 368 MB.

:func:`check_markup` counts them in one pass that reads the text as the HTML tokenizer
does (CR as LF; only tab, LF, FF, CR and space as white space; comments; the raw text of
``<script>`` and the like with a script's escaped parts; a quote opening a value only after
``=``; CDATA in SVG and MathML) and keeps as much of the parser's state as that needs:
whether the text is inside SVG or MathML (and inside one of their HTML integration points),
the open ``<select>``, the open elements by name, the list of open formatting elements with
its markers (cells, captions, objects, templates) and the parser's limit of three alike.
Reopened elements are counted from above: the open formatting elements again at the first
text or start tag after an element that may have held some was closed. It also counts the
parser's own work on that list (**comparisons**): each new formatting element against the
open ones, attributes included (100,000 open ``<b zN>``, 989 kB: 81 s), and at each text or
start tag a look down the stack for the last one (``<b>``, 65,000 ``<div>`` and 168,750
texts: 5.7 s), and for an end tag inside SVG or MathML naming none of their open elements
a look down all of them. Where only the parser's whole stack could tell (an end tag inside SVG or
MathML naming an HTML element around it, more than :data:`MAX_WALK` elements down), both
readings are followed (:data:`MAX_READINGS`). A page over a bound is skipped with the
reason, unparsed. Two hostile reviews found the shapes above; each is a test.

Checked against the parser itself (tests/hostile/test_bounded_cost.py): over 300,000
random pages of tag, comment, script, SVG, MathML, table and select fragments, no element
had more attributes than counted, nor the page more elements (but for the few the parser
adds, and the up to seven more times its "adoption agency" may make a formatting element
again at its end tag, where the count takes one: still linear in the page). The pass costs
59 to 77 ms per MB of the Debian handbook's 3,302 pages (none refused), a tenth of reading
them; no input found makes it superlinear.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any, SupportsIndex

# Elements a page may hold: any number up to MAX_ELEMENTS_FLOOR, beyond that at most one
# per MIN_BYTES_PER_ELEMENT bytes of its text. Parsing costs memory per element, not per
# byte: about 1 kB each in a build (Resiliparse's DOM, trafilatura's lxml tree and the
# extraction), measured as peak RSS of `corpuspack build -j 1`: 1 MB of "a<br>" (5 bytes an
# element) 173 times its size, a 2 MB table of numbers and names (12.4 bytes an element)
# 58 times, a rustdoc source page (38 bytes an element) 26 times. The densest markup with
# content, a table of one-digit cells ("<tr><td>1</td><td>2</td></tr>", 9.7 bytes an
# element), passes; a page denser than that is markup without text, and is skipped (its
# memory would have been more than about 130 times its size). A reopened element counts
# as one, and each of its attributes as one more (they are copied with it).
MAX_ELEMENTS_FLOOR = 1 << 16
MIN_BYTES_PER_ELEMENT = 8
# Attributes one element may hold: at 1,024 the worst page (1 MB of elements each with
# 1,024 distinct two-letter names) is read in 1.1 s, the cost of dense markup of any kind;
# real elements hold a few dozen at most.
MAX_ATTRIBUTES = 1024
# What the parser's work on open formatting elements may cost: each new one is compared with
# the open ones alike, attributes included ("three alike"), and each reopening point looks
# down the stack of open elements for the last one. 100,000 open <b zN> (989 kB) took 81 s,
# 5e9 comparisons: 16 ns each, so 64 a character cost about 1 s per MB.
COMPARISONS_PER_CHARACTER = 64
MAX_COMPARISONS_FLOOR = 1 << 22

# An attribute as the HTML tokenizer reads it: a name (after white space, "/" or a quoted
# value; "=" is a name's character where it starts one), then maybe "=" and a value, where
# alone a quote opens one; and a tag as its name and attributes up to its ">" (end tags
# have attributes too, which the parser drops).
_ATTRIBUTE = re.compile(r"""[\t\n\f\r /]*+[^\t\n\f\r />][^\t\n\f\r />=]*+"""
                        r"""(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+"""
                        r"""(?:"[^"]*+"|'[^']*+'|[^\t\n\f\r >]*+))?+""")
# the next token that is not text: a comment's start, a start or end tag (its name and
# attributes), or a bogus comment or doctype's start ("<!", "<?", "</" and no letter)
_TOKEN = re.compile(r"<(?:(!--)|(/?)([A-Za-z][^\t\n\f\r />]*+)(?:" + _ATTRIBUTE.pattern
                    + r")*+|[!?/])")
_COMMENT_END = re.compile(r"--!?>")
_TAG_END = re.compile(r"[\t\n\f\r /]*+>")
# elements whose text is not markup (in HTML; in SVG and MathML they hold markup)
_RAW_TEXT = ("script", "style", "xmp", "iframe", "noembed", "noframes", "textarea", "title")
_RAW_END = {name: re.compile(f"</{name}(?=[\t\n\f />])", re.IGNORECASE) for name in _RAW_TEXT}
# in a script: what starts or ends an escaped part ("<!--" ... "-->"), and in one, what
# starts a double-escaped part ("<script"), in which "</script>" does not end the script
_SCRIPT_STEP = re.compile(r"<!--|-->|</?script(?=[\t\n\f />])", re.IGNORECASE)
_FOREIGN = frozenset(("svg", "math"))
# elements of SVG and MathML whose content is HTML (WHATWG HTML, "HTML integration point",
# "MathML text integration point")
_INTEGRATION = {"svg": frozenset(("foreignobject", "desc", "title")),
                "math": frozenset(("mi", "mo", "mn", "ms", "mtext"))}
_HTML_ENCODING = re.compile(r"[\t\n\f\r /]encoding[\t\n\f\r ]*=[\t\n\f\r ]*[\"']?"
                            r"(?:text/html|application/xhtml\+xml)(?=[\"'\t\n\f\r />]|$)",
                            re.IGNORECASE)
# a <font> ends SVG or MathML content only with one of these attributes
_FONT_BREAKOUT = re.compile(r"[\t\n\f\r /](?:color|face|size)(?=[\t\n\f\r /=>]|$)",
                            re.IGNORECASE)
_VOID = frozenset(("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                   "source", "track", "wbr"))
# start tags that end SVG or MathML content (WHATWG HTML, "parsing main inforeign")
_BREAKOUT = frozenset((
    "b", "big", "blockquote", "body", "br", "center", "code", "dd", "div", "dl", "dt", "em",
    "embed", "h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "i", "img", "li", "listing",
    "menu", "meta", "nobr", "ol", "p", "pre", "ruby", "s", "small", "span", "strong",
    "strike", "sub", "sup", "table", "tt", "u", "ul", "var", "font"))
_FORMATTING = frozenset(("a", "b", "big", "code", "em", "font", "i", "nobr", "s", "small",
                         "strike", "strong", "tt", "u"))
# elements that put a marker in the list of formatting elements: nothing before it is
# reopened inside them (cells and captions only in a table)
_MARKERS = frozenset(("applet", "marquee", "object", "template"))
_CELLS = frozenset(("td", "th", "caption"))
_TABLE_PARTS = frozenset(("tr", "tbody", "thead", "tfoot", "table"))
# end tags that make an element when none is open ("</p>" an empty <p>, "</br>" a <br>)
_END_MAKES = frozenset(("p", "br"))
# start tags whose only closing is of an open <p> (WHATWG HTML, "in body"): without one
# open they close nothing
_CLOSES_ONLY_P = frozenset((
    "address", "article", "aside", "blockquote", "center", "details", "dialog", "dir", "div",
    "dl", "fieldset", "figcaption", "figure", "footer", "header", "hgroup", "main", "menu",
    "nav", "ol", "p", "search", "section", "summary", "ul", "pre", "listing", "hr", "xmp",
    "table"))
# elements a start tag of the same name closes when it is the current one
_SELF_CLOSING = frozenset(("p", "li", "dd", "dt", "option", "tr", "td", "th"))
# start tags a <select> takes (WHATWG HTML, "in select"); it ignores others
_IN_SELECT = frozenset(("option", "optgroup", "select", "input", "keygen", "textarea",
                        "script", "template", "hr"))
# start tags the parser ignores in a page's body (the table's only inside a table)
_TABLE_TAGS = frozenset(("caption", "col", "colgroup", "tbody", "td", "tfoot", "th", "thead",
                         "tr"))
_IGNORED_IN_BODY = _TABLE_TAGS | {"frame", "head", "html", "body"}
_NOAHS_ARK = 3  # the parser keeps at most three open formatting elements alike
# start tags that close no element (phrasing content): after one, formatting elements open
# before it are still open, and nothing is reopened
_PHRASING = frozenset((
    "abbr", "acronym", "area", "audio", "bdi", "bdo", "br", "button", "canvas", "cite",
    "data", "dfn", "embed", "img", "input", "kbd", "label", "link", "map", "mark", "math",
    "meta", "noscript", "object", "option", "q", "rb", "rp", "rt", "ruby", "samp",
    "script", "select", "source", "span", "style", "sub", "sup", "svg", "template", "time",
    "track", "var", "video", "wbr"))


@dataclass
class _Segment:
    """The open formatting elements after one marker: their tags (lazily removed), what
    reopening them all costs, and how many of each tag there are."""

    kind: str
    entries: list[tuple[str, str, int] | None] = field(default_factory=list)
    units: int = 0
    alike: dict[str, list[int]] = field(default_factory=dict)
    names: dict[str, int] = field(default_factory=dict)  # entries left, by name
    live: int = 0  # entries left

    def open(self, name: str, text: str, units: int) -> None:
        same = self.alike.setdefault(text, [])
        while len(same) >= _NOAHS_ARK:
            self._drop(same.pop(0))
        same.append(len(self.entries))
        self.entries.append((name, text, units))
        self.units += units
        self.live += 1
        self.names[name] = self.names.get(name, 0) + 1

    def close(self, name: str) -> int:
        """Close the last open element ``name``; what it costs (its units) or 0."""
        if not self.names.get(name):
            return 0
        units = 0
        for i in range(len(self.entries) - 1, -1, -1):
            entry = self.entries[i]
            if entry is not None and entry[0] == name:
                self.alike[entry[1]].remove(i)
                self._drop(i)
                units = entry[2]
                break
            if i < len(self.entries) - 64:  # bounded: an unmatched end tag looks no further
                break
        while self.entries and self.entries[-1] is None:
            self.entries.pop()
        return units

    def _drop(self, i: int) -> None:
        entry = self.entries[i]
        if entry is not None:
            self.units -= entry[2]
            self.live -= 1
            self.names[entry[0]] -= 1
            self.entries[i] = None


class _Foreign(list[tuple[str, str, bool]]):
    """The open elements inside SVG or MathML, (namespace, name, whether their content is
    HTML), with how many of each name are open: an end tag naming none costs no walk."""

    def __init__(self) -> None:
        super().__init__()
        self.names: dict[str, int] = {}

    def append(self, entry: tuple[str, str, bool]) -> None:
        super().append(entry)
        self.names[entry[1]] = self.names.get(entry[1], 0) + 1

    def pop(self, index: SupportsIndex = -1) -> tuple[str, str, bool]:
        entry = super().pop(index)
        self.names[entry[1]] -= 1
        return entry

    def truncate(self, start: int) -> None:
        while len(self) > start:
            self.pop()

    def clear(self) -> None:
        super().clear()
        self.names.clear()

    def __deepcopy__(self, memo: dict[int, Any]) -> _Foreign:
        copied = _Foreign()
        for entry in self:
            copied.append(entry)
        return copied


@dataclass
class MarkupCounts:
    """What a page's markup makes: ``elements`` (start tags, elements an end tag makes, and
    the estimated reopened formatting elements with their attributes), ``attributes`` (the
    most of one element), and the tag that has them."""

    elements: int = 0
    attributes: int = 0
    widest: str = ""
    readings: int = 1
    comparisons: int = 0  # of open elements, by the parser (module docstring)


# Where the scan cannot tell what the parser does (an end tag inside SVG or MathML that
# may or may not close an HTML element around it: the parser's answer depends on its whole
# stack), it follows both readings from there: at most this many times a page, then the
# page is refused (real pages close their SVG and MathML; none of the fixtures needs one).
MAX_READINGS = 8
# Open elements an end tag inside SVG or MathML is looked for among, at most: a page that
# needs more is refused (Blink nests elements no deeper than 512: sources/html.py).
MAX_DEPTH = 1024
# HTML elements an end tag read inside SVG or MathML is looked for among before both readings
# are followed
MAX_WALK = 64
# WHATWG HTML's "special" elements, and those that bound an element's scope ("has an element
# in scope")
_SPECIAL = frozenset((
    "address", "applet", "area", "article", "aside", "base", "basefont", "bgsound",
    "blockquote", "body", "br", "button", "caption", "center", "col", "colgroup", "dd",
    "details", "dir", "div", "dl", "dt", "embed", "fieldset", "figcaption", "figure", "footer",
    "form", "frame", "frameset", "h1", "h2", "h3", "h4", "h5", "h6", "head", "header", "hgroup",
    "hr", "html", "iframe", "img", "input", "keygen", "li", "link", "listing", "main",
    "marquee", "menu", "meta", "nav", "noembed", "noframes", "noscript", "object", "ol", "p",
    "param", "plaintext", "pre", "script", "search", "section", "select", "source", "style",
    "summary", "table", "tbody", "td", "template", "textarea", "tfoot", "th", "thead", "title",
    "tr", "track", "ul", "wbr", "xmp"))
_TABLE_CONTEXT = frozenset(("table", "template", "html"))
_BODY_CONTEXT = frozenset(("tbody", "thead", "tfoot"))
_SCOPE_BOUNDS = frozenset(("applet", "caption", "html", "table", "td", "th", "marquee",
                           "object", "template"))


def count_markup(html: str) -> MarkupCounts:
    """Count what parsing ``html`` makes (see the module docstring): the most of every
    reading where the scan follows two (:data:`MAX_READINGS`; ``readings`` says how many
    it would have needed). Linear, times the readings."""
    # the parser's input stream: CR and CRLF are LF before the tokenizer sees them
    html = html.replace("\r\n", "\n").replace("\r", "\n")
    scans, total = [_Scan(html)], MarkupCounts(readings=0)
    while scans:
        scan = scans.pop()
        try:
            counts = scan.run()
        except _Unreadable:
            total.readings = MAX_READINGS + 1
            return total
        total.readings += 1
        scans.extend(scan.forks)
        if counts.attributes > total.attributes:
            total.attributes, total.widest = counts.attributes, counts.widest
        total.elements = max(total.elements, counts.elements)
        total.comparisons = max(total.comparisons, counts.comparisons)
    return total


class _Unreadable(Exception):
    """Raised when a page needs more readings than :data:`MAX_READINGS`, or an end tag
    inside SVG or MathML looks past :data:`MAX_DEPTH` open elements."""


class _Scan:
    """One pass over a page, token by token, keeping what the parser's state needs for
    the tokenizer (raw text, SVG and MathML) and for reopened formatting elements."""

    def __init__(self, html: str) -> None:
        self.html = html
        self.counts = MarkupCounts()
        self.merged = {"html": 0, "body": 0}
        self.segments = [_Segment("document")]
        self.kinds: dict[str, int] = {}  # open segments by kind
        self.tables = 0
        # open elements outside SVG and MathML, by name (how many of each) and in order
        self.open: list[tuple[str, int]] = []  # (name, when it was opened: a start tag's number)
        self.open_names: dict[str, int] = {}
        self.tick = 0  # start tags so far
        self.reopened = 0.0  # when formatting elements were last opened or reopened
        self.reopened_depth = 0  # how many elements were open then
        # open elements inside SVG or MathML: (namespace, name, whether their content is HTML)
        self.foreign = _Foreign()
        self.closed = True  # an element was closed since formatting elements were reopened
        self.pos = 0
        self.forks: list[_Scan] = []  # the other readings, from where they part
        self.budget = [MAX_READINGS - 1]  # forks left, shared by the readings

    def run(self) -> MarkupCounts:
        html, pos = self.html, self.pos
        while (found := _TOKEN.search(html, pos)) is not None:
            at = found.start()
            if at > pos:  # text: the parser reopens formatting elements for it too
                self._reopen(-0.5)
            if found.group(1):
                stop = self.comment(at)
            elif found.group(3) is None:
                stop = self.bogus(at)
            elif found.group(2):
                stop = self.end_tag(found.group(3).lower(), found.end())
            else:
                stop = self.start_tag(found.group(3).lower(), at, found.end())
            if stop is None:
                break
            if found.group(3) is not None and (end := _TAG_END.match(html, stop)):
                stop = end.end()  # the tag's own ">" is no text
            pos = stop
        else:
            if pos < len(html):
                self._reopen(-0.5)
        return self.counts

    def _reopen(self, where: float) -> None:
        """A point where the parser reopens the formatting elements closed since it last
        did (text, most start tags): count them with their attributes, and what checking
        them against the open elements costs (one look down the stack each)."""
        segment = self.segments[-1]
        depth = len(self.open) + len(self.foreign)
        if self.closed:
            self.counts.elements += segment.units
            self.closed = False
            self.reopened = self.tick + where
            self.reopened_depth = depth
        elif segment.live:  # the last one is looked for down the stack, from its top
            self.counts.comparisons += max(0, depth - self.reopened_depth)

    def comment(self, at: int) -> int | None:
        """``<!--``: where the comment ends ("<!-->" and "<!--->" end at once)."""
        html = self.html
        if html.startswith((">", "->"), at + 4):
            return html.index(">", at + 4) + 1
        end = _COMMENT_END.search(html, at + 4)
        return end.end() if end is not None else None

    def bogus(self, at: int) -> int | None:
        """``<!``, ``<?``, ``</`` and no letter: a bogus comment or doctype up to ``>``; in
        SVG or MathML a CDATA section up to ``]]>``."""
        html = self.html
        if self.foreign and self.foreign[-1][0] != "html" and html.startswith("<![CDATA[", at):
            close = html.find("]]>", at + 9)
            return close + 3 if close >= 0 else None
        close = html.find(">", at + 2)
        return close + 1 if close >= 0 else None

    def end_tag(self, name: str, pos: int) -> int:
        counts, segments = self.counts, self.segments
        if name == "br" or (name == "p" and (self.foreign or not self.open
                                             or self.open[-1][0] != "p")):
            counts.elements += 1  # "</br>" is a <br>, "</p>" with none open an empty <p>
        top = self.open[-1] if self.open and not self.foreign else None
        ignored = name == "br" or not (self.open_names.get(name) or self.foreign.names.get(name)
                                       or name in _FORMATTING or name == "p")
        if not ignored and not (top is not None and top[0] == name and top[1] > self.reopened):
            self.closed = True  # it may close formatting elements opened inside
        if name in _FORMATTING:
            # the parser's "adoption agency" makes it again inside a block opened in it
            counts.elements += segments[-1].close(name)
        elif name in _CELLS or name in _MARKERS or (name in _TABLE_PARTS
                                                    and segments[-1].kind in _CELLS):
            self._pop_to(name if name in _CELLS or name in _MARKERS else _CELLS)
        if name == "table":
            self.tables = max(0, self.tables - 1)
        if self.foreign and not self._close_foreign(name, pos):
            return pos
        if name == "br":  # read as <br>: formatting elements are reopened for it
            self._reopen(-0.5)
        self._close_open(name)
        return pos

    def _clear_to_table(self, name: str) -> None:
        """A table's part clears the open elements back to its table, its body (a row) or
        its row (a cell), as the parser does; foster-parented elements go with them."""
        keep = _TABLE_CONTEXT | (_BODY_CONTEXT if name == "tr" else frozenset()) | (
            frozenset(("tr",)) if name in ("td", "th") else frozenset())
        while self.open and self.open[-1][0] not in keep:
            self.open_names[self.open.pop()[0]] -= 1

    def _close_open(self, name: str) -> None:
        """Pop the open elements down to the nearest ``name``, if one is open."""
        if self.open_names.get(name):
            while (top := self.open.pop())[0] != name:
                self.open_names[top[0]] -= 1
            self.open_names[name] -= 1

    def _close_foreign(self, name: str, pos: int) -> bool:
        """An end tag inside SVG or MathML: it closes the nearest open element of its name
        there, if any (False: nothing else); ``</p>`` and ``</br>`` end that content (True).
        One that names an open HTML element around it may end it or be ignored (the parser
        ignores it past an element of its "special" kind): both readings are followed, this
        one ending it, a fork not."""
        foreign = self.foreign
        if name in _END_MAKES:
            _leave_foreign(foreign)
            return not foreign
        html_content = foreign[-1][0] == "html"
        if not foreign.names.get(name):  # the parser looks down all of them for it
            self.counts.comparisons += len(foreign)
        if html_content and not foreign.names.get(name):
            return False  # not in the integration point's HTML: the parser ignores it
        for i in range(len(foreign) - 1 if foreign.names.get(name) else -1, -1, -1):
            if i < len(foreign) - MAX_DEPTH:  # deeper than browsers nest: refused
                raise _Unreadable
            if (foreign[i][0] == "html") != html_content:
                if html_content:  # past the integration point: the parser ignores it
                    return False
                break  # an HTML element: the parser's own rules from here
            if foreign[i][1] == name:
                if html_content and i < len(foreign) - 1:  # maybe past a "special" one
                    self._fork(pos)
                foreign.truncate(i)
                return False
        if not self.open_names.get(name):
            return False
        closes = self._closes_html(name)
        if closes is None:  # only the parser's whole stack could tell: both readings
            self._fork(pos)
            closes = True
        if closes:
            foreign.clear()
        return closes

    def _closes_html(self, name: str) -> bool | None:
        """Whether an end tag read inside SVG or MathML closes the open HTML element
        ``name`` around them (True), is ignored (False), or None when that is not told
        within :data:`MAX_WALK` open elements. Walking down from the current node as the
        parser does: an SVG or MathML element where HTML content starts stops it, and so
        does, for an element of the "special" kind or a formatting one, an element that
        bounds its scope, for any other an element of the "special" kind."""
        if any(space != "html" and element in _INTEGRATION.get(space, ())
               for space, element, _ in self.foreign):
            return False
        if name in _TABLE_TAGS or name == "table":  # the table's own rules: not kept here
            return None
        stops = _SCOPE_BOUNDS if name in _SPECIAL or name in _FORMATTING else _SPECIAL
        for depth, (element, _) in enumerate(reversed(self.open)):
            if element == name:
                return True
            if element == "select":  # its own rules, which parsers differ on
                return None
            if element in stops or depth >= MAX_WALK:
                return None if depth >= MAX_WALK else False
        return False

    def _fork(self, pos: int) -> None:
        """Follow the other reading from ``pos`` too (this scan's state as it is now)."""
        if self.budget[0] <= 0:
            raise _Unreadable
        self.budget[0] -= 1
        fork = copy.deepcopy(self)
        fork.forks, fork.pos, fork.budget = [], pos, self.budget
        self.forks.append(fork)

    def start_tag(self, name: str, at: int, pos: int) -> int | None:
        html, counts = self.html, self.counts
        counts.elements += 1
        self.tick += 1
        attributes = 0
        if pos - at > 2 * MAX_ATTRIBUTES or name in self.merged or name in _FORMATTING:
            attributes = _attributes(html, at + 1 + len(name), pos)
        if name in self.merged:
            self.merged[name] += attributes
            attributes = self.merged[name]
        if attributes > counts.attributes:
            counts.attributes, counts.widest = attributes, name
        table = name in _TABLE_TAGS or name == "table"
        if not table:  # made again in it, or around it (phrasing, formatting)
            self._reopen(0.5 if name not in _PHRASING and name not in _FORMATTING else -0.5)
        if name in _FORMATTING:
            self.reopened = self.tick
            self.reopened_depth = len(self.open) + len(self.foreign)
            # the parser compares it with every open one alike ("three alike")
            counts.comparisons += self.segments[-1].live * (1 + attributes)
        elif table and name != "table":
            self.closed = True  # a table's parts clear the stack back to the table
        elif name not in _PHRASING:
            self.closed = self.closed or not (name in _CLOSES_ONLY_P
                                              and not self.open_names.get("p"))
            if name in _CLOSES_ONLY_P and self.open_names.get("p") and not self.foreign:
                self._close_open("p")
        foreign = self.foreign
        as_html = not foreign or foreign[-1][2]
        if not as_html and name in _BREAKOUT and (
                name != "font" or _FONT_BREAKOUT.search(html, at, pos) is not None):
            _leave_foreign(foreign)  # an HTML element ends SVG or MathML content
            as_html = True
        raw = as_html and name in _RAW_END
        if as_html:
            self._formatting(name, html[at + 1 + len(name):pos], attributes)
        if as_html and name == "plaintext":
            return None
        if not raw and (html.startswith("/>", pos) or (as_html and name in _VOID) or (
                as_html and name in _IGNORED_IN_BODY
                and not (self.tables and name in _TABLE_TAGS))):
            return pos
        if foreign or name in _FOREIGN:
            space = name if as_html and name in _FOREIGN else "html" if as_html \
                else foreign[-1][0]
            inner = space == "html" or name in _INTEGRATION.get(space, ()) or (
                space == "math" and name == "annotation-xml"
                and _HTML_ENCODING.search(html, at, pos) is not None)
            select = _open_select(foreign) if space == "html" else None
            if select is not None:
                if name == "select":  # closes the one open
                    foreign.truncate(select)
                    return pos
                if name not in _IN_SELECT:  # ignored there
                    return self._raw_text_end(name, pos) if raw else pos
            if space == "html" and foreign[-1][1] == name and name in _SELF_CLOSING:
                foreign.pop()  # "<p><p>", "<li><li>": the first is closed
            foreign.append((space, name, inner))
        else:
            if self.tables and name in _TABLE_TAGS:
                self._clear_to_table(name)
            if self.open and self.open[-1][0] == name and name in _SELF_CLOSING:
                self.open_names[name] -= 1
                self.open.pop()
            self.open.append((name, self.tick))
            self.open_names[name] = self.open_names.get(name, 0) + 1
        return self._raw_text_end(name, pos) if raw else pos

    def _formatting(self, name: str, tag: str, attributes: int) -> None:
        """Keep the list of formatting elements and its markers as the parser does."""
        segments = self.segments
        if name in _FORMATTING:
            segments[-1].open(name, tag, 1 + attributes)
        elif name in _TABLE_PARTS:
            if segments[-1].kind in _CELLS and name != "table":
                self._pop_to(_CELLS)
            self.tables += name == "table"
        elif (name in _CELLS and self.tables) or name in _MARKERS:
            if name in _CELLS and segments[-1].kind in _CELLS:
                self._pop_to(_CELLS)
            self._push(name)

    def _push(self, kind: str) -> None:
        self.segments.append(_Segment(kind))
        self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def _pop_to(self, kinds: str | frozenset[str]) -> None:
        """Close the segments down to the nearest one of ``kinds`` (included), if there is
        one (looked up first: a page of unmatched end tags costs no walk)."""
        names = frozenset((kinds,)) if isinstance(kinds, str) else kinds
        if not any(self.kinds.get(kind) for kind in names):
            return
        segments = self.segments
        while len(segments) > 1:
            kind = segments.pop().kind
            self.kinds[kind] -= 1
            if kind in names:
                return

    def _raw_text_end(self, name: str, pos: int) -> int | None:
        if name == "script":
            return _script_end(self.html, pos)
        end = _RAW_END[name].search(self.html, pos)
        return end.start() if end is not None else None


def _open_select(foreign: list[tuple[str, str, bool]]) -> int | None:
    """Where the ``<select>`` the current node is in (itself, an option or a group of
    options) is in ``foreign``, or None."""
    for i in range(len(foreign) - 1, max(-1, len(foreign) - 4), -1):
        space, name, _ = foreign[i]
        if space != "html" or name not in ("select", "option", "optgroup"):
            return None
        if name == "select":
            return i
    return None


def _leave_foreign(foreign: list[tuple[str, str, bool]]) -> None:
    """Close SVG and MathML elements down to HTML content (an integration point's, or the
    page's when none is open)."""
    while foreign and not foreign[-1][2]:
        foreign.pop()


def _script_end(html: str, pos: int) -> int | None:
    """Where the text of a script that starts at ``pos`` ends (its ``</script``), or None
    when it runs to the end: "script data" and its escaped and double-escaped states."""
    escaped = double = False
    while (step := _SCRIPT_STEP.search(html, pos)) is not None:
        token, pos = step.group().lower(), step.end()
        if token == "<!--":
            dashes = pos
            while html.startswith("-", dashes):
                dashes += 1
            if html.startswith(">", dashes):  # "<!-->", "<!--->": back to plain script
                pos = dashes + 1
                escaped = double = False
                continue
            escaped = escaped or not double
        elif token == "-->":
            escaped = double = False
        elif token == "<script":
            double = double or escaped
        elif double:  # "</script": back to escaped
            double = False
        else:
            return step.start()
    return None


def _attributes(html: str, start: int, end: int) -> int:
    """The attributes of the tag whose name ends at ``start`` and which ends at ``end``."""
    return sum(1 for _ in _ATTRIBUTE.finditer(html, start, end))




def check_markup(html: str) -> str | None:
    """Why a page must be skipped unparsed, or None: more elements than its size allows
    (``max(MAX_ELEMENTS_FLOOR, len(html) // MIN_BYTES_PER_ELEMENT)``: parsing costs about
    1 kB an element) or an element of more than :data:`MAX_ATTRIBUTES` attributes (parsing
    costs time in the square of their number)."""
    counts = count_markup(html)
    if counts.readings > MAX_READINGS:
        return (f"HTML whose SVG or MathML content is closed by end tags of the elements "
                f"around it in more than {MAX_READINGS} places, or nested deeper than "
                f"{MAX_DEPTH} in it: what parsing it costs cannot be told before parsing")
    if counts.attributes > MAX_ATTRIBUTES:
        return (f"HTML with an element of {counts.attributes:,} attributes "
                f"(<{counts.widest}>): more than {MAX_ATTRIBUTES:,} (parsing costs time in "
                "the square of their number)")
    if counts.comparisons > max(MAX_COMPARISONS_FLOOR, COMPARISONS_PER_CHARACTER * len(html)):
        return (f"HTML whose open elements make the parser compare {counts.comparisons:,} "
                f"of them in {len(html):,} characters (formatting elements left open, end "
                f"tags looked for inside SVG or MathML; more than {COMPARISONS_PER_CHARACTER} "
                "a character: parsing would take time in the square of the page)")
    budget = max(MAX_ELEMENTS_FLOOR, len(html) // MIN_BYTES_PER_ELEMENT)
    if counts.elements > budget:
        return (f"HTML that makes {counts.elements:,} elements in {len(html):,} characters: "
                f"more than one per {MIN_BYTES_PER_ELEMENT} characters beyond "
                f"{MAX_ELEMENTS_FLOOR:,} (parsing costs about 1 kB an element; formatting "
                "elements left open are made again, with their attributes, in each block)")
    return None
