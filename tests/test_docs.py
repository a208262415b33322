"""The README tells the truth: quick start, schema, options, commands, CI."""

from __future__ import annotations

import re
from dataclasses import fields

import typer.main

from corpuspack.boilerplate import Rules
from corpuspack.cli import app
from corpuspack.config import option_help
from corpuspack.document import COLUMNS
from corpuspack.neardup import NearDedup
from corpuspack.pii import Redaction
from corpuspack.quality import LIMITS, Filters
from corpuspack.sources.formats import FORMATS

from .conftest import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    match = re.search(rf"^#+ {re.escape(title)}\n(.*?)(?=^#+ |\Z)", README, re.S | re.M)
    assert match, title
    return match.group(1)


def quick_start_commands() -> list[str]:
    block = re.search(r"```[a-z]*\n(.*?)```", section("Quick start"), re.S)
    assert block
    return [line for line in block.group(1).splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def test_quick_start_is_two_commands_and_ci_runs_the_test_one() -> None:
    commands = quick_start_commands()
    assert len(commands) == 2
    build_cmd, test_cmd = commands
    assert "pip install" in build_cmd and "corpuspack build" in build_cmd
    assert "corpuspack validate" in build_cmd and "corpuspack publish" in build_cmd
    assert "pytest" in test_cmd
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert test_cmd in ci.splitlines()


def test_schema_table_matches_document() -> None:
    rows = re.findall(r"^\| `(\w+)` \| (\w+) \| (.*) \|$", section("The document schema"), re.M)
    assert [(c.name, c.kind, c.description) for c in COLUMNS] == rows


def test_source_format_table_matches_the_registry() -> None:
    rows = re.findall(r"^\| (`\.[^|]*) \| `(\w+)` \| (.*) \|$", section("Source formats"), re.M)
    expected = [(", ".join(f"`{ext}`" for ext in f.extensions), f.name, f.documents)
                for f in FORMATS.values()]
    assert rows == expected


def test_options_table_matches_options() -> None:
    table = section("Configuration").split("| option | default | meaning |", 1)[1]
    rows = {name: (default, meaning) for name, default, meaning in re.findall(
        r"^\| `(\w+)` \| `([^`]*)` \| (.*) \|$", table, re.M)}
    assert list(rows) == [name for name, _, _ in option_help()]
    for name, default, help_text in option_help():
        shown, meaning = rows[name]
        expected = str(default).lower() if isinstance(default, bool) else str(default)
        assert shown.strip('"') in (expected, expected.removesuffix(".0")), name
        assert meaning == help_text, name


def test_every_command_and_option_is_documented() -> None:
    cli = section("Command line")
    group = typer.main.get_command(app)
    commands = group.commands  # type: ignore[attr-defined]
    assert commands
    for name, command in commands.items():
        assert f"corpuspack {name}" in cli, name
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--"):
                    assert opt in cli, f"{name} {opt}"


def test_every_text_quality_key_is_documented() -> None:
    documented: dict[str, set[str]] = {}
    table = ""
    for row in re.findall(r"^\| (`\[\w+\]`)? ?\| (.*) \|$", section("Text quality"), re.M):
        table = row[0].strip("`[]") or table
        documented.setdefault(table, set()).update(re.findall(r"`(\w+)`", row[1]))
    for name, settings in (("boilerplate", Rules), ("near_dedup", NearDedup),
                           ("quality", Filters), ("pii", Redaction)):
        missing = {f.name for f in fields(settings)} - documented.get(name, set())
        assert not missing, f"[{name}] {sorted(missing)}"


def test_quality_rows_name_the_limits_of_the_registry() -> None:
    """One row for the word count and the signals always computed, one for the repetition
    signals, each naming exactly its limits (a row of the Text quality table per kind)."""
    rows = re.findall(r"^\| (?:`\[\w+\]`)? ?\| (.*?) \| (.*?) \| (.*) \|$",
                      section("Text quality").split("| `[quality]`", 1)[1].split("| `[pii]`")[0],
                      re.M)
    keys = [set(re.findall(r"`(\w+)`", key)) for key, _, _ in rows]
    assert {limit.key for limit in LIMITS if not limit.repetition} in keys
    assert {limit.key for limit in LIMITS if limit.repetition} in keys


def test_boilerplate_format_tables_name_every_source_format() -> None:
    # the README listed 4 of the 12 names a [boilerplate.formats.NAME] table accepts
    from corpuspack.boilerplate import FORMATS

    found = re.search(r"\(NAME a source format: one of ([^)]*)\)", README)
    assert found is not None
    assert re.findall(r"`([a-z]+)`", found.group(1)) == list(FORMATS)
