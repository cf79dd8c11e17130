"""Waiting for an exclusive `flock`: the primitive behind the writer lock (lock.py) and the open
lock (chroma.py). The kernel drops a flock when its file is closed or its process dies."""

from __future__ import annotations

import time
from typing import Callable

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX
    fcntl = None


class NoLocks(OSError):
    """The filesystem offers no file locks (ENOLCK, EOPNOTSUPP: some NFS, FUSE and SMB mounts)."""


def try_lock(fd: int) -> bool:
    """Take an exclusive lock on `fd` without waiting: True when taken, False while another holds it.

    NoLocks goes up to the caller, which decides between failing and going on unlocked.
    """
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    except OSError as exc:
        raise NoLocks(exc.errno, exc.strerror or str(exc)) from None


def wait_lock(fd: int, seconds: float, poll: float, between: Callable[[], None] | None = None) -> bool:
    """Try to lock `fd` until it is taken (True) or `seconds` have passed (False).

    `between()` runs after each failed try, before the deadline is checked (to cancel the wait
    it raises: a cancelled wait is never reported as a timeout).
    """
    deadline = time.monotonic() + seconds
    while not try_lock(fd):
        if between is not None:
            between()
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(poll, left))
    return True
