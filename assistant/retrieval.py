"""Kept for its import path: retrieval lives in `assistant.retrieve` (a package, one job per module)."""

from .retrieve import (
    RRF_K,
    Hit,
    HybridRetriever,
    Reranker,
    RetrievalConfig,
    Retriever,
    Source,
    best_per_paper,
    fuse,
)

__all__ = ["RRF_K", "Hit", "HybridRetriever", "Reranker", "RetrievalConfig", "Retriever", "Source",
           "best_per_paper", "fuse"]
