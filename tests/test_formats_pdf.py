"""PDF sources: real PDFs made by pdfTeX and XeTeX (TeX Live documentation, Debian), their
encrypted, truncated and scanned variants made with qpdf and PDFium (fixtures/formats)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from corpuspack.errors import SkipFile
from corpuspack.sources.formats.pdf import NO_TEXT, pdf_date, read_pdf

from .conftest import FIXTURES, build_to, read_docs

PDF = FIXTURES / "formats" / "pdf"


def data(name: str) -> bytes:
    return (PDF / name).read_bytes()


def test_paragraphs_hyphenation_and_ligatures_of_a_pdftex_document() -> None:
    record = read_pdf(data("lppl.pdf"))
    text = record.text
    paragraphs = text.split("\n\n")
    assert paragraphs[0] == "The LATEX Project Public License"
    # a hyphenated word is joined ("free-dom" at a line end), lines of a paragraph too
    assert ("We, the LATEX3 Project, believe that the conditions below give you the freedom "
            "to make and distribute modified versions of your work that conform with "
            "whatever technical specifications you wish") in text
    assert "constitutes modification of the Work." in text  # "con-stitutes" at a line end
    # TeX's fi/ff ligature glyphs come out as letters
    assert "\ufb01" not in text and "definitions" in text.lower() and "modified" in text
    # a paragraph cut by a page break is one paragraph, the page number dropped
    assert ("Distribution includes (but is not limited to) making any electronic components "
            "of the Work accessible") in text
    assert "\n\n1\n\n" not in text
    assert "\ufffe" not in text and "\r" not in text
    assert record.encoding == "pdf"
    assert record.meta["pages"] == 8
    assert record.meta["producer"] == "pdfTeX-1.40.24"
    assert record.meta["date"] == "2022-11-30"


def test_cyrillic_and_language_of_the_catalog() -> None:
    record = read_pdf(data("numnameru.pdf"))
    assert ("Этот пакет позволяет преобразовать число в число прописью на русском языке."
            in record.text)
    assert "два миллиарда сто сорок семь миллионов" in record.text
    assert record.meta["language"] == "russian"  # /Lang as written: kept as language_raw


def test_chinese_title_and_author_from_the_info_dictionary() -> None:
    record = read_pdf(data("xiaoshan-sample.pdf"))
    assert record.meta["title"] == "萧山Beamer主题 - pgfornament-han附录福利"
    assert record.meta["author"] == "林莲枝"
    assert "因此「萧山」主题也走极简风。" in record.text
    assert "为什么叫「萧山」？" in record.text.split("\n\n")


def test_owner_password_only_is_read() -> None:
    assert read_pdf(data("numnameru-owner-password.pdf")).text == \
        read_pdf(data("numnameru.pdf")).text


@pytest.mark.parametrize("name, reason", [
    ("numnameru-user-password.pdf", "password-protected PDF"),
    ("numnameru-truncated.pdf", "corrupt or truncated PDF"),
    ("numnameru-scanned.pdf", NO_TEXT),
])
def test_files_without_text_are_skipped_with_the_reason(name: str, reason: str) -> None:
    with pytest.raises(SkipFile, match=reason.replace("(", r"\(").replace(")", r"\)")):
        read_pdf(data(name))


def test_not_a_pdf() -> None:
    with pytest.raises(SkipFile, match="corrupt or truncated PDF"):
        read_pdf(b"%PDF-1.7\nnot really\n")


def test_page_limit() -> None:
    with pytest.raises(SkipFile, match="PDF has 8 pages, over the limit of 5 pages"):
        read_pdf(data("lppl.pdf"), max_pages=5)


@pytest.mark.parametrize("raw, iso", [("D:20221130213149Z", "2022-11-30"),
                                      ("D:2017", "2017"), ("20030505", "2003-05-05"),
                                      ("yesterday", None)])
def test_pdf_dates(raw: str, iso: str | None) -> None:
    assert pdf_date(raw) == iso


def test_a_build_reads_pdfs_and_skips_the_others(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for name in ("lppl.pdf", "numnameru.pdf", "numnameru-user-password.pdf",
                 "numnameru-scanned.pdf"):
        (src / name).write_bytes(data(name))
    _, report = build_to(src, tmp_path / "pkg")
    docs = read_docs(tmp_path / "pkg")
    by_source: dict[str, Any] = {d["source"]: d for d in docs}
    assert set(by_source) == {"lppl.pdf", "numnameru.pdf"}
    assert by_source["numnameru.pdf"]["format"] == "pdf"
    assert by_source["numnameru.pdf"]["meta"]["language_raw"] == "russian"
    assert by_source["lppl.pdf"]["language"] == "en"
    assert by_source["lppl.pdf"]["date"] == "2022-11-30"
    skipped = {s.path: s.reason for s in report.skipped}
    assert skipped["numnameru-scanned.pdf"] == NO_TEXT
    assert skipped["numnameru-user-password.pdf"].startswith("password-protected PDF")
