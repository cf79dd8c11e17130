"""Hybrid retrieval: dense (Chroma, over chunks) + BM25 (over papers), fused, one hit per paper."""

from __future__ import annotations

import dataclasses
import re

import numpy as np

from ingest.chunking import parse_chunk_id
from ingest.filters import SearchFilters
from ingest.records import Source
from ingest.store import PaperIndex
from ingest.store.sparse import SideIndex

from .config import RetrievalConfig
from .feedback import feedback
from .fusion import fuse
from .hit import Hit
from .named import named_first
from .registry import make_reranker

_TOKEN = re.compile(r"[a-z0-9]+")


def best_per_paper(ranked: list[tuple[str, float]]) -> list[tuple[str, str, float]]:
    """Chunk ranking → paper ranking: (paper_id, best chunk id, best score), best first."""
    seen: dict[str, tuple[str, float]] = {}
    for cid, score in ranked:
        seen.setdefault(parse_chunk_id(cid)[0], (cid, score))
    return [(pid, cid, score) for pid, (cid, score) in seen.items()]


def _overlap(query_terms: set[str], text: str) -> int:
    return len(query_terms.intersection(_TOKEN.findall(text.lower())))


class HybridRetriever:
    """Dense + BM25 retrieval over a PaperIndex, grouped to one hit per paper (a `Retriever`).

    Stage 1 fuses dense chunk hits (best chunk per paper) with BM25 paper hits (`fusion`).
    Stage 2 (`feedback`) re-ranks the stage-1 candidates after pseudo-relevance feedback.
    Then the configured rerankers (`registry`) re-order the top `rerank_depth` hits. The knobs
    come from `config` (default: the settings' `retrieval_*` fields); keyword arguments
    override single knobs (benchmarks compare modes and fusions this way).
    """

    def __init__(self, index: PaperIndex, config: RetrievalConfig | None = None, mode: str = "hybrid",
                 **overrides) -> None:
        self.index = index
        config = config or RetrievalConfig.from_settings(getattr(index, "settings", None))
        self.config = dataclasses.replace(config, **overrides)
        self.mode = mode  # "hybrid", "dense" or "bm25" (the last two for benchmarks)
        self.rerankers = [make_reranker(name, index, getattr(index, "settings", None))
                          for name in self.config.rerankers]

    def search(self, query: str, k: int = 10, filters: SearchFilters | dict | None = None) -> list[Hit]:
        query = (query or "").strip()
        if not query or k <= 0:
            return []
        filters = SearchFilters.coerce(filters)
        index, config = self.index, self.config
        index.refresh()
        side = index.side
        if not len(side.table):
            return []
        n = max(config.candidates, 3 * k)

        vector = None
        dense: list[tuple[str, str, float]] = []
        if self.mode in ("hybrid", "dense"):
            vector = np.asarray(index.embed_model.get_query_embedding(query), dtype=np.float32)
            where = filters.chroma_where() if filters else None
            dense = best_per_paper(index.dense(vector.tolist(), min(n, side.chunks), where))
            # one snapshot: while another process ingests, Chroma can hold papers this side index
            # does not know yet (or no longer); answer from what the side index knows
            dense = [d for d in dense if d[0] in side.row]
        terms = side.query_terms(query)
        sparse: list[tuple[str, float]] = []
        if self.mode in ("hybrid", "bm25"):
            sparse = side.search(terms, n, side.mask(filters))

        fused = fuse([(p, s) for p, _c, s in dense], sparse, config.fusion, config.weight_dense,
                     config.weight_sparse, config.rrf_k)
        ranked = sorted(fused, key=lambda pid: -fused[pid])
        if (config.feedback and self.mode == "hybrid" and vector is not None and side.vectors is not None
                and len(ranked) > config.feedback_docs):
            ranked, fused = feedback(side, terms, vector, ranked, config)
        if self.mode == "hybrid":
            ranked = named_first(side, query, ranked, fused, side.mask(filters))
        if not self.rerankers:
            return self._hits(side, query, ranked[:k], fused, dense, dict(sparse))
        hits = self._hits(side, query, ranked[: max(k, config.rerank_depth)], fused, dense, dict(sparse))
        for reranker in self.rerankers:
            hits = reranker.rerank(query, hits)
        return hits[:k]

    def hits_for(self, paper_ids: list[str], query: str) -> list[Hit]:
        """The given papers, by id, as hits for `query` (in the given order; unknown ids skipped).

        A follow-up's papers are the ones the conversation cited: they are fetched by id, with
        the dense and BM25 scores `search` would give them, not searched for again.
        """
        index = self.index
        index.refresh()
        side = index.side
        known = [pid for pid in dict.fromkeys(paper_ids) if pid in side.row]
        if not known:
            return []
        vector = index.embed_model.get_query_embedding(query)
        n_chunks = sum(int(side.table.n_chunks[side.row[pid]]) for pid in known)
        dense = best_per_paper(index.dense(list(vector), n_chunks, {"paper_id": {"$in": known}}))
        bm25 = side.term_scores(side.query_terms(query))
        fused = {pid: 0.0 for pid in known}
        return self._hits(side, query, known, fused, dense, {pid: float(bm25[side.row[pid]]) for pid in known})

    @staticmethod
    def _hits(side: SideIndex, query: str, ranked: list[str], fused: dict[str, float],
              dense: list[tuple[str, str, float]], sparse: dict[str, float]) -> list[Hit]:
        """Hits read from the same side-index snapshot the ranking used."""
        best_dense = {pid: cid for pid, cid, _s in dense}
        dense_score = {pid: s for pid, _c, s in dense}
        terms = set(_TOKEN.findall(query.lower()))
        hits = []
        for pid in ranked:
            rec = side.record(pid)
            if rec is None:
                continue
            passages = rec.get("passages") or [rec["abstract"]]
            if pid in best_dense:
                n = parse_chunk_id(best_dense[pid])[1]
                passage = passages[n] if n < len(passages) else passages[0]
            else:  # found by keywords only: the passage sharing most words with the query
                passage = max(passages, key=lambda p: _overlap(terms, p))
            hits.append(
                Hit(
                    paper_id=pid,
                    title=rec["title"],
                    abstract=rec["abstract"],
                    score=round(fused[pid], 6),
                    url=rec.get("url"),
                    authors=list(rec.get("authors") or []),
                    date=rec.get("date"),
                    sources=[Source.from_stored(s) for s in rec.get("sources") or []],
                    passage=passage,
                    categories=list(rec.get("categories") or []),
                    dense_score=round(dense_score.get(pid, 0.0), 6),
                    bm25_score=round(sparse.get(pid, 0.0), 6),
                    doi=rec.get("doi") or None,
                )
            )
        return hits
