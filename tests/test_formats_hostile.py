"""Hostile inputs of the package and PDF formats: each is skipped with its reason, in bounded
memory and time (README, "Safety"). Built from the real fixtures of fixtures/formats."""

from __future__ import annotations

import io
import resource
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from corpuspack.errors import SkipFile
from corpuspack.sources.formats._package import MAX_MEMBERS, Package
from corpuspack.sources.formats.docx import read_docx
from corpuspack.sources.formats.epub import read_epub
from corpuspack.sources.formats.odt import read_odt
from corpuspack.sources.formats.pdf import read_pdf

from .conftest import FIXTURES

OFFICE = FIXTURES / "formats" / "office"
MiB = 1 << 20


@contextmanager
def bounded(max_mb: int = 150, max_seconds: float = 10.0) -> Iterator[None]:
    """The block's peak memory grows by at most ``max_mb`` and it takes at most
    ``max_seconds``."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    yield
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown < max_mb, f"peak memory grew by {grown:.0f} MB"
    assert time.perf_counter() - start < max_seconds


def rezip(name: str, replace: dict[str, bytes], extra: int = 0) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(OFFICE / name) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info.filename, replace.get(info.filename, src.read(info)),
                         compress_type=zipfile.ZIP_DEFLATED)
        for number in range(extra):
            dst.writestr(f"x/{number}", b"")
    return out.getvalue()


def spaces(size: int) -> bytes:
    """``size`` bytes of XML-looking padding; zipfile compresses them about 1000:1."""
    return b"<?xml version='1.0'?><a>" + b" " * size + b"</a>"


READERS: dict[str, Callable[[bytes], object]] = {"docx": read_docx, "odt": read_odt,
                                                  "epub": read_epub}


@pytest.mark.parametrize("name, member", [("guide-en.docx", "word/document.xml"),
                                          ("guide-en.odt", "content.xml"),
                                          ("guide-en.epub", "EPUB/text/ch001.xhtml")])
def test_zip_bombs(name: str, member: str) -> None:
    bomb = rezip(name, {member: spaces(80 * MiB)})  # 80 MB in about 80 kB
    assert len(bomb) < 200_000
    with bounded(), pytest.raises(SkipFile, match="inflates to more than 67,108,864 bytes"):
        READERS[name.rsplit(".", 1)[1]](bomb)


def test_members_together_are_capped() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for number in range(5):
            z.writestr(f"m{number}", spaces(MiB), compress_type=zipfile.ZIP_DEFLATED)
    package = Package(out.getvalue(), "EPUB", MiB + MiB // 4)
    for number in range(3):
        package.read(f"m{number}")
    with bounded(), pytest.raises(SkipFile, match="inflate to more than 5,242,880 bytes "
                                                  "together"):
        package.read("m3")
        package.read("m4")


def test_too_many_members() -> None:
    with bounded(), pytest.raises(SkipFile, match=f"over the limit of {MAX_MEMBERS:,}"):
        read_docx(rezip("guide-en.docx", {}, extra=MAX_MEMBERS))


LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;")
                                                * 10) for i in range(1, 10))
          + b"]>")


def test_billion_laughs_expand_nothing() -> None:
    content = LAUGHS + (b'<office:document-content xmlns:office="urn:oasis:names:tc:'
                        b'opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:'
                        b'opendocument:xmlns:text:1.0"><office:body><office:text><text:p>'
                        b'&lol9;</text:p></office:text></office:body>'
                        b'</office:document-content>')
    # libxml2 refuses the document (amplification limit) even with entities unresolved
    with bounded(max_mb=50, max_seconds=2), pytest.raises(
            SkipFile, match="content.xml' is not well-formed XML.*entity amplification"):
        read_odt(rezip("guide-en.odt", {"content.xml": content}))
    with zipfile.ZipFile(OFFICE / "guide-en.epub") as z:
        opf = z.read("EPUB/content.opf")
    hostile_opf = LAUGHS + opf.split(b"?>", 1)[1].replace(
        b"Using Python", b"&lol9;").replace(b"<dc:title", b"<dc:subject>&lol9;</dc:subject>"
                                            b"<dc:title")
    with bounded(max_mb=50, max_seconds=2), pytest.raises(
            SkipFile, match="content.opf' is not well-formed XML.*entity amplification"):
        read_epub(rezip("guide-en.epub", {"EPUB/content.opf": hostile_opf}))


def test_external_entities_are_not_read() -> None:
    xxe = (b'<?xml version="1.0"?><!DOCTYPE c [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:'
           b'container"><rootfiles><rootfile full-path="EPUB/content.opf" media-type='
           b'"application/oebps-package+xml">&x;</rootfile></rootfiles></container>')
    record = read_epub(rezip("guide-en.epub", {"META-INF/container.xml": xxe}))
    assert "root:" not in record.text and "root:" not in str(record.meta)


def pdf_with_stream(inflated: int) -> bytes:
    """A one-page PDF whose content stream inflates to ``inflated`` bytes of spaces."""
    co = zlib.compressobj(9)
    stream = b"".join(co.compress(b" " * MiB) for _ in range(inflated // MiB)) + co.flush()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream
               + b"\nendstream"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 5\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o
                                                          for o in offsets)
    out += b"trailer\n<< /Size 5 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def test_pdf_decompression_bomb() -> None:
    bomb = pdf_with_stream(100 * MiB)  # PDFium held twice the stream's size in memory
    assert len(bomb) < 200_000
    with bounded(max_mb=100), pytest.raises(SkipFile, match="a decompression bomb"):
        read_pdf(bomb)
    with pytest.raises(SkipFile, match="no text layer"):  # the same, small: read
        read_pdf(pdf_with_stream(MiB))


def test_pdf_with_more_pages_than_the_limit() -> None:
    data = (FIXTURES / "formats" / "pdf" / "xiaoshan-sample.pdf").read_bytes()
    with bounded(max_mb=50), pytest.raises(SkipFile, match="over the limit of 3 pages"):
        read_pdf(data, max_pages=3)


# --- reStructuredText: parsing work charged to a budget, linear in the file's size ---------

RST_HOSTILE = {
    "lists nested on each line": "- - - - - - - - x\n" * 20_000,  # 360 kB
    "unclosed emphasis in one paragraph": ("*a " * 1_000 + "\n") * 100,  # 300 kB
    "unclosed interpreted text": ("`a " * 1_000 + "\n") * 100,
    "substitutions doubling 60 times": "".join(
        f".. |s{i}| replace:: |s{i + 1}| |s{i + 1}|\n" for i in range(60))
        + ".. |s60| replace:: x\n\n|s0|\n",
    "table cells a character wide": "+" + "-+" * 4_000 + "\n" + ("|" + "a|" * 4_000 + "\n")
        * 40 + "+" + "-+" * 4_000 + "\n",
}


@pytest.mark.parametrize("name", RST_HOSTILE)
def test_rst_costly_to_parse_is_skipped_in_bounded_memory_and_time(name: str) -> None:
    from corpuspack.sources.formats.rst import read_rst

    data = RST_HOSTILE[name].encode()
    with bounded(max_mb=300, max_seconds=60), pytest.raises(SkipFile, match="reStructuredText"):
        read_rst(data)
