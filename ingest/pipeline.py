"""Ingest: read files → dedupe → compare with the index → chunk → embed → write → commit.

Incremental and idempotent: a paper whose title and abstract are already stored (all chunks
present, same content hash) is not embedded again; a paper seen on a new page only has its
`sources` rewritten (reusing the stored vectors); a changed abstract replaces its old chunks.
A kill at any moment is safe: the first write marks the index pending, and only the commit
(side index saved atomically, then the generation stamped) clears the mark, so the next run
sees it and commits even when it finds nothing new to write (see `PaperIndex.begin_write`).
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .chunking import chunk_paper
from .dedupe import MergeCounts, dedupe
from .faults import kill_point
from .readers import read_paths
from .records import ARXIV_ABS_URL, Paper, ReadError, is_title_id
from .settings import Settings
from .store import PaperIndex, StoredPaper

WRITE_BATCH = 128  # papers embedded and written per step (a crash loses at most one step)


@dataclass
class IngestReport:
    files_read: int = 0
    files_rejected: int = 0
    records_read: int = 0
    papers_in_batch: int = 0
    added: int = 0
    updated: int = 0
    sources_updated: int = 0
    unchanged: int = 0
    chunks_embedded: int = 0
    papers_total: int = 0
    chunks_total: int = 0
    merged_by_title: int = 0  # records merged into another paper (new or stored) by title: one had no id
    duplicate_ids: int = 0  # records whose explicit id (arXiv, DOI, the file's id column) came earlier
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def merge_notes(self) -> list[str]:
        """Why records became fewer papers, one clause per reason (none when nothing merged)."""
        notes = []
        if self.merged_by_title:
            notes.append(f"; {self.merged_by_title} records merged into existing papers by title (no id)")
        if self.duplicate_ids:
            notes.append(f"; {self.duplicate_ids} duplicate ids in the input")
        return notes

    def summary(self) -> str:
        return (
            f"{self.files_read} file(s), {self.records_read} records, {self.papers_in_batch} unique papers: "
            f"{self.added} added, {self.updated} updated, {self.sources_updated} with new sources, "
            f"{self.unchanged} unchanged; {self.chunks_embedded} chunks embedded in {self.seconds:.1f} s. "
            f"Index: {self.papers_total} papers, {self.chunks_total} chunks"
            + "".join(self.merge_notes())
            + (f"; {len(self.errors)} problem(s) reported" if self.errors else "")
        )


def _merged(new: Paper, old: Paper) -> Paper:
    """The new record, with every source (and missing field) the stored one had."""
    merged = Paper(**{**new.__dict__, "sources": list(old.sources)})
    merged.merge_sources(new)
    for attr in ("authors", "categories", "date", "doi", "url"):
        if not getattr(merged, attr) and getattr(old, attr):
            setattr(merged, attr, getattr(old, attr))
    return merged


def _first_added(stored: dict[str, StoredPaper], olds_of: dict[str, list[str]]) -> dict[str, int]:
    """When each stored paper was first added: its own time, or the earliest of the title-only
    records it replaces (0, unknown, for papers written before the time was recorded)."""
    added = {pid: sp.added for pid, sp in stored.items()}
    for new_id, old_ids in olds_of.items():
        times = [stored[i].added for i in [new_id, *old_ids] if i in stored and stored[i].added]
        if times:
            added[new_id] = min(times)
    return added


def read_all(paths: Iterable[str | Path], on_error: Callable[[ReadError], None], report: IngestReport) -> list[Paper]:
    papers: list[Paper] = []
    for _path, file_papers, errors in read_paths(paths):
        report.files_read += 1
        report.records_read += len(file_papers)
        for err in errors:
            if not err.notice:  # a notice ("read as cp1252") is printed, not counted as a problem
                report.errors.append(str(err))
            report.files_rejected += int(err.whole_file)
            on_error(err)
        papers.extend(file_papers)
    return papers


def _resolve_ids(papers: list[Paper], index: PaperIndex, counts: MergeCounts) -> dict[str, str]:
    """One paper, one id: a title-only record joins the stored record with an id (arXiv, DOI, the
    file's own id) of the same title, and a record with an id replaces every stored title-only
    one (keeping its sources). Each join is counted in `counts.by_title`.

    Returns {stored title-only id: the id replacing it}. A title-only record left beside its
    arXiv record by an interrupted run is found here again and replaced on the next run.
    """
    by_key = index.paper_ids_by_title_key(sorted({p.title_key for p in papers}))
    replaced: dict[str, str] = {}
    for p in papers:
        stored_ids = by_key.get(p.title_key, [])
        explicit = [i for i in stored_ids if not is_title_id(i)]
        if is_title_id(p.paper_id) and explicit:
            p.paper_id = explicit[0]
            counts.by_title += 1
            if p.paper_id.startswith("arxiv:"):
                p.arxiv_id = p.paper_id.split(":", 1)[1]
                p.url = p.url or ARXIV_ABS_URL.format(p.arxiv_id)
        if not is_title_id(p.paper_id):
            replaced.update({i: p.paper_id for i in stored_ids if is_title_id(i)})
    return replaced


def ingest_papers(papers: list[Paper], index: PaperIndex, report: IngestReport, progress: bool | None = None,
                  write_batch: int = WRITE_BATCH) -> None:
    """Write deduplicated papers into the index (the core of `ingest`, also used by uploads)."""
    settings = index.settings
    counts = MergeCounts()
    papers = dedupe(papers, counts)
    report.papers_in_batch = len(papers)
    replaced = _resolve_ids(papers, index, counts)
    papers = dedupe(papers, counts)
    report.merged_by_title, report.duplicate_ids = counts.by_title, counts.duplicate_ids

    stored = index.stored_papers([p.paper_id for p in papers] + list(replaced))
    olds_of: dict[str, list[str]] = {}  # paper id -> the stored title-only ids it replaces
    for old_id, new_id in replaced.items():
        olds_of.setdefault(new_id, []).append(old_id)
    to_embed: list[tuple[Paper, list[str]]] = []  # (paper, its stored chunk ids to replace)
    added = _first_added(stored, olds_of)  # a rewritten paper keeps the time it was first added
    sources_only: list[tuple[Paper, StoredPaper]] = []
    for p in papers:
        for old_id in [p.paper_id, *olds_of.get(p.paper_id, [])]:
            if old_id in stored:
                p = _merged(p, stored[old_id].paper)
        current = stored.get(p.paper_id)
        if current is None or not current.complete or current.content_hash != p.content_hash():
            to_embed.append((p, current.chunk_ids if current is not None else []))
        elif set(p.sources) != set(current.paper.sources) or p.categories != current.paper.categories:
            sources_only.append((p, current))
        else:
            report.unchanged += 1

    for p, current in sources_only:  # metadata only: reuse the stored vectors
        vectors = index.chunk_embeddings(p.paper_id)
        chunks = chunk_paper(p, settings.chunk_size, settings.chunk_overlap)
        if set(vectors) != {c.chunk_id for c in chunks}:  # chunking settings changed: embed again
            to_embed.append((p, current.chunk_ids))
            continue
        index.write_chunks([(p, c, p.content_hash(), vectors[c.chunk_id]) for c in chunks], added)  # same ids: in place
        kill_point("rewritten")
        report.sources_updated += 1

    from tqdm import tqdm

    bar = tqdm(total=len(to_embed), unit="paper", desc="embedding", disable=None if progress is None else not progress,
               file=sys.stderr)
    model = index.embed_model if to_embed else None
    for start in range(0, len(to_embed), write_batch):
        batch = to_embed[start : start + write_batch]
        chunked = [(p, chunk_paper(p, settings.chunk_size, settings.chunk_overlap)) for p, _ in batch]
        texts = [c.text for _, chunks in chunked for c in chunks]
        vectors = model.embed(texts)
        items, i = [], 0
        for p, chunks in chunked:
            for c in chunks:
                items.append((p, c, p.content_hash(), [float(x) for x in vectors[i]]))
                i += 1
        # write first, then delete what the new version no longer has: a kill in between leaves
        # both versions (the next run sees two content hashes and writes the paper again), never
        # neither (that would lose the sources merged from the stored record)
        index.write_chunks(items, added)
        kill_point("written")
        new_ids = {chunk.chunk_id for _p, chunk, _h, _v in items}
        index.delete_chunks([cid for _p, old in batch for cid in old if cid not in new_ids])
        kill_point("deleted")
        report.chunks_embedded += len(items)
        for p, old in batch:
            if old or p.paper_id in olds_of:
                report.updated += 1
            else:
                report.added += 1
        bar.update(len(batch))
    bar.close()

    # drop the title-only records that an arXiv record has replaced (after the new one is written)
    gone = [cid for old_id in replaced if old_id in stored for cid in stored[old_id].chunk_ids]
    if gone:
        kill_point("superseded")
        index.delete_chunks(gone)


def ingest(
    paths: Iterable[str | Path],
    settings: Settings | None = None,
    index: PaperIndex | None = None,
    on_error: Callable[[ReadError], None] | None = None,
    progress: bool | None = None,
    write_batch: int = WRITE_BATCH,
) -> IngestReport:
    """Read `paths` (files or directories) into the index and return what happened.

    Each bad file or record is reported through `on_error` (default: one line on stderr) and
    every good record still goes in. The run commits when it wrote anything, and also when an
    earlier run was interrupted (the index is pending) or the side index disagrees with Chroma.
    """
    started = time.perf_counter()
    if index is None:
        from .settings import get_settings

        index = PaperIndex(settings or get_settings())
    on_error = on_error or (lambda err: print(err, file=sys.stderr))
    report = IngestReport()
    papers = read_all(paths, on_error, report)
    if papers:
        ingest_papers(papers, index, report, progress, write_batch)
    kill_point("before-commit")
    if index.needs_commit():
        index.commit()
    table = index.side.table
    report.papers_total = len(table)
    report.chunks_total = sum(table.n_chunks)
    report.seconds = time.perf_counter() - started
    return report
