"""The data card: generated from the package, hand-written text kept, staleness caught."""

from __future__ import annotations

import shutil
from pathlib import Path

from corpuspack.build import build
from corpuspack.card import update
from corpuspack.config import load_config, zero_config
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
    assert update(locate(config.package_dir), check=True) == [
        str(config.package_dir / "DATA_CARD.md")]


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
