"""One writer per index: an inter-process lock held by every ingest, removal and upload.

The side index's journal and manifest and the pending-commit mark assume a single writer, so a
second writer waits (saying so in one line) for at most `settings.ingest_lock_timeout` seconds,
then fails with one line (`IngestLockTimeout`). Readers never take the lock.

The lock is `fcntl.flock` on `ingest.lock` in the index directory (embedded Chroma), or in the
local side-index directory when the index is on a `chroma run` server (so it covers the writers
of one machine). The kernel drops it when its process dies: a killed ingest never leaves it
held. It is held per open file, so two threads of one process exclude each other too; the same
thread may take it again (re-entrant). Without `fcntl` (Windows) it is a no-op.
"""

from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from .chroma import IndexError_
from .flock import NoLocks, fcntl, wait_lock
from .location import make_index_dir

LOCK_NAME = "ingest.lock"
POLL_SECONDS = 0.2

_held: dict[str, tuple[int, int]] = {}  # lock path -> (owning thread id, depth)
_held_guard = threading.Lock()


class IngestLockTimeout(IndexError_):
    """Another writer held the index longer than the wait allowed (one line)."""


class IngestLockCancelled(IndexError_):
    """The wait for the lock was cancelled by the caller."""


def lock_path(settings) -> Path:
    """Where the lock lives: the index directory, or the local side-index directory in server mode."""
    base = Path(settings.side_index_dir) if settings.chroma_url else Path(settings.index_dir)
    return base / LOCK_NAME


def _where(settings) -> str:
    return f"{settings.chroma_url} ({settings.collection})" if settings.chroma_url else str(settings.index_dir)


def holder(path: Path) -> int | None:
    """The pid written by the process holding the lock (None when unknown)."""
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


@contextmanager
def ingest_lock(settings, timeout: float | None = None, on_wait: Callable[[str], None] | None = None,
                cancelled: Callable[[], bool] | None = None) -> Iterator[None]:
    """Hold the index's writer lock for the `with` block.

    When another writer holds it: `on_wait(line)` once, then wait up to `timeout` seconds
    (default `settings.ingest_lock_timeout`) and raise `IngestLockTimeout`; `cancelled()`
    returning True ends the wait with `IngestLockCancelled`.
    """
    if fcntl is None:
        yield
        return
    path = lock_path(settings)
    key = os.path.abspath(path)
    me = threading.get_ident()
    with _held_guard:
        owner = _held.get(key)
        if owner is not None and owner[0] == me:
            _held[key] = (me, owner[1] + 1)
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _held_guard:
                _held[key] = (me, _held[key][1] - 1)
        return
    timeout = float(getattr(settings, "ingest_lock_timeout", 600.0) if timeout is None else timeout)
    make_index_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
    try:
        _acquire(fd, path, settings, timeout, on_wait, cancelled)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        with _held_guard:
            _held[key] = (me, 1)
        try:
            yield
        finally:
            with _held_guard:
                _held.pop(key, None)
            try:
                os.ftruncate(fd, 0)  # a waiter must not read this pid after we let go
            except OSError:
                pass
    finally:
        os.close(fd)  # releases the flock


def say(line: str) -> None:
    """What a writer does with the lock's waiting line by default: one line on stderr."""
    print(line, file=sys.stderr, flush=True)


@contextmanager
def exclusive_writer(index, on_wait: Callable[[str], None] | None = say,
                     cancelled: Callable[[], bool] | None = None) -> Iterator[None]:
    """Write `index` (a PaperIndex) alone: hold its writer lock, then refresh it, as another writer
    may have committed while this one waited."""
    with ingest_lock(index.settings, on_wait=on_wait, cancelled=cancelled):
        index.refresh()
        yield


def _acquire(fd: int, path: Path, settings, timeout: float, on_wait, cancelled) -> None:
    if _try(fd, path):
        return
    pid = holder(path)
    who = [f" (pid {pid})" if pid else ""]
    if on_wait is not None:
        on_wait(f"askpapers: waiting for another ingest into {_where(settings)}{who[0]} to finish…")

    def between() -> None:
        if cancelled is not None and cancelled():
            raise IngestLockCancelled(f"cancelled while waiting for another ingest into {_where(settings)}{who[0]}")
        now = holder(path)
        if now:
            who[0] = f" (pid {now})"

    if not _try(fd, path, timeout, between):
        raise IngestLockTimeout(
            f"another ingest into {_where(settings)}{who[0]} is still running after {timeout:g} s; "
            "run this again when it has finished (ASKPAPERS_INGEST_LOCK_TIMEOUT sets the wait)")


class IngestLockUnavailable(IndexError_):
    """The index's filesystem offers no file locks (some NFS, FUSE, SMB mounts): one line."""


def _try(fd: int, path: Path, seconds: float = 0.0, between=None) -> bool:
    try:
        return wait_lock(fd, seconds, POLL_SECONDS, between)
    except NoLocks as exc:  # ENOLCK, EOPNOTSUPP...: writing without the lock could corrupt the index
        raise IngestLockUnavailable(
            f"cannot lock {path} for writing ({exc.strerror or exc}): the filesystem "
            "offers no file locks; put the index on a local disk (ASKPAPERS_INDEX_DIR) to add or remove papers"
        ) from None
