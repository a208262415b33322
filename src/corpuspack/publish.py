"""``corpuspack publish``: a release folder for researchers and for the Hugging Face Hub.

The folder is at once a Hugging Face dataset repository (README.md with the card's YAML,
``data/train-*.parquet``) and a self-describing release: its own datapackage.json, a
Croissant file, LICENSE.md, CHANGELOG.md, the card's plots, and SHA256SUMS for every file
(``sha256sum -c SHA256SUMS``). The same package gives byte-identical files. The folder is
written beside its destination and swapped in whole; an upload starts only once it is
complete, so a failed upload leaves nothing half-published locally.

The release folder is corpuspack's own: ``corpuspack-files.json`` records every file in it,
and a folder holding anything else is never replaced (see :mod:`corpuspack.ownership`); an
output that is a symbolic link, overlaps the package's data, or is or contains the package
folder, the current folder or a ``.git`` folder is refused. One publish at a time writes a
folder (a lock beside it). A version that is already tagged (``v<version>``) with other
documents is refused: a version names one set of documents.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from corpuspack.card import render
from corpuspack.commit import recover_dir, replace_dir, write_json
from corpuspack.croissant import croissant
from corpuspack.document import table_schema, to_arrow
from corpuspack.errors import CorpusError, UsageError
from corpuspack.hub import ReleaseShape, card_metadata, check_card_metadata, push, upload_plan
from corpuspack.lock import exclusive, lock_path
from corpuspack.ownership import check_output, check_replaceable, write_record
from corpuspack.project import Project
from corpuspack.reader import Package
from corpuspack.safefs import (
    OWN_MARKER,
    make_own_dir,
    read_bytes,
    remove_own_dir,
    replace_file,
    write_new,
)
from corpuspack.versions import (
    TAG_PREFIX,
    Diff,
    changelog_entry,
    diff,
    previous_release,
    release_tags,
    update_changelog,
)

MiB = 1 << 20
MAX_TEXT_BYTES = 64 * MiB  # a data card or changelog to read
DEFAULT_OUT = "release"  # not "dist": Python packaging writes wheels there
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
        write_new(staging / "card" / image, data)
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
    write_new(staging / "README.md", f"---\n{front}---\n\n{card.text}".encode())
    write_new(staging / "LICENSE.md", _license_md(package).encode())
    write_new(staging / "CHANGELOG.md", changelog.encode())

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

    files = sorted(p for p in staging.rglob("*") if p.is_file() and p.name != OWN_MARKER)
    release.files = [(p.relative_to(staging).as_posix(), p.stat().st_size, _sha256(p))
                     for p in files]
    sums = "".join(f"{sha}  {rel}\n" for rel, _, sha in release.files).encode()
    write_new(staging / "SHA256SUMS", sums)
    owned = {rel: (size, sha) for rel, size, sha in release.files}
    owned["SHA256SUMS"] = (len(sums), hashlib.sha256(sums).hexdigest())
    write_record(staging, owned)
    return release


def check_release_out(package: Package, out: Path,
                      protect: tuple[tuple[str, Path], ...] = ()) -> None:
    """Refuse (UsageError) a release folder that would damage something (module docstring);
    ``protect`` adds folders it must not overlap (the sources)."""
    not_near = list(protect)
    if package.folder is not None:
        for resource in package.resources():
            path = resource.get("path") if isinstance(resource, dict) else None
            if isinstance(path, str) and "/" in path.strip("/"):
                not_near.append(("the package's data",
                                 package.folder / path.rsplit("/", 1)[0]))
    not_over = [("the package folder", package.folder)] if package.folder is not None else []
    check_output(out, "release folder", not_near=not_near, not_over=not_over)
    check_replaceable(out, "release folder")


def publish(package: Package, out: Path, *, card_text: str | None = None,
            changes: Diff | None = None, changelog_path: Path | None = None,
            hub_repo: str | None = None, push_to: str | None = None,
            dry_run: bool = False, protect: tuple[tuple[str, Path], ...] = ()) -> Release:
    """Write the release of ``package`` to ``out`` (replacing it whole) and optionally push.

    ``changes`` (the diff against the previous release) becomes this version's entry in
    ``changelog_path`` and in the release's CHANGELOG.md. Raises UsageError for an output
    corpuspack must not replace (:func:`check_release_out`), CorpusError for an invalid
    package or when another publish is writing ``out``.
    """
    from corpuspack.validate import validate_package

    check_release_out(package, out, protect)
    if package.folder is not None:
        report = validate_package(package.folder)
        if not report.valid:
            first = report.problems[0] if report.problems else None
            raise CorpusError("the package is not valid; run 'corpuspack validate' "
                              + (f"(first problem: {first.message})" if first else ""))
    changelog_text = _read_text(changelog_path)
    entry = changelog_entry(changes) if changes is not None else ""
    changelog = update_changelog(changelog_text, entry) if entry else (changelog_text or "")
    if entry and changelog == changelog_text:
        entry = ""  # this version's entry was recorded when it was first released
    out.parent.mkdir(parents=True, exist_ok=True)
    out = out.parent.resolve() / out.name
    with exclusive(lock_path(out.parent, out.name), str(out)):
        recover_dir(out)
        check_release_out(package, out, protect)
        staging = make_own_dir(out.parent, f".corpuspack-staging-{out.name}-")
        try:
            release = build_release(package, staging, card_text=card_text,
                                    changelog=changelog, hub_repo=push_to or hub_repo)
            replace_dir(staging, out)
        finally:
            remove_own_dir(staging)
    release.folder = out
    release.changelog = entry
    if changelog_path is not None and changelog != (changelog_text or ""):
        replace_file(changelog_path, changelog.encode())
    if push_to:
        release.plan = upload_plan(out)
        if not dry_run:
            release.pushed = push(out, push_to, package.version)
    return release


def _read_text(path: Path | None) -> str | None:
    """A hand-written text file of the project (card, changelog), or None when absent; a
    link out of its folder, a FIFO or a huge file is refused."""
    if path is None or not os.path.lexists(path):
        return None
    data = read_bytes(path, root=path.parent, max_bytes=MAX_TEXT_BYTES, what=path.name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text: not rewriting it (convert it to UTF-8 "
                         "first)") from None


def sha256sums_ok(folder: Path) -> list[str]:
    """Files whose checksum in SHA256SUMS does not match (empty when all match)."""
    bad = []
    for line in (folder / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        sha, rel = line.split("  ", 1)
        path = folder / rel
        if not path.is_file() or _sha256(path) != sha:
            bad.append(rel)
    return bad


def _check_tagged_version(project: Project) -> None:
    """Refuse to publish a version that is tagged already with other documents."""
    assert project.repo is not None
    tag = TAG_PREFIX + project.package.version
    if not any(name == tag for _, name in release_tags(project.repo)):
        return
    changes = diff(project.open_revision(tag), project.package)
    if changes.changed_anything:
        c = changes.counts
        raise CorpusError(f"version {project.package.version} was released already (tag {tag}) "
                          f"with other documents ({c['added']} added, {c['removed']} removed, "
                          f"{c['changed']} changed since): raise the version in the config")


def publish_project(project: Project, out: Path, *, base: str | None = None,
                    push_to: str | None = None, dry_run: bool = False) -> Release:
    """Publish a project's package: the changelog entry compares it with ``base`` (a
    folder, datapackage.json or git revision), by default the previous release tag."""
    if project.repo is not None:
        _check_tagged_version(project)
    if base is None and project.repo is not None:
        base = previous_release(project.repo, project.package.version)
    old = project.open_revision(base) if base else None
    card_text = _read_text(project.card)
    return publish(project.package, out, card_text=card_text, changes=diff(old, project.package),
                   changelog_path=project.changelog, hub_repo=project.hub_repo,
                   push_to=push_to or (project.hub_repo if dry_run else None), dry_run=dry_run,
                   protect=_sources_of(project))


def _sources_of(project: Project) -> tuple[tuple[str, Path], ...]:
    """The source folder of the config in the current folder, when it builds this package."""
    from corpuspack.config import load_config

    try:
        config = load_config()
    except CorpusError:
        return ()
    if os.path.realpath(config.descriptor) != os.path.realpath(project.descriptor):
        return ()
    return (("the sources", config.source_dir),)
