"""Per-document quality signals (Gopher, C4 and FineWeb style) and the filters on them.

Signals are columns of every document, so that users can filter later with any tool; the
filters set in ``[quality]`` drop documents at build time, and the build report records
each dropped document with the rule and the value that failed it. Which signals exist, their
thresholds and presets come from the registry :data:`corpuspack.signals.REGISTRY`; this
module computes them (:data:`COMPUTE`, one function per compute group) and derives the
filters (:class:`Filters`, :data:`LIMITS`, :data:`PRESETS`, :func:`failed`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import Field, dataclass, field, fields, make_dataclass
from itertools import filterfalse
from typing import TYPE_CHECKING, Any, ClassVar

from corpuspack import repetition
from corpuspack.boilerplate import TERMINAL, FirstSeen, iter_lines, word_pieces
from corpuspack.signals import LINES, NAMES, ON_DEMAND, REGISTRY, REPETITION, WORDS, Signal

BULLETS = ("•", "-", "*", "‣", "·", "–", "▪", "●")
# scripts written without spaces between words: word-based rules say nothing about them
NO_SPACES = frozenset({"zh", "ja", "th", "lo", "km", "my", "bo", "wuu", "yue"})
_LETTER = re.compile(r"[^\W\d_]")
SIGNALS = NAMES  # the signal columns, in registry (and column) order
# rules counted per word: meaningless where words are not spaced (the n-gram signals count
# each CJK character as a word, so long katakana words or set phrases look like repetition)
PER_WORD = frozenset({"n_words", *(s.name for s in REGISTRY if s.per_word)})

# One function per compute group of the registry: (text, its words when the caller has them)
# -> the unrounded values of the group's signals.
Compute = Callable[[str, list[str] | None], dict[str, float]]


def _word_signals(text: str, words: list[str] | None) -> dict[str, float]:
    if words is None:
        n_words = word_chars = non_alpha = 0
        for piece in word_pieces(text):
            n, chars, no_letter = _word_counts(piece.split())
            n_words, word_chars, non_alpha = n_words + n, word_chars + chars, non_alpha + no_letter
    else:
        n_words, word_chars, non_alpha = _word_counts(words)
    n_words = max(1, n_words)
    return {
        "mean_word_length": word_chars / n_words,
        "symbol_ratio": (text.count("#") + text.count("...") + text.count("…")) / n_words,
        "non_alpha_word_fraction": non_alpha / n_words,
    }


def _line_signals(text: str, words: list[str] | None) -> dict[str, float]:
    lines, duplicates, punct, bullets, ellipses, short = _line_counts(text)
    n_lines = max(1, lines)
    return {
        "punct_line_fraction": punct / n_lines,
        "duplicate_line_fraction": duplicates / n_lines,
        "bullet_line_fraction": bullets / n_lines,
        "ellipsis_line_fraction": ellipses / n_lines,
        "short_line_fraction": short / n_lines,
    }


def _repetition_signals(text: str, words: list[str] | None) -> dict[str, float]:
    return repetition.signals(text)


COMPUTE: dict[str, Compute] = {WORDS: _word_signals, LINES: _line_signals,
                               REPETITION: _repetition_signals}


def signals(text: str, words: list[str] | None = None,
            repetition_signals: bool = False) -> dict[str, float | None]:
    """The quality signals of a text (:data:`corpuspack.signals.REGISTRY`, in its order),
    each rounded to 4 decimals (``words``: its whitespace-separated words, when the caller
    has them already).

    The signals of an on-demand group (:data:`corpuspack.signals.ON_DEMAND`: those of
    :mod:`corpuspack.repetition`) are None unless ``repetition_signals``: they cost about as
    much as all the rest of a build's per-document work.

    Memory: without ``words``, words and lines are taken from slices of the text
    (:func:`~corpuspack.boilerplate.word_pieces`), and lines seen are remembered by hash
    (:class:`~corpuspack.boilerplate.FirstSeen`): a few MiB plus about 110 bytes per
    distinct line, whatever the size of the text.
    """
    values: dict[str, float] = {}
    for group, compute in COMPUTE.items():
        if repetition_signals or group not in ON_DEMAND:
            values.update(compute(text, words))
    return {name: round(values[name], 4) if name in values else None for name in NAMES}


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
    # most words are all letters: only the rest (a sixth of the benchmark's words) meet
    # the generator and the regex
    non_alpha = sum(1 for w in filterfalse(str.isalpha, words) if _LETTER.search(w) is None)
    return len(words), sum(map(len, words)), non_alpha


@dataclass(frozen=True)
class Limit:
    """One threshold of ``[quality]``: its key (``min_NAME``, ``max_NAME``), its bound, the
    column it bounds (``n_words`` for ``min_words``/``max_words``) and that column's
    registry entry (None for the word count), and the Gopher rules' value for it."""

    key: str
    bound: str
    column: str
    signal: Signal | None
    gopher: float | None

    @property
    def per_word(self) -> bool:
        return self.column in PER_WORD

    @property
    def repetition(self) -> bool:
        return self.signal is not None and self.signal.repetition


# The word count is a column of its own (n_words), not a signal: its limits are declared
# here, with the Gopher rules' 50 to 100,000 words.
WORD_LIMITS = (Limit("min_words", "min", "n_words", None, 50),
               Limit("max_words", "max", "n_words", None, 100_000))
# Every threshold, in the order failed() checks them: words, then each signal's, registry
# order, min before max.
LIMITS: tuple[Limit, ...] = WORD_LIMITS + tuple(
    Limit(f"{bound}_{s.name}", bound, s.name, s,
          s.gopher_min if bound == "min" else s.gopher_max)
    for s in REGISTRY for bound in s.limits)


class _FilterRules:
    """What :class:`Filters` do with their thresholds (the fields are generated)."""

    repetition_signals: bool

    @property
    def active(self) -> bool:
        """Whether any threshold is set."""
        return any(getattr(self, limit.key) is not None for limit in LIMITS)

    @property
    def wants_repetition(self) -> bool:
        """Whether the repetition signals are computed: asked for, or a threshold needs them."""
        return self.repetition_signals or any(
            getattr(self, limit.key) is not None for limit in LIMITS if limit.repetition)


_FILTERS_DOC = """Thresholds of ``[quality]``; unset ones do not filter. ``preset = "gopher"``
    sets the Gopher rules (Rae et al., 2021) for the ones left unset.

    Fields, generated from :data:`LIMITS`: ``min_words``, ``max_words`` (int or None), then
    ``min_NAME`` / ``max_NAME`` (float or None) for each signal of the registry that offers
    them, then ``repetition_signals`` (compute the repetition signals even when no limit is
    set on them)."""

if TYPE_CHECKING:
    # What type checkers see: the limit fields are generated from the registry below.
    class Filters(_FilterRules):
        __dataclass_fields__: ClassVar[dict[str, Field[Any]]]
        min_words: int | None
        max_words: int | None

        def __init__(self, **values: Any) -> None: ...

        def __getattr__(self, key: str) -> float | None: ...
else:
    Filters = make_dataclass(
        "Filters",
        [(limit.key, int | None if limit.signal is None else float | None, field(default=None))
         for limit in LIMITS] + [("repetition_signals", bool, field(default=False))],
        bases=(_FilterRules,), namespace={"__module__": __name__, "__doc__": _FILTERS_DOC},
        frozen=True)

GOPHER = Filters(**{limit.key: limit.gopher for limit in LIMITS})
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

    Each :data:`LIMITS` entry bounds its column (``min_words``/``max_words``: ``n_words``;
    ``min_X`` / ``max_X``: signal ``X`` in ``values``), checked in that order; limits of
    per-word signals are not applied to languages written without spaces (:data:`NO_SPACES`).
    """
    if not filters.active:
        return None
    word_based = language not in NO_SPACES
    for limit in LIMITS:
        bound = getattr(filters, limit.key)
        if bound is None:
            continue
        name = limit.column
        value = n_words if limit.signal is None else values[name]
        if value is None or math.isnan(value) or (not word_based and limit.per_word):
            continue
        is_min = limit.bound == "min"
        if (is_min and value < bound) or (not is_min and value > bound):
            return f"quality: {name} {value:g} {'<' if is_min else '>'} {bound:g}"
    return None
