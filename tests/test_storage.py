"""Lean storage: a chunk stores what filters, answers and the page need, once; old indexes still work."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import make_settings, write_jsonl

from ingest.chunking import chunk_paper
from ingest.pipeline import ingest
from ingest.records import Paper, Source
from ingest.store import PaperIndex, chunk_metadata
from ingest.store.codec import LAYOUT3_KEYS, LEGACY_KEYS, SPAN, expand, paper_from_metadata, passage_of
from old_layouts import layout3_metadata

LONG = ("Glaciers in the Alps lose mass every summer. " * 30).strip()


def _records() -> list[dict]:
    return [
        {"id": "2401.00001", "title": "Glacier mass balance", "abstract": LONG, "categories": "physics.geo-ph",
         "authors": "A. Ice, B. Snow", "update_date": "2024-01-05"},
        {"id": "2401.00002", "title": "Tokenizer transfer", "abstract": "We transfer tokenizers between models.",
         "categories": "cs.CL cs.LG", "update_date": "2024-02-01"},
        {"doi": "10.1/xyz", "title": "Coral reef survey", "abstract": "Reefs bleach when the sea warms."},
    ]


def _raw(index: PaperIndex, **kw) -> dict:
    """Rows as Chroma stores them (no document rebuilt from the metadata)."""
    return index.collection._collection.get(include=["metadatas", "documents"], **kw)


def test_a_chunk_stores_each_field_once_and_reads_back(tmp_path):
    index = PaperIndex(make_settings(tmp_path / "idx"))
    ingest([write_jsonl(tmp_path / "p.jsonl", _records())], index=index, progress=False)
    raw = _raw(index)
    assert raw["documents"] == [None] * len(raw["ids"])  # no document: the passage is a span of the abstract
    for meta in raw["metadatas"]:
        assert not (set(LEGACY_KEYS) | set(LAYOUT3_KEYS) - {"title_key", "passage"}) & set(meta)
        # what Chroma indexes (every value but a boolean): filter and lookup keys, the version, and
        # on chunk 0 the title key and the packed record
        indexed = {k for k, v in meta.items() if not isinstance(v, bool) and k != "record_2"}  # (LONG's record: 2 parts)
        want = {"paper_id", "chunk", "n_chunks", "date_ord", "added", "version"}
        assert indexed == (want | {"title_key", "record", "record_parts"} if meta["chunk"] == 0 else want)
        assert all(len(v.encode()) <= 900 for v in meta.values() if isinstance(v, str))  # no overflow page
        if meta["chunk"] == 0:  # fields the rest determines are left out of the record
            record = expand(meta)
            assert "url" not in record and "date" not in record and "arxiv_id" not in record
    glacier = index.stored_papers(["arxiv:2401.00001"])["arxiv:2401.00001"]
    assert glacier.chunks_expected > 1 and glacier.complete
    paper = glacier.paper
    assert (paper.url, paper.date, paper.arxiv_id) == ("https://arxiv.org/abs/2401.00001", "2024-01-05", "2401.00001")
    assert paper.authors == ["A. Ice", "B. Snow"] and paper.abstract == LONG
    # documents read back as embedded, even for a chunk whose chunk 0 is not in the same page
    want = {c.chunk_id: c.text for c in chunk_paper(paper)}
    got = index.chroma.get({"paper_id": "arxiv:2401.00001"}, ["documents"])
    assert dict(zip(got["ids"], got["documents"])) == want
    (cid,) = [c for c in want if not c.endswith("#0")][:1]
    assert index.collection.get(ids=[cid], include=["documents"])["documents"] == [want[cid]]
    record = index.side.record("arxiv:2401.00001")
    assert record["passages"] == [c.passage for c in chunk_paper(paper)]
    # filters still find papers by their flags
    assert set(index.chroma.get({"cat:cs.CL": True}, ["metadatas"])["ids"]) == {"arxiv:2401.00002#0"}



def test_a_delete_cut_short_never_leaves_chunks_without_their_record(tmp_path, monkeypatch):
    """Chunk 0 holds a paper's record (layout 4): a removal killed between two delete calls leaves
    either all of a paper or its chunk 0 with some of the rest, so the paper still reads whole."""
    from ingest.store import chroma

    index = PaperIndex(make_settings(tmp_path / "idx"))
    ingest([write_jsonl(tmp_path / "p.jsonl", _records())], index=index, progress=False)
    ids = sorted(index.chroma.get({"paper_id": "arxiv:2401.00001"}, [])["ids"])  # "#0" sorts first
    assert len(ids) >= 2 and ids[0].endswith("#0")
    calls: list[list[str]] = []
    real = index.collection.delete

    def delete_then_die(ids=None, **kw):
        if calls:
            raise KeyboardInterrupt  # killed before the second call
        calls.append(list(ids))
        return real(ids=ids, **kw)

    monkeypatch.setattr(chroma, "DELETE_BATCH", len(ids) - 1)
    monkeypatch.setattr(index.collection, "delete", delete_then_die)
    with pytest.raises(KeyboardInterrupt):
        index.chroma.delete(ids)
    assert calls == [ids[1:]]  # every later chunk went first
    left = index.stored_papers(["arxiv:2401.00001"])["arxiv:2401.00001"]
    assert left.paper.title == "Glacier mass balance" and left.paper.abstract == LONG and not left.complete

def test_passage_of_every_layout():
    meta = {"title": "T", SPAN: 3 << 32 | 8}
    assert passage_of(meta, None, "One two three") == " two "
    assert passage_of({"title": "T", "passage": "odd"}, None, "x") == "odd"
    assert passage_of({"title": "T"}, "T\nold passage", "ignored") == "old passage"
    p = Paper(title="A", abstract="B", paper_id="doi:1", date="2024-05", doi="1", sources=[Source("f.csv")])
    (chunk,) = chunk_paper(p)
    meta = expand(chunk_metadata(p, chunk, p.content_hash()))
    assert meta["date"] == "2024-05" and paper_from_metadata(meta) == p  # a partial date is kept as it was
    assert paper_from_metadata(layout3_metadata(p, chunk, p.content_hash())) == p
    long = Paper(title="Ü", abstract="Gletscher schmelzen – ünd wachsen. " * 100, paper_id="doi:2")
    meta = chunk_metadata(long, chunk_paper(long)[0], long.content_hash())
    assert meta["record_parts"] == 5 and max(len(v.encode()) for v in meta.values() if isinstance(v, str)) <= 900
    assert paper_from_metadata(expand(meta)).abstract == long.abstract  # cut between characters, joined back
    second = chunk_paper(long)[1]
    assert passage_of(expand(chunk_metadata(long, second, "h")), None, long.abstract) == second.passage


def test_a_rewrite_over_a_longer_record_reads_only_its_own_parts():
    """Chroma's upsert keeps keys the new metadata lacks: a record of fewer parts written over one
    of more (without clearing, as for a chunk thought new) still reads as the new record."""
    long = Paper(title="A", abstract="Gletscher schmelzen. " * 200, paper_id="doi:3")
    short = Paper(title="A", abstract="Short now.", paper_id="doi:3")
    stale = chunk_metadata(long, chunk_paper(long)[0], long.content_hash())
    fresh = chunk_metadata(short, chunk_paper(short)[0], short.content_hash())
    assert paper_from_metadata(expand(stale | fresh)) == paper_from_metadata(expand(fresh))
    layout3 = layout3_metadata(long, chunk_paper(long)[0], long.content_hash())
    assert expand(layout3 | fresh) == expand(fresh)  # layout 3's keys left over are not read


def _write_old_layout(index: PaperIndex, path, layout: str = "llama-index") -> None:
    """Write papers as askpapers did before: "llama-index": every field (empty ones as ''), the
    text as the document, and llama-index's node keys (`_node_content` repeats the metadata);
    "layout3": every field as a key of its own on every chunk, no document."""
    from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
    from llama_index.core.vector_stores.utils import node_to_metadata_dict

    from ingest.readers import read_paths

    [(_p, papers, _e)] = list(read_paths([path]))
    model = index.embed_model
    index.begin_write()
    for paper in papers:
        chunks = chunk_paper(paper)
        vectors = model.embed([c.text for c in chunks])
        for chunk, vector in zip(chunks, vectors):
            if layout == "layout3":
                index.collection._collection.upsert(ids=[chunk.chunk_id], embeddings=[vector.tolist()],
                                                    metadatas=[layout3_metadata(paper, chunk, paper.content_hash(), 1)])
                continue
            meta = {k: v for k, v in layout3_metadata(paper, chunk, paper.content_hash(), 1).items() if k != SPAN}
            meta |= {k: meta.get(k, d) for k, d in (("authors", "[]"), ("categories", "[]"), ("date", paper.date or ""),
                                                     ("arxiv_id", paper.arxiv_id or ""), ("doi", paper.doi or ""),
                                                     ("url", paper.url or ""))}
            node = TextNode(id_=chunk.chunk_id, text=chunk.text, metadata=meta, embedding=vector.tolist(),
                            relationships={NodeRelationship.SOURCE: RelatedNodeInfo(node_id=paper.paper_id)})
            flat = {k: ("" if v is None else v) for k, v in
                    node_to_metadata_dict(node, remove_text=True, flat_metadata=True).items()}
            index.collection._collection.upsert(ids=[chunk.chunk_id], embeddings=[vector.tolist()],
                                                metadatas=[flat], documents=[chunk.text])
    index.commit()


def _papers(index: PaperIndex) -> dict:
    """What readers see: every paper's record with passages, and its filter fields (sources by file
    name and without the digest of the record each gave: older layouts kept neither the path nor it)."""
    side = index.side

    def record(pid):
        rec = side.record(pid)
        return rec | {"sources": [{k: Path(v).name if k == "name" else v for k, v in s.items() if k != "digest"}
                                  for s in rec["sources"]]}

    return {pid: (json.dumps(record(pid), sort_keys=True), side.table.n_chunks[i], side.table.date_ord[i],
                  sorted(side.table.categories[i]), sorted(Path(s).name for s in side.table.sources[i]))
            for i, pid in enumerate(side.table.ids)}


@pytest.mark.parametrize("layout", ["llama-index", "layout3"])
@pytest.mark.parametrize("fresh_reader", [False, True])
def test_an_old_layout_index_opens_and_updates_like_a_new_one(tmp_path, fresh_reader, layout):
    first = write_jsonl(tmp_path / "a.jsonl", _records())
    changed = _records()
    changed[0]["abstract"] = "A short rewrite: glaciers shrink."  # fewer chunks than before
    changed[1]["abstract"] = LONG.replace("Glaciers", "Tokenizers")  # more chunks than before
    changed.append({"id": "2401.00004", "title": "New paper", "abstract": "Entirely new."})
    second = write_jsonl(tmp_path / "b.jsonl", changed)

    old = PaperIndex(make_settings(tmp_path / "old"))
    _write_old_layout(old, first, layout)
    assert all(("_node_content" in m) == (layout == "llama-index") and "version" not in m for m in _raw(old)["metadatas"])
    new = PaperIndex(make_settings(tmp_path / "new"))
    ingest([first], index=new, progress=False)
    assert _papers(old) == _papers(new)  # the old layout reads the same

    for index in (old, new):
        report = ingest([second], index=index, progress=False)
        assert (report.added, report.updated, report.sources_updated) == (1, 2, 1)
    if fresh_reader:
        old, new = PaperIndex(old.settings), PaperIndex(new.settings)
    assert _papers(old) == _papers(new)
    raw = _raw(old)
    for m in raw["metadatas"]:  # every paper was rewritten: no key of an older layout left
        assert not (set(LEGACY_KEYS) | set(LAYOUT3_KEYS) - {"title_key"}) & set(m) and "version" in m
    for index in (old, new):  # the glacier abstract shrank to one part: its old second part is gone
        (first,) = _raw(index, ids=["arxiv:2401.00001#0"])["metadatas"]
        assert "abstract_2" not in first and "record_2" not in first and first["record_parts"] == 1
    assert len(raw["ids"]) == old.collection.count() == new.collection.count()
    assert ingest([second], index=old, progress=False).unchanged == 4  # and it is seen as up to date


def test_disk_per_component_adds_up(tmp_path):
    from benchmarks.disk import measure, table

    index = PaperIndex(make_settings(tmp_path / "idx"))
    ingest([write_jsonl(tmp_path / "p.jsonl", _records())], index=index, progress=False)
    result = measure(tmp_path / "idx", keys=True)
    assert (result["papers"], result["chunks"]) == (3, index.collection.count())
    assert result["total_bytes"] == sum(result["components"].values()) > 0
    assert result["components"]["side index"] > 0 and result["metadata_keys"]["record"] > len(LONG)
    assert "| **total** |" in table(result)
