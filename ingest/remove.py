"""Remove papers from the index, crash-safe like an ingest (see ingest/pipeline.py).

By id, a paper goes entirely: its chunks in Chroma, then (at the commit) its side-index row and
its counts. By source file, a paper read only from that file goes; a paper also read from other
files stays, rewritten without that source (its stored vectors are reused, nothing is embedded).

The write protocol is the ingest's: the first write marks the index pending
(`PaperIndex.begin_write`), rewrites come before deletes, and only `commit` clears the mark. A
kill at any moment leaves the mark, so a re-run of the same removal, or the next ingest, commits
and ends consistent. Fault points reached, in order: marked, rewritten, deleted, before-commit,
then the commit's (scanned, side-tmp, segment-written, side-saved, stamped, journal-removed); see
ingest/faults.py.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from .chunking import Chunk
from .faults import kill_point
from .filters import AskpapersInputError
from .records import Paper, Source
from .store import SRC_PREFIX, PaperIndex, StoredPaper
from .store.codec import added_time
from .store.lock import exclusive_writer


class UnknownPaperError(AskpapersInputError):
    """Paper ids or a source the index does not hold (one line naming them)."""


@dataclass
class RemoveReport:
    """What a removal did: papers removed entirely, papers kept with their other sources."""

    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    source: str | None = None
    chunks_deleted: int = 0
    papers_total: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        """'3 papers removed, 2 kept with their other sources. Index: 40 papers'."""
        text = _papers(len(self.removed)) + " removed"
        if self.source is not None:
            text += f", {len(self.kept)} kept with their other sources"
        return f"{text}. Index: {_papers(self.papers_total)}"


def _papers(n: int) -> str:
    return f"{n} paper{'' if n == 1 else 's'}"


def remove_papers(index: PaperIndex, paper_ids: list[str]) -> RemoveReport:
    """Remove these papers entirely. Any id the index does not hold: `UnknownPaperError`, and
    nothing is removed (a typo must not remove half a list)."""
    ids = list(dict.fromkeys(i.strip() for i in paper_ids if i and i.strip()))
    if not ids:
        raise AskpapersInputError("give at least one paper id (see `askpapers papers`)")
    with exclusive_writer(index):  # one writer per index
        return _remove_papers(index, ids)


def _finish_pending(index: PaperIndex) -> bool:
    """Commit what an interrupted earlier write left pending before removing anything: the removal
    then starts from what that write meant (e.g. a replacement of a title-only paper it had written
    but not finished, which a commit after the removal of the new paper could no longer tell)."""
    if not index.needs_commit():
        return False
    index.commit()
    return True


def _remove_papers(index: PaperIndex, ids: list[str]) -> RemoveReport:
    finished = _finish_pending(index)
    stored = index.stored_papers(ids)
    unknown = [i for i in ids if i not in stored]
    if unknown:
        _fail(f"no paper with id {', '.join(map(repr, unknown))} in the index (see `askpapers papers`)", finished)
    report = RemoveReport()
    _apply(index, stored, {}, report)
    return report


def remove_source(index: PaperIndex, name: str) -> RemoveReport:
    """Remove the source file `name` (as stored, e.g. `000_161ee5e26b606702.txt`): papers read only
    from it go, papers also read elsewhere stay without it."""
    with exclusive_writer(index):  # one writer per index
        return _remove_source(index, name)


def _remove_source(index: PaperIndex, name: str) -> RemoveReport:
    finished = _finish_pending(index)
    stored = index.papers_with_source(name)
    if not stored:
        _fail(f"no paper in the index comes from the source {name!r} (see `askpapers stats`)", finished)
    doomed: dict[str, StoredPaper] = {}
    kept: dict[str, Paper] = {}
    for pid, sp in stored.items():
        # the paper's text and fields may be the removed file's: no remaining source still says
        # that its record is what the paper holds (a later ingest of it writes it again)
        others = [Source(s.name, s.date) for s in sp.paper.sources if s.name != name]
        if others:
            kept[pid] = Paper(**{**sp.paper.__dict__, "sources": others})
        else:
            doomed[pid] = sp
    report = RemoveReport(source=name)
    _apply(index, doomed, kept, report)
    return report


def _fail(message: str, finished: bool) -> None:
    """Raise `UnknownPaperError`, saying so when a write an earlier removal or ingest left pending
    was completed first (a removal re-run after a kill finds its papers already gone)."""
    if finished:
        message += "; an interrupted earlier write was completed"
    raise UnknownPaperError(message)


def _apply(index: PaperIndex, doomed: dict[str, StoredPaper], kept: dict[str, Paper], report: RemoveReport) -> None:
    """Rewrite the kept papers (without the removed source's `src:` flag), delete the doomed ones'
    chunks, then commit (see the module docstring)."""
    if kept:
        items, added = [], {}
        for cid, meta, doc, vector in index.chunk_rows(sorted(kept)):
            pid = meta["paper_id"]
            passage = (doc or "").split("\n", 1)[-1]
            chunk = Chunk(cid, pid, int(meta.get("chunk") or 0), int(meta.get("n_chunks") or 1), doc or "", passage)
            items.append((kept[pid], chunk, meta.get("content_hash", ""), vector))
            added[pid] = added_time(meta)
        drop = (SRC_PREFIX + report.source,) if report.source is not None else ()
        index.write_chunks(items, added, drop)  # same ids: rewritten in place, the vectors reused
        kill_point("rewritten")
    chunk_ids = [cid for sp in doomed.values() for cid in sp.chunk_ids]
    index.delete_chunks(chunk_ids)
    kill_point("deleted")
    kill_point("before-commit")
    if index.needs_commit():
        index.commit()
    report.removed, report.kept = sorted(doomed), sorted(kept)
    report.chunks_deleted = len(chunk_ids)
    report.papers_total = len(index.side.table)

