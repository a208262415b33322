"""The build report: what was read, what was written, what was skipped and why."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import asdict, astuple, dataclass, field, fields
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from corpuspack.document import json_line

FIRST_SKIPPED = 10
# records of one source file listed per reason in build-report.json; the rest are counted
# (a 23 kB gzip of 5 million bad JSONL lines wrote a 694 MB report before)
LISTED_RECORDS = 100


@dataclass(frozen=True, slots=True)
class Skipped:
    """A source file, or one record of a JSONL file, that did not become a document."""

    path: str
    record: str | None
    reason: str

    def __lt__(self, other: Skipped) -> bool:
        # a whole file (record None) sorts before its records
        return (self.path, self.record or "", self.reason) < (
            other.path, other.record or "", other.reason)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path}
        if self.record is not None:
            out["record"] = self.record
        out["reason"] = self.reason
        return out

    def to_line(self) -> bytes:
        """One JSON line; sorting lines sorts by path, then record."""
        return json_line([self.path, self.record, self.reason])

    @classmethod
    def from_line(cls, line: bytes) -> Skipped:
        return cls(*orjson.loads(line))


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A document dropped because a kept document has the same text (``exact``) or nearly
    the same (``near``: estimated Jaccard similarity of their word shingles)."""

    id: str
    source: str
    duplicate_of: str
    duplicate_of_source: str
    kind: str = "exact"
    similarity: float = 1.0
    sha256: str = ""  # of the dropped text: two records may share an id (a JSONL data error)

    def to_line(self) -> bytes:
        return json_line([self.id, self.duplicate_of, self.source, self.duplicate_of_source,
                          self.kind, self.similarity, self.sha256])

    @classmethod
    def from_line(cls, line: bytes) -> Duplicate:
        return cls(*_reorder(orjson.loads(line)))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "source": self.source, "duplicate_of": self.duplicate_of,
                "duplicate_of_source": self.duplicate_of_source, "kind": self.kind,
                "similarity": self.similarity}


@dataclass
class BuildReport:
    """Counts and lists describing one build. Only ``seconds`` varies between equal builds."""

    files_seen: int = 0
    files_read: int = 0
    documents_read: int = 0
    documents_written: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    repaired_mojibake: int = 0
    encodings: Counter[str] = field(default_factory=Counter)
    skipped_file: Path | None = None  # every Skipped, sorted by path and record
    skip_count: int = 0
    files_skipped: int = 0
    skip_reasons: Counter[str] = field(default_factory=Counter)
    first_skipped: list[Skipped] = field(default_factory=list)  # the first FIRST_SKIPPED
    notes: Counter[str] = field(default_factory=Counter)  # doubts on record, by kind
    shards: list[Any] = field(default_factory=list)
    documents_filtered: int = 0
    filtered_by_reason: Counter[str] = field(default_factory=Counter)
    filtered_file: Path | None = None  # documents dropped by quality filters, in order
    duplicates_dropped: int = 0
    near_duplicates_dropped: int = 0
    near_duplicate_clusters: int = 0
    near_pairs_checked: int = 0
    removed: Counter[str] = field(default_factory=Counter)
    frequent_lines: int = 0
    pii: Counter[str] = field(default_factory=Counter)
    duplicates_file: Path | None = None
    seconds: float = 0.0
    data_files: list[str] = field(default_factory=list)
    check_differences: list[str] = field(default_factory=list)
    files_cached: int = 0  # source files whose results came from the cache
    files_processed: int = 0  # source files read by this build's tasks
    shards_reused: int = 0  # data files copied from the committed package (stages.shards)
    # the inputs matched a recorded build (corpuspack.build_record): no stage ran
    from_record: bool = False
    plan_key: str | None = None  # corpuspack.stages.plan_key: a build record's other key
    # wall seconds per stage of corpuspack.stages, in the order they ran (``walk``: the
    # main process's share of ``map`` spent walking the sources and planning the tasks)
    stage_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def skipped_by_reason(self) -> dict[str, int]:
        """How many files or records were skipped, per reason (reasons without details)."""
        return dict(sorted(self.skip_reasons.items()))

    def iter_skipped(self) -> Iterator[Skipped]:
        """Every skipped file or record, sorted by path then record (read from disk: one
        bad JSONL file can hold millions of bad lines)."""
        if self.skipped_file is None:
            return
        with open(self.skipped_file, "rb") as fh:
            for line in fh:
                yield Skipped.from_line(line)

    @property
    def skipped(self) -> list[Skipped]:
        """Every skipped file or record, as a list: use :meth:`iter_skipped` for big ones."""
        return list(self.iter_skipped())

    def count_skipped(self, lines: Iterable[bytes], path: Path) -> None:
        """Count the Skipped lines of the file ``path`` as ``lines`` gives them (sorted by
        path, then record): by reason, files among them, and keep the first ones."""
        self.skip_count = self.files_skipped = 0
        self.skip_reasons, self.first_skipped = Counter(), []
        last_file = None
        for line in lines:
            skip = Skipped.from_line(line)
            self.skip_count += 1
            self.skip_reasons[skip.reason.split(":")[0]] += 1
            if skip.record is None and skip.path != last_file:
                self.files_skipped += 1
                last_file = skip.path
            if len(self.first_skipped) < FIRST_SKIPPED:
                self.first_skipped.append(skip)
        self.skipped_file = path

    def iter_duplicates(self) -> Iterator[Duplicate]:
        """Every dropped duplicate, in id order (read from disk: the list can be long)."""
        if self.duplicates_file is None:
            return
        with open(self.duplicates_file, "rb") as fh:
            for line in fh:
                yield Duplicate.from_line(line)

    def iter_filtered(self) -> Iterator[Skipped]:
        """Every document the quality filters dropped, with the rule and value that failed,
        in path order (read from disk: the list can be long)."""
        if self.filtered_file is None:
            return
        with open(self.filtered_file, "rb") as fh:
            for line in fh:
                yield Skipped.from_line(line)

    def summary(self, *, timing: bool) -> dict[str, Any]:
        """The counts of the report (no lists); with ``timing`` also what varies between
        builds of the same sources: files taken from the cache, time, throughput and
        ``stage_seconds`` (wall seconds of each stage of :mod:`corpuspack.stages`: ``map``,
        ``frequent_lines``, ``refine``, ``partitions`` (the duplicate passes' partitions, on
        the executor), ``duplicates``, ``lists``, ``shards``, ``describe``, those that ran;
        ``walk`` is the part of ``map`` the main process spent walking the sources, while
        the workers ran; ``inputs``, the fingerprint of the inputs taken before, with a
        cache) and ``from_record``, true when the inputs matched a recorded build
        (:mod:`corpuspack.build_record`) and no stage ran; ``shards_reused``, the data files
        copied from the committed package because their documents did not change
        (:func:`corpuspack.stages.reused_shards`)."""
        out: dict[str, Any] = {
            "files_seen": self.files_seen,
            "files_read": self.files_read,
            "files_skipped": self.files_skipped,
            "records_skipped": self.skip_count - self.files_skipped,
            "skipped_by_reason": self.skipped_by_reason,
            "notes": dict(sorted(self.notes.items())),
            "documents_read": self.documents_read,
            "duplicates_dropped": self.duplicates_dropped,
            "near_duplicates_dropped": self.near_duplicates_dropped,
            "near_duplicate_clusters": self.near_duplicate_clusters,
            "near_duplicate_pairs_checked": self.near_pairs_checked,
            "documents_filtered": self.documents_filtered,
            "filtered_by_reason": dict(sorted(self.filtered_by_reason.items())),
            "boilerplate_removed": _removed(self.removed),
            "frequent_lines": self.frequent_lines,
            "pii_redacted": dict(sorted(self.pii.items())),
            "documents_written": self.documents_written,
            "repaired_mojibake": self.repaired_mojibake,
            "encodings": dict(sorted(self.encodings.items())),
            "bytes_in": self.bytes_in,
            "bytes_out": self.bytes_out,
        }
        if timing:  # what varies between builds of the same sources: never in the package
            out["files_cached"] = self.files_cached
            out["files_processed"] = self.files_processed
            out["shards_reused"] = self.shards_reused
            out["from_record"] = self.from_record
            out["seconds"] = round(self.seconds, 3)
            rate = self.bytes_in / 1e6 / self.seconds if self.seconds else None
            out["mb_per_second"] = round(rate, 2) if rate is not None else None
            out["stage_seconds"] = {k: round(v, 3) for k, v in self.stage_seconds.items()}
        return out

    def to_record(self) -> dict[str, Any]:
        """What a build record keeps of the report (:mod:`corpuspack.build_record`): every
        count, the first skipped and the shards; not the lists (files of their own), nor
        what varies between builds of the same sources."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in _NOT_RECORDED:
                continue
            value = getattr(self, f.name)
            if f.name == "first_skipped":
                value = [list(astuple(s)) for s in value]
            elif f.name == "shards":
                value = [asdict(s) for s in value]
            elif isinstance(value, Counter):
                value = dict(sorted(value.items()))
            out[f.name] = value
        out["files_total"] = self.files_cached + self.files_processed
        return out

    @classmethod
    def of_record(cls, value: dict[str, Any], lists: dict[str, Path]) -> BuildReport:
        """The report of a recorded build (:meth:`to_record`), its lists in ``lists``
        (``skipped``, ``filtered``, ``duplicates``: the files), marked ``from_record``;
        KeyError or TypeError for a record that lacks a field."""
        from corpuspack.shards import ShardInfo

        report = cls(from_record=True, files_cached=_typed(value["files_total"], int))
        for f in fields(cls):
            if f.name in _NOT_RECORDED:
                continue
            item, default = value[f.name], getattr(report, f.name)
            if f.name == "first_skipped":
                item = [Skipped(*_typed(s, list, str)) for s in _typed(item, list)]
            elif f.name == "shards":
                item = [ShardInfo(**_typed(s, dict)) for s in _typed(item, list)]
            elif isinstance(default, Counter):
                item = Counter({_typed(k, str): _typed(v, int)
                                for k, v in _typed(item, dict).items()})
            elif isinstance(default, list):
                item = [_typed(x, str) for x in _typed(item, list)]
            else:
                item = _typed(item, type(default))
            setattr(report, f.name, item)
        for name, path in lists.items():
            setattr(report, f"{name}_file", path)
        return report

    def write_json(self, path: Path, *, timing: bool) -> None:
        """Write the whole report as JSON to ``path``."""
        with open(path, "wb") as out:
            self.write_to(out, timing=timing)

    def write_to(self, out: BinaryIO, *, timing: bool, extra: dict[str, Any] | None = None
                 ) -> None:
        """Write the whole report as JSON, streaming the long lists from disk; ``extra``
        keys go after the counts."""
        head = self.summary(timing=timing)
        head.update(extra or {})
        body = orjson.dumps(head, option=orjson.OPT_INDENT_2)
        out.write(body[:-2])  # reopen the object to append the streamed arrays
        lists: tuple[tuple[str, Iterator[dict[str, Any]]], ...] = (
            ("skipped", listed_skips(self.iter_skipped())),
            ("filtered", (item.to_dict() for item in self.iter_filtered())),
            ("duplicates", (item.to_dict() for item in self.iter_duplicates())))
        for name, items in lists:
            out.write(b',\n  "%s": [' % name.encode())
            first = True
            for item in items:
                out.write(b"\n    " if first else b",\n    ")
                out.write(orjson.dumps(item))
                first = False
            out.write(b"\n  ]" if not first else b"]")
        out.write(b"\n}\n")


def _typed(value: Any, kind: type, items: type | None = None) -> Any:
    """``value`` if it is a ``kind`` (its items ``items`` or None); TypeError otherwise."""
    seq: Any = value
    if type(value) is not kind or (items is not None and not all(
            x is None or type(x) is items for x in seq)):
        raise TypeError(f"a recorded report holds {value!r} for a {kind.__name__}")
    return value


_NOT_RECORDED = frozenset({
    "skipped_file", "filtered_file", "duplicates_file", "seconds", "check_differences",
    "files_cached", "files_processed", "shards_reused", "stage_seconds", "from_record",
    "plan_key"})


def listed_skips(skips: Iterator[Skipped], limit: int = LISTED_RECORDS
                 ) -> Iterator[dict[str, Any]]:
    """The entries of the report's ``skipped`` list from every Skipped, sorted by path: each
    skipped file, and the first ``limit`` skipped records of a file per reason (the reason's
    text before its first colon); the others of that file and reason as one entry
    ``{"path", "reason", "records_not_listed": n}`` after the file's last record. The counts
    by reason (``skipped_by_reason``) still count every one."""
    path: str | None = None
    listed: Counter[str] = Counter()

    def unlisted() -> Iterator[dict[str, Any]]:
        for kind, n in sorted(listed.items()):
            if n > limit:
                yield {"path": path, "reason": kind, "records_not_listed": n - limit}

    for skip in skips:
        if skip.path != path:
            yield from unlisted()
            path, listed = skip.path, Counter()
        if skip.record is not None:
            kind = skip.reason.split(":")[0]
            listed[kind] += 1
            if listed[kind] > limit:
                continue
        yield skip.to_dict()
    yield from unlisted()


def _removed(counts: Counter[str]) -> dict[str, dict[str, int]]:
    """``{"<rule>": {"documents": n, "lines": n, "chars": n}}`` from "<rule>:<what>" counts."""
    out: dict[str, dict[str, int]] = {}
    for key, value in sorted(counts.items()):
        rule, what = key.split(":")
        out.setdefault(rule, {})[what] = value
    return out


def _reorder(fields: list[Any]) -> tuple[Any, ...]:
    id_, of, source, of_source, kind, similarity, sha256 = fields
    return id_, source, of, of_source, kind, similarity, sha256
