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
[splits], [subsets]
    How a release is split (``validation = 0.01``, ``by = "folder"`` or ``"meta.KEY"``) and
    which Hugging Face configs it has (``by = ["language", "folder"]``); see
    :mod:`corpuspack.splits`. They change the release's layout, never the package.

Every value is checked when the config loads, and each problem is one :class:`ConfigError`
line naming the key, its table and the file: types (an integer is never a bool), the valid
range of every numeric setting (:data:`RANGES`; :func:`setting_ranges` lists them), the
allowed strings (:data:`CHOICES`; ``phone_region`` must be a region ``phonenumbers`` knows),
the shape of free strings (:data:`TEXTS`: ``text_column``), checks across settings
(:data:`DERIVED`: ``bands * rows``, ``min_X <= max_X``), and licences: each ``licenses``
entry's ``name`` and ``[defaults] license`` must be written as an SPDX licence id or
expression, ``LicenseRef-…``, ``NOASSERTION`` or ``NONE``, exactly as the SPDX list writes
it (:mod:`corpuspack.licenses`; a near miss, a case difference or a deprecated id is an
error that names the id meant).
"""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
import types
import unicodedata
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar, get_args, get_type_hints

from corpuspack import safefs
from corpuspack.boilerplate import FORMATS as BOILERPLATE_FORMATS
from corpuspack.boilerplate import SCOPE_KEYS, Rules, Scope
from corpuspack.errors import ConfigError, CorpusError
from corpuspack.licenses import LicenseError, check_license
from corpuspack.neardup import NearDedup
from corpuspack.pii import Redaction
from corpuspack.quality import LIMITS, PRESETS, Filters, Limit, filters_from
from corpuspack.splits import SUBSET_KEYS, TRAIN, Splits, Subsets, check_splits

CONFIG_FILE = "corpus.toml"
PYPROJECT = "pyproject.toml"
MAX_CONFIG_BYTES = 4 << 20  # a config (or pyproject.toml) larger than this is refused
NAME_RULE = "lower case letters, digits, '.', '-' and '_', starting with a letter or digit"
_NAME = re.compile(r"[a-z0-9][a-z0-9._-]*")
# semver.org's regular expression for a version (matched whole: fullmatch)
_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)


def is_name(name: object) -> bool:
    """True for a valid package name (:data:`NAME_RULE`)."""
    return isinstance(name, str) and _NAME.fullmatch(name) is not None


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
    max_file_seconds: int = _option(
        600, "CPU seconds reading one file, or one record of a file of many, may take (its "
        "reader, clean-up and signals); a file over it, or whose reader uses no CPU for as "
        "long, is skipped (0: no limit)")
    max_file_memory_mb: int = _option(
        8192, "memory the process reading a file may grow by while it reads; a file that "
        "needs more is skipped (0: no limit; Linux only)")
    exact_dedup: bool = _option(True, "drop exact duplicates, keeping the smallest id")
    max_metadata_kb: int = _option(
        256, "largest sidecar metadata file or Markdown front matter; YAML in either may "
        "expand to at most 100,000 values and 64 levels of nesting")
    max_manifest_mb: int = _option(16, "largest _manifest.csv or _manifest.jsonl")
    max_manifest_patterns: int = _option(
        1000, "most wildcard rows in effect for a folder, all manifests above it together (rows "
        "naming one file are not limited)")
    max_meta_kb: int = _option(
        64, "largest metadata of one document (its meta object, as JSON); a metadata file "
        "with a larger value is refused")
    text_column: str = _option(
        "", "the column of CSV and TSV sources holding the text (its header name, any case); "
        "empty: the first of text, content, body. A table without it is skipped")


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
    splits: Splits = Splits()
    subsets: Subsets = Subsets()
    config_file: Path | None = None

    @property
    def package_dir(self) -> Path:
        """The folder datapackage.json is in (resource paths are relative to it)."""
        return self.descriptor.parent


_PACKAGE_KEYS = {"name", "title", "version", "description", "homepage", "keywords", "licenses",
                 "sources", "contributors", "hub_repo"}
_PATH_KEYS = {"source_dir", "data_dir", "descriptor"}
_TABLE_KEYS = {"defaults", "options", "boilerplate", "quality", "near_dedup", "pii", "splits",
               "subsets"}
_KNOWN = _PACKAGE_KEYS | _PATH_KEYS | _TABLE_KEYS


def slug(text: str) -> str:
    """A package name from any text (lower case letters, digits, '.', '-', '_')."""
    return re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-._") or "corpus"


def _unknown(key: str, known: set[str], where: str) -> ConfigError:
    close = difflib.get_close_matches(key, sorted(known), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return ConfigError(f"unknown key '{key}' in {where}{hint}")


@dataclass(frozen=True)
class Range:
    """The valid values of a numeric setting: ``low`` to ``high``, both included (``low``
    excluded when ``above``)."""

    low: float
    high: float
    above: bool = False

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        return (self.low < value if self.above else self.low <= value) and value <= self.high

    def text(self) -> str:
        """``between 0 and 1``, or ``above 0 and at most 65,536``."""
        low, high = _number(self.low), _number(self.high)
        return f"above {low} and at most {high}" if self.above else f"between {low} and {high}"


def _number(value: float) -> str:
    return f"{int(value):,}" if float(value).is_integer() else f"{value:g}"


FRACTION = Range(0, 1)
COUNT = 10**9  # the most of anything counted per document or per corpus
_MB = Range(1, 1 << 20)  # sizes in MB: up to 1 TiB
_KB = Range(1, 1 << 20)  # sizes in kB: up to 1 GiB
_WORDS = Range(0, 100_000)  # word counts of one line
PER_WORD_MAX = 1000  # most a per-word measure (characters or symbols per word) may be set to


def _limit_range(limit: Limit) -> Range:
    """The valid values of a [quality] limit: a word count, or its signal's values."""
    if limit.signal is None:
        return Range(0, COUNT)
    top = limit.signal.maximum
    return Range(0, PER_WORD_MAX if top is None else top)


# The valid range of every numeric setting, by (table, key): checked when the config loads
# (see README, "Configuration" and "Text quality"). A setting added to a settings dataclass
# needs its entry here (tests/test_config.py checks that every one has); until it has one,
# it is only held to finite values within +-ANY.
RANGES: dict[tuple[str, str], Range] = {
    ("options", "shard_size_mb"): Range(0.001, 1 << 20),
    ("options", "language_sample_chars"): Range(0, COUNT),
    ("options", "max_file_mb"): _MB,
    ("options", "max_inflated_mb"): _MB,
    ("options", "max_document_mb"): _MB,
    ("options", "max_file_seconds"): Range(0, 7 * 86400),
    ("options", "max_file_memory_mb"): Range(0, 1 << 20),
    ("options", "max_metadata_kb"): _KB,
    ("options", "max_manifest_mb"): _MB,
    ("options", "max_manifest_patterns"): Range(1, COUNT),
    ("options", "max_meta_kb"): _KB,
    ("boilerplate", "min_chrome_lines"): Range(1, 10_000),
    ("boilerplate", "min_block_lines"): Range(1, 10_000),
    ("boilerplate", "link_max_words"): _WORDS,
    ("boilerplate", "phrase_max_words"): _WORDS,
    ("boilerplate", "nav_max_words"): _WORDS,
    ("boilerplate", "min_words_left"): Range(0, COUNT),
    ("boilerplate", "frequent_min_docs"): Range(2, COUNT),
    ("boilerplate", "frequent_min_fraction"): FRACTION,
    ("boilerplate", "frequent_max_share"): FRACTION,
    ("near_dedup", "threshold"): FRACTION,
    ("near_dedup", "shingle_words"): Range(1, 1000),
    ("near_dedup", "bands"): Range(1, 1024),
    ("near_dedup", "rows"): Range(1, 1024),
    ("near_dedup", "min_words"): Range(0, COUNT),
    ("near_dedup", "seed"): Range(0, 2**64 - 1),  # rensa's seed is an unsigned 64-bit integer
    # [quality]: every limit of the registry of signals (corpuspack.quality.LIMITS), up to
    # the signal's largest value (1 for a share), or PER_WORD_MAX when it has none
    **{("quality", limit.key): _limit_range(limit) for limit in LIMITS},
}
ANY = Range(-(10**15), 10**15)
MAX_MINHASH_VALUES = 1024


def _phone_regions() -> Collection[str]:
    import phonenumbers

    return frozenset(phonenumbers.SUPPORTED_REGIONS)


# The allowed values of string settings, by (table, key): what they are, and a function
# giving them (called only when the setting is set).
CHOICES: dict[tuple[str, str], tuple[str, Callable[[], Collection[str]]]] = {
    ("options", "compression"): ('"none" or "gzip"', lambda: ("none", "gzip")),
    ("pii", "phone_region"): ("a region phonenumbers knows (an ISO 3166 code such as US, GB "
                              "or DE)", _phone_regions),
}


MAX_COLUMN_NAME = 256  # characters of a column name (text_column)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _column_name(value: str) -> bool:
    return len(value) <= MAX_COLUMN_NAME and not _CONTROL.search(value) and (
        value == "" or value.strip() == value != "")


# Free strings, by (table, key): what they must be, and the check. A column name is matched
# against a header whose names are stripped, so one with surrounding spaces, or only spaces,
# could never match; control characters (tabs, line breaks) cannot be in a header cell.
TEXTS: dict[tuple[str, str], tuple[str, Callable[[str], bool]]] = {
    ("options", "text_column"): (f"a column name: at most {MAX_COLUMN_NAME} characters, no "
                                 "control characters or surrounding spaces (empty: found by "
                                 "name)", _column_name),
}


def _minhash_values(settings: Any) -> str | None:
    n = settings.bands * settings.rows
    return None if n <= MAX_MINHASH_VALUES else (
        f"bands * rows must be at most {MAX_MINHASH_VALUES} MinHash values per document, "
        f"not {settings.bands} * {settings.rows} = {n:,}")


def _min_below_max(settings: Any) -> str | None:
    for f in fields(settings):
        twin = "max_" + f.name.removeprefix("min_")
        low, high = getattr(settings, f.name), getattr(settings, twin, None)
        if f.name.startswith("min_") and low is not None and high is not None and low > high:
            return f"{f.name} ({_number(low)}) must not exceed {twin} ({_number(high)})"
    return None


# Checks across the settings of one table, on its final values (a preset included): each
# returns the problem, or None.
DERIVED: dict[str, tuple[Callable[[Any], str | None], ...]] = {
    "near_dedup": (_minhash_values,),
    "quality": (_min_below_max,),
}


def setting_ranges() -> list[tuple[str, str, str]]:
    """(table, key, valid values) of every checked setting, for documentation."""
    out = [(table, key, rng.text()) for (table, key), rng in RANGES.items()]
    out += [(table, key, what) for (table, key), (what, _) in CHOICES.items()]
    out += [(table, key, what) for (table, key), (what, _) in TEXTS.items()]
    out.append(("near_dedup", "bands * rows", f"at most {MAX_MINHASH_VALUES}"))
    return out


def _shown(value: object) -> str:
    """A value for an error message: short, on one line, TOML-like."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and value.bit_length() > 64:
        return "an integer beyond 64 bits"
    if isinstance(value, (int, float)):
        return repr(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_KINDS = {bool: "a bool (true or false)", int: "an integer", float: "a number", str: "a string"}


def _checked(table: str, key: str, value: Any, hint: Any, where: str) -> Any:
    """One setting's value, checked against its type, range and choices."""
    args = get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    kind = next((k for k in _KINDS if k in args), None)
    setting = f"[{table}] {key} in {where}"
    if kind is None:
        return value
    ok = type(value) is kind or (kind is float and type(value) is int)
    if not ok:
        raise ConfigError(f"{setting} must be {_KINDS[kind]}, not {_shown(value)}")
    base = table.split(".", 1)[0]  # [boilerplate.formats.html] holds [boilerplate] keys
    if kind in (int, float):
        rng = RANGES.get((base, key), ANY)
        if value not in rng:
            raise ConfigError(f"{setting} must be {rng.text()}, not {_shown(value)}")
        return float(value) if kind is float else value
    what, choices = CHOICES.get((base, key), ("", None))
    if choices is not None and value not in (allowed := choices()):
        close = [c for c in (value.upper(), value.lower()) if c in allowed]
        hint_text = f" (did you mean '{close[0]}'?)" if close else ""
        raise ConfigError(f"{setting} must be {what}, not {_shown(value)}{hint_text}")
    rule = TEXTS.get((base, key))
    if rule is not None and not rule[1](value):
        raise ConfigError(f"{setting} must be {rule[0]}, not {_shown(value)}")
    return value


T = TypeVar("T")


def _typed(cls: type[T], table: dict[str, Any], where: str, name: str) -> T:
    """A settings dataclass from a TOML table, each value checked (type, range, choices)."""
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            raise _unknown(key, known, f"{where} [{name}]")
        values[key] = _checked(name, key, value, hints[key], where)
    return cls(**values)


def _derived(settings: T, name: str, where: str) -> T:
    for check in DERIVED.get(name, ()):
        problem = check(settings)
        if problem:
            raise ConfigError(f"[{name}] {problem} in {where}")
    return settings


def _settings(cls: type[T], table: dict[str, Any], where: str, name: str) -> T:
    return _derived(_typed(cls, table, where, name), name, where)


def _quality(table: dict[str, Any], where: str) -> Filters:
    preset = table.get("preset")
    if preset is not None and preset not in PRESETS:
        raise ConfigError(f"[quality] preset in {where} must be one of: {', '.join(PRESETS)}")
    rest = {k: v for k, v in table.items() if k != "preset"}
    checked = _typed(Filters, rest, where, "quality")
    values = {f.name: getattr(checked, f.name) for f in fields(Filters) if f.name in rest}
    merged = filters_from({**values, **({"preset": preset} if preset else {})})
    return _derived(merged, "quality", where)


def _boilerplate(table: dict[str, Any], where: str) -> Rules:
    """``[boilerplate]``: its keys, ``[boilerplate.formats.NAME]`` tables (NAME one of the
    source formats) and ``[[boilerplate.folders]]`` entries (a ``glob`` and the keys to
    change), each key checked as in ``[boilerplate]``; a key that holds for the whole build
    (``audit``, ``frequent_min_docs``, ``frequent_min_fraction``) is refused in a scope."""
    rest = {k: v for k, v in table.items() if k not in ("formats", "folders")}
    rules = _settings(Rules, rest, where, "boilerplate")
    formats_table = table.get("formats", {})
    if not isinstance(formats_table, dict):
        raise ConfigError(f"[boilerplate] formats in {where} must be a table of formats, "
                          "such as [boilerplate.formats.html]")
    formats = []
    for name in sorted(formats_table):
        if name not in BOILERPLATE_FORMATS:
            raise _unknown(name, set(BOILERPLATE_FORMATS), f"{where} [boilerplate.formats]")
        formats.append(Scope(name, _scope(formats_table[name], where,
                                          f"boilerplate.formats.{name}")))
    entries = table.get("folders", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"[boilerplate] folders in {where} must be an array of tables, "
                          "[[boilerplate.folders]], each with a glob")
    folders = []
    for number, entry in enumerate(entries, 1):
        glob = entry.get("glob")
        if not isinstance(glob, str) or not glob.strip() or "\0" in glob:
            raise ConfigError(f"[[boilerplate.folders]] entry {number} in {where} needs a "
                              f"glob: a non-empty string such as \"web/*\", not {_shown(glob)}")
        settings = {k: v for k, v in entry.items() if k != "glob"}
        folders.append(Scope(glob, _scope(settings, f"{where} (folder entry {number}, glob "
                                                    f"{glob!r})", "boilerplate.folders")))
    return replace(rules, formats=tuple(formats), folders=tuple(folders))


def _scope(values: Any, where: str, name: str) -> tuple[tuple[str, Any], ...]:
    """The checked settings of one format table or folder entry, sorted by key."""
    if not isinstance(values, dict):
        raise ConfigError(f"[{name}] in {where} must be a table")
    hints = get_type_hints(Rules)
    checked = []
    for key in sorted(values):
        if key not in SCOPE_KEYS:
            if key in hints:
                raise ConfigError(f"[{name}] {key} in {where}: {key} holds for the whole "
                                  "build; set it in [boilerplate]")
            raise _unknown(key, set(SCOPE_KEYS), f"{where} [{name}]")
        checked.append((key, _checked(name, key, values[key], hints[key], where)))
    return tuple(checked)


def splits_from(table: dict[str, Any], where: str) -> Splits:
    """``[splits]``: ``by`` (``"hash"``, the default; ``"folder"``; ``"meta.KEY"``), ``seed``
    (the hash's key, 0 to 2^64 - 1) and one key per held-out split: a share of the documents
    in (0, 1) by hash, a glob or list of globs by folder (none by ``meta.KEY``). ``train``
    is the rest and takes no value. Raises ConfigError naming the key."""
    by = table.get("by", "hash")
    if not isinstance(by, str) or not (by in ("hash", "folder") or (
            by.startswith("meta.") and len(by) > 5 and not _CONTROL.search(by))):
        raise ConfigError(f'[splits] by in {where} must be "hash", "folder" or "meta.KEY" '
                          f"(KEY a metadata column), not {_shown(by)}")
    seed = table.get("seed", 0)
    if type(seed) is not int or not 0 <= seed < 2**64:
        raise ConfigError(f"[splits] seed in {where} must be an integer between 0 and "
                          f"18,446,744,073,709,551,615, not {_shown(seed)}")
    shares: list[tuple[str, float]] = []
    folders: list[tuple[str, tuple[str, ...]]] = []
    for key in sorted(k for k in table if k not in ("by", "seed")):
        value = table[key]
        setting = f"[splits] {key} in {where}"
        if key == TRAIN:
            raise ConfigError(f"{setting}: train holds every document no other split takes; "
                              "give it no value")
        if by.startswith("meta."):
            raise ConfigError(f"{setting}: with by = {by!r} the metadata names each "
                              "document's split; list no splits")
        if by == "hash":
            if type(value) not in (int, float) or not 0 < value < 1:
                raise ConfigError(f"{setting} must be a share of the documents above 0 and "
                                  f"below 1 (such as 0.01), not {_shown(value)}")
            shares.append((key, float(value)))
        else:
            globs = [value] if isinstance(value, str) else value
            if not isinstance(globs, list) or not globs or not all(
                    isinstance(g, str) and g.strip() and "\0" not in g for g in globs):
                raise ConfigError(f"{setting} must be a glob or a list of globs of source "
                                  f'paths (such as ["eval/*"]), not {_shown(value)}')
            # NFC, as source paths are: a glob copied from an NFD folder name matches
            folders.append((key, tuple(unicodedata.normalize("NFC", g) for g in globs)))
    spec = Splits(by, tuple(shares), tuple(folders), seed)
    problem = check_splits(spec)
    if problem:
        raise ConfigError(f"[splits] in {where}: {problem}")
    return spec


def subsets_from(table: dict[str, Any], where: str) -> Subsets:
    """``[subsets]``: ``by``, a list of ``language`` and ``folder`` (the top-level source
    folder): the columns whose values name the release's Hugging Face configs. Raises
    ConfigError naming the key."""
    for key in table:
        if key != "by":
            raise _unknown(key, {"by"}, f"{where} [subsets]")
    by = table.get("by", [])
    if isinstance(by, str):
        by = [by]
    if not isinstance(by, list) or any(k not in SUBSET_KEYS for k in by) \
            or len(set(by)) != len(by):
        raise ConfigError(f"[subsets] by in {where} must be a list of distinct columns among "
                          f"{', '.join(SUBSET_KEYS)}, not {_shown(by)}")
    return Subsets(tuple(by))


def _license(value: Any, what: str) -> str:
    """A licence value of the config: canonical SPDX as written, else a ConfigError."""
    try:
        fixed = check_license(value)
    except LicenseError as exc:
        raise ConfigError(f"{what}: {exc}") from None
    if fixed != value:
        raise ConfigError(f"{what}: {value!r} is not written as the SPDX licence list "
                          f"writes it; did you mean {fixed}?")
    return fixed


def _licenses(value: Any, where: str) -> tuple[dict[str, Any], ...]:
    if isinstance(value, str):
        value = [{"name": value}]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ConfigError(f"'licenses' in {where} must be a list of tables with name/path/title")
    for item in value:
        if not (item.get("name") or item.get("path")):
            raise ConfigError(f"each licence in {where} needs a 'name' or a 'path'")
        for key in ("name", "path", "title"):
            if key in item and not isinstance(item[key], str):
                raise ConfigError(f"licence {key} in {where} must be a string, "
                                  f"not {_shown(item[key])}")
        if "name" in item:
            _license(item["name"], f"licence name in {where}")
    return tuple(value)


def _defaults(value: dict[str, Any], where: str) -> dict[str, Any]:
    from corpuspack.metadata import canonical_key

    for key, item in value.items():
        if canonical_key(key) == "license":
            _license(item, f"[defaults] {key} in {where}")
    return dict(value)


def _string(table: dict[str, Any], key: str, where: str, default: str | None = None
            ) -> str | None:
    value = table.get(key, default)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"'{key}' in {where} must be a string, not {_shown(value)}")
    if value is not None and "\0" in value:
        raise ConfigError(f"'{key}' in {where} must not hold a NUL character")
    return value


def _list(table: dict[str, Any], key: str, where: str, item: type) -> tuple[Any, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, item) for v in value):
        kind = "strings" if item is str else "tables"
        raise ConfigError(f"'{key}' in {where} must be a list of {kind}")
    return tuple(value)


def from_table(table: dict[str, Any], root: Path, where: str) -> CorpusConfig:
    """Build a config from the parsed TOML table of a config file in folder ``root``.

    Raises :class:`ConfigError` (one line naming the key) for an unknown key, a value of
    the wrong type, outside its range (:data:`RANGES`) or choices (:data:`CHOICES`), failing
    a check across settings (:data:`DERIVED`), a licence that is not SPDX, or a layout that
    would read the build's own output.
    """
    for key in table:
        if key not in _KNOWN:
            raise _unknown(key, _KNOWN, where)
    name = table.get("name", slug(root.resolve().name))
    if not is_name(name):
        raise ConfigError(f"'name' in {where} must be {NAME_RULE}, not {_shown(name)}")
    version = table.get("version", "0.1.0")
    if not isinstance(version, str) or not _SEMVER.fullmatch(version):
        raise ConfigError(f"'version' in {where} must be a semantic version such as 1.2.0, "
                          f"not {_shown(version)}")
    for key in _TABLE_KEYS:
        if not isinstance(table.get(key, {}), dict):
            raise ConfigError(f"'{key}' in {where} must be a table")
    paths = {k: root / str(_string(table, k, where, default)) for k, default in
             (("source_dir", "corpus/sources"), ("data_dir", "corpus/data"),
              ("descriptor", "datapackage.json"))}
    config = CorpusConfig(
        root=root,
        source_dir=paths["source_dir"],
        data_dir=paths["data_dir"],
        descriptor=paths["descriptor"],
        name=name,
        title=_string(table, "title", where),
        version=version,
        description=_string(table, "description", where),
        homepage=_string(table, "homepage", where),
        hub_repo=_string(table, "hub_repo", where),
        keywords=_list(table, "keywords", where, str),
        licenses=_licenses(table.get("licenses", []), where),
        sources=_list(table, "sources", where, dict),
        contributors=_list(table, "contributors", where, dict),
        defaults=_defaults(table.get("defaults", {}), where),
        options=_settings(Options, table.get("options", {}), where, "options"),
        boilerplate=_boilerplate(table.get("boilerplate", {}), where),
        quality=_quality(table.get("quality", {}), where),
        near_dedup=_settings(NearDedup, table.get("near_dedup", {}), where, "near_dedup"),
        pii=_settings(Redaction, table.get("pii", {}), where, "pii"),
        splits=splits_from(table.get("splits", {}), where),
        subsets=subsets_from(table.get("subsets", {}), where),
    )
    check_confined(config, where)
    check_layout(config)
    return config


def check_confined(config: CorpusConfig, where: str) -> None:
    """Refuse a config whose source folder, data folder or descriptor lies outside the
    config's own folder, by an absolute path, ``..`` or a symbolic link: a cloned corpus
    repository must not make a build read a user's files (and publish them) or write
    elsewhere. Paths given on the command line (``build SRC --out PKG``) are the user's own
    and are not checked here."""
    root = os.path.realpath(config.root)
    for key, path in (("source_dir", config.source_dir), ("data_dir", config.data_dir),
                      ("descriptor", config.descriptor)):
        real = os.path.realpath(path)
        if real != root and not real.startswith(root.rstrip(os.sep) + os.sep):
            raise ConfigError(f"'{key}' in {where} leads outside the config's folder "
                              f"({path} is {real}): a corpus repository reads and writes "
                              "only inside itself")


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
    """Load the corpus config: ``path`` if given, else corpus.toml or pyproject.toml in ``cwd``.

    The file is read through :func:`corpuspack.safefs.read_bytes`: a FIFO, a device, a
    folder or a file over :data:`MAX_CONFIG_BYTES` is refused, as is TOML that does not
    parse (integers of more than 4300 digits, nesting too deep for the parser included).
    Every problem is one :class:`ConfigError` line; see :func:`from_table` for the checks.
    """
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
    if not os.path.exists(path):
        raise ConfigError(f"config file not found: {path}")
    data = _read_toml(path)
    if path.name == PYPROJECT:
        tool = data.get("tool", {})
        table = tool.get("corpuspack") if isinstance(tool, dict) else None
        if table is None:
            raise ConfigError(f"{path} has no [tool.corpuspack] table")
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: tool.corpuspack must be a table")
        where = f"{path} [tool.corpuspack]"
    else:
        table, where = data, str(path)
    config = from_table(table, path.parent.resolve(), where)
    return _with_file(config, path.resolve())


def _read_toml(path: Path) -> dict[str, Any]:
    """The parsed TOML of a config file, or one ConfigError line."""
    try:
        raw = safefs.read_bytes(path, max_bytes=MAX_CONFIG_BYTES, what="config file")
    except CorpusError as exc:
        raise ConfigError(str(exc)) from None
    try:
        return tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    except RecursionError:
        raise ConfigError(f"{path}: arrays or tables nested too deeply") from None
    except ValueError as exc:  # tomllib.TOMLDecodeError, or an integer of too many digits
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(f"{path}: {reason}") from None


def _has_tool(path: Path) -> bool:
    try:
        tool = _read_toml(path).get("tool", {})
    except ConfigError:
        return False
    return isinstance(tool, dict) and "corpuspack" in tool


def _with_file(config: CorpusConfig, path: Path) -> CorpusConfig:
    from dataclasses import replace

    return replace(config, config_file=path)


def zero_config(source_dir: Path, out: Path, base: CorpusConfig | None = None) -> CorpusConfig:
    """Config for ``build SOURCE_DIR --out PACKAGE_DIR``: data in PACKAGE_DIR/data.
    UsageError when PACKAGE_DIR is a symbolic link (it would be resolved away here, and the
    build would write where it leads)."""
    from dataclasses import replace

    from corpuspack.errors import UsageError

    if os.path.islink(out):
        raise UsageError(f"output folder {out} is a symbolic link: corpuspack does not write "
                         "through links")
    out = out.resolve()
    if base is None:
        name = slug(out.name)
        base = CorpusConfig(root=out, source_dir=source_dir, data_dir=out / "data",
                            descriptor=out / "datapackage.json", name=name)
    config = replace(base, source_dir=source_dir.resolve(), data_dir=out / "data",
                     descriptor=out / "datapackage.json")
    check_layout(config)
    return config
