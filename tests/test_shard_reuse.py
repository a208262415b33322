"""A rebuild with a cache copies the data files whose documents did not change from the
committed package, and the package is byte for byte what a build without cache writes."""

from __future__ import annotations

import json
import os
import random
import shutil
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpuspack.build import build
from corpuspack.config import CorpusConfig
from corpuspack.passes import _shard_of
from corpuspack.shards import shard_of

from .test_cache import _config, package_bytes, reference

WORDS = ("river stone market winter garden letter orange window silver travel harbour "
         "mountain village candle thunder meadow bridge lantern forest pepper").split()


def essays(folder: Path, n: int) -> Path:
    """``n`` files of 120 words each, no two alike (no near-duplicates among them)."""
    folder.mkdir()
    for i in range(n):
        rng = random.Random(i)
        text = " ".join(rng.choice(WORDS) for _ in range(120))
        (folder / f"essay-{i:02d}.txt").write_text(f"Essay {i}.\n\n{text}.\n", encoding="utf-8")
    return folder


def small_shards(config: CorpusConfig) -> CorpusConfig:
    # about 1 kB a shard: the essays spread over many shards
    return replace(config, options=replace(config.options, shard_size_mb=0.001))


def documents(config: CorpusConfig) -> list[dict[str, object]]:
    return [json.loads(line) for path in sorted(config.data_dir.glob("documents-*.jsonl"))
            for line in path.read_text(encoding="utf-8").splitlines()]


def n_shards(config: CorpusConfig) -> int:
    return len(list(config.data_dir.glob("documents-*.jsonl")))


def test_an_edit_rewrites_only_its_shard(tmp_path: Path) -> None:
    src = essays(tmp_path / "src", 12)
    config = small_shards(_config(src, tmp_path / "pkg"))
    cache = tmp_path / "cache"
    first = build(config, workers=2, cache=cache)
    assert first.shards_reused == 0 and n_shards(config) > 4
    edited = src / "essay-03.txt"
    edited.write_text(edited.read_text(encoding="utf-8") + "One more line.\n", encoding="utf-8")
    again = build(config, workers=2, cache=cache)
    assert again.shards_reused == n_shards(config) - 1
    assert again.summary(timing=True)["shards_reused"] == again.shards_reused
    # the count varies with the cache: in what build --json prints, never in the package
    assert "shards_reused" not in (config.data_dir / "build-report.json").read_text()
    assert package_bytes(config.package_dir) == reference(
        src, tmp_path, "edit", options=config.options)


def test_a_new_cluster_rewrites_the_shard_of_its_kept_document(tmp_path: Path) -> None:
    """Only the cluster id changes in the shard of the kept document (the first by id):
    its files are the same, its shard is written again all the same."""
    src = essays(tmp_path / "src", 12)
    config = small_shards(_config(src, tmp_path / "pkg"))
    cache = tmp_path / "cache"
    build(config, workers=1, cache=cache)
    docs = sorted(documents(config), key=lambda d: str(d["id"]))
    kept, copy = docs[0], docs[-1]
    n = n_shards(config)
    assert shard_of(str(kept["id"]).encode(), n) != shard_of(str(copy["id"]).encode(), n)
    text = (src / str(kept["source"])).read_text(encoding="utf-8")
    (src / str(copy["source"])).write_text(text.replace("Essay", "Another essay", 1),
                                           encoding="utf-8")
    again = build(config, workers=1, cache=cache)
    assert again.near_duplicates_dropped == 1
    assert again.shards_reused == n - 2
    marked = next(d for d in documents(config) if d["id"] == kept["id"])
    assert marked["cluster"] == kept["id"]
    assert package_bytes(config.package_dir) == reference(
        src, tmp_path, "cluster", options=config.options)


def test_a_line_made_frequent_rewrites_the_shards_it_is_removed_from(tmp_path: Path) -> None:
    """Nine essays end with one line, then a tenth: the line is frequent in their folder
    (ten documents) and goes from all ten, the nine whose files did not change too."""
    src = essays(tmp_path / "src", 24)
    line = "Subscribe to our newsletter for more essays like this one."
    config = small_shards(_config(src, tmp_path / "pkg"))
    config = replace(config, boilerplate=replace(config.boilerplate, frequent_lines=True))
    for i in range(9):
        path = src / f"essay-{i:02d}.txt"
        path.write_text(path.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")
    cache = tmp_path / "cache"
    first = build(config, workers=1, cache=cache)
    assert first.frequent_lines == 0
    tenth = src / "essay-23.txt"
    tenth.write_text(tenth.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")
    again = build(config, workers=1, cache=cache)
    assert again.frequent_lines == 1
    assert not any(line in str(d["text"]) for d in documents(config))
    assert package_bytes(config.package_dir) == reference(
        src, tmp_path, "frequent", options=config.options, boilerplate=config.boilerplate)


@pytest.mark.parametrize("damage", ["flip", "link", "remove"])
def test_a_committed_shard_that_changed_is_written_again(tmp_path: Path, damage: str) -> None:
    src = essays(tmp_path / "src", 12)
    config = small_shards(_config(src, tmp_path / "pkg"))
    cache = tmp_path / "cache"
    build(config, workers=1, cache=cache)
    shards = sorted(config.data_dir.glob("documents-*.jsonl"))
    victim = shards[0]
    data = victim.read_bytes()
    if damage == "flip":  # the same size, one byte changed
        victim.write_bytes(data[:10] + bytes([data[10] ^ 1]) + data[11:])
    elif damage == "link":  # the same bytes, through a link to a file outside
        outside = tmp_path / "outside.jsonl"
        outside.write_bytes(data)
        victim.unlink()
        os.symlink(outside, victim)
    else:
        victim.unlink()
    edited = src / "essay-05.txt"
    edited.write_text(edited.read_text(encoding="utf-8") + "An edit.\n", encoding="utf-8")
    try:
        again = build(config, workers=1, cache=cache)
    finally:
        if damage == "link":
            assert (tmp_path / "outside.jsonl").read_bytes() == data  # never written to
    # the victim and the edited file's shard are written; every other one is copied
    assert again.shards_reused <= len(shards) - 1
    assert not victim.is_symlink() and victim.read_bytes() == data
    written = package_bytes(config.package_dir)
    if damage == "link":  # a link corpuspack did not make is left where the commit put it
        left = [p for p in config.package_dir.glob(".corpuspack-old-*/*") if p.is_symlink()]
        assert [os.readlink(p) for p in left] == [str(tmp_path / "outside.jsonl")]
        written = {k: v for k, v in written.items() if not k.startswith(".corpuspack-old-")}
    assert written == reference(src, tmp_path, damage, options=config.options)


def test_without_cache_nothing_is_reused(tmp_path: Path) -> None:
    src = essays(tmp_path / "src", 6)
    config = small_shards(_config(src, tmp_path / "pkg"))
    build(config, workers=1, cache=None)
    shutil.copy(src / "essay-00.txt", src / "essay-99.txt")
    assert build(config, workers=1, cache=None).shards_reused == 0


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=8, max_size=8), st.integers(min_value=0, max_value=20))
def test_the_query_puts_an_id_in_the_shard_the_writer_does(raw: bytes, power: int) -> None:
    doc_id, n = raw.hex(), 1 << power
    con = duckdb.connect()
    try:
        row = con.execute(f"SELECT {_shard_of('$id', n)}", {"id": doc_id}).fetchone()
    finally:
        con.close()
    assert row is not None and row[0] == shard_of(doc_id.encode(), n)
