"""The index opener: embedded and server mode, and readers that see other processes' ingests."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import free_port, make_settings, write_jsonl
from assistant import Assistant
from ingest.store import IndexError_, PaperIndex

CLI = [sys.executable, "-m", "assistant.cli"]


def _ingest_cli(*args: str) -> dict:
    out = subprocess.run(CLI + ["ingest", "--no-progress", "--json", *args], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _papers(prefix: str, n: int) -> list[dict]:
    return [{"title": f"{prefix} study number {i} of glacier {prefix.lower()} dynamics",
             "abstract": f"We measure {prefix.lower()} melt rates in glacier {i} with radar and find a {i}% change."}
            for i in range(n)]


@pytest.mark.slow
def test_server_mode_ingest_search_and_stale_reader(chroma_server, tmp_path):
    first = write_jsonl(tmp_path / "first.jsonl", _papers("Alpine", 3))
    summary = _ingest_cli(str(first), "--chroma-url", chroma_server, "--index-dir", str(tmp_path / "cache-w"))
    assert summary["papers_total"] == 3
    # a long-running reader in this process, with its own local BM25 cache
    reader = Assistant(chroma_url=chroma_server, cache_dir=tmp_path / "cache-r")
    assert "Alpine" in reader.search("alpine glacier melt", k=1)[0].title
    assert not any("Arctic" in h.title for h in reader.search("arctic glacier melt", k=10))

    second = write_jsonl(tmp_path / "second.jsonl", _papers("Arctic", 2))
    assert _ingest_cli(str(second), "--chroma-url", chroma_server, "--index-dir", str(tmp_path / "cache-w"))[
        "papers_total"] == 5
    hits = reader.search("arctic glacier melt", k=2)  # the very next query sees them
    assert [h.title.split()[0] for h in hits] == ["Arctic", "Arctic"]
    assert reader.stats()["papers_total"] == 5


@pytest.mark.slow
def test_embedded_reader_sees_other_process_ingest(tmp_path):
    index_dir = tmp_path / "idx"
    _ingest_cli(str(write_jsonl(tmp_path / "a.jsonl", _papers("Alpine", 3))), "--index-dir", str(index_dir))
    reader = Assistant(index_dir=index_dir)
    assert len(reader.search("glacier", k=10)) == 3
    _ingest_cli(str(write_jsonl(tmp_path / "b.jsonl", _papers("Arctic", 2))), "--index-dir", str(index_dir))
    hits = reader.search("arctic glacier radar", k=10)
    assert len(hits) == 5
    assert hits[0].title.startswith("Arctic")
    # dense retrieval itself (not only BM25) sees the new vectors
    dense = reader.index.dense(reader.index.embed_model.get_query_embedding("arctic glacier"), 10)
    assert len(dense) == 5


def test_unreachable_server_is_one_line_error(tmp_path):
    with pytest.raises(IndexError_, match="cannot reach the Chroma server"):
        PaperIndex(make_settings(tmp_path, chroma_url=f"http://127.0.0.1:{free_port()}"))
    out = subprocess.run(CLI + ["stats", "--chroma-url", f"http://127.0.0.1:{free_port()}"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert out.stderr.strip().count("\n") == 0 and "cannot reach the Chroma server" in out.stderr



def test_opening_waits_while_another_process_holds_the_lock(tmp_path, monkeypatch):
    """SQLite answers "database is locked" at once (no busy wait) when a connection that read
    wants to write while another process commits: opening the index tries again, and an index
    locked for good is one line, not a traceback."""
    import chromadb
    from chromadb.errors import InternalError

    from ingest.store import chroma

    from chromadb.api.rust import RustBindingsAPI

    real, calls = RustBindingsAPI.start, []

    def locked_twice(self):  # where chromadb opens SQLite (its Rust bindings), as in the CI failure
        calls.append(1)
        if len(calls) <= 2:
            raise InternalError("Query error: Database error: error returned from database: (code: 5) database is locked")
        return real(self)

    monkeypatch.setattr(RustBindingsAPI, "start", locked_twice)
    index = PaperIndex(make_settings(tmp_path / "a"))  # (a failed start must not leave a dead system cached)
    assert len(calls) == 3 and index.chroma.count() == 0
    monkeypatch.setattr(RustBindingsAPI, "start", real)

    def locked(*args, **kw):
        calls.append(1)
        raise InternalError("Query error: Database error: error returned from database: (code: 5) database is locked")

    monkeypatch.setattr(chroma, "OPEN_PATIENCE", 0.3)
    calls.clear()
    monkeypatch.setattr(chromadb, "PersistentClient", locked)
    with pytest.raises(IndexError_, match=r"stayed locked by another process for 0 s") as err:
        PaperIndex(make_settings(tmp_path / "b"))
    assert "\n" not in str(err.value) and len(calls) > 2

    def broken(*args, **kw):
        raise InternalError("Query error: no such table: segments")

    monkeypatch.setattr(chromadb, "PersistentClient", broken)
    with pytest.raises(InternalError, match="no such table"):  # only a lock is retried
        PaperIndex(make_settings(tmp_path / "c"))


def test_processes_open_an_index_one_at_a_time(tmp_path, monkeypatch):
    """Two processes creating one new index at once made chromadb fail ("table collections already
    exists"): opening holds a lock in the index directory, so the second waits for the first;
    a lock held for good is one line."""
    import fcntl
    import os
    import threading
    import time

    from ingest.store import chroma

    where = tmp_path / "idx"
    where.mkdir()
    fd = os.open(where / chroma.OPEN_LOCK, os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)  # another process, opening
    threading.Timer(0.8, lambda: os.close(fd)).start()
    started = time.monotonic()
    index = PaperIndex(make_settings(where))
    assert time.monotonic() - started >= 0.7 and index.chroma.count() == 0

    def no_locks(fd, op):
        raise OSError(37, "No locks available")  # ENOLCK, as on some NFS mounts

    with monkeypatch.context() as m:  # a filesystem without locks opens as it did before the lock
        m.setattr(fcntl, "flock", no_locks)
        assert PaperIndex(make_settings(tmp_path / "nolocks")).chroma.count() == 0

    fd = os.open(where / chroma.OPEN_LOCK, os.O_RDWR)
    fcntl.flock(fd, fcntl.LOCK_EX)
    monkeypatch.setattr(chroma, "OPEN_PATIENCE", 0.3)
    try:
        with pytest.raises(IndexError_, match="another process has been opening the index"):
            PaperIndex(make_settings(where))
    finally:
        os.close(fd)

def test_in_process_ingest_is_visible_to_the_next_dense_query(tmp_path):
    """An upload through the same Assistant: its vectors must be found right away (this missed
    about 1 time in 4 before commit() reopened the embedded client)."""
    reader = Assistant(index_dir=tmp_path / "idx")
    reader.ingest([write_jsonl(tmp_path / "base.jsonl", _papers("Alpine", 3))])
    for round_ in range(4):
        name = f"Zorblax{round_}"
        f = write_jsonl(tmp_path / f"{name}.jsonl", [{
            "title": f"{name} dots track axolotl limb regeneration",
            "abstract": f"We introduce {name} dots, fluorescent markers that follow axolotl limbs for forty days."}])
        reader.search("alpine glacier melt", k=1)
        reader.ingest([f])
        vector = reader.index.embed_model.get_query_embedding(f"What do {name} dots track?")
        top = reader.index.dense(vector, 3)[0][0]
        assert top.startswith("title:"), top
        assert reader.search(f"What do {name} dots track?", k=1)[0].title.startswith(name)
        assert reader.search(f"What do {name} dots track?", k=1)[0].dense_score > 0.3


def test_chromadb_private_system_cache_is_as_askpapers_expects(tmp_path):
    """askpapers touches one private attribute of chromadb (ingest/store/chroma.py,
    `_forget_embedded_system`): the per-path system cache. This fails when chromadb changes it."""
    import chromadb
    from chromadb.api.shared_system_client import SharedSystemClient
    from chromadb.config import Settings as ChromaSettings

    from ingest.store.chroma import _embedded_system, _forget_embedded_system

    path = str(tmp_path / "db")
    first = chromadb.PersistentClient(path=path, settings=ChromaSettings(anonymized_telemetry=False))
    assert isinstance(SharedSystemClient._identifier_to_system, dict)
    assert path in SharedSystemClient._identifier_to_system  # keyed by the path askpapers passes
    system = SharedSystemClient._identifier_to_system[path]
    assert _embedded_system(path) is system
    assert chromadb.PersistentClient(path=path, settings=ChromaSettings(anonymized_telemetry=False))._system is system
    assert _forget_embedded_system(path) is system
    fresh = chromadb.PersistentClient(path=path, settings=ChromaSettings(anonymized_telemetry=False))
    assert fresh._system is not system  # the next client is a new one, which sees other writers
    assert first is not None
    system.stop()


def test_reopen_sees_another_clients_vectors(tmp_path, tiny_papers):
    """An index in this process stays stale for vectors another client wrote until it reopens."""
    from ingest.pipeline import ingest

    settings = make_settings(tmp_path / "idx")
    reader = PaperIndex(settings)
    reader.refresh()
    writer = PaperIndex(settings)
    writer.chroma.reopen()  # its own system, like another process
    ingest([write_jsonl(tmp_path / "p.jsonl", tiny_papers)], index=writer, progress=False)
    assert reader.refresh() is True  # a new generation: reloaded and reopened
    vector = reader.embed_model.get_query_embedding("solar wind turbulence")
    assert reader.dense(vector, 3)[0][0] == "arxiv:0704.0002#0"
    assert reader.stats()["papers_total"] == 3 and reader.index_stats().papers_total == 3


# ---------------------------------------------------------------------------- incremental commits
def _no_scan(*_args, **_kwargs):
    raise AssertionError("an incremental commit scanned the collection")


def test_commits_read_only_the_papers_their_ingest_touched(tmp_path, tiny_papers, monkeypatch):
    """Each commit adds a segment for the papers its journal names, fetched by id (no scan), and
    the result equals a side index rebuilt from the whole collection."""
    from test_side_index import _assert_same

    from ingest.pipeline import ingest
    from ingest.remove import remove_papers
    from ingest.store.sparse import SideIndex

    settings = make_settings(tmp_path / "idx")
    index = PaperIndex(settings)
    monkeypatch.setattr(index.chroma, "scan", _no_scan)
    ingest([write_jsonl(tmp_path / "a.jsonl", tiny_papers[:2])], index=index, progress=False)
    first = index.generation
    changed = dict(tiny_papers[0], abstract="A hypernetwork predicts embeddings of unseen tokens for glaciers.")
    ingest([write_jsonl(tmp_path / "b.jsonl", [changed, tiny_papers[2]])], index=index, progress=False)
    manifest = SideIndex.saved_manifest(tmp_path / "idx")
    assert manifest["parent"] == first and manifest["papers"] == 3  # made from the last commit's side index
    remove_papers(index, ["arxiv:0704.0002"])
    assert SideIndex.saved_manifest(tmp_path / "idx")["papers"] == 2
    assert not list((tmp_path / "idx" / "side-index").glob("journal-*"))
    monkeypatch.undo()

    rebuilt = index.rebuild_side_index(save=False)
    _assert_same(index.side, rebuilt)
    _assert_same(SideIndex.load(tmp_path / "idx"), rebuilt)
    assert index.side.record("arxiv:2401.00001")["abstract"] == changed["abstract"]
    assert index.side.record("arxiv:2401.00001")["passages"] == [changed["abstract"]]  # one chunk: the abstract


def test_a_commit_without_its_journal_rebuilds_from_a_scan(tmp_path, tiny_papers, monkeypatch):
    """The pending mark without a journal here (written from another machine, an older version):
    the commit cannot know what changed, so it rescans, and ends as a clean run."""
    from test_side_index import _assert_same

    from ingest.pipeline import ingest

    settings = make_settings(tmp_path / "idx")
    ingest([write_jsonl(tmp_path / "a.jsonl", tiny_papers[:2])], index=PaperIndex(settings), progress=False)

    def interrupt(point: str) -> None:
        if point == "before-commit":
            raise KeyboardInterrupt

    monkeypatch.setattr("ingest.pipeline.kill_point", interrupt)
    both = write_jsonl(tmp_path / "b.jsonl", tiny_papers)
    with pytest.raises(KeyboardInterrupt):
        ingest([both], index=PaperIndex(settings), progress=False)
    monkeypatch.undo()
    (journal,) = (tmp_path / "idx" / "side-index").glob("journal-*")
    journal.unlink()

    index = PaperIndex(settings)
    scans = []
    real_scan = index.chroma.scan
    monkeypatch.setattr(index.chroma, "scan", lambda include: scans.append(1) or real_scan(include))
    report = ingest([both], index=index, progress=False)
    assert scans and report.papers_total == 3
    assert index.needs_commit() is None
    _assert_same(index.side, index.rebuild_side_index(save=False))
