"""Papers as a segment stores them, from Chroma chunk rows (id, metadata, document, embedding)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from ..codec import added_time, expand, paper_from_metadata, passage_of
from .segment import PaperRow

# A record key, present only on a paper whose chunks are of two versions (an ingest killed between
# writing a changed or re-chunked paper's new chunks and deleting its old ones): the chunk numbers
# whose content hash or chunk count is not the record chunk's, or that lie beyond that count. Such a
# paper is stored incomplete, so the next ingest of it writes it again (as a lookup in Chroma would
# find, see codec.stored_papers).
STALE = "stale_chunks"


@dataclass
class _Parts:
    """What is kept of one paper's chunks while rows stream in: the first chunk's metadata, the
    passages, and the vectors. A passage is resolved as soon as the abstract (chunk 0) is known,
    so the other chunks' metadata is not held (a full rebuild streams the whole collection)."""

    first: tuple | None = None  # the lowest chunk seen: (number, paper, n_chunks, date_ord, added)
    abstract: str | None = None
    passages: dict[int, str | tuple[dict, str | None]] = field(default_factory=dict)
    total: np.ndarray | None = None  # sum of the vectors of chunks 0..summed-1, added in chunk order
    summed: int = 0
    vectors: dict[int, np.ndarray] = field(default_factory=dict)  # vectors of chunks not summed yet
    count: int = 0
    versions: dict[int, tuple[str, int]] = field(default_factory=dict)  # chunk number -> (content hash, n_chunks)

    def add(self, n: int, meta: dict, doc: str | None, vector) -> None:
        self.count += 1
        self.versions[n] = (meta.get("content_hash") or "", int(meta.get("n_chunks") or 1))
        if self.first is None or n < self.first[0]:
            self.first = (n, paper_from_metadata(meta), int(meta.get("n_chunks") or 1), int(meta.get("date_ord") or 0),
                          added_time(meta))
        if n == 0:
            self.abstract = self.first[1].abstract
            for m, pending in list(self.passages.items()):
                if isinstance(pending, tuple):
                    self.passages[m] = passage_of(pending[0], pending[1], self.abstract)
        self.passages[n] = (meta, doc) if self.abstract is None else passage_of(meta, doc, self.abstract)
        if vector is not None:
            self.vectors[n] = np.asarray(vector, dtype=np.float32)
            while self.summed in self.vectors:  # chunks usually come in order: sum as they come
                self._sum(self.vectors.pop(self.summed))
                self.summed += 1

    def _sum(self, vector: np.ndarray) -> None:
        self.total = vector.copy() if self.total is None else self.total + vector

    def mean_vector(self) -> np.ndarray | None:
        """The normalised mean of the chunk vectors, summed in chunk order (float16)."""
        for n in sorted(self.vectors):  # chunks after a gap (a missing chunk), still in order
            self._sum(self.vectors.pop(n))
        if self.total is None:
            return None
        return (self.total / max(float(np.linalg.norm(self.total)), 1e-12)).astype(np.float16)


def papers_from_chunks(rows: Iterable[tuple]) -> list[PaperRow]:
    """Group chunk rows by paper (in order of first appearance): record, passages, counts, mean vector.

    A paper's chunks are summed in chunk order, so the mean vector does not depend on the order
    Chroma returns them in (a scan and a fetch by ids give the same rows).
    """
    papers: dict[str, _Parts] = {}
    for _cid, meta, doc, vector in rows:
        meta = expand(meta)  # (rows read through ChromaConnection are expanded already: then a no-op)
        papers.setdefault(meta["paper_id"], _Parts()).add(int(meta.get("chunk") or 0), meta, doc, vector)
    return [_paper(parts) for parts in papers.values()]


def _paper(parts: _Parts) -> PaperRow:
    _n, paper, n_chunks, date_ord, added = parts.first
    span = max(n_chunks, max(parts.passages) + 1)
    passages = [""] * span
    for n, passage in parts.passages.items():
        passages[n] = passage_of(passage[0], passage[1], paper.abstract) if isinstance(passage, tuple) else passage
    record = paper.to_dict() | {"passages": passages}
    own = parts.versions[_n]  # the version of the chunk that gave the record
    stale = sorted(n for n, v in parts.versions.items() if v != own or n >= own[1])
    if stale:
        record[STALE] = stale
    return PaperRow(paper.paper_id, record, parts.count, span, date_ord, added,
                    paper.categories, [s.name for s in paper.sources], parts.mean_vector())
