"""The Frictionless Data Package (v2) descriptor of a built corpus."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

import corpuspack
from corpuspack.config import CorpusConfig
from corpuspack.shards import ShardInfo

PROFILE = "https://datapackage.org/profiles/2.0/datapackage.json"
SCHEMA_FILE = "schema.json"
REPORT_FILE = "build-report.json"


def relative(path: Path, start: Path) -> str:
    """``path`` relative to ``start`` as a POSIX path (how a descriptor names files)."""
    return Path(os.path.relpath(path, start)).as_posix()


def text_quality(config: CorpusConfig) -> dict[str, Any]:
    """The text-quality settings a build ran with (recorded in the descriptor, shown in the
    card); unset quality thresholds are left out. ``boilerplate`` holds the ``[boilerplate]``
    values, ``formats``: the rules each format ran with outside any folder entry (every
    key of :data:`corpuspack.boilerplate.SCOPE_KEYS`, ``min_chrome_lines`` resolved), and
    ``folders``: each ``[[boilerplate.folders]]`` entry's glob and the keys it changes."""
    filters = {k: v for k, v in dataclasses.asdict(config.quality).items()
               if v is not None and v is not False}
    rules = config.boilerplate
    boilerplate = {f.name: getattr(rules, f.name) for f in dataclasses.fields(rules)
                   if f.name not in ("formats", "folders")}
    return {"boilerplate": {**boilerplate, **rules.where()},
            "near_dedup": dataclasses.asdict(config.near_dedup),
            "quality": filters,
            "pii": dataclasses.asdict(config.pii)}


def descriptor(config: CorpusConfig, shards: list[ShardInfo], statistics: dict[str, Any],
               build: dict[str, Any]) -> dict[str, Any]:
    """The datapackage.json of a corpus whose data files are ``shards`` in config.data_dir."""
    data = relative(config.data_dir, config.package_dir)
    out: dict[str, Any] = {"$schema": PROFILE, "name": config.name}
    for key in ("title", "version", "description", "homepage"):
        value = getattr(config, key)
        if value:
            out[key] = value
    for key in ("keywords", "licenses", "sources", "contributors"):
        value = getattr(config, key)
        if value:
            out[key] = list(value)
    resources = []
    for shard in shards:
        resource: dict[str, Any] = {
            "name": shard.name,
            "type": "table",
            "path": f"{data}/{shard.filename}",
            "format": "jsonl",
            "mediatype": "application/jsonl",
            "encoding": "utf-8",
        }
        if shard.filename.endswith(".gz"):
            resource["compression"] = "gz"
        resource.update({"bytes": shard.bytes, "hash": f"sha256:{shard.sha256}",
                         "schema": f"{data}/{SCHEMA_FILE}"})
        resources.append(resource)
    out["resources"] = resources
    out["corpuspack"] = {
        "generator": f"corpuspack {corpuspack.__version__}",
        "options": dataclasses.asdict(config.options),
        "text_quality": text_quality(config),
        "report": f"{data}/{REPORT_FILE}",
        "rows": {shard.name: shard.rows for shard in shards},
        "statistics": statistics,
        "build": build,
    }
    return out
