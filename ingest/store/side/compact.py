"""Compaction: merge segments into one, dropping their dead rows (no re-tokenizing).

When it runs (see `plan`): the newest segments merge while the one before them is no larger
than all of them together (so segments grow geometrically and stay few: each paper is copied
about log2(library / commit) times over its life), and everything merges once dead rows exceed
DEAD_FRACTION of all rows (so replaced papers cost at most that share of space and time).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .segment import Segment, _tf_array, write_arrays

DEAD_FRACTION = 0.25
MAX_SEGMENTS = 16


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
    write_arrays(path, ids, rows, categories, sources, vectors, _merged_postings(segments, lives), records)


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
    """(vocabulary, pointer, rows, term counts) of the live rows, over the terms they still hold."""
    vocab = sorted(set().union(*(seg.terms for seg in segments)))
    term_id = {t: i for i, t in enumerate(vocab)}
    tid_parts, doc_parts, tf_parts = [], [], []
    base = 0
    for seg, live in zip(segments, lives):
        new_row = np.full(len(seg), -1, dtype=np.int32)
        new_row[live] = base + np.arange(len(live), dtype=np.int32)
        remap = np.fromiter((term_id[t] for t in seg.terms), dtype=np.int32, count=len(seg.terms))
        term_of = np.repeat(remap, np.diff(np.asarray(seg.post_ptr)))
        rows = new_row[np.asarray(seg.post_doc)]
        keep = rows >= 0
        tid_parts.append(term_of[keep])
        doc_parts.append(rows[keep])
        tf_parts.append(np.asarray(seg.post_tf)[keep].astype(np.int32))
        base += len(live)
    tids = np.concatenate(tid_parts)
    order = np.argsort(tids, kind="stable")
    tids, docs, tfs = tids[order], np.concatenate(doc_parts)[order], np.concatenate(tf_parts)[order]
    counts = np.bincount(tids, minlength=len(vocab))
    used = counts > 0
    ptr = np.zeros(int(used.sum()) + 1, dtype=np.int64)
    np.cumsum(counts[used], out=ptr[1:])
    return [t for t, u in zip(vocab, used.tolist()) if u], ptr, docs, _tf_array(tfs)
