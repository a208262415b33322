"""Splits and subsets: the config, the assignment, and releases read with the real clients
(datasets, mlcroissant, frictionless) across versions."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import frictionless
import mlcroissant as mlc
import pytest
import yaml
from datasets import load_dataset
from hypothesis import given, settings
from hypothesis import strategies as st

from corpuspack.build import build
from corpuspack.config import from_table, zero_config
from corpuspack.errors import ConfigError, CorpusError, UsageError
from corpuspack.explore import stats
from corpuspack.neardup import NearDedup
from corpuspack.publish import publish
from corpuspack.reader import open_package
from corpuspack.splits import Layout, Splits, Subsets, split_position
from corpuspack.validate import validate_package
from corpuspack.versions import changelog_entry, diff

from .conftest import text_of

LANGS = {"de": "de-de", "fr": "fr-fr", "es": "es-es", "it": "it-it", "pl": "pl-pl"}
SPLITS = Splits("hash", (("test", 0.2), ("validation", 0.1)))
LAYOUT = Layout(SPLITS, Subsets(("language",)))


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


# --- config ------------------------------------------------------------------------------


def config_of(table: dict[str, object]):  # type: ignore[no-untyped-def]
    return from_table(table, Path("/tmp"), "corpus.toml")


def test_config_reads_splits_and_subsets() -> None:
    config = config_of({"splits": {"validation": 0.01, "test": 0.01, "seed": 7},
                        "subsets": {"by": ["language", "folder"]}})
    assert config.splits == Splits("hash", (("test", 0.01), ("validation", 0.01)), seed=7)
    assert config.subsets == Subsets(("language", "folder"))
    folder = config_of({"splits": {"by": "folder", "test": "eval/*", "dev": ["a/*", "b/*"]}})
    assert folder.splits.folders == (("dev", ("a/*", "b/*")), ("test", ("eval/*",)))
    assert config_of({"splits": {"by": "meta.split"}}).splits.by == "meta.split"
    assert not config_of({}).splits.active and config_of({}).subsets.by == ()


@pytest.mark.parametrize("table, message", [
    ({"splits": {"train": 0.5}}, "[splits] train in corpus.toml: train holds every document"),
    ({"splits": {"test": 1.0}}, "[splits] test in corpus.toml must be a share of the documents "
                                "above 0 and below 1"),
    ({"splits": {"test": 0}}, "[splits] test in corpus.toml must be a share"),
    ({"splits": {"test": True}}, "[splits] test in corpus.toml must be a share"),
    ({"splits": {"test": "0.1"}}, "[splits] test in corpus.toml must be a share"),
    ({"splits": {"test": 0.6, "validation": 0.4}}, "the shares add up to 1"),
    ({"splits": {"Test": 0.1}}, "split name 'Test' must be lower-case"),
    ({"splits": {"documents": 0.1}}, "split name 'documents' is taken"),
    ({"splits": {"by": "random"}}, '[splits] by in corpus.toml must be "hash", "folder" or '
                                   '"meta.KEY"'),
    ({"splits": {"by": "meta."}}, "[splits] by in corpus.toml must be"),
    ({"splits": {"by": "meta.split", "test": 0.1}}, "[splits] test in corpus.toml: with by"),
    ({"splits": {"by": "folder", "test": 0.1}}, "[splits] test in corpus.toml must be a glob"),
    ({"splits": {"by": "folder", "test": []}}, "[splits] test in corpus.toml must be a glob"),
    ({"splits": {"seed": -1}}, "[splits] seed in corpus.toml must be an integer"),
    ({"splits": {"by": "folder", "test": ["*"] * 1001}}, "test: at most 1000 globs"),
    ({"splits": {f"s{i}": 0.001 for i in range(101)}}, "101 splits: at most 100"),
    ({"splits": {"seed": 2**64}}, "[splits] seed in corpus.toml must be an integer"),
    ({"subsets": {"by": ["licence"]}}, "[subsets] by in corpus.toml must be a list of distinct"),
    ({"subsets": {"by": ["language", "language"]}}, "[subsets] by in corpus.toml must be"),
    ({"subsets": {"bye": ["language"]}}, "unknown key 'bye' in corpus.toml [subsets] (did you "
                                         "mean 'by'?)"),
])
def test_config_refuses_with_one_line_naming_the_key(table: dict[str, object],
                                                     message: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_of(table)
    assert message in str(info.value) and "\n" not in str(info.value)


# --- assignment --------------------------------------------------------------------------


def test_hash_position_is_the_documented_sha256() -> None:
    import hashlib

    expected = int.from_bytes(hashlib.sha256(b"corpuspack-split:0:abc").digest()[:8], "big")
    assert split_position("abc") == expected
    assert split_position("abc", seed=1) != expected


def test_hash_shares_hold_on_many_ids() -> None:
    assign = SPLITS.assigner()
    n = 20_000
    counts = {"train": 0, "test": 0, "validation": 0}
    for i in range(n):
        counts[assign({"id": f"{i:016x}"})] += 1
    # binomial: 5 standard deviations of 20,000 draws at p = 0.2 and 0.1 are 283 and 212
    assert abs(counts["test"] - 0.2 * n) < 283 and abs(counts["validation"] - 0.1 * n) < 212


ids = st.sets(st.text(alphabet="0123456789abcdef#:/", min_size=1, max_size=24), max_size=60)


@settings(max_examples=200, deadline=None)
@given(first=ids, added=ids, removed=ids)
def test_a_document_keeps_its_split_whatever_else_changes(first: set[str], added: set[str],
                                                          removed: set[str]) -> None:
    """The split of an id is the same in any set of ids it is part of: adding, removing or
    editing others (an edited document keeps its id) moves nothing."""
    second = (first - removed) | added
    a = {i: s for i, s in _assigned(first)}
    b = {i: s for i, s in _assigned(second)}
    assert all(a[i] == b[i] for i in first & second)


def _assigned(id_set: set[str]) -> list[tuple[str, str]]:
    # assigned as publish does: one assigner over the corpus, documents in id order
    assign = SPLITS.assigner()
    return [(i, assign({"id": i, "text": f"edited {len(id_set)}"})) for i in sorted(id_set)]


def test_growing_the_last_split_moves_only_train_documents() -> None:
    before = Splits("hash", (("test", 0.1), ("validation", 0.1))).assigner()
    after = Splits("hash", (("test", 0.1), ("validation", 0.2))).assigner()
    moves = {(before({"id": str(i)}), after({"id": str(i)})) for i in range(5000)}
    assert moves - {(s, s) for s in ("train", "test", "validation")} == {
        ("train", "validation")}


def test_folder_and_meta_splits() -> None:
    by_folder = Splits("folder", folders=(("test", ("eval/*",)),
                                          ("validation", ("eval/dev/*",)))).assigner()
    assert by_folder({"id": "1", "source": "eval/dev/a.txt"}) == "test"  # sorted name wins
    assert by_folder({"id": "2", "source": "news/a.txt"}) == "train"
    by_meta = Splits("meta.split").assigner()
    assert by_meta({"id": "1", "meta": {"split": "test"}}) == "test"
    assert by_meta({"id": "2", "meta": {}}) == "train"
    with pytest.raises(CorpusError, match="meta.split is 'Test Set', not a split name"):
        by_meta({"id": "3", "source": "x.txt", "meta": {"split": "Test Set"}})


def test_subset_values_are_safe_path_components() -> None:
    subsets = Subsets(("language", "folder"))
    assert subsets.values({"language": "de", "source": "news/a.txt"}) == ("de", "news")
    assert subsets.values({"language": None, "source": "a.txt"}) == ("und", "_root")
    odd = subsets.values({"language": "de", "source": "../ Ünï*code/a.txt"})[1]
    assert "/" not in odd and "*" not in odd and ".." not in odd
    upper = subsets.values({"language": "de", "source": "News/a.txt"})[1]
    assert upper != "news" and upper.startswith("news-")  # stays apart from news/
    assert subsets.config_names(("de", "news")) == ["de", "folder-news"]


# --- releases across versions ------------------------------------------------------------


def write_docs(src: Path, numbers: range, edited: set[int] = frozenset()) -> None:  # type: ignore[assignment]
    rows = ["path,language"]
    for i in numbers:
        lang = list(LANGS)[i % len(LANGS)]
        folder = src / ("news" if i % 3 else "blogs")
        folder.mkdir(parents=True, exist_ok=True)
        extra = " Überarbeitet." if i in edited else ""
        (folder / f"doc{i:03d}.txt").write_text(
            f"{text_of(LANGS[lang])}\n\nDocument {i}.{extra}\n", encoding="utf-8")
        rows.append(f"{folder.name}/doc{i:03d}.txt,{lang}")
    (src / "_manifest.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")


def build_version(root: Path, name: str, numbers: range, edited: set[int] = frozenset(),  # type: ignore[assignment]
                  layout: Layout = LAYOUT) -> Path:
    src = root / f"src-{name}"
    write_docs(src, numbers, edited)
    config = zero_config(src, root / f"pkg-{name}")
    config = replace(config, near_dedup=NearDedup(enabled=False), version=f"0.{name}.0")
    build(config, workers=1, cache=None)
    package = open_package(config.package_dir)
    out = root / f"release-{name}"
    publish(package, out, changes=diff(None, package), layout=layout)
    return out


def splits_of(release: Path) -> dict[str, str]:
    """id -> split, as datasets loads the release."""
    found = {}
    for split, ds in load_dataset(str(release)).items():
        for doc_id in ds["id"]:
            assert doc_id not in found
            found[doc_id] = split
    return found


@pytest.fixture(scope="module")
def versions(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("splits")
    one = build_version(root, "1", range(0, 100))
    # 20 removed, 30 added, 10 edited (same path, so same id)
    two = build_version(root, "2", range(20, 130), edited=set(range(40, 50)))
    three = build_version(root, "3", range(20, 170), edited=set(range(40, 60)))
    return [one, two, three]


def test_split_sizes_and_configs_load(versions: list[Path]) -> None:
    release = versions[2]
    descriptor = json.loads((release / "datapackage.json").read_text())
    counts = descriptor["corpuspack"]["layout"]["statistics"]
    total = descriptor["corpuspack"]["statistics"]["documents"]
    assert total == 150
    loaded = load_dataset(str(release))
    assert set(loaded) == {"train", "test", "validation"}
    assert {k: v.num_rows for k, v in loaded.items()} == {
        k: v["documents"] for k, v in counts["splits"].items()}
    assert sum(v.num_rows for v in loaded.values()) == total
    # 150 draws at 0.2 and 0.1: well inside 4 standard deviations (20 +- 20, 15 +- 15)
    assert 10 <= loaded["test"].num_rows <= 50 and 3 <= loaded["validation"].num_rows <= 30
    german = load_dataset(str(release), "de", split="test")
    assert german.num_rows == counts["configs"]["de"]["test"]["documents"] > 0
    assert set(german["language"]) == {"de"}
    streamed = sum(1 for _ in load_dataset(str(release), "fr", split="train", streaming=True))
    assert streamed == counts["configs"]["fr"]["train"]["documents"]
    card = yaml.safe_load((release / "README.md").read_text().split("---\n")[1])
    default = [c for c in card["configs"] if c.get("default")]
    assert [c["config_name"] for c in default] == ["default"]
    assert {c["config_name"] for c in card["configs"]} == {"default", *LANGS}
    assert "| `test` |" in (release / "README.md").read_text()  # the card's split table


def test_no_document_changes_split_across_three_versions(versions: list[Path]) -> None:
    maps = [splits_of(r) for r in versions]
    for older, newer in zip(maps, maps[1:], strict=False):
        shared = set(older) & set(newer)
        assert len(shared) >= 80
        assert {i: older[i] for i in shared} == {i: newer[i] for i in shared}
    one, two = (open_package(v) for v in versions[:2])
    changes = diff(one, two)
    assert changes.split_changed == 0
    assert changes.counts == {"added": 30, "removed": 20, "changed": 10, "unchanged": 70}
    assert "No document changed split." in changelog_entry(changes)


def test_release_passes_every_validator(versions: list[Path]) -> None:
    release = versions[2]
    report = validate_package(release)
    assert report.valid, [p.message for p in report.problems][:3]
    assert frictionless.validate(str(release / "datapackage.json")).valid
    croissant = mlc.Dataset(str(release / "croissant.json"))
    assert sum(1 for _ in croissant.records("documents")) == 150
    tests = load_dataset(str(release), split="test").num_rows
    assert sum(1 for _ in croissant.records("test")) == tests


def test_stats_by_split_reads_the_release(versions: list[Path]) -> None:
    release = open_package(versions[2])
    rows = {r["split"]: r["documents"] for r in stats(release, by="split").to_dicts()}
    assert rows == {k: v.num_rows for k, v in load_dataset(str(versions[2])).items()}


def test_changed_shares_are_reported_by_diff(versions: list[Path], tmp_path: Path) -> None:
    package_dir = versions[2].parent / "pkg-3"
    package = open_package(package_dir)
    grown = Layout(Splits("hash", (("test", 0.3), ("validation", 0.1))), LAYOUT.subsets)
    out = tmp_path / "grown"
    publish(package, out, changes=diff(None, package), layout=grown)
    before, after = splits_of(versions[2]), splits_of(out)
    moved = {i for i in before if before[i] != after[i]}
    changes = diff(open_package(versions[2]), open_package(out))
    assert changes.split_changed == len(moved) > 0
    details = {i: cols for i, _, cols in changes.details("changed")}
    assert set(details) == moved
    some = next(iter(moved))
    assert details[some] == [f"split: {before[some]} -> {after[some]}"]
    assert f"{len(moved)} document(s) changed split" in changelog_entry(changes)


def test_a_document_in_the_wrong_split_file_is_invalid(versions: list[Path],
                                                       tmp_path: Path) -> None:
    copy = tmp_path / "release"
    shutil.copytree(versions[2], copy)
    path = copy / "datapackage.json"
    descriptor = json.loads(path.read_text())
    files = descriptor["corpuspack"]["layout"]["files"]
    name = "data/de/test-00000-of-00001.parquet"
    files[name]["split"] = "train"  # a held-out file declared as training data
    path.write_text(json.dumps(descriptor))
    report = validate_package(copy)
    assert not report.valid
    assert any(p.code == "wrong-split" for p in report.problems)


def test_an_id_in_two_split_files_is_invalid(versions: list[Path], tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    copy = tmp_path / "release"
    shutil.copytree(versions[2], copy)
    held_out = pq.read_table(copy / "data/de/test-00000-of-00001.parquet")
    train_path = copy / "data/de/train-00000-of-00001.parquet"
    train = pq.read_table(train_path)
    both = pa.concat_tables([train, held_out.slice(0, 1)]).sort_by("id")
    pq.write_table(both, train_path)
    report = validate_package(copy)
    assert any("ids must be unique" in p.message for p in report.problems)
    assert any(p.code == "wrong-split" for p in report.problems)


def test_a_hostile_layout_record_is_one_problem(versions: list[Path], tmp_path: Path) -> None:
    copy = tmp_path / "release"
    shutil.copytree(versions[2], copy)
    path = copy / "datapackage.json"
    descriptor = json.loads(path.read_text())
    descriptor["corpuspack"]["layout"]["splits"] = {"by": "folder",
                                                    "folders": {"test": ["*"] * 5000}}
    path.write_text(json.dumps(descriptor))
    report = validate_package(copy)
    assert [p.code for p in report.problems if p.code == "wrong-layout"] == ["wrong-layout"]
    with pytest.raises(UsageError, match="at most 1000 globs"):
        diff(open_package(versions[2]), open_package(copy))


def test_meta_split_with_a_bad_value_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_docs(src, range(0, 4))
    (src / "news" / "doc001.meta.yaml").write_text("split: Test Set\n", encoding="utf-8")
    config = replace(zero_config(src, tmp_path / "pkg"), near_dedup=NearDedup(enabled=False))
    build(config, workers=1, cache=None)
    package = open_package(config.package_dir)
    with pytest.raises(CorpusError, match="not a split name"):
        publish(package, tmp_path / "release", layout=Layout(Splits("meta.split")))
    assert not (tmp_path / "release").exists()


def test_plain_release_keeps_its_layout(tmp_path: Path) -> None:
    src = tmp_path / "src"
    write_docs(src, range(0, 6))
    config = replace(zero_config(src, tmp_path / "pkg"), near_dedup=NearDedup(enabled=False))
    build(config, workers=1, cache=None)
    package = open_package(config.package_dir)
    publish(package, tmp_path / "release")
    assert [p.name for p in (tmp_path / "release" / "data").iterdir()] == [
        "train-00000-of-00001.parquet"]
    assert list(load_dataset(str(tmp_path / "release"))) == ["train"]


# --- a corpus repository, released twice with the real CLI ---------------------------------


def test_release_in_git_names_documents_moved_by_new_shares(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {**__import__("os").environ, "CI": "1", "GIT_AUTHOR_NAME": "t",
           "GIT_AUTHOR_EMAIL": "t@example.org", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.org"}

    def run(*args: str, cwd: Path) -> str:
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def cli(*args: str) -> str:
        return run(sys.executable, "-m", "corpuspack.cli", *args, cwd=root)

    root = tmp_path / "repo"
    run(sys.executable, "-m", "corpuspack.cli", "init", str(root), cwd=tmp_path)
    write_docs(root / "corpus" / "sources", range(0, 40))
    config = root / "corpus.toml"
    text = config.read_text(encoding="utf-8")
    assert "\n# enabled = true" in text.split("[near_dedup]", 1)[1]
    config.write_text(text.replace("[near_dedup]", "[near_dedup]\nenabled = false", 1)
                      + '\n[splits]\ntest = 0.2\n\n[subsets]\nby = ["language"]\n',
                      encoding="utf-8")
    run("git", "init", "-q", cwd=root)
    cli("build", "-j", "1")
    cli("card")
    run("git", "add", "-A", cwd=root)
    run("git", "commit", "-qm", "corpus", cwd=root)
    cli("release", "minor")
    first = splits_of(root / "release")
    assert set(first.values()) == {"train", "test"}
    tests = list(first.values()).count("test")
    assert f"| `test` | {tests} |" in (root / "DATA_CARD.md").read_text(encoding="utf-8")
    by_split = json.loads(cli("stats", "--by", "split", "--json"))
    assert {r["split"]: r["documents"] for r in by_split} == {
        s: list(first.values()).count(s) for s in ("train", "test")}

    config.write_text(config.read_text(encoding="utf-8").replace("test = 0.2", "test = 0.4"),
                      encoding="utf-8")
    run("git", "commit", "-qam", "a larger test split", cwd=root)
    changes = json.loads(cli("diff", "v0.2.0", "--json"))
    assert changes["split_changed"] == len(changes["changed"]) > 0
    assert all(d["columns"] == ["split: train -> test"] for d in changes["details"].values())
    done = subprocess.run([sys.executable, "-m", "corpuspack.cli", "validate", "--base", "auto"],
                          cwd=root, capture_output=True, text=True, env=env)
    assert done.returncode == 1 and "version-not-bumped" in done.stdout + done.stderr
    cli("release", "minor")  # no document changed, but their splits did: a release
    second = splits_of(root / "release")
    moved = sorted(i for i in first if first[i] != second[i])
    assert moved and all(first[i] == "train" and second[i] == "test" for i in moved)
    changelog = (root / "corpus" / "CHANGELOG.md").read_text(encoding="utf-8")
    entry = changelog.split("## 0.3.0", 1)[1].split("\n## ", 1)[0]
    assert f"{len(moved)} document(s) changed split" in entry
    assert all(i in entry for i in moved[:50])


def test_same_package_same_release_bytes(versions: list[Path], tmp_path: Path) -> None:
    package = open_package(versions[2].parent / "pkg-3")
    for name in ("a", "b"):
        publish(package, tmp_path / name, layout=LAYOUT)

    def digests(folder: Path) -> dict[str, bytes]:
        return {p.relative_to(folder).as_posix(): p.read_bytes()
                for p in sorted(folder.rglob("*")) if p.is_file()}
    assert digests(tmp_path / "a") == digests(tmp_path / "b")


def test_subsets_by_language_and_folder_without_splits(versions: list[Path],
                                                       tmp_path: Path) -> None:
    package = open_package(versions[2].parent / "pkg-3")
    out = tmp_path / "release"
    publish(package, out, layout=Layout(subsets=Subsets(("language", "folder"))))
    assert list(load_dataset(str(out))) == ["train"]
    news = load_dataset(str(out), "folder-news", split="train")
    assert news.num_rows == 100 and {s.split("/")[0] for s in news["source"]} == {"news"}
    german_news = [s for s, lang in zip(news["source"], news["language"], strict=True)
                    if lang == "de"]
    assert german_news and (out / "data" / "de" / "news").is_dir()
    assert load_dataset(str(out), "de", split="train").num_rows == 30
    assert validate_package(out).valid


def test_a_split_release_republished_whole_stays_sorted(versions: list[Path],
                                                        tmp_path: Path) -> None:
    out = tmp_path / "plain"
    publish(open_package(versions[2]), out)
    ids = load_dataset(str(out), split="train")["id"]
    assert len(ids) == 150 and ids == sorted(ids)
    assert validate_package(out).valid
    assert diff(open_package(versions[2]), open_package(out)).split_changed > 0


def test_sql_show_and_sample_read_every_split_file(versions: list[Path]) -> None:
    from corpuspack.explore import document, query, sample

    release = open_package(versions[2])
    rows = query(release, "SELECT count(*) AS n, count(DISTINCT id) AS ids FROM documents")
    assert rows.to_dicts() == [{"n": 150, "ids": 150}]
    held_out = load_dataset(str(versions[2]), "de", split="test")["id"][0]
    assert document(release, held_out)["id"] == held_out
    assert len(sample(release, 200)) == 150


# --- the config named by --config, from outside the project folder -------------------------


def test_config_option_applies_its_splits_outside_the_project(tmp_path: Path) -> None:
    import subprocess
    import sys

    root = tmp_path / "repo"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()

    def cli(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "corpuspack.cli", *args], cwd=elsewhere,
                              capture_output=True, text=True, env={**__import__("os").environ,
                                                                   "CI": "1"})
        assert done.returncode == 0, done.stderr
        return done.stdout

    cli("init", str(root))
    write_docs(root / "corpus" / "sources", range(0, 40))
    config = root / "corpus.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace("[near_dedup]", "[near_dedup]\nenabled = false", 1)
                      + '\n[splits]\ntest = 0.3\n\n[subsets]\nby = ["language"]\n',
                      encoding="utf-8")
    cli("build", "-j", "1", "--config", str(config))
    cli("card", "--config", str(config))
    card = (root / "DATA_CARD.md").read_text(encoding="utf-8")
    cli("publish", "--config", str(config), "--out", str(tmp_path / "release"))
    found = splits_of(tmp_path / "release")
    held_out = list(found.values()).count("test")
    assert len(found) == 40 and 0 < held_out < 40
    assert f"| `test` | {held_out} |" in card
    by_split = json.loads(cli("stats", "--by", "split", "--json", "--config", str(config)))
    assert {r["split"]: r["documents"] for r in by_split} == {
        "train": 40 - held_out, "test": held_out}
    by_split = json.loads(cli("stats", "--by", "split", "--json", "--config", str(config),
                              "-p", str(root)))
    assert {r["split"]: r["documents"] for r in by_split} == {
        "train": 40 - held_out, "test": held_out}


@pytest.mark.parametrize("value", ["all", "documents"])
def test_meta_split_with_a_reserved_name_is_refused(tmp_path: Path, value: str) -> None:
    by_meta = Splits("meta.split").assigner()
    with pytest.raises(CorpusError, match=f"meta.split is '{value}': that split name is taken"):
        by_meta({"id": "7", "source": "x.txt", "meta": {"split": value}})
    src = tmp_path / "src"
    write_docs(src, range(0, 4))
    (src / "news" / "doc001.meta.yaml").write_text(f"split: {value}\n", encoding="utf-8")
    config = replace(zero_config(src, tmp_path / "pkg"), near_dedup=NearDedup(enabled=False))
    build(config, workers=1, cache=None)
    package = open_package(config.package_dir)
    with pytest.raises(CorpusError, match=r"^document \S+ \('news/doc001.txt'\): meta.split "
                       f"is '{value}'"):
        publish(package, tmp_path / "release", layout=Layout(Splits("meta.split")))
    assert not (tmp_path / "release").exists()


def test_meta_splits_are_capped_like_configured_ones() -> None:
    by_meta = Splits("meta.split").assigner()
    for i in range(100):
        assert by_meta({"id": str(i), "meta": {"split": f"s{i}"}}) == f"s{i}"
    assert by_meta({"id": "again", "meta": {"split": "s5"}}) == "s5"
    assert by_meta({"id": "none", "meta": {}}) == "train"
    with pytest.raises(CorpusError, match="meta.split is 's100': a split more than the 100"):
        by_meta({"id": "100", "meta": {"split": "s100"}})


def test_a_folder_glob_copied_in_nfd_matches_and_an_unmatched_one_is_warned(
        tmp_path: Path) -> None:
    import unicodedata

    src = tmp_path / "src"
    write_docs(src, range(0, 6))
    held = src / unicodedata.normalize("NFD", "Prüfung")
    held.mkdir()
    (held / "a.txt").write_text(text_of("de-de") + "\n\nGeprüft.\n", encoding="utf-8")
    config = replace(zero_config(src, tmp_path / "pkg"), near_dedup=NearDedup(enabled=False))
    build(config, workers=1, cache=None)
    package = open_package(config.package_dir)
    glob = unicodedata.normalize("NFD", "Prüfung/*")
    table = from_table({"splits": {"by": "folder", "test": glob, "dev": "evl/*"}},
                       Path("/tmp"), "corpus.toml")
    assert table.splits.folders[1] == ("test", (unicodedata.normalize("NFC", glob),))
    for splits in (table.splits, Splits("folder", folders=(("dev", ("evl/*",)),
                                                           ("test", (glob,))))):
        release = publish(package, tmp_path / "release", layout=Layout(splits))
        found = splits_of(tmp_path / "release")
        sources = {d["id"]: d["source"] for d in package.iter_documents()}
        assert {sources[i] for i, split in found.items() if split == "test"} == {
            unicodedata.normalize("NFC", "Prüfung/a.txt")}
        assert len(found) == 7
        assert release.warnings == ["split 'dev': its globs (evl/*) match no document"]


def test_a_release_of_many_shards_reads_with_few_open_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import resource

    import corpuspack.publish as publishing
    from corpuspack.splits import iter_in_id_order

    src = tmp_path / "src"
    write_docs(src, range(0, 150))
    config = replace(zero_config(src, tmp_path / "pkg"), near_dedup=NearDedup(enabled=False))
    build(config, workers=1, cache=None)
    package = open_package(config.package_dir)
    monkeypatch.setattr(publishing, "SHARD_BYTES", 3000)  # a few documents per Parquet file
    publish(package, tmp_path / "release", layout=LAYOUT)
    files = list((tmp_path / "release" / "data").rglob("*.parquet"))
    assert len(files) > 100
    release = open_package(tmp_path / "release")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    in_use = len(list(Path("/proc/self/fd").iterdir()))
    resource.setrlimit(resource.RLIMIT_NOFILE, (in_use + 40, hard))  # 15 groups, 100+ files
    try:
        ids = [d["id"] for d in iter_in_id_order(release)]
        report = validate_package(tmp_path / "release")
        changes = diff(package, release)
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    assert ids == sorted(d["id"] for d in package.iter_documents())
    assert report.valid, [p.message for p in report.problems]
    assert not changes.changed_anything


def test_more_subset_split_groups_than_the_cap_are_refused(tmp_path: Path) -> None:
    src = tmp_path / "src"
    for i in range(70):
        (src / f"f{i:02d}").mkdir(parents=True)
        (src / f"f{i:02d}" / "a.txt").write_text(f"{text_of('de-de')}\n\nDoc {i}.\n",
                                                 encoding="utf-8")
    config = replace(zero_config(src, tmp_path / "pkg"), near_dedup=NearDedup(enabled=False))
    build(config, workers=1, cache=None)
    package = open_package(config.package_dir)
    with pytest.raises(CorpusError, match=r"more than 64 \(subset, split\) groups.*at most 64"):
        publish(package, tmp_path / "release", layout=Layout(subsets=Subsets(("folder",))))
    assert not (tmp_path / "release").exists()
    publish(package, tmp_path / "ok", layout=Layout(subsets=Subsets(("language",))))


def test_subset_names_never_collide() -> None:
    from corpuspack.splits import component

    assert component("News") == "news-69752f23"
    names = ["News", "news-69752f23", "news", "NEWS", "folder-news", "de", "default",
             "x-0123abcd", "X-0123ABCD", "_root", "und", "a..b", "ü", "u"]
    assert len({component(n) for n in names}) == len(names)
    subsets = Subsets(("folder", "language"))
    a = subsets.config_names(subsets.values({"source": "News/a.txt", "language": "de"}))
    b = subsets.config_names(subsets.values({"source": "news-69752f23/b.txt",
                                             "language": "folder-news"}))
    c = subsets.config_names(subsets.values({"source": "news/c.txt", "language": "de"}))
    assert len(set(a) | set(b) | set(c)) == 5  # "de" shared by a and c, all else apart
