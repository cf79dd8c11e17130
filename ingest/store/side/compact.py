"""Compaction: merge segments into one, dropping their dead rows (no re-tokenizing).

When it runs (see `plan`): the newest segments merge while the one before them is no larger
than all of them together (so segments grow geometrically and stay few: each paper is copied
about log2(library / commit) times over its life), and everything merges once dead rows exceed
DEAD_FRACTION of all rows (so replaced papers cost at most that share of space and time).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import title_keys
from .segment import Segment, tf_dtype, write_arrays

DEAD_FRACTION = 0.25
MAX_SEGMENTS = 16
BLOCK = 1 << 20  # postings a merge reads at a time


def plan(live: list[int], dead: list[int]) -> int | None:
    """Index of the first segment to merge with all after it, or None to merge nothing.

    `live`/`dead`: rows of each segment, oldest first, the new segment last.
    """
    n = len(live)
    if n and sum(dead) > DEAD_FRACTION * (sum(live) + sum(dead)):
        return 0
    start, run = n - 1, live[-1] if n else 0
    while start > 0 and (live[start - 1] <= run or start + 1 > MAX_SEGMENTS):
        start -= 1
        run += live[start]
    return start if start < n - 1 else None


def merge(path: Path, segments: list[Segment], to_rows: list[np.ndarray]) -> None:
    """Write the live rows of `segments` (oldest first) as one new segment at `path`.

    `to_rows[i]` maps segment i's local rows to anything >= 0 when live, -1 when dead. All
    vectorised: vocabularies are sorted, so each segment's postings stay sorted under the merged
    term ids, and one stable sort by term interleaves them (rows ascending within a term).
    """
    lives = [np.flatnonzero(t >= 0) for t in to_rows]
    ids = [seg.ids[i] for seg, live in zip(segments, lives) for i in live.tolist()]
    rows = np.concatenate([np.asarray(seg.rows)[live] for seg, live in zip(segments, lives)])
    categories = _merged_codes([(seg.category_names, seg.cat_ptr, seg.cat_code) for seg in segments], lives)
    sources = _merged_codes([(seg.source_names, seg.src_ptr, seg.src_code) for seg in segments], lives)
    vectors = (np.vstack([seg.vectors[live] for seg, live in zip(segments, lives)])
               if all(seg.vectors is not None for seg in segments) else None)
    records = (line for seg, live in zip(segments, lives) for line in seg.raw_records(live))
    title_hashes = np.concatenate([_title_hashes(seg, live) for seg, live in zip(segments, lives)])
    write_arrays(path, ids, rows, categories, sources, vectors, _merged_postings(segments, lives), records,
                 title_hashes)


def _title_hashes(seg: Segment, live: np.ndarray) -> np.ndarray:
    """The live rows' title-key hashes: carried over, or (a format-10 segment has none) computed
    from their records, so a merge upgrades old segments."""
    hashes = seg.title_hashes()
    if hashes is not None:
        return hashes[live]
    return title_keys.line_hashes(seg.raw_records(live))


def _merged_codes(parts: list[tuple], lives: list[np.ndarray]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(names, CSR pointer, codes) of the live rows of several segments' category (or source) codes."""
    names: dict[str, int] = {}
    counts, codes = [], []
    for (seg_names, ptr, code), live in zip(parts, lives):
        remap = np.array([names.setdefault(n, len(names)) for n in seg_names], dtype=np.int32)
        per_row = np.diff(np.asarray(ptr))
        keep = np.zeros(len(per_row), dtype=bool)
        keep[live] = True
        counts.append(per_row[live])
        codes.append(remap[np.asarray(code)[np.repeat(keep, per_row)]] if len(remap) else np.zeros(0, dtype=np.int32))
    ptr = np.zeros(sum(len(c) for c in counts) + 1, dtype=np.int64)
    np.cumsum(np.concatenate(counts), out=ptr[1:])
    return list(names), ptr, np.concatenate(codes).astype(np.int32)


def _merged_postings(segments: list[Segment], lives: list[np.ndarray]):
    """(vocabulary, pointer, rows, term counts) of the live rows, over the terms they still hold.

    Each posting is put straight at its place (no global sort): a term's postings come segment
    by segment, oldest first, each segment's in row order, read in blocks of BLOCK postings, so
    the memory beyond the output is one block's, not every segment's postings at once.
    """
    vocab = sorted(set().union(*(seg.terms for seg in segments)))
    term_id = {t: i for i, t in enumerate(vocab)}
    remaps, new_rows, base = [], [], 0
    counts = np.zeros(len(vocab), dtype=np.int64)
    for seg, live in zip(segments, lives):
        new_row = np.full(len(seg), -1, dtype=np.int32)
        new_row[live] = base + np.arange(len(live), dtype=np.int32)
        remap = np.fromiter((term_id[t] for t in seg.terms), dtype=np.int32, count=len(seg.terms))
        for tids, _rows, _tfs in _blocks(seg, remap, new_row):
            counts += np.bincount(tids, minlength=len(vocab))
        remaps.append(remap)
        new_rows.append(new_row)
        base += len(live)
    used = counts > 0
    ptr = np.zeros(len(vocab) + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    cursor = ptr[:-1].copy()
    total = int(ptr[-1])
    docs = np.empty(total, dtype=np.int32)
    tf_max = max((int(np.asarray(s.post_tf).max()) for s in segments if len(s.post_tf)), default=0)
    tfs = np.empty(total, dtype=tf_dtype(tf_max))
    for seg, remap, new_row in zip(segments, remaps, new_rows):
        for t, rows, tf in _blocks(seg, remap, new_row):
            # t ascends (term-major postings; remap keeps the sorted order): rank within each run
            at = cursor[t] + (np.arange(len(t)) - np.searchsorted(t, t, side="left"))
            docs[at] = rows
            tfs[at] = tf
            cursor += np.bincount(t, minlength=len(vocab))
    out_ptr = np.zeros(int(used.sum()) + 1, dtype=np.int64)
    np.cumsum(counts[used], out=out_ptr[1:])
    return [t for t, u in zip(vocab, used.tolist()) if u], out_ptr, docs, tfs


def _blocks(seg: Segment, remap: np.ndarray, new_row: np.ndarray):
    """A segment's live postings in blocks of BLOCK: (merged term ids, merged rows, term counts)."""
    ptr = np.asarray(seg.post_ptr)
    n = int(ptr[-1]) if len(ptr) else 0
    for start in range(0, n, BLOCK):
        end = min(n, start + BLOCK)
        tids = remap[np.searchsorted(ptr, np.arange(start, end), side="right") - 1]
        rows = new_row[np.asarray(seg.post_doc[start:end])]
        keep = rows >= 0
        yield tids[keep], rows[keep], np.asarray(seg.post_tf[start:end])[keep]
