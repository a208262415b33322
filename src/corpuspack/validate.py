"""``corpuspack validate``: stock Frictionless validation, then what Frictionless cannot see.

Frictionless checks each data file against the descriptor: schema, types, constraints,
``bytes`` and ``hash``. On top, in one streaming pass with bounded memory, this module checks
that ids increase strictly across all shards (so they are unique corpus-wide), that every
document sits in its id-range shard, that ``sha256``, ``n_chars`` and ``n_words`` match the
text, that the text is normalised, and that the row counts and statistics recorded in
datapackage.json are true. The result is a report (data), never an exception.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from corpuspack.document import text_sha256
from corpuspack.normalise import is_normalised
from corpuspack.reader import resolve_descriptor
from corpuspack.stats import CorpusStats
from corpuspack.write import Layout, pending_commit, shard_of

MAX_PROBLEMS = 200
_SHARD_NAME = re.compile(r"-(\d{5})-of-(\d{5})$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a package."""

    code: str
    message: str
    resource: str | None = None
    line: int | None = None
    field: str | None = None


@dataclass
class ValidationReport:
    """The outcome of validating one package."""

    descriptor: str
    valid: bool = True
    resources: int = 0
    documents: int = 0
    problems: list[Problem] = field(default_factory=list)
    problems_not_listed: int = 0

    def add(self, problem: Problem) -> None:
        self.valid = False
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        else:
            self.problems_not_listed += 1

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["problems"] = [{k: v for k, v in p.items() if v is not None} for p in out["problems"]]
        return out


def _frictionless(path: Path, report: ValidationReport) -> None:
    import frictionless

    result = frictionless.validate(str(path))
    for error in result.errors:
        report.add(Problem(f"frictionless:{error.type}", error.message))
    for task in result.tasks:
        for error in task.errors:
            d = error.to_descriptor()
            row = d.get("rowNumber")
            report.add(Problem(
                f"frictionless:{d['type']}", d["message"], task.name,
                row - 1 if isinstance(row, int) else None,  # its row 2 is the first line
                d.get("fieldName"),
            ))


def _open(path: Path, resource: dict[str, Any]) -> IO[bytes]:
    if resource.get("compression") == "gz" or path.name.endswith(".gz"):
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")


def _check_documents(base: Path, desc: dict[str, Any], report: ValidationReport) -> None:
    stats = CorpusStats()
    recorded_rows = desc.get("corpuspack", {}).get("rows", {})
    previous = ""
    for resource in desc.get("resources", []):
        name = resource.get("name", "?")
        path = base / resource.get("path", "")
        if not path.is_file():
            continue  # frictionless reports missing files
        match = _SHARD_NAME.search(name)
        rows = 0
        with _open(path, resource) as fh:
            for number, line in enumerate(fh, 1):
                rows += 1
                try:
                    doc = orjson.loads(line)
                    text, doc_id = doc["text"], doc["id"]
                    if not isinstance(text, str) or not isinstance(doc_id, str):
                        raise TypeError
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    report.add(Problem("unreadable-document",
                                       "not a JSON object with string id and text", name, number))
                    continue
                if doc_id <= previous:
                    report.add(Problem("id-order", f"id {doc_id} is not greater than the id "
                                       f"before it ({previous}): ids must be unique and sorted",
                                       name, number, "id"))
                previous = max(previous, doc_id)
                if match and re.fullmatch("[0-9a-f]{8,}", doc_id):
                    expected = shard_of(doc_id.encode(), int(match.group(2)))
                    if expected != int(match.group(1)):
                        report.add(Problem("wrong-shard", f"id {doc_id} belongs in shard "
                                           f"{expected}", name, number, "id"))
                checks = (("sha256", text_sha256(text)), ("n_chars", len(text)),
                          ("n_words", len(text.split())))
                for key, actual in checks:
                    if doc.get(key) != actual:
                        report.add(Problem("wrong-value", f"{key} is {doc.get(key)!r}, the text "
                                           f"gives {actual!r}", name, number, key))
                if not is_normalised(text):
                    report.add(Problem("not-normalised", "text is not in normalised form",
                                       name, number, "text"))
                try:
                    stats.add(doc)
                except (KeyError, TypeError, AttributeError):
                    pass  # already reported as a schema error by frictionless
        report.documents += rows
        if name in recorded_rows and recorded_rows[name] != rows:
            report.add(Problem("wrong-count", f"datapackage.json says {recorded_rows[name]} "
                               f"rows, the file has {rows}", name))
    recorded = desc.get("corpuspack", {}).get("statistics")
    if recorded is not None:
        actual = orjson.loads(orjson.dumps(stats.to_dict()))
        for key in sorted(set(recorded) | set(actual)):
            if recorded.get(key) != actual.get(key):
                report.add(Problem("wrong-statistics", f"statistics.{key} is "
                                   f"{recorded.get(key)!r}, the data gives {actual.get(key)!r}"))


def check_version(path: Path, base: str) -> list[Problem]:
    """Problems when content changed since ``base`` but the version did not grow.

    ``base`` is a folder, datapackage.json or git revision; ``auto`` means the newest
    release tag (``v<version>``), and no check when there is none.
    """
    from corpuspack.project import locate
    from corpuspack.versions import diff, latest_release, parse_version

    project = locate(path)
    if base == "auto":
        if project.repo is None or (found := latest_release(project.repo)) is None:
            return []
        base = found[0]
    old = project.open_revision(base)
    new = project.package
    changes = diff(old, new)
    old_v, new_v = parse_version(old.version), parse_version(new.version)
    counts = changes.counts
    what = (f"{counts['added']} added, {counts['removed']} removed, "
            f"{counts['changed']} changed since {base}")
    if old_v is not None and new_v is not None and new_v < old_v:
        return [Problem("version-went-back", f"version {new.version} is lower than "
                        f"{old.version} of {base}")]
    if changes.changed_anything and old.version == new.version:
        return [Problem("version-not-bumped", f"documents changed ({what}) but the version "
                        f"is still {new.version}: raise it in the corpus config")]
    return []


def validate_package(path: Path, base: str | None = None) -> ValidationReport:
    """Validate the package at ``path`` (a folder or its datapackage.json).

    With ``base`` also fail when its documents changed since ``base`` but its version did
    not (see :func:`check_version`).
    """
    descriptor = resolve_descriptor(path)
    report = ValidationReport(str(path))
    try:
        desc = orjson.loads(descriptor.read_bytes())
    except orjson.JSONDecodeError as exc:
        report.add(Problem("invalid-descriptor", f"datapackage.json is not JSON: {exc}"))
        return report
    if not isinstance(desc, dict):
        report.add(Problem("invalid-descriptor", "datapackage.json is not a JSON object"))
        return report
    resources = desc.get("resources") or []
    report.resources = len(resources)
    folder = descriptor.parent
    if resources and isinstance(resources[0], dict) and "path" in resources[0]:
        data_dir = (folder / str(resources[0]["path"])).parent
        if pending_commit(Layout(descriptor, data_dir)):
            report.add(Problem("pending-commit", "an interrupted build left a commit to finish: "
                               "run 'corpuspack build' again"))
    _frictionless(descriptor, report)
    _check_documents(folder, desc, report)
    if base is not None:
        for problem in check_version(descriptor.parent, base):
            report.add(problem)
    report.valid = not report.problems and not report.problems_not_listed
    return report
