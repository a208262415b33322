"""The Hugging Face side of a release: dataset card metadata, its checks, and the upload.

``DatasetCard.validate()`` needs the Hub (it fails offline) and both the Hub and
``datasets`` accept a misspelled key or a bogus language code silently, so the metadata is
checked here against the Hub's licence list, ISO 639 and the size categories.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from corpuspack.document import hf_features
from corpuspack.errors import CorpusError

# The Hub's licence identifiers (huggingface/hub-docs, docs/hub/repositories-licenses.md).
HUB_LICENSES = frozenset("""
apache-2.0 mit openrail bigscience-openrail-m creativeml-openrail-m bigscience-bloom-rail-1.0
bigcode-openrail-m afl-3.0 artistic-2.0 bsl-1.0 bsd bsd-2-clause bsd-3-clause
bsd-3-clause-clear c-uda cc cc0-1.0 cc-by-2.0 cc-by-2.5 cc-by-3.0 cc-by-4.0 cc-by-sa-3.0
cc-by-sa-4.0 cc-by-nc-2.0 cc-by-nc-3.0 cc-by-nc-4.0 cc-by-nd-4.0 cc-by-nc-nd-3.0
cc-by-nc-nd-4.0 cc-by-nc-sa-2.0 cc-by-nc-sa-3.0 cc-by-nc-sa-4.0 cdla-sharing-1.0
cdla-permissive-1.0 cdla-permissive-2.0 wtfpl ecl-2.0 epl-1.0 epl-2.0 etalab-2.0 eupl-1.1
agpl-3.0 gfdl gpl gpl-2.0 gpl-3.0 lgpl lgpl-2.1 lgpl-3.0 isc lppl-1.3c ms-pl mpl-2.0 odc-by
odbl openrail++ osl-3.0 postgresql ofl-1.1 ncsa unlicense zlib pddl lgpl-lr
deepfloyd-if-license llama2 gemma unknown other
""".split())
SIZE_CATEGORIES = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"),
                   (1_000_000, "100K<n<1M"), (10_000_000, "1M<n<10M"),
                   (100_000_000, "10M<n<100M"), (1_000_000_000, "100M<n<1B"))
UNKNOWN_LICENSES = {"noassertion", "unspecified", "unknown", "none"}
SPLIT = "train"


def size_category(n: int) -> str:
    """The Hub's size category for ``n`` examples."""
    return next((label for limit, label in SIZE_CATEGORIES if n < limit), "n>1B")


def hub_id(spdx: str) -> str | None:
    """The Hub's identifier of an SPDX licence id, if it has one: the id in lower case, or
    without its ``-only``/``-or-later`` suffix (GPL family), or without its version when the
    Hub names the licence unversioned (``ODbL-1.0`` -> ``odbl``)."""
    lower = spdx.strip().lower()
    for candidate in (lower, re.sub(r"-(only|or-later)$", "", lower),
                      re.sub(r"(-\d+(\.\d+)*)?(-(only|or-later))?$", "", lower)):
        if candidate in HUB_LICENSES and candidate not in ("other", "unknown"):
            return candidate
    return None


def hub_license(document_licenses: dict[str, int], package_licenses: list[dict[str, Any]]
                ) -> dict[str, str]:
    """The card's licence keys: the Hub identifier, and a name and link for ``other``."""
    names = {str(lic.get("name", "")) for lic in package_licenses} - {""}
    if len(names) == 1 and (found_id := hub_id(next(iter(names)))):
        return {"license": found_id}
    found = {name for name, count in document_licenses.items() if count > 0}
    if not found or {f.lower() for f in found} <= UNKNOWN_LICENSES:
        return {"license": "unknown"}
    ids = {hub_id(name) for name in found}
    if len(ids) == 1 and None not in ids:
        return {"license": str(next(iter(ids)))}
    return {"license": "other", "license_name": "mixed-per-document",
            "license_link": "LICENSE.md"}


def is_language_code(code: str) -> bool:
    """True for an ISO 639-1 or ISO 639-3 code (pycountry's ISO 639-3 tables)."""
    import pycountry

    if len(code) == 2:
        return pycountry.languages.get(alpha_2=code) is not None
    return len(code) == 3 and pycountry.languages.get(alpha_3=code) is not None


@dataclass(frozen=True)
class ReleaseShape:
    """What the card's metadata says about the Parquet files of a release."""

    num_examples: int
    num_bytes: int
    download_size: int


def data_description(digest: str) -> str:
    """A config's ``description``, naming its data by ``digest``.

    ``datasets`` keys its cache of a local folder by the folder's name and its card's YAML
    alone, not by the data files' contents (datasets 5.2: ``LocalDatasetModuleFactory``
    hashes the configs' patterns and ``dataset_info``): a corpus rebuilt, or another
    corpus in a folder of the same name, loaded as the first one's cached rows. A
    description that changes with the data files changes that key."""
    return f"The documents of the corpus (data files: {digest})"


def files_digest(files: list[tuple[str, str]]) -> str:
    """A short digest of data files given as (path, SHA-256 or hash string) pairs."""
    data = "\n".join(f"{path} {sha}" for path, sha in sorted(files)).encode()
    return "sha256:" + hashlib.sha256(data).hexdigest()[:16]


def card_metadata(*, title: str, languages: dict[str, int], document_licenses: dict[str, int],
                  package_licenses: list[dict[str, Any]], keywords: list[str],
                  shape: ReleaseShape,
                  configs: dict[str, dict[str, list[str]]] | None = None,
                  counts: dict[str, Any] | None = None,
                  digest: str | None = None) -> dict[str, Any]:
    """The YAML front matter of the release's README.md (the Hugging Face dataset card).

    ``digest``: :func:`files_digest` of the release's data files, put in each config's
    ``description`` (:func:`data_description`).

    ``configs``: config name -> split -> Parquet files (``default`` holding every file);
    ``counts``: :func:`corpuspack.publish.layout_statistics`. Without them, or with one
    ``train`` split and no subsets, the card has the one ``default`` config over
    ``data/*.parquet``; otherwise each config lists its files per split (``default: true``
    on the one holding every document) and ``dataset_info`` is a list, one entry per config
    with the ``num_bytes`` and ``num_examples`` of each split, which ``datasets`` checks."""
    meta: dict[str, Any] = {"pretty_name": title}
    meta.update(hub_license(document_licenses, package_licenses))
    codes = sorted(code for code, n in languages.items() if n > 0 and is_language_code(code))
    if codes:
        meta["language"] = codes
    meta["size_categories"] = [size_category(shape.num_examples)]
    meta["task_categories"] = ["text-generation"]
    if keywords:
        meta["tags"] = list(keywords)
    plain = configs is None or counts is None or list(configs) == ["default"] and list(
        configs["default"]) == [SPLIT]
    described = {"description": data_description(digest)} if digest else {}
    if plain:
        meta["configs"] = [{"config_name": "default", **described,
                            "data_files": [{"split": SPLIT, "path": "data/*.parquet"}]}]
        meta["dataset_info"] = {
            "features": hf_features(),
            "splits": [{"name": SPLIT, "num_bytes": shape.num_bytes,
                        "num_examples": shape.num_examples}],
            "download_size": shape.download_size,
            "dataset_size": shape.num_bytes,
        }
        return meta
    assert configs is not None and counts is not None
    meta["configs"] = [
        {"config_name": name, **({"default": True} if name == "default" else {}), **described,
         "data_files": [{"split": split, "path": files} for split, files in splits.items()]}
        for name, splits in configs.items()]
    meta["dataset_info"] = [
        {"config_name": name, "features": hf_features(),
         "splits": [{"name": split, "num_bytes": c["num_bytes"], "num_examples": c["documents"]}
                    for split, c in counts["configs"][name].items()],
         "dataset_size": sum(c["num_bytes"] for c in counts["configs"][name].values())}
        for name in configs]
    return meta


REPO_YAML = ".huggingface.yaml"


def repository_metadata(data_globs: list[str], digest: str) -> dict[str, Any]:
    """The dataset-card YAML that makes ``datasets.load_dataset(REPOSITORY)`` read a corpus
    repository's committed shards, and nothing else (not the raw sources).

    ``data_globs``: the shards' paths relative to the repository, as glob patterns;
    ``digest``: :func:`files_digest` of the package's resources, in the config's
    ``description`` (:func:`data_description`). The
    features are the schema's, with ``meta`` as ``json`` (its keys vary from document to
    document). ``datasets`` merges ``.huggingface.yaml`` into the card's own YAML, locally
    and on the Hub, so the repository's README.md stays free of it.
    """
    features = [{"name": f["name"], "dtype": "json" if f["name"] == "meta" else f["dtype"]}
                for f in hf_features()]
    return {"configs": [{"config_name": "default", "default": True,
                         "description": data_description(digest),
                         "data_files": [{"split": SPLIT, "path": list(data_globs)}]}],
            "dataset_info": {"features": features}}


def check_card_metadata(meta: dict[str, Any]) -> list[str]:
    """Problems with card metadata that the Hub and ``datasets`` would let pass."""
    known = {"pretty_name", "license", "license_name", "license_link", "language",
             "size_categories", "task_categories", "tags", "configs", "dataset_info"}
    problems = [f"unknown card key '{k}'" for k in meta if k not in known]
    if meta.get("license") not in HUB_LICENSES:
        problems.append(f"license '{meta.get('license')}' is not a Hub licence identifier")
    if meta.get("license") == "other" and not meta.get("license_name"):
        problems.append("license 'other' needs a license_name")
    for code in meta.get("language", []):
        if not is_language_code(code):
            problems.append(f"language '{code}' is not an ISO 639 code")
    labels = {label for _, label in SIZE_CATEGORIES} | {"n>1B"}
    for label in meta.get("size_categories", []):
        if label not in labels:
            problems.append(f"size category '{label}' is not one of the Hub's")
    info = meta.get("dataset_info", {})
    for entry in info if isinstance(info, list) else [info]:
        splits = entry.get("splits", [])
        if not splits or any("num_bytes" not in s or "num_examples" not in s for s in splits):
            problems.append("dataset_info.splits needs num_bytes and num_examples")
    if not meta.get("configs"):
        problems.append("configs with data_files are missing")
    names = [c.get("config_name") for c in meta.get("configs", [])]
    if len(set(names)) != len(names):
        problems.append("two configs have the same name")
    if isinstance(info, list) and [e.get("config_name") for e in info] != names:
        problems.append("dataset_info does not describe the configs, in order")
    return problems


def upload_plan(folder: Path) -> list[tuple[str, int]]:
    """(path, bytes) of every file an upload of ``folder`` sends, sorted."""
    return sorted((p.relative_to(folder).as_posix(), p.stat().st_size)
                  for p in folder.rglob("*") if p.is_file())


def push(folder: Path, repo_id: str, version: str) -> str:
    """Upload a release folder to a Hugging Face dataset repository; return its URL.

    The token comes from ``HF_TOKEN`` or ``huggingface-cli login``, as huggingface_hub finds
    it; it is never printed. Any failure becomes one CorpusError line.
    """
    from huggingface_hub import HfApi

    api = HfApi()
    try:
        api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
        info = api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="dataset",
                                 commit_message=f"corpus {version}")
    except Exception as exc:  # noqa: BLE001 - network, auth and Hub errors alike
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        token = os.environ.get("HF_TOKEN")
        if token:
            reason = reason.replace(token, "***")
        raise CorpusError(f"upload to {repo_id} failed: {type(exc).__name__}: {reason} "
                          f"(the release in {folder} is complete; nothing else changed)"
                          ) from None
    return str(getattr(info, "commit_url", "") or f"https://huggingface.co/datasets/{repo_id}")
