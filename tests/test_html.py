"""HTML main text, titles and verbatim lines (corpuspack.sources.html, read_html).

Variants of the shared cases html-main-in-aside and html-list-at-end (the article in every
element main-content extraction drops; lists, tables, definition lists and code at the end
and in the middle of ``<article>``/``<main>``, and on pages without either), and real
documentation pages in tests/fixtures/html (mdBook 0.4 and 0.5, Sphinx, rustdoc, DocBook:
see the README there), checked with an independent parser (lxml) for every heading, list
item, table cell and code line of their main content.
"""

from __future__ import annotations

import re
from pathlib import Path

import lxml.html
import pytest
from resiliparse.parse.html import HTMLTree

from corpuspack.normalise import normalise_text
from corpuspack.sources import html
from corpuspack.sources.formats.html import read_html
from tests.conftest import FIXTURES, build_to, read_docs

PAGES = FIXTURES / "html"
NON_WORD = re.compile(r"\W+")

HEADLINE = "Ferry crews vote to strike over winter rota"
ARTICLE = [
    "Crews on the three northern ferry routes have voted to walk out for two days next "
    "month after talks about the winter rota broke down on Friday evening.",
    "The union said its members had been asked to work twelve-hour shifts for six weeks in "
    "a row while two of the older vessels are in dry dock for repairs.",
    "The operator said it regretted the decision and would publish a reduced timetable so "
    "that hospital patients and school pupils can still travel to the mainland.",
    "Island businesses warned that a stoppage so close to the Christmas trading period "
    "would hit shops and hotels that rely on deliveries arriving every morning.",
]
CHROME = ('<header class="masthead"><div class="site-title"><p>The Island Courier: news '
          'from the western isles since 1898</p></div><nav><ul><li><a href="/">Home</a></li>'
          '<li><a href="/news">News</a></li></ul></nav></header>')
FOOTER = "<footer><p>Copyright 2023 Island Courier Ltd.</p></footer>"


def page(body: str, title: str = HEADLINE) -> bytes:
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}'
            f"</title></head><body>{CHROME}{body}{FOOTER}</body></html>").encode()


def article(h1: bool = True) -> str:
    return (f"<h1>{HEADLINE}</h1>" if h1 else "") + "".join(f"<p>{p}</p>" for p in ARTICLE)


def canon(text: str) -> str:
    return NON_WORD.sub("", text.casefold())


# ------------------------------------------------------------------ article held where
# main-content extraction drops it (html-main-in-aside)

HOLDERS = {
    "aside": '<aside class="story">{}</aside>',
    "div.comments": '<div class="comments">{}</div>',
    "div.related": '<div class="related">{}</div>',
    "section in aside": "<aside><section>{}</section></aside>",
    "article in aside": "<aside><article>{}</article></aside>",
    "article.comments": '<article class="comments">{}</article>',
    "div#comments": '<div id="comments">{}</div>',
    "div.related-posts": '<div class="post related-posts">{}</div>',
    "section.sidebar": '<section class="sidebar">{}</section>',
}
PLACES = {
    "in <main>": "<main>{}</main>",
    "in <main>, deep": '<div class="page"><div class="wrap"><main>{}</main></div></div>',
    "no <main>": "{}",
    "no <main>, deep": '<div id="page"><div class="content">{}</div></div>',
    "beside an empty <main>": "<main><p>Live updates</p></main>{}",
}


@pytest.mark.parametrize("holder", sorted(HOLDERS))
@pytest.mark.parametrize("place", sorted(PLACES))
@pytest.mark.parametrize("h1", [True, False], ids=["h1", "no-h1"])
def test_article_in_a_dropped_element_is_kept(holder: str, place: str, h1: bool) -> None:
    if place == "beside an empty <main>" and not h1:
        pytest.skip("nothing ties an article without a heading outside <main> to the page: "
                    "by the page's own markup <main> is its main content")
    data = page(PLACES[place].format(HOLDERS[holder].format(article(h1))))
    record = read_html(data, None)
    paragraphs = [p.strip() for p in record.text.split("\n\n")]
    for paragraph in ARTICLE:
        assert paragraph in paragraphs, (holder, place, record.text)
    if h1:
        assert HEADLINE in paragraphs
    assert record.meta["title"] == HEADLINE
    main_only = html.plain_text(HTMLTree.parse(data.decode()), main_content=True)
    if record.text != main_only:  # every fallback is on record
        assert record.meta["extraction"].startswith("fallback: ")
    else:
        assert "extraction" not in record.meta


def test_the_case_page_records_which_fallback() -> None:
    record = read_html(page(PLACES["in <main>"].format(HOLDERS["aside"].format(article()))),
                       None)
    assert record.meta["extraction"] == (
        "fallback: <main> subtree: main-content extraction missed the page's heading")
    record = read_html(page(HOLDERS["aside"].format(article())), None)
    assert record.meta["extraction"] == (
        "fallback: whole body: main-content extraction missed the page's heading")
    # the article beside <main>: its heading is not in <main>, so the whole body
    record = read_html(page(PLACES["beside an empty <main>"].format(
        HOLDERS["div.related"].format(article()))), None)
    assert record.meta["extraction"] == (
        "fallback: whole body: main-content extraction missed the page's heading")


# ------------------------------------------------------------------ lists, tables, <dl>,
# code at the end and in the middle (html-list-at-end)

INTRO = ("<p>This bread is the easiest loaf I know, and it has not failed me once in twenty "
         "years of baking at home. Mix everything in the evening and bake it in the "
         "morning.</p>")
OUTRO_TEXT = "Leave the loaf to cool on a rack for an hour before you cut it."
OUTRO = f"<p>{OUTRO_TEXT}</p>"
ITEMS = ["500 g strong white flour", "350 ml lukewarm water", "10 g fine salt",
         "2 g dried yeast", "1 tablespoon honey"]
BLOCKS = {
    "ul": "<ul>" + "".join(f"<li>{i}</li>" for i in ITEMS) + "</ul>",
    "ol": "<ol>" + "".join(f"<li>{i}</li>" for i in ITEMS) + "</ol>",
    "ul of links": "<ul>" + "".join(f'<li><a href="/i/{n}">{i}</a></li>'
                                    for n, i in enumerate(ITEMS)) + "</ul>",
    "nested ul": f"<ul><li>{ITEMS[0]}<ul>" + "".join(f"<li>{i}</li>" for i in ITEMS[1:])
                 + "</ul></li></ul>",
    "table": "<table><tr><th>Ingredient</th><th>Note</th></tr>" + "".join(
        f"<tr><td>{i}</td><td>weighed</td></tr>" for i in ITEMS) + "</table>",
    "dl": "<dl>" + "".join(f"<dt>{i}</dt><dd>from the pantry shelf</dd>" for i in ITEMS)
          + "</dl>",
    "pre": "<pre>" + "\n".join(ITEMS) + "</pre>",
    # blocks wrapped in a <figure>, which Resiliparse drops whole with its alt texts
    "table in a figure (WordPress)": '<figure class="wp-block-table"><table>' + "".join(
        f"<tr><td>{i}</td></tr>" for i in ITEMS) + "</table></figure>",
    "code in a figure (Jekyll, Hugo)": '<figure class="highlight"><pre><code>'
                                       + "\n".join(ITEMS) + "</code></pre></figure>",
    "quotation in a figure (pullquote)": '<figure class="wp-block-pullquote"><blockquote>'
                                         + "".join(f"<p>{i}</p>" for i in ITEMS)
                                         + "</blockquote></figure>",
    "list in a captioned figure": "<figure><ul>" + "".join(f"<li>{i}</li>" for i in ITEMS)
                                  + "</ul><figcaption>What goes in</figcaption></figure>",
}
CONTAINERS = {
    "<main><article>": "<main><article>{}</article></main>",
    "<article>": "<article>{}</article>",
    "<main>": "<main>{}</main>",
    "<div>, no <main>": '<div class="recipe">{}</div>',
    "<body>, no <main>": "{}",
    "deep <main><article>": '<div class="a"><div class="b"><main><article>{}</article>'
                            "</main></div></div>",
}


def recipe(block: str, at_end: bool) -> str:
    heading = "<h1>The overnight loaf</h1>"
    if at_end:
        return f"{heading}{INTRO}<h2>You will need</h2>{block}"
    return f"{heading}{INTRO}<h2>You will need</h2>{block}{OUTRO}"


@pytest.mark.parametrize("block", sorted(BLOCKS))
@pytest.mark.parametrize("container", sorted(CONTAINERS))
@pytest.mark.parametrize("at_end", [True, False], ids=["at-end", "in-middle"])
def test_lists_tables_and_code_of_the_main_content_are_kept(block: str, container: str,
                                                            at_end: bool) -> None:
    if block == "ul of links" and "no <main>" in container:
        pytest.skip("on a page that marks no main content a list of links is taken for "
                    "navigation (more than 20% link text, Resiliparse's own bound)")
    body = CONTAINERS[container].format(recipe(BLOCKS[block], at_end))
    record = read_html(page(body, title="The overnight loaf"), None)
    text = canon(record.text)
    for item in ["The overnight loaf", "You will need", *ITEMS]:
        assert canon(item) in text, (block, container, record.text)
    if not at_end:
        assert canon(OUTRO_TEXT) in text
    assert record.meta["title"] == "The overnight loaf"
    main_only = html.plain_text(HTMLTree.parse(page(body).decode()), main_content=True)
    if record.text != main_only:  # every fallback is on record
        assert record.meta["extraction"].startswith("fallback: ")


# One paragraph of the article in an element main-content extraction drops for its tag or
# class: it kept the rest, with no other block missing, and the paragraph went silently.
DROPPED_PARAGRAPHS = {
    "comments class": '<div class="comments-from-council"><p>{}</p></div>',
    "related class": '<p class="related">{}</p>',
    "sidebar box": '<div class="sidebar"><p>{}</p></div>',
    "aside note": "<aside><p>{}</p></aside>",
    "article footer": "<footer><p>{}</p></footer>",
    "blockquote in comments class": '<div class="comment"><blockquote>{}</blockquote></div>',
}
NOTE = ("Correction: an earlier version of this story said the ferry would stop on "
        "Mondays, which the operator says it will not.")


@pytest.mark.parametrize("holder", sorted(DROPPED_PARAGRAPHS))
@pytest.mark.parametrize("at", [1, 3, 4])
def test_a_paragraph_of_the_article_is_never_dropped_silently(holder: str, at: int) -> None:
    """Between paragraphs that were kept, or closing the <article>. (After the article, in
    the region, it is taken for a comment section, a sidebar or a newsletter box, as the
    extraction does: tests below.)"""
    paragraphs = [f"<p>{p}</p>" for p in ARTICLE]
    paragraphs.insert(at, DROPPED_PARAGRAPHS[holder].format(NOTE))
    body = f"<main><article><h1>{HEADLINE}</h1>{''.join(paragraphs)}</article></main>"
    record = read_html(page(body), None)
    assert canon(NOTE) in canon(record.text), record.text
    for paragraph in ARTICLE:
        assert canon(paragraph) in canon(record.text)
    main_only = html.plain_text(HTMLTree.parse(page(body).decode()), main_content=True)
    if canon(NOTE) not in canon(main_only):  # kept by the fallback, on record
        assert record.meta["extraction"].startswith(
            "fallback: <main> subtree: main-content extraction dropped a ")


# Two paragraphs in one dropped element: each one's nearest text is the other (a probe);
# and paragraphs of languages with other sentence ends or without spaces
TWO_DROPPED = {
    "related div": '<div id="related-posts"><p>{}</p><p>{}</p></div>',
    "article footer": "<footer><p>{}</p><p>{}</p></footer>",
    "quotation box": '<blockquote class="related-quote"><p>{}</p><p>{}</p></blockquote>',
}
NOTE_2 = ("The operator said a timetable for the strike days would be published on its "
          "website by the end of the week.")
OTHER_LANGUAGES = [
    "Der Bürgermeister sagte am Sonntag: „Die Brücke haben Freiwillige vor vier Jahren "
    "gebaut, und wir werden sie so schnell wie möglich wieder öffnen.“",
    "Der Bürgermeister sagte: »Die Brücke wird so schnell wie möglich wieder geöffnet.«",
    "この橋は四年前、夏祭りで集めた寄付金をもとにボランティアが建設したもので、これまでに"
    "何千人もの人が渡ってきた。",
    "村议会说，工程师将在星期一检查这座桥，在此之前请走下面草地的绕行路线。",
]


@pytest.mark.parametrize("holder", sorted(TWO_DROPPED))
@pytest.mark.parametrize("at", [1, 4])
def test_two_paragraphs_in_one_dropped_element(holder: str, at: int) -> None:
    paragraphs = [f"<p>{p}</p>" for p in ARTICLE]
    paragraphs.insert(at, TWO_DROPPED[holder].format(NOTE, NOTE_2))
    body = f"<main><article><h1>{HEADLINE}</h1>{''.join(paragraphs)}</article></main>"
    text = canon(read_html(page(body), None).text)
    assert canon(NOTE) in text and canon(NOTE_2) in text


# boxes of a site's with two sentences each (a review: the first version passed from one
# to the other and sent the page to its fallback, bringing the box in)
SITE_BOXES = [
    '<div class="newsletter-signup"><p>Sign up for our weekly newsletter to get the best '
    "stories delivered to your inbox.</p><p>We respect your privacy and you can unsubscribe "
    'at any time you like.</p><form><input type="email"></form></div>',
    '<div class="comments"><div class="comment"><p>Great article, I really enjoyed reading '
    'it and learned a lot from it today.</p></div><div class="comment"><p>I disagree with '
    "the second point, the author should have cited more sources.</p></div></div>",
    '<div class="cookie-notice"><p>We use cookies to improve your experience on our website '
    "and for analytics.</p><p>By continuing to browse the site you agree to our use of "
    "cookies.</p></div>",
]


@pytest.mark.parametrize("box", SITE_BOXES)
@pytest.mark.parametrize("at", [2, 4])
def test_a_sites_box_of_sentences_sends_no_page_to_its_fallback(box: str, at: int) -> None:
    paragraphs = [f"<p>{p}</p>" for p in ARTICLE]
    paragraphs.insert(at, box)
    body = f"<main><article><h1>{HEADLINE}</h1>{''.join(paragraphs)}</article></main>"
    record = read_html(page(body), None)
    assert "extraction" not in record.meta, record.meta


@pytest.mark.parametrize("note", OTHER_LANGUAGES)
@pytest.mark.parametrize("holder", ['<div class="related"><p>{}</p></div>',
                                    "<footer><p>{}</p></footer>"])
def test_a_dropped_paragraph_in_another_language(note: str, holder: str) -> None:
    paragraphs = [f"<p>{p}</p>" for p in ARTICLE] + [holder.format(note)]
    body = f"<main><article><h1>{HEADLINE}</h1>{''.join(paragraphs)}</article></main>"
    assert canon(note) in canon(read_html(page(body), None).text)


def test_a_dropped_list_of_words_the_text_names_is_found() -> None:
    # the list's first and last items were found inside the sentence above it (a probe)
    items = ["Flour", "Water", "Yeast", "Sugar", "Salt"]
    body = (f"<main><article><h1>{HEADLINE}</h1><p>This flatbread needs only flour, water, "
            "salt and a little oil, and it cooks in a dry pan in two minutes a side.</p><ul>"
            + "".join(f"<li>{i}</li>" for i in items) + "</ul></article></main>")
    record = read_html(page(body), None)
    assert all(f"• {i}" in record.text for i in items), record.text


def test_amp_elements_laid_out_hidden_are_not_text() -> None:
    # the fallback for the list took the article's whole text, with the hidden AMP menu
    items = "".join(f"<li>{p}</li>" for p in ("Flour", "Water", "Salt", "Yeast"))
    body = (f'<main><article><h1>{HEADLINE}</h1><amp-sidebar id="s" layout="nodisplay">'
            f"<p>Sections menu</p></amp-sidebar>{article(False)}<ul>{items}</ul>"
            "</article></main>")
    text = read_html(page(body), None).text
    assert "Sections menu" not in text and "Yeast" in text


MEDIA_STAND_INS = {
    "image": '<img src="port.jpg" alt="STAND-IN">',
    "image map": '<map name="m"><area href="/north" alt="STAND-IN"></map>',
    "picture": '<picture><source srcset="a.webp"><img src="a.jpg" alt="STAND-IN"></picture>',
    "video": "<video src=\"a.mp4\"><p>STAND-IN: your browser cannot play this video.</p></video>",
    "audio": "<audio src=\"a.mp3\">STAND-IN</audio>",
    "object": '<object data="a.swf">STAND-IN</object>',
    "canvas": "<canvas>STAND-IN</canvas>",
    "svg": "<svg><title>STAND-IN</title><text>STAND-IN</text></svg>",
    "image button": '<input type="image" src="go.png" alt="STAND-IN">',
}


@pytest.mark.parametrize("media", sorted(MEDIA_STAND_INS))
@pytest.mark.parametrize("region", [True, False], ids=["main", "no-main"])
def test_media_stand_ins_and_their_captions_are_no_text(media: str, region: bool) -> None:
    """Resiliparse leaves alt texts out only with every <figure>; what a figure holds is
    the author's text, an image's stand-in and caption are left out (a gallery's captions,
    as before figures were text)."""
    figure = (f"<figure>{MEDIA_STAND_INS[media]}<figcaption>The northern ferry leaving "
              "the harbour at dawn</figcaption></figure>")
    body = f"<h1>{HEADLINE}</h1><p>{ARTICLE[0]}</p>{figure}<p>{ARTICLE[1]}</p>"
    record = read_html(page(f"<main><article>{body}</article></main>" if region else body),
                       None)
    assert "STAND-IN" not in record.text
    assert "northern ferry leaving" not in record.text
    assert canon(ARTICLE[1]) in canon(record.text)


@pytest.mark.parametrize("region", [True, False], ids=["main", "no-main"])
def test_a_tables_caption_is_text(region: bool) -> None:
    figure = ('<figure class="wp-block-table"><table><tr><td>Monday</td><td>07:10</td></tr>'
              "</table><figcaption>Winter sailings from the north pier</figcaption></figure>")
    body = f"<h1>{HEADLINE}</h1><p>{ARTICLE[0]}</p>{figure}<p>{ARTICLE[1]}</p>"
    record = read_html(page(f"<main><article>{body}</article></main>" if region else body),
                       None)
    assert "Winter sailings from the north pier" in record.text and "07:10" in record.text


def test_a_carousel_of_captioned_photos_sends_no_page_to_its_fallback() -> None:
    # found by a review: the captions counted in the region's text, which main-content
    # extraction's text (dropping the carousel) then fell short of, and the fallback
    # brought in the comments
    slides = "".join(f'<figure><img src="{n}.jpg"><figcaption>Slide {n}: the pier at low '
                     f"tide, seen from the lifeboat station on a grey morning</figcaption>"
                     f"</figure>" for n in range(8))
    body = (f'<main><h1>{HEADLINE}</h1><p>{ARTICLE[0]}</p><div class="carousel">{slides}'
            f'</div><p>{ARTICLE[1]}</p><section class="comments"><b>3 Comments</b><p>Great '
            "post, thanks for writing it all up here.</p></section></main>")
    record = read_html(page(body), None)
    assert "extraction" not in record.meta and "Great post" not in record.text


# One character of three UTF-8 bytes alone in an element or text node: Resiliparse's test
# for an icon font's glyph (the Private Use Area) took nearly every such character for one.
# Found on the Debian Administrator's Handbook: 481 of its 3,603 pages under /usr/share/doc
# lost characters, Chinese and Japanese particles between commands among them.
LONE_CHARACTERS = {
    "Japanese particle between commands": (
        "<p>パッケージは <code>apt</code> と <code>dpkg</code> で管理します。</p>",
        "パッケージは apt と dpkg で管理します。"),
    "Chinese conjunction between commands": (
        "<p>使用 <code>apt</code> 和 <code>dpkg</code> 管理软件包。</p>",
        "使用 apt 和 dpkg 管理软件包。"),
    "kanji alone in <b>": ("<p>私は<b>漢</b>字を読みます。</p>", "私は漢字を読みます。"),
    "closing quotation mark after a reference": (
        '<p>See section 6.1, <span class="quote">“<a href="#x">Filling in the sources.list'
        '</a>”</span> for details.</p>',
        "See section 6.1, “Filling in the sources.list” for details."),
    "menu path": ('<p>Open <span class="guimenu">Settings</span> → <span class="guimenu">'
                  "Sharing</span> to allow it.</p>",
                  "Open Settings → Sharing to allow it."),
    "dash of a range": ("<p>The pier was rebuilt in 1990<span>–</span>1992 by the council.</p>",
                        "The pier was rebuilt in 1990–1992 by the council."),
    "dash as an entity": ("<p>The pier was rebuilt in 1990<span>&ndash;</span>1992 by the "
                          "council.</p>", "The pier was rebuilt in 1990–1992 by the council."),
    "currency in a table cell": ("<table><tr><td>Ticket</td><td>€</td><td>12</td></tr></table>",
                                 "Ticket\t\t€\t\t12"),
    # three bytes of an ASCII character and a two-byte one fail the same test (a review)
    "Spanish yes in <em>": ("<p>Le preguntamos si vendría y dijo que <em>sí</em>, sin dudar "
                            "un momento.</p>",
                            "Le preguntamos si vendría y dijo que sí, sin dudar un momento."),
    "a one-character <time>": ("<p>会議は<time>昨</time>日開かれた。</p>", "会議は昨日開かれた。"),
}


@pytest.mark.parametrize("name", sorted(LONE_CHARACTERS))
def test_a_character_alone_in_an_element_stays_in_the_main_text(name: str) -> None:
    block, expected = LONE_CHARACTERS[name]
    body = f"<main><article><h1>{HEADLINE}</h1><p>{ARTICLE[0]}</p>{block}<p>{ARTICLE[1]}</p>"
    record = read_html(page(body + "</article></main>"), None)
    assert expected in record.text, record.text
    assert "extraction" not in record.meta  # main-content extraction, no fallback
    assert "\ufdd0" not in record.text


@pytest.mark.parametrize("glyph", ["\ue0b0", "★", "✉", "▼", "\u200b", "\ufffd", "\ufe0f"])
def test_an_icon_or_invisible_character_alone_is_still_left_out(glyph: str) -> None:
    """What the glyph test means to drop, an icon font's glyph, and symbols, dingbats and
    invisible characters alone in an element (rating stars, share icons, a menu's arrow)."""
    body = (f"<main><article><h1>{HEADLINE}</h1><p>{ARTICLE[0]}</p><p>Call us <i class="
            f'"icon">{glyph}</i> today about the ferry timetable.</p></article></main>')
    assert glyph not in read_html(page(body), None).text


def test_a_marker_the_page_holds_is_not_used() -> None:
    # the markers are noncharacters: one the page holds itself is passed over
    body = (f"<main><article><h1>{HEADLINE}</h1><p>{ARTICLE[0]}</p><p>Odd \ufdd0 mark and "
            "<b>漢</b>字 here.</p></article></main>")
    record = read_html(page(body), None)
    assert "Odd \ufdd0 mark and 漢字 here." in record.text
    assert "extraction" not in record.meta


@pytest.mark.parametrize(("block", "expected"), [
    ("<p><ruby>漢<rt>かん</rt>字<rt>じ</rt></ruby>を読みます。</p>", "漢字を読みます。"),
    ("<p><ruby>東京<rp>(</rp><rt>とうきょう</rt><rp>)</rp></ruby>に行きます。</p>",
     "東京に行きます。"),
    ("<p><ruby>北<rt>běi</rt>京<rt>jīng</rt></ruby>很大。</p>", "北京很大。"),
])
@pytest.mark.parametrize("region", [True, False], ids=["main", "no-main"])
def test_a_rubys_reading_is_no_text_its_base_is(block: str, expected: str, region: bool
                                                 ) -> None:
    body = f"<h1>{HEADLINE}</h1><p>{ARTICLE[0]}</p>{block}<p>{ARTICLE[1]}</p>"
    record = read_html(page(f"<main><article>{body}</article></main>" if region else body),
                       None)
    assert expected in record.text, record.text


@pytest.mark.parametrize("heading", [
    "<h1><ruby>漢字<rt>かんじ</rt></ruby>の歴史</h1>",
    "<h1><ruby>漢<rt>かん</rt>字<rt>じ</rt></ruby>の歴史</h1>",
])
def test_a_ruby_in_the_heading_needs_no_fallback(heading: str) -> None:
    # a review: the heading's sample, taken from the page with its reading, was not in the
    # text without it, and the fallback brought back the related links
    body = (f"<main>{heading}<p>これは本文の段落です。漢字の歴史について、古い記録をもとに"
            "説明します。</p><div class=\"related\"><a href=\"/a\">関連A</a> <a href=\"/b\">"
            "関連B</a></div></main>")
    record = read_html(page(body), None)
    assert "extraction" not in record.meta and "関連A" not in record.text
    assert "\n漢字の歴史\n" in record.text and record.meta["title"] == "漢字の歴史"


@pytest.mark.parametrize(("block", "left_out"), [
    ("<p>日付は<time><ruby>令和<rt>れいわ</rt></ruby>6年</time>です。</p>", "れいわ"),
    ("<p>Open <time>9:00<br>17:00</time> daily, and on Sundays too.</p>", "9:0017:00"),
    ("<p>We met on <time>Friday<script>var t=1;</script></time> and talked.</p>", "var t"),
])
def test_a_time_holding_elements_is_not_flattened(block: str, left_out: str) -> None:
    # a review: the <time> made its whole text, readings, scripts and lines run together
    body = f"<main><article><h1>{HEADLINE}</h1><p>{ARTICLE[0]}</p>{block}</article></main>"
    assert left_out not in read_html(page(body), None).text


@pytest.mark.parametrize(("block", "expected", "left_out"), [
    ('<p>The council met on <time datetime="2024-03-01">Friday 1 March</time> and voted to '
     "close the pier.</p>", "The council met on Friday 1 March and voted to close the pier.",
     None),
    ("<p>The council met on <time>Friday</time>.</p>", "The council met on Friday.", None),
    ('<p>As <span itemprop="author">Jane Smith</span> wrote in her history of the pier, it '
     "is older than the town.</p>",
     "As Jane Smith wrote in her history of the pier, it is older than the town.", None),
    # a dateline or byline of its own is the article's metadata, left out as before
    ("<p>Published <time>3 March 2024</time></p>", "Published", "3 March 2024"),
    ('<p>By <a rel="author" href="/jane">Jane Smith</a></p>', "By", "Jane Smith"),
])
def test_metadata_elements_inside_a_sentence_stay_in_it(block: str, expected: str,
                                                        left_out: str | None) -> None:
    body = f"<main><article><h1>{HEADLINE}</h1><p>{ARTICLE[0]}</p>{block}<p>{ARTICLE[1]}</p>"
    record = read_html(page(body + "</article></main>"), None)
    assert expected in record.text, record.text
    assert "extraction" not in record.meta  # not by a fallback to the page's whole text
    if left_out is not None:
        assert left_out not in record.text


@pytest.mark.parametrize("extra", [
    # a comment section after the article (found by a review of the first version: the
    # fallback brought in commenters, comments and "Reply")
    '<div class="comments"><p>Sue from Leeds: I took this ferry every winter and the '
    "crews were always kind to us.</p><p>Reply</p></div>",
    # text the page does not show, or that the region's whole text leaves out too
    f"<p hidden>{NOTE}</p>", f'<div style="display: none"><p>{NOTE}</p></div>',
    f'<div role="dialog"><p>{NOTE}</p></div>', f"<noscript><p>{NOTE}</p></noscript>",
])
def test_closing_or_hidden_paragraphs_send_no_page_to_its_fallback(extra: str) -> None:
    body = f"<main><article><h1>{HEADLINE}</h1>{article(False)}</article>{extra}</main>"
    record = read_html(page(body), None)
    assert "extraction" not in record.meta, record.meta


def test_short_or_linked_lines_dropped_from_the_article_need_no_fallback() -> None:
    # "Share this story", a line of links: no paragraph of the author's, no fallback
    extra = ('<div class="share"><p>Share this story</p></div><p class="related"><a href="/a">'
             "Ferry timetable for the winter months and the new routes to the islands</a>.</p>")
    body = f"<main><article><h1>{HEADLINE}</h1>{article(False)}{extra}</article></main>"
    record = read_html(page(body), None)
    assert "extraction" not in record.meta, record.meta


def test_a_page_extraction_gets_right_needs_no_fallback() -> None:
    body = ('<div class="page"><div class="content"><main><article><h1>The overnight loaf'
            f"</h1>{INTRO}<h2>You will need</h2>{BLOCKS['ul']}{OUTRO}</article></main></div>"
            "</div>")
    data = page(body, title="The overnight loaf")
    record = read_html(data, None)
    assert "extraction" not in record.meta
    tree = HTMLTree.parse(data.decode())
    assert record.text == html.plain_text(tree, main_content=True)
    assert "Home" not in record.text and "Copyright" not in record.text


def test_empty_main_content_falls_back_with_a_reason() -> None:
    # before, a page whose main content came out empty fell back silently
    data = b"<html><body><div class='comments'><p>Only this.</p></div></body></html>"
    record = read_html(data, None)
    assert record.text == "Only this."
    assert record.meta["extraction"] == (
        "fallback: whole body: main-content extraction kept under 25% of the text")


def test_fallbacks_are_counted_in_the_build_report(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.html").write_bytes(page(HOLDERS["aside"].format(article())))
    (src / "b.html").write_bytes(page("<main>" + recipe(BLOCKS["ul"], True) + "</main>",
                                      title="The overnight loaf"))
    _, report = build_to(src, tmp_path / "pkg")
    assert report.notes["html extraction fallback: whole body: main-content extraction "
                        "missed the page's heading"] == 1
    assert report.notes["html extraction fallback: <main> subtree: main-content extraction "
                        "dropped a list"] == 1
    docs = {d["source"]: d for d in read_docs(tmp_path / "pkg")}
    assert all(p in docs["a.html"]["text"] for p in ARTICLE)


# ------------------------------------------------------------------ real pages

# title, fallback taken (None: main-content text kept)
REAL = {
    "mdbook05-trpl-ch12-00-an-io-project.html": (
        "An I/O Project: Building a Command Line Program",
        "fallback: <main> subtree: main-content extraction dropped a list"),
    "mdbook04-trpl-ch07-02-defining-modules.html": (
        "Defining Modules to Control Scope and Privacy - The Rust Programming Language",
        "fallback: <main> subtree: main-content extraction dropped a heading"),
    "sphinx-python311-copyright.html": (
        "Copyright",
        "fallback: [role=main] subtree: main-content extraction missed the page's heading"),
    "sphinx-python311-library-xmlrpc.html": (
        "xmlrpc — XMLRPC server and client modules",
        "fallback: [role=main] subtree: main-content extraction dropped a list"),
    "sphinx-python311-using-unix.html": (
        "2. Using Python on Unix platforms",
        "fallback: [role=main] subtree: main-content extraction dropped a definition list"),
    "rustdoc-std-io-fn-empty.html": ("Function std::io::empty", None),
    "rustdoc-std-alloc-fn-set-alloc-error-hook.html": (
        "Function std::alloc::set_alloc_error_hook",
        "fallback: <main> subtree: main-content extraction missed the page's heading"),
    "handbook-en-inetd.html": (
        "9.6. The inetd Super-Server",
        "fallback: whole body: main-content extraction dropped a list"),
    "handbook-en-why-debian-stable.html": ("2.5. Why Debian Bullseye?", None),
    "handbook-fr-knoppix.html": ("A.4. Knoppix", None),
}


def test_every_fixture_page_is_described() -> None:
    assert sorted(p.name for p in PAGES.glob("*.html")) == sorted(REAL)


def _visible(node: lxml.html.HtmlElement) -> bool:
    for el in (node, *node.iterancestors()):
        style = (el.get("style") or "").replace(" ", "")
        if el.get("hidden") is not None or "display:none" in style \
                or "hidden" in (el.get("class") or "").split():
            return False
    return True


def link_share(node: lxml.html.HtmlElement) -> float:
    links = "".join(canon(a.text_content()) for a in node.iter("a"))
    return len(links) / max(1, len(canon(node.text_content())))


def main_content(root: lxml.html.HtmlElement) -> tuple[lxml.html.HtmlElement, bool]:
    """The page's marked main content (lxml, independent of Resiliparse), or its body."""
    for xpath in ("//main", "//*[@role='main']"):
        found = root.xpath(xpath)
        if found:
            return found[0], True
    articles = root.xpath("//article")
    if len(articles) == 1:
        return articles[0], True
    return root.body, False


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_page_title_and_fallback(name: str) -> None:
    record = read_html((PAGES / name).read_bytes(), None)
    title, extraction = REAL[name]
    assert record.meta["title"] == title
    assert record.meta.get("extraction") == extraction


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_page_loses_no_heading_list_table_or_code(name: str) -> None:
    data = (PAGES / name).read_bytes()
    text = canon(read_html(data, None).text)
    root = lxml.html.fromstring(data)
    scope, marked = main_content(root)
    checked = 0
    for el in scope.iter("h1", "h2", "h3", "h4", "h5", "h6", "li", "dt", "dd", "th", "td",
                         "pre"):
        if not _visible(el):
            continue
        lists = el.xpath("ancestor-or-self::*[self::ul or self::ol][last()]")
        if not marked and lists and link_share(lists[0]) > 0.2:
            continue  # a page that marks no main content: a list of links is navigation
        lines = el.text_content().split("\n") if el.tag == "pre" else [el.text_content()]
        for line in lines:
            # rustdoc's tooltips run into the text around them: compare a line's start
            if words := canon(line)[:40]:
                assert words in text, (name, el.tag, line)
                checked += 1
    assert checked >= 1


@pytest.mark.parametrize("name", ["mdbook05-trpl-ch12-00-an-io-project.html",
                                  "mdbook04-trpl-ch07-02-defining-modules.html"])
def test_mdbook_title_is_not_a_dialog_or_the_book(name: str) -> None:
    record = read_html((PAGES / name).read_bytes(), None)
    assert record.meta["title"] not in ("Keyboard shortcuts", "The Rust Programming Language")


def test_title_order_meta_then_main_h1_then_title_element() -> None:
    def title_of(head: str, body: str) -> str | None:
        return read_html(f"<html><head>{head}</head><body>{body}</body></html>".encode(),
                         None).meta.get("title")

    body = ('<div id="help"><h2>Keyboard shortcuts</h2></div><nav><h1>Site</h1></nav>'
            "<main><h1>Real heading ¶</h1><p>Some text of the page.</p></main>")
    assert title_of('<meta property="og:title" content="From og">'
                    "<title>Page - Site</title>", body) == "From og"
    assert title_of("<title>Page - Site</title>", body) == "Real heading"
    assert title_of("<title>Page - Site</title>", body.replace("<h1>Real heading ¶</h1>",
                                                               "")) == "Page - Site"
    # no <main>: the page's only <h1> outside navigation, never a dialog's <h2>
    assert title_of("", '<div id="help"><h2>Keyboard shortcuts</h2></div>'
                        "<h1>Only heading</h1><p>Text.</p>") == "Only heading"
    assert title_of("", '<div id="help"><h2>Keyboard shortcuts</h2></div><p>Text.</p>') \
        is None


# ------------------------------------------------------------------ verbatim lines


@pytest.mark.parametrize("name", sorted(REAL))
def test_real_page_code_lines_are_verbatim(name: str) -> None:
    record = read_html((PAGES / name).read_bytes(), None)
    lines = {line.strip() for line in normalise_text(record.text).split("\n")}
    root = lxml.html.fromstring((PAGES / name).read_bytes())
    for pre in root.iter("pre"):
        for line in normalise_text(pre.text_content()).split("\n"):
            if line.strip() in lines and line.strip():
                assert line.strip() in record.verbatim, (name, line)


def test_verbatim_lines_as_the_pipeline_leaves_them(tmp_path: Path) -> None:
    body = ("<main><h1>Code</h1><p>Run this:</p>"
            "<pre>  fn main() {\n\tprintln!(\"e\u0301t\u00e9\");\x07\n  }   \n</pre>"
            '<pre class="rust"><code><div class="attr">#[derive(Debug)]</div>pub struct S;'
            "</code></pre>"
            "<ul><li>A step:<pre>cargo   build --release</pre></li></ul>"
            "<p><code>pip  install   corpuspack</code></p>"
            "<p>Inline <code>x = 1</code> is not a block.</p></main>")
    src = tmp_path / "src"
    src.mkdir()
    (src / "code.html").write_bytes(page(body, title="Code"))
    record = read_html((src / "code.html").read_bytes(), None)
    assert {"fn main() {", 'println!("\u00e9t\u00e9");', "}", "#[derive(Debug)]",
            "pub struct S;", "cargo   build --release", "pip install corpuspack"} \
        <= record.verbatim
    assert "x = 1" not in record.verbatim
    _, _ = build_to(src, tmp_path / "pkg")
    (doc,) = read_docs(tmp_path / "pkg")
    for line in str(doc["text"]).split("\n"):
        if any(k in line for k in ("fn main", "println", "derive", "struct", "cargo", "pip")):
            assert line.strip() in record.verbatim, line
