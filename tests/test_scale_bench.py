"""The scale benchmark's own parts: its embeddings endpoint, its synthetic papers, its disk split."""

from __future__ import annotations

import sys
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
sys.path.insert(0, str(BENCH))

import scale_data  # noqa: E402
import disk  # noqa: E402
import scale_embed  # noqa: E402


@pytest.fixture
def endpoint():
    vectors = scale_embed.Vectors(None, "random")
    server = ThreadingHTTPServer(("127.0.0.1", 0), scale_embed.make_handler(vectors))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", vectors
    server.shutdown()
    server.server_close()


def test_endpoint_serves_the_openai_client_deterministic_unit_vectors(endpoint):
    from ingest.embedding import OpenAICompatibleEncoder

    url, vectors = endpoint
    enc = OpenAICompatibleEncoder("scale-test", url, batch_size=2)
    texts = ["A title line.\nThe first sentence is here. The second one follows it here.", "Another text, unrelated."]
    got = enc.embed(texts + texts[:1])
    assert got.shape == (3, scale_embed.DIM)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert np.allclose(got[0], got[2]) and not np.allclose(got[0], got[1])
    assert np.allclose(got[0], vectors.text(texts[0]), atol=1e-6)  # base64 and JSON floats agree
    assert enc.dimension == scale_embed.DIM


def test_text_vector_is_the_mean_of_its_sentences():
    v = scale_embed.Vectors(None, "random")
    a, b = "The first sentence is long enough here.", "The second sentence is long enough too."
    mean = scale_embed.hashed_vector(a) + scale_embed.hashed_vector(b)
    assert np.allclose(v.text(f"{a} {b}"), mean / np.linalg.norm(mean), atol=1e-6)


def test_synthetic_papers_are_the_same_in_every_run_and_ids_unique():
    pool = [f"Sentence number {i} of the pool, long enough." for i in range(50)]
    assert scale_data.record(pool, 123) == scale_data.record(pool, 123)
    assert scale_data.record(pool, 123) != scale_data.record(pool, 124)
    ids = {scale_data.arxiv_id(i) for i in range(0, 1_200_000, 997)}
    assert len(ids) == len(range(0, 1_200_000, 997))
    assert scale_data.arxiv_id(scale_data.NEW_START) not in {scale_data.arxiv_id(i) for i in range(0, 1_000_000, 1000)}


def test_disk_components_add_up_to_the_total(tmp_path):
    import chromadb
    from chromadb.config import Settings

    client = chromadb.PersistentClient(str(tmp_path), settings=Settings(anonymized_telemetry=False))
    coll = client.create_collection("scale-test")
    coll.add(ids=["a#0", "b#0"], embeddings=[[1.0, 0.0], [0.0, 1.0]], documents=["x" * 500, "y"],
             metadatas=[{"paper_id": "a", "_node_content": "z" * 4000, "cat:cs.CL": True},
                        {"paper_id": "b", "title": "t"}])
    (tmp_path / "side-index").mkdir()
    (tmp_path / "side-index" / "f").write_bytes(b"0" * 10_000)
    result = disk.measure(tmp_path, keys=True)
    parts = result["components"]
    assert (result["papers"], result["chunks"]) == (2, 2)
    assert parts["side index"] == 10_000
    assert result["total_bytes"] == sum(parts.values())
    assert parts["HNSW segment files"] + parts["sqlite: embeddings_queue (write log)"] > 0
    keys = result["metadata_keys"]
    assert keys["_node_content"] > keys["cat:*"] > 0


@pytest.mark.slow
def test_direct_write_commits_every_part_and_the_library_answers(tmp_path, monkeypatch, endpoint):
    """scale_probe direct: a commit after each `commit_every` papers (a side-index segment each)
    and at the end; every paper is searchable afterwards."""
    import scale_probe
    from ingest.store import PaperIndex
    from ingest.store.side import SideIndex
    from ingest.settings import get_settings

    url, _vectors = endpoint
    pool = [f"Sentence {i} about sparse retrieval and dense vectors, long enough." for i in range(40)]
    files = scale_data.library_files(pool, tmp_path / "data", 25)  # one file of 25
    more = scale_data.write_papers(pool, tmp_path / "data" / "more.jsonl", 25, 40)
    for key, value in {"INDEX_DIR": str(tmp_path / "lib"), "EMBED_BASE_URL": url,
                       "EMBED_MODEL": "scale-test", "EMBED_API_KEY": "local"}.items():
        monkeypatch.setenv(f"ASKPAPERS_{key}", value)
    out = scale_probe.run_direct(str(tmp_path), "random", 20, [str(p) for p in files] + [str(more)])
    assert out["papers"] == 40
    assert [c["papers"] for c in out["commits"]] == [25, 40]  # after the first file (>= 20), then the rest
    index = PaperIndex(get_settings())
    side = index.side
    assert len(side.table) == 40
    manifest = SideIndex.saved_manifest(Path(index.settings.side_index_dir))
    assert manifest and len(manifest["segments"]) >= 1
    hits = [pid for pid, _ in side.search(pool[3], 10)]
    assert hits, "the directly written papers answer a BM25 search"

    # a run killed after the first file, resumed: the written file is skipped, the rest written
    last = scale_data.write_papers(pool, tmp_path / "data" / "last.jsonl", 40, 50)
    again = scale_probe.run_direct(str(tmp_path), "random", 0, [str(p) for p in files] + [str(more), str(last)])
    assert (again["papers"], again["skipped_as_written"]) == (50, 40)
    index = PaperIndex(get_settings())
    assert len(index.side.table) == 50 and index.needs_commit() is None
