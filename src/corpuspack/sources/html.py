"""Guards for HTML whose nesting makes text extraction cost more than linear time or memory.

Measured with Resiliparse 2.0.1 (files of tags nested in a chain, each with a word of text):

- main-content extraction (``extract_plain_text(main_content=True)``) costs time in
  proportion to the number of elements times their depth: a chain of 15,000 ``<div>``
  took 4.3 s, of 30,000 16.5 s (unclosed ``<div>``, 200 kB), so 1 MB of them (200,000
  levels) would take well over 5 minutes; chains of other block elements (``<article>``,
  ``<em><div>``) behave alike. 1 MB of chains 512 deep took 0.7 to 1.3 s, 64 deep 0.2 s;
- with ``preserve_formatting=True`` every list level indents its items by two more spaces,
  so the text of nested lists grows with the square of their depth: 80 kB of nested
  ``<ol><li>`` gave 64 MB of text;
- parsing, ``<title>``, and all visible text as one paragraph
  (``preserve_formatting=False``) stayed linear on every kind of chain up to 4 MB (0.04 to
  0.12 s and 0.08 to 0.4 s per MB); so did trafilatura's metadata, but at up to 1.2 s
  per MB of dense ``<div>`` (lxml gives up past 256 levels).

So a page is measured first (:func:`check_nesting`, linear); a page nested deeper than
:data:`MAX_DEPTH` elements, or with lists nested deeper than :data:`MAX_LIST_DEPTH`, gets
its text by :func:`flat_text` and its title from ``<title>`` only (no trafilatura), and the
reader records why in ``meta["extraction"]``: :data:`FALLBACK_DEPTH` or
:data:`FALLBACK_LISTS`.
"""

from __future__ import annotations

from typing import cast

from resiliparse.extract.html2text import extract_plain_text
from resiliparse.parse.html import DOMContext, DOMNode, HTMLTree, traverse_dom

# Browsers nest no deeper: Blink's HTML parser stops at 512 levels
# (kMaximumHTMLParserDOMTreeDepth), so real pages never need more.
MAX_DEPTH = 512
# Indentation grows by two spaces per list level: 32 levels keep the text of a chain of lists
# within about 3.5 times its HTML's size ("<ul><li>x " per level); pages nest lists a few
# levels deep (930 real pages: rustdoc, mdBook, gtk-doc, Python and Debian docs: at most 6).
MAX_LIST_DEPTH = 32
FALLBACK_DEPTH = f"fallback: elements nested deeper than {MAX_DEPTH}"
FALLBACK_LISTS = f"fallback: lists nested deeper than {MAX_LIST_DEPTH}"
_LISTS = frozenset(("ul", "ol", "menu", "dir"))


class _Limit(Exception):
    """Raised inside the traversal to stop it when a limit is passed."""


def deeper_than(tree: HTMLTree, depth: int) -> bool:
    """Whether an element lies more than ``depth`` levels below ``<html>`` (``<body>`` is
    one level below it).

    One CSS query, ``:root > * > … > *``, matched in C from each element up through at
    most ``depth + 1`` parents: linear, about 3 ms per MB of ordinary HTML, 0.15 s per MB
    of chains 500 deep (a Python walk over the elements took 45 ms per MB).
    """
    if tree.document is None:
        return False
    return tree.document.query_selector(":root" + " > *" * (depth + 1)) is not None


def max_list_depth(tree: HTMLTree, limit: int = MAX_LIST_DEPTH) -> int:
    """How many lists (``ul``, ``ol``, ``menu``, ``dir``) the most deeply listed element is
    inside, or the first count beyond ``limit`` (the walk stops there). Linear."""
    root = tree.document.first_element_child if tree.document is not None else None
    if root is None:
        return 0
    open_lists: list[int] = []  # depths of the lists around the element visited
    deepest = 0

    def enter(context: DOMContext) -> None:
        nonlocal deepest
        depth = context.depth
        while open_lists and open_lists[-1] >= depth:  # pre-order: those lists are closed
            open_lists.pop()
        if cast(DOMNode, context.node).tag in _LISTS:
            open_lists.append(depth)
            if len(open_lists) > deepest:
                deepest = len(open_lists)
                if deepest > limit:
                    raise _Limit

    try:
        traverse_dom(root, enter, context=DOMContext(), elements_only=True)
    except _Limit:
        pass
    return deepest


def check_nesting(tree: HTMLTree) -> str | None:
    """Why main-content extraction must not run on this page (a ``FALLBACK_*`` value), or
    None when it may. Linear: one or two CSS queries (:func:`deeper_than`), and a walk
    over the elements (:func:`max_list_depth`) only for pages deeper than
    :data:`MAX_LIST_DEPTH` (none of 930 real pages measured was deeper than 30)."""
    # each list level is at least one element deep: a shallow page has no deep lists
    if not deeper_than(tree, MAX_LIST_DEPTH):
        return None
    if deeper_than(tree, MAX_DEPTH):
        return FALLBACK_DEPTH
    if max_list_depth(tree) > MAX_LIST_DEPTH:
        return FALLBACK_LISTS
    return None


def flat_text(tree: HTMLTree) -> str:
    """All visible text of a page as one paragraph (white space collapsed, no list
    indentation): linear in the page's size, for pages :func:`check_nesting` refuses."""
    text: str = extract_plain_text(
        tree, main_content=False, preserve_formatting=False, alt_texts=False, links=False,
        form_fields=False, noscript=False, comments=False, list_bullets=False)
    return text
