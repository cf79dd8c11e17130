"""The two seams of retrieval: what finds papers, and what re-orders what was found."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ingest.filters import SearchFilters

from .hit import Hit


@runtime_checkable
class Retriever(Protocol):
    """Finds papers: the best `k` for `query`, best first, one `Hit` per paper."""

    def search(self, query: str, k: int = 10, filters: SearchFilters | dict | None = None) -> list[Hit]: ...


@runtime_checkable
class Reranker(Protocol):
    """Re-orders hits for `query` (it may drop some, never adds papers). Returns best first."""

    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]: ...
