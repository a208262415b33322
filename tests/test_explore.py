"""Looking inside a corpus: sql, show, sample and stats on a package folder, a release folder
and a git revision, with real DuckDB; queries read nothing outside the package."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from corpuspack.errors import UsageError
from corpuspack.explore import document, query, sample, stats, why_kept
from corpuspack.publish import publish
from corpuspack.reader import open_package

from .conftest import SEED, build_to, read_docs, text_of


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "corpuspack.cli", *args], cwd=cwd,
                          capture_output=True, text=True, env={**os.environ, "CI": "1"})


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(package folder, release folder) of a small corpus with an exact duplicate."""
    root = tmp_path_factory.mktemp("explore")
    src = root / "src"
    (src / "news").mkdir(parents=True)
    shutil.copy(SEED, src / "news" / "seed.txt")
    shutil.copy(SEED, src / "news" / "copy.txt")
    for lang in ("fr-fr", "de-de", "es-es", "it-it"):
        (src / f"{lang}.txt").write_text(text_of(lang), encoding="utf-8")
    (src / "dump.jsonl").write_text(
        json.dumps({"id": "r1", "text": text_of("pl-pl"), "meta_key": "x"}) + "\n",
        encoding="utf-8")
    config, _ = build_to(src, root / "pkg")
    release = root / "release"
    publish(open_package(config.package_dir), release)
    return config.package_dir, release


@pytest.mark.parametrize("which", ["package", "release"])
def test_sql_over_the_documents(corpus: tuple[Path, Path], which: str) -> None:
    pkg = open_package(corpus[0] if which == "package" else corpus[1])
    expected = read_docs(corpus[0])
    result = query(pkg, "SELECT id, language, n_words, date FROM documents ORDER BY id")
    assert [r[0] for r in result.rows] == [d["id"] for d in expected]
    assert [r[1] for r in result.rows] == [d["language"] for d in expected]
    langs = query(pkg, "SELECT language, count(*) FROM documents GROUP BY ALL ORDER BY 1")
    assert dict(langs.rows) == {d["language"]: 1 for d in expected}
    meta = query(pkg, "SELECT meta->>'$.meta_key' FROM documents WHERE record = 'r1'")
    assert meta.rows == [("x",)]
    with pytest.raises(UsageError, match="query failed"):
        query(pkg, "SELECT nonsense FROM documents")


def test_sql_reads_nothing_outside_the_package(corpus: tuple[Path, Path],
                                               tmp_path: Path) -> None:
    secret = tmp_path / "secret.csv"
    secret.write_text("password\nhunter2\n", encoding="utf-8")
    hits: list[str] = []

    class Count(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the http.server name
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"a,b\n1,2\n")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Count)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        pkg = open_package(corpus[0])
        for sql in (f"SELECT * FROM read_csv('{secret}')",
                    f"SELECT * FROM read_csv('http://127.0.0.1:{server.server_port}/x.csv')",
                    "INSTALL httpfs", f"COPY (SELECT 1) TO '{tmp_path / 'out.csv'}'"):
            with pytest.raises(UsageError):
                query(pkg, sql)
    finally:
        server.shutdown()
    assert hits == []
    assert not (tmp_path / "out.csv").exists()


def test_show_names_why_a_document_was_kept(corpus: tuple[Path, Path]) -> None:
    pkg = open_package(corpus[0])
    seed = next(d for d in read_docs(corpus[0]) if d["source"].startswith("news/"))
    doc = document(pkg, seed["id"][:6])
    assert doc["text"] == seed["text"]
    why = why_kept(pkg, doc)
    assert len(why.exact_duplicates) == 1  # the other copy of the seed
    with pytest.raises(UsageError, match="no document"):
        document(pkg, "0000000000")
    done = cli(corpus[0], "show", seed["id"], "--package", str(corpus[0]))
    assert done.returncode == 0, done.stderr
    assert "1 exact duplicate(s) dropped for it" in done.stdout
    shown = json.loads(cli(corpus[0], "show", seed["id"], "--package", str(corpus[1]),
                           "--json").stdout)
    assert shown["document"]["text"] == seed["text"]


def test_sample_is_stable_and_stats_add_up(corpus: tuple[Path, Path]) -> None:
    pkg = open_package(corpus[0])
    first = [d["id"] for d in sample(pkg, 3)]
    assert first == [d["id"] for d in sample(pkg, 3)]
    assert first != [d["id"] for d in sample(pkg, 3, seed=7)] or len(read_docs(corpus[0])) <= 3
    assert len(sample(pkg, 100)) == len(read_docs(corpus[0]))
    total = stats(pkg).to_dicts()[0]
    docs = read_docs(corpus[0])
    assert total["documents"] == len(docs)
    assert total["words"] == sum(d["n_words"] for d in docs)
    by_source = {r["source"]: r["documents"] for r in stats(pkg, "source").to_dicts()}
    assert by_source == {"news": 1, "(top level)": len(docs) - 1}
    with pytest.raises(UsageError, match="--by"):
        stats(pkg, "colour")


def test_looking_inside_a_git_revision(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "corpus" / "sources").mkdir(parents=True)
    shutil.copy(SEED, repo / "corpus" / "sources" / "seed.txt")
    (repo / "corpus.toml").write_text('name = "demo"\nversion = "0.1.0"\n', encoding="utf-8")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    assert cli(repo, "build", "-j", "1").returncode == 0
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "v1"], cwd=repo, check=True)
    (repo / "corpus" / "sources" / "fr.txt").write_text(text_of("fr-fr"), encoding="utf-8")
    assert cli(repo, "build", "-j", "1").returncode == 0
    now = json.loads(cli(repo, "sql", "SELECT count(*) AS n FROM documents", "--json").stdout)
    then = json.loads(cli(repo, "sql", "SELECT count(*) AS n FROM documents", "--package",
                          "HEAD", "--json").stdout)
    assert (now["rows"][0]["n"], then["rows"][0]["n"]) == (2, 1)
    done = cli(repo, "stats", "--by", "language", "--package", "HEAD")
    assert done.returncode == 0 and "en" in done.stdout


def test_queries_refuse_wildcards_empty_and_several_statements(corpus: tuple[Path, Path],
                                                               tmp_path: Path) -> None:
    pkg = open_package(corpus[0])
    with pytest.raises(UsageError, match="empty"):
        query(pkg, "  ")
    with pytest.raises(UsageError, match="one SQL statement"):
        query(pkg, "SELECT 1; SELECT 2")
    # a descriptor whose data path is a wildcard: DuckDB would expand it, anywhere a link goes
    copy = tmp_path / "pkg"
    shutil.copytree(corpus[0], copy)
    descriptor = json.loads((copy / "datapackage.json").read_text())
    descriptor["resources"][0]["path"] = "data/*/**/*.jsonl"
    (copy / "datapackage.json").write_text(json.dumps(descriptor))
    os.symlink("/", copy / "data" / "link")
    with pytest.raises(UsageError):
        query(open_package(copy), "SELECT count(*) FROM documents")
