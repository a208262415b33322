"""The registry of per-document quality signals: one entry per signal.

Everything else about a signal derives from its :class:`Signal` entry in :data:`REGISTRY`:

- its column of :class:`corpuspack.document.Document` (description and bounds; the field is
  declared there with ``_signal(name)``, in registry order, and a test holds them equal);
- its ``[quality]`` thresholds (``min_NAME`` / ``max_NAME`` fields of
  :class:`corpuspack.quality.Filters`, generated), the ``gopher`` preset's values, the order
  in which :func:`corpuspack.quality.failed` checks them, and their valid ranges in
  :data:`corpuspack.config.RANGES`;
- whether word-based rules skip it for scripts written without spaces, whether it is
  computed only on demand (the repetition signals), :data:`corpuspack.repetition.NAMES`;
- the data card's table of signal means and the README's schema and ``[quality]`` rows
  (checked by tests/test_docs.py).

Adding a signal: one :class:`Signal` entry below (its place is its column's place), its
value computed by the function of its ``group`` in :data:`corpuspack.quality.COMPUTE` (a new
group: one more function there), and one ``_signal("NAME")`` line at the same place among
the signal columns of :class:`~corpuspack.document.Document` (tests/test_signals.py says
where). The tests then name every README row to write.

This module imports nothing of corpuspack, so that the document schema can read it without
importing the computation (NumPy) or the boilerplate rules.
"""

from __future__ import annotations

from dataclasses import dataclass

# Compute groups: the signals of one group come from one function of corpuspack.quality
WORDS = "words"  # counted over whitespace-separated words
LINES = "lines"  # counted over non-blank lines
REPETITION = "repetition"  # corpuspack.repetition: computed only when asked for or filtered on
ON_DEMAND = frozenset({REPETITION})


@dataclass(frozen=True)
class Signal:
    """One quality signal: a number computed from a document's normalised text.

    ``what`` says what it measures (the column description is made from it,
    :attr:`description`); ``group`` is the compute group (:data:`WORDS`, :data:`LINES`,
    :data:`REPETITION`). ``reference`` is the filter the signal comes from; ``gopher_min``
    and ``gopher_max`` are the Gopher rules' thresholds (Rae et al., 2021, table A1), which
    ``preset = "gopher"`` applies. ``limits`` are the bounds ``[quality]`` offers on it
    (``"min"``, ``"max"``: keys ``min_NAME``, ``max_NAME``, in that order). ``maximum`` is
    the largest value it can take (1 for shares; None when unbounded, such as characters per
    word). ``per_word``: counted over words, so meaningless for scripts written without
    spaces between words (:data:`corpuspack.quality.NO_SPACES`), where its limits are not
    applied.
    """

    name: str
    what: str
    group: str
    reference: str = "Gopher"
    gopher_min: float | None = None
    gopher_max: float | None = None
    limits: tuple[str, ...] = ("max",)
    maximum: float | None = 1
    per_word: bool = False

    @property
    def repetition(self) -> bool:
        """Whether the signal is computed only on demand (empty in the column otherwise)."""
        return self.group in ON_DEMAND

    @property
    def description(self) -> str:
        """The column description: kind, what it measures, and its Gopher threshold (or the
        filter it comes from)."""
        kind = ("Repetition signal (empty unless computed): " if self.repetition
                else "Quality signal: ")
        low, high = self.gopher_min, self.gopher_max
        if low is not None and high is not None:
            note = f"Gopher keeps {low:g} to {high:g}"
        elif high is not None:
            note = f"Gopher: at most {high:g}"
        elif low is not None:
            note = f"Gopher: at least {low:g}"
        else:
            note = self.reference
        return f"{kind}{self.what} ({note})."


# Gopher's maxima for the word n-gram signals (Rae et al., 2021, table A1)
_TOP_NGRAM_MAX = {2: 0.2, 3: 0.18, 4: 0.16}
_DUPLICATE_NGRAM_MAX = {5: 0.15, 6: 0.14, 7: 0.13, 8: 0.12, 9: 0.11, 10: 0.10}

REGISTRY: tuple[Signal, ...] = (
    Signal("mean_word_length", "characters per word", WORDS, gopher_min=3, gopher_max=10,
           limits=("min", "max"), maximum=None, per_word=True),
    Signal("symbol_ratio", "'#' and ellipses per word", WORDS, gopher_max=0.1, maximum=None,
           per_word=True),
    Signal("punct_line_fraction", "share of lines ending in sentence punctuation", LINES,
           reference="C4", limits=("min",)),
    Signal("duplicate_line_fraction", "share of lines repeating an earlier line", LINES,
           gopher_max=0.3),
    Signal("non_alpha_word_fraction", "share of words without a letter", WORDS,
           gopher_max=0.2, per_word=True),
    Signal("bullet_line_fraction", "share of lines starting with a bullet", LINES,
           gopher_max=0.9),
    Signal("ellipsis_line_fraction", "share of lines ending in an ellipsis", LINES,
           gopher_max=0.3),
    Signal("short_line_fraction", "share of lines under 30 characters", LINES,
           reference="FineWeb"),
    Signal("duplicate_paragraph_fraction", "share of paragraphs repeating an earlier paragraph",
           REPETITION, gopher_max=0.3),
    Signal("duplicate_line_char_fraction",
           "share of characters in lines repeating an earlier line", REPETITION,
           gopher_max=0.2),
    Signal("duplicate_paragraph_char_fraction",
           "share of characters in paragraphs repeating an earlier paragraph", REPETITION,
           gopher_max=0.2),
    *(Signal(f"top_{n}gram_char_fraction",
             f"share of word characters in the most frequent word {n}-gram", REPETITION,
             gopher_max=high, per_word=True) for n, high in _TOP_NGRAM_MAX.items()),
    *(Signal(f"duplicate_{n}gram_char_fraction",
             f"share of word characters in word {n}-grams occurring more than once",
             REPETITION, gopher_max=high, per_word=True)
      for n, high in _DUPLICATE_NGRAM_MAX.items()),
)
NAMES: tuple[str, ...] = tuple(s.name for s in REGISTRY)
BY_NAME: dict[str, Signal] = {s.name: s for s in REGISTRY}
GROUPS: tuple[str, ...] = tuple(dict.fromkeys(s.group for s in REGISTRY))


def _check(registry: tuple[Signal, ...]) -> None:
    """Refuse a registry that could not derive its filters: names repeated, unknown bounds."""
    if len(BY_NAME) != len(registry):
        raise ValueError("quality signal names repeat in the registry")
    for s in registry:
        if not s.limits or set(s.limits) - {"min", "max"} or list(s.limits) != sorted(s.limits,
                                                                                  reverse=True):
            raise ValueError(f"signal {s.name}: limits must be 'min', 'max' or both, in order")


_check(REGISTRY)
