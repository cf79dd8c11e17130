"""The search result: one paper found for a query, with the passage that matched best."""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.records import Source


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
    bm25_score: float = 0.0  # BM25 score of the paper (0 if no keyword match)
    doi: str | None = None  # the stored DOI, when the source had one (for exports)

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["sources"] = [{"name": s.name, "date": s.date} for s in self.sources]
        return d
