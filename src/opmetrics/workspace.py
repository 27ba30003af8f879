"""Scratch space and atomic output folders.

A results or reports folder is built in a hidden temporary sibling and renamed into place, so a
run that dies leaves either the previous complete folder or the new complete one, never a mix.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import os
import re
import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opmetrics.errors import OutputError

# A scratch folder's name says which machine and process made it (`opmetrics-spill-h<host
# hash>-<pid>-<random>`), so that a later run can tell a folder whose process was killed - which
# never got to remove it, and may hold gigabytes of spill - from one still in use.
_SCRATCH_NAME = re.compile(
    r"^opmetrics-(?:[a-z]+-)?h(?P<host>[0-9a-f]{8})-(?P<pid>\d+)-[a-z0-9_]+$"
)
_swept = False


def _host_tag() -> str:
    return hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process
        return True
    return True


def remove_abandoned(base: Path | None = None) -> list[Path]:
    """Remove this user's scratch folders left by killed opmetrics processes on this machine.

    Only folders named by `make_scratch` count, made on this host, owned by this user, and whose
    process no longer exists; anything else in the temporary folder is left alone. POSIX only
    (elsewhere asking whether a process exists is not side-effect free).
    """
    if os.name != "posix":
        return []
    base = base or Path(tempfile.gettempdir())
    host, uid, removed = _host_tag(), os.getuid(), []
    try:
        entries = list(base.iterdir())
    except OSError:
        return []
    for p in entries:
        m = _SCRATCH_NAME.match(p.name)
        if m is None or m["host"] != host or int(m["pid"]) == os.getpid():
            continue
        try:
            if not p.is_dir() or p.is_symlink() or p.stat().st_uid != uid:
                continue
        except OSError:
            continue
        if not _alive(int(m["pid"])):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


def make_scratch(prefix: str = "opmetrics-") -> Path:
    """A new private temporary folder named for this host and process (see `remove_abandoned`,
    which runs the first time a process makes one)."""
    global _swept
    if not _swept:
        _swept = True
        remove_abandoned()
    return Path(tempfile.mkdtemp(prefix=f"{prefix}h{_host_tag()}-{os.getpid()}-"))


@contextmanager
def scratch_dir(prefix: str = "opmetrics-") -> Iterator[Path]:
    """A private temporary folder, removed afterwards (CSV staging, Typst work files)."""
    path = make_scratch(prefix)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def atomic_output_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary folder beside `target`; on success it replaces `target` atomically.

    Where the system can swap two paths in one step (Linux `renameat2(RENAME_EXCHANGE)`), the
    new folder and the old one trade places, so at every instant `target` is the complete old
    folder or the complete new one. Elsewhere the old folder is renamed aside first and removed
    only after the new one is in place: between the two renames `target` is briefly absent, and
    a run killed there has the old folder put back by the next run.
    """
    target = target.resolve()
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create folder ({exc.strerror})", path=str(parent)) from None
    if target.exists() and not target.is_dir():
        raise OutputError("exists and is not a folder", path=str(target))
    _sweep_leftovers(parent, target.name)
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-{os.getpid()}-", dir=parent))
    except OSError as exc:
        raise OutputError(f"cannot write here ({exc.strerror})", path=str(parent)) from None
    try:
        yield tmp
        _fsync_tree(tmp)
        old = None
        if target.exists() and _exchange(tmp, target):
            _fsync_dir(parent)
            shutil.rmtree(tmp, ignore_errors=True)  # now the old folder
            return
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-{os.getpid()}-", dir=parent))
            os.rmdir(old)
            os.rename(target, old)
        os.rename(tmp, target)
        _fsync_dir(parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically; False where the system or file system cannot."""
    global _renameat2
    if _renameat2 is None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            _renameat2 = getattr(libc, "renameat2", False)
        except OSError:
            _renameat2 = False
    if not _renameat2:
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = _renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False  # e.g. a file system without exchange: fall back to two renames
    raise OutputError(f"cannot replace ({os.strerror(err)})", path=str(b))


_renameat2: Any = None


def _sweep_leftovers(parent: Path, name: str) -> None:
    """Remove temporary folders a killed run left beside the target; restore an orphaned old one.

    Folders carry the id of the process writing them: those of a process still running (another
    run writing the same target at the same time) are left alone; the last run to finish wins.
    """
    olds = sorted(p for p in parent.glob(f".{name}.old-*") if not _writer_alive(p))
    target = parent / name
    if not target.exists() and olds:
        # killed between the two renames: the old output is the complete one
        os.rename(olds[-1], target)
        olds = olds[:-1]
    tmps = [p for p in parent.glob(f".{name}.tmp-*") if not _writer_alive(p)]
    for p in [*tmps, *olds]:
        shutil.rmtree(p, ignore_errors=True)


def _writer_alive(folder: Path) -> bool:
    """Whether the process that named this temporary folder is still running."""
    try:
        pid = int(folder.name.rsplit(".", 1)[-1].split("-")[1])
    except (IndexError, ValueError):
        return False  # no process id in the name: a folder of an older version
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync_tree(root: Path) -> None:
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            fd = os.open(os.path.join(dirpath, f), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(dirpath))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
