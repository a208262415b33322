"""Language identification on real text, with the bundled model and a bounded sample."""

from __future__ import annotations

import pytest

from corpuspack.language import LanguageIdentifier, sample

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
