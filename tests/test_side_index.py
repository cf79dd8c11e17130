"""The side index (ingest/store/side/) on its own: BM25, idf, filter masks, records, saving, incremental commits."""

from __future__ import annotations

import gc
import json
import math
import random

import numpy as np
import pytest

from ingest.chunking import chunk_id, parse_chunk_id
from ingest.filters import SearchFilters
from ingest.store.side import Journal, read_journal
from ingest.store.side.build import papers_from_chunks
from ingest.store.side import compact
from ingest.store.side.compact import MAX_SEGMENTS, plan
from ingest.store.side.store import commit_changes, empty
from ingest.store.sparse import DIRNAME, SideIndex, tokenize


def _rows():
    """Chunk rows as a Chroma scan yields them: (id, metadata, document, embedding)."""
    papers = [("arxiv:1", "Glacier radar melt", "We measure glacier melt with radar.", "2007-03-01", ["physics.geo-ph"],
               [[1.0, 0.0]], "a.txt"),
              ("arxiv:2", "Token embeddings", "A hypernetwork predicts token embeddings. It helps glacier words too.",
               "2024-01-05", ["cs.CL"], [[0.0, 1.0], [0.0, 1.0]], "b.txt"),
              ("title:x", "Coral reefs", "Coral reef survey by divers.", None, [], [[0.6, 0.8]], "a.txt")]
    rows = []
    for pid, title, abstract, date, cats, vectors, src in papers:
        for n, vec in enumerate(vectors):
            meta = {"paper_id": pid, "title": title, "chunk": n, "n_chunks": len(vectors),
                    "date": date or "", "date_ord": int(date.replace("-", "")) if date else 0,
                    "categories": json.dumps(cats), "sources": json.dumps([[src, None]]), "authors": "[]"}
            if n == 0:
                meta["abstract"] = abstract
            rows.append((chunk_id(pid, n), meta, f"{title}\n{abstract} part {n}", vec))
    return rows


@pytest.fixture
def side():
    return SideIndex.from_chunks(_rows(), "gen-1")


def test_rows_records_and_mean_vectors(side):
    assert side.table.ids == ["arxiv:1", "arxiv:2", "title:x"]
    assert side.table.n_chunks == [1, 2, 1]
    rec = side.record("arxiv:2")
    assert rec["title"] == "Token embeddings" and rec["passages"] == [
        "A hypernetwork predicts token embeddings. It helps glacier words too. part 0",
        "A hypernetwork predicts token embeddings. It helps glacier words too. part 1"]
    assert side.record("arxiv:404") is None
    assert np.allclose(np.linalg.norm(side.vectors.astype(np.float32), axis=1), 1.0, atol=1e-3)
    assert side.vectors[[2, 0]].astype(np.float32) == pytest.approx(np.array([[0.6, 0.8], [1.0, 0.0]]), abs=1e-3)


def test_bm25_search_and_idf(side):
    hits = side.search("glacier radar", 10)
    assert [pid for pid, _s in hits][:2] == ["arxiv:1", "arxiv:2"] and all(s > 0 for _p, s in hits)
    assert "title:x" not in dict(hits)  # zero scores are dropped
    (glacier,) = tokenize(["glacier"])[0]
    (coral,) = tokenize(["coral"])[0]
    assert side.idf(glacier) == pytest.approx(math.log((3 - 2 + 0.5) / (2 + 0.5) + 1))
    assert side.idf(coral) > side.idf(glacier)  # rarer weighs more
    assert side.idf("neverseen") > side.idf(coral)  # unseen weighs the most


def test_bm25_term_parts_kept_between_queries_are_bounded_and_score_the_same(side, monkeypatch):
    from ingest.store.side import side_index

    queries = ["glacier radar", "token embeddings glacier", "coral reef survey", "radar melt", "glacier"]
    fresh = {q: side.search(q, 10) for q in queries}  # first sight of every term: computed, then kept
    assert side._parts_size == sum(len(p) for p in side._parts.values()) > 0
    monkeypatch.setattr(side_index, "PARTS_CACHE", 4)  # lists of 1 posting kept, at most 4 postings
    cold = SideIndex.from_chunks(_rows(), "gen-1")
    for _ in range(2):
        for q in queries:
            assert cold.search(q, 10) == fresh[q]  # kept, evicted or recomputed: the same scores
            assert 0 < cold._parts_size <= 4
    assert cold._parts_size < side._parts_size  # some were evicted
    for q in queries:
        assert side.search(q, 10) == fresh[q]  # now from what was kept


def test_filter_masks(side):
    mask = side.mask(SearchFilters(date_from="2007", date_to="2010"))
    assert mask.tolist() == [True, False, False]  # an unknown date never passes a date bound
    assert side.mask(SearchFilters(categories=["cs.CL"])).tolist() == [False, True, False]
    assert side.mask(SearchFilters(sources=["a.txt"])).tolist() == [True, False, True]
    assert side.mask(SearchFilters()) is None
    assert [p for p, _s in side.search("glacier", 10, side.mask(SearchFilters(categories=["cs.CL"])))] == ["arxiv:2"]


def test_save_load_round_trip_and_manifest(side, tmp_path):
    side.save(tmp_path)
    saved = SideIndex.saved_manifest(tmp_path)
    assert saved == side.manifest()
    assert (saved["generation"], saved["papers"], saved["chunks"], len(saved["segments"])) == ("gen-1", 3, 4, 1)
    loaded = SideIndex.load(tmp_path)
    assert loaded.consistent() and loaded.table.ids == side.table.ids
    assert loaded.record("title:x")["abstract"] == "Coral reef survey by divers."
    assert loaded.search("glacier radar", 10) == side.search("glacier radar", 10)
    # a newer save replaces it whole; the loaded copy keeps reading its own records
    SideIndex.from_chunks(_rows()[:1], "gen-2").save(tmp_path)
    assert SideIndex.saved_generation(tmp_path) == "gen-2"
    assert loaded.record("title:x")["title"] == "Coral reefs"
    assert len(SideIndex.load(tmp_path).table) == 1
    names = sorted(p.name for p in (tmp_path / DIRNAME).iterdir())
    assert len(names) == 2 and names[0] == "manifest.json" and names[1].startswith("seg-")  # no temp, no old segment


def test_a_damaged_segment_is_refused(tmp_path):
    SideIndex.from_chunks(_rows(), "gen-1").save(tmp_path)
    gc.collect()  # no open copy of the segment left in this process
    (segment,) = (tmp_path / DIRNAME).glob("seg-*")
    (segment / "ids.json").write_text(json.dumps(["a"]))
    with pytest.raises(ValueError):
        SideIndex.load(tmp_path)


@pytest.mark.parametrize("meta", [{"papers": 3}, {"papers": 3, "arrays": {"rows": 5}}, []])
def test_a_segment_with_damaged_meta_is_refused_as_a_value_error(tmp_path, meta):
    # the index's reader catches OSError and ValueError and rebuilds: nothing else may escape
    SideIndex.from_chunks(_rows(), "gen-1").save(tmp_path)
    gc.collect()
    (segment,) = (tmp_path / DIRNAME).glob("seg-*")
    (segment / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError):
        SideIndex.load(tmp_path)


def test_chunk_id_format_round_trips():
    assert parse_chunk_id(chunk_id("arxiv:2401.00001", 3)) == ("arxiv:2401.00001", 3)
    assert parse_chunk_id(chunk_id("doi:10.1/a#b", 0)) == ("doi:10.1/a#b", 0)  # '#' inside a paper id


# ---------------------------------------------------------------------------- incremental commits
WORDS = ["glacier", "radar", "melt", "token", "embedding", "coral", "reef", "survey", "quantum", "sensor", "turbulence",
         "solar", "wind", "decoding", "hallucination", "language", "model", "graph", "neural", "network", "protein",
         "folding"]


def _paper_rows(rng: random.Random, pid: str, version: int) -> list[tuple]:
    """Chunk rows of one synthetic paper (random words, 1-3 chunks, random vectors)."""
    n = rng.randint(1, 3)
    title = " ".join(rng.choices(WORDS, k=3))
    abstract = " ".join(rng.choices(WORDS, k=rng.randint(0, 30)))
    cats = rng.sample(["cs.CL", "cs.LG", "q-bio", "astro-ph"], rng.randint(0, 2))
    rows = []
    for i in range(n):
        meta = {"paper_id": pid, "title": title, "chunk": i, "n_chunks": n, "date": "", "date_ord": 20200000 + version,
                "categories": json.dumps(cats), "sources": json.dumps([[f"s{version % 3}.txt", None]]),
                "authors": "[]", "added": 1000 + version}
        if i == 0:
            meta["abstract"] = abstract
        rows.append((chunk_id(pid, i), meta, f"{title}\n{abstract} part {i}", [rng.uniform(-1, 1) for _ in range(4)]))
    return rows


def _assert_same(got: SideIndex, want: SideIndex) -> None:
    """Two side indexes hold the same papers and score every query the same, to the bit."""
    assert sorted(got.table.ids) == sorted(want.table.ids) and got.chunks == want.chunks
    for pid in want.table.ids:
        g, w = got.row[pid], want.row[pid]
        assert got.record(pid) == want.record(pid)
        for name in ("n_chunks", "date_ord", "added", "categories", "sources"):
            assert getattr(got.table, name)[g] == getattr(want.table, name)[w], name
        assert np.array_equal(got.vectors[[g]], want.vectors[[w]])
    for query in ("glacier radar", "quantum sensor turbulence", "protein folding graph", "coral"):
        terms = got.query_terms(query)
        assert terms == want.query_terms(query)
        gs, ws = got.term_scores(terms), want.term_scores(terms)
        assert {p: gs[i] for p, i in got.row.items()} == {p: ws[i] for p, i in want.row.items()}
        assert dict(got.search(query, 50)) == dict(want.search(query, 50))
    for word in WORDS + ["neverseen"]:
        assert got.idf(word) == want.idf(word)
    top = want.table.ids[:3]
    assert got.expansion_terms([got.row[p] for p in top], 10) == want.expansion_terms([want.row[p] for p in top], 10)
    flt = SearchFilters(categories=["cs.CL"], sources=["s1.txt"])
    assert {got.table.ids[i] for i in np.flatnonzero(got.mask(flt))} == {
        want.table.ids[i] for i in np.flatnonzero(want.mask(flt))}
    assert got.counts("categories") == want.counts("categories") and got.counts("sources") == want.counts("sources")


@pytest.mark.parametrize("seed,block", [(1, None), (2, None), (3, 5)])
def test_incremental_commits_score_exactly_like_a_build_from_scratch(seed, block, tmp_path, monkeypatch):
    """Random adds, changes and removals committed one small segment at a time (with dead rows and
    compactions along the way) equal, after every commit, a side index built from scratch.
    `block`: postings a merge reads at a time (small: term runs cut across blocks)."""
    if block:
        monkeypatch.setattr(compact, "BLOCK", block)
    rng = random.Random(seed)
    state: dict[str, list[tuple]] = {}  # paper id -> its chunk rows, as Chroma would hold them
    side = empty("gen-0")
    segment_counts, dead_rows = [], 0
    for step in range(1, 25):
        touched = set()
        for _ in range(rng.randint(1, 6)):
            op = rng.choice(["add", "add", "change", "remove"]) if state else "add"
            pid = f"arxiv:{rng.randint(0, 10 ** 6)}" if op == "add" else rng.choice(sorted(state))
            if op == "remove":
                del state[pid]
            else:
                state[pid] = _paper_rows(rng, pid, step)
            touched.add(pid)
        papers = papers_from_chunks(row for pid in sorted(touched) if pid in state for row in state[pid])
        side = commit_changes(side, tmp_path, papers, touched, f"gen-{step}", side.generation, None)
        segment_counts.append(len(side.manifest()["segments"]))
        dead_rows = max(dead_rows, sum(len(s["dead"]) for s in side.manifest()["segments"]))
        everything = [row for rows in state.values() for row in rows]
        rng.shuffle(everything)  # a scan's order: chunks of a paper need not come together or in order
        scratch = SideIndex.from_chunks(everything, f"scratch-{step}")
        _assert_same(side, scratch)
    assert max(segment_counts) >= 3 and dead_rows  # several segments, replaced rows: the cases that matter
    assert max(segment_counts) <= 6  # compaction keeps them few
    _assert_same(SideIndex.load(tmp_path), scratch)
    assert SideIndex.load(tmp_path).manifest() == side.manifest()


def test_journal_reads_what_was_fsynced_and_refuses_damage(tmp_path):
    """A line cut short by a kill is a write that never reached Chroma (ignored, and dropped before
    the next append); any other damage makes the journal unusable (the commit then rescans)."""
    journal = Journal.create(tmp_path, "tok", "gen-1", False)
    journal.append(["arxiv:1", "arxiv:1"], ["arxiv:1#0", "arxiv:1#1"])
    journal.close()
    with open(journal.path, "ab") as f:
        f.write(b'{"papers": ["arxiv:2"], "chu')  # killed mid-append
    state = read_journal(tmp_path, "tok")
    assert (state.base, state.empty, list(state.papers), state.chunks) == ("gen-1", False, ["arxiv:1"],
                                                                          {"arxiv:1#0", "arxiv:1#1"})
    resumed = Journal.resume(tmp_path, "tok")
    resumed.append(["arxiv:3"], [])
    resumed.close()
    assert list(read_journal(tmp_path, "tok").papers) == ["arxiv:1", "arxiv:3"]
    assert read_journal(tmp_path, "other") is None and Journal.resume(tmp_path, "other") is None
    lines = journal.path.read_bytes().split(b"\n")
    journal.path.write_bytes(b"\n".join([lines[0], b"not json", *lines[1:]]))
    assert read_journal(tmp_path, "tok") is None


def test_compaction_runs_when_it_pays():
    """Merge the newest segments while the one before is no larger than them together; merge all
    once dead rows pass a quarter; never keep more than MAX_SEGMENTS."""
    assert plan([100_000, 1000], [0, 0]) is None  # a commit beside a big segment: nothing to merge
    assert plan([100_000, 1000, 1000], [0, 0, 0]) == 1
    assert plan([100_000, 2000, 1000, 1000], [0, 0, 0, 0]) == 1  # 1000+1000, then 2000+2000
    assert plan([3000, 4000], [0, 0]) == 0  # the tail outgrew the big one: the library doubled
    assert plan([60_000, 1000], [40_000, 0]) == 0  # dead rows above a quarter: rewrite everything
    sizes = [2 ** k for k in range(20, 0, -1)] + [1]  # halving sizes never merge by size...
    assert plan(sizes, [0] * len(sizes)) == MAX_SEGMENTS - 1  # ...but their number is capped
