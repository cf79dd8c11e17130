"""Rerankers by name: a new one is one module plus one line here.

`Settings.retrieval_rerankers` lists the names to apply, in order, to the top hits of every
search. Each entry maps a name to "module:factory"; the factory takes the PaperIndex and the
settings and returns an object with `rerank(query, hits) -> hits` (see protocols.Reranker).
Modules are imported only when their reranker is chosen, so an unused one costs nothing.
"""

from __future__ import annotations

from importlib import import_module

from ingest.errors import SettingError

from .protocols import Reranker

RERANKERS: dict[str, str] = {
    "title-overlap": "assistant.retrieve.title_overlap:TitleOverlapReranker",
}


def make_reranker(name: str, index, settings) -> Reranker:
    """The reranker registered as `name`; a `SettingError` (a ValueError) naming the known ones otherwise."""
    target = RERANKERS.get(name)
    if target is None:
        raise SettingError("ASKPAPERS_RETRIEVAL_RERANKERS",
                           f"unknown reranker {name!r} (known: {', '.join(sorted(RERANKERS)) or 'none'})",
                           "retrieval_rerankers")
    module, _, factory = target.partition(":")
    return getattr(import_module(module), factory)(index, settings)
