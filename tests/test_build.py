"""End-to-end builds of a real source tree, checked with the stock frictionless validator."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import frictionless
import pytest

from corpuspack.build import build
from corpuspack.commit import Layout, commit, recover
from corpuspack.config import zero_config
from corpuspack.errors import CorpusError
from corpuspack.validate import validate_package

from .conftest import build_to, make_tree, read_docs, text_of


def digest_tree(folder: Path) -> dict[str, str]:
    """Every file of a package (its build cache aside: not part of it)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and p.relative_to(folder).parts[0] != ".corpuspack-cache"}


def test_stock_frictionless_cli_validates_the_package(built) -> None:
    config, _ = built
    proc = subprocess.run([sys.executable, "-m", "frictionless", "validate",
                           str(config.descriptor)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert frictionless.validate(str(config.descriptor)).valid


def test_package_contents(built) -> None:
    config, report = built
    docs = read_docs(config.package_dir)
    ids = [d["id"] for d in docs]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    by_source = {d["source"]: d for d in docs}
    # the CRLF copy and the symlink duplicate the seed and were dropped
    assert "news/seed.txt" in by_source
    assert "news/seed-crlf.txt" not in by_source and "link-in.txt" not in by_source
    # the seed, its CRLF copy and a link to it are one text; so are the French BOM file and
    # the Markdown body: in each group only the smallest id is kept
    dups = list(report.iter_duplicates())
    groups = [{"news/seed.txt", "news/seed-crlf.txt", "link-in.txt"},
              {"encodings/fr-utf8-bom.txt", "notes/post.md"},
              # "# Notizen" over the German text: a near-duplicate of the German file
              {"encodings/de-utf16.txt", "notes/heading.md"}]
    for group in groups:
        kept = group & set(by_source)
        assert len(kept) == 1
        dropped = {d.source for d in dups if d.source in group}
        assert dropped == group - kept
    ids = {d["source"]: d["id"] for d in docs}
    for d in dups:
        assert d.duplicate_of == ids[d.duplicate_of_source] < d.id
        assert (d.kind, d.similarity) == (("near", d.similarity) if d.source == "notes/heading.md"
                                          else ("exact", 1.0))
    assert report.duplicates_dropped == 3 and report.near_duplicates_dropped == 1
    assert report.documents_written == len(docs) == report.documents_read - 4
    skipped = {(s.path, s.record) for s in report.skipped}
    assert {("bad/image.txt", None), ("bad/empty.txt", None), ("bad/spaces.txt", None),
            ("bad/scan.pdf", None), ("bad/photo.jpg", None), ("bad/broken.txt.gz", None),
            ("link-out.txt", None),
            ("dump/records.jsonl", "L2"), ("dump/records.jsonl", "L5")} <= skipped
    languages = {d["language"] for d in docs}
    assert {"en", "fr", "de", "es", "cs", "ru", "ja", "it", "pt", "pl", "tr"} <= languages


def test_build_report_file_lists_skips_and_duplicates(built) -> None:
    config, report = built
    saved = json.loads((config.data_dir / "build-report.json").read_text())
    assert saved["documents_written"] == report.documents_written
    assert len(saved["duplicates"]) == 4
    assert {"path": "bad/photo.jpg", "reason": "unsupported file type: .jpg"} in saved["skipped"]
    assert {"path": "bad/scan.pdf",
            "reason": "corrupt or truncated PDF (PDFium: data format error)"} in saved["skipped"]
    assert "seconds" not in saved  # committed files carry no timings


def test_duckdb_reads_the_shards(built) -> None:
    config, report = built
    pattern = str(config.data_dir / "documents-*.jsonl")
    rows = duckdb.sql(f"select language, count(*) from read_json('{pattern}', "
                      "format='newline_delimited') group by language").fetchall()
    assert sum(n for _, n in rows) == report.documents_written


def test_deterministic_across_worker_counts(tree: Path, tmp_path: Path) -> None:
    c1, _ = build_to(tree, tmp_path / "one" / "pkg", workers=1)
    c2, _ = build_to(tree, tmp_path / "two" / "pkg", workers=2)
    assert digest_tree(c1.package_dir) == digest_tree(c2.package_dir)


def test_many_shards_and_gzip(tree: Path, tmp_path: Path) -> None:
    from dataclasses import replace

    config = zero_config(tree, tmp_path / "pkg")
    config = replace(config, options=replace(config.options, shard_size_mb=0.004,
                                             compression="gzip"))
    report = build(config, workers=1)
    assert len(report.data_files) > 2 and all(f.endswith(".jsonl.gz") for f in report.data_files)
    assert validate_package(config.package_dir).valid
    assert frictionless.validate(str(config.descriptor)).valid


def test_strict_fails_and_keeps_previous_package(tree: Path, tmp_path: Path) -> None:
    config, _ = build_to(tree, tmp_path / "pkg")
    before = digest_tree(config.package_dir)
    with pytest.raises(CorpusError, match="--strict"):
        build(config, workers=1, strict=True)
    assert digest_tree(config.package_dir) == before


def test_check_detects_stale_package(tmp_path: Path) -> None:
    src = make_tree(tmp_path)
    config, _ = build_to(src, tmp_path / "pkg")
    assert build(config, workers=1, check=True).check_differences == []
    (src / "news" / "new.txt").write_text("A new article arrived today.", encoding="utf-8")
    stale = build(config, workers=1, check=True).check_differences
    assert any(name.endswith(".jsonl") for name in stale) and "datapackage.json" in stale


def test_killed_build_leaves_previous_package(tmp_path: Path) -> None:
    src = make_tree(tmp_path)
    big = src / "big"
    big.mkdir()
    seed = (src / "news" / "seed.txt").read_text(encoding="utf-8")
    for i in range(3000):
        (big / f"{i:05d}.txt").write_text(f"{i}\n{seed}", encoding="utf-8")
    config, _ = build_to(src / "news", tmp_path / "pkg")
    before = digest_tree(config.package_dir)
    proc = subprocess.Popen(
        [sys.executable, "-m", "corpuspack.cli", "build", str(src), "--out",
         str(config.package_dir), "--workers", "2"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    staging_seen = False
    for _ in range(400):
        time.sleep(0.02)
        if any(p.name.startswith(".corpuspack-staging") for p in config.package_dir.iterdir()):
            staging_seen = True
            time.sleep(0.3)
            break
    import os

    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert staging_seen
    leftovers = {p.name for p in config.package_dir.iterdir()} - {"data", "datapackage.json",
                                                                  ".corpuspack-cache"}
    assert leftovers  # the killed build left its staging folder behind ...
    assert {k: v for k, v in digest_tree(config.package_dir).items()
            if not k.startswith(".corpuspack")} == before  # ... but the package is intact
    assert validate_package(config.package_dir).valid
    build(config, workers=1)  # the next build cleans up (and keeps its cache)
    assert {p.name for p in config.package_dir.iterdir()} == {"data", "datapackage.json",
                                                             ".corpuspack-cache"}


def test_interrupted_commit_is_completed(tree: Path, tmp_path: Path) -> None:
    config, _ = build_to(tree, tmp_path / "pkg")
    layout = Layout(config.descriptor, config.data_dir)
    # stage a second build by hand, then die right after the journal is written
    staging = layout.new_staging()
    for f in config.data_dir.iterdir():
        shutil.copy(f, staging / f.name)
    shutil.copy(config.descriptor, staging / "datapackage.json")
    (staging / "marker").write_text("new")
    import corpuspack.commit as w

    real = w._roll_forward
    w._roll_forward = lambda *a: (_ for _ in ()).throw(KeyboardInterrupt())  # type: ignore
    try:
        with pytest.raises(KeyboardInterrupt):
            commit(layout, staging)
    finally:
        w._roll_forward = real
    assert not validate_package(config.package_dir).valid  # pending commit is reported
    assert recover(layout)
    assert (config.data_dir / "marker").read_text() == "new"
    assert validate_package(config.package_dir).valid


def test_output_inside_sources_is_refused(tree: Path) -> None:
    with pytest.raises(CorpusError, match="inside the source folder"):
        zero_config(tree, tree / "pkg")


@pytest.mark.parametrize("order", ["unique first", "repeat first"])
def test_a_repeated_record_id_is_reported_and_loses_no_text(tmp_path: Path, order: str) -> None:
    # two records of one JSONL file carry the same id (a data error): the later one is
    # reported; a text the dropped record shares with another file is still in the corpus
    src = tmp_path / "src"
    src.mkdir()
    shared, unique = text_of("fr-fr"), text_of("de-de")
    (src / "a.txt").write_text(shared, encoding="utf-8")
    records = [{"id": "7", "text": unique}, {"id": "7", "text": shared}]
    if order == "repeat first":
        records.reverse()
    (src / "dump.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records),
                                    encoding="utf-8")
    config, report = build_to(src, tmp_path / "pkg")
    texts = sorted(d["text"] for d in read_docs(config.package_dir))
    kept, lost = records[0]["text"], records[1]["text"]
    assert [(s.path, s.record) for s in report.skipped] == [("dump.jsonl", "L2")]
    assert "id '7' repeats" in report.skipped[0].reason
    assert texts == sorted({shared.strip(), kept.strip()})
    assert (lost == unique) == (len(texts) == 1)
    assert validate_package(config.package_dir).valid


# the command line's build in a fresh process, then what it imported (last line of stdout)
_CLI_RUN = """
import sys
from corpuspack import cli
sys.argv = ["corpuspack", "build", *sys.argv[1:]]
try:
    cli.main()
except SystemExit as exc:
    assert not exc.code, exc.code
"""
_CLI_BUILD = _CLI_RUN + 'print("pandas" in sys.modules)\n'
_CLI_IMPORTS = _CLI_RUN + (
    'print(sorted(m for m in ("numpy", "pyarrow", "duckdb", "pandas") if m in sys.modules))\n')


def test_a_check_that_finds_its_record_imports_no_engine(tmp_path: Path) -> None:
    """An unchanged ``build --check`` (what CI runs on every push) answers from the build
    record: it imports neither NumPy (0.13 s), pyarrow, DuckDB nor pandas."""
    from corpuspack.build_record import RACY_SECONDS
    src = make_tree(tmp_path)
    time.sleep(RACY_SECONDS + 0.1)  # settled inputs: the build records their fingerprint
    env = {**os.environ, "CORPUSPACK_CACHE": str(tmp_path / "cache")}
    out = tmp_path / "pkg"
    for extra, imported in (((), None), (("--check",), "[]")):
        proc = subprocess.run(
            [sys.executable, "-c", _CLI_IMPORTS, str(src), "--out", str(out), "--json",
             *extra], capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stderr[-2000:]
        if imported is not None:
            *report, modules = proc.stdout.splitlines()
            assert json.loads("\n".join(report))["from_record"] is True
            assert modules == imported


def test_the_command_line_builds_without_importing_pandas(tmp_path: Path) -> None:
    """The command line's build does not import pandas (pyarrow would, at its first
    conversion of a list: 0.3 s and more of every build), in the main process or in its
    forked workers, and its package is byte for byte the one built with pandas."""
    from corpuspack.runs import PYARROW_WITHOUT_PANDAS
    src = make_tree(tmp_path)
    (tmp_path / "near.toml").write_text("[near_dedup]\nenabled = true\n", encoding="utf-8")
    built = {}
    for setting in ("", "0"):
        env = {k: v for k, v in os.environ.items()
               if k != PYARROW_WITHOUT_PANDAS}
        if setting:
            env[PYARROW_WITHOUT_PANDAS] = setting
        env["CORPUSPACK_CACHE"] = "off"
        out = tmp_path / f"pkg{setting}"
        proc = subprocess.run(
            [sys.executable, "-c", _CLI_BUILD, str(src), "--out", str(out), "--workers", "2",
             "--config", str(tmp_path / "near.toml")],
            capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert proc.stdout.splitlines()[-1] == ("True" if setting else "False")
        built[setting] = {p.name: p.read_bytes() for p in sorted((out / "data").iterdir())
                          if p.name.startswith("documents-")}
    assert built[""] == built["0"] and built[""]
