"""CSV and TSV sources: one document per row, quoted multi-line fields, metadata columns,
the text_column option."""

from __future__ import annotations

import io
import shutil
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from corpuspack.build import build
from corpuspack.errors import SkipFile
from corpuspack.sources.formats.csv import iter_table
from corpuspack.sources.readers import BadRecord, RawRecord

from .conftest import FIXTURES, build_to, read_docs, text_of

FR = text_of("fr-fr").split("\n\n")[0]


def rows(data: bytes) -> list[RawRecord | BadRecord]:
    return list(iter_table(io.BytesIO(data), ",", 1 << 20, Counter()))


def test_rows_become_documents_with_their_metadata() -> None:
    quoted = FR.replace('"', '""')
    data = ("\ufeffid,title,Text,language,date,url,author,extra\n"
            f'a1,Debian,"{quoted}\n\nsecond paragraph",fr,2022-09-22,https://x.test/a,'
            'Raphaël Hertzog,kept\n'
            ',,no id here,,,,,\n'
            'b2,empty,,,,,,\n'
            'c3,wide,text,1,2,3,4,5,6\n').encode()
    found = rows(data)
    first = found[0]
    assert isinstance(first, RawRecord) and first.record == "a1"
    assert first.text == FR + "\n\nsecond paragraph"
    assert first.meta == {"title": "Debian", "language": "fr", "date": "2022-09-22",
                          "url": "https://x.test/a", "author": "Raphaël Hertzog",
                          "extra": "kept", "source_id": "a1"}
    assert isinstance(found[1], RawRecord) and found[1].record == found[1].position == "L5"
    assert found[2] == BadRecord("L6", "row has no text in column 'Text'")
    assert found[3] == BadRecord("L7", "row has 9 cells, the header 8")


def test_a_table_without_a_text_column_is_skipped() -> None:
    with pytest.raises(SkipFile, match="table has no text column"):
        rows(b"id,title\n1,x\n")


def test_the_text_column_option_names_the_column() -> None:
    data = b"id,Passage,text\n1,the passage,not this\n"
    found = list(iter_table(io.BytesIO(data), ",", 1 << 20, Counter(), "passage"))
    assert isinstance(found[0], RawRecord) and found[0].text == "the passage"
    assert found[0].meta == {"text": "not this", "source_id": "1"}


def test_a_table_without_the_named_column_is_skipped_naming_its_columns() -> None:
    with pytest.raises(SkipFile) as caught:
        list(iter_table(io.BytesIO(b"id,text\n1,x\n"), ",", 1 << 20, Counter(), "body"))
    assert str(caught.value) == ("table has no column 'body' (text_column): its columns are "
                                 "'id', 'text'")


# --- TSV: the same reader with the excel-tab dialect --------------------------------------

TABLES = FIXTURES / "formats" / "tables"


def tsv_rows(data: bytes, text_column: str = "") -> list[RawRecord | BadRecord]:
    return list(iter_table(io.BytesIO(data), "\t", 1 << 20, Counter(), text_column, "tsv"))


def test_tsv_quoted_cells_hold_tabs_newlines_and_quotes() -> None:
    data = (b'id\ttext\tnote\n'
            b'a\t"cells:\tone\ttwo\nsecond line, ""quoted"""\tkept\n'
            b'b\tplain, with "quotes" inside and a comma\t\n')
    first, second = tsv_rows(data)
    assert isinstance(first, RawRecord) and isinstance(second, RawRecord)
    assert first.text == 'cells:\tone\ttwo\nsecond line, "quoted"'
    assert first.meta == {"note": "kept", "source_id": "a"} and first.position == "L2"
    assert second.text == 'plain, with "quotes" inside and a comma'
    assert second.position == "L4"  # the quoted cell spans two lines


def test_a_tsv_written_by_pandas() -> None:
    # pandas 3.1 DataFrame.to_csv(sep="\t"): cells with tabs, newlines or quotes are quoted
    data = (TABLES / "handbook.tsv").read_bytes()
    found = tsv_rows(data)
    assert all(isinstance(r, RawRecord) for r in found)
    records = {r.record: r for r in found if isinstance(r, RawRecord)}
    assert list(records) == ["handbook-de-de", "handbook-fr-fr", "handbook-ru-ru",
                             "handbook-ja-jp", "readme-formats"]
    de = records["handbook-de-de"]
    assert de.text == "\n\n".join(text_of("de-de").split("\n\n")[:2])
    assert de.meta["title"] == "Linearer RAID" and de.meta["language"] == "de"
    table = records["readme-formats"].text.split("\n")
    assert table[1] == "`.txt`, `.text`\t`text`\tthe whole file"
    by_summary = {r.record: r.text for r in tsv_rows(data, "Summary")
                  if isinstance(r, RawRecord)}
    assert by_summary["readme-formats"] == "corpuspack's source formats, as a tab-separated table."
    with pytest.raises(SkipFile, match=r"no column 'abstract' \(text_column\): its columns are "
                                       r"'id', 'title', 'language', 'text', 'summary'$"):
        tsv_rows(data, "abstract")


def test_a_build_reads_tsv_and_tab_files_with_the_text_column(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(TABLES / "handbook.tsv", src / "handbook.tsv")
    (src / "releases.tab").write_text("codename\tdescription\nbookworm\tDebian 12, "
                                      "released on 10 June 2023.\n", encoding="utf-8")
    (src / "other.csv").write_text("id,description\nx,a comma-separated row\n",
                                   encoding="utf-8")
    config, report = build_to(src, tmp_path / "pkg")
    docs = read_docs(tmp_path / "pkg")
    assert {d["format"] for d in docs} == {"tsv"}
    assert len(docs) == 5
    ru = next(d for d in docs if d["record"] == "handbook-ru-ru")
    assert ru["language"] == "ru" and ru["source"] == "handbook.tsv"
    reasons = {s.path: s.reason for s in report.skipped}
    assert reasons["releases.tab"].startswith("table has no text column")
    assert reasons["other.csv"].startswith("table has no text column")
    # the option reaches the readers of both formats, and the build cache tells the
    # settings apart (the same files, another text column: other documents)
    options = replace(config.options, text_column="description")
    report = build(replace(config, options=options))
    docs = read_docs(tmp_path / "pkg")
    assert sorted(d["text"] for d in docs) == ["Debian 12, released on 10 June 2023.",
                                               "a comma-separated row"]
    assert {s.path for s in report.skipped} == {"handbook.tsv"}
