"""Text quality on real-looking fixtures: boilerplate rules fire where they should and only
there, near-duplicates of every kind are caught and distinct documents are not merged,
quality filters and PII redaction do what the config says and the report explains it."""

from __future__ import annotations

import json
import random
import re
import shutil
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpuspack import passes, pii, runs, tasks
from corpuspack.boilerplate import Rules, clean
from corpuspack.build import build
from corpuspack.config import ConfigError, load_config, zero_config
from corpuspack.document import document_id
from corpuspack.errors import CorpusError
from corpuspack.neardup import NearDedup, clusters_of, shingles, signature
from corpuspack.normalise import normalise_text
from corpuspack.pii import Redaction, redact
from corpuspack.quality import GOPHER, failed, signals
from corpuspack.repetition import ngram_signals

from .conftest import FIXTURES, read_docs, text_of

QUALITY = FIXTURES / "quality"


def page(name: str) -> str:
    return normalise_text((QUALITY / "pages" / name).read_text(encoding="utf-8"))


def section(name: str) -> str:
    return (QUALITY / "handbook" / f"{name}.txt").read_text(encoding="utf-8")


# ---------------------------------------------------------------- boilerplate, per document

def test_news_page_chrome_goes_and_the_article_stays() -> None:
    text, removals = clean(page("news-article.txt"), Rules())
    rules = {r.rule: r.lines for r in removals}
    assert rules["leading_block"] == ["Skip to main content", "Home", "World", "Technology",
                                      "Science", "Opinion"]
    assert rules["trailing_block"][0] == "Share this article"
    assert rules["trailing_block"][-1] == "© 2024 Example News. All rights reserved."
    assert text.startswith("Keeping Debian Systems Up to Date Without the Drudgery\n\nBy Example")
    assert text.endswith("Periodic upgrades can be enabled: it uses a systemd timer or cron.")


def test_blog_footer_goes() -> None:
    text, removals = clean(page("blog-post.txt"), Rules())
    assert [r.rule for r in removals] == ["trailing_block"]
    assert removals[0].lines[0] == "Posted in Administration"
    assert text.startswith("Notes from a small server room")
    assert text.endswith("come back at the least convenient moment.")


@pytest.mark.parametrize("name", ["recipe.txt", "verse.txt", "toc.txt"])
def test_lists_verse_and_contents_pages_are_left_alone(name: str) -> None:
    text = page(name)
    assert clean(text, Rules()) == (text, [])


@pytest.mark.parametrize("man", sorted(p.name for p in (QUALITY / "man").glob("*.txt")))
def test_man_pages_keep_their_body(man: str) -> None:
    text = normalise_text((QUALITY / "man" / man).read_text(encoding="utf-8"))
    cleaned, _ = clean(text, Rules())
    assert "DESCRIPTION" in cleaned and len(cleaned.split()) > 0.8 * len(text.split())


def test_rules_can_be_switched_off() -> None:
    text = page("news-article.txt")
    kept, removals = clean(text, Rules(trailing_block=False, leading_block=False,
                                       repeated_lines=False))
    assert (kept, removals) == (text, [])


def test_repeated_link_lines() -> None:
    body = "\n\n".join(section("sect.user-space").split("\n")[2:6])
    last = body.split("\n\n")[-1][:200]
    text = f"Read more\n{body}\nRead more\nFollow us on social media\nRead more\n{last}."
    cleaned, removals = clean(text, Rules(trailing_block=False))
    assert [r.rule for r in removals] == ["repeated_lines"]
    assert removals[0].lines == ["Read more", "Read more"]
    assert cleaned.count("Read more") == 1


def test_article_sections_above_share_lines_stay() -> None:
    # heading + paragraph sections have the shape of headline + teaser pairs; without a
    # chrome line ("Related articles") above them they are the article
    paragraphs = [p for p in section("sect.user-space").split("\n") if len(p.split()) > 12]
    sections = [f"Part {n}: what changes\n\n{p}" for n, p in enumerate(paragraphs[:3], 1)]
    text = "\n\n".join([paragraphs[3], *sections,
                         "Share on Twitter\nShare on Facebook\nRelated articles"])
    cleaned, removals = clean(text, Rules())
    assert [(r.rule, r.lines) for r in removals] == [
        ("trailing_block", ["Share on Twitter", "Share on Facebook", "Related articles"])]
    assert all(s in cleaned for s in sections)


def test_teasers_below_a_related_heading_go() -> None:
    paragraphs = [p for p in section("sect.user-space").split("\n") if len(p.split()) > 12]
    related = ["Related articles", "Backups made simple", "A short teaser about backups.",
               "Mail servers for beginners", "Another teaser, this time about mail.",
               "Sign up for our newsletter"]
    text = "\n\n".join(paragraphs[:3] + related)
    cleaned, removals = clean(text, Rules())
    assert [(r.rule, r.lines) for r in removals] == [("trailing_block", related)]
    assert cleaned == "\n\n".join(paragraphs[:3])


@pytest.mark.parametrize("ending", [
    ["Let the cookies cool on the tray for ten minutes before you move them.",
     "The dough keeps for three days in the fridge, wrapped in paper.",
     "Store the cookies in an airtight tin, away from the bread.", "Makes 24"],
    ["The court ruled that the copyright had expired long before the book was reprinted.",
     "Readers who want to support our reporting were thanked in the next edition.",
     "The comments of the judge were printed in full on the front page."],
])
def test_prose_mentioning_chrome_words_stays(ending: list[str]) -> None:
    body = section("sect.regular-upgrades")
    text = body + "\n\n" + "\n".join(ending)
    assert clean(text, Rules()) == (text, [])


def test_title_byline_and_date_are_not_navigation() -> None:
    paragraphs = [p for p in section("sect.regular-upgrades").split("\n") if len(p.split()) > 25]
    body = "\n\n".join(paragraphs[:3])
    text = f"The Raven\nby Edgar Allan Poe\n1845\n\n{body}"
    assert clean(text, Rules()) == (text, [])


def test_no_document_is_dropped_whole() -> None:
    chrome = "\n".join(["Home", "News", "Sport", "Weather", "Contact us", "Subscribe"])
    assert clean(chrome, Rules()) == (chrome, [])


# ---------------------------------------------------------------- signals, filters, PII

def test_signals_and_gopher_filter() -> None:
    prose = section("sect.regular-upgrades")
    values = signals(prose)
    assert 4 < values["mean_word_length"] < 7 and values["non_alpha_word_fraction"] < 0.1
    assert failed(GOPHER, len(prose.split()), "en", values) is None
    table = "\n".join(f"{i} | {i * 7} | {i * 13} | ##" for i in range(200))
    reason = failed(GOPHER, len(table.split()), "en", signals(table))
    assert reason is not None and reason.startswith("quality: ")
    short = "Too short to say anything."
    assert failed(GOPHER, 5, "en", signals(short)) == "quality: n_words 5 < 50"
    assert failed(GOPHER, 5, "ja", signals(short)) is None  # word rules skip unspaced scripts
    chinese = "\n".join(f"第{i}章：他说……我们明天再谈这个问题。" for i in range(40))
    assert signals(chinese)["symbol_ratio"] > 0.1
    assert failed(GOPHER, len(chinese.split()), "zh", signals(chinese)) is None


def test_pii_redaction() -> None:
    text = ("Write to jane.doe@example.org or call +1 650-253-0000; the server is at "
            "192.168.10.24 and 2001:db8::8a2e:370:7334, release 1.2.3 is out.")
    out, counts = redact(text, Redaction(email=True, phone=True, ip=True))
    assert out == ("Write to <EMAIL> or call <PHONE>; the server is at <IP> and <IP>, "
                   "release 1.2.3 is out.")
    assert counts == {"email": 1, "phone": 1, "ip": 2}
    assert redact(text, Redaction()) == (text, {})


@pytest.mark.parametrize(("text", "expected"), [
    ("Connect to 192.168.1.1.", "Connect to <IP>."),  # an address may end a sentence
    ("Version 1.2.3.4 and release 4.4.0.1 and v10.0.0.1 are out.", None),
    ("1.2.3.4.5 is a dotted number.", None),
    ("Reverse it with x[::-1]; map :: (a -> b); std::vector<int>.", None),
    ("The icon is logo@2x.png, the clock says 12:30:45 on 2024-01-15.", None),
    ("Icons: logo@2x.PNG and logo@3x.Jpeg.", None),
    ("Hosts 2001:db8::8a2e:370:7334 and fe80::1:2 answer.", "Hosts <IP> and <IP> answer."),
])
def test_pii_redaction_leaves_what_is_not_personal(text: str, expected: str | None) -> None:
    out, counts = redact(text, Redaction(email=True, phone=True, ip=True))
    assert out == (expected or text)
    assert all(n > 0 for n in counts.values())  # no zero counts in the report


# ---------------------------------------------------------------- near-duplicates

def variants(base: str) -> dict[str, str]:
    """The near-duplicate kinds the build must catch, made from one real text."""
    paragraphs = base.split("\n")
    words = base.split(" ")
    typo = list(words)
    typo[len(typo) // 2] = typo[len(typo) // 2] + "x"
    return {
        "syndicated": "This article first appeared on Example Wire and is republished with "
                      "permission.\n\n" + base + "\n\nExample Wire is a reader-funded "
                      "news service.",
        "reflowed": "\t" + "  ".join(base.split(" ")).replace(". ", ".\n\n"),
        "typo": " ".join(typo),
        "trimmed": base[: int(len(base) * 0.9)],
        "dropped": "\n".join(paragraphs[:3] + paragraphs[4:]),
    }


def near_tree(root: Path) -> Path:
    src = root / "src"
    (src / "wire").mkdir(parents=True)
    base = section("sect.regular-upgrades")
    (src / "a-original.txt").write_text(base, encoding="utf-8")
    for kind, text in variants(base).items():
        (src / "wire" / f"{kind}.txt").write_text(text, encoding="utf-8")
    for name in ("sect.user-space", "sect.setup-apt-package-repository"):
        (src / f"{name}.txt").write_text(section(name), encoding="utf-8")
    (src / "man").mkdir()
    for man in (QUALITY / "man").glob("*.txt"):
        (src / "man" / man.name).write_text(man.read_text(encoding="utf-8"), encoding="utf-8")
    quote = ("The time bomb that is ticking toward a new human-rights disaster is near "
             "Baghdad, in a compound where refugees await their fate.")
    (src / "quote-1.txt").write_text(quote, encoding="utf-8")
    (src / "quote-2.txt").write_text(quote.replace("their fate", "the cruelest of fates"),
                                     encoding="utf-8")
    return src


def test_signature_similarity_of_each_kind() -> None:
    base = section("sect.regular-upgrades")
    settings = NearDedup()
    a = signature(base, settings)
    assert a is not None
    for kind, text in variants(base).items():
        b = signature(text, settings)
        assert b is not None
        sim = sum(x == y for x, y in zip(a, b, strict=True)) / len(a)
        assert sim >= settings.threshold, (kind, sim)
    assert shingles("Hello, World!  hello\tworld", 2) == ["hello world", "world hello",
                                                         "hello world"]


def test_build_drops_near_duplicates_and_keeps_distinct_documents(tmp_path: Path) -> None:
    config = zero_config(near_tree(tmp_path), tmp_path / "pkg")
    report = build(config, workers=1)
    sources = {d["source"] for d in read_docs(config.package_dir)}
    near = [d for d in report.iter_duplicates() if d.kind == "near"]
    group = {"a-original.txt"} | {f"wire/{k}.txt" for k in variants("x y")}
    first = min(group, key=document_id)  # the smallest id is the one kept
    assert group & sources == {first} and {d.source for d in near} == group - {first}
    assert all(d.duplicate_of_source == first and d.similarity >= 0.8 for d in near)
    for name in ("quote-1.txt", "quote-2.txt", "sect.user-space.txt",
                 "sect.setup-apt-package-repository.txt"):
        assert name in sources  # short quotations and pages of one site stay distinct
    assert sum(s.startswith("man/") for s in sources) == 8  # one template, eight documents
    saved = json.loads((config.data_dir / "build-report.json").read_text())
    assert saved["near_duplicates_dropped"] == 5
    assert {d["kind"] for d in saved["duplicates"]} == {"near"}


def test_keep_near_duplicates_marks_clusters(tmp_path: Path) -> None:
    config = zero_config(near_tree(tmp_path), tmp_path / "pkg")
    config = replace(config, near_dedup=replace(config.near_dedup, keep=True))
    report = build(config, workers=2)
    docs = {d["source"]: d for d in read_docs(config.package_dir)}
    assert report.near_duplicates_dropped == 0 and len(docs) == 6 + 4 + 8
    clusters = {d["cluster"] for s, d in docs.items()
                if s == "a-original.txt" or s.startswith("wire/")}
    assert len(clusters) == 1 and None not in clusters
    assert docs["quote-1.txt"]["cluster"] is None and docs["man/cp.txt"]["cluster"] is None


# ---------------------------------------------------------------- corpus-wide passes

FOOTER = ("Example Press is an independent newsroom funded by readers like you, and every "
          "story is free to read.")


def site_tree(root: Path) -> Path:
    src = root / "src"
    site, other = src / "site", src / "other"
    site.mkdir(parents=True)
    other.mkdir()
    rng = random.Random(4)
    paragraphs = [p for name in ("sect.user-space", "sect.regular-upgrades",
                                 "sect.setup-apt-package-repository")
                  for p in section(name).split("\n") if len(p.split()) > 25]
    for i in range(14):
        body = "\n\n".join(rng.sample(paragraphs, 3))
        (site / f"story-{i:02d}.txt").write_text(f"{body}\n\n{FOOTER}\n", encoding="utf-8")
    for i in range(3):
        body = "\n\n".join(rng.sample(paragraphs, 3))
        (other / f"note-{i}.txt").write_text(f"{body}\n\n{FOOTER}\n", encoding="utf-8")
    return src


def test_lines_frequent_across_a_source_are_removed(tmp_path: Path) -> None:
    config = zero_config(site_tree(tmp_path), tmp_path / "pkg")
    config = replace(config, near_dedup=replace(config.near_dedup, enabled=False),
                     boilerplate=replace(config.boilerplate, audit=True, frequent_lines=True))
    report = build(config, workers=2)
    docs = read_docs(config.package_dir)
    site = [d for d in docs if d["source"].startswith("site/")]
    other = [d for d in docs if d["source"].startswith("other/")]
    assert len(site) == 14 and all("Example Press is" not in d["text"] for d in site)
    assert all("Example Press is" in d["text"] for d in other)  # 3 documents: too few
    assert report.frequent_lines >= 1
    assert report.summary(timing=False)["boilerplate_removed"]["frequent_lines"] == {
        "chars": 14 * (len(FOOTER) + 1), "documents": 14, "lines": 14}
    audit = [json.loads(line) for line in
             (config.data_dir / "boilerplate-audit.jsonl").read_text().splitlines()]
    assert len(audit) == 14 and all(a["rule"] == "frequent_lines" for a in audit)
    assert [a["id"] for a in audit] == sorted(a["id"] for a in audit)
    assert all(a["evidence"] == [{"line": FOOTER, "why": "frequent in its source",
                                  "source": "folder:site", "documents": 14, "of": 14}]
               for a in audit)


def test_frequent_lines_are_off_by_default(tmp_path: Path) -> None:
    # locality: a document's text depends on its own file, its metadata and the config
    config = zero_config(site_tree(tmp_path), tmp_path / "pkg")
    report = build(config, workers=1)
    assert report.frequent_lines == 0
    assert all(FOOTER in d["text"] for d in read_docs(config.package_dir))


def test_frequent_lines_run_only_where_the_config_opts_in(tmp_path: Path) -> None:
    # site/ opts in: its 14 stories lose the footer; other/ neither loses it nor counts
    src = site_tree(tmp_path)
    for i in range(11):  # other/ alone would have enough documents to make it frequent
        (src / "other" / f"more-{i}.txt").write_text(
            section("sect.user-space").split("\n")[i % 3 + 2] + f" ({i})\n\n{FOOTER}\n",
            encoding="utf-8")
    (tmp_path / "corpus.toml").write_text(
        '[near_dedup]\nenabled = false\n[[boilerplate.folders]]\nglob = "site/*"\n'
        'frequent_lines = true\n', encoding="utf-8")
    config = zero_config(src, tmp_path / "pkg", load_config(tmp_path / "corpus.toml"))
    report = build(config, workers=2)
    docs = read_docs(config.package_dir)
    assert report.frequent_lines == 1
    assert all((FOOTER in d["text"]) == d["source"].startswith("other/") for d in docs)


@pytest.mark.parametrize("near", [True, False])
def test_copies_of_one_page_do_not_make_its_body_frequent(tmp_path: Path, near: bool) -> None:
    # a mirror holds ten exact copies of a page, a revision of it, and ten edited copies
    # (a typo each): its lines recur in many documents, yet they are the page, not chrome
    body = section("sect.regular-upgrades")
    mirror = tmp_path / "src" / "mirror"
    mirror.mkdir(parents=True)
    for i in range(10):
        (mirror / f"copy-{i}.txt").write_text(body, encoding="utf-8")
        edited = body.replace("upgrade", f"upgrade{'s' * (i + 1)}", 1)
        (mirror / f"edit-{i}.txt").write_text(edited, encoding="utf-8")
    (mirror / "revised.txt").write_text(body + "\nA paragraph added in the revision.",
                                        encoding="utf-8")
    config = zero_config(tmp_path / "src", tmp_path / "pkg")
    config = replace(config, near_dedup=replace(config.near_dedup, enabled=near),
                     boilerplate=replace(config.boilerplate, frequent_lines=True))
    report = build(config, workers=2)
    docs = read_docs(config.package_dir)
    assert report.summary(timing=False)["boilerplate_removed"].get("frequent_lines") is None
    first_paragraph, last_paragraph = body.strip().split("\n")[0], body.strip().split("\n")[-1]
    assert docs and all(first_paragraph[:60] in d["text"] and last_paragraph[-60:] in d["text"]
                        for d in docs)
    assert len(docs) == (1 if near else 12)


def test_quality_filters_and_pii_in_a_build(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "prose.txt").write_text(section("sect.regular-upgrades")
                                   + "\nContact the maintainers at team@example.org.",
                                   encoding="utf-8")
    (src / "table.txt").write_text("\n".join(f"{i} | {i * 7} | {i * 13} | ##"
                                             for i in range(200)), encoding="utf-8")
    (tmp_path / "corpus.toml").write_text(
        '[quality]\npreset = "gopher"\n[pii]\nemail = true\n', encoding="utf-8")
    config = zero_config(src, tmp_path / "pkg", load_config(tmp_path / "corpus.toml"))
    report = build(config, workers=1)
    (doc,) = read_docs(config.package_dir)
    assert doc["source"] == "prose.txt" and "<EMAIL>" in doc["text"]
    assert [(f.path, f.reason.split(" ")[1]) for f in report.iter_filtered()] == [
        ("table.txt", "mean_word_length")]
    saved = json.loads((config.data_dir / "build-report.json").read_text())
    assert [f["path"] for f in saved["filtered"]] == ["table.txt"]
    summary = report.summary(timing=False)
    assert summary["pii_redacted"] == {"email": 1}
    assert summary["filtered_by_reason"] == {"mean_word_length": 1}


@pytest.mark.parametrize(("text", "message"), [
    ("[boilerplate]\ntrailing_blocks = false", "unknown key 'trailing_blocks'"),
    ("[near_dedup]\nthreshold = \"high\"", "must be a number"),
    ("[quality]\npreset = \"c5\"", "preset"),
    ("[quality]\nmin_wordz = 3", "unknown key 'min_wordz'"),
])
def test_quality_config_errors(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "corpus.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path / "corpus.toml")


BOILERPLATE_SCOPES = """
[boilerplate]
min_chrome_lines = 3
[boilerplate.formats.markdown]
repeated_lines = false
[boilerplate.formats.html]
min_chrome_lines = 1
[[boilerplate.folders]]
glob = "web/*"
frequent_lines = true
min_chrome_lines = 2
[[boilerplate.folders]]
glob = "web/archive/*"
trailing_block = false
"""


def test_rules_per_format_and_folder(tmp_path: Path) -> None:
    (tmp_path / "corpus.toml").write_text(BOILERPLATE_SCOPES, encoding="utf-8")
    rules = load_config(tmp_path / "corpus.toml").boilerplate
    assert rules.counts_lines and not rules.frequent_lines

    def of(source: str, fmt: str) -> tuple[bool, bool, bool, int | None]:
        got = rules.for_document(source, fmt)
        assert got.formats == () and got.folders == ()
        return got.trailing_block, got.repeated_lines, got.frequent_lines, got.min_chrome_lines

    assert of("notes/a.txt", "text") == (True, True, False, 3)  # [boilerplate] over defaults
    assert of("notes/a.md", "markdown") == (True, False, False, 3)  # its format's table
    assert of("notes/a.html", "html") == (True, True, False, 1)
    assert of("web/a.html", "html") == (True, True, True, 2)  # a folder entry over formats
    assert of("web/x/y/a.md", "markdown") == (True, False, True, 2)  # * matches /
    assert of("web/archive/a.html", "html") == (False, True, True, 2)  # later entries win
    assert of("webs/a.html", "html") == (True, True, False, 1)
    assert Rules().for_document("a.html", "html").min_chrome_lines == 1
    assert Rules().for_document("a.txt", "text").min_chrome_lines == 2


def test_text_quality_and_card_say_which_rules_ran_where(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "web").mkdir(parents=True)
    (src / "web" / "a.txt").write_text(section("sect.user-space"), encoding="utf-8")
    (tmp_path / "corpus.toml").write_text(BOILERPLATE_SCOPES, encoding="utf-8")
    config = zero_config(src, tmp_path / "pkg", load_config(tmp_path / "corpus.toml"))
    build(config, workers=1)
    descriptor = json.loads((config.package_dir / "datapackage.json").read_text())
    recorded = descriptor["corpuspack"]["text_quality"]["boilerplate"]
    assert recorded["min_chrome_lines"] == 3 and recorded["frequent_lines"] is False
    assert recorded["formats"]["markdown"]["repeated_lines"] is False
    assert recorded["formats"]["html"]["min_chrome_lines"] == 1
    assert recorded["formats"]["text"]["min_chrome_lines"] == 3
    assert recorded["folders"] == [
        {"glob": "web/*", "frequent_lines": True, "min_chrome_lines": 2},
        {"glob": "web/archive/*", "trailing_block": False}]
    from corpuspack.card import update
    from corpuspack.project import locate

    project = locate(config.package_dir)
    update(project)
    card = project.card.read_text()
    assert "in CSV files, DOCX files, EPUB files, HTML pages, JSON lines records, ODT files, " \
        "PDF files, reStructuredText, plain text, TSV files and WARC files: trailing blocks" in card
    assert "in Markdown: trailing blocks of link-like lines (related articles, newsletter " \
        "prompts), leading navigation;" in card
    assert "a block needed 3 chrome or navigation lines in CSV files, DOCX files, EPUB files, " \
        "JSON lines records, Markdown, ODT files, PDF files, reStructuredText, plain text, " \
        "TSV files and WARC files, 1 in HTML pages" in card
    assert "in sources matching `web/*`: lines frequent across the documents of one source " \
        "on, `min_chrome_lines` 2; in sources matching `web/archive/*`: trailing blocks of " \
        "link-like lines (related articles, newsletter prompts) off" in card


def test_the_template_examples_of_scopes_load(tmp_path: Path) -> None:
    from corpuspack.scaffold import BOILERPLATE_SCOPES as LINES

    examples = [line[2:].split("  #")[0] for line in LINES if " = " in line]
    assert examples[0].startswith("formats = ") and examples[1].startswith("folders = ")
    (tmp_path / "corpus.toml").write_text("[boilerplate]\n" + "\n".join(examples) + "\n",
                                          encoding="utf-8")
    rules = load_config(tmp_path / "corpus.toml").boilerplate
    assert rules.for_document("web/a.html", "html").frequent_lines
    assert not rules.for_document("a.md", "markdown").repeated_lines


@pytest.mark.parametrize(("text", "message"), [
    ("[boilerplate.formats.htm]\nleading_block = false",
     r"unknown key 'htm' in .* \[boilerplate.formats\] \(did you mean 'html'\?\)"),
    ("[boilerplate.formats.html]\naudit = true",
     r"\[boilerplate.formats.html\] audit in .*holds for the whole build"),
    ("[boilerplate.formats.html]\nmin_chrome_lines = 0",
     r"\[boilerplate.formats.html\] min_chrome_lines in .* must be between 1 and 10,000, "
     r"not 0"),
    ("[boilerplate.formats.text]\ntrailing_block = 1", "must be a bool"),
    ("[boilerplate]\nformats = 3", "must be a table of formats"),
    ("[boilerplate]\nformats = { html = 3 }", r"\[boilerplate.formats.html\] in .* must be "
                                               "a table"),
    ("[boilerplate]\nfolders = \"web\"", "must be an array of tables"),
    ("[[boilerplate.folders]]\nfrequent_lines = true", "entry 1 in .* needs a glob"),
    ("[[boilerplate.folders]]\nglob = \"\"", "needs a glob"),
    ("[[boilerplate.folders]]\nglob = \"web/*\"\ntrailing_blocks = false",
     r"unknown key 'trailing_blocks' in .*glob 'web/\*'.* \(did you mean 'trailing_block'"),
    ("[[boilerplate.folders]]\nglob = \"web/*\"\nfrequent_max_share = 2",
     r"\[boilerplate.folders\] frequent_max_share in .*glob 'web/\*'.* must be between 0 "
     "and 1"),
    ("[boilerplate]\nmin_chrome_lines = 0", "must be between 1 and 10,000"),
])
def test_boilerplate_scope_errors(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "corpus.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path / "corpus.toml")


def test_near_duplicates_do_not_chain(tmp_path: Path) -> None:
    # b differs from a in its last 20 values (similarity 0.84), c from b in its first 20
    # (0.84), so c differs from a in 40 (0.69): c is no near-duplicate of the kept a
    a = list(range(128))
    b = a[:108] + [1000 + i for i in range(20)]
    c = [2000 + i for i in range(20)] + b[20:]
    ids = ["0" * 15 + "1", "0" * 15 + "2", "0" * 15 + "3"]
    found = clusters_of(dict(zip(ids, (a, b, c), strict=True)), NearDedup())
    assert found.members == {ids[0]: (ids[0], 1.0), ids[1]: (ids[0], 0.8438)}
    assert found.clusters == 1
    # the similarity reported is the dropped document's own, with the document it names
    c_like_a = a[:100] + [3000 + i for i in range(28)]  # 0.78 with a, 0.84 with b
    found = clusters_of(dict(zip(ids, (a, c_like_a, b), strict=True)), NearDedup())
    assert found.members == {ids[0]: (ids[0], 1.0), ids[2]: (ids[0], 0.8438)}


def test_a_near_duplicate_of_a_kept_document_is_found_behind_a_dropped_one(
        tmp_path: Path) -> None:
    # ids x < a < b < c. a is x with band 1 and two values replaced (0.92: dropped). b and
    # c take a's band 1 and differ from x by one value in every other band, each its own
    # value, so x shares no band with them and b shares only band 1 with c, where a is
    # first. b is kept (never paired with x); c is 0.88 similar to b. Pairing each bucket
    # member with the bucket's first alone compares c only with the dropped a, and keeps c.
    x = list(range(128))
    a = x[:8] + [1000 + i for i in range(8)] + x[16:]
    a[112], a[120] = 1112, 1120
    b = x[:8] + a[8:16] + x[16:]
    for band in (0, *range(2, 16)):
        b[band * 8 + 2] = 2000 + band
    c = list(b)
    for band in (0, *range(2, 16)):
        c[band * 8 + 3] = 3000 + band
    ids = [f"{i:016x}" for i in range(1, 5)]
    sigs = dict(zip(ids, (x, a, b, c), strict=True))
    rows = NearDedup().rows
    shared = {(i, j): [k for k in range(16) if sigs[i][k * rows:(k + 1) * rows]
                       == sigs[j][k * rows:(k + 1) * rows]] for i in ids for j in ids if i < j}
    assert shared[(ids[0], ids[1])] == [0, *range(2, 14)]
    assert shared[(ids[1], ids[2])] == shared[(ids[1], ids[3])] == shared[(ids[2], ids[3])] == [1]
    assert not shared[(ids[0], ids[2])] and not shared[(ids[0], ids[3])]
    found = clusters_of(sigs, NearDedup())
    assert found.members == {ids[0]: (ids[0], 1.0), ids[1]: (ids[0], 0.9219),
                             ids[2]: (ids[2], 1.0), ids[3]: (ids[2], 0.8828)}


def test_an_exact_copy_makes_no_near_duplicate_cluster(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    body = section("sect.regular-upgrades")
    (src / "a.txt").write_text(body, encoding="utf-8")
    (src / "b.txt").write_text(body, encoding="utf-8")
    (src / "c.txt").write_text(section("sect.user-space"), encoding="utf-8")
    config = zero_config(src, tmp_path / "pkg")
    config = replace(config, near_dedup=replace(config.near_dedup, keep=True))
    report = build(config, workers=1)
    docs = read_docs(config.package_dir)
    assert report.duplicates_dropped == 1 and report.near_duplicate_clusters == 0
    assert len(docs) == 2 and all(d["cluster"] is None for d in docs)


def _site_with_line(src: Path, line: str) -> None:
    shutil.rmtree(src, ignore_errors=True)
    src.mkdir(parents=True)
    rng = random.Random(7)
    paragraphs = [p for p in section("sect.user-space").split("\n") if len(p.split()) > 25]
    for i in range(12):
        body = "\n\n".join(rng.sample(paragraphs, 2))
        (src / f"story-{i:02d}.txt").write_text(f"{line}\n\n{body}\n", encoding="utf-8")


def test_a_second_build_in_one_process_counts_lines_afresh(tmp_path: Path) -> None:
    src = tmp_path / "src"
    config = zero_config(src, tmp_path / "pkg")
    config = replace(config, near_dedup=replace(config.near_dedup, enabled=False),
                     boilerplate=replace(config.boilerplate, frequent_lines=True))
    _site_with_line(src, "Filed by the Example Press desk in Lisbon, Portugal, this week.")
    build(config, workers=1)
    _site_with_line(src, "Filed by the Example Press desk in Porto, Portugal, this month.")
    build(config, workers=1)  # same package, same work folder: no stale line counts
    docs = read_docs(config.package_dir)
    assert len(docs) == 12 and not any("Filed by" in d["text"] for d in docs)


def test_a_folder_name_with_a_newline_or_tab(tmp_path: Path) -> None:
    src = tmp_path / "src"
    odd = src / "news\nwire\tdesk"
    odd.mkdir(parents=True)
    for i in range(3):
        (odd / f"{i}.txt").write_text(section("sect.user-space") + f" ({i})", encoding="utf-8")
    config = zero_config(src, tmp_path / "pkg")
    report = build(config, workers=1)
    assert report.documents_written == 1 and report.near_duplicates_dropped == 2


def test_output_does_not_depend_on_how_work_is_batched(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # every corpus-wide pass on: near-duplicates, frequent lines, filters, PII
    src = near_tree(tmp_path / "a")
    shutil.copytree(site_tree(tmp_path / "b"), src, dirs_exist_ok=True)
    (tmp_path / "corpus.toml").write_text(
        '[quality]\nmin_words = 30\n[pii]\nemail = true\n[boilerplate]\naudit = true\n'
        'frequent_lines = true\n',
        encoding="utf-8")
    base = load_config(tmp_path / "corpus.toml")
    one = zero_config(src, tmp_path / "one" / "pkg", base)
    build(one, workers=1)
    monkeypatch.setattr(tasks, "TASK_MAX_FILES", 2)
    monkeypatch.setattr(runs, "ROW_GROUP_ROWS", 2)
    monkeypatch.setattr(passes, "SORT_BYTES", 4096)  # ids sorted in many ranges
    many = zero_config(src, tmp_path / "many" / "pkg", base)
    report = build(many, workers=2)
    assert report.near_duplicates_dropped == 5 and report.frequent_lines >= 1
    for name in sorted(p.name for p in one.data_dir.iterdir()):
        assert (one.data_dir / name).read_bytes() == (many.data_dir / name).read_bytes(), name
    assert (one.package_dir / "datapackage.json").read_bytes() == (
        many.package_dir / "datapackage.json").read_bytes()


# ---------------------------------------------------------------- repetition (Gopher)

def _covered_fraction(words: list[str], n: int) -> float:
    """Brute force: characters of the words inside any n-gram that occurs twice or more."""
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    covered = {j for i, g in enumerate(grams) if grams.count(g) > 1 for j in range(i, i + n)}
    return sum(len(words[j]) for j in covered) / max(1, sum(map(len, words)))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "bb", "ccc", "a1", "ü"]), max_size=60))
def test_duplicate_ngram_fractions_match_brute_force(words: list[str]) -> None:
    values = ngram_signals(words)
    for n in range(5, 11):
        expected = _covered_fraction(words, n)
        assert values[f"duplicate_{n}gram_char_fraction"] == pytest.approx(expected), n
    assert all(0 <= v <= 1 for v in values.values())


def test_gopher_repetition_rules() -> None:
    prose = section("sect.regular-upgrades")
    values = signals(prose, repetition_signals=True)
    assert failed(GOPHER, len(prose.split()), "en", values) is None
    loop = "\n".join(prose.split("\n")[:6]) + "\n" + "Buy cheap watches online today.\n" * 40
    reason = failed(GOPHER, len(loop.split()), "en", signals(loop, repetition_signals=True))
    assert reason is not None and reason.startswith("quality: duplicate_line_fraction")
    spam = " ".join(["best price cheap pills online now"] * 30) + " " + prose
    reason = failed(GOPHER, len(spam.split()), "en", signals(spam, repetition_signals=True))
    assert reason is not None and "gram_char_fraction" in reason
    # not asked for: the columns stay empty and no rule reads them
    assert signals(spam)["duplicate_5gram_char_fraction"] is None
    assert failed(GOPHER, len(spam.split()), "en", signals(spam)) is None
    # n-gram rules count CJK characters as words: they do not judge unspaced scripts
    japanese = text_of("ja-jp")
    values = signals(japanese, repetition_signals=True)
    assert values["duplicate_5gram_char_fraction"] > 0.15
    assert failed(GOPHER, len(japanese.split()), "ja", values) is None


def test_repetition_columns_are_filled_only_when_asked(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text(section("sect.user-space"), encoding="utf-8")
    plain = zero_config(src, tmp_path / "plain")
    build(plain, workers=1)
    (doc,) = read_docs(plain.package_dir)
    assert doc["top_2gram_char_fraction"] is None and doc["mean_word_length"] > 0
    (tmp_path / "corpus.toml").write_text("[quality]\nrepetition_signals = true\n",
                                          encoding="utf-8")
    asked = zero_config(src, tmp_path / "asked", load_config(tmp_path / "corpus.toml"))
    build(asked, workers=1)
    (doc,) = read_docs(asked.package_dir)
    assert 0 < doc["top_2gram_char_fraction"] < 0.2


def test_a_build_that_keeps_nothing_says_why(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text(section("sect.user-space"), encoding="utf-8")
    (tmp_path / "corpus.toml").write_text("[quality]\nmin_words = 100000\n", encoding="utf-8")
    config = zero_config(src, tmp_path / "pkg", load_config(tmp_path / "corpus.toml"))
    with pytest.raises(CorpusError, match=r"1 filtered, 0 duplicates \(quality: n_words: 1\)"):
        build(config, workers=1)


def _top_fraction(words: list[str], n: int) -> float:
    """Brute force: characters of the words inside the most frequent n-gram's occurrences
    (of several as frequent, the first seen: Counter order), when it occurs twice or more."""
    grams = [tuple(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0.0
    top, times = Counter(grams).most_common(1)[0]
    if times < 2:
        return 0.0
    covered = {j for i, g in enumerate(grams) if g == top for j in range(i, i + n)}
    return sum(len(words[j]) for j in covered) / max(1, sum(map(len, words)))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["a", "bb", "ccc", "a1", "ü"]), max_size=60))
def test_top_ngram_fractions_match_brute_force(words: list[str]) -> None:
    values = ngram_signals(words)
    for n in (2, 3, 4):
        assert values[f"top_{n}gram_char_fraction"] == pytest.approx(_top_fraction(words, n)), n


@settings(max_examples=500, deadline=None)
@given(st.lists(st.one_of(
    st.lists(st.sampled_from(["0", "1", "12", "255", "256", "1234"]), min_size=2,
             max_size=5).map(".".join),
    st.lists(st.sampled_from(["", "2001", "db8", "fe80", "1", "g"]), min_size=2,
             max_size=9).map(":".join),
    st.sampled_from([" ", ".", ":", "v", "version ", "a", "1", "\n", "_"])), max_size=8).map(
        "".join))
def test_ip_redaction_matches_a_scan_of_every_position(text: str) -> None:
    """Scanning only texts that hold a candidate's dot or colon part skips no IP."""
    expected, found = text, 0
    for pattern in (pii.IPV4, pii.IPV6):
        def swap(match: re.Match[str]) -> str:
            nonlocal found
            if pii._ip_in_context(match.string, match):
                found += 1
                return "<IP>"
            return match.group()

        expected = pattern.sub(swap, expected)
    redacted, counts = redact(text, Redaction(ip=True))
    assert redacted == expected and counts["ip"] == found


def test_words_kept_for_signatures_change_nothing_and_stay_bounded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The words split for the repetition signals are kept for the signature, within the
    bound, oldest first out; a signature is the same with or without them."""
    from corpuspack import neardup
    from corpuspack.repetition import signals as repetition_signals

    monkeypatch.setattr(neardup, "_KEPT", neardup._KeptWords(neardup.KEPT_CHARS))  # empty
    settings = NearDedup()
    texts = [f"{section('sect.regular-upgrades')} {i}" for i in range(3)]
    texts.append("Ünïcode 東京 words, and MORE words " * 20)
    alone = [signature(text, settings) for text in texts]  # nothing kept
    assert not neardup._KEPT.words
    for text in texts:
        repetition_signals(text)
    assert set(neardup._KEPT.words) == set(texts)
    assert [signature(text, settings) for text in texts] == alone
    assert not neardup._KEPT.words and neardup._KEPT.chars == 0
    kept = neardup._KeptWords(limit=2 * len(texts[0]) + 10)
    for text in texts[:3]:
        kept.keep(text, neardup.words(text))
    assert list(kept.words) == texts[1:3] and kept.chars <= kept.limit
    kept.keep("x" * (kept.limit + 1), ["x"])  # longer than the bound: not kept
    assert list(kept.words) == texts[1:3]
    assert kept.take(texts[1]) == neardup.words(texts[1]) and kept.take(texts[1]) is None


_WORD_CHARS = st.sampled_from(list("aé_1٣²Ⅷ.,-'(\"«»…") + ["\u0301", "ǅ", "〇", "ª"])


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.text(_WORD_CHARS, min_size=1, max_size=6),
                          st.text(min_size=1, max_size=6).filter(lambda w: not w.isspace())),
                max_size=40))
def test_word_counts_match_the_regex_on_every_word(words: list[str]) -> None:
    from corpuspack.quality import _word_counts

    letter = re.compile(r"[^\W\d_]")
    assert _word_counts(words) == (len(words), sum(map(len, words)),
                                   sum(1 for w in words if letter.search(w) is None))
