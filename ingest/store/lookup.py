"""What an ingest asks before it writes ("is this paper stored, and how?"), answered from the
side index instead of Chroma `where` queries (which scan Chroma's metadata index and grow with
the library: 6-9 s per 1,000 papers at 100k).

The side index of the committed generation knows every committed paper: its record, its chunk
count and span, when it was first added. What it cannot know are the papers written since that
commit (this process's writes, or an interrupted ingest's): exactly the papers the pending
ingest's journal names (ingest/store/side/journal.py journals each write before it reaches
Chroma). Those are `unsure`: they are read from Chroma by chunk id (their committed span plus the
chunk ids the journal names), which is cheap and exact. Title lookups ("which stored papers have this
title key?") read the side index's title-key arrays (format 11) the same way; the unsure papers'
keys are known from this process's writes, or read once from Chroma by chunk id. When the committed state cannot be
trusted (no journal here: another machine wrote, a read-only cache, a journal from another base;
a saved side index that is not the committed one), `open_view` returns None and the caller asks
Chroma as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..chunking import chunk_id, parse_chunk_id
from ..records import Paper
from .codec import StoredPaper, stored_papers
from .side import SideIndex, read_journal
from .side.build import STALE
from .side.store import empty

log = logging.getLogger(__name__)
Fetch = Callable[[list[str]], Iterable[tuple[str, dict]]]  # chunk ids -> (id, metadata) of those stored


@dataclass
class LookupView:
    """The committed side index of `generation`, and the papers Chroma may hold otherwise."""

    side: SideIndex
    generation: str | None
    token: str | None  # the pending token the view was built under (None: nothing pending)
    unsure: dict[str, set[str]] = field(default_factory=dict)  # paper id -> chunk ids journaled for it
    keys: dict[str, frozenset[str]] = field(default_factory=dict)  # unsure paper -> title keys its chunks hold
    by_key: dict[str, set[str]] = field(default_factory=dict)  # title key -> unsure papers that held it
    unknown: set[str] = field(default_factory=set)  # unsure papers whose keys are not known (yet)

    def add(self, paper_ids: list[str], chunk_ids: list[str], keys: dict[str, str] | None = None) -> None:
        """A write of this process (journaled): those papers are unsure until the commit. `keys`:
        the title key each written paper's chunks now carry (unknown keys are read from Chroma
        when a title lookup may need them; a delete leaves a known key: it only removes chunks)."""
        for pid in paper_ids:
            self.unsure.setdefault(pid, set())
            if pid not in self.keys:
                self.unknown.add(pid)
        for cid in chunk_ids:
            self.unsure.setdefault(parse_chunk_id(cid)[0], set()).add(cid)
        for pid, key in (keys or {}).items():
            self._know(pid, frozenset([key]))

    def _know(self, pid: str, keys: frozenset[str]) -> None:
        self.keys[pid] = keys
        self.unknown.discard(pid)
        for key in keys:
            self.by_key.setdefault(key, set()).add(pid)

    def stored(self, paper_ids: list[str], fetch: Fetch) -> dict[str, StoredPaper]:
        """The stored state of these papers: the side index's for committed ones, Chroma's (read by
        chunk id through `fetch`) for unsure ones."""
        out: dict[str, StoredPaper] = {}
        for pid in paper_ids:
            if pid not in self.unsure:
                found = stored_from_side(self.side, pid)
                if found is not None:
                    out[pid] = found
        out.update(stored_papers(list(fetch(self.candidate_chunks([p for p in paper_ids if p in self.unsure])))))
        return out

    def title_ids(self, keys: list[str], fetch: Fetch) -> dict[str, list[str]]:
        """Every stored paper id of each title key that has one (sorted), as a Chroma `where` on
        `title_key` would answer: committed papers from the side index, unsure ones from Chroma by
        chunk id (only those whose key is unknown or wanted). Needs `side.has_title_keys()`."""
        wanted = set(keys)
        out = {k: [i for i in ids if i not in self.unsure] for k, ids in self.side.title_ids(keys).items()}
        # unsure papers that may hold a wanted key (a known key is checked again: cheap, and exact)
        maybe = sorted(self.unknown.union(*(self.by_key.get(k, ()) for k in wanted)))
        found: dict[str, set[str]] = {}
        for _cid, meta in fetch(self.candidate_chunks(maybe)):
            found.setdefault(meta["paper_id"], set()).add(meta.get("title_key") or "")
        for pid in maybe:
            self._know(pid, frozenset(found.get(pid, ())))
            for key in self.keys[pid] & wanted:
                out.setdefault(key, []).append(pid)
        return {k: sorted(set(v)) for k, v in out.items() if v}

    def candidate_chunks(self, paper_ids: list[str]) -> list[str]:
        return candidate_chunks(self.side, paper_ids, self.unsure)


def candidate_chunks(side: SideIndex, paper_ids: Iterable[str], journaled: dict[str, Iterable[str]]) -> list[str]:
    """Every chunk id these papers can have in Chroma: below their committed span in `side`, or
    journaled when written (`journaled`: paper id -> its chunk ids in the journal)."""
    ids: set[str] = set()
    for pid in set(paper_ids):
        ids.update(journaled.get(pid, ()))
        ids.update(chunk_id(pid, n) for n in range(side.span(pid)))
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
