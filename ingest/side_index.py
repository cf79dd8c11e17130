"""The side index now lives in `ingest.store.sparse`; this name is kept for existing imports."""

from .store.sparse import FORMAT, PaperTable, SideIndex, tokenize

__all__ = ["FORMAT", "PaperTable", "SideIndex", "tokenize"]
