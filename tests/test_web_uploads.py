"""Uploads from the chat page, without a server: the record and size caps, one-line errors naming
the file, progress counts, and a cancel between batches that leaves the index consistent."""

from __future__ import annotations

import json
import threading

import pytest

from assistant.web.uploads import UploadJob, UploadLimits, received_by, refusal, upload_paths
from conftest import make_settings, write_jsonl
from ingest.store import PaperIndex


def papers(n: int, topic: str = "toads") -> list[dict]:
    return [{"title": f"Paper {i} about {topic}", "abstract": f"We count {topic} number {i} in wet meadows at night."}
            for i in range(n)]


@pytest.fixture
def index(tmp_path):
    return PaperIndex(make_settings(tmp_path / "index"))


def job(index, files, max_records=20_000, max_mb=50, batch=64) -> UploadJob:
    return UploadJob(index, [(str(p), p.name) for p in files], UploadLimits(max_mb=max_mb, max_records=max_records),
                     threading.Lock(), batch=batch)


def test_a_file_over_the_record_cap_is_refused_before_embedding(index, tmp_path, monkeypatch):
    import ingest.pipeline

    embedded = []
    monkeypatch.setattr(ingest.pipeline, "ingest_papers", lambda papers, *a, **k: embedded.append(papers))
    small = write_jsonl(tmp_path / "small.jsonl", papers(3))
    big = write_jsonl(tmp_path / "big.jsonl", papers(8, "newts"))
    done = job(index, [small, big], max_records=10).run()
    assert [len(b) for b in embedded] == [3]  # the big file never reached the embedder
    status = done.status_html()
    assert ("big.jsonl: 8 records is over the limit of 10 records per upload (3 already in this upload); "
            "nothing from it was added") in status
    assert status.count('class="ap-err"') == 1 and "Traceback" not in status


def test_size_cap_and_bad_records_name_the_uploaded_file(index, tmp_path):
    big = tmp_path / "huge.jsonl"
    big.write_bytes(b"x" * (1024 * 1024 + 1))
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(json.dumps(papers(1)[0]) + "\n" + json.dumps({"title": "No abstract here"}) + "\n")
    done = job(index, [big, mixed], max_mb=1).run()
    status = done.status_html()
    assert "huge.jsonl: 1.0 MB is over the 1 MB upload limit" in status
    assert "mixed.jsonl:2:" in status and "abstract" in status  # the rejected record, by file and line
    assert "1 paper added" in status and "The index now holds 1 papers" in status
    assert done.report.added == 1 and index.needs_commit() is None


def test_progress_counts_then_cancel_between_batches_keeps_the_index_consistent(index, tmp_path, monkeypatch):
    import ingest.pipeline

    real = ingest.pipeline.ingest_papers
    seen: list[str] = []

    def ingest_then_cancel(batch, *args, **kwargs):
        real(batch, *args, **kwargs)
        seen.append(running.status_html())
        running.cancel()  # as a Cancel click during the first batch would

    monkeypatch.setattr(ingest.pipeline, "ingest_papers", ingest_then_cancel)
    f = write_jsonl(tmp_path / "many.jsonl", papers(10))
    running = job(index, [f], batch=4)
    running.run()
    assert "Embedding <b>many.jsonl</b> (1/1): 0 of 10 papers" in seen[0]
    assert len(seen) == 1 and running.report.added == 4  # stopped before the second batch
    status = running.status_html()
    assert "Cancelled" in status and "4 of 10 papers processed" in status and "4 papers added" in status
    # committed: the side index (BM25, stats) holds exactly what Chroma holds
    assert index.needs_commit() is None and index.stats()["papers_total"] == 4

    monkeypatch.setattr(ingest.pipeline, "ingest_papers", real)
    again = job(index, [f], batch=4).run()  # the same file again completes it
    assert (again.report.added, again.report.unchanged) == (6, 4)
    assert index.stats()["papers_total"] == 10


def test_uploads_wait_for_each_other_and_report_their_progress(index, tmp_path):
    f = write_jsonl(tmp_path / "p.jsonl", papers(6))
    running = job(index, [f], batch=2)
    with running._lock:  # another upload is writing
        running.start()
        assert not running.wait(0.3) and "Waiting for another upload to finish" in running.status_html()
    assert running.wait(120)
    assert "6 papers added" in running.status_html() and running.progress.papers_done == 6


def test_only_files_the_upload_route_received_are_accepted(tmp_path, monkeypatch):
    from gradio.utils import get_upload_folder

    folder = tmp_path / "gradio-cache"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(folder))
    assert get_upload_folder() == str(folder)
    received = folder / "abc" / "mine.jsonl"
    planted = folder / "def" / "planted.jsonl"  # in the cache, but not through this page's upload route
    outside = tmp_path / "secret.csv"
    for p in (received, planted, outside):
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x\n")
    link = folder / "abc" / "link.csv"
    link.symlink_to(outside)

    class Demo:
        upload_file_set = {str(received), str(link)}

    ok = received_by(Demo())
    assert ok(str(received))
    assert not ok(str(planted)) and not ok(str(outside)) and not ok("/etc/hostname")
    assert not ok(str(link))  # listed, but it leads outside the cache
    assert not ok(str(folder / "abc"))  # a directory
    assert not received_by(object())(str(received))  # no record of uploads: refuse everything
    assert refusal("/etc/passwd") == "passwd: refused: only files uploaded through this page can be added"
    assert upload_paths(["/a", None, type("F", (), {"path": "/b"})()]) == ["/a", "/b"]


def test_records_past_the_cap_are_counted_while_reading_never_kept(index, tmp_path):
    """A file of many small records over the cap: refused with its exact count, and the papers past
    the cap were never held (peak memory stays far below reading the whole file)."""
    import gc
    import tracemalloc

    from ingest.readers import read_file

    f = write_jsonl(tmp_path / "swarm.jsonl", papers(12_000, "midges"))
    capped = job(index, [f], max_records=10)
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    whole, _ = read_file(f)
    peak_all = tracemalloc.get_traced_memory()[1] - base
    del whole
    gc.collect()
    base, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    assert capped._read(str(f), "swarm.jsonl") == []
    peak_capped = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    assert capped.progress.errors == ["swarm.jsonl: 12,000 records is over the limit of 10 records per upload; "
                                      "nothing from it was added (split it, or use `askpapers ingest`)"]
    assert peak_capped < peak_all / 2, (peak_capped, peak_all)  # the reader's buffers, no papers


def test_an_upload_waits_for_another_process_writing_the_index(index, tmp_path):
    """An `askpapers ingest` (here: the lock held elsewhere) makes an upload wait and say so; a Cancel
    during the wait ends it with nothing written."""
    from ingest.store.lock import ingest_lock

    f = write_jsonl(tmp_path / "w.jsonl", papers(2))
    held, release = threading.Event(), threading.Event()

    def other_writer() -> None:
        with ingest_lock(index.settings):
            held.set()
            release.wait(30)

    t = threading.Thread(target=other_writer)
    t.start()
    assert held.wait(10)
    waiting = job(index, [f]).start()
    deadline = 50
    while "Waiting for another ingest into" not in waiting.status_html() and deadline:
        waiting.wait(0.1)
        deadline -= 1
    assert f"Waiting for another ingest into {index.settings.index_dir}" in waiting.status_html()
    waiting.cancel()
    assert waiting.wait(10) and waiting.report.added == 0
    release.set()
    t.join(10)
    again = job(index, [f]).run()
    assert again.report.added == 2


def test_an_uploaded_file_ingested_again_is_unchanged_and_a_corrected_one_updates(index, tmp_path):
    """An upload keeps each record's digest as `askpapers ingest` does: the same file ingested
    later embeds nothing, and corrected authors reach the index without embedding."""
    from ingest.pipeline import ingest

    rows = [dict(r, id=f"2402.{i:05d}", authors="Ann Toad") for i, r in enumerate(papers(5))]
    f = write_jsonl(tmp_path / "toads.jsonl", rows)
    done = job(index, [f], batch=2).run()  # three batches, one run
    assert (done.report.added, done.report.papers_in_batch) == (5, 5)
    again = ingest([f], index=index, progress=False)  # the upload's bare file name becomes the file's path
    assert (again.sources_updated, again.chunks_embedded) == (5, 0), again.summary()
    assert index.stats()["sources"] == {str(f.resolve()): 5}
    again = ingest([f], index=index, progress=False)
    assert (again.unchanged, again.chunks_embedded) == (5, 0), again.summary()
    write_jsonl(f, [dict(rows[0], authors="Ann Toad, Bo Frog")] + rows[1:])
    fixed = ingest([f], index=index, progress=False)
    assert (fixed.updated, fixed.unchanged, fixed.chunks_embedded) == (1, 4, 0), fixed.summary()
    assert index.side.record("arxiv:2402.00000")["authors"] == ["Ann Toad", "Bo Frog"]


def test_an_encoding_notice_is_a_note_not_a_problem(index, tmp_path):
    """As the CLI prints "read as utf-16" without counting it: the page lists it as a note."""
    utf16 = tmp_path / "utf16.jsonl"
    utf16.write_text(json.dumps(papers(1)[0]) + "\n", encoding="utf-16")
    bad = write_jsonl(tmp_path / "bad.jsonl", [{"title": "No abstract here"}])
    status = job(index, [utf16, bad]).run().status_html()
    assert "1 paper added" in status and "read as utf-16" in status
    assert "1 problem:" in status and status.count('class="ap-err"') == 1  # only bad.jsonl's record
    assert status.count('class="ap-note"') == 1 and "Note:" in status
    alone = job(index, [utf16]).run().status_html()
    assert "problem" not in alone and "ap-err" not in alone and "read as utf-16" in alone
