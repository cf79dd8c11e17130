"""Ingest: read files → dedupe → compare with the index → chunk → embed → write → commit.

Incremental and idempotent: a paper whose title and abstract are already stored (all chunks
present, same content hash) is not embedded again; a paper seen on a new page only has its
`sources` rewritten (reusing the stored vectors); a changed abstract replaces its old chunks.
A kill at any moment is safe: the first write marks the index pending, and only the commit
(side index saved atomically, then the generation stamped) clears the mark, so the next run
sees it and commits even when it finds nothing new to write (see `PaperIndex.begin_write`).

Streaming: records are read in batches of about `READ_BATCH` and each batch goes through the
whole pipeline before the next is read, so memory does not grow with the input. Across batches
a run keeps one small entry per paper it touched (`RunState`); a record whose paper an earlier
batch wrote is merged with the stored version as `dedupe` merges two records of one batch,
and counted once in the report.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .chunking import chunk_paper
from .dedupe import dedupe, merge_records
from .faults import kill_point
from .progress import NoProgress, Progress, make_progress
from .readers import stream_paths
from .records import ARXIV_ABS_URL, Paper, ReadError, Source, is_title_id, merged_sources
from .run import IngestReport, RunState  # noqa: F401 - IngestReport is imported from here by callers
from .settings import Settings
from .store import SRC_PREFIX, PaperIndex, StoredPaper

WRITE_BATCH = 128  # papers embedded and written per step (a crash loses at most one step)
READ_BATCH = 5000  # records read before they go through the pipeline (whole files: a bigger file is one batch)
LOOKUP_BATCH = 500  # paper ids / title keys per index lookup

def _merged(new: Paper, old: Paper) -> Paper:
    """The new record, with every source (and missing field) the stored one had. The stored
    sources lose their digests: the paper no longer holds what their records said (the new record
    wins), so a later ingest of those files is not taken as already absorbed (see `_absorbed`)."""
    merged = Paper(**{**new.__dict__, "sources": [Source(s.name, s.date) for s in old.sources]})
    merged.merge_sources(new)
    for attr in ("authors", "categories", "date", "doi", "url"):
        if not getattr(merged, attr) and getattr(old, attr):
            setattr(merged, attr, getattr(old, attr))
    return merged


def _absorbed(new: Paper, old: Paper) -> bool:
    """Whether every record merged into `new` was read from its file before, unchanged, into the
    stored `old` (each source with the same digest). Then `old` already holds what they say, with
    what later records of the run that stored it said after them: re-reading an input whose papers
    fall in several read parts (a title-only page record in one, the arXiv record in a later one)
    leaves every paper as it is, instead of letting the earlier part's record win for a while."""
    return bool(new.sources) and all(s.digest and _read_before(s, old) for s in new.sources)


def _read_before(src: Source, old: Paper) -> bool:
    """Whether `old` lists `src` with its digest: under its path, or under the bare file name an
    older index recorded it by (`Source.upgrades`; a new name alone is no new record)."""
    return any(o.digest == src.digest and (o == src or src.upgrades(o)) for o in old.sources)


def _record_changed(new: Paper, old: Paper) -> bool:
    """Whether a file gave another record than the one stored from it (e.g. corrected authors or
    date: what the content hash, title and abstract only, does not see), or the stored paper lost a
    source's digest (`_merged`) that the run can give back. A paper stored before digests were kept
    (none at all) is not compared: an upgraded library is not rewritten for them."""
    digests = {s: s.digest for s in old.sources}
    if not any(digests.values()):
        return False
    return any(s.digest and digests.get(s) != s.digest for s in new.sources)


def _first_added(stored: dict[str, StoredPaper], olds_of: dict[str, list[str]]) -> dict[str, int]:
    """When each stored paper was first added: its own time, or the earliest of the title-only
    records it replaces (0, unknown, for papers written before the time was recorded)."""
    added = {pid: sp.added for pid, sp in stored.items()}
    for new_id, old_ids in olds_of.items():
        times = [stored[i].added for i in [new_id, *old_ids] if i in stored and stored[i].added]
        if times:
            added[new_id] = min(times)
    return added


def stamp_digests(papers: list[Paper]) -> None:
    """Mark each record's sources with its fingerprint as read (see Source.digest): every reader
    of files for the index calls this, so a later ingest of the same file knows what it holds."""
    for p in papers:
        digest = p.record_digest()
        p.sources = [Source(s.name, s.date, digest) for s in p.sources]


def name_by_path(papers: list[Paper], path: str | Path) -> None:
    """Name the source of papers read from the file `path` by its resolved path (readers name it
    by the file name): two files of the same name in two folders are then two sources."""
    try:
        resolved = str(Path(path).resolve())
    except (OSError, RuntimeError):  # a symlink loop (RuntimeError before Python 3.13): its reader reports it
        resolved = str(Path(path).absolute())
    bare = Source(Path(path).name).name  # as the reader's Source cleaned it (undecodable bytes)
    for p in papers:
        p.sources = [Source(resolved, s.date, s.digest) if s.name == bare else s for s in p.sources]


def read_batches(paths: Iterable[str | Path], on_error: Callable[[ReadError], None], report: IngestReport,
                 batch: int = READ_BATCH, bar: Progress | NoProgress | None = None) -> Iterator[list[Paper]]:
    """The papers of `paths` in batches of about `batch` records (a big file is read in parts),
    counting files, records and problems in `report` as they are read."""
    bar = bar or NoProgress()
    papers: list[Paper] = []
    bar.phase("reading files", unit="records")
    for path, part, errors, last in stream_paths(paths, batch):
        name_by_path(part, path)
        stamp_digests(part)
        report.records_read += len(part)
        bar.advance(len(part))
        papers.extend(part)
        del part
        if last:
            report.files_read += 1
            bar.note(f"{report.files_read:,} file(s)")
            for err in errors:
                if not err.notice:  # a notice ("read as cp1252") is printed, not counted as a problem
                    report.errors.append(str(err))
                report.files_rejected += int(err.whole_file)
                bar.clear()  # a terminal's live line is not left in front of the message
                on_error(err)
        if len(papers) >= batch:
            yield papers
            papers = []
            bar.phase("reading files", unit="records")
    if papers:
        yield papers


def _resolve_ids(papers: list[Paper], index: PaperIndex, run: RunState, bar) -> dict[str, str]:
    """One paper, one id: a title-only record joins the stored record with an id (arXiv, DOI, the
    file's own id) of the same title, and a record with an id replaces every stored title-only
    one (keeping its sources). Each join is counted in `run.counts.by_title`.

    Returns {stored title-only id: the id replacing it}. A title-only record left beside its
    arXiv record by an interrupted run is found here again and replaced on the next run.
    """
    # a title-only record needs every stored id of its title (Chroma knows them); a record with an
    # id only the stored title-only paper `title:<key>` (the side index knows it)
    title_keys = sorted({p.title_key for p in papers if is_title_id(p.paper_id)})
    id_keys = sorted({p.title_key for p in papers} - set(title_keys))
    bar.phase("comparing titles with the index", total=len(title_keys) + len(id_keys))
    by_key: dict[str, list[str]] = {}
    for keys, lookup in ((title_keys, index.paper_ids_by_title_key), (id_keys, index.title_only_ids)):
        for start in range(0, len(keys), LOOKUP_BATCH):
            by_key.update(lookup(keys[start : start + LOOKUP_BATCH]))
            bar.advance(len(keys[start : start + LOOKUP_BATCH]))
    replaced: dict[str, str] = {}
    for p in papers:
        stored_ids = by_key.get(p.title_key, [])
        explicit = [i for i in stored_ids if not is_title_id(i)]
        if is_title_id(p.paper_id) and explicit:
            p.paper_id = explicit[0]
            run.counts.by_title += 1
            if p.paper_id.startswith("arxiv:"):
                p.arxiv_id = p.paper_id.split(":", 1)[1]
                p.url = p.url or ARXIV_ABS_URL.format(p.arxiv_id)
        if not is_title_id(p.paper_id):
            for i in stored_ids:
                if is_title_id(i) and i not in replaced:
                    if run.touched(i):  # a title-only record of an earlier batch: joined by title
                        run.counts.by_title += 1
                    replaced[i] = p.paper_id
    return replaced


def _stored(index: PaperIndex, paper_ids: list[str], bar) -> dict[str, StoredPaper]:
    bar.phase("comparing papers with the index", total=len(paper_ids))
    stored: dict[str, StoredPaper] = {}
    for start in range(0, len(paper_ids), LOOKUP_BATCH):
        stored.update(index.stored_papers(paper_ids[start : start + LOOKUP_BATCH]))
        bar.advance(len(paper_ids[start : start + LOOKUP_BATCH]))
    return stored


def ingest_papers(papers: list[Paper], index: PaperIndex, report: IngestReport, progress=None,
                  write_batch: int = WRITE_BATCH, run: RunState | None = None) -> None:
    """Write deduplicated papers into the index (the core of `ingest`, also used by uploads).

    `progress`: False, True/None (progress on stderr) or a `Progress`. `run`: the state of a
    streaming run this batch belongs to (its counts reach `report` at `run.tally`); without
    one, this batch is a run of its own and its counts are added to `report` at once.
    """
    own_run = run is None
    run = run if run is not None else RunState()
    own_bar = not isinstance(progress, (Progress, NoProgress))
    bar = make_progress(progress, index.settings.progress_interval)
    try:
        _ingest_batch(papers, index, run, bar, write_batch)
    finally:
        if own_bar:
            bar.close()
    if own_run:
        run.tally(report)


def _ingest_batch(papers: list[Paper], index: PaperIndex, run: RunState, bar, write_batch: int) -> None:
    settings = index.settings
    papers = dedupe(papers, run.counts)
    run.count_repeats(papers)
    replaced = _resolve_ids(papers, index, run, bar)
    papers = dedupe(papers, run.counts)
    stored = _stored(index, [p.paper_id for p in papers] + list(replaced), bar)
    olds_of: dict[str, list[str]] = {}  # paper id -> the stored title-only ids it replaces
    for old_id, new_id in replaced.items():
        olds_of.setdefault(new_id, []).append(old_id)
    to_embed: list[tuple[Paper, list[str]]] = []  # (paper, its stored chunk ids to replace)
    added = _first_added(stored, olds_of)  # a rewritten paper keeps the time it was first added
    sources_only: list[tuple[Paper, StoredPaper]] = []
    stale: set[str] = set()  # `src:` flags of sources a rewritten paper no longer lists (see Source.upgrades)
    for p in papers:
        own = stored.get(p.paper_id)
        if own is not None and not run.changed(p.paper_id) and _absorbed(p, own.paper):
            # read before, unchanged: the stored paper holds it as it should (see _absorbed); a bare
            # file name it was recorded by takes the path it was read from now
            p = Paper(**{**own.paper.__dict__, "sources": merged_sources(own.paper.sources, p.sources)})
            olds = olds_of.get(p.paper_id, [])
        else:
            olds = [p.paper_id, *olds_of.get(p.paper_id, [])]
        for old_id in olds:
            if old_id in stored:  # a version this run wrote merges as two records of one batch do
                old = stored[old_id].paper
                p = merge_records(old, p) if run.touched(old_id) else _merged(p, old)
        current = stored.get(p.paper_id)
        if current is not None:
            stale.update(SRC_PREFIX + s.name for s in current.paper.sources if s not in p.sources)
        if current is None or not current.complete or current.content_hash != p.content_hash():
            to_embed.append((p, current.chunk_ids if current is not None else []))
        elif (set(p.sources) != set(current.paper.sources) or p.categories != current.paper.categories
              or _record_changed(p, current.paper)):
            sources_only.append((p, current))
        else:
            run.record(p.paper_id, "unchanged")
    for old_id, new_id in replaced.items():  # a replaced title-only paper of this run: one paper now
        run.absorb(old_id, new_id)
    planned = {old_id: new_id for old_id, new_id in replaced.items() if old_id in stored}
    if planned:  # journaled before the new papers are written: a commit finishes what a kill cut short
        index.plan_replacements(planned)

    if sources_only:
        bar.phase("rewriting sources", total=len(sources_only))
    for p, current in sources_only:  # metadata only: reuse the stored vectors
        vectors = index.chroma.embeddings_of(current.chunk_ids)
        chunks = chunk_paper(p, settings.chunk_size, settings.chunk_overlap)
        bar.advance()
        if set(vectors) != {c.chunk_id for c in chunks}:  # chunking settings changed: embed again
            to_embed.append((p, current.chunk_ids))
            continue
        index.write_chunks([(p, c, p.content_hash(), vectors[c.chunk_id]) for c in chunks], added,
                           tuple(stale))  # same ids: in place
        kill_point("rewritten")
        same_files = set(p.sources) == set(current.paper.sources) and p.categories == current.paper.categories
        run.record(p.paper_id, "updated" if same_files else "sources_updated")

    if to_embed:
        bar.phase("loading the embedding model")  # the first use in a process loads it and the chunker (seconds)
        model = index.embed_model
        chunk_paper(to_embed[0][0], settings.chunk_size, settings.chunk_overlap)
        bar.phase("embedding", total=len(to_embed))
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="askpapers-write") as writer:
            pending: Future | None = None
            for start in range(0, len(to_embed), write_batch):
                batch = to_embed[start : start + write_batch]
                items = _embed(batch, settings, model, bar)
                if pending is not None:
                    pending.result()  # one write step at a time, in order; its error stops the run here
                pending = writer.submit(_write_step, batch, items, index, run, added, olds_of, tuple(stale))
            if pending is not None:
                pending.result()

    # drop the title-only records that an arXiv record has replaced (after the new one is written)
    gone = [cid for old_id in replaced if old_id in stored for cid in stored[old_id].chunk_ids]
    if gone:
        kill_point("superseded")
        index.delete_chunks(gone)


def _embed(batch: list[tuple[Paper, list[str]]], settings: Settings, model, bar) -> list[tuple]:
    """Chunk and embed one write step's papers in steady sub-batches (progress moves inside it):
    (paper, chunk, content hash, vector) for each chunk."""
    chunked = ((p, chunk_paper(p, settings.chunk_size, settings.chunk_overlap)) for p, _ in batch)
    items = []
    for part in _sub_batches(chunked, settings.embed_batch_size):
        vectors = model.embed([c.text for _p, chunks in part for c in chunks])
        rows = iter(vectors)
        items += [(p, c, p.content_hash(), [float(x) for x in next(rows)]) for p, chunks in part for c in chunks]
        bar.advance(len(part))
    return items


def _write_step(batch: list[tuple[Paper, list[str]]], items: list[tuple], index: PaperIndex, run: RunState,
                added: dict[str, int], olds_of: dict[str, list[str]], drop_keys: tuple[str, ...] = ()) -> None:
    """Write one step's chunks, then delete the chunks its papers' old versions no longer have.

    Runs in the ingest's writer thread while the next step is embedded, one step at a time, in
    order. Chroma's insert holds the GIL, but the embedding model mostly waits without it (in
    onnxruntime, or on an endpoint's answer), so the two overlap: into a large library the insert
    costs seconds per 1,000 papers (ingest/store/codec.py).
    Write first, then delete: a kill in between leaves both versions (the next run sees two
    content hashes and writes the paper again), never neither (that would lose the sources merged
    from the stored record)."""
    fresh = {p.paper_id for p, old in batch if not old}  # no chunk of theirs is stored: nothing to clear
    new_ids = frozenset(c.chunk_id for p, c, _h, _v in items if p.paper_id in fresh)
    index.write_chunks(items, added, drop_keys, new_ids=new_ids)
    kill_point("written")
    written = {chunk.chunk_id for _p, chunk, _h, _v in items}
    index.delete_chunks([cid for _p, old in batch for cid in old if cid not in written])
    kill_point("deleted")
    run.chunks_embedded += len(items)
    for p, old in batch:
        run.record(p.paper_id, "updated" if old or p.paper_id in olds_of else "added")


def _sub_batches(chunked: Iterable, texts_per_call: int) -> Iterator[list]:
    """Consecutive groups of (paper, chunks) with about `texts_per_call` texts each (at least one paper)."""
    part, size = [], 0
    for item in chunked:
        part.append(item)
        size += len(item[1])
        if size >= texts_per_call:
            yield part
            part, size = [], 0
    if part:
        yield part


def ingest(
    paths: Iterable[str | Path],
    settings: Settings | None = None,
    index: PaperIndex | None = None,
    on_error: Callable[[ReadError], None] | None = None,
    progress=None,
    write_batch: int = WRITE_BATCH,
    read_batch: int = READ_BATCH,
) -> IngestReport:
    """Read `paths` (files or directories) into the index and return what happened.

    Each bad file or record is reported through `on_error` (default: one line on stderr) and
    every good record still goes in. The run commits when it wrote anything, and also when an
    earlier run was interrupted (the index is pending) or the side index disagrees with Chroma.
    `progress`: False shows none; True or None shows it on stderr (see ingest/progress.py); a
    `Progress` is used as given.
    """
    started = time.perf_counter()
    if index is None:
        from .settings import get_settings

        index = PaperIndex(settings or get_settings())
    on_error = on_error or (lambda err: print(err, file=sys.stderr))
    report = IngestReport()
    run = RunState()
    parts_committed = 0
    from .store.lock import exclusive_writer  # one writer per index (waits, then fails in one line)

    with exclusive_writer(index), make_progress(progress, index.settings.progress_interval) as bar:
        for n, papers in enumerate(read_batches(paths, on_error, report, read_batch, bar), start=1):
            if n > 1:
                bar.context(f"input batch {n}, {report.records_read:,} records read so far")
            ingest_papers(papers, index, report, bar, write_batch, run)
            del papers  # the next batch is read without this one in memory
            if index.needs_commit():  # each part commits: no commit builds a segment of the whole input
                kill_point("before-commit")
                bar.phase("committing")
                index.commit(reopen=False)
                parts_committed += 1
        run.tally(report)
        kill_point("before-commit")
        if index.needs_commit():
            bar.phase("committing")
            index.commit()
        elif parts_committed and index.chroma.embedded:
            index.chroma.reopen()  # as the last commit would have (see PaperIndex.commit)
    table = index.side.table
    report.papers_total = len(table)
    report.chunks_total = sum(table.n_chunks)
    report.seconds = time.perf_counter() - started
    return report
