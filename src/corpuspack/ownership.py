"""What corpuspack owns: the record of files it wrote, and the outputs it refuses.

corpuspack deletes or replaces only files it wrote. Each folder it writes whole (a package's
data folder, a release folder) holds ``corpuspack-files.json``, the record of every file in
it with its size and SHA-256. Before a folder is replaced, everything in it must be in that
record; a folder holding anything else (a user's notes, a wheel in ``dist/``, a ``.git``) is
refused with one line and exit code 2, and the files of a replaced folder are removed one by
one from the record, never with a recursive delete.

:func:`check_output` refuses an output that is, contains or lies inside the sources or the
package being read, that is or contains the config's folder, the current folder, the home
folder or a ``.git`` folder, or that is a symbolic link.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterable
from pathlib import Path

import orjson

from corpuspack.errors import UsageError
from corpuspack.safefs import OWN_MARKER, UnsafeFile, read_bytes, resolve_inside, write_new

RECORD = "corpuspack-files.json"
_MAX_RECORD_BYTES = 64 << 20
# data folders written before the record existed hold only these names
LEGACY_DATA = re.compile(r"documents-\d{5}-of-\d{5}\.jsonl(\.gz)?|schema\.json|"
                         r"build-report\.json|boilerplate-audit\.jsonl")


def write_record(folder: Path, files: dict[str, tuple[int, str]]) -> None:
    """Write the record of ``folder``: ``files`` maps POSIX paths relative to it to
    (bytes, sha256). The JSON is deterministic (sorted keys)."""
    body = {"generator": "corpuspack",
            "files": {rel: {"bytes": size, "sha256": sha}
                      for rel, (size, sha) in sorted(files.items())}}
    write_new(folder / RECORD, orjson.dumps(body, option=orjson.OPT_INDENT_2
                                            | orjson.OPT_APPEND_NEWLINE))


def recorded(folder: Path) -> dict[str, dict[str, object]] | None:
    """The files the record of ``folder`` lists (None when there is no record)."""
    path = folder / RECORD
    if not os.path.lexists(path):
        return None
    try:
        value = orjson.loads(read_bytes(path, root=folder, max_bytes=_MAX_RECORD_BYTES,
                                        what=RECORD))
        files = value["files"]
        if not isinstance(files, dict):
            raise TypeError
    except (orjson.JSONDecodeError, KeyError, TypeError, UnsafeFile):
        raise UsageError(f"{path} is not a valid record of corpuspack's files: remove it "
                         "if you know the folder holds nothing of yours") from None
    return files


def _entries(folder: Path) -> Iterable[str]:
    """Every file, link or other non-folder entry below ``folder``, as POSIX paths."""
    for base, dirs, names in os.walk(folder, followlinks=False):
        rel_base = os.path.relpath(base, folder)
        # links to folders appear in dirs: they are entries, not folders to enter
        for name in [d for d in dirs if os.path.islink(os.path.join(base, d))]:
            dirs.remove(name)
            names.append(name)
        for name in names:
            rel = name if rel_base == "." else f"{rel_base}/{name}"
            yield rel.replace(os.sep, "/")


def _owned(folder: Path, legacy: re.Pattern[str] | None) -> tuple[set[str], list[str]]:
    """(entries corpuspack wrote, entries it did not) of an existing folder."""
    files = recorded(folder)
    mine, foreign = set(), []
    for rel in _entries(folder):
        if rel in (RECORD, OWN_MARKER):
            mine.add(rel)
        elif files is not None and rel in files:
            mine.add(rel)
        elif files is None and legacy is not None and legacy.fullmatch(rel):
            mine.add(rel)
        else:
            foreign.append(rel)
    return mine, sorted(foreign)


def check_replaceable(folder: Path, what: str, legacy: re.Pattern[str] | None = None) -> None:
    """Refuse (UsageError) to replace ``folder`` unless it is absent, or a real folder whose
    every entry corpuspack wrote (its record, or ``legacy`` names when it has none)."""
    try:
        st = os.lstat(folder)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise UsageError(f"{what} {folder} is a symbolic link: corpuspack does not write "
                         "through links")
    if not stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{what} {folder} exists and is not a folder: not replacing it")
    _, foreign = _owned(folder, legacy)
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3
                                          else "")
        raise UsageError(f"{what} {folder} holds files corpuspack did not write ({shown}): "
                         "refusing to replace it; move them away or choose another folder")


def remove_recorded(folder: Path, legacy: re.Pattern[str] | None = None) -> list[str]:
    """Remove the files corpuspack wrote in ``folder`` (one by one, from its record), then
    the folders left empty. Returns what was left (entries it did not write)."""
    if not os.path.isdir(folder) or os.path.islink(folder):
        return []
    mine, foreign = _owned(folder, legacy)
    for rel in sorted(mine - {RECORD, OWN_MARKER}) + [OWN_MARKER, RECORD]:
        if rel not in mine:
            continue
        try:
            path = resolve_inside(folder, rel, "recorded file")
        except UnsafeFile:
            continue
        try:
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                os.unlink(path)
        except FileNotFoundError:
            pass
    for base, _dirs, _names in sorted(os.walk(folder, topdown=False, followlinks=False),
                                      key=lambda t: -len(t[0])):
        try:
            os.rmdir(base)
        except OSError:
            pass
    return foreign


def _forbidden(real: str, other: Path, *, inside_too: bool) -> bool:
    base = os.path.realpath(other)
    if real == base or base.startswith(real.rstrip(os.sep) + os.sep):
        return True  # is it, or contains it
    return inside_too and real.startswith(base.rstrip(os.sep) + os.sep)


def check_output(out: Path, what: str, *, not_near: Iterable[tuple[str, Path]] = (),
                 not_over: Iterable[tuple[str, Path]] = ()) -> None:
    """Refuse (UsageError) an output folder that would damage something.

    ``not_near``: (name, path) pairs the output must not be, contain or lie inside (the
    sources, the data being read); ``not_over``: pairs it must not be or contain (the
    config's folder, the package folder). The current folder, the home folder, the file
    system root and any ``.git`` folder are always in ``not_over``; an output inside a
    ``.git`` folder or that is a symbolic link is refused too.
    """
    if os.path.islink(out):
        raise UsageError(f"{what} {out} is a symbolic link: corpuspack does not write "
                         "through links")
    real = os.path.realpath(out)
    if ".git" in Path(real).parts:
        raise UsageError(f"{what} {out} lies inside a .git folder")
    if os.path.lexists(os.path.join(real, ".git")):
        raise UsageError(f"{what} {out} contains a .git folder: refusing to replace it")
    for name, path in not_near:
        if _forbidden(real, path, inside_too=True):
            raise UsageError(f"{what} {out} would overlap {name} ({path}): choose a "
                             "folder of its own")
    always = [("the current folder", Path.cwd()), ("your home folder", Path.home()),
              ("the file system root", Path("/"))]
    for name, path in [*not_over, *always]:
        if _forbidden(real, path, inside_too=False):
            raise UsageError(f"{what} {out} is or contains {name} ({path}): choose a "
                             "folder of its own")
