"""Versions of a corpus: per-document diffs, release tags and the changelog.

Ids are stable across versions and every package lists its documents in id order, so two
versions are compared by walking both in step: bounded memory whatever their size. Id lists
go to temporary files and are streamed out.
"""

from __future__ import annotations

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

from corpuspack.reader import Package

KINDS = ("added", "removed", "changed")
TAG_PREFIX = "v"
CHANGELOG_TITLE = "# Changelog\n"
_ENTRY = re.compile(r"^## (\S+)\n.*?(?=^## |\Z)", re.S | re.M)
MAX_LISTED = 50


@dataclass
class Diff:
    """What changed from one version of a corpus to another."""

    old: str
    new: str
    old_version: str
    new_version: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        (*KINDS, "unchanged"), 0))
    _files: dict[str, IO[bytes]] = field(default_factory=dict, repr=False)

    @property
    def changed_anything(self) -> bool:
        return any(self.counts[k] for k in KINDS)

    def entries(self, kind: str) -> Iterator[tuple[str, str]]:
        """(id, source) of every document of one kind, in id order."""
        fh = self._files[kind]
        fh.seek(0)
        for line in fh:
            doc_id, source = orjson.loads(line)
            yield doc_id, source

    def summary(self) -> dict[str, Any]:
        return {"old": {"package": self.old, "version": self.old_version},
                "new": {"package": self.new, "version": self.new_version},
                "counts": dict(self.counts)}


def _pairs(package: Package) -> Iterator[tuple[str, bytes, str]]:
    # a document changed when any of its columns did (text, licence, title, cluster ...)
    for line in package.iter_lines():
        doc = orjson.loads(line)
        yield doc["id"], hashlib.blake2b(line.rstrip(b"\n"), digest_size=16).digest(), doc["source"]


def diff(old: Package | None, new: Package) -> Diff:
    """Compare two versions document by document (``old`` None: everything is added).

    A document is ``changed`` when any column differs: its text, or its metadata."""
    result = Diff(old.label if old else "(nothing)", new.label,
                  old.version if old else "", new.version)
    for kind in KINDS:
        result._files[kind] = tempfile.TemporaryFile()

    def note(kind: str, doc_id: str, source: str) -> None:
        result.counts[kind] += 1
        result._files[kind].write(orjson.dumps([doc_id, source]) + b"\n")

    olds = _pairs(old) if old else iter(())
    news = _pairs(new)
    a, b = next(olds, None), next(news, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a[0] < b[0]):
            assert a is not None
            note("removed", a[0], a[2])
            a = next(olds, None)
        elif a is None or b[0] < a[0]:
            note("added", b[0], b[2])
            b = next(news, None)
        else:
            if a[1] != b[1]:
                note("changed", b[0], b[2])
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


def changelog_entry(d: Diff) -> str:
    """The changelog section of the new version: counts and the documents by kind."""
    c = d.counts
    base = f"version {d.old_version}" if d.old_version else "nothing (first release)"
    lines = [f"## {d.new_version}", "",
             f"Compared with {base}: {c['added']} added, {c['removed']} removed, "
             f"{c['changed']} changed, {c['unchanged']} unchanged.", ""]
    for kind in KINDS:
        if not c[kind]:
            continue
        lines.append(f"{kind.capitalize()}:")
        for i, (doc_id, source) in enumerate(d.entries(kind)):
            if i == MAX_LISTED:
                lines.append(f"- ... and {c[kind] - MAX_LISTED} more")
                break
            lines.append(f"- `{doc_id}` {source}")
        lines.append("")
    return "\n".join(lines)


def update_changelog(text: str | None, entry: str) -> str:
    """Add the entry of a version, newest first; an entry already recorded for that
    version stays as it was written when that version was released."""
    version = entry.split("\n", 1)[0][3:]
    text = text or CHANGELOG_TITLE
    entries = {m.group(1): m.group(0).rstrip("\n") + "\n" for m in _ENTRY.finditer(text)}
    if version in entries:
        return text
    first = _ENTRY.search(text)
    head = text[: first.start()] if first else text
    entries[version] = entry.rstrip("\n") + "\n"

    def order(item: tuple[str, str]) -> tuple[int, Any]:
        parsed = parse_version(item[0])
        return (1, parsed) if parsed is not None else (0, item[0])

    body = "\n".join(e for _, e in sorted(entries.items(), key=order, reverse=True))
    return head.rstrip("\n") + "\n\n" + body
