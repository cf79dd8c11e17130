"""The paper table of a side index: per-paper facts in row order, read without asking Chroma."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


class NameLists(Sequence):
    """Each row's category (or source) names, decoded from its segment's codes on access."""

    def __init__(self, lookup, n: int) -> None:
        self._lookup = lookup  # row -> list of names
        self._n = n

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, row):
        if isinstance(row, slice):
            return [self._lookup(i) for i in range(*row.indices(self._n))]
        if row < 0:
            row += self._n
        if not 0 <= row < self._n:
            raise IndexError(row)
        return self._lookup(row)


class Table:
    """Ids, chunk counts, date ordinals, first-added times, categories and sources of the live
    papers, row i being paper i (the rows of `SideIndex.row`, `mask`, `term_scores`).

    The numbers are lists of Python ints, as callers print and serialise them."""

    def __init__(self, ids: list[str], columns: dict[str, np.ndarray], categories: NameLists,
                 sources: NameLists) -> None:
        self.ids = ids
        self.n_chunks: list[int] = columns["n_chunks"].tolist()
        self.date_ord: list[int] = columns["date_ord"].tolist()
        self.added: list[int] = columns["added"].tolist()
        self.categories = categories
        self.sources = sources

    def __len__(self) -> int:
        return len(self.ids)
