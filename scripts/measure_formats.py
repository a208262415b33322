"""Measurements behind the readers of PDF, DOCX, ODT, EPUB, WARC, reStructuredText and CSV
(docs/design.md, "More source formats: the measurements behind each library").

    python scripts/measure_formats.py pdf LIST [--pages N] [--step S]
        # PDFium, pdfminer.six and pypdf on the PDFs named in LIST (one path a line) that
        # have their TeX source beside them (NAME.tex or NAME.tex.gz): words and word pairs
        # of the source found, words not in the source, ligature and hyphenation marks
        # left, pages/s; by script
    python scripts/measure_formats.py pdf-speed PDF...   # pages/s and MB/s, whole files
    python scripts/measure_formats.py office DIR     # DOCX/ODT/EPUB readers against pandoc
    python scripts/measure_formats.py warc WARC...       # FastWARC and warcio: records/s, MB/s
    python scripts/measure_formats.py html DIR       # read_html pages/s and MB/s
    python scripts/measure_formats.py csv                # rows/s of the CSV reader

The PDFs of docs/design.md are the TeX Live documentation of five Debian packages:

    apt-get download texlive-latex-base-doc texlive-lang-cyrillic texlive-lang-chinese \\
        texlive-lang-arabic texlive-lang-greek
    for d in *.deb; do dpkg-deb -x $d x; done
    cd x/usr/share/doc/texlive-doc && for f in $(find . -name '*.pdf' -size -4M | sort); do
        b=${f%.pdf}; [ -f $b.tex ] || [ -f $b.tex.gz ] && echo $PWD/$f; done > /tmp/list

The sources are stripped of TeX commands and comments crudely: what is left holds words the
PDF does not show (option names, code), so no reader finds all of them; the figures compare
the readers on the same files.
"""

from __future__ import annotations

import argparse
import collections
import gzip
import io
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W\d_\u3400-\u9fff\uf900-\ufaff]+")
_COMMAND = re.compile(r"\\[a-zA-Z@]+\*?|\\.")
_COMMENT = re.compile(r"(?<!\\)%.*")
_LIGATURES = re.compile("[\ufb00-\ufb06]")
_HYPHEN_BREAK = re.compile(r"[^\W\d_]-\n[^\W\d_]")
_SCRIPTS = (("cjk", re.compile(r"[\u3400-\u9fff]")), ("arabic", re.compile(r"[\u0600-\u06ff]")),
            ("greek", re.compile(r"[\u0370-\u03ff\u1f00-\u1fff]")),
            ("cyrillic", re.compile(r"[\u0400-\u04ff]")))


def tokens(text: str) -> list[str]:
    return [t.casefold() for t in _TOKEN.findall(text)]


def script_of(text: str) -> str:
    counts = {name: len(rx.findall(text)) for name, rx in _SCRIPTS}
    name, count = max(counts.items(), key=lambda kv: kv[1])
    return name if count > 200 else "latin"


def tex_source(pdf: Path) -> str | None:
    for suffix, opener in ((".tex", open), (".tex.gz", gzip.open)):
        path = pdf.with_name(pdf.name[:-4] + suffix)
        if path.exists():
            with opener(path, "rt", encoding="utf-8", errors="replace") as fh:  # type: ignore[operator]
                text = fh.read()
            return _COMMAND.sub(" ", _COMMENT.sub("", text))
    return None


# ---------------------------------------------------------------------------------------
# PDF readers as measured: each gives the text of the first ``pages`` pages


def pdfium_raw(data: bytes, pages: int) -> str:
    """PDFium's text as it gives it, hyphenation marks joined (what any reader would do)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    out = []
    for i in range(min(pages, len(pdf))):
        tp = pdf[i].get_textpage()
        out.append(tp.get_text_range().replace("\ufffe\r\n", "").replace("\r\n", "\n"))
    pdf.close()
    return "\n".join(out)


def pdfium_corpuspack(data: bytes, pages: int) -> str:
    """corpuspack's reader: PDFium and the paragraphs rebuilt from line positions."""
    import pypdfium2 as pdfium

    from corpuspack.sources.formats.pdf import page_paragraphs

    pdf = pdfium.PdfDocument(data)
    out: list[str] = []
    for i in range(min(pages, len(pdf))):
        out.extend(page_paragraphs(pdf[i].get_textpage()))
    pdf.close()
    return "\n\n".join(out)


def pdfminer_text(data: bytes, pages: int) -> str:
    from pdfminer.high_level import extract_text

    return str(extract_text(io.BytesIO(data), page_numbers=range(pages)))


def pypdf_text(data: bytes, pages: int) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return "\n".join(reader.pages[i].extract_text() for i in range(min(pages,
                                                                      len(reader.pages))))


PDF_READERS: dict[str, Callable[[bytes, int], str]] = {
    "pypdfium2 (raw)": pdfium_raw, "pypdfium2 + paragraphs": pdfium_corpuspack,
    "pdfminer.six": pdfminer_text, "pypdf": pypdf_text}


def _page_count(data: bytes) -> int:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    n = len(pdf)
    pdf.close()
    return n


def measure_pdf(paths: list[Path], pages: int) -> None:
    """Per reader and script: files, share of the source's distinct words (3+ letters; CJK
    characters one by one) found, share of the source's adjacent word pairs found (reading
    order: interleaved columns and lines break pairs), share of the extracted words of 4+
    letters that are not in the source (words run together, broken ligatures, halves of
    hyphenated words, garbled glyphs), ligature characters and unjoined hyphenations left
    per 10,000 words, pages/s."""
    files = []
    for path in paths:
        source = tex_source(path)
        if source:
            data = path.read_bytes()
            files.append((path, data, source, min(pages, _page_count(data))))
    print(f"{len(files)} PDFs with TeX sources, first {pages} pages each, "
          f"{sum(f[3] for f in files)} pages")
    rows: dict[tuple[str, str], list[Any]] = collections.defaultdict(lambda: [0, [], [], [],
                                                                              0, 0, 0, 0.0, 0, 0])
    for path, data, source, n in files:
        src_tokens = tokens(source)
        vocab = set(src_tokens)
        words = {t for t in src_tokens if len(t) >= 3 or not t.isascii()}
        pairs = set(zip(src_tokens, src_tokens[1:], strict=False))
        for name, reader in PDF_READERS.items():
            start = time.perf_counter()
            try:
                text = reader(data, pages)
            except Exception as exc:  # noqa: BLE001 - a failure is a result
                print(f"  {name} failed on {path.name}: {type(exc).__name__}: {exc}",
                      file=sys.stderr)
                rows[(name, "failed")][0] += 1
                continue
            elapsed = time.perf_counter() - start
            found = tokens(text)
            script = script_of(source)
            for key in ((name, script), (name, "all")):
                row = rows[key]
                row[0] += 1
                row[1].append(len(words & set(found)) / max(1, len(words)))
                got_pairs = set(zip(found, found[1:], strict=False))
                row[2].append(len(pairs & got_pairs) / max(1, len(pairs)))
                long = [t for t in found if len(t) >= 4]
                row[3].append(sum(t not in vocab for t in long) / max(1, len(long)))
                row[4] += len(_LIGATURES.findall(text))
                row[5] += len(_HYPHEN_BREAK.findall(text))
                row[6] += len(found)
                row[7] += elapsed
                row[8] += n
    print("| reader | script | files | source words found | word pairs found | words not in "
          "source | ligatures / 10k words | hyphen breaks / 10k words | pages/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (name, script), row in sorted(rows.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        if script == "failed":
            print(f"| {name} | failed | {row[0]} | | | | | | |")
            continue
        per10k = 10_000 / max(1, row[6])
        print(f"| {name} | {script} | {row[0]} | {statistics.mean(row[1]):.3f} | "
              f"{statistics.mean(row[2]):.3f} | {statistics.mean(row[3]):.3f} | "
              f"{row[4] * per10k:.1f} | {row[5] * per10k:.1f} | {row[8] / row[7]:.0f} |")


def measure_pdf_speed(paths: list[Path]) -> None:
    """corpuspack's whole PDF reader (read_pdf: text, paragraphs, metadata) on whole files:
    pages/s and MB/s, best of 3."""
    import pypdfium2 as pdfium

    from corpuspack.errors import SkipFile
    from corpuspack.sources.formats.pdf import read_pdf

    datas = [p.read_bytes() for p in paths]
    pages = 0
    for data in datas:
        try:
            pdf = pdfium.PdfDocument(data)
            pages += len(pdf)
            pdf.close()
        except pdfium.PdfiumError:
            pass
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for data in datas:
            try:
                read_pdf(data)
            except SkipFile:
                pass
        best = min(best, time.perf_counter() - start)
    mb = sum(map(len, datas)) / 1e6
    print(f"read_pdf: {len(datas)} files, {pages} pages, {mb:.1f} MB: {pages / best:.0f} "
          f"pages/s, {mb / best:.1f} MB/s")


def _lines_from(list_file: str) -> list[Path]:
    return [Path(line.strip()) for line in Path(list_file).read_text().splitlines()
            if line.strip()]


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    pdf = sub.add_parser("pdf")
    pdf.add_argument("list")
    pdf.add_argument("--pages", type=int, default=8)
    pdf.add_argument("--step", type=int, default=1)
    speed = sub.add_parser("pdf-speed")
    speed.add_argument("pdfs", nargs="+")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.what == "pdf":
        measure_pdf(_lines_from(args.list)[:: args.step], args.pages)
    elif args.what == "pdf-speed":
        measure_pdf_speed([Path(p) for p in args.pdfs])


if __name__ == "__main__":
    main()
