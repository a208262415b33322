"""Records of past builds: a build whose inputs are unchanged reads no source and writes
nothing, yet says what a full build says; any change of the sources, the config,
corpuspack or the committed package is seen; a damaged record is never used."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from corpuspack import build_record
from corpuspack.build import build
from corpuspack.cli import app
from corpuspack.config import CorpusConfig, zero_config
from corpuspack.errors import CorpusError
from corpuspack.report import BuildReport

from .conftest import make_tree
from .test_cache import package_bytes

runner = CliRunner()


@pytest.fixture(autouse=True)
def settled_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Files made by a test are a few milliseconds old: take them as settled."""
    monkeypatch.setattr(build_record, "RACY_SECONDS", 0.0)


@pytest.fixture()
def src(tmp_path: Path) -> Path:
    return make_tree(tmp_path / "t")


def lists(report: BuildReport) -> tuple[list[object], ...]:
    return (report.skipped, list(report.iter_filtered()), list(report.iter_duplicates()))


def mtimes(package: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in package.rglob("*") if p.is_file()}


def records(cache: Path) -> list[Path]:
    builds = cache / "builds"
    return sorted(p for p in builds.iterdir() if p.is_dir()) if builds.is_dir() else []


def test_an_unchanged_build_comes_from_the_record(src: Path, tmp_path: Path) -> None:
    config = zero_config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    full = build(config, workers=1, cache=cache)
    assert not full.from_record and len(records(cache)) == 2  # by inputs and by plan key
    before, written = package_bytes(config.package_dir), mtimes(config.package_dir)

    again = build(config, workers=2, cache=cache)
    assert again.from_record and again.files_processed == 0
    assert again.files_cached == full.files_cached + full.files_processed
    assert set(again.stage_seconds) == {"inputs", "record"}  # no stage ran
    assert mtimes(config.package_dir) == written  # nothing written
    assert package_bytes(config.package_dir) == before
    assert again.summary(timing=False) == full.summary(timing=False)
    assert again.first_skipped == full.first_skipped and again.shards == full.shards
    assert lists(again) == lists(full) and full.skip_count and full.duplicates_dropped

    check = build(config, workers=1, cache=cache, check=True)
    assert check.from_record and check.check_differences == []
    assert check.summary(timing=False) == full.summary(timing=False)


def test_cli_json_of_a_recorded_build(src: Path, tmp_path: Path) -> None:
    args = ["build", str(src), "--out", str(tmp_path / "pkg"), "-j", "1", "--cache",
            str(tmp_path / "cache"), "--json"]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    for extra in ([], ["--check"]):
        again = runner.invoke(app, args + extra)
        assert again.exit_code == 0, again.output
        a, b = json.loads(first.stdout), json.loads(again.stdout)
        assert b["from_record"] and not a["from_record"]
        for key in ("files_cached", "files_processed", "from_record", "seconds",
                    "mb_per_second", "stage_seconds", "stale"):
            a.pop(key, None)
            b.pop(key, None)
        assert a == b  # every count and list, as the full build printed them


def _touch_content(path: Path) -> None:
    """Change a byte, keeping the size and putting the mtime back (only ctime tells)."""
    st = path.stat()
    data = bytearray(path.read_bytes())
    data[-2] = ord("X") if data[-2] != ord("X") else ord("Y")
    path.write_bytes(bytes(data))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


CHANGES = {
    "content, same size and mtime": lambda src: _touch_content(src / "notes" / "post.md"),
    "file added": lambda src: (src / "news" / "new.txt").write_text(
        "A new article arrived today, with its own words.", encoding="utf-8"),
    "file removed": lambda src: (src / "notes" / "heading.md").unlink(),
    "file renamed": lambda src: (src / "notes" / "heading.md").rename(
        src / "notes" / "heading2.md"),
    "sidecar edited": lambda src: (src / "news" / "seed.meta.yaml").write_text(
        "title: Another title\n", encoding="utf-8"),
    "file made a FIFO": lambda src: ((src / "notes" / "post.md").unlink(),
                                     os.mkfifo(src / "notes" / "post.md")),
    "folder added": lambda src: shutil.copytree(src / "notes", src / "notes2"),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_a_changed_source_misses_the_record(src: Path, tmp_path: Path, change: str) -> None:
    config = zero_config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    build(config, workers=1, cache=cache)
    CHANGES[change](src)
    check = build(config, workers=1, cache=cache, check=True)
    assert not check.from_record and check.check_differences
    rebuilt = build(config, workers=1, cache=cache)
    assert not rebuilt.from_record
    reference = zero_config(src, tmp_path / "ref" / "pkg")
    build(reference, workers=1, cache=None)
    assert _data(config) == _data(reference)


def _data(config: CorpusConfig) -> dict[str, str]:
    return {k: v for k, v in package_bytes(config.package_dir).items()
            if k != "datapackage.json"}  # the descriptor names the folder


def test_a_hidden_file_misses_only_the_inputs_record(src: Path, tmp_path: Path) -> None:
    config = zero_config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    build(config, workers=1, cache=cache)
    (src / "notes" / ".post.md.swp").write_bytes(b"an editor's swap file")
    again = build(config, workers=1, cache=cache)  # its folder's times changed: walked
    assert again.from_record and "map" in again.stage_seconds


def test_a_link_target_changed_misses_the_record(src: Path, tmp_path: Path) -> None:
    hidden = src / ".drafts"
    hidden.mkdir()
    (hidden / "draft.txt").write_text("A draft, read through its link.", encoding="utf-8")
    (src / "notes" / "draft.txt").symlink_to(hidden / "draft.txt")
    config = zero_config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    build(config, workers=1, cache=cache)
    (hidden / "draft.txt").write_text("The draft, rewritten a little longer.",
                                      encoding="utf-8")
    rebuilt = build(config, workers=1, cache=cache)
    assert not rebuilt.from_record
    text = b"".join((config.data_dir / s.filename).read_bytes() for s in rebuilt.shards)
    assert b"rewritten a little longer" in text


def test_config_and_code_are_inputs(src: Path, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    config = zero_config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    build(config, workers=1, cache=cache)
    titled = replace(config, title="Another title")
    assert not build(titled, workers=1, cache=cache).from_record
    assert build(titled, workers=1, cache=cache).from_record
    looser = replace(titled, near_dedup=replace(titled.near_dedup, threshold=0.5))
    assert not build(looser, workers=1, cache=cache).from_record
    import corpuspack.cache

    monkeypatch.setattr(corpuspack.cache, "code_digest", lambda: "another corpuspack")
    assert not build(looser, workers=1, cache=cache).from_record


@pytest.mark.parametrize("tamper", ["shard", "extra file", "descriptor", "removed"])
def test_a_tampered_package_is_stale_and_rebuilt(src: Path, tmp_path: Path,
                                                 tamper: str) -> None:
    config = zero_config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    full = build(config, workers=1, cache=cache)
    before = package_bytes(config.package_dir)
    shard = config.data_dir / full.shards[0].filename
    if tamper == "shard":
        data = bytearray(shard.read_bytes())
        data[len(data) // 2] ^= 1
        shard.write_bytes(bytes(data))
        stale = [f"data/{shard.name}"]
    elif tamper == "extra file":
        (config.data_dir / "stray.jsonl").write_text("{}\n")
        stale = ["data/stray.jsonl"]
    elif tamper == "descriptor":
        config.descriptor.write_text(config.descriptor.read_text() + " ")
        stale = ["datapackage.json"]
    else:
        shard.unlink()
        stale = [f"data/{shard.name}"]
    check = build(config, workers=1, cache=cache, check=True)
    assert check.from_record and check.check_differences == stale
    if tamper == "extra file":
        return  # not corpuspack's: a build refuses to replace the folder (tests elsewhere)
    repaired = build(config, workers=1, cache=cache)
    assert not repaired.from_record
    assert package_bytes(config.package_dir) == before
    assert build(config, workers=1, cache=cache).from_record


@pytest.mark.parametrize("damage", ["truncate", "digest", "list", "list removed"])
def test_a_damaged_record_is_never_used(src: Path, tmp_path: Path, damage: str) -> None:
    def damaged(where: Path) -> None:
        record = where / "record.json"
        if damage == "truncate":
            record.write_bytes(record.read_bytes()[: record.stat().st_size // 2])
        elif damage == "digest":
            value = json.loads(record.read_bytes())
            value["body"]["report"]["documents_written"] += 1
            record.write_text(json.dumps(value))
        elif damage == "list":
            (where / "skipped.jsonl").write_bytes(b'["a","b","c"]\n')
        else:
            (where / "duplicates.jsonl").unlink()

    full, again, check = _checked_after(src, tmp_path, damaged)
    assert not again.from_record and again.check_differences == []
    assert again.summary(timing=False) == full.summary(timing=False)
    assert check().from_record  # recorded anew


def _checked_after(src: Path, tmp_path: Path, damage: Callable[[Path], object]
                   ) -> tuple[BuildReport, BuildReport, Callable[[], BuildReport]]:
    """A full build, ``damage`` done to each of its records (by inputs and by plan key),
    then a ``build --check``; and a function that checks again."""
    config = zero_config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    full = build(config, workers=1, cache=cache)
    for where in records(cache):
        damage(where)

    def check() -> BuildReport:
        return build(config, workers=1, cache=cache, check=True)

    return full, check(), check


def test_strict_fails_from_the_record_too(src: Path, tmp_path: Path) -> None:
    config = zero_config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    assert build(config, workers=1, cache=cache).skip_count
    for check in (False, True):
        with pytest.raises(CorpusError, match="--strict"):
            build(config, workers=1, cache=cache, strict=True, check=check)


def test_files_changed_lately_are_not_recorded(src: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build_record, "RACY_SECONDS", 3600.0)  # the tree is a second old
    config = zero_config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    full = build(config, workers=1, cache=cache)
    [plan] = records(cache)  # by its files' content keys only
    assert plan.name == full.plan_key
    again = build(config, workers=1, cache=cache)
    assert again.from_record and "map" in again.stage_seconds  # keys made, files hashed


def test_records_are_evicted(src: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    config = zero_config(src, tmp_path / "pkg")
    for n in range(3):
        build(replace(config, title=f"Title {n}"), workers=1, cache=cache)
    assert len(records(cache)) == 6  # by inputs and by plan key
    build_record._evict(cache / "builds", keep=4)
    assert len(records(cache)) == 4
    for n, kept in ((0, False), (1, True), (2, True)):  # the package is Title 2's
        check = build(replace(config, title=f"Title {n}"), workers=1, cache=cache, check=True)
        assert check.from_record == kept and bool(check.check_differences) == (n != 2)


def _fresh_copy(src: Path) -> None:
    """The same files at the same paths with new inodes and times, as a fresh clone has."""
    copy = src.parent / "copy"
    shutil.copytree(src, copy, symlinks=True)
    shutil.rmtree(src)
    copy.rename(src)


def test_a_fresh_clone_finds_the_build_by_its_files_keys(src: Path, tmp_path: Path) -> None:
    config = zero_config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    full = build(config, workers=1, cache=cache)
    assert full.plan_key and len(records(cache)) == 2  # by inputs and by plan key
    _fresh_copy(src)
    check = build(config, workers=1, cache=cache, check=True)
    assert check.from_record and check.check_differences == []
    assert check.files_processed == 0 and check.plan_key == full.plan_key
    assert "map" in check.stage_seconds and "shards" not in check.stage_seconds
    assert check.summary(timing=False) == full.summary(timing=False)
    assert lists(check) == lists(full)
    written = mtimes(config.package_dir)
    again = build(config, workers=1, cache=cache)  # finds the record by its inputs now
    assert again.from_record and set(again.stage_seconds) == {"inputs", "record"}
    assert mtimes(config.package_dir) == written


def test_a_plan_record_needs_the_committed_package(src: Path, tmp_path: Path) -> None:
    config = zero_config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    full = build(config, workers=1, cache=cache)
    before = package_bytes(config.package_dir)
    shard = config.data_dir / full.shards[0].filename
    shard.write_bytes(shard.read_bytes()[:-10])
    _fresh_copy(src)
    rebuilt = build(config, workers=1, cache=cache)
    assert not rebuilt.from_record and rebuilt.files_processed == 0
    assert package_bytes(config.package_dir) == before


def test_a_changed_file_changes_the_plan_key(src: Path, tmp_path: Path) -> None:
    config = zero_config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    full = build(config, workers=1, cache=cache)
    _touch_content(src / "notes" / "post.md")
    _fresh_copy(src)
    check = build(config, workers=1, cache=cache, check=True)
    assert not check.from_record and check.check_differences
    assert check.plan_key != full.plan_key and check.files_processed == 1


def _during(monkeypatch: pytest.MonkeyPatch, change: Callable[[], object]) -> None:
    """Make ``change`` once the build has taken its inputs' fingerprint."""
    import corpuspack.build

    stages = corpuspack.build._stages

    def changed_first(*args: object) -> object:
        change()
        return stages(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(corpuspack.build, "_stages", changed_first)


@pytest.mark.parametrize("race", ["file added", "folder moved out", "link repointed"])
def test_a_change_while_building_put_back_after_is_not_recorded(
        src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, race: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (src / "news" / "t1.txt").write_text("The first target, a text of some words.",
                                         encoding="utf-8")
    (src / "news" / "t2.txt").write_text("The second target, other words entirely.",
                                         encoding="utf-8")
    (outside / "hop").symlink_to(src / "news" / "t1.txt")
    (src / "news" / "linked.txt").symlink_to(outside / "hop")
    config = zero_config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    if race == "file added":
        during, after = (lambda: (src / "news" / "new.txt").write_text(
            "A document written while the build ran.", encoding="utf-8"),
            lambda: (src / "news" / "new.txt").unlink())
    elif race == "folder moved out":
        during, after = (lambda: (src / "notes").rename(outside / "notes"),
                         lambda: (outside / "notes").rename(src / "notes"))
    else:
        def repoint(target: str) -> None:
            (outside / "hop").unlink()
            (outside / "hop").symlink_to(src / "news" / target)
        during, after = (lambda: repoint("t2.txt"), lambda: repoint("t1.txt"))
    with monkeypatch.context() as m:
        _during(m, during)
        build(config, workers=1, cache=cache)
    after()
    check = build(config, workers=1, cache=cache, check=True)
    fresh = build(config, workers=1, cache=None, check=True)
    assert check.check_differences == fresh.check_differences != []


@pytest.mark.parametrize("where", ["inside", "outside"])
def test_a_linked_sidecar_is_keyed_by_what_it_leads_to(src: Path, tmp_path: Path,
                                                        where: str) -> None:
    side = src / "news" / ".side.yaml" if where == "inside" else tmp_path / "side.yaml"
    side.write_text("title: Side A\n", encoding="utf-8")
    (src / "news" / "seed-crlf.txt.meta.yaml").symlink_to(side)
    config = zero_config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    build(config, workers=1, cache=cache)
    side.write_text("title: Side B\n", encoding="utf-8")
    rebuilt = build(config, workers=1, cache=cache)
    reference = zero_config(src, tmp_path / "ref" / "pkg")
    build(reference, workers=1, cache=None)
    assert _data(config) == _data(reference)
    assert not rebuilt.from_record


def test_config_values_json_would_confuse_make_other_keys() -> None:
    import datetime

    from corpuspack.cache import settings_digest

    values = [float("nan"), float("inf"), float("-inf"), None, "2024-01-01",
              datetime.date(2024, 1, 1), 1, 1.0, "float:1.0"]
    digests = {settings_digest({"title": v}) for v in values}
    assert len(digests) == len(values)


@pytest.mark.parametrize("shape", ["outputs list", "outputs string", "lists list",
                                   "count string", "pair short", "name with slash"])
def test_a_record_of_the_wrong_shape_is_never_used(src: Path, tmp_path: Path,
                                                   shape: str) -> None:
    def reshaped(where: Path) -> None:
        record = where / "record.json"
        body = json.loads(record.read_bytes())["body"]
        if shape == "outputs list":
            body["outputs"] = list(body["outputs"])
        elif shape == "outputs string":
            body["outputs"] = "outputs"
        elif shape == "lists list":
            body["lists"] = []
        elif shape == "count string":
            body["report"]["files_seen"] = "many"
        elif shape == "pair short":
            body["outputs"]["schema.json"] = [1]
        else:
            body["outputs"]["../schema.json"] = body["outputs"]["schema.json"]
        record.write_bytes(orjson.dumps({"digest": build_record._digest(body), "body": body}))

    full, again, _ = _checked_after(src, tmp_path, reshaped)
    assert not again.from_record and again.check_differences == []
    assert again.summary(timing=False) == full.summary(timing=False)


@pytest.mark.parametrize("plant", ["fifo", "link to /dev/zero", "file", "big list"])
def test_a_planted_record_neither_hangs_nor_is_read(src: Path, tmp_path: Path,
                                                     plant: str) -> None:
    def planted(where: Path) -> None:
        record = where / "record.json"
        if plant == "fifo":
            record.unlink()
            os.mkfifo(record)
        elif plant == "link to /dev/zero":
            record.unlink()
            record.symlink_to("/dev/zero")
        elif plant == "file":
            shutil.rmtree(where)
            where.write_bytes(b"not a record")
        else:
            (where / "skipped.jsonl").unlink()
            (where / "skipped.jsonl").symlink_to("/dev/zero")

    full, again, check = _checked_after(src, tmp_path, planted)
    assert not again.from_record and again.check_differences == []
    assert again.summary(timing=False) == full.summary(timing=False)
    assert check().from_record  # recorded anew


def test_records_are_never_kept_behind_a_link(src: Path, tmp_path: Path) -> None:
    config = zero_config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    build(config, workers=1, cache=cache)
    elsewhere = tmp_path / "elsewhere"
    (cache / "builds").rename(elsewhere)
    (cache / "builds").symlink_to(elsewhere)
    (elsewhere / "someone-elses.txt").write_text("kept", encoding="utf-8")
    before = sorted(p.name for p in elsewhere.iterdir())
    for check in (True, False, True):
        report = build(replace(config, title="Another"), workers=1, cache=cache, check=check)
        assert not report.from_record
    assert sorted(p.name for p in elsewhere.iterdir()) == before


def test_a_bad_partitions_setting_fails_a_recorded_build_too(
        src: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from corpuspack.errors import UsageError

    config = zero_config(src, tmp_path / "pkg")
    cache = tmp_path / "cache"
    build(config, workers=1, cache=cache)
    monkeypatch.setenv("CORPUSPACK_PARTITIONS", "abc")
    with pytest.raises(UsageError, match="CORPUSPACK_PARTITIONS"):
        build(config, workers=1, cache=cache, check=True)
