"""Versions of a corpus: per-document diffs, release tags and the changelog.

Ids are stable across versions and every package lists its documents in id order, so two
versions are compared by walking both in step: bounded memory whatever their size. Id lists
go to temporary files and are streamed out. Documents are compared by content (every column,
whatever the file format), so a JSON lines package and the Parquet release built from it
have no changes between them.

Names in the changelog come from data (source paths, ids, versions): they are escaped for
Markdown (:func:`corpuspack.card.md_text`), so a file name holding a newline, a backtick or
``## 9.9.9`` cannot forge an entry; existing changelog text is never reordered or dropped.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson
from packaging.version import InvalidVersion, Version

from corpuspack.card import md_code, md_text, visible
from corpuspack.document import COLUMNS
from corpuspack.errors import UsageError
from corpuspack.reader import Package
from corpuspack.splits import Layout, iter_in_id_order, layout_of_package

KINDS = ("added", "removed", "changed")
TAG_PREFIX = "v"
CHANGELOG_TITLE = "# Changelog\n"
MAX_LISTED = 50
_HEADING = re.compile(r"## (\S+)[ \t]*")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_SAFE_VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+!_-]*")
_NUMBERS = frozenset(c.name for c in COLUMNS if c.kind == "number")


@dataclass
class Diff:
    """What changed from one version of a corpus to another."""

    old: str
    new: str
    old_version: str
    new_version: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        (*KINDS, "unchanged"), 0))
    # documents in both versions whose split differs; None when the splits of one version
    # are not known (a package folder or revision diffed without its config)
    split_changed: int | None = None
    _files: dict[str, IO[bytes]] = field(default_factory=dict, repr=False)

    @property
    def changed_anything(self) -> bool:
        return any(self.counts[k] for k in KINDS)

    def entries(self, kind: str) -> Iterator[tuple[str, str]]:
        """(id, name) of every document of one kind, in id order; the name is the source
        path, with ``#`` and the record key for a JSONL record (:func:`document_name`)."""
        for doc_id, name, _ in self.details(kind):
            yield doc_id, name

    def details(self, kind: str) -> Iterator[tuple[str, str, list[str]]]:
        """(id, name, columns that differ) of every document of one kind, in id order (the
        columns only for ``changed``)."""
        fh = self._files[kind]
        fh.seek(0)
        for line in fh:
            doc_id, name, columns = orjson.loads(line)
            yield doc_id, name, columns

    def text_diffs(self) -> Iterator[tuple[str, str, str]]:
        """(id, name, unified diff of the text) of the changed documents whose texts were
        compared (see :func:`diff`'s ``texts``), in id order."""
        fh = self._files.get("text")
        if fh is None:
            return
        fh.seek(0)
        for line in fh:
            doc_id, name, text = orjson.loads(line)
            yield doc_id, name, text

    def summary(self) -> dict[str, Any]:
        out = {"old": {"package": self.old, "version": self.old_version},
               "new": {"package": self.new, "version": self.new_version},
               "counts": dict(self.counts)}
        if self.split_changed is not None:
            out["split_changed"] = self.split_changed
        return out


def content_digest(doc: dict[str, Any]) -> bytes:
    """A digest of a document's content, the same for a JSON lines document and the Parquet
    row it became: keys sorted, empty columns (null, empty ``meta``) left out, whole
    numbers in number columns as floats."""
    canon = {k: float(v) if k in _NUMBERS and isinstance(v, int) else v
             for k, v in doc.items() if v is not None and not (k == "meta" and v == {})}
    try:
        data = orjson.dumps(canon, option=orjson.OPT_SORT_KEYS)
    except orjson.JSONEncodeError as exc:
        raise UsageError(f"document {visible(str(doc.get('id'))[:40])} cannot be compared: "
                         f"{exc}") from None
    return hashlib.blake2b(data, digest_size=16).digest()


def document_name(doc: dict[str, Any]) -> str:
    """How diffs, changelogs and reports name a document: its source path, and for a record
    of a JSONL file ``#`` and the record key (``dump.jsonl#a17``)."""
    record = doc.get("record")
    return f"{doc['source']}#{record}" if record else str(doc["source"])


def _canonical(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: float(v) if k in _NUMBERS and isinstance(v, int) else v
            for k, v in doc.items() if v is not None and not (k == "meta" and v == {})}


def changed_columns(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The columns whose content differs between two versions of a document, in schema
    order (compared as :func:`content_digest` compares them)."""
    a, b = _canonical(old), _canonical(new)
    return [c.name for c in COLUMNS if a.get(c.name) != b.get(c.name)]


NO_NEWLINE = "\\ No newline at end of file\n"


def text_diff(old: str, new: str, name: str, context: int = 3) -> str:
    """A unified diff of two texts, line by line (``difflib``), as ``git apply`` and
    ``patch`` read it: a last line without a line break is followed by git's marker
    (difflib leaves it unterminated, and the next line of the diff ran on after it)."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True),
        fromfile=f"a/{name}", tofile=f"b/{name}", n=context, lineterm="\n")
    return "".join(line if line.endswith(("\n", "\r")) else f"{line}\n{NO_NEWLINE}"
                   for line in lines)


def _pairs(package: Package) -> Iterator[tuple[str, bytes, dict[str, Any]]]:
    # a document changed when any of its columns did (text, licence, title, cluster ...)
    previous: str | None = None
    for doc in iter_in_id_order(package):
        doc_id = doc["id"]
        if previous is not None and doc_id <= previous:
            raise UsageError(f"{package.label}: id {visible(doc_id[:40])} comes after "
                             f"{visible(previous[:40])}: ids are not unique and sorted; run "
                             "'corpuspack validate'")
        previous = doc_id
        yield doc_id, content_digest(doc), doc


def _layout(package: Package | None, given: Layout | None) -> Layout | None:
    if given is not None or package is None:
        return given
    return layout_of_package(package)


def diff(old: Package | None, new: Package, *, texts: bool | str = False,
         layouts: tuple[Layout | None, Layout | None] = (None, None)) -> Diff:
    """Compare two versions document by document (``old`` None: everything is added).

    A document is ``changed`` when any column differs: its text, or its metadata (compared
    by content: :func:`content_digest`); :meth:`Diff.details` names the columns. When the
    splits of both versions are known (``layouts``, else what a release folder records or
    the config of the current folder says: :func:`corpuspack.splits.layout_of_package`), a
    document whose split differs is ``changed`` too, its columns naming ``split: OLD ->
    NEW``, and :attr:`Diff.split_changed` counts them (documents keep their split unless
    the split settings changed: :mod:`corpuspack.splits`). With
    ``texts`` (True, or the id or first digits of one document) the unified diffs of the
    changed texts are kept too (:meth:`Diff.text_diffs`). Raises UsageError when a package
    cannot be read or its ids are not sorted."""
    result = Diff(old.label if old else "(nothing)", new.label,
                  old.version if old else "", new.version)
    for kind in (*KINDS, *(("text",) if texts else ())):
        result._files[kind] = tempfile.TemporaryFile()

    def note(kind: str, doc: dict[str, Any], columns: list[str] | None = None) -> None:
        result.counts[kind] += 1
        result._files[kind].write(orjson.dumps([doc["id"], document_name(doc),
                                                columns or []]) + b"\n")

    old_layout, new_layout = _layout(old, layouts[0]), _layout(new, layouts[1])
    compare = old is not None and old_layout is not None and new_layout is not None
    old_split = old_layout.splits.assigner() if compare and old_layout else None
    new_split = new_layout.splits.assigner() if compare and new_layout else None
    if compare:
        result.split_changed = 0
    olds = _pairs(old) if old else iter(())
    news = _pairs(new)
    a, b = next(olds, None), next(news, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a[0] < b[0]):
            assert a is not None
            note("removed", a[2])
            a = next(olds, None)
        elif a is None or b[0] < a[0]:
            note("added", b[2])
            b = next(news, None)
        else:
            moved: list[str] = []
            if old_split is not None and new_split is not None:
                was, now = old_split(a[2]), new_split(b[2])
                if was != now:
                    moved = [f"split: {was} -> {now}"]
                    result.split_changed = (result.split_changed or 0) + 1
            if a[1] != b[1] or moved:
                note("changed", b[2], changed_columns(a[2], b[2]) + moved)
                wanted = texts is True or (isinstance(texts, str) and b[0].startswith(texts))
                if wanted and a[2]["text"] != b[2]["text"]:
                    name = document_name(b[2])
                    result._files["text"].write(orjson.dumps(
                        [b[0], name, text_diff(a[2]["text"], b[2]["text"], name)]) + b"\n")
            else:
                result.counts["unchanged"] += 1
            a, b = next(olds, None), next(news, None)
    return result


def parse_version(text: str) -> Version | None:
    """A version string as a comparable Version, or None when it is not one."""
    try:
        return Version(text)
    except InvalidVersion:
        return None


def release_tags(repo: Path) -> list[tuple[Version, str]]:
    """Release tags (``v<version>``) of a repository, oldest first."""
    done = subprocess.run(["git", "-C", str(repo), "tag", "--list", f"{TAG_PREFIX}*"],
                          capture_output=True, text=True)
    tags = []
    for tag in done.stdout.split():
        version = parse_version(tag[len(TAG_PREFIX):])
        if version is not None:
            tags.append((version, tag))
    return sorted(tags)


def previous_release(repo: Path, version: str) -> str | None:
    """The newest release tag of a version lower than ``version``, if any."""
    current = parse_version(version)
    older = [tag for v, tag in release_tags(repo) if current is None or v < current]
    return older[-1] if older else None


def latest_release(repo: Path) -> tuple[str, str] | None:
    """(tag, version) of the newest release tag, if any."""
    tags = release_tags(repo)
    return (tags[-1][1], str(tags[-1][0])) if tags else None


def heading_version(version: str) -> str:
    """A version as a changelog heading shows it: one word, every character outside
    ``A-Z a-z 0-9 . + ! _ -`` shown as an escape (``\\x0a``, ``\\u2028``)."""
    if _SAFE_VERSION.fullmatch(version):
        return version
    out = "".join(ch if re.fullmatch(r"[A-Za-z0-9.+!_-]", ch) else
                  (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
                  for ch in version)
    return out or "(none)"


def changelog_entry(d: Diff) -> str:
    """The changelog section of the new version: counts and the documents by kind.

    Ids and source paths are escaped for Markdown (code spans only for plain names,
    control characters shown as escapes), the version is one word
    (:func:`heading_version`): no line of the entry but its first starts with ``#``."""
    c = d.counts
    base = f"version {md_text(d.old_version)}" if d.old_version else "nothing (first release)"
    lines = [f"## {heading_version(d.new_version)}", "",
             f"Compared with {base}: {c['added']} added, {c['removed']} removed, "
             f"{c['changed']} changed, {c['unchanged']} unchanged.", ""]
    if d.split_changed:
        lines += [f"{d.split_changed} document(s) changed split: the split settings "
                  "changed (a document keeps its split otherwise).", ""]
    elif d.split_changed == 0 and d.old_version:
        lines += ["No document changed split.", ""]
    for kind in KINDS:
        if not c[kind]:
            continue
        lines.append(f"{kind.capitalize()}:")
        for i, (doc_id, source, columns) in enumerate(d.details(kind)):
            if i == MAX_LISTED:
                lines.append(f"- ... and {c[kind] - MAX_LISTED} more")
                break
            what = f" ({', '.join(columns)})" if columns else ""
            lines.append(f"- {md_code(doc_id)} {md_text(source)}{what}")
        lines.append("")
    return "\n".join(lines)


def _entries(text: str) -> list[tuple[str, int]]:
    """(version, offset) of each entry heading of a changelog: a line ``## <word>`` outside
    fenced code blocks."""
    found, offset, fence = [], 0, ""
    for line in text.split("\n"):
        bare = line.rstrip("\r")
        opened = _FENCE.match(bare)
        if fence:
            if opened and opened.group(1)[0] == fence[0] and len(opened.group(1)) >= len(fence) \
                    and not bare[opened.end():].strip():
                fence = ""
        elif opened:
            fence = opened.group(1)
        else:
            heading = _HEADING.fullmatch(bare)
            if heading:
                found.append((heading.group(1), offset))
        offset += len(line) + 1
    return found


def update_changelog(text: str | None, entry: str) -> str:
    """Add the entry of a version (as :func:`changelog_entry` writes it), newest first.

    An entry already recorded for that version stays as it was written when that version was
    released (the text is returned unchanged). Existing text is never reordered or dropped:
    the entry goes before the first entry of a lower version (the top when the version is
    not a PEP 440 version), else at the end. Headings inside fenced code blocks are not
    entries."""
    version = entry.split("\n", 1)[0][3:].strip()
    text = text or CHANGELOG_TITLE
    entries = _entries(text)
    if any(v == version for v, _ in entries):
        return text
    block = entry.rstrip("\n") + "\n"
    new = parse_version(version)
    at = None
    for v, offset in entries:
        old = parse_version(v)
        if new is None or (old is not None and old < new):
            at = offset
            break
    if at is None:
        return text.rstrip("\n") + "\n\n" + block
    return text[:at] + block + "\n" + text[at:]
