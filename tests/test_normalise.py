"""Normalisation: exact rules on real text, and properties on arbitrary input."""

from __future__ import annotations

import json
import unicodedata
from collections import Counter
from pathlib import Path

import ftfy
import ftfy.bad_codecs  # noqa: F401 - registers the sloppy-windows code pages
import pytest
from ftfy import fixes
from ftfy.chardata import CHARMAP_ENCODINGS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpuspack import normalise
from corpuspack.build import build
from corpuspack.config import zero_config
from corpuspack.errors import SkipFile
from corpuspack.normalise import maybe_mojibake, normalise_explained, normalise_text
from corpuspack.sources.decode import decode_bytes

from .conftest import SEED, mojibake, text_of


def test_line_ends_spaces_and_blank_lines() -> None:
    raw = "  Title  \r\n\r\n\r\n\r\nbody\tline \t\rnext\u2028para\x0c\n\n\n"
    assert normalise_text(raw) == "  Title\n\nbody\tline\nnext\npara"


def test_controls_removed_tabs_and_newlines_kept() -> None:
    assert normalise_text("a\x00b\x07c\td\x1be\x7ffg\ufeffh\ud800") == "abc\tdefgh"


def test_c1_controls_are_read_as_cp1252_by_ftfy() -> None:
    # text decoded as latin-1 that was really cp1252 keeps C1 controls; ftfy restores them
    assert normalise_text("\x93quoted\x94 \x85") == "“quoted”"


def test_nfc() -> None:
    assert normalise_text("Cafe\u0301 Zu\u0308rich") == "Café Zürich"
    assert unicodedata.is_normalized("NFC", normalise_text("e\u0301" * 50))


@pytest.mark.parametrize("lang", ["fr-fr", "de-de", "it-it", "pl-pl", "ru-ru", "el-gr", "ja-jp"])
def test_mojibake_repaired(lang: str) -> None:
    clean = normalise_text(text_of(lang))
    text, repaired = normalise_explained(mojibake(clean))
    assert repaired
    assert text == clean


@pytest.mark.parametrize("lang", ["fr-fr", "de-de", "cs-cz", "ru-ru", "el-gr", "ja-jp", "zh-cn",
                                  "ar-ma", "ko-kr", "tr-tr"])
def test_clean_text_untouched(lang: str) -> None:
    text = text_of(lang).strip()
    # the Arabic sample is not in NFC (mark order): NFC is the only change allowed
    assert normalise_explained(text) == (unicodedata.normalize("NFC", text), False)


def test_seed_is_kept_whole() -> None:
    raw = SEED.read_text(encoding="utf-8")
    text = normalise_text(raw)
    assert text.startswith("Iraq’s Looming Massacre of Iranian MEK Refugees\n\nCamp Ashraf")
    assert "“a syncretic mix of Marxism and Islam.”" in text
    assert "\n\n\n" not in text and not text.endswith("\n")


@given(st.text())
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_normalise_text_is_idempotent(text: str) -> None:
    once = normalise_text(text)
    assert normalise_text(once) == once
    assert "\r" not in once and "\n\n\n" not in once
    assert unicodedata.is_normalized("NFC", once)


@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=60).map(
    lambda t: t.encode("utf-8").decode("cp1252", errors="ignore")))
@settings(max_examples=300)
def test_normalise_idempotent_on_mojibake_shaped_text(text: str) -> None:
    once = normalise_text(text)
    assert normalise_text(once) == once


@given(st.binary(max_size=2048))
@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
def test_bytes_never_raise_and_normalise_idempotently(data: bytes) -> None:
    try:
        decoded = decode_bytes(data)
    except SkipFile:
        return  # binary input is rejected with a reason, by design
    once = normalise_text(decoded.text)
    again = decode_bytes(once.encode("utf-8"))
    assert normalise_text(again.text) == once


def _misread(text: str, encoding: str, cut: int, at: int, stand_in: str) -> str:
    """UTF-8 of ``text`` read in a single-byte code page ftfy knows, cut somewhere, and one
    character replaced the way lossy software does (a space, "?", U+FFFD, nothing)."""
    garbled = text.encode("utf-8").decode(encoding, errors="replace")
    garbled = garbled[cut:] + garbled[:cut]
    return garbled[:at] + stand_in + garbled[at + 1 :] if at < len(garbled) else garbled


@given(st.one_of(
    st.text(alphabet=st.characters(max_codepoint=0x2FFF), max_size=40),
    st.builds(_misread, st.text(max_size=30), st.sampled_from(CHARMAP_ENCODINGS),
              st.integers(0, 40), st.integers(0, 40),
              st.sampled_from(["", " ", "?", "\ufffd", "\xa0", "a"])),
))
@settings(max_examples=3000)
def test_mojibake_gate_never_hides_what_ftfy_would_fix(text: str) -> None:
    if not maybe_mojibake(text):
        assert ftfy.fix_encoding(text) == text


_MISREAD_STRETCH = st.builds(
    lambda text, encoding: text.encode("utf-8").decode(encoding, errors="replace"),
    st.text(max_size=8), st.sampled_from(CHARMAP_ENCODINGS))


@given(st.lists(st.one_of(st.text(max_size=12), _MISREAD_STRETCH), max_size=6).map("".join))
@settings(max_examples=1500)
def test_embedded_repair_answers_as_ftfy_rewriting_the_text(text: str) -> None:
    assert normalise._embedded_repair(text) == (fixes.decode_inconsistent_utf8(text) != text)


@given(st.text(alphabet=st.sampled_from("ae\u0301\u0308\u0323\u1100\u1161\u11a8\uac00\n "),
               max_size=60))
@settings(max_examples=1500)
def test_nfc_by_slices_of_lines_is_nfc_of_the_whole(text: str) -> None:
    saved = normalise._SLICE_CHARS
    normalise._SLICE_CHARS = 4
    try:
        assert normalise._by_lines(text, normalise._nfc) == unicodedata.normalize("NFC", text)
    finally:
        normalise._SLICE_CHARS = saved


@pytest.mark.parametrize("text", [
    # found by review: after a C0 80 or a CESU-8 pair, ftfy's decoder of UTF-8 variants counts
    # its error from there, and a 6-byte lost-byte sequence reaches past a short window
    "\xc0\u20ac\xc2 ", " \xc0\u20ac \xc3\ufffd", "\xed\xa0\u20ac\xed\xb0?",
    "\xed\xa0\xbd\xed\xb8\u20ac\xc2 ", "\xc0\u20ac caf\xc3\ufffd ok",
])
def test_mojibake_gate_lets_through_what_ftfy_repairs(text: str) -> None:
    assert ftfy.fix_encoding(text) != text
    assert maybe_mojibake(text)


@pytest.mark.parametrize("encoding", CHARMAP_ENCODINGS)
@pytest.mark.parametrize("lang", ["fr-fr", "de-de", "pl-pl", "ru-ru", "el-gr", "tr-tr"])
def test_mojibake_gate_sees_every_code_page(lang: str, encoding: str) -> None:
    garbled = text_of(lang).encode("utf-8").decode(encoding, errors="replace")
    assert maybe_mojibake(garbled)


@pytest.mark.parametrize("data", [
    "Ã‘ó”‘ ".encode(),  # ftfy repairs it only once the trailing space is gone
    b"\t\t\t\t\t\t\t\t\n          \x8d",  # trimming white space raised the share of U+FFFD
    b"!!!!!!!!\xc2\x91!!!!!!!!!\x8d",  # a repair shortened the text: same
])
def test_found_by_hypothesis_normalise_is_idempotent_and_reads_back(data: bytes) -> None:
    try:
        decoded = decode_bytes(data)
    except SkipFile:
        return
    once = normalise_text(decoded.text)
    assert normalise_text(once) == once
    assert normalise_text(decode_bytes(once.encode("utf-8")).text) == once


_BREAKS = st.text(alphabet=st.sampled_from(
    list("ab é\r\n\t") + ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029",
                          "\u2027", "\x1f", "\x0d"]), max_size=40)


@settings(max_examples=400, deadline=None)
@given(st.one_of(_BREAKS, st.text(max_size=200)))
def test_line_breaks_unified_as_by_the_regex_alone(text: str) -> None:
    import re

    from corpuspack.normalise import _unify_line_breaks

    expected = re.sub("[\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]", "\n",
                      text.replace("\r\n", "\n").replace("\r", "\n"))
    assert _unify_line_breaks(text) == expected


def test_what_the_clean_up_removes_is_counted() -> None:
    # before: control characters, a byte order mark inside the text and page or line
    # separators went without a note in the build report
    notes: Counter[str] = Counter()
    text, repaired = normalise_explained(
        "Page one\x0c\nPage two\u2028next line\x07 bell\ufeffjoined\ufdd0 end\x1b[0m", notes)
    assert not repaired
    assert text == "Page one\n\nPage two\nnext line bell" + "joined end[0m"
    assert notes == {normalise.NOTE_SEPARATORS: 2, normalise.NOTE_CONTROLS: 2,
                     normalise.NOTE_BOM: 1, normalise.NOTE_NONCHARACTERS: 1}
    # line ends, trailing white space and blank lines are layout: not counted
    notes.clear()
    normalise_explained("a  \r\nb\t\n\n\n\nc\rd", notes)
    assert not notes


_CLEANED = "\x00\x07\x0b\x0c\x1b\x1c\x7f\x85\x9f\u2028\u2029\ufeff\ufdd0\uffff"


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from("ab é\n\r\t" + _CLEANED), max_size=40))
def test_every_character_removed_or_made_a_line_break_is_counted(text: str) -> None:
    notes: Counter[str] = Counter()
    _, repaired = normalise_explained(text, notes)
    if not repaired:  # a repair reads some of them as parts of misread characters
        assert sum(notes.values()) == sum(text.count(c) for c in _CLEANED)


def test_a_build_reports_the_clean_up(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "man.txt").write_text("NAME\x0c\nls - list directory contents\x0c\nSYNOPSIS ls\n",
                                 encoding="utf-8")
    report = build(zero_config(src, tmp_path / "out"), workers=1, cache=None)
    assert report.notes[normalise.NOTE_SEPARATORS] == 2
    written = json.loads((tmp_path / "out" / "data" / "build-report.json").read_text())
    assert written["notes"][normalise.NOTE_SEPARATORS] == 2


@pytest.mark.parametrize("word", ["хорошо", "Åse", "مرحبا", "Ånd"])
def test_utf8_read_as_latin1_is_repaired_where_a_byte_is_u0085(word: str) -> None:
    # before: U+0085 (the second byte of "х", "Å", "م" ... read as Latin-1) was made a line
    # break before the repair looked, and the word came out broken in two
    notes: Counter[str] = Counter()
    text = f"Это {word} и всё".encode().decode("latin-1")
    assert "\x85" in text
    assert normalise_explained(text, notes) == (f"Это {word} и всё", True)
    assert not notes
    # elsewhere U+0085 is a line break, counted
    assert normalise_explained("one\x85two", notes) == ("one\ntwo", False)
    assert notes == {normalise.NOTE_SEPARATORS: 1}
