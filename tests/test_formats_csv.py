"""CSV sources: one document per row, quoted multi-line fields, metadata columns."""

from __future__ import annotations

import io
from collections import Counter

import pytest

from corpuspack.errors import SkipFile
from corpuspack.sources.formats.csv import iter_table
from corpuspack.sources.readers import BadRecord, RawRecord

from .conftest import text_of

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
