"""The registry of source formats (corpuspack.sources.formats): one module per format, from
which the walk, the pipeline, the schema and the boilerplate tables take the formats."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from pathlib import Path

import pytest

from corpuspack import boilerplate, document
from corpuspack.config import from_table
from corpuspack.document import Document
from corpuspack.errors import ConfigError
from corpuspack.pipeline import FileStats, Settings, process_file
from corpuspack.report import Skipped
from corpuspack.sources import formats
from corpuspack.sources.files import SourceFile, source_format, walk_sources
from corpuspack.sources.formats import BY_EXTENSION, FORMATS, MODULES, format_of
from corpuspack.sources.readers import BadRecord, Format, RawRecord, Source
from tests.conftest import text_of


def test_one_module_per_format_and_the_names_everywhere() -> None:
    assert [m.FORMAT for m in MODULES] == list(FORMATS.values())
    assert [m.__name__.rsplit(".", 1)[1] for m in MODULES] == list(FORMATS)
    # the format column's values keep the order packages record in their schema
    assert document.FORMATS[:4] == ("text", "markdown", "html", "jsonl")
    assert document.FORMATS == tuple(FORMATS)
    field = next(c for c in document.COLUMNS if c.name == "format")
    assert field.constraints["enum"] == list(FORMATS)
    assert boilerplate.FORMATS == tuple(sorted(FORMATS))
    assert {f.name for f in FORMATS.values() if f.many} <= {"jsonl", "warc", "csv", "tsv"}


@pytest.mark.parametrize("name, expected", [
    ("a.txt", ("text", False)), ("A.TXT", ("text", False)), ("a.text.gz", ("text", True)),
    ("notes.md", ("markdown", False)), ("b.markdown", ("markdown", False)),
    ("p.html", ("html", False)), ("p.HTM", ("html", False)), ("p.xhtml.gz", ("html", True)),
    ("d.jsonl", ("jsonl", False)), ("d.ndjson.gz", ("jsonl", True)),
    ("rows.tsv", ("tsv", False)), ("rows.TAB.gz", ("tsv", True)),
    ("scan.pdf", ("pdf", False)), ("archive.gz", None), ("README", None), (".txt", None),
])
def test_formats_are_found_by_extension(name: str, expected: tuple[str, bool] | None) -> None:
    assert source_format(name) == expected
    found = format_of(name)
    assert (found[0].name, found[1]) == expected if found else expected is None


def test_every_extension_reads_one_format() -> None:
    assert {ext: f.name for ext, f in BY_EXTENSION.items()} == {
        ext: f.name for f in FORMATS.values() for ext in f.extensions}
    assert all(ext.startswith(".") and ext == ext.lower() for ext in BY_EXTENSION)


def test_boilerplate_format_tables_are_the_registry_names(tmp_path: Path) -> None:
    for name in FORMATS:
        rules = from_table({"boilerplate": {"formats": {name: {"repeated_lines": False}}}},
                           tmp_path, "test").boilerplate
        assert rules.for_document("x", name).repeated_lines is False
    with pytest.raises(ConfigError, match="unknown key 'doc'"):
        from_table({"boilerplate": {"formats": {"doc": {}}}}, tmp_path, "test")


# --- a new format is one module: raw bytes, many records, streamed ------------------------

def _read_records(source: Source) -> Iterator[RawRecord | BadRecord]:
    """A binary format of many records: ``key\\x1ftext`` records separated by NUL bytes,
    read as a stream (as WARC would be), each bounded by max_record_bytes."""
    with source.stream() as stream:
        for number, chunk in enumerate(stream.read().split(b"\0"), 1):
            where = f"R{number}"
            if len(chunk) > source.max_record_bytes:
                yield BadRecord(where, "record too long")
                continue
            key, _, text = chunk.partition(b"\x1f")
            yield RawRecord(text.decode("utf-8"), "utf-8", {"n": number},
                            key.decode() or None, position=where)


def _read_whole(source: Source) -> Iterator[RawRecord]:
    """A binary format of one document: the bytes reversed (no decoding of the file)."""
    yield RawRecord(source.data()[::-1].decode("utf-8"), "binary")


NEW_FORMATS = (Format("records", (".rec",), True, _read_records, "one document per record"),
               Format("reversed", (".rev",), False, _read_whole, "the whole file"))


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> None:
    for fmt in NEW_FORMATS:
        monkeypatch.setitem(formats.FORMATS, fmt.name, fmt)
        for ext in fmt.extensions:
            monkeypatch.setitem(formats.BY_EXTENSION, ext, fmt)


def _process(src: Path, **settings: int) -> tuple[dict[str, Document], list[Skipped]]:
    docs: dict[str, Document] = {}
    skipped: list[Skipped] = []
    for found in walk_sources(src):
        if isinstance(found, Skipped):
            skipped.append(found)
            continue
        assert isinstance(found, SourceFile)
        for item in process_file(found, Settings(**settings), FileStats()):
            if isinstance(item, Skipped):
                skipped.append(item)
            else:
                docs[f"{item.source}#{item.record}"] = item
    return docs, skipped


@pytest.mark.usefixtures("registered")
def test_a_registered_format_of_many_records_is_read_through_its_module(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    fr, de, es = text_of("fr-fr"), text_of("de-de"), text_of("es-es")
    records = [b"a\x1f" + fr.encode(), b"b\x1f" + de.encode(), b"a\x1fagain",
               b"\x1fno key", b"c\x1f" + b"x" * 5000, b"d\x1f" + es.encode()]
    with gzip.open(src / "dump.rec.gz", "wb") as fh:
        fh.write(b"\0".join(records))
    (src / "page.rev").write_bytes(fr.encode()[::-1])
    docs, skipped = _process(src, max_document_bytes=4000)
    assert sorted(docs) == ["dump.rec.gz#a", "dump.rec.gz#b", "dump.rec.gz#d", "page.rev#None"]
    assert docs["dump.rec.gz#a"].format == "records" and docs["dump.rec.gz#a"].meta == {"n": 1}
    assert docs["dump.rec.gz#d"].language == "es" and docs["page.rev#None"].encoding == "binary"
    assert docs["page.rev#None"].text == docs["dump.rec.gz#a"].text
    assert [(s.record, s.reason) for s in skipped] == [
        ("R3", "id 'a' repeats an earlier record's id"), ("R4", "record has no key"),
        ("R5", "record too long")]


@pytest.mark.usefixtures("registered")
def test_a_streamed_format_is_bounded_and_its_read_errors_skip_the_file(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "corrupt.rec.gz").write_bytes(gzip.compress(b"a\x1fsome text")[:-12])
    with gzip.open(src / "bomb.rec.gz", "wb") as fh:
        fh.write(b"a\x1f" + b"y" * (3 << 20))
    docs, skipped = _process(src, max_inflated_bytes=2 << 20)
    assert docs == {}
    assert [(s.path, s.record) for s in skipped] == [("bomb.rec.gz", None),
                                                       ("corrupt.rec.gz", None)]
    assert "decompressed size exceeds the limit of 2,097,152 bytes" in skipped[0].reason
    assert skipped[1].reason.startswith("corrupt gzip data")
