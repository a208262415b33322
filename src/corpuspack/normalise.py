"""Unicode clean-up of decoded text.

:func:`normalise_text` is the one place where text takes its corpus form: line breaks become
LF, control characters go, mojibake is repaired with ftfy where ftfy's own detector sees it,
the text is NFC, lines lose trailing white space and runs of blank lines shrink to one.
It never raises and is idempotent: ``normalise_text(normalise_text(t)) == normalise_text(t)``.
"""

from __future__ import annotations

import re
import unicodedata

import ftfy

# Everything str.splitlines() treats as a line break, so that "\n" is the only one left.
_LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# C0 (but tab and LF) and C1 controls, DEL, BOM/zero-width no-break space, lone surrogates
# (possible from JSON escapes) and the non-characters.
_CONTROLS = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x9f\ufeff\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]"
)
_C1 = re.compile("[\x80-\x9f]")
_TRAILING_SPACE = re.compile(r"[^\S\n]+$", re.MULTILINE)
_BLANK_RUNS = re.compile(r"\n{3,}")

# A cheap necessary condition for ftfy.badness.is_bad(), which is the gate ftfy itself uses
# before trying any repair: every pattern of its BADNESS_RE needs a C1 control, one of Ã Â Œ œ,
# or two adjacent non-ASCII characters. Text that fails this test cannot be changed by
# ftfy.fix_encoding, so clean prose (most of a corpus) skips ftfy's slower regex entirely.
# tests/test_normalise.py checks the implication against ftfy on generated text.
_MAYBE_MOJIBAKE = re.compile("[\x80-\x9f\u00c2\u00c3\u0152\u0153]|[^\x00-\x7f]{2}")

_MAX_REPAIR_ROUNDS = 4


def maybe_mojibake(text: str) -> bool:
    """True unless the text certainly holds nothing ftfy would call mojibake."""
    return not text.isascii() and _MAYBE_MOJIBAKE.search(text) is not None


def repair_mojibake(text: str) -> str:
    """Undo text decoded with the wrong codec (UTF-8 read as cp1252 and the like) using ftfy.

    Only ftfy's ``fix_encoding`` is applied (not ``fix_text``): it leaves clean text alone,
    where ``fix_text`` would also rewrite quotes, full-width forms and line ends.
    """
    if not maybe_mojibake(text):
        return text
    fixed: str = ftfy.fix_encoding(text)
    return fixed


def normalise_text(text: str) -> str:
    """Return the corpus form of ``text`` (see the module docstring)."""
    return normalise_explained(text)[0]


def normalise_explained(text: str) -> tuple[str, bool]:
    """Like :func:`normalise_text`, also telling whether mojibake was repaired."""
    repaired = False
    text = _LINE_BREAKS.sub("\n", text)
    for _ in range(_MAX_REPAIR_ROUNDS):
        # C1 controls are part of some mojibake (UTF-8 read as latin-1): repair first, then
        # strip. A repair can expose new control characters or non-NFC sequences, and removing
        # a control can join two halves of a mojibake sequence, so go round until stable.
        fixed = repair_mojibake(text)
        repaired = repaired or fixed != text
        cleaned = _CONTROLS.sub("", fixed)
        if not unicodedata.is_normalized("NFC", cleaned):
            cleaned = unicodedata.normalize("NFC", cleaned)
        if cleaned == text:
            break
        text = _LINE_BREAKS.sub("\n", cleaned)
    text = _TRAILING_SPACE.sub("", text)
    text = _BLANK_RUNS.sub("\n\n", text)
    return text.strip("\n"), repaired


def is_normalised(text: str) -> bool:
    """True when ``text`` is already in corpus form."""
    return normalise_text(text) == text
