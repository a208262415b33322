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
The grammar is parsed by ``license-expression`` too (a :class:`Licensing` knowing the
current ids, without their aliases); this module checks each id it finds. Length and
parenthesis depth are capped before the parser sees a value.

Ids match without regard to case, as SPDX says; the canonical form is license-expression's
rendering of the parsed tree with the ids as the list writes them: operators in upper case,
single spaces between tokens, and parentheses around each AND or OR group inside another
operator, written or implied by AND binding tighter than OR, and nowhere else
(``(MIT)`` -> ``MIT``, ``mit or isc and (0bsd)`` -> ``MIT OR (ISC AND 0BSD)``,
``MIT AND (ISC AND Zlib)`` stays). Until the parser was license-expression's, parentheses
were kept as written: which values are valid has not changed, but a config value (which
must be written canonically) with other parentheses is now refused with its canonical form.

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
from typing import Any

NOASSERTION = "NOASSERTION"
SPECIAL = ("NOASSERTION", "NONE")
MAX_CHARS = 1000  # longer values are not licence expressions (and are not parsed)
MAX_DEPTH = 32  # parentheses nested deeper than this are refused
_PARENS = re.compile(r"[()]")
_TRAILING_OPERATOR = re.compile(r"(?:^|[\s()])(?:and|or)\s*\Z", re.IGNORECASE)
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


@cache
def _licensing() -> Any:
    """license-expression's parser, knowing the current SPDX ids only: no aliases, so an old
    id or another name (``GPL-2.0``, ``gpl-2.0+``) is not silently mapped to a current one
    but comes back as an unknown symbol, and is refused by :func:`_license_id`."""
    from license_expression import LicenseSymbol, Licensing  # imported when first needed

    tables = _tables()
    symbols = [LicenseSymbol(spdx) for spdx in tables.licenses.values()]
    symbols += [LicenseSymbol(spdx, is_exception=True) for spdx in tables.exceptions.values()]
    return Licensing(symbols)


def _parse(value: str) -> str:
    """The canonical form of a licence expression, or :class:`_Invalid` with the reason.

    The grammar (AND, OR, WITH, parentheses, AND binding tighter than OR) is
    license-expression's (``simple=True``: ids are split at spaces, operators and
    parentheses, as SPDX ids hold none); this checks each id it found and renders the tree
    with the ids as the list writes them.
    """
    if len(value) > MAX_CHARS:
        raise _Invalid(f"longer than {MAX_CHARS} characters")
    if value.strip().upper() in SPECIAL:
        return value.strip().upper()
    _check_parentheses(value)
    if _TRAILING_OPERATOR.search(value):
        # boolean.py drops an AND or OR ending 'A AND B AND' and accepts 'A AND B'
        raise _Invalid("a licence id is missing at the end")
    from license_expression import ExpressionError, ExpressionParseError, LicenseWithExceptionSymbol

    licensing = _licensing()
    try:
        expression = licensing.parse(value, validate=False, strict=False, simple=True)
    except ExpressionParseError as exc:
        raise _Invalid(_reason(exc)) from None
    except ExpressionError as exc:  # e.g. 'OR requires two or more licenses' for 'MIT OR'
        raise _Invalid(" ".join(str(exc).split())) from None
    except IndexError:  # boolean.py on '()' (github.com/bastikr/boolean.py/issues/47)
        raise _Invalid("'()' with no licence id inside") from None
    except AssertionError:  # boolean.py on '(AND ...': a ParseError only under python -O
        raise _Invalid("AND or OR right after '('") from None
    if expression is None:
        raise _Invalid("empty")
    # every occurrence (unique=True would skip a second 'licenseref-x', an equal key but
    # another object, and leave it unspelt); a WITH pair whole, to check each side
    for symbol in licensing.license_symbols(expression, unique=False, decompose=False):
        if isinstance(symbol, LicenseWithExceptionSymbol):
            symbol.license_symbol.spdx = _license_id(symbol.license_symbol.key)
            symbol.exception_symbol.spdx = _exception_id(symbol.exception_symbol.key)
        else:
            symbol.spdx = _license_id(symbol.key)
    return str(expression.render("{symbol.spdx}"))


def _check_parentheses(value: str) -> None:
    """Refuse unbalanced parentheses, and nesting deeper than MAX_DEPTH before the parser
    sees it (its tree, and the functions walking it, are as deep as the nesting)."""
    depth = 0
    for paren in _PARENS.findall(value):
        depth += 1 if paren == "(" else -1
        if depth > MAX_DEPTH:
            raise _Invalid(f"parentheses nested deeper than {MAX_DEPTH}")
        if depth < 0:
            raise _Invalid("a ')' without its '('")
    if depth:
        raise _Invalid("a '(' without its ')'")


def _reason(exc: Any) -> str:
    """One line saying why license-expression refused an expression."""
    from license_expression import (
        PARSE_INVALID_EXPRESSION,
        PARSE_INVALID_NESTING,
        PARSE_INVALID_OPERATOR_SEQUENCE,
        PARSE_INVALID_SYMBOL_SEQUENCE,
    )

    token = " ".join(str(exc.token_string or "").split())
    code = exc.error_code
    if code == PARSE_INVALID_SYMBOL_SEQUENCE or (code == PARSE_INVALID_NESTING and token == "("):
        return f"'{token}' where AND, OR or the end belongs"
    if code == PARSE_INVALID_OPERATOR_SEQUENCE:
        return f"'{token}' where a licence id belongs"
    if code == PARSE_INVALID_EXPRESSION and token.upper() == "WITH":
        return "WITH needs a licence id before it and an exception id after it"
    return " ".join(str(exc).split())


def _license_id(key: str) -> str:
    """The id as the list writes it, of a licence (a ``LicenseRef-``, an id with ``+``)."""
    ref = _REF.match(key)
    if ref:
        doc, idstring = ref.groups()
        return (f"DocumentRef-{doc}:" if doc else "") + f"LicenseRef-{idstring}"
    tables = _tables()
    plus = key.endswith("+")
    name = key[:-1] if plus else key
    spdx = tables.licenses.get(name.lower())
    if spdx is None:
        if name.lower() in tables.exceptions:
            raise _Invalid(f"'{name}' is an exception: it goes after a licence and WITH")
        if name.lower() in tables.replaced or name.lower() in tables.deprecated:
            raise _Invalid(f"'{key}' is deprecated or not an SPDX id")
        raise _Invalid(f"unknown licence id '{key}'")
    return spdx + ("+" if plus else "")


def _exception_id(key: str) -> str:
    """The id as the list writes it, of what follows WITH (an ``AdditionRef-``)."""
    addition = _ADDITION.match(key)
    if addition:
        doc, idstring = addition.groups()
        return (f"DocumentRef-{doc}:" if doc else "") + f"AdditionRef-{idstring}"
    exception = _tables().exceptions.get(key.lower())
    if exception is None:
        raise _Invalid(f"unknown exception id '{key}' after WITH")
    return exception


@lru_cache(maxsize=4096)
def canonical(value: str) -> str | None:
    """The canonical form of a valid licence value (``'mit or apache-2.0'`` ->
    ``'MIT OR Apache-2.0'``), or None when it is not valid (see the module docstring).

    Only case, spacing and parentheses are corrected; an old or misspelt id gives None.
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
    meant: ``'CC BY 4.0' is not an SPDX licence id or expression ('BY' where AND, OR or
    the end belongs); did you mean CC-BY-4.0?``.
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
