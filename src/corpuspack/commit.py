"""Committing a package: the staging folder, the atomic swap, and recovery.

A build writes everything into a staging folder beside the data folder, then records a
commit journal and swaps the folders and the descriptor. If the process dies before the
journal exists, the previous package is untouched; after, the next build (or
:func:`recover`) completes the swap. A reader looking in the instant between the renames
finds the journal there, and ``validate`` reports the commit as pending. Only folders
corpuspack made are ever removed: working folders carrying the marker of a process that no
longer runs, and previous data folders file by file from their record.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import orjson

from corpuspack.errors import CorpusError, UsageError
from corpuspack.ownership import LEGACY_DATA, RECORD, remove_recorded, write_record
from corpuspack.safefs import (
    OWN_MARKER,
    UnsafeFile,
    make_own_dir,
    owner_alive,
    read_bytes,
    remove_own_dir,
    write_new,
)
from corpuspack.shards import ShardInfo

DESCRIPTOR_IN_STAGING = "datapackage.json"
STAGING_PREFIX = ".corpuspack-staging-"
OLD_PREFIX = ".corpuspack-old-"
WORK_PREFIX = ".corpuspack-work-"


def write_json(path: Path, value: object) -> None:
    """Write JSON deterministically (2-space indent, trailing newline) to a new file in a
    folder of corpuspack's own, and fsync it."""
    write_new(path, orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Layout:
    """Where a package's descriptor and data folder are."""

    descriptor: Path
    data_dir: Path

    @property
    def parent(self) -> Path:
        return self.data_dir.parent

    @property
    def journal(self) -> Path:
        return self.parent / f".corpuspack-commit-{self.data_dir.name}.json"

    def prefix(self, kind: str) -> str:
        """Name prefix of this package's working folders of one kind."""
        return {"staging": STAGING_PREFIX, "old": OLD_PREFIX, "work": WORK_PREFIX}[kind] + \
            self.data_dir.name + "-"

    def new_staging(self) -> Path:
        self.parent.mkdir(parents=True, exist_ok=True)
        return make_own_dir(self.parent, self.prefix("staging"))

    def new_workdir(self) -> Path:
        self.parent.mkdir(parents=True, exist_ok=True)
        return make_own_dir(self.parent, self.prefix("work"))


def record_staging(staging: Path, shards: list[ShardInfo]) -> dict[str, tuple[int, str]]:
    """Write the ownership record of a staged data folder: every file in it but the
    descriptor (which moves out at commit) and the folder marker. Returns the (bytes,
    sha256) of every file staged, the record and the descriptor included."""
    known = {s.filename: (s.bytes, s.sha256) for s in shards}
    files = {}
    for entry in sorted(staging.iterdir()):
        if entry.name in (DESCRIPTOR_IN_STAGING, OWN_MARKER, RECORD):
            continue
        files[entry.name] = known.get(entry.name) or (entry.stat().st_size, _sha256(entry))
    write_record(staging, files)
    for name in (RECORD, DESCRIPTOR_IN_STAGING):
        if (staging / name).is_file():
            files[name] = ((staging / name).stat().st_size, _sha256(staging / name))
    return files


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def commit(layout: Layout, staging: Path) -> None:
    """Make the staged package the current one (see the module docstring)."""
    for entry in staging.iterdir():
        if entry.is_file():
            with open(entry, "rb") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(staging)
    old = layout.parent / f"{layout.prefix('old')}{staging.name.rsplit('-', 1)[-1]}"
    tmp = layout.journal.with_suffix(".tmp")
    if os.path.lexists(tmp):
        os.unlink(tmp)  # a name of ours; unlink removes a link, never its target
    write_new(tmp, orjson.dumps({"staging": staging.name, "old": old.name}))
    os.replace(tmp, layout.journal)
    _fsync_dir(layout.parent)
    _roll_forward(layout, staging, old)


def _roll_forward(layout: Layout, staging: Path, old: Path) -> None:
    if staging.exists() and layout.data_dir.exists() and not old.exists():
        os.rename(layout.data_dir, old)
    staged_descriptor = staging / DESCRIPTOR_IN_STAGING
    if staged_descriptor.exists():
        layout.descriptor.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged_descriptor, layout.descriptor)
    if staging.exists():
        os.rename(staging, layout.data_dir)
    _fsync_dir(layout.parent)
    marker = layout.data_dir / OWN_MARKER
    if os.path.lexists(marker):
        os.unlink(marker)
    if old.exists():
        left = remove_recorded(old, LEGACY_DATA)
        if left:
            raise CorpusError(f"the previous data folder, kept as {old}, holds files "
                              f"corpuspack did not write ({', '.join(left[:3])}): move them "
                              "back by hand")
    layout.journal.unlink(missing_ok=True)


def pending_commit(layout: Layout) -> bool:
    """True when an interrupted build left a commit to finish."""
    return layout.journal.exists()


def _journal_folders(layout: Layout) -> tuple[Path, Path]:
    """The staging and old folders a commit journal names, checked: plain names of this
    package's working folders, real folders (not links) or absent."""
    try:
        info = orjson.loads(read_bytes(layout.journal, root=layout.parent, max_bytes=4096,
                                       what="commit journal"))
        names = (str(info["staging"]), str(info["old"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, UnsafeFile):
        names = ("", "")
    patterns = (layout.prefix("staging"), layout.prefix("old"))
    for name, prefix in zip(names, patterns, strict=True):
        if not (name.startswith(prefix) and _SUFFIX.fullmatch(name[len(prefix):])):
            raise UsageError(f"{layout.journal} is not a commit journal corpuspack wrote "
                             "(it names folders outside this package): not following it; "
                             "remove it")
        path = layout.parent / name
        if os.path.islink(path) or (path.exists() and not path.is_dir()):
            raise UsageError(f"{path}, named by {layout.journal}, is not a folder of "
                             "corpuspack's: not following the journal; remove it")
    return layout.parent / names[0], layout.parent / names[1]


def recover(layout: Layout) -> bool:
    """Finish an interrupted commit and remove leftovers of interrupted builds.

    Only folders corpuspack made are removed: working folders carrying the marker of a
    process that no longer runs, and previous data folders file by file from their record.
    Returns True when a commit was completed.
    """
    finished = False
    if os.path.lexists(layout.journal):
        staging, old = _journal_folders(layout)
        _roll_forward(layout, staging, old)
        finished = True
    if layout.parent.exists():
        for entry in sorted(layout.parent.iterdir()):
            name = entry.name
            if name.startswith((layout.prefix("staging"), layout.prefix("work"))):
                if owner_alive(entry) is False:
                    remove_own_dir(entry)
            elif name.startswith(layout.prefix("old")) and not entry.is_symlink() \
                    and entry.is_dir() and _SUFFIX.fullmatch(name[len(layout.prefix("old")):]):
                remove_recorded(entry, LEGACY_DATA)
        tmp = layout.journal.with_suffix(".tmp")
        if os.path.lexists(tmp):
            os.unlink(tmp)
    return finished


_SUFFIX = re.compile(r"[A-Za-z0-9_]{1,64}")


def replace_dir(staging: Path, target: Path) -> None:
    """Put the complete folder ``staging`` (made by :func:`~corpuspack.safefs.make_own_dir`,
    holding an ownership record) in the place of ``target`` (two renames).

    ``target`` must have passed :func:`~corpuspack.ownership.check_replaceable`. Killed
    between the renames, the previous folder waits beside it under an ``.corpuspack-old-``
    name, and :func:`recover_dir` puts it back; the previous folder's files are then removed
    one by one from its record.
    """
    old = target.parent / f"{OLD_PREFIX}{target.name}-{staging.name.rsplit('-', 1)[-1]}"
    _fsync_dir(staging)
    if target.exists():
        os.rename(target, old)
    os.rename(staging, target)
    _fsync_dir(target.parent)
    marker = target / OWN_MARKER
    if os.path.lexists(marker):
        os.unlink(marker)
    remove_recorded(old)


def recover_dir(target: Path) -> None:
    """Undo a :func:`replace_dir` that was interrupted, and remove its leftovers (only
    folders corpuspack made: see :func:`recover`)."""
    if not target.parent.exists():
        return
    prefix = f"{OLD_PREFIX}{target.name}-"
    olds = sorted(p for p in target.parent.iterdir() if p.name.startswith(prefix)
                  and _SUFFIX.fullmatch(p.name[len(prefix):]) and p.is_dir()
                  and not p.is_symlink())
    if olds and not os.path.lexists(target):
        os.rename(olds[-1], target)
        olds = olds[:-1]
    for leftover in olds:
        remove_recorded(leftover)
    for staging in target.parent.glob(f"{STAGING_PREFIX}{target.name}-*"):
        if owner_alive(staging) is False:
            remove_own_dir(staging)
