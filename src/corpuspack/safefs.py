"""Safe file access: the one place where corpuspack opens, creates, replaces and removes files.

A corpus repository is untrusted input: its sources, sidecars, manifests, descriptors and
dotfiles come from someone else, and any of them can be a symbolic link, a FIFO, a device or
a file that grows while it is read. Every read and write of corpuspack goes through here:

- **Reads** (:func:`open_read`, :func:`read_bytes`) resolve the path, refuse it when it leads
  outside the allowed root, open the resolved path without following a link and without
  blocking (a FIFO cannot hang a build), check that a regular file was opened and never
  return more than a size cap.
- **Paths named by data** (:func:`resolve_inside`): a path taken from a descriptor, a journal
  or a manifest must be relative, without ``..``, a URL scheme, a backslash or a NUL, and must
  stay inside its root once links are resolved.
- **Writes** (:func:`replace_file`, :func:`create_file`) never write through a symbolic link:
  a target that is a link, or is not a regular file, is refused; replacing is atomic (a
  temporary file in the same folder, fsynced, renamed over the target).
- **Folders of its own** (:func:`make_own_dir`, :func:`remove_own_dir`): working folders are
  created fresh with a random name and a marker file naming the process; only a real folder
  (not a link) carrying that marker is ever removed whole.

Errors are :class:`UnsafeFile` (a :class:`~corpuspack.errors.CorpusError`, exit code 2): one
line that names the file and the reason, so readers of sources can turn it into a skip.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import socket
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO

import orjson

from corpuspack.errors import CorpusError

OWN_MARKER = ".corpuspack-owner"
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_CREATE_FLAGS = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                 | getattr(os, "O_CLOEXEC", 0))
_CHUNK = 1 << 20


class UnsafeFile(CorpusError):
    """A path corpuspack refuses to read or write; ``reason`` is the text without the path."""

    exit_code = 2

    def __init__(self, path: str | Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = str(path), reason


def is_within(path: str | Path, root: str | Path) -> bool:
    """True when ``path`` is ``root`` or lies below it, once symbolic links are resolved."""
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)


def resolve_inside(root: Path, rel: str, what: str = "path") -> Path:
    """``root / rel`` for a path named by untrusted data, or :class:`UnsafeFile`.

    ``rel`` must be a relative POSIX path without ``..`` components, a URL scheme, a
    backslash or a NUL, and the result must stay inside ``root`` once links are resolved.
    """
    if not isinstance(rel, str) or not rel:
        raise UnsafeFile(root, f"{what} is not a relative path")
    bad = None
    if "\0" in rel or "\\" in rel:
        bad = "holds a NUL or a backslash"
    elif "://" in rel or rel.split("/", 1)[0].endswith(":"):
        bad = "is a URL: corpuspack reads no remote files"
    elif rel.startswith("/") or os.path.isabs(rel):
        bad = "is an absolute path"
    elif ".." in rel.split("/"):
        bad = "goes up with '..'"
    if bad:
        raise UnsafeFile(rel, f"{what} {bad}; only paths inside {root} are read")
    path = root / rel
    if not is_within(path, root):
        raise UnsafeFile(rel, f"{what} leads outside {root} through a symbolic link")
    return path


def open_read(path: str | Path, *, root: str | Path | None = None,
              max_bytes: int | None = None, what: str = "file",
              identity: tuple[int, int] | None = None) -> BinaryIO:
    """Open a regular file for reading, safely (see the module docstring).

    The file object reads at most what was there when it was opened only if the caller
    bounds its reads: use :func:`read_bytes` for a whole file. Raises :class:`UnsafeFile`
    for a path outside ``root``, a file that is not a regular file (FIFO, device, socket,
    folder), a file larger than ``max_bytes`` or one that cannot be opened.

    ``identity`` (device, inode), when a walk that checked the file inside its root has it,
    replaces the resolution of the path: the file opened must be that very file, so a path
    changed since the walk (a folder swapped for a link, a file for a FIFO) is refused
    without resolving every component again (which cost a fifth of a small file's read).
    """
    fd, _ = _open_checked(path, root, max_bytes, what, identity)
    try:
        # opened without blocking (a FIFO must not hang the open): reads block again
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _open_checked(path: str | Path, root: str | Path | None, max_bytes: int | None,
                  what: str, identity: tuple[int, int] | None) -> tuple[int, os.stat_result]:
    """The descriptor and status of a regular file opened as :func:`open_read` says."""
    real = str(path) if identity is not None else os.path.realpath(path)
    if identity is None and root is not None and not is_within(real, root):
        raise UnsafeFile(path, f"{what} is a symbolic link that leads outside {root}")
    try:
        fd = os.open(real, _READ_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafeFile(path, f"{what} changed into a symbolic link since it was found: "
                             "not followed, so nothing outside the folder is read") from None
        raise UnsafeFile(path, f"cannot open {what}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if identity is not None and (st.st_dev, st.st_ino) != identity:
            raise UnsafeFile(path, f"{what} changed since the source folder was walked")
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeFile(path, f"{what} is not a regular file (a FIFO, device, socket "
                             "or folder)")
        if max_bytes is not None and st.st_size > max_bytes:
            raise UnsafeFile(path, f"{what} size exceeds the limit of {max_bytes:,} bytes")
        return fd, st
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str | Path, *, root: str | Path | None = None,
               max_bytes: int, what: str = "file",
               identity: tuple[int, int] | None = None) -> bytes:
    """The whole content of a regular file of at most ``max_bytes`` (see :func:`open_read`).

    A file that grows past the cap while it is read is refused too. Read with ``os.read``
    on the descriptor (a regular file never blocks, whatever O_NONBLOCK says): no file
    object, a third less time for the small files of a corpus.
    """
    fd, st = _open_checked(path, root, max_bytes, what, identity)
    try:
        chunks, total = [], 0
        want = min(st.st_size, max_bytes) + 1  # one read of the size seen; +1 to see growth
        while True:
            chunk = os.read(fd, want)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise UnsafeFile(path, f"{what} size exceeds the limit of {max_bytes:,} bytes")
            if total == st.st_size and len(chunk) < want:
                break  # a short read of the size seen: the end (no second read to see it)
            want = min(_CHUNK, max_bytes + 1 - total)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    finally:
        os.close(fd)


def same_bytes(path: Path, size: int, sha256: str, *, root: Path,
               copy_to: Path | None = None) -> bool:
    """True when ``path`` is a regular file inside ``root`` of ``size`` bytes whose SHA-256
    is ``sha256`` (a link, a FIFO or a file of another size never is). With ``copy_to``
    (a new file in a folder of corpuspack's own, see :func:`create_file`), its bytes are
    copied there as they are hashed, fsynced; nothing is left there when the answer is
    False."""
    import hashlib

    if os.path.islink(path):
        return False
    out: BinaryIO | None = None
    same = False
    try:
        with open_read(path, root=root) as fh:
            if os.fstat(fh.fileno()).st_size != size:
                return False
            digest = hashlib.sha256()
            out = create_file(copy_to) if copy_to is not None else None
            seen = 0
            while seen <= size and (chunk := fh.read(_CHUNK)):
                digest.update(chunk)
                seen += len(chunk)
                if out is not None:
                    out.write(chunk)
            same = seen == size and digest.hexdigest() == sha256
            if same and out is not None:
                out.flush()
                os.fsync(out.fileno())
    except (UnsafeFile, OSError):
        same = False
    finally:
        if out is not None:
            out.close()
            if not same and copy_to is not None:
                os.unlink(copy_to)
    return same


def _check_target(path: Path) -> os.stat_result | None:
    """The target's lstat, refusing links and non-regular files (None: it does not exist)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeFile(path, "is a symbolic link: corpuspack does not write through links "
                         "(replace it with a regular file)")
    if not stat.S_ISREG(st.st_mode):
        raise UnsafeFile(path, "is not a regular file: not replacing it")
    return st


def replace_file(path: Path, data: bytes, *, root: Path | None = None) -> None:
    """Write ``data`` to ``path`` atomically, never through a symbolic link.

    ``path``'s folder must exist (and lie inside ``root`` when given); an existing target
    must be a regular file, whose permission bits the new file keeps.
    """
    parent = path.parent
    if root is not None and not is_within(parent, root):
        raise UnsafeFile(path, f"lies outside {root} (through a symbolic link)")
    st = _check_target(path)
    fd, tmp = tempfile.mkstemp(prefix=f".corpuspack-tmp-{path.name[:40]}-", dir=parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, stat.S_IMODE(st.st_mode) if st else 0o666 & ~_umask())
        _check_target(path)  # still not a link: os.replace would replace a link anyway
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def create_file(path: Path) -> BinaryIO:
    """A new file for writing, in a folder of corpuspack's own: fails if anything (a file,
    a link) is already there."""
    fd = os.open(path, _CREATE_FLAGS, 0o666)
    return os.fdopen(fd, "wb")


def write_new(path: Path, data: bytes) -> None:
    """Write a new file (see :func:`create_file`) and fsync it."""
    with create_file(path) as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def make_own_dir(parent: Path, prefix: str) -> Path:
    """A new folder ``parent/<prefix><random>`` carrying a marker of this process."""
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    os.chmod(path, 0o777 & ~_umask())  # mkdtemp makes it 0700: it becomes a data folder
    write_new(path / OWN_MARKER, orjson.dumps({"pid": os.getpid(),
                                               "host": socket.gethostname()}))
    return path


def owner_alive(path: Path) -> bool | None:
    """Whether the process that made a folder of ours still runs (None: no marker, or
    made on another host, so unknown)."""
    try:
        info = orjson.loads(read_bytes(path / OWN_MARKER, root=path, max_bytes=4096))
        pid, host = int(info["pid"]), str(info["host"])
    except (CorpusError, orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None
    if host != socket.gethostname():
        return None
    return pid_alive(pid)


def pid_alive(pid: int) -> bool:
    """True when a process with this id exists."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def is_own_dir(path: Path) -> bool:
    """True for a real folder (not a link) carrying corpuspack's marker."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    return stat.S_ISDIR(st.st_mode) and os.path.isfile(path / OWN_MARKER) and not \
        os.path.islink(path / OWN_MARKER)


def remove_own_dir(path: Path) -> None:
    """Remove a folder corpuspack made (see :func:`make_own_dir`); anything else is left.

    Links inside are removed, never followed (``shutil.rmtree``'s fd-based walk).
    """
    if is_own_dir(path):
        shutil.rmtree(path, ignore_errors=True)
