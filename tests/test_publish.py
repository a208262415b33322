"""Releases, checked with the clients researchers use: datasets, DuckDB, pyarrow,
sha256sum, mlcroissant, frictionless, huggingface_hub."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import frictionless
import mlcroissant as mlc
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from datasets import load_dataset

import corpuspack.publish as publish_module
from corpuspack.hub import ReleaseShape, card_metadata, check_card_metadata, hub_license
from corpuspack.publish import publish, sha256sums_ok
from corpuspack.reader import open_package
from corpuspack.versions import diff

from .conftest import read_docs


@pytest.fixture(scope="module")
def release(built, tmp_path_factory: pytest.TempPathFactory) -> Path:
    config, _ = built
    package = open_package(config.package_dir)
    out = tmp_path_factory.mktemp("dist") / "release"
    publish(package, out, changes=diff(None, package))
    return out


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


def digests(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_load_dataset(release: Path, built) -> None:
    config, report = built
    ds = load_dataset(str(release), split="train")
    assert ds.num_rows == report.documents_written
    assert str(ds.features["date"].dtype) == "date32"
    assert ds.features["n_chars"].dtype == "int64"
    assert ds.features["language_score"].dtype == "float64"
    ids = ds["id"]
    assert ids == sorted(ids)
    by_source = {row["source"]: row for row in ds}
    seed = by_source["news/seed.txt"]
    assert str(seed["date"]) == "2011-12-09" and seed["author"] == "Geoffrey Robertson"
    originals = {d["id"]: d["text"] for d in read_docs(config.package_dir)}
    assert all(originals[row["id"]] == row["text"] for row in ds)


def test_load_dataset_streaming(release: Path, built) -> None:
    _, report = built
    stream = load_dataset(str(release), split="train", streaming=True)
    rows = list(stream)
    assert len(rows) == report.documents_written
    assert str(stream.features["date"].dtype) == "date32"


def test_duckdb_and_pyarrow(release: Path, built) -> None:
    _, report = built
    pattern = str(release / "data" / "*.parquet")
    rows = duckdb.sql(f"select count(*), count(distinct id), min(date) from '{pattern}'"
                      ).fetchall()[0]
    assert rows[0] == rows[1] == report.documents_written
    assert str(rows[2]) == "2011-12-09"
    meta = pq.ParquetFile(next((release / "data").glob("*.parquet"))).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"
    assert meta.row_group(0).column(0).statistics.has_min_max
    assert meta.row_group(0).sorting_columns[0].column_index == 0
    table = pq.read_table(release / "data")
    assert table.schema.field("date").type == pa.date32()
    assert table.schema.field("n_words").type == pa.int64()


def test_checksums(release: Path) -> None:
    done = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=release, capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout
    listed = {line.split("  ", 1)[1] for line in (release / "SHA256SUMS").read_text().splitlines()}
    assert listed == set(digests(release)) - {"SHA256SUMS", "corpuspack-files.json"}
    assert sha256sums_ok(release) == []


def test_croissant_records(release: Path, built) -> None:
    config, report = built
    dataset = mlc.Dataset(str(release / "croissant.json"))
    records = list(dataset.records("documents"))
    assert len(records) == report.documents_written
    ids = [r["documents/id"].decode() for r in records]
    assert sorted(ids) == sorted(d["id"] for d in read_docs(config.package_dir))


def test_frictionless_validates_the_release(release: Path) -> None:
    report = frictionless.validate(str(release / "datapackage.json"))
    assert report.valid, [e.message for t in report.tasks for e in t.errors][:5]


def test_publishing_is_deterministic(built, release: Path, tmp_path: Path) -> None:
    config, _ = built
    package = open_package(config.package_dir)
    again = tmp_path / "release"
    publish(package, again, changes=diff(None, package))
    assert digests(again) == digests(release)


def test_many_parquet_files(built, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config, report = built
    monkeypatch.setattr(publish_module, "SHARD_BYTES", 5_000)
    out = tmp_path / "release"
    publish(open_package(config.package_dir), out)
    files = sorted((out / "data").glob("*.parquet"))
    assert len(files) > 2 and files[0].name.endswith(f"-of-{len(files):05d}.parquet")
    ds = load_dataset(str(out), split="train")
    assert ds.num_rows == report.documents_written and ds["id"] == sorted(ds["id"])


def test_card_metadata_is_checked(release: Path) -> None:
    import yaml

    front = (release / "README.md").read_text().split("---\n")[1]
    meta = yaml.safe_load(front)
    assert check_card_metadata(meta) == []
    assert meta["license"] == "other"  # NOASSERTION, CC-BY-SA-3.0 and none: mixed
    assert {"en", "fr", "de", "ja"} <= set(meta["language"])
    assert meta["dataset_info"]["splits"][0]["num_bytes"] > 0
    bad = dict(meta, language=["xx", "en"], license="apache", licence="mit")
    problems = check_card_metadata(bad)
    assert any("'xx'" in p for p in problems) and any("'apache'" in p for p in problems)
    assert any("'licence'" in p for p in problems)


def test_hub_licence_mapping() -> None:
    assert hub_license({"NOASSERTION": 3}, []) == {"license": "unknown"}
    assert hub_license({"CC-BY-4.0": 3}, []) == {"license": "cc-by-4.0"}
    assert hub_license({"x": 1}, [{"name": "MIT"}]) == {"license": "mit"}
    assert hub_license({"CC-BY-4.0": 1, "MIT": 1}, [])["license"] == "other"
    # SPDX ids the Hub names without their -only/-or-later suffix or version
    for spdx, hub in (("GPL-3.0-only", "gpl-3.0"), ("LGPL-2.1-or-later", "lgpl-2.1"),
                      ("ODbL-1.0", "odbl"), ("PDDL-1.0", "pddl"), ("ODC-By-1.0", "odc-by")):
        assert hub_license({spdx: 2}, []) == {"license": hub}
        assert hub_license({}, [{"name": spdx}]) == {"license": hub}
    assert hub_license({"EUPL-1.2": 1}, [])["license"] == "other"
    meta = card_metadata(title="t", languages={"en": 1, "unknown": 2},
                         document_licenses={"MIT": 1}, package_licenses=[], keywords=[],
                         shape=ReleaseShape(1, 10, 10))
    assert meta["language"] == ["en"] and meta["size_categories"] == ["n<1K"]


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "corpuspack.cli", *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, cwd=cwd)


def test_dry_run_push_lists_files(built, tmp_path: Path) -> None:
    config, _ = built
    done = cli("publish", str(config.package_dir), "--out", str(tmp_path / "rel"),
               "--push", "someone/corpus", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "dry run: would upload to someone/corpus:" in done.stdout
    for name in ("README.md", "SHA256SUMS", "croissant.json", "datapackage.json",
                 "data/train-00000-of-00001.parquet"):
        assert f"  {name} (" in done.stdout


def test_dry_run_without_a_repository_is_refused_before_writing(built, tmp_path: Path
                                                                 ) -> None:
    # it wrote the release, then listed nothing "to (no repository given)"
    config, _ = built
    done = cli("publish", str(config.package_dir), "--out", str(tmp_path / "rel"),
               "--dry-run", env={"CI": "1"})
    assert done.returncode == 2 and done.stderr.startswith("error: --dry-run lists")
    assert not (tmp_path / "rel").exists()


def test_push_without_network_fails_in_one_line(built, tmp_path: Path) -> None:
    config, _ = built
    token = "hf_" + "x" * 34
    done = cli("publish", str(config.package_dir), "--out", str(tmp_path / "rel"),
               "--push", "someone/corpus",
               env={"HF_ENDPOINT": "http://127.0.0.1:9", "HF_TOKEN": token,
                    "HF_HUB_OFFLINE": "0", "HF_HUB_ETAG_TIMEOUT": "2",
                    "HF_HUB_DOWNLOAD_TIMEOUT": "2"})
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert "error: upload to someone/corpus failed" in done.stderr
    assert token not in done.stderr + done.stdout
    assert sha256sums_ok(tmp_path / "rel") == []  # the local release is whole


def test_releases_in_folders_of_one_name_load_their_own_documents(tmp_path: Path) -> None:
    # datasets keys its cache of a local folder by the folder's name and the card's YAML:
    # two releases of the same shape in folders named "release" loaded as one
    from corpuspack.build import build
    from corpuspack.config import zero_config

    texts = {}
    for name, word in (("a", "herons"), ("b", "otters")):
        src = tmp_path / name / "src"
        src.mkdir(parents=True)
        (src / "one.txt").write_text(f"A page about {word} and the river they live by, "
                                     "long enough to be a document.\n", encoding="utf-8")
        build(zero_config(src, tmp_path / name / "pkg"), workers=1, cache=None)
        package = open_package(tmp_path / name / "pkg")
        publish(package, tmp_path / name / "release", changes=diff(None, package))
        texts[name] = [d["text"] for d in read_docs(tmp_path / name / "pkg")]
    for name in ("a", "b"):
        loaded = load_dataset(str(tmp_path / name / "release"), split="train")["text"]
        assert loaded == texts[name]
