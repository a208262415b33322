"""Boilerplate removal from plain text: page chrome that survives text extraction.

A line goes only on positive evidence that it is chrome, never for its shape alone:

* a **chrome phrase** (:data:`BOILERPLATE`: "newsletter", "related articles", "please
  consider supporting", "©" ...) in a short line that is not a sentence; a block goes only
  when one of its lines is strong evidence (:func:`chrome_use`: "Subscribe to our
  newsletter", not "Subscribe to the new broadband");
* a **navigation word** (:data:`NAVIGATION`: "Home", "Menu", "Skip to content", or a
  breadcrumb starting with one, "Home > World"); a line that is one navigation word counts
  only beside another (a menu), never alone (an author's "Menu" heading, a refrain);
* **recurrence across the documents of one source** (``frequent_lines``, opt-in).

Rules, each switchable in ``[boilerplate]`` of the corpus config, per format
(``[boilerplate.formats.NAME]``) and per folder (``[[boilerplate.folders]]``, a glob), and
each explainable (every removed line is reported with its rule and the evidence):

``trailing_block``
    The block after the body of a page: related-article lists, newsletter and donation
    prompts, share and navigation lines. Walking up from the end, link-like lines (short,
    no sentence ending, or a short line with a chrome phrase) are taken, and prose lines
    between link-like lines (teasers under headlines); the walk stops at the first prose
    line with prose above it and at a protected line. The block is then cut to start at
    its first evidence line that does not go on with the sentence of the line above (a
    chrome phrase closing a wrapped paragraph belongs to the paragraph), and goes only when
    it holds ``min_chrome_lines`` evidence lines and ``min_block_lines`` link-like lines. A
    poem, a list of ingredients, an address or a SEE ALSO section at the end has no chrome
    phrase: it stays. So does a block the text introduces: the line above it ends with ":",
    is no chrome and has ``LEAD_IN_WORDS`` words or more ("The main menu has these
    entries:"; a footer's "Quick links:" or "You may also like:" introduces nothing).
``leading_block``
    Navigation at the top: one run of very short lines ("Home", "News", "Skip to
    content", "Home > World > Europe") before the first blank line, with
    ``min_chrome_lines`` navigation or chrome lines in it; a title, byline and date stay.
``repeated_lines``
    Later copies of a chrome or navigation line already seen in the document ("Read
    more" under each teaser). A repeated command, a refrain or a ``}`` is not chrome, nor
    is a line that is one navigation word ("Home" as a refrain, "Menu" over each course).
``frequent_lines``
    Lines found in many documents of the same source (publisher, web host or top folder),
    counted over the whole corpus in a streaming pass (see :mod:`corpuspack.build`); each
    distinct text counts once. Off by default: with it, a document's text depends on the
    other documents of its source, so a version can change documents whose files did not.

Protected lines are never removed and end a block: lines the reader marked verbatim
(``RawRecord.verbatim``: HTML ``<pre>`` and ``<code>``), lines indented by a tab or four
spaces, lines with signs of code (:func:`looks_like_code`: braces, ``=``, calls), and, outside
HTML, Markdown fenced and indented code, raw HTML blocks, tables and headings (found by
markdown-it-py, CommonMark) and every line of a rendered manual page. Rules look at
protection only when a first pass found something to remove, so text with no chrome pays
nothing for it (parsing a 10 kB README's Markdown blocks takes 1.5 ms: docs/design.md).

``min_chrome_lines`` is by default 1 for HTML pages (their lines are blocks of the page)
and 2 for Markdown, plain text and JSON lines, whose authors write lists of short lines on
purpose. No rule removes a document whole: a block is kept when removing it would leave
fewer than ``min_words_left`` words, and frequent lines are kept in a document where they
make up more than ``frequent_max_share`` of its words (near-copies of one page share all
their lines).
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache, partial
from itertools import accumulate
from typing import Any

from corpuspack.sources.formats import FORMATS as SOURCE_FORMATS

# Phrases of page chrome, in the languages the fixtures cover; matched anywhere in a line (or
# at its start where ^ says so), and only in short lines or lines that are not sentences (see
# _kind), so that prose mentioning cookies, comments or copyright is not taken for chrome.
# Words that verse and prose use too are chrome only in their chrome use: "Share this
# article", "Share on Facebook", "Follow us on", a line starting "Sign up"; "share this
# bread", "follow us down", "more from the sea" are not.
BOILERPLATE = re.compile(
    r"\b(newsletter|subscribe|unsubscribe|"
    r"^(sign ?up|log ?in|sign ?in)\b|(sign ?up|log ?in|sign ?in) (for|to) "
    r"(our|the|free|comment|reply|post|read)\b|"
    r"follow us (on|at)\b|share (this )?(article|story|post|page)|share (on|via) "
    r"(facebook|twitter|x|linkedin|whatsapp|reddit|pinterest|mastodon|bluesky|threads|e-?mail)|"
    r"related (articles?|posts?|stories|content)|read more|recommended for you|"
    r"advertisement|cookie (policy|settings|preferences)|(we|this site) uses? cookies|"
    r"accept (all )?cookies|privacy policy|terms of (use|service)|terms and conditions|"
    r"all rights reserved|copyright (©|\d{4})|consider supporting|"
    r"support (us|our (work|journalism|newsroom|mission))|donate|donation|"
    r"leave a (comment|reply)|\d+ comments?|comments are closed|no comments|"
    r"^posted (in|on|by)|"
    r"back to top|skip to (main )?content|(print|e-?mail) this (article|story|post|page)|"
    r"click here|abonnieren|anmelden|weiterlesen|datenschutz|impressum|"
    r"s'abonner|abonnez-vous|lire la suite|mentions l[ée]gales|"
    r"suscr[ií]bete|leer m[áa]s|aviso legal)\b|©|\bcopyright ?\(c\)|^tags?:|"
    r"^(share( this)?|follow us):?$",
    re.IGNORECASE,
)
# Every string BOILERPLATE matches holds one of these, once case-folded (_fold): a text
# holding none is no chrome phrase, and its search is skipped (8 to 10 µs for a line of 70
# characters against 2.4 µs for the needles, measured on the benchmark's lines). Keep them
# in step with BOILERPLATE: a test expands the pattern into every string it can match
# (tests/test_boilerplate_speed_equiv.py).
PHRASE_NEEDLES = (
    "newsletter", "subscribe", "sign up", "signup", "sign in", "signin", "log in", "login",
    "follow us", "share", "related", "read more", "recommended", "advertisement", "cookie",
    "privacy", "terms", "rights reserved", "copyright", "support", "donat", "leave a",
    "comment", "posted", "back to top", "skip to", "print this", "mail this", "click here",
    "abonn", "anmelden", "weiterlesen", "datenschutz", "impressum", "lire la suite",
    "mentions l", "suscr", "leer m", "aviso legal", "©", "tag:", "tags:")
# The characters other than ASCII letters that re.IGNORECASE matches to an ASCII letter and
# str.lower() does not lower to it (the Kelvin sign lowers to "k"), found over all of Unicode
# (Python 3.11; the test of _fold checks every code point).
_FOLD = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s"})
_FOLD_SPECIAL = re.compile("[\u0130\u0131\u017f]")
# one search for them all (case-sensitive: the text is folded) is faster than one `in` each
_NEEDLE = re.compile("|".join(map(re.escape, PHRASE_NEEDLES)))


def _fold(text: str) -> str:
    """``text.lower()`` with İ and ı made i and ſ made s: each character the
    case-insensitive search takes for an ASCII letter becomes that letter."""
    if not text.isascii() and _FOLD_SPECIAL.search(text):
        text = text.translate(_FOLD)
    return text.lower()


def chrome_phrase(text: str) -> re.Match[str] | None:
    """``BOILERPLATE.search(text)``, skipped (None) when ``text`` holds none of
    :data:`PHRASE_NEEDLES`."""
    if _NEEDLE.search(_fold(text)) is None:
        return None
    return BOILERPLATE.search(text)


# A chrome phrase in a short line is evidence of chrome, but the same words stand in lists
# authors write, as a verb with its own object: "Read more books than last year", "Donate
# the clothes I did not wear", "Sign up for the community choir", "Publish a privacy policy
# on your website". So a block goes only when one of its evidence lines is *strong*: the
# phrase in its chrome use, with at most PHRASE_REST_WORDS word of content beside it (the
# words of _SITE_WORDS, numbers and the phrases themselves not counted: "Subscribe to our
# newsletter", "Follow us on Mastodon", "Abonnez-vous à notre newsletter"), a bar of links
# holding a phrase ("About | Privacy Policy | Careers"), a copyright line, a tags label, or
# navigation. The other evidence lines of the block count as before (a review of the first
# version, which counted strong lines only, found 32 of 79 real chrome lines no longer
# counted: "Get our free weekly newsletter", "Log in or create an account").
PHRASE_REST_WORDS = 1
_PLATFORMS = ("bluesky", "facebook", "instagram", "linkedin", "mastodon", "pinterest", "reddit",
              "telegram", "threads", "tiktok", "twitter", "whatsapp", "youtube")
_SITE_WORDS = frozenset(
    # English
    "a an and all at by for free from here in more me now of on or our please the this to "
    "today up us via we with you your it reply cancel email e-mail link copy print save "
    "pin tweet "
    # German, French, Spanish: the pronouns, articles and prepositions of their chrome lines
    "sie ihr ihre unser unsere unseren unserem unserer uns den die der das dem zum zur für "
    "mit und jetzt hier "
    "à au aux notre nos votre vos la le les l de des du et sur pour ici "
    "al el los las del y en para nuestro nuestra nuestros nuestras aquí ahora "
    # the platforms a page links to (_PLATFORMS)
    "rss x".split()) | set(_PLATFORMS)
_WHATEVER_FOLLOWS = re.compile(r"©|\bcopyright\b|all rights reserved|^tags?:|"
                               r"^(posted|filed) (in|on|by|under)\b", re.IGNORECASE)
_LINK_BAR = re.compile(r"(?:\s[|·•]\s.*){2}")  # three cells or more
_WORD = re.compile(r"[^\W\d_][\w'’-]*")
# a line longer than this is no chrome line: its words are not counted (bounded cost)
_CHROME_USE_CHARS = 500


def chrome_use(line: str) -> bool:
    """Whether the chrome phrases of ``line`` (which holds one) are its substance: strong
    evidence (see PHRASE_REST_WORDS)."""
    if len(line) > _CHROME_USE_CHARS:
        return False
    if _WHATEVER_FOLLOWS.search(line) or _LINK_BAR.search(line):
        return True
    return len(rest_words(line)) <= PHRASE_REST_WORDS


def rest_words(line: str) -> list[str]:
    """The words of ``line`` besides its chrome phrases and site words (:data:`_SITE_WORDS`):
    none in "Share this article", "Read more »", "Sign up for our newsletter"."""
    return [w for w in _WORD.findall(BOILERPLATE.sub(" ", line)) if w.lower() not in _SITE_WORDS]


def _pure_chrome(line: str) -> bool:
    """A chrome line with nothing else in it (:func:`rest_words`) that does not run on
    into the next: chrome wherever it stands and however often, where a refrain says more
    ("Jetzt zum Winterchor anmelden") or runs on ("Read more, read more,")."""
    return len(line) <= _CHROME_USE_CHARS and _short_pure_chrome(line)


@lru_cache(maxsize=4096)  # footers recur across a corpus's documents (lines of 500 or less)
def _short_pure_chrome(line: str) -> bool:
    if _WHATEVER_FOLLOWS.search(line) or _LINK_BAR.search(line):
        return True  # "© 2024 ...", "Posted in Uncategorized", "About | Privacy | Jobs"
    return not line.endswith(_JOINING) and not rest_words(line)


# Navigation words: a line that is one of them, or a breadcrumb or menu bar starting with
# one ("Home > World > Europe", "Home | About"); a line of cells ("Name | Age") is not.
_NAV_WORD = (r"(?:home(?: ?page)?|menu|main menu|search|navigation|skip to (?:main )?content|"
             r"sitemap|site map|back to top)")
_HEADING_WORD = re.compile(r"home(?: ?page)?|menu|main menu|search|navigation", re.IGNORECASE)
NAVIGATION = re.compile(rf"^(?:{_NAV_WORD}$|{_NAV_WORD}\s*[>»›|/·•]\s)", re.IGNORECASE)
# Signs of code: such a line is never chrome and never removed (C, shell and Python lines
# such as "}", "return 0;", "x = f(y)", "$ make", ">>> import x", "#include <stdio.h>",
# "tool --version"). A semicolon is code at the end of a line or before a non-space only:
# prose uses it between clauses. Each sign is its own pattern starting with its character,
# which the search then looks for as a plain string, the character before it checked by a
# look-behind ("f(" is "(" with a word character before it); _CODE_ANY is searched only
# when the line holds one of its strings (:func:`looks_like_code`: 1.4 µs a line of the
# benchmark's documents instead of 4.9 for the same signs searched from any character).
_CODE_ANY = re.compile(r"[{}=]|;$|;\S|->|::")
_CODE_SIGNS = (re.compile(r"\((?<=[\w\])]\()"), re.compile(r"_(?<=[^\W_]_)\w"),
               re.compile(r"</?[a-zA-Z]"), re.compile(r"-(?<!\S-)-?[a-zA-Z]"))
_CODE_START = re.compile(r"\s*(?:\$ |>>>|#!|#include|//|/\*)")


def looks_like_code(line: str) -> bool:
    """Whether a line has signs of code: braces, ``=``, ``->``, ``::``, a semicolon ending
    it or joined to the next character, a call ``f(``, ``snake_case``, a tag ``<b``, an
    option ``--flag`` or ``-l``, or a start such as ``$ ``, ``>>>``, ``#include``, ``//``."""
    if ("{" in line or "}" in line or "=" in line or ";" in line or "->" in line
            or "::" in line) and _CODE_ANY.search(line):
        return True
    if _CODE_START.match(line):
        return True
    for pattern in _CODE_SIGNS:
        if pattern.search(line):
            return True
    return False


_INDENTED = re.compile(r"^(?:\t| {4})")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+|\bwww\.\S+", re.IGNORECASE)


def _may_hold_url(text: str) -> bool:
    """False only when :data:`_URL` finds nothing in ``text``: each URL holds "://" or
    "www." (no character but "W" matches "w" ignoring case: tests/test_cases_quality.py)."""
    return "://" in text or "www." in text.lower()
# A line ending in one of these goes on in the next line (a wrapped sentence).
_JOINING = tuple(",;-–—(")
TERMINAL = tuple(".!?…\"”’»)»:;。！？")
# Slices in which a huge text is split into words or lines: 1 MiB of text makes lists of
# about 10 MiB (measured on English prose: 160k words of about 60 bytes each).
PIECE_CHARS = 1 << 20
_SPACE = re.compile(r"\s")  # the white space of str.split(): both use Py_UNICODE_ISSPACE


def word_pieces(text: str, size: int = PIECE_CHARS) -> Iterator[str]:
    """``text`` in consecutive slices of about ``size`` characters, each cut before a
    white-space character, so that the words (``str.split()``) of the slices, in order, are
    those of the text. A word longer than ``size`` makes a longer slice."""
    start, end = 0, len(text)
    while start + size < end:
        found = _SPACE.search(text, start + size)
        if found is None:
            break
        yield text[start : found.start()]
        start = found.start()
    yield text[start:] if start else text


def word_count(text: str) -> int:
    """``len(text.split())`` without holding the list of a text over :data:`PIECE_CHARS`
    characters (:func:`word_pieces`)."""
    if len(text) <= PIECE_CHARS:  # most lines and documents: no generator to run
        return len(text.split())
    return sum(len(piece.split()) for piece in word_pieces(text))


def _line_pieces(text: str, size: int = PIECE_CHARS) -> Iterator[str]:
    """``text`` in slices of about ``size`` characters, each cut at a "\\n" (left out)."""
    start, end = 0, len(text)
    while start + size < end:
        cut = text.find("\n", start + size)
        if cut < 0:
            break
        yield text[start:cut]
        start = cut + 1
    yield text[start:] if start else text


def iter_lines(text: str, size: int = PIECE_CHARS) -> Iterator[str]:
    """The lines of ``text.split("\n")``, in order, split from slices of about ``size``
    characters (a line longer than that makes a longer slice)."""
    for piece in _line_pieces(text, size):
        yield from piece.split("\n")


class FirstSeen:
    """Remembers which keys (lines, paragraphs) were seen, by their hash and the position of
    their first occurrence rather than by the key itself.

    A distinct key costs about 110 bytes (a dict entry, two ints) instead of the key's
    string (about 50 bytes plus its characters): less for keys longer than about 40
    characters. ``key_at(position)`` gives the key at a position given before, to tell a
    hash collision from a repeat; keys whose hashes collide are kept whole, so answers are
    exact.
    """

    def __init__(self, key_at: Callable[[int], str]) -> None:
        self._key_at = key_at
        self._first: dict[int, int] = {}
        self._colliding: set[str] = set()

    def repeats(self, key: str, position: int) -> bool:
        """Whether ``key`` was seen before; if not, remember it as seen at ``position``
        (positions must differ between calls)."""
        first = self._first.setdefault(hash(key), position)
        if first == position:
            return False
        if self._key_at(first) == key:
            return True
        if key in self._colliding:
            return True
        self._colliding.add(key)
        return False


FORMATS = tuple(sorted(SOURCE_FORMATS))  # the source formats' names (registry), sorted
# Settings a format table or a folder entry may change; the others hold for the whole build.
SCOPE_KEYS = ("trailing_block", "leading_block", "repeated_lines", "frequent_lines",
              "min_chrome_lines", "min_block_lines", "link_max_words", "phrase_max_words",
              "nav_max_words", "min_words_left", "frequent_max_share")
# min_chrome_lines when no table sets it: in HTML each line is a block of the page (a menu
# entry, a heading); elsewhere authors write lists of short lines on purpose.
CHROME_LINES_HTML = 1
CHROME_LINES_OTHER = 2


@dataclass(frozen=True)
class Scope:
    """One ``[boilerplate.formats.NAME]`` table (``match`` is the format) or
    ``[[boilerplate.folders]]`` entry (``match`` is its glob): the settings it changes,
    as (key, value) pairs sorted by key."""

    match: str
    settings: tuple[tuple[str, Any], ...]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.settings)


@lru_cache(maxsize=256)
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(fnmatch.translate(pattern))


def glob_matches(pattern: str, source: str) -> bool:
    """Whether a folder glob matches a source path (POSIX, relative to the source folder).

    :func:`fnmatch.fnmatchcase` on the whole path: ``*`` matches any characters, ``/``
    included, so ``web/*`` matches every file under ``web/`` at any depth, ``*.html`` every
    HTML page; ``?`` matches one character and ``[...]`` a set.
    """
    return _glob(pattern).match(source) is not None


@dataclass(frozen=True)
class Rules:
    """Which rules run, and their parameters (``[boilerplate]`` in the config).

    The top-level values hold for every document; ``formats`` (``[boilerplate.formats.NAME]``)
    and then ``folders`` (``[[boilerplate.folders]]``, in the config's order, later entries
    winning) change the :data:`SCOPE_KEYS` for the documents they match.
    :meth:`for_document` gives the rules of one document. ``min_chrome_lines`` left unset
    is :data:`CHROME_LINES_HTML` for HTML and :data:`CHROME_LINES_OTHER` for other formats.
    """

    trailing_block: bool = True
    leading_block: bool = True
    repeated_lines: bool = True
    frequent_lines: bool = False
    min_chrome_lines: int | None = None
    min_block_lines: int = 3
    link_max_words: int = 15
    phrase_max_words: int = 8
    nav_max_words: int = 4
    min_words_left: int = 20
    frequent_min_docs: int = 10
    frequent_min_fraction: float = 0.05
    frequent_max_share: float = 0.5
    audit: bool = False
    formats: tuple[Scope, ...] = ()
    folders: tuple[Scope, ...] = ()

    def chrome_lines(self, fmt: str) -> int:
        """Evidence lines a block needs in a document of format ``fmt``."""
        if self.min_chrome_lines is not None:
            return self.min_chrome_lines
        return CHROME_LINES_HTML if fmt == "html" else CHROME_LINES_OTHER

    def for_document(self, source: str, fmt: str) -> Rules:
        """The rules of one document: its format's table, then every folder entry whose
        glob matches ``source`` (:func:`glob_matches`), over the top-level values; the
        result has no scopes and ``min_chrome_lines`` set."""
        matched = tuple(i for i, scope in enumerate(self.folders)
                        if glob_matches(scope.match, source))
        return _resolved(self, fmt, matched)

    @property
    def counts_lines(self) -> bool:
        """Whether ``frequent_lines`` is on anywhere (the build then counts lines)."""
        return self.frequent_lines or any(
            scope.as_dict().get("frequent_lines") is True
            for scope in (*self.formats, *self.folders))

    def where(self) -> dict[str, Any]:
        """What ran where: the rules of each format outside any folder entry, and each
        folder entry's glob and settings (as recorded in ``datapackage.json``)."""
        def scalars(rules: Rules) -> dict[str, Any]:
            return {key: getattr(rules, key) for key in SCOPE_KEYS}

        return {"formats": {fmt: scalars(_resolved(self, fmt, ())) for fmt in FORMATS},
                "folders": [{"glob": scope.match, **scope.as_dict()} for scope in self.folders]}


@lru_cache(maxsize=256)
def _resolved(rules: Rules, fmt: str, folders: tuple[int, ...]) -> Rules:
    values: dict[str, Any] = {}
    for scope in rules.formats:
        if scope.match == fmt:
            values.update(scope.settings)
    for index in folders:
        values.update(rules.folders[index].settings)
    resolved = replace(rules, formats=(), folders=(), **values)
    if resolved.min_chrome_lines is None:
        resolved = replace(resolved, min_chrome_lines=resolved.chrome_lines(fmt))
    return resolved


@dataclass
class Removal:
    """What one rule removed from one document, and why: each ``evidence`` entry names a
    line and what made it chrome (``why``: "chrome phrase" or "navigation" with the
    ``match``, or "frequent in its source" with the ``source`` group and the number of its
    ``documents`` holding the line ``of`` all those counted)."""

    rule: str
    lines: list[str] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)
    # a doubt, not a removal: a rule did not look at the whole document (a window's edge
    # reached), counted in the build report's notes; such a Removal has no lines
    note: str | None = None


# Lines at each end of a document that the block rules and the per-line caches look at:
# chrome sits at the start and the end of a page. The largest block removed from the 2,000
# documents of the benchmark workload and the test fixtures is far smaller (docs/design.md,
# "Boilerplate on documents of many tiny lines"); a run of link-like lines reaching past the
# window is no navigation or footer but a list, and is kept (with a note).
WINDOW_LINES = 1000
# Words of a line ending with ":" that introduces the block below it as the text's own
# (a sentence: "The main menu has these entries:"); the footer headings a hostile review
# listed ("Quick links:", "You may also like:", "Connect with us:", "Popular posts:") have
# four at most.
LEAD_IN_WORDS = 5
NOTE_TRAILING = f"boilerplate: trailing block longer than {WINDOW_LINES} lines kept"
NOTE_LEADING = f"boilerplate: leading block longer than {WINDOW_LINES} lines kept"
# Markdown parsed for protection only within these bounds (markdown_affordable); beyond them
# every line is protected: the rules remove nothing from the document, and say so.
MARKDOWN_MAX_LINES = 20_000
MARKDOWN_MIN_LINE_CHARS = 24
NOTE_MARKDOWN = ("boilerplate: Markdown blocks of more than 20,000 lines under 24 characters "
                 "on average not parsed: nothing removed")
# Above this many characters a document's lines are found by their offsets (4 or 8 bytes a
# line) rather than held as strings (about 57 bytes a line plus its characters): a text of
# many tiny lines would otherwise cost 20 to 30 times its size.
SMALL_TEXT = 1 << 20


class LineIndex(Sequence[str]):
    """The lines of ``text.split("\\n")``, found by their start offsets (an array of 4-byte
    or 8-byte ints), each sliced from the text when asked for."""

    def __init__(self, text: str) -> None:
        self.text = text
        starts = array("I" if len(text) < 1 << 32 else "Q")
        base = 0
        for piece in _line_pieces(text):
            # the start of each line: the lengths (plus the "\n") summed from the piece's
            starts.extend(accumulate((len(line) + 1 for line in piece.split("\n")),
                                     initial=base))
            base = starts.pop()  # the start of the next piece
        self._starts = starts

    def __len__(self) -> int:
        return len(self._starts)

    def __getitem__(self, i: int) -> str:  # type: ignore[override]
        starts = self._starts
        start = starts[i]
        i = i % len(starts)
        end = starts[i + 1] - 1 if i + 1 < len(starts) else len(self.text)
        return self.text[start:end]

    def __iter__(self) -> Iterator[str]:
        return iter_lines(self.text)

    def span(self, i: int, j: int) -> str:
        """Lines i to j - 1 joined by "\\n", as one slice of the text (0 <= i < j)."""
        starts = self._starts
        end = starts[j] - 1 if j < len(starts) else len(self.text)
        return self.text[starts[i]:end]


def _kept_lines(lines: Sequence[str], keep: bytearray) -> Iterator[str]:
    """The lines whose flag in ``keep`` is set; from a :class:`LineIndex`, runs of kept lines
    come as one slice each (joined by "\\n" they give the same text)."""
    if not isinstance(lines, LineIndex):
        yield from (line for line, k in zip(lines, keep, strict=True) if k)
        return
    i, n = 0, len(keep)
    while i < n:
        i = keep.find(1, i)
        if i < 0:
            return
        j = keep.find(0, i)
        j = n if j < 0 else j
        yield lines.span(i, j)
        i = j


def split_lines(text: str) -> Sequence[str]:
    """``text.split("\\n")``, or for a text over :data:`SMALL_TEXT` characters the same
    lines by their offsets (:class:`LineIndex`)."""
    return text.split("\n") if len(text) <= SMALL_TEXT else LineIndex(text)


def _kind(line: str, words: int, rules: Rules,
          phrase: Callable[[str], re.Match[str] | None] = BOILERPLATE.search) -> str:
    """'link' (link-like or chrome), 'prose' (a sentence or a long line) or 'other';
    ``phrase`` is :data:`BOILERPLATE`'s search or a function giving the same answers."""
    stripped = line.strip()
    ends = stripped.endswith(TERMINAL)
    if words <= 30 and phrase(stripped) and (
            words <= rules.phrase_max_words or not ends):
        return "link"
    if words <= rules.link_max_words and not ends:
        return "link"
    if (words >= 8 and ends) or words >= 30:
        return "prose"
    return "other"


# Per-line answers (words, kind, signs of code, chrome) are remembered by the line's text,
# for lines of at most this many characters and this many lines at a time (the memory is
# then bounded whatever the document): a page repeats its chrome lines, a text of many tiny
# lines repeats them too, and a longer line costs more to look up than to work out again.
_MEMO_CHARS = 256
_MEMO_LINES = 4096
_MISSING: Any = object()


# Answers that depend on a line's text alone (words, signs of code, chrome phrase), and its
# kind under the two rules it depends on, are remembered across the documents a process
# cleans, in the same bounds: the chrome lines of a site recur on its pages (1,038 of the
# first 5,000 benchmark documents end with the same 8 lines). Each document's evidence
# entries are its own. Memory: at most _MEMO_LINES lines of _MEMO_CHARS characters in each
# of the three dicts and the four of kinds, a few MB for lines of Latin text (at most 30 MB
# were every line 256 characters outside the Basic Multilingual Plane).
_SHARED_WORDS: dict[str, int] = {}
_SHARED_CODE: dict[str, bool] = {}
_SHARED_PHRASES: dict[str, re.Match[str] | None] = {}
_SHARED_KINDS: dict[tuple[int, int], dict[str, str | None]] = {}  # by the rules' limits


def _shared_kinds(rules: Rules) -> dict[str, str | None]:
    key = (rules.phrase_max_words, rules.link_max_words)
    found = _SHARED_KINDS.get(key)
    if found is None:
        if len(_SHARED_KINDS) >= 4:  # rarely more than one or two sets of rules
            _SHARED_KINDS.clear()
        found = _SHARED_KINDS[key] = {}
    return found


def _memo(cache: dict[str, Any], line: str, compute: Callable[[str], Any]) -> Any:
    found = cache.get(line, _MISSING)
    if found is _MISSING:
        found = compute(line)
        if len(line) <= _MEMO_CHARS:
            if len(cache) >= _MEMO_LINES:
                cache.clear()
            cache[line] = found
    return found


class _Lines:
    """A document's lines, with word counts and kinds worked out only when asked for."""

    def __init__(self, text: str, rules: Rules, fmt: str,
                 verbatim: frozenset[str] = frozenset()) -> None:
        self.text = text
        self.lines = split_lines(text)
        self.rules, self.fmt, self.verbatim = rules, fmt, verbatim
        self.need = rules.chrome_lines(fmt)
        self._kind_words = max(30, rules.phrase_max_words, rules.link_max_words)
        self.protected: frozenset[int] | None = None  # None until protect() is called
        self.all_protected = False  # a manual page: every line (once protect() is called)
        self._words = _SHARED_WORDS
        self._kinds = _shared_kinds(rules)
        self._code = _SHARED_CODE
        self._chromes: dict[str, dict[str, Any] | None] = {}
        self._phrases = _SHARED_PHRASES  # by stripped text
        self._counted, self._counted_lines = 0, 0  # words of the first lines (has_words)
        self.notes: list[str] = []  # doubts: a rule's window reached
        self.protect_note: str | None = None  # a doubt of protect(): Markdown not parsed

    def has_words(self, count: int) -> bool:
        """Whether the whole text has at least ``count`` words: its lines' words are
        counted from the start only as far as needed (a page's first paragraphs mostly
        suffice), and the count so far is remembered."""
        lines = self.lines
        while self._counted < count and self._counted_lines < len(lines):
            self._counted += word_count(lines[self._counted_lines])
            self._counted_lines += 1
        return self._counted >= count

    def words(self, i: int) -> int:
        found: int = _memo(self._words, self.lines[i], word_count)
        return found

    def kind(self, i: int) -> str | None:
        found: str | None = _memo(self._kinds, self.lines[i], self._kind)
        return found

    def _kind(self, line: str) -> str | None:
        if not line.strip():
            return None
        if len(line) <= _MEMO_CHARS or len(line) > PIECE_CHARS:
            words = _memo(self._words, line, word_count)
        else:  # a paragraph: its words counted only up to the largest limit _kind compares
            words = len(line.split(None, self._kind_words))
        return _kind(line, words, self.rules, self._phrase)

    def _phrase(self, stripped: str) -> re.Match[str] | None:
        """:data:`BOILERPLATE`'s search, remembered: :meth:`_chrome` asks again for the
        lines :meth:`_kind` looked at (the same text when the line holds no URL)."""
        found: re.Match[str] | None = _memo(self._phrases, stripped, chrome_phrase)
        return found

    def protect(self) -> bool:
        """Work out the protected lines (the second pass); say whether there are any."""
        markdown = needs_markdown(self.text, self.fmt)
        if self.fmt != "html" and is_manual_page(self.lines):
            self.all_protected = True  # every line (protected_lines would list them all)
            self.protected = frozenset()
        elif markdown and not markdown_affordable(len(self.text), len(self.lines)):
            self.all_protected = True  # code could be anywhere: nothing is removed
            self.protected = frozenset()
            self.protect_note = NOTE_MARKDOWN
        else:  # protected_lines without asking again whether it is a manual page
            self.protected = _listed_lines(self.text, self.lines, self.verbatim, markdown)
        return self.all_protected or bool(self.protected)

    def guarded(self, i: int) -> bool:
        """Never removed: indented, code-like, or protected (once worked out)."""
        if self.all_protected or (self.protected is not None and i in self.protected):
            return True
        found: bool = _memo(self._code, self.lines[i], _code_like)
        return found

    def continues(self, i: int) -> bool:
        """Line i goes on with the sentence of the line above: the line above ends with a
        comma, a dash or an open bracket, or line i starts with a small letter below a line
        that does not end a sentence (a wrapped paragraph, a verse)."""
        above = self.lines[i - 1].rstrip() if i > 0 else ""
        if not above:
            return False
        if above.endswith(_JOINING):
            return True
        return self.lines[i].lstrip()[:1].islower() and not above.endswith(TERMINAL)

    def evidence(self, i: int) -> dict[str, Any] | None:
        """Why line i is chrome, or None: a navigation word, or a chrome phrase in a
        link-like line (URLs are not read: ``/subscribe`` in a link is no phrase)."""
        if self.guarded(i):
            return None
        found: dict[str, Any] | None = _memo(self._chromes, self.lines[i], self._chrome)
        return found

    def _chrome(self, line: str) -> dict[str, Any] | None:
        stripped = line.strip()
        numbered = _NUMBERED.match(stripped)
        if numbered:  # an author's step ("1. Sign in to the Azure portal."), unless chrome
            rest = stripped[numbered.end():]  # alone ("2. Privacy Policy", "1. Home")
            if not (chrome_phrase(rest) and _pure_chrome(rest)):
                return None  # ("1. Home", "2. Search": the tabs of an app, in a manual)
            stripped = rest
        found = NAVIGATION.match(stripped)
        if found:
            return {"line": stripped, "why": "navigation", "match": found.group(0).strip()}
        if _memo(self._kinds, line, self._kind) != "link":
            return None
        found = self._phrase(_URL.sub(" ", stripped) if _may_hold_url(stripped) else stripped)
        if found:
            return {"line": stripped, "why": "chrome phrase", "match": found.group(0)}
        found = _SHARE_BAR.fullmatch(stripped)
        if found and _PLATFORM.search(stripped) and _SHARE_ACTION.search(stripped):
            return {"line": stripped, "why": "share bar", "match": stripped}
        return None


_BULLET = re.compile(r"•\s+(?=\S)")  # the bullet of a list item in HTML's text


def _bulleted_navigation(doc: _Lines, i: int) -> dict[str, Any] | None:
    """Navigation as a bulleted item ("• Home") at the top of an HTML page's text: how a
    whole-body fallback gives a menu. Only there: in other formats, and below the top, a
    list is the author's ("- Home / - Search / - Settings": an app's screens)."""
    if doc.fmt != "html" or doc.guarded(i) \
            or not _BULLET.match(doc.lines[_run_start(doc.lines, i)].strip()):
        return None  # (a list under a heading is an author's: "Manual / • Home / • Search")
    stripped = doc.lines[i].strip()
    bullet = _BULLET.match(stripped)
    if bullet is None:
        return None
    entry = stripped[bullet.end():]
    found = NAVIGATION.match(entry)
    return {"line": entry, "why": "navigation", "match": found.group(0).strip()} \
        if found else None
# the buttons of a share bar on one line ("Share: Facebook Twitter Email", "Print | X")
_PLATFORM = re.compile(rf"\b(?:{'|'.join(_PLATFORMS)})\b", re.IGNORECASE)
_SHARE_BAR = re.compile(rf"(?:(?:{'|'.join(_PLATFORMS)}|x|e-?mail|print|copy link|"
                        r"share(?: this)?)[\s:|/·•,]*){2,}", re.IGNORECASE)
# a share bar says what its buttons do: "Instagram / TikTok" under a survey's question, or
# "Facebook, Twitter, Email" as a program's targets, is an author's list (a review)
_SHARE_ACTION = re.compile(r"\b(?:share|print|copy link)\b", re.IGNORECASE)


# an item of a numbered list ("1.", "2)", "iv.", "b)"): page chrome is never numbered
_NUMBERED = re.compile(r"(?:\d{1,3}|[ivx]{1,4}|[a-z])[.)]\s+(?=\S)", re.IGNORECASE)


def _code_like(line: str) -> bool:
    return bool(_INDENTED.match(line) or looks_like_code(line))


def _trailing(doc: _Lines) -> tuple[int, list[dict[str, Any]]]:
    """Index of the first line of the trailing block (len(lines) when there is none) and
    the evidence it holds.

    The block starts at its first evidence line that does not go on with the sentence of
    the line above (a chrome phrase closing a wrapped paragraph is the paragraph's). Prose
    lines between link-like lines (teasers under headlines) belong to the block only below
    that line: above it, heading + paragraph sections of the article have the same shape.
    """
    lines = doc.lines
    n = len(lines)

    def above(i: int) -> int:
        """The last non-blank line before line i (-1 when there is none)."""
        i -= 1
        while i >= 0 and not lines[i].strip():
            i -= 1
        return i

    start = n
    below = None  # kind of the non-blank line after line i
    i = above(n)
    while i >= 0:
        if doc.guarded(i):
            break
        kind = doc.kind(i)
        previous = above(i)
        if kind != "link" and not (below == "link" and previous >= 0
                                   and doc.kind(previous) == "link" and start < n):
            break
        if i < n - WINDOW_LINES:  # a run of link-like lines this long is a list: kept
            doc.notes.append(NOTE_TRAILING)
            return n, []
        start = i
        below = kind
        i = previous
    if start == n:  # no link-like line at the end
        return n, []
    found = [(i, e) for i in range(start, n) if lines[i].strip() and (e := doc.evidence(i))]
    first = next((i for i, _ in found if not doc.continues(i)), n)
    # a lone navigation word opens a block but is no evidence of one (_counted)
    counted = [(i, e) for i, e in _counted(found) if i >= first]
    if _distinct(doc, counted) < doc.need or not _has_strong(doc, counted):
        return n, []
    evidence = [e for _, e in counted]
    lead = above(first)
    if lead >= 0 and lines[lead].rstrip().endswith(":") and not doc.evidence(lead) \
            and doc.words(lead) >= LEAD_IN_WORDS:
        return n, []  # a list the text introduces ("The main menu has these entries:")
    links = sum(1 for i in range(first, n) if doc.kind(i) == "link")
    return (first, evidence) if links >= doc.rules.min_block_lines else (n, [])


def _leading(doc: _Lines) -> tuple[int, list[dict[str, Any]]]:
    """Index of the first line after the leading navigation block (0 when there is none)
    and the evidence it holds.

    The block is one run of very short lines before the first blank line, holding
    ``min_chrome_lines`` navigation or chrome lines ("Home", "Skip to content", a
    breadcrumb), so that a title, a byline and a date are not taken for a menu.
    """
    end, taken, first = 0, 0, 0
    evidence: list[tuple[int, dict[str, Any]]] = []
    for i, line in enumerate(doc.lines):
        stripped = line.strip()
        if not stripped:
            if taken:
                break  # a menu is one run of lines; what follows a blank line is content
            continue
        if not taken:
            first = i
        if doc.guarded(i):
            break
        found = doc.evidence(i) or _bulleted_navigation(doc, i)
        navigation = found is not None and found["why"] == "navigation"
        if not (navigation or (doc.words(i) <= doc.rules.nav_max_words
                               and not stripped.endswith(TERMINAL))):
            break
        if i >= WINDOW_LINES:  # a run of short lines this long is a list, not a menu: kept
            doc.notes.append(NOTE_LEADING)
            return 0, []
        if found and not _NUMBERED.match(stripped):  # a numbered list opening a text is
            evidence.append((i, found))  # its own ("1. Home, 2. Settings": an app's tabs)
        end, taken = i + 1, taken + 1
    words = [e["match"].lower() for _, e in evidence if _bare_navigation(e)]
    if len(words) > len(set(words)):  # a menu names each entry once: "Home" twice is verse
        evidence = [(i, e) for i, e in evidence if not _bare_navigation(e)]
    if taken >= doc.rules.min_block_lines and _distinct(doc, evidence) >= doc.need \
            and _has_strong(doc, evidence) \
            and not _TABLE_OF_CONTENTS.fullmatch(doc.lines[first].strip()):
        return end, [e for _, e in evidence]
    return 0, []


# The headings of a table of contents: the lines below them name the text's own sections,
# whatever they are called ("Navigation", "Search" and "Settings" in a device's manual).
_TABLE_OF_CONTENTS = re.compile(
    r"(?:table of )?contents|inhalt(?:sverzeichnis)?|sommaire|table des matières|"
    r"índice|indice|contenidos?|sumário|inhoud(?:sopgave)?|spis treści|obsah|содержание|"
    r"зміст", re.IGNORECASE)


def _in_stanza(doc: _Lines, i: int) -> bool:
    """Line i is a refrain: it sits in a run of at least 4 lines (between blank lines),
    each of at most :attr:`Rules.link_max_words` words, half of them of 3 words or more and
    at most a quarter ending a sentence, fewer than half of them different chrome lines
    ("quiero leer más" three times among six lines of verse), and not repeated three times
    or more at one interval (under each item of a listing). A share bar ("Share",
    "Facebook", "E-mail") is chrome line after line; a teaser's summary is a sentence, and
    a blog index's items of headline, summary and "Posted in ..." three lines."""
    lines, limit = doc.lines, doc.rules.link_max_words
    run = _run(lines, i)
    text = lines[i].strip().casefold()
    at = [j for j in run if lines[j].strip().casefold() == text]
    if len(at) >= 3 and len({b - a for a, b in zip(at, at[1:], strict=False)}) == 1:
        return False  # under each item of a listing ("Subscribe to read" after each headline)
    if len(run) < 4 or any(doc.words(j) > limit for j in run) \
            or 2 * sum(doc.words(j) >= 3 for j in run) < len(run) \
            or 4 * sum(lines[j].rstrip().endswith((".", "!", "?", "…")) for j in run) \
            > len(run):
        return False  # (a menu's entries are a word or two; a teaser has a sentence)
    chrome = [(j, e) for j in run if (e := doc.evidence(j))]
    return 2 * _distinct(doc, chrome) < len(run)


Evidence = list[tuple[int, dict[str, Any]]]  # (line index, why the line is chrome)


def _keys(doc: _Lines, evidence: Evidence) -> list[tuple[str, int]]:
    """What tells evidence lines apart: a line saying more than chrome ("Jetzt zum
    Winterchor anmelden") is one wherever it is repeated (a refrain); a line of chrome
    alone (navigation, :func:`_pure_chrome`) that a verse runs on from (:func:`_runs_on`:
    "Follow us / follow us home") is one in its run of lines; any other line of chrome
    alone counts each time ("Read more" under each teaser, a footer printed twice)."""
    keys = []
    for i, e in evidence:
        alone = e["why"] != "chrome phrase" or _pure_chrome(e["line"])
        if not alone:
            key = -1  # one wherever it is repeated
        elif _runs_on(doc, i):
            key = -2 - _run_start(doc.lines, i)  # one in its run of lines
        else:
            key = i  # each occurrence: "Read more" under each teaser, a footer twice
        keys.append((e["line"].casefold(), key))
    return keys


def _run_start(lines: Sequence[str], i: int) -> int:
    """The first line of the run of non-blank lines holding line i."""
    while i > 0 and lines[i - 1].strip():
        i -= 1
    return i


def _run(lines: Sequence[str], i: int) -> range:
    """The run of non-blank lines (between blank lines) holding line i."""
    end = i
    while end + 1 < len(lines) and lines[end + 1].strip():
        end += 1
    return range(_run_start(lines, i), end + 1)


# a line of this many words ending a sentence is prose, no verse
_PROSE_WORDS = 8


def _runs_on(doc: _Lines, i: int) -> bool:
    """Whether the next line goes on with line i ("Follow us / follow us home": a verse),
    line i not splitting a sentence of prose (an "Advertisement" marker between the two
    halves of a paragraph's sentence is chrome), no paragraph above it and the next line no
    sentence of prose of its own (a paragraph starting "iPhone" or "eBay" below an
    "Advertisement")."""
    lines = doc.lines
    if i + 1 >= len(lines) or not lines[i + 1].strip() or not doc.continues(i + 1):
        return False
    splits = i > 0 and doc.words(i - 1) > doc.rules.nav_max_words \
        and not lines[i - 1].rstrip().endswith(TERMINAL)
    in_prose = i > 0 and doc.words(i - 1) >= _PROSE_WORDS  # a paragraph above: no verse
    prose = doc.words(i + 1) >= _PROSE_WORDS and lines[i + 1].rstrip().endswith(TERMINAL)
    return not (splits or in_prose or prose)


def _distinct(doc: _Lines, evidence: Evidence) -> int:
    """How many lines the evidence is of, a refrain counted once (:func:`_keys`): a menu or
    a footer names each of its entries once."""
    return len(set(_keys(doc, evidence)))


def _has_strong(doc: _Lines, evidence: Evidence) -> bool:
    """Whether a block's evidence holds a strong line (:func:`_strong`) that is no refrain:
    its key (:func:`_keys`) found once."""
    keys = _keys(doc, evidence)
    times = Counter(keys)
    return any(_strong(e) and times[key] == 1 for (_, e), key in zip(evidence, keys, strict=True))


def _counted(evidence: list[tuple[int, dict[str, Any]]]) -> list[tuple[int, dict[str, Any]]]:
    """The evidence of a block that counts: a line that is a navigation word alone ("Home",
    "Menu") only beside another navigation word. One alone is an author's heading ("Menu"
    over the dishes, "Navigation" over a boat's instruments) or a refrain ("Home"); a menu
    holds several ("Home", "Search", "Sitemap"). Breadcrumbs, menu bars and chrome
    phrases count on their own."""
    bare = {e["match"].lower() for _, e in evidence if _bare_navigation(e)}
    if len(bare) >= 2:
        return evidence
    return [(i, e) for i, e in evidence if not _bare_navigation(e)]


def _bare_navigation(evidence: dict[str, Any]) -> bool:
    """Evidence of a line that is one navigation word an author may also write as a
    heading or a refrain ("Home", "Menu", "Search", "Navigation"), and nothing else
    ("Skip to content", "Back to top" and "Sitemap" are chrome wherever they stand)."""
    return bool(evidence["why"] == "navigation"
                and evidence["match"].lower() == evidence["line"].lower()
                and _HEADING_WORD.fullmatch(evidence["match"]) is not None)


def _strong(evidence: dict[str, Any]) -> bool:
    """Evidence a block can go on: navigation, or a chrome phrase in its chrome use, on a
    line that does not run on into the next (a verse's "Read more, read more,")."""
    line = evidence["line"]
    return evidence["why"] != "chrome phrase" or (chrome_use(line)
                                                  and not line.endswith(_JOINING))


def clean(text: str, rules: Rules, fmt: str = "text",
          verbatim: frozenset[str] = frozenset()) -> tuple[str, list[Removal]]:
    """Remove the page chrome of one document; return the text and what was removed.

    ``rules`` are the document's rules (:meth:`Rules.for_document`), ``fmt`` its format
    (one of :data:`FORMATS`), ``verbatim`` the stripped lines its reader knows to be code:
    a line whose stripped text is in it is never removed. A first pass runs without the
    protected lines (:func:`protected_lines`); only when it finds something to remove are
    they worked out and the rules run again (they can only remove less).
    """
    if not (rules.trailing_block or rules.leading_block or rules.repeated_lines):
        return text, []
    doc = _Lines(text, rules, fmt, verbatim)
    keep, removals = _apply(doc)
    if removals and doc.protect():
        keep, removals = _apply(doc)
    notes = [Removal(note, note=note) for note in dict.fromkeys(doc.notes)]
    if not removals:
        return text, notes
    return _join(_kept_lines(doc.lines, keep)), removals + notes


def _apply(doc: _Lines) -> tuple[bytearray, list[Removal]]:
    rules, lines = doc.rules, doc.lines
    doc.notes = [doc.protect_note] if doc.protect_note else []  # the doubts of this pass
    keep = bytearray(b"\x01") * len(lines)
    removals: list[Removal] = []
    removed_words = 0

    def drop(rule: str, indexes: list[int], evidence: list[dict[str, Any]]) -> None:
        nonlocal removed_words
        indexes = [i for i in indexes if keep[i] and lines[i].strip() and not doc.guarded(i)]
        gone = sum(doc.words(i) for i in indexes)
        if not indexes or not doc.has_words(removed_words + gone + rules.min_words_left):
            return
        for i in indexes:
            keep[i] = 0
        removed_words += gone
        removals.append(Removal(rule, [lines[i] for i in indexes], evidence))

    if rules.trailing_block:
        start, evidence = _trailing(doc)
        if start < len(lines):
            drop("trailing_block", list(range(start, len(lines))), evidence)
    if rules.leading_block:
        end, evidence = _leading(doc)
        if end:
            drop("leading_block", list(range(end)), evidence)
    if rules.repeated_lines:
        first = FirstSeen(lambda j: lines[j].strip().casefold())
        repeats, evidence = [], []
        for i, line in enumerate(lines):
            if not keep[i] or not line.strip():
                continue
            if first.repeats(line.strip().casefold(), i):
                found = doc.evidence(i)
                # a navigation word alone, repeated, is a refrain or a heading ("Home",
                # "Menu" over each course): menus are the block rules' to find; so is a
                # line a verse runs on from, and a line saying more than chrome repeated
                # in a stanza (a chorus)
                if found and not _bare_navigation(found) and not _runs_on(doc, i) and not (
                        found["why"] == "chrome phrase" and not _pure_chrome(found["line"])
                        and _in_stanza(doc, i)):
                    repeats.append(i)
                    evidence.append(found)
        if repeats:
            drop("repeated_lines", repeats, evidence)
    return keep, removals


# ---------------------------------------------------------------- protected lines

_MARKDOWN_KEPT = frozenset(("fence", "code_block", "html_block", "heading_open", "table_open"))


@lru_cache(maxsize=1)
def _markdown() -> Any:
    # CommonMark with GFM tables; only the block rules run: code blocks, raw HTML, headings
    # and tables are block tokens, and inline parsing costs three times as much (measured)
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark").enable("table")
    parser.disable(["inline", "text_join"])
    return parser


def markdown_lines(text: str) -> set[int]:
    """Indexes of the lines of ``text`` (split at "\\n") in Markdown fenced code (fence lines
    included, backticks or tildes), indented code, raw HTML blocks, tables and headings,
    as markdown-it-py's CommonMark block parser finds them (code in lists and quotes too)."""
    found: set[int] = set()
    for token in _markdown().parse(text):
        if token.type in _MARKDOWN_KEPT and token.map:
            found.update(range(token.map[0], token.map[1]))
    return found


# A rendered manual page's header line: "LS(1)   User Commands   LS(1)"
_MAN_HEADER = re.compile(r"^(\S+)\((\w+)\)\s.*\s\1\(\2\)$")


def is_manual_page(lines: Sequence[str]) -> bool:
    """A manual page rendered as text (``man``, ``groff -Tutf8``): its first line is a
    ``NAME(SECTION) ... NAME(SECTION)`` header, or one of its first 10 non-blank lines is
    the heading ``NAME`` followed by an indented line."""
    seen = 0
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        if seen == 0 and _MAN_HEADER.match(line.strip()):
            return True
        if line == "NAME" and i + 1 < len(lines) and _INDENTED.match(lines[i + 1]):
            return True
        seen += 1
        if seen >= 10:
            return False
    return False


def protected_lines(text: str, lines: Sequence[str], fmt: str,
                    verbatim: frozenset[str] = frozenset()) -> frozenset[int]:
    """Indexes of the lines no rule may remove, beyond indented and code-like ones: lines
    whose stripped text is in ``verbatim``; outside HTML, every line of a manual page and
    the Markdown code, raw HTML, tables and headings (:func:`markdown_lines`; for plain
    text and JSON lines only when a code fence, three backticks or tildes, occurs)."""
    if fmt != "html" and is_manual_page(lines):
        return frozenset(range(len(lines)))
    return _listed_lines(text, lines, verbatim, needs_markdown(text, fmt))


def _listed_lines(text: str, lines: Sequence[str], verbatim: frozenset[str],
                  markdown: bool) -> frozenset[int]:
    """The lines in ``verbatim`` and, if ``markdown``, the Markdown blocks kept."""
    found: set[int] = set()
    if verbatim:
        found.update(i for i, line in enumerate(lines) if line.strip() in verbatim)
    if markdown:
        found |= markdown_lines(text)
    return frozenset(found)


def needs_markdown(text: str, fmt: str) -> bool:
    """Whether protection needs the Markdown blocks of a text: Markdown, or plain text and
    JSON lines holding a code fence (three backticks or tildes); never HTML."""
    return fmt != "html" and (fmt == "markdown" or "```" in text or "~~~" in text)


def markdown_affordable(chars: int, lines: int) -> bool:
    """Whether markdown-it-py may parse a text of this many characters and lines in memory
    bounded by its size: it keeps five lists of ints a line (about 200 bytes a line with the
    tokens: 93 times a Markdown text of 2 million "a" lines, measured as peak RSS), so a text
    is parsed when it has at most :data:`MARKDOWN_MAX_LINES` lines or lines of
    :data:`MARKDOWN_MIN_LINE_CHARS` characters on average (measured at that average:
    :func:`clean` of 200,000 lines peaks at 11 times the text)."""
    return lines <= MARKDOWN_MAX_LINES or chars >= MARKDOWN_MIN_LINE_CHARS * lines


_BLANK_RUN = re.compile(r"\n{3,}")


def _join(lines: Iterable[str]) -> str:
    text = "\n".join(lines)
    if "\n\n\n" in text:
        text = _BLANK_RUN.sub("\n\n", text)
    return text.strip("\n")


def line_key(line: str) -> str | None:
    """A short hash of a line for cross-document counting (None for blank lines): of its
    words, case-folded, joined by one space. A line over :data:`PIECE_CHARS` characters is
    hashed slice by slice (:func:`word_pieces`), never split whole into a list of words."""
    if len(line) <= PIECE_CHARS:
        normal = " ".join(line.casefold().split())
        if not normal:
            return None
        return hashlib.blake2b(normal.encode(), digest_size=8).hexdigest()
    digest = hashlib.blake2b(digest_size=8)
    empty = True
    for piece in word_pieces(line.casefold()):
        words = piece.split()
        if words:
            digest.update((" " if not empty else "").encode() + " ".join(words).encode())
            empty = False
    return None if empty else digest.hexdigest()


def source_group(source: str, url: str | None, publisher: str | None) -> str:
    """The 'same source' whose documents share boilerplate: publisher, web host or folder
    (one line of text without tabs: it is a field of the sorted line-count files)."""
    if publisher:
        group = "publisher:" + publisher.casefold()
    elif url and "://" in url:
        host = url.split("://", 1)[1].split("/", 1)[0].lower()
        group = "host:" + host.removeprefix("www.")
    else:
        group = "folder:" + (source.rsplit("/", 1)[0] if "/" in source else "")
    return " ".join(group.split())


def frequent_candidates(text: str, fmt: str,
                        verbatim: frozenset[str] = frozenset()) -> list[str]:
    """The sorted distinct :func:`line_key` of the lines ``frequent_lines`` may remove from
    a document: not indented, code-like or protected (:func:`protected_lines`); a text that
    is also on a protected line is not a candidate anywhere in the document.

    Candidates come from the first and last :data:`WINDOW_LINES` lines (chrome sits at the
    start and end of a page), so a document holds at most ``2 * WINDOW_LINES`` keys (about
    150 kB) however many lines it has; a document of fewer lines gives all of them.
    """
    doc = _Lines(text, Rules(), fmt, verbatim)
    doc.protect()
    n = len(doc.lines)
    head = min(n, WINDOW_LINES)
    keys: set[str] = set()
    blocked: set[str] = set()
    for i in (*range(head), *range(max(head, n - WINDOW_LINES), n)):
        key = line_key(doc.lines[i])
        if key is not None:
            (blocked if doc.guarded(i) else keys).add(key)
    keys -= blocked
    for i in range(head, n - WINDOW_LINES):  # the lines between the windows, if any
        if keys and doc.guarded(i):
            key = line_key(doc.lines[i])
            if key is not None:
                keys.discard(key)
    return sorted(keys)


def _frequent_entry(group: str, counts: tuple[int, int], line: str) -> dict[str, Any]:
    return {"line": line.strip(), "why": "frequent in its source", "source": group,
            "documents": counts[0], "of": counts[1]}


def remove_frequent(text: str, group: str, frequent: Mapping[str, tuple[int, int]],
                    rules: Rules, candidates: Iterable[str]) -> tuple[str, Removal | None]:
    """Drop the lines that recur across many documents of ``group``.

    ``frequent`` maps ``<group><TAB><line key>`` to (documents holding the line, documents
    of the group counted); ``candidates`` are the keys this document may lose
    (:func:`frequent_candidates`, worked out when it was read).

    Memory: the lines of a long text are found by their offsets (:func:`split_lines`), and
    equal lines share one string and one evidence entry (:func:`_memo`), so a document that
    repeats a frequent line many times costs pointers, not dicts, per line.
    """
    allowed = set(candidates)
    lines = split_lines(text)
    keep = bytearray(b"\x01") * len(lines)
    gone: list[str] = []
    evidence: list[dict[str, Any]] = []
    gone_words = 0
    same: dict[str, str] = {}
    entries: dict[str, dict[str, Any]] = {}
    for i, line in enumerate(lines):
        key = line_key(line)
        if key is None or key not in allowed:
            continue
        counts = frequent.get(f"{group}\t{key}")
        if counts is not None:
            keep[i] = 0
            gone.append(_memo(same, line, str))
            evidence.append(_memo(entries, line, partial(_frequent_entry, group, counts)))
            gone_words += word_count(line)
    if not gone:
        return text, None
    total = word_count(text)
    left = total - gone_words  # words never span lines
    if left < rules.min_words_left or total - left > rules.frequent_max_share * total:
        # most of the document recurs in its source: near-copies of one page, not chrome
        return text, None
    return _join(_kept_lines(lines, keep)), Removal("frequent_lines", gone, evidence)
