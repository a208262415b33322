"""Decoding real text in many encodings, BOMs, declared charsets and binary rejection."""

from __future__ import annotations

import codecs

import pytest

from corpuspack.errors import SkipFile
from corpuspack.language import LanguageIdentifier
from corpuspack.sources.decode import decode_bytes

from .conftest import text_of

SCORE = LanguageIdentifier().score

# (sample, codec): real prose encoded in the legacy code pages its language used
LEGACY = [
    ("fr-fr", "cp1252"), ("de-de", "cp1252"), ("es-es", "cp1252"), ("it-it", "cp1252"),
    ("pt-br", "cp1252"), ("fr-fr", "iso8859-1"), ("de-de", "iso8859-1"),
    ("cs-cz", "cp1250"), ("pl-pl", "cp1250"), ("cs-cz", "iso8859-2"), ("pl-pl", "iso8859-2"),
    ("ru-ru", "cp1251"), ("ru-ru", "koi8-r"), ("el-gr", "cp1253"), ("el-gr", "iso8859-7"),
    ("tr-tr", "cp1254"), ("tr-tr", "iso8859-9"), ("ar-ma", "cp1256"),
    ("ja-jp", "shift_jis"), ("ja-jp", "euc-jp"), ("zh-cn", "gb18030"), ("zh-cn", "gbk"),
    ("zh-tw", "big5"), ("ko-kr", "euc-kr"),
]


@pytest.mark.parametrize(("lang", "codec"), LEGACY)
def test_legacy_encodings_of_real_text(lang: str, codec: str) -> None:
    text = text_of(lang)
    data = text.encode(codec, errors="ignore")
    expected = data.decode(codec)  # what survives the encoding
    decoded = decode_bytes(data, score=SCORE)
    assert decoded.text == expected, f"{lang} in {codec} read as {decoded.encoding}"


def test_windows_code_page_beats_iso_when_c1_would_appear() -> None:
    # cp1252 curly quotes (0x93/0x94) are C1 controls in ISO-8859-1
    data = "«Voilà», dit-il: “c’est l’été”.".encode("cp1252")
    assert decode_bytes(data, score=SCORE).text == "«Voilà», dit-il: “c’est l’été”."


@pytest.mark.parametrize(("bom", "codec", "name"), [
    (codecs.BOM_UTF8, "utf-8", "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32-le"),
])
def test_bom_decides(bom: bytes, codec: str, name: str) -> None:
    text = text_of("de-de")
    decoded = decode_bytes(bom + text.encode(codec))
    assert (decoded.text, decoded.encoding) == (text, name)


def test_utf16_without_bom() -> None:
    text = text_of("fr-fr")
    assert decode_bytes(text.encode("utf-16-le")).text == text
    assert decode_bytes(text.encode("utf-16-be")).text == text


def test_utf8_is_taken_without_detection() -> None:
    text = text_of("ru-ru")
    assert decode_bytes(text.encode("utf-8"), declared="windows-1251").encoding == "utf-8"


def test_declared_charset_is_verified() -> None:
    text = text_of("cs-cz")
    # a right declaration is used ...
    assert decode_bytes(text.encode("cp1250"), declared="windows-1250").text == text
    # ... a wrong one that cannot decode the bytes is not
    data = text_of("ja-jp").encode("shift_jis")
    assert decode_bytes(data, declared="utf-16", score=SCORE).text == data.decode("shift_jis")


def test_stray_nul_is_not_binary() -> None:
    decoded = decode_bytes(b"plain text with a stray \x00 in it")
    assert "stray" in decoded.text


@pytest.mark.parametrize("data", [
    bytes(range(256)) * 40,
    b"\x89PNG\r\n\x1a\n" + bytes(range(200)) * 10,
    b"\x00\x01\x02\x03" * 500,
])
def test_binary_is_rejected(data: bytes) -> None:
    with pytest.raises(SkipFile, match="binary"):
        decode_bytes(data)
