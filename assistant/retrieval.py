"""Hybrid retrieval: dense (Chroma) + BM25, fused, one hit per paper."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ingest.filters import SearchFilters
from ingest.records import Source
from ingest.store import PaperIndex

CANDIDATES = 100  # chunks taken from each retriever before fusion
RRF_K = 60  # the constant of Cormack et al.'s reciprocal rank fusion
FUSION = "rrf"


@dataclass
class Hit:
    """One paper found for a query, with the passage that matched best."""

    paper_id: str
    title: str
    abstract: str
    score: float
    url: str | None
    authors: list[str]
    date: str | None
    sources: list[Source]
    passage: str
    categories: list[str] = field(default_factory=list)
    dense_score: float = 0.0  # best cosine similarity of the paper's chunks (0 if not retrieved densely)
    bm25_score: float = 0.0  # best BM25 score of the paper's chunks (0 if no keyword match)

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["sources"] = [{"name": s.name, "date": s.date} for s in self.sources]
        return d


def _best_per_paper(ranked: list[tuple[str, float]], paper_of) -> list[tuple[str, str, float]]:
    """Chunk ranking → paper ranking: (paper_id, best chunk id, best score), best first."""
    seen: dict[str, tuple[str, float]] = {}
    order: list[str] = []
    for cid, score in ranked:
        pid = paper_of(cid)
        if pid not in seen:
            seen[pid] = (cid, score)
            order.append(pid)
    return [(pid, *seen[pid]) for pid in order]


def fuse(dense: list[tuple[str, str, float]], sparse: list[tuple[str, str, float]], method: str = FUSION,
         weight_dense: float = 1.0, weight_sparse: float = 1.0) -> dict[str, float]:
    """Fuse two paper rankings. `rrf`: Σ w/(k + rank). `score`: convex mix of max-normalised scores."""
    fused: dict[str, float] = {}
    if method == "rrf":
        for weight, ranking in ((weight_dense, dense), (weight_sparse, sparse)):
            for rank, (pid, _cid, _s) in enumerate(ranking, start=1):
                fused[pid] = fused.get(pid, 0.0) + weight / (RRF_K + rank)
        return fused
    if method == "score":
        total = weight_dense + weight_sparse
        for weight, ranking in ((weight_dense, dense), (weight_sparse, sparse)):
            if not ranking:
                continue
            top = ranking[0][2]
            low = ranking[-1][2] if len(ranking) > 1 else 0.0
            span = (top - low) or 1.0
            for pid, _cid, s in ranking:
                fused[pid] = fused.get(pid, 0.0) + (weight / total) * (s - low) / span
        return fused
    raise ValueError(f"unknown fusion method {method!r}")


class HybridRetriever:
    """Dense + BM25 retrieval over a PaperIndex, grouped to one hit per paper."""

    def __init__(self, index: PaperIndex, candidates: int = CANDIDATES, fusion: str = FUSION,
                 weight_dense: float = 1.0, weight_sparse: float = 1.0, mode: str = "hybrid") -> None:
        self.index = index
        self.candidates = candidates
        self.fusion = fusion
        self.weight_dense = weight_dense
        self.weight_sparse = weight_sparse
        self.mode = mode  # "hybrid", "dense" or "bm25" (the last two for benchmarks)

    def search(self, query: str, k: int = 10, filters: SearchFilters | dict | None = None) -> list[Hit]:
        query = (query or "").strip()
        if not query or k <= 0:
            return []
        filters = SearchFilters.coerce(filters)
        index = self.index
        index.refresh()
        bm25 = index.bm25
        table = bm25.table
        if not len(table):
            return []
        paper_of_chunk = dict(zip(table.ids, table.paper_ids)).get
        n = max(self.candidates, 3 * k)

        dense: list[tuple[str, float]] = []
        if self.mode in ("hybrid", "dense"):
            vector = index.embed_model.get_query_embedding(query)
            dense = index.dense(vector, min(n, len(table)), filters.chroma_where() if filters else None)
        sparse: list[tuple[str, float]] = []
        if self.mode in ("hybrid", "bm25"):
            sparse = bm25.search(query, n, bm25.mask(filters))

        paper_of = lambda cid: paper_of_chunk(cid) or cid.rsplit("#", 1)[0]  # noqa: E731
        dense_p = _best_per_paper(dense, paper_of)
        sparse_p = _best_per_paper(sparse, paper_of)
        fused = fuse(dense_p, sparse_p, self.fusion, self.weight_dense, self.weight_sparse)
        ranked = sorted(fused, key=lambda pid: -fused[pid])[:k]

        best_dense = {pid: (cid, s) for pid, cid, s in dense_p}
        best_sparse = {pid: (cid, s) for pid, cid, s in sparse_p}
        best_chunk = {pid: (best_dense.get(pid) or best_sparse[pid])[0] for pid in ranked}
        metas = index.chunks(list(best_chunk.values()))
        hits = []
        for pid in ranked:
            meta = metas.get(best_chunk[pid])
            if meta is None:  # deleted since the BM25 snapshot
                continue
            hits.append(
                Hit(
                    paper_id=pid,
                    title=meta["title"],
                    abstract=meta["abstract"],
                    score=round(fused[pid], 6),
                    url=meta.get("url") or None,
                    authors=json.loads(meta.get("authors") or "[]"),
                    date=meta.get("date") or None,
                    sources=[Source(n_, d) for n_, d in json.loads(meta.get("sources") or "[]")],
                    passage=meta.get("passage") or "",
                    categories=json.loads(meta.get("categories") or "[]"),
                    dense_score=round(best_dense.get(pid, ("", 0.0))[1], 6),
                    bm25_score=round(best_sparse.get(pid, ("", 0.0))[1], 6),
                )
            )
        return hits
