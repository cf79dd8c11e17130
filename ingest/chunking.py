"""Token-aware chunking of abstracts (tiktoken cl100k through llama-index's bundled cache)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from .records import Paper


@dataclass(frozen=True)
class Chunk:
    chunk_id: str  # deterministic: "<paper_id>#<n>"
    paper_id: str
    index: int
    count: int
    text: str  # what is embedded and BM25-indexed: the title, a newline, then the passage
    passage: str  # the abstract passage alone


@lru_cache(maxsize=8)
def _splitter(chunk_size: int, chunk_overlap: int):
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.utils import get_tokenizer  # sets TIKTOKEN_CACHE_DIR to the bundled cache

    return SentenceSplitter(
        chunk_size=chunk_size, chunk_overlap=min(chunk_overlap, chunk_size // 2), tokenizer=get_tokenizer()
    )


CHUNK_SEP = "#"  # chunk ids are "<paper_id>#<n>": paper ids may contain '#', the chunk number never does


def chunk_id(paper_id: str, index: int) -> str:
    """The id of a paper's `index`-th chunk (deterministic, so re-ingesting replaces, never duplicates)."""
    return f"{paper_id}{CHUNK_SEP}{index}"


def parse_chunk_id(cid: str) -> tuple[str, int]:
    """(paper id, chunk number) of a chunk id made by `chunk_id`."""
    paper_id, _, n = cid.rpartition(CHUNK_SEP)
    return paper_id, int(n)


def chunk_paper(paper: Paper, chunk_size: int = 192, chunk_overlap: int = 32) -> list[Chunk]:
    """Split one abstract into sentence-aligned passages of at most `chunk_size` tokens.

    Every chunk carries the title, so a passage is findable by what the paper is called.
    """
    passages = _splitter(chunk_size, chunk_overlap).split_text(paper.abstract) or [paper.abstract]
    return [
        Chunk(
            chunk_id=chunk_id(paper.paper_id, i),
            paper_id=paper.paper_id,
            index=i,
            count=len(passages),
            text=f"{paper.title}\n{passage}",
            passage=passage,
        )
        for i, passage in enumerate(passages)
    ]
