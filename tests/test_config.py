"""Configuration files: defaults, strict keys, layout checks, ranges, SPDX licences."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path
from typing import get_type_hints

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpuspack.boilerplate import Rules
from corpuspack.config import RANGES, Options, load_config, setting_ranges
from corpuspack.errors import ConfigError
from corpuspack.licenses import LicenseError, canonical, check_license, suggest
from corpuspack.neardup import NearDedup
from corpuspack.pii import Redaction
from corpuspack.quality import Filters

from .conftest import REPO


def write(tmp_path: Path, text: str, name: str = "corpus.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_repository_config() -> None:
    config = load_config(cwd=REPO)
    assert config.name == "corpuspack-corpus" and config.config_file == REPO / "pyproject.toml"
    assert config.source_dir == REPO / "corpus" / "sources"
    assert config.descriptor == REPO / "datapackage.json"


def test_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    assert (config.version, config.options.compression, config.options.shard_size_mb) == (
        "0.1.0", "none", 64.0)
    assert config.data_dir == tmp_path.resolve() / "corpus" / "data"


@pytest.mark.parametrize(("text", "message"), [
    ('licence = "MIT"', "unknown key 'licence' .*did you mean 'licenses'"),
    ('version = "1.0"', "semantic version"),
    ('name = "Has Spaces"', "'name'"),
    ("[options]\ncompression = \"zip\"", "compression"),
    ("[options]\nshard_size_mb = -1", r"\[options\] shard_size_mb in .* must be between 0.001"),
    ("[options]\nworkers = 3", "unknown key 'workers'"),
    ("[options]\nexact_dedup = 1", "must be a bool"),
    ('data_dir = "corpus/sources/data"', "inside the source folder"),
    ('data_dir = "../elsewhere"', "leads outside the config's folder"),
    ("name = [", "Expected|Invalid|expected"),
])
def test_errors_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text))


def test_pyproject_without_table(tmp_path: Path) -> None:
    write(tmp_path, '[project]\nname = "x"\n', "pyproject.toml")
    with pytest.raises(ConfigError, match="no corpus.toml or \\[tool.corpuspack\\]"):
        load_config(cwd=tmp_path)


# --- ranges: one table, every numeric setting ------------------------------------------

SETTINGS = {"options": Options, "boilerplate": Rules, "near_dedup": NearDedup,
            "quality": Filters, "pii": Redaction}


def test_every_numeric_setting_of_every_table_has_a_range() -> None:
    numeric = {(table, f.name) for table, cls in SETTINGS.items()
               for f, hint in ((f, get_type_hints(cls)[f.name]) for f in fields(cls))
               if "int" in str(hint) or "float" in str(hint)}
    assert numeric == set(RANGES)
    for (table, key), rng in RANGES.items():
        default = getattr(SETTINGS[table](), key)
        assert default is None or default in rng, (table, key, default)


def test_setting_ranges_document_every_range_and_choice() -> None:
    documented = {(table, key): text for table, key, text in setting_ranges()}
    assert documented[("near_dedup", "threshold")] == "between 0 and 1"
    assert documented[("options", "shard_size_mb")] == "between 0.001 and 1,048,576"
    assert documented[("options", "compression")] == '"none" or "gzip"'
    assert documented[("near_dedup", "bands * rows")] == "at most 1024"
    assert "phonenumbers" in documented[("pii", "phone_region")]
    assert set(RANGES) <= set(documented)


def test_text_column_is_a_column_name(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[options]\ntext_column = "Résumé du texte"\n'))
    assert config.options.text_column == "Résumé du texte"
    assert load_config(write(tmp_path, "[options]\n")).options.text_column == ""
    assert "256 characters" in dict(
        ((t, k), v) for t, k, v in setting_ranges())[("options", "text_column")]
    for value, shown in (('" body"', "' body'"), ('"a\\tb"', "'a\\tb'"),
                         ('"' + "x" * 257 + '"', "'xxxx"), ("3", "3"), ('"  "', "'  '")):
        with pytest.raises(ConfigError, match=r"\[options\] text_column in .* must be ") as e:
            load_config(write(tmp_path, f"[options]\ntext_column = {value}\n"))
        assert shown in str(e.value)


def test_in_range_values_are_kept_with_their_types(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, """
[options]
shard_size_mb = 1
max_meta_kb = 1
[boilerplate]
frequent_min_fraction = 0
frequent_max_share = 1
min_words_left = 0
[near_dedup]
threshold = 1
bands = 32
rows = 32
seed = 0
[quality]
min_words = 0
max_words = 0
max_symbol_ratio = 0.5
max_duplicate_line_fraction = 1
[pii]
phone_region = "GB"
"""))
    assert config.options.shard_size_mb == 1.0 and type(config.options.shard_size_mb) is float
    assert (config.boilerplate.frequent_min_fraction, config.boilerplate.frequent_max_share) \
        == (0.0, 1.0)
    assert config.near_dedup.threshold == 1.0 and config.near_dedup.num_perm == 1024
    assert (config.quality.min_words, config.quality.max_words) == (0, 0)
    assert config.quality.max_duplicate_line_fraction == 1.0
    assert config.pii.phone_region == "GB"


# --- licences ---------------------------------------------------------------------------

@pytest.mark.parametrize("value", [
    "CC-BY-4.0", "MIT", "MIT OR Apache-2.0", "GPL-2.0-or-later WITH Classpath-exception-2.0",
    "MIT AND (Apache-2.0 OR BSD-3-Clause)", "LicenseRef-Publisher-Terms",
    "DocumentRef-spdx-tool-1.2:LicenseRef-MIT-Style-2", "NOASSERTION", "NONE", "CC0-1.0",
    "Apache-2.0+", "MIT WITH AdditionRef-Custom",
])
def test_spdx_licences_are_accepted_as_written(tmp_path: Path, value: str) -> None:
    config = load_config(write(tmp_path, f'licenses = [{{ name = "{value}", path = "L" }}]\n'
                                         f'[defaults]\nlicense = "{value}"\n'))
    assert config.licenses == ({"name": value, "path": "L"},)
    assert config.defaults == {"license": value}
    assert check_license(value) == value and suggest(value) is None


@pytest.mark.parametrize(("value", "meant"), [
    ("CC BY 4.0", "CC-BY-4.0"),
    ("apache 2.0", "Apache-2.0"),
    ("Apache License, Version 2.0", "Apache-2.0"),
    ("mit", "MIT"),
    ("MIT License", "MIT"),
    ("cc by-sa 4.0", "CC-BY-SA-4.0"),
    ("CC-BY-4.O", "CC-BY-4.0"),
    ("CC0", "CC0-1.0"),
    ("GPL-2.0", "GPL-2.0-only"),
    ("gpl-3.0+", "GPL-3.0-or-later"),
    ("GPLv3", "GPL-3.0-only"),
    ("mit or apache 2.0", "MIT OR Apache-2.0"),
    ("GPL-3.0+ WITH GCC-exception-3.1", "GPL-3.0-or-later WITH GCC-exception-3.1"),
    ("noassertion", "NOASSERTION"),
    ("unknown", "NOASSERTION"),
])
def test_near_misses_name_the_spdx_id(tmp_path: Path, value: str, meant: str) -> None:
    assert suggest(value) == meant
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, f'licenses = "{value}"'))
    message = str(info.value)
    assert message.startswith(f"licence name in {tmp_path / 'corpus.toml'}: ")
    assert f"did you mean {meant}" in message and "\n" not in message
    with pytest.raises(ConfigError, match=f"^\\[defaults\\] licence in .*did you mean {meant}"):
        load_config(write(tmp_path, f'[defaults]\nlicence = "{value}"'))


def test_deprecated_ids_name_both_current_ids() -> None:
    with pytest.raises(LicenseError) as info:
        check_license("GPL-2.0")
    assert str(info.value) == ("'GPL-2.0' is not an SPDX licence id or expression ('GPL-2.0' "
                               "is deprecated or not an SPDX id); did you mean GPL-2.0-only "
                               "or GPL-2.0-or-later?")
    assert info.value.suggestion == "GPL-2.0-only"


@pytest.mark.parametrize(("value", "reason"), [
    ("Foo", "unknown licence id 'Foo'"),
    ("MIT OR", "a licence id is missing at the end"),
    ("(MIT", "a '(' without its ')'"),
    ("MIT)", "a ')' without its '('"),
    ("MIT AND MIT AND", "a licence id is missing at the end"),  # boolean.py would drop it
    ("MIT ISC", "'ISC' where AND, OR or the end belongs"),
    ("MIT OR AND ISC", "'AND' where a licence id belongs"),
    ("MIT WITH", "WITH needs a licence id before it and an exception id after it"),
    ("MIT AND ()", "'()' with no licence id inside"),  # boolean.py: IndexError
    ("(OR MIT)", "AND or OR right after '('"),  # boolean.py: AssertionError
    ("MIT (ISC)", "'(' where AND, OR or the end belongs"),
    ("MIT OR GPL-2.0+", "'GPL-2.0+' is deprecated"),
    ("MIT;", "Invalid license key"),
    ("Classpath-exception-2.0", "is an exception"),
    ("MIT WITH Foo", "unknown exception id 'Foo' after WITH"),
    ("", "empty"),
    ("(" * 40 + "MIT" + ")" * 40, "nested deeper than 32"),
    ("(" * 33 + "MIT", "nested deeper than 32"),
    ("MIT AND " * 200 + "MIT", "longer than 1000 characters"),
    ("LicenseRef-", "unknown licence id 'LicenseRef-'"),
    ("LicenseRef-a_b", "unknown licence id"),
])
def test_invalid_licences_say_why(value: str, reason: str) -> None:
    with pytest.raises(LicenseError) as info:
        check_license(value)
    assert reason in str(info.value) and "\n" not in str(info.value)
    assert canonical(value) is None


def test_case_and_spacing_are_canonicalised_for_documents_only(tmp_path: Path) -> None:
    assert canonical("mit  or\tapache-2.0") == "MIT OR Apache-2.0"
    assert canonical("licenseref-X ( and (mit))") is None
    # parentheses as license-expression renders the tree: around a group inside another
    assert canonical("licenseref-X and (mit)") == "LicenseRef-X AND MIT"
    assert canonical("((MIT))") == "MIT" and canonical("(MIT WITH LLVM-exception)") == (
        "MIT WITH LLVM-exception")
    assert canonical("mit or isc and (0bsd)") == "MIT OR (ISC AND 0BSD)"
    assert canonical("MIT AND (ISC AND Zlib)") == "MIT AND (ISC AND Zlib)"
    assert canonical("(" * 32 + "MIT OR ISC" + ")" * 32) == "MIT OR ISC"
    with pytest.raises(ConfigError, match="did you mean MIT OR Apache-2.0"):
        load_config(write(tmp_path, 'licenses = "(MIT OR Apache-2.0)"'))
    with pytest.raises(ConfigError, match="not written as the SPDX licence list writes it; "
                                          "did you mean MIT OR Apache-2.0"):
        load_config(write(tmp_path, 'licenses = "mit or apache-2.0"'))


def test_config_licences_need_a_name_or_path_and_strings(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, 'licenses = [{ title = "Mixed", path = "CARD.md" }]'))
    assert config.licenses == ({"title": "Mixed", "path": "CARD.md"},)
    with pytest.raises(ConfigError, match="needs a 'name' or a 'path'"):
        load_config(write(tmp_path, 'licenses = [{ title = "x" }]'))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_is_canonical_or_a_licence_error(value: str) -> None:
    fixed = canonical(value)
    try:
        checked = check_license(value)
    except LicenseError as exc:
        assert fixed is None and "\n" not in str(exc)
        hint = exc.suggestion
        assert hint is None or canonical(hint) == hint
    else:
        assert checked == fixed and canonical(checked) == checked


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["MIT", "Apache-2.0", "CC-BY-4.0", "LicenseRef-x",
                                 "GPL-2.0-or-later WITH Classpath-exception-2.0"]),
                min_size=1, max_size=5),
       st.lists(st.sampled_from([" AND ", " OR "]), min_size=4, max_size=4),
       st.booleans())
def test_expressions_are_canonical_in_any_case(ids: list[str], ops: list[str],
                                               lower: bool) -> None:
    text = ids[0] + "".join(op + i for op, i in zip(ops, ids[1:], strict=False))
    fixed = check_license(text)
    # only parentheses are added, around the AND groups of an OR (AND binds tighter)
    assert fixed.replace("(", "").replace(")", "") == text
    assert (fixed == text) == (" AND " not in text or " OR " not in text)
    assert canonical(text.lower() if lower else text.upper()) == fixed.replace(
        "LicenseRef-x", "LicenseRef-" + ("x" if lower else "X"))


def test_hub_licence_of_package_licences() -> None:
    from corpuspack.hub import hub_license

    for name, hub in (("CC-BY-4.0", "cc-by-4.0"), ("MIT", "mit"), ("Apache-2.0", "apache-2.0"),
                      ("CC0-1.0", "cc0-1.0"), ("CC-BY-SA-4.0", "cc-by-sa-4.0")):
        assert hub_license({}, [{"name": check_license(name)}]) == {"license": hub}
