"""Guarded reading: the files of a map task are read in a child process whose CPU time per
file and memory are limited, so that one file that crashes a reader's C code, loops, or
swells past the limits is skipped with the reason while the build goes on.

Each process that runs map tasks (a pool worker, a Ray worker, or the main process with one
worker) keeps one reader: a child forked once per build (:class:`Limits` carries the
build's token) that reads task after task, so the fork is paid once per build and worker,
not once per task (a fork of a worker holding the language model took 6 to 20 ms, 78 tasks
in the benchmark's build). Before each file the reader writes the file's index into a page
it shares with its parent, and sets its CPU-time limit (``RLIMIT_CPU``, soft) to what it
has used plus ``max_file_seconds``; its memory limit (``RLIMIT_DATA``, Linux) is set once,
to what it held when forked plus ``max_file_memory_mb``. When the reader dies (the kernel's
SIGXCPU at the time limit, a crash, the OOM killer) or runs out of memory, its parent reads
the index of the file it was on, marks that file skipped with the reason, and runs the task
again in a new reader without it: the run holds the same rows as a build in which the file
failed at once, so the output does not depend on whether, or on which worker, it happened.
Such skips are not cached (a later build tries the file again: the limits are not part of a
file's key).

Time limits measure this machine: a file close to ``max_file_seconds`` may be skipped on a
slower machine and read on a faster one. The defaults leave room for the largest inputs
the size limits allow (docs/benchmarks.md, "A single large document": a 200 MB text took
246 s of one core with every signal on, and 2.7 GB).
"""

from __future__ import annotations

import contextlib
import mmap
import os
import pickle
import resource
import signal
import struct
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from typing import Any, TypeVar

from corpuspack.errors import CorpusError

T = TypeVar("T")
R = TypeVar("R")
MiB = 1 << 20
_MARK = struct.Struct("<qq")  # (the task's serial number, the index of the file it is on)
_INDEX = struct.Struct("<q")
# after the mark, the reader writes its CPU-time budget: (hard limit, -1: none; seconds
# per file, 0: none; what sets them, UTF-8, NUL-padded)
_BUDGET = struct.Struct("<qq96s")
_BUDGET_AT = _MARK.size
# then the reader's CPU seconds when its current file (or record) started
_STARTED = struct.Struct("<d")
_STARTED_AT = _BUDGET_AT + _BUDGET.size
_PR_SET_PDEATHSIG = 1
# the mark while the reader works on the documents of several files (language
# identification over a batch): a death there is put on no file, and the task is read
# again with each file's documents finished before the next file (``forced[IN_BATCH]``)
IN_BATCH = -2
# a reader left without a task this long exits (its parent forks another when needed): a
# Ray worker's reader would otherwise outlive the build that made it
IDLE_SECONDS = 30.0
# how long a closed reader may take to exit before it is killed (an idle one exits at once)
CLOSE_SECONDS = 5.0

# (task, files already known to kill the reader: index -> reason, mark) -> result
Work = Callable[[Any, dict[int, str], Callable[[int, bool], None]], Any]


@dataclass(frozen=True)
class Limits:
    """What reading one file may cost: ``seconds`` of CPU time per file, ``memory_mb`` MB of
    memory above what the reader held when it started (0: no limit); ``build`` ties a
    reader to one build."""

    seconds: int = 0
    memory_mb: int = 0
    build: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.seconds or self.memory_mb)


NO_LIMITS = Limits()
# a file over the reader's memory limit, whichever step found it (never cached). A C
# library may crash where an allocation fails instead of raising MemoryError, and where it
# fails depends on the reader's heap (the tasks it read before): under a memory limit a
# crash and a MemoryError get this one reason, so the report does not depend on which
MEMORY_REASON = ("reading it failed: out of memory (max_file_memory_mb), or its reader "
                 "crashed")


class ReaderGone(Exception):
    """The reader had exited or died before it took the task (idle too long, killed, or
    retired before the hard CPU-time limit), or reached that limit in a later task than
    its first: not the task's doing."""


class ReaderDied(Exception):
    """The reader died or ran out of memory on file ``index`` (-1: on no file)."""

    def __init__(self, index: int, reason: str) -> None:
        super().__init__(reason)
        self.index, self.reason = index, reason


def hard_cpu_seconds() -> int | None:
    """The hard limit of CPU time (``ulimit -Ht``) of this process and the readers it
    forks, in seconds; None when there is none."""
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    return None if hard == resource.RLIM_INFINITY else int(hard)


def file_seconds(limits: Limits) -> tuple[int, str]:
    """The CPU seconds each file gets, and what sets them: ``limits.seconds``
    (``max_file_seconds``, 0: none), capped by a user's soft limit of CPU time (``ulimit
    -t``) and by half the hard one, which count the reader's whole life; at least 1 when
    any applies, (0, "") when none does."""
    soft = resource.getrlimit(resource.RLIMIT_CPU)[0]
    hard = hard_cpu_seconds()
    caps = [(seconds, name) for seconds, name in (
        (limits.seconds or None, "max_file_seconds"),
        (None if soft == resource.RLIM_INFINITY else int(soft), "ulimit -t"),
        (None if hard is None else hard // 2, "half of ulimit -Ht")) if seconds is not None]
    if not caps:
        return 0, ""
    seconds, name = min(caps, key=lambda cap: cap[0])  # the first of equal ones
    if limits.seconds and name != "max_file_seconds":
        name = f"max_file_seconds, capped by {name}"
    return max(1, seconds), name


@dataclass(frozen=True)
class Budget:
    """A reader's CPU time: its hard limit in seconds (None: none), the seconds each file
    gets (0: no limit) and what sets them (:func:`file_seconds`)."""

    hard: int | None = None
    seconds: int = 0
    source: str = ""

    def over_hard(self, status: int, cpu_seconds: float) -> bool:
        """True when a reader that ended with wait ``status`` after ``cpu_seconds`` of CPU
        time was stopped by the hard limit (SIGKILL, or SIGXCPU, as it reached it)."""
        return (os.WIFSIGNALED(status)
                and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL)
                and self.hard is not None and cpu_seconds >= self.hard - 0.5)


def died_reason(status: int, limits: Limits, cpu_seconds: float = 0.0,
                budget: Budget | None = None) -> str:
    """Why a reader that ended with wait ``status`` after ``cpu_seconds`` of CPU time, with
    the CPU-time ``budget`` it had (default: this process's), died, in a skip's words: the
    time limit (SIGXCPU; or the hard limit, which a reader reaches within a file only when
    the file used more than its time: a file starts only with its time left before it), the
    system's out-of-memory killer (SIGKILL), else a crash, which under a memory limit is
    :data:`MEMORY_REASON` (see there)."""
    if budget is None:
        budget = Budget(hard_cpu_seconds(), *file_seconds(limits))
    killed = os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU,
                                                                 signal.SIGKILL)
    if budget.over_hard(status, cpu_seconds) or (
            killed and os.WTERMSIG(status) == signal.SIGXCPU):
        return (f"reading it took more than {budget.seconds} s of CPU time "
                f"({budget.source})")
    crashed = not killed
    if crashed and limits.memory_mb:
        return MEMORY_REASON
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        name = signal.Signals(number).name if number in signal.valid_signals() else number
        if number == signal.SIGKILL:
            return (f"its reader was killed ({name}; the system's out-of-memory killer, "
                    "most likely)")
        return f"its reader crashed ({name})"
    return f"its reader exited with status {os.waitstatus_to_exitcode(status)}"


class _Reader:
    """A child process reading tasks for this process (see the module's docstring)."""

    def __init__(self, limits: Limits) -> None:
        self.limits, self.owner, self.serial = limits, os.getpid(), 0
        self.busy = False  # a task sent, its result not received (Ctrl-C came meanwhile)
        self.status: int | None = None  # the child's wait status, once waited for
        self.cpu = 0.0  # the child's CPU seconds (user and system), once waited for
        self.mark = mmap.mmap(-1, _STARTED_AT + _STARTED.size)  # shared with the child
        ours, theirs = Pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child: measured by the tests through its parent
            ours.close()
            _serve(theirs, self.mark, limits, self.owner)
        theirs.close()
        self.pid, self.conn = pid, ours

    def run(self, work: Work, task: Any, forced: dict[int, str]) -> Any:
        """``work(task, forced, mark)`` in the child; ReaderDied when it dies on a file."""
        self.serial += 1
        _MARK.pack_into(self.mark, 0, 0, -1)  # the child writes the serial as it takes it
        self.busy = True
        try:
            self.conn.send((self.serial, work, task, forced))
            self._wait()
            kind, value = self.conn.recv()
        except (EOFError, OSError):
            status = self._reap()
            assert status is not None  # waited for without a time limit
            if not self._taken():  # idle too long, or killed idle: not the task's doing
                raise ReaderGone from None
            budget = self._budget()
            started = _STARTED.unpack_from(self.mark, _STARTED_AT)[0]
            if budget.over_hard(status, self.cpu) \
                    and self.cpu - started < budget.seconds - 0.5:
                # the file had not used its time: the reader's age or the task's size did it
                if self.serial > 1:
                    raise ReaderGone from None  # a new reader has the whole limit for it
                raise CorpusError(
                    "reading one task of files takes more CPU time than the hard limit of "
                    f"{budget.hard} s (ulimit -Ht) gives a reader: raise that limit"
                ) from None
            raise ReaderDied(self._index(), died_reason(status, self.limits, self.cpu,
                                                        budget)) from None
        self.busy = False
        if kind == "memory":  # the child exits: its memory may be in any state
            raise ReaderDied(self._index(), MEMORY_REASON)
        if kind == "died":  # a file's reading raised what no reader catches (sys.exit)
            raise ReaderDied(self._index(), value)
        if kind == "error":
            raise value
        return value

    def _budget(self) -> Budget:
        """The CPU-time budget the reader wrote (none if it died before it did)."""
        hard, seconds, source = _BUDGET.unpack_from(self.mark, _BUDGET_AT)
        if not source:
            return Budget()
        return Budget(None if hard < 0 else int(hard), int(seconds),
                      source.rstrip(b"\0").decode())

    def _wait(self) -> None:
        """Wait for the child's answer; kill it when it used no CPU time, and did not move
        on to another file, for ``max_file_seconds`` of wall time (a read that hangs: a
        deadlock, a hung mount), and raise ReaderDied. Linux (the CPU time is read from
        ``/proc``); elsewhere, or without a time limit, wait as long as it takes."""
        seconds = self.limits.seconds
        stat = f"/proc/{self.pid}/stat"
        if not seconds or not os.path.exists(stat):
            return
        interval = min(5.0, max(0.2, seconds / 4))
        seen, since = None, time.monotonic()
        while not self.conn.poll(interval):
            now = (_cpu_ticks(stat), bytes(self.mark))
            if now != seen:
                seen, since = now, time.monotonic()
            elif time.monotonic() - since >= seconds:
                with contextlib.suppress(OSError):
                    os.kill(self.pid, signal.SIGKILL)
                self._reap()
                raise ReaderDied(self._index(), f"reading it made no progress for {seconds} "
                                 "s: its reader used no CPU time (max_file_seconds)")

    def _taken(self) -> bool:
        return bool(_MARK.unpack_from(self.mark, 0)[0] == self.serial)

    def _index(self) -> int:
        serial, index = _MARK.unpack_from(self.mark, 0)
        return int(index) if serial == self.serial else -1

    def _reap(self, within: float | None = None) -> int | None:
        """Close the pipe and wait for the child (at most ``within`` seconds if given:
        None when it has not exited by then); its wait status (kept: a pid is waited for
        once, and never signalled after, when another process may have it)."""
        if self.status is not None:
            return self.status
        with contextlib.suppress(OSError):
            self.conn.close()  # end of file: an idle child exits
        deadline = None if within is None else time.monotonic() + within
        while True:
            try:
                pid, status, usage = os.wait4(self.pid, 0 if deadline is None else os.WNOHANG)
            except ChildProcessError:
                self.status = 0
                return self.status
            if pid:
                self.status, self.cpu = status, usage.ru_utime + usage.ru_stime
                return self.status
            if deadline is not None and time.monotonic() >= deadline:
                return None
            time.sleep(0.01)

    def close(self) -> None:
        """End the child: it reads end of file and exits (killed if it is still reading a
        task: a build stopped by Ctrl-C does not wait for it, or if it has not exited
        within :data:`CLOSE_SECONDS`: a child that cannot run, such as one forked while
        another thread held a lock it needs, never holds up its parent), and is waited
        for."""
        if self.busy and self.status is None:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
        if self._reap(CLOSE_SECONDS) is None:
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
            self._reap()
        self.mark.close()


_reader: _Reader | None = None


def _current(limits: Limits) -> _Reader:
    global _reader
    reader = _reader
    if reader is not None and (reader.owner != os.getpid() or reader.limits != limits):
        if reader.owner == os.getpid():
            reader.close()
        reader = _reader = None  # a parent's (inherited by fork) is not this process's
    if reader is None:
        reader = _reader = _Reader(limits)
    return reader


def close() -> None:
    """End this process's reader, if it has one (a build does when its map stage ends)."""
    global _reader
    if _reader is not None and _reader.owner == os.getpid():
        _reader.close()
    _reader = None


def guarded(work: Work, task: Any, limits: Limits,
            on_death: Callable[[int], None] | None = None) -> Any:
    """``work(task, forced, mark)`` in this process's reader, again without each file the
    reader dies on (``forced`` maps their indexes to the reasons, for ``work`` to record as
    skips); ``on_death(pid)`` after each death (to remove what the dead reader left).

    Raises CorpusError when the reader dies outside any file, or twice on one file."""
    forced: dict[int, str] = {}
    gone = 0
    while True:
        reader = _current(limits)
        try:
            return reader.run(work, task, forced)
        except ReaderGone:
            close()
            if on_death is not None:  # it may have taken the task and written part of it
                on_death(reader.pid)
            gone += 1
            if gone > 3:
                raise CorpusError("the reading process keeps exiting before it takes a "
                                  "task") from None
        except ReaderDied as died:
            close()
            if on_death is not None:
                on_death(reader.pid)
            if died.index == IN_BATCH and IN_BATCH not in forced:
                forced[IN_BATCH] = "each file's documents finished before the next file"
            elif died.index < 0 or died.index in forced:
                raise CorpusError(f"the reading process died outside a source file: "
                                  f"{died.reason}") from None
            else:
                forced[died.index] = died.reason


def _portable(exc: Exception) -> Exception:
    """``exc`` if it comes back whole through pickle (as the parent gets it), else a
    CorpusError with its text (an exception class whose arguments do not round-trip)."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - any failure: send the text
        return CorpusError(f"{type(exc).__name__}: {exc}")
    return exc


def _cpu_ticks(stat: str) -> int | None:
    """User and system CPU time of a process, in clock ticks, from its ``/proc`` stat."""
    try:
        with open(stat, "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime, stime: fields 14 and 15
    except (OSError, IndexError, ValueError):
        return None


def _data_bytes() -> int | None:
    """This process's data segment and private writable mappings (VmData), in bytes."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmData:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


_given: dict[int, int] = {}  # the soft limits the reader started with (a user's ulimit)


def _limit(kind: int, soft: int, keep_given: bool = True) -> None:
    """Set the soft limit ``kind`` to ``soft``, never above the hard limit, nor above the
    soft one the reader was given when ``keep_given``."""
    current, hard = resource.getrlimit(kind)
    given = _given.setdefault(kind, current)
    for cap in (given if keep_given else resource.RLIM_INFINITY, hard):
        if cap != resource.RLIM_INFINITY:
            soft = min(soft, cap)
    resource.setrlimit(kind, (soft, hard))


def _serve(conn: Connection, mark: mmap.mmap, limits: Limits,
           parent: int) -> None:  # pragma: no cover - runs in the child
    """The reader's loop: tasks in, results out, until its parent closes the pipe or no task
    came for IDLE_SECONDS."""
    from corpuspack.executors import INHERITED_FDS

    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the build's process handles Ctrl-C
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        for fd in INHERITED_FDS:  # the output's lock stays with the build's process
            with contextlib.suppress(OSError):
                os.close(fd)
        if sys.platform.startswith("linux"):
            import ctypes

            with contextlib.suppress(OSError, AttributeError):
                ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
        if os.getppid() != parent:  # the parent died before the line above took effect
            os._exit(1)
        resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(
            resource.RLIMIT_CORE)[1]))
        if "pyarrow" in sys.modules:
            # Arrow's own allocator maps about 1 GiB on its first Parquet write, which the
            # memory limit would count against the files of one task and not the next
            pyarrow = sys.modules["pyarrow"]
            pyarrow.set_memory_pool(pyarrow.system_memory_pool())

        armed = [-2.0]  # CPU seconds used when the time limit was last set
        # RLIMIT_CPU counts the whole life of the process: a user's soft limit (ulimit -t)
        # caps each file's time here, not the reader's, which reads task after task. A
        # hard limit cannot be raised: each file gets at most half of it, a reader that
        # could not give its next task's first file its time leaves before taking that
        # task, and one that reaches it on a file that had not used its time (from the
        # CPU seconds written here when the file started) has its task read again by a
        # new reader, whose CPU time starts at zero
        hard = hard_cpu_seconds()
        seconds, source = file_seconds(limits)
        _BUDGET.pack_into(mark, _BUDGET_AT, -1 if hard is None else hard, seconds,
                          source.encode()[:96] or b"-")
        # the same holds of a user's limit of memory (ulimit -d): each task gets what a new
        # reader would have under it, and a reader that has less left leaves
        data = resource.getrlimit(resource.RLIMIT_DATA)[0]
        start = _data_bytes()
        room = None if data == resource.RLIM_INFINITY or start is None else data - start
        allowance = limits.memory_mb * MiB if limits.memory_mb else None
        if room is not None:
            allowance = room if allowance is None else min(allowance, room)
        served = False

        def at(index: int, starts: bool) -> None:
            _INDEX.pack_into(mark, 8, index)
            if starts and seconds:
                used = time.process_time()
                _STARTED.pack_into(mark, _STARTED_AT, used)
                # set again only once a second of CPU has gone by since the last time
                # (three system calls a document cost the basic build about 5%): the soft
                # limit is whole seconds, so each file or record still gets at least
                # its seconds, and at most 2 s more
                if used - armed[0] >= 1.0:
                    armed[0] = used
                    _limit(resource.RLIMIT_CPU, int(used) + 2 + seconds, keep_given=False)

        while conn.poll(IDLE_SECONDS):
            try:
                serial, work, task, forced = conn.recv()
            except EOFError:
                break
            held = _data_bytes()  # measured for each task: what earlier tasks left is not
            if served and (  # the next one's to pay for
                    (hard is not None and time.process_time() + seconds > hard)
                    or (room is not None and held is not None and allowance is not None
                        and held + allowance > data)):
                break  # not taken: its parent forks another reader for it
            served = True
            _MARK.pack_into(mark, 0, serial, -1)
            if allowance is not None and held is not None:
                _limit(resource.RLIMIT_DATA, held + allowance)
            try:
                result = work(task, forced, at)
            except MemoryError:
                code = 1
                conn.send(("memory", None))
                break
            except Exception as exc:  # noqa: BLE001 - the parent raises it
                conn.send(("error", _portable(exc)))
                continue
            except BaseException as exc:  # noqa: BLE001 - sys.exit in a library: its file's
                code = 1
                conn.send(("died", f"reading it raised {type(exc).__name__}"))
                break
            conn.send(("done", result))
    finally:
        os._exit(code)
