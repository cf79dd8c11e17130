"""How a paper and its chunks are written as flat Chroma metadata, and read back.

Chroma and llama-index accept only scalar metadata, so lists are JSON strings, and each category
and source also becomes a boolean key (`cat:cs.CL`, `src:page.txt`) that `where` filters can test
(`$contains` on a string is not a substring match).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..chunking import Chunk
from ..records import Paper, Source

CAT_PREFIX = "cat:"
SRC_PREFIX = "src:"
ADDED = "added"  # when the paper first entered the index (Unix seconds; 0: before this was recorded)


@dataclass
class StoredPaper:
    """What the index knows about one paper, read back from its chunks' metadata."""

    paper: Paper
    content_hash: str
    chunks_present: int
    chunks_expected: int
    has_first: bool = False
    chunk_ids: list[str] = field(default_factory=list)
    added: int = 0  # see ADDED: kept when the paper is rewritten, so "added" means first added

    @property
    def complete(self) -> bool:
        return self.has_first and self.chunks_present == self.chunks_expected


def date_ord(iso: str | None) -> int:
    """'2024-05-01' -> 20240501; unknown -> 0."""
    if not iso:
        return 0
    try:
        d = date.fromisoformat(iso[:10])
    except ValueError:
        return 0
    return d.year * 10000 + d.month * 100 + d.day


def chunk_metadata(paper: Paper, chunk: Chunk, content_hash: str, added: int = 0) -> dict[str, Any]:
    """Flat metadata (Chroma and llama-index accept only scalars): the record plus filter flags,
    and `added`, when the paper first entered the index (an int: Chroma indexes every string).

    The abstract rides on chunk 0 only: Chroma stores each string value twice (row and index)
    and llama-index's `_node_content` repeats all metadata, so a copy per chunk is costly.
    A chunk's passage is its document minus the title line.
    """
    meta: dict[str, Any] = {
        "paper_id": paper.paper_id,
        "chunk": chunk.index,
        "n_chunks": chunk.count,
        "title": paper.title,
        "title_key": paper.title_key,
        "content_hash": content_hash,
        "authors": json.dumps(paper.authors),
        "date": paper.date or "",
        "date_ord": date_ord(paper.date),
        "categories": json.dumps(paper.categories),
        "arxiv_id": paper.arxiv_id or "",
        "doi": paper.doi or "",
        "url": paper.url or "",
        "sources": json.dumps([[s.name, s.date] for s in paper.sources]),
        ADDED: int(added),
    }
    if chunk.index == 0:
        meta["abstract"] = paper.abstract
    for cat in paper.categories:
        meta[CAT_PREFIX + cat] = True
    for src in paper.sources:
        meta[SRC_PREFIX + src.name] = True
    return meta


def paper_from_metadata(meta: dict[str, Any]) -> Paper:
    return Paper(
        paper_id=meta["paper_id"],
        title=meta["title"],
        abstract=meta.get("abstract", ""),
        authors=json.loads(meta.get("authors") or "[]"),
        date=meta.get("date") or None,
        categories=json.loads(meta.get("categories") or "[]"),
        arxiv_id=meta.get("arxiv_id") or None,
        doi=meta.get("doi") or None,
        url=meta.get("url") or None,
        sources=[Source(name, d) for name, d in json.loads(meta.get("sources") or "[]")],
    )


def added_time(meta: dict[str, Any]) -> int:
    """The `added` time of a chunk's paper (0 for chunks written before it was recorded)."""
    try:
        return int(meta.get(ADDED) or 0)
    except (TypeError, ValueError):
        return 0


def stored_papers(rows: list[tuple[str, dict[str, Any]]]) -> dict[str, StoredPaper]:
    """Group chunk rows (id, metadata) by paper; chunks of two versions mark the paper incomplete."""
    found: dict[str, StoredPaper] = {}
    for cid, meta in rows:
        pid = meta["paper_id"]
        sp = found.get(pid)
        if sp is None or meta.get("content_hash") != sp.content_hash:
            if sp is not None:  # chunks of two versions: treat as incomplete
                sp.chunks_expected = -1
                sp.chunk_ids.append(cid)
                continue
            found[pid] = sp = StoredPaper(paper_from_metadata(meta), meta.get("content_hash", ""), 0,
                                          int(meta.get("n_chunks", 0)), added=added_time(meta))
        if int(meta.get("chunk") or 0) == 0:
            sp.paper = paper_from_metadata(meta)  # the chunk that carries the abstract
            sp.has_first = True
        sp.chunks_present += 1
        sp.chunk_ids.append(cid)
    return found
