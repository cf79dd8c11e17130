"""What an ingest asks before it writes ("is this paper stored, and how?"), answered from the
side index instead of Chroma `where` queries (which scan Chroma's metadata index and grow with
the library: 6-9 s per 1,000 papers at 100k).

The side index of the committed generation knows every committed paper: its record, its chunk
count and span, when it was first added. What it cannot know are the papers written since that
commit (this process's writes, or an interrupted ingest's): exactly the papers the pending
ingest's journal names (ingest/store/side/journal.py journals each write before it reaches
Chroma). Those are `unsure`: they are read from Chroma by chunk id (their committed span plus the
chunk ids the journal names), which is cheap and exact. When the committed state cannot be
trusted (no journal here: another machine wrote, a read-only cache, a journal from another base;
a saved side index that is not the committed one), `open_view` returns None and the caller asks
Chroma as before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from ..chunking import chunk_id, parse_chunk_id
from ..records import Paper
from .codec import StoredPaper
from .side import SideIndex, read_journal
from .side.build import STALE
from .side.store import empty

log = logging.getLogger(__name__)


@dataclass
class LookupView:
    """The committed side index of `generation`, and the papers Chroma may hold otherwise."""

    side: SideIndex
    generation: str | None
    token: str | None  # the pending token the view was built under (None: nothing pending)
    unsure: dict[str, set[str]] = field(default_factory=dict)  # paper id -> chunk ids journaled for it

    def add(self, paper_ids: list[str], chunk_ids: list[str]) -> None:
        """A write of this process (journaled): those papers are unsure until the commit."""
        for pid in paper_ids:
            self.unsure.setdefault(pid, set())
        for cid in chunk_ids:
            self.unsure.setdefault(parse_chunk_id(cid)[0], set()).add(cid)

    def candidate_chunks(self, paper_ids: list[str]) -> list[str]:
        """Every chunk id an unsure paper can have in Chroma: below its committed span, or journaled."""
        ids: set[str] = set()
        for pid in paper_ids:
            ids.update(self.unsure.get(pid, ()))
            ids.update(chunk_id(pid, n) for n in range(self.side.span(pid)))
        return sorted(ids)


def open_view(base: Path, meta: dict, count, current: SideIndex | None) -> LookupView | None:
    """The view for Chroma's collection metadata `meta` (its generation and pending token), or None.

    `count()`: Chroma's chunk count (asked only when nothing is pending); `current`: a side index
    already open in this process (used when it is the committed one)."""
    from .index import META_GENERATION, META_PENDING

    generation, token = meta.get(META_GENERATION), meta.get(META_PENDING)
    view = LookupView(empty(""), generation, token)
    journal = None
    if token:
        journal = read_journal(base, token)
        if journal is None or journal.base != generation:
            return None
        view.add(list(journal.papers), list(journal.chunks))
    if generation is None:  # never committed: trustworthy only if Chroma was empty
        if (journal is not None and journal.empty) or (journal is None and count() == 0):
            return view
        return None
    if current is not None and current.generation == generation and current.consistent():
        view.side = current
    else:
        saved = SideIndex.saved_manifest(base)
        if not saved or not (saved.get("generation") == generation or (
                token and saved.get("parent") == generation and saved.get("token") == token)):
            return None
        try:
            view.side = SideIndex.load(base)
        except (OSError, ValueError) as exc:
            log.info("side index under %s not usable for lookups (%s); asking Chroma", base, exc)
            return None
    if not token and view.side.chunks != count():
        return None  # the side index disagrees with Chroma: the commit rebuilds it
    return view


def stored_from_side(side: SideIndex, paper_id: str) -> StoredPaper | None:
    """A committed paper as `codec.stored_papers` reads it from its chunks: complete when every
    chunk below its span is present and all carry the record's content hash (see build.STALE)."""
    row = side.row.get(paper_id)
    if row is None:
        return None
    record = side.record(paper_id)
    paper = Paper.from_dict(record)
    span, present = side.span(paper_id), int(side.table.n_chunks[row])
    expected = -1 if record.get(STALE) else span  # chunks of two versions: incomplete
    return StoredPaper(paper, paper.content_hash(), present, expected, has_first=present == span,
                       chunk_ids=[chunk_id(paper_id, n) for n in range(span)], added=int(side.table.added[row]))
