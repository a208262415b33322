"""WARC sources: a real crawl recorded by wget 1.21 (``--warc-file``) of a local
``http.server`` serving HTML in UTF-8, ISO-8859-1 (``<meta>``) and windows-1251 (HTTP
header only), a text file, an image, a PDF and a missing page (fixtures/formats/warc)."""

from __future__ import annotations

import gzip
import io
from collections import Counter
from pathlib import Path
from typing import Any

from corpuspack.sources.formats.warc import NOTE_RECORD, NOTE_STATUS, NOTE_TYPE, iter_warc
from corpuspack.sources.readers import BadRecord, RawRecord

from .conftest import FIXTURES, build_to, read_docs

CRAWL = FIXTURES / "formats" / "warc" / "crawl.warc.gz"
BASE = "http://127.0.0.1:8765/"


def records(data: bytes, max_record: int = 1 << 26) -> tuple[list[Any], Counter[str]]:
    notes: Counter[str] = Counter()
    return list(iter_warc(io.BytesIO(data), max_record, None, notes)), notes


def test_documents_urls_dates_charsets_and_what_was_left() -> None:
    found, notes = records(gzip.decompress(CRAWL.read_bytes()))
    docs = {r.meta["url"]: r for r in found if isinstance(r, RawRecord)}
    assert set(docs) == {BASE + name for name in ("links.html", "index.html", "notes.txt",
                                                  "knoppix-latin1.html", "ru-cp1251.html")}
    ru = docs[BASE + "ru-cp1251.html"]
    assert ru.encoding == "cp1251" and ru.meta["http_charset"] == "windows-1251"
    assert ru.meta["title"] == "Настольная книга администратора Debian"
    assert "Эта глава возвращается к некоторым аспектам" in ru.text
    latin = docs[BASE + "knoppix-latin1.html"]  # declared by <meta> only
    assert latin.encoding == "cp1252" and "http_charset" not in latin.meta
    assert "Spécificités" in str(latin.meta["tags"]) and "Knoppix" in latin.meta["title"]
    text = docs[BASE + "notes.txt"]
    assert text.text.startswith("Obwohl das RAID-Subsystem des Kernels")
    for url, doc in docs.items():
        assert doc.record == url and doc.position and doc.position.startswith("R")
        assert doc.meta["date"] == "2026-11-30" and doc.meta["http_status"] == 200
        assert doc.meta["warc_record_id"].startswith("<urn:uuid:")
    index = docs[BASE + "index.html"]  # the page's own canonical URL kept beside
    assert index.meta["canonical_link"].startswith("https://debian-handbook.info/")
    assert notes == Counter({NOTE_RECORD.format("request"): 9, NOTE_STATUS.format(4): 2,
                             NOTE_TYPE: 2, NOTE_RECORD.format("warcinfo"): 1,
                             NOTE_RECORD.format("metadata"): 1,
                             NOTE_RECORD.format("resource"): 1})


def test_records_over_the_limit_or_cut_short() -> None:
    data = gzip.decompress(CRAWL.read_bytes())
    found, _ = records(data, max_record=2000)
    bad = [r for r in found if isinstance(r, BadRecord)]
    assert {b.reason.split(" bytes")[0] for b in bad} == {
        "WARC record payload of 3,567", "WARC record payload of 4,567"}
    cut = data[: data.index(b'<html lang="ru">') + 200]
    found, _ = records(cut)
    assert isinstance(found[-1], BadRecord) and "cut short" in found[-1].reason


def test_a_build_of_a_crawl(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "crawl.warc.gz").write_bytes(CRAWL.read_bytes())
    data = CRAWL.read_bytes()
    (src / "cut.warc.gz").write_bytes(data[: len(data) // 2])  # a truncated archive
    _, report = build_to(src, tmp_path / "pkg")
    docs: dict[str, Any] = {(d["source"], d["url"]): d for d in read_docs(tmp_path / "pkg")}
    full = {url for source, url in docs if source == "crawl.warc.gz"}
    assert len(full) == 5
    ru = docs[("crawl.warc.gz", BASE + "ru-cp1251.html")]
    assert ru["language"] == "ru" and ru["date"] == "2026-11-30" and ru["format"] == "warc"
    assert ru["record"] == BASE + "ru-cp1251.html" and ru["encoding"] == "cp1251"
    assert report.notes[NOTE_RECORD.format("request")] >= 9
    cut = [s for s in report.skipped if s.path == "cut.warc.gz"]
    assert cut and "corrupt gzip data" in cut[-1].reason
