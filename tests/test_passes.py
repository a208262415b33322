"""The corpus-wide passes as DuckDB queries give what the hand-written external sorts and
merges of earlier versions gave, on hostile inputs: every document an exact duplicate, one
huge bucket, every document a near-duplicate, ids repeated (two records with one id).

The references below are those earlier algorithms, kept here in memory (sorted lists where
they sorted files): key lines sorted byte-wise, buckets walked with a window of 33, pairs
joined with the smallest signature of each id, decisions in order of the larger
id, documents merged by id with duplicates and collisions dropped."""

from __future__ import annotations

import hashlib
import random
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import pytest

from corpuspack import neardup, passes
from corpuspack.build import build
from corpuspack.config import zero_config
from corpuspack.dedup import exact_partition, find_exact_duplicates
from corpuspack.errors import UsageError
from corpuspack.neardup import (
    NearDedup,
    band_keys,
    candidate_pairs,
    find_clusters,
    signature_bytes,
)
from corpuspack.progress import NoProgress
from corpuspack.report import Duplicate
from corpuspack.runs import Runs

from .conftest import make_tree

NEAR = NearDedup()


# ------------------------------------------------------------------ the earlier algorithms

def old_exact(rows: list[dict[str, Any]], enabled: bool = True
              ) -> tuple[list[bytes], int]:
    """Duplicate lines sorted, and the bytes of the documents kept (dedup.py before)."""
    lines = sorted(b"%s\t%s\t%d\t%s\n" % (r["sha256"].encode(), r["id"].encode(), r["nbytes"],
                                          orjson.dumps(r["source"])) for r in rows)
    groups: list[list[list[bytes]]] = []
    for line in lines:
        parts = line.rstrip(b"\n").split(b"\t", 3)
        if groups and groups[-1][0][0] == parts[0]:
            groups[-1].append(parts)
        else:
            groups.append([parts])
    kept, dups = 0, []
    for group in groups:
        first = group[0]
        kept += int(first[2])
        for other in group[1:]:
            if not enabled or other[1] == first[1]:
                kept += int(other[2])
                continue
            dups.append(Duplicate(other[1].decode(), orjson.loads(other[3]), first[1].decode(),
                                  orjson.loads(first[3]), sha256=other[0].decode()).to_line())
    return sorted(dups), kept


def old_clusters(sigs: list[tuple[str, list[int]]], gone: list[str]
                 ) -> tuple[dict[str, tuple[str, float]], int]:
    """Near-duplicate decisions and pairs checked (neardup.py before)."""
    band_lines = sorted(f"{band:03d}{key:016x}\t{doc}".encode()
                        for doc, sig in sigs for band, key in enumerate(band_keys(sig, NEAR)))
    pairs, key, first = set(), b"", b""
    members: deque[bytes] = deque(maxlen=33)
    for line in band_lines:
        bucket, doc = line.split(b"\t")
        if bucket != key:
            key, first = bucket, doc
            members.clear()
        elif doc != first:
            pairs.add(first + b"\t" + doc)
            for earlier in members:
                if earlier not in (first, doc):
                    pairs.add(earlier + b"\t" + doc)
        members.append(doc)
    # of two records with one id, the smallest signature, value by value
    first_sig: dict[bytes, bytes] = {}
    for doc, sig in sorted(sigs):
        first_sig.setdefault(doc.encode(), orjson.dumps(sig))
    half = sorted(b"%s\t%s\t%s" % (b, a, first_sig[a])
                  for a, b in (p.split(b"\t") for p in sorted(pairs)))
    decided: dict[str, tuple[str, float]] = {}
    checked = 0
    gone_set = set(gone)
    for line in half:
        b, a, sig_a = line.split(b"\t", 2)
        idb, ida = b.decode(), a.decode()
        if idb in gone_set or idb in decided:
            continue
        if decided.get(ida, (ida,))[0] != ida:
            continue
        checked += 1
        va, vb = orjson.loads(sig_a), orjson.loads(first_sig[b])
        sim = sum(x == y for x, y in zip(va, vb, strict=True)) / len(va)
        if sim < NEAR.threshold:
            continue
        decided[idb] = (ida, round(sim, 4))
        decided[ida] = (ida, 1.0)
    return decided, checked


def old_merge(rows: list[dict[str, Any]], dup_lines: list[bytes],
              clusters: dict[str, tuple[str, float]], keep: bool
              ) -> tuple[list[tuple[str, int]], list[str], list[str]]:
    """(id, seq) written, ids dropped as near-duplicates, collisions (build.py's merge)."""
    drops: dict[str, list[str]] = {}
    for line in dup_lines:
        dup = Duplicate.from_line(line)
        drops.setdefault(dup.id, []).append(dup.sha256)
    written, near, collisions = [], [], []
    previous = None
    for row in sorted(rows, key=lambda r: (r["id"], r["seq"])):
        doc_id = row["id"]
        if row["sha256"] in drops.get(doc_id, []):
            drops[doc_id].remove(row["sha256"])
            continue
        if doc_id == previous:
            collisions.append(doc_id)
            continue
        previous = doc_id
        member = clusters.get(doc_id)
        if member is not None and member[0] != doc_id and not keep:
            near.append(doc_id)
            continue
        written.append((doc_id, row["seq"]))
    return written, near, collisions


# ------------------------------------------------------------------ hostile corpora

def _id(rng: random.Random) -> str:
    return f"{rng.getrandbits(64):016x}"


def _sig(rng: random.Random) -> list[int]:
    return [rng.getrandbits(64) for _ in range(NEAR.num_perm)]


def _near(base: list[int], rng: random.Random, changed: int) -> list[int]:
    sig = list(base)
    for i in rng.sample(range(len(sig)), changed):
        sig[i] = rng.getrandbits(64)
    return sig


def corpus(kind: str, seed: int = 1) -> list[dict[str, Any]]:
    """Rows of the ``candidates`` view: id, sha256, size, source, record, a signature."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []

    def add(doc_id: str, sha: str, sig: list[int] | None, source: str | None = None) -> None:
        rows.append({"id": doc_id, "sha256": sha, "nbytes": rng.randint(100, 999),
                     "source": source or f"dir/{doc_id}.txt", "record": None,
                     "signature": sig, "seq": len(rows)})

    if kind == "all exact duplicates":
        sig = _sig(rng)
        for _ in range(300):
            add(_id(rng), "a" * 64, sig)
    elif kind == "one huge bucket":  # all share band 0; 2 to 24 of the others differ
        base = _sig(rng)
        for i in range(400):
            sig = _near(base[8:], rng, rng.randint(2, 24))
            add(_id(rng), hashlib.sha256(str(i).encode()).hexdigest(), base[:8] + sig)
    elif kind == "every document a near-duplicate":
        base = _sig(rng)
        chain = base
        for i in range(300):
            chain = _near(chain if i % 3 else base, rng, rng.randint(0, 24))
            add(_id(rng), hashlib.sha256(str(i).encode()).hexdigest(), chain)
    elif kind == "repeated ids":
        pool = [_id(rng) for _ in range(40)]
        bases = [_sig(rng) for _ in range(10)]
        shas = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(250)]
        for _ in range(300):
            doc = rng.choice(pool)
            add(doc, rng.choice(shas), _near(rng.choice(bases), rng, rng.randint(0, 30))
                if rng.random() < 0.9 else None, source=f"dump/{doc}.jsonl")
    return rows


KINDS = ["all exact duplicates", "one huge bucket", "every document a near-duplicate",
         "repeated ids"]


def _engine(rows: list[dict[str, Any]]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.register("candidates_arrow", pa.table({
        "file": pa.array([hashlib.blake2b(r["source"].encode(), digest_size=16).digest()
                          for r in rows], pa.binary(16)),
        "seq": pa.array([r["seq"] for r in rows], pa.int32()),
        "id": [r["id"] for r in rows], "sha256": [r["sha256"] for r in rows],
        "nbytes": pa.array([r["nbytes"] for r in rows], pa.int64()),
        "source": [r["source"] for r in rows], "record": pa.array([None] * len(rows),
                                                                pa.string()),
        "language": ["en"] * len(rows), "format": ["text"] * len(rows),
        "encoding": ["utf-8"] * len(rows), "license": pa.array([None] * len(rows), pa.string()),
        "date": pa.array([None] * len(rows), pa.string()),
        "n_chars": [1] * len(rows), "n_words": [1] * len(rows), "text_bytes": [1] * len(rows),
        "signature": pa.array([signature_bytes(r["signature"]) if r["signature"] else None
                               for r in rows], pa.binary()),
        "bands": pa.array([band_keys(r["signature"], NEAR) if r["signature"] else None
                           for r in rows], pa.list_(pa.uint64())),
    }))
    con.execute("CREATE TABLE candidates AS SELECT * FROM candidates_arrow")
    con.execute("CREATE VIEW near_input AS SELECT id, signature, bands FROM candidates "
                "WHERE signature IS NOT NULL")
    return con


def _exact_lines(con: duckdb.DuckDBPyConnection) -> Iterator[bytes]:
    for row in con.execute("SELECT id, source, duplicate_of, duplicate_of_source, sha256 "
                           "FROM exact_duplicates").fetchall():
        yield Duplicate(row[0], row[1], row[2], row[3], sha256=row[4]).to_line()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("keep", [False, True])
def test_passes_give_what_the_sorted_files_gave(kind: str, keep: bool) -> None:
    rows = corpus(kind)
    con = _engine(rows)
    dedup = find_exact_duplicates(con)
    dups, kept_bytes = old_exact(rows)
    assert sorted(_exact_lines(con)) == dups
    assert (dedup.duplicates, dedup.kept_bytes) == (len(dups), kept_bytes)
    gone = sorted({Duplicate.from_line(line).id for line in dups})
    clusters = find_clusters(con, NEAR)
    members, checked = old_clusters([(r["id"], r["signature"]) for r in rows
                                     if r["signature"] is not None], gone)
    assert clusters.members == members and clusters.pairs_checked == checked
    if kind != "all exact duplicates":
        assert members  # the case exercises the decisions
    settled = passes.settle(con, clusters.members, keep)
    written, near, collisions = old_merge(rows, dups, members, keep)
    assert con.execute("SELECT id, seq FROM written WHERE NOT near_dropped ORDER BY id, seq"
                       ).fetchall() == written
    assert sorted(r[0] for r in con.execute(
        "SELECT id FROM written WHERE near_dropped").fetchall()) == sorted(near)
    assert (settled.written, settled.near_dropped, settled.collisions) == (
        len(written), len(near), len(collisions))
    if kind == "repeated ids":
        assert collisions


@pytest.mark.parametrize("kind", KINDS)
def test_exact_duplicates_partitioned_by_key_hash_are_the_same(kind: str) -> None:
    rows = corpus(kind, seed=2)
    whole, parts = _engine(rows), _engine(rows)
    one, three = find_exact_duplicates(whole), find_exact_duplicates(parts, partitions=3)
    assert (one.duplicates, one.kept_bytes) == (three.duplicates, three.kept_bytes)
    assert sorted(_exact_lines(whole)) == sorted(_exact_lines(parts))


def test_exact_dedup_off_keeps_every_document() -> None:
    rows = corpus("all exact duplicates")
    con = _engine(rows)
    dedup = find_exact_duplicates(con, enabled=False)
    assert dedup.duplicates == 0 and dedup.kept_bytes == sum(r["nbytes"] for r in rows)
    assert old_exact(rows, enabled=False) == ([], dedup.kept_bytes)


@pytest.mark.parametrize("kind", KINDS)
def test_near_pairs_partitioned_by_band_key_are_the_same(kind: str) -> None:
    rows = corpus(kind, seed=3)
    whole, parts = _engine(rows), _engine(rows)
    find_exact_duplicates(whole)
    find_exact_duplicates(parts, partitions=4)
    one, five = find_clusters(whole, NEAR), find_clusters(parts, NEAR, partitions=5)
    pairs = "SELECT a, b FROM near_pairs ORDER BY a, b"
    assert whole.execute(pairs).fetchall() == parts.execute(pairs).fetchall()
    assert (one.members, one.pairs_checked) == (five.members, five.pairs_checked)


@pytest.mark.parametrize("kind", KINDS)
def test_near_pairs_made_in_many_passes_are_the_same(kind: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    rows = corpus(kind, seed=5)
    whole, passes = _engine(rows), _engine(rows)
    find_exact_duplicates(whole)
    find_exact_duplicates(passes)
    one = find_clusters(whole, NEAR)
    monkeypatch.setattr(neardup, "_rows_per_pass", lambda con: 5000)  # 3 to 31 passes
    many = find_clusters(passes, NEAR)
    pairs = "SELECT a, b FROM near_pairs ORDER BY a, b"
    assert whole.execute(pairs).fetchall() == passes.execute(pairs).fetchall()
    assert (one.members, one.pairs_checked) == (many.members, many.pairs_checked)


def test_a_partition_reads_only_its_share_of_the_keys() -> None:
    rows = corpus("repeated ids", seed=4)
    con = _engine(rows)
    found: list[tuple[Any, ...]] = []
    kept = 0
    buckets: dict[str, set[tuple[int, int]]] = {}  # id -> (band, key) of its records
    for r in rows:
        if r["signature"]:
            buckets.setdefault(r["id"], set()).update(
                enumerate(band_keys(r["signature"], NEAR)))
    pairs: set[tuple[str, str]] = set()
    for part in range(4):
        kept += exact_partition(con, part, 4)
        these = con.execute("SELECT * FROM exact_part").fetchall()
        assert {int(r[2][:15], 16) % 4 for r in these} <= {part}
        found += these
        candidate_pairs(con, part, 4)
        for a, b in con.execute("SELECT a, b FROM near_pairs").fetchall():
            # the pair shares a bucket of this partition
            assert any(h % 4 == part for _, h in buckets[a] & buckets[b]), (a, b, part)
            pairs.add((a, b))
    whole = _engine(rows)
    dedup = find_exact_duplicates(whole)
    assert sorted(found) == sorted(whole.execute("SELECT * FROM exact_duplicates").fetchall())
    assert kept == dedup.kept_bytes and len(found) == dedup.duplicates > 0
    candidate_pairs(whole)
    assert pairs == set(whole.execute("SELECT a, b FROM near_pairs").fetchall()) != set()


def _digests(package: Path) -> dict[str, str]:
    return {p.relative_to(package).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(package.rglob("*")) if p.is_file()
            and not p.name.startswith(".corpuspack")}


def test_partitions_by_default_only_for_a_large_corpus(monkeypatch: pytest.MonkeyPatch
                                                     ) -> None:
    monkeypatch.delenv(passes.PARTITIONS, raising=False)
    assert passes.partitions_for(8, passes.AUTO_PARTITION_ROWS - 1) is None
    assert passes.partitions_for(8, passes.AUTO_PARTITION_ROWS) == 8
    monkeypatch.setenv(passes.PARTITIONS, "3")
    assert passes.partitions_for(8, 10) == 3


class _Stages(NoProgress):
    """Records the stages a build reports."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def stage(self, name: str, total: int | None = None) -> None:
        self.names.append(name)


def test_a_build_gives_the_same_bytes_whatever_the_partitions_and_executor(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = make_tree(tmp_path / "tree")
    packages = {}
    for executor, parts in (("serial", "1"), ("serial", "4"), ("local", "7"), ("local", "")):
        monkeypatch.setenv(passes.PARTITIONS, parts)
        out = tmp_path / f"{executor}-{parts or 'default'}" / "pkg"
        stages = _Stages()
        report = build(zero_config(tree, out), executor=executor, workers=2, cache=None,
                       progress=stages)
        assert report.duplicates_dropped and report.near_duplicates_dropped  # exercised
        assert "partitions" in report.stage_seconds
        # tasks when asked for; for a small corpus by default, the main process
        assert ("finding duplicates (partitions)" in stages.names) == bool(parts)
        packages[executor, parts] = _digests(out)
    cache = tmp_path / "cache"  # runs from the cache: read by the split tasks too
    monkeypatch.setenv(passes.PARTITIONS, "3")
    for name in ("cold", "warm"):
        out = tmp_path / f"cache-{name}" / "pkg"
        report = build(zero_config(tree, out), executor="local", workers=2, cache=cache)
        packages["cache", name] = _digests(out)
    assert report.files_cached and not report.files_processed
    first = packages["serial", "1"]
    assert first and all(found == first for found in packages.values())


@pytest.mark.parametrize("value", ["0", "-1", "x", "4097", "1.5"])
def test_a_bad_partition_count_is_refused(value: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(passes.PARTITIONS, value)
    with pytest.raises(UsageError, match="CORPUSPACK_PARTITIONS"):
        passes.partitions_for(2, 10)


def test_split_tasks_each_read_a_share_of_the_runs(tmp_path: Path) -> None:
    runs = Runs(docs=[f"d{i}.docs.parquet" for i in range(10)], cached="wanted.parquet",
                       cached_docs=[f"c{i}.docs.parquet" for i in range(4)],
                       refined=[f"r{i}.docs.parquet" for i in range(3)])
    tasks = passes.split_tasks(runs, 4, tmp_path, True, 3)
    base = [t for t in tasks if not t.refined_only]
    refined = [t for t in tasks if t.refined_only]
    assert len(base) == 3 and all(len(t.runs.docs) + len(t.runs.cached_docs) <= 5
                                  for t in base)
    assert sorted(p for t in base for p in t.runs.docs + t.runs.cached_docs) == sorted(
        runs.docs + runs.cached_docs)
    assert all(t.runs.refined == runs.refined for t in base)  # rows they replace left out
    assert sorted(p for t in refined for p in t.runs.refined) == sorted(runs.refined)
    assert all(not t.runs.docs and not t.runs.cached_docs for t in refined)
    assert [t.index for t in tasks] == list(range(len(tasks)))


def test_the_passes_memory_limit_grows_with_the_documents_unless_set(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # 200,000 documents with every rule ran out of the fixed 128 MB (docs/benchmarks.md)
    monkeypatch.delenv("CORPUSPACK_MEMORY_LIMIT", raising=False)

    def limit(con: duckdb.DuckDBPyConnection) -> int:
        return passes._bytes(str(passes.one(con, "SELECT current_setting('memory_limit')")[0]))

    con = passes.connect(tmp_path, 1)
    default = passes._bytes(passes.MEMORY_LIMIT)
    for documents in (1_000, 1_000_000):
        passes.fit_documents(con, documents)
        need = default + documents * passes.PER_DOCUMENT_BYTES
        assert need <= limit(con) <= need + 2 * passes.MiB
    con.close()
    monkeypatch.setenv("CORPUSPACK_MEMORY_LIMIT", "64MB")
    con = passes.connect(tmp_path, 1)
    before = limit(con)
    passes.fit_documents(con, 1_000_000)
    assert limit(con) == before  # a limit the user set is kept
    con.close()


def test_refine_tasks_hold_a_bounded_number_of_documents(tmp_path: Path) -> None:
    """A refine task's memory follows its documents (their rewritten rows wait for the
    run's writer): however many documents hold frequent lines, no task gets more than
    REFINE_TASK_ROWS of them (a 200,000-document build's refine workers peaked at 407 MB
    of resident memory with one task per eighth of those documents, 221 MB with 512)."""
    import pyarrow.parquet as pq

    con = duckdb.connect()
    con.execute("""CREATE TABLE base AS
        SELECT 'f' || (i // 10) AS file, i % 10 AS seq, 'g' AS "group",
               ['k1', 'k' || i] AS line_keys, 'line ' || i AS line
        FROM range(1500) t(i)""")
    con.execute("CREATE TABLE frequent AS SELECT 'g' AS g, 'k1' AS k, 1500 AS documents, "
                "2 AS size")
    files = passes.refine_inputs(con, tmp_path / "refine", parts=2)
    rows = [pq.read_metadata(f).num_rows for f in files]
    assert sum(rows) == 1500 and max(rows) <= passes.REFINE_TASK_ROWS
    assert len(files) == -(-1500 // passes.REFINE_TASK_ROWS)


@pytest.mark.parametrize("marked", [[], [0], [1, 3], [0, 1, 2, 3]])
def test_marked_rewrites_the_lines_of_marked_documents_only(marked: list[int]) -> None:
    """The shards' lines: a document of a near-duplicate cluster gets its ``cluster``, every
    other line is passed on as it came (byte for byte)."""
    from corpuspack.document import json_line

    objs = [{"id": f"{i:032x}", "text": f"text {i} \u00e9\u2028", "cluster": None}
            for i in range(4)]
    lines = [json_line(o) for o in objs]
    clusters = [f"{9:032x}" if i in marked else None for i in range(4)]
    batch = pa.record_batch([pa.array([o["id"] for o in objs]), pa.array(range(4), pa.int64()),
                             pa.array(clusters, pa.string()),
                             pa.array(lines, pa.large_binary())],
                            names=["id", "seq", "cluster", "line"])
    ids, out = passes._marked(batch)
    assert ids == [o["id"] for o in objs]
    want = [json_line({**o, "cluster": c}) if c else line
            for o, c, line in zip(objs, clusters, lines, strict=True)]
    assert out.to_pylist() == want and out.type == pa.large_binary()
