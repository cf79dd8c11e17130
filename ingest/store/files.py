"""Durable, atomic file operations for the side index (fsync before rename, a cross-process lock)."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path


def fsync_tree(directory: Path) -> None:
    """fsync every file under `directory` and the directories themselves (before the rename)."""
    for root, _dirs, files in os.walk(directory):
        for name in files:
            fd = os.open(os.path.join(root, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_dir(Path(root))


def fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def swap_lock(base: Path):
    """Serialise the two renames of a swap across processes (two savers would otherwise collide)."""
    import fcntl

    with open(base / ".side-lock", "a+b") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
