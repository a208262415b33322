"""The corpus-wide passes stream the documents' lines: the passes' memory limit bounds what
DuckDB holds, whatever the size of the corpus (the lines never fill a join's hash table)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import read_docs

_BUILD = """
import sys
from corpuspack.build import build
from corpuspack.config import load_config, zero_config
config = zero_config(__import__("pathlib").Path(sys.argv[1]),
                     __import__("pathlib").Path(sys.argv[2]),
                     load_config(__import__("pathlib").Path(sys.argv[3])))
build(config, workers=1, cache=None)
"""


def _corpus(src: Path, docs: int, words: int, shared: list[str]) -> int:
    rng = random.Random(7)
    vocabulary = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz")
                          for _ in range(rng.randint(2, 9))) for _ in range(5000)]
    src.mkdir(parents=True)
    size = 0
    for part in range(1):
        with open(src / f"part{part}.jsonl", "w", encoding="utf-8") as fh:
            for i in range(docs):
                body = " ".join(rng.choice(vocabulary) for _ in range(words)) + "."
                line = json.dumps({"id": f"r{i}", "text": "\n".join([*shared, body])}) + "\n"
                size += len(line)
                fh.write(line)
    return size


@pytest.mark.parametrize("rules", ["", "[boilerplate]\nfrequent_lines = true\n"])
def test_lines_stream_through_the_passes_under_a_small_memory_limit(
        tmp_path: Path, rules: str) -> None:
    # 17 MB of lines under a 64 MB limit: the
    # join of the final order built its table on the lines and ran out of memory, and so
    # did the refine pass's (frequent lines in every document) numbering of its rows
    shared = ["Home | News | Contact", "Subscribe to our newsletter"]
    size = _corpus(tmp_path / "src", 1000, 2600, shared)
    assert size > 16 << 20
    (tmp_path / "corpus.toml").write_text(
        "[near_dedup]\nenabled = false\n" + rules, encoding="utf-8")
    env = dict(os.environ, CORPUSPACK_MEMORY_LIMIT="64MB")
    proc = subprocess.run([sys.executable, "-c", _BUILD, str(tmp_path / "src"),
                           str(tmp_path / "pkg"), str(tmp_path / "corpus.toml")],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    docs = read_docs(tmp_path / "pkg")
    assert len(docs) == 1000
    ids = [d["id"] for d in docs]
    assert ids == sorted(ids)
    if rules:  # the shared lines were removed from every document
        assert not any("newsletter" in str(d["text"]) for d in docs)


def test_a_large_cluster_of_near_duplicates_is_decided_within_the_memory_limit(
        tmp_path: Path) -> None:
    # 6,000 records that differ by one word: every band's bucket holds all of them, 200,000
    # candidate pairs whose signatures (2 KB a pair) were sorted together and failed the
    # passes' 128 MB limit ("failed to pin block"); only their counts are sorted now
    from corpuspack.build import build
    from corpuspack.config import zero_config

    src = tmp_path / "src"
    src.mkdir()
    words = " ".join(f"word{i % 97}" for i in range(500))
    with open(src / "many.jsonl", "w", encoding="utf-8") as fh:
        for i in range(6000):
            fh.write(json.dumps({"id": f"r{i}", "text": f"Record {i}. {words}"}) + "\n")
    report = build(zero_config(src, tmp_path / "pkg"), workers=1, cache=None)
    assert report.documents_read == 6000
    assert report.near_duplicates_dropped == 5999 and report.documents_written == 1
    [kept] = read_docs(tmp_path / "pkg")
    assert str(kept["text"]).startswith("Record ")
