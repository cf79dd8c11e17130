"""One immutable segment of the side index: a directory holding some papers, never changed.

A segment holds, for its papers (local rows 0..n-1):
  meta.json      counts, the names behind category/source codes, where each array lies in arrays.bin
  ids.json       paper ids
  terms.txt      the segment's own vocabulary (stemmed terms, one a line; local term ids)
  records.jsonl  each paper's record (title, abstract, ..., passages), read by offset; stored
                 lean (records.py: passages as spans of the abstract, derivable keys left out)
  arrays.bin     the arrays, back to back (64-byte aligned):
    rows       int64 (n, 5): chunks, chunk span (highest chunk number + 1), date ordinal,
               first-added time, BM25 length (terms)
    cat_ptr, cat_code, src_ptr, src_code   categories and sources (CSR of codes)
    post_ptr, post_doc, post_tf            term-major postings: local rows and raw term counts (uint8
               when they fit, else uint16/int32)
    offsets    where each record starts in records.jsonl
    vectors    float16 (n, dim): each paper's normalised mean chunk vector (absent: no vectors)
    tkey_hash, tkey_row   title-key hashes sorted, and their rows (title_keys.py; absent in format 10)

arrays.bin is memory-mapped, so opening a segment costs its ids and vocabulary, not its data;
few files keep a small commit's fsyncs few.
"""

from __future__ import annotations

import json
import mmap
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..files import fsync_tree
from . import records, title_keys
from .terms import paper_text, tokenize

ROW_FIELDS = ("n_chunks", "span", "date_ord", "added", "doc_len")
ALIGN = 64
RECORD_BLOCK = 4096  # records written per write() call


@dataclass
class PaperRow:
    """One paper as a segment stores it (built from its Chroma chunks, or copied from a segment)."""

    paper_id: str
    record: dict  # title, abstract, authors, ..., passages
    n_chunks: int
    span: int  # highest chunk number + 1: every chunk id of this paper is below it
    date_ord: int = 0
    added: int = 0
    categories: list[str] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    vector: np.ndarray | None = None  # normalised mean chunk vector


def _codes(lists: list[list[str]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Names, CSR pointer and codes of per-row name lists."""
    names: dict[str, int] = {}
    ptr = np.zeros(len(lists) + 1, dtype=np.int64)
    codes: list[int] = []
    for i, values in enumerate(lists):
        codes.extend(names.setdefault(v, len(names)) for v in values)
        ptr[i + 1] = len(codes)
    return list(names), ptr, np.asarray(codes, dtype=np.int32)


def _postings(tokens: list[list[str]]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Vocabulary (sorted) and term-major postings (pointer, local rows, term counts)."""
    vocab = sorted({t for doc in tokens for t in doc})
    tid = {t: i for i, t in enumerate(vocab)}
    flat = np.fromiter((tid[t] for doc in tokens for t in doc), dtype=np.int64, count=sum(map(len, tokens)))
    rows = np.repeat(np.arange(len(tokens), dtype=np.int64), [len(doc) for doc in tokens])
    # one key per (term, row): sorted unique keys are the postings, term-major; their counts the tf
    keys, tfs = np.unique(flat * max(1, len(tokens)) + rows, return_counts=True)
    terms = keys // max(1, len(tokens))
    ptr = np.zeros(len(vocab) + 1, dtype=np.int64)
    np.cumsum(np.bincount(terms, minlength=len(vocab)), out=ptr[1:])
    return vocab, ptr, (keys % max(1, len(tokens))).astype(np.int32), _tf_array(tfs)


def tf_dtype(tf_max: int) -> np.dtype:
    """The narrowest dtype of term counts up to `tf_max` (a count over 255 in one abstract is rare)."""
    return np.dtype(np.uint8 if tf_max < 1 << 8 else np.uint16 if tf_max < 1 << 16 else np.int32)


def _tf_array(tf: np.ndarray) -> np.ndarray:
    return tf.astype(tf_dtype(int(tf.max()) if len(tf) else 0))


def write_segment(path: Path, papers: list[PaperRow]) -> None:
    """Write `papers` as a new segment directory at `path` (fsynced; the caller renames it in)."""
    tokens = tokenize([paper_text(p.record) for p in papers]) if papers else []
    vocab, ptr, docs, tfs = _postings(tokens)
    vectors = [p.vector for p in papers]
    rows = np.array([[p.n_chunks, p.span, p.date_ord, p.added, len(t)] for p, t in zip(papers, tokens)],
                    dtype=np.int64).reshape(len(papers), len(ROW_FIELDS))
    write_arrays(path, [p.paper_id for p in papers], rows, _codes([p.categories for p in papers]),
                 _codes([p.sources for p in papers]),
                 np.vstack(vectors) if papers and all(v is not None for v in vectors) else None,
                 (vocab, ptr, docs, tfs),
                 (records.encode(p.record, p.paper_id) for p in papers),
                 title_keys.key_hashes(title_keys.record_key(p.record) for p in papers))


def write_arrays(path: Path, ids: list[str], rows: np.ndarray, categories: tuple, sources: tuple,
                 vectors: np.ndarray | None, postings: tuple, records: Iterable[bytes],
                 title_hashes: np.ndarray | None = None) -> None:
    """Write a segment from its parts (a merge builds them from other segments without re-tokenizing).

    `categories`/`sources`: (names, CSR pointer, codes); `postings`: (vocabulary, pointer, rows,
    term counts); `records`: one JSON line per row, streamed to the file; `title_hashes`: each
    row's title-key hash (None: the segment gets no title-key lookup, as format 10 wrote).
    """
    path.mkdir(parents=True)
    (cat_names, cat_ptr, cat_code), (src_names, src_ptr, src_code) = categories, sources
    vocab, ptr, docs, tfs = postings
    offsets = np.zeros(len(ids) + 1, dtype=np.int64)
    with open(path / "records.jsonl", "wb") as f:
        block: list[bytes] = []
        for i, line in enumerate(records):  # streamed in blocks: a merge never holds all records
            block.append(line)
            offsets[i + 1] = offsets[i] + len(line)
            if len(block) == RECORD_BLOCK:
                f.write(b"".join(block))
                block = []
        f.write(b"".join(block))
    arrays = {"rows": rows, "cat_ptr": cat_ptr, "cat_code": cat_code, "src_ptr": src_ptr, "src_code": src_code,
              "post_ptr": ptr, "post_doc": docs, "post_tf": tfs, "offsets": offsets}
    if vectors is not None:
        arrays["vectors"] = np.asarray(vectors, dtype=np.float16)
    if title_hashes is not None:
        arrays.update(title_keys.sorted_index(title_hashes))
    layout = _write_array_file(path / "arrays.bin", arrays)
    (path / "terms.txt").write_text("\n".join(vocab), encoding="utf-8")
    (path / "ids.json").write_text(json.dumps(ids, ensure_ascii=False), encoding="utf-8")
    meta = {"papers": len(ids), "chunks": int(rows[:, 0].sum()), "categories": cat_names, "sources": src_names,
            "arrays": layout}
    (path / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    fsync_tree(path)


def _write_array_file(path: Path, arrays: dict[str, np.ndarray]) -> dict[str, list]:
    """Write arrays back to back, each 64-byte aligned; returns {name: [dtype, shape, offset]}."""
    layout = {}
    with open(path, "wb") as f:
        for name, array in arrays.items():
            array = np.ascontiguousarray(array)
            f.write(b"\0" * (-f.tell() % ALIGN))
            layout[name] = [array.dtype.str, list(array.shape), f.tell()]
            f.write(array.tobytes())
    return layout


def _map_arrays(path: Path, layout: dict[str, list]) -> dict[str, np.ndarray]:
    """Read-only arrays over one memory map of `path` (plain ndarrays: np.memmap's indexing is slow)."""
    with open(path, "rb") as f:
        data = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ) if os.fstat(f.fileno()).st_size else b""
    out = {}
    for name, (dtype, shape, offset) in layout.items():
        dtype = np.dtype(dtype)
        count = int(np.prod(shape))
        out[name] = np.frombuffer(data, dtype=dtype, count=count, offset=offset if count else 0).reshape(shape)
    return out


class Segment:
    """A segment opened for reading (arrays mapped, records read by offset from an open file).

    The open descriptor and mappings keep reading this segment even after compaction deletes it.
    """

    def __init__(self, path: Path, name: str | None = None) -> None:
        self.name = name or path.name
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        self.ids: list[str] = json.loads((path / "ids.json").read_text(encoding="utf-8"))
        self.category_names: list[str] = meta["categories"]
        self.source_names: list[str] = meta["sources"]
        arrays = _map_arrays(path / "arrays.bin", meta["arrays"])
        self.rows = arrays["rows"]
        self.cat_ptr, self.cat_code = arrays["cat_ptr"], arrays["cat_code"]
        self.src_ptr, self.src_code = arrays["src_ptr"], arrays["src_code"]
        self.post_ptr, self.post_doc, self.post_tf = arrays["post_ptr"], arrays["post_doc"], arrays["post_tf"]
        self.offsets = arrays["offsets"]
        self.vectors = arrays.get("vectors")
        self.tkey_hash, self.tkey_row = arrays.get(title_keys.HASH), arrays.get(title_keys.ROW)
        text = (path / "terms.txt").read_text(encoding="utf-8")
        self.terms: list[str] = text.split("\n") if text else []
        self.term_id = {t: i for i, t in enumerate(self.terms)}
        self._fd = os.open(path / "records.jsonl", os.O_RDONLY)
        if not (len(self.ids) == len(self.rows) == len(self.offsets) - 1 == meta["papers"]
                and len(self.post_ptr) == len(self.terms) + 1
                and (self.vectors is None or len(self.vectors) == len(self.ids))
                and (self.tkey_hash is None or len(self.tkey_hash) == len(self.tkey_row) == len(self.ids))):
            raise ValueError(f"segment {path} is inconsistent")

    def __len__(self) -> int:
        return len(self.ids)

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    def column(self, name: str) -> np.ndarray:
        return self.rows[:, ROW_FIELDS.index(name)]

    def raw_record(self, local: int) -> bytes:
        start, end = int(self.offsets[local]), int(self.offsets[local + 1])
        return os.pread(self._fd, end - start, start)

    def raw_records(self, local: np.ndarray) -> Iterator[bytes]:
        """The stored lines of these local rows, read through a map of the file (compaction
        copies many; the map follows the open file even after the segment is deleted)."""
        if not len(local) or not int(self.offsets[-1]):
            yield from (b"" for _ in local)
            return
        offsets = np.asarray(self.offsets)
        with mmap.mmap(self._fd, 0, prot=mmap.PROT_READ) as data:
            for i in local:
                yield data[offsets[i]:offsets[i + 1]]

    def record(self, local: int) -> dict:
        return records.decode(self.raw_record(local), self.ids[local])

    def categories(self, local: int) -> list[str]:
        return [self.category_names[c] for c in self.cat_code[self.cat_ptr[local]:self.cat_ptr[local + 1]]]

    def sources(self, local: int) -> list[str]:
        return [self.source_names[c] for c in self.src_code[self.src_ptr[local]:self.src_ptr[local + 1]]]

    def has_title_keys(self) -> bool:
        return self.tkey_hash is not None

    def title_hashes(self) -> np.ndarray | None:
        """Each local row's title-key hash (None: a format-10 segment has none)."""
        return None if self.tkey_hash is None else title_keys.row_hashes(self.tkey_hash, self.tkey_row, len(self))

    def title_rows(self, wanted: np.ndarray) -> list[np.ndarray]:
        """For each wanted title-key hash, the local rows holding it (confirm each by its record)."""
        return title_keys.find(self.tkey_hash, self.tkey_row, wanted)

    def postings(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """(local rows, term counts) of the papers holding `term` (empty when the segment lacks it)."""
        tid = self.term_id.get(term)
        if tid is None:
            return np.zeros(0, dtype=np.int32), np.zeros(0, dtype=np.uint16)
        start, end = int(self.post_ptr[tid]), int(self.post_ptr[tid + 1])
        return self.post_doc[start:end], self.post_tf[start:end]
