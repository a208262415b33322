"""The registry of quality signals is the one source of the columns, filters, presets,
config ranges and card (corpuspack.signals)."""

from __future__ import annotations

import math
from dataclasses import fields

import pytest

from corpuspack import card, repetition
from corpuspack.config import RANGES, from_table
from corpuspack.document import COLUMN_NAMES, COLUMNS
from corpuspack.quality import (
    COMPUTE,
    GOPHER,
    LIMITS,
    PER_WORD,
    SIGNALS,
    Filters,
    failed,
    signals,
)
from corpuspack.signals import BY_NAME, GROUPS, NAMES, ON_DEMAND, REGISTRY, Signal
from tests.conftest import REPO, text_of


def test_document_declares_the_signal_columns_of_the_registry_in_its_order() -> None:
    # Document's fields are declared (mypy sees them): one _signal("NAME") line per entry,
    # right after the counts, in registry order; descriptions and bounds come from the entry
    start = COLUMN_NAMES.index("n_words") + 1
    assert COLUMN_NAMES[start:start + len(NAMES)] == NAMES
    assert COLUMN_NAMES[start + len(NAMES)] == "sha256"
    by_name = {c.name: c for c in COLUMNS}
    for s in REGISTRY:
        column = by_name[s.name]
        assert (column.kind, column.description, column.required) == (
            "number", s.description, False)
        assert column.constraints.get("minimum") == 0
        assert column.constraints.get("maximum") == s.maximum


def test_descriptions_state_the_gopher_threshold_or_the_source() -> None:
    assert BY_NAME["mean_word_length"].description == (
        "Quality signal: characters per word (Gopher keeps 3 to 10).")
    assert BY_NAME["punct_line_fraction"].description.endswith("(C4).")
    assert BY_NAME["top_3gram_char_fraction"].description == (
        "Repetition signal (empty unless computed): share of word characters in the most "
        "frequent word 3-gram (Gopher: at most 0.18).")
    assert Signal("x", "a share", "lines", gopher_min=0.5).description == (
        "Quality signal: a share (Gopher: at least 0.5).")


def test_filters_fields_derive_from_the_registry() -> None:
    names = [f.name for f in fields(Filters)]
    assert names == [limit.key for limit in LIMITS] + ["repetition_signals"]
    assert names[:2] == ["min_words", "max_words"]
    expected = ["min_words", "max_words"] + [f"{bound}_{s.name}" for s in REGISTRY
                                             for bound in s.limits]
    assert [limit.key for limit in LIMITS] == expected
    assert {f.name: f.default for f in fields(Filters)} == {
        **dict.fromkeys(expected), "repetition_signals": False}


def test_gopher_preset_is_the_registry_values() -> None:
    assert (GOPHER.min_words, GOPHER.max_words) == (50, 100_000)
    for s in REGISTRY:
        if "min" in s.limits:
            assert getattr(GOPHER, f"min_{s.name}") == s.gopher_min
        if "max" in s.limits:
            assert getattr(GOPHER, f"max_{s.name}") == s.gopher_max
    assert GOPHER.max_duplicate_10gram_char_fraction == 0.1
    assert GOPHER.min_punct_line_fraction is None and GOPHER.max_short_line_fraction is None
    assert GOPHER.wants_repetition and not Filters().active


def test_every_limit_has_its_range_in_the_config() -> None:
    for limit in LIMITS:
        rng = RANGES[("quality", limit.key)]
        if limit.signal is not None and limit.signal.maximum == 1:
            assert (rng.low, rng.high) == (0, 1)
        assert limit.gopher is None or limit.gopher in rng


def test_each_compute_group_gives_exactly_its_signals() -> None:
    assert set(COMPUTE) == set(GROUPS)
    text = text_of("fr-fr")
    for group, compute in COMPUTE.items():
        assert set(compute(text, None)) == {s.name for s in REGISTRY if s.group == group}
    assert repetition.NAMES == tuple(s.name for s in REGISTRY if s.group in ON_DEMAND)
    assert set(repetition.signals(text)) == set(repetition.NAMES)


def test_signals_come_in_registry_order_and_on_demand_groups_only_when_asked() -> None:
    text = text_of("fr-fr")
    values = signals(text)
    assert tuple(values) == NAMES == SIGNALS
    assert all(values[s.name] is None for s in REGISTRY if s.repetition)
    assert all(values[s.name] is not None for s in REGISTRY if not s.repetition)
    full = signals(text, text.split(), repetition_signals=True)
    assert all(isinstance(v, float) and math.isfinite(v) for v in full.values())
    assert {k: v for k, v in full.items() if v is not None and values[k] is not None} == {
        k: v for k, v in values.items() if v is not None}


def test_per_word_limits_skip_unspaced_scripts() -> None:
    assert PER_WORD == {"n_words", *(s.name for s in REGISTRY if s.per_word)}
    filters = Filters(max_mean_word_length=1.0, max_duplicate_line_fraction=0.0)
    values = {**dict.fromkeys(NAMES), "mean_word_length": 4.0, "duplicate_line_fraction": 0.5}
    assert failed(filters, 10, "en", values) == "quality: mean_word_length 4 > 1"
    assert failed(filters, 10, "ja", values) == "quality: duplicate_line_fraction 0.5 > 0"


@pytest.mark.parametrize("key", [limit.key for limit in LIMITS])
def test_every_limit_is_a_config_key(key: str) -> None:
    config = from_table({"quality": {key: 0}}, REPO, "test")
    assert getattr(config.quality, key) == 0 and config.quality.active


def test_the_card_lists_the_registry_signals() -> None:
    assert card.SIGNALS == NAMES
