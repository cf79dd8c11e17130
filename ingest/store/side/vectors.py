"""Mean chunk vectors of the live rows, read from the segments' memory-mapped arrays on demand."""

from __future__ import annotations

import numpy as np


class RowVectors:
    """`vectors[rows]` -> float16 array (rows, dim), gathered from the segments holding those rows.

    Feedback reads a few dozen rows per query, so nothing is copied up front.
    """

    def __init__(self, segments, seg_of: np.ndarray, local_of: np.ndarray) -> None:
        self._arrays = [seg.vectors for seg in segments]
        self._seg_of = seg_of
        self._local_of = local_of
        self.shape = (len(seg_of), self._arrays[0].shape[1])
        self.dtype = self._arrays[0].dtype

    @classmethod
    def over(cls, segments, seg_of: np.ndarray, local_of: np.ndarray):
        """The vectors of these rows; None when there are no rows or a segment has no vectors."""
        if not len(seg_of) or any(seg.vectors is None for seg in segments):
            return None
        return cls(segments, seg_of, local_of)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows) -> np.ndarray:
        if isinstance(rows, slice):
            rows = np.arange(len(self))[rows]
        rows = np.asarray(rows, dtype=np.int64)
        scalar = rows.ndim == 0
        rows = rows.reshape(-1)
        segs, local = self._seg_of[rows], self._local_of[rows]
        out = np.empty((len(rows), self.shape[1]), dtype=self.dtype)
        for s in np.unique(segs):
            hit = segs == s
            out[hit] = self._arrays[s][local[hit]]
        return out[0] if scalar else out

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self[np.arange(len(self))]
        return out if dtype is None else out.astype(dtype)

    def astype(self, dtype) -> np.ndarray:
        return np.asarray(self, dtype=dtype)
