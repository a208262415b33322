"""Per-document quality signals (Gopher and C4 style) and the optional filters on them.

Signals are columns of every document, so that users can filter later with any tool; the
filters set in ``[quality]`` drop documents at build time, and the build report records
each dropped document with the rule and the value that failed it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from typing import Any

from corpuspack import repetition
from corpuspack.boilerplate import TERMINAL, FirstSeen, iter_lines, word_pieces

BULLETS = ("•", "-", "*", "‣", "·", "–", "▪", "●")
# scripts written without spaces between words: word-based rules say nothing about them
NO_SPACES = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo", "wuu", "yue"})
_LETTER = re.compile(r"[^\W\d_]")
# rules counted per word: meaningless where words are not spaced (the n-gram signals count
# each CJK character as a word, so long katakana words or set phrases look like repetition)
PER_WORD = frozenset({"n_words", "mean_word_length", "symbol_ratio", "non_alpha_word_fraction",
                      *(name for name in repetition.NAMES if "gram" in name)})
SIGNALS = ("mean_word_length", "symbol_ratio", "punct_line_fraction",
           "duplicate_line_fraction", "non_alpha_word_fraction", "bullet_line_fraction",
           "ellipsis_line_fraction", "short_line_fraction", *repetition.NAMES)


def signals(text: str, words: list[str] | None = None,
            repetition_signals: bool = False) -> dict[str, float | None]:
    """The quality signals of a text, each rounded to 4 decimals (``words``: its
    whitespace-separated words, when the caller has them already).

    mean_word_length: characters per whitespace-separated word (Gopher: 3 to 10).
    symbol_ratio: "#" and ellipses per word (Gopher: at most 0.1).
    punct_line_fraction: lines ending in sentence punctuation (C4 keeps only such lines).
    duplicate_line_fraction: lines that repeat an earlier line (Gopher: at most 0.3).
    non_alpha_word_fraction: words without a letter (Gopher: at most 0.2).
    bullet_line_fraction: lines starting with a bullet (Gopher: at most 0.9).
    ellipsis_line_fraction: lines ending in an ellipsis (Gopher: at most 0.3).
    short_line_fraction: lines under 30 characters (FineWeb: at most 0.67).

    With ``repetition_signals`` also those of :mod:`corpuspack.repetition` (else None):
    they cost about as much as all the rest of a build's per-document work.

    Memory: without ``words``, words and lines are taken from slices of the text
    (:func:`~corpuspack.boilerplate.word_pieces`), and lines seen are remembered by hash
    (:class:`~corpuspack.boilerplate.FirstSeen`): a few MiB plus about 110 bytes per
    distinct line, whatever the size of the text.
    """
    if words is None:
        n_words = word_chars = non_alpha = 0
        for piece in word_pieces(text):
            n, chars, no_letter = _word_counts(piece.split())
            n_words, word_chars, non_alpha = n_words + n, word_chars + chars, non_alpha + no_letter
    else:
        n_words, word_chars, non_alpha = _word_counts(words)
    n_words = max(1, n_words)
    lines, duplicates, punct, bullets, ellipses, short = _line_counts(text)
    n_lines = max(1, lines)
    values = {
        "mean_word_length": word_chars / n_words,
        "symbol_ratio": (text.count("#") + text.count("...") + text.count("…")) / n_words,
        "punct_line_fraction": punct / n_lines,
        "duplicate_line_fraction": duplicates / n_lines,
        "non_alpha_word_fraction": non_alpha / n_words,
        "bullet_line_fraction": bullets / n_lines,
        "ellipsis_line_fraction": ellipses / n_lines,
        "short_line_fraction": short / n_lines,
    }
    if repetition_signals:
        values.update(repetition.signals(text))
    out: dict[str, float | None] = dict.fromkeys(repetition.NAMES)
    out.update((k, round(v, 4)) for k, v in values.items())
    return out


_LENGTH = (1 << 40) - 1
# Below this many characters the lines are split at once and remembered in a set (faster);
# above, they are taken from slices and remembered by hash (bounded memory).
SMALL_TEXT = 1 << 20


def _line_counts(text: str) -> tuple[int, int, int, int, int, int]:
    """(lines, repeated lines, ending in punctuation, bullets, ellipses, short) over the
    non-blank lines of ``text``."""
    lines = duplicates = punct = bullets = ellipses = short = offset = 0
    small = len(text) <= SMALL_TEXT
    seen_set: set[str] = set()
    # a line is found again from its offset and length, packed in one int
    seen = FirstSeen(lambda at: text[at >> 40 : (at >> 40) + (at & _LENGTH)].strip())
    for raw in (text.split("\n") if small else iter_lines(text)):
        at, offset = offset, offset + len(raw) + 1
        line = raw.strip()
        if not line:
            continue
        lines += 1
        if small:
            duplicates += line in seen_set
            seen_set.add(line)
        else:
            duplicates += seen.repeats(line, at << 40 | len(raw))
        punct += line.endswith(TERMINAL)
        bullets += line.startswith(BULLETS)
        ellipses += line.endswith(("...", "…"))
        short += len(line) < 30
    return lines, duplicates, punct, bullets, ellipses, short


def _word_counts(words: list[str]) -> tuple[int, int, int]:
    """How many words, their characters, and how many have no letter."""
    non_alpha = sum(1 for w in words if not (w.isalpha() or _LETTER.search(w)))
    return len(words), sum(map(len, words)), non_alpha


@dataclass(frozen=True)
class Filters:
    """Thresholds of ``[quality]``; unset ones do not filter. ``preset = "gopher"`` sets the
    Gopher rules (Rae et al., 2021) for the ones left unset."""

    min_words: int | None = None
    max_words: int | None = None
    min_mean_word_length: float | None = None
    max_mean_word_length: float | None = None
    max_symbol_ratio: float | None = None
    min_punct_line_fraction: float | None = None
    max_duplicate_line_fraction: float | None = None
    max_non_alpha_word_fraction: float | None = None
    max_bullet_line_fraction: float | None = None
    max_ellipsis_line_fraction: float | None = None
    max_short_line_fraction: float | None = None
    max_duplicate_paragraph_fraction: float | None = None
    max_duplicate_line_char_fraction: float | None = None
    max_duplicate_paragraph_char_fraction: float | None = None
    max_top_2gram_char_fraction: float | None = None
    max_top_3gram_char_fraction: float | None = None
    max_top_4gram_char_fraction: float | None = None
    max_duplicate_5gram_char_fraction: float | None = None
    max_duplicate_6gram_char_fraction: float | None = None
    max_duplicate_7gram_char_fraction: float | None = None
    max_duplicate_8gram_char_fraction: float | None = None
    max_duplicate_9gram_char_fraction: float | None = None
    max_duplicate_10gram_char_fraction: float | None = None
    repetition_signals: bool = False

    @property
    def active(self) -> bool:
        """Whether any threshold is set."""
        return any(getattr(self, f.name) is not None for f in fields(self)
                   if f.name.startswith(("min_", "max_")))

    @property
    def wants_repetition(self) -> bool:
        """Whether the repetition signals are computed: asked for, or a threshold needs them."""
        return self.repetition_signals or any(
            getattr(self, f"max_{name}") is not None for name in repetition.NAMES)


GOPHER = Filters(min_words=50, max_words=100_000, min_mean_word_length=3,
                 max_mean_word_length=10, max_symbol_ratio=0.1,
                 max_duplicate_line_fraction=0.3, max_non_alpha_word_fraction=0.2,
                 max_bullet_line_fraction=0.9, max_ellipsis_line_fraction=0.3,
                 max_duplicate_paragraph_fraction=0.3, max_duplicate_line_char_fraction=0.2,
                 max_duplicate_paragraph_char_fraction=0.2, max_top_2gram_char_fraction=0.2,
                 max_top_3gram_char_fraction=0.18, max_top_4gram_char_fraction=0.16,
                 max_duplicate_5gram_char_fraction=0.15, max_duplicate_6gram_char_fraction=0.14,
                 max_duplicate_7gram_char_fraction=0.13, max_duplicate_8gram_char_fraction=0.12,
                 max_duplicate_9gram_char_fraction=0.11,
                 max_duplicate_10gram_char_fraction=0.10)
PRESETS = {"gopher": GOPHER}


def filters_from(table: dict[str, Any]) -> Filters:
    """Filters from a ``[quality]`` table (unknown keys are a KeyError with the name)."""
    values = dict(table)
    preset = values.pop("preset", None)
    known = {f.name for f in fields(Filters)}
    for key in values:
        if key not in known:
            raise KeyError(key)
    base = PRESETS[preset] if preset else Filters()
    merged = {f.name: values.get(f.name, getattr(base, f.name)) for f in fields(Filters)}
    return Filters(**merged)


def failed(filters: Filters, n_words: int, language: str | None,
           values: dict[str, float | None]) -> str | None:
    """The first filter a document fails, as a reason, or None when it passes them all.

    Each field ``min_X`` / ``max_X`` of :class:`Filters` bounds the signal ``X`` (``words``:
    ``n_words``), checked in the order of the fields.
    """
    if not filters.active:
        return None
    word_based = language not in NO_SPACES
    for f in fields(filters):
        limit = getattr(filters, f.name)
        if limit is None or not f.name.startswith(("min_", "max_")):
            continue
        bound, name = f.name.split("_", 1)
        name = "n_words" if name == "words" else name
        value = n_words if name == "n_words" else values[name]
        if value is None or math.isnan(value) or (not word_based and name in PER_WORD):
            continue
        is_min = bound == "min"
        if (is_min and value < limit) or (not is_min and value > limit):
            return f"quality: {name} {value:g} {'<' if is_min else '>'} {limit:g}"
    return None
