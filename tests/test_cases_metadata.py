"""The shared cases of metadata values read unfaithfully (../shared/cases), and variants.

Each case folder is built by the real build; the documents are read back from the package.
The variants cover the same kinds of fault where else a user meets them: YAML sidecars as
well as front matter, JSON sidecars and JSONL manifests as well as JSONL records.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from corpuspack.pipeline import NOTE_RENAMED, FileStats, Settings, process_file
from corpuspack.report import BuildReport, Skipped
from corpuspack.sources.files import SourceFile, walk_sources
from tests.conftest import REPO, build_to, read_docs

CASES = REPO.parent / "shared" / "cases"
PROSE = ("The committee met on Tuesday to discuss the new library opening hours and agreed "
         "that the reading room should stay open until nine in the evening during the winter "
         "months.")


def case(name: str, tmp_path: Path) -> Path:
    if not (CASES / name).is_dir():
        pytest.skip(f"case folder {name} not present")
    src = tmp_path / name
    shutil.copytree(CASES / name, src)
    return src


def build_docs(src: Path, tmp_path: Path) -> tuple[dict[str, dict[str, Any]], BuildReport]:
    _, report = build_to(src, tmp_path / "pkg")
    docs = {}
    for doc in read_docs(tmp_path / "pkg"):
        key = str(doc["source"]) + (f"#{doc['record']}" if doc["record"] else "")
        docs[key] = doc
    return docs, report


def write_jsonl(path: Path, *rows: str) -> None:
    """JSON lines as written (escapes and all), ``@@`` standing for PROSE."""
    path.write_text("".join(row.replace("@@", PROSE) + "\n" for row in rows),
                    encoding="utf-8")


def skips(report: BuildReport) -> dict[str, str]:
    return {s.path + (f"#{s.record}" if s.record else ""): s.reason for s in report.skipped}


def notes_of(src: Path) -> tuple[Counter[str], list[Skipped]]:
    stats, skipped = FileStats(), []
    for item in walk_sources(src):
        if isinstance(item, SourceFile):
            skipped += [x for x in process_file(item, Settings(), stats)
                        if isinstance(x, Skipped)]
    return stats.notes, skipped


# ---------------------------------------------------------------- yaml-scalar-types


def test_yaml_scalar_types_case(tmp_path: Path) -> None:
    docs, report = build_docs(case("yaml-scalar-types", tmp_path), tmp_path)
    assert report.skipped == []
    album = docs["album-notes.md"]
    assert album["title"] == "Yes"
    assert album["meta"] == {"artist": "Yes", "release": "1.10", "catalogue": "0755",
                             "explicit": "off"}
    fjord = docs["kveldstur.md"]
    assert (fjord["language"], fjord["language_score"], fjord["date"]) == ("no", None,
                                                                            "2023-10-05")
    leap = docs["leap-day-fair.md"]  # kept, the impossible date kept as written
    assert leap["date"] is None and leap["meta"] == {"date_raw": "2021-02-29"}
    assert leap["title"] == "Leap day fair on the green"


def test_yaml_scalars_in_sidecars_and_front_matter(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    scalars = (
        "on: on\noff: off\ny: y\nn: n\nyes: YES\nno: No\noctal: 0o17\nhex: 0x1F\n"
        "leading_zero: 007\nexponent: 1e3\nplus: +1\ndot: .5\nunderscore: 1_000\n"
        "sexagesimal: 12:30\nversion: 1.10\nint: 10\nnegative: -3\nfloat: 1.5\n"
        "true_: true\nTrue_: True\nfalse_: FALSE\nnull_: ~\nempty:\n"
        "big: 123456789012345678901234567890\nint64_max: 9223372036854775807\n"
        "int64_over: 9223372036854775808\nday: 2024-02-29\nno_day: 2023-02-29\n"
        "stamp: 2024-03-01 10:00:00\nquoted: '10'\nstr_tag: !!str 10\n"
        "set: !!set {b, a, c}\n")
    (src / "a.txt").write_text(PROSE, encoding="utf-8")
    (src / "a.meta.yaml").write_text(scalars, encoding="utf-8")
    (src / "b.md").write_text(f"---\n{scalars}---\n{PROSE} Front matter.", encoding="utf-8")
    docs, report = build_docs(src, tmp_path)
    assert report.skipped == []
    expected = {
        "on": "on", "off": "off", "y": "y", "n": "n", "yes": "YES", "no": "No",
        "octal": "0o17", "hex": "0x1F", "leading_zero": "007", "exponent": "1e3",
        "plus": "+1", "dot": ".5", "underscore": "1_000", "sexagesimal": "12:30",
        "version": "1.10", "int": 10, "negative": -3, "float": 1.5, "true_": True,
        "True_": True, "false_": False, "big": "123456789012345678901234567890",
        "int64_max": 9223372036854775807, "int64_over": "9223372036854775808",
        "day": "2024-02-29", "no_day": "2023-02-29", "stamp": "2024-03-01 10:00:00",
        "quoted": "10", "str_tag": "10", "set": ["a", "b", "c"]}
    for name in ("a.txt", "b.md"):
        meta = docs[name]["meta"]
        assert "null_" not in meta and "empty" not in meta  # null values add nothing
        assert meta == expected, name


@pytest.mark.parametrize("text,reason", [
    ("a: !!python/object/apply:os.system [echo hi]\n", "does not read"),
    ("a: !!binary aGVsbG8=\n", "does not read"),
    ("a: !custom x\n", "does not read"),
    ("a: !!int ten\n", "tagged 'int'"),
    ("a: &x [1, *x]\n", "recursive alias"),
    ("? [a, b]\n: c\n", "not a plain value"),
])
def test_yaml_tags_outside_json_are_refused(tmp_path: Path, text: str, reason: str) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text(PROSE, encoding="utf-8")
    (src / "a.meta.yaml").write_text(text, encoding="utf-8")
    (src / "b.txt").write_text(PROSE + " Another.", encoding="utf-8")
    docs, report = build_docs(src, tmp_path)
    assert list(docs) == ["b.txt"]
    found = skips(report)["a.txt"]
    assert found.startswith("invalid metadata file a.meta.yaml: ") and reason in found


def test_yaml_set_is_sorted_and_merge_keys_apply(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text(PROSE, encoding="utf-8")
    (src / "a.meta.yaml").write_text(
        "tags: !!set {zeta, 10, alpha, 2, true}\n"
        "base: &base {publisher: P, rights: r1}\nextra:\n  <<: *base\n  rights: r2\n",
        encoding="utf-8")
    docs, _ = build_docs(src, tmp_path)
    meta = docs["a.txt"]["meta"]
    assert meta["tags"] == [True, 2, 10, "alpha", "zeta"]
    assert meta["extra"] == {"publisher": "P", "rights": "r2"}


# ---------------------------------------------------------------- jsonl-big-integers


def test_jsonl_big_integers_case(tmp_path: Path) -> None:
    docs, report = build_docs(case("jsonl-big-integers", tmp_path), tmp_path)
    assert report.skipped == []
    assert sorted(d["record"] for d in docs.values()) == [
        "100000000000000000000001", "100000000000000000000002", "100000000000000000000003"]
    first = docs["sensor-logbook.jsonl#100000000000000000000001"]
    assert first["meta"] == {"batch": "340282366920938463463374607431768211455",
                             "source_id": "100000000000000000000001"}
    third = docs["sensor-logbook.jsonl#100000000000000000000003"]
    assert third["meta"]["batch"] == "18446744073709551616"


def test_big_integers_everywhere_are_exact(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "d").mkdir(parents=True)
    rows = [
        '{"_id": -100000000000000000000001, "text": "%s one", '
        '"n": {"deep": [18446744073709551615]}}',
        '{"doc_id": 9223372036854775807, "text": "%s two", "f": 1.5, "e": 1e300}',
        '{"id": 9223372036854775808, "text": "%s three"}',
        '{"id": 12345678901234567890123456789, "text": "%s four"}',
    ]
    (src / "d" / "x.jsonl").write_text(
        "\n".join(r.replace("%s", PROSE) for r in rows) + "\n", encoding="utf-8")
    (src / "d" / "y.txt").write_text(PROSE, encoding="utf-8")
    (src / "d" / "y.meta.json").write_text('{"serial": 340282366920938463463374607431768211456}')
    (src / "_manifest.jsonl").write_text(
        '{"path": "d/*", "batch": 100000000000000000000000000007}\n')
    docs, report = build_docs(src, tmp_path)
    assert report.skipped == []
    by_record = {d["record"]: d["meta"] for d in docs.values() if d["format"] == "jsonl"}
    batch = "100000000000000000000000000007"
    assert by_record == {
        "-100000000000000000000001": {"source_id": "-100000000000000000000001",
                                      "n": {"deep": ["18446744073709551615"]}, "batch": batch},
        "9223372036854775807": {"source_id": 9223372036854775807, "f": 1.5, "e": 1e300,
                                "batch": batch},
        "9223372036854775808": {"source_id": "9223372036854775808", "batch": batch},
        "12345678901234567890123456789": {"source_id": "12345678901234567890123456789",
                                          "batch": batch},
    }
    assert docs["d/y.txt"]["meta"] == {"serial": "340282366920938463463374607431768211456",
                                       "batch": batch}


# ---------------------------------------------------------------- jsonl-lone-surrogate


def test_jsonl_lone_surrogate_case(tmp_path: Path) -> None:
    src = case("jsonl-lone-surrogate", tmp_path)
    docs, report = build_docs(src, tmp_path)
    assert report.skipped == []
    texts = {d["record"]: d["text"] for d in docs.values()}
    assert texts == {
        "p1": "Just finished the long walk along the coast path, the cliffs were stunning "
              "this morning.",
        "p2": "Made it to the lighthouse before the rain started, best day of the holiday so "
              "far",
        "p3": "Back home now and already planning the next trip \U0001f30a to the islands in "
              "June.",
        "p4": "The café by the harbour had the best fish soup  I have ever tasted.",
    }
    notes, skipped = notes_of(src)
    assert skipped == [] and notes == {"lone surrogates removed": 2}


def test_lone_surrogates_in_metadata_are_removed_and_counted(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    lines = [  # the JSON escapes as written: raw strings
        r'{"id": "a", "text": "@@", "title": "Cut \ud83d here", "tags": ["x\udc00y"], '
        r'"k\ud800ey": 1}',
        r'{"id": "b", "text": "\udfff@@ Two.\ud800"}',  # a low one alone, a high one at the end
        r'{"id": "c", "text": "@@ \ud83d\ude00"}',  # a valid pair stays
    ]
    lines = [line.replace("@@", PROSE) for line in lines]
    (src / "f.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (src / "g.txt").write_text(PROSE + " Sidecar.", encoding="utf-8")
    (src / "g.meta.json").write_text('{"author": "Ann \\ud83d Lee", "note": "\\ude00"}')
    docs, report = build_docs(src, tmp_path)
    assert report.skipped == []
    a, b, c = (docs[f"f.jsonl#{r}"] for r in "abc")
    assert a["title"] == "Cut here" and a["meta"] == {"source_id": "a", "tags": ["xy"],
                                                      "key": 1}
    assert b["text"] == PROSE + " Two."
    assert c["text"].endswith("\U0001f600")
    assert docs["g.txt"]["author"] == "Ann Lee" and docs["g.txt"]["meta"] == {"note": ""}
    json.dumps(list(docs.values()), ensure_ascii=False).encode("utf-8")  # no surrogate left
    notes, _ = notes_of(src)
    assert notes == {"lone surrogates removed": 7}


def test_surrogate_escapes_in_yaml_are_joined_or_removed(tmp_path: Path) -> None:
    """JSON's escapes of an emoji (a surrogate pair) and of half of one, in YAML front matter
    and a YAML sidecar: libyaml refuses both; the pair is the emoji, the half is removed."""
    src = tmp_path / "src"
    src.mkdir()
    yaml_text = 'title: "Sea \\ud83c\\udf0a walk"\nnote: "Cut emoji \\ud83c"\n'
    (src / "a.md").write_text(f"---\n{yaml_text}---\n{PROSE}", encoding="utf-8")
    (src / "b.txt").write_text(PROSE + " Sidecar.", encoding="utf-8")
    (src / "b.meta.yaml").write_text(yaml_text + "'k\\ud800': plain\n", encoding="utf-8")
    docs, report = build_docs(src, tmp_path)
    assert report.skipped == []
    for name in ("a.md", "b.txt"):
        assert docs[name]["title"] == "Sea \U0001f30a walk"
        assert docs[name]["meta"]["note"] == "Cut emoji "
    # in a single-quoted scalar a backslash is only a backslash
    assert docs["b.txt"]["meta"]["k\\ud800"] == "plain"
    notes, _ = notes_of(src)
    assert notes == {"lone surrogates removed": 2}


def test_keys_that_differ_by_a_lone_surrogate_keep_both_values(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "f.jsonl").write_text(
        ('{"id": "a", "text": "@@", "x\\ud800": "first", "x": "second", "\\udc00": "cut", '
         '"": "empty", "y\\ud800": "alone"}\n').replace("@@", PROSE), encoding="utf-8")
    (src / "g.txt").write_text(PROSE + " Sidecar.", encoding="utf-8")
    (src / "g.meta.yaml").write_text('"x\\ud800": first\nx: second\n', encoding="utf-8")
    docs, report = build_docs(src, tmp_path)
    assert report.skipped == []
    assert docs["f.jsonl#a"]["meta"] == {"source_id": "a", "x\ufffd": "first", "x": "second",
                                         "\ufffd": "cut", "": "empty", "y": "alone"}
    assert docs["g.txt"]["meta"] == {"x\ufffd": "first", "x": "second"}


def test_numbers_a_float_cannot_hold_are_kept_as_written(tmp_path: Path) -> None:
    """The float kin of jsonl-big-integers: beyond the range (1e400), below it (1e-400, not
    0.0) and more digits than a float keeps are kept as text; floats that hold the value
    written stay numbers."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "f.jsonl").write_text(
        ('{"id": "a", "text": "@@", "big": 1e400, "neg": -1e400, "tiny": 1e-400, '
         '"pi": 3.14159265358979323846, "long": 12345678901234567.89, '
         '"sum": 0.30000000000000004, "e": 1e300, "z": -0.0, "x": 1E5}\n'
         ).replace("@@", PROSE), encoding="utf-8")
    (src / "g.txt").write_text(PROSE + " Sidecar.", encoding="utf-8")
    (src / "g.meta.json").write_text('{"reading": 1e400, "n": {"v": [2.5e-999]}}')
    (src / "h.txt").write_text(PROSE + " Tags.", encoding="utf-8")
    (src / "h.meta.yaml").write_text(
        "inf: !!float .inf\nneg: !!float -.Inf\nnan: !!float .nan\nbig: !!float 1e400\n"
        "hex: !!int 0x1F\noct: !!int 0o17\nhalf: !!float 0.5\n", encoding="utf-8")
    docs, report = build_docs(src, tmp_path)
    assert report.skipped == []
    assert docs["f.jsonl#a"]["meta"] == {
        "source_id": "a", "big": "1e400", "neg": "-1e400", "tiny": "1e-400",
        "pi": "3.14159265358979323846", "long": "12345678901234567.89",
        "sum": 0.30000000000000004, "e": 1e300, "z": -0.0, "x": 100000.0}
    assert docs["g.txt"]["meta"] == {"reading": "1e400", "n": {"v": ["2.5e-999"]}}
    assert docs["h.txt"]["meta"] == {"inf": ".inf", "neg": "-.Inf", "nan": ".nan",
                                     "big": "1e400", "hex": 31, "oct": 15, "half": 0.5}


def test_column_values_as_written(tmp_path: Path) -> None:
    """YAML true is "true" in a text column (not Python's "True"), a mapping is JSON, a date
    followed by anything but a time is kept whole in date_raw beside the date (it was cut to
    its date silently), and ISO 639-2 and 639-3 codes of languages with an ISO 639-1 code
    become it."""
    src = tmp_path / "src"
    src.mkdir()
    cases = {
        "a": ("title: true\nauthor: false\ndate: 2024-03-01/2024-03-05\nlanguage: eng\n",
              {"title": "true", "author": "false", "date": "2024-03-01", "language": "en"},
              {"date_raw": "2024-03-01/2024-03-05"}),
        "b": ("title: {main: Hello, sub: World}\ndate: '2024-03-0199'\nlanguage: ger\n",
              {"title": '{"main":"Hello","sub":"World"}', "date": None, "language": "de"},
              {"date_raw": "2024-03-0199"}),
        "c": ("date: 2024-03-01 or thereabouts\nlanguage: nob\n",
              {"date": "2024-03-01", "language": "nb"},
              {"date_raw": "2024-03-01 or thereabouts"}),
        "d": ("date: '2024-03-01T10:00:00.000+0100'\nlanguage: fre-CA\n",
              {"date": "2024-03-01", "language": "fr"}, {}),
        "e": ("date: '2024-03-01 10:00'\nlanguage: gsw\n",
              {"date": "2024-03-01", "language": "gsw"}, {}),
        # withdrawn ISO 639-1 codes (the lid-label-not-iso kind, declared) and no code
        "f": ("language: iw\n", {"language": "he"}, {}),
        "g": ("language: sh\n", {"language": "hbs"}, {}),
        "h": ("language: mo\n", {"language": "ro"}, {}),
        # kept aside: the identifier's guess fills the column
        "i": ("language: xx\n", {"language": "en"}, {"language_raw": "xx"}),
        # retired ISO 639-2 codes; three letters pycountry lacks stay as written (a review)
        "j": ("language: scc\ndate: '2024-03-01 (Fri)'\n",
              {"language": "sr", "date": "2024-03-01"}, {"date_raw": "2024-03-01 (Fri)"}),
        "k": ("language: ajp\ndate: '2024-03-01T10:00:00Z'\n",
              {"language": "ajp", "date": "2024-03-01"}, {}),
        # BCP 47 tags whose language is not their first subtag (they were cut to "zh")
        "l": ("language: zh-yue\n", {"language": "yue"}, {}),
        "m": ("language: zh-min-nan\n", {"language": "nan"}, {}),
        "n": ("language: i-klingon\n", {"language": "tlh"}, {}),
        "o": ("language: zh-cmn-Hans\n", {"language": "zh"}, {}),
        # a blank value declares nothing
        "p": ("language: '  '\ndate: ''\n", {"language": "en", "date": None}, {}),
    }
    for name, (yaml_text, _, _) in cases.items():
        (src / f"{name}.md").write_text(f"---\n{yaml_text}---\n{PROSE} {name}.",
                                        encoding="utf-8")
    docs, report = build_docs(src, tmp_path)
    assert report.skipped == []
    for name, (_, columns, meta) in cases.items():
        doc = docs[f"{name}.md"]
        assert {k: doc[k] for k in columns} == columns, name
        assert doc["meta"] == meta, name


def test_rules_around_a_paragraph_are_no_front_matter(tmp_path: Path) -> None:
    """A Markdown file may open with a ``---`` rule: a paragraph (or a list) between two
    rules is YAML but no mapping, so no front matter, and the file is read whole."""
    src = tmp_path / "src"
    src.mkdir()
    first = "---\nThe ferry will not run on Sunday, the council said.\n---\n\n" + PROSE
    second = "---\n- bring a coat\n- bring a flask\n---\n" + PROSE + " Two."
    (src / "a.md").write_text(first, encoding="utf-8")
    (src / "b.md").write_text(second, encoding="utf-8")
    (src / "c.md").write_text("---\ntitle: Real front matter\n---\n" + PROSE + " Three.",
                              encoding="utf-8")
    docs, report = build_docs(src, tmp_path)
    assert report.skipped == []
    assert docs["a.md"]["text"] == first and docs["a.md"]["meta"] == {}
    assert docs["b.md"]["text"] == second
    assert docs["c.md"]["title"] == "Real front matter"
    assert docs["c.md"]["text"] == PROSE + " Three."


def test_a_line_key_and_an_id_that_collide_keep_both_records(tmp_path: Path) -> None:
    """A record without an id is keyed by its line ("L2"); a record whose id is that same
    text is no fault of the source's, and both are kept (the later one was skipped)."""
    src = tmp_path / "src"
    src.mkdir()
    write_jsonl(src / "a.jsonl", '{"text": "@@ One."}', '{"id": "L1", "text": "@@ Two."}',
                '{"id": "L1~2", "text": "@@ Three."}')
    write_jsonl(src / "b.jsonl", '{"id": "L2", "text": "@@ Uno."}', '{"text": "@@ Dos."}',
                '{"id": "x", "text": "@@ Tres."}', '{"id": "x", "text": "@@ Cuatro."}')
    # ids that repeat are the source's fault, even an id that is its own line's key (a
    # review: the first version kept and numbered every copy, in quadratic time)
    write_jsonl(src / "c.jsonl", '{"id": "L1", "text": "@@ Un."}',
                '{"id": "L1", "text": "@@ Deux."}', '{"text": "@@ Trois."}',
                '{"id": "L1", "text": "@@ Quatre."}')
    docs, report = build_docs(src, tmp_path)
    assert {k: v["text"].rsplit(" ", 1)[1] for k, v in docs.items()} == {
        "a.jsonl#L1": "One.", "a.jsonl#L1~2": "Two.", "a.jsonl#L1~2~2": "Three.",
        "b.jsonl#L2": "Uno.", "b.jsonl#L2~2": "Dos.", "b.jsonl#x": "Tres.",
        "c.jsonl#L1": "Un.", "c.jsonl#L3": "Trois."}
    assert docs["a.jsonl#L1~2"]["meta"] == {"source_id": "L1"}
    assert skips(report) == {"b.jsonl#L4": "id 'x' repeats an earlier record's id",
                             "c.jsonl#L2": "id 'L1' repeats an earlier record's id",
                             "c.jsonl#L4": "id 'L1' repeats an earlier record's id"}
    assert report.notes[NOTE_RENAMED] == 3


def test_a_records_own_source_id_and_text_keys(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    write_jsonl(src / "f.jsonl", '{"id": "r1", "source_id": "crawl-2023/000123", "text": "@@"}',
                '{"id": "r2", "text": null, "content": "@@ Two."}',
                '{"id": "r3", "text": 5, "content": 6}')
    docs, report = build_docs(src, tmp_path)
    assert docs["f.jsonl#r1"]["meta"] == {"source_id": "r1",
                                          "source_id_given": "crawl-2023/000123"}
    assert docs["f.jsonl#r2"]["text"] == PROSE + " Two."
    assert skips(report) == {"f.jsonl#L3": "'text' is not a string"}


def test_a_column_named_twice_keeps_the_other_value(tmp_path: Path) -> None:
    """license and licence (or title and Title) in one layer: the column's own name fills
    the column (unless empty), the other value stays in meta as written, never lost
    silently; across layers the later one still wins."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.md").write_text(
        "---\nlicence: CC-BY-NC-4.0\nlicense: MIT\nTitle: Second\ntitle: First\nlang: de\n"
        "language: en\n---\n" + PROSE, encoding="utf-8")
    (src / "b.md").write_text("---\nlicense: MIT\nlicence: MIT\ntitle: ''\nheadline: Own\n"
                              "---\n" + PROSE + " Dots.", encoding="utf-8")
    (src / "c.md").write_text("---\ntitle: Own\n---\n" + PROSE + " Sidecar.", encoding="utf-8")
    (src / "c.md.meta.yaml").write_text("Title: Sidecar's\n", encoding="utf-8")
    docs, report = build_docs(src, tmp_path)
    assert report.skipped == []
    a = docs["a.md"]
    assert (a["license"], a["title"], a["language"]) == ("MIT", "First", "en")
    assert a["meta"] == {"licence": "CC-BY-NC-4.0", "Title": "Second", "lang": "de"}
    # equal values are one value; an empty one gives way (a review of the first version)
    assert docs["b.md"]["meta"] == {} and docs["b.md"]["text"] == PROSE + " Dots."
    assert docs["b.md"]["title"] == "Own"
    assert docs["c.md"]["title"] == "Sidecar's" and docs["c.md"]["meta"] == {}


def test_hugo_toml_front_matter(tmp_path: Path) -> None:
    """+++ front matter (Hugo) was left in the text; it is metadata, with JSON's rules for
    numbers a float or 64 bits do not hold."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.md").write_text(
        '+++\ntitle = "Ferry timetable"\ndate = 2024-03-01T10:00:00Z\ntags = ["ferry", "winter"]'
        '\nserial = 123456789012345678901234567890\nreading = 1e400\ndraft = false\n'
        'peak = inf\n[params]\nlicense = "CC-BY-4.0"\n+++\n' + PROSE, encoding="utf-8")
    (src / "b.md").write_text('+++\ntitle = "unclosed\n+++\n' + PROSE + " Two.",
                              encoding="utf-8")
    docs, report = build_docs(src, tmp_path)
    a = docs["a.md"]
    assert (a["title"], a["date"], a["text"]) == ("Ferry timetable", "2024-03-01", PROSE)
    assert a["meta"] == {"tags": ["ferry", "winter"], "serial": "123456789012345678901234567890",
                         "reading": "1e400", "draft": False, "peak": "inf",
                         "params": {"license": "CC-BY-4.0"}}
    assert skips(report)["b.md"].startswith("invalid front matter: ")


def test_a_key_written_twice_is_on_record(tmp_path: Path) -> None:
    """JSON and YAML keep the last value of a key written twice (RFC 8259 leaves it to the
    parser); the build counts it in its notes, in records, sidecars and front matter."""
    src = tmp_path / "src"
    src.mkdir()
    write_jsonl(src / "f.jsonl",
                '{"id": "a", "text": "first", "text": "@@", "n": {"k": 1, "k": 2}}',
                '{"id": "b", "text": "@@ Two.", "note": "say \\": here"}',
                '{"id" : "c", "text" : "@@ Three."}')
    (src / "g.txt").write_text(PROSE + " Sidecar.", encoding="utf-8")
    (src / "g.meta.yaml").write_text("title: One\ntitle: Two\n", encoding="utf-8")
    docs, report = build_docs(src, tmp_path)
    assert docs["f.jsonl#a"]["text"] == PROSE and docs["f.jsonl#a"]["meta"]["n"] == {"k": 2}
    assert docs["f.jsonl#b"]["meta"]["note"] == 'say ": here'
    assert docs["f.jsonl#c"]["text"] == PROSE + " Three."
    assert docs["g.txt"]["title"] == "Two"
    assert report.notes["duplicate keys: the last value kept"] == 3


def test_numbers_and_keys_a_review_found_failing(tmp_path: Path) -> None:
    """An exponent beyond Decimal's range skipped whole files ("unexpected error"); three
    keys that differ only by lone surrogates skipped the record; a 250 kB dotted TOML key
    took 44 s and ran out of memory."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "r.jsonl").write_text(
        ('{"id": "a", "text": "@@", "v": 1e-99999999999999999999999, "w": 0.5}\n'
         '{"id": "b", "text": "@@ Two.", "x\\ud800": 1, "x\\udc00": 2, "x": 3}\n'
         ).replace("@@", PROSE), encoding="utf-8")
    (src / "t.md").write_text("+++\n" + "a" + ".a" * 60_000 + " = 1\n+++\n" + PROSE,
                              encoding="utf-8")
    docs, report = build_docs(src, tmp_path)
    assert docs["r.jsonl#a"]["meta"] == {"source_id": "a", "v": "1e-99999999999999999999999",
                                         "w": 0.5}
    assert docs["r.jsonl#b"]["meta"] == {"source_id": "b", "x\ufffd": 1, "x\\udc00": 2, "x": 3}
    assert skips(report)["t.md"] == "invalid front matter: is nested more than 64 levels deep"
