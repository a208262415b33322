"""``corpuspack validate``: stock Frictionless validation, then what Frictionless cannot see.

A package to validate is untrusted input. Before anything reads it, its descriptor is
checked (:func:`corpuspack.reader.check_descriptor`): every path must stay inside the package
folder, every ``$schema``/``profile`` must be a standard one, only local JSON lines and
Parquet files are read; each refused item is a problem (``unsafe-path``, ``unsafe-profile``,
``unsupported-resource``, ``invalid-descriptor``) and frictionless is given only what passed,
with schemas and dialects inline, in untrusted mode, and with an HTTP session that refuses
every request (so nothing is fetched even through a way not closed above).

Frictionless checks each JSON lines file against the descriptor: schema, types,
constraints, ``bytes`` and ``hash``. On top, in one streaming pass with bounded memory, this
module checks that ids increase strictly across all shards (so they are unique corpus-wide),
that every document sits in its id-range shard, that ``sha256``, ``n_chars`` and ``n_words``
match the text, that the text is normalised, and that the row counts and statistics recorded
in datapackage.json are true.

**Release folders** (what ``corpuspack publish`` writes: Parquet resources) are checked too:
SHA256SUMS (every file listed but SHA256SUMS itself, corpuspack's record
``corpuspack-files.json`` and a working-folder marker; every hash true), the sizes and
hashes in ``corpuspack.files``, the declared Table Schema and each Parquet file's schema
against :func:`corpuspack.document.arrow_schema`, the Table Schema constraints of every
value (pattern, enum, minimum, maximum, required), then the same per-document checks as
JSON lines packages. A release laid out by splits or subsets (``corpuspack.layout``,
:mod:`corpuspack.splits`) has its ids increasing within each file, unique across files
(checked by merging the files' id columns), and every document in the file of its own split
and subset, computed again from its columns and the recorded settings. Frictionless checks
only the release's descriptor, not its Parquet data: frictionless 5 reads a Parquet file
whole into memory through pandas, and every check it would make there is made here, batch
by batch. Measured on a release of 20,000 documents
(85 MB of JSON lines, 19 MB of Parquet; one core): ``frictionless.validate`` took 35.8 s and
458 MB peak, this module's whole validation of the release 7.1 s and 152 MB peak (NOTES.md:
1.4 GB peak for an 86 MB Parquet file in frictionless).

The result is a report (data), never an exception, whatever the descriptor or data hold;
only a missing datapackage.json (UsageError) and a ``--base`` that cannot be opened raise.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from corpuspack.commit import Layout, pending_commit
from corpuspack.document import COLUMNS, text_sha256
from corpuspack.errors import CorpusError, UsageError
from corpuspack.normalise import is_normalised, maybe_mojibake
from corpuspack.reader import (
    DESCRIPTOR,
    MAX_DESCRIPTOR_BYTES,
    BadRecord,
    CheckedDescriptor,
    DataError,
    _Folder,
    check_descriptor,
    check_relative,
    document_problem,
    iter_records,
    load_descriptor,
    resolve_descriptor,
)
from corpuspack.safefs import OWN_MARKER, UnsafeFile, open_read, read_bytes, resolve_inside
from corpuspack.shards import shard_of
from corpuspack.splits import MAX_PARTS, part_groups
from corpuspack.splits import Layout as SplitLayout
from corpuspack.stats import CorpusStats

MAX_PROBLEMS = 200
SUMS = "SHA256SUMS"
RECORD = "corpuspack-files.json"  # corpuspack.ownership.RECORD
MAX_SUMS_BYTES = 64 << 20
_SHARD_NAME = re.compile(r"-(\d{5})-of-(\d{5})$")
_SUM_LINE = re.compile(r"([0-9a-f]{64}) [ *](.+)")
_ID_HEX = re.compile("[0-9a-f]{8,}")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a package.

    Codes: ``frictionless:<type>`` (frictionless's error types); the descriptor checks
    ``invalid-descriptor``, ``unsafe-path``, ``unsafe-profile``, ``unsupported-resource``;
    data files ``missing-file``, ``unreadable-file``, ``line-too-long``,
    ``unreadable-parquet``, ``wrong-parquet-schema``; documents ``unreadable-document``,
    ``id-order``, ``wrong-shard``, ``wrong-value``, ``not-normalised``, ``constraint``;
    counts ``wrong-count``, ``wrong-statistics``; releases ``missing-checksums``,
    ``invalid-checksums``, ``checksum-mismatch``, ``unlisted-file``, ``wrong-file-record``,
    ``wrong-schema``, ``wrong-layout``, ``wrong-split``, ``wrong-subset``;
    ``pending-commit``, ``frictionless-failed``; with ``--base``
    ``version-went-back``, ``version-not-bumped``.
    """

    code: str
    message: str
    resource: str | None = None
    line: int | None = None
    field: str | None = None


@dataclass
class ValidationReport:
    """The outcome of validating one package.

    ``notes`` say what was not checked and why (no release tag to compare the version with,
    Parquet data checked by corpuspack rather than frictionless); ``warnings`` are documents
    whose text looks damaged (:func:`damage`). Neither makes the package invalid.
    """

    descriptor: str
    valid: bool = True
    resources: int = 0
    documents: int = 0
    problems: list[Problem] = field(default_factory=list)
    problems_not_listed: int = 0
    notes: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    warnings_not_listed: int = 0

    def warn(self, problem: Problem) -> None:
        """Record a doubt that does not make the package invalid."""
        if len(self.warnings) < MAX_PROBLEMS:
            self.warnings.append(problem)
        else:
            self.warnings_not_listed += 1

    def add(self, problem: Problem) -> None:
        self.valid = False
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        else:
            self.problems_not_listed += 1

    def to_dict(self) -> dict[str, Any]:
        """The report as plain JSON data: problems without their empty fields."""
        out = asdict(self)
        for key in ("problems", "warnings"):
            out[key] = [{k: v for k, v in p.items() if v is not None} for p in out[key]]
        return out


# ---------------------------------------------------------------------------------------------
# frictionless


def _no_network_session() -> Any:
    """A requests session whose every request fails without touching the network."""
    import requests
    from requests.adapters import BaseAdapter

    class Refuse(BaseAdapter):
        def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
            raise requests.ConnectionError(f"corpuspack fetches nothing ({request.url})")

        def close(self) -> None:
            return None

    session = requests.Session()
    session.trust_env = False
    for prefix in ("http://", "https://"):
        session.mount(prefix, Refuse())
    return session


def _frictionless(folder: Path, checked: CheckedDescriptor, skip: set[str],
                  report: ValidationReport) -> None:
    """Frictionless on what passed the checks: the descriptor's metadata, then the data of
    the JSON lines files that could be read (not Parquet: see the module docstring)."""
    if checked.frictionless is None:
        return
    import frictionless

    desc = copy.deepcopy(checked.frictionless)
    jsonl = [res for res, data_file in zip(desc["resources"], checked.data_files, strict=True)
             if data_file.kind == "jsonl" and data_file.name not in skip]
    with frictionless.system.use_context(trusted=False, http_session=_no_network_session()):
        try:
            try:
                frictionless.Package.from_descriptor(copy.deepcopy(desc),
                                                     basepath=str(folder))
            except frictionless.FrictionlessException as exc:
                for error in exc.reasons or [exc.error]:
                    report.add(Problem(f"frictionless:{error.type}", error.message))
                return
            if not jsonl:
                return
            result = frictionless.validate({**desc, "resources": jsonl}, type="package",
                                           basepath=str(folder))
        except Exception as exc:  # noqa: BLE001 - a report is data, whatever frictionless does
            report.add(Problem("frictionless-failed", f"frictionless stopped: "
                               f"{type(exc).__name__}: {str(exc)[:500]}"))
            return
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


# ---------------------------------------------------------------------------------------------
# documents


def _constraints() -> list[tuple[str, bool, dict[str, Any]]]:
    out = []
    for c in COLUMNS:
        cons = dict(c.constraints)
        if "pattern" in cons:
            cons["pattern"] = re.compile(cons["pattern"])
        cons.pop("unique", None)  # ids: checked by id-order
        out.append((c.name, c.required, cons))
    return out


def _check_constraints(doc: dict[str, Any], rules: list[tuple[str, bool, dict[str, Any]]],
                       name: str, number: int, report: ValidationReport) -> None:
    """The Table Schema constraints frictionless checks on JSON lines, for Parquet rows."""
    for column, required, cons in rules:
        value = doc.get(column)
        if value is None:
            if required:
                report.add(Problem("constraint", f"{column} is required", name, number, column))
            continue
        bad = None
        if "pattern" in cons and isinstance(value, str) and not cons["pattern"].search(value):
            bad = f"does not match {cons['pattern'].pattern}"
        elif "enum" in cons and value not in cons["enum"]:
            bad = f"is not one of {', '.join(map(str, cons['enum']))}"
        elif "minimum" in cons and isinstance(value, (int, float)) and value < cons["minimum"]:
            bad = f"is below {cons['minimum']}"
        elif "maximum" in cons and isinstance(value, (int, float)) and value > cons["maximum"]:
            bad = f"is above {cons['maximum']}"
        if bad:
            shown = value if not isinstance(value, str) else value[:80]
            report.add(Problem("constraint", f"{column} {shown!r} {bad}", name, number, column))


def _check_documents(files: _Folder, desc: dict[str, Any], checked: CheckedDescriptor,
                     report: ValidationReport) -> set[str]:
    """The per-document pass; returns the names of the data files that could not be read
    to the end (frictionless is not given those)."""
    stats = CorpusStats()
    cp = _object(desc.get("corpuspack"))
    recorded_rows = _object(cp.get("rows"))
    rules = _constraints()
    failed: set[str] = set()
    previous, untyped = "", 0
    placed = _placements(desc, checked, report)
    for data_file in checked.data_files:
        name = data_file.name
        where = placed.get(data_file.path) if placed is not None else None
        if placed is not None:
            previous = ""  # each file of a split or subset is sorted on its own
        if not files.exists(data_file.path):
            report.add(Problem("missing-file", f"{data_file.path} does not exist", name))
            failed.add(name)
            continue
        parquet = data_file.kind == "parquet"
        match = None if parquet else _SHARD_NAME.search(name)
        rows = 0
        try:
            for number, doc in iter_records(files, data_file):
                rows += 1
                if isinstance(doc, BadRecord):
                    report.add(Problem(doc.code, doc.message, name, number))
                    continue
                if not (isinstance(doc, dict) and isinstance(doc.get("text"), str)
                        and isinstance(doc.get("id"), str)):
                    report.add(Problem("unreadable-document",
                                       "not a JSON object with string id and text", name, number))
                    continue
                previous = _check_document(doc, name, number, previous, match, report)
                if where is not None:
                    _check_placement(doc, where, name, number, report)
                found = damage(doc["text"])
                if found is not None:
                    report.warn(Problem(found[0], found[1], name, number, "text"))
                if parquet:
                    _check_constraints(doc, rules, name, number, report)
                if document_problem(doc) is None:
                    stats.add(doc)
                else:
                    untyped += 1  # a schema error: frictionless reports it
        except DataError as exc:
            report.add(Problem(exc.code, str(exc), name, exc.line))
            failed.add(name)
        except UnsafeFile as exc:
            report.add(Problem("unsafe-path", str(exc), name))
            failed.add(name)
            continue
        report.documents += rows
        if placed is not None and data_file.path not in placed and name not in failed:
            report.add(Problem("wrong-layout", f"corpuspack.layout.files does not list "
                               f"{data_file.path!r}", name))
        if name in recorded_rows and recorded_rows[name] != rows and name not in failed:
            report.add(Problem("wrong-count", f"datapackage.json says {recorded_rows[name]} "
                               f"rows, the file has {rows}", name))
    if placed is not None and not failed:
        _check_unique_ids(files, checked, report)
    recorded = cp.get("statistics")
    if isinstance(recorded, dict) and not failed and not checked.issues and not untyped:
        actual = stats.to_dict()
        for key in sorted(set(recorded) | set(actual)):
            if recorded.get(key) != actual.get(key):
                report.add(Problem("wrong-statistics", f"statistics.{key} is "
                                   f"{_short(recorded.get(key))}, the data gives "
                                   f"{_short(actual.get(key))}"))
    return failed


def _placements(desc: dict[str, Any], checked: CheckedDescriptor, report: ValidationReport
                ) -> dict[str, tuple[Any, Any, str, tuple[str, ...]]] | None:
    """For a release laid out by splits or subsets: path -> (split assigner, subsets, split,
    subset values) from ``corpuspack.layout``; None for any other package."""
    if not checked.release:
        return None
    try:
        layout = SplitLayout.from_descriptor(desc)
    except UsageError as exc:
        report.add(Problem("wrong-layout", str(exc)))
        return None
    if not layout.splits.active and not layout.subsets.by:
        return None
    recorded = _object(_object(_object(desc.get("corpuspack")).get("layout")).get("files"))
    assign = layout.splits.assigner()
    out: dict[str, tuple[Any, Any, str, tuple[str, ...]]] = {}
    for path, entry in recorded.items():
        entry = _object(entry)
        subset = _object(entry.get("subset"))
        split = entry.get("split")
        values = tuple(subset.get(k) for k in layout.subsets.by)
        if not isinstance(split, str) or not all(isinstance(v, str) for v in values):
            report.add(Problem("wrong-layout", f"corpuspack.layout.files[{path!r}] needs a "
                               "split and a value of each subset column"))
            continue
        out[path] = (assign, layout.subsets, split, values)  # type: ignore[assignment]
    return out


def _check_placement(doc: dict[str, Any], where: tuple[Any, Any, str, tuple[str, ...]],
                     name: str, number: int, report: ValidationReport) -> None:
    assign, subsets, split, values = where
    try:
        actual = assign(doc)
    except CorpusError as exc:
        report.add(Problem("wrong-split", str(exc), name, number, "id"))
        return
    if actual != split:
        report.add(Problem("wrong-split", f"document {doc['id'][:40]!r} belongs in split "
                           f"{actual!r}, not {split!r}", name, number, "id"))
    got = subsets.values(doc)
    if got != values:
        report.add(Problem("wrong-subset", f"document {doc['id'][:40]!r} belongs in subset "
                           f"{'/'.join(got)!r}, not {'/'.join(values)!r}", name, number, "id"))


def _check_unique_ids(files: _Folder, checked: CheckedDescriptor,
                      report: ValidationReport) -> None:
    """Ids unique across the files of a release laid out by splits or subsets: the shards
    of each (subset, split) group read one after the other (their ids must increase across
    files too) and the groups' id columns merged, one open file and a batch of at most
    10,000 ids per group, at most :data:`~corpuspack.splits.MAX_PARTS` groups (more is a
    ``wrong-layout`` problem: such a release cannot be read in bounded memory)."""
    import heapq

    import pyarrow.parquet as pq

    groups = part_groups(checked.data_files)
    if len(groups) > MAX_PARTS:
        report.add(Problem("wrong-layout", f"{len(groups)} (subset, split) groups of files: "
                           f"at most {MAX_PARTS}"))
        return

    def ids(group: list[Any]) -> Any:
        last: str | None = None  # of the file before, in the group
        for data_file in group:
            first = True
            with files.open(data_file.path) as fh:
                # pre-buffering reads a Python file on Arrow's I/O threads, which can drop the last
                # buffer after the interpreter began to exit: an abort at exit, 1 process in 100
                parquet = pq.ParquetFile(fh, pre_buffer=False)
                for batch in parquet.iter_batches(batch_size=10_000, columns=["id"],
                                                  use_threads=False):
                    for doc_id in batch.column(0).to_pylist():
                        if first and last is not None and doc_id <= last:
                            report.add(Problem(
                                "id-order", f"id {doc_id[:40]!r} is not after {last[:40]!r} "
                                "of the file before it in its (subset, split) group",
                                data_file.name, None, "id"))
                        first, last = False, doc_id
                        yield doc_id, data_file.name

    previous: tuple[str, str] | None = None
    for doc_id, name in heapq.merge(*(ids(g) for g in groups)):
        if previous is not None and previous[0] == doc_id:
            report.add(Problem("id-order", f"id {doc_id[:40]!r} is in {previous[1]} and in "
                               f"{name}: ids must be unique", name, None, "id"))
        previous = (doc_id, name)


# One replacement character per 1,000 characters of text (white space aside) is far more
# than decoding leaves on a file with a few bad bytes (it allows one bad byte per 8 multi-byte
# characters: docs/design.md) and far less than a wrong code page or binary data gives.
MAX_REPLACEMENT_SHARE = 0.001


def damage(text: str) -> tuple[str, str] | None:
    """(code, message) when a text looks damaged, else None.

    ``replacement-characters``: U+FFFD makes up more than :data:`MAX_REPLACEMENT_SHARE` of the
    characters that are not white space; ``mojibake``: ftfy's ``fix_encoding`` would still
    change the text (behind the same exact gate the build uses, so clean text costs little).
    """
    replaced = text.count("\ufffd")
    if replaced:
        visible = len(text) - sum(text.count(c) for c in " \n\t")
        if replaced > MAX_REPLACEMENT_SHARE * max(1, visible):
            return ("replacement-characters", f"{replaced} U+FFFD replacement character(s) "
                    f"in {visible} characters: bytes the source's decoding could not read")
    if maybe_mojibake(text):
        import ftfy

        if ftfy.fix_encoding(text) != text:
            return ("mojibake", "ftfy would still repair this text (text decoded with the "
                    "wrong code page, left as it was)")
    return None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 300 else text[:300] + "…"


def _check_document(doc: dict[str, Any], name: str, number: int, previous: str,
                    match: re.Match[str] | None, report: ValidationReport) -> str:
    text, doc_id = doc["text"], doc["id"]
    if doc_id <= previous:
        report.add(Problem("id-order", f"id {doc_id[:40]!r} is not greater than the id before "
                           f"it ({previous[:40]!r}): ids must be unique and sorted",
                           name, number, "id"))
    if match and _ID_HEX.fullmatch(doc_id):
        expected = shard_of(doc_id.encode(), int(match.group(2)))
        if expected != int(match.group(1)):
            report.add(Problem("wrong-shard", f"id {doc_id} belongs in shard {expected}",
                               name, number, "id"))
    checks = (("sha256", text_sha256(text)), ("n_chars", len(text)),
              ("n_words", len(text.split())))
    for key, actual in checks:
        if doc.get(key) != actual:
            report.add(Problem("wrong-value", f"{key} is {_short(doc.get(key))}, the text "
                               f"gives {actual!r}", name, number, key))
    if not is_normalised(text):
        report.add(Problem("not-normalised", "text is not in normalised form", name, number,
                           "text"))
    return max(previous, doc_id)


# ---------------------------------------------------------------------------------------------
# releases


def _sha256(folder: Path, rel: str) -> tuple[int, str]:
    """(bytes, sha256) of a file inside ``folder`` (UnsafeFile when refused)."""
    path = resolve_inside(folder, check_relative(rel, "listed file"), "listed file")
    digest, size = hashlib.sha256(), 0
    with open_read(path, root=folder, what=rel) as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def _entries(folder: Path) -> list[str]:
    """Every entry below ``folder`` that is not a folder (links not followed), POSIX paths."""
    out = []
    for base, dirs, names in os.walk(folder, followlinks=False):
        rel_base = os.path.relpath(base, folder)
        for name in [d for d in dirs if os.path.islink(os.path.join(base, d))]:
            dirs.remove(name)
            names.append(name)
        for name in names:
            rel = name if rel_base == "." else f"{rel_base}/{name}"
            out.append(rel.replace(os.sep, "/"))
    return sorted(out)


def _check_release(folder: Path, desc: dict[str, Any], checked: CheckedDescriptor,
                   report: ValidationReport) -> None:
    """SHA256SUMS, ``corpuspack.files`` and the declared schemas of a release folder."""
    hashes: dict[str, tuple[int, str]] = {}

    def digest(rel: str) -> tuple[int, str] | None:
        if rel not in hashes:
            if not os.path.lexists(resolve_inside(folder, check_relative(rel, "listed file"),
                                                  "listed file")):
                return None
            hashes[rel] = _sha256(folder, rel)
        return hashes[rel]

    listed: dict[str, str] = {}
    try:
        sums = read_bytes(folder / SUMS, root=folder, max_bytes=MAX_SUMS_BYTES, what=SUMS)
    except UnsafeFile as exc:
        code = "missing-checksums" if not os.path.lexists(folder / SUMS) else "unsafe-path"
        report.add(Problem(code, f"{exc} (a release lists every file in {SUMS})"))
        sums = None
    if sums is not None:
        try:
            lines = sums.decode("utf-8").splitlines()
        except UnicodeDecodeError:
            report.add(Problem("invalid-checksums", f"{SUMS} is not UTF-8"))
            lines = []
        for number, line in enumerate(lines, 1):
            found = _SUM_LINE.fullmatch(line)
            if not found:
                report.add(Problem("invalid-checksums", "not '<sha256>  <path>'", SUMS, number))
                continue
            sha, rel = found.groups()
            if rel in listed:
                report.add(Problem("invalid-checksums", f"{rel!r} is listed twice", SUMS,
                                   number))
            listed[rel] = sha
            try:
                actual = digest(rel)
            except UnsafeFile as exc:
                report.add(Problem("unsafe-path", str(exc), SUMS, number))
                continue
            if actual is None:
                report.add(Problem("missing-file", f"{rel!r} is listed but does not exist",
                                   SUMS, number))
            elif actual[1] != sha:
                report.add(Problem("checksum-mismatch", f"{rel!r} has sha256 {actual[1]}, "
                                   f"{SUMS} says {sha}", SUMS, number))
        exempt = {SUMS, RECORD, OWN_MARKER}
        for rel in _entries(folder):
            if rel not in listed and rel not in exempt:
                report.add(Problem("unlisted-file", f"{rel!r} is in the release folder but "
                                   f"not in {SUMS}"))

    cp = _object(desc.get("corpuspack"))
    record = cp.get("files")
    if not isinstance(record, dict):
        report.add(Problem("wrong-file-record", "corpuspack.files (bytes and sha256 of each "
                           "Parquet file) is missing"))
        record = {}
    paths = {f.path for f in checked.data_files if f.kind == "parquet"}
    for rel in sorted(set(record) | paths):
        entry = record.get(rel)
        if rel not in paths:
            report.add(Problem("wrong-file-record", f"corpuspack.files lists {rel!r}, which "
                               "is not a resource"))
            continue
        if not isinstance(entry, dict):
            report.add(Problem("wrong-file-record", f"corpuspack.files does not list {rel!r}"))
            continue
        try:
            actual = digest(rel)
        except UnsafeFile:
            continue  # reported with the resource
        if actual is None:
            continue  # missing-file, reported with the resource
        if entry.get("bytes") != actual[0] or entry.get("sha256") != actual[1]:
            report.add(Problem("wrong-file-record", f"corpuspack.files says {rel!r} has "
                               f"{_short(entry.get('bytes'))} bytes and sha256 "
                               f"{_short(entry.get('sha256'))}; it has {actual[0]} and "
                               f"{actual[1]}"))

    expected = [(c.name, "string" if c.kind == "object" else c.kind) for c in COLUMNS]
    resources = checked.frictionless["resources"] if checked.frictionless else []
    for res, data_file in zip(resources, checked.data_files, strict=True):
        if data_file.kind != "parquet":
            continue
        schema = res.get("schema")
        fields = schema.get("fields") if isinstance(schema, dict) else None
        declared = [(f.get("name"), f.get("type")) for f in fields if isinstance(f, dict)] \
            if isinstance(fields, list) else None
        if declared != expected:
            report.add(Problem("wrong-schema", "the declared Table Schema does not name the "
                               "document columns with their types, in order", data_file.name))


# ---------------------------------------------------------------------------------------------
# versions


def check_version(path: Path, base: str, notes: list[str] | None = None) -> list[Problem]:
    """Problems when content changed since ``base`` but the version did not grow.

    ``base`` is a folder, datapackage.json or git revision; ``auto`` means the newest
    release tag (``v<version>``), and no check when there is none (a note in ``notes`` says
    so). Raises UsageError when ``base`` cannot be opened.
    """
    from corpuspack.project import locate
    from corpuspack.versions import diff, latest_release, parse_version

    project = locate(path)
    if base == "auto":
        if project.repo is None:
            if notes is not None:
                notes.append("not in a git repository: the version was not compared with a "
                             "release")
            return []
        found = latest_release(project.repo)
        if found is None:
            if notes is not None:
                notes.append("no release tag (v<version>) found: the version was not "
                             "compared with a release")
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


# ---------------------------------------------------------------------------------------------


def validate_package(path: Path, base: str | None = None) -> ValidationReport:
    """Validate the package or release folder at ``path`` (a folder or its
    datapackage.json); see the module docstring for what is checked.

    With ``base`` also fail when its documents changed since ``base`` but its version did
    not (see :func:`check_version`). Raises UsageError only when there is no datapackage.json
    at ``path`` or ``base`` cannot be opened; everything wrong with the package is a problem.
    """
    descriptor = resolve_descriptor(path)
    report = ValidationReport(str(path))
    folder = descriptor.parent
    try:
        data = read_bytes(descriptor, root=folder, max_bytes=MAX_DESCRIPTOR_BYTES,
                          what=DESCRIPTOR)
        desc = load_descriptor(data, DESCRIPTOR)
    except UnsafeFile as exc:
        report.add(Problem("unsafe-path", str(exc)))
        return report
    except UsageError as exc:
        report.add(Problem("invalid-descriptor", str(exc)))
        return report
    files = _Folder(folder)
    checked = check_descriptor(desc, files)
    for issue in checked.issues:
        report.add(Problem(issue.code, issue.message, issue.resource))
    resources = desc.get("resources")
    report.resources = len(resources) if isinstance(resources, list) else 0
    if checked.data_files:
        data_dir = (folder / checked.data_files[0].path).parent
        if pending_commit(Layout(descriptor, data_dir)):
            report.add(Problem("pending-commit", "an interrupted build left a commit to finish: "
                               "run 'corpuspack build' again"))
    if checked.release:
        report.notes.append("a release: frictionless checked its descriptor; corpuspack "
                            "checked the Parquet data, SHA256SUMS and the file record")
        _check_release(folder, desc, checked, report)
    failed = _check_documents(files, desc, checked, report)
    _frictionless(folder, checked, failed, report)
    if base is not None:
        if report.problems:
            report.notes.append(f"the version was not compared with {base}: the package has "
                                "problems")
        else:
            try:
                for problem in check_version(folder, base, report.notes):
                    report.add(problem)
            except UnsafeFile as exc:
                raise UsageError(f"--base {base}: {exc}") from None
    report.valid = not report.problems and not report.problems_not_listed
    return report
