"""Lean records in side-index segments (ingest/store/side/records.py): read back exactly as built."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ingest.chunking import chunk_paper
from ingest.readers import read_paths
from ingest.store.codec import SPAN, chunk_metadata
from ingest.store.side import records
from ingest.store.side.build import papers_from_chunks
from ingest.store.side.manifest import FORMAT, MANIFEST, side_dir
from ingest.store.side.segment import Segment, write_arrays, write_segment
from ingest.store.side.store import commit_changes, empty, load
from old_layouts import layout3_metadata

SAMPLES = Path(__file__).resolve().parent.parent / "examples" / "daily-papers"


def _sample_papers():
    papers = {}
    for _path, found, _errors in read_paths([SAMPLES]):
        for p in found:
            papers.setdefault(p.paper_id, p)
    assert len(papers) > 20
    return list(papers.values())


def _chunk_rows(papers, legacy=False):
    """Chroma chunk rows of `papers` as stored: lean metadata (layout 4), or an old layout (every
    field on every chunk, the text as document)."""
    rows = []
    for i, paper in enumerate(papers):
        for chunk in chunk_paper(paper):
            meta = chunk_metadata(paper, chunk, paper.content_hash())
            if legacy:
                meta = layout3_metadata(paper, chunk, paper.content_hash())
                meta.pop(SPAN, None)
            rows.append((chunk.chunk_id, meta, chunk.text if legacy else None, [float(i % 3), 1.0]))
    return rows


@pytest.mark.parametrize("legacy", [False, True])
def test_sample_pages_read_back_the_same_records_and_passages(tmp_path, legacy):
    papers = _sample_papers()
    built = papers_from_chunks(_chunk_rows(papers, legacy))
    write_segment(tmp_path / "seg", built)
    seg = Segment(tmp_path / "seg")
    for local, (row, paper) in enumerate(zip(built, papers)):
        got = seg.record(local)
        assert got == row.record and list(got) == list(row.record)
        assert got["passages"] == [c.passage for c in chunk_paper(paper)]  # the text before this change
    whole = sum(len(json.dumps(r.record, ensure_ascii=False).encode()) + 1 for r in built)
    lean = (tmp_path / "seg" / "records.jsonl").stat().st_size
    assert lean < 0.6 * whole  # the passages (a copy of the abstract) are no longer stored


@pytest.mark.parametrize("record", [
    {"title": "T", "abstract": "Ab cd. Ef gh.", "paper_id": "arxiv:1", "authors": [], "date": None, "categories": [],
     "arxiv_id": None, "doi": None, "url": None, "sources": [], "passages": ["Ab cd.", "", "not in it", "Ef gh."]},
    {"title": "T", "abstract": "Ab", "paper_id": "arxiv:1", "authors": ["Ö"], "date": "2024-01-01",
     "categories": ["cs.CL"], "arxiv_id": "1", "doi": "10.1/x", "url": "https://elsewhere/1",
     "sources": [{"name": "a.txt", "date": None}], "passages": ["Ab"]},
    {"title": "T", "abstract": "Ab", "paper_id": "arxiv:1", "arxiv_id": "1", "url": "https://arxiv.org/abs/1"},
    {"title": "T", "abstract": "", "paper_id": "title:t", "arxiv_id": "2", "url": None, "passages": [""]},
    {"title": "T", "paper_id": "x", "extra": 1, "passages": ["a"]},  # unknown keys: stored as they are
    {"passages": ["a"], "title": "T", "abstract": "a", "paper_id": "x"},  # another key order: as it is
])
def test_encode_decode_round_trip(record):
    pid = record["paper_id"]
    line = records.encode(record, pid)
    got = records.decode(line, pid)
    assert got == record and list(got) == list(record)


def test_format_9_segments_and_manifest_still_read(tmp_path):
    """An index saved by the previous format (records stored whole) opens and commits as it is."""
    papers = _sample_papers()[:6]
    built = papers_from_chunks(_chunk_rows(papers))
    side = commit_changes(empty("g"), tmp_path, built[:3], set(), "g", None, None)
    seg_name = side.manifest()["segments"][0]["name"]
    # rewrite that segment's records.jsonl as format 9 wrote it, and the manifest's format
    directory = side_dir(tmp_path)
    old = Segment(directory / seg_name)
    lines = [json.dumps(r.record, ensure_ascii=False).encode() + b"\n" for r in built[:3]]
    cats = (old.category_names, old.cat_ptr, old.cat_code)
    srcs = (old.source_names, old.src_ptr, old.src_code)
    post = (old.terms, old.post_ptr, old.post_doc, old.post_tf)
    write_arrays(tmp_path / "old", old.ids, np.asarray(old.rows), cats, srcs, old.vectors, post, lines)
    del old, side
    for name in ("records.jsonl", "arrays.bin", "meta.json"):  # (no title-key arrays then, as format 9)
        (tmp_path / "old" / name).replace(directory / seg_name / name)
    manifest = json.loads((directory / MANIFEST).read_text())
    (directory / MANIFEST).write_text(json.dumps(manifest | {"format": 9}))
    import ingest.store.side.store as store
    store._open.clear()
    side = load(tmp_path)
    assert side.manifest()["format"] == 9
    assert [side.record(r.paper_id) for r in built[:3]] == [r.record for r in built[:3]]
    side = commit_changes(side, tmp_path, built[3:], set(), "g", None, None)  # merges old and new lines
    assert side.manifest()["format"] == FORMAT
    assert [side.record(r.paper_id) for r in built] == [r.record for r in built]
