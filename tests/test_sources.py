"""Walking source trees and reading each format into documents."""

from __future__ import annotations

import gzip
import json
import os
import struct
import zlib
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from corpuspack.pipeline import FileStats, Settings, process_file
from corpuspack.report import Skipped
from corpuspack.sources.files import SourceFile, walk_sources

from .conftest import FIXTURES, text_of


def walk(src: Path) -> tuple[dict[str, SourceFile], dict[str, str]]:
    files, skipped = {}, {}
    for item in walk_sources(src):
        if isinstance(item, Skipped):
            skipped[item.path] = item.reason
        else:
            files[item.rel] = item
    return files, skipped


def docs_of(src: SourceFile, settings: Settings | None = None) -> tuple[list, list[Skipped]]:
    docs, skips = [], []
    for item in process_file(src, settings or Settings(), FileStats()):
        (skips if isinstance(item, Skipped) else docs).append(item)
    return docs, skips


def test_walk_is_sorted_and_skips_hidden_and_metadata_files(tree: Path) -> None:
    files, skipped = walk(tree)
    names = list(files)
    assert names == sorted(names, key=lambda n: n.split("/"))
    assert not any("hidden" in n or "dotfile" in n for n in names + list(skipped))
    assert "news/seed.meta.yaml" not in names and "_manifest.csv" not in names
    assert skipped["bad/photo.jpg"] == "unsupported file type: .jpg"
    assert "bad/scan.pdf" not in skipped  # a PDF is read (and its reader skips it if need be)


def test_symlinks(tree: Path) -> None:
    files, skipped = walk(tree)
    assert skipped["link-out.txt"] == "symbolic link leads outside the source folder"
    assert "link-in.txt" in files  # a link to a file inside the tree is read


def test_symlinked_folder_outside_is_not_entered(tmp_path: Path) -> None:
    src, outside = tmp_path / "src", tmp_path / "elsewhere"
    src.mkdir()
    outside.mkdir()
    (outside / "x.txt").write_text("private", encoding="utf-8")
    os.symlink(outside, src / "dir")
    files, skipped = walk(src)
    assert files == {} and skipped == {"dir": "symbolic link leads outside the source folder"}


def test_manifest_and_sidecar_layers(tree: Path) -> None:
    files, _ = walk(tree)
    assert files["encodings/es-cp1252.txt"].manifest == {"license": "CC-BY-SA-3.0",
                                                         "collection": "handbook"}
    (doc,), _ = docs_of(files["news/seed.txt"])
    assert (doc.title, doc.author, doc.publisher, doc.date, doc.license) == (
        "Iraq’s Looming Massacre of Iranian MEK Refugees", "Geoffrey Robertson",
        "The Daily Beast", "2011-12-09", "NOASSERTION")
    assert doc.meta == {"collection": "news"}


def test_sidecar_wins_over_manifest_and_defaults(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text(text_of("fr-fr"), encoding="utf-8")
    (src / "a.txt.meta.json").write_text(json.dumps({"license": "CC0-1.0", "lang": "fr-CA"}))
    (src / "_manifest.jsonl").write_text(json.dumps({"path": "a.txt", "license": "MIT",
                                                     "publisher": "P"}) + "\n")
    files, _ = walk(src)
    (doc,), _ = docs_of(files["a.txt"], Settings(defaults={"license": "X", "author": "A"}))
    assert (doc.license, doc.publisher, doc.author, doc.language) == ("CC0-1.0", "P", "A", "fr")
    assert doc.language_score is None  # declared, not identified


def test_invalid_sidecar_skips_with_reason(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("some text", encoding="utf-8")
    (src / "a.meta.yaml").write_text("title: [unclosed", encoding="utf-8")
    files, _ = walk(src)
    docs, skips = docs_of(files["a.txt"])
    assert docs == [] and skips[0].reason.startswith("invalid metadata file a.meta.yaml")


def test_encodings_are_recorded(tree: Path) -> None:
    files, _ = walk(tree)
    expected = {"encodings/fr-utf8-bom.txt": ("utf-8-sig", "fr"),
                "encodings/de-utf16.txt": ("utf-16-le", "de"),
                "encodings/es-cp1252.txt": ("cp1252", "es"),
                "encodings/cs-cp1250.txt": ("cp1250", "cs"),
                "encodings/ru-koi8r.txt": ("koi8-r", "ru"),
                "encodings/ja-shiftjis.txt": ("shift_jis", "ja"),
                "encodings/it-mojibake.txt": ("utf-8", "it")}
    for rel, (encoding, language) in expected.items():
        (doc,), _ = docs_of(files[rel])
        assert (doc.encoding, doc.language) == (encoding, language), rel
        assert doc.language_score is not None and doc.language_score > 0.9
    (doc,), _ = docs_of(files["encodings/it-mojibake.txt"])
    assert doc.text == text_of("it-it").strip()


def test_html_main_text_and_metadata(tree: Path) -> None:
    files, _ = walk(tree)
    (doc,), _ = docs_of(files["html/stable.html"])
    assert doc.title == "2.5. Why Debian Bullseye?"
    assert doc.url == "https://debian-handbook.info/browse/stable/sect.why-debian-stable.html"
    assert doc.language == "en"
    for chrome in ("Download the ebook", "Prev", "Next"):
        assert chrome not in doc.text.splitlines()


def test_html_declared_legacy_charset(tree: Path) -> None:
    files, _ = walk(tree)
    (doc,), _ = docs_of(files["html/knoppix-cp1252.html"])
    assert doc.encoding == "cp1252"
    assert "Si vous cumulez ce CD-Rom avec une clé USB" in doc.text


def test_markdown_front_matter(tree: Path) -> None:
    files, _ = walk(tree)
    (doc,), _ = docs_of(files["notes/post.md"])
    assert (doc.title, doc.language, doc.date, doc.meta) == ("Des notes", "fr", "2024-03-01",
                                                             {"tags": ["a", "b"]})
    assert not doc.text.startswith("---")
    (doc,), _ = docs_of(files["notes/heading.md"])
    assert doc.title == "Notizen"


def test_jsonl_good_lines_go_in_bad_lines_are_reported(tree: Path) -> None:
    files, _ = walk(tree)
    docs, skips = docs_of(files["dump/records.jsonl"])
    assert [(d.record, d.language) for d in docs] == [("a1", "pt"), ("L7", "pl")]
    assert docs[0].url == "https://example.org/a1" and docs[0].meta == {"source_id": "a1"}
    assert docs[1].license == "CC-BY-SA-3.0"
    reasons = {s.record: s.reason for s in skips}
    assert reasons["L2"].startswith("invalid JSON")
    assert reasons["L3"] == "JSON value is not an object"
    assert reasons["L4"] == "object has no 'text' or 'content' key"
    assert reasons["L5"] == "'text' is not a string"
    assert len(skips) == 4  # the blank line 6 is not a record


def test_gzip_jsonl(tree: Path) -> None:
    files, _ = walk(tree)
    (doc,), skips = docs_of(files["dump/more.jsonl.gz"])
    assert (doc.record, doc.language, skips) == ("7", "tr", [])


def test_bad_files_are_skipped_with_reasons(tree: Path) -> None:
    files, _ = walk(tree)
    reasons = {}
    for rel in ("bad/image.txt", "bad/empty.txt", "bad/spaces.txt", "bad/broken.txt.gz"):
        docs, (skip,) = docs_of(files[rel])
        assert docs == []
        reasons[rel] = skip.reason
    assert reasons["bad/image.txt"].startswith("binary content")
    assert reasons["bad/empty.txt"] == reasons["bad/spaces.txt"] == (
        "empty or white space only after decoding")
    assert reasons["bad/broken.txt.gz"].startswith("corrupt gzip data")


def test_compressed_file_cannot_inflate_past_the_cap(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    with gzip.open(src / "bomb.txt.gz", "wb") as fh:
        fh.write(b"a" * (8 << 20))  # 8 MiB of 'a' compresses to a few kB
    with gzip.open(src / "bomb.jsonl.gz", "wb") as fh:
        for _ in range(100_000):
            fh.write(b'{"text": "' + b"b" * 80 + b'"}\n')
    files, _ = walk(src)
    settings = Settings(max_inflated_bytes=1 << 20)
    docs, (skip,) = docs_of(files["bomb.txt.gz"], settings)
    assert docs == [] and skip.reason == "decompressed size exceeds the limit of 1,048,576 bytes"
    docs, skips = docs_of(files["bomb.jsonl.gz"], settings)
    assert 0 < len(docs) < 100_000  # the lines before the cap go in, then the file stops
    assert skips[-1].record is None and "exceeds the limit" in skips[-1].reason


def test_file_larger_than_the_limit_is_skipped(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "big.txt").write_text("word " * 1000, encoding="utf-8")
    (src / "small.txt").write_text("word " * 10, encoding="utf-8")
    files, _ = walk(src)
    settings = Settings(max_file_bytes=4000)
    docs, (skip,) = docs_of(files["big.txt"], settings)
    assert docs == [] and skip.reason == "file size exceeds the limit of 4,000 bytes"
    (doc,), _ = docs_of(files["small.txt"], settings)
    assert doc.n_words == 10


def test_long_jsonl_line_is_skipped_alone(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    long_line = json.dumps({"text": "x" * 5000})
    (src / "d.jsonl").write_text(long_line + "\n" + json.dumps({"text": "short one"}) + "\n")
    files, _ = walk(src)
    docs, skips = docs_of(files["d.jsonl"], Settings(max_document_bytes=1000))
    assert [d.text for d in docs] == ["short one"]
    assert skips[0].record == "L1" and "longer than the limit" in skips[0].reason


def test_ids_are_stable_and_depend_on_path_and_record(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    (src / "d" / "a.txt").write_text("first version", encoding="utf-8")
    files, _ = walk(src)
    (before,), _ = docs_of(files["d/a.txt"])
    (src / "d" / "a.txt").write_text("edited version", encoding="utf-8")
    (after,), _ = docs_of(walk(src)[0]["d/a.txt"])
    assert before.id == after.id and before.sha256 != after.sha256


def test_handbook_fixture_is_real_html() -> None:
    assert (FIXTURES / "html" / "handbook-en-why-debian-stable.html").read_bytes().startswith(
        b"<?xml")


def test_jsonl_with_a_byte_order_mark(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    lines = [json.dumps({"id": "a", "text": "première ligne"}),
             json.dumps({"id": "b", "text": "second line"})]
    (src / "d.jsonl").write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode() + b"\n")
    files, _ = walk(src)
    docs, skips = docs_of(files["d.jsonl"])
    assert skips == [] and [(d.record, d.text) for d in docs] == [
        ("a", "première ligne"), ("b", "second line")]


def test_gzip_members_and_trailing_data(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    one, two = text_of("fr-fr")[:2000], text_of("de-de")[:2000]
    members = gzip.compress(one.encode()) + gzip.compress(two.encode())
    (src / "multi.txt.gz").write_bytes(members)
    (src / "junk.txt.gz").write_bytes(gzip.compress(one.encode()) + b"trailing junk\n")
    (src / "padded.txt.gz").write_bytes(members + b"\0" * 1000)
    record = json.dumps({"id": "r", "text": two}, ensure_ascii=False).encode() + b"\n"
    (src / "lines.jsonl.gz").write_bytes(gzip.compress(record) + b"x")
    whole = gzip.compress(one.encode())
    (src / "cut.txt.gz").write_bytes(whole[:-10])
    (src / "bad-member.txt.gz").write_bytes(whole + b"\x1f\x8bnot a member")
    (src / "empty.txt.gz").write_bytes(b"")
    files, _ = walk(src)
    results = {}
    for rel, src_file in files.items():
        stats = FileStats()
        items = list(process_file(src_file, Settings(), stats))
        results[rel] = (items, stats.notes)
    (doc,), notes = results["multi.txt.gz"]
    assert doc.text == (one + two).strip() and notes == {}
    (doc,), notes = results["junk.txt.gz"]
    assert doc.text == one.strip() and notes == {"gzip trailing data ignored": 1}
    (doc,), notes = results["padded.txt.gz"]
    assert doc.text == (one + two).strip() and notes == {"gzip trailing data ignored": 1}
    (doc,), notes = results["lines.jsonl.gz"]
    assert doc.record == "r" and notes == {"gzip trailing data ignored": 1}
    for rel in ("cut.txt.gz", "bad-member.txt.gz"):
        (skip,), _ = results[rel]
        assert isinstance(skip, Skipped) and skip.reason.startswith("corrupt gzip data"), rel
    (skip,), _ = results["empty.txt.gz"]
    assert skip.reason == "empty or white space only after decoding"


def _gzip_with_comment(data: bytes, comment: bytes) -> bytes:
    """One gzip member whose header holds a comment (FCOMMENT, RFC 1952 2.3.1)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = packer.compress(data) + packer.flush()
    header = b"\x1f\x8b\x08\x10" + b"\0\0\0\0" + b"\0\xff" + comment + b"\0"
    return header + body + struct.pack("<II", zlib.crc32(data), len(data))


def test_compressed_file_size_and_members_are_capped(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    empty = gzip.compress(b"", mtime=0)
    text = b"Words in the first member.\n"
    (src / "members.txt.gz").write_bytes(gzip.compress(text) + empty * 1_000)
    (src / "fewer.txt.gz").write_bytes(gzip.compress(text) + empty * 999)
    (src / "members.jsonl.gz").write_bytes(gzip.compress(b'{"id": "a", "text": "x"}\n')
                                           + empty * 1_000)
    (src / "padded.txt.gz").write_bytes(_gzip_with_comment(text, b"c" * (2 << 20)))
    (src / "records.jsonl.gz").write_bytes(b"".join(  # one member per record, as in WARC
        gzip.compress(json.dumps({"id": str(i), "text": f"{i} " * 400}).encode() + b"\n")
        for i in range(3_000)))
    prose = (b"A line of prose that is stored, not compressed. " * 30_000)[:1 << 20]
    (src / "stored.txt.gz").write_bytes(gzip.compress(prose, compresslevel=0))
    assert (src / "stored.txt.gz").stat().st_size > 1 << 20  # larger than what it holds
    files, _ = walk(src)
    settings = Settings(max_inflated_bytes=1 << 20)  # 1,000 members, 1,114,368 bytes
    too_many = ("compressed file holds more than 1,000 gzip members (one per 32 KiB of what "
                "it may inflate to, at least 1,000) holding less than a KiB each on average "
                "({} bytes in 1,000): recompress it as one member")
    docs, (skip,) = docs_of(files["members.txt.gz"], settings)
    assert docs == [] and skip.reason == too_many.format(len(text))
    (doc,), skips = docs_of(files["fewer.txt.gz"], settings)
    assert skips == [] and doc.text == text.decode().strip()
    docs, skips = docs_of(files["members.jsonl.gz"], settings)
    assert [d.record for d in docs] == ["a"] and skips[-1].reason == too_many.format(25)
    docs, skips = docs_of(files["records.jsonl.gz"], Settings(max_inflated_bytes=8 << 20))
    assert skips == [] and len(docs) == 3_000  # members of a KiB or more: as many as held
    docs, (skip,) = docs_of(files["padded.txt.gz"], settings)
    assert docs == [] and skip.reason == (
        "compressed file size exceeds the limit of 1,114,368 bytes (a compressed file may be "
        "no larger than what it may inflate to (max_file_mb or max_inflated_mb) plus gzip's "
        "overhead on data that does not compress)")
    (doc,), skips = docs_of(files["stored.txt.gz"], settings)
    assert skips == [] and doc.n_chars == len(prose.strip())
    (doc,), _ = docs_of(files["padded.txt.gz"])  # the default caps leave it alone
    assert doc.text == text.decode().strip()


def test_reserved_meta_keys_of_a_source_are_kept_as_given(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    record = {"id": "r", "text": "Some words of a record.", "date": "last Tuesday",
              "extraction": "by hand", "decoding": "mine", "date_raw": "2020-01-01",
              "license_raw": "theirs", "date_raw_given": "taken"}
    (src / "d.jsonl").write_text(json.dumps(record) + "\n", encoding="utf-8")
    (src / "latin.txt").write_bytes("Ein schöner Tag am Meer, Grüße aus Köln.".encode("cp1252"))
    (src / "latin.txt.meta.yaml").write_text("decoding: sidecar\n", encoding="utf-8")
    deep = "<html><body>" + "<div>" * 600 + "<p>Deep text of a page.</p>" + "</div>" * 600
    (src / "deep.html").write_text(deep + "</body></html>", encoding="utf-8")
    (src / "deep.meta.yaml").write_text("extraction: curator's\n", encoding="utf-8")
    files, _ = walk(src)
    stats = FileStats()
    (doc,) = [d for d in process_file(files["d.jsonl"], Settings(), stats)]
    assert doc.meta == {"date_raw": "last Tuesday", "date_raw_given_given": "2020-01-01",
                        "date_raw_given": "taken", "decoding_given": "mine",
                        "extraction_given": "by hand", "license_raw_given": "theirs",
                        "source_id": "r"}
    assert stats.notes == {
        "date not valid: kept in meta.date_raw": 1,
        "meta.date_raw is corpuspack's: the value given kept in meta.date_raw_given_given": 1,
        "meta.decoding is corpuspack's: the value given kept in meta.decoding_given": 1,
        "meta.extraction is corpuspack's: the value given kept in meta.extraction_given": 1,
        "meta.license_raw is corpuspack's: the value given kept in meta.license_raw_given": 1}
    (doc,) = list(process_file(files["latin.txt"], Settings(), FileStats()))
    assert doc.meta["decoding_given"] == "sidecar" and doc.meta["decoding"]["method"] != "sidecar"
    (doc,) = list(process_file(files["deep.html"], Settings(), FileStats()))
    assert doc.meta["extraction_given"] == "curator's"
    assert doc.meta["extraction"] == "fallback: elements nested deeper than 512"


def _sidecar_key_by_definition(name: str) -> tuple[str, str] | None:
    """sidecar_key's rule with no shortcut: an ASCII suffix matched in any case."""
    import unicodedata

    from corpuspack.sources.metadata_files import SIDECAR_SUFFIXES

    for suffix in SIDECAR_SUFFIXES:
        tail = name[-len(suffix):]
        if len(name) > len(suffix) and tail.isascii() and tail.lower() == suffix:
            return unicodedata.normalize("NFC", name[:-len(suffix)]), suffix
    return None


@given(st.text(max_size=12), st.sampled_from([
    "", ".meta.yaml", ".META.yml", ".Meta.Json", ".meta.yaml.txt", "meta.yaml", ".meta.yaİ",
    ".meta.\u212aaml", ".meta.ymL", "\u0130.meta.json"]))
@settings(max_examples=400, deadline=None)
def test_sidecar_key_is_its_definition(stem: str, suffix: str) -> None:
    from corpuspack.sources.metadata_files import sidecar_key

    assert sidecar_key(stem + suffix) == _sidecar_key_by_definition(stem + suffix)
