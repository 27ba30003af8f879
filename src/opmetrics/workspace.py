"""Scratch space and atomic output folders.

A results or reports folder is built in a hidden temporary sibling and renamed into place, so a
run that dies leaves either the previous complete folder or the new complete one, never a mix.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from opmetrics.errors import OutputError


@contextmanager
def scratch_dir(prefix: str = "opmetrics-") -> Iterator[Path]:
    """A private temporary folder, removed afterwards (CSV staging, engine spill)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def atomic_output_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary folder beside `target`; on success it replaces `target` atomically.

    The old folder (if any) is renamed aside first and removed only after the new one is in
    place, so at every instant `target` is either absent, the old folder or the new one.
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
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=parent))
    except OSError as exc:
        raise OutputError(f"cannot write here ({exc.strerror})", path=str(parent)) from None
    try:
        yield tmp
        _fsync_tree(tmp)
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=parent))
            os.rmdir(old)
            os.rename(target, old)
        os.rename(tmp, target)
        _fsync_dir(parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _sweep_leftovers(parent: Path, name: str) -> None:
    """Remove temporary folders a killed run left beside the target; restore an orphaned old one."""
    olds = sorted(parent.glob(f".{name}.old-*"))
    target = parent / name
    if not target.exists() and olds:
        os.rename(
            olds[-1], target
        )  # killed between the two renames: the old output is the complete one
        olds = olds[:-1]
    for p in [*parent.glob(f".{name}.tmp-*"), *olds]:
        shutil.rmtree(p, ignore_errors=True)


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
