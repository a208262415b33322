"""Corpus configuration: ``corpus.toml``, or ``[tool.corpuspack]`` in ``pyproject.toml``.

Keys (all optional except where a build needs them; see README "Configuration"):

name, title, version, description, homepage, keywords, licenses, sources, contributors
    Package metadata, with the meanings of the Data Package standard.
hub_repo
    The Hugging Face dataset repository releases go to (``owner/name``), if any.
source_dir, data_dir, descriptor
    Where sources are read, where data files are written, where datapackage.json goes
    (relative to the config file's folder; data_dir must lie inside the descriptor's folder).
[defaults]
    Metadata every document starts with (a sidecar, manifest or the source can override it).
[options]
    Build options (see :class:`Options`).
[boilerplate], [quality], [near_dedup], [pii]
    Text quality: boilerplate rules, quality filters, near-duplicate detection, redaction
    of personal data (see README, "Text quality").
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from corpuspack.boilerplate import Rules
from corpuspack.errors import ConfigError
from corpuspack.neardup import NearDedup
from corpuspack.pii import Redaction
from corpuspack.quality import PRESETS, Filters, filters_from

CONFIG_FILE = "corpus.toml"
PYPROJECT = "pyproject.toml"
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
# semver.org's regular expression for a version
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def _option(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Options:
    """Build options, set in the ``[options]`` table (each field's ``help`` says what)."""

    shard_size_mb: float = _option(
        64.0, "target size of one data file; the shard count is the smallest power of two "
        "that keeps shards under it")
    compression: str = _option(
        "none", '"none" (plain JSON lines, which git diffs line by line) or "gzip"')
    language_sample_chars: int = _option(
        300, "characters the language identifier reads, in five windows spread over the "
        "text (0: all)")
    max_file_mb: int = _option(256, "largest non-JSONL source file read (JSONL is streamed)")
    max_inflated_mb: int = _option(4096, "most a compressed source file may inflate to")
    max_document_mb: int = _option(64, "longest JSONL line")
    exact_dedup: bool = _option(True, "drop exact duplicates, keeping the smallest id")
    max_metadata_kb: int = _option(
        256, "largest sidecar metadata file or Markdown front matter; YAML in either may "
        "expand to at most 100,000 values and 64 levels of nesting")
    max_manifest_mb: int = _option(16, "largest _manifest.csv or _manifest.jsonl")
    max_manifest_patterns: int = _option(
        1000, "most wildcard rows in one manifest (rows naming one file are not limited)")
    max_meta_kb: int = _option(
        64, "largest metadata of one document (its meta object, as JSON); a metadata file "
        "with a larger value is refused")


def option_help() -> list[tuple[str, Any, str]]:
    """(name, default, help) of every build option."""
    return [(f.name, f.default, f.metadata["help"]) for f in fields(Options)]


@dataclass(frozen=True)
class CorpusConfig:
    """Where a corpus lives and what its package says about it."""

    root: Path
    source_dir: Path
    data_dir: Path
    descriptor: Path
    name: str = "corpus"
    title: str | None = None
    version: str = "0.1.0"
    description: str | None = None
    homepage: str | None = None
    hub_repo: str | None = None
    keywords: tuple[str, ...] = ()
    licenses: tuple[dict[str, Any], ...] = ()
    sources: tuple[dict[str, Any], ...] = ()
    contributors: tuple[dict[str, Any], ...] = ()
    defaults: dict[str, Any] = field(default_factory=dict)
    options: Options = Options()
    boilerplate: Rules = Rules()
    quality: Filters = Filters()
    near_dedup: NearDedup = NearDedup()
    pii: Redaction = Redaction()
    config_file: Path | None = None

    @property
    def package_dir(self) -> Path:
        """The folder datapackage.json is in (resource paths are relative to it)."""
        return self.descriptor.parent


_PACKAGE_KEYS = {"name", "title", "version", "description", "homepage", "keywords", "licenses",
                 "sources", "contributors", "hub_repo"}
_PATH_KEYS = {"source_dir", "data_dir", "descriptor"}
_TABLE_KEYS = {"defaults", "options", "boilerplate", "quality", "near_dedup", "pii"}
_KNOWN = _PACKAGE_KEYS | _PATH_KEYS | _TABLE_KEYS


def slug(text: str) -> str:
    """A package name from any text (lower case letters, digits, '.', '-', '_')."""
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._") or "corpus"


def _unknown(key: str, known: set[str], where: str) -> ConfigError:
    close = difflib.get_close_matches(key, sorted(known), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return ConfigError(f"unknown key '{key}' in {where}{hint}")


T = TypeVar("T")


def _typed(cls: type[T], table: dict[str, Any], where: str, name: str) -> T:
    """A settings dataclass from a TOML table, each value checked against its default."""
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            raise _unknown(key, known, f"{where} [{name}]")
        hint = str(hints[key])
        if "float" in hint and type(value) is int:
            value = float(value)
        kinds = [t for t in (bool, int, float, str) if t.__name__ in hint]
        if kinds and type(value) not in kinds:
            kind = "number" if float in kinds else kinds[0].__name__
            raise ConfigError(f"option '{key}' in {where} [{name}] must be a {kind}")
        values[key] = value
    return cls(**values)


def _options(table: dict[str, Any], where: str) -> Options:
    opts = _typed(Options, table, where, "options")
    if opts.compression not in ("none", "gzip"):
        raise ConfigError(f"option 'compression' in {where} must be \"none\" or \"gzip\"")
    for key in ("shard_size_mb", "max_file_mb", "max_inflated_mb", "max_document_mb",
                "max_metadata_kb", "max_manifest_mb", "max_manifest_patterns", "max_meta_kb"):
        if getattr(opts, key) <= 0:
            raise ConfigError(f"option '{key}' in {where} must be positive")
    if opts.language_sample_chars < 0:
        raise ConfigError(f"option 'language_sample_chars' in {where} must not be negative")
    return opts


def _quality(table: dict[str, Any], where: str) -> Filters:
    preset = table.get("preset")
    if preset is not None and preset not in PRESETS:
        raise ConfigError(f"[quality] preset in {where} must be one of: {', '.join(PRESETS)}")
    rest = {k: v for k, v in table.items() if k != "preset"}
    checked = _typed(Filters, rest, where, "quality")
    values = {f.name: getattr(checked, f.name) for f in fields(Filters) if f.name in rest}
    return filters_from({**values, **({"preset": preset} if preset else {})})


def _licenses(value: Any, where: str) -> tuple[dict[str, Any], ...]:
    if isinstance(value, str):
        value = [{"name": value}]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"'licenses' in {where} must be a list of tables with name/path/title")
    for item in value:
        if not (item.get("name") or item.get("path")):
            raise ConfigError(f"each licence in {where} needs a 'name' or a 'path'")
    return tuple(value)


def from_table(table: dict[str, Any], root: Path, where: str) -> CorpusConfig:
    """Build a config from the parsed TOML table of a config file in folder ``root``."""
    for key in table:
        if key not in _KNOWN:
            raise _unknown(key, _KNOWN, where)
    name = table.get("name", slug(root.resolve().name))
    if not isinstance(name, str) or not _NAME.match(name):
        raise ConfigError(f"'name' in {where} must be lower case letters, digits, '.', '-', '_'")
    version = str(table.get("version", "0.1.0"))
    if not _SEMVER.match(version):
        raise ConfigError(f"'version' in {where} must be a semantic version such as 1.2.0")
    for key in _TABLE_KEYS:
        if not isinstance(table.get(key, {}), dict):
            raise ConfigError(f"'{key}' in {where} must be a table")
    paths = {k: root / str(table.get(k, default)) for k, default in
             (("source_dir", "corpus/sources"), ("data_dir", "corpus/data"),
              ("descriptor", "datapackage.json"))}
    for key in ("keywords", "sources", "contributors"):
        if not isinstance(table.get(key, []), list):
            raise ConfigError(f"'{key}' in {where} must be a list")
    config = CorpusConfig(
        root=root,
        source_dir=paths["source_dir"],
        data_dir=paths["data_dir"],
        descriptor=paths["descriptor"],
        name=name,
        title=table.get("title"),
        version=version,
        description=table.get("description"),
        homepage=table.get("homepage"),
        hub_repo=table.get("hub_repo"),
        keywords=tuple(table.get("keywords", [])),
        licenses=_licenses(table.get("licenses", []), where),
        sources=tuple(table.get("sources", [])),
        contributors=tuple(table.get("contributors", [])),
        defaults=dict(table.get("defaults", {})),
        options=_options(table.get("options", {}), where),
        boilerplate=_typed(Rules, table.get("boilerplate", {}), where, "boilerplate"),
        quality=_quality(table.get("quality", {}), where),
        near_dedup=_typed(NearDedup, table.get("near_dedup", {}), where, "near_dedup"),
        pii=_typed(Redaction, table.get("pii", {}), where, "pii"),
    )
    check_layout(config)
    return config


def check_layout(config: CorpusConfig) -> None:
    """Refuse layouts that would read the build's own output or write outside the package."""
    src = os.path.realpath(config.source_dir)
    data = os.path.realpath(config.data_dir)
    pkg = os.path.realpath(config.package_dir)
    if data == src or data.startswith(src + os.sep):
        raise ConfigError("the data folder must not lie inside the source folder")
    if src.startswith(data + os.sep):
        raise ConfigError("the source folder must not lie inside the data folder")
    if not data.startswith(pkg + os.sep):
        raise ConfigError("the data folder must lie inside the folder of datapackage.json")


def load_config(path: Path | None = None, cwd: Path | None = None) -> CorpusConfig:
    """Load the corpus config: ``path`` if given, else corpus.toml or pyproject.toml in ``cwd``."""
    cwd = cwd or Path.cwd()
    if path is None:
        for candidate in (cwd / CONFIG_FILE, cwd / PYPROJECT):
            if candidate.is_file() and (candidate.name == CONFIG_FILE or _has_tool(candidate)):
                path = candidate
                break
        else:
            raise ConfigError(
                f"no {CONFIG_FILE} or [tool.corpuspack] in {PYPROJECT} in {cwd}; "
                "give SOURCE_DIR and --out, or run 'corpuspack init'"
            )
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from None
    if path.name == PYPROJECT:
        table = data.get("tool", {}).get("corpuspack")
        if table is None:
            raise ConfigError(f"{path} has no [tool.corpuspack] table")
        where = f"{path} [tool.corpuspack]"
    else:
        table, where = data, str(path)
    config = from_table(table, path.parent.resolve(), where)
    return _with_file(config, path.resolve())


def _has_tool(path: Path) -> bool:
    try:
        return "corpuspack" in tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {})
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        return False


def _with_file(config: CorpusConfig, path: Path) -> CorpusConfig:
    from dataclasses import replace

    return replace(config, config_file=path)


def zero_config(source_dir: Path, out: Path, base: CorpusConfig | None = None) -> CorpusConfig:
    """Config for ``build SOURCE_DIR --out PACKAGE_DIR``: data in PACKAGE_DIR/data."""
    from dataclasses import replace

    out = out.resolve()
    if base is None:
        name = slug(out.name)
        base = CorpusConfig(root=out, source_dir=source_dir, data_dir=out / "data",
                            descriptor=out / "datapackage.json", name=name)
    config = replace(base, source_dir=source_dir.resolve(), data_dir=out / "data",
                     descriptor=out / "datapackage.json")
    check_layout(config)
    return config
