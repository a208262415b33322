"""Where the parts of a corpus are, for the commands that work on a built package.

A package is named either by its folder (``corpuspack card PKG``, also a release folder) or
by the corpus config of the current folder; from either follow the data card, its plots, the
changelog, the root folder they are written in (the package folder, or the config's folder)
and, in a git repository, the path of datapackage.json that older revisions are read from.
Opening the package checks its descriptor (:func:`corpuspack.reader.open_package`): a
refused one is a one-line UsageError.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from corpuspack.config import CorpusConfig, load_config
from corpuspack.errors import CorpusError
from corpuspack.reader import Package, git_root, open_package, resolve_descriptor

CARD = "DATA_CARD.md"
CHANGELOG = "CHANGELOG.md"


@dataclass
class Project:
    """A built package and the files that go with it."""

    package: Package
    descriptor: Path
    card: Path
    plots: Path
    changelog: Path
    hub_repo: str | None
    repo: Path | None
    root: Path | None = None  # the card and plots are read and written only inside it
    # the config named by --config, or the one the project was found by: its [splits] and
    # [subsets] are the ones publish, card and stats apply
    config: CorpusConfig | None = None

    @property
    def plots_rel(self) -> str:
        """The plots folder as the card links it."""
        return Path(os.path.relpath(self.plots, self.card.parent)).as_posix()

    @property
    def descriptor_in_repo(self) -> str:
        """datapackage.json's path from the repository root (for reading old revisions)."""
        if self.repo is None:
            return "datapackage.json"
        return Path(os.path.relpath(self.descriptor, self.repo)).as_posix()

    def open_revision(self, spec: str) -> Package:
        """Another version: a folder, a datapackage.json, or a git revision of this corpus."""
        return open_package(spec, self.repo or Path.cwd(), self.descriptor_in_repo)


def _builds(folder: Path, descriptor: Path) -> bool:
    """True when the config in ``folder`` builds ``descriptor`` (``publish my-corpus`` from
    the folder above then writes the card, plots and changelog where a run inside it does,
    with its Hub repository)."""
    try:
        cfg = load_config(cwd=folder)
    except CorpusError:
        return False
    return os.path.realpath(cfg.descriptor) == os.path.realpath(descriptor)


def locate(package_dir: Path | None = None, config: Path | None = None,
           cwd: Path | None = None) -> Project:
    """The project of a package folder, else of the corpus config found from ``cwd``.

    ``config`` (a file) is the project's config either way: with a package folder too, its
    ``[splits]`` and ``[subsets]`` are the ones applied (:attr:`Project.config`)."""
    cwd = (cwd or Path.cwd()).resolve()
    if package_dir is not None:
        descriptor = resolve_descriptor(package_dir.resolve())
        base = descriptor.parent
        if config is None and _builds(base, descriptor):
            return locate(config=None, cwd=base)  # a corpus repository named by its folder
        return Project(open_package(descriptor), descriptor, base / CARD, base / "card",
                       base / CHANGELOG, None, git_root(base), base,
                       load_config(config, cwd) if config is not None else None)
    cfg = load_config(config, cwd)
    descriptor = resolve_descriptor(cfg.descriptor)
    corpus = cfg.data_dir.parent
    return Project(open_package(descriptor), descriptor, cfg.root / CARD, corpus / "card",
                   corpus / CHANGELOG, cfg.hub_repo, git_root(cfg.root), cfg.root, cfg)
