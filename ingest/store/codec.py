"""How a paper and its chunks are written as flat Chroma metadata, and read back.

Chroma accepts only scalar metadata, so lists are JSON, and each category and source also
becomes a boolean key (`cat:cs.CL`, `src:page.txt`) that `where` filters can test (`$contains`
on a string is not a substring match).

Chroma's SQLite keeps every string, int and float value in a row *and* in a B-tree index
(`embedding_metadata_{string,int,float}_value`; booleans have no index), and it cannot be told
not to: a collection schema that disables a key's index only refuses filters on it. Into a large
library every such value is an insert at a random place of a large index (writing 352 MB of
pages for 1,000 papers into 100k with 16 keys a chunk). So the layout keeps as values only what
filters and lookups need, and packs the rest.

Layout 4 (current). Every chunk: `paper_id`, `chunk`, `n_chunks`, `date_ord`, `added` (filters,
lookups by id; the small ints cost little: equal values append to one index page), the filter
flags, and `version` = "<content hash> <start> <end>": which version of the paper the chunk is,
and where its passage lies in the abstract (or only the hash, plus `passage`, for a passage
that is not a slice of it). Chunk 0 also carries `title_key` (title lookups of older side
indexes) and the paper's record as one JSON object (title, abstract and the non-empty fields the
rest does not determine) in parts of at most PART_BYTES: `record`, `record_2`, ... and
`record_parts` (always, so that a rewrite over a longer record reads only its own parts). The other chunks carry no record: readers take it from the
side index, or from chunk 0.

`expand` turns a stored metadata of any layout into the layout-3 dict the rest of askpapers
reads (`title`, `abstract`, `content_hash`, `span`, ...), so readers never see the packing.
Layout 3 (every field as its own key on every chunk, the abstract in `abstract`, `abstract_2`, ...,
the passage as int `span`) and older llama-index layouts (`_node_content`, the text as the
document) read the same; a rewritten chunk drops the keys of older layouts (`cleared_keys`).
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
VERSION = "version"  # layout 4: "<content hash> <start> <end>", or "<content hash>" with `passage`
RECORD = "record"  # layout 4, chunk 0: the record as JSON, in parts (`record_2`, ..., `record_parts`)
RECORD_PARTS = "record_parts"
# the keys of layout 3 that layout 4 packs or leaves out: a chunk rewritten in layout 4 clears them
LAYOUT3_KEYS = ("title", "title_key", "content_hash", *OPTIONAL_KEYS, ABSTRACT, ABSTRACT_PARTS,
                *(f"{ABSTRACT}_{i}" for i in range(2, CLEARED_PARTS + 1)))


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
    """Flat metadata of one chunk in layout 4 (see the module docstring): filter and lookup keys,
    its version and passage span, and on chunk 0 the title key and the packed record."""
    ordinal = date_ord(paper.date)
    meta: dict[str, Any] = {
        "paper_id": paper.paper_id,
        "chunk": chunk.index,
        "n_chunks": chunk.count,
        "date_ord": ordinal,
        ADDED: int(added),
    }
    start = paper.abstract.find(chunk.passage)
    if start >= 0:
        meta[VERSION] = f"{content_hash} {start} {start + len(chunk.passage)}"
    else:
        meta[VERSION] = content_hash
        meta[PASSAGE] = chunk.passage
    if chunk.index == 0:
        meta["title_key"] = paper.title_key
        parts = utf8_parts(json.dumps(_record_fields(paper, ordinal), ensure_ascii=False,
                                      separators=(",", ":")), PART_BYTES)
        meta[RECORD] = parts[0]
        meta.update({f"{RECORD}_{i}": part for i, part in enumerate(parts[1:], start=2)})
        meta[RECORD_PARTS] = len(parts)  # always: a rewrite over a chunk with more parts reads only these
    for cat in paper.categories:
        meta[CAT_PREFIX + cat] = True
    for src in paper.sources:
        meta[SRC_PREFIX + src.name] = True
    return meta


def _record_fields(paper: Paper, ordinal: int) -> dict[str, Any]:
    """The record chunk 0 packs: title, abstract and the fields set that the rest does not determine."""
    fields = {
        "title": paper.title,
        "abstract": paper.abstract,
        "authors": paper.authors,
        "date": paper.date if paper.date != iso_date(ordinal) else None,
        "categories": paper.categories,
        "arxiv_id": paper.arxiv_id if paper.paper_id != f"arxiv:{paper.arxiv_id}" else None,
        "doi": paper.doi,
        "url": paper.url if paper.url != (paper.arxiv_id and ARXIV_ABS_URL.format(paper.arxiv_id)) else None,
        "sources": [s.to_list() for s in paper.sources],
    }
    return {k: v for k, v in fields.items() if v}


def expand(meta: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored chunk's metadata as layout 3 reads it (see the module docstring): layout 4 unpacked
    (`content_hash`, `span`, and on chunk 0 the record's fields, the abstract as `abstract`);
    older layouts as they are. Keys of an older layout left on a layout-4 chunk are ignored."""
    if not meta or VERSION not in meta:
        return meta
    out = {k: v for k, v in meta.items() if k not in LAYOUT3_KEYS and k != VERSION and not k.startswith(RECORD)}
    version = str(meta[VERSION]).split(" ")
    out["content_hash"] = version[0]
    if len(version) == 3:
        out[SPAN] = int(version[1]) << 32 | int(version[2])
    elif PASSAGE in meta:
        out[PASSAGE] = meta[PASSAGE]
    if RECORD in meta:
        out["title_key"] = meta.get("title_key") or ""
        n = int(meta.get(RECORD_PARTS) or 1)
        packed = meta[RECORD] + "".join(meta.get(f"{RECORD}_{i}", "") for i in range(2, n + 1))
        try:
            record = json.loads(packed)
        except ValueError:
            record = {}  # a part missing: the chunk reads as one without its record
        out.update({k: v for k, v in record.items() if k != "abstract"})
        out[ABSTRACT] = record.get("abstract") or ""
    return out


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
    """The keys a stored chunk may hold that `meta` does not set (layout 3's, layout 4's optional
    ones, and with `legacy` llama-index's), as None: Chroma's upsert removes them from the stored
    chunk. Only worth sending for a chunk that is stored: each one costs a lookup in Chroma
    (`expand` reads a layout-4 chunk right whatever stale keys it still has)."""
    keys = [*LAYOUT3_KEYS, *(LEGACY_KEYS if legacy else ()), PASSAGE, RECORD, RECORD_PARTS,
            *(f"{RECORD}_{i}" for i in range(2, CLEARED_PARTS + 1))]
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


def document_of(meta: dict[str, Any], document: str | None, abstract: str, title: str = "") -> str | None:
    """A chunk's text as embedded (title, newline, passage), whatever the layout; `title`: its
    paper's, for a chunk whose metadata has none (layout 4 keeps it on chunk 0)."""
    if SPAN not in meta and PASSAGE not in meta:
        return document
    return f"{meta.get('title', title)}\n{passage_of(meta, document, abstract)}"


def paper_from_metadata(meta: dict[str, Any]) -> Paper:
    """The paper record of a chunk's metadata (any layout; see the module docstring)."""
    paper_id = meta["paper_id"]
    arxiv_id = meta.get("arxiv_id") or (paper_id.split(":", 1)[1] if paper_id.startswith("arxiv:") else None)
    return Paper(
        paper_id=paper_id,
        title=meta.get("title") or "",  # "": a chunk other than 0 in layout 4 (the record rides on chunk 0)
        abstract=abstract_of(meta),
        authors=_listed(meta.get("authors")),
        date=meta.get("date") or iso_date(int(meta.get("date_ord") or 0)),
        categories=_listed(meta.get("categories")),
        arxiv_id=arxiv_id,
        doi=meta.get("doi") or None,
        url=meta.get("url") or None,  # None: the arXiv abs page when there is an arXiv id (Paper sets it)
        sources=[Source.from_stored(s) for s in _listed(meta.get("sources"))],
    )


def _listed(value: Any) -> list:
    """A list field as layout 3 stores it (a JSON string) or as `expand` gives layout 4's (a list)."""
    if isinstance(value, list):
        return value
    return json.loads(value or "[]")


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
        meta = expand(meta)  # (a no-op on rows read through ChromaConnection)
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
