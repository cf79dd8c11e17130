"""Ingest: read files → dedupe → compare with the index → chunk → embed → write → commit.

Incremental and idempotent: a paper whose title and abstract are already stored (all chunks
present, same content hash) is not embedded again; a paper seen on a new page only has its
`sources` rewritten (reusing the stored vectors); a changed abstract replaces its old chunks.
An interrupted run leaves some papers written and others not; the next run completes them.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .chunking import chunk_paper
from .dedupe import dedupe
from .readers import read_paths
from .records import ARXIV_ABS_URL, Paper, ReadError, is_title_id
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
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        return (
            f"{self.files_read} file(s), {self.records_read} records, {self.papers_in_batch} unique papers: "
            f"{self.added} added, {self.updated} updated, {self.sources_updated} with new sources, "
            f"{self.unchanged} unchanged; {self.chunks_embedded} chunks embedded in {self.seconds:.1f} s. "
            f"Index: {self.papers_total} papers, {self.chunks_total} chunks"
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


def read_all(paths: Iterable[str | Path], on_error: Callable[[ReadError], None], report: IngestReport) -> list[Paper]:
    papers: list[Paper] = []
    for _path, file_papers, errors in read_paths(paths):
        report.files_read += 1
        report.records_read += len(file_papers)
        for err in errors:
            report.errors.append(str(err))
            report.files_rejected += int(err.whole_file)
            on_error(err)
        papers.extend(file_papers)
    return papers


def ingest_papers(papers: list[Paper], index: PaperIndex, report: IngestReport, progress: bool | None = None) -> None:
    """Write deduplicated papers into the index (the core of `ingest`, also used by uploads)."""
    settings = index.settings
    papers = dedupe(papers)
    report.papers_in_batch = len(papers)

    # one paper, one id: a title-only record joins the stored arXiv record of the same title,
    # and an arXiv record replaces a stored title-only one (keeping its sources)
    by_key = index.paper_ids_by_title_key(sorted({p.title_key for p in papers}))
    superseded: dict[str, str] = {}
    for p in papers:
        stored_id = by_key.get(p.title_key)
        if not stored_id or stored_id == p.paper_id:
            continue
        if is_title_id(p.paper_id) and not is_title_id(stored_id):
            p.paper_id = stored_id
            if stored_id.startswith("arxiv:"):
                p.arxiv_id = stored_id.split(":", 1)[1]
                p.url = p.url or ARXIV_ABS_URL.format(p.arxiv_id)
        elif is_title_id(stored_id) and not is_title_id(p.paper_id):
            superseded[p.paper_id] = stored_id
    papers = dedupe(papers)

    stored = index.stored_papers([p.paper_id for p in papers] + list(superseded.values()))
    to_embed: list[tuple[Paper, list[str]]] = []  # (paper, its stored chunk ids to replace)
    sources_only: list[tuple[Paper, StoredPaper]] = []
    for p in papers:
        old = stored.get(p.paper_id) or stored.get(superseded.get(p.paper_id, ""))
        if old is not None:
            p = _merged(p, old.paper)
        current = stored.get(p.paper_id)
        if current is None or not current.complete or current.content_hash != p.content_hash():
            to_embed.append((p, current.chunk_ids if current is not None else []))
        elif set(p.sources) != set(current.paper.sources) or p.categories != current.paper.categories:
            sources_only.append((p, current))
        else:
            report.unchanged += 1

    if to_embed or sources_only or superseded:
        index.record_model()
    for p, current in sources_only:  # metadata only: reuse the stored vectors
        vectors = index.chunk_embeddings(p.paper_id)
        chunks = chunk_paper(p, settings.chunk_size, settings.chunk_overlap)
        if set(vectors) != {c.chunk_id for c in chunks}:  # chunking settings changed: embed again
            to_embed.append((p, current.chunk_ids))
            continue
        index.delete_chunks(current.chunk_ids)
        index.write_chunks([(p, c, p.content_hash(), vectors[c.chunk_id]) for c in chunks])
        report.sources_updated += 1

    from tqdm import tqdm

    bar = tqdm(total=len(to_embed), unit="paper", desc="embedding", disable=None if progress is None else not progress,
               file=sys.stderr)
    model = index.embed_model if to_embed else None
    for start in range(0, len(to_embed), WRITE_BATCH):
        batch = to_embed[start : start + WRITE_BATCH]
        chunked = [(p, chunk_paper(p, settings.chunk_size, settings.chunk_overlap)) for p, _ in batch]
        texts = [c.text for _, chunks in chunked for c in chunks]
        vectors = model.embed(texts)
        items, i = [], 0
        for p, chunks in chunked:
            for c in chunks:
                items.append((p, c, p.content_hash(), [float(x) for x in vectors[i]]))
                i += 1
        index.delete_chunks([cid for _p, old in batch for cid in old])
        index.write_chunks(items)
        report.chunks_embedded += len(items)
        for p, old in batch:
            if old or p.paper_id in superseded:
                report.updated += 1
            else:
                report.added += 1
        bar.update(len(batch))
    bar.close()

    # drop the title-only records that an arXiv record has replaced (after the new one is written)
    gone = [cid for new_id, old_id in superseded.items() if old_id != new_id and old_id in stored
            for cid in stored[old_id].chunk_ids]
    if gone:
        index.delete_chunks(gone)


def ingest(
    paths: Iterable[str | Path],
    settings=None,
    index: PaperIndex | None = None,
    on_error: Callable[[ReadError], None] | None = None,
    progress: bool | None = None,
) -> IngestReport:
    """Read `paths` (files or directories) into the index and return what happened.

    Each bad file or record is reported through `on_error` (default: one line on stderr) and
    every good record still goes in.
    """
    started = time.perf_counter()
    if index is None:
        from .settings import get_settings

        index = PaperIndex(settings or get_settings())
    on_error = on_error or (lambda err: print(err, file=sys.stderr))
    report = IngestReport()
    papers = read_all(paths, on_error, report)
    if papers:
        ingest_papers(papers, index, report, progress)
    if report.added or report.updated or report.sources_updated or index.generation is None:
        index.commit()
    table = index.side.table
    report.papers_total = len(table)
    report.chunks_total = sum(table.n_chunks)
    report.seconds = time.perf_counter() - started
    return report
