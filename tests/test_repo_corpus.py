"""This repository's own corpus: current, valid, and the seed recorded with care."""

from __future__ import annotations

import json

from corpuspack.build import build
from corpuspack.config import load_config
from corpuspack.validate import validate_package

from .conftest import REPO, SEED, read_docs

SEED_TEXT = SEED.read_text(encoding="utf-8")


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
    # boilerplate removal keeps every paragraph of the article and drops the site's tail
    text = seed["text"]
    assert "The time bomb that is ticking" in text
    assert text.endswith("killing innocent people that both governments disliked.")
    for tail in ("ICFTO Newsletter", "Please consider supporting", "Maryam Rajavi"):
        assert tail not in text
    original = SEED_TEXT.split("ICFTO Newsletter")[0]
    paragraphs = [p.strip() for p in original.split("\n") if len(p.split()) > 20]
    assert all(p in text for p in paragraphs)
    desc = json.loads((REPO / "datapackage.json").read_text())
    assert desc["name"] == "corpuspack-corpus"
    assert desc["corpuspack"]["statistics"]["documents"] == len(docs)
