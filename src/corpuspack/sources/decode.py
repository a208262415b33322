"""Bytes to text: BOMs, strict UTF-8, a declared charset, then a detector.

Order, cheapest and most certain first (measurements in docs/design.md):

1. a byte order mark decides (UTF-8, UTF-16, UTF-32);
2. strict UTF-8 - almost every modern file, and no detector is consulted;
3. otherwise the candidates are a charset the document declares (HTML ``<meta charset>``),
   the guess of Resiliparse's uchardet-based detector (the most accurate and fastest detector
   we measured), the Windows code page of the same script, and cp1252. Among those that
   decode the bytes strictly, a decoding without C1 control characters beats one with them
   (they are almost never intended), then the one whose non-ASCII words the language
   identifier recognises with the highest probability wins; ties go to the declared charset,
   then to the detector.

Bytes whose decoding has more than 5% control or replacement characters are binary and
rejected with :class:`~corpuspack.errors.SkipFile`.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from dataclasses import dataclass

from resiliparse.parse.encoding import detect_encoding

from corpuspack.errors import SkipFile

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"),
)
_SAMPLE = 8192
# Control characters other than tab, LF, CR, FF, ESC: their share tells binary from text.
_BINARY_CHARS = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f\ufffd]")
_CONTROL_CHARS = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_MAX_BINARY_SHARE = 0.05
_C1 = re.compile("[\x80-\x9f]")
# Detectors name the ISO or DOS code page where the Windows one of the same script is the
# usual truth (Windows code pages are supersets that fill 0x80-0x9F with punctuation).
_WINDOWS_OF = {
    "iso8859-1": "cp1252", "iso8859-15": "cp1252", "ascii": "cp1252", "cp850": "cp1252",
    "cp437": "cp1252", "cp865": "cp1252", "mac-roman": "cp1252", "cp1258": "cp1252",
    "iso8859-2": "cp1250", "iso8859-16": "cp1250", "cp852": "cp1250", "mac-latin2": "cp1250",
    "iso8859-5": "cp1251", "koi8-r": "cp1251", "koi8-u": "cp1251", "cp866": "cp1251",
    "mac-cyrillic": "cp1251", "iso8859-7": "cp1253", "iso8859-9": "cp1254",
    "iso8859-8": "cp1255", "iso8859-6": "cp1256", "iso8859-13": "cp1257",
    "iso8859-4": "cp1257", "iso8859-11": "cp874", "tis-620": "cp874",
}
# ISO code pages whose Windows counterpart decodes every byte they do the same way
_SUPERSET_OF = {"iso8859-1", "ascii", "iso8859-9"}
_MULTIBYTE = {"shift_jis", "cp932", "euc_jp", "iso2022_jp", "gb2312", "gbk", "gb18030",
              "big5", "big5hkscs", "cp950", "euc_kr", "cp949", "johab", "iso2022_kr",
              "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"}
_MAX_SCORED_WORDS = 300

Scorer = Callable[[str], float]


@dataclass(frozen=True, slots=True)
class Decoded:
    """Text decoded from bytes, and the codec that decoded it."""

    text: str
    encoding: str


def codec_name(label: str | None) -> str | None:
    """Python's canonical codec name for an encoding label, or None if it is unknown."""
    if not label:
        return None
    try:
        return codecs.lookup(label.strip()).name
    except (LookupError, ValueError):
        return None


def _utf16_without_bom(data: bytes) -> str | None:
    """Recognise BOM-less UTF-16 of mostly-Latin text: every other byte is NUL."""
    sample = data[:_SAMPLE]
    half = len(sample) // 2
    if half < 2:
        return None
    zero_even = sample[0::2].count(0) / half
    zero_odd = sample[1::2].count(0) / half
    if zero_odd > 0.6 and zero_even < 0.1:
        return "utf-16-le"
    if zero_even > 0.6 and zero_odd < 0.1:
        return "utf-16-be"
    return None


def _check_not_binary(text: str, replaced: bool = False) -> None:
    """Reject text with too many control characters, or, where decoding replaced bytes it
    could not read (``replaced``), replacement characters. A U+FFFD that a strictly valid
    file holds is a character of it, and normalised text keeps it: counting it would make
    a normalised document "binary" when read back."""
    # the share is of the characters that are not white space, so that normalising the
    # text (which trims white space) cannot turn it from text into "binary"
    sample = text[:_SAMPLE]
    bad = len((_BINARY_CHARS if replaced else _CONTROL_CHARS).findall(sample))
    if bad and bad > _MAX_BINARY_SHARE * (len(sample) - sum(map(str.isspace, sample))):
        raise SkipFile("binary content (control characters or undecodable bytes)")


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _non_ascii_words(text: str) -> str:
    words = [w for w in text.split() if not w.isascii()]
    return " ".join(words[:_MAX_SCORED_WORDS])


def _candidates(data: bytes, declared: str | None) -> list[str]:
    found: list[str] = []
    detected = codec_name(detect_encoding(data, html5_compatible=False))
    for codec in (codec_name(declared), detected):
        if codec and codec != "utf-8" and codec not in found:
            found.append(codec)
    for codec in list(found):
        windows = _WINDOWS_OF.get(codec)
        if windows and windows not in found:
            # where the Windows page is a superset, it names the same text better
            at = found.index(codec) if codec in _SUPERSET_OF else len(found)
            found.insert(at, windows)
    if not any(c in _MULTIBYTE for c in found) and "cp1252" not in found:
        found.append("cp1252")
    return found


def decode_bytes(data: bytes, declared: str | None = None, score: Scorer | None = None) -> Decoded:
    """Decode ``data`` to text; raise :class:`SkipFile` when it is binary.

    ``declared`` is a charset the document names itself (an HTML meta tag); it is verified,
    not trusted. ``score`` rates how plausible a text is (a language identifier's
    probability); without it the first strict candidate wins.
    """
    for bom, name, codec in _BOMS:
        if data.startswith(bom):
            text = data.decode(codec, errors="replace")
            _check_not_binary(text, replaced=True)
            return Decoded(text, name)

    if b"\x00" in data[:_SAMPLE]:
        utf16 = _utf16_without_bom(data)
        if utf16 is not None:
            text = data.decode(utf16, errors="replace")
            _check_not_binary(text, replaced=True)
            return Decoded(text, utf16)

    as_utf8 = _strict(data, "utf-8")
    if as_utf8 is not None:
        _check_not_binary(as_utf8)
        return Decoded(as_utf8, "utf-8")

    candidates = _candidates(data, declared)
    best: tuple[tuple[int, float], str, str] | None = None
    for codec in candidates:
        text_or_none = _strict(data, codec)
        if text_or_none is None:
            continue
        if score is None:
            best = ((0, 0.0), codec, text_or_none)
            break
        key = (0 if _C1.search(text_or_none) else 1, score(_non_ascii_words(text_or_none)))
        if best is None or key > best[0]:
            best = (key, codec, text_or_none)
    if best is None:
        # nothing decodes strictly: take the first guess and mark what could not be read
        codec = candidates[0]
        text = data.decode(codec, errors="replace")
    else:
        _, codec, text = best
    _check_not_binary(text, replaced=best is None)
    return Decoded(text, codec)
