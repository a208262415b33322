"""'corpuspack release': one command from a committed corpus to a tagged release, and a
failure at any step leaves the repository as it was."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from corpuspack.errors import UsageError
from corpuspack.release import next_version

from .conftest import SEED, text_of

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org"]
ENV = {**os.environ, "CI": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.org",
       "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.org"}


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "corpuspack.cli", *args], cwd=cwd,
                          capture_output=True, text=True, env=ENV)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


def state(repo: Path) -> tuple[str, str, str]:
    return (git(repo, "rev-parse", "HEAD"), git(repo, "status", "--porcelain"),
            git(repo, "tag", "--list"))


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    assert cli(tmp_path, "init", str(root)).returncode == 0
    (root / "corpus.toml").write_text((root / "corpus.toml").read_text().replace(
        'version = "0.1.0"', 'version = "0.1.0"  # the corpus version'), encoding="utf-8")
    shutil.copy(SEED, root / "corpus" / "sources" / "seed.txt")
    (root / "corpus" / "sources" / "fr.txt").write_text(text_of("fr-fr"), encoding="utf-8")
    git(root, "init", "-q")
    assert cli(root, "build", "-j", "1").returncode == 0
    assert cli(root, "card").returncode == 0
    git(root, "add", "-A")
    git(root, "commit", "-qm", "corpus")
    return root


def test_next_version() -> None:
    assert [next_version("1.4.2", b) for b in ("major", "minor", "patch")] == [
        "2.0.0", "1.5.0", "1.4.3"]
    assert next_version("1.4.2", "1.10.0") == "1.10.0"
    for bad in ("1.4.2", "1.4.1", "one", "1.4"):
        with pytest.raises(UsageError):
            next_version("1.4.2", bad)


def test_release_then_nothing_to_release(repo: Path) -> None:
    done = cli(repo, "release", "minor", "-j", "1")
    assert done.returncode == 0, done.stderr
    assert "released v0.2.0" in done.stdout
    config = (repo / "corpus.toml").read_text()
    assert 'version = "0.2.0"  # the corpus version' in config  # comments kept
    assert tomllib.loads(config)["version"] == "0.2.0"
    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "cat-file", "-t", "v0.2.0").strip() == "tag"  # annotated
    assert git(repo, "log", "-1", "--format=%s").strip() == "Release v0.2.0"
    assert "## 0.2.0" in (repo / "corpus" / "CHANGELOG.md").read_text()
    assert '"version": "0.2.0"' in (repo / "datapackage.json").read_text()
    assert (repo / "release" / "SHA256SUMS").is_file()
    assert cli(repo, "validate", "--base", "auto").returncode == 0
    before = state(repo)
    done = cli(repo, "release", "patch", "-j", "1")
    assert done.returncode == 2 and "nothing changed since v0.2.0" in done.stderr
    assert state(repo) == before
    # a change makes the next release
    (repo / "corpus" / "sources" / "de.txt").write_text(text_of("de-de"), encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "more")
    dry = cli(repo, "release", "patch", "--dry-run", "-j", "1")
    assert dry.returncode == 0 and "would release v0.2.1" in dry.stdout and "1 added" in dry.stdout
    assert git(repo, "status", "--porcelain") == "" and "v0.2.1" not in git(repo, "tag")
    done = cli(repo, "release", "patch", "-j", "1")
    assert done.returncode == 0, done.stderr
    assert "1 added" in done.stdout and "v0.2.1" in git(repo, "tag", "--list")


def test_a_dirty_tree_is_refused(repo: Path) -> None:
    (repo / "notes.txt").write_text("mine", encoding="utf-8")
    before = state(repo)
    done = cli(repo, "release", "minor", "-j", "1")
    assert done.returncode == 2 and "not clean" in done.stderr
    assert state(repo) == before


def test_a_failed_step_leaves_the_repository_as_it_was(repo: Path, tmp_path: Path) -> None:
    # the card cannot be written (a link where it should be): the release stops there
    (repo / "DATA_CARD.md").unlink()
    os.symlink(tmp_path / "elsewhere.md", repo / "DATA_CARD.md")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "card as a link")
    before = state(repo)
    files = {p.relative_to(repo).as_posix(): p.read_bytes() for p in repo.rglob("*")
             if p.is_file() and ".git" not in p.parts and "release" not in p.parts
             and ".corpuspack-cache" not in p.parts}
    done = cli(repo, "release", "minor", "-j", "1")
    assert done.returncode != 0 and "symbolic link" in done.stderr
    assert "Traceback" not in done.stderr
    assert state(repo) == before
    after = {p.relative_to(repo).as_posix(): p.read_bytes() for p in repo.rglob("*")
             if p.is_file() and ".git" not in p.parts and "release" not in p.parts
             and ".corpuspack-cache" not in p.parts}
    assert after == files
    assert not (tmp_path / "elsewhere.md").exists()


def test_a_failed_release_keeps_what_the_user_does_meanwhile(repo: Path) -> None:
    # nothing changed since the last release: the release refuses after rebuilding; what the
    # user edits or creates elsewhere while it runs stays
    assert cli(repo, "release", "minor", "-j", "1").returncode == 0
    (repo / "notes.md").write_text("my notes\n", encoding="utf-8")
    git(repo, "add", "notes.md")
    git(repo, "commit", "-qm", "notes")
    before = state(repo)
    proc = subprocess.Popen([sys.executable, "-m", "corpuspack.cli", "release", "patch", "-j",
                             "1"], cwd=repo, env=ENV, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    import time

    deadline = time.monotonic() + 120  # wait until the checks passed and the bump is written
    while '"0.2.1"' not in (repo / "corpus.toml").read_text() and time.monotonic() < deadline:
        time.sleep(0.01)
    (repo / "notes.md").write_text("my notes\nwritten while the release ran\n",
                                   encoding="utf-8")
    (repo / "MY_NOTES.md").write_text("precious", encoding="utf-8")
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 2 and "nothing changed" in stderr
    assert (repo / "notes.md").read_text(encoding="utf-8").endswith("while the release ran\n")
    assert (repo / "MY_NOTES.md").read_text(encoding="utf-8") == "precious"
    assert git(repo, "rev-parse", "HEAD") == before[0]
    assert git(repo, "tag", "--list") == before[2]
    assert git(repo, "status", "--porcelain").split() == ["M", "notes.md", "??", "MY_NOTES.md"]
