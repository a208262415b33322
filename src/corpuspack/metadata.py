"""Per-document metadata: key names, value clean-up and the order in which layers win.

Metadata reaches a document in layers, each overriding the one before:
config ``defaults`` < what the source says about itself (HTML head, Markdown front matter,
JSONL keys) < folder manifests < the file's sidecar. Keys naming a column (title, url, date,
author, publisher, language, license, or one of their aliases) fill that column; every other
key is kept in the document's ``meta`` object, except the keys corpuspack writes there
itself (:data:`RESERVED_META`): a value given under one of them is kept as ``<key>_given``.

Licence values must be SPDX licence ids or expressions, ``LicenseRef-…``, ``NOASSERTION`` or
``NONE`` (see :mod:`corpuspack.licenses`). A document's sources are untrusted, so a bad
value never fails a build: case and spacing are corrected (``mit`` -> ``MIT``), and any
other value becomes ``NOASSERTION`` with the value as given kept in ``meta["license_raw"]``.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from typing import Any

import orjson

from corpuspack.document import LANGUAGE_PATTERN
from corpuspack.licenses import NOASSERTION, canonical

COLUMN_KEYS = ("title", "url", "date", "author", "publisher", "language", "license")
ALIASES = {
    "licence": "license", "licenses": "license", "licences": "license",
    "lang": "language", "languages": "language",
    "published": "date", "date_published": "date", "datepublished": "date",
    "published_at": "date", "publication_date": "date", "pubdate": "date",
    "link": "url", "source_url": "url", "canonical_url": "url", "canonical": "url",
    "site": "publisher", "site_name": "publisher", "sitename": "publisher",
    "authors": "author", "creator": "author", "headline": "title",
}
# corpuspack's own records in a document's ``meta``: values set aside (merge_layers), how
# the bytes were decoded (the pipeline) and why HTML extraction fell back (the HTML reader)
RESERVED_META = ("date_raw", "language_raw", "license_raw", "decoding", "extraction")
_LANGUAGE = re.compile(LANGUAGE_PATTERN)
_SPACES = re.compile(r"\s+")
_TIME_AFTER_DATE = re.compile(r"[Tt ][0-9:.+\-Z ]*$")
_WITHDRAWN = {"mo": "ro"}  # Moldavian: withdrawn in 2008 for Romanian (the model has no "mo")
# ISO 639-2 codes withdrawn for the codes of their languages (Moldavian, Serbian, Croatian)
_RETIRED_639_2 = {"mol": "ron", "scc": "srp", "scr": "hrv"}


def clean_inline(value: Any) -> str | None:
    """A one-line string for a column: lists joined with '; ', a mapping as JSON, true and
    false as written in JSON and YAML (not Python's ``True``), white space collapsed."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        parts = [clean_inline(v) for v in value]
        value = "; ".join(p for p in parts if p)
    elif isinstance(value, bool):
        value = "true" if value else "false"
    elif isinstance(value, dict):
        value = orjson.dumps(jsonable(value)).decode()
    text = _SPACES.sub(" ", str(value)).strip()
    return text or None


def date_said_more(value: Any) -> bool:
    """Whether a date value says more than its date and a time: a range ("2024-03-01/
    2024-03-05"), a qualifier ("2024-03-01 or thereabouts"): kept whole in ``date_raw``
    beside the date."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    return len(text) > 10 and _TIME_AFTER_DATE.match(text, 10) is None


def normalise_date(value: Any) -> str | None:
    """An ISO 8601 calendar date (YYYY-MM-DD) from a date, datetime or ISO string, else None."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text[10:11].isdigit():  # "2024-03-0199" is no date
        try:
            return dt.date.fromisoformat(text[:10]).isoformat()
        except ValueError:
            pass
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).date().isoformat()
    except ValueError:
        return None


def normalise_language(value: Any) -> str | None:
    """The ISO 639 code of a language tag ('en-GB' -> 'en'), or None when it names no
    language. A tag of several subtags is read by langcodes (BCP 47, its registry's
    preferred values: the extended language of 'zh-yue' -> 'yue', 'zh-min-nan' -> 'nan',
    'i-klingon' -> 'tlh', 'zh-cmn-Hans' -> 'zh'); its language, or a single code, is then
    the ISO 639-1 code where the language has one ('eng', 'ger' and
    'deu' -> 'de', as BCP 47 and the ``language`` column want), else its ISO 639-3 code
    ('gsw'); withdrawn codes become their successors ('iw' -> 'he', 'sh' -> 'hbs', 'mo' and
    'mol' -> 'ro'). Codes come from pycountry's ISO 639 tables: a two-letter code they do not
    hold ('xx') is None, and the caller keeps the raw value; a three-letter one (a family,
    local use, a code newer or older than the tables) is kept as written.
    """
    if not isinstance(value, str):
        return None
    tag = value.strip().lower().replace("_", "-")
    code = _bcp47_language(tag) if "-" in tag else tag
    return _iso_639(code) if _LANGUAGE.match(code) else None


@lru_cache(maxsize=1024)
def _bcp47_language(tag: str) -> str:
    """The language subtag langcodes gives a tag (its primary subtag when langcodes refuses
    the tag, or for a withdrawn code, which :func:`_iso_639` maps: 'sh-...' -> 'hbs')."""
    import langcodes

    from corpuspack.language import WITHDRAWN_639_1

    primary = tag.split("-")[0]
    if primary in WITHDRAWN_639_1:
        return primary
    try:
        return langcodes.Language.get(tag).language or primary
    except (langcodes.LanguageTagError, ValueError):
        return primary


@lru_cache(maxsize=1024)
def _iso_639(code: str) -> str | None:
    import pycountry

    from corpuspack.language import ISO_OF_LABEL, WITHDRAWN_639_1

    if code in WITHDRAWN_639_1:
        return _WITHDRAWN.get(code) or ISO_OF_LABEL[code]
    if len(code) == 2:
        return code if pycountry.languages.get(alpha_2=code) is not None else None
    code = _RETIRED_639_2.get(code, code)
    found = (pycountry.languages.get(alpha_3=code)
             or pycountry.languages.get(bibliographic=code))
    if found is None:
        # a code of a family (ber), of local use (qaa-qtz), or one pycountry's tables lack
        # (ajp, retired into apc in 2023): a three-letter code as the source wrote it
        return code
    two = getattr(found, "alpha_2", None)
    return two if two and two not in WITHDRAWN_639_1 else str(found.alpha_3)


def normalise_license(value: Any) -> tuple[str | None, bool]:
    """(licence column, whether the value fitted it) for a licence value from a document.

    An SPDX licence id or expression, ``LicenseRef-…``, ``NOASSERTION`` or ``NONE`` (case
    and spacing corrected, ``'mit'`` -> ``('MIT', True)``; an empty value -> ``(None,
    True)``); anything else -> ``('NOASSERTION', False)``: the caller keeps the raw value.
    """
    text = clean_inline(value)
    if text is None:
        return None, True
    fixed = canonical(text)
    return (fixed, True) if fixed is not None else (NOASSERTION, False)


def jsonable(value: Any) -> Any:
    """Make YAML values (dates, tuples, odd keys) JSON-serialisable, recursively."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def canonical_key(key: str) -> str:
    """The column a metadata key fills, or the key itself when it fills none."""
    lower = key.strip().lower()
    return ALIASES.get(lower, lower) if (lower in ALIASES or lower in COLUMN_KEYS) else key


def given_key(key: str, taken: dict[str, Any]) -> str:
    """Where a source's value of the reserved ``meta`` key ``key`` is kept:
    ``<key>_given``, with ``_given`` added again while that is a key of ``taken``."""
    out = key + "_given"
    while out in taken:
        out += "_given"
    return out


def _canonical_first(item: tuple[str, Any]) -> tuple[bool, bool]:
    """Sort key: in one layer a value comes before an empty one, and the key that is a
    column's own name ("license") before its aliases and other spellings ("licence",
    "License"); otherwise the layer's order."""
    return _blank(item[1]), item[0] not in COLUMN_KEYS


def _blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def merge_layers(*layers: dict[str, Any]
                 ) -> tuple[dict[str, Any], dict[str, Any], list[str], list[tuple[str, str]]]:
    """Merge metadata layers (later wins) into (column values, extra ``meta``, the keys of
    ``meta`` holding values set aside, the (reserved key, key it was moved to) of values
    given under a reserved key).

    Raw values that do not fit their column (a date that is not ISO 8601, a language that is
    not a code, a licence that is not SPDX) are kept in ``meta`` under ``<column>_raw``
    rather than lost; such a licence becomes ``NOASSERTION`` (see :func:`normalise_license`).
    The keys of :data:`RESERVED_META` are corpuspack's own records: a layer's value under
    one of them is kept under ``<key>_given`` (:func:`given_key`), never lost and never
    taken for corpuspack's. A layer that names one column twice (``license`` and
    ``licence``, ``title`` and ``Title``) fills it with the column's own name, else with the
    first key; another value is kept in ``meta`` under its key as written.
    """
    merged: dict[str, Any] = {}
    aside: dict[str, Any] = {}  # a layer's other values for a column it names twice
    for layer in layers:
        named: dict[str, str] = {}  # column -> the key of this layer that fills it
        for key, value in sorted(layer.items(), key=_canonical_first):
            if value is None:
                continue
            column = canonical_key(key)
            if column != key or column in COLUMN_KEYS:
                if column in named:
                    if not _blank(value) and jsonable(value) != jsonable(merged[column]):
                        aside[key] = value
                    continue
                named[column] = key
            merged[column] = value
    moved: list[tuple[str, str]] = []
    for key in RESERVED_META:
        if key in merged:
            value = merged.pop(key)
            new = given_key(key, merged)
            merged[new] = value
            moved.append((key, new))
    columns: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    for key, value in merged.items():
        if key == "date":
            columns["date"] = normalise_date(value)
            if (columns["date"] is None and not _blank(value)) or date_said_more(value):
                raw["date_raw"] = jsonable(value)
        elif key == "language":  # (a blank one declares nothing: the identifier's is taken)
            columns["language"] = normalise_language(value)
            if columns["language"] is None and not _blank(value):
                raw["language_raw"] = jsonable(value)
        elif key == "license":
            columns["license"], fits = normalise_license(value)
            if not fits:
                raw["license_raw"] = jsonable(value)
        elif key in COLUMN_KEYS:
            columns[key] = clean_inline(value)
        else:
            extra[key] = jsonable(value)
    extra.update(raw)  # a source's own "date_raw" was moved to "date_raw_given"
    for key, value in aside.items():
        extra.setdefault(key, jsonable(value))
    return columns, dict(sorted(extra.items())), sorted(raw), moved
