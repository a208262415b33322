"""Versions: per-document diffs between folders and git revisions, the changelog, and
validation that fails when documents change but the version does not."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from corpuspack.build import build
from corpuspack.config import load_config
from corpuspack.reader import open_package
from corpuspack.validate import validate_package
from corpuspack.versions import changelog_entry, diff, heading_version, update_changelog

from .conftest import SEED, build_to, text_of


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "corpuspack.cli", *args], cwd=cwd,
                          capture_output=True, text=True, env={**os.environ, "CI": "1"})


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                   cwd=cwd, check=True, capture_output=True)


def sources(root: Path) -> Path:
    src = root / "corpus" / "sources"
    src.mkdir(parents=True)
    shutil.copy(SEED, src / "seed.txt")
    for lang in ("fr-fr", "de-de", "es-es"):
        (src / f"{lang}.txt").write_text(text_of(lang), encoding="utf-8")
    return src


def built_repo(tmp_path: Path) -> Path:
    """A git repository holding a corpus config and its sources, built, nothing committed."""
    repo = tmp_path / "repo"
    sources(repo)
    (repo / "corpus.toml").write_text('name = "demo"\nversion = "0.1.0"\n', encoding="utf-8")
    git(repo, "init", "-q")
    assert cli(repo, "build", "-j", "1").returncode == 0
    return repo


def ids_by_source(package: Path) -> dict[str, str]:
    return {d["source"]: d["id"] for d in open_package(package).iter_documents()}


def test_diff_of_edits_additions_and_removals(tmp_path: Path) -> None:
    src = sources(tmp_path)
    old, _ = build_to(src, tmp_path / "v1" / "pkg")
    (src / "fr-fr.txt").write_text(text_of("fr-fr") + "\nUne phrase de plus.", encoding="utf-8")
    (src / "it-it.txt").write_text(text_of("it-it"), encoding="utf-8")
    (src / "es-es.txt").unlink()
    new, _ = build_to(src, tmp_path / "v2" / "pkg")
    a, b = ids_by_source(old.package_dir), ids_by_source(new.package_dir)
    result = diff(open_package(old.package_dir), open_package(new.package_dir))
    assert result.counts == {"added": 1, "removed": 1, "changed": 1, "unchanged": 2}
    assert list(result.entries("added")) == [(b["it-it.txt"], "it-it.txt")]
    assert list(result.entries("removed")) == [(a["es-es.txt"], "es-es.txt")]
    assert list(result.entries("changed")) == [(b["fr-fr.txt"], "fr-fr.txt")]
    assert a["fr-fr.txt"] == b["fr-fr.txt"]  # an edited source keeps its id
    done = cli(tmp_path, "diff", str(old.package_dir), str(new.package_dir), "--json")
    out = json.loads(done.stdout)
    assert (out["added"], out["removed"], out["changed"]) == (
        [b["it-it.txt"]], [a["es-es.txt"]], [b["fr-fr.txt"]])
    assert out["counts"]["unchanged"] == 2


def test_versions_in_a_git_repository(tmp_path: Path) -> None:
    repo = built_repo(tmp_path)
    src = repo / "corpus" / "sources"
    assert cli(repo, "publish", "--out", str(tmp_path / "dist")).returncode == 0
    changelog = (repo / "corpus" / "CHANGELOG.md").read_text()
    assert "## 0.1.0" in changelog and "first release): 4 added" in changelog
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "0.1.0")
    git(repo, "tag", "v0.1.0")

    (src / "de-de.txt").write_text(text_of("de-de") + "\nNoch ein Satz.", encoding="utf-8")
    build(load_config(cwd=repo), workers=1)
    report = validate_package(repo, base="auto")
    assert not report.valid
    assert [p.code for p in report.problems] == ["version-not-bumped"]
    done = cli(repo, "validate", "--base", "auto")
    assert done.returncode == 1 and "version is still 0.1.0" in done.stdout

    done = cli(repo, "diff", "v0.1.0")
    assert "0 added, 0 removed, 1 changed, 3 unchanged" in done.stdout

    (repo / "corpus.toml").write_text('name = "demo"\nversion = "0.2.0"\n', encoding="utf-8")
    build(load_config(cwd=repo), workers=1)
    assert validate_package(repo, base="auto").valid
    assert cli(repo, "publish", "--out", str(tmp_path / "dist")).returncode == 0
    changelog = (repo / "corpus" / "CHANGELOG.md").read_text()
    assert changelog.index("## 0.2.0") < changelog.index("## 0.1.0")
    assert "Compared with version 0.1.0: 0 added, 0 removed, 1 changed, 3 unchanged." in changelog
    assert (tmp_path / "dist" / "CHANGELOG.md").read_text() == changelog


def test_changelog_entries_are_kept() -> None:
    text = update_changelog(None, "## 0.1.0\n\nfirst\n")
    text = update_changelog(text, "## 0.2.0\n\nsecond\n")
    assert update_changelog(text, "## 0.1.0\n\nrewritten\n") == text
    assert text.startswith("# Changelog\n\n## 0.2.0") and "first" in text


def test_unknown_version_spec(tmp_path: Path) -> None:
    done = cli(tmp_path, "diff", "no-such-thing", "other")
    assert done.returncode == 2
    assert "no-such-thing: no package folder or datapackage.json of that name" in done.stderr
    assert "and no git revision" in done.stderr


@pytest.mark.parametrize("base", ["auto"])
def test_no_release_tags_means_no_version_check(tmp_path: Path, base: str) -> None:
    src = sources(tmp_path)
    config, _ = build_to(src, tmp_path / "pkg")
    assert validate_package(config.package_dir, base=base).valid


def test_a_metadata_change_is_a_change(tmp_path: Path) -> None:
    src = sources(tmp_path)
    old, _ = build_to(src, tmp_path / "v1" / "pkg")
    (src / "fr-fr.meta.yaml").write_text("title: Un titre donné après coup\n", encoding="utf-8")
    new, _ = build_to(src, tmp_path / "v2" / "pkg")
    result = diff(open_package(old.package_dir), open_package(new.package_dir))
    assert result.counts == {"added": 0, "removed": 0, "changed": 1, "unchanged": 3}
    assert [s for _, s in result.entries("changed")] == ["fr-fr.txt"]


def test_an_unknown_revision_is_one_line(tmp_path: Path) -> None:
    repo = built_repo(tmp_path)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "first")
    done = cli(repo, "diff", "no-such-rev")
    assert done.returncode == 2 and "no-such-rev" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_a_data_file_missing_from_a_revision_is_an_error(tmp_path: Path) -> None:
    repo = built_repo(tmp_path)
    git(repo, "add", "-A")
    git(repo, "rm", "-q", "--cached", "-r", "corpus/data")
    git(repo, "commit", "-qm", "descriptor without its data")
    done = cli(repo, "diff", "HEAD")
    assert done.returncode == 2 and "cannot read HEAD:corpus/data/" in done.stderr


def test_no_release_tag_is_a_note(tmp_path: Path) -> None:
    src = sources(tmp_path)
    config, _ = build_to(src, tmp_path / "pkg")
    report = validate_package(config.package_dir, base="auto")
    assert report.valid and report.notes == [
        "not in a git repository: the version was not compared with a release"]
    repo = built_repo(tmp_path / "in-git")
    report = validate_package(repo, base="auto")
    assert report.valid and report.notes == [
        "no release tag (v<version>) found: the version was not compared with a release"]
    assert report.to_dict()["notes"] == report.notes
    done = cli(repo, "validate", "--base", "auto", "--json")
    assert json.loads(done.stdout)["notes"] == report.notes


def test_hostile_source_names_cannot_forge_changelog_entries(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "a\n## 9.9.9").mkdir(parents=True)
    (src / "a\n## 9.9.9" / "b`c\nd.txt").write_text(text_of("de-de"), encoding="utf-8")
    (src / "x<!-- y -->").mkdir()
    (src / "x<!-- y -->" / "e.txt").write_text(text_of("fr-fr"), encoding="utf-8")
    config, _ = build_to(src, tmp_path / "pkg")
    entry = changelog_entry(diff(None, open_package(config.package_dir)))
    headings = [line for line in entry.split("\n") if line.startswith("#")]
    assert headings == ["## 0.1.0"]
    assert "a\\n\\#\\# 9.9.9/b\\`c\\nd.txt" in entry and "x&lt;!-- y --&gt;/e.txt" in entry
    text = update_changelog(None, entry)
    assert update_changelog(text, entry) == text
    nine = update_changelog(text, "## 9.9.9\n\nreal\n")
    assert nine.index("## 9.9.9") < nine.index("## 0.1.0") and nine.count("## 9.9.9") == 1


def test_hostile_versions_are_one_word() -> None:
    assert heading_version("1.0\n## 9.9.9") == "1.0\\x0a\\x23\\x23\\x209.9.9"
    assert heading_version("") == "(none)" and heading_version("2.0.0rc1") == "2.0.0rc1"


@pytest.mark.parametrize("existing", [
    "# Changelog\n\n```\n## 0.3.0\n```\n\n## 0.1.0\n\nfirst\n",
    "# Changelog\r\n\r\n## 0.1.0\r\n\r\nfirst\r\n",
    "# Changelog\n\n## Unreleased\n\nnotes\n\n## 0.1.0\n\nfirst\n\n## 0.1.0\n\ndup\n",
    "no title at all\n## not-a-version\n~~~\n## 0.0.1\n~~~\n",
    "",
])
def test_existing_changelog_text_is_kept(existing: str) -> None:
    entry = "## 0.2.0\n\nsecond\n"
    out = update_changelog(existing, entry)
    assert out.count("## 0.2.0") == 1
    if existing:
        assert out.replace("## 0.2.0\n\nsecond\n\n", "", 1) == existing or \
            out == existing.rstrip("\n") + "\n\n" + entry
    assert update_changelog(out, entry) == out
    assert update_changelog(out, "## 0.3.0\n\nthird\n").count("## 0.3.0") == (
        existing.count("## 0.3.0") + 1)


def test_diff_names_columns_records_and_text(tmp_path: Path) -> None:
    src = sources(tmp_path)
    (src / "dump.jsonl").write_text(
        json.dumps({"id": "a1", "text": text_of("it-it"), "title": "Uno"}) + "\n",
        encoding="utf-8")
    old, _ = build_to(src, tmp_path / "v1" / "pkg")
    fr = text_of("fr-fr")
    assert "chapitre" in fr
    (src / "fr-fr.txt").write_text(fr.replace("chapitre", "chapitre Debian GNU/Linux", 1),
                                   encoding="utf-8")
    (src / "dump.jsonl").write_text(
        json.dumps({"id": "a1", "text": text_of("it-it"), "title": "Due"}) + "\n",
        encoding="utf-8")
    new, _ = build_to(src, tmp_path / "v2" / "pkg")
    result = diff(open_package(old.package_dir), open_package(new.package_dir), texts=True)
    details = {name: columns for _, name, columns in result.details("changed")}
    assert details["dump.jsonl#a1"] == ["title"]
    assert "text" in details["fr-fr.txt"] and "sha256" in details["fr-fr.txt"]
    [(_, name, patch)] = list(result.text_diffs())
    assert name == "fr-fr.txt"
    assert "-" + fr.split("\n")[0] in patch.splitlines()
    assert any(line.startswith("+") and "Debian GNU/Linux" in line
               for line in patch.splitlines())
    done = cli(tmp_path, "diff", str(old.package_dir), str(new.package_dir), "--text")
    assert done.returncode == 0, done.stderr
    assert "dump.jsonl#a1 (title)" in done.stdout and "+++ b/fr-fr.txt" in done.stdout
    out = json.loads(cli(tmp_path, "diff", str(old.package_dir), str(new.package_dir),
                         "--json", "--text").stdout)
    doc_id = next(i for i, d in out["details"].items() if d["name"] == "fr-fr.txt")
    assert out["details"][doc_id]["columns"][0] == "text" or "text" in \
        out["details"][doc_id]["columns"]
    assert "Debian GNU/Linux" in out["texts"][doc_id]
    only = cli(tmp_path, "diff", str(old.package_dir), str(new.package_dir), "--id",
               doc_id[:8])
    assert "fr-fr.txt" in only.stdout and "dump.jsonl" not in only.stdout


def _applied(old: str, patch: str, folder: Path) -> str:
    """``old`` with ``patch`` applied by git apply (the way a reader of --text uses it)."""
    target = folder / "doc.txt"
    target.write_bytes(old.encode())
    (folder / "p.diff").write_bytes(patch.encode())
    subprocess.run(["git", "apply", "--unsafe-paths", "--directory=", "p.diff"], cwd=folder,
                   check=True, capture_output=True)
    return target.read_bytes().decode()


@pytest.mark.parametrize(("old", "new"), [
    ("It rained in port.", "It rained in port.\nBy midday the sun was out.\n"),
    ("one\ntwo", "one\nthree"),
    ("one\ntwo\n", "one\ntwo"),
    ("", "a line without an end"),
])
def test_a_text_diff_applies_when_a_text_has_no_final_line_break(
        old: str, new: str, tmp_path: Path) -> None:
    # the removed last line ran on into the added one: "-…in port.+By midday…"
    from corpuspack.versions import text_diff

    patch = text_diff(old, new, "doc.txt")
    assert all(line.startswith((" ", "-", "+", "@", "\\")) for line in patch.splitlines())
    assert _applied(old, patch, tmp_path) == new
