"""Decoding accuracy and speed on real text in legacy code pages (docs/design.md, "Decoding").

    python scripts/measure_decode.py                          # corpuspack.sources.decode
    git show HEAD~1:src/corpuspack/sources/decode.py > /tmp/decode_before.py
    python scripts/measure_decode.py --decode-py /tmp/decode_before.py   # another version
    python scripts/measure_decode.py --margins 0,0.05,0.1,0.2,0.3,2  # plausibility margins

Unlike scripts/measure.py it needs nothing installed: the texts are the repository's own
(tests/fixtures/multilingual: the Debian Administrator's Handbook in 15 languages,
CC-BY-SA-3.0, and the Ukrainian text of ../shared/cases/koi8u-ukrainian when present). Each
text, each of its paragraphs and each sentence of 40 characters or more is encoded in
the code pages its language was written in; a decoding is right when it gives back
exactly what the code page holds. Further sets: the same paragraphs with characters only
a vendor superset holds (cp932, Shift_JIS-2004, EUC-JIS-2004, cp950, Big5-HKSCS,
GB18030, cp949), and whole texts in UTF-8 with 1 to 3 bad bytes inserted or the last
character cut. Speed is decoding throughput over the whole texts (best of 5 runs).
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "multilingual"
UKRAINIAN = ROOT.parent / "shared" / "cases" / "koi8u-ukrainian" / "oholoshennia.txt"

# code pages each language was commonly written in before UTF-8
CODE_PAGES = {
    "fr": ["cp1252", "iso8859-1", "iso8859-15", "mac-roman", "cp850"],
    "de": ["cp1252", "iso8859-1", "mac-roman", "cp850", "cp437"],
    "es": ["cp1252", "mac-roman", "cp850"], "it": ["cp1252", "mac-roman", "cp850"],
    "pt": ["cp1252", "mac-roman", "cp850", "cp860"],
    "cs": ["cp1250", "iso8859-2", "cp852"], "pl": ["cp1250", "iso8859-2", "cp852"],
    "ru": ["cp1251", "koi8-r", "cp866", "iso8859-5", "mac-cyrillic"],
    "uk": ["koi8-u", "cp1251"], "el": ["cp1253", "iso8859-7", "cp737"],
    "tr": ["cp1254", "iso8859-9", "cp857"],
    "ar": ["cp1256"], "ja": ["shift_jis", "cp932", "euc-jp"],
    "zh": ["gb2312", "gbk", "gb18030", "big5", "cp950"], "ko": ["euc-kr", "cp949"],
}
# (superset, base it extends, language of the text, characters only the superset holds)
VENDOR = [
    ("cp932", "shift_jis", "ja", "①②③⑩㈱㈲髙﨑№℡ⅰⅱⅲ∮纊褜鍈"),
    ("shift_jis_2004", "cp932", "ja", "剝𩸽俱頰吞噓㐂𠀋"),
    ("euc_jis_2004", "euc_jp", "ja", "剝𩸽俱吞噓㐂𠀋①②③"),
    ("cp950", "big5", "zh-tw", "碁銹裏墻恒粧嫺€"),
    ("big5hkscs", "cp950", "zh-tw", "嘅咗嚟啲嘢哋嗰喺㗎"),
    ("gb18030", "gbk", "zh-cn", "€㐀㐁𠀀ཀཁགᠠᠡᠢꀀꀁئپ"),
    ("cp949", "euc_kr", "ko", "똠햏뷁쓩쌰뽀롷"),
]


def load(path: str | None) -> ModuleType:
    if path is None:
        from corpuspack.sources import decode

        return decode
    spec = importlib.util.spec_from_file_location("decode_under_test", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def texts() -> dict[str, list[str]]:
    """Whole texts by language ("zh-tw" and "zh-cn" kept apart for the vendor sets)."""
    found: dict[str, list[str]] = {}
    for path in sorted(FIXTURES.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        found.setdefault(path.stem.split("-")[0], []).append(text)
        found.setdefault(path.stem, []).append(text)
    if UKRAINIAN.is_file():
        found["uk"] = [UKRAINIAN.read_bytes().decode("koi8-u")]
    return found


def units(text: str) -> list[str]:
    paragraphs = [p for p in text.split("\n") if len(p) >= 20]
    sentences = [s for p in paragraphs for s in re.split(r"(?<=[.!?。．])\s*", p) if len(s) >= 40]
    return [text, *paragraphs, *sentences]


def legacy_set() -> list[tuple[str, bytes, str]]:
    samples = []
    by_lang = texts()
    for lang, pages in CODE_PAGES.items():
        for text in by_lang.get(lang, []):
            for unit in units(text):
                for codec in pages:
                    data = unit.encode(codec, errors="ignore")
                    if not data.isascii():
                        samples.append((f"{lang} {codec}", data, data.decode(codec)))
    return samples


def vendor_set() -> list[tuple[str, bytes, str]]:
    rnd = random.Random(1)
    samples = []
    by_lang = texts()
    for codec, base, lang, chars in VENDOR:
        for text in by_lang[lang]:
            for unit in units(text)[1:]:
                unit = unit.encode(base, errors="ignore").decode(base)
                for _ in range(rnd.randint(1, 3)):
                    at = rnd.randrange(len(unit) + 1)
                    unit = unit[:at] + rnd.choice(chars) + unit[at:]
                samples.append((f"{lang} {codec}", unit.encode(codec), unit))
    return samples


def damaged_set() -> list[tuple[str, bytes, str]]:
    rnd = random.Random(2)
    samples = []
    for lang, pages in sorted(texts().items()):
        if "-" in lang:
            continue
        for text in pages:
            for k in (1, 2, 3):
                chars = list(text)
                positions = sorted(rnd.sample(range(1, len(chars)), k))
                data, expected, last = b"", "", 0
                for at in positions:
                    piece = "".join(chars[last:at])
                    data += piece.encode() + bytes([rnd.choice([0x80, 0x9F, 0xC3, 0xE2, 0xFF])])
                    expected += piece + "\ufffd"
                    last = at
                piece = "".join(chars[last:])
                samples.append((f"{lang} {k} bad", data + piece.encode(), expected + piece))
            body = text.rstrip()
            cut = body.encode()[:-1] if not body[-1].isascii() else (body + "é").encode()[:-1]
            samples.append((f"{lang} cut", cut, cut.decode("utf-8", "ignore")))
    return samples


def accuracy(decode: Callable[[bytes], str], samples: list[tuple[str, bytes, str]]) -> tuple[
        int, list[str]]:
    right, wrong = 0, []
    for name, data, expected in samples:
        try:
            got = decode(data)
        except Exception as exc:  # noqa: BLE001 - a crash is a wrong answer here
            got = f"<{type(exc).__name__}>"
        if got == expected:
            right += 1
        else:
            wrong.append(name)
    return right, wrong


def speed(decode: Callable[[bytes], str], docs: list[bytes]) -> float:
    size = sum(map(len, docs))
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for data in docs:
            try:
                decode(data)
            except Exception:  # noqa: BLE001, S112 - a skipped file costs its time too
                continue
        best = min(best, time.perf_counter() - start)
    return size / best / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--decode-py", help="a decode.py to measure instead of corpuspack's")
    parser.add_argument("--margins", help="comma-separated plausibility margins to compare")
    parser.add_argument("--show", action="store_true", help="list the samples decoded wrongly")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from corpuspack.language import LanguageIdentifier

    module = load(args.decode_py)
    score = LanguageIdentifier().score

    def decode(data: bytes) -> str:
        return str(module.decode_bytes(data, score=score).text)

    sets = {"legacy code pages": legacy_set(), "vendor superset characters": vendor_set(),
            "UTF-8, bad bytes or cut": damaged_set()}
    margins = [float(m) for m in args.margins.split(",")] if args.margins else [None]
    for margin in margins:
        if margin is not None:
            module.MARGIN = margin
            print(f"margin {margin}")
        for name, samples in sets.items():
            right, wrong = accuracy(decode, samples)
            print(f"  {name}: {right}/{len(samples)} exact")
            if args.show and wrong:
                print("    wrong:", ", ".join(sorted(set(wrong))))
    if args.margins:
        return
    whole = [t.encode("utf-8") for ts in texts().values() for t in ts] * 100
    legacy = [d for _, d, _ in sets["legacy code pages"] if len(d) > 1000] * 5
    damaged = [d for _, d, _ in sets["UTF-8, bad bytes or cut"]] * 5
    print(f"  speed, strict UTF-8 ({sum(map(len, whole)) / 1e6:.1f} MB): "
          f"{speed(decode, whole):.0f} MB/s")
    print(f"  speed, legacy code pages ({sum(map(len, legacy)) / 1e6:.1f} MB): "
          f"{speed(decode, legacy):.2f} MB/s")
    print(f"  speed, UTF-8 with bad bytes ({sum(map(len, damaged)) / 1e6:.1f} MB): "
          f"{speed(decode, damaged):.2f} MB/s")


if __name__ == "__main__":
    main()
