"""Chunk metadata as older askpapers versions wrote it, for tests that open old indexes.

Layout 3 (before commit "layout 4"): every chunk carried the paper's fields as keys of their own
(lists as JSON strings), chunk 0 the abstract in parts of at most 900 bytes, and each passage as
an int `span` of the abstract. Built here from layout 4 through `codec.expand`, the reader's own
inverse, so the two stay in step.
"""

from __future__ import annotations

import json

from ingest.chunking import Chunk, chunk_paper
from ingest.records import Paper
from ingest.store import chunk_metadata
from ingest.store.codec import ABSTRACT, ABSTRACT_PARTS, PART_BYTES, expand, utf8_parts

LISTS = ("authors", "categories", "sources")


def layout3_metadata(paper: Paper, chunk: Chunk, content_hash: str, added: int = 0) -> dict:
    first = expand(chunk_metadata(paper, chunk_paper(paper)[0], content_hash, added))
    meta = expand(chunk_metadata(paper, chunk, content_hash, added))
    record = {k: first[k] for k in ("title", "title_key", "authors", "date", "categories", "arxiv_id", "doi",
                                    "url", "sources") if first.get(k)}
    meta = {k: v for k, v in meta.items() if k != ABSTRACT} | record
    meta |= {k: json.dumps(meta[k]) for k in LISTS if k in meta}
    if chunk.index == 0 and paper.abstract:
        parts = utf8_parts(paper.abstract, PART_BYTES)
        meta[ABSTRACT] = parts[0]
        meta.update({f"{ABSTRACT}_{i}": part for i, part in enumerate(parts[1:], start=2)})
        if len(parts) > 1:
            meta[ABSTRACT_PARTS] = len(parts)
    return meta
