"""``corpuspack init``: everything a new corpus repository needs to start.

Nothing is written through a symbolic link: the target folder, each folder made inside it
and each file written must not be a link (:mod:`corpuspack.safefs` writes the files), and
existing files are never overwritten (a ``.gitignore`` there gets the lines it lacks).
Every string in the written ``corpus.toml`` is escaped as TOML requires, and the package
name must follow the rule of the config's ``name`` (:data:`corpuspack.config.NAME_RULE`).
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, fields
from pathlib import Path

import corpuspack
from corpuspack import safefs
from corpuspack.boilerplate import FORMATS as BOILERPLATE_FORMATS
from corpuspack.boilerplate import Rules
from corpuspack.card import SECTIONS, merge
from corpuspack.config import CONFIG_FILE, NAME_RULE, RANGES, is_name, option_help, slug
from corpuspack.errors import CorpusError, UsageError
from corpuspack.neardup import NearDedup
from corpuspack.pii import Redaction
from corpuspack.quality import Filters

WORKFLOW = """\
# Checks the corpus on every push and pull request (written by 'corpuspack init').
name: corpus

on: [push, pull_request]

jobs:
  check:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0  # release tags, for 'validate --base auto'
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install corpuspack
        # the corpuspack that ran 'corpuspack init', pinned: datapackage.json records the
        # version that built the corpus, so another one makes 'build --check' report it stale
        run: python -m pip install "{install}"
      - name: The build cache (each source file's results from earlier runs, checked before use)
        # with the key its entries are made under (without it the cache is never found)
        uses: actions/cache@v4
        with:
          path: |
            .corpuspack-cache
            ~/.cache/corpuspack/cache-key
          key: corpuspack-cache-${{ github.sha }}
          restore-keys: corpuspack-cache-
      - name: The committed corpus is what the sources build
        run: corpuspack build --check
      - name: The corpus is valid, and its version grew if its documents changed
        run: corpuspack validate --base auto
      - name: The data card is up to date
        run: corpuspack card --check
"""

@dataclass(frozen=True)
class InstallSource:
    """Where the workflow installs corpuspack from, and whether a CI runner can reach it."""

    spec: str
    reachable: bool
    why: str


def install_source() -> InstallSource:
    """The pip requirement that installs the running corpuspack, as pip recorded where it
    came from (PEP 610 ``direct_url.json``): a VCS URL at its commit, an archive URL with
    its hash, the git remote and commit of a local checkout, else the version from the
    package index (``corpuspack==X``, reachable only if the index serves it)."""
    import importlib.metadata
    import json
    import subprocess

    version = corpuspack.__version__
    try:
        dist = importlib.metadata.distribution("corpuspack")
        direct = json.loads(dist.read_text("direct_url.json") or "null")
    except (importlib.metadata.PackageNotFoundError, ValueError):
        direct = None
    if not isinstance(direct, dict) or not isinstance(direct.get("url"), str):
        return InstallSource(f"corpuspack=={version}", True, "installed from a package index")
    url = direct["url"]
    vcs = direct.get("vcs_info")
    if isinstance(vcs, dict) and vcs.get("commit_id"):
        return InstallSource(f"{vcs.get('vcs', 'git')}+{url}@{vcs['commit_id']}",
                             not url.startswith("file:"), "installed from a repository")
    archive = direct.get("archive_info")
    if isinstance(archive, dict):
        digest = archive.get("hash") or ""
        return InstallSource(url + (f"#{digest}" if digest else ""),
                             not url.startswith("file:"), "installed from an archive")
    if url.startswith("file://"):
        folder = url.removeprefix("file://")
        remote = subprocess.run(["git", "-C", folder, "remote", "get-url", "origin"],
                                capture_output=True, text=True)
        commit = subprocess.run(["git", "-C", folder, "rev-parse", "HEAD"],
                                capture_output=True, text=True)
        if remote.returncode == 0 and commit.returncode == 0 and remote.stdout.strip():
            return checkout_source(remote.stdout.strip(), commit.stdout.strip(), folder)
    return InstallSource(f"corpuspack=={version}", False,
                         f"installed from {url}, which a CI runner cannot reach, and no git "
                         "remote was found there: edit the install step of the workflow")


_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/:]+)@)?(?P<host>[^/:]+):(?P<path>(?!/).+)$")


def checkout_source(remote: str, commit: str, folder: str) -> InstallSource:
    """The pip requirement for ``commit`` of a local checkout in ``folder`` whose origin is
    ``remote``, as git accepts it: a URL (``https://``, ``ssh://``, ``git://``), the
    scp-like ``user@host:path``, which pip refuses (written as ``ssh://``), or a local path
    (``file://``, out of a CI runner's reach, as is SSH without a deploy key)."""
    scp = _SCP_LIKE.match(remote) if "://" not in remote else None
    if scp is not None:
        user = f"{scp['user']}@" if scp["user"] else ""
        url = f"ssh://{user}{scp['host']}/{scp['path']}"
    elif "://" in remote:
        url = remote
    else:  # a path, relative to the checkout
        url = Path(os.path.join(folder, remote)).resolve().as_uri()
    spec = f"git+{url}@{commit}"
    if url.startswith(("https://", "http://", "git://")):
        return InstallSource(spec, True, "installed from a local checkout of that repository")
    where = "a local folder" if url.startswith("file:") else "SSH, which needs a key"
    return InstallSource(spec, False,
                         f"installed from a checkout whose origin is {where} ({remote}): a "
                         "CI runner may not reach it: edit the install step of the workflow")


GITIGNORE = """\
# the release folder 'corpuspack publish' writes by default
/release/
# the build cache: per-file results kept between builds (corpuspack build --no-cache: none)
.corpuspack-cache/
# left by an interrupted build until the next one cleans up
.corpuspack-*
__pycache__/
.venv/
"""

PENDING = "_Generated by `corpuspack card` once the corpus is built._"


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
            "\r": "\\r"}


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string (TOML 1.0, "String"): quotes, backslashes and
    control characters escaped. Raises UsageError for a lone surrogate (not Unicode)."""
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char < " " or char == "\x7f":
            out.append(f"\\u{ord(char):04X}")
        elif "\ud800" <= char <= "\udfff":
            raise UsageError(f"{text!r} is not valid Unicode text")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return toml_string(value)
    return str(value)


def _range(table: str, key: str) -> str:
    rng = RANGES.get((table, key))
    return f"  # {rng.text()}" if rng else ""


def config_text(name: str, title: str | None = None) -> str:
    """A corpus.toml with every key and option, the optional ones commented out; numeric
    settings show their valid range. Strings are TOML-escaped, so the text always parses
    (``name`` is not checked here: :func:`scaffold` does that)."""
    lines = [
        "# corpuspack configuration (see corpuspack's README, \"Configuration\").",
        f"name = {toml_string(name)}",
        f"title = {toml_string(name if title is None else title)}",
        'version = "0.1.0"',
        '# description = "What the corpus holds and what it is for."',
        '# homepage = "https://example.org/my-corpus"',
        '# hub_repo = "owner/name"            # Hugging Face dataset repository for releases',
        "# keywords = [\"news\"]",
        '# licenses = [{ name = "CC-BY-4.0",',
        '#              path = "https://creativecommons.org/licenses/by/4.0/" }]',
        '# sources = [{ title = "Where the documents come from", path = "https://example.org" }]',
        '# contributors = [{ title = "Your name", roles = ["creator"] }]',
        'source_dir = "corpus/sources"',
        'data_dir = "corpus/data"',
        'descriptor = "datapackage.json"',
        "",
        "[defaults]",
        "# Metadata every document starts with; a manifest, a sidecar or the source overrides it.",
        '# license = "CC-BY-4.0"',
        '# publisher = "Example Press"',
        "",
        "[options]",
    ]
    for option, default, help_text in option_help():
        lines.append(f"# {help_text}")
        lines.append(f"# {option} = {_toml_value(default)}{_range('options', option)}")
    tables = (("boilerplate", Rules, "page chrome removal rules"),
              ("near_dedup", NearDedup, "near-duplicate detection (MinHash)"),
              ("quality", Filters, 'quality filters: unset ones do not filter; preset = "gopher"'),
              ("pii", Redaction, "redaction of personal data"))
    for name, cls, what in tables:
        lines += ["", f"[{name}]", f"# {what} (README, \"Text quality\")"]
        if name == "quality":
            lines.append('# preset = "gopher"')
        for f in fields(cls):
            if name == "boilerplate" and f.name in ("formats", "folders"):
                continue
            value = f.default
            shown = _toml_value(value) if value is not None else "..."
            lines.append(f"# {f.name} = {shown}{_range(name, f.name)}")
        if name == "boilerplate":
            lines += BOILERPLATE_SCOPES
    lines += SPLITS_AND_SUBSETS
    return "\n".join(lines) + "\n"


# Release splits and subsets (README, "Splits and subsets"), off until uncommented.
SPLITS_AND_SUBSETS = [
    "",
    "# [splits]  # held-out splits by share of documents (a hash of the id); the rest is train",
    "# validation = 0.01",
    "# test = 0.01",
    '# seed = 0  # or by = "folder" (test = ["eval/*"]), or by = "meta.KEY"',
    "",
    "# [subsets]  # Hugging Face configs beside the default one of every document",
    '# by = ["language"]  # or ["folder"] (the top-level source folder), or both',
]


# The [boilerplate] part of the template after its keys: min_chrome_lines's defaults, the
# per-format tables and per-folder entries (as inline TOML, which stays one commented line).
BOILERPLATE_SCOPES = [
    "# min_chrome_lines unset: 1 for HTML pages, 2 for Markdown, plain text and JSON lines",
    f"# Per format ([boilerplate.formats.NAME]: {', '.join(BOILERPLATE_FORMATS)}) and per folder",
    "# ([[boilerplate.folders]], a glob over source paths; later entries win), every key",
    "# above but audit, frequent_min_docs and frequent_min_fraction, for example:",
    "# formats = { markdown = { repeated_lines = false } }",
    '# folders = [{ glob = "web/*", frequent_lines = true }]  # opt-in: texts then depend on '
    "other documents",
]


def scaffold(folder: Path, name: str | None = None) -> list[Path]:
    """Create a corpus repository in ``folder``; return the files created or extended.

    Raises UsageError, before writing anything, for a name that breaks
    :data:`~corpuspack.config.NAME_RULE`, an existing config or card (not overwritten),
    and a target folder, folder inside it or file that is a symbolic link or not what it
    should be (a file where a folder goes). An existing ``.gitignore`` gets the lines of
    :data:`GITIGNORE` it lacks, replaced atomically.
    """
    if name is not None and not is_name(name):
        raise UsageError(f"--name must be {NAME_RULE}, not {name!r}")
    _check_folder(folder, "the target folder")
    name = name or slug(folder.resolve().name)
    files = {
        Path(CONFIG_FILE): config_text(name),
        Path("DATA_CARD.md"): merge(None, dict.fromkeys(SECTIONS, PENDING)),
        Path(".gitignore"): GITIGNORE,
        Path(".github", "workflows", "corpus.yml"): WORKFLOW.replace(
            "{install}", install_source().spec),
        Path("corpus", "sources", ".gitkeep"): "",
    }
    for rel in files:
        for parent in list(reversed(rel.parents))[1:]:
            _check_folder(folder / parent, "a folder to create")
        _check_file(folder / rel)
    existing = [folder / rel for rel in files
                if os.path.lexists(folder / rel) and rel.name != ".gitignore"]
    if existing:
        raise UsageError(f"{existing[0]} exists already: not overwriting it")
    created = []
    try:
        for rel, text in files.items():
            path = folder / rel
            _make_folders(folder, rel.parent)
            if os.path.lexists(path):  # .gitignore: add what it lacks
                old = safefs.read_bytes(path, max_bytes=1 << 20, what=".gitignore")
                have = set(old.decode("utf-8", "replace").splitlines())
                missing = [line for line in text.splitlines() if line not in have]
                if not missing:
                    continue
                sep = b"" if not old or old.endswith(b"\n") else b"\n"
                safefs.replace_file(path, old + sep + ("\n".join(missing) + "\n").encode())
            else:
                safefs.write_new(path, text.encode("utf-8"))
            created.append(path)
    except FileExistsError as exc:
        raise UsageError(f"{exc.filename} appeared while writing: not overwriting it") from None
    except CorpusError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"cannot write {exc.filename or folder}: {exc.strerror or exc}"
                         ) from None
    return created


def _check_folder(path: Path, what: str) -> None:
    """Refuse a folder that is a symbolic link or not a folder (a missing one is made)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise UsageError(f"{path}: {what} is a symbolic link: corpuspack init does not write "
                         "through links")
    if not stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{path}: {what} is not a folder")


def _check_file(path: Path) -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode):
        raise UsageError(f"{path} is a symbolic link: corpuspack init does not write through "
                         "links")
    if not stat.S_ISREG(st.st_mode):
        raise UsageError(f"{path} exists and is not a regular file")


def _make_folders(folder: Path, rel: Path) -> None:
    """Make ``folder`` (and the folders above it) and ``folder/rel`` one level at a time,
    refusing any of ``folder/rel``'s levels that is a link."""
    folder.mkdir(parents=True, exist_ok=True)
    _check_folder(folder, "the target folder")
    path = folder
    for part in rel.parts:
        path = path / part
        try:
            os.mkdir(path)
        except FileExistsError:
            pass
        _check_folder(path, "a folder to write into")
