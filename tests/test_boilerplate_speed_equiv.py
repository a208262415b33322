"""The shortcuts of corpuspack.boilerplate give the answers of the rules they stand for.

Each shortcut skips a regular-expression search when a cheap test shows it finds nothing;
these tests hold the cheap tests to that promise, over every character where case matters
and over hostile lines.
"""

from __future__ import annotations

import re
import sys

import pytest

from corpuspack.boilerplate import _URL, _may_hold_url

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
