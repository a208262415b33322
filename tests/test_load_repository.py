"""A corpus repository loads with datasets.load_dataset(PATH): its committed shards, never its
raw sources; this repository too, from a fresh clone."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from datasets import load_dataset

from .conftest import REPO, SEED, read_docs, text_of


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import datasets.config

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    # read when datasets is imported: the setting itself is what its loads use
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "corpuspack.cli", *args], cwd=cwd,
                          capture_output=True, text=True, env={**os.environ, "CI": "1"})


def test_a_repository_made_by_init_loads_its_documents(tmp_path: Path) -> None:
    repo = tmp_path / "my-corpus"
    assert cli(tmp_path, "init", str(repo)).returncode == 0
    src = repo / "corpus" / "sources"
    shutil.copy(SEED, src / "seed.txt")
    # raw sources that datasets' text builder used to read (and die on)
    (src / "de.txt").write_bytes(text_of("de-de").encode("utf-16"))
    (src / "notes.md").write_text("---\ntitle: Notes\nrights: {holder: me}\n---\n"
                                  + text_of("fr-fr"), encoding="utf-8")
    assert cli(repo, "build", "-j", "1").returncode == 0
    assert cli(repo, "card").returncode == 0
    assert cli(repo, "card", "--check").returncode == 0
    expected = {d["id"]: d for d in read_docs(repo / "corpus")}
    for streaming in (False, True):
        ds = load_dataset(str(repo), split="train", streaming=streaming)
        rows = {row["id"]: row for row in ds}
        assert set(rows) == set(expected)
        for doc_id, doc in expected.items():
            assert rows[doc_id]["text"] == doc["text"]
            assert (rows[doc_id]["meta"] or {}) == doc["meta"]
    # a stale .huggingface.yaml is caught by card --check
    (repo / ".huggingface.yaml").write_text("configs: []\n", encoding="utf-8")
    assert cli(repo, "card", "--check").returncode == 1


def _made(folder: Path, texts: dict[str, str]) -> Path:
    repo = folder / "my-corpus"
    folder.mkdir()
    assert cli(folder, "init", str(repo)).returncode == 0
    for name, text in texts.items():
        (repo / "corpus" / "sources" / name).write_text(text, encoding="utf-8")
    _rebuilt(repo)
    return repo


def _rebuilt(repo: Path) -> None:
    for args in (("build", "-j", "1"), ("card",)):
        done = cli(repo, *args)
        assert done.returncode == 0, done.stderr


def test_a_rebuilt_repository_and_another_of_the_same_name_load_their_own_documents(
        tmp_path: Path) -> None:
    # datasets keys its cache of a local folder by the folder's name and the YAML alone:
    # a second corpus in a folder of the same name loaded as the first one's rows, and a
    # corpus rebuilt after an edit as its old rows, until the YAML named the data files
    owls = "Owls hunt at night in the quiet woods, and their calls carry over the fields."
    one = _made(tmp_path / "one", {"owls.txt": owls})
    two = _made(tmp_path / "two", {f"doc{i}.txt": f"Document {i} about rivers and the sea, "
                                   "with words enough to be a document of its own."
                                   for i in range(3)})

    def texts(repo: Path) -> list[str]:
        return sorted(load_dataset(str(repo), split="train")["text"])

    assert texts(one) == [owls]
    assert texts(two) == sorted(d["text"] for d in read_docs(two / "corpus"))
    rested = owls.replace("hunt", "rest")  # the same size: only the bytes differ
    (one / "corpus" / "sources" / "owls.txt").write_text(rested, encoding="utf-8")
    _rebuilt(one)
    assert texts(one) == [rested]


def test_this_repository_loads_from_a_fresh_clone(tmp_path: Path) -> None:
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO), str(clone)], check=True)
    ds = load_dataset(str(clone), split="train")
    assert ds.num_rows == len(read_docs(clone / "corpus"))
    assert ds.features["date"].dtype == "date32"
    assert "ICFTO Newsletter" not in ds[0]["text"]
