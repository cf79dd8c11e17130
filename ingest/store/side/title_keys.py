"""Which rows of a segment hold a paper of a given title key (`records.title_key`), without Chroma.

A segment (format 11) stores, in arrays.bin, the 64-bit BLAKE2 hash of each row's title key
sorted (`tkey_hash`) and the local row of each (`tkey_row`): a lookup is a binary search, and
opening a segment reads nothing (the arrays are memory-mapped). A hash only narrows the search:
a hit is confirmed by the row's stored title, so a collision never answers a wrong paper.
A merge carries the hashes over. A format-10 segment has none: while one is live, title lookups
ask Chroma as before; the merge that rewrites it computes its rows' hashes from their records
(`line_hashes`, once), so an existing library gets them as compaction rewrites its segments.
(Adding them to every old segment at the first commit was measured and left out: 12 s for a
90k-paper segment at load 8, 100 s at load 12, for a commit that may add 50 papers.)
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

import numpy as np

from ...records import title_key

HASH = "tkey_hash"
ROW = "tkey_row"


def key_hashes(keys: Iterable[str]) -> np.ndarray:
    """The 64-bit hash of each title key (the same in every process: not Python's hash())."""
    return np.fromiter((int.from_bytes(hashlib.blake2b(k.encode("utf-8"), digest_size=8).digest(), "little")
                        for k in keys), dtype=np.uint64)


def record_key(record: dict) -> str:
    """The title key of a stored record (what Chroma's `title_key` metadata holds for its paper)."""
    return title_key(record.get("title") or "")


def line_hashes(lines: Iterable[bytes]) -> np.ndarray:
    """The title-key hash of each stored record line (lean or whole: both hold `title`), without
    decoding the rest of the record (an old segment's keys are computed this way, once)."""
    def title(line: bytes) -> str:
        value = json.loads(line).get("title") if line else None
        return value if isinstance(value, str) and value != "\0" else ""  # "\0": records.MISSING

    return key_hashes(title_key(title(line)) for line in lines)


def sorted_index(row_hashes: np.ndarray) -> dict[str, np.ndarray]:
    """The arrays a segment stores for per-row hashes: hashes sorted, and the row of each."""
    order = np.argsort(row_hashes, kind="stable").astype(np.int32)
    return {HASH: np.asarray(row_hashes, dtype=np.uint64)[order], ROW: order}


def row_hashes(hashes: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    """Per-row hashes (row order) back from a segment's sorted arrays."""
    out = np.zeros(n, dtype=np.uint64)
    out[np.asarray(rows)] = np.asarray(hashes)
    return out


def find(hashes: np.ndarray, rows: np.ndarray, wanted: np.ndarray) -> list[np.ndarray]:
    """For each wanted hash, the local rows whose title key has it (candidates: confirm by title)."""
    hashes = np.asarray(hashes)
    lo = np.searchsorted(hashes, wanted, side="left")
    hi = np.searchsorted(hashes, wanted, side="right")
    return [np.asarray(rows[a:b]) for a, b in zip(lo.tolist(), hi.tolist())]

