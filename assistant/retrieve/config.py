"""The retrieval knobs, read from the settings object (`retrieval_*` fields)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields


@dataclass(frozen=True)
class RetrievalConfig:
    """Every constant of the retrieval method; defaults are the measured ones (benchmarks/README.md)."""

    candidates: int = 100  # chunks / papers taken from each retriever before fusion
    fusion: str = "rrf"  # "rrf" or "score" (weighted min-max scores)
    rrf_k: int = 60  # the constant of Cormack et al.'s reciprocal rank fusion
    weight_dense: float = 1.0
    weight_sparse: float = 1.0
    feedback: bool = True  # stage 2: pseudo-relevance feedback over the stage-1 candidates
    feedback_docs: int = 5  # papers taken as pseudo-relevant
    feedback_vector_weight: float = 1.0  # Rocchio: query + w * mean(vector of those papers)
    feedback_terms: int = 10  # BM25: query terms + the papers' most characteristic terms ...
    feedback_term_weight: float = 0.5  # ... at this weight (the best expansion term weighs this much)
    rerankers: tuple[str, ...] = field(default_factory=tuple)  # names in registry.RERANKERS, applied in order
    rerank_depth: int = 20  # hits handed to the rerankers (at least k)

    @classmethod
    def from_settings(cls, settings) -> RetrievalConfig:
        """The `retrieval_<name>` fields of a Settings object (missing ones keep their default)."""
        values = {}
        for f in fields(cls):
            value = getattr(settings, f"retrieval_{f.name}", None)
            if value is not None:
                values[f.name] = tuple(value) if f.name == "rerankers" else value
        return cls(**values)
