"""Merge records that are the same paper (seen in several files, or twice in one file).

Two records are the same paper when they have the same ``paper_id`` or the same normalised
title (``Paper.title_key``). Rules for a merge:

* order: the merged paper stays where the paper was first seen;
* identity: the record with an arXiv id wins (its ``paper_id``, ``arxiv_id`` and ``url``),
  so a page record and an arXiv-metadata record of the same title become one ``arxiv:`` paper.
  Two records with *different* explicit ids (arXiv, or given by the source, like Cranfield's
  document numbers) are different papers, even with equal titles;
* text: the **later** record's title and abstract win (a later file is taken to hold the
  updated version, e.g. a revised abstract);
* metadata (authors, categories, date, doi, url): the winner's, with gaps filled from the
  other record (``Paper.merge_sources``);
* sources: every source of both records, first-seen order, no repeats; a source keeps the
  digest of the last record read from it (`Source.digest`: what a later ingest of the same
  input compares, see ingest/pipeline.py `_absorbed`).

Matching is not transitive across merges: a record joins the paper with its ``paper_id`` if
there is one, otherwise the first paper with its title. The input papers are not modified.
Pass a ``MergeCounts`` to learn how many records were merged, and why (the ingest report says).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterable

from ingest.records import Paper, is_title_id, merged_sources

__all__ = ["MergeCounts", "dedupe", "merge_records"]


@dataclass
class MergeCounts:
    """How many records were merged into another: by title (at least one had no id of its own),
    or because the same explicit id (arXiv, DOI, the file's `id` column, …) came twice."""

    by_title: int = 0
    duplicate_ids: int = 0


def dedupe(papers: Iterable[Paper], counts: MergeCounts | None = None) -> list[Paper]:
    """Return the papers with duplicates merged (see the module docstring for the rules)."""
    counts = counts if counts is not None else MergeCounts()
    out: list[Paper] = []
    by_id: dict[str, int] = {}
    by_title: dict[str, int] = {}
    for paper in papers:
        index = by_id.get(paper.paper_id)
        if index is not None and not is_title_id(paper.paper_id):
            counts.duplicate_ids += 1
        else:
            if index is None:
                candidate = by_title.get(paper.title_key)
                if candidate is not None and not _different_explicit_ids(out[candidate], paper):
                    index = candidate
            counts.by_title += index is not None
        if index is None:
            out.append(_copy(paper))
            index = len(out) - 1
        else:
            out[index] = merge_records(out[index], paper)
        for pid in (paper.paper_id, out[index].paper_id):
            by_id.setdefault(pid, index)
        for key in (paper.title_key, out[index].title_key):
            by_title.setdefault(key, index)
    return out


def _different_explicit_ids(a: Paper, b: Paper) -> bool:
    if a.arxiv_id and b.arxiv_id:
        return a.arxiv_id != b.arxiv_id
    return not is_title_id(a.paper_id) and not is_title_id(b.paper_id) and a.paper_id != b.paper_id


def _copy(paper: Paper) -> Paper:
    return dataclasses.replace(
        paper,
        authors=list(paper.authors),
        categories=list(paper.categories),
        sources=list(paper.sources),
    )


def merge_records(earlier: Paper, later: Paper) -> Paper:
    """One paper from two records of it, by the rules of the module docstring (inputs untouched).

    Also used by a streaming ingest for a record whose paper an earlier batch of the same run
    already wrote, so that a run reads the same whether its input came in one batch or many."""
    if later.arxiv_id and not earlier.arxiv_id:
        merged, other = _copy(later), earlier
    else:
        merged, other = _copy(earlier), later
    merged.merge_sources(other)
    merged.sources = merged_sources(earlier.sources, later.sources)  # (each file's latest record digest)
    if later.title:
        merged.title = later.title
    if later.abstract:
        merged.abstract = later.abstract
    return merged
