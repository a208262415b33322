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
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import yaml

from corpuspack.card import render
from corpuspack.commit import recover_dir, replace_dir, write_json
from corpuspack.config import CorpusConfig
from corpuspack.croissant import croissant
from corpuspack.document import table_schema, to_arrow
from corpuspack.errors import CorpusError, UsageError
from corpuspack.hub import (
    ReleaseShape,
    card_metadata,
    check_card_metadata,
    files_digest,
    push,
    upload_plan,
)
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
from corpuspack.splits import (
    DEFAULT_CONFIG,
    MAX_PARTS,
    TRAIN,
    Layout,
    iter_in_id_order,
    layout_at,
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
    warnings: list[str] = field(default_factory=list)  # one line each, such as a split's
    # globs matching no document


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(MiB), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Part:
    """The documents of one split of one subset combination: its Parquet files and counts."""

    values: tuple[str, ...]  # the subset values (Layout.subsets.by order)
    split: str
    files: list[str] = field(default_factory=list)
    documents: int = 0
    words: int = 0
    chars: int = 0
    json_bytes: int = 0
    num_bytes: int = 0  # Arrow bytes, as datasets counts a split's num_bytes


def _write_files(docs: Iterator[dict[str, Any]], part: Part, folder: Path) -> None:
    """Write one part's documents (id order) as Parquet files of about SHARD_BYTES of JSON
    each, row groups of about ROW_GROUP_BYTES."""
    import pyarrow.parquet as pq

    total, json_bytes = part.documents, max(1, part.json_bytes)
    n_files = max(1, -(-json_bytes // SHARD_BYTES))
    rows_per_group = max(1000, min(100_000, ROW_GROUP_BYTES * max(1, total) // json_bytes))
    directory = "/".join(("data", *part.values))
    (folder / directory).mkdir(parents=True, exist_ok=True)
    part.files = [f"{directory}/{part.split}-{i:05d}-of-{n_files:05d}.parquet"
                  for i in range(n_files)]
    for index, name in enumerate(part.files):
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
            part.num_bytes += record_batch.nbytes
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


PART_BUFFER_BYTES = 64 * MiB  # JSON lines held before they are appended to the part files


def _partition(package: Package, layout: Layout, tmp: Path
               ) -> dict[tuple[str, ...], tuple[Part, Path]]:
    """One pass over the package: each document appended, as a JSON line, to the temporary
    file of its (subset values, split), in id order; at most PART_BUFFER_BYTES held."""
    assign = layout.splits.assigner()
    parts: dict[tuple[str, ...], Part] = {}
    paths: dict[tuple[str, ...], Path] = {}
    buffers: dict[tuple[str, ...], list[bytes]] = {}
    held = 0

    def flush() -> None:
        for key, lines in buffers.items():
            with open(paths[key], "ab") as fh:
                fh.write(b"".join(lines))
        buffers.clear()

    for doc in iter_in_id_order(package):  # a release read again: its files merged
        values, split = layout.subsets.values(doc), assign(doc)
        key = (*values, split)
        part = parts.get(key)
        if part is None:
            if len(parts) == MAX_PARTS:
                raise CorpusError(f"the splits and subsets make more than {MAX_PARTS} "
                                  f"(subset, split) groups of files (document {doc['id']} "
                                  f"starts group {'/'.join(key)[:120]!r}); at most "
                                  f"{MAX_PARTS}: fewer subset columns or splits")
            part = parts[key] = Part(values, split)
            paths[key] = tmp / f"{len(paths)}.jsonl"
        line = orjson.dumps(doc, option=orjson.OPT_APPEND_NEWLINE)
        part.documents += 1
        part.words += int(doc.get("n_words") or 0)
        part.chars += int(doc.get("n_chars") or 0)
        part.json_bytes += len(line)
        buffers.setdefault(key, []).append(line)
        held += len(line)
        if held > PART_BUFFER_BYTES:
            flush()
            held = 0
    flush()
    return {key: (part, paths[key]) for key, part in parts.items()}


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, "rb") as fh:
        for line in fh:
            yield orjson.loads(line)


def write_parquet(package: Package, folder: Path, layout: Layout | None = None
                  ) -> tuple[list[Part], ReleaseShape]:
    """Write the documents as Parquet, each file sorted by id: without splits or subsets
    ``data/train-NNNNN-of-NNNNN.parquet``; otherwise one group of files per split and
    subset combination, ``data/<subset values>/<split>-NNNNN-of-NNNNN.parquet``
    (:mod:`corpuspack.splits`). Returns the parts, sorted by path, and the release's shape.
    Raises CorpusError when the package has more documents than its statistics say, or a
    document's split cannot be decided (``by = "meta.KEY"``)."""
    layout = layout or Layout()
    stats = package.statistics
    total = int(stats.get("documents", 0))
    if not layout.splits.active and not layout.subsets.by:
        part = Part((), TRAIN, documents=total, words=int(stats.get("words", 0)),
                    chars=int(stats.get("chars", 0)),
                    # the JSON lines' size (resource bytes are compressed for gzip shards)
                    json_bytes=int(stats.get("text_bytes", 0)) + 600 * total)
        _write_files(iter_in_id_order(package), part, folder)
        parts = [part]
    else:
        with tempfile.TemporaryDirectory(prefix="corpuspack-parts-") as tmp:
            found = _partition(package, layout, Path(tmp))
            counted = sum(part.documents for part, _ in found.values())
            if counted != total:
                raise CorpusError(f"the package holds {counted} documents, its statistics say "
                                  f"{total}: run 'corpuspack validate'")
            parts = []
            for key in sorted(found):
                part, lines = found[key]
                _write_files(_lines(lines), part, folder)
                parts.append(part)
    (folder / "data").mkdir(exist_ok=True)
    download = sum((folder / n).stat().st_size for p in parts for n in p.files)
    shape = ReleaseShape(total, sum(p.num_bytes for p in parts), download)
    return parts, shape


def layout_statistics(parts: list[Part], layout: Layout) -> dict[str, Any]:
    """Documents, words and characters per split, and per config and split (the configs of
    :meth:`corpuspack.splits.Subsets.config_names`, ``default`` holding every document)."""
    splits: dict[str, dict[str, int]] = {}
    configs: dict[str, dict[str, dict[str, int]]] = {}
    for part in parts:
        for name in (DEFAULT_CONFIG, *layout.subsets.config_names(part.values)):
            for slot in (configs.setdefault(name, {}).setdefault(part.split, {}),
                         *((splits.setdefault(part.split, {}),)
                           if name == DEFAULT_CONFIG else ())):
                for key in ("documents", "words", "chars", "num_bytes"):
                    slot[key] = slot.get(key, 0) + getattr(part, key)
    return {"splits": dict(sorted(splits.items(), key=_split_order)),
            "configs": {name: dict(sorted(v.items(), key=_split_order))
                        for name, v in sorted(configs.items(), key=_config_order)}}


def _split_order(item: tuple[str, Any]) -> tuple[bool, str]:
    return item[0] != TRAIN, item[0]


def _config_order(item: tuple[str, Any]) -> tuple[bool, str]:
    return item[0] != DEFAULT_CONFIG, item[0]


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


def _resource_name(path: str) -> str:
    """A Parquet file's resource name: its path under data/ without the extension (the
    plain layout's names, ``train-00000-of-00001``, are what they always were)."""
    return path.removeprefix("data/").removesuffix(".parquet")


def build_release(package: Package, staging: Path, *, card_text: str | None,
                  changelog: str, hub_repo: str | None, layout: Layout | None = None
                  ) -> Release:
    """Write every file of a release into ``staging``, laid out by ``layout`` (splits and
    subsets; default: one ``train`` split)."""
    layout = layout or Layout()
    release = Release(staging, documents=package.statistics.get("documents", 0))
    parts, shape = write_parquet(package, staging, layout)
    names = sorted(n for p in parts for n in p.files)
    release.parquet_files = len(names)
    if layout.splits.by == "folder":
        found = {p.split for p in parts if p.documents}
        release.warnings += [f"split {name!r}: its globs ({', '.join(globs)[:200]}) match no "
                             "document" for name, globs in layout.splits.folders
                             if name not in found]
    counts = layout_statistics(parts, layout)
    loader = hub_repo or "path/to/this/folder"
    card = render(package, card_text, plots_rel="card", loader=loader,
                  layout=(layout, counts))
    (staging / "card").mkdir()
    for image, data in card.images.items():
        write_new(staging / "card" / image, data)
    d = package.descriptor
    parquet = [(n, (staging / n).stat().st_size, _sha256(staging / n)) for n in names]
    meta = card_metadata(
        title=d.get("title") or d.get("name", "corpus"),
        languages=package.statistics.get("languages", {}),
        document_licenses=package.statistics.get("licenses", {}),
        package_licenses=list(d.get("licenses", [])), keywords=list(d.get("keywords", [])),
        shape=shape, configs=_configs(parts, layout), counts=counts,
        digest=files_digest([(n, sha) for n, _, sha in parquet]))
    problems = check_card_metadata(meta)
    if problems:
        raise CorpusError("dataset card metadata: " + "; ".join(problems))
    front = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, width=1000)
    write_new(staging / "README.md", f"---\n{front}---\n\n{card.text}".encode())
    write_new(staging / "LICENSE.md", _license_md(package).encode())
    write_new(staging / "CHANGELOG.md", changelog.encode())

    descriptor = {k: v for k, v in d.items() if k not in ("resources", "corpuspack")}
    descriptor["resources"] = [
        {"name": _resource_name(n), "type": "table", "path": n, "format": "parquet",
         "mediatype": PARQUET_MEDIATYPE, "schema": release_schema()}
        for n, _, _ in parquet
    ]
    of_file = {n: part for part in parts for n in part.files}
    # frictionless does not check bytes or hash of Parquet resources (SHA256SUMS does)
    descriptor["corpuspack"] = {
        "generator": d.get("corpuspack", {}).get("generator"),
        "statistics": package.statistics,
        "files": {n: {"bytes": size, "sha256": sha} for n, size, sha in parquet},
        "layout": {**layout.to_json(),
                   "files": {n: {"split": of_file[n].split,
                                 "subset": dict(zip(layout.subsets.by, of_file[n].values,
                                                    strict=True))} for n in names},
                   "statistics": counts},
    }
    write_json(staging / "datapackage.json", descriptor)
    url = f"https://huggingface.co/datasets/{hub_repo}" if hub_repo else d.get("homepage")
    splits = {split: [n for n in names if of_file[n].split == split]
              for split in counts["splits"]} if layout.splits.active else None
    write_json(staging / "croissant.json", croissant(descriptor, parquet, url, splits))

    files = sorted(p for p in staging.rglob("*") if p.is_file() and p.name != OWN_MARKER)
    release.files = [(p.relative_to(staging).as_posix(), p.stat().st_size, _sha256(p))
                     for p in files]
    sums = "".join(f"{sha}  {rel}\n" for rel, _, sha in release.files).encode()
    write_new(staging / "SHA256SUMS", sums)
    owned = {rel: (size, sha) for rel, size, sha in release.files}
    owned["SHA256SUMS"] = (len(sums), hashlib.sha256(sums).hexdigest())
    write_record(staging, owned)
    return release


def _configs(parts: list[Part], layout: Layout) -> dict[str, dict[str, list[str]]]:
    """config name -> split -> its Parquet files, sorted; ``default`` holds every file."""
    out: dict[str, dict[str, list[str]]] = {}
    for part in parts:
        for name in (DEFAULT_CONFIG, *layout.subsets.config_names(part.values)):
            out.setdefault(name, {}).setdefault(part.split, []).extend(part.files)
    return {name: {split: sorted(files) for split, files in sorted(v.items(), key=_split_order)}
            for name, v in sorted(out.items(), key=_config_order)}


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
            dry_run: bool = False, protect: tuple[tuple[str, Path], ...] = (),
            layout: Layout | None = None) -> Release:
    """Write the release of ``package`` to ``out`` (replacing it whole) and optionally push.

    ``layout``: the splits and subsets (the config's ``[splits]`` and ``[subsets]``;
    default: one ``train`` split, no subsets).

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
                                    changelog=changelog, hub_repo=push_to or hub_repo,
                                    layout=layout)
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
                    push_to: str | None = None, dry_run: bool = False,
                    config: CorpusConfig | None = None) -> Release:
    """Publish a project's package: the changelog entry compares it with ``base`` (a
    folder, datapackage.json or git revision), by default the previous release tag, and
    names the documents whose split changed (the splits of ``base`` are its config's at
    that revision, or what a release folder records). The splits and subsets are
    ``config``'s, by default the project's (:func:`config_of`)."""
    if project.repo is not None:
        _check_tagged_version(project)
    if base is None and project.repo is not None:
        base = previous_release(project.repo, project.package.version)
    old = project.open_revision(base) if base else None
    card_text = _read_text(project.card)
    config = config or config_of(project)
    layout = Layout(config.splits, config.subsets) if config is not None else None
    old_layout = layout_at(base, old, project.repo, config) if base and old else None
    changes = diff(old, project.package, layouts=(old_layout, layout))
    return publish(project.package, out, card_text=card_text, changes=changes,
                   changelog_path=project.changelog, hub_repo=project.hub_repo,
                   push_to=push_to or (project.hub_repo if dry_run else None), dry_run=dry_run,
                   protect=_sources_of(config), layout=layout)


def config_of(project: Project) -> CorpusConfig | None:
    """The project's config (:attr:`Project.config`: given with --config, or the one it was
    found by, a package folder's own included: :func:`corpuspack.project.locate`); for a
    bare package folder, the config in the current folder when it builds this package."""
    from corpuspack.config import load_config

    if project.config is not None:
        return project.config
    try:
        config = load_config()
    except CorpusError:
        return None
    if os.path.realpath(config.descriptor) != os.path.realpath(project.descriptor):
        return None
    return config


def _sources_of(config: CorpusConfig | None) -> tuple[tuple[str, Path], ...]:
    """The source folder of the config in the current folder, when it builds this package."""
    return (("the sources", config.source_dir),) if config is not None else ()
