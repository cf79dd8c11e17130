"""`SideIndex`: BM25, filter masks, records and mean vectors over the live rows of some segments.

Rows are the live papers (not replaced or removed) of the manifest's segments, in segment order.
BM25 is scored at query time from each segment's raw term counts with global statistics, so
any set of segments scores exactly like one segment built from the same papers.
"""

from __future__ import annotations

import json
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .build import STALE
from . import title_keys
from .manifest import FORMAT
from .segment import Segment
from .table import NameLists, Table
from .terms import TOP_TERMS, idf, length_norm, paper_text, term_part, tokenize
from .vectors import RowVectors

DF_CACHE = 100_000  # document frequencies kept per snapshot (evidence scoring asks for many)
PARTS_CACHE = 32_000_000  # postings whose BM25 term-frequency part is kept between queries (128 MB)


def empty_manifest(generation: str) -> dict:
    return {"format": FORMAT, "generation": generation, "papers": 0, "chunks": 0, "parent": None, "token": None,
            "segments": []}


class SideIndex:
    """BM25, filter masks and mean vectors over the papers of one index generation."""

    def __init__(self, segments: list[Segment], manifest: dict) -> None:
        self.generation = manifest["generation"]
        self._manifest = manifest
        self.unsaved: dict[str, Path] = {}  # segments built but not saved yet: name -> temp dir
        self.segments = segments
        dead = {s["name"]: s.get("dead") or [] for s in manifest["segments"]}
        ids: list[str] = []
        self._to_row: list[np.ndarray] = []  # per segment: local row -> row (-1: dead)
        self._has_dead: list[bool] = []
        seg_of, local_of, columns = [], [], {name: [] for name in ("n_chunks", "date_ord", "added", "doc_len")}
        for s, seg in enumerate(segments):
            live = np.ones(len(seg), dtype=bool)
            live[np.asarray(dead.get(seg.name, []), dtype=np.int64)] = False
            local = np.flatnonzero(live)
            to_row = np.full(len(seg), -1, dtype=np.int64)
            to_row[local] = len(ids) + np.arange(len(local))
            self._to_row.append(to_row)
            self._has_dead.append(len(local) < len(seg))
            ids.extend(seg.ids if len(local) == len(seg) else [seg.ids[i] for i in local])
            seg_of.append(np.full(len(local), s, dtype=np.int32))
            local_of.append(local.astype(np.int64))
            for name, parts in columns.items():
                parts.append(np.asarray(seg.column(name))[local])
        self._seg_of = np.concatenate(seg_of) if seg_of else np.zeros(0, dtype=np.int32)
        self._local_of = np.concatenate(local_of) if local_of else np.zeros(0, dtype=np.int64)
        cols = {k: np.concatenate(v) if v else np.zeros(0, dtype=np.int64) for k, v in columns.items()}
        self.row = dict(zip(ids, range(len(ids))))
        if len(self.row) != len(ids):
            raise ValueError("a paper is live in two segments")
        self.table = Table(ids, cols, NameLists(lambda r: self._at(r, Segment.categories), len(ids)),
                           NameLists(lambda r: self._at(r, Segment.sources), len(ids)))
        self._date = cols["date_ord"]
        self.chunks = int(cols["n_chunks"].sum())
        avgdl = float(cols["doc_len"].sum()) / len(ids) if ids else 1.0
        self._avgdl = avgdl
        self._norms: list[np.ndarray | None] = [None] * len(segments)
        self._parts: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()  # (segment, term) -> parts
        self._parts_size = 0
        self._parts_lock = threading.Lock()  # the chat page searches from several threads
        self.vectors = RowVectors.over(segments, self._seg_of, self._local_of)
        self._df: dict[str, int] = {}

    def _at(self, row: int, method):
        return method(self.segments[self._seg_of[row]], int(self._local_of[row]))

    # --- identity
    def manifest(self) -> dict:
        """What identifies this side index: generation, counts, segments (checked on open)."""
        return self._manifest

    def consistent(self) -> bool:
        """The rows and chunks agree with the manifest (parts of two saves never mix)."""
        return self._manifest["papers"] == len(self.table) and self._manifest["chunks"] == self.chunks

    # --- records
    def record(self, paper_id: str) -> dict | None:
        """The stored record of a paper (title, abstract, authors, ..., passages), or None."""
        row = self.row.get(paper_id)
        return None if row is None else self._at(row, Segment.record)

    def papers(self) -> Iterator[dict]:
        """Every paper's record without its passages, plus `added` and `n_chunks`, in table order
        (what a listing of the library needs; one record read per paper)."""
        table = self.table
        for i in range(len(table)):
            record = self._at(i, Segment.record)
            record.pop("passages", None)
            record.pop(STALE, None)
            yield record | {"added": int(table.added[i]), "n_chunks": int(table.n_chunks[i])}

    def has_title_keys(self) -> bool:
        """Whether `title_ids` can answer (every segment has title-key arrays: format 11)."""
        return all(seg.has_title_keys() for seg in self.segments)

    def title_ids(self, keys: list[str]) -> dict[str, list[str]]:
        """The live paper ids of each title key that has any (sorted), from the segments' title-key
        arrays; each hit is confirmed by its record's title. Call only when `has_title_keys()`."""
        keys = list(dict.fromkeys(keys))
        out: dict[str, list[str]] = {}
        wanted = title_keys.key_hashes(keys)
        for seg, to_row in zip(self.segments, self._to_row):
            for key, local in zip(keys, seg.title_rows(wanted)):
                for i in local.tolist():
                    if to_row[i] >= 0 and title_keys.record_key(seg.record(i)) == key:
                        out.setdefault(key, []).append(seg.ids[i])
        return {k: sorted(v) for k, v in out.items()}

    def span(self, paper_id: str) -> int:
        """Highest chunk number + 1 of a live paper (0 if absent): its chunk ids are all below it."""
        row = self.row.get(paper_id)
        return 0 if row is None else int(self.segments[self._seg_of[row]].column("span")[self._local_of[row]])

    def locate(self, paper_id: str) -> tuple[str, int] | None:
        """(segment name, local row) of a live paper."""
        row = self.row.get(paper_id)
        return None if row is None else (self.segments[self._seg_of[row]].name, int(self._local_of[row]))

    def counts(self, field: str) -> dict[str, int]:
        """How many live papers carry each category (`field="categories"`) or source ("sources")."""
        out: Counter = Counter()
        for seg, to_row in zip(self.segments, self._to_row):
            ptr, code, names = ((seg.cat_ptr, seg.cat_code, seg.category_names) if field == "categories"
                                else (seg.src_ptr, seg.src_code, seg.source_names))
            live_entries = np.repeat(to_row >= 0, np.diff(np.asarray(ptr)))
            for c, n in enumerate(np.bincount(np.asarray(code)[live_entries], minlength=len(names))):
                if n:
                    out[names[c]] += int(n)
        return dict(out)

    # --- filters
    def mask(self, filters) -> np.ndarray | None:
        """Boolean mask of papers passing `filters` (a SearchFilters), or None for no filtering."""
        if filters is None or filters.is_empty():
            return None
        keep = np.ones(len(self.table), dtype=bool)
        if filters.date_from:
            keep &= self._date >= filters.date_from_ord
        if filters.date_to:
            keep &= (self._date <= filters.date_to_ord) & (self._date > 0)
        if filters.categories:
            keep &= self._having(set(filters.categories), "categories")
        if filters.sources:
            keep &= self._having(set(filters.sources), "sources")
        return keep

    def _having(self, wanted: set[str], field: str) -> np.ndarray:
        """Rows carrying any of the `wanted` category or source names."""
        hit = np.zeros(len(self.table), dtype=bool)
        for seg, to_row in zip(self.segments, self._to_row):
            ptr, code, names = ((seg.cat_ptr, seg.cat_code, seg.category_names) if field == "categories"
                                else (seg.src_ptr, seg.src_code, seg.source_names))
            codes = [c for c, name in enumerate(names) if name in wanted]
            if not codes:
                continue
            entries = np.isin(np.asarray(code), codes)
            local = np.repeat(np.arange(len(seg)), np.diff(np.asarray(ptr)))[entries]
            rows = to_row[local]
            hit[rows[rows >= 0]] = True
        return hit

    # --- BM25
    def df(self, term: str) -> int:
        """How many live papers hold `term`."""
        found = self._df.get(term)
        if found is None:
            found = 0
            for seg, to_row, has_dead in zip(self.segments, self._to_row, self._has_dead):
                docs, _tf = seg.postings(term)
                found += int((to_row[docs] >= 0).sum()) if has_dead else len(docs)
            if len(self._df) >= DF_CACHE:
                self._df.clear()
            self._df[term] = found
        return found

    def idf(self, term: str) -> float:
        """BM25-style idf of a stemmed term in this index (a term no paper has weighs the most)."""
        return idf(self.df(term), max(1, len(self.table)))

    def query_terms(self, query: str) -> Counter:
        """The query's stemmed terms that some paper holds, with their counts."""
        return Counter(t for t in tokenize([query])[0] if t and self.df(t))

    def _norm(self, s: int) -> np.ndarray:
        """Segment s's BM25 length norm per paper (float32), computed at the first query that reaches
        it (it depends on the global average length). The term-frequency part of a posting is
        computed per query from it, for the postings the query's terms reach: at 1M papers,
        computing it for every posting at the first query cost 2.9 s and 0.4 GiB kept (1.2 GiB at
        its peak) for ~100M postings, of which a query reads a few hundred thousand."""
        norm = self._norms[s]
        if norm is None:
            norm = self._norms[s] = length_norm(self.segments[s].column("doc_len"), self._avgdl).astype(np.float32)
        return norm

    def _term_part(self, s: int, tid: int, docs: np.ndarray, start: int, end: int) -> np.ndarray:
        """The term-frequency part of one term's postings in segment s, kept for the next queries
        (least recently used first out, at most PARTS_CACHE postings): the terms that recur across
        queries are the common ones, whose long posting lists cost the most to compute."""
        key = (s, tid)
        with self._parts_lock:
            parts = self._parts.get(key)
            if parts is not None:
                self._parts.move_to_end(key)
                return parts
        parts = term_part(self.segments[s].post_tf[start:end], self._norm(s)[docs])
        if len(parts) <= PARTS_CACHE // 4:
            with self._parts_lock:
                if key not in self._parts:
                    self._parts[key] = parts
                    self._parts_size += len(parts)
                while self._parts_size > PARTS_CACHE:
                    self._parts_size -= len(self._parts.popitem(last=False)[1])
        return parts

    def term_scores(self, weights: dict[str, float]) -> np.ndarray:
        """BM25 score of every paper for weighted terms (as `query_terms` and `expansion_terms` give)."""
        out = np.zeros(len(self.table), dtype=np.float32)
        n = max(1, len(self.table))
        for term, weight in weights.items():
            term_weight = np.float32(weight) * np.float32(idf(self.df(term), n))
            for s, seg in enumerate(self.segments):
                tid = seg.term_id.get(term)
                if tid is None:
                    continue
                start, end = int(seg.post_ptr[tid]), int(seg.post_ptr[tid + 1])
                docs = seg.post_doc[start:end]
                scores = term_weight * self._term_part(s, tid, docs, start, end)
                if self._has_dead[s]:
                    rows = self._to_row[s][docs]
                    live = rows >= 0
                    out[rows[live]] += scores[live]
                else:  # rows of this segment are one run: index it directly
                    out[self._live_start(s):][docs] += scores
        return out

    def _live_start(self, s: int) -> int:
        return int(self._to_row[s][0]) if len(self._to_row[s]) else 0

    def search(self, query: str | Counter, n: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """Top `n` papers with a positive score (papers without a query term score 0: dropped)."""
        if not len(self.table) or n <= 0:
            return []
        terms = self.query_terms(query) if isinstance(query, str) else query
        scores = self.term_scores(terms)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top])]
        return [(self.table.ids[i], float(scores[i])) for i in top if scores[i] > 0]

    def expansion_terms(self, rows, n_terms: int) -> dict[str, float]:
        """The `n_terms` most characteristic terms of these papers, weights scaled to max 1.

        A paper's characteristic terms are its TOP_TERMS terms by tf-idf (count / length x idf),
        computed from its record with this snapshot's idf (as a build from scratch would)."""
        rows = [int(r) for r in rows]
        if not rows or not len(self.table):
            return {}
        n = len(self.table)
        weight: Counter = Counter()
        for tokens in tokenize([paper_text(self._at(r, Segment.record)) for r in rows]):
            tf = Counter(t for t in tokens if t)
            length = sum(tf.values()) or 1
            scored = sorted(((float(np.float32(f / length * idf(self.df(t), n))), t) for t, f in tf.items()),
                            reverse=True)
            for w, t in scored[:TOP_TERMS]:
                weight[t] += w
        top = weight.most_common(n_terms)
        best = top[0][1] if top and top[0][1] > 0 else 1.0
        return {t: w / best for t, w in top}

    # --- persistence (see store.py)
    @classmethod
    def from_chunks(cls, rows, generation: str, workdir: Path | None = None) -> SideIndex:
        """Build from Chroma chunk rows (id, metadata, document, embedding), as a scan yields them."""
        from .store import from_chunks

        return from_chunks(rows, generation, workdir)

    @classmethod
    def load(cls, base: Path, attempts: int = 3) -> SideIndex:
        from .store import load

        return load(base, attempts)

    def save(self, base: Path) -> None:
        """Save atomically and durably under `base`, replacing the side index saved there."""
        from .store import save

        save(self, base)

    @staticmethod
    def saved_manifest(base: Path) -> dict | None:
        """The manifest of the side index saved under `base` (None if absent or of an older format)."""
        from .manifest import read_manifest

        return read_manifest(base)

    @classmethod
    def saved_generation(cls, base: Path) -> str | None:
        manifest = cls.saved_manifest(base)
        return manifest.get("generation") if manifest else None

    def __repr__(self) -> str:
        return f"SideIndex({json.dumps({k: v for k, v in self._manifest.items() if k != 'segments'})})"
