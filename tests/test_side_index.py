"""The sparse side (ingest/store/sparse.py) on its own: BM25, idf, filter masks, records, saving."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ingest.chunking import chunk_id, parse_chunk_id
from ingest.filters import SearchFilters
from ingest.store.sparse import SideIndex, tokenize


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


def test_bm25_search_and_idf(side):
    hits = side.search("glacier radar", 10)
    assert [pid for pid, _s in hits][:2] == ["arxiv:1", "arxiv:2"] and all(s > 0 for _p, s in hits)
    assert "title:x" not in dict(hits)  # zero scores are dropped
    (glacier,) = tokenize(["glacier"])[0]
    (coral,) = tokenize(["coral"])[0]
    assert side.idf(glacier) == pytest.approx(math.log((3 - 2 + 0.5) / (2 + 0.5) + 1))
    assert side.idf(coral) > side.idf(glacier)  # rarer weighs more
    assert side.idf("neverseen") > side.idf(coral)  # unseen weighs the most


def test_filter_masks(side):
    mask = side.mask(SearchFilters(date_from="2007", date_to="2010"))
    assert mask.tolist() == [True, False, False]  # an unknown date never passes a date bound
    assert side.mask(SearchFilters(categories=["cs.CL"])).tolist() == [False, True, False]
    assert side.mask(SearchFilters(sources=["a.txt"])).tolist() == [True, False, True]
    assert side.mask(SearchFilters()) is None
    assert [p for p, _s in side.search("glacier", 10, side.mask(SearchFilters(categories=["cs.CL"])))] == ["arxiv:2"]


def test_save_load_round_trip_and_manifest(side, tmp_path):
    side.save(tmp_path)
    assert SideIndex.saved_manifest(tmp_path) == {"generation": "gen-1", "papers": 3, "chunks": 4,
                                                  "format": side.manifest()["format"]}
    loaded = SideIndex.load(tmp_path)
    assert loaded.consistent() and loaded.table.ids == side.table.ids
    assert loaded.record("title:x")["abstract"] == "Coral reef survey by divers."
    assert loaded.search("glacier radar", 10) == side.search("glacier radar", 10)
    # a newer save replaces it whole; the loaded copy keeps reading its own records
    SideIndex.from_chunks(_rows()[:1], "gen-2").save(tmp_path)
    assert SideIndex.saved_generation(tmp_path) == "gen-2"
    assert loaded.record("title:x")["title"] == "Coral reefs"
    assert len(SideIndex.load(tmp_path).table) == 1
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".side-") and p.is_dir()]  # no temp left


def test_mixed_parts_of_two_saves_are_refused(side, tmp_path):
    side.save(tmp_path)
    (tmp_path / "side-index" / "table.json").write_text(json.dumps({"ids": ["a"], "n_chunks": [1], "date_ord": [0],
                                                                    "categories": [[]], "sources": [[]]}))
    with pytest.raises(ValueError):
        SideIndex.load(tmp_path)


def test_chunk_id_format_round_trips():
    assert parse_chunk_id(chunk_id("arxiv:2401.00001", 3)) == ("arxiv:2401.00001", 3)
    assert parse_chunk_id(chunk_id("doi:10.1/a#b", 0)) == ("doi:10.1/a#b", 0)  # '#' inside a paper id
