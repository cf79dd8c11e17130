"""An example reranker (off by default): papers whose title shares more query words move up.

It shows the seam: one module with a factory taking (index, settings), plus one line in
`registry.RERANKERS`. Ties keep the retriever's order, so with no title overlap nothing moves.
"""

from __future__ import annotations

import re

from .hit import Hit

_WORD = re.compile(r"[a-z0-9]{3,}")


class TitleOverlapReranker:
    def __init__(self, index=None, settings=None) -> None:
        self.index = index

    def rerank(self, query: str, hits: list[Hit]) -> list[Hit]:
        words = set(_WORD.findall(query.lower()))
        return sorted(hits, key=lambda h: -len(words.intersection(_WORD.findall(h.title.lower()))))
