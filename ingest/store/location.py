"""Where an embedded index lives: its directory, checked before anything is created in it.

A path that is a regular file, or that cannot be created (`/proc/x`, no permission), is the
caller's mistake: `IndexPathError` says so in one line (an `AskpapersInputError`, so the CLI
exits 2). Read-only callers ask `index_missing` first and create nothing.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import AskpapersInputError
from .chroma import IndexError_


class IndexPathError(IndexError_, AskpapersInputError):
    """The index directory is not usable as one: a file, or a place that cannot be created."""


def make_index_dir(path: Path) -> Path:
    """Create `path` (and its parents) as the index directory; `IndexPathError` when it cannot be."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise IndexPathError(f"the index directory {path} is a file, not a directory; "
                             "give a directory (--index-dir / ASKPAPERS_INDEX_DIR)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IndexPathError(f"cannot create the index directory {path}: {exc.strerror or exc}") from None
    return path


def index_missing(settings) -> bool:
    """True when the settings name an embedded index whose directory does not exist yet
    (a server's collection is never missing: opening it is cheap and creates nothing on disk).
    `IndexPathError` when the path is there but is not a directory."""
    if settings.chroma_url:
        return False
    path = Path(settings.index_dir)
    if path.exists() and not path.is_dir():
        make_index_dir(path)  # raises the one-line error
    return not path.exists()
