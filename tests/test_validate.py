"""Validation catches tampering that frictionless sees and what only corpuspack sees."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from corpuspack.validate import validate_package

from .conftest import build_to, text_of


@pytest.fixture()
def package(built, tmp_path: Path) -> Path:
    config, _ = built
    copy = tmp_path / "pkg"
    shutil.copytree(config.package_dir, copy)
    return copy


def shard(package: Path) -> Path:
    return sorted((package / "data").glob("documents-*.jsonl"))[0]


def rewrite(path: Path, fn) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(fn(lines)), encoding="utf-8")


def refresh_hash(package: Path) -> None:
    """Make bytes and hash match again, so that only corpuspack's own checks can object."""
    desc = json.loads((package / "datapackage.json").read_text())
    for res in desc["resources"]:
        data = (package / res["path"]).read_bytes()
        res["bytes"], res["hash"] = len(data), "sha256:" + hashlib.sha256(data).hexdigest()
    (package / "datapackage.json").write_text(json.dumps(desc, indent=2))


def codes(package: Path) -> set[str]:
    report = validate_package(package)
    assert not report.valid
    return {p.code for p in report.problems}


def test_valid_package(package: Path) -> None:
    report = validate_package(package)
    assert report.valid and report.problems == [] and report.documents > 10


def test_tampered_text_is_caught_by_hash_and_sha256(package: Path) -> None:
    def tamper(lines: list[str]) -> list[str]:
        doc = json.loads(lines[0])
        doc["text"] = doc["text"].replace("e", "3", 1)
        return [json.dumps(doc, ensure_ascii=False) + "\n"] + lines[1:]

    rewrite(shard(package), tamper)
    found = codes(package)
    assert "frictionless:hash-count" in found or "frictionless:byte-count" in found
    assert "wrong-value" in found
    refresh_hash(package)
    assert codes(package) == {"wrong-value"}  # sha256 no longer matches the text


def test_duplicate_and_unsorted_ids_are_caught(package: Path) -> None:
    rewrite(shard(package), lambda lines: [lines[1], lines[0]] + lines[1:])
    refresh_hash(package)
    found = codes(package)
    assert "id-order" in found and "wrong-count" in found


def test_false_statistics_are_caught(package: Path) -> None:
    desc = json.loads((package / "datapackage.json").read_text())
    desc["corpuspack"]["statistics"]["words"] += 1
    (package / "datapackage.json").write_text(json.dumps(desc))
    assert codes(package) == {"wrong-statistics"}


def test_schema_violation_is_caught_by_frictionless(package: Path) -> None:
    def tamper(lines: list[str]) -> list[str]:
        doc = json.loads(lines[0])
        doc["n_words"] = "many"
        return [json.dumps(doc, ensure_ascii=False) + "\n"] + lines[1:]

    rewrite(shard(package), tamper)
    refresh_hash(package)
    found = codes(package)
    assert "frictionless:type-error" in found


def test_missing_file_is_caught(package: Path) -> None:
    missing = shard(package)
    missing.unlink()
    report = validate_package(package)
    assert not report.valid
    assert [(p.code, p.resource) for p in report.problems] == [
        ("missing-file", missing.name.split(".")[0])]


def test_unnormalised_text_is_caught(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text("Plain text.", encoding="utf-8")
    config, _ = build_to(src, tmp_path / "pkg")

    def tamper(lines: list[str]) -> list[str]:
        doc = json.loads(lines[0])
        doc["text"] = "Plain text.  \n\n\n\nMore."
        doc["n_chars"], doc["n_words"] = len(doc["text"]), 3
        doc["sha256"] = hashlib.sha256(doc["text"].encode()).hexdigest()
        return [json.dumps(doc) + "\n"]

    rewrite(shard(config.package_dir), tamper)
    refresh_hash(config.package_dir)
    assert "not-normalised" in codes(config.package_dir)


def test_damaged_text_is_warned_about_not_refused(tmp_path: Path) -> None:
    from corpuspack.validate import damage

    src = tmp_path / "src"
    src.mkdir()
    good = text_of("fr-fr")
    damaged = good[:2000] + "\ufffd" * 5 + good[2000:]
    (src / "dump.jsonl").write_text(
        json.dumps({"id": "ok", "text": good}) + "\n"
        + json.dumps({"id": "bad", "text": damaged}) + "\n", encoding="utf-8")
    config, _ = build_to(src, tmp_path / "pkg")
    report = validate_package(config.package_dir)
    assert report.valid
    assert [w.code for w in report.warnings] == ["replacement-characters"]
    assert "5 U+FFFD" in report.warnings[0].message
    done = subprocess.run([sys.executable, "-m", "corpuspack.cli", "validate",
                           str(config.package_dir)], capture_output=True, text=True)
    assert done.returncode == 0 and "warning" in done.stdout
    # one replacement in a long text is what decoding a few bad bytes leaves: no warning
    assert damage(good + "\ufffd") is None
    assert damage("caf\u00c3\u00a9 cr\u00c3\u00a8me br\u00c3\u00bbl\u00c3\u00a9e")[0] == "mojibake"
    assert damage("café crème brûlée") is None
