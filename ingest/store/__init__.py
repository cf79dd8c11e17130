"""The index: Chroma for vectors and records, the sparse side index beside it.

One job per module:
  chroma.py  the Chroma connection (embedded or server), fresh metadata, queries, writes
  codec.py   a paper and its chunks as flat Chroma metadata, and back
  side/      the side index: BM25, idf, filter masks, records, mean vectors, in immutable segments
             committed incrementally (sparse.py re-exports it under its old name)
  files.py   durable atomic writes for the side index
  index.py   `PaperIndex`: open, write, commit (crash-safe), refresh, stats

`ingest/` writes through `PaperIndex` and `assistant/` reads through it.
"""

from .chroma import IndexError_
from .location import IndexPathError, index_missing
from .codec import (
                    CAT_PREFIX,
                    SRC_PREFIX,
                    StoredPaper,
                    chunk_metadata,
                    date_ord,
                    paper_from_metadata,
)
from .index import (
                    FORMAT_VERSION,
                    META_DIM,
                    META_FORMAT,
                    META_GENERATION,
                    META_MODEL,
                    META_PENDING,
                    IndexStats,
                    ModelMismatchError,
                    PaperIndex,
)

__all__ = [
                    "CAT_PREFIX",
                    "FORMAT_VERSION",
                    "META_DIM",
                    "META_FORMAT",
                    "META_GENERATION",
                    "META_MODEL",
                    "META_PENDING",
                    "SRC_PREFIX",
                    "IndexError_",
                    "IndexPathError",
                    "IndexStats",
                    "ModelMismatchError",
                    "PaperIndex",
                    "StoredPaper",
                    "chunk_metadata",
                    "date_ord",
                    "index_missing",
                    "paper_from_metadata",
]
