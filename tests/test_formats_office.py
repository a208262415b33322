"""DOCX, ODT and EPUB sources: the same real documents converted by pandoc 2.17 (Debian 12)
to each format, with real metadata (fixtures/formats/office and its README)."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from corpuspack.errors import SkipFile
from corpuspack.normalise import normalise_text
from corpuspack.sources.formats.docx import read_docx
from corpuspack.sources.formats.epub import read_epub
from corpuspack.sources.formats.odt import read_odt

from .conftest import FIXTURES, build_to, read_docs

OFFICE = FIXTURES / "formats" / "office"
READERS = {"docx": read_docx, "odt": read_odt, "epub": read_epub}


def read(name: str) -> Any:
    return READERS[name.rsplit(".", 1)[1]]((OFFICE / name).read_bytes())


@pytest.mark.parametrize("name", ["guide-en", "handbook-ru"])
def test_one_document_as_docx_odt_and_epub_gives_one_text(name: str) -> None:
    texts = {kind: normalise_text(read(f"{name}.{kind}").text) for kind in READERS}
    assert texts["docx"] == texts["odt"]
    # pandoc's EPUB repeats the title as its chapter's heading: the only difference
    title = texts["docx"].split("\n", 1)[0]
    epub = texts["epub"].split("\n\n")
    assert epub.count(title) == 2
    del epub[len(epub) - 1 - epub[::-1].index(title)]
    assert "\n\n".join(epub) == texts["docx"]


def test_headings_lists_tables_and_code_are_kept() -> None:
    text = read("guide-en.docx").text
    lines = text.split("\n")
    assert "Source formats" in lines and "Safety" in lines  # headings
    # a numbered list and a bulleted one, as numbered and bulleted lines
    assert any(re.match(r"\s*1\. \[defaults\] in the config;$", line) for line in lines)
    assert any(re.match(r"\s*• What it writes\. build replaces only", line) for line in lines)
    # a table row on one line, its cells in order
    assert re.search(r"^\.txt, \.text\s+text\s+the whole file$", text, re.M)
    # a code block's lines are verbatim
    record = read("guide-en.docx")
    assert "news/article.txt" in record.verbatim


@pytest.mark.parametrize("kind", ["docx", "odt", "epub"])
def test_metadata(kind: str) -> None:
    meta = read(f"handbook-ru.{kind}").meta
    assert meta["title"] == "Настольная книга администратора Debian"
    assert meta["author"] == "Raphaël Hertzog; Roland Mas"
    assert meta["language"] == "ru"
    en = read(f"guide-en.{kind}").meta
    assert en["language"] == "en-GB" and en["author"] == "corpuspack developers"
    if kind != "docx":  # the date pandoc was given (DOCX: only the creation time)
        assert meta["date"] == "2022-09-22"


def test_a_build_reads_the_three_formats(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for kind in READERS:
        (src / f"handbook-ru.{kind}").write_bytes((OFFICE / f"handbook-ru.{kind}").read_bytes())
    _, report = build_to(src, tmp_path / "pkg")
    docs = {d["format"]: d for d in read_docs(tmp_path / "pkg")}
    # the three give one text (the EPUB's holds the title twice): the DOCX/ODT twin is an
    # exact duplicate, the EPUB a near-duplicate of the one kept
    assert report.documents_read == 3 and not report.skipped
    assert report.duplicates_dropped == 1 and report.near_duplicates_dropped == 1
    [doc] = docs.values()
    assert doc["language"] == "ru" and doc["title"] == "Настольная книга администратора Debian"
    assert doc["author"] == "Raphaël Hertzog; Roland Mas"


def _rezip(name: str, replace: dict[str, bytes], drop: tuple[str, ...] = ()) -> bytes:
    """A fixture's zip with members replaced or dropped (the order and the rest kept)."""
    out = io.BytesIO()
    with zipfile.ZipFile(OFFICE / name) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename in drop:
                continue
            data = replace.get(info.filename, src.read(info))
            dst.writestr(info.filename, data, compress_type=zipfile.ZIP_DEFLATED)
        for name_added, data in replace.items():
            if name_added not in src.namelist():
                dst.writestr(name_added, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


@pytest.mark.parametrize("name, reason", [
    ("guide-en.docx", "corrupt or truncated DOCX"),
    ("guide-en.odt", "corrupt or truncated ODT"),
    ("guide-en.epub", "corrupt or truncated EPUB"),
])
def test_truncated_files_are_skipped(name: str, reason: str) -> None:
    data = (OFFICE / name).read_bytes()
    with pytest.raises(SkipFile, match=reason):
        READERS[name.rsplit(".", 1)[1]](data[: len(data) // 2])


def test_other_broken_packages() -> None:
    with pytest.raises(SkipFile, match="not a DOCX: no main document part"):
        read_docx(_rezip("guide-en.docx", {}, drop=("word/document.xml",)))
    with pytest.raises(SkipFile, match="not an EPUB: no META-INF/container.xml"):
        read_epub(_rezip("guide-en.epub", {}, drop=("META-INF/container.xml",)))
    with pytest.raises(SkipFile, match="not an OpenDocument text"):
        read_odt(_rezip("guide-en.odt", {"mimetype": b"application/vnd.oasis.opendocument."
                                                     b"spreadsheet"}))
    with pytest.raises(SkipFile, match="password-protected DOCX"):
        read_docx(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600))
    with pytest.raises(SkipFile, match="DRM-protected EPUB"):
        read_epub(_rezip("guide-en.epub", {"META-INF/encryption.xml": (
            b'<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container" '
            b'xmlns:enc="http://www.w3.org/2001/04/xmlenc#"><enc:EncryptedData>'
            b'<enc:CipherData><enc:CipherReference URI="EPUB/text/ch001.xhtml"/>'
            b'</enc:CipherData></enc:EncryptedData></encryption>')}))
