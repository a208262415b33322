"""Reading a built package back: from a folder, a datapackage.json, a release folder, or a
git revision.

A package is untrusted input (a cloned corpus repository, a downloaded release): its
datapackage.json, data files and report come from someone else. So:

- **Nothing is fetched and nothing outside the package is read.** Every path a descriptor
  names (data files, a schema or dialect given as a path, the build report) must be a
  relative POSIX path without ``..``, a URL scheme, a backslash or a NUL, and must stay inside
  the package folder once links are resolved (:func:`corpuspack.safefs.resolve_inside`);
  every file is opened through :mod:`corpuspack.safefs` (no FIFO, device or link out; size
  caps: :data:`MAX_DESCRIPTOR_BYTES`, :data:`MAX_REPORT_BYTES`, :data:`MAX_LINE_BYTES`). In a
  git revision the same rules apply to the paths handed to ``git show``.
- **The descriptor's shape is checked before anything uses it** (:func:`check_descriptor`):
  JSON object, nesting at most :data:`MAX_DEPTH` deep, resources a list of objects with a
  safe ``path``, a format corpuspack reads (JSON lines, optionally gzip; Parquet), no
  ``extrapaths``/``innerpath``/inline ``data``, ``schema``/``dialect`` inline objects or
  safe paths, ``$schema`` only a standard Data Package profile URL (frictionless 5 never
  fetches those) and ``profile`` only one of the standard profile names (frictionless fetches
  any other value, and ``profiles``, and ``fiscal-data-package``); the metadata corpuspack
  reads (name, version, statistics, licences, report path …) of the types it expects. What
  fails is an :class:`Issue` (validation turns it into a problem; the other commands refuse
  the package with one line, :class:`~corpuspack.errors.UsageError`).
- **Every document is checked for the column types the schema gives** before it is handed
  on (:func:`document_problem`), so the commands that read documents (diff, card, publish)
  fail with one line instead of a traceback.

Documents come out in id order (the shards are id ranges in order), one at a time, so every
reader here works in bounded memory whatever the corpus size. A release folder (what
``corpuspack publish`` writes) is read the same way: its Parquet files are read batch by
batch with pyarrow and each row becomes the same document object a JSON lines package holds
(``date`` back to ISO text, ``meta`` parsed back from its JSON text).
"""

from __future__ import annotations

import datetime as dt
import gzip
import math
import os
import re
import stat
import subprocess
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

import orjson

from corpuspack.document import COLUMNS
from corpuspack.errors import CorpusError, UsageError
from corpuspack.safefs import UnsafeFile, open_read, read_bytes, resolve_inside

DESCRIPTOR = "datapackage.json"
MiB = 1 << 20
MAX_DESCRIPTOR_BYTES = 64 * MiB
MAX_REPORT_BYTES = 256 * MiB
MAX_LINE_BYTES = 256 * MiB  # one JSON line; documents are at most max_document_mb (64) of text
MAX_DEPTH = 64  # of nested arrays and objects in a descriptor (deeper JSON breaks recursion)
MAX_INT = 2**63 - 1
PARQUET_BATCH_ROWS = 1024

# frictionless 5 knows these without fetching anything (metadata.Metadata._is_standard_profile
# only reads the version from the URL; `$schema` is never retrieved)
STANDARD_SCHEMA = re.compile(
    r"https://datapackage\.org/profiles/[12]\.\d+/"
    r"(datapackage|dataresource|tableschema|tabledialect)\.json")
# any other "profile" value is fetched as a JSON Schema (package.py / resource.py
# metadata_validate), "fiscal-data-package" from specs.frictionlessdata.io
STANDARD_PROFILES = {"package": ("data-package", "tabular-data-package"),
                     "resource": ("data-resource", "tabular-data-resource")}
# resource format -> what corpuspack reads; by file name when no format is given
FORMATS = {"jsonl": "jsonl", "ndjson": "jsonl", "parquet": "parquet"}
_SUFFIXES = ((".jsonl", "jsonl"), (".ndjson", "jsonl"), (".jsonl.gz", "jsonl"),
             (".ndjson.gz", "jsonl"), (".parquet", "parquet"))
# keys that make frictionless read something else than the resource's one local file
_REFUSED_RESOURCE_KEYS = ("extrapaths", "innerpath", "data", "profiles")
_STAT_COUNTS = ("documents", "words", "chars", "text_bytes")
_STAT_TABLES = ("languages", "formats", "encodings", "licenses")


def resolve_descriptor(path: Path) -> Path:
    """A package folder or a datapackage.json path, as the descriptor path.

    Raises UsageError when there is none (a FIFO or folder named datapackage.json is none).
    """
    if path.is_dir():
        path = path / DESCRIPTOR
    if not path.is_file():
        raise UsageError(f"no datapackage.json at {path}")
    if not path.name.endswith(".json"):  # corpus.toml was read as a descriptor, "not JSON"
        raise UsageError(f"{path} is not a datapackage.json: give a package folder or its "
                         "datapackage.json")
    return path


def check_relative(rel: Any, what: str) -> str:
    """``rel`` if it is a relative POSIX path corpuspack may follow (the string rules of
    :func:`corpuspack.safefs.resolve_inside`), else :class:`UnsafeFile`."""
    if not isinstance(rel, str) or not rel:
        raise UnsafeFile(_show(rel), f"{what} is not a relative path")
    bad = None
    if "\0" in rel or "\\" in rel:
        bad = "holds a NUL or a backslash"
    elif "://" in rel or rel.split("/", 1)[0].endswith(":"):
        bad = "is a URL: corpuspack reads no remote files"
    elif rel.startswith("/") or os.path.isabs(rel):
        bad = "is an absolute path"
    elif ".." in rel.split("/"):
        bad = "goes up with '..'"
    if bad:
        raise UnsafeFile(_show(rel), f"{what} {bad}; only paths inside the package are read")
    return rel


def _show(value: Any, limit: int = 200) -> str:
    """A value from a descriptor, for a one-line message: control characters escaped,
    long values cut."""
    text = value if isinstance(value, str) else repr(value)
    text = text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text
    return text if len(text) <= limit else text[:limit] + "…"


class _Files:
    """Where a package's files are read from."""

    label: str

    def check(self, rel: Any, what: str) -> str:
        """``rel`` if a file may be read there (UnsafeFile otherwise); missing is fine."""
        raise NotImplementedError

    def read(self, rel: str, max_bytes: int, what: str = "file") -> bytes:
        raise NotImplementedError

    def open(self, rel: str, what: str = "data file") -> IO[bytes]:
        raise NotImplementedError

    def exists(self, rel: str) -> bool:
        raise NotImplementedError


class _Folder(_Files):
    def __init__(self, base: Path) -> None:
        self.base = base
        self.label = str(base)

    def check(self, rel: Any, what: str) -> str:
        path = resolve_inside(self.base, check_relative(rel, what), what)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return rel
        except OSError as exc:
            raise UnsafeFile(rel, f"cannot open {what}: {exc.strerror or exc}") from None
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeFile(rel, f"{what} is not a regular file (a FIFO, device, socket or "
                             "folder)")
        return rel

    def read(self, rel: str, max_bytes: int, what: str = "file") -> bytes:
        path = resolve_inside(self.base, check_relative(rel, what), what)
        return read_bytes(path, root=self.base, max_bytes=max_bytes, what=what)

    def open(self, rel: str, what: str = "data file") -> IO[bytes]:
        path = resolve_inside(self.base, check_relative(rel, what), what)
        return open_read(path, root=self.base, what=what)

    def exists(self, rel: str) -> bool:
        return os.path.lexists(self.base / rel)


class _GitRevision(_Files):
    """Files of a git revision, streamed with ``git show`` (nothing is checked out)."""

    def __init__(self, repo: Path, rev: str, base: PurePosixPath) -> None:
        if rev.startswith("-"):
            raise UsageError(f"{rev} is not a git revision")
        self.repo, self.rev, self.base = repo, rev, base
        self.label = f"{rev}:{base / DESCRIPTOR}" if str(base) != "." else f"{rev}:{DESCRIPTOR}"

    def _spec(self, rel: str) -> str:
        return f"{self.rev}:{(self.base / rel).as_posix()}"

    def check(self, rel: Any, what: str) -> str:
        return check_relative(rel, what)

    def read(self, rel: str, max_bytes: int, what: str = "file") -> bytes:
        spec = self._spec(check_relative(rel, what))
        with _GitStream(["git", "-C", str(self.repo), "show", spec], spec) as stream:
            data = stream.read(max_bytes + 1)
            if len(data) > max_bytes:
                stream.abandon()
                raise UsageError(f"{spec}: {what} size exceeds the limit of {max_bytes:,} bytes")
        return data

    def open(self, rel: str, what: str = "data file") -> IO[bytes]:
        spec = self._spec(check_relative(rel, what))
        return _GitStream(["git", "-C", str(self.repo), "show", spec],
                          spec)  # type: ignore[return-value]

    def exists(self, rel: str) -> bool:
        done = subprocess.run(["git", "-C", str(self.repo), "cat-file", "-e", self._spec(rel)],
                              capture_output=True)
        return done.returncode == 0


class _GitStream:
    """The output of ``git show``, read as a file; closing it checks that git succeeded."""

    def __init__(self, command: list[str], spec: str) -> None:
        self.spec = spec
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert self.proc.stdout is not None
        self.stdout = self.proc.stdout
        self._abandoned = False

    def read(self, size: int = -1) -> bytes:
        return self.stdout.read(size)

    def readline(self, size: int = -1) -> bytes:
        return self.stdout.readline(size)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.stdout)

    def __enter__(self) -> _GitStream:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is not None:
            self._abandoned = True
        self.close()

    def abandon(self) -> None:
        """Stop reading early: closing then does not report git's exit."""
        self._abandoned = True

    def close(self) -> None:
        if self.stdout.closed:
            return
        self.stdout.close()
        assert self.proc.stderr is not None
        with self.proc.stderr:
            stderr = self.proc.stderr.read(64 * 1024)
        code = self.proc.wait()
        # a negative code is a signal: SIGPIPE when the reader stopped early, not a failure
        if code > 0 and not self._abandoned:
            raise UsageError(f"cannot read {self.spec}: "
                             f"{_show(stderr.decode(errors='replace').strip())}")


def git_root(cwd: Path) -> Path | None:
    """The top folder of the git work tree around ``cwd``, if any."""
    done = subprocess.run(["git", "-C", str(cwd), "rev-parse", "--show-toplevel"],
                          capture_output=True, text=True)
    return Path(done.stdout.strip()) if done.returncode == 0 else None


def is_revision(repo: Path, rev: str) -> bool:
    """True when ``rev`` names a commit in the repository at ``repo``."""
    if rev.startswith("-"):
        return False
    done = subprocess.run(["git", "-C", str(repo), "rev-parse", "--verify", "--quiet",
                           "--end-of-options", f"{rev}^{{commit}}"], capture_output=True)
    return done.returncode == 0


# ---------------------------------------------------------------------------------------------
# the descriptor


@dataclass(frozen=True)
class Issue:
    """Something in a descriptor corpuspack refuses or cannot use.

    ``code``: ``invalid-descriptor`` (not the shape corpuspack reads), ``unsafe-path`` (a
    path that is absolute, goes up, is a URL, leads out through a link or is not a regular
    file), ``unsafe-profile`` (a ``$schema`` or ``profile`` frictionless would fetch or that
    is not a standard one), ``unsupported-resource`` (a format, scheme, compression or key
    corpuspack does not read).
    """

    code: str
    message: str
    resource: str | None = None


@dataclass(frozen=True)
class DataFile:
    """A data resource that passed the checks: what to read and how."""

    name: str
    path: str  # relative to the descriptor's folder, checked
    kind: str  # "jsonl" or "parquet"
    gzip: bool = False


@dataclass
class CheckedDescriptor:
    """A descriptor and what :func:`check_descriptor` found in it.

    ``frictionless`` is the descriptor frictionless may be given: only the resources that
    passed, their schema and dialect inline, refused top-level keys removed (None when the
    descriptor is unusable as a whole).
    """

    descriptor: dict[str, Any]
    issues: list[Issue] = field(default_factory=list)
    data_files: list[DataFile] = field(default_factory=list)
    frictionless: dict[str, Any] | None = None

    @property
    def release(self) -> bool:
        """True for a Parquet release (what ``corpuspack publish`` writes)."""
        return any(f.kind == "parquet" for f in self.data_files)


def parse_json(data: bytes, label: str) -> Any:
    """Parse untrusted JSON: UsageError when it is not JSON (or not UTF-8) or nests deeper
    than :data:`MAX_DEPTH`."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise UsageError(f"{label} is not JSON: {_show(str(exc))}") from None
    if depth(value) > MAX_DEPTH:
        raise UsageError(f"{label} nests arrays and objects more than {MAX_DEPTH} deep")
    return value


def depth(value: Any) -> int:
    """How deep arrays and objects nest in a parsed JSON value (iteratively: no recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            return level
        stack.extend((child, level + 1) for child in children)
    return deepest


def load_descriptor(data: bytes, label: str) -> dict[str, Any]:
    """A descriptor's bytes as a JSON object, or UsageError."""
    value = parse_json(data, label)
    if not isinstance(value, dict):
        raise UsageError(f"{label} is not a JSON object")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_INT


def _check_schema_value(value: Any, where: str, issues: list[Issue],
                        resource: str | None = None) -> None:
    if value is not None and not (isinstance(value, str) and STANDARD_SCHEMA.fullmatch(value)):
        issues.append(Issue("unsafe-profile", f"{where}$schema {_show(value)!r} is not a "
                            "standard Data Package profile URL (https://datapackage.org/"
                            "profiles/…): corpuspack fetches nothing", resource))


def _check_profile(value: Any, kind: str, where: str, issues: list[Issue],
                   resource: str | None = None) -> None:
    if value is not None and value not in STANDARD_PROFILES[kind]:
        issues.append(Issue("unsafe-profile", f"{where}profile {_show(value)!r} is not one "
                            f"of {', '.join(STANDARD_PROFILES[kind])}: frictionless would "
                            "fetch it as a JSON Schema", resource))


def _shape(issues: list[Issue], where: str, ok: bool, expected: str) -> bool:
    if not ok:
        issues.append(Issue("invalid-descriptor", f"{where} is not {expected}"))
    return ok


def _check_metadata(desc: dict[str, Any], issues: list[Issue]) -> None:
    """The types of the metadata corpuspack reads (card, publish, croissant, validate)."""
    for key in ("name", "title", "description", "version", "homepage"):
        if key in desc:
            _shape(issues, key, isinstance(desc[key], str), "a string")
    if "keywords" in desc:
        _shape(issues, "keywords", isinstance(desc["keywords"], list)
               and all(isinstance(k, str) for k in desc["keywords"]), "a list of strings")
    for key in ("licenses", "sources", "contributors"):
        if key not in desc:
            continue
        items = desc[key]
        _shape(issues, key, isinstance(items, list) and all(
            isinstance(item, dict) and all(isinstance(item.get(k, ""), str)
                                           for k in ("name", "path", "title"))
            for item in items), "a list of objects with string name, path and title")
    cp = desc.get("corpuspack", {})
    if not _shape(issues, "corpuspack", isinstance(cp, dict), "an object"):
        return
    for key in ("generator",):
        if cp.get(key) is not None:
            _shape(issues, f"corpuspack.{key}", isinstance(cp[key], str), "a string")
    for key in ("options", "build", "text_quality"):
        if key in cp:
            _shape(issues, f"corpuspack.{key}", isinstance(cp[key], dict), "an object")
    tq = cp.get("text_quality")
    if isinstance(tq, dict):
        for key in ("boilerplate", "near_dedup", "quality", "pii"):
            if key in tq:
                _shape(issues, f"corpuspack.text_quality.{key}", isinstance(tq[key], dict),
                       "an object")
    if "rows" in cp:
        _shape(issues, "corpuspack.rows", isinstance(cp["rows"], dict)
               and all(_is_int(v) for v in cp["rows"].values()),
               "an object of row counts")
    if "report" in cp:
        try:
            check_relative(cp["report"], "corpuspack.report")
        except UnsafeFile as exc:
            issues.append(Issue("unsafe-path", str(exc)))
    if "files" in cp:
        files = cp["files"]
        _shape(issues, "corpuspack.files", isinstance(files, dict) and all(
            isinstance(v, dict) and _is_int(v.get("bytes")) and isinstance(v.get("sha256"), str)
            for v in files.values()), "an object of {bytes, sha256} by path")
    if "statistics" not in cp:
        return
    stats = cp["statistics"]
    if not _shape(issues, "corpuspack.statistics", isinstance(stats, dict), "an object"):
        return
    for key in _STAT_COUNTS:
        if key in stats:
            _shape(issues, f"corpuspack.statistics.{key}", _is_int(stats[key]),
                   f"an integer from 0 to {MAX_INT}")
    for key in _STAT_TABLES:
        if key in stats:
            _shape(issues, f"corpuspack.statistics.{key}", isinstance(stats[key], dict)
                   and all(_is_int(v) for v in stats[key].values()),
                   "an object of document counts")
    for key in ("date_min", "date_max"):
        if stats.get(key) is not None:
            _shape(issues, f"corpuspack.statistics.{key}", isinstance(stats[key], str),
                   "a date string or null")


def _inline(files: _Files, value: Any, what: str, resource: str,
            issues: list[Issue]) -> dict[str, Any] | None:
    """A resource's schema or dialect as an inline object (read from a safe local path)."""
    if isinstance(value, dict):
        obj: Any = value
    elif isinstance(value, str):
        try:
            rel = files.check(value, f"{what} path")
            obj = parse_json(files.read(rel, MAX_DESCRIPTOR_BYTES, f"{what} file"),
                             f"{what} file {_show(value)}")
        except UnsafeFile as exc:
            issues.append(Issue("unsafe-path", str(exc), resource))
            return None
        except CorpusError as exc:
            issues.append(Issue("invalid-descriptor", str(exc), resource))
            return None
        if not isinstance(obj, dict):
            issues.append(Issue("invalid-descriptor", f"{what} file {_show(value)} is not a "
                                "JSON object", resource))
            return None
    else:
        issues.append(Issue("invalid-descriptor", f"{what} is neither an object nor a path",
                            resource))
        return None
    before = len(issues)
    _check_schema_value(obj.get("$schema"), f"{what}.", issues, resource)
    return dict(obj) if len(issues) == before else None


def _check_resource(files: _Files, index: int, res: Any, issues: list[Issue]
                    ) -> tuple[DataFile, dict[str, Any]] | None:
    """A data file and its frictionless descriptor, or None (and issues) when refused."""
    if not isinstance(res, dict):
        issues.append(Issue("invalid-descriptor", f"resources[{index}] is not an object "
                            f"({_show(res, 80)})"))
        return None
    raw_name = res.get("name")
    label = raw_name if isinstance(raw_name, str) and raw_name else f"resources[{index}]"
    before = len(issues)
    if not isinstance(raw_name, str) or not raw_name:
        issues.append(Issue("invalid-descriptor", f"{label} has no string name", label))
    path = res.get("path")
    if path is None:
        issues.append(Issue("invalid-descriptor", "the resource has no path", label))
    else:
        try:
            path = files.check(path, "resource path")
        except UnsafeFile as exc:
            issues.append(Issue("unsafe-path", str(exc), label))
            path = None
    for key in _REFUSED_RESOURCE_KEYS:
        if key in res:
            issues.append(Issue("unsupported-resource", f"{key!r} is not read by corpuspack "
                                "(one local data file per resource)", label))
    if res.get("scheme") not in (None, "file"):
        issues.append(Issue("unsupported-resource", f"scheme {_show(res['scheme'])!r}: only "
                            "local files are read", label))
    compression = res.get("compression")
    if compression not in (None, "gz"):
        issues.append(Issue("unsupported-resource", f"compression {_show(compression)!r}: "
                            "only gz is read", label))
    fmt = res.get("format")
    kind = FORMATS.get(fmt) if isinstance(fmt, str) else None
    if fmt is None and isinstance(path, str):
        kind = next((k for suffix, k in _SUFFIXES if path.endswith(suffix)), None)
    if kind is None:
        issues.append(Issue("unsupported-resource", f"format {_show(fmt)!r}: corpuspack reads "
                            "JSON lines (jsonl) and Parquet", label))
    elif kind == "parquet" and compression is not None:
        issues.append(Issue("unsupported-resource", "a Parquet file is not compressed "
                            "again", label))
    for key in ("bytes",):
        if key in res and not _is_int(res[key]):
            issues.append(Issue("invalid-descriptor", f"{key} is not a byte count", label))
    if "hash" in res and not isinstance(res["hash"], str):
        issues.append(Issue("invalid-descriptor", "hash is not a string", label))
    _check_schema_value(res.get("$schema"), "", issues, label)
    _check_profile(res.get("profile"), "resource", "", issues, label)
    clean = dict(res)
    for key in ("schema", "dialect"):
        if key in res:
            inline = _inline(files, res[key], key, label, issues)
            if inline is not None:
                clean[key] = inline
    if len(issues) > before or path is None or kind is None:
        return None
    gz = compression == "gz" or path.endswith(".gz")
    return DataFile(label, path, kind, gz), clean


def check_descriptor(desc: dict[str, Any], files: _Files) -> CheckedDescriptor:
    """Check a parsed descriptor (see the module docstring); never raises for its content.

    Returns the data files that may be read, in descriptor order, the issues found, and the
    descriptor frictionless may be given.
    """
    checked = CheckedDescriptor(desc)
    issues = checked.issues
    if depth(desc) > MAX_DEPTH:
        issues.append(Issue("invalid-descriptor", f"nests arrays and objects more than "
                            f"{MAX_DEPTH} deep"))
        return checked
    clean = dict(desc)
    _check_metadata(desc, issues)
    before = len(issues)
    _check_schema_value(desc.get("$schema"), "", issues)
    _check_profile(desc.get("profile"), "package", "", issues)
    if "profiles" in desc:
        issues.append(Issue("unsafe-profile", "'profiles' names JSON Schemas frictionless "
                            "would fetch: corpuspack fetches nothing"))
    if len(issues) > before:
        for key in ("$schema", "profile", "profiles"):
            clean.pop(key, None)
    resources = desc.get("resources")
    if not isinstance(resources, list):
        issues.append(Issue("invalid-descriptor", "resources is not a list of data resources"))
        return checked
    kept = []
    names: set[str] = set()
    for index, res in enumerate(resources):
        found = _check_resource(files, index, res, issues)
        if found is None:
            continue
        data_file, res_clean = found
        if data_file.name in names:
            issues.append(Issue("invalid-descriptor", "two resources have this name",
                                data_file.name))
            continue
        names.add(data_file.name)
        checked.data_files.append(data_file)
        kept.append(res_clean)
    clean["resources"] = kept
    checked.frictionless = clean
    return checked


def refuse(issues: list[Issue], label: str) -> None:
    """Raise one UsageError line for a descriptor with issues (nothing when there are none)."""
    if not issues:
        return
    first = issues[0]
    where = f" ({first.resource})" if first.resource else ""
    more = f"; {len(issues) - 1} more problem(s)" if len(issues) > 1 else ""
    raise UsageError(f"{label}{where}: {first.message}{more}; run 'corpuspack validate' "
                     "for all of them")


# ---------------------------------------------------------------------------------------------
# documents


class DataError(UsageError):
    """A data file that cannot be read on (``code`` as in validation problems)."""

    def __init__(self, code: str, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.code, self.line = code, line


@dataclass(frozen=True)
class BadRecord:
    """One record that is not a document (the file reads on after it)."""

    code: str
    message: str


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def document_problem(doc: Any) -> str | None:
    """Why a parsed record is not a document of the schema's column types (None: it is).

    Checks types only (and dates being real dates): the values are validation's business.
    """
    if not isinstance(doc, dict):
        return "not a JSON object"
    for c in COLUMNS:
        value = doc.get(c.name)
        if value is None:
            if c.required:
                return f"column {c.name} is missing"
            continue
        kind = c.kind
        if kind == "string" or kind == "date":
            ok = isinstance(value, str)
            if ok and kind == "date":
                try:
                    ok = bool(_DATE.fullmatch(value)) and dt.date.fromisoformat(value) is not None
                except ValueError:
                    ok = False
        elif kind == "integer":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind == "number":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and \
                math.isfinite(value)
        else:
            ok = isinstance(value, dict)
        if not ok:
            return f"column {c.name} is not of type {kind}"
    return None


def iter_records(files: _Files, data_file: DataFile) -> Iterator[tuple[int, Any]]:
    """(number, record) of every record of a data file, in file order: a parsed JSON value
    (not checked, see :func:`document_problem`) or a :class:`BadRecord`.

    Raises :class:`DataError` when the file cannot be read on (unsafe, not Parquet, a line
    longer than :data:`MAX_LINE_BYTES`, a broken gzip stream), UnsafeFile when it is refused.
    """
    if data_file.kind == "parquet":
        yield from _parquet_records(files, data_file)
    else:
        yield from _jsonl_records(files, data_file)


def _jsonl_records(files: _Files, data_file: DataFile) -> Iterator[tuple[int, Any]]:
    raw = files.open(data_file.path)
    stream: IO[bytes] = raw
    if data_file.gzip:
        stream = gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[assignment]
    number = 0
    try:
        with raw, stream:
            while True:
                try:
                    line = stream.readline(MAX_LINE_BYTES + 1)
                except (OSError, EOFError, zlib.error) as exc:
                    raise DataError("unreadable-file", f"{data_file.path}: cannot read on "
                                    f"after line {number}: {_show(str(exc))}") from None
                if not line:
                    return
                number += 1
                if len(line) > MAX_LINE_BYTES:
                    raise DataError("line-too-long", f"{data_file.path}: line {number} is "
                                    f"longer than {MAX_LINE_BYTES:,} bytes", number)
                try:
                    yield number, orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    yield number, BadRecord("unreadable-document", f"not JSON: {exc}")
    except DataError:
        if isinstance(raw, _GitStream):
            raw.abandon()
        raise


def _parquet_records(files: _Files, data_file: DataFile) -> Iterator[tuple[int, Any]]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not isinstance(files, _Folder):
        raise DataError("unsupported-resource", f"{data_file.path}: Parquet files are read "
                        "from folders only, not from git revisions")
    with files.open(data_file.path) as fh:
        try:
            # pre-buffering reads a Python file on Arrow's I/O threads, which can drop the last
            # buffer after the interpreter began to exit: an abort at exit, 1 process in 100
            parquet = pq.ParquetFile(fh, pre_buffer=False)
            problem = parquet_schema_problem(parquet.schema_arrow)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise DataError("unreadable-parquet", f"{data_file.path} is not a readable Parquet "
                            f"file: {_show(str(exc))}") from None
        if problem:
            raise DataError("wrong-parquet-schema", f"{data_file.path}: {problem}")
        number = 0
        batches = parquet.iter_batches(batch_size=PARQUET_BATCH_ROWS, use_threads=False)
        while True:
            try:
                batch = next(batches, None)
            except (pa.ArrowException, OSError, ValueError) as exc:
                raise DataError("unreadable-parquet", f"{data_file.path}: cannot read on "
                                f"after row {number}: {_show(str(exc))}") from None
            if batch is None:
                return
            for row in batch.to_pylist():
                number += 1
                yield number, _from_parquet_row(row)


def parquet_schema_problem(schema: Any) -> str | None:
    """How an Arrow schema differs from :func:`corpuspack.document.arrow_schema` (column
    names, order, types and nullability; descriptions are not compared), or None."""
    from corpuspack.document import arrow_schema

    expected = arrow_schema()
    got = [(f.name, str(f.type), f.nullable) for f in schema]
    want = [(f.name, str(f.type), f.nullable) for f in expected]
    if got == want:
        return None
    for index, (g, w) in enumerate(zip(got, want, strict=False)):
        if g != w:
            return (f"column {index + 1} is {_show(g[0])} {g[1]}{'' if g[2] else ' not null'}, "
                    f"the document schema has {w[0]} {w[1]}{'' if w[2] else ' not null'}")
    return f"{len(got)} columns, the document schema has {len(want)}"


def _from_parquet_row(row: dict[str, Any]) -> Any:
    """A Parquet row as the document a JSON lines package holds (or a BadRecord)."""
    date = row.get("date")
    if isinstance(date, dt.date):
        row["date"] = date.isoformat()
    meta = row.get("meta")
    if isinstance(meta, str):
        try:
            row["meta"] = parse_json(meta.encode(), "meta")
        except UsageError as exc:
            return BadRecord("unreadable-document", f"meta is not a JSON object text: {exc}")
        if not isinstance(row["meta"], dict):
            return BadRecord("unreadable-document", "meta is not a JSON object text")
    return row


# ---------------------------------------------------------------------------------------------
# a package


@dataclass
class Package:
    """A built package or release: its descriptor (checked on creation: UsageError when it
    has issues) and a way to stream its documents."""

    descriptor: dict[str, Any]
    files: _Files
    checked: CheckedDescriptor = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.checked = check_descriptor(self.descriptor, self.files)
        refuse(self.checked.issues, self.label)

    @property
    def label(self) -> str:
        return self.files.label

    @property
    def folder(self) -> Path | None:
        """The folder of datapackage.json, for a package on disk (None for a git revision)."""
        return self.files.base if isinstance(self.files, _Folder) else None

    @property
    def is_release(self) -> bool:
        """True for a Parquet release folder (what ``corpuspack publish`` writes)."""
        return self.checked.release

    @property
    def data_files(self) -> list[DataFile]:
        return list(self.checked.data_files)

    @property
    def name(self) -> str:
        return str(self.descriptor.get("name", ""))

    @property
    def version(self) -> str:
        return str(self.descriptor.get("version", ""))

    @property
    def statistics(self) -> dict[str, Any]:
        return dict(self.descriptor.get("corpuspack", {}).get("statistics") or {})

    def resources(self) -> list[dict[str, Any]]:
        """The descriptor's resources (all objects: the descriptor was checked)."""
        return list(self.descriptor.get("resources", []))

    def read(self, rel: str, max_bytes: int = MAX_REPORT_BYTES, what: str = "file") -> bytes:
        """A file of the package, by its path relative to datapackage.json (checked: inside
        the package, a regular file, at most ``max_bytes``). Raises CorpusError."""
        return self.files.read(rel, max_bytes, what)

    def exists(self, rel: str) -> bool:
        """Whether the package has a file (or link) at a checked relative path."""
        return self.files.exists(check_relative(rel, "path"))

    def iter_documents(self) -> Iterator[dict[str, Any]]:
        """Every document as a JSON object, in file order (id order in a valid package).

        Raises UsageError (one line, naming file and line) at the first record that is not a
        document of the schema's column types, or a file that cannot be read on.
        """
        for data_file in self.checked.data_files:
            for number, doc in iter_records(self.files, data_file):
                problem = doc.message if isinstance(doc, BadRecord) else document_problem(doc)
                if problem:
                    raise UsageError(f"{self.label}: {data_file.path} record {number}: "
                                     f"{_show(problem)}; run 'corpuspack validate'")
                yield doc

    def iter_lines(self) -> Iterator[bytes]:
        """Every document as one JSON line, in file order (Parquet rows serialised)."""
        for doc in self.iter_documents():
            yield orjson.dumps(doc, option=orjson.OPT_APPEND_NEWLINE)


def open_package(spec: str | Path, cwd: Path | None = None,
                 descriptor_rel: str = DESCRIPTOR) -> Package:
    """Open a package given as a folder, a datapackage.json, a release folder, or a git
    revision of ``cwd``'s repository (whose datapackage.json is at ``descriptor_rel`` from
    the repository root).

    Raises UsageError (or UnsafeFile) when it is none of these or its descriptor is refused
    (see :func:`check_descriptor`).
    """
    cwd = cwd or Path.cwd()
    path = Path(spec)
    if not path.is_absolute():
        path = cwd / path
    if path.exists():
        descriptor = resolve_descriptor(path)
        data = read_bytes(descriptor, root=descriptor.parent, max_bytes=MAX_DESCRIPTOR_BYTES,
                          what=DESCRIPTOR)
        return Package(load_descriptor(data, str(descriptor)), _Folder(descriptor.parent))
    repo = git_root(cwd)
    if repo is not None and is_revision(repo, str(spec)):
        rel = PurePosixPath(descriptor_rel)
        git = _GitRevision(repo, str(spec), rel.parent)
        return Package(load_descriptor(git.read(rel.name, MAX_DESCRIPTOR_BYTES, DESCRIPTOR),
                                       git.label), git)
    raise UsageError(f"{_show(str(spec))}: no package folder or datapackage.json of that "
                     f"name in {_show(str(cwd))}, and no git revision: run this in a corpus "
                     "repository, or name a package")
