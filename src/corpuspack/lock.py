"""One writer at a time: the lock a build or a publish holds on its output.

The lock is ``flock`` on a file beside the output (``.corpuspack-lock-NAME``), opened without
following links (a committed symbolic link cannot make corpuspack write elsewhere). The file
holds the holder's process id and host. If the lock is held but that process is gone (its
workers, orphaned by a kill, may still hold the file open), the lock is stale: the file is
removed and a fresh one locked, so a killed build never blocks the next one.
"""

from __future__ import annotations

import errno
import fcntl
import os
import socket
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

from corpuspack.errors import CorpusError
from corpuspack.safefs import pid_alive

_FLAGS = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _open(path: Path) -> int:
    try:
        fd = os.open(path, _FLAGS, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise CorpusError(f"{path} is a symbolic link: remove it (corpuspack does not "
                              "write through links)") from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise CorpusError(f"{path} is not a regular file: remove it")
    return fd


def _holder(fd: int) -> tuple[int, str] | None:
    try:
        info = orjson.loads(os.pread(fd, 4096, 0))
        return int(info["pid"]), str(info["host"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, OSError):
        return None


@contextmanager
def exclusive(path: Path, what: str) -> Iterator[int]:
    """Hold the lock file ``path`` for the block; yield its descriptor (workers close it).

    Raises CorpusError when another live process holds it (``what`` names the output).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = _open(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder, inode = _holder(fd), os.fstat(fd).st_ino
            os.close(fd)
            if holder is not None and holder[1] == socket.gethostname() \
                    and not pid_alive(holder[0]):
                # stale: held by orphaned workers of a killed process; take over, removing
                # only the very file found stale (another process may have taken over first)
                try:
                    if os.stat(path, follow_symlinks=False).st_ino == inode:
                        path.unlink()
                except FileNotFoundError:
                    pass
                continue
            who = f" (process {holder[0]})" if holder else ""
            raise CorpusError(f"another corpuspack process{who} is writing {what}") from None
        try:
            same = os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the holder removed the file between our open and lock: take a new one
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, orjson.dumps({"pid": os.getpid(), "host": socket.gethostname()}), 0)
        yield fd
    finally:
        path.unlink(missing_ok=True)  # before unlocking, which the inode check above relies on
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def lock_path(parent: Path, name: str) -> Path:
    """The lock file of an output named ``name`` in folder ``parent``."""
    return parent / f".corpuspack-lock-{name}"
