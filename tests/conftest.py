"""Shared fixtures: real files assembled into source trees, and build helpers."""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import pytest

from corpuspack.build import build
from corpuspack.config import CorpusConfig, zero_config
from corpuspack.report import BuildReport

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """Give the run a datasets cache of its own, before any test module imports datasets
    (which reads HF_DATASETS_CACHE once, on import): loads never meet what an earlier run,
    or the user's own work, left in the shared cache."""
    import atexit
    import tempfile

    if "datasets" not in __import__("sys").modules:
        folder = tempfile.mkdtemp(prefix="corpuspack-tests-hf-")
        os.environ["HF_DATASETS_CACHE"] = folder
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
SEED = REPO / "corpus" / "sources" / "news" / "000_887f07991e0bd88a.txt"
MULTILINGUAL = FIXTURES / "multilingual"


def text_of(lang: str) -> str:
    """Real prose in a language (Debian Administrator's Handbook, CC-BY-SA-3.0)."""
    return (MULTILINGUAL / f"{lang}.txt").read_text(encoding="utf-8")


def mojibake(text: str) -> str:
    """UTF-8 bytes read as cp1252, the commonest mojibake (bytes cp1252 leaves undefined
    become C1 controls, as in browsers and Windows software)."""
    import ftfy.bad_codecs  # noqa: F401 - registers the sloppy-windows-1252 codec

    return text.encode("utf-8").decode("sloppy-windows-1252")


def make_tree(root: Path) -> Path:
    """A source tree with every format, several encodings and every kind of bad input."""
    src = root / "src"
    (src / "news").mkdir(parents=True)
    shutil.copy(SEED, src / "news" / "seed.txt")
    (src / "news" / "seed.meta.yaml").write_text(
        "title: Iraq’s Looming Massacre of Iranian MEK Refugees\n"
        "author: Geoffrey Robertson\npublisher: The Daily Beast\ndate: 2011-12-09\n"
        "license: NOASSERTION\n", encoding="utf-8")
    # the same article with CRLF line ends: an exact duplicate once normalised
    (src / "news" / "seed-crlf.txt").write_bytes(SEED.read_bytes().replace(b"\n", b"\r\n"))

    enc = src / "encodings"
    enc.mkdir()
    (enc / "fr-utf8-bom.txt").write_bytes(b"\xef\xbb\xbf" + text_of("fr-fr").encode("utf-8"))
    (enc / "de-utf16.txt").write_bytes(text_of("de-de").encode("utf-16"))
    (enc / "es-cp1252.txt").write_bytes(text_of("es-es").encode("cp1252", errors="ignore"))
    (enc / "cs-cp1250.txt").write_bytes(text_of("cs-cz").encode("cp1250", errors="ignore"))
    (enc / "ru-koi8r.txt").write_bytes(text_of("ru-ru").encode("koi8-r", errors="ignore"))
    (enc / "ja-shiftjis.txt").write_bytes(text_of("ja-jp").encode("shift_jis", errors="ignore"))
    (enc / "it-mojibake.txt").write_text(mojibake(text_of("it-it")), encoding="utf-8")

    html = src / "html"
    html.mkdir()
    shutil.copy(FIXTURES / "html" / "handbook-en-why-debian-stable.html", html / "stable.html")
    page = (FIXTURES / "html" / "handbook-fr-knoppix.html").read_text(encoding="utf-8")
    (html / "knoppix-cp1252.html").write_bytes(
        page.replace("charset=UTF-8", "charset=windows-1252")
        .replace('encoding="UTF-8"', 'encoding="windows-1252"').encode("cp1252", errors="ignore"))

    md = src / "notes"
    md.mkdir()
    (md / "post.md").write_text(
        "---\ntitle: Des notes\nlang: fr\ndate: 2024-03-01\ntags: [a, b]\n---\n\n"
        + text_of("fr-fr"), encoding="utf-8")
    (md / "heading.md").write_text("# Notizen\n\n" + text_of("de-de"), encoding="utf-8")

    dump = src / "dump"
    dump.mkdir()
    lines = [
        json.dumps({"id": "a1", "text": text_of("pt-br"), "url": "https://example.org/a1"}),
        "{not json",
        json.dumps(["a", "list"]),
        json.dumps({"title": "no text here"}),
        json.dumps({"id": "a2", "text": 42}),
        "",
        json.dumps({"content": text_of("pl-pl"), "licence": "CC-BY-SA-3.0"}, ensure_ascii=False),
    ]
    (dump / "records.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with gzip.open(dump / "more.jsonl.gz", "wt", encoding="utf-8") as fh:
        fh.write(json.dumps({"id": 7, "text": text_of("tr-tr")}, ensure_ascii=False) + "\n")

    bad = src / "bad"
    bad.mkdir()
    (bad / "image.txt").write_bytes(bytes(range(256)) * 20)
    (bad / "empty.txt").write_bytes(b"")
    (bad / "spaces.txt").write_bytes(b" \n\t\r\n  \n")
    (bad / "scan.pdf").write_bytes(b"%PDF-1.4\n")  # a PDF cut after its header
    (bad / "photo.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a text format")
    (bad / "broken.txt.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")

    (src / ".hidden").mkdir()
    (src / ".hidden" / "secret.txt").write_text("never read", encoding="utf-8")
    (src / ".dotfile.txt").write_text("never read", encoding="utf-8")
    outside = root / "outside.txt"
    outside.write_text("outside the source folder", encoding="utf-8")
    os.symlink(outside, src / "link-out.txt")
    os.symlink(src / "news" / "seed.txt", src / "link-in.txt")
    (src / "_manifest.csv").write_text(
        "path,license,collection\nencodings/*,CC-BY-SA-3.0,handbook\nnews/*,,news\n",
        encoding="utf-8")
    return src


@pytest.fixture(scope="session", autouse=True)
def user_cache_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tests' own cache key (corpuspack.cache.user_key), not the user's: builds run by
    the tests, in this process and in subprocesses, find it through XDG_CACHE_HOME."""
    home = tmp_path_factory.mktemp("xdg-cache")
    os.environ["XDG_CACHE_HOME"] = str(home)
    return home / "corpuspack" / "cache-key"


@pytest.fixture(scope="session")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tree(tmp_path_factory.mktemp("tree"))


def build_to(src: Path, out: Path, workers: int = 1, **kwargs: object) -> tuple[CorpusConfig,
                                                                               BuildReport]:
    config = zero_config(src, out)
    return config, build(config, workers=workers, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def built(tree: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[CorpusConfig,
                                                                         BuildReport]:
    return build_to(tree, tmp_path_factory.mktemp("pkg") / "pkg")


def read_docs(package: Path) -> list[dict[str, object]]:
    docs: list[dict[str, object]] = []
    for shard in sorted((package / "data").glob("documents-*.jsonl*")):
        opener = gzip.open if shard.name.endswith(".gz") else open
        with opener(shard, "rt", encoding="utf-8") as fh:
            docs.extend(json.loads(line) for line in fh)
    return docs
