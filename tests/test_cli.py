"""The command line: thin wrappers, one-line errors, exit codes, JSON output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from corpuspack.cli import app

from .conftest import SEED

runner = CliRunner()


def small_tree(tmp_path: Path) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(SEED, src / "seed.txt")
    (src / "bad.txt").write_bytes(b"")
    return src


def test_build_and_validate(tmp_path: Path) -> None:
    src = small_tree(tmp_path)
    result = runner.invoke(app, ["build", str(src), "--out", str(tmp_path / "pkg"), "-j", "1"])
    assert result.exit_code == 0, result.output
    assert "documents: 1 read, 0 exact and 0 near duplicates dropped, 0 filtered out, " \
        "1 written" in result.output
    assert "boilerplate trailing_block: 14 lines" in result.output
    assert "skipped (1): empty or white space only after decoding" in result.output
    result = runner.invoke(app, ["validate", str(tmp_path / "pkg")])
    assert result.exit_code == 0 and "valid (1 data file(s), 1 documents)" in result.output


def test_build_json(tmp_path: Path) -> None:
    src = small_tree(tmp_path)
    result = runner.invoke(app, ["build", str(src), "--out", str(tmp_path / "pkg"), "-j", "1",
                                 "--json"])
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["documents_written"] == 1 and report["files_seen"] == 2
    assert report["skipped"] == [{"path": "bad.txt",
                                  "reason": "empty or white space only after decoding"}]
    assert report["seconds"] >= 0 and report["duplicates"] == []


def test_strict_exit_code(tmp_path: Path) -> None:
    src = small_tree(tmp_path)
    result = runner.invoke(app, ["build", str(src), "--out", str(tmp_path / "pkg"), "-j", "1",
                                 "--strict"])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "error: --strict: 1 file(s)" in result.stderr


def test_validate_json_and_exit_codes(tmp_path: Path) -> None:
    src = small_tree(tmp_path)
    runner.invoke(app, ["build", str(src), "--out", str(tmp_path / "pkg"), "-j", "1"])
    result = runner.invoke(app, ["validate", str(tmp_path / "pkg"), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["valid"] is True
    shard = next((tmp_path / "pkg" / "data").glob("documents-*.jsonl"))
    shard.write_text(shard.read_text().replace("Camp", "Kamp"))
    result = runner.invoke(app, ["validate", str(tmp_path / "pkg"), "--json"])
    assert result.exit_code == 1 and json.loads(result.stdout)["valid"] is False
    result = runner.invoke(app, ["validate", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "no datapackage.json" in result.stderr


def test_misuse(tmp_path: Path) -> None:
    result = runner.invoke(app, ["build", str(tmp_path)])
    assert result.exit_code == 2 and "--out PACKAGE_DIR is required" in result.stderr
    result = runner.invoke(app, ["build", "--config", str(tmp_path / "none.toml")])
    assert result.exit_code == 2 and "config file not found" in result.stderr


def test_debug_keeps_the_exit_code(tmp_path: Path) -> None:
    plain = runner.invoke(app, ["build", str(tmp_path)])
    debug = runner.invoke(app, ["build", str(tmp_path), "--debug"])
    assert plain.exit_code == debug.exit_code != 0


def test_config_build_and_check(tmp_path: Path) -> None:
    (tmp_path / "corpus" / "sources").mkdir(parents=True)
    shutil.copy(SEED, tmp_path / "corpus" / "sources" / "seed.txt")
    (tmp_path / "corpus.toml").write_text(
        'name = "demo"\ntitle = "Demo"\nversion = "1.0.0"\n'
        '[defaults]\nlicense = "CC0-1.0"\n', encoding="utf-8")
    cfg = ["--config", str(tmp_path / "corpus.toml")]
    assert runner.invoke(app, ["build", *cfg, "-j", "1"]).exit_code == 0
    desc = json.loads((tmp_path / "datapackage.json").read_text())
    assert (desc["name"], desc["title"], desc["version"]) == ("demo", "Demo", "1.0.0")
    assert desc["resources"][0]["path"] == "corpus/data/documents-00000-of-00001.jsonl"
    result = runner.invoke(app, ["build", *cfg, "--check", "-j", "1"])
    assert result.exit_code == 0 and "up to date" in result.output
    (tmp_path / "corpus" / "sources" / "more.txt").write_text("More news.", encoding="utf-8")
    result = runner.invoke(app, ["build", *cfg, "--check", "-j", "1"])
    assert result.exit_code == 1 and "stale" in result.output


def test_error_text_is_printed_as_is(tmp_path: Path) -> None:
    # a path with square brackets (rich markup syntax) must reach the user unchanged
    missing = tmp_path / "[bold]draft[/bold]" / "corpus.toml"
    result = runner.invoke(app, ["build", "--config", str(missing)])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: config file not found: {missing}"


def test_the_script_freezes_the_heap_before_the_interpreter_exits(monkeypatch) -> None:
    import gc
    import signal

    import pytest

    from corpuspack.cli import main

    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr("sys.argv", ["corpuspack", "--help"])
    assert gc.get_freeze_count() == 0
    try:
        with pytest.raises(SystemExit):
            main()
        assert gc.get_freeze_count() > 0  # shutdown's collections skip every object
    finally:
        gc.unfreeze()
        signal.signal(signal.SIGTERM, before)


@pytest.mark.parametrize(("args", "says"), [
    (["biuld"], "No such command 'biuld'. Did you mean 'build'? (see 'corpuspack --help')"),
    (["build", "--wokers", "2"], "No such option: --wokers (Possible options: --workers) "
                                  "(see 'corpuspack build --help')"),
    (["build", "--workers", "0"], "Invalid value for '--workers' / '-j'"),
    (["diff"], "Missing argument 'old'."),
])
def test_a_usage_error_is_one_line_with_exit_code_2(args: list[str], says: str,
                                                     tmp_path: Path) -> None:
    # the command line's own parser printed a box of 3 to 6 lines
    done = subprocess.run([sys.executable, "-m", "corpuspack.cli", *args], cwd=tmp_path,
                          capture_output=True, text=True, env={**os.environ, "CI": "1"})
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
    assert says in done.stderr


def test_debug_shows_the_traceback_and_keeps_the_exit_code(tmp_path: Path) -> None:
    def validate(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "corpuspack.cli", "validate",
                               str(tmp_path / "none"), *extra], capture_output=True,
                              text=True, env={**os.environ, "CI": "1"})

    plain, debug = validate(), validate("--debug")
    assert plain.returncode == debug.returncode == 2  # --debug had exited 1
    assert "Traceback" in debug.stderr and "Traceback" not in plain.stderr
    assert debug.stderr.strip().splitlines()[-1] == plain.stderr.strip()


def test_version() -> None:
    import corpuspack

    done = subprocess.run([sys.executable, "-m", "corpuspack.cli", "--version"],
                          capture_output=True, text=True, env={**os.environ, "CI": "1"})
    assert (done.returncode, done.stdout) == (0, f"corpuspack {corpuspack.__version__}\n")


def test_an_unchanged_build_says_it_wrote_nothing(tmp_path: Path) -> None:
    # it said "wrote 1 data file(s)" when the inputs matched a recorded build and nothing
    # was written
    (tmp_path / "corpus" / "sources").mkdir(parents=True)
    shutil.copy(SEED, tmp_path / "corpus" / "sources" / "seed.txt")
    (tmp_path / "corpus.toml").write_text('name = "demo"\n', encoding="utf-8")
    cfg = ["--config", str(tmp_path / "corpus.toml")]
    first = runner.invoke(app, ["build", *cfg, "-j", "1"])
    assert first.exit_code == 0 and "wrote 1 data file(s)" in first.output
    data = tmp_path / "corpus" / "data"
    before = {p.name: p.stat().st_mtime_ns for p in data.iterdir()}
    again = runner.invoke(app, ["build", *cfg, "-j", "1"])
    assert again.exit_code == 0, again.output
    assert "up to date: nothing written" in again.output and "wrote" not in again.output
    assert {p.name: p.stat().st_mtime_ns for p in data.iterdir()} == before


def test_a_config_given_for_a_package_is_named_as_such(tmp_path: Path) -> None:
    # "validate corpus.toml" said "datapackage.json is not JSON"
    (tmp_path / "corpus.toml").write_text('name = "demo"\n', encoding="utf-8")
    result = runner.invoke(app, ["validate", str(tmp_path / "corpus.toml")])
    assert result.exit_code == 2
    assert "corpus.toml is not a datapackage.json" in result.output


def test_stats_outside_a_corpus_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                        ) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["stats"])
    assert result.exit_code == 2
    assert "run this in a corpus repository, or name a package" in result.output
