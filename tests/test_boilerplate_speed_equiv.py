"""The shortcuts of corpuspack.boilerplate give the answers of the rules they stand for.

Each shortcut skips a regular-expression search when a cheap test shows it finds nothing;
these tests hold the cheap tests to that promise, over every character where case matters
and over hostile lines.
"""

from __future__ import annotations

import random
import re
import sys
from functools import lru_cache
from itertools import product
from re import _constants as sre
from re import _parser as sre_parse
from typing import Any

import pytest

from corpuspack.boilerplate import (
    _FOLD,
    _URL,
    BOILERPLATE,
    PHRASE_NEEDLES,
    Rules,
    _fold,
    _kind,
    _Lines,
    _may_hold_url,
    chrome_phrase,
    looks_like_code,
)

# Lines where a URL, a chrome phrase or a case trick sits
LINES = [
    "", " ", "Read more", "READ MORE at https://example.org/x", "see www.example.org",
    "WWW.EXAMPLE.ORG", "wWw.x", "ww w.x", "http:/x", "mailto:me@example.org", "x://",
    "a+b.c-d://e", "ftp://", "https://", "://", "www.", "the www", "Subscribe: http://x.y/z",
    "Ｗｗｗ.x", "ｗww.x", "\u0130stanbul www.x.tr", "caf\u00e9://x", "ok \u212aelvin",
    "\u017fhare thi\u017f article", "Share on Facebook", "Home > World", "© 2024",
]


def _case_partners(letter: str) -> set[str]:
    """Every character that ``re.IGNORECASE`` matches to ``letter`` (all of Unicode)."""
    pattern = re.compile(re.escape(letter), re.IGNORECASE)
    return {chr(c) for c in range(sys.maxunicode + 1) if pattern.fullmatch(chr(c))}


def test_only_w_and_W_match_w_ignoring_case() -> None:
    # _may_hold_url looks for "www." in str.lower(): that needs every character the
    # IGNORECASE search takes for "w" to lower to "w"
    assert _case_partners("w") == {"w", "W"}


@pytest.mark.parametrize("line", LINES)
def test_may_hold_url_is_false_only_without_a_url(line: str) -> None:
    if _URL.search(line):
        assert _may_hold_url(line)
    if not _may_hold_url(line):
        assert _URL.sub(" ", line) == line


# ---------------------------------------------------------------- chrome phrases

def _expand(items: Any) -> set[str]:
    """Every string a parsed pattern (re's own parser) matches, a repeat taken at its least
    count and once more, a digit as "7": the pattern's phrases, with anchors left out."""
    found = {""}
    for op, av in items:
        if op is sre.LITERAL:
            options = {chr(av)}
        elif op is sre.IN:
            options = set()
            for kind, value in av:
                if kind is sre.LITERAL:
                    options.add(chr(value))
                elif kind is sre.CATEGORY and value is sre.CATEGORY_DIGIT:
                    options.add("7")
                else:
                    raise AssertionError(f"unexpected set member {kind} {value}")
        elif op is sre.BRANCH:
            options = set().union(*(_expand(branch) for branch in av[1]))
        elif op is sre.SUBPATTERN:
            options = _expand(av[-1])
        elif op is sre.MAX_REPEAT:
            low, high, sub = av
            once = _expand(sub)
            options = set()
            for count in {low, min(low + 1, high)}:
                options |= {"".join(parts) for parts in product(once, repeat=count)}
        elif op is sre.AT:
            options = {""}
        else:
            raise AssertionError(f"unexpected pattern item {op}")
        found = {a + b for a in found for b in options}
    return found


@lru_cache(maxsize=1)
def _phrases() -> list[str]:
    return sorted(_expand(sre_parse.parse(BOILERPLATE.pattern, BOILERPLATE.flags).data))


def test_every_phrase_of_the_pattern_holds_a_needle() -> None:
    phrases = _phrases()
    assert len(phrases) > 200 and "read more" in phrases and "7 comments" in phrases
    for phrase in phrases:
        # "copyright (c)" and "copyright ©" end in no word boundary: found before a letter
        assert BOILERPLATE.search(phrase) or BOILERPLATE.search(phrase + "a"), phrase
        assert any(needle in _fold(phrase) for needle in PHRASE_NEEDLES), phrase


def test_folding_keeps_what_ignoring_case_matches() -> None:
    # a needle character matched by the case-insensitive search is that character once
    # folded, and folding maps each character to one: a needle in a match is one in the fold
    chars = sorted(set("".join(PHRASE_NEEDLES)))
    partners = re.compile("[" + re.escape("".join(chars)) + "]", re.IGNORECASE)
    singles = {char: re.compile(re.escape(char), re.IGNORECASE) for char in chars}
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        assert len(_fold(char)) == 1, hex(code)
        if partners.fullmatch(char):
            for needle_char, single in singles.items():
                if single.fullmatch(char):
                    assert _fold(char) == needle_char, (hex(code), needle_char)
    assert set(_FOLD) == {0x130, 0x131, 0x17F}


def _variants(phrase: str) -> list[str]:
    tricks = [phrase, phrase.upper(), phrase.title(), phrase.swapcase(),
              phrase.replace("i", "\u0130"), phrase.replace("i", "\u0131"),
              phrase.replace("s", "\u017f"), phrase.replace("k", "\u212a"),
              phrase.upper().replace("I", "\u0130").replace("S", "\u017f")]
    return [*tricks, *(f"Caf\u00e9 \u00bb {trick} \u00ab" for trick in tricks),
            *(f"{trick[:1]}\u00a0{trick[1:]}" for trick in tricks)]


def test_chrome_phrase_answers_as_the_pattern() -> None:
    lines = [*LINES, "Design the sign-in page", "a blog of logic", "stage tags",
             "Tags: a, b", "tag:x", "DONATE", "Leer más", "LEER MÁS", "suscríbete",
             "SUSCRÍBETE", "Mentions légales", "12 Comments", "copyright (c) 1999"]
    for text in [*lines, *(v for phrase in _phrases() for v in _variants(phrase))]:
        found, expected = chrome_phrase(text), BOILERPLATE.search(text)
        assert (found and found.span()) == (expected and expected.span()), text


# ---------------------------------------------------------------- signs of code

# The signs of code as first written: one alternation and four patterns that may start at
# any character (looks_like_code searches equivalent patterns that start with a string)
_CODE_ANY = re.compile(r"[{}=]|;$|;\S|->|::")
_CODE_SIGNS = (re.compile(r"[\w\])]\("), re.compile(r"[^\W_]_\w"), re.compile(r"</?[a-zA-Z]"),
               re.compile(r"(?:^|\s)--?[a-zA-Z]"))
_CODE_START = re.compile(r"\s*(?:\$ |>>>|#!|#include|//|/\*)")


def _looks_like_code_as_written(line: str) -> bool:
    return bool(_CODE_ANY.search(line) or _CODE_START.match(line)
                or any(pattern.search(line) for pattern in _CODE_SIGNS))


def test_looks_like_code_answers_as_the_patterns_first_written() -> None:
    # short strings over the characters the patterns look at: every neighbourhood of a sign
    alphabet = "a Z_9é-(<>/]):;=${}#!\t\u00a0\u2028\n."
    rng = random.Random(8)
    lines = [*LINES, "f(x)", "a_b", "-l", "--flag", " -x", "a-b", "a--b", "\u00a0-x", "_x", "x_",
             "é_é", "]( ", ")(", "<b>", "< b", "x;", "x;\n", "x; y", ";", "->", "a::b", "$ ls",
             "  >>> x", "#!/bin/sh", "// c", "/* c", "#include"]
    lines += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
              for _ in range(50_000)]
    for line in lines:
        assert looks_like_code(line) == _looks_like_code_as_written(line), repr(line)


# ---------------------------------------------------------------- kinds of long lines

@pytest.mark.parametrize("limits", [{}, {"link_max_words": 40, "phrase_max_words": 35}])
def test_kinds_of_long_lines_as_with_every_word_counted(limits: dict[str, int]) -> None:
    # a line over 256 characters has its words counted only up to the largest limit
    rules = Rules(**limits)
    lines = []
    for words in range(1, 90):
        for end in ("", ".", " read more", " newsletter."):
            lines.append(" ".join(["wordy" * 12] * words) + end)
            lines.append(" ".join(["w"] * words) + end)
    doc = _Lines("\n".join(lines), rules, "text")
    for i, line in enumerate(lines):
        assert doc.kind(i) == _kind(line, len(line.split()), rules), (i, line[-20:])
