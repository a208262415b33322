"""Corpus statistics, computed the same way by the build and by validation."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class CorpusStats:
    """Counts over the documents of a corpus, fed one parsed document at a time."""

    documents: int = 0
    chars: int = 0
    words: int = 0
    text_bytes: int = 0
    languages: Counter[str] = field(default_factory=Counter)
    formats: Counter[str] = field(default_factory=Counter)
    encodings: Counter[str] = field(default_factory=Counter)
    licenses: Counter[str] = field(default_factory=Counter)
    date_min: str | None = None
    date_max: str | None = None

    def add(self, doc: dict[str, Any], text_bytes: int | None = None) -> None:
        """Count one document (a parsed JSON line)."""
        self.documents += 1
        self.chars += doc["n_chars"]
        self.words += doc["n_words"]
        self.text_bytes += text_bytes if text_bytes is not None else len(doc["text"].encode())
        self.languages[doc.get("language") or "unknown"] += 1
        self.formats[doc["format"]] += 1
        self.encodings[doc["encoding"]] += 1
        self.licenses[doc.get("license") or "unspecified"] += 1
        date = doc.get("date")
        if date:
            if self.date_min is None or date < self.date_min:
                self.date_min = date
            if self.date_max is None or date > self.date_max:
                self.date_max = date

    def to_dict(self) -> dict[str, Any]:
        """Plain, deterministically ordered statistics for datapackage.json."""
        def ranked(counter: Counter[str]) -> dict[str, int]:
            return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))

        return {
            "documents": self.documents,
            "words": self.words,
            "chars": self.chars,
            "text_bytes": self.text_bytes,
            "languages": ranked(self.languages),
            "formats": ranked(self.formats),
            "encodings": ranked(self.encodings),
            "licenses": ranked(self.licenses),
            "date_min": self.date_min,
            "date_max": self.date_max,
        }
