"""A cloned corpus repository is untrusted input: reading sources and metadata stays inside
the source folder, bounded in memory and time, and one bad file never stops a build.

Real symbolic links, FIFOs, /dev/zero, alias bombs, deep trees and huge manifests. Builds
that could hang (FIFOs) or blow up (alias bombs) run in a child process with a deadline,
which also reports its peak memory. Each test asserts what was kept and what was not read.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from corpuspack.document import document_id
from corpuspack.report import Skipped
from corpuspack.sources.files import SourceFile, walk_sources
from corpuspack.sources.metadata_files import Glob, State, load_manifest
from corpuspack.sources.safeparse import (
    INT64_MAX,
    INT64_MIN,
    MetadataError,
    load_json,
    load_yaml,
    plain_scalar,
)
from tests.conftest import REPO, build_to, read_docs

PROSE = ("The committee met on Tuesday to discuss the new library opening hours and agreed "
         "that the reading room should stay open until nine in the evening during the winter "
         "months.")
BOMB = (  # "billion laughs": 342 bytes, 9**9 strings once expanded
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
    "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n")
CHILD = """
import json, resource, sys
from pathlib import Path
from corpuspack.build import build
from corpuspack.config import zero_config
report = build(zero_config(Path(sys.argv[1]), Path(sys.argv[2])), workers=1)
rss = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
          resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps({"rss_kb": rss,
                  "skipped": [[s.path, s.record, s.reason] for s in report.skipped]}))
"""


def prose(tag: str) -> str:
    return f"{PROSE} {tag}."


def build_in_child(src: Path, out: Path, timeout: float = 120) -> tuple[
        dict[str, str], dict[str, dict[str, Any]], int]:
    """Build in a child process with a deadline: (reasons by path, docs by source, peak RSS
    in kB). A hang fails the test (TimeoutExpired) instead of hanging the suite."""
    done = subprocess.run([sys.executable, "-c", CHILD, str(src), str(out)], cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    reasons = {p + (f"#{r}" if r else ""): reason for p, r, reason in result["skipped"]}
    return reasons, {str(d["source"]): d for d in read_docs(out)}, result["rss_kb"]


def build_here(src: Path, out: Path) -> tuple[dict[str, str], dict[str, dict[str, Any]]]:
    _, report = build_to(src, out)
    reasons = {s.path + (f"#{s.record}" if s.record else ""): s.reason for s in report.skipped}
    return reasons, {str(d["source"]): d for d in read_docs(out)}


def package_bytes(out: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file())


def tree(tmp_path: Path, files: dict[str, str]) -> Path:
    src = tmp_path / "src"
    for rel, text in files.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text, encoding="utf-8")
    return src


# ---------------------------------------------------------------- links, FIFOs, devices


def test_sidecar_linked_outside_is_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "private.yaml"
    secret.write_text("license: MIT\nsecret_key: s3cr3t-value\n", encoding="utf-8")
    src = tree(tmp_path, {"a.txt": prose("a"), "b.txt": prose("b")})
    os.symlink(secret, src / "a.meta.yaml")
    reasons, docs = build_here(src, tmp_path / "out")
    assert list(docs) == ["b.txt"]
    assert "a.meta.yaml" in reasons["a.txt"] and "outside" in reasons["a.txt"]
    assert reasons["a.meta.yaml"] == "symbolic link leads outside the source folder"
    assert b"s3cr3t-value" not in package_bytes(tmp_path / "out")
    assert docs["b.txt"]["license"] is None


def test_links_to_dev_zero_are_skipped(tmp_path: Path) -> None:
    src = tree(tmp_path, {"a.txt": prose("a"), "b.txt": prose("b")})
    os.symlink("/dev/zero", src / "a.meta.json")
    os.symlink("/dev/zero", src / "zero.txt")
    os.symlink("zero.txt", src / "chain.txt")  # a link inside, to a link outside
    reasons, docs, rss_kb = build_in_child(src, tmp_path / "out", timeout=60)
    assert list(docs) == ["b.txt"]
    assert "a.meta.json" in reasons["a.txt"]
    assert reasons["zero.txt"] == reasons["chain.txt"] == (
        "symbolic link leads outside the source folder")
    assert rss_kb < 1_000_000


def test_fifo_sidecar_and_manifest_do_not_hang(tmp_path: Path) -> None:
    src = tree(tmp_path, {"a.txt": prose("a"), "b.txt": prose("b"), "sub/c.txt": prose("c"),
                          "other/d.txt": prose("d")})
    os.mkfifo(src / "a.meta.yaml")
    os.mkfifo(src / "sub" / "_manifest.csv")
    os.mkfifo(src / "e.txt")
    reasons, docs, _ = build_in_child(src, tmp_path / "out", timeout=60)
    assert sorted(docs) == ["b.txt", "other/d.txt"]
    assert "a.meta.yaml" in reasons["a.txt"] and "not a regular file" in reasons["a.txt"]
    assert "not a regular file" in reasons["sub/_manifest.csv"]
    assert "sub/_manifest.csv" in reasons["sub/c.txt"]
    assert reasons["e.txt"] == "not a regular file"


SWAP = """
import json, os, sys
from pathlib import Path
from corpuspack.pipeline import FileStats, Settings, process_file
from corpuspack.sources.files import walk_sources
src = Path(sys.argv[1])
files = {f.rel: f for f in walk_sources(src) if hasattr(f, "rel")}
os.unlink(src / "a.txt"); os.mkfifo(src / "a.txt")
os.unlink(src / "b.txt"); os.symlink(sys.argv[2], src / "b.txt")
os.unlink(src / "c.meta.yaml"); os.mkfifo(src / "c.meta.yaml")
out = {}
for rel in ("a.txt", "b.txt", "c.txt"):
    out[rel] = [getattr(x, "reason", "document") for x in
                process_file(files[rel], Settings(), FileStats())]
print(json.dumps(out))
"""


def test_files_swapped_after_the_walk_are_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("never to be read " * 20, encoding="utf-8")
    src = tree(tmp_path, {"a.txt": prose("a"), "b.txt": prose("b"), "c.txt": prose("c"),
                          "c.meta.yaml": "title: C\n"})
    done = subprocess.run([sys.executable, "-c", SWAP, str(src), str(outside)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["a.txt"] == ["file is not a regular file (a FIFO, device, socket or folder)"]
    (reason,) = result["b.txt"]
    assert "outside" in reason
    (reason,) = result["c.txt"]
    assert "c.meta.yaml" in reason and "not a regular file" in reason


# ---------------------------------------------------------------- expansion and nesting


def test_alias_bomb_costs_nothing(tmp_path: Path) -> None:
    assert len(BOMB.encode()) == 342
    files = {"a.txt": prose("a"), "b.md": f"---\n{BOMB}---\n{prose('b')}", "c.txt": prose("c")}
    base = tree(tmp_path / "base", {"a.txt": prose("a"), "b.md": prose("b"),
                                    "c.txt": prose("c")})
    _, _, base_rss = build_in_child(base, tmp_path / "base-out")
    src = tree(tmp_path, files)
    (src / "a.meta.yaml").write_text(BOMB, encoding="utf-8")
    reasons, docs, rss = build_in_child(src, tmp_path / "out")
    assert list(docs) == ["c.txt"]
    assert reasons["a.txt"] == ("invalid metadata file a.meta.yaml: holds more than 100,000 "
                                "values (YAML aliases counted each time they are used)")
    assert reasons["b.md"].startswith("invalid front matter: holds more than 100,000 values")
    assert rss - base_rss < 30_000, (rss, base_rss)  # kB: expanded, it would be gigabytes


def test_deep_metadata_is_refused(tmp_path: Path) -> None:
    src = tree(tmp_path, {
        "ok.txt": prose("ok"), "ok.meta.yaml": "a: " + "[" * 63 + "]" * 63 + "\n",
        "y.txt": prose("y"), "y.meta.yaml": "a: " + "[" * 100 + "]" * 100 + "\n",
        "j.txt": prose("j"), "j.meta.json": "{\"a\": " + "[" * 300 + "]" * 300 + "}",
        "aliased.txt": prose("aliased"),
        "aliased.meta.yaml": "".join(f"l{i}: &l{i} [*l{i - 1}]\n" if i else "l0: &l0 [x]\n"
                                     for i in range(80)),
        "r.jsonl": json.dumps({"id": "deep", "text": prose("r"), "m": [[[[1]]]]}) + "\n"
                   + '{"id": "deeper", "text": "x", "m": ' + "[" * 300 + "]" * 300 + "}\n"
                   + '{"id": "deepest", "text": "x", "m": ' + "[" * 5000 + "]" * 5000 + "}\n",
    })
    reasons, docs = build_here(src, tmp_path / "out")
    assert sorted(docs) == ["ok.txt", "r.jsonl"]
    assert docs["r.jsonl"]["record"] == "deep" and docs["r.jsonl"]["meta"]["m"] == [[[[1]]]]
    for rel in ("y.txt", "j.txt", "aliased.txt"):
        assert "nested more than 64 levels deep" in reasons[rel], rel
    # 5,000 levels: orjson refuses them, and the exact parser's recursion limit says why
    for record in ("r.jsonl#L2", "r.jsonl#L3"):
        assert "nested more than 64 levels deep" in reasons[record], record


def test_a_thousand_nested_folders(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    chain = [str(src)]
    for _ in range(1200):  # os.makedirs, Path.mkdir(parents=True) and shutil.rmtree recurse
        chain.append(chain[-1] + "/d")
        os.mkdir(chain[-1])
    try:
        Path(chain[-1], "bottom.txt").write_text(prose("bottom"), encoding="utf-8")
        (src / "top.txt").write_text(prose("top"), encoding="utf-8")
        (src / "d" / "z.txt").write_text(prose("z"), encoding="utf-8")
        rels = [item.rel for item in walk_sources(src) if isinstance(item, SourceFile)]
        assert rels == ["d/" * 1200 + "bottom.txt", "d/z.txt", "top.txt"]
        _, docs = build_here(src, tmp_path / "out")
        assert docs["d/" * 1200 + "bottom.txt"]["text"] == prose("bottom")
    finally:
        os.unlink(Path(chain[-1], "bottom.txt"))
        for folder in reversed(chain[2:]):
            os.rmdir(folder)


def test_walk_order_is_code_point_order_at_every_level(tmp_path: Path) -> None:
    names = ["b.txt", "a/z.txt", "a/B.txt", "a-b.txt", "a0/x.txt", "é/x.txt", "Z.txt",
             "a/b/c.txt", "a/b.txt", "ä.txt"]
    src = tree(tmp_path, {n: prose(n) for n in names})
    rels = [item.rel for item in walk_sources(src) if isinstance(item, SourceFile)]
    assert rels == sorted(names, key=lambda n: n.split("/"))


# ---------------------------------------------------------------- manifests


def test_manifest_of_many_wildcard_rows_is_refused(tmp_path: Path) -> None:
    src = tree(tmp_path, {"news/a.txt": prose("a"), "news/deeper/b.txt": prose("b"),
                          "other/c.txt": prose("c")})
    rows = "".join(f"x{i}*.txt,MIT\n" for i in range(50_000))
    (src / "news" / "_manifest.csv").write_text("path,license\n" + rows, encoding="utf-8")
    reasons, docs = build_here(src, tmp_path / "out")
    assert list(docs) == ["other/c.txt"]
    assert "more than 1,000 rows with wildcards" in reasons["news/_manifest.csv"]
    for rel in ("news/a.txt", "news/deeper/b.txt"):
        assert reasons[rel].startswith("not read: the manifest news/_manifest.csv"), rel


def test_manifest_of_many_exact_rows_is_looked_up_directly(tmp_path: Path) -> None:
    src = tree(tmp_path, {f"f{i}.txt": prose(f"f{i}") for i in (0, 50_000, 99_999)})
    rows = [{"path": f"f{i}.txt", "title": f"T{i}"} for i in range(100_000)]
    rows += [{"path": "f5*.txt", "publisher": "P"}, {"path": "*.txt", "collection": "all"},
             {"path": "f0.txt", "title": "Last row wins"}]
    (src / "_manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    manifest = load_manifest(src / "_manifest.jsonl", "", src)
    assert manifest.rows == 100_003
    # work per lookup: a probe of the folder and one of the name, plus the wildcard rows
    assert [row.number for row in manifest.wildcards] == [100_001, 100_002]
    assert manifest.exact_in("")["f50000.txt"] == ((50_001, {"title": "T50000"}),)
    assert manifest.exact_in("sub/") == {}
    reasons, docs = build_here(src, tmp_path / "out")
    # the rows naming files that are not there are on record, one by one
    assert len(reasons) == 99_997
    assert reasons["_manifest.jsonl#row 2"] == ("manifest row matches no source file: "
                                                "path 'f1.txt'")
    assert "_manifest.jsonl#row 1" not in reasons and "_manifest.jsonl#row 50001" not in reasons
    assert (docs["f50000.txt"]["title"], docs["f50000.txt"]["publisher"]) == ("T50000", "P")
    assert docs["f99999.txt"]["title"] == "T99999" and docs["f99999.txt"]["publisher"] is None
    assert docs["f0.txt"]["title"] == "Last row wins"
    assert docs["f0.txt"]["meta"] == {"collection": "all"}


def test_manifest_caps_are_parameters_of_the_walk(tmp_path: Path) -> None:
    src = tree(tmp_path, {"a.txt": prose("a")})
    (src / "_manifest.csv").write_text("path,k\n" + "".join(f"a*,v{i}\n" for i in range(11)))
    items = list(walk_sources(src, max_manifest_patterns=10))
    assert [type(i) for i in items] == [Skipped, Skipped]
    assert "more than 10 rows with wildcards" in items[0].reason  # type: ignore[union-attr]
    items = list(walk_sources(src, max_manifest_bytes=20))
    assert "manifest size exceeds the limit of 20 bytes" in items[0].reason  # type: ignore
    (file,) = walk_sources(src)
    assert isinstance(file, SourceFile) and file.manifest == {"k": "v10"}


def test_invalid_manifest_skips_the_files_it_covers(tmp_path: Path) -> None:
    outside = tmp_path / "manifest.csv"
    outside.write_text("path,license\n*,MIT\n", encoding="utf-8")
    src = tree(tmp_path, {"bad/_manifest.jsonl": '{"path": "*", "license": "MIT"}\n{oops\n',
                          "bad/a.txt": prose("a"), "bad/sub/b.txt": prose("b"),
                          "linked/c.txt": prose("c"), "good/d.txt": prose("d"),
                          "good/_manifest.csv": "path,license\nd.txt,CC0-1.0\n"})
    os.symlink(outside, src / "linked" / "_manifest.csv")
    reasons, docs = build_here(src, tmp_path / "out")
    assert list(docs) == ["good/d.txt"] and docs["good/d.txt"]["license"] == "CC0-1.0"
    assert reasons["bad/_manifest.jsonl"].startswith("invalid manifest: line 2")
    assert reasons["bad/sub/b.txt"].startswith("not read: the manifest bad/_manifest.jsonl")
    assert "outside" in reasons["linked/_manifest.csv"]
    assert "linked/_manifest.csv" in reasons["linked/c.txt"]


def test_metadata_larger_than_max_meta_kb(tmp_path: Path) -> None:
    big, half = "x" * 70_000, "y" * 40_000
    src = tree(tmp_path, {
        "m/a.txt": prose("a"), "m/_manifest.csv": f"path,note\n*,{big}\n",
        "s.txt": prose("s"), "s.meta.json": json.dumps({"note": big}),
        "f.md": f"---\nnote: {big}\n---\n{prose('f')}",
        "both/b.txt": prose("b"), "both/_manifest.csv": f"path,one\nb.txt,{half}\n",
        "both/b.meta.yaml": f"two: {half}\n",
        "r.jsonl": json.dumps({"id": "r", "text": prose("r"), "note": big}) + "\n",
        "ok.txt": prose("ok"), "ok.meta.yaml": f"two: {half}\n",
    })
    reasons, docs = build_here(src, tmp_path / "out")
    assert list(docs) == ["ok.txt"] and docs["ok.txt"]["meta"] == {"two": half}
    assert "row 1 is 70,011 bytes as JSON, over the limit of 65,536 bytes" in \
        reasons["m/_manifest.csv"]
    assert "m/_manifest.csv" in reasons["m/a.txt"]
    for rel in ("s.txt", "f.md"):
        assert "over the limit of 65,536 bytes (max_meta_kb)" in reasons[rel], rel
    for rel in ("both/b.txt", "r.jsonl#r"):
        assert reasons[rel].startswith("the metadata of the document is "), rel


def test_front_matter_size_is_checked_before_parsing(tmp_path: Path) -> None:
    junk = "[" * 300_000  # would be a parse error (or an expensive parse) if parsed
    src = tree(tmp_path, {"a.md": f"---\nk: {junk}\n---\n{prose('a')}", "b.txt": prose("b")})
    reasons, docs = build_here(src, tmp_path / "out")
    assert list(docs) == ["b.txt"]
    assert reasons["a.md"] == ("front matter is 300,005 bytes, over the limit of 262,144 "
                               "bytes (max_metadata_kb)")


# ---------------------------------------------------------------- names and ids


def test_nfc_twins_are_read_once(tmp_path: Path) -> None:
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    src = tree(tmp_path, {f"{composed}.txt": prose("composed"),
                          f"{decomposed}.txt": prose("decomposed"),
                          f"{composed}/x.txt": prose("composed folder"),
                          f"{decomposed}/x.txt": prose("decomposed folder"),
                          "plain.txt": prose("plain")})
    reasons, docs = build_here(src, tmp_path / "out")
    # the first by code point ("e" + U+0301 sorts before U+00E9) keeps the NFC name and id
    assert sorted(docs) == [f"{composed}.txt", f"{composed}/x.txt", "plain.txt"]
    assert docs[f"{composed}.txt"]["text"] == prose("decomposed")
    assert docs[f"{composed}/x.txt"]["text"] == prose("decomposed folder")
    assert docs[f"{composed}.txt"]["id"] == document_id(f"{composed}.txt")
    assert reasons == {
        f"{composed}.txt": f"same name as {decomposed + '.txt'!a} once Unicode-normalised "
                           "(NFC), as paths and ids are: only the first by code point is read",
        composed: f"same name as {decomposed!a} once Unicode-normalised (NFC), as paths and "
                  "ids are: only the first by code point is read"}
    assert b"composed folder" not in package_bytes(tmp_path / "out").replace(
        b"decomposed folder", b"")


def test_hash_in_names_does_not_collide_with_records(tmp_path: Path) -> None:
    src = tree(tmp_path, {
        "a.jsonl": json.dumps({"id": "x.txt", "text": prose("record")}) + "\n",
        "a.jsonl#x.txt": prose("file"),  # a text file: its id was record x.txt's
        "b.jsonl#x.txt": prose("file b"),
        "b.jsonl": json.dumps({"id": "x.txt", "text": prose("record b")}) + "\n",
        "c#d.txt": prose("hash"), "c%23d.txt": prose("percent"),
    })
    reasons, _ = build_here(src, tmp_path / "out")
    docs = read_docs(tmp_path / "out")
    assert reasons == {}
    ids = {(d["source"], d["record"]): d["id"] for d in docs}
    assert len(ids) == len(set(ids.values())) == 6
    assert ids[("c%23d.txt", None)] != ids[("c#d.txt", None)]
    assert ids[("b.jsonl", "x.txt")] != ids[("b.jsonl#x.txt", None)]


def _old_id(source: str, record: str | None) -> str:
    key = source if record is None else f"{source}#{record}"
    return hashlib.blake2b(key.encode("utf-8"), digest_size=8).hexdigest()


_PATHS = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1)


@given(_PATHS.filter(lambda s: "#" not in s and "%" not in s),
       st.none() | st.text(alphabet=st.characters(blacklist_categories=("Cs",))))
def test_ids_of_paths_without_hash_or_percent_are_unchanged(source: str,
                                                            record: str | None) -> None:
    assert document_id(source, record) == _old_id(source, record)


@given(st.tuples(st.text("ab#%23", min_size=1), st.none() | st.text("ab#%23")),
       st.tuples(st.text("ab#%23", min_size=1), st.none() | st.text("ab#%23")))
def test_ids_are_distinct_for_distinct_paths_and_records(one: tuple[str, str | None],
                                                         two: tuple[str, str | None]) -> None:
    assume(one != two)
    assert document_id(*one) != document_id(*two)


# ---------------------------------------------------------------- YAML and JSON rules

_CORE_BOOLS = {"true", "True", "TRUE", "false", "False", "FALSE"}
_CORE_NULLS = {"~", "null", "Null", "NULL"}
_SCALAR_TEXT = st.one_of(
    st.text("0123456789.-+eE_xo:", min_size=1, max_size=25),
    st.sampled_from(sorted(_CORE_BOOLS | _CORE_NULLS | {"yes", "No", "ON", "off", "y", "n",
                                                         ".inf", ".NaN", "0755", "1.10"})),
    st.dates().map(str),
    st.integers().map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", fullmatch=True),
)


@settings(max_examples=500)
@given(_SCALAR_TEXT)
def test_plain_yaml_scalars_keep_what_was_written(text: str) -> None:
    try:
        value, _ = load_yaml(f"k: {text}\n")
    except Exception:  # noqa: BLE001 - not a plain scalar (e.g. "-" alone): not this rule's
        assume(False)
        return
    found = value["k"] if isinstance(value, dict) else None
    assume(isinstance(value, dict) and list(value) == ["k"])
    assert found == plain_scalar(text)
    if isinstance(found, str):
        assert found == text
    elif found is None:
        assert text in _CORE_NULLS
    elif isinstance(found, bool):
        assert text in _CORE_BOOLS
    elif isinstance(found, int):
        assert str(found) == text and INT64_MIN <= found <= INT64_MAX
    elif isinstance(found, float):
        assert repr(found) == text
    else:
        assert isinstance(found, dt.date) and found.isoformat() == text
    if text.lstrip("-").isdigit() and str(int(text)) == text:
        assert found == (int(text) if INT64_MIN <= int(text) <= INT64_MAX else text)


@given(st.text())
def test_plain_scalar_never_raises(text: str) -> None:
    assume(text)
    plain_scalar(text)


@given(st.integers(min_value=-(10 ** 40), max_value=10 ** 40))
def test_json_integers_are_exact(number: int) -> None:
    value, removed = load_json(f'{{"n": {number}, "l": [{number}]}}'.encode())
    expected = number if INT64_MIN <= number <= INT64_MAX else str(number)
    assert value == {"n": expected, "l": [expected]} and not removed


def test_json_bounds() -> None:
    assert load_json(b"[" * 64 + b"]" * 64)[0] is not None
    with pytest.raises(MetadataError, match="64 levels"):
        load_json(b"[" * 65 + b"]" * 65)
    with pytest.raises(MetadataError, match="100,000 values"):
        load_json(json.dumps(list(range(100_001))).encode())
    with pytest.raises(ValueError):
        load_json(b'{"a": NaN}')


def test_manifest_rows_adding_up_past_max_meta_kb_skip_the_file_in_the_walk(
        tmp_path: Path) -> None:
    half = "z" * 40_000
    src = tree(tmp_path, {"_manifest.csv": f"path,one\n*,{half}\n",
                          "sub/_manifest.csv": f"path,two\na.txt,{half}\n",
                          "sub/a.txt": prose("a"), "sub/b.txt": prose("b")})
    items = {i.rel if isinstance(i, SourceFile) else i.path: i for i in walk_sources(src)}
    skipped = items["sub/a.txt"]
    assert isinstance(skipped, Skipped) and skipped.reason == (
        "the metadata its manifests give is 80,019 bytes as JSON, over the limit of 65,536 "
        "bytes (max_meta_kb)")
    kept = items["sub/b.txt"]
    assert isinstance(kept, SourceFile) and kept.manifest == {"one": half}


# ---------------------------------------------------------------- metadata never lost silently


def report_json(out: Path) -> dict[str, Any]:
    (path,) = out.rglob("build-report.json")
    value: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return value


def test_nfd_manifest_paths_and_sidecar_names_are_matched(tmp_path: Path) -> None:
    nfc, nfd = "caf\u00e9", "cafe\u0301"
    src = tree(tmp_path, {
        f"{nfc}.txt": prose("exact"), f"{nfc}.md": prose("wild"),
        f"{nfd}-2.txt": prose("file named in NFD"), f"{nfc}-2.txt.meta.yaml": "author: Ann\n",
        f"{nfd}-3.txt.meta.yaml": "author: Bob\n", f"{nfc}-3.txt": prose("sidecar in NFD"),
        f"sub/{nfd}/x.txt": prose("folder named in NFD"),
        "_manifest.jsonl": "".join(json.dumps(r) + "\n" for r in (
            {"path": f"{nfd}.txt", "title": "Exact row in NFD"},
            {"path": f"{nfd}*.md", "publisher": "Wildcard row in NFD"},
            {"path": f"sub/{nfc}/*", "license": "MIT"},
            {"path": f"sub/{nfd}/x.txt", "title": "Folder in NFD"}))})
    reasons, docs = build_here(src, tmp_path / "out")
    assert reasons == {}
    assert docs[f"{nfc}.txt"]["title"] == "Exact row in NFD"
    assert docs[f"{nfc}.md"]["publisher"] == "Wildcard row in NFD"
    assert docs[f"{nfc}-2.txt"]["author"] == "Ann"
    assert docs[f"{nfc}-3.txt"]["author"] == "Bob"
    assert (docs[f"sub/{nfc}/x.txt"]["title"], docs[f"sub/{nfc}/x.txt"]["license"]) == (
        "Folder in NFD", "MIT")


def test_sidecar_suffix_is_matched_in_any_case(tmp_path: Path) -> None:
    src = tree(tmp_path, {"a.txt": prose("a"), "a.txt.META.yaml": "title: Upper\n",
                          "b.txt": prose("b"), "b.Meta.Json": '{"title": "Mixed"}',
                          "c.txt": prose("c"), "c.txt.META.yaml": "title: Second\n",
                          "c.txt.meta.yaml": "title: Third\n",
                          "d.TXT.meta.yaml": "title: Not the suffix\n", "d.txt": prose("d")})
    reasons, docs = build_here(src, tmp_path / "out")
    assert docs["a.txt"]["title"] == "Upper" and docs["b.txt"]["title"] == "Mixed"
    # two names of one sidecar: the first by code point ('M' < 'm') is read, the other is
    # on record; a name's own case is the file's, so d.TXT's sidecar is no sidecar of d.txt
    assert docs["c.txt"]["title"] == "Second"
    assert reasons["c.txt.meta.yaml"].startswith("same name as 'c.txt.META.yaml' once ")
    assert docs["d.txt"]["title"] is None
    assert reasons["d.TXT.meta.yaml"] == "metadata file matches no source file"
    assert len(reasons) == 2


def test_unused_sidecars_and_manifest_rows_are_on_record(tmp_path: Path) -> None:
    src = tree(tmp_path, {
        "a.txt": prose("a"), "a.txt.meta.yaml": "title: Full name\n",
        "a.meta.yaml": "title: Short name\n",  # a.txt takes a.txt.meta.yaml
        "ghost.txt.meta.yaml": "title: No such file\n",
        "news/b.txt": prose("b"), "news/photo.jpg.meta.json": '{"title": "Not a source"}',
        "news/photo.jpg": "not read",
        "_manifest.csv": ("path,license\nnews/b.txt,MIT\nnews/gone.txt,MIT\n"
                          "*.html,MIT\nnews/*,CC0-1.0\nx.txt,\n")})
    out = tmp_path / "out"
    reasons, docs = build_here(src, out)
    assert docs["a.txt"]["title"] == "Full name" and docs["news/b.txt"]["license"] == "CC0-1.0"
    assert reasons == {
        "_manifest.csv#row 2": "manifest row matches no source file: path 'news/gone.txt'",
        "_manifest.csv#row 3": "manifest row matches no source file: path '*.html'",
        "a.meta.yaml": "metadata file not used: 'a.txt' takes its metadata from "
                       "'a.txt.meta.yaml'",
        "ghost.txt.meta.yaml": "metadata file matches no source file",
        "news/photo.jpg": "unsupported file type: .jpg"}  # its sidecar goes with it
    report = report_json(out)
    listed = {(s["path"], s.get("record")) for s in report["skipped"]}
    assert {("_manifest.csv", "row 2"), ("_manifest.csv", "row 3"), ("a.meta.yaml", None),
            ("ghost.txt.meta.yaml", None)} <= listed
    assert report["notes"]["manifest row matches no source file"] == 2
    assert report["notes"]["sidecar matches no source file"] == 1
    assert report["notes"]["sidecar not used: a more specific one wins"] == 1
    assert report["files_seen"] == 5  # a.txt, b.txt, photo.jpg and two sidecars: rows are no files


def test_rows_matching_files_under_an_invalid_manifest_are_not_reported(
        tmp_path: Path) -> None:
    src = tree(tmp_path, {"_manifest.csv": "path,license\nsub/*,MIT\n", "sub/a.txt": prose("a"),
                          "sub/_manifest.jsonl": "{oops\n", "b.txt": prose("b")})
    reasons, docs = build_here(src, tmp_path / "out")
    assert list(docs) == ["b.txt"]  # the row matched a.txt, not read for another reason
    assert set(reasons) == {"sub/_manifest.jsonl", "sub/a.txt"}


@settings(max_examples=3000, deadline=None)
@given(st.text("ab/*?[]!-", min_size=1, max_size=12),
       st.text("ab/[]!-*?", min_size=1, max_size=16))
def test_incremental_glob_equals_fnmatch(pattern: str, path: str) -> None:
    # the walk carries each row's state down folder by folder (a manifest in "m/"), then
    # finishes it on the file's path: the result must be fnmatch's on the whole path (rows
    # have a path, files a name)
    assume(not path.endswith("/"))
    glob = Glob.compile(pattern)
    base = 2
    state: State | None = glob.advance(glob.start(base), "m/", base)
    seen = base
    for cut in [i + 1 for i, c in enumerate(path) if c == "/"]:
        if state is None:
            break
        state = glob.advance(state, "m/" + path[:cut], seen)
        seen = base + cut
    expected = fnmatch.fnmatchcase(path, pattern)
    got = state is not None and glob.matches(state, "m/" + path, seen)
    assert got == expected
    assert glob.matches(glob.start(base), "m/" + path, base) == expected


def test_wildcard_rows_are_capped_over_the_manifest_chain(tmp_path: Path) -> None:
    src = tmp_path / "src"
    folder = src
    for level in range(12):
        folder.mkdir()
        (folder / "_manifest.csv").write_text(f"path,k{level}\n*.txt,v\n", encoding="utf-8")
        (folder / "f.txt").write_text(prose(str(level)), encoding="utf-8")
        folder = folder / "d"
    # rows of a sibling folder are not in effect in d/: with the cap of 10 they do not count
    (src / "x").mkdir()
    (src / "x" / "y.txt").write_text(prose("x"), encoding="utf-8")
    (src / "_manifest.jsonl").write_text("".join(
        json.dumps({"path": f"x/{i}*", "k": "x"}) + "\n" for i in range(9)), encoding="utf-8")
    items = list(walk_sources(src, max_manifest_patterns=10))
    read = {i.rel: i.manifest for i in items if isinstance(i, SourceFile)}
    skips = {i.path + (f"#{i.record}" if i.record else ""): i.reason for i in items
             if isinstance(i, Skipped)}
    # ten rows in effect at d/*9 (one per level); the eleventh manifest would make eleven
    assert set(read) == {"d/" * n + "f.txt" for n in range(10)} | {"x/y.txt"}
    assert read["d/" * 9 + "f.txt"] == {f"k{n}": "v" for n in range(10)}
    bad = "d/" * 10 + "_manifest.csv"
    assert skips[bad] == (
        "manifest has rows with wildcards that, with the 10 of the manifests above it in "
        "effect in its folder, make more than 10 (max_manifest_patterns counts all manifests "
        "above a folder together); rows naming one file are not limited")
    assert skips["d/" * 10 + "f.txt"].startswith(f"not read: the manifest {bad}")
    assert skips["d/" * 11 + "f.txt"].startswith("not read: the manifest " + "d/" * 11)
    assert sum(r.startswith("manifest row matches") for r in skips.values()) == 9  # x/0..8
    assert list(walk_sources(src, max_manifest_patterns=10)) == items  # deterministic


def test_deep_tree_of_wildcard_manifests_is_walked_in_bounded_time(tmp_path: Path) -> None:
    # 200 levels, each with a manifest of 500 wildcard rows and 5 files: every file used to
    # be matched against every row above it (500 x 200 x 200 x 5 / 2 = 50 million
    # matches, 16.5 s measured on the commit before); the cap of 1,000 rows over the chain
    # makes the third manifest invalid and the walk took 0.9 s
    src = tmp_path / "src"
    folder = src
    for level in range(200):
        folder.mkdir()
        rows = "".join(f"*.x{level}_{i},v\n" for i in range(500))
        (folder / "_manifest.csv").write_text("path,k\n" + rows, encoding="utf-8")
        for j in range(5):
            (folder / f"f{j}.txt").write_text("text", encoding="utf-8")
        folder = folder / "d"
    folder.mkdir()
    started = time.perf_counter()
    items = list(walk_sources(src))
    elapsed = time.perf_counter() - started
    read = [i for i in items if isinstance(i, SourceFile)]
    assert len(read) == 10  # levels 0 and 1
    invalid = [i for i in items if isinstance(i, Skipped) and i.path.endswith("_manifest.csv")
               and i.record is None]
    assert len(invalid) == 198
    assert elapsed < 8, elapsed


def test_wildcard_rows_cost_no_more_on_long_paths(tmp_path: Path) -> None:
    # 1,000 rows starting with '*' (none can be dropped on the way down) and 200 files 400
    # folders down (paths of 3,611 characters): matching each row's whole regular expression
    # on each path took 7.9 s (6.1 s on the commit before this work); the incremental match
    # looks at each name once, 1.2 s measured
    src = tmp_path / "src"
    src.mkdir()
    rows = "".join(f"*q{i}*z*.txt,v\n" for i in range(1000))
    (src / "_manifest.csv").write_text("path,k\n" + rows, encoding="utf-8")
    folder = src
    for _ in range(400):
        folder = folder / "abcdefgh"
        folder.mkdir()
    for j in range(200):
        (folder / f"file{j}q5z.txt").write_text("text", encoding="utf-8")
    started = time.perf_counter()
    items = list(walk_sources(src))
    elapsed = time.perf_counter() - started
    read = [i for i in items if isinstance(i, SourceFile)]
    assert len(read) == 200 and all(i.manifest == {"k": "v"} for i in read)
    assert sum(isinstance(i, Skipped) for i in items) == 999  # rows other than *q5*z*.txt
    assert elapsed < 4, elapsed


def test_sidecar_names_that_are_not_utf8_are_skipped_as_such(tmp_path: Path) -> None:
    src = tree(tmp_path, {"ok.txt": prose("ok")})
    for name in (b"\xff.meta.yaml", b"\xff.META.yaml", b"ok.\xfe.meta.yaml"):
        with open(os.path.join(os.fsencode(src), name), "wb") as fh:
            fh.write(b"title: x\n")
    items = list(walk_sources(src))
    for item in items:  # every path can be written to the report
        if isinstance(item, Skipped):
            item.to_line()
    reasons = sorted(i.reason for i in items if isinstance(i, Skipped))
    assert reasons == ["file name is not valid UTF-8"] * 3
    reasons, docs = build_here(src, tmp_path / "out")
    assert list(docs) == ["ok.txt"] and len(reasons) == 3


@pytest.mark.parametrize(("manifest", "line", "why"), [
    # before: an open quote took the rest of the file into one cell, and its rows were lost
    ('path,license\na.txt,"MIT\nb.txt,CC0-1.0\n', 3, "unexpected end of data"),
    ('path,license\n"a.txt"x,MIT\n', 2, "',' expected after '\"'"),
    ("path,license\na.txt,MIT,CC0-1.0\n", 2, "3 cells, the header has 2"),
    ("path,license,collection\na.txt,MIT\n", 2, "2 cells, the header has 3"),
    ("path,license,license\na.txt,MIT,CC0-1.0\n", 1, "names 'license' twice"),
    ("path,,license\na.txt,lost,MIT\n", 2, "a value under a column without a name"),
])
def test_a_malformed_csv_manifest_skips_the_files_it_covers(
        tmp_path: Path, manifest: str, line: int, why: str) -> None:
    src = tree(tmp_path, {"m/_manifest.csv": manifest, "m/a.txt": prose("a"),
                          "m/b.txt": prose("b"), "d.txt": prose("d")})
    reasons, docs = build_here(src, tmp_path / "out")
    assert list(docs) == ["d.txt"]
    assert reasons["m/_manifest.csv"].startswith(f"invalid manifest: line {line}: ")
    assert why in reasons["m/_manifest.csv"]
    assert reasons["m/a.txt"].startswith("not read: the manifest m/_manifest.csv")


@pytest.mark.parametrize("end", ["\r", "\r\n", "\n"])
def test_csv_manifests_with_any_line_ends_are_read(end: str) -> None:
    # before: a manifest of old-Mac CR line ends was refused ("new-line character seen in
    # unquoted field")
    from corpuspack.sources.metadata_files import _csv_records

    data = end.join(["path,license", "a.txt,MIT", '"b.txt","CC0-1.0"', ""]).encode()
    assert _csv_records(data) == [{"path": "a.txt", "license": "MIT"},
                                  {"path": "b.txt", "license": "CC0-1.0"}]


_CELL = st.text(st.sampled_from('ab ,"\n\r\té'), max_size=8)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_CELL, _CELL), max_size=6))
def test_csv_manifest_rows_are_read_as_written(rows: list[tuple[str, str]]) -> None:
    import csv
    import io

    from corpuspack.sources.metadata_files import _csv_records

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["path", "license"])
    writer.writerows(rows)
    expected = [{k: v for k, v in zip(("path", "license"), row, strict=True) if v}
                for row in rows]
    assert _csv_records(out.getvalue().encode()) == expected
