"""Title lookups of an ingest ("which stored papers have this title?", ingest/store/lookup.py):
answered by the side index and the papers written since the commit, exactly as a Chroma `where`
on `title_key` answers, without one; a side index that cannot answer falls back to the `where`."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from conftest import make_settings, write_jsonl

from ingest.pipeline import IngestReport, ingest, ingest_papers
from ingest.records import Paper, title_key
from ingest.store import PaperIndex
from ingest.store.side import SideIndex


class HashEncoder:
    """A tiny deterministic embedding model (the lookups under test never look at vectors)."""

    dimension = 8

    def embed(self, texts):
        out = []
        for t in texts:
            v = np.frombuffer(hashlib.blake2b(t.encode(), digest_size=32).digest(), dtype=np.uint8)[:8].astype(float)
            out.append((v + 1) / np.linalg.norm(v + 1))
        return np.asarray(out)

    def get_query_embedding(self, text):
        return self.embed([text])[0].tolist()


SHARED, LONELY, LATER = "Shared title of two papers", "A lonely title-only paper", "Written after the commit"
RECORDS = [
    {"id": "2401.00001", "title": SHARED, "abstract": "Glaciers lose mass every summer in the Alps."},
    {"id": "2401.00009", "title": SHARED, "abstract": "Reefs bleach when the sea warms up."},
    {"title": LONELY, "abstract": "A page with no identifier at all."},
    {"id": "2401.00003", "title": "Tokenizer transfer", "abstract": "We transfer tokenizers between models."},
]
KEYS = [title_key(t) for t in (SHARED, LONELY, LATER, "Tokenizer transfer", "never stored")]


def _index(path) -> PaperIndex:
    return PaperIndex(make_settings(path), embed_model=HashEncoder())


def _by_where(index: PaperIndex, keys) -> dict[str, list[str]]:
    out: dict[str, set[str]] = {}
    for _cid, meta in index._where_rows("title_key", keys):
        out.setdefault(meta["title_key"], set()).add(meta["paper_id"])
    return {k: sorted(v) for k, v in out.items()}


def _no_where(index: PaperIndex, monkeypatch) -> None:
    def refuse(key, values):
        raise AssertionError(f"asked Chroma a `where` on {key}")

    monkeypatch.setattr(index, "_where_rows", refuse)


@pytest.fixture
def committed(tmp_path):
    ingest([write_jsonl(tmp_path / "a.jsonl", RECORDS)], index=_index(tmp_path / "idx"), progress=False)
    return tmp_path / "idx"


def test_committed_titles_come_from_the_side_index(committed, monkeypatch):
    index = _index(committed)
    want = _by_where(index, KEYS)
    assert want[title_key(SHARED)] == ["arxiv:2401.00001", "arxiv:2401.00009"]
    _no_where(index, monkeypatch)
    assert index.paper_ids_by_title_key(KEYS) == want


def test_papers_written_since_the_commit_are_found_in_this_process_and_after_a_kill(committed, monkeypatch):
    index = _index(committed)
    later = [Paper(paper_id="arxiv:2401.00010", title=SHARED, abstract="A third paper of the shared title."),
             Paper(paper_id="arxiv:2401.00011", title=LATER, abstract="Written, never committed.")]
    ingest_papers(later, index, IngestReport(), progress=False)  # written (journaled), not committed
    assert index.needs_commit()
    want = _by_where(index, KEYS)
    assert "arxiv:2401.00010" in want[title_key(SHARED)] and want[title_key(LATER)] == ["arxiv:2401.00011"]
    with monkeypatch.context() as m:
        _no_where(index, m)
        assert index.paper_ids_by_title_key(KEYS) == want  # keys known from this process's writes
    # a new process, as a re-run after a kill: the journal names the papers, Chroma gives their keys
    rerun = _index(committed)
    _no_where(rerun, monkeypatch)
    assert rerun.paper_ids_by_title_key(KEYS) == want
    assert rerun.paper_ids_by_title_key(KEYS[:1]) == {KEYS[0]: want[KEYS[0]]}  # keys now cached: same answer


def test_a_side_index_without_title_keys_asks_chroma(committed, monkeypatch):
    index = _index(committed)
    want = _by_where(index, KEYS)
    monkeypatch.setattr(SideIndex, "has_title_keys", lambda self: False)
    asked = []
    real = index._where_rows
    monkeypatch.setattr(index, "_where_rows", lambda key, values: asked.append(key) or real(key, values))
    assert index.paper_ids_by_title_key(KEYS) == want and asked == ["title_key"]


def test_a_title_only_record_joins_its_stored_arxiv_paper_without_a_where(committed, tmp_path, monkeypatch):
    """The pipeline's use: a page record of a stored arXiv paper's title becomes that paper."""
    index = _index(committed)
    _no_where(index, monkeypatch)
    report = ingest([write_jsonl(tmp_path / "b.jsonl", [{"title": "Tokenizer Transfer", "abstract":
                                                         "We transfer tokenizers between models."}])],
                    index=index, progress=False)
    assert (report.added, report.merged_by_title) == (0, 1)
    assert index.side.table.ids.count("arxiv:2401.00003") == 1 and len(index.side.table) == 4


@pytest.mark.parametrize("also_new", [False, True])
def test_chroma_changed_behind_askpapers_back_is_not_trusted_to_the_side_index(committed, tmp_path, also_new):
    """Chunks deleted behind askpapers' back (no pending mark, no journal): the side index's count
    disagrees with Chroma's, so lookups ask Chroma, the lost paper is written again, and the
    commit brings the side index back in step. A bad record is reported once."""
    index = _index(committed)
    index.collection.delete(ids=["arxiv:2401.00003#0"])  # not through askpapers: no mark, no journal
    records = RECORDS + [{"title": ""}] + ([{"id": "2401.00077", "title": "New", "abstract": "New text."}] if also_new else [])
    errors = []
    report = ingest([write_jsonl(tmp_path / "a.jsonl", records)], index=index, progress=False,
                    on_error=errors.append)
    assert (report.added, report.unchanged) == (1 + also_new, 3) and len(errors) == 1
    assert index.stored_papers(["arxiv:2401.00003"])["arxiv:2401.00003"].complete
    assert len(index.side.table) == 4 + also_new and index.needs_commit() is None
    assert ingest([write_jsonl(tmp_path / "a.jsonl", records)], index=_index(committed),
                  progress=False, on_error=errors.append).unchanged == 4 + also_new
