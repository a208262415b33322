"""Hostile and careless use of the commands that write: corpuspack deletes or replaces only
what it wrote, never writes through a link, and a killed build leaves nothing running.

Each test runs the real command line in a real git repository or folder and checks what
was kept byte for byte, not only the exit code.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..conftest import SEED, text_of

ENV = {**os.environ, "CI": "1"}


def cli(cwd: Path, *args: str, env: dict[str, str] | None = None,
        timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "corpuspack.cli", *args], cwd=cwd,
                          capture_output=True, text=True, env=env or ENV, timeout=timeout)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", *args],
                          cwd=cwd, check=True, capture_output=True, text=True).stdout


CACHE = ".corpuspack-cache"  # a build's cache: kept between builds, not a leftover


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry below ``folder``: file hashes, link targets, folders (build caches
    aside: a failed build keeps what it finished there, by design)."""
    out = {}
    for base, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d != CACHE]
        for name in dirs + files:
            path = Path(base) / name
            rel = str(path.relative_to(folder))
            if path.is_symlink():
                out[rel] = "link:" + os.readlink(path)
            elif path.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def one_line_error(done: subprocess.CompletedProcess[str], code: int = 2) -> str:
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert "Traceback" not in done.stderr
    return lines[0]


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A corpus repository: config, sources, built package, card, all committed."""
    root = tmp_path / "repo"
    src = root / "corpus" / "sources"
    src.mkdir(parents=True)
    shutil.copy(SEED, src / "seed.txt")
    for lang in ("fr-fr", "de-de"):
        (src / f"{lang}.txt").write_text(text_of(lang), encoding="utf-8")
    (root / "corpus.toml").write_text('name = "demo"\nversion = "0.1.0"\n', encoding="utf-8")
    git(root, "init", "-q")
    assert cli(root, "build", "-j", "1").returncode == 0
    assert cli(root, "card").returncode == 0
    git(root, "add", "-A")
    git(root, "commit", "-qm", "corpus")
    return root


@pytest.mark.parametrize("out", [".", "corpus", "corpus/sources", "corpus/data", "..",
                                 ".git", ".git/x", "corpus/sources/inside"])
def test_publish_never_replaces_the_repository_or_its_parts(repo: Path, out: str) -> None:
    before = snapshot(repo.parent)
    line = one_line_error(cli(repo, "publish", "--out", out))
    assert "release folder" in line
    assert snapshot(repo.parent) == before


@pytest.mark.parametrize("out", ["repo/corpus/sources/rel", "repo/corpus/data/rel"])
def test_publish_from_the_folder_above_never_writes_into_the_sources(repo: Path,
                                                                      out: str) -> None:
    # a project named by its folder: its sources were unknown (the config looked for was
    # the current folder's), and a release inside them became sources of the next build
    before = snapshot(repo.parent)
    line = one_line_error(cli(repo.parent, "publish", "repo", "--out", out))
    assert "would overlap" in line
    assert snapshot(repo.parent) == before


def test_publish_refuses_a_folder_holding_files_it_did_not_write(repo: Path) -> None:
    dist = repo / "dist"
    dist.mkdir()
    (dist / "demo-0.1.0-py3-none-any.whl").write_bytes(b"PK\x03\x04 a wheel")
    before = snapshot(repo)
    line = one_line_error(cli(repo, "publish", "--out", "dist"))
    assert "did not write" in line and "demo-0.1.0-py3-none-any.whl" in line
    assert snapshot(repo) == before


def test_default_release_folder_is_not_python_packagings_dist(repo: Path) -> None:
    done = cli(repo, "publish")
    assert done.returncode == 0, done.stderr
    assert (repo / "release" / "SHA256SUMS").is_file()
    assert not (repo / "dist").exists()
    record = json.loads((repo / "release" / "corpuspack-files.json").read_bytes())
    on_disk = {str(p.relative_to(repo / "release")) for p in (repo / "release").rglob("*")
               if p.is_file()}
    assert set(record["files"]) == on_disk - {"corpuspack-files.json"}
    # publishing again replaces what it wrote, and only that
    (repo / "release" / "notes.txt").write_text("mine", encoding="utf-8")
    line = one_line_error(cli(repo, "publish"))
    assert "notes.txt" in line
    assert (repo / "release" / "notes.txt").read_text(encoding="utf-8") == "mine"
    (repo / "release" / "notes.txt").unlink()
    assert cli(repo, "publish").returncode == 0


def test_a_committed_release_link_is_not_followed(repo: Path, tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me", encoding="utf-8")
    os.symlink(victim, repo / "release")
    before = snapshot(tmp_path)
    line = one_line_error(cli(repo, "publish"))
    assert "symbolic link" in line
    assert snapshot(tmp_path) == before


def test_build_out_keeps_the_users_own_files(tmp_path: Path, repo: Path) -> None:
    out = tmp_path / "mine"
    (out / "data").mkdir(parents=True)
    (out / "data" / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    before = snapshot(out)
    line = one_line_error(cli(tmp_path, "build", str(repo / "corpus" / "sources"), "--out",
                              str(out)))
    assert "notes.csv" in line
    assert snapshot(out) == before
    # a descriptor of someone else's Data Package is not overwritten either
    shutil.rmtree(out / "data")
    (out / "datapackage.json").write_text('{"name": "theirs", "resources": []}',
                                          encoding="utf-8")
    before = snapshot(out)
    line = one_line_error(cli(tmp_path, "build", str(repo / "corpus" / "sources"), "--out",
                              str(out)))
    assert "not written by corpuspack" in line
    assert snapshot(out) == before


@pytest.mark.parametrize("command", ["build", "card"])
def test_an_out_folder_that_is_a_link_is_refused(repo: Path, tmp_path: Path,
                                                 command: str) -> None:
    # before: --out was resolved before it was checked, and the build (or the card) was
    # written where the link leads
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me", encoding="utf-8")
    link = tmp_path / "out-link"
    os.symlink(victim, link)
    before = snapshot(tmp_path)
    args = ["build", str(repo / "corpus" / "sources")] if command == "build" else ["card"]
    line = one_line_error(cli(repo, *args, "--out", str(link)))
    assert "symbolic link" in line
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("target", ["absolute", "parent", "other"])
def test_a_planted_commit_journal_is_not_followed(repo: Path, tmp_path: Path,
                                                  target: str) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.txt").write_text("keep me", encoding="utf-8")
    name = {"absolute": str(victim), "parent": "../victim", "other": "corpus"}[target]
    journal = repo / "corpus" / ".corpuspack-commit-data.json"
    journal.write_text(json.dumps({"staging": name, "old": name}), encoding="utf-8")
    before = snapshot(tmp_path)
    line = one_line_error(cli(repo, "build", "-j", "1"))
    assert "journal" in line
    assert snapshot(tmp_path) == before


def test_leftover_working_folders_are_removed_only_when_they_are_corpuspacks(
        repo: Path) -> None:
    corpus = repo / "corpus"
    planted = corpus / ".corpuspack-work-data-x"  # no marker: not corpuspack's
    planted.mkdir()
    (planted / "keep.txt").write_text("keep", encoding="utf-8")
    dead = corpus / ".corpuspack-staging-data-abc"  # marked by a process that is gone
    dead.mkdir()
    (dead / ".corpuspack-owner").write_text(json.dumps(
        {"pid": 2**22 + 12345, "host": socket.gethostname()}), encoding="utf-8")
    (dead / "documents-00000-of-00001.jsonl").write_text("{}", encoding="utf-8")
    assert cli(repo, "build", "-j", "1").returncode == 0
    assert (planted / "keep.txt").read_text(encoding="utf-8") == "keep"
    assert not dead.exists()


@pytest.mark.parametrize("name", ["CHANGELOG", "lock"])
def test_writes_never_follow_links(repo: Path, tmp_path: Path, name: str) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    link = repo / "corpus" / ("CHANGELOG.md" if name == "CHANGELOG" else
                              ".corpuspack-lock-data")
    os.symlink(victim, link)
    done = cli(repo, "build", "-j", "1") if name == "lock" else cli(repo, "publish")
    assert done.returncode != 0
    one_line_error(done, done.returncode)
    assert "symbolic link" in done.stderr
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert link.is_symlink()


def test_a_second_different_release_under_a_tagged_version_is_refused(repo: Path) -> None:
    assert cli(repo, "publish").returncode == 0
    git(repo, "tag", "-a", "v0.1.0", "-m", "v0.1.0")
    (repo / "corpus" / "sources" / "new.txt").write_text(text_of("es-es"), encoding="utf-8")
    assert cli(repo, "build", "-j", "1").returncode == 0
    before = snapshot(repo / "release")
    line = one_line_error(cli(repo, "publish"), 1)
    assert "v0.1.0" in line and "1 added" in line
    assert snapshot(repo / "release") == before
    # the same documents again are fine (re-publishing a tagged version)
    (repo / "corpus" / "sources" / "new.txt").unlink()
    assert cli(repo, "build", "-j", "1").returncode == 0
    assert cli(repo, "publish").returncode == 0


def test_two_concurrent_publishes(repo: Path) -> None:
    procs = [subprocess.Popen([sys.executable, "-m", "corpuspack.cli", "publish"], cwd=repo,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=ENV) for _ in range(3)]
    results = [(p.wait(120), p.stderr.read() if p.stderr else "") for p in procs]
    for code, stderr in results:
        assert "Traceback" not in stderr
        assert code == 0 or (code == 1 and "is writing" in stderr), stderr
    assert any(code == 0 for code, _ in results)
    done = subprocess.run(["sha256sum", "--quiet", "-c", "SHA256SUMS"], cwd=repo / "release")
    assert done.returncode == 0


@pytest.fixture
def small_fs(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A 400 kB file system of its own (skipped where mounting is not allowed)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mnt)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small file system here")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=True)


def test_an_unwritable_output_is_one_line(repo: Path, small_fs: Path) -> None:
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    line = one_line_error(cli(repo, "publish", "--out", str(small_fs / "release")), 1)
    assert "Read-only file system" in line


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


def test_file_too_large_is_one_line_and_keeps_the_package(repo: Path) -> None:
    (repo / "corpus" / "sources" / "es.txt").write_text(text_of("es-es") * 20, encoding="utf-8")
    before = snapshot(repo / "corpus" / "data")
    done = subprocess.run([sys.executable, "-m", "corpuspack.cli", "build", "-j", "1"],
                          cwd=repo, capture_output=True, text=True, env=ENV,
                          preexec_fn=_limit_file_size, timeout=120)
    line = one_line_error(done, 1)
    assert "too large" in line.lower()
    assert snapshot(repo / "corpus" / "data") == before
    assert not [p for p in (repo / "corpus").iterdir() if p.name.startswith(".corpuspack-")]


def test_disk_full_is_one_line_and_keeps_the_package(repo: Path, small_fs: Path) -> None:
    shutil.copytree(repo / "corpus" / "sources", small_fs / "src")
    assert cli(small_fs, "build", "src", "--out", "pkg", "-j", "1").returncode == 0
    before = snapshot(small_fs / "pkg")
    (small_fs / "src" / "big.txt").write_text(text_of("es-es") * 20, encoding="utf-8")
    free = os.statvfs(small_fs).f_bavail * os.statvfs(small_fs).f_frsize
    (small_fs / "filler").write_bytes(b"\0" * (free - 30_000))
    line = one_line_error(cli(small_fs, "build", "src", "--out", "pkg", "-j", "1"), 1)
    assert "No space left" in line
    assert snapshot(small_fs / "pkg") == before
    assert not [p for p in (small_fs).iterdir() if p.name.startswith(".corpuspack-")]
    assert not [p for p in (small_fs / "pkg").iterdir()
                if p.name.startswith(".corpuspack-") and p.name != CACHE]


@pytest.mark.parametrize("name", ["[/x]", "[bold red]x[/]", "\x1b[31mred\x1b[0m",
                                  "line\nbreak", "right\u202eto-left"])
def test_names_from_data_never_drive_the_terminal(tmp_path: Path, name: str) -> None:
    src = tmp_path / "src"
    (src / f"{name}.txt").parent.mkdir(parents=True)  # "[/x]" is a folder "[" and "x]"
    (src / f"{name}.txt").write_text(text_of("fr-fr"), encoding="utf-8")
    (src / f"{name}.bin").write_bytes(b"\0\1")
    done = cli(tmp_path, "build", "src", "--out", "pkg", "-j", "1")
    assert done.returncode == 0, done.stderr
    for stream in (done.stdout, done.stderr):
        assert "\x1b" not in stream and "\u202e" not in stream
    assert "unsupported file type" in done.stdout
    done = cli(tmp_path, "diff", "pkg", "pkg")
    assert done.returncode == 0 and "\x1b" not in done.stdout


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text()
        out += [int(x) for x in text.split()]
    return out


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _big_tree(root: Path) -> Path:
    src = root / "big"
    src.mkdir()
    seed = SEED.read_text(encoding="utf-8")
    for i in range(2500):
        (src / f"{i:05d}.txt").write_text(f"{i}\n{seed}", encoding="utf-8")
    return src


def _start_build(cwd: Path, src: Path, out: Path) -> tuple[subprocess.Popen[bytes], list[int]]:
    proc = subprocess.Popen([sys.executable, "-m", "corpuspack.cli", "build", str(src), "--out",
                             str(out), "--workers", "2"], cwd=cwd, env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        workers = _children(proc.pid) if proc.poll() is None else []
        if len(workers) >= 2:
            time.sleep(0.3)
            return proc, workers
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the build never started its workers")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_killing_the_main_process_stops_its_workers(tmp_path: Path, sig: int) -> None:
    src = _big_tree(tmp_path)
    out = tmp_path / "pkg"
    small = tmp_path / "small"
    small.mkdir()
    shutil.copy(SEED, small / "seed.txt")
    assert cli(tmp_path, "build", str(small), "--out", str(out), "-j", "1").returncode == 0
    before = snapshot(out)
    proc, workers = _start_build(tmp_path, src, out)
    os.kill(proc.pid, sig)  # the main process only, as the OOM killer or `kill PID` does
    code = proc.wait(30)
    deadline = time.monotonic() + 5
    while any(map(_running, workers)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(map(_running, workers)), "workers outlived the main process"
    assert {k: v for k, v in snapshot(out).items()  # leftovers of a SIGKILL aside
            if not k.startswith(".corpuspack-")} == before
    if sig == signal.SIGTERM:
        assert code == 130
        assert proc.stderr is not None and b"interrupted" in proc.stderr.read()
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".corpuspack-")]
    done = cli(tmp_path, "build", str(small), "--out", str(out), "-j", "1")
    assert done.returncode == 0, done.stderr
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".corpuspack-")]


def test_a_stale_lock_held_by_orphans_is_taken_over(tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.mkdir()
    shutil.copy(SEED, small / "seed.txt")
    lock = tmp_path / "pkg" / ".corpuspack-lock-data"
    lock.parent.mkdir()
    lock.write_text(json.dumps({"pid": 2**22 + 4321, "host": socket.gethostname()}))
    # an orphaned worker holds the lock: alive, but not the process named in the file
    holder = subprocess.Popen([sys.executable, "-c", (
        "import fcntl, sys, time\n"
        f"fh = open({str(lock)!r}, 'a')\n"
        "fcntl.flock(fh, fcntl.LOCK_EX)\n"
        "print('locked', flush=True)\n"
        "time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        done = cli(tmp_path, "build", str(small), "--out", str(tmp_path / "pkg"), "-j", "1")
        assert done.returncode == 0, done.stderr
        # a live holder is respected
        lock.write_text(json.dumps({"pid": holder.pid, "host": socket.gethostname()}))
        holder2 = subprocess.Popen([sys.executable, "-c", (
            "import fcntl, time\n"
            f"fh = open({str(lock)!r}, 'a')\n"
            "fcntl.flock(fh, fcntl.LOCK_EX)\n"
            "print('locked', flush=True)\n"
            "time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
        try:
            assert holder2.stdout is not None and holder2.stdout.readline().strip() == "locked"
            line = one_line_error(cli(tmp_path, "build", str(small), "--out",
                                      str(tmp_path / "pkg"), "-j", "1"), 1)
            assert "is writing" in line
        finally:
            holder2.kill()
    finally:
        holder.kill()


def test_card_of_a_release_is_written_outside_it(repo: Path, tmp_path: Path) -> None:
    assert cli(repo, "publish").returncode == 0
    before = snapshot(repo / "release")
    line = one_line_error(cli(repo, "card", "release"))
    assert "--out" in line
    one_line_error(cli(repo, "card", "release", "--out", "release/card-here"))
    assert snapshot(repo / "release") == before
    done = cli(repo, "card", "release", "--out", str(tmp_path / "card"))
    assert done.returncode == 0, done.stderr
    assert "## Statistics" in (tmp_path / "card" / "DATA_CARD.md").read_text(encoding="utf-8")
    assert (tmp_path / "card" / "card" / "lengths.png").is_file()
    assert snapshot(repo / "release") == before
    assert cli(repo, "validate", "release").returncode == 0


@pytest.mark.parametrize("how", ["linked sources", "absolute source_dir", "dotdot source_dir",
                                 "data_dir outside", "descriptor outside"])
def test_a_cloned_config_cannot_reach_outside_its_folder(tmp_path: Path, how: str) -> None:
    home = tmp_path / "home"
    (home / "notes").mkdir(parents=True)
    (home / "notes" / "diary.txt").write_text("my private diary " * 30, encoding="utf-8")
    repo = tmp_path / "clone"
    (repo / "corpus" / "sources").mkdir(parents=True)
    (repo / "corpus" / "sources" / "a.txt").write_text(text_of("fr-fr"), encoding="utf-8")
    config = 'name = "x"\n'
    if how == "linked sources":
        shutil.rmtree(repo / "corpus" / "sources")
        os.symlink(home / "notes", repo / "corpus" / "sources")
    elif how == "absolute source_dir":
        config += f'source_dir = "{home / "notes"}"\n'
    elif how == "dotdot source_dir":
        config += 'source_dir = "../home/notes"\n'
    elif how == "data_dir outside":
        config += 'descriptor = "../home/datapackage.json"\ndata_dir = "../home/data"\n'
    else:
        config += 'descriptor = "../home/datapackage.json"\n'
    (repo / "corpus.toml").write_text(config, encoding="utf-8")
    before = snapshot(tmp_path / "home")
    line = one_line_error(cli(repo, "build", "-j", "1"))
    assert "outside the config's folder" in line
    assert snapshot(tmp_path / "home") == before
    assert not (repo / "corpus" / "data").exists()


def test_corpuspack_names_alone_do_not_make_a_folder_its_own(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text(text_of("fr-fr"), encoding="utf-8")
    (tmp_path / "pkg" / "data").mkdir(parents=True)
    (tmp_path / "pkg" / "data" / "schema.json").write_text('{"my": "own"}', encoding="utf-8")
    before = snapshot(tmp_path / "pkg")
    line = one_line_error(cli(tmp_path, "build", "src", "--out", "pkg", "-j", "1"))
    assert "schema.json" in line
    assert snapshot(tmp_path / "pkg") == before


def test_written_folders_are_readable_by_others_as_the_umask_says(repo: Path) -> None:
    import stat as stat_module

    assert cli(repo, "publish").returncode == 0
    mask = os.umask(0)
    os.umask(mask)
    for folder in (repo / "corpus" / "data", repo / "release"):
        mode = stat_module.S_IMODE(folder.stat().st_mode)
        assert mode == 0o777 & ~mask, (folder, oct(mode))


def test_json_output_escapes_what_would_drive_a_terminal(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "right\u202eto-left.txt").write_text(text_of("fr-fr"), encoding="utf-8")
    assert cli(tmp_path, "build", "src", "--out", "pkg", "-j", "1").returncode == 0
    done = cli(tmp_path, "sample", "1", "--package", "pkg", "--json")
    assert done.returncode == 0 and "\u202e" not in done.stdout
    assert json.loads(done.stdout)[0]["source"] == "right\u202eto-left.txt"


def test_publish_of_a_repository_named_from_above_writes_what_a_run_inside_does(
        repo: Path) -> None:
    # named by its folder, the repository was taken for a bare package: the changelog went
    # to repo/CHANGELOG.md beside corpus/CHANGELOG.md
    done = cli(repo.parent, "publish", "repo", "--out", "rel")
    assert done.returncode == 0, done.stderr
    assert (repo / "corpus" / "CHANGELOG.md").is_file()
    assert not (repo / "CHANGELOG.md").exists()
