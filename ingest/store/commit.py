"""How a commit brings the side index up to date: from the ingest journal, or by a rescan.

An ingest journals each write before it reaches Chroma (ingest/store/side/journal.py). Its
commit then fetches only the journaled papers' chunks from Chroma, by id (a `where` on paper
ids scans the whole collection), and adds one segment for them to the side index it started
from. When that cannot be trusted (no journal here: another machine wrote, an older version, a
read-only cache; the saved side index is not the one the ingest started from; the result
disagrees with Chroma's chunk count), the side index is rebuilt from a scan, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..chunking import parse_chunk_id
from ..faults import kill_point
from .codec import stored_papers
from .lookup import candidate_chunks
from .side import Journal, JournalState, SideIndex, read_journal
from .side.build import papers_from_chunks
from .side.store import commit_changes, empty

if TYPE_CHECKING:
    from .index import PaperIndex

FETCH_PAGE = 1000  # chunk ids per Chroma get() when a commit reads the touched papers

log = logging.getLogger(__name__)


def open_journal(opener: Callable[[], Journal | None]) -> Journal | None:
    """A journal, or None where none can be written (a read-only cache: the commit rescans)."""
    try:
        return opener()
    except OSError as exc:
        log.info("no ingest journal (%s); the commit will rebuild the side index", exc)
        return None


def record_write(journal: Journal | None, paper_ids: list[str], chunk_ids: list[str],
                 supersede: dict[str, str] | None = None) -> Journal | None:
    """Journal a write before it reaches Chroma (or, `supersede`, replacements planned: see
    `_finish_replacements`); if that fails, drop the journal (the commit rescans)."""
    if journal is None:
        return None
    try:
        journal.append(paper_ids, chunk_ids, supersede)
        return journal
    except OSError as exc:
        log.warning("ingest journal %s: %s; the commit will rebuild the side index", journal.path, exc)
        journal.close()
        try:
            journal.path.unlink()
        except OSError:
            pass
        return None


def update_side_index(index: PaperIndex, generation: str) -> SideIndex:
    """The side index for `generation`, saved: from the journal when it can be trusted, else rebuilt."""
    from .index import META_GENERATION, META_PENDING

    meta = index.chroma.metadata()
    token = meta.get(META_PENDING)
    journal = read_journal(Path(index.settings.side_index_dir), token) if token else None
    if journal is not None and journal.base == meta.get(META_GENERATION):
        try:
            side = _apply_journal(index, journal, generation)
            if side is not None:
                return side
        except (OSError, ValueError) as exc:
            log.warning("index %s: incremental commit failed (%s); rebuilding the side index", index.location, exc)
    return index.rebuild_side_index(generation)


def _apply_journal(index: PaperIndex, journal: JournalState, generation: str) -> SideIndex | None:
    """Commit by writing a segment for the journal's papers only (None: the saved side index is
    not the one the journal started from, so it cannot be updated)."""
    base = Path(index.settings.side_index_dir)
    if journal.empty:
        current = empty(generation)
    else:
        saved = SideIndex.saved_manifest(base)
        if not saved or not (saved["generation"] == journal.base or (
                saved.get("parent") == journal.base and saved.get("token") == journal.token)):
            return None
        current = SideIndex.load(base)
    _finish_replacements(index, journal, current)
    order = {pid: i for i, pid in enumerate(journal.papers)}
    papers = sorted(papers_from_chunks(_chunks_by_ids(index, _candidate_chunks(journal, current, journal.papers))),
                    key=lambda p: order.get(p.paper_id, len(order)))
    kill_point("scanned")
    side = commit_changes(current, base, papers, set(journal.papers), generation, journal.base, journal.token)
    if side.chunks != index.chroma.count():
        raise ValueError(f"the side index holds {side.chunks} chunks, Chroma {index.chroma.count()}")
    return side


def _finish_replacements(index: PaperIndex, journal: JournalState, current: SideIndex) -> None:
    """Delete the title-only papers that a record with an id replaced, where the ingest was killed
    after writing the new paper and before deleting the old one (whichever command commits next:
    without this, both stayed until the same record was ingested again). A replacement counts as
    written when the new paper is complete in Chroma; the old paper is in the journal's papers, so
    the segment built next drops it."""
    for old, new in journal.supersede.items():
        old_ids = [row[0] for row in _chunks_by_ids(index, _candidate_chunks(journal, current, [old]), include=[])]
        if not old_ids:
            continue
        new_ids = _candidate_chunks(journal, current, [new])
        new_rows = [(cid, meta) for cid, meta, *_rest in _chunks_by_ids(index, new_ids, include=["metadatas"])]
        written = stored_papers(new_rows).get(new)
        if written is not None and written.complete:
            log.info("index %s: finishing the replacement of %s by %s", index.location, old, new)
            index.chroma.delete(old_ids)


def _candidate_chunks(journal: JournalState, current: SideIndex, paper_ids) -> list[str]:
    """lookup.candidate_chunks of these papers, with the journal's chunk ids (every journaled
    chunk's paper is journaled with it)."""
    wanted = set(paper_ids)
    journaled: dict[str, list[str]] = {}
    for cid in journal.chunks:
        pid = parse_chunk_id(cid)[0]
        if pid in wanted:
            journaled.setdefault(pid, []).append(cid)
    return candidate_chunks(current, wanted, journaled)


def _chunks_by_ids(index: PaperIndex, ids: list[str], include: list[str] | None = None):
    """Chunk rows (id, metadata, document, embedding) of those ids that exist, fetched by id."""
    for start in range(0, len(ids), FETCH_PAGE):
        res = index.collection.get(ids=ids[start : start + FETCH_PAGE],
                                   include=["metadatas", "documents", "embeddings"] if include is None else include)
        none = [None] * len(res["ids"])
        yield from zip(res["ids"], res.get("metadatas") or none, res.get("documents") or none,
                       res.get("embeddings") if res.get("embeddings") is not None else none)
