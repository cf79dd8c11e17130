"""Fusing two paper rankings into one: reciprocal rank fusion or weighted min-max scores."""

from __future__ import annotations

import numpy as np

RRF_K = 60  # the constant of Cormack et al.'s reciprocal rank fusion (RetrievalConfig.rrf_k)


def fuse(dense: list[tuple[str, float]], sparse: list[tuple[str, float]], method: str = "rrf",
         weight_dense: float = 1.0, weight_sparse: float = 1.0, rrf_k: int = RRF_K) -> dict[str, float]:
    """Fuse two paper rankings [(paper_id, score)], best first.

    `rrf`: Σ w / (k + rank). `rrf-confidence`: the same, each ranking's weight scaled by
    1 + `confidence` (how far its head stands out). `score`: weighted mix of min-max scores.
    """
    fused: dict[str, float] = {}
    if method == "rrf-confidence":
        weight_dense *= 1.0 + confidence(dense)
        weight_sparse *= 1.0 + confidence(sparse)
        method = "rrf"
    if method == "rrf":
        for weight, ranking in ((weight_dense, dense), (weight_sparse, sparse)):
            for rank, (pid, _s) in enumerate(ranking, start=1):
                fused[pid] = fused.get(pid, 0.0) + weight / (rrf_k + rank)
        return fused
    if method == "score":
        total = weight_dense + weight_sparse
        for weight, ranking in ((weight_dense, dense), (weight_sparse, sparse)):
            if not ranking:
                continue
            top, low = ranking[0][1], ranking[-1][1]
            span = (top - low) or 1.0
            for pid, s in ranking:
                fused[pid] = fused.get(pid, 0.0) + (weight / total) * (s - low) / span
        return fused
    raise ValueError(f"unknown fusion method {method!r}")


def confidence(ranking: list[tuple[str, float]], head: int = 10) -> float:
    """0..1: the share of the ranking's score span between its first and its `head`-th entry.

    Comparable across retrievers whose scores live on different scales (cosine, BM25): a ranking
    whose top papers stand well above the rest is more sure of them.
    """
    if len(ranking) <= head:
        return 0.0
    top, at_head, low = ranking[0][1], ranking[head - 1][1], ranking[-1][1]
    return (top - at_head) / (top - low) if top > low else 0.0


def rrf_ranks(scores: np.ndarray, rrf_k: int = RRF_K) -> np.ndarray:
    """1 / (k + rank) of each entry, ranking by descending score."""
    order = np.argsort(-scores, kind="stable")
    out = np.empty(len(scores), dtype=np.float64)
    out[order] = 1.0 / (rrf_k + 1 + np.arange(len(scores)))
    return out
