"""Boilerplate removal from plain text: page chrome that survives text extraction.

Rules, each switchable in ``[boilerplate]`` of the corpus config and each explainable (every
removed line is reported with the rule that removed it):

``trailing_block``
    The block after the body of a page: related-article lists, newsletter and donation
    prompts, share and navigation lines. Walking up from the end, link-like lines (short,
    no sentence ending, or a short line with a chrome phrase) are taken; a prose line is
    taken only when link-like lines stand on both sides of it (a teaser under a headline)
    and a chrome line ("Related articles", "Newsletter") stands above it in the block; the
    walk stops at the first prose line with prose above it, which is the body.
``leading_block``
    Navigation at the top: one run of very short lines ("Home", "News", "Skip to
    content", "Home > World > Europe") before the first blank line, at least one of them
    a navigation word, a breadcrumb or chrome.
``repeated_lines``
    Later copies of a link-like line already seen in the document.
``frequent_lines``
    Lines found in many documents of the same source (publisher, web host or top folder),
    counted over the whole corpus in a streaming pass (see :mod:`corpuspack.build`); each
    distinct text counts once.

No rule removes a document whole: a block is kept when removing it would leave fewer than
``min_words_left`` words, and frequent lines are kept in a document where they make up more
than ``frequent_max_share`` of its words (near-copies of one page share all their lines).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

# Phrases of page chrome, in the languages the fixtures cover; matched anywhere in a line, and
# only in short lines or lines that are not sentences (see _kind), so that prose mentioning
# cookies, comments or copyright is not taken for chrome.
BOILERPLATE = re.compile(
    r"\b(newsletter|subscribe|unsubscribe|sign ?up|log ?in|sign ?in|follow us|share (this|on)|"
    r"related (articles?|posts?|stories|content)|read more|more from|recommended for you|"
    r"advertisement|cookie (policy|settings|preferences)|(we|this site) uses? cookies|"
    r"accept (all )?cookies|privacy policy|terms of (use|service)|terms and conditions|"
    r"all rights reserved|copyright (©|\(c\)|\d{4})|consider supporting|"
    r"support (us|our (work|journalism|newsroom|mission))|donate|donation|"
    r"leave a (comment|reply)|\d+ comments?|comments are closed|no comments|posted in|tags?:|"
    r"back to top|skip to (main )?content|print this|email this|click here|"
    r"abonnieren|anmelden|weiterlesen|datenschutz|impressum|"
    r"s'abonner|abonnez-vous|lire la suite|mentions l[ée]gales|"
    r"suscr[ií]bete|leer m[áa]s|aviso legal)\b|©",
    re.IGNORECASE,
)
NAVIGATION = re.compile(r"^(home|menu|search|skip to (main )?content|main menu|navigation)$|"
                        r"\s[>»|/·•]\s", re.IGNORECASE)
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
    """``len(text.split())`` without holding the list (:func:`word_pieces`)."""
    return sum(len(piece.split()) for piece in word_pieces(text))


def iter_lines(text: str, size: int = PIECE_CHARS) -> Iterator[str]:
    """The lines of ``text.split("\n")``, in order, split from slices of about ``size``
    characters (a line longer than that makes a longer slice)."""
    start, end = 0, len(text)
    while start + size < end:
        cut = text.find("\n", start + size)
        if cut < 0:
            break
        yield from text[start:cut].split("\n")
        start = cut + 1
    yield from (text[start:] if start else text).split("\n")


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


@dataclass(frozen=True)
class Rules:
    """Which rules run, and their parameters (``[boilerplate]`` in the config)."""

    trailing_block: bool = True
    leading_block: bool = True
    repeated_lines: bool = True
    frequent_lines: bool = True
    min_block_lines: int = 3
    link_max_words: int = 15
    phrase_max_words: int = 8
    nav_max_words: int = 4
    min_words_left: int = 20
    frequent_min_docs: int = 10
    frequent_min_fraction: float = 0.05
    frequent_max_share: float = 0.5
    audit: bool = False


@dataclass
class Removal:
    """What one rule removed from one document."""

    rule: str
    lines: list[str] = field(default_factory=list)


def _kind(line: str, words: int, rules: Rules) -> str:
    """'link' (link-like or chrome), 'prose' (a sentence or a long line) or 'other'."""
    stripped = line.strip()
    ends = stripped.endswith(TERMINAL)
    if words <= 30 and BOILERPLATE.search(stripped) and (
            words <= rules.phrase_max_words or not ends):
        return "link"
    if words <= rules.link_max_words and not ends:
        return "link"
    if (words >= 8 and ends) or words >= 30:
        return "prose"
    return "other"


class _Lines:
    """A document's lines, with word counts and kinds worked out only when asked for."""

    def __init__(self, text: str, rules: Rules) -> None:
        self.lines = text.split("\n")
        self.rules = rules
        self._words: dict[int, int] = {}
        self._kinds: dict[int, str | None] = {}

    def words(self, i: int) -> int:
        if i not in self._words:
            self._words[i] = word_count(self.lines[i])
        return self._words[i]

    def kind(self, i: int) -> str | None:
        if i not in self._kinds:
            line = self.lines[i]
            self._kinds[i] = _kind(line, self.words(i), self.rules) if line.strip() else None
        return self._kinds[i]

    def chrome(self, i: int) -> bool:
        """A link-like line with a chrome phrase ("Related articles", "Newsletter")."""
        return self.kind(i) == "link" and BOILERPLATE.search(self.lines[i]) is not None


def _trailing(doc: _Lines) -> int:
    """Index of the first line of the trailing block (len(lines) when there is none).

    Prose lines between link-like lines (teasers under headlines) belong to the block only
    below a chrome line such as "Related articles": above it, heading + paragraph sections
    of the article itself have the same shape.
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
    teasers: list[int] = []
    below = None  # kind of the non-blank line after line i
    i = above(n)
    while i >= 0:
        kind = doc.kind(i)
        previous = above(i)
        if kind != "link":
            if not (below == "link" and previous >= 0 and doc.kind(previous) == "link"
                    and start < n):
                break
            teasers.append(i)
        start = i
        below = kind
        i = previous
    if teasers:
        anchor = next((i for i in range(start, n) if doc.lines[i].strip() and doc.chrome(i)), n)
        unanchored = [i for i in teasers if i < anchor]
        if unanchored:
            start = max(unanchored) + 1
    links = sum(1 for i in range(start, n) if doc.kind(i) == "link")
    return start if links >= doc.rules.min_block_lines else n


def _leading(doc: _Lines) -> int:
    """Index of the first line after the leading navigation block (0 when there is none).

    The block is one run of very short lines before the first blank line, and one of them
    must look like navigation ("Home", "Menu", a breadcrumb) or chrome, so that a title,
    a byline and a date are not taken for a menu.
    """
    end, taken, marked = 0, 0, False
    for i, line in enumerate(doc.lines):
        stripped = line.strip()
        if not stripped:
            if taken:
                break  # a menu is one run of lines; what follows a blank line is content
            continue
        navigation = NAVIGATION.search(stripped) is not None
        if not (navigation or (doc.words(i) <= doc.rules.nav_max_words
                               and not stripped.endswith(TERMINAL))):
            break
        marked = marked or navigation or doc.chrome(i)
        end, taken = i + 1, taken + 1
    return end if taken >= doc.rules.min_block_lines and marked else 0


def clean(text: str, rules: Rules) -> tuple[str, list[Removal]]:
    """Remove the page chrome of one document; return the text and what was removed."""
    if not (rules.trailing_block or rules.leading_block or rules.repeated_lines):
        return text, []
    doc = _Lines(text, rules)
    lines = doc.lines
    keep = bytearray(b"\x01") * len(lines)
    removals: list[Removal] = []
    total = word_count(text)
    removed_words = 0

    def drop(rule: str, indexes: list[int]) -> None:
        nonlocal removed_words
        indexes = [i for i in indexes if keep[i] and lines[i].strip()]
        gone = sum(doc.words(i) for i in indexes)
        if not indexes or total - removed_words - gone < rules.min_words_left:
            return
        for i in indexes:
            keep[i] = 0
        removed_words += gone
        removals.append(Removal(rule, [lines[i] for i in indexes]))

    if rules.trailing_block:
        drop("trailing_block", list(range(_trailing(doc), len(lines))))
    if rules.leading_block:
        drop("leading_block", list(range(_leading(doc))))
    if rules.repeated_lines:
        first = FirstSeen(lambda j: lines[j].strip().casefold())
        repeats = []
        for i, line in enumerate(lines):
            if not keep[i] or not line.strip():
                continue
            if first.repeats(line.strip().casefold(), i) and doc.kind(i) == "link":
                repeats.append(i)
        drop("repeated_lines", repeats)
    if not removals:
        return text, []
    return _join(line for line, k in zip(lines, keep, strict=True) if k), removals


def _join(lines: Iterable[str]) -> str:
    text = "\n".join(lines)
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n")


def line_key(line: str) -> str | None:
    """A short hash of a line for cross-document counting (None for blank lines)."""
    normal = " ".join(line.casefold().split())
    if not normal:
        return None
    return hashlib.blake2b(normal.encode(), digest_size=8).hexdigest()


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


def remove_frequent(text: str, group: str, frequent: frozenset[str],
                    rules: Rules) -> tuple[str, Removal | None]:
    """Drop the lines that recur across many documents of ``group``."""
    lines = text.split("\n")
    gone = [i for i, line in enumerate(lines)
            if (key := line_key(line)) is not None and f"{group}\t{key}" in frequent]
    if not gone:
        return text, None
    removed = set(gone)
    total = word_count(text)
    left = sum(word_count(line) for i, line in enumerate(lines) if i not in removed)
    if left < rules.min_words_left or total - left > rules.frequent_max_share * total:
        # most of the document recurs in its source: near-copies of one page, not chrome
        return text, None
    return (_join(line for i, line in enumerate(lines) if i not in removed),
            Removal("frequent_lines", [lines[i] for i in gone]))
