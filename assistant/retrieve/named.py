"""Papers a query calls by a rare name come first: "VectorQ", "LLMLingua-2", "SparK".

A name (`questions.names`: a capital inside the word or letters with digits) that at most
NAMED_DF papers of the index hold is how a researcher points at a paper; meaning-based ranking
and feedback blur it ("VectorQ" reads like any vector-quantization paper). When the query's
rare names are all held by the same papers, those papers lead, in the order retrieval gave them
(or BM25's, for those retrieval had not found), when they go by that name (their title holds it,
or their abstract introduces it); other names and common words rank as before.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ingest.store.sparse import SideIndex

NAMED_DF = 3  # a name held by at most this many papers points at them


def named_first(side: SideIndex, query: str, ranked: list[str], fused: dict[str, float],
                mask: np.ndarray | None = None) -> list[str]:
    """`ranked` with the papers that hold every rare name of `query` first (`fused` gets a score
    for those it lacked)."""
    from ..questions import names  # the same notion of a name as the answerer's

    held: set[str] | None = None
    for name in names(query):
        terms = side.query_terms(name)
        if not terms:
            continue
        rarest = min(terms, key=side.df)
        if side.df(rarest) > NAMED_DF:
            continue
        papers = {pid for pid, _score in side.search(Counter({rarest: 1}), NAMED_DF, mask) if _goes_by(side, pid, name)}
        if papers:  # a name no paper goes by ("SimCSE", a baseline) says nothing about which paper is meant
            held = papers if held is None else held & papers
    if not held:
        return ranked
    first = [pid for pid in ranked if pid in held]
    first += sorted(held.difference(first))
    for pid in first:
        fused.setdefault(pid, 0.0)
    return first + [pid for pid in ranked if pid not in held]


def _goes_by(side: SideIndex, paper_id: str, name: str) -> bool:
    """The paper goes by `name`: its title holds it ("Adaptive Semantic Prompt Caching with VectorQ"),
    or it is a name its abstract introduces ("Our method called Sparse masKed modeling (SparK)"); a paper that merely uses a
    "BiLSTM" does not go by that name."""
    from ..questions import introduced_names, names
    from ..sentences import split_sentences

    rec = side.record(paper_id)
    if rec is None:
        return False
    return name in names(rec["title"]) or name in introduced_names(split_sentences(rec["abstract"]))
