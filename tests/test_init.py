"""'corpuspack init' gives a repository whose CI workflow passes, and fails when stale."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from .conftest import SEED, text_of


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "corpuspack.cli", *args], cwd=cwd,
                          capture_output=True, text=True, env={**os.environ, "CI": "1"})


def workflow_steps(repo: Path) -> list[str]:
    workflow = yaml.safe_load((repo / ".github" / "workflows" / "corpus.yml").read_text())
    (job,) = workflow["jobs"].values()
    # the install step is what this test environment already did
    return [s["run"] for s in job["steps"] if "run" in s and "pip install" not in s["run"]]


def run_step(repo: Path, command: str) -> subprocess.CompletedProcess[str]:
    args = command.split()
    assert args[0] == "corpuspack"
    return cli(repo, *args[1:])


def test_init_then_workflow_passes(tmp_path: Path) -> None:
    repo = tmp_path / "my-corpus"
    done = cli(tmp_path, "init", str(repo))
    assert done.returncode == 0, done.stderr
    for path in ("corpus.toml", "DATA_CARD.md", ".gitignore", ".github/workflows/corpus.yml",
                 "corpus/sources"):
        assert (repo / path).exists(), path
    config = (repo / "corpus.toml").read_text()
    assert 'name = "my-corpus"' in config and "# language_sample_chars = 300" in config
    shutil.copy(SEED, repo / "corpus" / "sources" / "seed.txt")
    (repo / "corpus" / "sources" / "fr.md").write_text(
        "---\ntitle: Notes\n---\n" + text_of("fr-fr"), encoding="utf-8")
    assert cli(repo, "build").returncode == 0
    assert cli(repo, "card").returncode == 0
    card = (repo / "DATA_CARD.md").read_text()
    assert "## Motivation and curation" in card and "| documents | 2 |" in card

    steps = workflow_steps(repo)
    assert steps == ["corpuspack build --check", "corpuspack validate --base auto",
                     "corpuspack card --check"]
    for command in steps:
        done = run_step(repo, command)
        assert done.returncode == 0, (command, done.stdout, done.stderr)

    (repo / "corpus" / "sources" / "late.txt").write_text(text_of("de-de"), encoding="utf-8")
    results = {command: run_step(repo, command).returncode for command in steps}
    assert results["corpuspack build --check"] == 1


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    assert cli(tmp_path, "init", str(tmp_path / "c")).returncode == 0
    done = cli(tmp_path, "init", str(tmp_path / "c"))
    assert done.returncode == 2 and "exists already" in done.stderr


def test_config_template_lists_every_option_and_loads(tmp_path: Path) -> None:
    import re

    from corpuspack.config import load_config
    from corpuspack.scaffold import config_text

    text = config_text("demo")
    # uncomment every one-line setting that has a value, as a curator trying them would
    lines = [re.sub(r"^# (\w+ = (?!\.\.\.)[^\[{].*)$", r"\1", line) for line in text.splitlines()]
    (tmp_path / "corpus.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = load_config(tmp_path / "corpus.toml")
    assert config.options.language_sample_chars == 300 and config.quality.min_words == 50
    for key in ("trailing_block", "threshold", "phone_region", "max_short_line_fraction"):
        assert f"# {key} = " in text
