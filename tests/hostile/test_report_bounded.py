"""A small source that yields millions of bad records cannot make the report huge: the
report lists a bounded number of skipped records per file and reason, and counts them all."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from corpuspack.build import build
from corpuspack.config import zero_config
from corpuspack.report import LISTED_RECORDS, Skipped, listed_skips


def test_listed_skips_keeps_files_and_the_first_records_per_reason() -> None:
    skips = [Skipped("a.jsonl", None, "whole file")]
    skips += [Skipped("b.jsonl", f"line {i:03d}", "no text: empty") for i in range(5)]
    skips += [Skipped("b.jsonl", f"line {i:03d}", "not JSON: bad") for i in range(5, 12)]
    skips += [Skipped("c.txt", None, "unsupported file type: .c")]
    out = list(listed_skips(iter(skips), limit=3))
    assert out[0] == {"path": "a.jsonl", "reason": "whole file"}
    assert [e["record"] for e in out if "record" in e and e["reason"].startswith("no text")] == [
        "line 000", "line 001", "line 002"]
    assert [e["record"] for e in out if "record" in e and e["reason"].startswith("not JSON")] == [
        "line 005", "line 006", "line 007"]
    assert out[-3:] == [
        {"path": "b.jsonl", "reason": "no text", "records_not_listed": 2},
        {"path": "b.jsonl", "reason": "not JSON", "records_not_listed": 4},
        {"path": "c.txt", "reason": "unsupported file type: .c"}]


def test_a_gzip_of_many_bad_lines_gives_a_small_report(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "good.txt").write_text("One good document of a few words.\n", encoding="utf-8")
    bad = 200_000
    with gzip.open(src / "bad.jsonl.gz", "wb") as fh:
        fh.write(b"{}\n" * bad + b"not json\n" * 5)
    config = zero_config(src, tmp_path / "pkg")
    report = build(config, workers=1, cache=None)
    assert report.skip_count == bad + 5 and report.documents_written == 1
    path = config.data_dir / "build-report.json"
    saved = json.loads(path.read_text(encoding="utf-8"))
    assert sum(saved["skipped_by_reason"].values()) == bad + 5
    listed = [e for e in saved["skipped"] if e["path"] == "bad.jsonl.gz"]
    assert len([e for e in listed if "record" in e]) == LISTED_RECORDS + 5
    [rest] = [e for e in listed if "records_not_listed" in e]
    assert rest["records_not_listed"] == bad - LISTED_RECORDS
    assert path.stat().st_size < 100_000  # 200,000 listed records took 19.3 MB
