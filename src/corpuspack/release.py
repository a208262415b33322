"""``corpuspack release``: one command from a committed corpus to a tagged release.

Steps, in a git repository whose tree is clean: bump the version in the config (the file's
comments and layout kept, with tomlkit), rebuild, refuse when no document changed since the
last release tag, validate (with the version check against that tag), regenerate the data
card, publish (release folder and changelog entry), commit, create the annotated tag
``v<version>``, and push to the Hugging Face Hub when asked. Any failure puts the
repository back as it was (``git reset --hard`` to the starting commit and ``git clean``
of the files the release created: the tree was clean, so nothing of the user's is lost)
and deletes the tag if it was made. ``dry_run`` builds in a temporary folder and only says
what would be released.

Only the paths a release writes are committed or put back (:func:`release_paths`: the
config, the data folder and descriptor, the card, its plots, ``.huggingface.yaml``, the
changelog): a file edited or created elsewhere while a release runs is left alone.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from corpuspack.config import CorpusConfig, load_config
from corpuspack.errors import CorpusError, UsageError
from corpuspack.reader import git_root, open_package
from corpuspack.versions import TAG_PREFIX, latest_release, parse_version

BUMPS = ("major", "minor", "patch")
_SEMVER = re.compile(r"(\d+)\.(\d+)\.(\d+)(?:[-+].*)?")


@dataclass
class ReleaseResult:
    """What a release did (or, with ``dry_run``, would do)."""

    old_version: str
    version: str
    tag: str
    base: str | None
    counts: dict[str, int] = field(default_factory=dict)
    commit: str | None = None
    release_folder: Path | None = None
    pushed: str | None = None
    dry_run: bool = False


def next_version(current: str, bump: str) -> str:
    """The version after ``current``: ``major``, ``minor`` or ``patch`` bumped (semver: the
    parts after it reset to 0), or ``bump`` itself when it is a version greater than
    ``current``. Raises UsageError otherwise."""
    match = _SEMVER.fullmatch(current)
    if bump in BUMPS:
        if match is None:
            raise UsageError(f"the config's version {current!r} is not a semantic version")
        major, minor, patch = (int(x) for x in match.groups())
        return {"major": f"{major + 1}.0.0", "minor": f"{major}.{minor + 1}.0",
                "patch": f"{major}.{minor}.{patch + 1}"}[bump]
    new, old = parse_version(bump), parse_version(current)
    if _SEMVER.fullmatch(bump) is None or new is None:
        raise UsageError(f"{bump!r} is neither major, minor, patch nor a version such as 1.2.0")
    if old is not None and new <= old:
        raise UsageError(f"version {bump} is not greater than the current {current}")
    return bump


def _git(repo: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True)
    if check and done.returncode != 0:
        reason = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise CorpusError(f"git {args[0]} failed: {reason[0] if reason else done.returncode}")
    return done.stdout


def set_version(config_file: Path, version: str) -> None:
    """Write ``version`` into the config file (corpus.toml, or ``[tool.corpuspack]`` of
    pyproject.toml), keeping everything else of the file as it was."""
    import tomlkit

    from corpuspack.config import PYPROJECT
    from corpuspack.safefs import read_bytes, replace_file

    document = tomlkit.parse(read_bytes(config_file, max_bytes=4 << 20,
                                        what="config").decode("utf-8"))
    table = document["tool"]["corpuspack"] if config_file.name == PYPROJECT else document
    table["version"] = version
    replace_file(config_file, tomlkit.dumps(document).encode("utf-8"))


def release(cwd: Path, bump: str, *, push_to: str | None = None, dry_run: bool = False,
            workers: int | None = None, out: Path | None = None) -> ReleaseResult:
    """Release the corpus of the config in ``cwd`` (see the module docstring).

    Raises UsageError for a dirty tree, no git repository, a version that does not grow, a
    tag that exists, or nothing changed since the last release; CorpusError when a step
    fails (after putting the repository back).
    """
    config = load_config(cwd=cwd)
    repo = git_root(config.root)
    if repo is None or config.config_file is None:
        raise UsageError("release works in a git repository with a corpus config")
    dirty = _git(repo, "status", "--porcelain", "--untracked-files=all")
    if dirty.strip():
        first = dirty.splitlines()[0][3:]
        raise UsageError(f"the git tree is not clean ({first} and maybe more): commit or stash "
                         "first, so that a failed release can put everything back")
    version = next_version(config.version, bump)
    tag = TAG_PREFIX + version
    if _git(repo, "tag", "--list", tag).strip():
        raise UsageError(f"tag {tag} exists already")
    latest = latest_release(repo)
    base = latest[0] if latest else None
    result = ReleaseResult(config.version, version, tag, base, dry_run=dry_run)
    if dry_run:
        result.counts = _dry_counts(config, repo, base, workers)
        _refuse_unchanged(result)
        return result
    start = _git(repo, "rev-parse", "HEAD").strip()
    paths = release_paths(config, repo)
    try:
        _release_steps(config, repo, result, workers, out, paths)
    except BaseException:
        if _git(repo, "rev-parse", "HEAD").strip() != start:
            _git(repo, "reset", "--soft", start, check=False)  # undo the commit, keep files
        for path in paths:  # one by one: a path new in this release matches nothing in git
            _git(repo, "reset", "-q", start, "--", path, check=False)  # unstage it
            _git(repo, "checkout", start, "--", path, check=False)
            _git(repo, "clean", "-fdq", "--", path, check=False)
        _git(repo, "tag", "-d", tag, check=False)
        raise
    if push_to:
        from corpuspack.hub import push

        assert result.release_folder is not None
        result.pushed = push(result.release_folder, push_to, version)
    return result


def release_paths(config: CorpusConfig, repo: Path) -> list[str]:
    """The paths a release writes, relative to the repository (see the module docstring)."""
    from corpuspack.hub import REPO_YAML
    from corpuspack.project import CARD, CHANGELOG

    assert config.config_file is not None
    corpus = config.data_dir.parent
    paths = [config.config_file, config.data_dir, config.descriptor, config.root / CARD,
             corpus / "card", config.root / REPO_YAML, corpus / CHANGELOG]
    top = repo.resolve()
    # the folder resolved, not the name: a path that is a link is the link itself
    return sorted({(p.parent.resolve() / p.name).relative_to(top).as_posix() for p in paths})


def _release_steps(config: CorpusConfig, repo: Path, result: ReleaseResult,
                   workers: int | None, out: Path | None, paths: list[str]) -> None:
    from corpuspack.build import build
    from corpuspack.card import update
    from corpuspack.project import locate
    from corpuspack.publish import DEFAULT_OUT, publish_project
    from corpuspack.splits import Layout, layout_at
    from corpuspack.validate import validate_package
    from corpuspack.versions import diff

    assert config.config_file is not None
    set_version(config.config_file, result.version)
    config = load_config(config.config_file)
    build(config, workers=workers)
    project = locate(config=config.config_file, cwd=config.root)
    old = project.open_revision(result.base) if result.base else None
    # documents whose split changed (the split settings changed) make a release too
    layouts = (layout_at(result.base, old, repo, config) if result.base and old else None,
               Layout(config.splits, config.subsets))
    result.counts = diff(old, project.package, layouts=layouts).counts
    _refuse_unchanged(result)
    report = validate_package(config.descriptor, "auto" if result.base else None)
    if not report.valid:
        first = report.problems[0].message if report.problems else ""
        raise CorpusError(f"the rebuilt package is not valid: {first}")
    update(project)
    project = locate(config=config.config_file, cwd=config.root)
    published = publish_project(project, out or config.root / DEFAULT_OUT,
                                base=result.base, config=config)
    result.release_folder = published.folder
    existing = [p for p in paths if (repo / p).exists() or _git(
        repo, "ls-files", "--", p).strip()]
    _git(repo, "add", "--all", "--", *existing)
    _git(repo, "commit", "-q", "-m", f"Release {result.tag}")
    _git(repo, "tag", "-a", result.tag, "-m", f"corpus {result.version}")
    result.commit = _git(repo, "rev-parse", "HEAD").strip()


def _refuse_unchanged(result: ReleaseResult) -> None:
    if result.base and not any(result.counts.get(k) for k in ("added", "removed", "changed")):
        raise UsageError(f"nothing changed since {result.base}: no release to make")


def _dry_counts(config: CorpusConfig, repo: Path, base: str | None,
                workers: int | None) -> dict[str, int]:
    """What the release would change, from a build into a temporary folder."""
    from corpuspack.build import build
    from corpuspack.splits import Layout, layout_at
    from corpuspack.versions import diff

    with tempfile.TemporaryDirectory(prefix="corpuspack-release-") as tmp:
        package = Path(tmp) / "package"
        data = package / config.data_dir.relative_to(config.package_dir)
        build(replace(config, descriptor=package / "datapackage.json", data_dir=data,
                      config_file=None), workers=workers)
        old = (open_package(base, repo, _descriptor_in_repo(config, repo))
               if base else None)
        layouts = (layout_at(base, old, repo, config) if base and old else None,
                   Layout(config.splits, config.subsets))
        return dict(diff(old, open_package(package), layouts=layouts).counts)


def _descriptor_in_repo(config: CorpusConfig, repo: Path) -> str:
    return config.descriptor.resolve().relative_to(repo.resolve()).as_posix()
