"""Saving and opening side indexes: a full save, an incremental commit, a load.

Full save (a rebuild from Chroma): one segment, a manifest naming only it. Incremental commit:
one new segment with only the changed papers, their old rows marked dead, maybe a compaction
(compact.py), and a manifest naming the result. Both end in the same swap, under the lock:
rename the new segment in, replace the manifest, delete what no manifest names. A kill before
the manifest is replaced leaves the old side index whole; after, the new one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import weakref
from pathlib import Path

import numpy as np

from ...faults import kill_point
from ..files import fsync_dir, swap_lock
from . import compact
from .build import papers_from_chunks
from .manifest import (
    FORMAT,
    collect_garbage,
    new_segment_name,
    new_temp_dir,
    read_manifest,
    side_dir,
    write_manifest,
)
from .segment import PaperRow, Segment, write_segment
from .side_index import SideIndex, empty_manifest

SYSTEM_TMP = "askpapers-side-"
_open: weakref.WeakValueDictionary = weakref.WeakValueDictionary()  # (dir, name) -> Segment, shared by snapshots


class StaleBaseError(ValueError):
    """Another process replaced the side index while this commit was built on it."""


def open_segment(base: Path, name: str) -> Segment:
    """A saved segment, opened once per process (segments never change)."""
    key = (str(side_dir(base).resolve()), name)
    seg = _open.get(key)
    if seg is None:
        seg = Segment(side_dir(base) / name)
        _open[key] = seg
    return seg


def load(base: Path, attempts: int = 3) -> SideIndex:
    """Load the saved side index; retried when another process swaps in a new one meanwhile.

    Raises OSError/ValueError when no consistent copy could be read (the caller rebuilds).
    """
    for attempt in range(attempts):
        before = read_manifest(base)
        try:
            if before is None:
                raise ValueError(f"no side index of format {FORMAT} under {base}")
            side = SideIndex([open_segment(base, s["name"]) for s in before["segments"]], before)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            if attempt == attempts - 1:  # one kind for the caller, who rebuilds from Chroma
                raise exc if isinstance(exc, (OSError, ValueError)) else ValueError(
                    f"side index under {base} is damaged: {exc!r}") from exc
            time.sleep(0.05)
            continue
        if before == read_manifest(base) and side.consistent():
            return side
    raise ValueError(f"side index under {base} changed while it was read")


def empty(generation: str) -> SideIndex:
    return SideIndex([], empty_manifest(generation))


def from_chunks(rows, generation: str, workdir: Path | None = None) -> SideIndex:
    """A side index of one segment built from Chroma chunk rows (id, metadata, document, embedding),
    written under `workdir` (the base it will be saved to) or a temp dir, not yet saved."""
    papers = papers_from_chunks(rows)
    if not papers:
        return empty(generation)
    path = _temp_path(workdir)
    write_segment(path, papers)
    name = new_segment_name()
    seg = Segment(path, name)
    manifest = empty_manifest(generation) | {"papers": len(papers), "chunks": sum(p.n_chunks for p in papers),
                                             "segments": [{"name": name, "papers": len(papers), "dead": []}]}
    side = SideIndex([seg], manifest)
    side.unsaved = {name: path}
    # never saved: its files go with it (a system temp dir whole, with the dir made for it)
    weakref.finalize(side, shutil.rmtree, str(path.parent if path.parent.name.startswith(SYSTEM_TMP) else path), True)
    return side


def _temp_path(workdir: Path | None) -> Path:
    if workdir is not None:
        try:
            return new_temp_dir(workdir)
        except OSError:
            pass  # a read-only cache: build in the system temp dir
    return Path(tempfile.mkdtemp(prefix=SYSTEM_TMP)) / "segment"


def save(side: SideIndex, base: Path) -> None:
    """Save a side index built by `from_chunks` under `base`, replacing whatever is there."""
    directory = side_dir(base)
    directory.mkdir(parents=True, exist_ok=True)
    staged = {}
    for name, path in getattr(side, "unsaved", {}).items():
        if path.parent != directory:  # built elsewhere (system temp): copy it next to its place
            target = new_temp_dir(base)
            shutil.copytree(path, target)
            path = target
        staged[name] = path
    kill_point("side-tmp")
    _swap(base, side.manifest(), staged, expected=None)
    side.unsaved = {}
    _remember(base, side)


def _swap(base: Path, manifest: dict, staged: dict[str, Path], expected: dict | None) -> None:
    """Rename the staged segments in and replace the manifest, under the lock.

    `expected`: the manifest the new one was built on (checked unchanged), or None for a full save.
    """
    directory = side_dir(base)
    directory.mkdir(parents=True, exist_ok=True)
    with swap_lock(base):
        if expected is not None and read_manifest(base) != expected:
            raise StaleBaseError(f"the side index under {base} changed during the commit")
        for name, path in staged.items():
            os.replace(path, directory / name)
        fsync_dir(directory)
        kill_point("segment-written")
        write_manifest(base, manifest)
        collect_garbage(base, manifest)


def _remember(base: Path, side: SideIndex) -> None:
    """Share the saved side index's open segments with later loads in this process."""
    directory = str(side_dir(base).resolve())
    for seg in side.segments:
        _open.setdefault((directory, seg.name), seg)


def _live_chunks(seg: Segment, dead: set[int]) -> int:
    n_chunks = np.asarray(seg.column("n_chunks"))
    return int(n_chunks.sum()) - int(n_chunks[list(dead)].sum()) if dead else int(n_chunks.sum())


def commit_changes(current: SideIndex, base: Path, papers: list[PaperRow], touched: set[str], generation: str,
                   parent: str | None, token: str | None) -> SideIndex:
    """Save `current` with the papers in `touched` replaced by `papers` (their state in Chroma
    now; a touched paper not among them was removed). Only the changed papers are written;
    compaction merges segments when `compact.plan` says it pays. Returns the new side index."""
    expected = current.manifest() if current.manifest()["segments"] else None
    dead = {s["name"]: set(s.get("dead") or []) for s in current.manifest()["segments"]}
    for pid in touched | {p.paper_id for p in papers}:
        where = current.locate(pid)
        if where is not None:
            dead[where[0]].add(where[1])
    segments = [seg for seg in current.segments if len(dead[seg.name]) < len(seg)]  # drop emptied ones
    staged: dict[str, Path] = {}
    if papers:
        path = new_temp_dir(base)
        write_segment(path, papers)
        name = new_segment_name()
        segments.append(Segment(path, name))
        staged[name] = path
        dead[name] = set()
    kill_point("side-tmp")
    start = compact.plan([len(s) - len(dead[s.name]) for s in segments], [len(dead[s.name]) for s in segments])
    if start is not None:
        segments, staged = _compacted(base, segments, dead, start, staged)
    entries = [{"name": s.name, "papers": len(s), "dead": sorted(dead[s.name])} for s in segments]
    manifest = empty_manifest(generation) | {
        "parent": parent, "token": token, "papers": sum(e["papers"] - len(e["dead"]) for e in entries),
        "chunks": sum(_live_chunks(s, dead[s.name]) for s in segments), "segments": entries}
    side = SideIndex(segments, manifest)
    _swap(base, manifest, staged, expected=expected)
    _remember(base, side)
    return side


def _compacted(base: Path, segments: list[Segment], dead: dict[str, set[int]], start: int,
               staged: dict[str, Path]) -> tuple[list[Segment], dict[str, Path]]:
    """Merge segments[start:] into one new staged segment."""
    merged = segments[start:]
    to_rows = []
    for seg in merged:
        to_row = np.zeros(len(seg), dtype=np.int64)
        to_row[np.fromiter(dead[seg.name], dtype=np.int64, count=len(dead[seg.name]))] = -1
        to_rows.append(to_row)
    path = new_temp_dir(base)
    compact.merge(path, merged, to_rows)
    name = new_segment_name()
    dead[name] = set()
    for seg in merged:
        if seg.name in staged:  # the new segment, merged before it was ever swapped in
            shutil.rmtree(staged.pop(seg.name), ignore_errors=True)
    kill_point("compacted")
    return segments[:start] + [Segment(path, name)], staged | {name: path}
