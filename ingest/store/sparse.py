"""The side index now lives in the `ingest.store.side` package; this name is kept for existing imports."""

from .side import DIRNAME, FORMAT, MANIFEST, TOP_TERMS, PaperRow, SideIndex, tokenize

__all__ = ["DIRNAME", "FORMAT", "MANIFEST", "TOP_TERMS", "PaperRow", "SideIndex", "tokenize"]
