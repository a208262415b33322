"""Bounded, faithful parsing of the YAML and JSON that metadata and JSONL records hold.

A corpus repository is untrusted input, and metadata parsers are where small files get
expensive or wrong. Everything here returns plain JSON values (dict with str keys, list, str,
int, float, bool, None, plus :class:`datetime.date` for YAML dates) and raises
:class:`MetadataError` (a ``ValueError``) with a one-line reason otherwise.

Bounds (:data:`MAX_VALUES`, :data:`MAX_DEPTH`)
    A value may hold at most 100,000 values (keys, items and scalars, every use of a YAML
    alias counted again) nested at most 64 containers deep. The expanded size of YAML is
    counted on the composed node graph, memoised per node, so an alias bomb ("billion
    laughs": 342 bytes that expand to 10⁹ strings) is refused after composing its few
    dozen nodes, before anything is expanded. 64 levels leave room for any real metadata
    and stay far below orjson's 255-level limit for writing it back.

YAML (:func:`load_yaml`)
    libyaml's parser, PyYAML's composer and our own conversion of the node graph, so that
    YAML 1.1 typing traps do not change what curators wrote: a plain scalar becomes a
    number only when its canonical form is the text itself (``10`` → 10, ``1.5`` → 1.5,
    but ``0755``, ``1.10``, ``+1``, ``1e3`` stay strings), ``true``/``false``/``null``
    (and ``~``, empty) follow the YAML 1.2 core schema (``yes``, ``no``, ``on``, ``off``
    stay strings), a ``YYYY-MM-DD`` date that exists becomes a date (``2023-02-29`` stays a
    string). Integers beyond the signed 64-bit range are kept exactly, as strings. ``!!set``
    becomes a sorted list; ``!!str``, ``!!int`` (``0x1F``, ``0o17`` too), ``!!float``
    (``.inf`` and ``.nan`` kept as written: JSON has no such number), ``!!bool``, ``!!null``,
    ``!!timestamp``, ``!!seq``, ``!!map`` are honoured; any other tag (``!!python/…``,
    ``!!binary``, application tags) is refused. Merge keys (``<<: *base``) are applied.
    Surrogate escapes in double-quoted scalars (JSON's ``"\\ud83c\\udf0a"``), which libyaml
    refuses, are read by PyYAML's own parser: a pair becomes its character, a lone one is
    removed (and counted).

JSON (:func:`load_json`)
    orjson first (fast), the standard library only when orjson cannot be faithful: integers
    that orjson turned into floats or that lie outside the signed 64-bit range, and numbers
    a float does not hold as written (:func:`exact_float`: ``1e400``, ``1e-400``, more digits
    than a float keeps), all kept exactly, as strings; and lone UTF-16 surrogate escapes such as
    ``"\\ud83c"`` (half an emoji), which orjson rejects and which are removed (and counted).
    A key that would then equal another key of its object keeps U+FFFD in their place.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections import Counter
from decimal import Decimal
from typing import Any

import orjson
from yaml.composer import Composer
from yaml.error import YAMLError
from yaml.nodes import Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import BaseResolver
from yaml.scanner import Scanner

from corpuspack.sources.decode import join_surrogate_pairs


class _PyParser(Reader, Scanner, Parser):
    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)


try:  # libyaml's event parser (iterative, no C recursion), else PyYAML's own
    from yaml._yaml import CParser as _EventParser
except ImportError:  # pragma: no cover - PyYAML wheels ship libyaml
    _EventParser = _PyParser  # type: ignore[misc,assignment]

# the doubts the loaders count (their second value), as the build report names them
SURROGATES_NOTE = "lone surrogates removed"
DUPLICATE_KEYS_NOTE = "duplicate keys: the last value kept"

MAX_VALUES = 100_000
MAX_DEPTH = 64
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1

_TAG = "tag:yaml.org,2002:"
_PLAIN = "corpuspack:plain"  # an untagged plain scalar: typed by the rules of this module
_STR, _INT, _FLOAT, _BOOL, _NULL, _TIMESTAMP = (
    _TAG + t for t in ("str", "int", "float", "bool", "null", "timestamp"))
_SEQ, _MAP, _SET = _TAG + "seq", _TAG + "map", _TAG + "set"
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {"true": True, "True": True, "TRUE": True,
          "false": False, "False": False, "FALSE": False}
_INT_RE = re.compile(r"[-+]?[0-9]+")
_FLOAT_RE = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_BASED_INT_RE = re.compile(r"0x[0-9a-fA-F]+|0o[0-7]+")
_SPECIAL_FLOAT_RE = re.compile(r"[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)")
_SURROGATES = re.compile("[\ud800-\udfff]")
# a UTF-16 surrogate written as a \u escape (JSON's way of writing an emoji), which libyaml
# refuses in a double-quoted scalar
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_MAX_INT_DIGITS = 19  # 2**63 has 19 digits: longer integers are never in the int64 range


class MetadataError(ValueError):
    """Metadata that cannot be read faithfully within the bounds; ``str()`` is the reason."""


def _too_many() -> MetadataError:
    return MetadataError(f"holds more than {MAX_VALUES:,} values (YAML aliases counted each "
                         "time they are used)")


def _too_deep() -> MetadataError:
    return MetadataError(f"is nested more than {MAX_DEPTH} levels deep")


def exact_int(text: str) -> int | str:
    """A decimal integer literal as an int when it fits in 64 bits (signed), else the text.

    JSON and Parquet readers commonly hold integers in 64 bits and round larger ones
    silently, so a larger integer (a 128-bit id, say) is kept exactly as a string.
    """
    if len(text.lstrip("+-")) > _MAX_INT_DIGITS:
        return text
    value = int(text)
    return value if INT64_MIN <= value <= INT64_MAX else text


def exact_float(text: str) -> float | str:
    """A decimal number literal as a float when the float holds its value exactly as
    written (``0.1``, ``1e300``, ``-0.0``), else the text: ``1e400`` (beyond the float
    range), ``1e-400`` (it would become 0.0) and ``3.14159265358979323846`` (more digits
    than a float keeps) are kept as strings, as integers beyond 64 bits are."""
    value = float(text)
    digits = text.lstrip("+-").replace(".", "", 1)
    if len(digits) <= 15 and digits.isascii() and digits.isdigit():
        # at most 15 digits and no exponent: a double holds any such decimal (IEEE 754
        # binary64 keeps 15), and the common case costs no Decimal
        return value
    try:
        if math.isfinite(value) and Decimal(repr(value)) == Decimal(text):
            return value
    except ArithmeticError:  # decimal.InvalidOperation: an exponent beyond Decimal's range
        pass
    return text


def plain_scalar(text: str) -> Any:
    """The value of an untagged plain YAML scalar under this module's rules (see above)."""
    if text in _NULLS:
        return None
    found = _BOOLS.get(text)
    if found is not None:
        return found
    first = text[0]
    if not (first.isdigit() or first in "+-."):
        return text
    if _INT_RE.fullmatch(text):
        number = exact_int(text)
        return number if str(number) == text else text
    if _FLOAT_RE.fullmatch(text):
        value = float(text)
        return value if repr(value) == text else text
    if _DATE_RE.fullmatch(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            return text
    return text


def _scrub(text: str, removed: list[int]) -> str:
    """``text`` with surrogate pairs joined into the character they write and lone
    surrogates removed (counted in ``removed``)."""
    if text.isascii() or _SURROGATES.search(text) is None:
        return text
    cleaned, count = _SURROGATES.subn("", join_surrogate_pairs(text))
    removed[0] += count
    return cleaned


def _scrub_key(key: str, keys: Any, taken: Any, removed: list[int]) -> str:
    """A mapping key scrubbed as :func:`_scrub` does, unless removing its lone surrogates
    would make it another key of the mapping (``keys``: all of them as written; ``taken``:
    those scrubbed so far): then each becomes U+FFFD instead, and no value is lost to
    another key's."""
    cleaned = _scrub(key, removed)
    if cleaned != key and (cleaned in keys or cleaned in taken):
        cleaned = _SURROGATES.sub("\ufffd", join_surrogate_pairs(key))
        if cleaned in keys or cleaned in taken:  # three keys or more: as JSON escapes
            cleaned = join_surrogate_pairs(key).encode("utf-8", "backslashreplace").decode()
    return cleaned


def _doubts(removed: int, duplicates: int = 0) -> Counter[str]:
    found: Counter[str] = Counter()
    if removed:
        found[SURROGATES_NOTE] = removed
    if duplicates:
        found[DUPLICATE_KEYS_NOTE] = duplicates
    return found


# ---------------------------------------------------------------- YAML


class _Composing(Composer, BaseResolver):
    """PyYAML's composer over a parser's events, with a depth and node budget."""

    depth = nodes = 0

    def _start(self) -> None:
        Composer.__init__(self)
        BaseResolver.__init__(self)

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self.depth += 1
        self.nodes += 1
        if self.depth > MAX_DEPTH + 1:  # + 1: the depth counts scalars, MAX_DEPTH containers
            raise _too_deep()
        if self.nodes > MAX_VALUES:
            raise _too_many()
        try:
            node: Node | None = Composer.compose_node(self, parent, index)
        finally:
            self.depth -= 1
        return node

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        if kind is ScalarNode:
            return _PLAIN if implicit[0] else _STR
        tag: str = BaseResolver.resolve(self, kind, value, implicit)
        return tag


class _Loader(_Composing, _EventParser):
    """libyaml's events."""

    def __init__(self, text: str) -> None:
        _EventParser.__init__(self, text)
        self._start()


class _PyLoader(_Composing, _PyParser):
    """PyYAML's own parser's events."""

    def __init__(self, text: str) -> None:
        _PyParser.__init__(self, text)
        self._start()


def _measure(node: Node, depth: int, memo: dict[int, tuple[int, int]],
             active: set[int]) -> tuple[int, int]:
    """(values, container height) of a node with aliases expanded; raises past the bounds.

    Memoised per node, so shared (aliased) nodes are measured once; the recursion stops at
    :data:`MAX_DEPTH` containers, however deep the aliases chain.
    """
    key = id(node)
    found = memo.get(key)
    if found is None:
        if isinstance(node, ScalarNode):
            found = (1, 0)
        else:
            if depth >= MAX_DEPTH:
                raise _too_deep()
            if key in active:
                raise MetadataError("holds a recursive alias (a value that contains itself)")
            active.add(key)
            children = (node.value if isinstance(node, SequenceNode)
                        else [n for pair in node.value for n in pair])
            size, height = 1, 0
            for child in children:
                child_size, child_height = _measure(child, depth + 1, memo, active)
                size += child_size
                height = max(height, child_height)
                if size > MAX_VALUES:
                    raise _too_many()
            active.discard(key)
            found = (size, height + 1)
        memo[key] = found
    if depth + found[1] > MAX_DEPTH:
        raise _too_deep()
    return found


def _tagged_scalar(node: ScalarNode) -> Any:
    tag, text = node.tag, node.value
    if tag == _STR:
        return text
    if tag == _NULL:
        return None
    if tag == _BOOL:
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
    elif tag == _INT:
        if _INT_RE.fullmatch(text):
            return exact_int(text.lstrip("+"))
        if _BASED_INT_RE.fullmatch(text):  # YAML 1.2 core: 0x1F, 0o17
            return exact_int(str(int(text, 0)))
    elif tag == _FLOAT:
        if _FLOAT_RE.fullmatch(text):
            return exact_float(text)
        if _SPECIAL_FLOAT_RE.fullmatch(text):  # .inf, -.inf, .nan: not JSON, kept as written
            return text
    elif tag == _TIMESTAMP:
        if _DATE_RE.fullmatch(text):
            try:
                return dt.date.fromisoformat(text)
            except ValueError:
                pass
        return text  # a date with a time, or an impossible date, kept as written
    else:
        raise MetadataError(f"uses the YAML tag {tag!r}, which corpuspack does not read "
                            "(only JSON-like values, !!set and !!timestamp)")
    raise MetadataError(f"has {text!r} tagged {tag.removeprefix(_TAG)!r}, which it is not")


def _key(node: Node) -> str:
    if not isinstance(node, ScalarNode):
        raise MetadataError("has a mapping key that is not a plain value")
    if node.tag not in (_PLAIN, _STR):
        _tagged_scalar(node)  # refuses unknown tags; the key is the text as written
    text: str = node.value
    return text


def _set_order(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, (int, float)):
        return (2, value)
    if isinstance(value, dt.date):
        return (3, value)
    return (4, str(value))


def _convert(node: Node, memo: dict[int, Any], removed: list[int]) -> Any:
    key = id(node)
    if key in memo:
        return memo[key]
    value: Any
    if isinstance(node, ScalarNode):
        if node.tag == _PLAIN:
            value = plain_scalar(node.value)
        else:
            value = _tagged_scalar(node)
        if isinstance(value, str):
            value = _scrub(value, removed)
    elif isinstance(node, SequenceNode):
        if node.tag != _SEQ:
            raise MetadataError(f"uses the YAML tag {node.tag!r} on a sequence, which "
                                "corpuspack does not read")
        value = [_convert(child, memo, removed) for child in node.value]
    elif node.tag == _SET:
        members = []
        for member, _ in node.value:
            if not isinstance(member, ScalarNode):
                raise MetadataError("has a !!set member that is not a plain value")
            members.append(_convert(member, memo, removed))
        unique = {(type(m).__name__, m): m for m in members}  # 1 and true stay apart
        value = sorted(unique.values(), key=_set_order)
    elif node.tag == _MAP:
        value = {}
        merged: dict[str, Any] = {}
        keys = {n.value for n, _ in node.value if isinstance(n, ScalarNode)}
        if len(keys) < sum(1 for n, _ in node.value if isinstance(n, ScalarNode)):
            removed[1] += 1  # a key written twice: the last value is kept, as in JSON
        scrubbed: dict[str, str] = {}  # each key as written -> as kept
        for key_node, value_node in node.value:
            if isinstance(key_node, ScalarNode) and key_node.tag == _PLAIN \
                    and key_node.value == "<<":
                bases = (value_node.value if isinstance(value_node, SequenceNode)
                         else [value_node])
                for base in reversed(bases):  # the first base listed wins
                    found = _convert(base, memo, removed)
                    if not isinstance(found, dict):
                        raise MetadataError("merges (<<) a value that is not a mapping")
                    merged.update(found)
                continue
            written = _key(key_node)
            if written not in scrubbed:
                scrubbed[written] = _scrub_key(written, keys, value, removed)
            value[scrubbed[written]] = _convert(value_node, memo, removed)
        if merged:
            value = {**merged, **value}
    else:
        raise MetadataError(f"uses the YAML tag {node.tag!r} on a mapping, which corpuspack "
                            "does not read")
    memo[key] = value
    return value


def _compose(loader_type: Any, text: str) -> Node | None:
    loader = loader_type(text)
    try:
        node: Node | None = loader.get_single_node()
    finally:
        loader.dispose()
    return node


def load_yaml(text: str) -> tuple[Any, Counter[str]]:
    """The value of one YAML document (None when empty) and its doubts: lone surrogates
    removed, mappings that write a key twice (:data:`SURROGATES_NOTE`,
    :data:`DUPLICATE_KEYS_NOTE`).

    Raises :class:`MetadataError` past the bounds or for a refused tag, and
    ``yaml.YAMLError`` for text that is not YAML (or holds more than one document).
    """
    try:
        node = _compose(_Loader, text)
    except YAMLError:
        if _SURROGATE_ESCAPE.search(text) is None:
            raise
        # libyaml refuses "\ud83c\udf0a" (an emoji as JSON writes it) and "\ud83c" (half of
        # one); PyYAML's own parser reads them, and _scrub joins or removes them
        node = _compose(_PyLoader, text)
    if node is None:
        return None, Counter()
    _measure(node, 0, {}, set())
    removed = [0, 0]  # lone surrogates, mappings with a key written twice
    return _convert(node, {}, removed), _doubts(*removed)


# ---------------------------------------------------------------- JSON


def _inspect(value: Any, depth: int, budget: list[int], keys: list[int] | None = None) -> bool:
    """Check the bounds of a parsed JSON value; True when a number needs the exact parser
    (any float, or an int beyond the int64 range). ``keys[0]`` counts the keys."""
    exact = False
    if isinstance(value, dict):
        items: Any = value.values()
        budget[0] -= len(value)  # the keys
        if keys is not None:
            keys[0] += len(value)
    elif isinstance(value, list):
        items = value
    else:
        return False
    if depth >= MAX_DEPTH:
        raise _too_deep()
    budget[0] -= len(items)
    if budget[0] < 0:
        raise _too_many()
    for item in items:
        if isinstance(item, (dict, list)):
            exact = _inspect(item, depth + 1, budget, keys) or exact
        elif isinstance(item, float):
            # orjson makes a float of an integer beyond the 64-bit range, and of numbers a
            # float does not hold as written (1e-400 is 0.0): the exact parser tells
            exact = True
        elif isinstance(item, int) and not isinstance(item, bool):
            exact = exact or not INT64_MIN <= item <= INT64_MAX
    return exact


def _reject_constant(name: str) -> Any:
    raise MetadataError(f"holds {name}, which is not JSON")


def _scrub_all(value: Any, removed: list[int]) -> Any:
    if isinstance(value, str):
        return _scrub(value, removed)
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out[_scrub_key(key, value, out, removed)] = _scrub_all(item, removed)
        return out
    if isinstance(value, list):
        return [_scrub_all(v, removed) for v in value]
    return value


def _exact(text: str | bytes, keys_twice: bool = True) -> tuple[Any, Counter[str]]:
    """The standard library's parse, exact; ``keys_twice``: look for keys written twice."""
    duplicates = [0]

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        found = dict(items)
        if len(found) < len(items):
            duplicates[0] += 1
        return found

    try:
        value = json.loads(text, parse_int=exact_int, parse_float=exact_float,
                           parse_constant=_reject_constant,
                           object_pairs_hook=pairs if keys_twice else None)
    except RecursionError:
        raise _too_deep() from None
    _inspect(value, 0, [MAX_VALUES])
    removed = [0]
    if isinstance(value, (str, dict, list)):
        value = _scrub_all(value, removed)
    return value, _doubts(removed[0], duplicates[0])


def load_toml(text: str) -> tuple[Any, Counter[str]]:
    """The table of a TOML text (Hugo's ``+++`` front matter), with the rules of JSON's
    numbers: integers beyond the signed 64-bit range and floats a float does not hold as
    written (``inf``, ``nan``, ``1e400``) are kept exactly, as strings; dates and times stay
    ``datetime`` values. Raises ``tomllib.TOMLDecodeError`` (a ``ValueError``) for text
    that is not TOML, :class:`MetadataError` past the bounds."""
    import tomllib

    # tomllib's time grows with the square of a dotted key's length (a key of 30,000 parts
    # in 60 kB took 8 s), and the depth bound is only seen after parsing: count first
    for line in text.splitlines():
        key = line.split("=", 1)[0] if "=" in line else line
        if key.count(".") >= MAX_DEPTH and ".." not in key:  # (a line of dots is no key)
            raise _too_deep()
    try:
        value = tomllib.loads(text, parse_float=exact_float)
    except RecursionError:
        raise _too_deep() from None
    _inspect(value, 0, [MAX_VALUES])
    removed = [0]
    return _exact_ints(_scrub_all(value, removed)), _doubts(removed[0])


def _exact_ints(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _exact_ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_exact_ints(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool):
        return exact_int(str(value))
    return value


def _written_keys(data: bytes | str) -> int:
    """How many keys the JSON text writes, if each is written ``"key":`` (the usual
    spelling; 2.5 µs for a record of 3 kB). Fewer keys parsed than written means a key
    written twice; a key spelt ``"key" :`` or a quote and colon escaped inside a string
    (``\\":``) makes the counts differ too, and the exact parser then decides."""
    return data.count('":') if isinstance(data, str) else data.count(b'":')


def load_json(data: bytes | str) -> tuple[Any, Counter[str]]:
    """One JSON value and its doubts: lone surrogates removed from its strings, objects
    that write a key twice (:data:`SURROGATES_NOTE`, :data:`DUPLICATE_KEYS_NOTE`).

    Raises ``orjson.JSONDecodeError`` (a ``ValueError``) for text that is not JSON,
    :class:`MetadataError` past the bounds.
    """
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        try:  # orjson refuses lone surrogate escapes and numbers beyond a float; JSON does not
            return _exact(data)
        except MetadataError:
            raise
        except ValueError:
            raise exc from None
    keys = [0]
    exact = _inspect(value, 0, [MAX_VALUES], keys)
    twice = _written_keys(data) != keys[0]
    if exact or twice:
        return _exact(data, twice)
    return value, Counter()

