"""The bundled embedding model: offline, normalised, batch-independent; and its llama-index wrapper."""

from __future__ import annotations

import numpy as np

from assistant.settings import Settings
from ingest.embedding import as_llama_index, embedding_model, model_signature


def test_bundled_model_vectors():
    enc = embedding_model(Settings(index_dir="unused"))
    texts = ["Hypernetworks predict embeddings for new tokens.", "A recipe for lemon cake.",
             "Initialising the embeddings of unseen vocabulary items with a hypernetwork."]
    vecs = enc.embed(texts)
    assert vecs.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert vecs[0] @ vecs[2] > vecs[0] @ vecs[1] + 0.2  # meaning, not words
    single = np.asarray(enc.get_query_embedding(texts[1]))
    assert np.allclose(single, vecs[1], atol=1e-5)  # padding in a batch changes nothing


def test_llama_index_wrapper_matches_encoder():
    enc = embedding_model(Settings(index_dir="unused"))
    wrapped = as_llama_index(enc)
    assert np.allclose(wrapped.get_query_embedding("contrastive decoding"), enc.get_query_embedding("contrastive decoding"),
                       atol=1e-6)
    assert len(wrapped.get_text_embedding_batch(["a", "b"])) == 2


def test_model_signature():
    assert model_signature(Settings(index_dir="x")) == "all-MiniLM-L6-v2-int8"
    assert model_signature(Settings(index_dir="x", embed_model="e5", embed_base_url="http://h/v1")) == \
        "openai-compatible:e5"


def test_a_registered_encoder_is_chosen_by_name(monkeypatch):
    """The encoder seam: one class with the protocol's members plus one registration line."""
    from ingest import embedding

    class Hashing:
        model_name, dimension = "hashing-8", 8

        def __init__(self, batch_size: int) -> None:
            self.batch_size = batch_size

        def embed(self, texts):
            out = np.zeros((len(texts), 8), dtype=np.float32)
            for i, t in enumerate(texts):
                out[i, hash(t) % 8] = 1.0
            return out

        def get_query_embedding(self, query):
            return self.embed([query])[0].tolist()

    monkeypatch.setitem(embedding.ENCODERS, "hashing-8", Hashing)
    enc = embedding_model(Settings(index_dir="x", embed_model="hashing-8", embed_batch_size=7))
    assert isinstance(enc, embedding.Encoder) and isinstance(enc, Hashing) and enc.batch_size == 7
    assert isinstance(embedding_model(Settings(index_dir="x")), embedding.Encoder)


def test_unknown_model_names_the_known_ones():
    import pytest

    with pytest.raises(ValueError, match="all-MiniLM-L6-v2-int8"):
        embedding_model(Settings(index_dir="x", embed_model="no-such-model"))
