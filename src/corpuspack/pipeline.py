"""Per-file work: one source file in, its documents (or reasons to skip) out.

:func:`process_file` is a pure function of the file, its sidecar and the settings. It shares
no state with other calls, so the build can run it on any number of processes (or on a
distributed engine) and get the same documents.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any, BinaryIO

from corpuspack.boilerplate import Removal, Rules, clean, frequent_candidates, word_count
from corpuspack.document import Document, document_id, json_line, text_sha256
from corpuspack.errors import SkipFile
from corpuspack.guard import MEMORY_REASON
from corpuspack.language import LOW_SCORE, LOW_SCORE_NOTE, LanguageIdentifier
from corpuspack.metadata import clean_inline, merge_layers
from corpuspack.normalise import normalise_explained, normalise_text
from corpuspack.pii import Redaction, redact
from corpuspack.quality import signals
from corpuspack.report import Skipped
from corpuspack.sources.decode import Scorer, count_notes
from corpuspack.sources.files import SourceFile, iter_lines, open_stream, read_bytes
from corpuspack.sources.formats import FORMATS
from corpuspack.sources.metadata_files import check_meta_size, read_sidecar
from corpuspack.sources.readers import BadRecord, RawRecord

MiB = 1 << 20
SPLIT_MAX_CHARS = 1 << 20
NOTE_RENAMED = "record key taken by a record without an id: the later one's key numbered"
# formats read by corpuspack.sources.formats.html.read_html, whose meta["extraction"] is
# corpuspack's record of a fallback; any other source's "extraction" key is the source's
EXTRACTION_FORMATS = frozenset({"html", "warc"})


@dataclass(frozen=True)
class Settings:
    """Everything per-file work depends on besides the file itself (picklable)."""

    defaults: dict[str, Any] = field(default_factory=dict)
    language_sample_chars: int = 300
    max_file_bytes: int = 256 * MiB
    max_inflated_bytes: int = 4096 * MiB
    max_document_bytes: int = 64 * MiB
    max_metadata_bytes: int = 256 * 1024
    max_meta_bytes: int = 64 * 1024
    boilerplate: Rules = Rules()
    pii: Redaction = Redaction()
    repetition_signals: bool = False
    text_column: str = ""  # the CSV/TSV column of the text; empty: text, content or body


@lru_cache(maxsize=4)
def language_identifier(sample_chars: int) -> LanguageIdentifier:
    """One identifier per process and sample size (the model itself is loaded once per
    process: :func:`corpuspack.language.load_model`)."""
    return LanguageIdentifier(sample_chars)


@dataclass(slots=True)
class FileStats:
    """What reading files cost and found, summed over a task (and then a build).

    ``notes`` counts doubts about inputs that were read anyway, by what was done:
    ``"gzip trailing data ignored"`` (files), ``"lone surrogates removed"`` (code points,
    from JSON and YAML string escapes of half a UTF-16 pair), the ``"decoding: …"`` notes of
    :func:`corpuspack.sources.decode.count_notes` (U+FFFD written; documents with a cut last
    character, a code page chosen by plausibility, no code page decoding strictly), and
    :data:`corpuspack.language.LOW_SCORE_NOTE` (documents whose identified language has a
    score under :data:`corpuspack.language.LOW_SCORE`), and the boilerplate rules' notes
    (:data:`corpuspack.boilerplate.NOTE_TRAILING`, :data:`~corpuspack.boilerplate.
    NOTE_LEADING`: documents whose run of link-like or short lines at an end reached past
    the rules' window and was kept).
    """

    bytes_in: int = 0
    repaired_mojibake: int = 0
    removed: Counter[str] = field(default_factory=Counter)  # "<rule>:<what>" -> count
    pii: Counter[str] = field(default_factory=Counter)
    audit: list[bytes] = field(default_factory=list)
    notes: Counter[str] = field(default_factory=Counter)
    # document id -> the line keys frequent_lines may remove from it (documents it runs on)
    line_keys: dict[str, list[str]] = field(default_factory=dict)

    def record(self, doc_id: str, removals: list[Removal], keep_audit: bool) -> None:
        """Count what boilerplate rules removed from a document (and keep it for audit);
        a Removal that is a note (a rule's window reached) is counted in ``notes``."""
        for removal in removals:
            if removal.note is not None:
                self.notes[removal.note] += 1
                continue
            self.removed[f"{removal.rule}:documents"] += 1
            self.removed[f"{removal.rule}:lines"] += len(removal.lines)
            self.removed[f"{removal.rule}:chars"] += sum(len(line) + 1 for line in removal.lines)
            if keep_audit:
                self.audit.append(json_line({"id": doc_id, "rule": removal.rule,
                                             "lines": removal.lines,
                                             "evidence": removal.evidence}))


def fill_text_fields(doc: Document, repetition_signals: bool) -> None:
    """Set every column computed from the text: counts, hash, quality signals.

    A long text is counted in slices rather than as one list of words, which would cost
    about 9 times the text (measured on a 250 MB file: 14.9x its size at peak, 6.0x without
    the list); a short one is split at once, which is faster.
    """
    text = doc.text
    words = text.split() if len(text) <= SPLIT_MAX_CHARS else None
    doc.n_chars = len(text)
    doc.n_words = len(words) if words is not None else word_count(text)
    doc.sha256 = text_sha256(text)
    for name, value in signals(text, words, repetition_signals).items():
        setattr(doc, name, value)


@dataclass(frozen=True, slots=True)
class _Source:
    """One source file as its reader sees it (:class:`corpuspack.sources.readers.Source`):
    its bytes within the build's limits, the language scorer and the notes."""

    src: SourceFile
    settings: Settings
    score: Scorer | None
    notes: Counter[str]

    @property
    def max_record_bytes(self) -> int:
        return self.settings.max_document_bytes

    @property
    def max_metadata_bytes(self) -> int:
        return self.settings.max_metadata_bytes

    @property
    def max_meta_bytes(self) -> int:
        return self.settings.max_meta_bytes

    @property
    def text_column(self) -> str:
        return self.settings.text_column

    def data(self) -> bytes:
        limit = self.settings.max_file_bytes
        if self.src.compressed:
            limit = min(limit, self.settings.max_inflated_bytes)
        return read_bytes(self.src, limit, self.notes)

    def _stream_limit(self) -> int:
        return self.settings.max_inflated_bytes if self.src.compressed else 1 << 62

    def lines(self) -> Iterator[tuple[int, bytes]]:
        return iter_lines(self.src, self._stream_limit(), self.settings.max_document_bytes,
                          self.notes)

    def stream(self) -> AbstractContextManager[BinaryIO]:
        return open_stream(self.src, self._stream_limit(), self.notes)


def _records(src: SourceFile, settings: Settings, langid: LanguageIdentifier,
             notes: Counter[str]) -> Iterator[RawRecord | BadRecord]:
    """The records of a file, by its format's reader; in a file of many records, a record
    without a key, or whose id repeats an earlier record's id, is a BadRecord (the two would
    share a document id). A key that meets another where one of the two is no id of the
    source's (a line key ``L<line>`` of a record without an id, or a key numbered here) is
    no fault of the source's: the later record takes the key with ``~2`` (``~3``, ...)
    added, counted in ``notes`` (:data:`NOTE_RENAMED`). The keys seen are kept for the
    file's duration."""
    fmt = FORMATS[src.format]
    records = fmt.read(_Source(src, settings, langid.score, notes))
    if not fmt.many:
        yield from records
        return
    seen: set[str] = set()  # the keys given so far
    ids: set[str] = set()  # the records' own ids met so far
    numbered: dict[str, int] = {}  # the next number to try for a key (no quadratic search)
    for item in records:
        if isinstance(item, BadRecord):
            yield item
            continue
        key = item.record
        if key is None:
            yield BadRecord(item.position or "?", "record has no key")
            continue
        if not item.line_key:
            if key in ids:
                yield BadRecord(item.position or key, f"id {key!r} repeats an earlier record's id")
                continue
            ids.add(key)
        if key in seen:  # a line key and an id, or a numbered key and an id, met
            n = numbered.get(key, 2)
            while f"{key}~{n}" in seen:
                n += 1
            numbered[key] = n + 1
            key = f"{key}~{n}"
            item = replace(item, record=key)
            notes[NOTE_RENAMED] += 1
        seen.add(key)
        yield item


def make_document(src: SourceFile, raw: RawRecord, sidecar: dict[str, Any],
                  settings: Settings, langid: LanguageIdentifier | None,
                  stats: FileStats | None = None) -> tuple[Document, bool]:
    """Normalise a raw record, strip its boilerplate, redact it if asked, and give it its
    columns; also say if mojibake was repaired. Raises SkipFile when no text is left.

    The record is consumed: its ``text`` is emptied once normalised, so that the reader's
    text (a copy as large as the document, 4 bytes a character when one lies beyond U+FFFF)
    is not held through the later steps (``scripts/bench.py --large``)."""
    text, repaired = normalise_explained(raw.text, stats.notes if stats is not None else None)
    raw.text = ""
    if not text.strip():
        raise SkipFile("empty or white space only after decoding")
    doc_id = document_id(src.rel, raw.record)
    rules = settings.boilerplate.for_document(src.rel, src.format)
    verbatim = _verbatim(raw.verbatim)
    text, removals = clean(text, rules, src.format, verbatim)
    if stats is not None and removals:
        stats.record(doc_id, removals, rules.audit)
    if settings.pii.active:
        text, redacted = redact(text, settings.pii)
        if stats is not None:
            stats.pii.update(redacted)
    source_meta, extraction = raw.meta, None
    if src.format in EXTRACTION_FORMATS and "extraction" in raw.meta:  # the reader's own
        extraction = raw.meta["extraction"]
        source_meta = {k: v for k, v in raw.meta.items() if k != "extraction"}
    columns, extra, set_aside, moved = merge_layers(settings.defaults, source_meta,
                                                    src.manifest, sidecar)
    if stats is not None:
        if isinstance(extraction, str):  # the reader fell back (HTML)
            stats.notes[f"html extraction {extraction}"] += 1
        for key in set_aside:
            column = key.removesuffix("_raw")
            stats.notes[f"{column} not valid: kept in meta.{key}"] += 1
        for key, new in moved:
            stats.notes[f"meta.{key} is corpuspack's: the value given kept in meta.{new}"] += 1
    if extraction is not None:
        extra["extraction"] = extraction
    if raw.decoding is not None:
        extra["decoding"] = raw.decoding
        if stats is not None:
            count_notes(raw.decoding, stats.notes)
    check_meta_size(extra, settings.max_meta_bytes, "the metadata of the document")
    language = columns.get("language")
    score = None
    if language is None and langid is not None:
        found = langid.identify(text)
        if found is not None:
            language, score = found.code, found.score
            if score < LOW_SCORE and stats is not None:
                stats.notes[LOW_SCORE_NOTE] += 1
    title = columns.get("title")
    doc = Document(
        id=doc_id,
        source=src.rel,
        format=src.format,
        record=raw.record,
        title=clean_inline(normalise_text(title)) if title else None,
        url=columns.get("url"),
        date=columns.get("date"),
        author=columns.get("author"),
        publisher=columns.get("publisher"),
        language=language,
        language_score=score,
        license=columns.get("license"),
        encoding=raw.encoding,
        n_chars=0,
        n_words=0,
        sha256="",
        meta=extra,
        text=text,
    )
    fill_text_fields(doc, settings.repetition_signals)
    if stats is not None and rules.frequent_lines:
        stats.line_keys.setdefault(doc_id, frequent_candidates(doc.text, src.format, verbatim))
    return doc, repaired


def _verbatim(lines: frozenset[str]) -> frozenset[str]:
    """The reader's verbatim lines as they read after normalisation (NFC, no controls), and
    as read: a line of code is kept whichever form it has in the text."""
    if not lines:
        return lines
    return lines | frozenset(normalise_text(line).strip() for line in lines)


def process_file(src: SourceFile, settings: Settings, stats: FileStats | None = None,
                 identify: bool = True) -> Iterator[Document | Skipped]:
    """Read one source file and yield its documents, and a Skipped for each part that failed.

    A failure of the whole file (unreadable, binary, too large) yields one Skipped for the
    file; a bad JSONL line yields a Skipped for that line and the other lines go on. With
    ``identify=False`` undeclared languages are left empty for :func:`identify_languages`.
    """
    langid = language_identifier(settings.language_sample_chars)
    notes: Counter[str] = Counter() if stats is None else stats.notes
    if stats is not None:
        stats.bytes_in += src.size
    try:
        sidecar = read_sidecar(src.sidecar, src.root or None,
                               max_bytes=settings.max_metadata_bytes,
                               max_meta_bytes=settings.max_meta_bytes, notes=notes)
        for item in _records(src, settings, langid, notes):
            if isinstance(item, BadRecord):
                yield Skipped(src.rel, item.position, item.reason)
                continue
            try:
                doc, repaired = make_document(src, item, sidecar, settings,
                                              langid if identify else None, stats)
            except SkipFile as exc:
                yield Skipped(src.rel, item.record, exc.reason)
                continue
            if repaired and stats is not None:
                stats.repaired_mojibake += 1
            yield doc
    except SkipFile as exc:
        yield Skipped(src.rel, None, exc.reason)
    except MemoryError:
        yield Skipped(src.rel, None, MEMORY_REASON)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - one bad file must not stop a
        # build, not even a library's sys.exit on a file it cannot parse
        yield Skipped(src.rel, None, f"unexpected error: {type(exc).__name__}: {exc}")


def identify_languages(docs: list[Document], settings: Settings,
                       stats: FileStats | None = None) -> None:
    """Fill the language of documents that did not declare one, in one tight loop; count
    those identified with a score under :data:`~corpuspack.language.LOW_SCORE` in
    ``stats.notes``.

    Running the identifier over a batch, rather than between the other steps of each
    document, keeps its model in the CPU caches: about a third faster (docs/benchmarks.md).
    """
    langid = language_identifier(settings.language_sample_chars)
    low = 0
    for doc in docs:
        if doc.language is None:
            found = langid.identify(doc.text)
            if found is not None:
                doc.language, doc.language_score = found.code, found.score
                low += found.score < LOW_SCORE
    if low and stats is not None:
        stats.notes[LOW_SCORE_NOTE] += low
