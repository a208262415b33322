"""'corpuspack init' gives a repository whose CI workflow passes, and fails when stale."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from corpuspack.config import is_name, load_config
from corpuspack.errors import UsageError
from corpuspack.scaffold import config_text, scaffold

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
    # the cache step keeps the folder 'build' uses by default, which git ignores
    workflow = yaml.safe_load((repo / ".github" / "workflows" / "corpus.yml").read_text())
    (job,) = workflow["jobs"].values()
    [cache] = [s for s in job["steps"] if s.get("uses", "").startswith("actions/cache@")]
    assert cache["with"]["path"].split() == [".corpuspack-cache", "~/.cache/corpuspack/cache-key"]
    assert (repo / ".corpuspack-cache").is_dir()
    assert ".corpuspack-cache/" in (repo / ".gitignore").read_text().splitlines()
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
    lines = [re.sub(r"^# (\[(splits|subsets)\]).*$", r"\1", line) for line in lines]
    lines = [re.sub(r"^# (by = \[.*)$", r"\1", line) for line in lines]
    (tmp_path / "corpus.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    config = load_config(tmp_path / "corpus.toml")
    assert config.options.language_sample_chars == 300 and config.quality.min_words == 50
    assert config.splits.shares == (("test", 0.01), ("validation", 0.01))
    assert config.subsets.by == ("language",)
    for key in ("trailing_block", "threshold", "phone_region", "max_short_line_fraction"):
        assert f"# {key} = " in text


# --- names, TOML escaping, links --------------------------------------------------------

NAMES = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,40}", fullmatch=True)
CREATED = ("corpus.toml", "DATA_CARD.md", ".gitignore", ".github/workflows/corpus.yml",
           "corpus/sources/.gitkeep")


def written_config(repo: Path) -> dict[str, object]:
    import tomllib

    return tomllib.loads((repo / "corpus.toml").read_text(encoding="utf-8"))


@settings(max_examples=60, deadline=None)
@given(NAMES)
def test_any_valid_name_is_written_exactly(tmp_path_factory: pytest.TempPathFactory,
                                           name: str) -> None:
    repo = tmp_path_factory.mktemp("named") / "repo"
    created = scaffold(repo, name)
    assert sorted(p.relative_to(repo).as_posix() for p in created) == sorted(CREATED)
    data = written_config(repo)
    assert data["name"] == name and data["title"] == name and data["version"] == "0.1.0"
    assert load_config(repo / "corpus.toml").name == name


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=30).filter(lambda n: n != "" and not is_name(n)))
def test_any_invalid_name_is_refused_before_writing(tmp_path_factory: pytest.TempPathFactory,
                                                    name: str) -> None:
    repo = tmp_path_factory.mktemp("bad") / "repo"
    with pytest.raises(UsageError, match="--name must be lower case letters, digits"):
        scaffold(repo, name)
    assert not repo.exists()


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_title_is_escaped_as_toml(title: str) -> None:
    import tomllib

    data = tomllib.loads(config_text("demo", title=title))
    assert data["title"] == title and data["name"] == "demo"


def test_an_injected_name_is_a_usage_error_and_writes_nothing(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    done = cli(tmp_path, "init", str(repo), "--name", 'x"\nversion = "9')
    assert done.returncode == 2
    assert "--name must be lower case letters, digits, '.', '-' and '_'" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not repo.exists()
    for name in ("Upper", "-dash-first", "x\n", "a b", "é"):
        assert cli(tmp_path, "init", str(repo), "--name", name).returncode == 2
        assert not repo.exists()


def test_gitignore_ignores_the_release_folder_not_dist(tmp_path: Path) -> None:
    scaffold(tmp_path / "repo")
    lines = (tmp_path / "repo" / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "/release/" in lines and "dist/" not in lines and ".corpuspack-*" in lines


def test_an_existing_gitignore_gets_only_the_lines_it_lacks(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".gitignore").write_text("*.log\n.venv/", encoding="utf-8")
    created = scaffold(repo, "demo")
    assert repo / ".gitignore" in created
    lines = (repo / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert lines[:2] == ["*.log", ".venv/"] and lines.count(".venv/") == 1
    assert "/release/" in lines
    before = (repo / ".gitignore").read_bytes()
    for path in CREATED:
        if path != ".gitignore":
            (repo / path).unlink()
    assert repo / ".gitignore" not in scaffold(repo, "demo")
    assert (repo / ".gitignore").read_bytes() == before


@pytest.mark.parametrize("linked", [".gitignore", ".github/workflows/corpus.yml",
                                    "corpus.toml", "DATA_CARD.md"])
def test_a_linked_file_in_the_target_is_refused_and_its_target_untouched(
        tmp_path: Path, linked: str) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("precious\n", encoding="utf-8")
    repo = tmp_path / "repo"
    (repo / linked).parent.mkdir(parents=True, exist_ok=True)
    (repo / linked).symlink_to(outside)
    with pytest.raises(UsageError, match="symbolic link"):
        scaffold(repo, "demo")
    assert outside.read_text(encoding="utf-8") == "precious\n"
    assert (repo / linked).is_symlink()
    assert not any((repo / p).exists() for p in CREATED if p != linked)
    done = cli(tmp_path, "init", str(repo))
    assert done.returncode == 2 and "symbolic link" in done.stderr
    assert outside.read_text(encoding="utf-8") == "precious\n"


def test_a_dangling_link_is_not_written_through(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / ".gitignore").symlink_to(tmp_path / "made-through-link")
    with pytest.raises(UsageError, match="symbolic link"):
        scaffold(repo, "demo")
    assert not (tmp_path / "made-through-link").exists()


@pytest.mark.parametrize("linked", [".github", ".github/workflows", "corpus", "corpus/sources"])
def test_a_linked_folder_in_the_target_is_refused(tmp_path: Path, linked: str) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    repo = tmp_path / "repo"
    (repo / linked).parent.mkdir(parents=True, exist_ok=True)
    (repo / linked).symlink_to(outside, target_is_directory=True)
    with pytest.raises(UsageError, match="symbolic link"):
        scaffold(repo, "demo")
    assert list(outside.iterdir()) == []
    assert not (repo / "corpus.toml").exists()


def test_a_linked_or_file_target_folder_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UsageError, match="the target folder is a symbolic link"):
        scaffold(tmp_path / "link", "demo")
    assert list(outside.iterdir()) == []
    (tmp_path / "file").write_text("x", encoding="utf-8")
    with pytest.raises(UsageError, match="not a folder"):
        scaffold(tmp_path / "file", "demo")
    assert (tmp_path / "file").read_text(encoding="utf-8") == "x"


def test_the_template_shows_each_range() -> None:
    text = config_text("demo")
    assert "# threshold = 0.8  # between 0 and 1" in text
    assert "# bands = 16  # between 1 and 1,024" in text
    assert "# max_duplicate_line_fraction = ...  # between 0 and 1" in text


def test_the_workflow_installs_the_corpuspack_that_ran_init(tmp_path: Path) -> None:
    """pip records where a package came from (PEP 610); the workflow installs from there."""
    import site
    import sysconfig

    from .conftest import REPO

    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    # corpuspack's dependencies from this environment; corpuspack itself from git, by pip
    purelib = subprocess.run([str(python), "-c", "import sysconfig; "
                              "print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n"
                                         + "\n".join(site.getsitepackages()) + "\n")
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True,
                            text=True, check=True).stdout.strip()
    url = f"git+file://{REPO}@{commit}"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps",
                    url], check=True, capture_output=True, cwd=tmp_path)
    found = subprocess.run([str(python), "-c", "from corpuspack.scaffold import install_source; "
                            "s = install_source(); print(s.spec); print(s.reachable)"],
                           capture_output=True, text=True, check=True, cwd=tmp_path).stdout.split()
    assert found == [url, "False"]  # a file:// repository: recorded, but out of a runner's reach
    repo = tmp_path / "new"
    done = subprocess.run([str(python), "-m", "corpuspack.cli", "init", str(repo)],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    workflow = (repo / ".github" / "workflows" / "corpus.yml").read_text()
    assert f'python -m pip install "{url}"' in workflow
    assert "warning:" in done.stderr


@pytest.mark.parametrize(("remote", "url", "reachable"), [
    ("https://github.com/owner/corpus.git", "https://github.com/owner/corpus.git", True),
    ("git@github.com:owner/corpus.git", "ssh://git@github.com/owner/corpus.git", False),
    ("ssh://git@example.org:2222/corpus.git", "ssh://git@example.org:2222/corpus.git", False),
    ("/srv/git/corpus", "file:///srv/git/corpus", False),
    ("../corpus", "file:///work/corpus", False),
])
def test_the_workflow_installs_from_what_the_checkouts_origin_is(
        remote: str, url: str, reachable: bool) -> None:
    # the origin as git gives it went into the workflow: pip refuses "git+/srv/git/..." and
    # "git+git@github.com:...", and init did not warn that a runner could not reach them
    # pip's own reading of a command line's requirement (not a public API, but what
    # "pip install SPEC" runs; packaging alone accepts the refused forms)
    from pip._internal.exceptions import InstallationError
    from pip._internal.req.constructors import install_req_from_line

    from corpuspack.scaffold import checkout_source

    found = checkout_source(remote, "0123abcd", "/work/clone")
    assert (found.spec, found.reachable) == (f"git+{url}@0123abcd", reachable)
    try:
        install_req_from_line(found.spec)
    except InstallationError as exc:
        pytest.fail(f"pip refuses {found.spec}: {exc}")
    if url != remote:
        with pytest.raises(InstallationError):
            install_req_from_line(f"git+{remote}@0123abcd")  # the line written before
