"""Corpus statistics, computed the same way by the build and by validation.

Statistics are additive: workers count their documents, the counts are summed, and the
documents a corpus-wide pass drops (duplicates) are subtracted again. Dates are counted per
day, so that the date range stays exact after a subtraction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CorpusStats:
    """Counts over the documents of a corpus."""

    documents: int = 0
    chars: int = 0
    words: int = 0
    text_bytes: int = 0
    languages: Counter[str] = field(default_factory=Counter)
    formats: Counter[str] = field(default_factory=Counter)
    encodings: Counter[str] = field(default_factory=Counter)
    licenses: Counter[str] = field(default_factory=Counter)
    dates: Counter[str] = field(default_factory=Counter)

    def add(self, doc: Mapping[str, Any], sign: int = 1) -> None:
        """Count one document (its columns by name); ``sign=-1`` takes it away again."""
        self.documents += sign
        self.chars += sign * doc["n_chars"]
        self.words += sign * doc["n_words"]
        self.text_bytes += sign * len(doc["text"].encode("utf-8"))
        for counter, key, missing in ((self.languages, "language", "unknown"),
                                      (self.formats, "format", "unknown"),
                                      (self.encodings, "encoding", "unknown"),
                                      (self.licenses, "license", "unspecified")):
            counter[doc.get(key) or missing] += sign
        if doc.get("date"):
            self.dates[doc["date"]] += sign

    def update(self, other: CorpusStats) -> None:
        """Add the counts of another CorpusStats."""
        self.documents += other.documents
        self.chars += other.chars
        self.words += other.words
        self.text_bytes += other.text_bytes
        for mine, theirs in ((self.languages, other.languages), (self.formats, other.formats),
                             (self.encodings, other.encodings), (self.licenses, other.licenses),
                             (self.dates, other.dates)):
            mine.update(theirs)

    def to_dict(self) -> dict[str, Any]:
        """Plain, deterministically ordered statistics for datapackage.json."""
        def ranked(counter: Counter[str]) -> dict[str, int]:
            kept = ((k, v) for k, v in counter.items() if v > 0)
            return dict(sorted(kept, key=lambda kv: (-kv[1], kv[0])))

        dates = [d for d, n in self.dates.items() if n > 0]
        return {
            "documents": self.documents,
            "words": self.words,
            "chars": self.chars,
            "text_bytes": self.text_bytes,
            "languages": ranked(self.languages),
            "formats": ranked(self.formats),
            "encodings": ranked(self.encodings),
            "licenses": ranked(self.licenses),
            "date_min": min(dates) if dates else None,
            "date_max": max(dates) if dates else None,
        }
