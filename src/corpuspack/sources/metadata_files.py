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

Both are read through :mod:`corpuspack.safefs` (inside the source folder, regular files, size
capped) and parsed by :mod:`corpuspack.sources.safeparse` (bounded, faithful values). The
caps are the ``max_metadata_kb``, ``max_manifest_mb``, ``max_manifest_patterns`` and
``max_meta_kb`` build options; the defaults here equal the options' defaults.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from fnmatch import translate
from pathlib import Path
from typing import Any

import orjson
import yaml

from corpuspack.errors import SkipFile
from corpuspack.safefs import UnsafeFile, read_bytes
from corpuspack.sources.safeparse import load_json, load_toml, load_yaml

SIDECAR_SUFFIXES = (".meta.json", ".meta.yaml", ".meta.yml")
_LONGEST = max(map(len, SIDECAR_SUFFIXES))
MANIFEST_NAMES = frozenset({"_manifest.csv", "_manifest.jsonl"})
MAX_METADATA_BYTES = 256 * 1024  # max_metadata_kb
MAX_MANIFEST_BYTES = 16 << 20  # max_manifest_mb
MAX_MANIFEST_PATTERNS = 1000  # max_manifest_patterns
MAX_META_BYTES = 64 * 1024  # max_meta_kb
_WILDCARD = re.compile(r"[*?\[]")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def check_meta_size(meta: dict[str, Any], max_meta_bytes: int, what: str) -> bytes:
    """``meta`` as JSON; SkipFile naming ``what`` when it is larger than ``max_meta_bytes``
    (the ``max_meta_kb`` option) or cannot be written as JSON."""
    try:
        data = orjson.dumps(meta)
    except (orjson.JSONEncodeError, TypeError) as exc:
        raise SkipFile(f"{what} cannot be written as JSON: {exc}") from None
    if len(data) > max_meta_bytes:
        raise SkipFile(f"{what} is {len(data):,} bytes as JSON, over the limit of "
                       f"{max_meta_bytes:,} bytes (max_meta_kb)")
    return data


class NotAMapping(SkipFile):  # noqa: N818 - a SkipFile, named as its kind is
    """Metadata text that parses, to a value other than a mapping (a Markdown file's
    opening ``---`` rule and paragraph are no front matter)."""


def parse_mapping(data: bytes | str, kind: str, what: str, *,
                  max_meta_bytes: int = MAX_META_BYTES,
                  notes: Counter[str] | None = None) -> dict[str, Any]:
    """The mapping of a YAML, JSON or TOML metadata text (``kind`` "yaml", "json" or
    "toml"); {} if empty.

    Raises SkipFile whose reason starts ``invalid <what>`` for text that is not a mapping,
    breaks the bounds of :mod:`~corpuspack.sources.safeparse` or is larger than
    ``max_meta_bytes`` as JSON. Lone surrogates removed and keys written twice are counted
    in ``notes``.
    """
    try:
        if kind == "json":
            if isinstance(data, bytes) and data.startswith(codecs.BOM_UTF8):
                data = data[len(codecs.BOM_UTF8):]
            value, doubts = load_json(data)
        elif kind == "toml":
            value, doubts = load_toml(data.decode("utf-8-sig") if isinstance(data, bytes)
                                      else data)
        else:
            text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
            value, doubts = load_yaml(text)
    except (ValueError, yaml.YAMLError) as exc:  # MetadataError, JSON and decoding errors
        raise SkipFile(f"invalid {what}: {first_line(exc)}") from None
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise NotAMapping(f"invalid {what}: not a mapping of keys to values")
    if doubts and notes is not None:
        notes.update(doubts)
    check_meta_size(value, max_meta_bytes, what)
    return value


def _nfc(text: str) -> str:
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def sidecar_key(name: str) -> tuple[str, str] | None:
    """How a sidecar file name is matched, or None for a name that is no sidecar: (the name
    of the source file it is for, NFC-normalised as paths are; its suffix in lower case).
    The suffix is matched in any case (``a.txt.META.yaml``), the rest as it is."""
    if not name[-_LONGEST:].lower().endswith(SIDECAR_SUFFIXES):  # most names: one test
        return None
    for suffix in SIDECAR_SUFFIXES:
        tail = name[-len(suffix):]
        if len(name) > len(suffix) and tail.isascii() and tail.lower() == suffix:
            return _nfc(name[:-len(suffix)]), suffix
    return None


def is_sidecar(name: str) -> bool:
    """True for a sidecar metadata file name (suffix in any case, see :func:`sidecar_key`)."""
    return sidecar_key(name) is not None


def sidecar_keys(name: str) -> list[tuple[str, str]]:
    """The :func:`sidecar_key` of each sidecar a source file name may have, most specific
    first: its full name, then its name without its format and ``.gz`` extensions."""
    base = name[:-3] if name[-3:].lower() == ".gz" else name
    stem = os.path.splitext(base)[0]
    out = [(_nfc(name), s) for s in SIDECAR_SUFFIXES]
    if stem != name:
        out += [(_nfc(stem), s) for s in SIDECAR_SUFFIXES]
    return out


def read_sidecar(path: str | None, root: str | None = None, *,
                 max_bytes: int = MAX_METADATA_BYTES, max_meta_bytes: int = MAX_META_BYTES,
                 notes: Counter[str] | None = None) -> dict[str, Any]:
    """Metadata from a sidecar file ({} for None), read inside ``root`` (the source folder).

    Raises SkipFile naming the sidecar when it is not a regular file inside ``root`` (a
    link outside, a FIFO, a device), is larger than ``max_bytes`` (``max_metadata_kb``) or
    is invalid (see :func:`parse_mapping`).
    """
    if path is None:
        return {}
    name = os.path.basename(path)
    what = f"metadata file {name}"
    try:
        data = read_bytes(path, root=root, max_bytes=max_bytes, what=what)
    except UnsafeFile as exc:
        raise SkipFile(f"{exc.reason} (max_metadata_kb)" if "exceeds the limit" in exc.reason
                       else exc.reason) from None
    kind = "json" if name.lower().endswith(".json") else "yaml"
    return parse_mapping(data, kind, what, max_meta_bytes=max_meta_bytes, notes=notes)


def _piece(tokens: list[str]) -> re.Pattern[str]:
    """The regular expression of star-free pattern text (one character per token), as
    :func:`fnmatch.translate` writes it, unanchored (for search at any place)."""
    rx = translate("".join(tokens))
    for end in ("\\Z", "\\z"):
        if rx.endswith(end):
            return re.compile(rx[:-len(end)])
    raise AssertionError(f"fnmatch.translate wrote {rx!r}")  # pragma: no cover


@dataclass(frozen=True, slots=True)
class Glob:
    """A shell pattern as :mod:`fnmatch` reads it (``*`` also matching ``/``), split at its
    stars into pieces of fixed width: ``head*middle*…*tail``.

    A string matches when the head matches at its start, each middle at the leftmost place
    after the one before, and the tail at its end after the last middle: leftmost places
    leave the most room, so this never misses a match. A pattern without a star (but with
    ``?`` or ``[``) is its head alone (``tail`` None) and must span the whole string.

    Matching is incremental, as the walk goes down folders: a :data:`State` ``(piece,
    at)`` says which middle is sought next (-1: the head is not read yet, ``at`` then
    being where the string starts) and from where. :meth:`advance` carries it over a
    folder's path, :meth:`matches` finishes it on a file's; each looks only at what the
    last step added, plus the width of the piece sought, so the work per folder entry is
    bounded by the length of its name and of the pattern, whatever the depth.
    """

    text: str
    head: re.Pattern[str]
    head_width: int
    head_literal: str  # the head's literal characters before its first ? or [
    middles: tuple[tuple[re.Pattern[str], int], ...]
    tail: re.Pattern[str] | None
    tail_width: int

    @classmethod
    def compile(cls, pattern: str) -> Glob:
        """Split ``pattern`` into pieces of tokens as :func:`fnmatch.translate` reads it: a
        ``[`` with a ``]`` after it opens a class (a ``*`` in it is no star), else it is
        itself."""
        pieces: list[list[str]] = [[]]
        literal = [True]  # per piece: only literal characters so far
        head_literal: list[str] = []
        i, n = 0, len(pattern)
        while i < n:
            c = pattern[i]
            i += 1
            if c == "*":
                if pieces[-1] or len(pieces) == 1:
                    pieces.append([])
                    literal.append(True)
                continue
            token = c
            if c == "[":
                j = i + (i < n and pattern[i] == "!")
                j += j < n and pattern[j] == "]"
                j = pattern.find("]", j)
                if j >= 0:
                    token, i = pattern[i - 1:j + 1], j + 1
            if c == "?" or len(token) > 1:
                literal[-1] = False
            elif len(pieces) == 1 and literal[0]:
                head_literal.append(c)
            pieces[-1].append(token)
        head = pieces[0]
        if len(pieces) == 1:
            return cls(pattern, _piece(head), len(head), "".join(head_literal), (), None, 0)
        middles = tuple((_piece(m), len(m)) for m in pieces[1:-1] if m)
        tail = pieces[-1]
        return cls(pattern, _piece(head), len(head), "".join(head_literal), middles,
                   _piece(tail), len(tail))

    def start(self, base: int) -> State:
        """The state of a string starting at ``base`` (the length of the manifest's folder
        path), nothing of it read yet."""
        return (-1, base)

    def _head(self, state: State, s: str) -> State | None:
        base = state[1]
        if len(s) - base < self.head_width or self.tail is None:
            return None
        return (0, base + self.head_width) if self.head.match(s, base) else None

    def _middles(self, piece: int, at: int, s: str, seen: int) -> tuple[int, int, bool]:
        """Seek the middles from ``piece`` on: (piece, at, whether all were found)."""
        while piece < len(self.middles):
            rx, width = self.middles[piece]
            found = rx.search(s, max(at, seen - width + 1))
            if found is None:
                return piece, at, False
            piece, at = piece + 1, found.end()
            seen = at
        return piece, at, True

    def advance(self, state: State, s: str, seen: int) -> State | None:
        """The state once the folder path ``s`` is read (``state`` covered its first
        ``seen`` characters); None when no longer string can match. The same object when
        nothing changed."""
        piece, at = state
        if piece < 0:
            if len(s) - at < self.head_width:
                m = len(s) - at
                return state if s.startswith(self.head_literal[:m], at) else None
            found = self._head(state, s)
            if found is None:
                return None
            (piece, at), seen = found, found[1]
        piece, at, _ = self._middles(piece, at, s, seen)
        return state if (piece, at) == state else (piece, at)

    def matches(self, state: State, s: str, seen: int) -> bool:
        """Whether the file path ``s`` matches (``state`` covered its first ``seen``
        characters)."""
        piece, at = state
        if piece < 0:
            if self.tail is None:
                return len(s) - at == self.head_width and bool(self.head.match(s, at))
            found = self._head(state, s)
            if found is None:
                return False
            (piece, at), seen = found, found[1]
        piece, at, complete = self._middles(piece, at, s, seen)
        start = len(s) - self.tail_width
        return (complete and start >= at and self.tail is not None
                and self.tail.match(s, start) is not None)


State = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Wildcard:
    """A manifest row whose path has a wildcard: its row number, pattern and metadata."""

    number: int
    glob: Glob
    meta: dict[str, Any]


@dataclass(frozen=True)
class Manifest:
    """Rows of one manifest file, with the folder they are relative to (``prefix``).

    Rows naming one file (no ``*``, ``?`` or ``[``, or a name holding one of these as it
    is) sit in ``exact`` by folder (relative to the manifest's, ending ``/``) and name;
    ``folders`` holds the hash of each such folder's path from the source root, so the walk
    tells in one probe per folder whether a manifest names a file there, and a file costs
    one probe more (no path is copied per file or kept per row). Rows with a wildcard are
    :class:`Wildcard` rows, matched by their :class:`Glob` as the walk goes down; the walk
    caps how many are in effect for a folder (``max_manifest_patterns``, all manifests
    above it together). Paths and patterns are NFC, as the walk's are. ``rows``
    counts the rows read; ``matched`` collects the numbers of rows that matched a source
    file (the walk reports the others).
    """

    prefix: str
    exact: dict[str, dict[str, tuple[tuple[int, dict[str, Any]], ...]]] = field(
        default_factory=dict)
    folders: frozenset[int] = frozenset()
    wildcards: tuple[Wildcard, ...] = ()
    rows: int = 0
    matched: set[int] = field(default_factory=set, compare=False)

    def exact_in(self, folder: str) -> dict[str, tuple[tuple[int, dict[str, Any]], ...]]:
        """The rows naming one file in ``folder`` (a path from the source root ending
        ``/``, or empty, NFC), by file name."""
        if not self.exact or hash(folder) not in self.folders:
            return {}
        return self.exact.get(folder[len(self.prefix):], {}) \
            if folder.startswith(self.prefix) else {}

    def candidates(self, rel: str) -> list[tuple[int, dict[str, Any]]]:
        """The (row number, metadata) of every row matching ``rel`` (a path from the source
        root), in row order."""
        rel = _nfc(rel)
        if not rel.startswith(self.prefix):
            return []
        cut = rel.rfind("/") + 1
        found = list(self.exact_in(rel[:cut]).get(rel[cut:], ()))
        base = len(self.prefix)
        found += [(row.number, row.meta) for row in self.wildcards
                  if row.glob.matches(row.glob.start(base), rel, base)]
        found.sort(key=lambda row: row[0])
        return found

    def lookup(self, rel: str) -> dict[str, Any]:
        """Merged metadata of every row whose pattern matches ``rel`` (a source-relative path)."""
        out: dict[str, Any] = {}
        for _, meta in self.candidates(rel):
            out.update(meta)
        return out

    def unmatched(self) -> list[tuple[int, str]]:
        """(row number, path as given, NFC) of each row not in ``matched``, in row order."""
        out = {number: folder + name for folder, names in self.exact.items()
               for name, rows in names.items() for number, _ in rows
               if number not in self.matched}
        out.update((row.number, row.glob.text) for row in self.wildcards
                   if row.number not in self.matched)
        return sorted(out.items())


def _csv_records(data: bytes) -> list[dict[str, str]]:
    """The rows of a CSV manifest as mappings of its header's names to their non-empty
    cells. SkipFile (``invalid manifest: line N: ...``) for text that is not UTF-8, a quote
    left open or followed by more than a comma (``strict`` parsing: a lenient reader would
    take the rest of the file into one cell, and the rows in it would be lost), a header
    naming a column twice, a row of more or fewer cells than the header, and a cell with a
    value under a column without a name."""
    try:
        # newline="": the reader takes CR, LF and CRLF line ends, and keeps them in cells
        reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), strict=True)
        header = next(reader, [])
        named = [name for name in header if name]
        if len(set(named)) != len(named):
            twice = sorted({name for name in named if named.count(name) > 1})
            raise SkipFile(f"invalid manifest: line 1: the header names {twice[0]!a} twice")
        rows = []
        for row in reader:
            if not row:
                continue
            if len(row) != len(header):
                raise SkipFile(f"invalid manifest: line {reader.line_num}: {len(row)} cells, "
                               f"the header has {len(header)}")
            if any(value and not name for name, value in zip(header, row, strict=True)):
                raise SkipFile(f"invalid manifest: line {reader.line_num}: a value under a "
                               "column without a name")
            rows.append({k: v for k, v in zip(header, row, strict=True) if k and v})
        return rows
    except UnicodeDecodeError as exc:
        raise SkipFile(f"invalid manifest: {exc}") from None
    except csv.Error as exc:
        raise SkipFile(f"invalid manifest: line {reader.line_num}: {exc}") from None


def _records(data: bytes, name: str, notes: Counter[str] | None) -> list[Any]:
    if name.endswith(".csv"):
        return _csv_records(data)
    records = []
    for number, line in enumerate(data.splitlines(), 1):
        if not line.strip():
            continue
        if number == 1 and line.startswith(codecs.BOM_UTF8):
            line = line[len(codecs.BOM_UTF8):]
        try:
            value, doubts = load_json(line)
        except ValueError as exc:
            raise SkipFile(f"invalid manifest: line {number}: {first_line(exc)}") from None
        if not isinstance(value, dict):
            raise SkipFile(f"invalid manifest: line {number} is not an object")
        if doubts and notes is not None:
            notes.update(doubts)
        records.append(value)
    return records


def load_manifest(path: Path, prefix: str, root: str | Path | None = None, *,
                  max_bytes: int = MAX_MANIFEST_BYTES,
                  max_patterns: int = MAX_MANIFEST_PATTERNS,
                  max_meta_bytes: int = MAX_META_BYTES,
                  in_effect: int = 0,
                  notes: Counter[str] | None = None) -> Manifest:
    """Read a manifest file; ``prefix`` is its folder relative to the source root (NFC).

    Raises SkipFile when the file is not a regular file inside ``root``, is larger than
    ``max_bytes`` (``max_manifest_mb``), has more than ``max_patterns`` wildcard rows
    together with the ``in_effect`` ones of the manifests above it that apply to its folder
    (``max_manifest_patterns``), a row without a path, a row whose metadata is larger than
    ``max_meta_bytes`` as JSON (``max_meta_kb``), or is not valid CSV / JSON lines. Paths
    are NFC-normalised, as the walk's are.
    """
    try:
        data = read_bytes(path, root=root, max_bytes=max_bytes, what="manifest")
    except UnsafeFile as exc:
        raise SkipFile(f"{exc.reason} (max_manifest_mb)" if "exceeds the limit" in exc.reason
                       else exc.reason) from None
    exact: dict[str, dict[str, list[tuple[int, dict[str, Any]]]]] = {}
    wildcards: list[Wildcard] = []
    shared: dict[bytes, dict[str, Any]] = {}  # rows with the same metadata share one dict
    records = _records(data, path.name, notes)
    budget = max_patterns - in_effect
    for number, record in enumerate(records, 1):
        pattern = record.pop("path", None)
        if not isinstance(pattern, str) or not pattern:
            raise SkipFile(f"invalid manifest: row {number} has no path")
        pattern = _nfc(pattern.removeprefix("./"))
        key = check_meta_size(record, max_meta_bytes, f"invalid manifest: row {number}")
        if not record:
            continue
        meta = shared.setdefault(key, record)
        cut = pattern.rfind("/") + 1  # a name holding '[' is looked up as it is too
        exact.setdefault(pattern[:cut], {}).setdefault(pattern[cut:], []).append(
            (number, meta))
        if _WILDCARD.search(pattern) is None:
            continue
        if len(wildcards) >= budget:
            if in_effect:
                raise SkipFile(f"manifest has rows with wildcards that, with the {in_effect:,} "
                               "of the manifests above it in effect in its folder, make more "
                               f"than {max_patterns:,} (max_manifest_patterns counts all "
                               "manifests above a folder together); rows naming one file are "
                               "not limited")
            raise SkipFile(f"manifest has more than {max_patterns:,} rows with wildcards "
                           "(max_manifest_patterns); rows naming one file are not limited")
        wildcards.append(Wildcard(number, Glob.compile(pattern), meta))
    return Manifest(prefix,
                    {k: {n: tuple(rows) for n, rows in v.items()} for k, v in exact.items()},
                    frozenset(hash(prefix + k) for k in exact), tuple(wildcards),
                    len(records))
