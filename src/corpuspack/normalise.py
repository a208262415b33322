"""Unicode clean-up of decoded text.

:func:`normalise_text` is the one place where text takes its corpus form: line breaks become
LF, control characters go, mojibake is repaired with ftfy where ftfy's own detector sees it,
the text is NFC, lines lose trailing white space and runs of blank lines shrink to one.
It never raises and is idempotent: ``normalise_text(normalise_text(t)) == normalise_text(t)``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Callable

import ftfy
import ftfy.bad_codecs  # noqa: F401 - registers the sloppy-windows code pages
from ftfy import fixes
from ftfy.badness import is_bad
from ftfy.chardata import (
    ALTERED_UTF8_RE,
    CHARMAP_ENCODINGS,
    LOSSY_UTF8_RE,
    UTF8_DETECTOR_RE,
    possible_encoding,
)

# Everything str.splitlines() treats as a line break, so that "\n" is the only one left.
_SEPARATOR_CHARS = "\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
_SEPARATORS = re.compile(f"[{_SEPARATOR_CHARS}]")
# U+0085 after a character that is a UTF-8 lead byte read as Latin-1 ("Ñ\x85" is "х" misread)
_SEPARATORS_BUT_NEL = re.compile(f"[{_SEPARATOR_CHARS.replace(chr(0x85), '')}]"
                                 "|(?<![\u00c2-\u00f4])\x85")
# C0 (but tab and LF) and C1 controls, DEL, BOM/zero-width no-break space, lone surrogates
# (possible from JSON escapes) and the non-characters.
_CONTROLS = re.compile(
    "[\x00-\x08\x0e-\x1f\x7f-\x9f\ufeff\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]"
)
_BLANK_RUNS = re.compile(r"\n{3,}")

# What the clean-up takes out of the author's text, as the build report's notes count it
# (in characters): removals by kind, and separators made line breaks.
NOTE_CONTROLS = "unicode clean-up: control characters removed"
NOTE_BOM = "unicode clean-up: U+FEFF (byte order mark) inside the text removed"
NOTE_SURROGATES = "unicode clean-up: lone surrogates removed"
NOTE_NONCHARACTERS = "unicode clean-up: non-characters removed"
NOTE_SEPARATORS = ("unicode clean-up: line and page separators (U+000B, U+000C, U+001C to "
                   "U+001E, U+0085, U+2028, U+2029) made line breaks")


def _removal_kind(char: str) -> str:
    if char == "\ufeff":
        return NOTE_BOM
    if "\ud800" <= char <= "\udfff":
        return NOTE_SURROGATES
    if "\ufdd0" <= char <= "\ufdef" or char in "\ufffe\uffff":
        return NOTE_NONCHARACTERS
    return NOTE_CONTROLS
# Longer texts are tidied in slices of lines of this size: a list of all lines held about
# 1.5 times the text (lines of 100 characters), and a text with nothing to tidy was copied.
_SLICE_CHARS = 1 << 20


# Lead bytes after which ftfy accepts a stand-in for a continuation byte: a space for a
# no-break space turned into a space, "?" for a byte a lossy encoder dropped (its
# ALTERED_UTF8_RE and LOSSY_UTF8_RE); U+FFFD may follow any lead.
_SPACE_AFTER = frozenset((0xC2, 0xC3, 0xC5, 0xCE, 0xD0, 0xD9, 0xE0, 0xE1, 0xE2, 0xE3, 0xF0))
_QUESTION_AFTER = frozenset((0xC2, 0xC3, *range(0xE0, 0xF5)))


def _lead_table() -> tuple[re.Pattern[str], frozenset[str], dict[str, tuple[tuple[str, int], ...]]]:
    """How UTF-8 misread in a code page that ftfy can undo starts, character by character.

    Mojibake of UTF-8 read as a single-byte code page shows, for every misread character, a
    lead byte (0xC0, 0xC2-0xF4) and its 1-3 continuation bytes (0x80-0xBF), all as
    characters of that code page. Returns a regex for candidate pairs, the set of pairs that
    can start such a sequence in one code page, and per lead character the code pages it is
    a lead in with the number of bytes its sequence has.
    """
    pairs: set[str] = set()
    leads: dict[str, list[tuple[str, int]]] = {}
    for encoding in CHARMAP_ENCODINGS:
        cont = bytes(range(0x80, 0xC0)).decode(encoding)
        for byte in (0xC0, *range(0xC2, 0xF5)):  # C0 80 is the "modified UTF-8" NUL
            lead = bytes([byte]).decode(encoding)
            length = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            leads.setdefault(lead, []).append((encoding, length))
            seconds = set(cont) | {"\ufffd"}
            seconds |= {" "} if byte in _SPACE_AFTER else set()
            seconds |= {"?"} if byte in _QUESTION_AFTER else set()
            pairs.update(lead + second for second in seconds)

    def klass(chars: set[str]) -> str:
        return "[" + "".join(re.escape(c) for c in sorted(chars)) + "]"

    firsts, seconds_all = {p[0] for p in pairs}, {p[1] for p in pairs}
    # one character class first (C1 controls or leads) lets the regex engine skip ahead fast;
    # a lead must be followed by a possible second character, a C1 control stands alone
    pattern = re.compile(f"[\\x80-\\x9f{klass(firsts)[1:-1]}]"
                         f"(?:(?<=[\\x80-\\x9f])|(?=[{klass(seconds_all)[1:-1]}]))")
    return pattern, frozenset(pairs), {c: tuple(v) for c, v in leads.items()}


_CANDIDATE, _PAIRS, _LEADS = _lead_table()
_C1 = re.compile("[\x80-\x9f]")
_MAX_REPAIR_ROUNDS = 4


def _misread_sequence(text: str, at: int) -> bool:
    """Do the characters at ``at`` re-encode to a UTF-8 sequence ftfy would restore?"""
    for encoding, length in _LEADS[text[at]]:
        try:  # ftfy's sloppy code pages encode U+FFFD as 0x1A, its mark for a lost byte
            data = text[at : at + length].encode(encoding)
        except UnicodeEncodeError:
            continue
        if ALTERED_UTF8_RE.match(data) or LOSSY_UTF8_RE.match(data):
            return True
        try:
            data.decode("utf-8-variants")
        except UnicodeDecodeError:
            continue
        if len(data) == length:
            return True
    return False


def maybe_mojibake(text: str) -> bool:
    """True unless the text certainly holds nothing ftfy's fix_encoding would change.

    This gate lets clean text skip ftfy, whose own detector (``ftfy.badness.is_bad``) costs
    about 1 ms per 6 kB; tests/test_normalise.py checks that it never hides a repair.
    First a scan for one character sequence ftfy could restore; then, only for a text
    that has one, whether any of the ways ftfy 6 repairs (:func:`_ftfy_could_change`) applies
    to the whole text. On the benchmark's 20,000 documents the scan alone let 1,787 texts
    through, 1,421 of which ftfy left unchanged after 0.58 s of its detector; the second
    step lets through 371 (the 366 repaired among them) for 0.1 s.
    """
    if text.isascii():
        return False
    for match in _CANDIDATE.finditer(text):  # a match is one character: they may overlap
        at = match.start()
        if "\x80" <= text[at] <= "\x9f":
            return True  # a C1 control: ftfy reads it as cp1252
        if text[at : at + 2] in _PAIRS and _misread(text[at : at + 4]):
            return _C1.search(text, at) is not None or _ftfy_could_change(text)
    return False


# the answers of _misread_sequence by sequence: the same few pairs recur in a language ("В с"
# in Russian), and the check cost 30 of the gate's 48 us a document on the benchmark
_MISREAD: dict[str, bool] = {}
_MISREAD_MAX = 1 << 16


def _misread(sequence: str) -> bool:
    found = _MISREAD.get(sequence)
    if found is None:
        if len(_MISREAD) >= _MISREAD_MAX:
            _MISREAD.clear()
        found = _MISREAD[sequence] = _misread_sequence(sequence, 0)
    return found


def _ftfy_could_change(text: str) -> bool:
    """Could one step of ftfy's ``fix_encoding`` change this text (which holds no C1
    control)? The repairs of that step, other than the detector that decides whether to try
    them (ftfy 6.2-6.3, ``_fix_encoding_one_step_and_explain``): the whole text re-encoded in
    a single-byte code page that can encode it (after its byte substitutions) decodes as
    UTF-8, or a stretch that looks like misread UTF-8 is repaired on its own; its other
    repairs need C1 controls, which :func:`maybe_mojibake` lets through already."""
    for encoding in CHARMAP_ENCODINGS:
        if possible_encoding(text, encoding) and _decodes(text.encode(encoding), encoding):
            return True
    return _embedded_repair(text)


def _embedded_repair(text: str) -> bool:
    """Would ftfy's ``fixes.decode_inconsistent_utf8`` change ``text``? Its test, applied to
    each stretch that looks like misread UTF-8 in turn, stopping at the first it would repair,
    without building the rewritten text: that copy of the whole text was 1.5 times its size
    at the peak of a 19 MB text's gate (tracemalloc), the largest of a large document's
    normalisation."""
    for match in UTF8_DETECTOR_RE.finditer(text):
        stretch = match.group(0)
        if len(stretch) < len(text) and is_bad(stretch) and ftfy.fix_encoding(stretch) != stretch:
            return True
    return False


def _utf8(data: bytes) -> UnicodeDecodeError | None:
    try:
        data.decode("utf-8-variants" if 0xED in data or 0xC0 in data else "utf-8")
    except UnicodeDecodeError as exc:
        return exc
    return None


def _decodes(data: bytes, encoding: str) -> bool:
    """Do these bytes decode as UTF-8 after ftfy's byte substitutions for ``encoding``
    (a space back to 0xA0, a lost byte to U+FFFD)? The substitutions only turn invalid
    sequences into valid ones, so they are tried (0.4 s of 0.5 on the benchmark) only when
    one of them touches the first bytes strict UTF-8 refuses, or anywhere when those start
    with 0xC0 or 0xED, which ftfy's decoder of UTF-8 variants may accept (its errors count
    from the end of such a sequence, not from the start of the data)."""
    if _utf8(data) is None:
        return True
    try:
        data.decode("utf-8")
        return True  # not reached: whatever strict UTF-8 decodes, the variants decode
    except UnicodeDecodeError as error:
        start, end = error.start, error.end
    if data[start] in (0xC0, 0xED):
        touched = bool(ALTERED_UTF8_RE.search(data) or LOSSY_UTF8_RE.search(data))
    else:  # the longest substitution is 6 bytes
        touched = any(m.start() < end and m.end() > start
                      for pattern in (ALTERED_UTF8_RE, LOSSY_UTF8_RE)
                      for m in pattern.finditer(data, max(0, start - 6), end + 6))
    if not touched:
        return False
    if encoding != "macroman" and ALTERED_UTF8_RE.search(data):
        data = fixes.restore_byte_a0(data)
    if encoding.startswith("sloppy"):
        data = fixes.replace_lossy_sequences(data)
    return _utf8(data) is None


def repair_mojibake(text: str) -> str:
    """Undo text decoded with the wrong codec (UTF-8 read as cp1252 and the like) using ftfy.

    Only ftfy's ``fix_encoding`` is applied (not ``fix_text``): it leaves clean text alone,
    where ``fix_text`` would also rewrite quotes, full-width forms and line ends.
    """
    if not maybe_mojibake(text):
        return text
    fixed: str = ftfy.fix_encoding(text)
    return fixed


def _unify_line_breaks(text: str, notes: Counter[str] | None = None,
                       keep_nel: bool = False) -> str:
    """LF for every line break; with ``keep_nel`` U+0085 after a UTF-8 lead byte read as
    Latin-1 (U+00C2 to U+00F4) is left: it is the second byte of "х", "Å", "م" ... in
    UTF-8 misread as Latin-1, which the repair needs."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # one fast search per separator is cheaper than the regex's scan: 1.3 us against 8.6
    # for a 4 kB document
    if any(separator in text for separator in _SEPARATOR_CHARS):
        text, made = (_SEPARATORS_BUT_NEL if keep_nel else _SEPARATORS).subn("\n", text)
        if made and notes is not None:
            notes[NOTE_SEPARATORS] += made
    return text


def _remove_controls(text: str, notes: Counter[str] | None) -> str:
    cleaned, removed = _CONTROLS.subn("", text)
    if removed and notes is not None:
        notes.update(map(_removal_kind, _CONTROLS.findall(text)))
    return cleaned


def normalise_text(text: str) -> str:
    """Return the corpus form of ``text`` (see the module docstring)."""
    return normalise_explained(text)[0]


def normalise_explained(text: str, notes: Counter[str] | None = None) -> tuple[str, bool]:
    """Like :func:`normalise_text`, also telling whether mojibake was repaired; counts in
    ``notes`` the characters of the text it removed or made line breaks (``NOTE_*``; line
    ends, trailing white space and blank lines are layout, not counted). Characters that a
    mojibake repair consumed are not counted as removed: the repair is counted instead."""
    repaired = False
    # ASCII white space can go before ftfy looks: then the loop below rarely needs a second
    # round (and a second costly look by ftfy) for white space alone
    suspect = "\x85" in text and maybe_mojibake(text)
    text = _tidy_lines(_unify_line_breaks(text, notes, keep_nel=suspect), " \t")
    for _ in range(_MAX_REPAIR_ROUNDS):
        # C1 controls are part of some mojibake (UTF-8 read as latin-1): repair first, then
        # strip. A repair can expose new control characters or non-NFC sequences, removing
        # a control can join two halves of a mojibake sequence, and ftfy may decide
        # differently once trailing white space is gone ("Ã‘ó”‘ " vs "Ã‘ó”‘"), so go round
        # until one round changes nothing. Repair sees the text before other white space is
        # trimmed: a no-break space ending a line can be half of a misread "à".
        suspect = maybe_mojibake(text)
        fixed: str = ftfy.fix_encoding(text) if suspect else text
        repaired = repaired or fixed != text
        if "\x85" in fixed:  # left for the repair: what it did not take is a line break
            fixed = _unify_line_breaks(fixed, notes)
        cleaned = _remove_controls(fixed, notes)
        cleaned = _by_lines(cleaned, _nfc)
        unchanged = cleaned == text
        if fixed is not text:  # a repair can make line separators (U+2028)
            cleaned = _unify_line_breaks(cleaned, notes)
        cleaned = _tidy_lines(cleaned)
        if cleaned == text:
            break
        text = cleaned
        if not suspect and unchanged:
            # only white space went: that makes no new candidate for the gate, so another
            # round would change nothing
            break
    return text, repaired


def _tidy_lines(text: str, space: str | None = None) -> str:
    """No trailing white space (or ``space``) on a line, at most one blank line in a row,
    none at the ends."""
    text = _rstrip_lines(text, space)
    if "\n\n\n" in text:
        text = _BLANK_RUNS.sub("\n\n", text)
    return text.strip("\n")


def _rstrip_lines(text: str, space: str | None) -> str:
    """``"\n".join(line.rstrip(space) for line in text.split("\n"))``, in bounded memory."""
    return _by_lines(text, lambda piece: "\n".join(
        line.rstrip(space) for line in piece.split("\n")))


def _nfc(text: str) -> str:
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def _by_lines(text: str, step: Callable[[str], str]) -> str:
    """``step(text)`` for a ``step`` that gives the same result for the whole text as for its
    lines one by one, in bounded memory: a text longer than ``_SLICE_CHARS`` is done in slices
    of whole lines, and comes back as it is (not copied) when no slice changes.

    A list of all lines held about 1.5 times the text (lines of 100 characters); NFC of the
    whole text held two buffers of 4 bytes a character beside it, 3.2 times a text of 2 bytes
    a character (tracemalloc), 2 times in slices. NFC can be done by lines because a line
    feed is a starter that composes with nothing: no mark reorders or composes across it
    (Unicode Standard Annex #15, "Stable Code Points").
    """
    if len(text) <= _SLICE_CHARS:
        return step(text)
    parts: list[str] | None = None
    start = 0
    while start <= len(text):
        end = text.find("\n", start + _SLICE_CHARS)
        end = len(text) if end < 0 else end
        piece = text[start:end]
        done = step(piece)
        if parts is None and done != piece:
            parts = [text[: start - 1]] if start else []  # the slices before, unchanged
        if parts is not None:
            parts.append(done)
        start = end + 1
    return text if parts is None else "\n".join(parts)


def is_normalised(text: str) -> bool:
    """True when ``text`` is already in corpus form."""
    return normalise_text(text) == text
