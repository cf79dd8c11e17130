"""What lives beside Chroma, one row per paper: BM25, the filter fields, and a mean vector.

* BM25 (bm25s, English stop words, Snowball stemming) over title + whole abstract. One
  document per paper: on Cranfield this beats BM25 over chunks (nDCG@10 0.388 vs 0.370).
* The fields filters need (date, categories, sources), so BM25 can be filtered without Chroma.
* The mean of each paper's chunk vectors (float16), for pseudo-relevance feedback.

Rebuilt from the collection after each ingest and saved beside the Chroma data, stamped with
the collection's generation so readers know when to reload it.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

DIRNAME = "side-index"
MANIFEST = "manifest.json"
FORMAT = 3  # bump when the saved layout changes: older saves are rebuilt


def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: list[str]) -> list[list[str]]:
    import bm25s

    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer(), show_progress=False, return_ids=False)


@dataclass
class PaperTable:
    """Per-paper facts the readers need without asking Chroma: ids, chunk counts, filter fields."""

    ids: list[str] = field(default_factory=list)
    n_chunks: list[int] = field(default_factory=list)
    date_ord: list[int] = field(default_factory=list)
    categories: list[list[str]] = field(default_factory=list)
    sources: list[list[str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.ids)


class SideIndex:
    """BM25, filter masks and mean vectors over the papers of one index generation."""

    def __init__(self, table: PaperTable, retriever, vectors: np.ndarray | None, generation: str) -> None:
        self.table = table
        self.retriever = retriever
        self.vectors = vectors
        self.generation = generation
        self._date = np.asarray(table.date_ord, dtype=np.int64)
        self.row = {pid: i for i, pid in enumerate(table.ids)}

    @classmethod
    def build(cls, table: PaperTable, texts: list[str], vectors: np.ndarray | None, generation: str) -> "SideIndex":
        import bm25s

        retriever = None
        if texts:
            retriever = bm25s.BM25()  # Lucene-style BM25, k1=1.5, b=0.75
            retriever.index(tokenize(texts), show_progress=False)
        return cls(table, retriever, vectors, generation)

    # --- persistence
    def save(self, base: Path) -> None:
        """Write atomically: build in a temp dir, then swap it in."""
        base.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".side-", dir=base))
        if self.retriever is not None:
            self.retriever.save(str(tmp / "bm25"))
        if self.vectors is not None:
            np.save(tmp / "vectors.npy", self.vectors)
        (tmp / "table.json").write_text(json.dumps(self.table.__dict__))
        (tmp / MANIFEST).write_text(json.dumps({"generation": self.generation, "papers": len(self.table),
                                                "format": FORMAT}))
        target = base / DIRNAME
        old = base / f".side-old-{os.getpid()}"
        if target.exists():
            os.replace(target, old)
        os.replace(tmp, target)
        shutil.rmtree(old, ignore_errors=True)

    @staticmethod
    def saved_generation(base: Path) -> str | None:
        try:
            manifest = json.loads((base / DIRNAME / MANIFEST).read_text())
            return manifest["generation"] if manifest.get("format") == FORMAT else None
        except (OSError, ValueError, KeyError):
            return None

    @classmethod
    def load(cls, base: Path) -> "SideIndex":
        import bm25s

        d = base / DIRNAME
        manifest = json.loads((d / MANIFEST).read_text())
        table = PaperTable(**json.loads((d / "table.json").read_text()))
        retriever = bm25s.BM25.load(str(d / "bm25")) if (d / "bm25").exists() else None
        vectors = np.load(d / "vectors.npy") if (d / "vectors.npy").exists() else None
        return cls(table, retriever, vectors, manifest["generation"])

    # --- filters
    def mask(self, filters) -> np.ndarray | None:
        """Boolean mask of papers passing `filters` (a SearchFilters), or None for no filtering."""
        if filters is None or filters.is_empty():
            return None
        n = len(self.table)
        keep = np.ones(n, dtype=bool)
        if filters.date_from:
            keep &= self._date >= filters.date_from_ord
        if filters.date_to:
            keep &= (self._date <= filters.date_to_ord) & (self._date > 0)
        if filters.categories:
            wanted = set(filters.categories)
            keep &= np.fromiter((bool(wanted.intersection(c)) for c in self.table.categories), bool, n)
        if filters.sources:
            wanted = set(filters.sources)
            keep &= np.fromiter((bool(wanted.intersection(s)) for s in self.table.sources), bool, n)
        return keep

    # --- BM25
    def term_scores(self, weights: dict[str, float]) -> np.ndarray:
        """BM25 score of every paper for weighted (already stemmed) terms."""
        out = np.zeros(len(self.table), dtype=np.float32)
        if self.retriever is None:
            return out
        vocab, m = self.retriever.vocab_dict, self.retriever.scores
        for term, weight in weights.items():
            tid = vocab.get(term)
            if tid is None or not term:
                continue
            start, end = m["indptr"][tid], m["indptr"][tid + 1]
            out[m["indices"][start:end]] += weight * m["data"][start:end]
        return out

    def search(self, query: str, n: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """Top `n` papers with a positive score (BM25 pads with zero scores; those are dropped)."""
        if self.retriever is None or not len(self.table):
            return []
        scores = self.term_scores(Counter(tokenize([query])[0]))
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top])]
        return [(self.table.ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def expansion_terms(self, texts: list[str], n_terms: int) -> dict[str, float]:
        """The `n_terms` most characteristic terms of `texts` (tf-idf), weights scaled to max 1."""
        if self.retriever is None or not texts:
            return {}
        vocab, indptr = self.retriever.vocab_dict, self.retriever.scores["indptr"]
        n_docs = max(1, len(self.table))
        weight: Counter = Counter()
        for tokens in tokenize(texts):
            tf = Counter(t for t in tokens if t)
            length = sum(tf.values()) or 1
            for term, f in tf.items():
                tid = vocab.get(term)
                if tid is None:
                    continue
                df = int(indptr[tid + 1] - indptr[tid])
                weight[term] += (f / length) * math.log((n_docs - df + 0.5) / (df + 0.5) + 1)
        top = weight.most_common(n_terms)
        if not top:
            return {}
        best = top[0][1] or 1.0
        return {term: w / best for term, w in top}
