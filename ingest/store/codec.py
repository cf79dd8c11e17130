"""How a paper and its chunks are written as flat Chroma metadata, and read back.

Chroma accepts only scalar metadata, so lists are JSON strings, and each category and source
also becomes a boolean key (`cat:cs.CL`, `src:page.txt`) that `where` filters can test
(`$contains` on a string is not a substring match).

Lean layout (format 3): Chroma stores every metadata value in a row and again in an index, so a
chunk carries only what filters, answers and the page need, once. Empty fields are left out, and
so are fields the rest determines (`arxiv_id` from an `arxiv:` paper id, its abs `url`, `date`
from `date_ord`); no document is stored: a chunk's passage is `abstract[start:end]` of its
paper's chunk 0, recorded as one int `span` (see `passage_of`). Older indexes (llama-index's
`_node_content`/`doc_id`/... keys, every field, the text as the document) read the same, and a
rewritten chunk drops the old keys (`cleared_keys`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ..chunking import Chunk
from ..records import ARXIV_ABS_URL, Paper, Source

CAT_PREFIX = "cat:"
SRC_PREFIX = "src:"
ADDED = "added"  # when the paper first entered the index (Unix seconds; 0: before this was recorded)
SPAN = "span"  # where a chunk's passage lies in the abstract: start << 32 | end
PASSAGE = "passage"  # the passage itself, for one that is not a slice of the abstract
# keys a chunk may lack in the lean layout, and keys only older layouts wrote: a rewrite removes
# those it does not set (Chroma's upsert keeps a key the new metadata lacks)
OPTIONAL_KEYS = ("authors", "date", "categories", "arxiv_id", "doi", "url", "sources", SPAN, PASSAGE)
LEGACY_KEYS = ("_node_content", "_node_type", "doc_id", "document_id", "ref_doc_id")
# Chroma's SQLite indexes every string in a B-tree of 4 KB pages, where an entry over ~1,000
# bytes spills its tail into an overflow page of its own, mostly empty (measured: 1.8 KB wasted
# per abstract). So the abstract is stored in parts of at most PART_BYTES: `abstract`,
# `abstract_2`, ... and `abstract_parts` (when more than one).
PART_BYTES = 900
ABSTRACT = "abstract"
ABSTRACT_PARTS = "abstract_parts"
CLEARED_PARTS = 8  # continuation keys a rewrite of chunk 0 clears (reads never go past abstract_parts)


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


def iso_date(ordinal: int) -> str | None:
    """20240501 -> '2024-05-01'; 0 -> None (the inverse of `date_ord`)."""
    if not ordinal:
        return None
    return f"{ordinal // 10000:04d}-{ordinal // 100 % 100:02d}-{ordinal % 100:02d}"


def chunk_metadata(paper: Paper, chunk: Chunk, content_hash: str, added: int = 0) -> dict[str, Any]:
    """Flat metadata of one chunk: the paper's record (without what the rest determines), the
    filter keys, where its passage lies, and `added`, when the paper first entered the index (an
    int: Chroma indexes every string). The abstract rides on chunk 0 only."""
    ordinal = date_ord(paper.date)
    meta: dict[str, Any] = {
        "paper_id": paper.paper_id,
        "chunk": chunk.index,
        "n_chunks": chunk.count,
        "title": paper.title,
        "title_key": paper.title_key,
        "content_hash": content_hash,
        "date_ord": ordinal,
        ADDED: int(added),
    }
    optional = {
        "authors": json.dumps(paper.authors) if paper.authors else None,
        "date": paper.date if paper.date != iso_date(ordinal) else None,
        "categories": json.dumps(paper.categories) if paper.categories else None,
        "arxiv_id": paper.arxiv_id if paper.paper_id != f"arxiv:{paper.arxiv_id}" else None,
        "doi": paper.doi,
        "url": paper.url if paper.url != (paper.arxiv_id and ARXIV_ABS_URL.format(paper.arxiv_id)) else None,
        "sources": json.dumps([[s.name, s.date] for s in paper.sources]) if paper.sources else None,
    }
    meta.update({k: v for k, v in optional.items() if v})
    if chunk.index == 0 and paper.abstract:
        parts = utf8_parts(paper.abstract, PART_BYTES)
        meta[ABSTRACT] = parts[0]
        meta.update({f"{ABSTRACT}_{i}": part for i, part in enumerate(parts[1:], start=2)})
        if len(parts) > 1:
            meta[ABSTRACT_PARTS] = len(parts)
    start = paper.abstract.find(chunk.passage)
    if start >= 0:
        meta[SPAN] = start << 32 | (start + len(chunk.passage))
    else:
        meta[PASSAGE] = chunk.passage
    for cat in paper.categories:
        meta[CAT_PREFIX + cat] = True
    for src in paper.sources:
        meta[SRC_PREFIX + src.name] = True
    return meta


def utf8_parts(text: str, limit: int) -> list[str]:
    """`text` cut into pieces of at most `limit` UTF-8 bytes (never inside a character)."""
    data = text.encode()
    parts, start = [], 0
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # a continuation byte: back off
            end -= 1
        parts.append(data[start:end].decode())
        start = end
    return parts or [""]


def abstract_of(meta: dict[str, Any]) -> str:
    """The abstract a chunk-0 metadata carries, joined from its parts ('' on other chunks)."""
    n = int(meta.get(ABSTRACT_PARTS) or 1)
    return meta.get(ABSTRACT, "") + "".join(meta.get(f"{ABSTRACT}_{i}", "") for i in range(2, n + 1))


def cleared_keys(meta: dict[str, Any], legacy: bool = True) -> dict[str, None]:
    """The optional keys (and with `legacy`, the keys of older layouts) that `meta` does not set,
    as None: Chroma's upsert removes them from a stored chunk."""
    keys = [*OPTIONAL_KEYS, *(LEGACY_KEYS if legacy else ())]
    if meta.get("chunk") == 0:
        keys += [ABSTRACT, ABSTRACT_PARTS, *(f"{ABSTRACT}_{i}" for i in range(2, CLEARED_PARTS + 1))]
    return {k: None for k in keys if k not in meta}


def passage_of(meta: dict[str, Any], document: str | None, abstract: str) -> str:
    """A chunk's passage: the `span` of its paper's abstract (lean layout), or the document
    after its title line (older layouts)."""
    if SPAN in meta:
        span = int(meta[SPAN])
        return abstract[span >> 32 : span & 0xFFFFFFFF]
    if PASSAGE in meta:
        return meta[PASSAGE]
    return (document or "").split("\n", 1)[-1]


def document_of(meta: dict[str, Any], document: str | None, abstract: str) -> str | None:
    """A chunk's text as embedded (title, newline, passage), whatever the layout."""
    if SPAN not in meta and PASSAGE not in meta:
        return document
    return f"{meta.get('title', '')}\n{passage_of(meta, document, abstract)}"


def paper_from_metadata(meta: dict[str, Any]) -> Paper:
    """The paper record of a chunk's metadata (any layout; see the module docstring)."""
    paper_id = meta["paper_id"]
    arxiv_id = meta.get("arxiv_id") or (paper_id.split(":", 1)[1] if paper_id.startswith("arxiv:") else None)
    return Paper(
        paper_id=paper_id,
        title=meta["title"],
        abstract=abstract_of(meta),
        authors=json.loads(meta.get("authors") or "[]"),
        date=meta.get("date") or iso_date(int(meta.get("date_ord") or 0)),
        categories=json.loads(meta.get("categories") or "[]"),
        arxiv_id=arxiv_id,
        doi=meta.get("doi") or None,
        url=meta.get("url") or None,  # None: the arXiv abs page when there is an arXiv id (Paper sets it)
        sources=[Source(name, d) for name, d in json.loads(meta.get("sources") or "[]")],
    )


def added_time(meta: dict[str, Any]) -> int:
    """The `added` time of a chunk's paper (0 for chunks written before it was recorded)."""
    try:
        return int(meta.get(ADDED) or 0)
    except (TypeError, ValueError):
        return 0


def stored_papers(rows: list[tuple[str, dict[str, Any]]]) -> dict[str, StoredPaper]:
    """Group chunk rows (id, metadata) by paper; chunks of two versions (another content hash, or
    another chunk count: a kill while the paper was re-chunked) mark the paper incomplete."""
    found: dict[str, StoredPaper] = {}
    for cid, meta in rows:
        pid = meta["paper_id"]
        sp = found.get(pid)
        if sp is None or meta.get("content_hash") != sp.content_hash or (
                sp.chunks_expected >= 0 and int(meta.get("n_chunks", 0)) != sp.chunks_expected):
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
