"""This repository's own corpus: current, valid, and the seed recorded with care."""

from __future__ import annotations

import json

from corpuspack.build import build
from corpuspack.config import load_config
from corpuspack.validate import validate_package

from .conftest import REPO, read_docs


def test_repository_corpus_is_valid() -> None:
    report = validate_package(REPO)
    assert report.valid, report.problems


def test_repository_corpus_is_current() -> None:
    report = build(load_config(cwd=REPO), workers=1, check=True)
    assert report.check_differences == []


def test_seed_document() -> None:
    config = load_config(cwd=REPO)
    docs = {d["source"]: d for d in read_docs(config.data_dir.parent)}
    seed = docs["news/000_887f07991e0bd88a.txt"]
    assert seed["title"] == "Iraq’s Looming Massacre of Iranian MEK Refugees"
    assert (seed["author"], seed["publisher"], seed["date"]) == (
        "Geoffrey Robertson", "The Daily Beast", "2011-12-09")
    assert seed["license"] == "NOASSERTION" and "not cleared" in seed["meta"]["rights"]
    desc = json.loads((REPO / "datapackage.json").read_text())
    assert desc["name"] == "corpuspack-corpus"
    assert desc["corpuspack"]["statistics"]["documents"] == len(docs)
