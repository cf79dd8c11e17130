"""The side index now lives in `ingest.store.side`; this name is kept for existing imports."""

from .store.side import FORMAT, PaperRow, SideIndex, tokenize

__all__ = ["FORMAT", "PaperRow", "SideIndex", "tokenize"]
