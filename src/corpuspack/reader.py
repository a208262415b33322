"""Reading a built package back: from a folder, a datapackage.json, or a git revision.

Documents come out in id order (the shards are id ranges in order), one at a time, so every
reader here works in bounded memory whatever the corpus size.
"""

from __future__ import annotations

import gzip
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

import orjson

from corpuspack.errors import UsageError

DESCRIPTOR = "datapackage.json"


def resolve_descriptor(path: Path) -> Path:
    """A package folder or a datapackage.json path, as the descriptor path."""
    if path.is_dir():
        path = path / DESCRIPTOR
    if not path.is_file():
        raise UsageError(f"no datapackage.json at {path}")
    return path


class _Files:
    """Where a package's files are read from."""

    label: str

    def read(self, rel: str) -> bytes:
        raise NotImplementedError

    def open(self, rel: str) -> IO[bytes]:
        raise NotImplementedError


class _Folder(_Files):
    def __init__(self, base: Path) -> None:
        self.base = base
        self.label = str(base)

    def read(self, rel: str) -> bytes:
        return (self.base / rel).read_bytes()

    def open(self, rel: str) -> IO[bytes]:
        return open(self.base / rel, "rb")


class _GitRevision(_Files):
    """Files of a git revision, streamed with ``git show`` (nothing is checked out)."""

    def __init__(self, repo: Path, rev: str, base: PurePosixPath) -> None:
        self.repo, self.rev, self.base = repo, rev, base
        self.label = f"{rev}:{base / DESCRIPTOR}" if str(base) != "." else f"{rev}:{DESCRIPTOR}"

    def _spec(self, rel: str) -> str:
        return f"{self.rev}:{(self.base / rel).as_posix()}"

    def read(self, rel: str) -> bytes:
        done = subprocess.run(["git", "-C", str(self.repo), "show", self._spec(rel)],
                              capture_output=True)
        if done.returncode != 0:
            raise UsageError(f"cannot read {self._spec(rel)}: "
                             f"{done.stderr.decode(errors='replace').strip()}")
        return done.stdout

    def open(self, rel: str) -> IO[bytes]:
        return _GitStream(["git", "-C", str(self.repo), "show", self._spec(rel)],
                          self._spec(rel))  # type: ignore[return-value]


class _GitStream:
    """The output of ``git show``, read as a file; closing it checks that git succeeded."""

    def __init__(self, command: list[str], spec: str) -> None:
        self.spec = spec
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert self.proc.stdout is not None
        self.stdout = self.proc.stdout

    def read(self, size: int = -1) -> bytes:
        return self.stdout.read(size)

    def readline(self, size: int = -1) -> bytes:
        return self.stdout.readline(size)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.stdout)

    def __enter__(self) -> _GitStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.stdout.closed:
            return
        self.stdout.close()
        assert self.proc.stderr is not None
        with self.proc.stderr:
            stderr = self.proc.stderr.read()
        # a negative code is a signal: SIGPIPE when the reader stopped early, not a failure
        if self.proc.wait() > 0:
            raise UsageError(f"cannot read {self.spec}: {stderr.decode(errors='replace').strip()}")


def git_root(cwd: Path) -> Path | None:
    """The top folder of the git work tree around ``cwd``, if any."""
    done = subprocess.run(["git", "-C", str(cwd), "rev-parse", "--show-toplevel"],
                          capture_output=True, text=True)
    return Path(done.stdout.strip()) if done.returncode == 0 else None


def is_revision(repo: Path, rev: str) -> bool:
    """True when ``rev`` names a commit in the repository at ``repo``."""
    done = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet",
                           f"{rev}^{{commit}}"], capture_output=True)
    return done.returncode == 0


@dataclass
class Package:
    """A built package: its descriptor and a way to stream its documents."""

    descriptor: dict[str, Any]
    files: _Files

    @property
    def label(self) -> str:
        return self.files.label

    @property
    def folder(self) -> Path | None:
        """The folder of datapackage.json, for a package on disk (None for a git revision)."""
        return self.files.base if isinstance(self.files, _Folder) else None

    @property
    def name(self) -> str:
        return str(self.descriptor.get("name", ""))

    @property
    def version(self) -> str:
        return str(self.descriptor.get("version", ""))

    @property
    def statistics(self) -> dict[str, Any]:
        return dict(self.descriptor.get("corpuspack", {}).get("statistics", {}))

    def resources(self) -> list[dict[str, Any]]:
        return list(self.descriptor.get("resources", []))

    def read(self, rel: str) -> bytes:
        """A file of the package, by its path relative to datapackage.json."""
        return self.files.read(rel)

    def iter_lines(self) -> Iterator[bytes]:
        """Every document line of every data file, in id order."""
        for resource in self.resources():
            raw = self.files.open(resource["path"])
            stream: IO[bytes] = raw
            if resource.get("compression") == "gz" or resource["path"].endswith(".gz"):
                stream = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
            with raw, stream:
                yield from stream

    def iter_documents(self) -> Iterator[dict[str, Any]]:
        """Every document as a parsed JSON object, in id order."""
        for line in self.iter_lines():
            yield orjson.loads(line)


def open_package(spec: str | Path, cwd: Path | None = None,
                 descriptor_rel: str = DESCRIPTOR) -> Package:
    """Open a package given as a folder, a datapackage.json, or a git revision of ``cwd``'s
    repository (whose datapackage.json is at ``descriptor_rel`` from the repository root)."""
    cwd = cwd or Path.cwd()
    path = Path(spec)
    if not path.is_absolute():
        path = cwd / path
    if path.exists():
        descriptor = resolve_descriptor(path)
        files: _Files = _Folder(descriptor.parent)
        return Package(_load(descriptor.read_bytes(), str(descriptor)), files)
    repo = git_root(cwd)
    if repo is not None and is_revision(repo, str(spec)):
        rel = PurePosixPath(descriptor_rel)
        git = _GitRevision(repo, str(spec), rel.parent)
        return Package(_load(git.read(rel.name), git.label), git)
    raise UsageError(f"{spec} is neither a package folder, a datapackage.json, "
                     "nor a git revision")


def _load(data: bytes, label: str) -> dict[str, Any]:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"{label} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise UsageError(f"{label} is not a JSON object")
    return value
