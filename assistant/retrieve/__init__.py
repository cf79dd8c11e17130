"""Retrieval: a `Retriever` finds papers, `Reranker`s re-order them (see registry.py).

`hybrid` (dense + BM25, one hit per paper), `fusion` (RRF / score fusion), `feedback`
(pseudo-relevance feedback), `config` (the knobs, from the settings' `retrieval_*` fields).
"""

from ingest.records import Source

from .config import RetrievalConfig
from .fusion import RRF_K, fuse
from .hit import Hit
from .hybrid import HybridRetriever, best_per_paper
from .protocols import Reranker, Retriever
from .registry import RERANKERS, make_reranker

__all__ = [
           "RERANKERS",
           "RRF_K",
           "Hit",
           "HybridRetriever",
           "Reranker",
           "RetrievalConfig",
           "Retriever",
           "Source",
           "best_per_paper",
           "fuse",
           "make_reranker",
]
