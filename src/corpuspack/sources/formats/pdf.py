"""PDF: the text layer in reading order, paragraphs rebuilt from the lines' geometry.

The library is PDFium (``pypdfium2``), chosen by measurement against pdfminer.six and pypdf
on 80 real PDFs in seven scripts (``scripts/measure_formats.py pdf``, docs/design.md "PDF,
Office documents, EPUB, WARC, reStructuredText, CSV"): as accurate as pdfminer.six on
words, ligatures and columns and the only one without garbled CJK text beside it, and 15 to
60 times faster than either pure-Python library.

PDFium gives a page's characters in content order with a line break after each line, a
ligature glyph as its letters ("fi", when the font maps it so), and a hyphen that it judges
to be a line-end hyphenation mark as U+FFFE. Lines are joined into paragraphs here
(:func:`page_paragraphs`); a hyphenation mark joins the two halves of its word.

Metadata: the XMP packet (``dc:title``, ``dc:creator``, ``dc:language``, ``xmp:CreateDate``)
where the file holds one uncompressed (as the XMP specification recommends, so that tools
can find it without parsing the PDF), else the Info dictionary (Title, Author,
CreationDate), and the catalog's ``/Lang``; ``meta`` gets ``pages`` and the Info
dictionary's Subject, Keywords, Creator and Producer.

Skipped, with the reason: a file PDFium cannot open (not a PDF, truncated or corrupt:
"Data format error"), one that needs a password to open (a PDF with only an owner password,
which restricts printing or copying, opens and is read), one with more pages than
:data:`MAX_PAGES`, and one without any text ("no text layer": scanned or image-only, it
would need OCR).
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from corpuspack.errors import SkipFile
from corpuspack.sources.readers import Format, RawRecord, Source

# Pages read from one PDF at most: a file claiming more is skipped. PDFium parses one page
# at a time (about 1-5 ms per page of text measured, docs/design.md), so this bounds a
# file's time to tens of seconds; real documents are far below (the largest of the 542
# TeX Live PDFs measured has 1,318 pages).
MAX_PAGES = 10_000
# PDFium's error codes (fpdfview.h FPDF_ERR_*) as skip reasons
_OPEN_ERRORS = {
    1: "cannot read the PDF (PDFium: unknown error)",
    2: "cannot read the PDF (PDFium: file error)",
    3: "corrupt or truncated PDF (PDFium: data format error)",
    4: "password-protected PDF: it cannot be opened without its user password",
    5: "PDF encrypted with an unsupported security handler",
    6: "corrupt PDF (PDFium: page error)",
}
NO_TEXT = "no text layer (a scanned or image-only PDF: its text would need OCR)"
_HYPHEN_MARK = "\ufffe"  # PDFium's mark for a hyphen that breaks a word at a line end
_SENTENCE_END = tuple(".!?:;。！？：；")
_LIST_MARK = re.compile(r"^(?:\d{1,3}[.)]|[•◦▪‣∙·\-–—*]|\(?[a-z]\))\s")
_CJK = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]")
_INFO_KEYS = {"Subject": "subject", "Keywords": "keywords", "Creator": "creator",
              "Producer": "producer"}


@dataclass(slots=True)
class _Line:
    text: str
    left: float
    right: float
    bottom: float
    top: float

    @property
    def height(self) -> float:
        return self.top - self.bottom


_LINE = re.compile("[^\r\n\ufffe]*(?:\ufffe|\r\n|$)")


def _lines(textpage: Any) -> list[_Line] | None:
    """The page's lines with their boxes (PDF units, y upwards), or None when PDFium's text
    does not map one to one onto its character indexes (then the caller keeps the lines
    without geometry). PDFium ends a line with CR LF, or with U+FFFE where a hyphen breaks
    a word (and then runs the next line on): both end a line here, and a line ending in
    U+FFFE keeps it for :func:`_join`."""
    text = textpage.get_text_range()
    if textpage.count_chars() != len(text.encode("utf-16-le")) // 2:
        return None
    lines: list[_Line] = []
    index = 0
    for match in _LINE.finditer(text):
        piece = match.group(0)
        if not piece:
            continue
        units = len(piece.encode("utf-16-le")) // 2
        line = piece.removesuffix("\r\n")
        stripped = line.strip()
        if stripped:
            first = index + (len(line) - len(line.lstrip()))
            last = index + len(line.rstrip().encode("utf-16-le")) // 2 - 1
            left, bottom, _, top = textpage.get_charbox(first, loose=True)
            _, bottom2, right, top2 = textpage.get_charbox(last, loose=True)
            lines.append(_Line(stripped, left, right, min(bottom, bottom2), max(top, top2)))
        index += units
    return lines


def _breaks(prev: _Line, cur: _Line, step: float, column_right: float) -> bool:
    """Whether ``cur`` starts a new paragraph after ``prev`` (lines of one page).

    A new paragraph starts where the text moves up (a new column or block), after a gap
    larger than 1.4 times the page's usual line step, at a change of font size of a fifth,
    at a line set out further left that starts a list item, and after a line that ends
    short of its column (by more than three line heights) when that line ends a sentence
    or the next starts indented, in capitals, with a digit or a list mark, or in a script
    without case. Measured on the PDFs of docs/design.md against their TeX sources.
    """
    h = max(prev.height, cur.height, 1.0)
    if cur.top > prev.top + 0.3 * h:
        return True
    if prev.bottom - cur.bottom > 1.4 * step:
        return True
    if abs(cur.height - prev.height) > 0.2 * h:
        return True
    if cur.left < prev.left - 0.6 * h and _LIST_MARK.match(cur.text):
        return True
    if prev.right < column_right - 3 * h:
        first = cur.text[0]
        return (prev.text.endswith(_SENTENCE_END) or cur.left > prev.left + 0.6 * h
                or first.isupper() or first.isdigit() or _LIST_MARK.match(cur.text) is not None
                or (not first.isalpha() and not first.islower()) or bool(_CJK.match(first)))
    return False


def _join(lines: list[str]) -> str:
    """The lines of one paragraph as one line: a hyphenation mark joins its word's halves,
    a line ending in a hyphen or dash joins the next without a space (``self-`` +
    ``contained``), lines of CJK text join without a space, others with one. A mark
    ending the paragraph stays (its word may go on on the next page)."""
    out = lines[0]
    for line in lines[1:]:
        if out.endswith(_HYPHEN_MARK):
            out = out[:-1] + line
        elif out.endswith(("-", "‐", "/")) or (_CJK.match(out[-1]) and _CJK.match(line[0])):
            out += line
        else:
            out += " " + line
    return out


def page_paragraphs(textpage: Any) -> list[str]:
    """The paragraphs of one page (each one line of text), in PDFium's order.

    ``textpage`` is a ``pypdfium2.PdfTextPage``. Lines are grouped by :func:`_breaks`;
    the usual line step is the median distance between the baselines of consecutive lines
    going down the page by less than three line heights; a column's right edge is the
    furthest right edge of the lines starting within three line heights of a line's start.
    """
    lines = _lines(textpage)
    if lines is None:  # no geometry: one paragraph per line
        text = textpage.get_text_range()
        return [_join([line.strip()]) for line in text.split("\r\n") if line.strip()]
    if not lines:
        return []
    steps = [a.bottom - b.bottom for a, b in zip(lines, lines[1:], strict=False)
             if 0 < a.bottom - b.bottom < 3 * max(a.height, b.height, 1.0)]
    step = statistics.median(steps) if steps else 12.0
    paragraphs: list[list[str]] = [[lines[0].text]]
    for prev, cur in zip(lines, lines[1:], strict=False):
        reach = 3 * max(prev.height, 1.0)
        column_right = max(x.right for x in lines if abs(x.left - prev.left) < reach)
        if _breaks(prev, cur, step, column_right):
            paragraphs.append([cur.text])
        else:
            paragraphs[-1].append(cur.text)
    return [_join(p) for p in paragraphs]


# ---------------------------------------------------------------------------------------
# metadata

_XPACKET = re.compile(rb"<\?xpacket begin=.*?<\?xpacket end=[^>]*>", re.S)
_MAX_XMP_BYTES = 1 << 20
_NS = {"rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
       "dc": "http://purl.org/dc/elements/1.1/", "xmp": "http://ns.adobe.com/xap/1.0/",
       "pdf": "http://ns.adobe.com/pdf/1.3/"}


def _xmp_values(root: Any, name: str) -> list[str]:
    """The values of one XMP property: an element (a simple value, or an rdf:Alt, Seq or
    Bag of them) or an attribute of an rdf:Description."""
    prefix, local = name.split(":")
    values: list[str] = []
    for description in root.iterfind(".//rdf:Description", _NS):
        attribute = description.get(f"{{{_NS[prefix]}}}{local}")
        if attribute and attribute.strip():
            values.append(attribute.strip())
        for element in description.iterfind(name, _NS):
            items = element.findall(".//rdf:li", _NS)
            for node in items or [element]:
                if node.text and node.text.strip():
                    values.append(node.text.strip())
    return values


def xmp_metadata(data: bytes) -> dict[str, Any]:
    """Title, author (``dc:creator``, ``; ``-joined), language and date from the file's
    last uncompressed XMP packet that describes a document (one with a ``dc:title``,
    ``dc:creator`` or ``pdf:Producer``); empty when there is none. Parsed by lxml without
    entities, network or huge-tree support (:func:`corpuspack.sources.formats._package.parse`)."""
    from corpuspack.sources.formats._package import XMLError, parse

    found: dict[str, Any] = {}
    for match in _XPACKET.finditer(data):
        packet = match.group(0)
        if len(packet) > _MAX_XMP_BYTES or b"rdf:RDF" not in packet:
            continue
        try:
            root = parse(packet)
        except XMLError:
            continue
        meta: dict[str, Any] = {}
        for key, name in (("title", "dc:title"), ("author", "dc:creator"),
                          ("language", "dc:language"), ("date", "xmp:CreateDate"),
                          ("producer", "pdf:Producer")):
            values = _xmp_values(root, name)
            if values:
                meta[key] = values[0] if key != "author" else "; ".join(values)
        if "date" not in meta and (dates := _xmp_values(root, "dc:date")):
            meta["date"] = dates[0]
        if {"title", "author", "producer"} & meta.keys():
            found = meta
    return found


_PDF_DATE = re.compile(r"^D?:?(\d{4})(\d{2})?(\d{2})?")


def pdf_date(value: str) -> str | None:
    """An ISO date (``YYYY-MM-DD``, or ``YYYY-MM``, ``YYYY``) from a PDF date string
    (``D:20221130213149Z``, ISO 32000-1 7.9.4), or None."""
    match = _PDF_DATE.match(value.strip())
    if not match:
        return None
    return "-".join(part for part in match.groups() if part)


def _catalog_language(pdf: Any) -> str | None:
    import ctypes

    import pypdfium2.raw as raw

    size = raw.FPDFCatalog_GetLanguage(pdf.raw, None, 0)
    if size <= 2:
        return None
    buffer = (ctypes.c_ushort * (size // 2))()
    raw.FPDFCatalog_GetLanguage(pdf.raw, buffer, size)
    text = bytes(buffer)[:size - 2].decode("utf-16-le", "replace").strip()
    return text or None


def _metadata(pdf: Any, data: bytes, pages: int) -> dict[str, Any]:
    info = {k: v.strip() for k, v in pdf.get_metadata_dict(skip_empty=True).items()
            if isinstance(v, str) and v.strip()}
    meta: dict[str, Any] = {"pages": pages}
    for key, name in _INFO_KEYS.items():
        if key in info:
            meta[name] = info[key]
    if "Title" in info:
        meta["title"] = info["Title"]
    if "Author" in info:
        meta["author"] = info["Author"]
    date = pdf_date(info.get("CreationDate", ""))
    if date:
        meta["date"] = date
    xmp = xmp_metadata(data) if b"<?xpacket" in data else {}
    for key in ("title", "author", "language", "date"):
        if key in xmp:
            meta[key] = xmp[key]
    if "producer" not in meta and "producer" in xmp:
        meta["producer"] = xmp["producer"]
    language = _catalog_language(pdf)
    if language:
        meta.setdefault("language", language)
    return meta


_PAGE_NUMBER = re.compile(r"^[-–—(\[]?\s*(?:\d{1,5}|[ivxlcdm]{1,8})\s*[-–—)\]]?$", re.I)


def _add_page(paragraphs: list[str], page: list[str]) -> None:
    """Append a page's paragraphs: a page number alone on the page's first or last line is
    dropped, and a paragraph that the page break cut (no sentence end before it, a small
    letter after it, or a hyphenation mark) is joined again."""
    if page and _PAGE_NUMBER.match(page[-1]):
        page = page[:-1]
    if page and _PAGE_NUMBER.match(page[0]):
        page = page[1:]
    if not page:
        return
    if paragraphs:
        last, first = paragraphs[-1], page[0]
        if last.endswith(_HYPHEN_MARK):
            paragraphs[-1] = last[:-1] + first
            page = page[1:]
        elif not last.endswith(_SENTENCE_END) and first[0].islower():
            paragraphs[-1] = last + " " + first
            page = page[1:]
    paragraphs.extend(page)


# Inflated bytes of the compressed streams of one PDF that PDFium decodes to read text
# (content streams, forms, fonts, object streams: every Flate stream but images), in units
# of the per-document cap (max_document_mb): a PDF "bomb" of a few MB inflating to GBs is
# refused before PDFium sees it (it held 2 GB for a 1 MB stream of 1 GB of spaces).
TOTAL_STREAM_CAPS = 4
_STREAM = re.compile(rb"(?<!end)stream\r?\n")
_MAX_FILTERS = 4
_INFLATE_CHUNK = 1 << 16


def _inflated(data: bytes, start: int, layers: int, limit: int) -> int:
    """How many bytes the Flate stream at ``start`` inflates to through ``layers`` chained
    Flate filters, counted up to ``limit`` + 1 (never held in memory); a stream that is not
    Flate data counts what inflated before the error."""
    import zlib

    chain = [zlib.decompressobj() for _ in range(layers)]
    total, position = 0, start
    while position < len(data) and not chain[0].eof:
        pieces = [data[position:position + _INFLATE_CHUNK]]
        position += _INFLATE_CHUNK
        try:
            for inflater in chain:
                out = []
                for piece in pieces:
                    chunk = inflater.decompress(piece, _INFLATE_CHUNK)
                    while chunk:
                        out.append(chunk)
                        if inflater is chain[-1]:
                            total += len(chunk)
                            if total > limit:
                                return total
                        tail = inflater.unconsumed_tail
                        chunk = inflater.decompress(tail, _INFLATE_CHUNK) if tail else b""
                pieces = out
        except zlib.error:
            return total
    return total


def check_streams(data: bytes, cap: int) -> None:
    """SkipFile when a compressed stream of the PDF that text extraction decodes inflates
    to more than ``cap`` bytes, or all of them together to more than
    :data:`TOTAL_STREAM_CAPS` times it. Streams are found by their ``stream`` keyword and
    their dictionary just before it (image XObjects are skipped: reading text never
    decodes them); each Flate stream is inflated once through its chained Flate filters
    (at most four), in 64 kB steps, without keeping the output. Streams of an encrypted
    PDF cannot be inflated without decrypting and are not counted."""
    budget = TOTAL_STREAM_CAPS * cap
    for match in _STREAM.finditer(data):
        head = data[max(0, match.start() - 4096):match.start()]
        head = head[head.rfind(b"obj") + 1:]
        flates = head.count(b"FlateDecode")
        if not flates or b"/Image" in head:
            continue
        size = _inflated(data, match.end(), min(flates, _MAX_FILTERS), min(cap, budget))
        if size > cap:
            raise SkipFile(f"PDF stream inflates to more than {cap:,} bytes (a decompression "
                           "bomb, or a page over max_document_mb)")
        budget -= size
        if budget < 0:
            raise SkipFile(f"PDF streams inflate to more than {TOTAL_STREAM_CAPS * cap:,} "
                           "bytes together (a decompression bomb)")


def _open(data: bytes) -> Any:
    import pypdfium2 as pdfium

    try:
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        code = getattr(exc, "err_code", None)
        raise SkipFile(_OPEN_ERRORS.get(code or 1, f"cannot read the PDF: {exc}")) from None


def read_pdf(data: bytes, *, max_pages: int = MAX_PAGES,
             max_stream_bytes: int = 64 << 20) -> RawRecord:
    """The text of a PDF (:func:`page_paragraphs` of each page, paragraphs separated by a
    blank line) and its metadata (module docstring); ``encoding`` is ``"pdf"`` (a PDF's
    text is glyphs mapped to Unicode, not encoded bytes). SkipFile for a file that cannot
    be opened, needs a password, has more than ``max_pages`` pages, a stream inflating
    past ``max_stream_bytes`` (:func:`check_streams`; the reader passes
    ``max_document_mb``) or holds no text."""
    check_streams(data, max_stream_bytes)
    pdf = _open(data)
    try:
        pages = len(pdf)
        if pages > max_pages:
            raise SkipFile(f"PDF has {pages:,} pages, over the limit of {max_pages:,} pages "
                           "read from one file")
        paragraphs: list[str] = []
        for number in range(pages):
            page = pdf.get_page(number)
            try:
                textpage = page.get_textpage()
                try:
                    _add_page(paragraphs, page_paragraphs(textpage))
                finally:
                    textpage.close()
            finally:
                page.close()
        if not paragraphs:
            raise SkipFile(NO_TEXT)
        meta = _metadata(pdf, data, pages)
    finally:
        pdf.close()
    text = "\n\n".join(paragraphs).replace(_HYPHEN_MARK, "-")
    return RawRecord(text, "pdf", meta)


def read(source: Source) -> Iterator[RawRecord]:
    yield read_pdf(source.data(), max_stream_bytes=source.max_record_bytes)


FORMAT = Format(
    name="pdf",
    extensions=(".pdf",),
    many=False,
    read=read,
    documents="the text layer in reading order (PDFium), paragraphs rebuilt from the lines' "
              "positions, hyphenated words joined; title, author, date and language from XMP "
              "or the Info dictionary; page count in `meta.pages`",
)
