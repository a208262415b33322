"""Bytes to text: BOMs, strict UTF-8, damaged UTF-8, then code pages with their supersets.

Order, cheapest and most certain first (measurements in docs/design.md, "Decoding"):

1. a byte order mark decides (UTF-8, UTF-16, UTF-32); without one, UTF-32 and UTF-16 are
   recognised by where their NUL bytes fall;
2. strict UTF-8 - almost every modern file, and no detector is consulted - unless the
   bytes hold the escape sequences of ISO-2022-JP or ISO-2022-KR (7-bit encodings of
   Japanese and Korean mail and news, which are ASCII too) and decode in one strictly;
3. **damaged UTF-8**: bytes that are UTF-8 but for a cut last character or a few damaged
   characters stay UTF-8. "A few" is at most one damaged character (the lead bytes of a
   bad run) per :data:`MIN_VALID_PER_BAD` well-formed multi-byte characters (and at least
   one of those): text in a legacy code page, read as UTF-8, never had more than 4 per
   damaged character (docs/design.md). Each bad byte run (a maximal invalid subpart, as
   Python's ``errors="replace"`` and the Unicode standard count them) becomes one U+FFFD;
   a cut last character is dropped (:func:`_damaged_utf8`). UTF-8 that encodes UTF-16
   surrogates (CESU-8, WTF-8) has its pairs joined and each lone one made U+FFFD;
4. otherwise **candidates**: a charset the document declares (HTML ``<meta charset>``), the
   guess of Resiliparse's uchardet-based detector (the most accurate and fastest detector
   measured), each with its **supersets** (:data:`SUPERSETS_FIRST`, :data:`SUPERSETS_AFTER`:
   detectors name the base code page, never the vendor superset that holds the text's
   extra characters), the Windows code page of the same script and cp1252 (the *named*
   candidates); then **alternatives**: Mac Roman and the DOS code pages (:data:`_DOS`) for
   Latin-script text or when the named ones read the bytes badly, the other East
   Asian code pages for short East Asian text, and guesses (:data:`_UNNAMED`) when the
   detector names nothing or its family reads the bytes badly (:func:`_doubtful`). Among
   the readings that decode strictly, the **default** is the first named one without C1
   control characters (they are almost never intended), else the first named one. Another
   strict reading replaces it only when its :func:`plausibility` beats the default's by
   :data:`MARGIN` (near-ties keep the detector's choice, or the superset that decoded);
5. only when no named candidate decodes strictly are bytes replaced: the named candidate
   (or UTF-8) needing the fewest U+FFFD, unless an alternative decodes strictly and beats
   that reading's plausibility by the margin (GB18030 and Mac Roman decode almost any
   bytes, so decoding strictly is no evidence for them). In double-byte code pages an
   unmapped lead byte takes its non-ASCII trail byte with it (as the WHATWG Encoding
   Standard decodes), so one lost character does not garble its neighbours.

How a document was decoded, when it was not strict UTF-8, is kept in
:attr:`Decoded.record` (``meta["decoding"]`` of its document)::

    {"method": "superset", "detected": "shift_jis"}                 # cp932 read it strictly
    {"method": "utf-8 with bad bytes", "replaced": 2, "truncated": 1}
    {"method": "replacement", "replaced": 4, "detected": "big5"}

``method`` is one of :data:`METHODS`: the role of the codec used (``"declared"``,
``"detected"``, ``"superset"``, ``"same script"``), ``"plausibility"`` when a reading other
than the default won, ``"replacement"``, or the BOM and UTF-8 paths; ``replaced`` counts
the U+FFFD written for undecodable bytes, ``truncated`` the bytes of a cut last character
dropped (both absent when 0); ``detected`` is the detector's guess when another codec was
used. :func:`count_notes` turns a record into the build's notes.

Bytes whose decoding has more than 5% control or replacement characters are binary and
rejected with :class:`~corpuspack.errors.SkipFile`.
"""

from __future__ import annotations

import codecs
import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
_CONTROL_BYTES = bytes([*range(0x00, 0x09), *range(0x0E, 0x1B), *range(0x1C, 0x20)])
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
# Supersets tried before the code page named: they read every byte it reads the way browsers
# read that label (WHATWG Encoding Standard: ISO-8859-1 and ASCII are windows-1252,
# ISO-8859-9 is windows-1254, GB2312 is GBK) and differ only in C1 controls or in the two
# punctuation marks Python's gb2312 maps oddly (0xA1A4 as a katakana middle dot).
SUPERSETS_FIRST: dict[str, tuple[str, ...]] = {
    "ascii": ("cp1252",), "iso8859-1": ("cp1252",), "iso8859-9": ("cp1254",),
    "gb2312": ("gbk", "gb18030"),
}
# Vendor supersets tried after the code page named, in this order: they hold characters it
# lacks (cp932: NEC and IBM extensions such as ①, ㈱, 髙; Shift_JIS-2004 and EUC-JIS-2004:
# JIS X 0213; cp950: ETEN extensions; Big5-HKSCS: Hong Kong characters; GB18030: all of
# Unicode; cp949: the 8,822 hangul syllables EUC-KR lacks; KOI8-U: Ukrainian і, ї, є, ґ in
# place of box-drawing characters) but read a few shared bytes differently (cp932 0x8160 is
# ～ where Shift_JIS has 〜; Shift_JIS-2004 0x5C is ¥), so the base keeps the text it
# decodes unless plausibility says otherwise (docs/design.md lists every difference).
SUPERSETS_AFTER: dict[str, tuple[str, ...]] = {
    "shift_jis": ("cp932", "shift_jis_2004"), "cp932": ("shift_jis_2004",),
    "shift_jisx0213": ("shift_jis_2004",), "euc_jp": ("euc_jis_2004",),
    "euc_jisx0213": ("euc_jis_2004",), "big5": ("cp950", "big5hkscs"),
    "cp950": ("big5hkscs",), "gbk": ("gb18030",), "euc_kr": ("cp949",), "koi8-r": ("koi8-u",),
}
# Code pages that read all but a few bytes of the default alike, tried after it: one wins
# without the margin when it reads fewer words as odd and is at least as plausible
# (ISO-8859-15 puts œ, Œ, €, Š, š, Ž, ž, Ÿ where cp1252 and ISO-8859-1 have ½, ¼, ¤ and
# other symbols: "L'½uvre" is odd, "L'œuvre" is not).
# cp850 beside cp852, which the detector names for Spanish and Portuguese DOS text: they
# share á, é, í, ó, ú, ç, ä, ö, ü, and differ in ñ, ã, õ ("tamaĄo", "sĂo" in cp852).
# KOI8-U beside KOI8-R, which detectors name for both: they differ in eight bytes, box
# drawing in KOI8-R where KOI8-U has і, ї, є, ґ (Belarusian "гадз╕н" for "гадзін").
NEAR_SIBLINGS: dict[str, tuple[str, ...]] = {"cp1252": ("iso8859-15",),
                                             "iso8859-1": ("iso8859-15",), "cp852": ("cp850",),
                                             "koi8-r": ("koi8-u",)}
# siblings that win by the near rule only: ISO-8859-15 read a lone "½ cup" as "œ cup"
_NEAR_ONLY = frozenset({"iso8859-15"})
# Labels Python does not know, as browsers read them (WHATWG Encoding Standard).
_ALIASES = {
    "windows-31j": "cp932", "x-sjis": "shift_jis", "x-euc-jp": "euc_jp",
    "x-mac-roman": "mac-roman", "macintosh": "mac-roman", "x-mac-cyrillic": "mac-cyrillic",
    "x-gbk": "gbk", "ks_c_5601-1987": "cp949", "windows-949": "cp949", "koi8-ru": "koi8-u",
}
# Single-byte code pages of Latin script: Mac Roman is a candidate too when the detector names
# one of these (or nothing), for detectors have no Mac Roman guess and name cp1250, cp852,
# cp865, ISO-8859-2 or ISO-8859-13 for it (docs/design.md).
_LATIN = {"cp1250", "cp1252", "cp1254", "cp1257", "cp1258", "ascii", "iso8859-1", "iso8859-2",
          "iso8859-3", "iso8859-4", "iso8859-9", "iso8859-10", "iso8859-13", "iso8859-14",
          "iso8859-15", "iso8859-16", "cp437", "cp850", "cp852", "cp858", "cp865",
          "mac-latin2", "mac-roman"}
# Tried, as alternatives, when the detector names nothing or only code pages that read the
# bytes with C1 controls: the code pages of the languages with the most legacy text besides
# cp1252, the East Asian ones only for bytes that are at least 20% non-ASCII (measured, in
# docs/design.md: Latin-script text in its code pages 1-14%, East Asian text 28-100%;
# below that a double-byte reading of Latin text turns "combinación" into "combinaci溶").
_UNNAMED = ("mac-roman",)
_UNNAMED_EAST_ASIAN = ("gb18030", "big5hkscs", "cp932", "shift_jis_2004", "euc_jis_2004",
                       "cp949")
_EAST_ASIAN_MIN_SHARE = 0.2
# The single-byte code pages of Cyrillic and Greek, tried with the East Asian ones: text in
# capitals defeats the detector (an all-capitals KOI8-R, cp1251, ISO-8859-5 or cp866 notice
# got no guess, and came out as cp1252 or was skipped as binary)
_UNNAMED_NON_LATIN = ("cp1251", "koi8-r", "koi8-u", "iso8859-5", "cp866", "mac-cyrillic",
                      "cp1253", "iso8859-7")
# The DOS code pages of Western European (cp850, cp437), Portuguese, Turkish and Greek text,
# tried as alternatives beside Mac Roman: detectors name ISO-8859-1, ISO-8859-3 or cp1252
# for them, whose readings drop or garble every accented letter ("Le syst\x8ame", "pr\x81fen").
# cp852 and cp866 are left out: the detector names them, and as a guess cp852 read Spanish
# "continúan" in Mac Roman as "continťan". scripts/measure_decode.py, 723 excerpts: 611
# right without them, 682 with them (docs/design.md, "Decoding").
_DOS = ("cp850", "cp437", "cp860", "cp857", "cp737")
_NON_ASCII = bytes(range(0x80, 0x100))
# East Asian text in one double-byte code page often decodes strictly in another (Korean
# cp949 as GB18030, Big5 as GB18030); detectors mix them up on short texts, so when one is
# named for fewer than _EAST_ASIAN_SHORT bytes the others are alternatives. Measured on
# 4,000 excerpts with vendor characters (docs/design.md): without them 24 of 2,788 under
# 750 bytes were misread, with them 8 (all under 250 bytes); none of 1,212 longer ones
# either way, where they would only cost time.
_EAST_ASIAN_SHORT = 1000
_EAST_ASIAN = {"shift_jis", "cp932", "shift_jis_2004", "shift_jisx0213", "euc_jp",
               "euc_jis_2004", "euc_jisx0213", "gb2312", "gbk", "gb18030", "big5", "cp950",
               "big5hkscs", "euc_kr", "cp949", "johab"}
_MULTIBYTE = {"shift_jis", "cp932", "shift_jis_2004", "shift_jisx0213", "euc_jp",
              "euc_jis_2004", "euc_jisx0213", "iso2022_jp", "gb2312", "gbk", "gb18030",
              "big5", "big5hkscs", "cp950", "euc_kr", "cp949", "johab", "iso2022_kr",
              "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"}
# Double-byte code pages: a lead byte from 0x81 up is followed by one trail byte (GB18030's
# four-byte sequences have an ASCII digit second, which is never taken along).
_DOUBLE_BYTE = {"shift_jis", "cp932", "shift_jis_2004", "shift_jisx0213", "gbk", "gb2312",
                "gb18030",
                "big5", "big5hkscs", "cp950", "cp949", "euc_kr", "euc_jp", "euc_jis_2004",
                "euc_jisx0213", "johab"}
_MAX_SCORED_WORDS = 300
# Measured in docs/design.md (scripts/measure_decode.py): legacy text read as UTF-8 had at
# most 3 well-formed multi-byte characters per bad byte (in 8-16 byte excerpts; 0.56 in
# whole sentences), damaged UTF-8 has hundreds.
MIN_VALID_PER_BAD = 8
# Measured in docs/design.md: the plausibility a reading needs over the default to replace
# it. Margins from 0.1 to 0.2 were right most often (573 of 576 legacy excerpts; 681-682
# of 723 once DOS code pages were added); 0 let misreadings of a few non-ASCII words win
# (562), 0.3 and more kept detector errors (570, 558 at 0.5, 494 when the default always
# stays).
MARGIN = 0.15
# Plausibilities of two double-byte challengers closer than this are a tie, which the
# order of trust breaks (cp932 before Shift_JIS-2004). Single-byte ones are not held to
# it: a right cp1252 reading led a wrong cp1250 one by less (Italian the detector called
# cp852; a review), and at the full margin two legacy excerpts of measure_decode went
# wrong.
TIE = 0.02
# Measured in docs/design.md: right readings of the 669 legacy and vendor excerpts had at
# most 20% odd words; above this share, the detector's family is doubted and the guesses
# are tried too.
MAX_ODD_SHARE = 0.3
METHODS = ("bom", "utf-16 without bom", "utf-32 without bom", "iso-2022 escapes",
           "utf-8 with bad bytes", "declared", "detected", "superset", "same script",
           "plausibility", "replacement")

# Doubts the build counts (FileStats.notes), by what each counts
NOTE_REPLACED = "decoding: undecodable bytes replaced with U+FFFD"  # U+FFFD written
NOTE_TRUNCATED = "decoding: cut last character dropped"  # documents
NOTE_PLAUSIBILITY = "decoding: code page chosen by language plausibility"  # documents
NOTE_NO_STRICT = "decoding: no code page decodes strictly"  # documents

_MARK = "\ud800"  # stands for one undecodable run until counted; never in decoded text
_SURROGATE_ESCAPES = re.compile("[\udc80-\udcff]")
_SURROGATE_RUNS = re.compile("[\udc80-\udcff]+")
_CONTINUATION = ("\udc80", "\udcbf")  # bytes 0x80-0xBF, escaped
_ERRORS = "corpuspack-mark"
# Characters that never sit between two letters of a cased script in real text, but do
# where a single-byte code page is misread (box drawing for Ukrainian letters, ‰ and § for
# German umlauts in Mac Roman read as cp1252, and the reverse).
# (and the quotation marks of cp1252 where DOS code pages have ä, é, ö: "Datentr„ger",
# "d‚j…", "erm”glicht")
_ODD_INSIDE = frozenset("‰§¶†‡•¡¿¤¦¬")
_QUOTES_INSIDE = "‚„“”‹›"  # odd between letters too, but no symbols (:func:`_doubtful`)
_ODD_CATEGORIES = frozenset({"Cc", "Cn", "Sm", "Sc", "Sk", "So"})
# Spacing diacritics: writers put accents on letters (é), misreadings next to them ("pu˜",
# "prioritˆ": Italian ò and à from Mac Roman read as cp1252). ´ is left out: some type it
# for an apostrophe.
_SPACING_DIACRITICS = frozenset("ˆ˜¨¸¯˘˙˚˛˝ˇ")

Scorer = Callable[[str], float]


def _mark_errors(exc: UnicodeError) -> tuple[str, int]:
    """Codec error handler: one :data:`_MARK` per undecodable run; in a double-byte code
    page an unmapped lead byte takes its non-ASCII trail byte along (WHATWG)."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    end = exc.end
    data = exc.object
    if (exc.encoding.replace("-", "_") in _DOUBLE_BYTE and end - exc.start == 1
            and data[exc.start] >= 0x81 and end < len(data) and data[end] >= 0x80):
        end += 1
    return _MARK, end


codecs.register_error(_ERRORS, _mark_errors)


@dataclass(slots=True)  # not frozen: a frozen one costs 0.4 µs more per file to build
class Decoded:
    """Text decoded from bytes, the codec that decoded it, and how (see the module doc).

    ``replaced``: U+FFFD written for undecodable bytes; ``truncated``: bytes of a cut last
    character dropped; ``method``: one of :data:`METHODS`, or ``"utf-8"`` for strict UTF-8;
    ``detected``: the detector's guess, when another codec was used.
    """

    text: str
    encoding: str
    method: str = "utf-8"
    replaced: int = 0
    truncated: int = 0
    detected: str | None = None

    @property
    def record(self) -> dict[str, Any] | None:
        """What ``meta["decoding"]`` holds: None for strict UTF-8 without a BOM."""
        if self.method == "utf-8":
            return None
        found: dict[str, Any] = {"method": self.method}
        if self.replaced:
            found["replaced"] = self.replaced
        if self.truncated:
            found["truncated"] = self.truncated
        if self.detected and self.detected != self.encoding:
            found["detected"] = self.detected
        return found


def count_notes(record: dict[str, Any] | None, notes: Counter[str]) -> None:
    """Count the doubts of one :attr:`Decoded.record` in ``notes`` (a build's notes):
    U+FFFD written (:data:`NOTE_REPLACED`), and documents with a cut last character, a
    code page chosen by plausibility, or no code page that decoded strictly."""
    if not record:
        return
    if record.get("replaced"):
        notes[NOTE_REPLACED] += record["replaced"]
    if record.get("truncated"):
        notes[NOTE_TRUNCATED] += 1
    if record.get("method") == "plausibility":
        notes[NOTE_PLAUSIBILITY] += 1
    elif record.get("method") == "replacement":
        notes[NOTE_NO_STRICT] += 1


def codec_name(label: str | None) -> str | None:
    """Python's canonical codec name for an encoding label, or None if it is unknown."""
    if not label:
        return None
    label = label.strip().lower()
    try:
        return codecs.lookup(_ALIASES.get(label, label)).name
    except (LookupError, ValueError):
        return None


def _utf32_without_bom(data: bytes) -> str | None:
    """Recognise BOM-less UTF-32: the high byte of every code unit is NUL, and the next one
    in at least 9 of 10 (characters beyond U+FFFF are rare), and the sample decodes
    strictly to text without control or private-use characters, with white space (a line
    break at least) in every 200 characters: an array of 32-bit numbers (floats 1.5 are
    U+C03F in big-endian) has the same NULs."""
    sample = data[: min(_SAMPLE, len(data) - len(data) % 4)]  # (a cut last unit: dropped)
    units = len(sample) // 4
    if units < 2:
        return None
    for codec, high, next_high in (("utf-32-le", 3, 2), ("utf-32-be", 0, 1)):
        if sample[high::4].count(0) == units and sample[next_high::4].count(0) >= 0.9 * units:
            text = _strict(sample, codec)
            if text is not None and _CONTROL_CHARS.search(text) is None \
                    and _PRIVATE_USE.search(text) is None \
                    and sum(map(str.isspace, text)) >= max(1, len(text) // 200):
                return codec
    return None


def _utf16_without_bom(data: bytes) -> str | None:
    """Recognise BOM-less UTF-16: of mostly-Latin text, every other byte is NUL; of other
    scripts (Cyrillic, Arabic, CJK), the NULs are mostly those of its ASCII spaces, line
    breaks and punctuation (at least 1 in 100 characters; a few of its own characters end
    in a NUL byte, U+4E00), on one side at least three times as often as on the other, and
    the sample decodes to text with no control character and no invalid code unit."""
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
    for codec, nul_side, other in (("utf-16-le", zero_odd, zero_even),
                                   ("utf-16-be", zero_even, zero_odd)):
        if nul_side >= 0.01 and other <= nul_side / 3 \
                and _reads_as_text(sample[: half * 2], codec):
            return codec
    return None


# ISO-2022 code pages by the escape sequence that designates their double-byte set, most
# common first: JIS X 0208 (ESC $ B, ESC $ @), JIS X 0212 (ESC $ ( D), KS X 1001 (ESC $ ) C)
_ISO2022 = ((b"\x1b$)C", ("iso2022_kr",)),
            (b"\x1b$", ("iso2022_jp", "iso2022_jp_ext", "iso2022_jp_2", "iso2022_jp_2004")))


def _iso2022(data: bytes) -> tuple[str, str] | None:
    """(text, codec) of bytes in an ISO-2022 code page that decodes them strictly, else
    None (an ANSI colour code is ESC [, never ESC $)."""
    for mark, codecs_ in _ISO2022:
        if mark in data:
            for codec in codecs_:
                text = _strict(data, codec)
                if text is not None:
                    return text, codec
    return None


_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")


def _reads_as_text(sample: bytes, codec: str) -> bool:
    text = sample.decode(codec, "replace")
    if text.endswith("\ufffd"):  # the sample may end inside a surrogate pair
        text = text[:-1]
    if "\ufffd" in text or _CONTROL_CHARS.search(text) is not None \
            or _PRIVATE_USE.search(text) is not None:
        return False  # (legacy bytes read in pairs land in the private use area)
    # text with a few stray NULs reads as UTF-16 too (pairs of ASCII letters are CJK code
    # points): it is the text it is without them
    rest = _strict(sample.replace(b"\x00", b""), "utf-8")
    return rest is None or _CONTROL_CHARS.search(rest) is not None


def _check_not_binary(text: str, replaced: bool = False, utf8: bytes | None = None) -> None:
    """Reject text with too many control characters, or, where decoding replaced bytes it
    could not read (``replaced``), replacement characters. A U+FFFD that a strictly valid
    file holds is a character of it, and normalised text keeps it: counting it would make
    a normalised document "binary" when read back. ``utf8``: the bytes ``text`` was
    strictly decoded from as UTF-8, where each control character is one byte of the same
    value (and no other byte has one), so bytes free of them (the usual case) end the check
    with one table lookup a byte: 1.5 us instead of 8.5 for a 4 kB document. Only the bytes
    that can hold the sample are looked at (at most 4 a character), so a large file is not
    copied."""
    if utf8 is not None and not replaced:
        head = utf8[: 4 * _SAMPLE]
        if len(head.translate(None, _CONTROL_BYTES)) == len(head):
            return
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


def _replacing(data: bytes, codec: str) -> tuple[str, int]:
    """``data`` decoded with each undecodable run as one U+FFFD, and how many there are."""
    text = data.decode(codec, _ERRORS)
    marks = text.count(_MARK)
    return (text.replace(_MARK, "\ufffd") if marks else text), marks


def _cut_tail(data: bytes) -> int:
    """Length of an incomplete UTF-8 character at the end of ``data`` (0 if none): a lead
    byte and fewer continuation bytes than it needs, each allowed after the ones before."""
    for back in range(1, min(3, len(data)) + 1):
        byte = data[-back]
        if byte < 0x80:
            return 0
        if byte >= 0xC0:
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            if back >= need:
                return 0
            decoder = codecs.getincrementaldecoder("utf-8")()
            try:
                decoder.decode(data[-back:], final=False)
            except UnicodeDecodeError:
                return 0
            return back
    return 0


def _cut_after_bom(data: bytes, bom: int, name: str) -> int:
    """Bytes of a cut last character at the end of text after a byte order mark of ``bom``
    bytes (0: UTF-16 or UTF-32 recognised without one): an incomplete UTF-8 character
    (:func:`_cut_tail`), UTF-16 or UTF-32 code unit, or a UTF-16 high surrogate without
    its low one; 0 if none."""
    if name == "utf-8-sig":
        return _cut_tail(data[bom:])
    unit = 4 if name.startswith("utf-32") else 2
    cut = (len(data) - bom) % unit
    if unit == 2 and len(data) - cut - bom >= 2:
        last = data[len(data) - cut - 2: len(data) - cut]
        high = last[1] if name.endswith("le") else last[0]
        if 0xD8 <= high <= 0xDB:
            cut += 2
    return cut


_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def join_surrogate_pairs(text: str) -> str:
    """``text`` with each UTF-16 surrogate pair (high, then low) made the character it
    encodes; lone surrogates are left as they are."""
    return _PAIR.sub(_joined, text) if _SURROGATE.search(text) else text


def _joined(match: re.Match[str]) -> str:
    return match.group().encode("utf-16-le", "surrogatepass").decode("utf-16-le")


def _encoded_surrogates(data: bytes) -> Decoded | None:
    """UTF-8 that encodes UTF-16 surrogates (CESU-8, as Java and MySQL's old "utf8" wrote
    characters beyond the BMP, or WTF-8's lone halves), decoded: pairs joined into their
    character, each lone one made U+FFFD (counted as replaced); else None."""
    try:
        text = data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return None
    text, lone = _SURROGATE.subn("\ufffd", join_surrogate_pairs(text))
    multibyte = len(text) - len(text.encode("ascii", "ignore")) - lone
    if lone and multibyte < MIN_VALID_PER_BAD * lone:
        return None  # a lone one is a damaged character: cp1252 "í\xa0–" has ED A0 96 too
    return Decoded(text, "utf-8", "utf-8 with bad bytes", lone)


def _damaged_utf8(data: bytes) -> Decoded | None:
    """UTF-8 but for a cut last character or a few damaged characters, decoded; else None.

    Damage is counted by character, not by byte: in a run of bad bytes each lead byte (and
    a run's leading continuation bytes) is one damaged character, so an emoji cut in the
    middle of a text is one (its 2 or 3 bytes were 2 or 3 before, and a text needed 16 or 24
    good multi-byte characters to stay UTF-8). Legacy text read as UTF-8 keeps the bounds
    measured (at most 4 good multi-byte characters per damaged one in 81,598 windows of
    8-512 bytes of the legacy excerpts of scripts/measure_decode.py). A text whose only
    non-ASCII bytes are a cut last character is UTF-8 when those bytes read in cp1252 are
    what ftfy's detector (``ftfy.badness.is_bad``) takes for misread UTF-8 (``ðŸŽ``, ``â€``:
    an emoji or a dash cut), and a code page otherwise (a cp1252 text ending in ``é…``)."""
    escaped = data.decode("utf-8", "surrogateescape")  # one escape per bad byte, in C
    bad = len(_SURROGATE_ESCAPES.findall(escaped))
    cut = _cut_tail(data)
    multibyte = len(escaped) - len(escaped.encode("ascii", "ignore")) - bad
    runs = len(_SURROGATE_RUNS.findall(escaped)) - (1 if cut else 0)
    if runs and multibyte < MIN_VALID_PER_BAD * runs:
        return None  # each run is one damaged character at least (legacy text: at once)
    damaged = _damaged_characters(escaped) - (1 if cut else 0)
    if damaged == 0 and multibyte == 0:
        if cut < 2 or not _misread_utf8(data[len(data) - cut:]):
            return None
    elif multibyte < max(1, MIN_VALID_PER_BAD * damaged):
        return None
    text, replaced = _replacing(data[: len(data) - cut], "utf-8")
    return Decoded(text, "utf-8", "utf-8 with bad bytes", replaced, cut)


def _damaged_characters(escaped: str) -> int:
    """Damaged characters in text decoded with ``surrogateescape``: per run of escaped
    bytes, its lead bytes, and one for continuation bytes opening the run."""
    count = 0
    for run in _SURROGATE_RUNS.finditer(escaped):
        chars = run.group()
        count += sum(1 for ch in chars if not _CONTINUATION[0] <= ch <= _CONTINUATION[1])
        count += _CONTINUATION[0] <= chars[0] <= _CONTINUATION[1]
    return count


def _misread_utf8(tail: bytes) -> bool:
    import ftfy.bad_codecs  # noqa: F401 - registers sloppy-windows-1252
    from ftfy.badness import is_bad

    return bool(is_bad(tail.decode("sloppy-windows-1252")))


def _non_ascii_words(text: str) -> list[str]:
    words = []
    for word in text.split():
        if not word.isascii():
            words.append(word)
            if len(words) == _MAX_SCORED_WORDS:
                break
    return words


def _char_class(chars: list[str]) -> str:
    """A regular expression character class body for ``chars`` (sorted), as ranges."""
    parts = []
    i = 0
    while i < len(chars):
        j = i
        while j + 1 < len(chars) and ord(chars[j + 1]) == ord(chars[j]) + 1:
            j += 1
        parts.append(re.escape(chars[i]) if i == j else
                     f"{re.escape(chars[i])}-{re.escape(chars[j])}")
        i = j + 1
    return "".join(parts)


@functools.cache
def _symbols() -> re.Pattern[str]:
    """Non-ASCII symbols (S*) and other characters of :data:`_ODD_CATEGORIES` (10 ms, once)."""
    return re.compile(f"[{_char_class(_odd_characters()[2])}]")


@functools.cache
def _odd_characters() -> tuple[list[str], list[str], list[str]]:
    """Small letters, capitals, and the non-ASCII symbols and controls, of the BMP."""
    lower, upper, symbols = [], [], []
    for code in range(0x10000):
        ch = chr(code)
        if ch.isalpha():
            if ch.islower():
                lower.append(ch)
            elif ch.isupper():
                upper.append(ch)
        elif code > 0x7F and ch != "´" and (ch in _ODD_INSIDE
                                            or unicodedata.category(ch) in _ODD_CATEGORIES):
            symbols.append(ch)  # ASCII symbols are typed on purpose, never misread
    return lower, upper, symbols


# KOI8-R's box-drawing characters where KOI8-U has є, і, ї: a word of them alone in a
# KOI8-R reading is odd ("Це ╓ моя земля, ╕ я ╖╖ люблю"), unless the reading holds
# other box drawing, a drawing's (a review found compact boxes "╓╖" and bullets "╥")
_KOI8U_SMALL_IN_KOI8R = frozenset(bytes([0xA4, 0xA6, 0xA7]).decode("koi8-r"))
_BOX_DRAWING = re.compile("[\u2500-\u257f]")
_KOI8U_ONLY = bytes([0xA4, 0xA6, 0xA7, 0xAD, 0xB4, 0xB6, 0xB7, 0xBD]).decode("koi8-r")


_WITHOUT_KOI8U_ONLY = {ord(c): None for c in _KOI8U_ONLY}


def _stray_koi8u_words(words: list[str], text: str) -> int:
    """In a KOI8-R reading, the words that are KOI8-U's є, і, ї read as box drawing, when
    no other box drawing is in the text."""
    if _BOX_DRAWING.search(text.translate(_WITHOUT_KOI8U_ONLY)):
        return 0
    return sum(1 for word in words if not set(word) - _KOI8U_SMALL_IN_KOI8R)


@functools.cache
def _odd_pattern() -> re.Pattern[str]:
    """The expression :func:`_odd_word` searches (built once, on first use)."""
    lower, upper, symbols = _odd_characters()
    small, capital = _char_class(lower), _char_class(upper)
    symbol = _char_class(sorted([*symbols, *_QUOTES_INSIDE]))
    non_ascii_small = _char_class([ch for ch in lower if not ch.isascii()])
    non_ascii_capital = _char_class([ch for ch in upper if not ch.isascii()])
    diacritic = _char_class(sorted(_SPACING_DIACRITICS))
    return re.compile(
        # a capital right after a small letter, one of them not ASCII (ASCII letters read
        # the same in every code page: "McDonald" is no misreading)
        f"[{non_ascii_small}][{capital}]|[{small}][{non_ascii_capital}]"
        f"|^[{non_ascii_capital}][{capital}][{small}]"  # "ÑSpiegel"
        "|[\x80-\x9f\ue000-\uf8ff\ufffd]"  # C1 controls, private use, U+FFFD
        f"|[^\\W\\d_][{diacritic}]|[{diacritic}][^\\W\\d_]"  # a diacritic touching a letter
        f"|[{small}{capital}][{symbol}]+[{small}{capital}]"  # symbols between cased letters
        # box drawing or ¤ touching a letter: DOS « » read as cp1252 or Mac Roman ("╟Opzioni")
        "|[\u2500-\u259f¤][^\\W\\d_]|[^\\W\\d_][\u2500-\u259f¤]"
        # a Latin letter touching a Greek or Cyrillic one: "Raphaδl" (cp1252 ë in cp437)
        "|[A-Za-z\u00c0-\u024f][\u0370-\u04ff]|[\u0370-\u04ff][A-Za-z\u00c0-\u024f]"
        # Greek's final sigma inside a word: KOI8 capitals read as ISO-8859-7 ("πςοηςαννα")
        "|ς[^\\W\\d_]")


def _odd_word(word: str) -> bool:
    """A word no writer produces but misreadings do: a capital right after a small letter,
    one of them not ASCII (KOI8 read as cp1251: "пЗПМПЫЕООС"), a word opening with a
    non-ASCII capital, a capital and a small letter ("ÑSpiegel"), a C1 control, a
    private-use character or U+FFFD, symbols between two cased letters (KOI8-R box drawing
    for Ukrainian letters: "Р╕Д"), or a spacing diacritic touching a letter ("pu˜")."""
    return _odd_pattern().search(word) is not None


def plausibility(text: str, score: Scorer) -> float:
    """How plausible a reading of bytes is, from 0 to 1: the language identifier's
    probability (``score``) for its non-ASCII words (at most 300), times the share of those
    words that are not odd (:func:`_odd_word`). 0 without non-ASCII words."""
    return _Reading("", "", text).plausibility(score)


class _Reading:
    """One strict decoding of the bytes, with what ranking it needs computed once."""

    __slots__ = ("codec", "role", "text", "_c1", "_words", "_odd")

    def __init__(self, codec: str, role: str, text: str) -> None:
        self.codec, self.role, self.text = codec, role, text
        self._c1: bool | None = None
        self._words: list[str] | None = None
        self._odd = 0

    @property
    def c1(self) -> bool:
        if self._c1 is None:
            self._c1 = _C1.search(self.text) is not None
        return self._c1

    @property
    def words(self) -> list[str]:
        if self._words is None:
            self._words = _non_ascii_words(self.text)
            self._odd = sum(map(_odd_word, self._words))
            if self.codec == "koi8-r" and not _KOI8U_SMALL_IN_KOI8R.isdisjoint(self.text):
                self._odd += _stray_koi8u_words(self._words, self.text)
        return self._words

    @property
    def odd(self) -> int:
        """How many of its non-ASCII words are odd (:func:`_odd_word`)."""
        _ = self.words
        return self._odd

    @property
    def ceiling(self) -> float:
        """The share of non-ASCII words that are not odd: plausibility is at most that."""
        words = self.words
        return 1 - self._odd / len(words) if words else 0.0

    def plausibility(self, score: Scorer) -> float:
        ceiling = self.ceiling
        return score(" ".join(self.words)) * ceiling if ceiling else 0.0


def _guesses(data: bytes) -> tuple[str, ...]:
    """Code pages to try when the detector has no good guess (see :data:`_UNNAMED`)."""
    non_ascii = len(data) - len(data.translate(None, _NON_ASCII))
    if non_ascii >= _EAST_ASIAN_MIN_SHARE * len(data):
        return _UNNAMED + _UNNAMED_NON_LATIN + _UNNAMED_EAST_ASIAN
    return _UNNAMED


def _candidates(data: bytes, declared: str | None) -> tuple[list[tuple[str, str]], str | None]:
    """Candidate codecs in order of trust, each with its role (a :data:`METHODS` name, or
    ``"alternative"`` for Mac Roman and the guesses), and the detector's guess."""
    found: list[tuple[str, str]] = []
    seen: set[str] = set()

    def add(codec: str | None, role: str) -> None:
        if codec and codec not in seen and not codec.startswith(("utf-8", "utf-16", "utf-32")):
            seen.add(codec)
            found.append((codec, role))

    detected = codec_name(detect_encoding(data, html5_compatible=False))
    named = [(codec_name(declared), "declared"), (detected, "detected")]
    for codec, role in named:
        if codec is None:
            continue
        for superset in SUPERSETS_FIRST.get(codec, ()):
            add(superset, "superset")
        add(codec, role)
        for superset in SUPERSETS_AFTER.get(codec, ()):
            add(superset, "superset")
    unnamed = not found
    for codec, _ in list(found):
        add(_WINDOWS_OF.get(codec), "same script")
    if not seen & _MULTIBYTE:
        add("cp1252", "same script")
    for codec, _ in list(found):
        for sibling in NEAR_SIBLINGS.get(codec, ()):
            add(sibling, "alternative")
    if unnamed:
        for codec in _guesses(data):
            add(codec, "alternative")
    elif seen <= _LATIN:
        for codec in ("mac-roman", *_DOS):
            add(codec, "alternative")
    if seen & _EAST_ASIAN and len(data) < _EAST_ASIAN_SHORT:
        for codec in _UNNAMED_EAST_ASIAN + ("big5",):
            add(codec, "alternative")
    return found, detected


def _choose(readings: list[_Reading], score: Scorer | None) -> _Reading:
    """The default reading (the first without C1 controls, else the first; never an
    alternative), replaced by another only when more plausible by :data:`MARGIN`."""
    primary = [r for r in readings if r.role != "alternative"]
    default = next((r for r in primary if not r.c1), primary[0])
    if score is None:
        return default
    # plausibility is at most a reading's ceiling: the identifier is skipped for readings
    # that cannot clear the bar (most misreadings)
    tried = {default.text}
    challengers = []
    dos_bar = _dos_bar(readings, default)
    for reading in readings:
        if reading.text in tried or (reading.c1 and not default.c1) \
                or (reading.codec in _DOS and dos_bar <= 0):  # (see below)
            continue
        tried.add(reading.text)
        if reading.ceiling > MARGIN:
            challengers.append(reading)
    if not challengers:
        return default
    base = default.plausibility(score)
    best, bar = default, base + MARGIN
    # A reading with a larger share of odd words never wins: on words of ASCII letters with
    # a few non-ASCII marks the identifier's score is noise (Mac Roman's "ìselectorî" beat
    # cp1252's "“selector”", and cp737's "Χ options" its "• options", on the benchmark). A
    # DOS reading must have fewer odd words than every other (:func:`_dos_bar`).
    for reading in challengers:
        if reading.ceiling < default.ceiling or (reading.codec in _DOS
                                                 and reading.odd >= dos_bar):
            continue
        near = (reading.codec in NEAR_SIBLINGS.get(default.codec, ())
                and reading.ceiling > default.ceiling) or _case_swapped(default, reading)
        if best is default and near and reading.plausibility(score) > base:
            best, bar = reading, reading.plausibility(score) + MARGIN
        elif reading.codec in _NEAR_ONLY:
            continue
        elif reading.ceiling > bar:
            value = reading.plausibility(score)
            if value > bar:
                # within TIE of it, a later (less trusted) double-byte reading does not
                # replace a double-byte one: cp932 and Shift_JIS-2004 read NEC and IBM
                # characters alike plausibly (0.994 and 0.999), and cp932 is the Windows
                # code page that wrote them
                best, bar = reading, value + (TIE if reading.codec in _MULTIBYTE else 0.0)
    if best is not default:
        best.role = "plausibility"
    return best


# Cyrillic code pages that read each other's capitals as small letters: a notice in
# capitals written in cp1251 reads in KOI8 as small letters throughout, which the
# identifier scored 0.84 (Russian) against 0.96 for the right Bulgarian (a probe)
_CASE_SWAPS = {"koi8-r": frozenset({"cp1251"}), "koi8-u": frozenset({"cp1251"}),
               "cp1251": frozenset({"koi8-r", "koi8-u"})}


def _case_swapped(default: _Reading, reading: _Reading) -> bool:
    """Whether ``reading`` is the other of a case-swapping pair (:data:`_CASE_SWAPS`) and
    the default reads no capital letter where ``reading`` reads only capitals: then
    plausibility decides without the margin."""
    if reading.codec not in _CASE_SWAPS.get(default.codec, ()):
        return False
    words = "".join(default.words)
    other = "".join(reading.words)
    return bool(words) and not any(map(str.isupper, words)) \
        and not any(map(str.islower, other))


# the odd words every other reading must have before a DOS one is tried
DOS_MIN_ODD = 2


def _dos_bar(readings: list[_Reading], default: _Reading) -> int:
    """The odd words a DOS reading must have fewer of to be tried: as many as the reading
    of any other code page with the fewest, when that is :data:`DOS_MIN_ODD` or more, else
    0 (none is tried). DOS readings turn cp1252's “ ” • — © and Mac Roman's ’ ® into
    letters ("ôsocial contractõ" scored 0.19 above "“social contract”", "isnıt" 0.84
    against 0.33 for "isn’t"): one odd word of the others' ("W×H", a quotation mark
    between two words) is no evidence against them (a review)."""
    if default.odd < DOS_MIN_ODD:
        return 0  # (most texts: the others' odd words are not counted)
    least = min((r.odd for r in readings if r.codec not in _DOS), default=default.odd)
    return least if least >= DOS_MIN_ODD else 0


def _doubtful(readings: list[_Reading]) -> bool:
    """True when no named code page reads the bytes believably: every reading has C1
    controls, or more than :data:`MAX_ODD_SHARE` of the default's non-ASCII words are odd
    or of their non-ASCII characters are symbols (Korean read as cp865: "╡≡╖║┼Σ╕")."""
    default = next((r for r in readings if r.role != "alternative" and not r.c1), None)
    if default is None:
        return True
    words = default.words
    if not words:
        return False
    if default.ceiling < 1 - MAX_ODD_SHARE:
        return True
    joined = "".join(words)
    non_ascii = len(joined) - len(joined.encode("ascii", "ignore"))
    return len(_symbols().findall(joined)) > MAX_ODD_SHARE * non_ascii


def _strict_readings(data: bytes, candidates: list[tuple[str, str]]) -> list[_Reading]:
    readings = []
    for codec, role in candidates:
        text = _strict(data, codec)
        if text is not None:
            readings.append(_Reading(codec, role, text))
    return readings


def _unicode(data: bytes, bom: int, name: str, codec: str, method: str) -> Decoded:
    """``data`` in a Unicode encoding (after a byte order mark of ``bom`` bytes), a cut last
    character dropped (:func:`_cut_after_bom`), undecodable bytes replaced; binary is told
    as before the cut was dropped, the cut counting as the U+FFFD it was (a review found
    short binary files passing as text otherwise)."""
    cut = _cut_after_bom(data, bom, name)
    text, replaced = _replacing(data[: len(data) - cut], codec)
    _check_not_binary(text + "\ufffd" * bool(cut), replaced=bool(replaced or cut))
    return Decoded(text, name, method, replaced, cut)


def decode_bytes(data: bytes, declared: str | None = None, score: Scorer | None = None) -> Decoded:
    """Decode ``data`` to text; raise :class:`SkipFile` when it is binary.

    ``declared`` is a charset the document names itself (an HTML meta tag); it is verified,
    not trusted. ``score`` rates how plausible a text is (a language identifier's
    probability from 0 to 1); without it the default reading wins. The result says how the
    text was decoded (:attr:`Decoded.record`).
    """
    for bom, name, codec in _BOMS:
        if data.startswith(bom):
            return _unicode(data, len(bom), name, codec, "bom")

    if b"\x00" in data[:_SAMPLE]:
        wide = _utf32_without_bom(data) or _utf16_without_bom(data)
        if wide is not None:
            return _unicode(data, 0, wide, wide, f"{wide[:6]} without bom")

    as_utf8 = _strict(data, "utf-8")
    if as_utf8 is not None:
        escaped = _iso2022(data) if b"\x1b" in data and b"\x1b$" in data else None
        if escaped is not None:
            _check_not_binary(escaped[0])
            return Decoded(escaped[0], escaped[1], "iso-2022 escapes")
        _check_not_binary(as_utf8, utf8=data)
        return Decoded(as_utf8, "utf-8")

    damaged = _encoded_surrogates(data) or _damaged_utf8(data)
    if damaged is not None:
        _check_not_binary(damaged.text, replaced=True)
        return damaged

    candidates, detected = _candidates(data, declared)
    readings = _strict_readings(data, candidates)
    if _doubtful(readings):
        # the detector named the wrong family (Shift_JIS-2004 taken for ISO-8859-7, Big5
        # for cp1252): try the guesses too
        tried = {codec for codec, _ in candidates}
        rescue = [(codec, "alternative") for codec in (*_guesses(data), *_DOS)
                  if codec not in tried]
        candidates += rescue
        readings += _strict_readings(data, rescue)
    if any(r.role != "alternative" for r in readings):
        chosen = _choose(readings, score)
        _check_not_binary(chosen.text)
        return Decoded(chosen.text, chosen.codec, chosen.role, detected=detected)
    # no named code page decodes strictly: the reading of one with the fewest replacements
    # (UTF-8 too) ...
    best: tuple[int, str, str] | None = None
    for codec in [c for c, role in candidates if role != "alternative"] + ["utf-8"]:
        text, replaced = _replacing(data, codec)
        if best is None or replaced < best[0]:
            best = (replaced, codec, text)
    assert best is not None  # utf-8 is always tried
    replaced, codec, text = best
    # ... unless a guess (Mac Roman, an East Asian code page) decodes strictly and reads more
    # plausibly by the margin: GB18030 and Mac Roman decode almost any bytes, so a strict
    # reading by a guess alone is no evidence
    if readings and score is not None:
        value, guess = -1.0, readings[0]
        for reading in readings:  # the first of equals, in the order of _guesses
            found = reading.plausibility(score)
            if found > value:
                value, guess = found, reading
        if value > plausibility(text, score) + MARGIN:
            _check_not_binary(guess.text)
            return Decoded(guess.text, guess.codec, "plausibility", detected=detected)
    _check_not_binary(text, replaced=True)
    return Decoded(text, codec, "replacement", replaced, detected=detected)
