"""Run files: what workers write for the corpus-wide passes, and the pass that refines them.

A run is a batch of documents sorted by id, stored as files sharing one stem:

``.jsonl``  the document lines;
``.keys``   one exact-dedup key per document (:mod:`corpuspack.dedup`);
``.sig``    MinHash signatures in id order, ``.bands`` their LSH band keys
            (:mod:`corpuspack.neardup`);
``.lines``  ``<source group><TAB><line hash><TAB><text sha256><TAB><id>`` for each distinct
            line ``frequent_lines`` may remove from a document it runs on
            (:func:`corpuspack.boilerplate.frequent_candidates`), in id order, for counting
            lines across documents and for removing them later.

:func:`refine_run` rewrites one run after the corpus-wide line count: it removes the lines
frequent in a document's source, recomputes what depends on the text and applies the
quality filters. It is a pure function of the run and the settings, like per-file work.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import orjson

from corpuspack.boilerplate import Rules, remove_frequent, source_group
from corpuspack.dedup import key_line
from corpuspack.document import Document, DocumentView, from_json, line_id, to_json_line
from corpuspack.neardup import NearDedup, band_lines, signature, signature_line
from corpuspack.pipeline import FileStats, fill_text_fields
from corpuspack.quality import SIGNALS, Filters, failed
from corpuspack.report import Skipped
from corpuspack.stats import CorpusStats

SUFFIXES = ("jsonl", "keys", "sig", "bands", "lines")


def path(stem: str, suffix: str) -> Path:
    """The file of a run with the given suffix."""
    return Path(f"{stem}.{suffix}")


class RunWriter:
    """Collect documents and write them as sorted runs with their side files."""

    def __init__(self, prefix: str, near: NearDedup, line_keys: bool,
                 spill_bytes: int) -> None:
        self.prefix, self.near = prefix, near
        self.line_keys, self.spill_bytes = line_keys, spill_bytes
        self.stems: list[str] = []
        self.groups: dict[str, int] = {}
        self.stats = CorpusStats()
        self._records: list[tuple[bytes, bytes, bytes, bytes, bytes, bytes]] = []
        self._size = 0

    def add(self, doc: Document, sig: list[int] | None | bool = True,
            line_keys: list[str] | None = None) -> None:
        """Add a document; ``sig`` True computes its signature, else it is given.
        ``line_keys`` are the keys of the lines frequent_lines may remove from it (None:
        the rule does not run on it, and it is not counted in its source group)."""
        line = to_json_line(doc)
        key = key_line(doc.sha256, doc.id, len(line), doc.source)
        signature_bytes = bands = b""
        if self.near.enabled:
            values = signature(doc.text, self.near) if sig is True else sig
            if isinstance(values, list):
                signature_bytes = signature_line(doc.id, values)
                bands = b"".join(band_lines(doc.id, values, self.near))
        lines = b""
        if self.line_keys and line_keys is not None:
            group = source_group(doc.source, doc.url, doc.publisher)
            self.groups[group] = self.groups.get(group, 0) + 1
            # with the text's hash: copies of one document count once
            lines = b"".join(f"{group}\t{k}\t{doc.sha256}\t{doc.id}\n".encode()
                             for k in line_keys)
        self.stats.add(DocumentView(doc))
        self._records.append((line_id(line), line, key, signature_bytes, bands, lines))
        self._size += len(line)
        if self._size >= self.spill_bytes:
            self.spill()

    def spill(self) -> None:
        """Write the documents collected so far as one run."""
        if not self._records:
            return
        self._records.sort(key=lambda r: r[0])
        stem = f"{self.prefix}-{len(self.stems):04d}"
        for index, suffix in enumerate(SUFFIXES, start=1):
            with open(path(stem, suffix), "wb") as fh:
                fh.writelines(r[index] for r in self._records)
        self.stems.append(stem)
        self._records, self._size = [], 0


@lru_cache(maxsize=2)
def _frequent(file: str, digest: str) -> dict[str, tuple[int, int]]:
    # keyed by content too: a later build in this process may write a new file at this path
    found: dict[str, tuple[int, int]] = {}
    with open(file, encoding="utf-8") as fh:
        for line in fh:
            group, key, documents, size = line.rstrip("\n").split("\t")
            found[f"{group}\t{key}"] = (int(documents), int(size))
    return found


@dataclass(frozen=True)
class Refine:
    """What the refining pass does to every run (picklable)."""

    frequent_file: str | None
    frequent_digest: str
    boilerplate: Rules
    filters: Filters
    near: NearDedup


@dataclass
class RefineResult:
    """A refined run and what refining it found."""

    stems: list[str]
    stats: CorpusStats
    file_stats: FileStats = field(default_factory=FileStats)
    filtered: list[Skipped] = field(default_factory=list)


def _line_keys(stem: str) -> Iterator[tuple[str, list[str]]]:
    """(document id, its candidate line keys) from a run's ``.lines``, in id order."""
    current = ""
    keys: list[str] = []
    with open(path(stem, "lines"), encoding="utf-8") as fh:
        for line in fh:
            _, key, _, doc_id = line.rstrip("\n").split("\t")
            if doc_id != current:
                if keys:
                    yield current, keys
                current, keys = doc_id, []
            keys.append(key)
    if keys:
        yield current, keys


def _old_signatures(stem: str) -> Iterator[tuple[str, list[int]]]:
    with open(path(stem, "sig"), "rb") as fh:
        for line in fh:
            doc_id, values = line.rstrip(b"\n").split(b"\t", 1)
            yield doc_id.decode(), orjson.loads(values)


def refine_run(stem: str, refine: Refine, out_prefix: str, spill_bytes: int) -> RefineResult:
    """Rewrite one run: frequent lines out, text columns recomputed, quality filters on."""
    frequent = (_frequent(refine.frequent_file, refine.frequent_digest) if refine.frequent_file
                else {})
    writer = RunWriter(out_prefix, refine.near, False, spill_bytes)
    result = RefineResult([], CorpusStats())
    olds = _old_signatures(stem)
    old = next(olds, None)
    candidates = _line_keys(stem) if frequent else iter(())
    keys = next(candidates, None)
    with open(path(stem, "jsonl"), "rb") as fh:
        for line in fh:
            doc = from_json(orjson.loads(line))
            while old is not None and old[0] < doc.id:
                old = next(olds, None)
            sig: list[int] | None | bool = old[1] if old and old[0] == doc.id else None
            while keys is not None and keys[0] < doc.id:
                keys = next(candidates, None)
            if keys is not None and keys[0] == doc.id:
                group = source_group(doc.source, doc.url, doc.publisher)
                rules = refine.boilerplate.for_document(doc.source, doc.format)
                text, removal = remove_frequent(doc.text, group, frequent, rules, keys[1])
                if removal is not None:
                    doc.text = text
                    fill_text_fields(doc, refine.filters.wants_repetition)
                    sig = True
                    result.file_stats.record(doc.id, [removal], refine.boilerplate.audit)
            values = {name: getattr(doc, name) for name in SIGNALS}
            reason = failed(refine.filters, doc.n_words, doc.language, values)
            if reason is not None:
                result.filtered.append(Skipped(doc.source, doc.record, reason))
                continue
            writer.add(doc, sig)
    writer.spill()
    result.stems, result.stats = writer.stems, writer.stats
    return result
