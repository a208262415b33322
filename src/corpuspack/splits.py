"""Splits and subsets of a release, derived from each document's own columns.

The package keeps one schema and one :class:`~corpuspack.document.Document`: a document's
split and subsets are not columns but functions of its ``id``, ``source``, ``language`` and
``meta`` and of the ``[splits]`` / ``[subsets]`` tables of the config. ``publish`` applies
them to lay out the release (``data/<subset values>/<split>-NNNNN-of-MMMMM.parquet``) and
records the settings in the release's datapackage.json (``corpuspack.layout``), from which
``validate``, ``diff`` and ``stats --by split`` compute them again.

Splits, three ways (``[splits] by``):

``"hash"`` (the default)
    ``validation = 0.01``, ``test = 0.01``: each held-out split takes that share of the
    documents and ``train`` the rest. A document's position is the first 64 bits of
    SHA-256 over ``"corpuspack-split:<seed>:<id>"`` read as an unsigned integer ``h`` (a
    uniform point of [0, 2^64)); the held-out splits own consecutive ranges from 0 in
    sorted name order (``test`` [0, 0.01), then ``validation`` [0.01, 0.02) of 2^64), and
    ``train`` holds every point above. Because ``h`` depends on nothing but the id and the
    seed, a document keeps its split when other documents are added, removed or edited,
    and an edited document (same id) keeps its own. What moves when the settings change:
    growing the share of the split that sorts last (or adding a split whose name sorts
    after the others) moves only ``train`` documents into it; changing the share of any
    other split shifts the ranges of the splits sorting after it, so documents move
    between held-out splits too. ``corpuspack diff`` names every document whose split
    changed.
``"folder"``
    ``test = ["eval/*"]``: the documents whose source path matches one of a split's globs
    (``*`` matches ``/`` too, as in ``[[boilerplate.folders]]``; globs are NFC-normalised,
    as source paths are), the first split in sorted name order winning; the others are
    ``train``. A split whose globs match no document is a warning of ``publish``.
``"meta.KEY"``
    The value of ``meta.KEY`` (a manifest or sidecar column) names the split; documents
    without it are ``train``. A value that is not a split name (:data:`SPLIT_NAME`), a
    reserved name (``all``, ``documents``: :data:`RESERVED_SPLITS`) or a split beyond the
    :data:`MAX_SPLITS` held-out splits makes publishing fail, naming the document and the
    value: a held-out document must not silently join ``train``.

Subsets (``[subsets] by = ["language"]``, ``["folder"]`` or both): Hugging Face configs,
one per language code (``und`` when a document has none) and/or per top-level source folder
(``_root`` for files at the top), so ``load_dataset(RELEASE, "de")`` loads the German
documents; the ``default`` config loads them all. With both, folder configs are named
``folder-<name>`` so that they never clash with a language code.
"""

from __future__ import annotations

import fnmatch
import hashlib
import heapq
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from corpuspack.errors import CorpusError, UsageError

TRAIN = "train"
DEFAULT_CONFIG = "default"
SPLIT_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
SPLIT_RULE = "lower-case letters, digits and '_', starting with a letter, at most 32"
SUBSET_KEYS = ("language", "folder")
UNDETERMINED = "und"  # ISO 639-2 "undetermined": documents without a language
ROOT = "_root"  # subset of the files at the top of the source folder
# A value used as a path component and a config name as it is; anything else is slugged
# and given a digest (so "News" and "news" stay apart on case-insensitive file systems).
_SAFE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_RESERVED = frozenset({DEFAULT_CONFIG, "data"})
_LOOKS_SLUGGED = re.compile(r"-[0-9a-f]{8}$")
HASH_PREFIX = b"corpuspack-split:"
_SCALE = 1 << 64
RESERVED_SPLITS = frozenset({"documents", "all"})
# bounds on settings a cloned config or a release's descriptor may hold: each document is
# matched against every glob
MAX_SPLITS = 100
# (subset values, split) groups a release may have: reading it in id order merges one open
# file per group, each holding a decoded batch (up to 1,024 rows, reader.PARQUET_BATCH_ROWS)
# and the row group being read; 232 groups failed under 'ulimit -n 200' (review)
MAX_PARTS = 64
_SHARD = re.compile(r"(.*)-(\d{5})-of-(\d{5})\.parquet")
MAX_GLOBS = 1000
MAX_GLOB_CHARS = 1000


def split_position(doc_id: str, seed: int = 0) -> int:
    """A document's point in [0, 2^64): the first 8 bytes of SHA-256 over
    ``corpuspack-split:<seed>:<id>`` (UTF-8), big-endian."""
    digest = hashlib.sha256(HASH_PREFIX + f"{seed}:".encode() + doc_id.encode("utf-8"))
    return int.from_bytes(digest.digest()[:8], "big")


@dataclass(frozen=True)
class Splits:
    """The ``[splits]`` table: how documents are assigned to named splits (module docstring).

    ``shares`` (by ``hash``): (name, share) sorted by name, each share in (0, 1), summing
    to less than 1. ``folders`` (by ``folder``): (name, globs) sorted by name. ``seed``:
    the key of the hash. ``by``: ``hash``, ``folder`` or ``meta.KEY``.
    """

    by: str = "hash"
    shares: tuple[tuple[str, float], ...] = ()
    folders: tuple[tuple[str, tuple[str, ...]], ...] = ()
    seed: int = 0

    @property
    def active(self) -> bool:
        """True when some documents may go to a split other than ``train``."""
        return bool(self.shares or self.folders or self.by.startswith("meta."))

    def _bounds(self) -> list[tuple[int, str]]:
        out, total = [], 0.0
        for name, share in self.shares:
            total += share
            out.append((int(total * _SCALE), name))  # exact: a float times a power of two
        return out

    def assigner(self) -> Any:
        """A function from a document (a dict with id, source, meta) to its split name.
        Raises CorpusError (by ``meta.KEY``) for a value that is not a split name, is
        reserved (:data:`RESERVED_SPLITS`), or would make more than :data:`MAX_SPLITS`
        held-out splits (counted over the calls of one assigner, as check_splits counts
        configured ones)."""
        if self.by == "hash" and not self.shares:
            return lambda doc: TRAIN
        if self.by == "hash":
            bounds, seed = self._bounds(), self.seed

            def by_hash(doc: dict[str, Any]) -> str:
                h = split_position(doc["id"], seed)
                return next((name for bound, name in bounds if h < bound), TRAIN)
            return by_hash
        if self.by == "folder":
            # source paths are NFC (as manifests and sidecars): a glob copied from an NFD
            # folder name must match them too
            folders = [(name, [re.compile(fnmatch.translate(unicodedata.normalize("NFC", g)))
                               for g in globs]) for name, globs in self.folders]

            def by_folder(doc: dict[str, Any]) -> str:
                source = doc.get("source") or ""
                return next((name for name, pats in folders
                             if any(p.match(source) for p in pats)), TRAIN)
            return by_folder
        key = self.by.removeprefix("meta.")
        seen: set[str] = {TRAIN}

        def by_meta(doc: dict[str, Any]) -> str:
            meta = doc.get("meta") or {}
            value = meta.get(key) if isinstance(meta, dict) else None
            if value is None or value == "":
                return TRAIN
            where = f"document {doc['id']} ({str(doc.get('source'))[:80]!r}): meta.{key}"
            if not isinstance(value, str) or not SPLIT_NAME.fullmatch(value):
                shown = repr(value)[:60].encode("unicode_escape").decode("ascii")
                raise CorpusError(f"{where} is {shown}, not a split name ({SPLIT_RULE})")
            if value in RESERVED_SPLITS:
                raise CorpusError(f"{where} is {value!r}: that split name is taken (the "
                                  "Croissant record set of all documents)")
            if value not in seen:
                if len(seen) > MAX_SPLITS:  # train and MAX_SPLITS held-out splits seen
                    raise CorpusError(f"{where} is {value!r}: a split more than the "
                                      f"{MAX_SPLITS} allowed besides train")
                seen.add(value)
            return value
        return by_meta

    def to_json(self) -> dict[str, Any]:
        """The settings as recorded in a release (``corpuspack.layout.splits``)."""
        out: dict[str, Any] = {"by": self.by}
        if self.by == "hash":
            out["seed"] = self.seed
            out["shares"] = dict(self.shares)
            out["hash"] = ("first 8 bytes of SHA-256 over 'corpuspack-split:<seed>:<id>', "
                           "big-endian, over 2^64; held-out splits own consecutive ranges "
                           "from 0 in sorted name order, train the rest")
        elif self.by == "folder":
            out["folders"] = {name: list(globs) for name, globs in self.folders}
        return out

    @classmethod
    def from_json(cls, value: Any) -> Splits:
        """The settings a release recorded (UsageError when they are not what publish
        writes)."""
        if value is None:
            return cls()
        try:
            by = value["by"]
            if by == "hash":
                shares = tuple(sorted((str(k), float(v)) for k, v in value["shares"].items()))
                spec = cls(by, shares=shares, seed=int(value.get("seed", 0)))
            elif by == "folder":
                spec = cls(by, folders=tuple(sorted(
                    (str(k), tuple(str(g) for g in v)) for k, v in value["folders"].items())))
            elif isinstance(by, str) and by.startswith("meta.") and len(by) > 5:
                spec = cls(by)
            else:
                raise ValueError(by)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise UsageError("corpuspack.layout.splits is not what corpuspack publish "
                             "writes") from None
        problem = check_splits(spec)
        if problem:
            raise UsageError(f"corpuspack.layout.splits: {problem}")
        return spec


def check_splits(spec: Splits) -> str | None:
    """The first problem with split settings (names, shares, globs), or None."""
    names = [n for n, _ in spec.shares] + [n for n, _ in spec.folders]
    for name in names:
        if name == TRAIN:
            return f"'{TRAIN}' holds every document no other split takes: give it no value"
        if name in RESERVED_SPLITS:
            return f"split name {name!r} is taken (the Croissant record set of all documents)"
        if not SPLIT_NAME.fullmatch(name):
            return f"split name {name!r} must be {SPLIT_RULE} characters"
    if len(names) > MAX_SPLITS:
        return f"{len(names)} splits: at most {MAX_SPLITS}"
    for name, globs in spec.folders:
        if len(globs) > MAX_GLOBS or any(len(g) > MAX_GLOB_CHARS for g in globs):
            return (f"{name}: at most {MAX_GLOBS} globs of at most {MAX_GLOB_CHARS} "
                    "characters each")
    total = 0.0
    for name, share in spec.shares:
        if not 0 < share < 1:
            return f"{name} must be a share of the documents above 0 and below 1, not {share!r}"
        total += share
    if total >= 1:
        return f"the shares add up to {total:g}: they must leave some documents to train"
    if spec.seed < 0 or spec.seed >= _SCALE:
        return "seed must be between 0 and 2^64 - 1"
    return None


@dataclass(frozen=True)
class Subsets:
    """The ``[subsets]`` table: ``by``, the columns whose values name Hugging Face configs
    (``language``, ``folder``: the top-level source folder)."""

    by: tuple[str, ...] = ()

    def values(self, doc: dict[str, Any]) -> tuple[str, ...]:
        """The document's value of each ``by`` column, each a safe path component."""
        out = []
        for key in self.by:
            if key == "language":
                out.append(component(doc.get("language") or UNDETERMINED))
            else:
                source = str(doc.get("source") or "")
                out.append(component(source.split("/", 1)[0]) if "/" in source else ROOT)
        return tuple(out)

    def config_names(self, values: tuple[str, ...]) -> list[str]:
        """The configs a document with these values belongs to (besides ``default``)."""
        both = len(self.by) > 1
        return [f"folder-{v}" if both and key == "folder" else v
                for key, v in zip(self.by, values, strict=True)]

    def to_json(self) -> dict[str, Any]:
        return {"by": list(self.by)}

    @classmethod
    def from_json(cls, value: Any) -> Subsets:
        if value is None:
            return cls()
        by = value.get("by") if isinstance(value, dict) else None
        if not isinstance(by, list) or any(k not in SUBSET_KEYS for k in by) \
                or len(set(by)) != len(by):
            raise UsageError("corpuspack.layout.subsets is not what corpuspack publish writes")
        return cls(tuple(by))


def component(value: str) -> str:
    """``value`` as a path component and config name: as it is when it is short, lower
    case and plain (:data:`_SAFE`) and does not look like a slugged name (ending in ``-``
    and 8 hex digits) or a folder config (``folder-...``), else a slug and 8 hex digits of
    its SHA-256. Distinct values therefore give distinct names (``News`` and
    ``news-69752f23`` both gave ``news-69752f23``), barring a 32-bit digest collision
    between values of the same slug."""
    if _SAFE.fullmatch(value) and value not in _RESERVED and ".." not in value \
            and not _LOOKS_SLUGGED.search(value) and not value.startswith("folder-"):
        return value
    slug = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")[:40] or "x"
    return f"{slug}-{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()[:8]}"


@dataclass(frozen=True)
class Layout:
    """Splits and subsets together: where each document of a release goes."""

    splits: Splits = Splits()
    subsets: Subsets = Subsets()

    def to_json(self) -> dict[str, Any]:
        return {"splits": self.splits.to_json(), "subsets": self.subsets.to_json()}

    @classmethod
    def from_descriptor(cls, descriptor: dict[str, Any]) -> Layout:
        """The layout a release recorded (``corpuspack.layout``), or the plain one."""
        cp = descriptor.get("corpuspack")
        recorded = cp.get("layout") if isinstance(cp, dict) else None
        if not isinstance(recorded, dict):
            return cls()
        return cls(Splits.from_json(recorded.get("splits")),
                   Subsets.from_json(recorded.get("subsets")))

    def directory(self, values: tuple[str, ...]) -> str:
        """The folder of a partition's files, relative to the release."""
        return "/".join(("data", *values))


def iter_in_id_order(package: Any) -> Iterator[dict[str, Any]]:
    """Every document of a package or release in id order: a release laid out by split or
    subset has each file sorted by id, the shards of one (subset, split) group holding
    consecutive id ranges: each group's files are read one after the other and the groups
    merged, one open file per group, at most :data:`MAX_PARTS` groups (each holding a
    decoded batch of up to 1,024 rows and the row group being read). A package whose files
    are in id order one after the other streams them as
    :meth:`~corpuspack.reader.Package.iter_documents` does. Raises UsageError as it does,
    for more than MAX_PARTS groups, and for a group whose ids do not increase."""
    from corpuspack.reader import BadRecord, document_problem, iter_records

    layout = Layout.from_descriptor(package.descriptor)
    if not package.is_release or (not layout.splits.active and not layout.subsets.by):
        yield from package.iter_documents()
        return

    def stream(data_file: Any) -> Iterator[tuple[str, int, dict[str, Any]]]:
        for number, doc in iter_records(package.files, data_file):
            problem = doc.message if isinstance(doc, BadRecord) else document_problem(doc)
            if problem:
                raise UsageError(f"{package.label}: {data_file.path} record {number}: "
                                 f"{str(problem)[:200]}; run 'corpuspack validate'")
            yield doc["id"], number, doc

    groups = part_groups(package.data_files)
    if len(groups) > MAX_PARTS:
        raise UsageError(f"{package.label}: {len(groups)} (subset, split) groups of files, "
                         f"more than the {MAX_PARTS} read at once in id order")

    def chained(group: list[Any]) -> Iterator[tuple[str, int, dict[str, Any]]]:
        # a group's shards hold consecutive id ranges: read one after the other
        previous: str | None = None
        for data_file in group:
            for item in stream(data_file):
                if previous is not None and item[0] <= previous:
                    raise UsageError(f"{package.label}: {data_file.path}: id "
                                     f"{item[0][:40]!r} is not after {previous[:40]!r}; run "
                                     "'corpuspack validate'")
                previous = item[0]
                yield item

    for _, _, doc in heapq.merge(*(chained(g) for g in groups), key=lambda t: t[0]):
        yield doc


def part_groups(data_files: list[Any]) -> list[list[Any]]:
    """The data files of a release (objects with a ``path``) grouped by (subset values,
    split): ``<folder>/<split>-NNNNN-of-MMMMM.parquet`` by folder and split, in shard order;
    any other file is a group of its own. Groups sorted by their first path."""
    groups: dict[str, list[tuple[str, Any]]] = {}
    for data_file in data_files:
        shard = _SHARD.fullmatch(data_file.path)
        key = f"{shard[1]}\0{shard[3]}" if shard else f"{data_file.path}\0"
        groups.setdefault(key, []).append((data_file.path, data_file))
    return sorted(([f for _, f in sorted(g, key=lambda t: t[0])] for g in groups.values()),
                  key=lambda g: g[0].path)


MAX_CONFIG_BYTES = 4 << 20


def layout_at(spec: str, package: Any, repo: Any, config: Any) -> Layout | None:
    """The splits and subsets of another version (``package``, opened from ``spec``): what
    a release folder records, or for a git revision of ``repo`` the ``[splits]`` and
    ``[subsets]`` of ``config``'s file at that revision. None when unknown (a package
    folder, no config, or a config that does not load there)."""
    import subprocess
    import tomllib

    from corpuspack.config import splits_from, subsets_from
    from corpuspack.errors import ConfigError

    if package.is_release:
        return Layout.from_descriptor(package.descriptor)
    if package.folder is not None or repo is None or config is None \
            or config.config_file is None:
        return None
    rel = os.path.relpath(config.config_file, repo).replace(os.sep, "/")
    if rel.startswith("../"):
        return None
    done = subprocess.run(["git", "-C", str(repo), "cat-file", "blob", f"{spec}:{rel}"],
                          capture_output=True)
    if done.returncode != 0 or len(done.stdout) > MAX_CONFIG_BYTES:
        return None
    try:
        table = tomllib.loads(done.stdout.decode("utf-8"))
        if rel.rsplit("/", 1)[-1] == "pyproject.toml":
            table = table.get("tool", {}).get("corpuspack", {})
        where = f"{spec}:{rel}"
        return Layout(splits_from(table.get("splits", {}), where),
                      subsets_from(table.get("subsets", {}), where))
    except (ValueError, UnicodeDecodeError, AttributeError, ConfigError, RecursionError):
        return None


def layout_of_package(package: Any, config: Any = None) -> Layout | None:
    """The splits and subsets of a package as found: what a release records; for a package
    folder or a git revision of it, the ``[splits]`` and ``[subsets]`` of ``config`` (a
    :class:`~corpuspack.config.CorpusConfig`, by default the config in the current folder)
    when that config builds this package (read at that revision for a revision). None when
    unknown."""
    from corpuspack.config import load_config

    if package.is_release:
        return Layout.from_descriptor(package.descriptor)
    if config is None:
        try:
            config = load_config()
        except CorpusError:
            return None
    if package.folder is not None:
        if os.path.realpath(config.descriptor) != os.path.realpath(
                package.folder / "datapackage.json"):
            return None
        return Layout(config.splits, config.subsets)
    files = package.files
    repo, rev, base = (getattr(files, k, None) for k in ("repo", "rev", "base"))
    if repo is None or rev is None or base is None:
        return None
    try:
        rel = os.path.relpath(os.path.realpath(config.descriptor), os.path.realpath(repo))
    except ValueError:
        return None
    if rel.replace(os.sep, "/") != (base / "datapackage.json").as_posix():
        return None
    return layout_at(rev, package, repo, config)
