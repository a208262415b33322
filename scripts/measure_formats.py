"""Measurements behind the readers of PDF, DOCX, ODT, EPUB, WARC, reStructuredText and CSV
(docs/design.md, "More source formats: the measurements behind each library").

    python scripts/measure_formats.py pdf LIST [--pages N] [--step S]
        # PDFium, pdfminer.six and pypdf on the PDFs named in LIST (one path a line) that
        # have their TeX source beside them (NAME.tex or NAME.tex.gz): words and word pairs
        # of the source found, words not in the source, ligature and hyphenation marks
        # left, pages/s; by script
    python scripts/measure_formats.py pdf-speed PDF...   # pages/s and MB/s, whole files
    python scripts/measure_formats.py office DIR     # DOCX/ODT/EPUB readers against pandoc
        # DIR: NAME.md converted by pandoc 2.17 (Debian 12) to NAME.docx, .odt, .epub, and
        # `pandoc NAME.md -t plain --wrap=none -o NAME.ref.txt`; the sets of docs/design.md:
        # tests/fixtures/html/*.html (pandoc -f html -s -o NAME.md), the texts of
        # tests/fixtures/multilingual, docs/design.md and README.md's "Source formats"
    python scripts/measure_formats.py warc WARC [--copies N]  # FastWARC, warcio: records/s
        # WARC: tests/fixtures/formats/warc/crawl.warc.gz (its README says how it was made)
    python scripts/measure_formats.py rst ROOT... [--step N] [--reader NAME]  # rst readers vs
        # the HTML Sphinx or docutils rendered from the same sources (ROOT: the html folder
        # of Debian 12's python3.11-doc, with _sources/, and docutils-doc's folder):
        #   apt-get download python3.11-doc docutils-doc; dpkg-deb -x each .deb into x/
        #   ROOTS: x/usr/share/doc/python3.11/html x/usr/share/doc/docutils-doc
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


# ---------------------------------------------------------------------------------------
# DOCX, ODT, EPUB: each reader's text against pandoc's plain text of the same source


def docx_python_docx(data: bytes) -> str:
    import docx  # python-docx

    document = docx.Document(io.BytesIO(data))
    out = []
    for block in document.iter_inner_content():
        if hasattr(block, "rows"):
            out.extend("\t".join(c.text for c in row.cells) for row in block.rows)
        else:
            out.append(block.text)
    return "\n\n".join(out)


def docx_mammoth(data: bytes) -> str:
    import mammoth

    from corpuspack.sources.formats._package import html_text

    html = mammoth.convert_to_html(io.BytesIO(data)).value
    return html_text(f"<html><body>{html}</body></html>")[0]


def odt_odfpy(data: bytes) -> str:
    from odf import teletype
    from odf.opendocument import load

    document = load(io.BytesIO(data))
    body = next(n for n in document.body.childNodes
                if getattr(n, "qname", ("", ""))[1] == "text")
    return "\n\n".join(teletype.extractText(node) for node in body.childNodes)


def _corpuspack(kind: str) -> Callable[[bytes], str]:
    def read(data: bytes) -> str:
        from corpuspack.sources.formats import docx, epub, odt

        reader = {"docx": docx.read_docx, "odt": odt.read_odt, "epub": epub.read_epub}[kind]
        return reader(data).text
    return read


OFFICE_READERS: dict[str, dict[str, Callable[[bytes], str]]] = {
    "docx": {"corpuspack (lxml)": _corpuspack("docx"), "python-docx": docx_python_docx,
             "mammoth + HTML extraction": docx_mammoth},
    "odt": {"corpuspack (lxml)": _corpuspack("odt"), "odfpy": odt_odfpy},
    "epub": {"corpuspack (lxml + HTML extraction)": _corpuspack("epub")},
}
_BULLET = re.compile(r"^\s*(?:[-•*◦▪]|\d+[.)])\s+\S", re.M)


def measure_office(folder: Path, repeat: int) -> None:
    """Per format and reader, over every NAME.{docx,odt,epub} with NAME.ref.txt (pandoc
    -t plain of the same source) in ``folder``: share of the reference's word pairs found,
    list items of the reference found as a line marked with a bullet or number,
    documents/s (best of ``repeat``)."""
    for kind, readers in OFFICE_READERS.items():
        files = sorted(folder.glob(f"*.{kind}"))
        refs = {f: f.with_suffix(".ref.txt").read_text(encoding="utf-8") for f in files}
        datas = {f: f.read_bytes() for f in files}
        print(f"\n{kind}: {len(files)} files, {sum(map(len, datas.values())) / 1e6:.1f} MB")
        print("| reader | word pairs found | list items marked | docs/s |")
        print("|---|---|---|---|")
        for name, reader in readers.items():
            pairs, items = [], [0, 0]
            for f in files:
                text = reader(datas[f])
                ref = tokens(refs[f])
                got = set(zip(*(lambda t: (t, t[1:]))(tokens(text)), strict=False))
                want = set(zip(ref, ref[1:], strict=False))
                pairs.append(len(want & got) / max(1, len(want)))
                starts = {" ".join(tokens(line)[:4]) for line in text.splitlines()
                          if _BULLET.match(line)}
                for match in _BULLET.finditer(refs[f]):
                    line = refs[f][match.start():refs[f].find("\n", match.start())]
                    words = " ".join(tokens(line)[:4])
                    if words:
                        items[1] += 1
                        items[0] += any(words in s for s in starts if s)
            best = float("inf")
            for _ in range(repeat):
                start = time.perf_counter()
                for f in files:
                    reader(datas[f])
                best = min(best, time.perf_counter() - start)
            print(f"| {name} | {statistics.mean(pairs):.3f} | {items[0]}/{items[1]} | "
                  f"{len(files) / best:.0f} |")


# ---------------------------------------------------------------------------------------
# WARC: FastWARC and warcio reading records and payloads; corpuspack's reader end to end


def measure_warc(path: Path, copies: int) -> None:
    """Records/s and MB/s over ``copies`` concatenated copies of an uncompressed WARC (best
    of 3): each library iterating every record with its HTTP headers parsed and reading
    every payload; then corpuspack's WARC reader (documents: HTML extraction included)."""
    from collections import Counter

    from fastwarc.warc import ArchiveIterator
    from warcio.archiveiterator import ArchiveIterator as WarcioIterator

    from corpuspack.sources.formats.warc import iter_warc

    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    data *= copies
    mb = len(data) / 1e6

    def fastwarc() -> int:
        n = 0
        for record in ArchiveIterator(io.BytesIO(data), parse_http=True):
            record.reader.read()
            n += 1
        return n

    def warcio() -> int:
        n = 0
        for record in WarcioIterator(io.BytesIO(data)):
            record.content_stream().read()
            n += 1
        return n

    def corpuspack() -> int:
        return sum(1 for _ in iter_warc(io.BytesIO(data), 1 << 26, None, Counter()))

    print(f"{path.name} x{copies}: {mb:.1f} MB")
    print("| reader | records (documents) | records/s | MB/s |")
    print("|---|---|---|---|")
    for name, run in (("FastWARC 2.0", fastwarc), ("warcio 1.8", warcio),
                      ("corpuspack warc reader (documents)", corpuspack)):
        best, count = float("inf"), 0
        for _ in range(3):
            start = time.perf_counter()
            count = run()
            best = min(best, time.perf_counter() - start)
        print(f"| {name} | {count} | {count / best:,.0f} | {mb / best:.1f} |")


# ---------------------------------------------------------------------------------------
# reStructuredText: corpuspack's doctree walk, docutils' HTML writer, pandoc, the source,
# against the HTML Sphinx and docutils rendered from the same sources


def _rst_pairs(roots: list[Path]) -> list[tuple[Path, Path]]:
    """(source, rendered HTML) of each document: Sphinx's ``_sources/X.rst.txt`` beside
    ``X.html`` (the Python documentation), docutils' ``X.txt`` beside ``X.html``."""
    pairs = []
    for root in roots:
        sources = root / "_sources"
        if sources.is_dir():
            for src in sorted(sources.rglob("*.rst.txt")):
                html = root / src.relative_to(sources).with_suffix("").with_suffix(".html")
                if html.is_file():
                    pairs.append((src, html))
        else:
            for src in sorted(root.rglob("*.txt")):
                if src.with_suffix(".html").is_file():
                    pairs.append((src, src.with_suffix(".html")))
    return pairs


def _rendered(html: bytes) -> tuple[str, set[str]]:
    """The text of the body Sphinx or docutils rendered (no permalinks, tables of contents
    or docinfo, which the reader keeps as metadata) and the stripped lines of its <pre>."""
    import lxml.html

    tree = lxml.html.fromstring(html)
    body = (tree.xpath('//div[@role="main"]') or tree.xpath("//main")
            or tree.xpath('//div[@class="document"]') or [tree])[0]
    for bad in body.xpath('.//a[@class="headerlink"] | .//*[contains(@class, "contents")]'
                          ' | .//*[contains(@class, "docinfo")] | .//script | .//style'):
        bad.drop_tree()
    code = {line.strip() for pre in body.xpath(".//pre")
            for line in pre.text_content().splitlines() if line.strip()}
    return " ".join(body.itertext()), code


def rst_corpuspack(data: bytes) -> str:
    from corpuspack.sources.formats.rst import read_rst

    return read_rst(data).text


def rst_html_writer(data: bytes) -> str:
    """The same tree (same settings, Sphinx roles and directives read the same way) written
    by docutils' HTML5 writer, then read by the HTML extraction as DOCX, ODT and EPUB are."""
    from docutils.core import publish_from_doctree

    from corpuspack.sources.formats import rst
    from corpuspack.sources.formats._package import html_text

    text = data.decode("utf-8", "replace")
    document = rst._document(text, rst._Budget(1 << 40))
    html = publish_from_doctree(document, writer_name="html5", settings_overrides={
        "report_level": 5, "warning_stream": False, "embed_stylesheet": False,
        "stylesheet_path": "", "_disable_config": True})
    return html_text(html.decode("utf-8"))[0]


def rst_docutils_as_is(data: bytes) -> str:
    """docutils as it comes (its standard reader and transforms, safe settings): unknown
    roles and directives become error messages, left out at report level 5."""
    from docutils.core import publish_string

    from corpuspack.sources.formats._package import html_text

    html = publish_string(data, writer_name="html5", settings_overrides={
        "report_level": 5, "halt_level": 5, "warning_stream": False,
        "file_insertion_enabled": False, "raw_enabled": False, "_disable_config": True,
        "embed_stylesheet": False, "stylesheet_path": "", "syntax_highlight": "none"})
    return html_text(html.decode("utf-8"))[0]


def rst_pandoc(data: bytes) -> str:
    import subprocess

    return subprocess.run(["pandoc", "-f", "rst", "-t", "plain", "--wrap=none"], input=data,
                          capture_output=True, check=False, timeout=120).stdout.decode()


def rst_source(data: bytes) -> str:
    return data.decode("utf-8", "replace")


RST_READERS: dict[str, Callable[[bytes], str]] = {
    "corpuspack (docutils tree, walked)": rst_corpuspack,
    "same tree, docutils' HTML5 writer + HTML extraction": rst_html_writer,
    "docutils as is (HTML5 writer) + HTML extraction": rst_docutils_as_is,
    "pandoc 2.17 -t plain": rst_pandoc,
    "the source as plain text": rst_source,
}


def measure_rst(roots: list[Path], readers: list[str], step: int = 1) -> None:
    """Per reader, over every source with its rendered HTML under ``roots``: share of the
    rendered text's distinct words found, of its adjacent word pairs found (reading
    order), share of the output's distinct words the rendering does not have (markup,
    role and option names, file names of toctrees), share of the rendered code lines
    found as lines, documents that failed, documents/s and MB/s (one pass). ``step``: every
    so many documents (a sample, to keep a run short)."""
    pairs = _rst_pairs(roots)[::step]
    refs = [(src.read_bytes(), *_rendered(html.read_bytes())) for src, html in pairs]
    size = sum(len(data) for data, _, _ in refs)
    print(f"{len(pairs)} documents, {size / 1e6:.1f} MB")
    print("| reader | words found | word pairs found | words not in the rendering | "
          "code lines found | failed | docs/s | MB/s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, reader in RST_READERS.items():
        if readers and not any(r in name for r in readers):
            continue
        found, pairs_found, extra, code, failed, spent = [], [], [], [0, 0], 0, 0.0
        for data, rendered, code_lines in refs:
            start = time.perf_counter()
            try:
                text = reader(data)
            except Exception:
                failed += 1
                text = ""
            spent += time.perf_counter() - start
            want, got = tokens(rendered), tokens(text)
            found.append(len(set(want) & set(got)) / max(1, len(set(want))))
            want_pairs = set(zip(want, want[1:], strict=False))
            got_pairs = set(zip(got, got[1:], strict=False))
            pairs_found.append(len(want_pairs & got_pairs) / max(1, len(want_pairs)))
            extra.append(len(set(got) - set(want)) / max(1, len(set(got))))
            lines = {line.strip() for line in text.splitlines()}
            code[0] += len(code_lines & lines)
            code[1] += len(code_lines)
        print(f"| {name} | {statistics.mean(found):.3f} | {statistics.mean(pairs_found):.3f} | "
              f"{statistics.mean(extra):.3f} | {code[0] / max(1, code[1]):.3f} | {failed} | "
              f"{len(refs) / spent:.0f} | {size / 1e6 / spent:.2f} |", flush=True)


def measure_rst_budget(roots: list[Path], step: int = 1) -> None:
    """The parsing work (rst budget steps: state-machine steps, inline-markup searches,
    substitution copies) real documents use per kB of source, and their seconds per step,
    against the budget the reader allows (STEP_BUDGET + STEPS_PER_KB a kB)."""
    from corpuspack.errors import SkipFile
    from corpuspack.sources.formats import rst

    per_kb, per_step, skipped = [], [], []
    for src, _ in _rst_pairs(roots)[::step]:
        data = src.read_bytes()
        budget = rst._Budget(1 << 40)
        start = time.perf_counter()
        try:
            rst._document(data.decode("utf-8", "replace"), budget)
        except SkipFile as exc:
            skipped.append(f"{src.name}: {exc}")
            continue
        used = budget.steps - budget.left
        per_kb.append((used / (len(data) / 1024), src.name))
        per_step.append((time.perf_counter() - start) / max(1.0, used))
        if used > rst._step_budget(len(data)):
            skipped.append(f"{src.name}: over the budget ({used:,.0f} steps)")
    per_kb.sort()
    print(f"{len(per_kb)} documents: steps per kB median {per_kb[len(per_kb) // 2][0]:.0f}, "
          f"99th percentile {per_kb[len(per_kb) * 99 // 100][0]:.0f}, "
          f"max {per_kb[-1][0]:.0f} ({per_kb[-1][1]}); ms per step median "
          f"{statistics.median(per_step) * 1e3:.3f}, max {max(per_step) * 1e3:.3f}")
    print(f"over the budget or skipped: {len(skipped)}", *skipped, sep="\n  ")


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
    office = sub.add_parser("office")
    office.add_argument("folder")
    office.add_argument("--repeat", type=int, default=3)
    warc = sub.add_parser("warc")
    warc.add_argument("path")
    warc.add_argument("--copies", type=int, default=200)
    rst = sub.add_parser("rst")
    rst.add_argument("roots", nargs="+")
    rst.add_argument("--reader", action="append", default=[])
    rst.add_argument("--step", type=int, default=1)
    rst.add_argument("--budget", action="store_true", help="parsing work per kB instead")
    args = parser.parse_args(list(argv) if argv is not None else None)
    if args.what == "pdf":
        measure_pdf(_lines_from(args.list)[:: args.step], args.pages)
    elif args.what == "warc":
        measure_warc(Path(args.path), args.copies)
    elif args.what == "office":
        measure_office(Path(args.folder), args.repeat)
    elif args.what == "rst":
        if args.budget:
            measure_rst_budget([Path(p) for p in args.roots], args.step)
        else:
            measure_rst([Path(p) for p in args.roots], args.reader, args.step)
    elif args.what == "pdf-speed":
        measure_pdf_speed([Path(p) for p in args.pdfs])


if __name__ == "__main__":
    main()
