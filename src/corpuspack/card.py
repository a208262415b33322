"""``corpuspack card``: the data card (DATA_CARD.md), generated from the package.

Generated sections sit between ``<!-- corpuspack:begin NAME -->`` and
``<!-- corpuspack:end NAME -->`` markers and are rewritten on every run; everything outside
the markers is the curator's and is kept as it is. Plots (document lengths, language mix)
are PNG files beside the card; the card records a digest of the numbers they show, so that
``card --check`` sees a stale plot without comparing image bytes (which differ between
matplotlib versions).

The package is untrusted input: every string taken from it (title, description, folder
names, publishers, licences, language codes, reasons in the build report …) is escaped for
Markdown (:func:`md_text`, :func:`md_code`): ``|``, backticks and emphasis characters are
backslash-escaped, ``<``, ``>`` and ``&`` become HTML entities (so no HTML comment, tag or
card marker can form), and newlines and other control characters are shown as escapes
(``\\n``). :func:`merge` recognises a marker only on a line of its own. The build report
named by the descriptor is read inside the package only, at most
:data:`~corpuspack.reader.MAX_REPORT_BYTES`; the card and its plots are written through
:func:`corpuspack.safefs.replace_file` inside the project's root (never through a link).
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from corpuspack.document import COLUMNS
from corpuspack.errors import UsageError
from corpuspack.project import Project
from corpuspack.reader import MAX_REPORT_BYTES, Package, parse_json
from corpuspack.safefs import UnsafeFile, is_within, read_bytes, replace_file
from corpuspack.signals import NAMES as SIGNALS

SECTIONS = ("summary", "loading", "schema", "statistics", "provenance", "normalisation",
            "limitations")
# a generated block: its markers each on a line of their own
_BLOCK = re.compile(r"^<!-- corpuspack:begin (\w+) -->\r?\n.*?"
                    r"^<!-- corpuspack:end \1 -->\r?(?:\n|\Z)", re.S | re.M)
_MARKER_LINE = re.compile(r"^([ \t]*)<(!--[ \t]*corpuspack:)", re.M)
MAX_CARD_BYTES = 64 << 20
# hand-written sections of a new card, with what the curator should write there
_TEMPLATE = {
    "summary": ("", ""),
    "loading": ("## How to load", ""),
    "schema": ("## Schema", ""),
    "statistics": ("## Statistics", ""),
    "provenance": ("## Provenance and licences",
                   "## Motivation and curation\n\n_Who collects these documents, why, and "
                   "how they are chosen. (Written by hand; `corpuspack card` keeps it.)_\n"),
    "normalisation": ("## Normalisation applied", ""),
    "limitations": ("## Known limitations",
                    "## Maintenance and contact\n\n_Who maintains the corpus and how to report "
                    "a problem. (Written by hand.)_\n"),
}
LENGTH_EDGES = tuple(10 ** (k / 4) for k in range(0, 33))  # 1 to 10^8 characters
# shown as escapes: they break lines or reorder text (bidirectional controls)
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
_MD = str.maketrans({c: "\\" + c for c in "\\`*[]|~#"} | {"<": "&lt;", ">": "&gt;",
                                                         "&": "&amp;"})
# "_" inside a word emphasises nothing (CommonMark): only "_" at a word's edge is escaped
_EDGE_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
# what would start a list item, or underline a heading, at the start of a line
_BLOCK_START = re.compile(r"(?:[-+]|\d{1,9}[.)])(?:[ \t]|$)|[-=]+[ \t]*$")
_PLAIN_CODE = re.compile(r"[^`<>|\\&]+")
_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#@!$&'()*+,;=%]+")


def visible(text: str) -> str:
    """``text`` with control characters, line and paragraph separators and bidirectional
    controls shown as escapes (``\\n``, ``\\x07``, ``\\u2028``): one visible line."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch in _NAMED:
            out.append(_NAMED[ch])
        elif ch in _BIDI or unicodedata.category(ch) in ("Cc", "Zl", "Zp", "Cs"):
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def md_text(value: object) -> str:
    """A value from data as inline Markdown text (also safe in a table cell): Markdown
    characters backslash-escaped, ``<``, ``>``, ``&`` as entities, control characters
    visible (:func:`visible`), no list or heading marker at its start."""
    text = (value if isinstance(value, str) else str(value)).translate(_MD)
    text = visible(_EDGE_UNDERSCORE.sub(r"\\_", text))
    start = _BLOCK_START.match(text)
    if start is None:
        return text
    digits = len(text) - len(text.lstrip("0123456789"))
    at = digits if digits else 0  # "1\\. x", "\\- x": the marker's punctuation escaped
    return text[:at] + "\\" + text[at:]


def md_code(value: object) -> str:
    """A name from data as a code span when it is plain (no backtick, ``<``, ``>``, ``|``,
    ``\\``, ``&``, control character or outer space), else as :func:`md_text`."""
    text = value if isinstance(value, str) else str(value)
    if _PLAIN_CODE.fullmatch(text) and text.strip() == text and visible(text) == text:
        return f"`{text}`"
    return md_text(text)


def _link(value: str) -> str:
    """An http(s) URL from data as an autolink (``<url>``) when it holds only URL
    characters (so no ``<``, ``>`` or space), else as text in parentheses."""
    if _URL.fullmatch(value):
        return f"<{value}>"
    return f"({md_text(value)})"


def _label(text: str, limit: int = 40) -> str:
    """A name from data as a plot label: visible, short, no mathtext (``$``)."""
    text = visible(text)
    text = text if len(text) <= limit else text[:limit - 1] + "…"
    return text.replace("$", "\\$")


@dataclass
class CorpusProfile:
    """What the card shows that the descriptor's statistics do not: one pass, bounded."""

    lengths: Counter[int] = field(default_factory=Counter)  # bin index -> documents
    signal_sums: Counter[str] = field(default_factory=Counter)
    signal_docs: Counter[str] = field(default_factory=Counter)
    by_folder: dict[str, dict[str, Counter[str]]] = field(default_factory=dict)
    folder_docs: Counter[str] = field(default_factory=Counter)
    parts: dict[tuple[str, ...], list[int]] = field(default_factory=dict)

    def add(self, doc: dict[str, Any]) -> None:
        n = max(1, int(doc["n_chars"]))
        self.lengths[min(len(LENGTH_EDGES) - 2, int(math.log10(n) * 4))] += 1
        folder = doc["source"].split("/", 1)[0] if "/" in doc["source"] else "(top level)"
        self.folder_docs[folder] += 1
        slot = self.by_folder.setdefault(folder, {"license": Counter(), "publisher": Counter()})
        slot["license"][doc.get("license") or "unspecified"] += 1
        if doc.get("publisher"):
            slot["publisher"][doc["publisher"]] += 1
        for name in SIGNALS:
            if doc.get(name) is not None:
                self.signal_sums[name] += doc[name]
                self.signal_docs[name] += 1


def profile(package: Package, layout: Any = None) -> CorpusProfile:
    """Stream the documents of a package once into a CorpusProfile; with a
    :class:`corpuspack.splits.Layout`, also count documents, words and characters per
    (subset values, split) in ``parts``."""
    prof = CorpusProfile()
    assign = layout.splits.assigner() if layout is not None else None
    for doc in package.iter_documents():
        prof.add(doc)
        if assign is not None:
            slot = prof.parts.setdefault((*layout.subsets.values(doc), assign(doc)), [0, 0, 0])
            slot[0] += 1
            slot[1] += int(doc.get("n_words") or 0)
            slot[2] += int(doc.get("n_chars") or 0)
    return prof


def _layout_counts(layout: Any, parts: dict[tuple[str, ...], list[int]]) -> dict[str, Any]:
    """The counts per split and per config of a package's documents (as a release has them,
    without the Parquet sizes)."""
    from corpuspack.publish import Part, layout_statistics

    return layout_statistics([Part(key[:-1], key[-1], documents=n, words=w, chars=c)
                              for key, (n, w, c) in sorted(parts.items())], layout)


def _first_languages(codes: list[str], shown: int = 10) -> str:
    """The first ``shown`` codes (by documents), and how many more there are."""
    text = ", ".join(md_text(k) for k in codes[:shown]) or "-"
    return text + (f" and {len(codes) - shown} more" if len(codes) > shown else "")


def _table(rows: list[tuple[Any, ...]], header: tuple[str, ...]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _fmt(n: int) -> str:
    return f"{n:,}"


def _length_rows(prof: CorpusProfile) -> list[tuple[str, str]]:
    total = sum(prof.lengths.values())
    rows = []
    for index in sorted(prof.lengths):
        low, high = LENGTH_EDGES[index], LENGTH_EDGES[index + 1]
        rows.append((f"{math.ceil(low):,}-{math.ceil(high) - 1:,}",
                     f"{prof.lengths[index]:,} ({prof.lengths[index] / total:.0%})"))
    return rows


def plots(stats: dict[str, Any], prof: CorpusProfile) -> dict[str, bytes]:
    """PNG images: document length distribution and language mix."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}
    fig, ax = plt.subplots(figsize=(7, 3.2), dpi=100)
    indexes = sorted(prof.lengths)
    ax.bar([LENGTH_EDGES[i] for i in indexes], [prof.lengths[i] for i in indexes],
           width=[LENGTH_EDGES[i + 1] - LENGTH_EDGES[i] for i in indexes], align="edge",
           color="#4c72b0", edgecolor="white")
    ax.set_xscale("log")
    ax.set_xlabel("characters per document")
    ax.set_ylabel("documents")
    ax.set_title("Document lengths")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    out["lengths.png"] = buf.getvalue()

    langs = list(stats.get("languages", {}).items())
    shown = langs[:15] + ([("other", sum(n for _, n in langs[15:]))] if len(langs) > 15 else [])
    fig, ax = plt.subplots(figsize=(7, max(1.6, 0.3 * len(shown) + 0.8)), dpi=100)
    labels = [_label(str(k)) for k, _ in shown]
    ax.barh(range(len(shown)), [n for _, n in shown][::-1], color="#55a868")
    ax.set_yticks(range(len(shown)), labels[::-1])
    ax.set_xlabel("documents")
    ax.set_title("Languages")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    out["languages.png"] = buf.getvalue()
    return out


def _sections(package: Package, prof: CorpusProfile, report: dict[str, Any],
              plots_rel: str, loader: str) -> dict[str, str]:
    d = package.descriptor
    stats = package.statistics
    title = d.get("title") or d.get("name", "corpus")
    words, docs = stats.get("words", 0), stats.get("documents", 0)
    summary = f"# {md_text(title)}\n\n"
    if d.get("description"):
        summary += f"{md_text(d['description'])}\n\n"
    summary += _table([
        ("name", md_code(d.get("name", ""))), ("version", md_text(d.get("version", ""))),
        ("documents", _fmt(docs)), ("words", _fmt(words)),
        ("characters", _fmt(stats.get("chars", 0))),
        ("languages", _first_languages(list(stats.get("languages", {})))),
        ("date range", f"{md_text(stats.get('date_min') or '-')} to "
                       f"{md_text(stats.get('date_max') or '-')}"),
    ], ("", ""))
    quoted = visible(orjson.dumps(loader).decode())  # a Python string literal, one line
    loading = (
        "With Hugging Face datasets (the release folder, or its Hub repository):\n\n"
        f"```python\nfrom datasets import load_dataset\n\nds = load_dataset({quoted}, "
        "split=\"train\")\n```\n\nThe release's Parquet files with pandas or DuckDB:\n\n"
        "```python\nimport pandas as pd\n\ndf = pd.read_parquet(\"data/\")\n```\n\n"
        "```sql\nSELECT language, count(*) FROM 'data/*.parquet' GROUP BY language;\n```\n\n"
        "The corpus itself is JSON lines described by `datapackage.json` (Frictionless Data "
        "Package v2): `frictionless validate datapackage.json` checks it.\n"
    )
    schema = "One row per document, sorted by `id`:\n\n" + _table(
        [(f"`{c.name}`", c.kind, c.description) for c in COLUMNS], ("column", "type", "meaning"))
    digest = hashlib.sha256(orjson.dumps(
        [sorted(prof.lengths.items()), list(stats.get("languages", {}).items())])).hexdigest()
    statistics = (
        f"![Document lengths]({plots_rel}/lengths.png)\n\n"
        + _table(_length_rows(prof), ("characters", "documents"))
        + f"\n![Languages]({plots_rel}/languages.png)\n\n"
        + _table([(md_text(k), _fmt(v)) for k, v in stats.get("languages", {}).items()],
                 ("language", "documents"))
        + "\n" + _table([(md_text(k), _fmt(v)) for k, v in stats.get("formats", {}).items()],
                        ("source format", "documents"))
        + "\n" + _table([(md_text(k), _fmt(v)) for k, v in stats.get("encodings", {}).items()],
                        ("source encoding", "documents"))
        + "\nQuality signals, mean over the documents (see the schema):\n\n"
        + _table([(f"`{name}`", f"{prof.signal_sums[name] / prof.signal_docs[name]:.3f}")
                  for name in SIGNALS if prof.signal_docs[name]], ("signal", "mean"))
        + "\n### What was removed, and why\n\n"
        + f"Building read {_fmt(report.get('files_seen', 0))} files, skipped "
        f"{_fmt(report.get('files_skipped', 0))} files and "
        f"{_fmt(report.get('records_skipped', 0))} JSONL records, dropped "
        f"{_fmt(report.get('duplicates_dropped', 0))} exact and "
        f"{_fmt(report.get('near_duplicates_dropped', 0))} near duplicates, filtered out "
        f"{_fmt(report.get('documents_filtered', 0))} documents on quality and repaired "
        f"{_fmt(report.get('repaired_mojibake', 0))} documents from mojibake.\n"
        + ("\n" + _table([(md_text(k), _fmt(v)) for k, v in
                          sorted(report.get("skipped_by_reason", {}).items())],
                         ("skipped because", "files or records"))
           if report.get("skipped_by_reason") else "")
        + ("\n" + _table([(md_text(k), _fmt(v)) for k, v in
                          sorted(report.get("filtered_by_reason", {}).items())],
                         ("filtered out on", "documents"))
           if report.get("filtered_by_reason") else "")
        + ("\nBoilerplate removed from the text of the documents read (before "
           "deduplication and filtering):\n\n" + _table(
            [(md_text(rule), _fmt(v.get("documents", 0)), _fmt(v.get("lines", 0)),
              _fmt(v.get("chars", 0))) for rule, v in report["boilerplate_removed"].items()],
            ("rule", "documents", "lines", "characters"))
           if report.get("boilerplate_removed") else "")
        + ("\nRead, with a doubt on record (each counted once per document, file or "
           "character, as the note says):\n\n" + _table(
               [(md_text(k), _fmt(v)) for k, v in sorted(report["notes"].items())],
               ("note", "count"))
           if report.get("notes") else "")
        + ("\nPersonal data redacted: " + ", ".join(
            f"{_fmt(n)} {md_text(kind)}" for kind, n in report["pii_redacted"].items()) + ".\n"
           if report.get("pii_redacted") else "")
        + f"\n<!-- plot data sha256:{digest} -->\n"
    )
    provenance_rows = []
    for folder in sorted(prof.folder_docs):
        slot = prof.by_folder[folder]
        provenance_rows.append((
            md_code(folder), _fmt(prof.folder_docs[folder]),
            ", ".join(f"{md_text(k)} ({v})" for k, v in slot["license"].most_common()),
            ", ".join(md_text(k) for k, _ in slot["publisher"].most_common(3)) or "-"))
    provenance = _table(provenance_rows, ("source folder", "documents", "licences", "publishers"))
    if d.get("sources"):
        provenance += "\nSources named by the package:\n\n" + "".join(
            f"- {md_text(s.get('title', ''))}"
            + (f" {_link(s['path'])}" if s.get("path") else "") + "\n"
            for s in d["sources"])
    if d.get("licenses"):
        provenance += "\nPackage licence statement:\n\n" + "".join(
            f"- {md_text(lic.get('title') or lic.get('name'))}"
            + (f" ({md_text(lic['path'])})" if lic.get("path") else "") + "\n"
            for lic in d["licenses"])
    tq = d.get("corpuspack", {}).get("text_quality", {})
    near = tq.get("near_dedup", {})
    normalisation = (
        "Every document went through the same steps (corpuspack "
        f"{md_text((d.get('corpuspack', {}).get('generator') or '').removeprefix('corpuspack '))}"
        "):\n\n"
        "1. decoding: byte order mark, else strict UTF-8, else the best of the declared "
        "charset, a detector's guess and related code pages (the codec is in `encoding`);\n"
        "2. HTML: main text only (navigation, sidebars, footers dropped), page metadata kept;\n"
        "3. mojibake repaired with ftfy where detected; control characters removed;\n"
        "4. Unicode NFC; LF line ends; no trailing spaces; at most one blank line in a row;\n"
        f"5. {_boilerplate_step(tq)};\n"
        "6. language identified from a "
        f"{_sample_words(d.get('corpuspack', {}).get('options', {}))} unless declared;\n"
        f"7. {_dedup_step(tq)}; quality signals computed"
        + (", and documents failing the configured quality filters dropped"
           f" ({_filters(tq)})" if _filters(tq) else "") + ".\n"
    )
    limitations = (
        "- Language labels come from a fastText model reading a sample of each document; "
        "documents mixing languages get the language of most of the sample.\n"
        "- Boilerplate rules remove a block of short lines only when it holds chrome "
        "phrases (\"newsletter\", \"related articles\", \"©\") or navigation words "
        "(\"Home\", \"Menu\"); chrome written without them, or as full sentences, can stay, "
        "and a list of links the author meant to keep can go when it holds such words.\n"
        + (f"- Near-duplicates are judged on word {md_text(near.get('shingle_words', 5))}-grams "
           f"of documents of {md_text(near.get('min_words', 50))} words or more; shorter documents "
           "are "
           "only deduplicated exactly.\n" if near.get("enabled", True) else "")
        + "- Licences are as recorded by curators; `NOASSERTION` means none was determined.\n"
    )
    return {"summary": summary, "loading": loading, "schema": schema,
            "statistics": statistics, "provenance": provenance,
            "normalisation": normalisation, "limitations": limitations}


_RULES = {
    "trailing_block": "trailing blocks of link-like lines (related articles, newsletter "
                      "prompts)",
    "leading_block": "leading navigation",
    "repeated_lines": "repeated link lines with a chrome phrase or navigation word",
    "frequent_lines": "lines frequent across the documents of one source",
}
_FORMAT_NAMES = {"html": "HTML pages", "jsonl": "JSON lines records", "markdown": "Markdown",
                 "text": "plain text", "rst": "reStructuredText"}


def _on(rules: dict[str, Any]) -> tuple[str, ...]:
    return tuple(what for rule, what in _RULES.items() if rules.get(rule, True))


def _formats(names: list[str]) -> str:
    shown = [md_text(_FORMAT_NAMES.get(name, f"{name.upper()} files")) for name in names]
    return ", ".join(shown[:-1]) + " and " + shown[-1] if len(shown) > 1 else shown[0]


def _boilerplate_step(tq: dict[str, Any]) -> str:
    """Which boilerplate rules ran where: by format (``formats`` of the descriptor's
    ``text_quality.boilerplate``; a descriptor without it has one set of rules), with the
    chrome lines a block needed, then each folder entry's changes."""
    rules = tq.get("boilerplate", {})
    rules = rules if isinstance(rules, dict) else {}
    formats = rules.get("formats")
    scopes = ({k: v for k, v in formats.items() if isinstance(v, dict)}
              if isinstance(formats, dict) and formats else {"": rules})
    by_rules: dict[tuple[str, ...], list[str]] = {}
    by_need: dict[str, list[str]] = {}
    for fmt in sorted(scopes):
        on = _on(scopes[fmt])
        by_rules.setdefault(on, []).append(fmt)
        blocks = scopes[fmt].get("trailing_block", True) or scopes[fmt].get("leading_block", True)
        if blocks and scopes[fmt].get("min_chrome_lines") is not None:
            by_need.setdefault(md_text(scopes[fmt]["min_chrome_lines"]), []).append(fmt)
    folders = [f for f in rules.get("folders") or [] if isinstance(f, dict)]
    if len(by_rules) == 1:
        (on,) = by_rules
        parts = [", ".join(on)] if on else []
    else:
        parts = [f"in {_formats(names)}: {', '.join(on) or 'none'}"
                 for on, names in by_rules.items()]
    if not any(by_rules) and not folders:
        step = "no boilerplate removed"
    else:
        step = ("page boilerplate removed, a block only on evidence (chrome phrases, navigation "
                "words), never code, headings or manual pages: " + "; ".join(parts))
        needs = [need + (" chrome or navigation line" + ("" if need == "1" else "s")
                         if n == 0 else "") + ("" if "" in names else f" in {_formats(names)}")
                 for n, (need, names) in enumerate(by_need.items())]
        if needs:
            step += "; a block needed " + ", ".join(needs)
    for folder in folders:
        changes = ", ".join(
            (f"{_RULES[k]} {'on' if v else 'off'}" if k in _RULES else f"{md_code(k)} {md_text(v)}")
            for k, v in sorted(folder.items()) if k != "glob")
        step += f"; in sources matching {md_code(folder.get('glob', ''))}: {changes or 'the same'}"
    pii = [kind for kind in ("email", "phone", "ip") if tq.get("pii", {}).get(kind)]
    if pii:
        names = {"email": "e-mail addresses", "phone": "phone numbers", "ip": "IP addresses"}
        step += "; " + ", ".join(names[k] for k in pii) + " replaced with placeholders"
    return step


def _dedup_step(tq: dict[str, Any]) -> str:
    near = tq.get("near_dedup", {})
    step = "exact duplicates (same text) dropped, keeping the smallest id"
    if not near.get("enabled", True):
        return step
    what = ("marked with the id of the kept document in `cluster`" if near.get("keep")
            else "dropped")
    return (f"{step}; near duplicates (MinHash over word "
            f"{md_text(near.get('shingle_words', 5))}-grams, estimated Jaccard similarity of at "
            f"least {md_text(near.get('threshold', 0.8))} with a kept document of smaller id) "
            f"{what}")


def _filters(tq: dict[str, Any]) -> str:
    return ", ".join(f"{md_code(k)} {md_text(v)}" for k, v in sorted(tq.get("quality", {}).items())
                     if k.startswith(("min_", "max_")))


def _sample_words(options: dict[str, Any]) -> str:
    chars = options.get("language_sample_chars")
    if chars == 0:
        return "document's whole text"
    return f"{md_text(chars)}-character sample" if chars else "sample of each document"


def _block(name: str, body: str) -> str:
    return f"<!-- corpuspack:begin {name} -->\n{body.rstrip()}\n<!-- corpuspack:end {name} -->\n"


def merge(existing: str | None, sections: dict[str, str]) -> str:
    """Put generated sections into a card, keeping everything outside the markers.

    A block is a begin marker line, the generated text and the matching end marker line;
    markers anywhere else in a line are text. A card without blocks (written before
    corpuspack) is kept whole under "Notes", with any marker-like line there defused
    (``<`` as ``&lt;``) so that it can never start or end a block later."""
    if existing is None or not _BLOCK.search(existing):
        parts = []
        for name in SECTIONS:
            heading, handwritten = _TEMPLATE[name]
            if handwritten:
                parts.append(handwritten)
            parts.append((heading + "\n\n" if heading else "") + _block(name, sections[name]))
        if existing and existing.strip():  # a card written before corpuspack: keep it all
            notes = re.sub(r"\A# .*\n+", "", existing.strip() + "\n")
            notes = _MARKER_LINE.sub(r"\1&lt;\2", notes)
            parts.insert(1, "## Notes\n\n" + notes)
        return "\n".join(parts)
    seen = set()

    def replace(match: re.Match[str]) -> str:
        seen.add(match.group(1))
        return _block(match.group(1), sections.get(match.group(1), ""))

    text = _BLOCK.sub(replace, existing)
    for name in SECTIONS:
        if name not in seen:
            heading = _TEMPLATE[name][0]
            text = text.rstrip("\n") + "\n\n" + (heading + "\n\n" if heading else "") + _block(
                name, sections[name])
    return text


@dataclass
class Card:
    """A rendered card and its plots."""

    text: str
    images: dict[str, bytes]


_REPORT_COUNTS = ("files_seen", "files_skipped", "records_skipped", "duplicates_dropped",
                  "near_duplicates_dropped", "documents_filtered", "repaired_mojibake")
_REPORT_TABLES = ("skipped_by_reason", "filtered_by_reason", "pii_redacted", "notes")


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_report(package: Package) -> dict[str, Any]:
    """The build report the descriptor names (``corpuspack.report``), as far as the card
    uses it; {} when there is none.

    Raises CorpusError (one line) when the path is unsafe (outside the package, a link out,
    a FIFO), the file is larger than MAX_REPORT_BYTES, or it is not a JSON object whose
    fields the card uses have the types a build writes."""
    rel = package.descriptor.get("corpuspack", {}).get("report")
    if not rel or not package.exists(rel):
        return {}
    what = "build report"
    report = parse_json(package.read(rel, MAX_REPORT_BYTES, what), f"{package.label}: {what}")
    if not isinstance(report, dict):
        raise UsageError(f"{package.label}: {what} is not a JSON object")
    bad = [k for k in _REPORT_COUNTS if k in report and not _is_count(report[k])]
    bad += [k for k in _REPORT_TABLES if k in report and not (
        isinstance(report[k], dict) and all(_is_count(v) for v in report[k].values()))]
    rules = report.get("boilerplate_removed", {})
    if not (isinstance(rules, dict) and all(
            isinstance(v, dict) and all(_is_count(n) for n in v.values())
            for v in rules.values())):
        bad.append("boilerplate_removed")
    if bad:
        raise UsageError(f"{package.label}: {what} field {bad[0]} is not what a build writes")
    return report


def render(package: Package, existing: str | None, plots_rel: str = "card",
           loader: str = "path/to/release", layout: tuple[Any, dict[str, Any]] | None = None,
           split_layout: Any = None) -> Card:
    """Render the data card of ``package``, keeping the hand-written parts of ``existing``.

    ``layout``: a release's :class:`corpuspack.splits.Layout` and its counts
    (:func:`corpuspack.publish.layout_statistics`); with held-out splits or subsets the
    statistics gain their documents and words per split and per config, and the loading
    example names them. ``split_layout``: a Layout whose counts are made from the package's
    documents (the data card of a corpus whose config has ``[splits]`` or ``[subsets]``).

    Raises CorpusError (one line) when the package's documents or build report cannot be
    read (see :func:`read_report` and :meth:`corpuspack.reader.Package.iter_documents`)."""
    release = layout is not None
    active = split_layout is not None and (split_layout.splits.active or split_layout.subsets.by)
    prof = profile(package, split_layout if active and not release else None)
    if active and not release:
        layout = (split_layout, _layout_counts(split_layout, prof.parts))
    report = read_report(package)
    sections = _sections(package, prof, report, plots_rel, loader)
    if layout is not None and (layout[0].splits.active or layout[0].subsets.by):
        sections["statistics"] = _split_statistics(layout[0], layout[1]) + "\n" \
            + sections["statistics"]
        if release:  # a corpus repository's own shards load as one train split
            sections["loading"] += _split_loading(layout[0], layout[1], loader)
    text = merge(existing, sections)
    return Card(text, plots(package.statistics, prof))


def _split_statistics(layout: Any, counts: dict[str, Any]) -> str:
    """The card's table of documents and words per split, and per config and split."""
    how = {"hash": "by a hash of each document's id (a document keeps its split from "
                   "version to version)",
           "folder": "by the source folders of the documents"}.get(
        layout.splits.by, f"by the documents' `{md_text(layout.splits.by)}`")
    text = f"Splits of the release, assigned {how}:\n\n" + _table(
        [(md_code(split), _fmt(c["documents"]), _fmt(c["words"]))
         for split, c in counts["splits"].items()], ("split", "documents", "words"))
    if len(counts["configs"]) > 1:
        by = " and ".join(md_text(k) for k in layout.subsets.by)
        text += (f"\nSubsets (configs) by {by}; `default` holds every document:\n\n"
                 + _table([(md_code(name), md_code(split), _fmt(c["documents"]),
                            _fmt(c["words"]))
                           for name, splits in counts["configs"].items()
                           for split, c in splits.items()],
                          ("config", "split", "documents", "words")))
    return text


def _split_loading(layout: Any, counts: dict[str, Any], loader: str) -> str:
    quoted = visible(orjson.dumps(loader).decode())
    held_out = [s for s in counts["splits"] if s != "train"]
    configs = [c for c in counts["configs"] if c != "default"]
    lines = ["", "Splits and subsets:", "", "```python"]
    for split in held_out[:2]:
        lines.append(f"ds = load_dataset({quoted}, split={visible(orjson.dumps(split).decode())})")
    if configs:
        name = visible(orjson.dumps(configs[0]).decode())
        lines.append(f"ds = load_dataset({quoted}, {name})   # one subset, every split")
    lines += ["```", ""]
    return "\n".join(lines)


def _read_card(path: Path, root: Path) -> str | None:
    """The card on disk (None when absent): inside ``root``, a regular file, at most
    MAX_CARD_BYTES, UTF-8 (UsageError otherwise)."""
    if not os.path.lexists(path):
        return None
    data = read_bytes(path, root=root, max_bytes=MAX_CARD_BYTES, what="data card")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text: not rewriting it") from None


def _plots_dir(plots_dir: Path, root: Path) -> None:
    """Create the plots folder inside ``root`` (UnsafeFile when it, or the nearest folder
    that exists above it, leads outside ``root``)."""
    existing = plots_dir
    while not os.path.lexists(existing) and existing.parent != existing:
        existing = existing.parent
    if not is_within(existing, root):
        raise UnsafeFile(plots_dir, f"lies outside {root} (through a symbolic link)")
    plots_dir.mkdir(parents=True, exist_ok=True)


def write(card: Card, path: Path, plots_dir: Path, root: Path | None = None) -> None:
    """Write the card and its plots, atomically and never through a symbolic link
    (:func:`corpuspack.safefs.replace_file`), inside ``root`` (default: the card's folder).

    Raises UnsafeFile (one line; the link's target untouched) for a card or plot that is a
    link or not a regular file, or a plots folder outside ``root``."""
    root = root if root is not None else path.parent
    _plots_dir(plots_dir, root)
    for name, data in card.images.items():
        replace_file(plots_dir / name, data, root=root)
    replace_file(path, card.text.encode("utf-8"), root=root)


def stale(card: Card, path: Path, plots_dir: Path, root: Path | None = None) -> list[str]:
    """What differs between a rendered card and the files on disk (plots: only presence)."""
    root = root if root is not None else path.parent
    out = []
    if _read_card(path, root) != card.text:
        out.append(str(path))
    out += [str(plots_dir / n) for n in card.images if not (plots_dir / n).is_file()]
    return out


def repository_yaml(project: Project) -> bytes | None:
    """The ``.huggingface.yaml`` that lets ``datasets.load_dataset`` load the project's
    folder (see :func:`corpuspack.hub.repository_metadata`); None for a release folder or a
    package read from git."""
    import yaml

    from corpuspack.hub import files_digest, repository_metadata

    folder = project.package.folder
    if folder is None or project.package.is_release or project.root is None:
        return None
    globs = sorted({os.path.relpath(folder / f.path, project.root).replace(os.sep, "/")
                    .rsplit("/", 1)[0] + "/documents-*." + f.path.split(".", 1)[1]
                    for f in project.package.data_files})
    digest = files_digest([(str(r.get("path")), str(r.get("hash")))
                           for r in project.package.resources()])
    text = yaml.safe_dump(repository_metadata(globs, digest), sort_keys=False,
                          allow_unicode=True)
    return YAML_HEADER + (": lets datasets.load_dataset load this repository's corpus.\n"
                          + text).encode()


def update(project: Project, check: bool = False) -> list[str]:
    """Regenerate a project's data card, its plots and ``.huggingface.yaml``
    (:func:`repository_yaml`); with ``check`` only list what is stale.

    Reads and writes only inside the project's root (:attr:`Project.root`); raises
    CorpusError (one line) for anything refused."""
    from corpuspack.hub import REPO_YAML
    from corpuspack.publish import config_of
    from corpuspack.splits import Layout

    root = project.root or project.card.parent
    existing = _read_card(project.card, root)
    config = config_of(project) if not project.package.is_release else None
    card = render(project.package, existing, plots_rel=project.plots_rel,
                  loader=project.hub_repo or _loader(project),
                  split_layout=Layout(config.splits, config.subsets) if config else None)
    loading = repository_yaml(project)
    yaml_path = root / REPO_YAML
    if check:
        out = stale(card, project.card, project.plots, root)
        if loading is not None and (not os.path.lexists(yaml_path) or read_bytes(
                yaml_path, root=root, max_bytes=MAX_CARD_BYTES, what=REPO_YAML) != loading):
            out.append(str(yaml_path))
        return out
    if loading is not None:
        _check_yaml_is_ours(yaml_path, root)
    write(card, project.card, project.plots, root)
    if loading is not None:
        replace_file(yaml_path, loading, root=root)
    return []


YAML_HEADER = b"# Written by 'corpuspack card'"


def _check_yaml_is_ours(path: Path, root: Path) -> None:
    """Refuse (UsageError) to replace a ``.huggingface.yaml`` corpuspack did not write."""
    if not os.path.lexists(path):
        return
    existing = read_bytes(path, root=root, max_bytes=MAX_CARD_BYTES, what=path.name)
    if not existing.startswith(YAML_HEADER):
        raise UsageError(f"{path} was not written by corpuspack: not replacing it (move it "
                         "away, or merge its keys by hand after 'corpuspack card' writes its "
                         "own)")


def _loader(project: Project) -> str:
    """What the card's loading example passes to load_dataset when there is no Hub repository:
    the repository's own folder, when it can be loaded as one."""
    return "path/to/this/repository" if repository_yaml(project) is not None \
        else "path/to/release"
