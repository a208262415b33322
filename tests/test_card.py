"""The data card: generated from the package, hand-written text kept, staleness caught."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from corpuspack.build import build
from corpuspack.card import SECTIONS, md_code, md_text, merge, update
from corpuspack.config import load_config, zero_config
from corpuspack.errors import CorpusError
from corpuspack.project import locate

from .conftest import build_to, text_of


def project_of(tmp_path: Path, built) -> Path:
    config, _ = built
    package = tmp_path / "pkg"
    shutil.copytree(config.package_dir, package)
    return package


def test_card_from_package(tmp_path: Path, built) -> None:
    config, report = built
    package = project_of(tmp_path, built)
    project = locate(package)
    assert update(project) == []
    text = project.card.read_text()
    assert f"| documents | {report.documents_written:,} |" in text
    assert "![Document lengths](card/lengths.png)" in text
    assert "| `news` | 1 | NOASSERTION (1) | The Daily Beast |" in text
    assert "dropped 3 exact and 1 near duplicates" in text
    assert "| trailing_block | 3 |" in text
    assert "| unsupported file type | 1 |" in text
    for png in ("lengths.png", "languages.png"):
        assert (package / "card" / png).read_bytes().startswith(b"\x89PNG")
    assert update(project, check=True) == []


def test_hand_written_text_survives(tmp_path: Path, built) -> None:
    package = project_of(tmp_path, built)
    project = locate(package)
    update(project)
    text = project.card.read_text()
    mine = "## Why we built this\n\nBecause our readers asked for it.\n"
    text = text.replace("## How to load", mine + "\n## How to load")
    text = text.replace("<!-- corpuspack:begin schema -->\n", "<!-- corpuspack:begin schema -->"
                        "\nedited inside a generated block\n")
    project.card.write_text(text)
    assert update(project, check=True) == [str(project.card)]
    update(project)
    again = project.card.read_text()
    assert mine in again and "edited inside a generated block" not in again
    assert update(project, check=True) == []


def test_card_goes_stale_when_the_corpus_changes(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text(text_of("fr-fr"), encoding="utf-8")
    config, _ = build_to(src, tmp_path / "pkg")
    update(locate(config.package_dir))
    (src / "b.txt").write_text(text_of("de-de"), encoding="utf-8")
    build(config, workers=1)
    # the loading YAML names the data files (datasets' cache of a folder keys on it)
    assert update(locate(config.package_dir), check=True) == [
        str(config.package_dir / "DATA_CARD.md"), str(config.package_dir / ".huggingface.yaml")]


def test_the_summary_says_how_many_languages_it_leaves_out(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    names = sorted(p.stem for p in (Path(__file__).parent / "fixtures" / "multilingual")
                   .glob("*.txt"))[:12]
    for name in names:
        (src / f"{name}.txt").write_text(text_of(name), encoding="utf-8")
    config, report = build_to(src, tmp_path / "pkg")
    assert report.documents_written == 12
    update(locate(config.package_dir))
    row = next(line for line in (config.package_dir / "DATA_CARD.md").read_text().splitlines()
               if line.startswith("| languages |"))
    assert row.count(",") == 9 and row.endswith(" and 2 more |"), row


def test_repository_card_is_current() -> None:
    assert update(locate(cwd=Path(__file__).parent.parent), check=True) == []


def test_card_describes_the_text_quality_settings_used(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text(text_of("de-de"), encoding="utf-8")
    (tmp_path / "corpus.toml").write_text(
        '[near_dedup]\nkeep = true\nshingle_words = 4\n[boilerplate]\nleading_block = false\n'
        '[quality]\nmin_words = 10\n[pii]\nemail = true\n', encoding="utf-8")
    config = zero_config(src, tmp_path / "pkg", load_config(tmp_path / "corpus.toml"))
    build(config, workers=1)
    project = locate(config.package_dir)
    assert update(project) == []
    card = project.card.read_text()
    assert "word 4-grams" in card and "marked with the id of the kept document" in card
    assert "leading navigation" not in card and "repeated link lines" in card
    assert "(`min_words` 10)" in card and "e-mail addresses replaced" in card


HOSTILE_FOLDERS = ["x<!-- corpuspack:end provenance -->", "a\n## 9.9.9", "p|q`r",
                   "<!-- corpuspack:begin summary -->"]
MARKER = re.compile(r"<!-- corpuspack:(begin|end) (\w+) -->")


def hostile_package(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    for i, folder in enumerate(HOSTILE_FOLDERS):
        (src / folder).mkdir(parents=True)
        (src / folder / f"d{i}.txt").write_text(text_of(("fr-fr", "de-de", "es-es", "it-it")[i]),
                                                encoding="utf-8")
    (src / "p|q`r" / "d2.meta.yaml").write_text(
        'title: "T <!-- corpuspack:begin summary -->"\n'
        'publisher: "Pub | `x` <!-- corpuspack:end statistics -->"\n', encoding="utf-8")
    config, _ = build_to(src, tmp_path / "pkg")
    desc = json.loads((config.package_dir / "datapackage.json").read_text())
    desc["title"] = "Title\n<!-- corpuspack:end summary -->\n## Injected"
    desc["description"] = "`code` | <b>bold</b>\n<!-- corpuspack:begin limitations -->"
    (config.package_dir / "datapackage.json").write_text(json.dumps(desc))
    return config.package_dir


def generated_markers(text: str) -> list[str]:
    """Every line of a card that is a marker, and every marker anywhere in it."""
    lines = [line for line in text.split("\n") if MARKER.fullmatch(line)]
    assert len(MARKER.findall(text)) == len(lines)  # no marker inside another line
    return lines


def test_hostile_names_are_escaped_and_hand_written_text_survives(tmp_path: Path) -> None:
    package = hostile_package(tmp_path)
    project = locate(package)
    update(project)
    text = project.card.read_text()
    expected = [f"<!-- corpuspack:{kind} {name} -->" for name in SECTIONS
                for kind in ("begin", "end")]
    assert generated_markers(text) == expected
    assert "| x&lt;!-- corpuspack:end provenance --&gt; | 1 |" in text
    assert "| a\\n\\#\\# 9.9.9 | 1 |" in text and "| p\\|q\\`r | 1 |" in text
    assert "Pub \\| \\`x\\` &lt;!-- corpuspack:end statistics --&gt;" in text
    assert "# Title\\n&lt;!-- corpuspack:end summary --&gt;\\n\\#\\# Injected\n" in text
    assert not any(line.startswith("## 9.9.9") or line == "## Injected"
                   for line in text.split("\n"))
    mine = ("## Our notes\n\nKept by hand. A marker in a sentence is text: "
            "<!-- corpuspack:end provenance --> stays.\n")
    text = text.replace("## Statistics", mine + "\n## Statistics")
    text += "\nThe end, by hand.\n"
    project.card.write_text(text)
    update(project)
    update(project)
    again = project.card.read_text()
    assert mine in again and again.endswith("The end, by hand.\n")
    assert [line for line in again.split("\n") if MARKER.fullmatch(line)] == expected
    assert update(project, check=True) == []


def test_markers_count_only_on_their_own_line() -> None:
    sections = {name: f"new {name}" for name in SECTIONS}
    card = merge(None, {name: "old" for name in SECTIONS})
    card = card.replace("<!-- corpuspack:begin schema -->\nold",
                        "<!-- corpuspack:begin schema -->\nold, then INLINE-EDIT: x "
                        "<!-- corpuspack:end schema --> y")
    merged = merge(card, sections)
    assert "new schema" in merged and "INLINE-EDIT" not in merged  # the whole block was replaced
    assert merged.count("<!-- corpuspack:end schema -->") == 1
    # a card written before corpuspack, with a stray marker line: kept, defused
    old = "# Mine\n\n<!-- corpuspack:begin summary -->\nMy own summary.\n"
    merged = merge(old, sections)
    assert "&lt;!-- corpuspack:begin summary -->\nMy own summary." in merged
    assert merge(merged, sections) == merged


def test_links_in_place_of_the_card_or_its_plots_are_refused(tmp_path: Path, built) -> None:
    package = project_of(tmp_path, built)
    target = tmp_path / "elsewhere.md"
    target.write_text("KEEP", encoding="utf-8")
    os.symlink(target, package / "DATA_CARD.md")
    with pytest.raises(CorpusError) as caught:
        update(locate(package))
    assert "\n" not in str(caught.value)
    assert target.read_text(encoding="utf-8") == "KEEP" and (package / "DATA_CARD.md").is_symlink()

    inside = package / "notes.md"
    inside.write_text("MINE", encoding="utf-8")
    (package / "DATA_CARD.md").unlink()
    os.symlink("notes.md", package / "DATA_CARD.md")
    with pytest.raises(CorpusError, match="symbolic link"):
        update(locate(package))
    assert inside.read_text(encoding="utf-8") == "MINE"

    (package / "DATA_CARD.md").unlink()
    png = tmp_path / "picture.png"
    png.write_bytes(b"PICTURE")
    (package / "card").mkdir(exist_ok=True)
    for old in (package / "card").iterdir():
        old.unlink()
    os.symlink(png, package / "card" / "lengths.png")
    with pytest.raises(CorpusError, match="symbolic link"):
        update(locate(package))
    assert png.read_bytes() == b"PICTURE" and not (package / "DATA_CARD.md").exists()

    shutil.rmtree(package / "card")
    outside = tmp_path / "outside-plots"
    outside.mkdir()
    os.symlink(outside, package / "card")
    with pytest.raises(CorpusError, match="outside"):
        update(locate(package))
    assert list(outside.iterdir()) == []


def test_markdown_escaping() -> None:
    assert md_text("a|b`c*d [x](y) <!-- z --> &amp;") == \
        "a\\|b\\`c\\*d \\[x\\](y) &lt;!-- z --&gt; &amp;amp;"
    assert md_text("line\nnext\r\t\x07\u2028\u202e") == "line\\nnext\\r\\t\\x07\\u2028\\u202e"
    assert md_text("snake_case _emphasis_") == "snake_case \\_emphasis\\_"
    assert [md_text(s) for s in ("- item", "1. item", "# h", "===", "0.1.0")] == [
        "\\- item", "1\\. item", "\\# h", "\\===", "0.1.0"]
    assert md_code("news") == "`news`" and md_code("a`b") == "a\\`b"
    assert md_code("x<y") == "x&lt;y" and md_code(" pad") == " pad"
