"""ingest/store/flock.py: the flock wait behind the writer lock and the open lock."""

from __future__ import annotations

import errno
import fcntl
import os
import time

import pytest

from ingest.store.flock import NoLocks, try_lock, wait_lock


@pytest.fixture
def fds(tmp_path):
    """Two open files of one lock path: flock excludes them from each other, even in one process."""
    path = tmp_path / "x.lock"
    a = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    b = os.open(path, os.O_RDWR)
    yield a, b
    os.close(a)
    os.close(b)


def test_a_free_lock_is_taken_at_once(fds):
    a, b = fds
    assert wait_lock(a, 0.0, 0.05) is True
    assert try_lock(b) is False  # held by a


def test_a_held_lock_is_waited_for_until_the_deadline(fds):
    a, b = fds
    assert try_lock(a)
    calls = []
    started = time.monotonic()
    assert wait_lock(b, 0.3, 0.05, between=lambda: calls.append(1)) is False
    assert 0.3 <= time.monotonic() - started < 1.0
    assert len(calls) >= 3  # once after every failed try


def test_between_runs_before_the_deadline_so_a_cancel_is_not_a_timeout(fds):
    a, b = fds
    assert try_lock(a)

    class Cancelled(Exception):
        pass

    def cancel():
        raise Cancelled

    with pytest.raises(Cancelled):
        wait_lock(b, 0.0, 0.05, between=cancel)


def test_a_lock_let_go_while_waiting_is_taken(fds):
    a, b = fds
    assert try_lock(a)
    tries = []

    def let_go():
        tries.append(1)
        if len(tries) == 2:
            fcntl.flock(a, fcntl.LOCK_UN)

    assert wait_lock(b, 5.0, 0.01, between=let_go) is True


def test_a_filesystem_without_locks_is_said_so(fds, monkeypatch):
    def no_locks(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with pytest.raises(NoLocks) as info:
        wait_lock(fds[0], 1.0, 0.05)
    assert info.value.errno == errno.ENOLCK
