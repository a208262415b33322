"""Licence values: SPDX licence ids and expressions, checked against the SPDX licence list.

A licence value is valid when it is one of

- an SPDX licence expression (SPDX specification 2.3, Annex D; 3.0, "SPDX License
  Expressions"): current SPDX licence ids, optionally with ``+``, joined by ``AND`` and
  ``OR``, a licence followed by ``WITH`` and an SPDX exception id, and parentheses, such as
  ``CC-BY-4.0``, ``MIT OR Apache-2.0``,
  ``GPL-2.0-or-later WITH Classpath-exception-2.0``;
- a user-defined reference, ``LicenseRef-<idstring>`` (also ``DocumentRef-<idstring>:``
  before it, and ``AdditionRef-<idstring>`` after ``WITH``), where an idstring is letters,
  digits, ``.`` and ``-``; these may appear inside expressions;
- ``NOASSERTION`` or ``NONE`` alone (SPDX: no licence stated, or none applies).

The ids come from the SPDX licence list bundled with ``license-expression`` (ScanCode's
licence index: each licence's SPDX id, whether it is an exception, and its other SPDX ids).
Ids match without regard to case, as SPDX says; the canonical form writes them as the list
does, operators in upper case and single spaces between tokens.

Deprecated SPDX ids (``GPL-2.0``, ``LGPL-2.1+``, ``wxWindows``) and the other names the
list gives a licence (``BSD-2``) are not accepted: SPDX deprecated them because their
meaning was ambiguous. :func:`suggest` names their replacement (``GPL-2.0`` ->
``GPL-2.0-only``; the message of :func:`check_license` names the ``-or-later`` twin too).

API: :func:`canonical` (the canonical form or None; cheap and cached, for per-document
values), :func:`check_license` (the canonical form, or :class:`LicenseError` with a
suggestion), :func:`suggest` (the nearest valid value of a near miss).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from functools import cache, lru_cache

NOASSERTION = "NOASSERTION"
SPECIAL = ("NOASSERTION", "NONE")
MAX_CHARS = 1000  # longer values are not licence expressions (and are not parsed)
MAX_DEPTH = 32  # parentheses nested deeper than this are refused
_TOKEN = re.compile(r"\(|\)|[^\s()]+")
_IDSTRING = r"[A-Za-z0-9.\-]+"
_REF = re.compile(rf"^(?:(?i:documentref-)({_IDSTRING}):)?(?i:licenseref-)({_IDSTRING})$")
_ADDITION = re.compile(rf"^(?:(?i:documentref-)({_IDSTRING}):)?(?i:additionref-)({_IDSTRING})$")
_OPERATORS = ("AND", "OR", "WITH")
_SEGMENTS = re.compile(r"(\(|\)|\s+(?:and|or|with)\s+)", re.IGNORECASE)


class LicenseError(ValueError):
    """A value that is not a valid licence; ``suggestion`` is the nearest valid one, if any."""

    def __init__(self, message: str, suggestion: str | None) -> None:
        super().__init__(message)
        self.suggestion = suggestion


@dataclass(frozen=True)
class _Tables:
    licenses: dict[str, str]  # lower-case id -> SPDX id
    exceptions: dict[str, str]
    replaced: dict[str, str]  # lower-case old id or other name -> current SPDX id
    deprecated: frozenset[str]  # lower-case deprecated ids without a replacement
    keys: dict[str, str]  # loose key (see _key) -> SPDX id, unambiguous keys only
    exception_keys: dict[str, str]


def _key(text: str) -> str:
    """A loose form of a licence name for near misses: case, spaces, dashes, dots, the words
    'license'/'licence' and 'v'/'version' before a number, and '.0' ending a version are
    ignored ('Apache License, Version 2.0', 'apache 2', 'Apache-2.0' -> 'apache2')."""
    text = text.casefold()
    text = re.sub(r"\blicen[cs]ed?\b", " ", text)
    text = re.sub(r"(?:version|ver\.?|v)\s*(?=\d)", " ", text)
    text = re.sub(r"(\d)\.0(?![\d.])", r"\1", text)
    return re.sub(r"[^a-z0-9+]", "", text)


@cache
def _tables() -> _Tables:
    """The SPDX licence list, read once from license-expression's bundled index."""
    from license_expression import get_license_index

    licenses: dict[str, str] = {}
    exceptions: dict[str, str] = {}
    replaced: dict[str, str] = {}
    deprecated: set[str] = set()
    for entry in get_license_index():
        spdx = entry.get("spdx_license_key")
        if not spdx or spdx.startswith("LicenseRef-"):
            continue
        if entry.get("is_deprecated"):
            deprecated.add(spdx.lower())
            continue
        (exceptions if entry.get("is_exception") else licenses)[spdx.lower()] = spdx
        for other in entry.get("other_spdx_license_keys") or ():
            if not other.startswith("LicenseRef-"):
                replaced.setdefault(other.lower(), spdx)
    for name in list(replaced):
        if name in licenses or name in exceptions:
            del replaced[name]
    return _Tables(licenses, exceptions, replaced, frozenset(deprecated - licenses.keys()),
                   _loose({**replaced, **licenses}, licenses),
                   _loose(exceptions, exceptions))


def _loose(names: dict[str, str], preferred: dict[str, str]) -> dict[str, str]:
    """Loose keys of ``names`` (lower-case name -> id); a key two ids share is left out,
    unless exactly one of them is in ``preferred``."""
    found: dict[str, set[str]] = {}
    for name, spdx in names.items():
        found.setdefault(_key(name), set()).add(spdx)
    keys = {}
    for key, ids in found.items():
        best = ids if len(ids) == 1 else {i for i in ids if i.lower() in preferred}
        if len(best) == 1:
            keys[key] = next(iter(best))
    return keys


class _Invalid(Exception):
    pass


def _parse(value: str) -> str:
    """The canonical form of a licence expression, or :class:`_Invalid` with the reason."""
    if len(value) > MAX_CHARS:
        raise _Invalid(f"longer than {MAX_CHARS} characters")
    if value.strip().upper() in SPECIAL:
        return value.strip().upper()
    tokens = _TOKEN.findall(value)
    if not tokens:
        raise _Invalid("empty")
    tables = _tables()
    out: list[str] = []
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise _Invalid("a licence id is missing at the end")
        pos += 1
        return tokens[pos - 1]

    def simple() -> None:
        token = take()
        if token in "()" or token.upper() in _OPERATORS:
            raise _Invalid(f"'{token}' where a licence id belongs")
        ref = _REF.match(token)
        if ref:
            doc, idstring = ref.groups()
            out.append((f"DocumentRef-{doc}:" if doc else "") + f"LicenseRef-{idstring}")
            return
        plus = token.endswith("+")
        name = token[:-1] if plus else token
        spdx = tables.licenses.get(name.lower())
        if spdx is None:
            if name.lower() in tables.exceptions:
                raise _Invalid(f"'{name}' is an exception: it goes after a licence and WITH")
            if name.lower() in tables.replaced or name.lower() in tables.deprecated:
                raise _Invalid(f"'{token}' is deprecated or not an SPDX id")
            raise _Invalid(f"unknown licence id '{token}'")
        out.append(spdx + ("+" if plus else ""))

    def primary(depth: int) -> None:
        if peek() == "(":
            if depth >= MAX_DEPTH:
                raise _Invalid(f"parentheses nested deeper than {MAX_DEPTH}")
            out.append(take())
            expression(depth + 1)
            if peek() != ")":
                raise _Invalid("a '(' without its ')'")
            out.append(take())
            return
        simple()
        if (peek() or "").upper() == "WITH":
            take()
            out.append("WITH")
            token = take()
            addition = _ADDITION.match(token)
            if addition:
                doc, idstring = addition.groups()
                out.append((f"DocumentRef-{doc}:" if doc else "") + f"AdditionRef-{idstring}")
                return
            exception = tables.exceptions.get(token.lower())
            if exception is None:
                raise _Invalid(f"unknown exception id '{token}' after WITH")
            out.append(exception)

    def expression(depth: int) -> None:
        primary(depth)
        while (peek() or "").upper() in ("AND", "OR"):
            out.append(take().upper())
            primary(depth)

    expression(0)
    if pos < len(tokens):
        raise _Invalid(f"'{tokens[pos]}' where AND, OR or the end belongs")
    text = " ".join(out)
    return text.replace("( ", "(").replace(" )", ")")


@lru_cache(maxsize=4096)
def canonical(value: str) -> str | None:
    """The canonical form of a valid licence value (``'mit or apache-2.0'`` ->
    ``'MIT OR Apache-2.0'``), or None when it is not valid (see the module docstring).

    Only case and spacing are corrected; an old or misspelt id gives None.
    """
    if not isinstance(value, str):
        return None
    try:
        return _parse(value)
    except _Invalid:
        return None


def check_license(value: object) -> str:
    """The canonical form of a licence value, or :class:`LicenseError`.

    The error is one line naming the value, what is wrong and, for a near miss, the id
    meant: ``'CC BY 4.0' is not an SPDX licence id or expression (unknown licence id
    'CC'); did you mean CC-BY-4.0?``.
    """
    if not isinstance(value, str):
        raise LicenseError(f"licence {value!r} is not a string", None)
    try:
        return _parse(value)
    except _Invalid as exc:
        reason = str(exc)
    hint = suggest(value)
    shown = repr(value if len(value) <= 80 else value[:77] + "...")
    message = f"{shown} is not an SPDX licence id or expression ({reason})"
    if hint:
        twin = hint.replace("-only", "-or-later")
        also = f" or {twin}" if " " not in hint and twin != hint and canonical(twin) else ""
        message += f"; did you mean {hint}{also}?"
    else:
        message += "; see https://spdx.org/licenses/, or use LicenseRef-<name> or NOASSERTION"
    raise LicenseError(message, hint)


def suggest(value: str) -> str | None:
    """The valid licence value nearest to ``value``, or None when there is none or
    ``value`` is canonical already.

    Each part between operators and parentheses is matched on its own: ignoring case,
    spaces, dashes, dots, 'license', 'v'/'version' and a '.0' ending (``CC BY 4.0`` ->
    ``CC-BY-4.0``, ``apache 2.0`` -> ``Apache-2.0``, ``GPLv3`` -> ``GPL-3.0-only``), an old
    id replaced by its current one (``GPL-2.0`` -> ``GPL-2.0-only``), else the closest
    spelling of an id.
    """
    if not isinstance(value, str) or len(value) > MAX_CHARS:
        return None
    fixed = canonical(value)
    if fixed is not None:
        return fixed if fixed != value else None
    if value.strip().upper() in {"UNKNOWN", "UNSPECIFIED", "N/A", "NA"}:
        return NOASSERTION
    tables = _tables()
    parts: list[str] = []
    after_with = False
    for segment in _SEGMENTS.split(value):
        text = segment.strip()
        if not text:
            continue
        if text in "()":
            parts.append(text)
        elif text.upper() in _OPERATORS:
            parts.append(text.upper())
            after_with = text.upper() == "WITH"
        else:
            match = _nearest(text, tables, exception=after_with)
            if match is None:
                return None
            parts.append(match)
            after_with = False
    joined = " ".join(parts).replace("( ", "(").replace(" )", ")")
    fixed = canonical(joined)
    return fixed if fixed is not None and fixed != value else None


def _nearest(text: str, tables: _Tables, *, exception: bool) -> str | None:
    """The id nearest to one part of a licence value (see :func:`suggest`)."""
    names = tables.exceptions if exception else tables.licenses
    lower = text.lower()
    if lower in names:
        return names[lower]
    if _REF.match(text) or (exception and _ADDITION.match(text)):
        return text
    if not exception:
        plus = lower.endswith("+")
        if lower in tables.replaced:
            return tables.replaced[lower]
        if plus and lower[:-1] in tables.replaced:
            return tables.replaced[lower[:-1]] + "+"
    keys = tables.exception_keys if exception else tables.keys
    key = _key(text)
    if key in keys:
        return keys[key]
    close = difflib.get_close_matches(key, list(keys), n=1, cutoff=0.85)
    return keys[close[0]] if close else None
