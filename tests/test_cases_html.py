"""The shared cases of HTML text lost by main-content extraction (../shared/cases), built by
the real build and read back from the package; the variants of the same kinds of fault are
in tests/test_html.py. Every fallback must be on record: in the document's
``meta["extraction"]`` and the build's notes.
"""

from __future__ import annotations

from pathlib import Path

from tests.test_cases_metadata import build_docs, case

FERRY = [
    "Crews on the three northern ferry routes have voted to walk out for two days next "
    "month after talks about the winter rota broke down on Friday evening.",
    "The union said its members had been asked to work twelve-hour shifts for six weeks in "
    "a row while two of the older vessels are in dry dock for repairs.",
    "The operator said it regretted the decision and would publish a reduced timetable so "
    "that hospital patients and school pupils can still travel to the mainland.",
    "Island businesses warned that a stoppage so close to the Christmas trading period "
    "would hit shops and hotels that rely on deliveries arriving every morning.",
]
INGREDIENTS = ["500 g strong white flour", "350 ml lukewarm water", "10 g fine salt",
               "2 g dried yeast", "1 tablespoon honey"]


def test_html_main_in_aside(tmp_path: Path) -> None:
    docs, report = build_docs(case("html-main-in-aside", tmp_path), tmp_path)
    doc = docs["ferry-strike.html"]
    paragraphs = doc["text"].split("\n\n")
    start = paragraphs.index(FERRY[0])
    assert paragraphs[start:] == FERRY  # the four article paragraphs, in order, whole
    assert doc["title"] == "Ferry crews vote to strike over winter rota"
    assert doc["author"] == "Morag Lindsay" and doc["date"] == "2023-11-14"
    why = doc["meta"]["extraction"]
    assert why == "fallback: <main> subtree: main-content extraction missed the page's heading"
    assert report.notes[f"html extraction {why}"] == 1


def test_html_list_at_end(tmp_path: Path) -> None:
    docs, report = build_docs(case("html-list-at-end", tmp_path), tmp_path)
    doc = docs["overnight-loaf.html"]
    lines = [line.strip() for line in doc["text"].split("\n")]
    start = lines.index("You will need")
    assert [line.lstrip("• ") for line in lines[start + 2:]] == INGREDIENTS
    assert doc["title"] == "The overnight loaf"
    why = doc["meta"]["extraction"]
    assert why == "fallback: <main> subtree: main-content extraction dropped a list"
    assert report.notes[f"html extraction {why}"] == 1
