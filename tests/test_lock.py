"""The writer lock: a second writer waits with one line naming the holder's pid, gives up after the
set wait with one line, a cancelled wait ends at once, the same thread may re-enter, readers never
take it; and two real `ingest` processes on one index end as a sequential run does (slow)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from conftest import make_settings, write_jsonl
from ingest.store.lock import IngestLockCancelled, IngestLockTimeout, holder, ingest_lock, lock_path

HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
os.ftruncate(fd, 0); os.pwrite(fd, f"{os.getpid()}\\n".encode(), 0)
print("HELD", flush=True)
sys.stdin.readline()
"""


def test_second_writer_waits_names_the_holder_then_times_out(tmp_path):
    settings = make_settings(tmp_path / "idx", ingest_lock_timeout=0.6)
    path = lock_path(settings)
    path.parent.mkdir(parents=True)
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "HELD"
        lines: list[str] = []
        started = time.monotonic()
        with pytest.raises(IngestLockTimeout) as err:
            with ingest_lock(settings, on_wait=lines.append):
                pytest.fail("entered while another process held the lock")
        waited = time.monotonic() - started
        assert 0.5 < waited < 5
        assert lines == [f"askpapers: waiting for another ingest into {tmp_path / 'idx'} (pid {proc.pid}) to finish…"]
        msg = str(err.value)
        assert "\n" not in msg and f"(pid {proc.pid}) is still running after 0.6 s" in msg
        assert "ASKPAPERS_INGEST_LOCK_TIMEOUT" in msg
        # the holder goes away (the kernel drops its lock): the waiter gets in
        proc.stdin.write("\n")
        proc.stdin.flush()
        proc.wait(10)
        with ingest_lock(settings, timeout=5):
            assert holder(path) == os.getpid()
        assert holder(path) is None  # released: no pid left behind
    finally:
        proc.kill()
        proc.wait()


def test_threads_exclude_each_other_reenter_and_cancel(tmp_path):
    settings = make_settings(tmp_path / "idx", ingest_lock_timeout=30)
    order: list[str] = []
    entered = threading.Event()
    release = threading.Event()

    t = _hold_in_thread(settings, entered, release, reenter=lambda: order.append("first"))
    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    with pytest.raises(IngestLockCancelled):
        with ingest_lock(settings, on_wait=lambda line: order.append("waiting"), cancelled=cancel.is_set):
            pass
    with_lock_done = threading.Event()

    def second() -> None:
        with ingest_lock(settings):
            order.append("second")
        with_lock_done.set()

    waiter = threading.Thread(target=second)
    waiter.start()
    time.sleep(0.4)
    assert order == ["first", "waiting"]  # still waiting for the first thread
    release.set()
    t.join(10)
    assert with_lock_done.wait(10) and order == ["first", "waiting", "second"]


def test_zero_wait_fails_at_once(tmp_path):
    settings = make_settings(tmp_path / "idx", ingest_lock_timeout=0)
    done = threading.Event()
    t = _hold_in_thread(settings, threading.Event(), done)
    started = time.monotonic()
    with pytest.raises(IngestLockTimeout):
        with ingest_lock(settings):
            pass
    assert time.monotonic() - started < 1
    done.set()
    t.join(10)


def _library(index) -> list:
    return sorted((p["paper_id"], p["title"], sorted(s["name"] for s in p.get("sources", [])))
                  for p in index.papers())


@pytest.mark.slow
def test_two_concurrent_ingest_processes_match_a_sequential_run(tmp_path):
    from ingest.pipeline import ingest
    from ingest.store import PaperIndex

    def recs(topic: str, ids: range) -> list[dict]:
        return [{"id": f"2301.{i:05d}", "title": f"Paper {i} on {topic}",
                 "abstract": f"We study {topic} in setting {i}. " + "It works well in practice. " * (i % 3)} for i in ids]

    a = write_jsonl(tmp_path / "a.jsonl", recs("owls", range(0, 60)))
    b = write_jsonl(tmp_path / "b.jsonl", recs("owls", range(40, 100)))  # 20 papers in both files
    seq = PaperIndex(make_settings(tmp_path / "seq"))
    ingest([a], index=seq, progress=False)
    ingest([b], index=seq, progress=False)

    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKPAPERS_")}
    env.update(ASKPAPERS_INDEX_DIR=str(tmp_path / "par"), HF_HUB_OFFLINE="1")
    exe = os.path.join(os.path.dirname(sys.executable), "askpapers")
    procs = [subprocess.Popen([exe, "ingest", str(f), "--no-progress"], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for f in (a, b)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs[1][1][-3000:] + outs[0][1][-2000:]
    stderr = "".join(err for _out, err in outs)
    assert "Traceback" not in stderr
    waited = [line for line in stderr.splitlines() if "waiting for another ingest" in line]
    assert len(waited) <= 1  # the later one waited (unless the first had finished already)

    par = PaperIndex(make_settings(tmp_path / "par"))
    assert par.needs_commit() is None
    assert _library(par) == _library(seq)
    assert len(_library(par)) == 100
    assert par.stats()["chunks_total"] == seq.stats()["chunks_total"]
    assert sorted(par.side.table.ids) == sorted(seq.side.table.ids)


def _hold_in_thread(settings, entered: threading.Event, release: threading.Event, reenter=None) -> threading.Thread:
    """A thread holding the lock (taken twice when `reenter` is given: re-entry must not wait,
    then `reenter()` runs inside) until `release` is set; returns once it holds the lock."""

    def hold() -> None:
        with ingest_lock(settings):
            if reenter is not None:
                with ingest_lock(settings):
                    reenter()
            entered.set()
            release.wait(10)

    t = threading.Thread(target=hold)
    t.start()
    assert entered.wait(10)
    return t


def test_a_filesystem_without_locks_refuses_writes_in_one_line(tmp_path, monkeypatch):
    """flock failing for another reason than "held" (ENOLCK on some NFS mounts): writing without
    the lock could corrupt the index, so the writer stops with one line naming the lock file."""
    import fcntl

    from ingest.store.lock import IngestLockUnavailable

    def no_locks(fd, op):
        raise OSError(37, "No locks available")

    settings = make_settings(tmp_path / "idx")
    monkeypatch.setattr(fcntl, "flock", no_locks)
    with pytest.raises(IngestLockUnavailable, match=r"cannot lock .*ingest.lock for writing \(No locks available\)"):
        with ingest_lock(settings):
            pass
