"""reStructuredText sources: docutils' tree walked into text, Sphinx roles and directives
tolerated, title and docinfo metadata, nothing read beside the document, bounded cost."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpuspack.errors import SkipFile
from corpuspack.sources.formats.rst import read_rst, rst_text

from .conftest import FIXTURES, build_to, read_docs

RST = FIXTURES / "formats" / "rst"


def fixture(name: str) -> tuple[str, dict[str, object], frozenset[str]]:
    record = read_rst((RST / name).read_bytes())
    assert record.encoding == "utf-8"
    return record.text, record.meta, record.verbatim


def test_docinfo_becomes_metadata_and_raw_and_include_give_nothing() -> None:
    text, meta, _ = fixture("mailing-lists.rst")
    assert meta == {"title": "Docutils Mailing Lists", "author": "Lea Wiemann",
                    "contact": "docutils-develop@lists.sourceforge.net",
                    "revision": "9051", "date": "2022-04-02",
                    "copyright": "This document has been placed in the public domain."}
    paragraphs = text.split("\n\n")
    assert paragraphs[:2] == ["Docutils Mailing Lists",
                              "All discussion about Docutils takes place on mailing lists."]
    # the missing ../header.txt and the raw HTML sidebar: no text, no error message
    assert "<div" not in text and "header.txt" not in text and "include" not in text
    assert "  • Using an email subscription. This is the traditional way; you will receive " \
        "all messages sent to the mailing list via email.\n" in text
    assert "Lea Wiemann" not in text  # the docinfo is metadata, not text


def test_paragraphs_lists_definitions_and_literal_blocks_as_written() -> None:
    text, meta, verbatim = fixture("quickstart.rst")
    assert meta["title"] == "A ReStructuredText Primer"
    assert meta["author"] == "Richard Jones" and meta["version"] == "9051"
    paragraphs = text.split("\n\n")
    # the source's line wrapping undone in paragraphs, kept in literal blocks
    assert "This is a paragraph. It's quite short." in paragraphs
    assert "This is a paragraph.  It's quite\nshort." in paragraphs
    assert "  Whitespace, newlines, blank lines, and all kinds of markup\n" \
        "    (like *this* or \\this) is preserved by literal blocks.\n" \
        "Lookie here, I've dropped an indentation level\n(but not far enough)" in paragraphs
    assert "(like *this* or \\this) is preserved by literal blocks." in verbatim
    # enumerated lists keep their kind of number; nested lists indent two spaces a level
    assert "  A. upper-case letters and it goes over many lines\n" \
        "     with two paragraphs and all!" in text
    assert "    3. with a sub-list starting at a different number" in text
    assert "  i. lower-case roman numerals\n  (1) numbers again\n  1) and again" in text
    assert "  • a bullet point using \"*\"\n    • a sub-list using \"-\"\n" \
        "      • yet another sub-list\n    • another item" in text
    assert "what\nDefinition lists associate a term with a definition." in text
    # headings are paragraphs; the table of contents and images give nothing
    assert "Preformatting (code samples)" in paragraphs
    assert "Contents" not in paragraphs
    assert paragraphs[-1].startswith("[1] If that relative link doesn't work")


def test_tables_a_row_a_line() -> None:
    text, _, _ = rst_text("""
===== ===========
name  meaning
===== ===========
alpha the *first*
beta  the second,
      on two lines
===== ===========

+------+--------+
| grid | table  |
+======+========+
| a    | b      |
+------+--------+

.. list-table:: Listed
   :header-rows: 1

   * - x
     - y
   * - 1
     - 2
""")
    assert text.split("\n\n") == [
        "name\tmeaning\nalpha\tthe first\nbeta\tthe second, on two lines",
        "grid\ttable\na\tb", "Listed", "x\ty\n1\t2"]


def test_sphinx_roles_and_directives_are_read_as_sphinx_shows_them() -> None:
    text, meta, verbatim = fixture("secrets.rst")
    assert meta == {"title": "secrets --- Generate secure random numbers for managing secrets"}
    paragraphs = text.split("\n\n")
    assert paragraphs[:4] == [
        "secrets --- Generate secure random numbers for managing secrets",
        "Added in version 3.6.", "Source code: Lib/secrets.py",
        "The secrets module is used for generating cryptographically strong random numbers "
        "suitable for managing data such as passwords, account authentication, security "
        "tokens, and related secrets."]
    # object descriptions: the signature a verbatim line, the content text
    assert "token_bytes([nbytes=None])" in paragraphs and "token_bytes([nbytes=None])" \
        in verbatim
    assert "Return a random int in the range [0, n)." in paragraphs
    # Sphinx's `.. class:: Name` is a class description, not docutils' CSS class
    assert "SystemRandom" in paragraphs
    assert "See random.SystemRandom for additional details." in text
    # doctest and testcode blocks as written; testsetup, module, moduleauthor: nothing
    assert ">>> token_hex(16)  #doctest:+SKIP\n'f9bf78b9a18ce6d46a0cd2b0b86df9da'" in paragraphs
    assert "url = 'https://example.com/reset=' + secrets.token_urlsafe()" in verbatim
    assert "__name__ = '<doctest>'" not in text and "Steven D'Aprano" not in text
    assert "PEP 506" in paragraphs  # seealso's content, an RFC/PEP role docutils knows
    for markup in (":mod:", ":func:", ":term:", "..", "Unknown", "directive"):
        assert markup not in text.replace(">>> ", "")


def test_toctree_code_block_and_ref_roles() -> None:
    text, meta, verbatim = fixture("asyncio.rst")
    assert meta == {"title": "asyncio --- Asynchronous I/O"}
    paragraphs = text.split("\n\n")
    assert "  • run Python coroutines concurrently and have full control over their " \
        "execution;" in text  # :ref:`title <target>`: the title
    assert "$ python -m asyncio\nasyncio REPL ..." in text  # code-block, as written
    assert "$ python -m asyncio" in verbatim
    assert paragraphs[-2:] == ["Reference", "The source code for asyncio can be found in "
                               "Lib/asyncio/."]
    for toctree_entry in ("asyncio-runner", "asyncio-task", "maxdepth"):
        assert toctree_entry not in text


@pytest.mark.parametrize("target", ["/etc/passwd", "../secret.txt", "secret.txt"])
def test_include_raw_and_csv_table_read_no_file(tmp_path: Path, target: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "secret.txt").write_text("SECRET-CONTENT\n", encoding="utf-8")
    (tmp_path / "docs").mkdir()
    monkeypatch.chdir(tmp_path / "docs" if target.startswith("..") else tmp_path)
    path = "/etc/passwd" if target == "/etc/passwd" else target
    text, _, _ = rst_text(f"""Title
=====

.. include:: {path}

.. include:: {path}
   :literal:

.. raw:: html
   :file: {path}

.. csv-table:: Table
   :file: {path}

.. literalinclude:: {path}

.. |sub| unicode:: 0x41

Last paragraph |sub|.
""")
    assert text == "Title\n\nLast paragraph A."


def test_date_directive_gives_nothing_and_roles_do_not_leak_between_documents() -> None:
    assert rst_text(".. |today| date::\n\nBuilt |today|.")[0] == "Built ."
    assert rst_text(".. |a|b| date:: %Y\n\nBuilt |a|b|.")[0] == "Built ."
    plain = "See :foo:`Title <target>`."
    assert rst_text(plain)[0] == "See Title."
    # a document defining a role of that name reads it its way...
    assert rst_text(".. role:: foo\n\n.. default-role:: code\n\n" + plain)[0] == \
        "See Title <target>."
    # ...and the next document is read as if it had never been
    assert rst_text(plain)[0] == "See Title."


def test_unknown_directives_keep_their_text_and_nest_boundedly() -> None:
    text, _, verbatim = rst_text(".. seealso:: Module :mod:`os`\n\n"
                                 ".. versionchanged:: 3.12\n   Now faster.\n\n"
                                 ".. only:: html\n\n   Only here.\n\n"
                                 ".. image:: x.png\n   :alt: ALT\n\n"
                                 ".. py:function:: f(x)\n   :noindex:\n\n   Does f.\n")
    assert text.split("\n\n") == ["Module os", "Changed in version 3.12:", "Now faster.",
                                  "Only here.", "f(x)", "Does f."]
    assert verbatim == frozenset({"f(x)"})
    deep = "".join("   " * i + f".. x{i}::\n\n" for i in range(40)) + "   " * 40 + "end\n"
    assert rst_text(deep)[0].endswith("end")


def test_declared_coding_is_honoured() -> None:
    data = ".. -*- coding: latin-1 -*-\n\nTitre\n=====\n\nÉtude déjà faite.\n".encode("latin-1")
    record = read_rst(data)
    assert record.text == "Titre\n\nÉtude déjà faite." and record.meta == {"title": "Titre"}


HOSTILE = {
    "one-line nested list": ("- " * 300 + "x\n", "nested too deeply"),
    "nested lists on many lines": ("- - - - - x\n" * 4000, "too costly to parse"),
    "unclosed emphasis": (("*a " * 3000 + "\n") * 20, "too costly to parse"),
    "unclosed literals": (("``a " * 2000 + "\n") * 20, "too costly to parse"),
    "doubling substitutions": ("".join(f".. |s{i}| replace:: |s{i + 1}| |s{i + 1}|\n"
                                       for i in range(40)) + ".. |s40| replace:: x\n\n|s0|\n",
                               "too costly to parse"),
    "deep block quotes": ("".join(" " * i + "x\n\n" for i in range(400)), "nested too deeply"),
    "long line": ("a" * 20_000 + "\n", "over docutils' line_length_limit of 10,000"),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_costly_input_is_skipped_with_its_reason_in_bounded_time(name: str) -> None:
    text, reason = HOSTILE[name]
    start = time.perf_counter()
    with pytest.raises(SkipFile, match=reason):
        rst_text(text)
    assert time.perf_counter() - start < 30


def test_the_step_budget_leaves_real_documents_alone() -> None:
    big = "\n\n".join((RST / name).read_text(encoding="utf-8") for name in
                      ("quickstart.rst", "secrets.rst", "asyncio.rst"))
    assert rst_text(big * 20)[0].count("A ReStructuredText Primer") == 20


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(alphabet=" \n\t-*`_|:.=+#[]<>()\\0aZé\x00", max_size=400),
                 st.text(max_size=400)))
def test_rst_text_raises_nothing_but_skipfile(text: str) -> None:
    try:
        body, meta, verbatim = rst_text(text)
    except SkipFile:
        return
    assert isinstance(body, str) and isinstance(meta, dict)
    assert all(isinstance(line, str) for line in verbatim)


def test_a_build_reads_rst_files_and_skips_a_bad_one(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(RST, src, ignore=shutil.ignore_patterns("README.md"))
    (src / "deep.rst").write_text("- " * 300 + "x\n", encoding="utf-8")
    config, report = build_to(src, tmp_path / "pkg")
    assert {s.path: s.reason.split(":")[0] for s in report.skipped} == {
        "deep.rst": "reStructuredText nested too deeply"}
    docs = {d["source"]: d for d in read_docs(config.package_dir)}
    assert set(docs) == {"asyncio.rst", "mailing-lists.rst", "quickstart.rst", "secrets.rst"}
    assert {d["format"] for d in docs.values()} == {"rst"}
    mail = docs["mailing-lists.rst"]
    assert mail["title"] == "Docutils Mailing Lists" and mail["author"] == "Lea Wiemann"
    assert mail["date"] == "2022-04-02" and mail["language"] == "en"
    assert mail["meta"]["contact"] == "docutils-develop@lists.sourceforge.net"  # type: ignore[index]
    assert docs["secrets.rst"]["text"].startswith(  # type: ignore[union-attr]
        "secrets --- Generate secure random numbers for managing secrets\n\nAdded in version")


def test_a_build_is_the_same_whatever_the_worker_count(tmp_path: Path) -> None:
    src = tmp_path / "src"
    shutil.copytree(RST, src, ignore=shutil.ignore_patterns("README.md"))
    # first by name, it redefines roles; the documents after it must not notice
    (src / "a-roles.rst").write_text(
        "Rollen\n======\n\n:Language: de\n:License: mit\n:Status: Entwurf\n\n"
        ".. role:: ref\n\n.. default-role:: strong\n\n"
        "Siehe :ref:`Titel <ziel>` und `dies`.\n", encoding="utf-8")
    (src / "z-after.rst").write_text("See :ref:`Title <target>` and `that`.\n",
                                     encoding="utf-8")
    outputs = []
    for workers in (1, 2):
        config, report = build_to(src, tmp_path / f"pkg{workers}", workers=workers)
        assert report.skipped == []
        outputs.append({p.name: p.read_bytes() for p in sorted(config.data_dir.iterdir())})
        docs = {d["source"]: d for d in read_docs(config.package_dir)}
        roles = docs["a-roles.rst"]
        assert roles["text"] == "Rollen\n\nSiehe Titel <ziel> und dies."
        assert (roles["language"], roles["license"]) == ("de", "MIT")
        assert roles["meta"]["status"] == "Entwurf"  # type: ignore[index]
        assert docs["z-after.rst"]["text"] == "See Title and that."
    assert outputs[0] == outputs[1]
