"""A file whose reading crashes the reader, runs past ``max_file_seconds`` or swells past
``max_file_memory_mb`` is skipped with the reason, and the build goes on (corpuspack.guard):
real processes, real resource limits, real signals."""

from __future__ import annotations

import faulthandler
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from corpuspack import guard, pipeline, tasks
from corpuspack.build import build
from corpuspack.config import CorpusConfig, zero_config
from corpuspack.guard import MEMORY_REASON
from corpuspack.report import BuildReport
from corpuspack.sources import formats
from corpuspack.sources.formats import text
from tests.conftest import read_docs

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="readers are forked")

WORDS = ("river", "stone", "lantern", "harbour", "meadow", "candle", "orchard", "thunder")


def _tree(root: Path, bad: dict[str, bytes]) -> Path:
    src = root / "src"
    src.mkdir()
    for i in range(12):
        words = " ".join(WORDS[(i + j) % len(WORDS)] for j in range(40))
        (src / f"page-{i:02d}.txt").write_text(f"Page {i}.\n\n{words} {i}.\n", encoding="utf-8")
    for name, data in bad.items():
        (src / name).write_bytes(data)
    return src


def _build(src: Path, out: Path, workers: int, cache: Path | None = None,
           **options: int) -> tuple[CorpusConfig, BuildReport]:
    config = zero_config(src, out)
    config = replace(config, options=replace(config.options, **options))
    return config, build(config, workers=workers, cache=cache)


def _reasons(report: BuildReport) -> dict[str, str]:
    return {s.path: s.reason for s in report.first_skipped}


def _data(package: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((package / "data").iterdir())}


def _crashing(source: text.Source):  # type: ignore[no-untyped-def]
    """The text reader, but a file starting with CRASH kills its process, as a reader's C
    code does when it dereferences a bad pointer."""
    data = source.data()
    if data.startswith(b"CRASH"):
        faulthandler.disable()  # pytest's handler would print the stack first
        os.kill(os.getpid(), signal.SIGSEGV)
    yield text.read_text(data, source.score)


def _hanging(source: text.Source):  # type: ignore[no-untyped-def]
    """The text reader, but a file starting with HANG waits for ever, using no CPU time,
    as a read from a hung mount or a deadlocked library does."""
    data = source.data()
    if data.startswith(b"HANG"):
        time.sleep(3600)
    yield text.read_text(data, source.score)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_reader_that_hangs_without_cpu_is_killed(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(formats.FORMATS, "text",
                        replace(formats.FORMATS["text"], read=_hanging))
    src = _tree(tmp_path, {"page-04b.txt": b"HANG\n"})
    _, report = _build(src, tmp_path / "pkg", 2, max_file_seconds=1)
    assert _reasons(report) == {"page-04b.txt": "reading it made no progress for 1 s: its "
                                "reader used no CPU time (max_file_seconds)"}
    assert report.documents_written == 12


@pytest.fixture
def crashing_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(formats.FORMATS, "text",
                        replace(formats.FORMATS["text"], read=_crashing))


@pytest.mark.usefixtures("crashing_reader")
def test_a_crashing_file_is_skipped_and_the_output_is_the_same_for_any_worker_count(
        tmp_path: Path) -> None:
    src = _tree(tmp_path, {"page-05b.txt": b"CRASH here\n", "page-09b.txt": b"CRASH too\n"})
    packages = {}
    for workers in (1, 2):
        _, report = _build(src, tmp_path / f"pkg-{workers}", workers)
        assert _reasons(report) == {"page-05b.txt": MEMORY_REASON,
                                    "page-09b.txt": MEMORY_REASON}
        assert report.files_seen == 14 and report.files_skipped == 2
        assert report.documents_written == 12
        packages[workers] = _data(tmp_path / f"pkg-{workers}")
    assert packages[1] == packages[2]
    # the good files' documents are all there, each file's text whole
    texts = sorted(d["text"] for d in read_docs(tmp_path / "pkg-1"))
    assert len(texts) == 12 and all(t.startswith("Page ") for t in texts)


@pytest.mark.usefixtures("crashing_reader")
def test_a_crashing_file_is_not_cached_and_is_tried_again(tmp_path: Path) -> None:
    src = _tree(tmp_path, {"page-03b.txt": b"CRASH\n"})
    cache = tmp_path / "cache"
    _, first = _build(src, tmp_path / "pkg", 2, cache=cache)
    before = _data(tmp_path / "pkg")
    _, again = _build(src, tmp_path / "pkg", 2, cache=cache)
    assert first.files_processed == 13
    assert again.files_cached == 12 and again.files_processed == 1  # tried again
    assert _reasons(again) == {"page-03b.txt": MEMORY_REASON}
    assert _data(tmp_path / "pkg") == before
    # once the file reads, it is read: no skip kept from the crash
    (src / "page-03b.txt").write_bytes(b"Fixed now.\n")
    _, fixed = _build(src, tmp_path / "pkg", 2, cache=cache)
    assert fixed.files_skipped == 0 and fixed.documents_written == 13


def test_a_file_over_the_memory_limit_is_skipped(tmp_path: Path) -> None:
    # 24 MB of text: its reading holds several copies of it (bytes, str, normalised), far
    # beyond 32 MB more than the reader held when it started
    line = b"A line of plain words that repeats in a file too large for its reader.\n"
    src = _tree(tmp_path, {"huge.txt": line * (24_000_000 // len(line))})
    _, report = _build(src, tmp_path / "pkg", 2, max_file_memory_mb=32)
    assert _reasons(report) == {"huge.txt": MEMORY_REASON}
    assert report.documents_written == 12
    # the same file is read when the limit allows it
    _, report = _build(src, tmp_path / "pkg-2", 2, max_file_memory_mb=4096)
    assert report.files_skipped == 0 and report.documents_written == 13


def test_a_file_over_the_time_limit_is_skipped(tmp_path: Path) -> None:
    # 40 MB of text with every repetition signal on: tens of seconds of CPU, killed by the
    # kernel (SIGXCPU) after 1 to 2 s
    line = b"Words after words in a long long text that takes time to read and sign.\n"
    src = _tree(tmp_path, {"slow.txt": line * (40_000_000 // len(line))})
    config = zero_config(src, tmp_path / "pkg")
    config = replace(config, options=replace(config.options, max_file_seconds=1),
                     quality=replace(config.quality, repetition_signals=True))
    report = build(config, workers=1, cache=None)
    assert _reasons(report) == {
        "slow.txt": "reading it took more than 1 s of CPU time (max_file_seconds)"}
    assert report.documents_written == 12


@pytest.mark.usefixtures("crashing_reader")
def test_without_a_memory_limit_a_crash_is_named(tmp_path: Path) -> None:
    src = _tree(tmp_path, {"page-05b.txt": b"CRASH here\n"})
    _, report = _build(src, tmp_path / "pkg", 2, max_file_memory_mb=0)
    assert _reasons(report) == {"page-05b.txt": "its reader crashed (SIGSEGV)"}
    assert report.documents_written == 12


def test_limits_off_read_in_the_worker_itself(tmp_path: Path) -> None:
    src = _tree(tmp_path, {})
    _, report = _build(src, tmp_path / "pkg", 1, max_file_seconds=0, max_file_memory_mb=0)
    assert report.documents_written == 12
    assert guard._reader is None  # no reader process was started


def test_a_build_ends_its_reader(tmp_path: Path) -> None:
    src = _tree(tmp_path, {})
    _build(src, tmp_path / "pkg", 1)
    assert guard._reader is None
    children = Path(f"/proc/{os.getpid()}/task/{os.getpid()}/children")
    if children.exists():
        assert not children.read_text().split()  # none left running, none left a zombie


def test_the_time_limit_is_per_record_in_a_file_of_many(tmp_path: Path) -> None:
    # a JSONL file whose records together take several times the limit, each far less
    src = _tree(tmp_path, {})
    words = " ".join(f"{WORDS[i % 8]}{i % 97}" for i in range(500))
    with (src / "many.jsonl").open("w", encoding="utf-8") as out:
        for i in range(6000):
            out.write(f'{{"id": "r{i}", "text": "Record {i}. {words}"}}\n')
    config = zero_config(src, tmp_path / "pkg")
    config = replace(config, options=replace(config.options, max_file_seconds=1),
                     quality=replace(config.quality, repetition_signals=True),
                     near_dedup=replace(config.near_dedup, enabled=False))
    report = build(config, workers=1, cache=None)
    assert report.files_skipped == 0
    assert report.documents_written == 12 + 6000


def _identify_or_crash(docs, settings, stats=None):  # type: ignore[no-untyped-def]
    """Language identification that crashes its process on a batch holding POISON, as the
    identifier's C++ code would."""
    if any("POISON" in d.text for d in docs):
        faulthandler.disable()
        os.kill(os.getpid(), signal.SIGSEGV)
    return pipeline.identify_languages(docs, settings, stats)


def test_a_crash_in_a_batch_of_several_files_is_put_on_its_file_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # language id runs over batches of documents of many files: the crash is first put on
    # no file, then the task is read again each file alone, and only the culprit goes
    monkeypatch.setattr(tasks, "identify_languages", _identify_or_crash)
    src = _tree(tmp_path, {})
    for i in range(300):
        (src / f"more-{i:03d}.txt").write_text(f"More page {i} of plain words.\n",
                                               encoding="utf-8")
    (src / "more-010x.txt").write_text("POISON in this one.\n", encoding="utf-8")
    packages = {}
    for workers in (1, 2):
        _, report = _build(src, tmp_path / f"pkg-{workers}", workers, max_file_memory_mb=0)
        assert _reasons(report) == {"more-010x.txt": "its reader crashed (SIGSEGV)"}
        assert report.documents_written == 312
        packages[workers] = _data(tmp_path / f"pkg-{workers}")
    assert packages[1] == packages[2]


def _pid_of_reader(task: int, forced: dict[int, str], mark: object) -> int:
    return os.getpid()


def test_an_idle_reader_exits_and_the_next_task_gets_a_new_one(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(guard, "IDLE_SECONDS", 0.3)
    limits = guard.Limits(seconds=60, build="idle-test")
    try:
        first = guard.guarded(_pid_of_reader, 0, limits)
        assert guard.guarded(_pid_of_reader, 1, limits) == first  # one reader, kept
        time.sleep(1.0)  # it exits, idle; the next task is not lost with it
        assert guard.guarded(_pid_of_reader, 2, limits) != first
    finally:
        guard.close()


def _task_number(task: int, forced: dict[int, str], mark: Callable[[int, bool], None]) -> int:
    mark(0, True)
    return task


def test_a_reader_killed_while_idle_costs_the_next_task_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    limits = guard.Limits(seconds=60, build="killed-idle")
    try:
        assert guard.guarded(_task_number, 1, limits) == 1
        assert guard._reader is not None
        os.kill(guard._reader.pid, signal.SIGKILL)  # the OOM killer takes the idle reader
        time.sleep(0.2)
        assert guard.guarded(_task_number, 2, limits) == 2  # not put on any file
    finally:
        guard.close()


# the work of the scripts below: files of ``each`` CPU seconds, ``forced`` ones not read
_WORK = """
import time

def work(task, forced, mark):
    files, each = task
    done = []
    for i in range(files):
        if i in forced:
            done.append(forced[i])
            continue
        mark(i, True)
        start = time.process_time()
        while time.process_time() - start < each:
            pass
        done.append("read")
    mark(-1, False)
    return done
"""

_ULIMIT = """
import os, resource, sys
from corpuspack import guard
sys.path.insert(0, os.path.dirname(sys.argv[1]))
from hard import work

# the user's ulimit -t of 2 s, for the reader only (this process has used more already)
hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
os.register_at_fork(after_in_child=lambda: resource.setrlimit(resource.RLIMIT_CPU, (2, hard)))
limits = guard.Limits(seconds=5, build="ulimit")
print([guard.guarded(work, (6, 0.3), limits) for _ in range(2)])
guard.close()
"""


def _script_output(folder: Path, source: str) -> str:
    """What a script printed, run in a process of its own (the limits it sets there are
    not this process's), beside ``hard.py``: the work function of the hard-limit tests."""
    (folder / "hard.py").write_text(_WORK, encoding="utf-8")
    script = folder / "script.py"
    script.write_text(source, encoding="utf-8")
    return subprocess.run([sys.executable, str(script), str(script)], capture_output=True,
                          text=True, timeout=120, check=True).stdout.strip()


def test_a_users_cpu_ulimit_caps_each_file_not_the_readers_life(tmp_path: Path) -> None:
    # the reader reads task after task: RLIMIT_CPU counts its whole life, so a user's soft
    # limit kept as a cap on it had put 3.6 s of files over a 2 s limit, blaming a file
    assert _script_output(tmp_path, _ULIMIT) == str([["read"] * 6] * 2)


_HARD_ULIMIT = """
import os, resource, sys
from corpuspack import guard
sys.path.insert(0, os.path.dirname(sys.argv[1]))
from hard import work

# the user's ulimit -Ht of 3 s, for the reader only (this process has used more already)
os.register_at_fork(after_in_child=lambda: resource.setrlimit(resource.RLIMIT_CPU, (3, 3)))
limits = guard.Limits(seconds=600, build="hard")
print([guard.guarded(work, task, limits) for task in [(4, 0.3)] * 4 + [(1, 10.0)]])
guard.close()
"""


def test_a_hard_cpu_ulimit_blames_no_file_for_the_readers_age(tmp_path: Path) -> None:
    # RLIMIT_CPU's hard limit counts the reader's whole life and cannot be raised: four
    # tasks of 1.2 s each had taken a reader past 3 s, and the kernel's SIGKILL put a file
    # of the third task out as if the out-of-memory killer had taken it
    out = _script_output(tmp_path, _HARD_ULIMIT)
    expected = [["read"] * 4] * 4 + [[
        "reading it took more than 1 s of CPU time (max_file_seconds, capped by half of "
        "ulimit -Ht)"]]
    assert out == str(expected)


_ONE_TASK = """
import os, resource, sys, time
from corpuspack import guard, errors
sys.path.insert(0, os.path.dirname(sys.argv[1]))
from hard import work

os.register_at_fork(after_in_child=lambda: resource.setrlimit(resource.RLIMIT_CPU, (3, 3)))
try:
    print(guard.guarded(work, (20, 0.25), guard.Limits(seconds=600, build="one")))
except errors.CorpusError as exc:
    print("CorpusError:", exc)
guard.close()
"""


def test_a_task_over_a_hard_cpu_ulimit_fails_the_build_and_blames_no_file(
        tmp_path: Path) -> None:
    # 20 files of 0.25 s in one task under a 3 s hard limit: each file is within its time
    # (1 s, half the limit), but the task is not; a new reader dying at the same point had
    # blamed one innocent file after another (9 of 20, in 30 s)
    assert _script_output(tmp_path, _ONE_TASK) == (
        "CorpusError: reading one task of files takes more CPU time than the hard limit of "
        "3 s (ulimit -Ht) gives a reader: raise that limit")


_SOFT_ONLY = """
import os, resource, sys
from corpuspack import guard
sys.path.insert(0, os.path.dirname(sys.argv[1]))
from hard import work

hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
os.register_at_fork(after_in_child=lambda: resource.setrlimit(resource.RLIMIT_CPU, (2, hard)))
limits = guard.Limits(seconds=0, memory_mb=4096, build="soft")
print([guard.guarded(work, (4, 0.25), limits) for _ in range(4)])
guard.close()
"""


def test_without_max_file_seconds_a_users_soft_cpu_ulimit_caps_each_file(
        tmp_path: Path) -> None:
    # max_file_seconds = 0 left the user's 2 s soft limit on the reader's whole life: the
    # files after its second CPU second were skipped, as if each had taken 2 s
    assert _script_output(tmp_path, _SOFT_ONLY) == str([["read"] * 4] * 4)


class _Deadline(BaseException):
    """What a library may raise past ``except Exception``, with arguments that do not come
    back through pickle."""

    def __init__(self, what: str, seconds: int) -> None:
        super().__init__(f"{what} after {seconds} s")


def _exiting(source: text.Source):  # type: ignore[no-untyped-def]
    """The text reader, but a library that calls sys.exit, or raises a BaseException, on
    some files."""
    data = source.data()
    if data.startswith(b"EXIT"):
        sys.exit(3)
    if data.startswith(b"DEADLINE"):
        raise _Deadline("parse", 3)
    yield text.read_text(data, source.score)


@pytest.mark.parametrize("workers", [1, 2])
def test_a_reader_that_exits_or_raises_past_exception_skips_its_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    # sys.exit(3) in a reader ended the build with status 3 and no output; a BaseException
    # whose arguments do not unpickle failed it with a TypeError
    monkeypatch.setitem(formats.FORMATS, "text",
                        replace(formats.FORMATS["text"], read=_exiting))
    src = _tree(tmp_path, {"page-04b.txt": b"EXIT now\n", "page-08b.txt": b"DEADLINE\n"})
    _, report = _build(src, tmp_path / "pkg", workers)
    assert _reasons(report) == {"page-04b.txt": "unexpected error: SystemExit: 3",
                                "page-08b.txt": "reading it raised _Deadline"}
    assert report.documents_written == 12


class _TwoArguments(Exception):
    def __init__(self, what: str, seconds: int) -> None:
        super().__init__(f"{what} after {seconds} s")


def _raising(task: object, forced: dict[int, str], mark: Callable[[int, bool], None]) -> None:
    raise _TwoArguments("parse", 3)


def test_an_error_past_a_readers_files_that_does_not_unpickle_is_one_corpus_error() -> None:
    # its unpickling in the parent raised a TypeError that nothing caught
    from corpuspack.errors import CorpusError

    with pytest.raises(CorpusError, match=r"^_TwoArguments: parse after 3 s$"):
        guard.guarded(_raising, None, guard.Limits(seconds=60, build="unpickle"))
    guard.close()


def test_closing_a_reader_that_cannot_exit_does_not_wait_for_it() -> None:
    # a reader forked while another thread (Ray's, gRPC's) held a lock may never run: the
    # build waited for it for ever when its map ended (the test suite hung that way)
    reader = guard._current(guard.Limits(seconds=60, build="wedged"))
    os.kill(reader.pid, signal.SIGSTOP)  # a child that cannot read its end of file
    start = time.monotonic()
    guard.close()
    assert time.monotonic() - start < guard.CLOSE_SECONDS + 3
    with pytest.raises(ProcessLookupError):
        os.kill(reader.pid, 0)
