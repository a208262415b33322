"""Configuration files: defaults, strict keys, layout checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from corpuspack.config import load_config
from corpuspack.errors import ConfigError

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
    ('data_dir = "../elsewhere"', "inside the folder of datapackage.json"),
    ("name = [", "Expected|Invalid|expected"),
])
def test_errors_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text))


def test_pyproject_without_table(tmp_path: Path) -> None:
    write(tmp_path, '[project]\nname = "x"\n', "pyproject.toml")
    with pytest.raises(ConfigError, match="no corpus.toml or \\[tool.corpuspack\\]"):
        load_config(cwd=tmp_path)
