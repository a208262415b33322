"""``corpuspack publish``: a release folder for researchers and for the Hugging Face Hub.

The folder is at once a Hugging Face dataset repository (README.md with the card's YAML,
``data/train-*.parquet``) and a self-describing release: its own datapackage.json, a
Croissant file, LICENSE.md, CHANGELOG.md, the card's plots, and SHA256SUMS for every file
(``sha256sum -c SHA256SUMS``). The same package gives byte-identical files. The folder is
written beside its destination and swapped in whole; an upload starts only once it is
complete, so a failed upload leaves nothing half-published locally.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from corpuspack.card import render
from corpuspack.croissant import croissant
from corpuspack.document import table_schema, to_arrow
from corpuspack.errors import CorpusError
from corpuspack.hub import ReleaseShape, card_metadata, check_card_metadata, push, upload_plan
from corpuspack.project import Project
from corpuspack.reader import Package
from corpuspack.versions import (
    Diff,
    changelog_entry,
    diff,
    previous_release,
    update_changelog,
)
from corpuspack.write import recover_dir, replace_dir, write_json

MiB = 1 << 20
SHARD_BYTES = 256 * MiB  # of JSON lines per Parquet file; Parquet is several times smaller
ROW_GROUP_BYTES = 32 * MiB
PARQUET_MEDIATYPE = "application/vnd.apache.parquet"


@dataclass
class Release:
    """A written release folder."""

    folder: Path
    files: list[tuple[str, int, str]] = field(default_factory=list)  # path, bytes, sha256
    documents: int = 0
    parquet_files: int = 0
    pushed: str | None = None
    plan: list[tuple[str, int]] = field(default_factory=list)
    changelog: str = ""


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(MiB), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_parquet(package: Package, folder: Path) -> tuple[list[str], ReleaseShape]:
    """Write the documents as ``data/train-NNNNN-of-NNNNN.parquet``, sorted by id."""
    import pyarrow.parquet as pq

    stats = package.statistics
    total = stats.get("documents", 0)
    # the JSON lines' size, uncompressed (resource bytes are compressed for gzip shards)
    json_bytes = int(stats.get("text_bytes", 0)) + 600 * total or 1
    n_files = max(1, -(-json_bytes // SHARD_BYTES))
    rows_per_group = max(1000, min(100_000, ROW_GROUP_BYTES * max(1, total) // json_bytes))
    data = folder / "data"
    data.mkdir(parents=True)
    names = [f"data/train-{i:05d}-of-{n_files:05d}.parquet" for i in range(n_files)]
    num_bytes = 0
    docs = package.iter_documents()
    for index, name in enumerate(names):
        rows = total * (index + 1) // n_files - total * index // n_files
        writer = None
        while rows > 0:
            batch = []
            for doc in docs:
                batch.append(doc)
                if len(batch) == min(rows, rows_per_group):
                    break
            if not batch:
                break
            rows -= len(batch)
            record_batch = to_arrow(batch)
            num_bytes += record_batch.nbytes
            if writer is None:
                writer = pq.ParquetWriter(
                    folder / name, record_batch.schema, compression="zstd",
                    compression_level=3, write_statistics=True, write_page_index=True,
                    use_dictionary=["format", "language", "license", "encoding", "publisher"],
                    sorting_columns=[pq.SortingColumn(0)])
            writer.write_batch(record_batch, row_group_size=rows_per_group)
        if writer is not None:
            writer.close()
    if next(docs, None) is not None:
        raise CorpusError("the package holds more documents than its statistics say: "
                          "run 'corpuspack validate'")
    download = sum((folder / n).stat().st_size for n in names)
    return names, ReleaseShape(total, num_bytes, download)


def release_schema() -> dict[str, Any]:
    """The Table Schema of the Parquet files (metadata is JSON text there)."""
    schema = table_schema()
    # frictionless reads Parquet through pandas, where an empty number is NaN
    schema["missingValues"] = ["", "nan"]
    for spec in schema["fields"]:
        if spec["type"] == "object":
            spec["type"] = "string"
            spec["description"] += " (a JSON object, as text)"
    return schema


def _license_md(package: Package) -> str:
    d = package.descriptor
    lines = ["# Licences", "", "The documents of this corpus carry their own licences, in the "
             "`license` column; the package states:", ""]
    lines += [f"- {lic.get('title') or lic.get('name')}" for lic in d.get("licenses", [])] or [
        "- (no package licence stated)"]
    lines += ["", "| licence | documents |", "|---|---|"]
    lines += [f"| {k} | {v:,} |" for k, v in package.statistics.get("licenses", {}).items()]
    lines += ["", "`NOASSERTION` means that no licence was determined for those documents: do "
              "not assume you may redistribute them.", ""]
    return "\n".join(lines)


def build_release(package: Package, staging: Path, *, card_text: str | None,
                  changelog: str, hub_repo: str | None) -> Release:
    """Write every file of a release into ``staging``."""
    release = Release(staging, documents=package.statistics.get("documents", 0))
    names, shape = write_parquet(package, staging)
    release.parquet_files = len(names)
    loader = hub_repo or "path/to/this/folder"
    card = render(package, card_text, plots_rel="card", loader=loader)
    (staging / "card").mkdir()
    for image, data in card.images.items():
        (staging / "card" / image).write_bytes(data)
    d = package.descriptor
    meta = card_metadata(
        title=d.get("title") or d.get("name", "corpus"),
        languages=package.statistics.get("languages", {}),
        document_licenses=package.statistics.get("licenses", {}),
        package_licenses=list(d.get("licenses", [])), keywords=list(d.get("keywords", [])),
        shape=shape)
    problems = check_card_metadata(meta)
    if problems:
        raise CorpusError("dataset card metadata: " + "; ".join(problems))
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    (staging / "README.md").write_text(f"---\n{front}---\n\n{card.text}", encoding="utf-8")
    (staging / "LICENSE.md").write_text(_license_md(package), encoding="utf-8")
    (staging / "CHANGELOG.md").write_text(changelog, encoding="utf-8")

    parquet = [(n, (staging / n).stat().st_size, _sha256(staging / n)) for n in names]
    descriptor = {k: v for k, v in d.items() if k not in ("resources", "corpuspack")}
    descriptor["resources"] = [
        {"name": Path(n).name.split(".")[0], "type": "table", "path": n, "format": "parquet",
         "mediatype": PARQUET_MEDIATYPE, "schema": release_schema()}
        for n, _, _ in parquet
    ]
    # frictionless does not check bytes or hash of Parquet resources (SHA256SUMS does)
    descriptor["corpuspack"] = {
        "generator": d.get("corpuspack", {}).get("generator"),
        "statistics": package.statistics,
        "files": {n: {"bytes": size, "sha256": sha} for n, size, sha in parquet},
    }
    write_json(staging / "datapackage.json", descriptor)
    url = f"https://huggingface.co/datasets/{hub_repo}" if hub_repo else d.get("homepage")
    write_json(staging / "croissant.json", croissant(d, parquet, url))

    files = sorted(p for p in staging.rglob("*") if p.is_file())
    release.files = [(p.relative_to(staging).as_posix(), p.stat().st_size, _sha256(p))
                     for p in files]
    with open(staging / "SHA256SUMS", "w", encoding="utf-8") as fh:
        for rel, _, sha in release.files:
            fh.write(f"{sha}  {rel}\n")
    return release


def publish(package: Package, out: Path, *, card_text: str | None = None,
            changes: Diff | None = None, changelog_path: Path | None = None,
            hub_repo: str | None = None, push_to: str | None = None,
            dry_run: bool = False) -> Release:
    """Write the release of ``package`` to ``out`` (replacing it whole) and optionally push.

    ``changes`` (the diff against the previous release) becomes this version's entry in
    ``changelog_path`` and in the release's CHANGELOG.md.
    """
    from corpuspack.validate import validate_package

    if package.folder is not None:
        report = validate_package(package.folder)
        if not report.valid:
            first = report.problems[0] if report.problems else None
            raise CorpusError("the package is not valid; run 'corpuspack validate' "
                              + (f"(first problem: {first.message})" if first else ""))
    changelog_text = changelog_path.read_text(encoding="utf-8") if (
        changelog_path and changelog_path.exists()) else None
    entry = changelog_entry(changes) if changes is not None else ""
    changelog = update_changelog(changelog_text, entry) if entry else (changelog_text or "")
    if entry and changelog == changelog_text:
        entry = ""  # this version's entry was recorded when it was first released
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    recover_dir(out)
    staging = out.parent / f".corpuspack-staging-{out.name}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        release = build_release(package, staging, card_text=card_text, changelog=changelog,
                                hub_repo=push_to or hub_repo)
        replace_dir(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    release.folder = out
    release.changelog = entry
    if changelog_path is not None and changelog != (changelog_text or ""):
        changelog_path.write_text(changelog, encoding="utf-8")
    if push_to:
        release.plan = upload_plan(out)
        if not dry_run:
            release.pushed = push(out, push_to, package.version)
    return release


def sha256sums_ok(folder: Path) -> list[str]:
    """Files whose checksum in SHA256SUMS does not match (empty when all match)."""
    bad = []
    for line in (folder / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        sha, rel = line.split("  ", 1)
        path = folder / rel
        if not path.is_file() or _sha256(path) != sha:
            bad.append(rel)
    return bad


def publish_project(project: Project, out: Path, *, base: str | None = None,
                    push_to: str | None = None, dry_run: bool = False) -> Release:
    """Publish a project's package: the changelog entry compares it with ``base`` (a
    folder, datapackage.json or git revision), by default the previous release tag."""
    if base is None and project.repo is not None:
        base = previous_release(project.repo, project.package.version)
    old = project.open_revision(base) if base else None
    card_text = project.card.read_text(encoding="utf-8") if project.card.exists() else None
    return publish(project.package, out, card_text=card_text, changes=diff(old, project.package),
                   changelog_path=project.changelog, hub_repo=project.hub_repo,
                   push_to=push_to or (project.hub_repo if dry_run else None), dry_run=dry_run)
