"""Curator metadata kept beside the sources: sidecar files and folder manifests.

Sidecar
    ``NAME.meta.json``, ``NAME.meta.yaml`` or ``NAME.meta.yml`` next to a source file, where
    NAME is the file's full name (``page.html.meta.yaml``) or its name without its format
    and ``.gz`` extensions (``page.meta.yaml``); the full-name form wins. It holds one
    object of metadata.
Manifest
    ``_manifest.csv`` or ``_manifest.jsonl`` in any folder. Each row has a ``path`` (relative to
    the manifest's folder, shell wildcards allowed, ``*`` also matching ``/``) and metadata
    columns; it applies to matching files in that folder and below. Later rows override
    earlier ones, and deeper manifests override shallower ones; empty CSV cells are ignored.
"""

from __future__ import annotations

import csv
import fnmatch
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import yaml

from corpuspack.errors import SkipFile

SIDECAR_SUFFIXES = (".meta.json", ".meta.yaml", ".meta.yml")
MANIFEST_NAMES = frozenset({"_manifest.csv", "_manifest.jsonl"})
_MAX_METADATA_BYTES = 16 << 20


def is_sidecar(name: str) -> bool:
    """True for a sidecar metadata file name."""
    return name.lower().endswith(SIDECAR_SUFFIXES)


def _parse_mapping(data: bytes, name: str) -> dict[str, Any]:
    try:
        if name.lower().endswith(".json"):
            value = orjson.loads(data)
        else:
            value = yaml.safe_load(data.decode("utf-8-sig"))
    except (orjson.JSONDecodeError, yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise SkipFile(f"invalid metadata file {name}: {first}") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise SkipFile(f"invalid metadata file {name}: not a mapping of keys to values")
    return {str(k): v for k, v in value.items()}


def sidecar_names(name: str) -> list[str]:
    """Candidate sidecar file names of a source file name, most specific first."""
    base = name[:-3] if name.lower().endswith(".gz") else name
    stem = os.path.splitext(base)[0]
    out = [name + s for s in SIDECAR_SUFFIXES]
    if stem != name:
        out += [stem + s for s in SIDECAR_SUFFIXES]
    return out


def read_sidecar(path: str | None) -> dict[str, Any]:
    """Metadata from a sidecar file ({} for None)."""
    if path is None:
        return {}
    if os.path.getsize(path) > _MAX_METADATA_BYTES:
        raise SkipFile(f"metadata file {os.path.basename(path)} is too large")
    with open(path, "rb") as fh:
        return _parse_mapping(fh.read(), os.path.basename(path))


@dataclass(frozen=True)
class Manifest:
    """Rows of one manifest file, with the folder they are relative to."""

    prefix: str
    rows: tuple[tuple[str, dict[str, Any]], ...]

    def lookup(self, rel: str) -> dict[str, Any]:
        """Merged metadata of every row whose pattern matches ``rel`` (a source-relative path)."""
        if not rel.startswith(self.prefix):
            return {}
        local = rel[len(self.prefix):]
        out: dict[str, Any] = {}
        for pattern, meta in self.rows:
            if pattern == local or fnmatch.fnmatchcase(local, pattern):
                out.update(meta)
        return out


def load_manifest(path: Path, prefix: str) -> Manifest:
    """Read a manifest file; ``prefix`` is its folder relative to the source root."""
    if path.stat().st_size > _MAX_METADATA_BYTES:
        raise SkipFile("manifest is too large")
    data = path.read_bytes()
    rows: list[tuple[str, dict[str, Any]]] = []
    if path.name.endswith(".csv"):
        try:
            reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
            records: list[dict[str, Any]] = [
                {k: v for k, v in row.items() if k and v not in (None, "")} for row in reader
            ]
        except (UnicodeDecodeError, csv.Error) as exc:
            raise SkipFile(f"invalid manifest: {exc}") from None
    else:
        records = []
        for number, line in enumerate(data.splitlines(), 1):
            if not line.strip():
                continue
            try:
                value = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise SkipFile(f"invalid manifest: line {number}: {exc}") from None
            if not isinstance(value, dict):
                raise SkipFile(f"invalid manifest: line {number} is not an object")
            records.append(value)
    for number, record in enumerate(records, 1):
        pattern = record.pop("path", None)
        if not isinstance(pattern, str) or not pattern:
            raise SkipFile(f"invalid manifest: row {number} has no path")
        rows.append((pattern.removeprefix("./"), record))
    return Manifest(prefix, tuple(rows))
