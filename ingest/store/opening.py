"""How a reader opens the side index of the generation Chroma calls current, while other
processes may be writing or committing.

The saved side index of the current generation is loaded when it agrees with Chroma (or an
ingest is pending: then Chroma is in flux, and the last commit's side index is the consistent
snapshot; readers drop chunks it does not know). Otherwise it is rebuilt from a scan, kept in
memory, and saved only if no ingest started or committed while it was read.

Three races are closed here (each met by a reader during an ingest's part commits):
- Chroma's chunk count is read before its metadata: a write the count saw set the pending mark
  before it, so the metadata shows the mark (or the generation that write's commit stamped).
- Another process committed since this reader last looked: its generation is followed.
- A commit saved the next side index and has not stamped it yet: the reader waits for the stamp
  (STAMP_WAIT) instead of rebuilding from a scan.
A scan that a concurrent write breaks (Chroma's `InternalError: Error finding id`) is retried,
then reported in one line.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .chroma import QUERY_ATTEMPTS, IndexError_, is_transient
from .side import SideIndex

if TYPE_CHECKING:
    from .index import PaperIndex

STAMP_WAIT = 3.0  # s a reader waits for a commit that saved its side index to stamp it (else it rebuilds)

log = logging.getLogger(__name__)


def open_side(index: PaperIndex) -> SideIndex:
    """The side index of the generation Chroma calls current (see the module docstring)."""
    from .index import META_GENERATION, META_PENDING

    base = Path(index.settings.side_index_dir)
    deadline = time.monotonic() + STAMP_WAIT
    while True:
        count = index.chroma.count()  # before the metadata: see the module docstring
        meta = index.chroma.metadata()
        current, token = meta.get(META_GENERATION), meta.get(META_PENDING)
        if current != index.generation:  # another process committed since: read that generation
            index.follow(current)
            if time.monotonic() < deadline:
                continue
        saved = SideIndex.saved_manifest(base)
        stamping = bool(token and saved and saved.get("parent") == current and saved.get("token") == token)
        if not stamping or time.monotonic() >= deadline:
            break
        time.sleep(0.1)  # a commit saved the next side index and is about to stamp it
    pending = bool(token)
    if pending:
        log.warning("index %s: an ingest is running or was interrupted; answering from the last finished one "
                    "(if none is running, run `askpapers ingest` again to complete it)", index.location)
    if index.generation and saved and saved.get("generation") == index.generation and (
            pending or saved.get("chunks") == count):
        try:
            return SideIndex.load(base)
        except (OSError, ValueError):
            pass  # swapped or damaged while read: rebuild below
    side = _rebuild_while_written(index)
    meta = index.chroma.metadata()
    if not pending and not meta.get(META_PENDING) and meta.get(META_GENERATION) == index.generation:
        try:
            side.save(base)
        except OSError:
            pass  # a read-only cache only costs a rebuild next time
    return side


def _rebuild_while_written(index: PaperIndex) -> SideIndex:
    """A side index rebuilt from a scan (not saved), retried when another process's write makes
    the scan fail; a lasting failure is one line."""
    for attempt in range(1, QUERY_ATTEMPTS + 1):
        try:
            return index.rebuild_side_index(save=False)
        except Exception as exc:  # noqa: BLE001 - only what a concurrent write causes is retried
            if not is_transient(exc):
                raise
            if attempt == QUERY_ATTEMPTS:
                raise IndexError_(f"index {index.location} is being written by another process and could "
                                  f"not be read ({exc}); try again") from exc
            time.sleep(0.2 * attempt)
