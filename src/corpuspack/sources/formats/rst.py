"""reStructuredText (``.rst``, ``.rest``): docutils' document tree, walked in reading order.

The bytes are decoded as every text format's are (:func:`~corpuspack.sources.decode.
decode_bytes`; an Emacs-style ``coding:`` comment in the first two lines is the declared
charset, verified like HTML's ``<meta charset>``). docutils' reStructuredText parser builds
the tree; :func:`rst_text` walks it: section titles and paragraphs as paragraphs (one line
each, the source's line wrapping undone), bulleted and numbered lists as the HTML extraction
writes them (``  • item``, ``  1. item``, two more spaces a level), definition and field
lists, tables a row a line with tab-separated cells, literal, doctest and math blocks line
by line as written (their lines are :attr:`RawRecord.verbatim`), line blocks, block quotes,
admonitions, footnotes and figure captions. Comments, targets, images, substitution
definitions and docinfo are not text. Measured against docutils' HTML writer read by the
HTML extraction, pandoc and the source itself on the Python 3.11 documentation and
docutils' own (docs/design.md, "reStructuredText").

Metadata: the document title (a lone top section's title, or ``.. title::``; else the first
section's) is ``title``; the bibliographic field list after it (docinfo: ``:Author:``,
``:Authors:``, ``:Date:``, ``:Version:``, any other field) gives ``author`` (authors joined by
``; ``), ``date`` and a ``meta`` key per other field (its lower-cased name: ``:Language:`` and
``:License:`` fill their columns as any metadata does); ``.. meta::`` names (``description``,
``keywords``) too. ``:Abstract:`` and ``:Dedication:`` are text.

Sphinx: roles docutils does not know (``:ref:``, ``:class:``, ``:py:func:``, ``:doc:``…) keep
their text as Sphinx shows it (the explicit title of ``Title <target>``, the last component
of ``~a.b.c``); directives it does not know keep their text: code directives (``doctest``,
``testcode``, ``productionlist``…) as verbatim lines, object descriptions (``.. function::``,
``.. py:class::``…) their signature as a verbatim line and their content, version notes
("Added in version 3.2."), conditions (``.. only::``, ``.. ifconfig::``) their content, and
any other (``.. seealso::``, extensions') its argument and content as reStructuredText;
Sphinx's ``.. class:: Name(args)`` is a class description (docutils' ``.. class::`` takes
CSS class names, which it still does); ``toctree``, ``index``, ``literalinclude``,
``auto*`` and the like, which hold no text of the document, give nothing.

Safety: docutils reads nothing but the text given. ``file_insertion_enabled`` and
``raw_enabled`` are off (``include``, ``raw``, ``csv-table :file:``/``:url:`` and figure sizes
read no file or URL), no docutils configuration file is read (default settings, never
``docutils.conf``), warnings are never written anywhere (report level off: no terminal
output), ``.. date::`` (the build's clock) gives nothing, so a build is reproducible.
docutils keeps roles and directives in module-level registries that a document changes
(``.. role::``, ``.. default-role::``): each document is parsed on a copy of them, one at a
time, so what one document defines never changes how the next reads.

A document that docutils cannot parse in bounded time is skipped with the reason: a line
over docutils' ``line_length_limit`` (10,000 characters), nesting deeper than about 150
levels (frames counted from the caller, so the same whatever the executor), or parsing work
over :func:`_step_budget` (:data:`STEP_BUDGET` plus :data:`STEPS_PER_KB` a kB). The work
counted: the state machines' steps (a list, quote, field or table cell nested on one line
costs a step per level per line: ``- - - - x``), inline markup's searches for end-strings
(unclosed ``*`` or back-quotes: quadratic in the paragraph), substitution definitions copied
(``|a|`` is ``|b| |b|``…: exponential) and grid-table cells cut out (cells times line
length), each charged about what a step costs in time. Real documentation uses 32 steps a
kB (median; 266 at most), so hostile input is skipped at about 20 kB/s at worst.
"""

from __future__ import annotations

import functools
import re
import sys
import textwrap
import threading
from collections.abc import Iterator
from typing import Any

from corpuspack.errors import SkipFile
from corpuspack.sources.decode import Scorer, decode_bytes
from corpuspack.sources.readers import Format, RawRecord, Source

# Parsing work allowed (state-machine steps: docutils notes the source at each): a base plus
# so many steps per kB. Measured on 579 real files (Python 3.11's documentation, docutils'
# own, the .rst files of the packages installed here): median 20 steps per kB, the densest
# 201 (a list of names); deeply nested lists, quotes or field lists on one line take 2,000
# and more, table cells a character wide 500 (docs/design.md, "reStructuredText").
STEP_BUDGET = 5_000
STEPS_PER_KB = 500
# Inline markup: a start-string (``*``, ``\```, ``|``…) makes docutils search the rest of its
# paragraph for the end-string, so a paragraph of unclosed ones costs its length squared
# (180 kB of ``*a `` took 80 s): each search is charged a step per so many bytes searched,
# about what a step of the state machine costs in time (measured: docs/design.md)
SCAN_BYTES_PER_STEP = 4096
# Substitutions: each reference copies its definition (nested definitions doubling at each
# level, |a| is |b| |b| and so on, would grow the tree exponentially); docutils copies about
# 50 nodes in the time of a step (measured: docs/design.md)
COPY_NODES_PER_STEP = 32
MAX_SUBSTITUTIONS = 10_000
# Grid tables: docutils cuts each cell out of the table's lines, reading every line it spans
# whole (its columns' widths), so a table of many narrow cells costs cells times line length
# (800 one-character columns, 30 rows, 50 kB: 12 s): each cell charged a step per so many
# characters read, about what a step costs in time (measured: docs/design.md)
TABLE_CHARS_PER_STEP = 256
MAX_DIRECTIVE_DEPTH = 16  # unknown directives inside unknown directives read as text
# Python frames docutils may use below the caller's: its parser recurses a few frames per
# level of nesting (about 150 levels fit); counted from the caller, not from the bottom of
# the stack, so where a document fails does not depend on how deep the build called it
# (serial, a worker process, a Ray task)
RECURSION_FRAMES = 900
_CODING = re.compile(rb"^[ \t\f]*\.\..*?coding[:=][ \t]*([-\w.]+)", re.M)
_WHITESPACE = re.compile(r"\s+")
_EXPLICIT_TITLE = re.compile(r"^(.+?)\s*(?<!\x00)<(.*?)>$", re.S)
# docutils' errors for a directive it does not know, or one it cannot run as written
# (Sphinx's options on a directive docutils knows: ``.. code-block:: :emphasize-lines:``)
_UNKNOWN_DIRECTIVE = re.compile(r'^(?:Unknown directive type|Error in) "([^"]+)"')
# docutils' ``.. class::`` argument (CSS class names); any other (``Name(args)``) is Sphinx's
# Python class description
_CSS_CLASSES = re.compile(r"[a-z0-9 _-]+")
_DIRECTIVE_HEAD = re.compile(r"^\.\.\s+[^\s]+?::(?:\s+(.*))?$")
_OPTION = re.compile(r"^:[^:\s][^:]*:(\s|$)")

# Sphinx directives (and common extensions') that hold no text of the document
IGNORED = frozenset({
    "toctree", "index", "highlight", "currentmodule", "module", "py:module",
    "py:currentmodule", "c:namespace", "cpp:namespace", "sectionauthor", "moduleauthor",
    "codeauthor", "tabularcolumns", "literalinclude", "testsetup", "testcleanup",
    "default-domain", "program", "graphviz", "digraph", "graph", "inheritance-diagram",
    "mermaid", "plantuml", "autosummary", "automodule", "autoclass", "autofunction",
    "automethod", "autoattribute", "autodata", "autoexception", "autoprogram",
    "autodecorator", "autoproperty", "automodsumm", "include", "raw", "image", "only-html",
    "spelling:word-list", "glossary-ignore", "raw-html", "bibliography", "tab-set-code",
})
# Sphinx directives whose content is code: verbatim lines
CODE = frozenset({
    "doctest", "testcode", "testoutput", "productionlist", "ipython", "jupyter-execute",
    "code-cell", "prompt", "console", "code-block", "sourcecode", "code", "math",
    "parsed-literal",
})
# Object descriptions: their argument lines are signatures (verbatim), their content text
OBJECTS = frozenset({
    "function", "class", "method", "staticmethod", "classmethod", "attribute", "property",
    "data", "exception", "decorator", "decoratormethod", "module", "describe", "object",
    "option", "cmdoption", "envvar", "opcode", "pdbcommand", "2to3fixer", "type",
    "macro", "var", "member", "struct", "union", "enum", "enumerator", "coroutinefunction",
    "coroutinemethod", "abstractmethod", "awaitablefunction", "awaitablemethod",
    "confval", "setting", "event", "role", "directive", "monitoring-event",
})
# Directives whose argument is a condition: their content is the text
CONDITIONS = frozenset({"only", "ifconfig"})
# Version notes, as Sphinx words them
LABELS = {
    "versionadded": "Added in version {}.", "versionchanged": "Changed in version {}:",
    "deprecated": "Deprecated since version {}:", "versionremoved": "Removed in version {}:",
    "deprecated-removed": "Deprecated since version {}, removed in version {}:",
}
# Roles whose text is code (Sphinx's domains, file and command names)
CODE_ROLES = frozenset({
    "func", "meth", "class", "attr", "data", "exc", "obj", "mod", "const", "option",
    "envvar", "program", "file", "samp", "command", "makevar", "keyword", "token",
    "regexp", "mimetype", "opcode", "pdbcmd", "kbd",
})
# Elements that are no text where they stand
_SKIP = frozenset({"comment", "target", "substitution_definition", "system_message",
                   "pending", "image", "raw", "docinfo", "meta", "decoration", "colspec"})


class _Budget:
    """Parsing steps left, shared by a document and the directive contents parsed for it."""

    __slots__ = ("copies", "left", "steps")

    def __init__(self, steps: int) -> None:
        self.steps = steps
        self.left: float = steps
        self.copies = 0


class _OverBudget(Exception):
    pass


def _step_budget(size: int) -> int:
    """Steps allowed for ``size`` bytes of source (:data:`STEP_BUDGET`)."""
    return STEP_BUDGET + STEPS_PER_KB * size // 1024


@functools.cache
def _default_settings() -> Any:
    """docutils' defaults for the reStructuredText parser, without reading any
    configuration file (``docutils.conf``, ``~/.docutils``): never the command line's."""
    from docutils import frontend
    from docutils.parsers.rst import Parser

    settings = frontend.get_default_settings(Parser)
    settings.report_level = 5  # no message is reported anywhere
    settings.halt_level = 5  # no message stops the parser
    settings.warning_stream = False  # and none is written, whatever its level
    settings.file_insertion_enabled = False  # include, csv-table :file:/:url:, figwidth
    settings.raw_enabled = False
    settings.syntax_highlight = "none"  # no Pygments pass over code
    settings.smart_quotes = False
    settings.character_level_inline_markup = False
    settings.input_encoding = "unicode"
    settings.language_code = "en"
    settings.traceback = True
    settings.debug = False
    settings.sectsubtitle_xform = True
    settings.docinfo_xform = True
    settings.doctitle_xform = True
    settings.pep_references = False
    settings.rfc_references = False
    return settings


# docutils keeps roles and directives in module-level registries that a document changes
# (``.. role::``, ``.. default-role::``): each parse runs on its own copy, one at a time, so
# one document never changes how another reads, whatever ran before in the process
_REGISTRY_LOCK = threading.Lock()


@functools.cache
def _overrides() -> dict[str, Any]:
    """Directives read differently from docutils': ``date`` (the build's clock, so no text:
    a build is reproducible) and ``class`` with an argument that is no list of CSS class
    names (Sphinx's Python class, read as an unknown directive)."""
    from docutils.parsers.rst import Directive
    from docutils.parsers.rst.directives.misc import Class

    class NoDate(Directive):
        has_content = True
        optional_arguments = 1
        final_argument_whitespace = True

        def run(self) -> list[Any]:
            from docutils import nodes

            return [nodes.inline("", "")]  # an empty definition would be an error

    class CSSOrSphinxClass(Class):
        def run(self) -> list[Any]:
            if not _CSS_CLASSES.fullmatch(self.arguments[0]):
                raise self.error('Error in "class" directive: a Sphinx class description')
            result: list[Any] = super().run()
            return result

    return {"date": NoDate, "class": CSSOrSphinxClass}


@functools.cache
def _document_class() -> Any:
    """docutils' document, counting the parser's steps (it notes the source at each)
    against its ``budget``."""
    from docutils import nodes

    # named as docutils' class: writers and visitors dispatch on the class name
    class document(nodes.document):
        budget: _Budget

        def note_source(self, source: str | None, offset: int | None) -> None:
            self.budget.left -= 1
            if self.budget.left < 0:
                raise _OverBudget
            super().note_source(source, offset)

    return document


@functools.cache
def _charged_dispatch() -> dict[str, Any]:
    """docutils' inline markup handlers (``Inliner.dispatch``), each charging the budget
    for the text after its start-string, which it searches (:data:`SCAN_BYTES_PER_STEP`)."""
    from docutils.parsers.rst.states import Inliner

    def charged(handler: Any) -> Any:
        def run(inliner: Any, match: Any, lineno: int) -> Any:
            budget = inliner.document.budget
            budget.left -= (len(match.string) - match.end()) / SCAN_BYTES_PER_STEP
            if budget.left < 0:
                raise _OverBudget
            return handler(inliner, match, lineno)

        return run

    return {start: charged(handler) for start, handler in Inliner.dispatch.items()}


def _interpreted(inliner: Any, rawsource: str, text: str, role: str, lineno: int) -> Any:
    """docutils' ``Inliner.interpreted``, but a role docutils does not know keeps its text,
    as Sphinx shows it, and reports nothing."""
    from docutils import nodes
    from docutils.parsers.rst import roles
    from docutils.parsers.rst.states import Inliner

    role_fn, _ = roles.role(role, inliner.language, lineno, inliner.reporter)
    if role_fn:
        return Inliner.interpreted(inliner, rawsource, text, role, lineno)
    name = role.lower()
    shown = _role_text(name, text)
    kind = nodes.literal if ":" in name or name in CODE_ROLES else nodes.inline
    return [kind(rawsource, shown)], []


def _parse(text: str, budget: _Budget, depth: int = 0) -> Any:
    """The document tree of ``text``, unknown directives replaced by what they hold (their
    contents parsed too, within the same budget), before the transforms that read the whole
    tree (substitutions, title, docinfo, footnote numbers) run."""
    import types

    from docutils import nodes, utils
    from docutils.parsers.rst import Parser
    from docutils.parsers.rst.states import Inliner

    settings = _default_settings().copy()
    settings.record_dependencies = utils.DependencyList()
    reporter = utils.new_reporter("<rst>", settings)
    document = _document_class()(settings, reporter, source="<rst>")
    document.budget = budget
    document.note_source("<rst>", -1)
    inliner = Inliner()
    inliner.interpreted = types.MethodType(_interpreted, inliner)
    inliner.dispatch = _charged_dispatch()
    Parser(inliner=inliner).parse(text, document)
    for message in list(document.findall(nodes.system_message)):
        if message.get("level", 0) < 3 or not message.children:
            continue
        if message[0].astext().startswith("Line ") and "line-length-limit" in \
                message[0].astext():
            longest = max(len(line) for line in text.splitlines())
            raise SkipFile(f"reStructuredText line of {longest:,} characters, over docutils' "
                           f"line_length_limit of {settings.line_length_limit:,}")
        found = _UNKNOWN_DIRECTIVE.match(message[0].astext())
        if found and len(message) > 1 and message.parent is not None:
            for attribute in message.basic_attributes:
                message[attribute] = []  # given by a CSS class directive around it
            message.replace_self(_directive(found.group(1).lower(), message[1].astext(),
                                            budget, depth))
    return document


def _finish(document: Any) -> None:
    """The transforms text and metadata need: substitutions, the document title and
    subtitle, docinfo, footnote numbers (no table of contents, section numbers, smart
    quotes or message lists)."""
    from docutils.transforms import frontmatter, references

    for definition in document.substitution_defs.values():
        # each reference copies its definition: charged, so nested definitions that
        # double at each level (|a| is |b| |b|, |b| is |c| |c|…) cannot grow the tree
        # exponentially
        definition.deepcopy = functools.partial(_charged_copy, definition, document.budget)
    transformer = document.transformer
    transformer.transforms = []  # pending ones of contents, sectnum, class, target-notes…
    transformer.add_transforms([references.Substitutions, frontmatter.DocTitle,
                                frontmatter.SectionSubTitle, frontmatter.DocInfo,
                                references.Footnotes])
    transformer.apply_transforms()


def _charged_copy(node: Any, budget: _Budget) -> Any:
    """A copy of a substitution definition, charged a step per :data:`COPY_NODES_PER_STEP`
    nodes copied; at most :data:`MAX_SUBSTITUTIONS` copies (docutils' check of nested
    references costs the number of copies made before)."""
    from docutils import nodes

    budget.copies += 1
    budget.left -= 1 + sum(1 for _ in node.findall()) / COPY_NODES_PER_STEP
    if budget.left < 0 or budget.copies > MAX_SUBSTITUTIONS:
        raise _OverBudget
    return nodes.substitution_definition.deepcopy(node)


def _role_text(role: str, text: str) -> str:
    """The text of an unknown (Sphinx) role as Sphinx shows it."""
    from docutils.utils import unescape

    explicit = _EXPLICIT_TITLE.match(text)
    if explicit:
        shown = explicit.group(1)
    else:
        shown = text.removeprefix("!")
        if shown.startswith("~"):
            shown = re.split(r"\.|::", shown[1:])[-1]
    shown = unescape(shown)
    if role in ("guilabel", "menuselection"):
        shown = re.sub(r"&(?=\S)", "", shown.replace("&&", "\x00")).replace("\x00", "&")
        if role == "menuselection":
            shown = shown.replace("-->", "\u2023")
    return shown


def _directive(name: str, block: str, budget: _Budget, depth: int) -> list[Any]:
    """What an unknown directive (its whole block as written) holds, as nodes."""
    from docutils import nodes

    short = name.rsplit(":", 1)[-1]
    if name in IGNORED or short in IGNORED or short.startswith("auto"):
        return []
    lines = block.split("\n")
    head = _DIRECTIVE_HEAD.match(lines[0].strip())
    arguments = [head.group(1).strip()] if head and head.group(1) else []
    rest = textwrap.dedent("\n".join(lines[1:])).split("\n")
    at = 0
    while at < len(rest) and rest[at].strip() and not _OPTION.match(rest[at]):
        arguments.append(rest[at].strip())  # arguments go on until an option or a blank
        at += 1
    while at < len(rest) and rest[at].strip():  # options and their continuation lines
        at += 1
    content = "\n".join(rest[at:]).strip("\n")
    if name in CODE or short in CODE:
        return [nodes.literal_block(content, content)] if content.strip() else []
    found: list[Any] = []
    if name in OBJECTS or short in OBJECTS or ":" in name:
        signature = "\n".join(arguments)
        if signature:
            found.append(nodes.literal_block(signature, signature, classes=["signature"]))
        arguments = []
    elif short in CONDITIONS:
        arguments = []  # a condition, no text
    elif short in LABELS:
        parts = (" ".join(arguments).split(None, 1) + ["", ""])[:2]
        label = LABELS[short].format(*parts) if short == "deprecated-removed" else \
            LABELS[short].format(parts[0])
        found.append(nodes.paragraph(label, label))
        arguments = [parts[1]] if short != "deprecated-removed" and parts[1] else []
    source = "\n".join(arguments + ([""] if arguments and content else []) + [content])
    if not source.strip():
        return found
    if depth >= MAX_DIRECTIVE_DEPTH:
        flat = _WHITESPACE.sub(" ", source).strip()
        return found + [nodes.paragraph(flat, flat)]
    inner = _parse(source, budget, depth + 1)
    return found + list(inner.children)


# --- the text ------------------------------------------------------------------------------


class _Text:
    """Walks a document tree into text (module docstring), collecting verbatim lines."""

    def __init__(self) -> None:
        self.verbatim: set[str] = set()

    def inline(self, node: Any) -> str:
        """A text element's text on one line."""
        return _WHITESPACE.sub(" ", "".join(self._inline(node))).strip()

    def _inline(self, node: Any) -> Iterator[str]:
        from docutils import nodes

        if isinstance(node, nodes.Text):
            yield str(node)
        elif isinstance(node, nodes.footnote_reference | nodes.citation_reference):
            yield f"[{node.astext()}]"
        elif isinstance(node, nodes.image | nodes.system_message | nodes.substitution_definition
                        | nodes.comment | nodes.raw):
            return
        else:
            for child in node.children:
                yield from self._inline(child)

    def blocks(self, node: Any, depth: int = 0) -> list[str]:
        """The blocks (paragraphs, lists, tables, code) of ``node``'s children."""
        out: list[str] = []
        for child in node.children:
            out.extend(self.block(child, depth))
        return out

    def block(self, node: Any, depth: int) -> list[str]:
        from docutils import nodes

        if isinstance(node, nodes.Text):
            text = _WHITESPACE.sub(" ", str(node)).strip()
            return [text] if text else []
        if node.tagname in _SKIP or (isinstance(node, nodes.topic)
                                     and "contents" in node.get("classes", ())):
            return []
        if isinstance(node, nodes.literal_block | nodes.doctest_block | nodes.math_block):
            return self.literal(node.astext())
        if isinstance(node, nodes.bullet_list | nodes.enumerated_list):
            return [self.listing(node, depth)]
        if isinstance(node, nodes.definition_list):
            return self.definitions(node, depth)
        if isinstance(node, nodes.field_list):
            return ["\n".join(self.field(f, depth) for f in node.children
                              if isinstance(f, nodes.field))]
        if isinstance(node, nodes.option_list):
            return ["\n".join(self.option(item, depth) for item in node.children)]
        if isinstance(node, nodes.table):
            return self.table(node, depth)
        if isinstance(node, nodes.line_block):
            return ["\n".join(self.lines(node, 0))]
        if isinstance(node, nodes.attribution):
            return ["\u2014 " + self.inline(node)]
        if isinstance(node, nodes.footnote | nodes.citation):
            label = next((c.astext() for c in node.children if isinstance(c, nodes.label)), "")
            body = self.blocks(node, depth)
            if body and label:
                body[0] = f"[{label}] {body[0]}"
            return body
        if isinstance(node, nodes.label):
            return []
        if isinstance(node, nodes.TextElement):
            text = self.inline(node)
            return [text] if text else []
        return self.blocks(node, depth)

    def literal(self, text: str) -> list[str]:
        lines = [line.rstrip() for line in text.split("\n")]
        while lines and not lines[0]:
            lines.pop(0)
        while lines and not lines[-1]:
            lines.pop()
        self.verbatim.update(line.strip() for line in lines if line.strip())
        return ["\n".join(lines)] if lines else []

    def listing(self, node: Any, depth: int) -> str:
        """A list's items, one line each (continuation lines indented under the text),
        indented two spaces a level as the HTML extraction writes them."""
        from docutils import nodes

        indent = "  " * (depth + 1)
        out: list[str] = []
        for number, item in enumerate(node.children):
            if not isinstance(item, nodes.list_item):
                continue
            marker = self.marker(node, number)
            pad = indent + " " * (len(marker) + 1)
            first = True
            for child in item.children:
                nested = isinstance(child, nodes.bullet_list | nodes.enumerated_list)
                for block in self.block(child, depth + 1):
                    lines = block.split("\n")
                    for i, line in enumerate(lines):
                        if first and i == 0:
                            out.append(f"{indent}{marker} {line}")
                        elif nested:
                            out.append(line)
                        else:
                            out.append(pad + line if line else line)
                    first = False
            if first:
                out.append(f"{indent}{marker}")
        return "\n".join(out)

    @staticmethod
    def marker(node: Any, number: int) -> str:
        from docutils import nodes

        if isinstance(node, nodes.bullet_list):
            return "\u2022"
        value = node.get("start", 1) + number
        kind = node.get("enumtype", "arabic")
        if kind in ("loweralpha", "upperalpha"):
            shown = _alpha(value)
            shown = shown.upper() if kind == "upperalpha" else shown
        elif kind in ("lowerroman", "upperroman"):
            shown = _roman(value)
            shown = shown.lower() if kind == "lowerroman" else shown
        else:
            shown = str(value)
        return f"{node.get('prefix', '')}{shown}{node.get('suffix', '.')}"

    def definitions(self, node: Any, depth: int) -> list[str]:
        from docutils import nodes

        out: list[str] = []
        for item in node.children:
            if not isinstance(item, nodes.definition_list_item):
                continue
            parts: list[str] = []
            for child in item.children:
                if isinstance(child, nodes.term):
                    parts.append(self.inline(child))
                elif isinstance(child, nodes.classifier):
                    parts[-1:] = [f"{parts[-1]} : {self.inline(child)}" if parts
                                  else self.inline(child)]
                elif isinstance(child, nodes.definition):
                    parts.extend(self.blocks(child, depth))
            if parts:
                out.append("\n".join(parts))
        return out

    def field(self, node: Any, depth: int) -> str:
        name = self.inline(node[0])
        body = self.blocks(node[1], depth) if len(node) > 1 else []
        text = "\n".join(body)
        return f"{name}: {text}" if text else f"{name}:"

    def option(self, item: Any, depth: int) -> str:
        from docutils import nodes

        options = [self.inline(c) for c in item.findall(nodes.option)]
        body = [self.blocks(c, depth) for c in item.children if isinstance(c, nodes.description)]
        text = " ".join(b for blocks in body for b in blocks)
        return f"{', '.join(options)}  {text}".rstrip()

    def table(self, node: Any, depth: int) -> list[str]:
        from docutils import nodes

        out = [self.inline(c) for c in node.children if isinstance(c, nodes.title)]
        rows = []
        for row in node.findall(nodes.row):
            cells = [" ".join(self.blocks(entry, depth)).replace("\n", " ").strip()
                     for entry in row.children if isinstance(entry, nodes.entry)]
            if any(cells):
                rows.append("\t".join(cells))
        if rows:
            out.append("\n".join(rows))
        return [block for block in out if block]

    def lines(self, node: Any, level: int) -> list[str]:
        from docutils import nodes

        out: list[str] = []
        for child in node.children:
            if isinstance(child, nodes.line_block):
                out.extend(self.lines(child, level + 1))
            elif isinstance(child, nodes.line):
                out.append("    " * level + self.inline(child) if child.children else "")
        return out


def _alpha(value: int) -> str:
    letters = ""
    while value > 0:
        value, rest = divmod(value - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters or "0"


def _roman(value: int) -> str:
    if not 0 < value < 4000:
        return str(value)
    out = ""
    for number, letters in ((1000, "M"), (900, "CM"), (500, "D"), (400, "CD"), (100, "C"),
                            (90, "XC"), (50, "L"), (40, "XL"), (10, "X"), (9, "IX"), (5, "V"),
                            (4, "IV"), (1, "I")):
        while value >= number:
            out += letters
            value -= number
    return out


# --- metadata ------------------------------------------------------------------------------


def _metadata(document: Any, text: _Text) -> dict[str, Any]:
    """Title, docinfo fields and ``.. meta::`` names (module docstring)."""
    from docutils import nodes

    meta: dict[str, Any] = {}
    title = document.get("title")
    if not title:
        heading = next(document.findall(nodes.title), None)
        title = text.inline(heading) if heading is not None else None
    if title:
        meta["title"] = _WHITESPACE.sub(" ", title).strip()
    for docinfo in document.findall(nodes.docinfo):
        authors: list[str] = []
        for field in docinfo.children:
            if isinstance(field, nodes.author):
                authors.append(text.inline(field))
            elif isinstance(field, nodes.authors):
                authors.extend(text.inline(a) for a in field.children)
            elif isinstance(field, nodes.field):
                name = text.inline(field[0]).lower()
                value = " ".join(text.blocks(field[1])) if len(field) > 1 else ""
                if name and value:
                    meta.setdefault(name, value)
            elif isinstance(field, nodes.TextElement):  # date, version, contact…
                value = text.inline(field)
                if value:
                    meta.setdefault(field.tagname, value)
        if authors:
            meta["author"] = "; ".join(a for a in authors if a)
        break
    for item in document.findall(nodes.meta):
        name, content = item.get("name"), item.get("content")
        if isinstance(name, str) and name and isinstance(content, str) and content:
            meta.setdefault(name.lower(), content)
    return meta


def _declared(data: bytes) -> str | None:
    """The charset an Emacs-style comment in the first two lines declares, as docutils
    reads it (``.. -*- coding: latin-1 -*-``)."""
    head = b"\n".join(data.split(b"\n", 2)[:2])
    found = _CODING.search(head)
    return found.group(1).decode("ascii") if found else None


def rst_text(text: str) -> tuple[str, dict[str, Any], frozenset[str]]:
    """The text of a reStructuredText document, its metadata and its verbatim lines.

    Raises :class:`SkipFile` for a document docutils cannot parse (module docstring): a
    line over its length limit, nesting deeper than the recursion limit, or more parsing
    work than :func:`_step_budget` allows for its size.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    return _document_text(_document(text, _Budget(_step_budget(size))))


def _document(text: str, budget: _Budget) -> Any:
    """The transformed document tree of ``text`` (:func:`_parsed`), parsed on a copy of
    docutils' role and directive registries with :func:`_overrides`, grid-table cells
    charged to ``budget`` (:data:`TABLE_CHARS_PER_STEP`), one document at a time."""
    from docutils.parsers.rst import directives, roles
    from docutils.statemachine import StringList

    cut = StringList.get_2D_block

    def charged_cut(lines: Any, top: int, left: int, bottom: int, right: int,
                    strip_indent: bool = True) -> Any:
        width = max((len(line) for line in lines.data[top:bottom]), default=0)
        budget.left -= (bottom - top) * width / TABLE_CHARS_PER_STEP
        if budget.left < 0:
            raise _OverBudget
        return cut(lines, top, left, bottom, right, strip_indent)

    with _REGISTRY_LOCK:
        saved_roles, saved_directives = dict(roles._roles), dict(directives._directives)
        directives._directives.update(_overrides())
        saved_limit = sys.getrecursionlimit()
        sys.setrecursionlimit(_stack_depth() + RECURSION_FRAMES)
        StringList.get_2D_block = charged_cut
        try:
            return _parsed(text, budget)
        finally:
            StringList.get_2D_block = cut
            sys.setrecursionlimit(saved_limit)
            roles._roles.clear()
            roles._roles.update(saved_roles)
            directives._directives.clear()
            directives._directives.update(saved_directives)


def _stack_depth() -> int:
    depth, frame = 0, sys._getframe()
    while frame is not None:
        depth, frame = depth + 1, frame.f_back  # type: ignore[assignment]
    return depth


def _document_text(document: Any) -> tuple[str, dict[str, Any], frozenset[str]]:
    walker = _Text()
    body = "\n\n".join(block for block in walker.blocks(document) if block.strip())
    return body, _metadata(document, walker), frozenset(walker.verbatim)


def _parsed(text: str, budget: _Budget) -> Any:
    """:func:`_parse` and :func:`_finish`, docutils' failures as SkipFile."""
    try:
        document = _parse(text, budget)
        _finish(document)
    except _OverBudget:
        raise SkipFile("reStructuredText too costly to parse in bounded time (lists, quotes, "
                       "fields or table cells nested on one line, unclosed inline markup or "
                       f"nested substitutions): over {budget.steps:,} parser steps") from None
    except RecursionError:
        raise SkipFile("reStructuredText nested too deeply: docutils ran out of "
                       "recursion") from None
    except SkipFile:
        raise
    except Exception as exc:  # docutils' own errors on input it cannot take
        reason = str(exc).splitlines()[0][:200] if str(exc) else ""
        raise SkipFile(f"reStructuredText not parsed by docutils: {type(exc).__name__}"
                       + (f": {reason}" if reason else "")) from None
    return document


def read_rst(data: bytes, score: Scorer | None = None) -> RawRecord:
    """A reStructuredText file's bytes as a document (module docstring); SkipFile when it
    is binary or docutils cannot parse it."""
    decoded = decode_bytes(data, declared=_declared(data), score=score)
    body, meta, verbatim = rst_text(decoded.text)
    return RawRecord(body, decoded.encoding, meta, decoding=decoded.record, verbatim=verbatim)


def read(source: Source) -> Iterator[RawRecord]:
    yield read_rst(source.data(), source.score)


FORMAT = Format(
    name="rst",
    extensions=(".rst", ".rest"),
    many=False,
    read=read,
    documents="the text in reading order (docutils): section titles, paragraphs, lists, "
              "tables a row a line, literal blocks as written; Sphinx roles and directives "
              "give their text; the title and docinfo fields (`:Author:`, `:Date:`, …) are "
              "metadata; `include` and `raw` read no file",
)
