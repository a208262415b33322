"""A config file is checked whole when it loads: every value out of its range, of the wrong
type or beyond what the code can hold is one ConfigError line naming the key, its table, the
file, the value and the valid range; a config that is a FIFO, a device or a huge file fails
at once; licences of documents that are not SPDX never fail a build but are set aside.

Real files, FIFOs and builds; no mocks. Reads that could hang run in a child process with a
deadline.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any, get_type_hints

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpuspack.boilerplate import Rules
from corpuspack.build import build
from corpuspack.config import MAX_CONFIG_BYTES, RANGES, Options, Range, load_config
from corpuspack.errors import ConfigError
from corpuspack.neardup import NearDedup
from corpuspack.pii import Redaction
from corpuspack.quality import Filters
from tests.conftest import MULTILINGUAL, REPO, build_to, read_docs, text_of

SETTINGS = {"options": Options, "boilerplate": Rules, "near_dedup": NearDedup,
            "quality": Filters, "pii": Redaction}
LANGS = sorted(p.stem for p in MULTILINGUAL.glob("*.txt"))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "corpus.toml"
    path.write_text(text, encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message
    return message


def is_int_setting(table: str, key: str) -> bool:
    return "int" in str(get_type_hints(SETTINGS[table])[key])


def toml_number(value: float) -> str:
    return repr(value) if isinstance(value, float) else str(value)


# every setting with a range, each just below and just above it
OUT_OF_RANGE = [
    pytest.param(table, key, value, id=f"{table}.{key}={value}")
    for (table, key), rng in RANGES.items()
    for value in ((rng.low if rng.above else
                   (rng.low - 1 if is_int_setting(table, key) else rng.low - 0.5)),
                  rng.high + 1 if is_int_setting(table, key) else rng.high * 2 + 1)
]


@pytest.mark.parametrize(("table", "key", "value"), OUT_OF_RANGE)
def test_every_out_of_range_value_is_one_line_naming_key_table_value_and_range(
        tmp_path: Path, table: str, key: str, value: float) -> None:
    message = error_of(tmp_path, f"[{table}]\n{key} = {toml_number(value)}")
    rng = RANGES[(table, key)]
    assert message.startswith(f"[{table}] {key} in {tmp_path / 'corpus.toml'} must be ")
    shown = ("an integer beyond 64 bits" if isinstance(value, int) and value.bit_length() > 64
             else toml_number(value))
    assert message.endswith(f"must be {rng.text()}, not {shown}"), message


@pytest.mark.parametrize(("table", "key"), list(RANGES))
def test_both_ends_of_every_range_are_accepted_and_kept(tmp_path: Path, table: str,
                                                        key: str) -> None:
    rng = RANGES[(table, key)]
    ends = [rng.high] if rng.above else [rng.low, rng.high]
    for end in ends:
        value: float = int(end) if is_int_setting(table, key) else float(end)
        extra = "\nrows = 1" if (table, key) == ("near_dedup", "bands") else ""
        extra += "\nbands = 1" if (table, key) == ("near_dedup", "rows") else ""
        if table == "quality" and key in ("min_words", "min_mean_word_length"):
            extra += f"\nmax_{key[4:]} = {toml_number(rng.high)}"
        config = load_config(write(tmp_path, f"[{table}]\n{key} = {toml_number(value)}{extra}"))
        kept = getattr(getattr(config, table), key)
        assert kept == value and type(kept) is type(value), (table, key, end)


def test_the_lead_example_message(tmp_path: Path) -> None:
    message = error_of(tmp_path, "[near_dedup]\nthreshold = 1.5")
    assert message == (f"[near_dedup] threshold in {tmp_path / 'corpus.toml'} must be "
                       "between 0 and 1, not 1.5")


@pytest.mark.parametrize(("text", "expected"), [
    ("[near_dedup]\nbands = 0", r"\[near_dedup\] bands in .* must be between 1 and 1,024, not 0"),
    ("[near_dedup]\nthreshold = -0.1", "between 0 and 1, not -0.1"),
    ("[boilerplate]\nfrequent_min_fraction = 2", "frequent_min_fraction .* not 2$"),
    ("[boilerplate]\nmin_words_left = -5", "min_words_left .* not -5$"),
    ("[quality]\nmax_duplicate_line_fraction = 3", "between 0 and 1, not 3$"),
    ("[quality]\nmin_words = -1", r"\[quality\] min_words .* not -1$"),
    ("[options]\nmax_meta_kb = 0", r"\[options\] max_meta_kb .* between 1 and 1,048,576, not 0"),
    ("[options]\nshard_size_mb = 0", "shard_size_mb .* between 0.001 and 1,048,576, not 0$"),
    ("[options]\nlanguage_sample_chars = -1", "language_sample_chars .* not -1$"),
    ("[near_dedup]\nseed = -1", r"seed .* between 0 and 18,446,744,073,709,551,615, not -1$"),
])
def test_named_out_of_range_kinds(tmp_path: Path, text: str, expected: str) -> None:
    import re

    assert re.search(expected, error_of(tmp_path, text))


@pytest.mark.parametrize(("value", "shown"), [
    ("nan", "nan"), ("inf", "inf"), ("-inf", "-inf"), ("1e400", "inf"),
    ("1_000_000_000_000_000_000_000_000_000_000", "an integer beyond 64 bits"),
    ("1e30", "1e+30"),
])
def test_non_finite_and_huge_numbers_are_refused(tmp_path: Path, value: str, shown: str) -> None:
    for table, key in (("near_dedup", "threshold"), ("options", "shard_size_mb"),
                       ("quality", "max_symbol_ratio")):
        message = error_of(tmp_path, f"[{table}]\n{key} = {value}")
        assert message.endswith(f", not {shown}"), message


def test_huge_integers_in_integer_settings(tmp_path: Path) -> None:
    for table, key in (("near_dedup", "bands"), ("near_dedup", "seed"),
                       ("options", "max_file_mb"), ("quality", "max_words")):
        message = error_of(tmp_path, f"[{table}]\n{key} = {10**30}")
        assert message.endswith("not an integer beyond 64 bits"), message
    assert error_of(tmp_path, f"[near_dedup]\nseed = {2**64}").endswith(
        "not an integer beyond 64 bits")
    assert load_config(write(tmp_path, f"[near_dedup]\nseed = {2**64 - 1}")).near_dedup.seed \
        == 2**64 - 1


@pytest.mark.parametrize(("table", "key"), [
    (table, key) for table, key in RANGES if is_int_setting(table, key)])
def test_integers_are_never_bools_or_floats(tmp_path: Path, table: str, key: str) -> None:
    assert error_of(tmp_path, f"[{table}]\n{key} = true").endswith(
        "must be an integer, not true")
    assert error_of(tmp_path, f"[{table}]\n{key} = 3.0").endswith(
        "must be an integer, not 3.0")


def test_numbers_and_bools_are_not_strings_or_each_other(tmp_path: Path) -> None:
    assert error_of(tmp_path, "[near_dedup]\nthreshold = true").endswith(
        "must be a number, not true")
    assert error_of(tmp_path, '[near_dedup]\nthreshold = "0.5"').endswith(
        "must be a number, not '0.5'")
    assert error_of(tmp_path, "[near_dedup]\nenabled = 1").endswith(
        "must be a bool (true or false), not 1")
    assert error_of(tmp_path, "[pii]\nphone_region = 44").endswith(
        "must be a string, not 44")


def test_bands_times_rows_is_bounded(tmp_path: Path) -> None:
    message = error_of(tmp_path, "[near_dedup]\nbands = 64\nrows = 32")
    assert message == ("[near_dedup] bands * rows must be at most 1024 MinHash values per "
                       f"document, not 64 * 32 = 2,048 in {tmp_path / 'corpus.toml'}")
    config = load_config(write(tmp_path, "[near_dedup]\nbands = 32\nrows = 32"))
    assert config.near_dedup.num_perm == 1024


def test_min_above_max_is_refused_also_against_a_preset(tmp_path: Path) -> None:
    message = error_of(tmp_path, "[quality]\nmin_words = 60\nmax_words = 50")
    assert "[quality] min_words (60) must not exceed max_words (50)" in message
    message = error_of(tmp_path, '[quality]\npreset = "gopher"\nmax_words = 10')
    assert "min_words (50) must not exceed max_words (10)" in message
    message = error_of(tmp_path, "[quality]\nmin_mean_word_length = 12\n"
                                 "max_mean_word_length = 4.5")
    assert "min_mean_word_length (12) must not exceed max_mean_word_length (4.5)" in message
    config = load_config(write(tmp_path, '[quality]\npreset = "gopher"\nmax_words = 50'))
    assert (config.quality.min_words, config.quality.max_words) == (50, 50)


@pytest.mark.parametrize(("region", "expected"), [
    ("XX", "must be a region phonenumbers knows (an ISO 3166 code such as US, GB or DE), "
           "not 'XX'"),
    ("gb", "not 'gb' (did you mean 'GB'?)"),
    ("", "not ''"),
    ("001", "not '001'"),
])
def test_phone_region_must_be_known_to_phonenumbers(tmp_path: Path, region: str,
                                                    expected: str) -> None:
    message = error_of(tmp_path, f'[pii]\nphone_region = "{region}"')
    assert message.startswith("[pii] phone_region in ") and message.endswith(expected)


def test_a_known_phone_region_is_kept(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, '[pii]\nphone = true\nphone_region = "DE"'))
    assert config.pii.phone_region == "DE" and config.pii.phone


def test_compression_choices(tmp_path: Path) -> None:
    message = error_of(tmp_path, '[options]\ncompression = "GZIP"')
    assert message.endswith("must be \"none\" or \"gzip\", not 'GZIP' (did you mean 'gzip'?)")


@pytest.mark.parametrize(("text", "expected"), [
    ('name = "ok\\n"', "'name' in .* must be lower case letters"),
    ('version = "1.0.0\\n"', "'version' .* semantic version"),
    ("version = 1", "'version' .* not 1$"),
    ("title = 5", "'title' in .* must be a string, not 5$"),
    ("homepage = [1]", "'homepage' .* must be a string"),
    ('source_dir = "a\\u0000b"', "'source_dir' .* NUL"),
    ("data_dir = 3", "'data_dir' .* must be a string"),
    ("keywords = [1, 2]", "'keywords' .* list of strings"),
    ('sources = ["x"]', "'sources' .* list of tables"),
    ("contributors = 3", "'contributors' .* list of tables"),
    ("options = 3", "'options' .* must be a table"),
    ("licenses = [{ name = 3 }]", "licence name .* must be a string, not 3"),
    ("[defaults]\nlicense = 3", r"\[defaults\] license .* not a string"),
])
def test_odd_values_are_one_line(tmp_path: Path, text: str, expected: str) -> None:
    import re

    assert re.search(expected, error_of(tmp_path, text))


@pytest.mark.parametrize("text", [
    "x = " + "1" * 5000,  # Python refuses to convert an integer of more than 4300 digits
    "x = " + "[" * 100_000 + "]" * 100_000,  # tomllib recurses
    "x = " + "{a = " * 50_000 + "1" + "}" * 50_000,
    "name = \"\\ud800\"",
    "\xff\xfe",
])
def test_toml_the_parser_cannot_take_is_one_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "corpus.toml"
    path.write_bytes(text.encode("utf-8", "surrogateescape") if text != "\xff\xfe"
                     else b"\xff\xfe")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(str(path)) and "\n" not in str(info.value)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(
    st.sampled_from(sorted({key for _, key in RANGES} | {"enabled", "phone_region", "x"})),
    st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.floats(), st.booleans(),
              st.text(max_size=5)), max_size=4),
    st.sampled_from(["options", "boilerplate", "near_dedup", "quality", "pii"]))
def test_any_values_give_a_config_or_one_config_error(tmp_path_factory: pytest.TempPathFactory,
                                                      values: dict[str, Any],
                                                      table: str) -> None:
    from corpuspack.config import from_table

    root = tmp_path_factory.mktemp("any")
    try:
        config = from_table({table: values}, root, "corpus.toml")
    except ConfigError as exc:
        assert "\n" not in str(exc)
        return
    settings_obj = getattr(config, table)
    for key, value in values.items():
        kept = getattr(settings_obj, key)
        assert kept == value or (isinstance(value, int) and kept == float(value))
        if (table, key) in RANGES:
            assert kept in RANGES[(table, key)]


def child_load(config: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Load a config in a child process with a deadline: a hang fails the test, not CI."""
    return subprocess.run(
        [sys.executable, "-m", "corpuspack.cli", "build", "--config", str(config)],
        cwd=config.parent if config.parent.is_dir() else REPO, capture_output=True, text=True,
        timeout=timeout, env={**os.environ, "CI": "1"})


def test_a_config_that_is_a_fifo_fails_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "corpus.toml"
    os.mkfifo(fifo)
    done = child_load(fifo)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a regular file" in lines[0], done.stderr
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config(fifo)  # in process too: the read never blocks


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_a_config_linked_to_a_device_fails_at_once(tmp_path: Path, device: str) -> None:
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    link = tmp_path / "corpus.toml"
    link.symlink_to(device)
    done = child_load(link)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "not a regular file" in lines[0], done.stderr
    assert os.path.islink(link) and os.readlink(link) == device


def test_a_config_that_is_a_folder_or_huge_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "a" / "corpus.toml"
    folder.mkdir(parents=True)
    with pytest.raises(ConfigError, match="not a regular file"):
        load_config(folder)
    huge = tmp_path / "b" / "corpus.toml"
    huge.parent.mkdir()
    with huge.open("wb") as fh:
        fh.write(b"# " + b"x" * MAX_CONFIG_BYTES + b"\n")
    with pytest.raises(ConfigError, match="exceeds the limit"):
        load_config(huge)


def test_a_pyproject_that_is_a_fifo_is_not_read_when_looking_for_a_config(
        tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pyproject.toml")
    with pytest.raises(ConfigError, match="no corpus.toml or"):
        load_config(cwd=tmp_path)


def test_a_config_missing_or_dangling_is_not_found(tmp_path: Path) -> None:
    (tmp_path / "corpus.toml").symlink_to(tmp_path / "nowhere.toml")
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "corpus.toml")


def test_every_range_holds_its_own_ends() -> None:
    for (table, key), rng in RANGES.items():
        assert rng.high in rng and rng.low < rng.high, (table, key)
        assert (rng.low in rng) is not rng.above
        assert float("nan") not in rng and float("inf") not in rng and True not in rng
    assert isinstance(RANGES[("near_dedup", "threshold")], Range)
    assert {f.name for f in fields(Filters) if f.name.endswith("_fraction")} <= {
        key for table, key in RANGES if table == "quality"}


# --- licences of documents: never fail a build, set aside when not SPDX -----------------

def prose(n: int) -> str:
    """Real prose, a different language for each n (no two are near-duplicates)."""
    return text_of(LANGS[n])


LICENSED = {
    "mit-lower": ("mit", "MIT", None),
    "expression": ("mit or apache-2.0", "MIT OR Apache-2.0", None),
    "with": ("GPL-2.0-or-later WITH Classpath-exception-2.0",
             "GPL-2.0-or-later WITH Classpath-exception-2.0", None),
    "ref": ("LicenseRef-Publisher-Terms", "LicenseRef-Publisher-Terms", None),
    "spaces": ("CC BY 4.0", "NOASSERTION", "CC BY 4.0"),
    "deprecated": ("GPL-2.0", "NOASSERTION", "GPL-2.0"),
    "unknown": ("All rights reserved", "NOASSERTION", "All rights reserved"),
    "list": (["MIT", "Apache-2.0"], "NOASSERTION", ["MIT", "Apache-2.0"]),
    "noassertion": ("noassertion", "NOASSERTION", None),
    "injected": ("MIT\nOR; rm -rf /", "NOASSERTION", "MIT\nOR; rm -rf /"),
    "long": ("MIT AND " * 200 + "MIT", "NOASSERTION", "MIT AND " * 200 + "MIT"),
    # boolean.py, under license-expression, drops the last AND and would accept 'MIT AND ISC'
    "trailing-and": ("mit and isc and", "NOASSERTION", "mit and isc and"),
}


def test_document_licences_are_canonical_or_noassertion_with_the_raw_value(
        tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "side").mkdir(parents=True)
    for i, (name, (value, _, _)) in enumerate(LICENSED.items()):
        (src / "side" / f"{name}.txt").write_text(prose(i), encoding="utf-8")
        (src / "side" / f"{name}.meta.json").write_text(
            json.dumps({"license": value, "title": name}), encoding="utf-8")
    # the same rules for a manifest and for JSONL keys
    (src / "man").mkdir()
    (src / "man" / "doc.txt").write_text(prose(len(LICENSED)), encoding="utf-8")
    (src / "man" / "_manifest.csv").write_text("path,licence,title\ndoc.txt,Apache 2.0,man\n",
                                               encoding="utf-8")
    (src / "lines.jsonl").write_text(
        json.dumps({"id": "j1", "text": prose(len(LICENSED) + 1), "license": "cc-by-sa-4.0",
                    "title": "jsonl-ok"}) + "\n"
        + json.dumps({"id": "j2", "text": prose(len(LICENSED) + 2), "title": "jsonl-bad",
                      "license": "Public Domain"}) + "\n", encoding="utf-8")
    config, report = build_to(src, tmp_path / "pkg")
    assert report.documents_written == len(LICENSED) + 3
    docs = {d["title"]: d for d in read_docs(tmp_path / "pkg")}
    for name, (_, license_, raw) in LICENSED.items():
        doc = docs[name]
        meta = doc["meta"]
        assert isinstance(meta, dict)
        assert doc["license"] == license_, name
        assert meta.get("license_raw") == raw, name
    assert docs["man"]["license"] == "NOASSERTION"
    assert docs["man"]["meta"] == {"license_raw": "Apache 2.0"}
    assert docs["jsonl-ok"]["license"] == "CC-BY-SA-4.0"
    assert "license_raw" not in docs["jsonl-ok"]["meta"]  # type: ignore[operator]
    assert docs["jsonl-bad"]["license"] == "NOASSERTION"
    assert docs["jsonl-bad"]["meta"]["license_raw"] == "Public Domain"  # type: ignore[index]


def test_config_defaults_licence_reaches_documents_and_a_document_overrides_it(
        tmp_path: Path) -> None:
    src = tmp_path / "corpus" / "sources"
    src.mkdir(parents=True)
    (src / "plain.txt").write_text(prose(0), encoding="utf-8")
    (src / "own.txt").write_text(prose(1), encoding="utf-8")
    (src / "own.meta.yaml").write_text("license: cc by 4.0\n", encoding="utf-8")
    (tmp_path / "corpus.toml").write_text(
        '[defaults]\nlicense = "CC-BY-SA-4.0"\n', encoding="utf-8")
    build(load_config(tmp_path / "corpus.toml"), workers=1)
    docs = {d["source"]: d for d in read_docs(tmp_path / "corpus")}
    assert docs["plain.txt"]["license"] == "CC-BY-SA-4.0"
    assert docs["own.txt"]["license"] == "NOASSERTION"
    assert docs["own.txt"]["meta"] == {"license_raw": "cc by 4.0"}
