"""Zip packages (DOCX, ODT, EPUB) and the XML inside them, read within bounds.

A document package is untrusted input (README, "Safety"). Here:

- **Zip**: at most :data:`MAX_MEMBERS` members; a member is read by streaming its inflated
  bytes and stopping one byte past its cap (the sizes a zip declares may lie), and the
  members read from one file may inflate to at most four times the per-member cap
  together: a zip bomb costs at most that much memory and time. An encrypted member, or a
  file that is an OLE compound file (how Office stores a password-protected DOCX) is
  skipped as password-protected; a file that is not a zip, or is cut short, as corrupt.
- **XML**: lxml with entities left unresolved (``resolve_entities=False``: a "billion
  laughs" document expands nothing), no DTD loaded, no network, and lxml's default limits
  on depth and text size kept (``huge_tree=False``).

Every failure is a :class:`~corpuspack.errors.SkipFile` with the reason.
"""

from __future__ import annotations

import io
import re
import zipfile
from typing import Any

from corpuspack.errors import SkipFile

# Members of one package at most: an EPUB of a long book has a few hundred (chapters,
# images, fonts), a DOCX or ODT a few dozen; a zip with more is refused before any is read.
MAX_MEMBERS = 10_000
# The inflated bytes of all members read from one package, in units of the per-member cap
TOTAL_MEMBER_CAPS = 4
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_CHUNK = 1 << 16


class XMLError(ValueError):
    """XML that does not parse (the message is lxml's first line)."""


def _parser() -> Any:
    from lxml import etree

    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=False, remove_comments=True,
                           remove_pis=True)


def parse(data: bytes) -> Any:
    """The root element of an XML document, parsed safely (module docstring); XMLError
    when it is not well-formed or lxml refuses it (too deep, too large a text node)."""
    from lxml import etree

    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise XMLError(str(exc).splitlines()[0] if str(exc) else "not well-formed") from None
    if root is None:
        raise XMLError("empty document")
    return root


class Package:
    """The members of a zip package, read by name within the caps of the module docstring.

    ``kind`` names the format in skip reasons ("DOCX", "EPUB"); ``member_cap`` is the most
    one member may inflate to, in bytes (the reader passes ``max_document_mb``).
    """

    def __init__(self, data: bytes, kind: str, member_cap: int) -> None:
        self.kind, self.member_cap = kind, member_cap
        self.budget = TOTAL_MEMBER_CAPS * member_cap
        if data.startswith(_OLE_MAGIC):
            raise SkipFile(f"password-protected {kind} (an encrypted Office file, stored as "
                           "an OLE compound file) or a legacy binary Office document")
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(data))
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
            raise SkipFile(f"corrupt or truncated {kind}: not a readable zip ({exc})") from None
        if len(infos) > MAX_MEMBERS:
            raise SkipFile(f"{kind} holds {len(infos):,} zip members, over the limit of "
                           f"{MAX_MEMBERS:,}")
        self.names = {info.filename: info for info in infos}

    def __contains__(self, name: str) -> bool:
        return name in self.names

    def read(self, name: str) -> bytes:
        """The inflated bytes of one member; SkipFile when it is missing, encrypted,
        corrupt, or passes its cap or the package's."""
        info = self.names.get(name)
        if info is None:
            raise SkipFile(f"corrupt {self.kind}: member {name!a} is missing")
        if info.flag_bits & 0x1:
            raise SkipFile(f"password-protected {self.kind}: member {name!a} is encrypted")
        limit = min(self.member_cap, self.budget)
        chunks, total = [], 0
        try:
            with self.zip.open(info) as member:
                while chunk := member.read(_CHUNK):
                    total += len(chunk)
                    if total > limit:
                        raise SkipFile(self._over(name, total))
                    chunks.append(chunk)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError) as exc:
            raise SkipFile(f"corrupt or truncated {self.kind}: member {name!a} cannot be "
                           f"inflated ({exc})") from None
        except NotImplementedError as exc:
            raise SkipFile(f"{self.kind} member {name!a} uses an unsupported compression "
                           f"({exc})") from None
        self.budget -= total
        return b"".join(chunks)

    def _over(self, name: str, total: int) -> str:
        if total > self.member_cap:
            return (f"{self.kind} member {name!a} inflates to more than {self.member_cap:,} "
                    "bytes (a zip bomb, or a document over max_document_mb)")
        return (f"{self.kind} members inflate to more than "
                f"{TOTAL_MEMBER_CAPS * self.member_cap:,} bytes together (a zip bomb)")

    def xml(self, name: str) -> Any:
        """One member parsed as XML (:func:`parse`); SkipFile when it is not well-formed."""
        try:
            return parse(self.read(name))
        except XMLError as exc:
            raise SkipFile(f"corrupt {self.kind}: {name!a} is not well-formed XML "
                           f"({exc})") from None


# ---------------------------------------------------------------------------------------
# Text of documents through the HTML extraction: DOCX and ODT are written as simple HTML
# (headings, paragraphs, lists, tables, preformatted blocks) and EPUB chapters are XHTML, so
# all three get their text, list bullets and table layout from the same extraction.


def html_text(html: str) -> tuple[str, frozenset[str]]:
    """The text of an HTML document or fragment and the lines of its ``<pre>`` blocks:
    Resiliparse's extraction of all visible text (``main_content=False``: a document's
    or a book chapter's text is all content; :func:`corpuspack.sources.html.plain_text`)
    and :func:`corpuspack.sources.html.verbatim_lines`. SkipFile when the markup would cost
    more than its size allows to parse (:func:`corpuspack.sources.markup.check_markup`)."""
    from resiliparse.parse.html import HTMLTree

    from corpuspack.sources import html as extract
    from corpuspack.sources import markup

    refused = markup.check_markup(html)
    if refused is not None:
        raise SkipFile(refused)
    tree = HTMLTree.parse(html)
    if extract.check_nesting(tree) is not None:  # deeper than browsers nest: linear text
        return extract.flat_text(tree), frozenset()
    return extract.plain_text(tree, main_content=False), extract.verbatim_lines(tree)


_SINGLE_PARAGRAPH = re.compile(r"<(li|td)><p>((?:(?!</?p>).)*)</p>(?=</td>|</li>|<ul>|<ol>)",
                               re.S)


def body_html(blocks: list[str]) -> str:
    """A document's HTML from the blocks a DOCX or ODT writer wrote: a list item or table
    cell holding one paragraph holds its text (as an HTML list item or cell does, so a
    table row comes out on one line, its cells separated by tabs, as EPUB's do)."""
    return "<html><body>" + _SINGLE_PARAGRAPH.sub(r"<\1>\2", "".join(blocks)) + \
        "</body></html>"


def escape(text: str) -> str:
    """Text as HTML character data."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def local(tag: object) -> str:
    """An lxml element's tag without its namespace ('' for comments and the like)."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""
