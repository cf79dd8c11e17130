"""Ingest pipeline: incremental, idempotent, crash-safe, one paper per id."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from conftest import SAMPLES, make_settings, write_jsonl
from ingest.pipeline import ingest
from ingest.store import ModelMismatchError, PaperIndex


def _index(tmp_path, **kw):
    return PaperIndex(make_settings(tmp_path / "index", **kw))


def _chunk_ids(index: PaperIndex) -> list[str]:
    return sorted(cid for cid, _m, _d, _v in index.scan(["metadatas"]))


def test_reingest_unchanged_embeds_nothing(tmp_path, tiny_papers):
    f = write_jsonl(tmp_path / "p.jsonl", tiny_papers)
    index = _index(tmp_path)
    first = ingest([f], index=index, progress=False)
    assert (first.added, first.unchanged, first.papers_total) == (3, 0, 3)
    before = _chunk_ids(index)
    generation = index.generation
    second = ingest([f], index=index, progress=False)
    assert (second.added, second.updated, second.unchanged, second.chunks_embedded) == (0, 0, 3, 0)
    assert _chunk_ids(index) == before
    assert index.generation == generation  # nothing changed, nothing for readers to reload


def test_changed_abstract_replaces_its_chunks(tmp_path, tiny_papers):
    f = write_jsonl(tmp_path / "p.jsonl", tiny_papers)
    index = _index(tmp_path)
    ingest([f], index=index, progress=False)
    tiny_papers[0]["abstract"] = "A completely rewritten abstract about tokenizer transfer. " * 40
    ingest([write_jsonl(f, tiny_papers)], index=index, progress=False)
    report = ingest([f], index=index, progress=False)
    assert report.unchanged == 3
    stored = index.stored_papers(["arxiv:2401.00001"])["arxiv:2401.00001"]
    assert stored.paper.abstract.startswith("A completely rewritten abstract") and stored.complete
    assert stored.chunks_expected > 1  # the long abstract was split
    ids = [c for c in _chunk_ids(index) if c.startswith("arxiv:2401.00001#")]
    assert len(ids) == stored.chunks_expected  # no chunk of the old version is left


def test_same_paper_in_two_files_is_one_paper_with_both_sources(tmp_path, tiny_papers):
    a = write_jsonl(tmp_path / "a.jsonl", tiny_papers[:2])
    b = write_jsonl(tmp_path / "b.jsonl", tiny_papers[1:])
    index = _index(tmp_path)
    ingest([a], index=index, progress=False)
    report = ingest([b], index=index, progress=False)
    assert (report.added, report.sources_updated, report.chunks_embedded) == (1, 1, 1)
    paper = index.stored_papers(["arxiv:0704.0002"])["arxiv:0704.0002"].paper
    assert [s.name for s in paper.sources] == [str(a.resolve()), str(b.resolve())]  # sources are paths
    assert report.papers_total == 3


def test_arxiv_record_replaces_title_only_record_of_same_paper(tmp_path, tiny_papers):
    untitled = {k: v for k, v in tiny_papers[0].items() if k != "id"}
    a = write_jsonl(tmp_path / "a.jsonl", [untitled])
    b = write_jsonl(tmp_path / "b.jsonl", [tiny_papers[0]])
    index = _index(tmp_path)
    ingest([a], index=index, progress=False)
    report = ingest([b], index=index, progress=False)
    assert report.papers_total == 1
    (pid,) = {m["paper_id"] for _c, m, _d, _v in index.scan(["metadatas"])}
    assert pid == "arxiv:2401.00001"
    paper = index.stored_papers([pid])[pid].paper
    assert {s.file_name for s in paper.sources} == {"a.jsonl", "b.jsonl"}
    # and the other way round: a title-only record joins the stored arXiv paper
    c = write_jsonl(tmp_path / "c.jsonl", [untitled])
    assert ingest([c], index=index, progress=False).papers_total == 1


def test_bad_records_reported_and_good_ones_kept(tmp_path, tiny_papers):
    good = write_jsonl(tmp_path / "good.jsonl", tiny_papers[:1])
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(json.dumps(tiny_papers[1]) + "\n{not json\n" + json.dumps({"title": "No abstract"}) + "\n")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    errors = []
    report = ingest([good, mixed, empty], index=_index(tmp_path), on_error=errors.append, progress=False)
    assert report.papers_total == 2 and report.files_rejected == 1
    lines = [str(e) for e in errors]
    assert len(lines) == 3 and all("\n" not in line for line in lines)
    assert any("mixed.jsonl:2" in line for line in lines)
    assert any("mixed.jsonl:3" in line for line in lines)
    assert any("empty.txt" in line for line in lines)


def test_other_embedding_model_is_refused(tmp_path, tiny_papers):
    f = write_jsonl(tmp_path / "p.jsonl", tiny_papers)
    ingest([f], index=_index(tmp_path), progress=False)
    with pytest.raises(ModelMismatchError, match="all-MiniLM-L6-v2-int8"):
        _index(tmp_path, embed_model="text-embedding-3-small", embed_base_url="http://127.0.0.1:9/v1")


def test_killed_ingest_then_rerun_matches_clean_run(tmp_path, sample_index_dir):
    """SIGKILL an ingest of the sample pages part-way, run it again: exactly the clean run's chunks."""
    index_dir = tmp_path / "index"
    cmd = [sys.executable, "-m", "assistant.cli", "ingest", str(SAMPLES), "--index-dir", str(index_dir),
           "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    deadline = time.time() + 120
    written = 0
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.3)
        try:
            client = chromadb.PersistentClient(str(index_dir), settings=ChromaSettings(anonymized_telemetry=False))
            written = client.get_collection("askpapers").count()
        except Exception:
            continue
        if written:
            break
    assert proc.poll() is None, "ingest finished before it could be interrupted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 0 < written

    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient.clear_system_cache()
    rerun = subprocess.run(cmd + ["--json"], capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout.strip().splitlines()[-1])
    assert summary["papers_total"] == 365
    assert 0 < summary["unchanged"] < 365  # the first run's work was kept
    clean = _chunk_ids(PaperIndex(make_settings(sample_index_dir)))
    assert _chunk_ids(PaperIndex(make_settings(index_dir))) == clean


def _snapshot(index: PaperIndex) -> list:
    """Every chunk: id, metadata without the wall-clock `added` time (and llama-index's copy of
    the metadata that older indexes hold), document."""
    return sorted((cid, json.dumps({k: v for k, v in meta.items() if k not in ("added", "_node_content")},
                                   sort_keys=True), doc)
                  for cid, meta, doc, _v in index.scan(["metadatas", "documents"]))


def test_streamed_batches_end_as_one_batch(tmp_path):
    """Input read one record per batch ends exactly as when read in one batch: the same chunks,
    the same report (merges across batches counted once, each paper counted once)."""
    text = "A study of {0}. We measure {0} twice. The {0} results hold."
    pre = write_jsonl(tmp_path / "pre.jsonl", [{"id": "2401.00009", "title": "Epsilon", "abstract": text.format("e")}])
    a = write_jsonl(tmp_path / "a.jsonl", [
        {"title": "Alpha paper", "abstract": text.format("alpha")},  # title-only, replaced in b by its arXiv record
        {"id": "2401.00002", "title": "Beta", "abstract": text.format("beta"), "categories": "cs.CL",
         "authors": "First Author"},
        {"title": "Gamma", "abstract": text.format("gamma")},
    ])
    b = write_jsonl(tmp_path / "b.jsonl", [
        {"id": "2401.00001", "title": "Alpha paper", "abstract": text.format("alpha"), "categories": "cs.LG"},
        {"id": "2401.00002", "title": "Beta", "abstract": text.format("beta, revised"),  # later text wins,
         "authors": "Other Author"},  # the earlier record's authors
        {"title": "Gamma", "abstract": text.format("gamma")},  # the same title-only record: a new source
        {"doc_id": 7, "title": "Delta", "abstract": text.format("delta")},
        {"id": "2401.00009", "title": "Epsilon", "abstract": text.format("e")},  # stored before: a new source
    ])
    runs = {}
    for read_batch in (10_000, 1):
        index = _index(tmp_path / str(read_batch))
        ingest([pre], index=index, progress=False)
        report = ingest([a, b], index=index, progress=False, read_batch=read_batch)
        runs[read_batch] = ({k: v for k, v in report.to_dict().items() if k != "seconds"}, _snapshot(index))
    (one, one_chunks), (streamed, streamed_chunks) = runs[10_000], runs[1]
    assert (one["added"], one["sources_updated"], one["papers_in_batch"], one["papers_total"]) == (4, 1, 5, 5)
    assert (one["merged_by_title"], one["duplicate_ids"]) == (2, 1)
    # the streamed run embeds twice what a later batch changed (Beta's text, Alpha's new id)
    assert streamed.pop("chunks_embedded") > one.pop("chunks_embedded")
    assert streamed == one
    assert streamed_chunks == one_chunks
    assert any("beta, revised" in doc for _c, _m, doc in one_chunks)
    assert any("First Author" in meta and "Other Author" not in meta  # (in the record chunk 0 packs)
               for cid, meta, _d in one_chunks if cid.startswith("arxiv:2401.00002#0"))


def test_a_big_file_is_read_in_parts_and_the_reader_stops_with_its_consumer(tmp_path, tiny_papers):
    import threading

    from ingest.readers import stream_paths

    records = [dict(tiny_papers[0], id=f"2401.{i:05d}", title=f"Paper {i}") for i in range(7)]
    f = write_jsonl(tmp_path / "big.jsonl", records)
    parts = list(stream_paths([f], 3))
    assert [(len(papers), last) for _p, papers, _e, last in parts] == [(3, False), (3, False), (1, True)]
    reader = stream_paths([f, f, f], 1)
    next(reader)
    reader.close()  # the consumer stops early: the reading thread ends too
    assert not [t for t in threading.enumerate() if t.name == "ingest-reader"]


def _key(record: dict) -> str:
    from ingest.records import title_key

    return title_key(record["title"])


def test_lookups_of_committed_papers_read_the_side_index_not_chroma_where(tmp_path, tiny_papers, monkeypatch):
    """Re-ingesting papers with ids (one of them replacing a stored title-only record) answers
    'what is stored?' from the side index: no Chroma `where` query, and the same outcome."""
    untitled = {k: v for k, v in tiny_papers[0].items() if k != "id"}
    index = _index(tmp_path)
    ingest([write_jsonl(tmp_path / "a.jsonl", [untitled, *tiny_papers[1:]])], index=index, progress=False)
    wheres = []
    real_get = index.chroma.get
    monkeypatch.setattr(index.chroma, "get", lambda where, include: wheres.append(where) or real_get(where, include))
    with_ids = tiny_papers[:2]  # the third has no id: its title is looked up in Chroma
    report = ingest([write_jsonl(tmp_path / "b.jsonl", with_ids)], index=index, progress=False)
    assert not wheres
    assert (report.updated, report.unchanged, report.sources_updated) == (1, 0, 1)
    assert report.papers_total == len(tiny_papers)
    assert "arxiv:2401.00001" in index.side.row
    assert [pid for pid in index.side.table.ids if pid.startswith("title:")] == ["title:" + _key(tiny_papers[2])]
    again = ingest([write_jsonl(tmp_path / "b.jsonl", with_ids)], index=index, progress=False)
    assert again.unchanged == 2 and again.chunks_embedded == 0 and not wheres


def test_a_big_input_commits_once_per_part(tmp_path, tiny_papers, monkeypatch):
    """Each read part is committed on its own (a commit never builds a segment of the whole input)."""
    index = _index(tmp_path)
    commits = []
    real_commit = index.commit
    monkeypatch.setattr(index, "commit", lambda **kw: commits.append(kw) or real_commit(**kw))
    report = ingest([write_jsonl(tmp_path / "a.jsonl", tiny_papers)], index=index, progress=False, read_batch=1)
    assert report.added == len(tiny_papers) == report.papers_total
    assert len(commits) == len(tiny_papers)
    assert len(index.side.table) == len(tiny_papers)


PAGE = {"title": "Glacier radar sounding of ice shelves", "abstract": "Page version of the abstract about radar.",
        "authors": "Alice Page", "update_date": "2020-01-01", "categories": "physics.geo-ph"}
ARXIV = {"id": "2401.00001", "title": "Glacier radar sounding of ice shelves",
         "abstract": "ArXiv version of the abstract about radar sounding.", "authors": "Bob Arxiv",
         "update_date": "2024-02-02", "categories": "cs.LG"}


@pytest.mark.parametrize("first, then", [
    (PAGE, ARXIV),  # a title-only page record, then the arXiv record of its title
    (dict(ARXIV, abstract="First version of the abstract."), ARXIV),  # one id, a revised abstract later
])
def test_rerunning_input_whose_paper_spans_read_parts_changes_nothing(tmp_path, first, then):
    """A paper whose records fall in two read parts (an input over READ_BATCH records; one record
    per part here) ends as when read in one part, and reading the same input again leaves every
    chunk as it is and embeds nothing: each source keeps the digest of the record it gave, and a
    record read again unchanged is already in the stored paper (before, the earlier part's record
    won until the later part rewrote the paper back: two rewrites a run, and the page record's
    authors and date kept in the end)."""
    a, b = write_jsonl(tmp_path / "a.jsonl", [first]), write_jsonl(tmp_path / "b.jsonl", [then])
    one = _index(tmp_path / "one")
    ingest([a, b], index=one, progress=False)
    parts = _index(tmp_path / "parts")
    ingest([a, b], index=parts, progress=False, read_batch=1, write_batch=1)
    assert _snapshot(parts) == _snapshot(one)
    record = parts.side.record("arxiv:2401.00001")
    assert (record["authors"], record["date"], record["abstract"]) == (["Bob Arxiv"], "2024-02-02", ARXIV["abstract"])
    for _ in range(2):
        report = ingest([a, b], index=parts, progress=False, read_batch=1, write_batch=1)
        assert (report.chunks_embedded, report.unchanged, report.updated) == (0, 1, 0), report.summary()
        assert _snapshot(parts) == _snapshot(one)


def test_a_corrected_record_updates_its_paper_without_embedding(tmp_path):
    """Authors or a date corrected in a file (title and abstract as before) reach the index on the
    next ingest, reusing the stored vectors; the same file again is then unchanged."""
    index = _index(tmp_path)
    ingest([write_jsonl(tmp_path / "a.jsonl", [ARXIV])], index=index, progress=False)
    fixed = write_jsonl(tmp_path / "a.jsonl", [dict(ARXIV, authors="Bob Arxiv, Carol Fix", update_date="2024-03-03")])
    report = ingest([fixed], index=index, progress=False)
    assert (report.updated, report.chunks_embedded) == (1, 0), report.summary()
    record = index.side.record("arxiv:2401.00001")
    assert (record["authors"], record["date"]) == (["Bob Arxiv", "Carol Fix"], "2024-03-03")
    assert ingest([fixed], index=index, progress=False).unchanged == 1


def test_a_paper_rewritten_from_fewer_files_is_read_again_from_all_of_them(tmp_path):
    """A record that overrides the stored paper (a changed file ingested alone, or a removal of the
    file whose text the paper held) takes the other files' digests with it: ingesting everything
    again then ends as a fresh index of it does, instead of taking the stale paper as read."""
    one = {"id": "2401.00001", "title": "Glacier radar", "abstract": "Radar sounding of glaciers.",
           "authors": "Al A", "categories": "cs.LG"}
    a, b = tmp_path / "a.jsonl", write_jsonl(tmp_path / "b.jsonl", [dict(one, categories="cs.CL")])
    write_jsonl(a, [one])
    index = _index(tmp_path / "idx")
    ingest([a, b], index=index, progress=False)
    write_jsonl(a, [dict(one, abstract="A revised abstract on radar sounding.")])
    ingest([a], index=index, progress=False)  # a alone: its record wins, b's category goes
    ingest([a, b], index=index, progress=False)
    fresh = _index(tmp_path / "fresh")
    ingest([a, b], index=fresh, progress=False)
    assert index.side.record("arxiv:2401.00001") == fresh.side.record("arxiv:2401.00001")
    assert ingest([a, b], index=index, progress=False, read_batch=1).chunks_embedded == 0


def test_removing_the_file_a_paper_took_its_text_from_lets_the_other_file_give_it_back(tmp_path):
    from ingest.remove import remove_source

    first = {"id": "2401.00001", "title": "Glacier radar sounding", "abstract": "A's abstract about radar.",
             "authors": "Alice A"}
    a = write_jsonl(tmp_path / "a.jsonl", [first])
    b = write_jsonl(tmp_path / "b.jsonl", [dict(first, abstract="B's revised abstract about ice.", authors="Bob B")])
    index = _index(tmp_path / "idx")
    ingest([a], index=index, progress=False)
    ingest([b], index=index, progress=False)
    remove_source(index, str(b.resolve()))
    ingest([a], index=index, progress=False)
    record = index.side.record("arxiv:2401.00001")
    assert [s["name"] for s in record["sources"]] == [str(a.resolve())]
    assert (record["abstract"], record["authors"]) == (first["abstract"], ["Alice A"])


def test_two_files_of_one_name_are_two_sources_named_by_their_paths(tmp_path, tiny_papers, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = write_jsonl(tmp_path / "a" / "papers.jsonl", tiny_papers[:1])
    b = write_jsonl(tmp_path / "b" / "papers.jsonl", tiny_papers[1:])
    monkeypatch.chdir(tmp_path)
    index = _index(tmp_path)
    ingest(["a/papers.jsonl", b], index=index, progress=False)  # relative as typed: stored resolved
    assert index.stats()["sources"] == {str(a.resolve()): 1, str(b.resolve()): 2}
    assert set(index.papers_with_source(str(a.resolve()))) == {"arxiv:2401.00001"}


def _old_shape_ingest(index, *paths) -> None:
    """Ingest as askpapers did before sources were paths: each source named by the bare file name."""
    from ingest.pipeline import IngestReport, ingest_papers, stamp_digests
    from ingest.readers import read_file

    papers = []
    for path in paths:
        papers += read_file(path)[0]
    assert all(s.name in {path.name for path in paths} for p in papers for s in p.sources)
    stamp_digests(papers)
    ingest_papers(papers, index, IngestReport(), progress=False)
    index.commit()


def test_bare_source_names_of_an_older_index_become_paths_when_the_file_is_read_again(tmp_path, tiny_papers):
    a = write_jsonl(tmp_path / "a.jsonl", tiny_papers)
    index = _index(tmp_path)
    _old_shape_ingest(index, a)
    assert index.stats()["sources"] == {"a.jsonl": 3}
    report = ingest([a], index=index, progress=False)
    assert (report.sources_updated, report.chunks_embedded) == (3, 0)  # the same file: no second source
    assert index.stats()["sources"] == {str(a.resolve()): 3}
    assert not index.papers_with_source("a.jsonl")  # no chunk in Chroma keeps the bare name's flag
    assert len(index.papers_with_source(str(a.resolve()))) == 3
    assert ingest([a], index=index, progress=False).unchanged == 3


def test_reading_one_file_again_under_its_path_keeps_the_paper_another_file_gave(tmp_path):
    """A paper two files give different records of, stored by an older index under bare names:
    re-ingesting one file only names its path; the paper keeps its text and vectors, as a re-run
    of that file on a new index leaves it."""
    one = {"id": "2401.00001", "title": "Glacier radar", "abstract": "Radar sounding of glaciers.",
           "authors": "Al A"}
    a = write_jsonl(tmp_path / "a.jsonl", [one])
    b = write_jsonl(tmp_path / "b.jsonl", [dict(one, abstract="A revised abstract on radar sounding.")])
    index = _index(tmp_path / "old")
    _old_shape_ingest(index, a, b)
    before = index.side.record("arxiv:2401.00001")
    report = ingest([a], index=index, progress=False)
    assert (report.updated, report.sources_updated, report.chunks_embedded) == (0, 1, 0), report.summary()
    after = index.side.record("arxiv:2401.00001")
    assert (after["abstract"], after["authors"]) == (before["abstract"], before["authors"])
    assert [s["name"] for s in after["sources"]] == [str(a.resolve()), "b.jsonl"]
    assert ingest([a], index=index, progress=False).unchanged == 1
    fresh = _index(tmp_path / "fresh")
    ingest([a, b], index=fresh, progress=False)
    assert fresh.side.record("arxiv:2401.00001")["abstract"] == after["abstract"]
