"""The library: what the index holds, listed, filtered, sorted, counted by source, and removed.

One module for `askpapers papers` / `askpapers remove` and the page's Library tab, so both show
and remove the same things. Papers come from the committed side index (`PaperIndex.papers()`, no
collection scan); removal is `ingest.remove` (crash-safe like an ingest).

A source can be named as stored (`000_161ee5e26b606702.txt`) or by its readable label
(`daily page of Jul 4`, from `assistant.export.source_label`).

    list_papers(index, sources=..., categories=..., sort="date", limit=None) -> list[LibraryPaper]
    source_counts(index) -> list[SourceCount]        # readable label, stored name, papers
    remove(index, paper_ids=..., source=...) -> RemoveReport
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from ingest.filters import AskpapersInputError, SearchFilters
from ingest.records import Source, normalise_title

from .export import source_label

#: the orders `list_papers` knows: newest paper date first, title A→Z, most recently added first
SORTS = ("date", "title", "added")


@dataclass
class LibraryPaper:
    """One indexed paper as the library shows it."""

    paper_id: str
    title: str
    date: str | None = None
    url: str | None = None
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)  # {"name", "date", "label"}
    added: str | None = None  # when it entered the index, ISO 8601 UTC (None: before that was recorded)
    arxiv_id: str | None = None
    doi: str | None = None

    @property
    def source_labels(self) -> list[str]:
        """The readable source names, each once."""
        return list(dict.fromkeys(s["label"] for s in self.sources))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: dict) -> LibraryPaper:
        """From a side-index record (`PaperIndex.papers()`)."""
        sources = []
        for s in record.get("sources") or []:
            src = Source.from_stored(s)
            sources.append({"name": src.name, "date": src.date, "label": source_label(src)})
        added = int(record.get("added") or 0)
        return cls(
            paper_id=record["paper_id"], title=record.get("title", ""), date=record.get("date"),
            url=record.get("url"), authors=list(record.get("authors") or []),
            categories=list(record.get("categories") or []), sources=sources,
            added=datetime.fromtimestamp(added, UTC).isoformat(timespec="seconds") if added else None,
            arxiv_id=record.get("arxiv_id"), doi=record.get("doi"))


@dataclass
class SourceCount:
    """One source file: its readable label, its stored name, and how many papers came from it."""

    label: str
    name: str
    papers: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def all_papers(index) -> list[LibraryPaper]:
    """Every committed paper of `index` (a `PaperIndex`, or an `Assistant` holding one)."""
    index = getattr(index, "index", index)
    return [LibraryPaper.from_record(r) for r in index.papers()]


def list_papers(index, sources: Iterable[str] | str | None = None, categories: Iterable[str] | str | None = None,
                sort: str = "date", limit: int | None = None, query: str = "",
                papers: list[LibraryPaper] | None = None) -> list[LibraryPaper]:
    """The indexed papers from any of `sources` (stored names or readable labels) and in any of
    `categories`, whose title contains `query` (case-insensitive), sorted by `sort` (see SORTS),
    at most `limit`. A source the index does not hold raises `AskpapersInputError` (one line);
    pass `papers` (from `all_papers`) to reuse one read of the index."""
    if sort not in SORTS:
        raise AskpapersInputError(f"sort: {sort!r} is not one of {', '.join(SORTS)}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise AskpapersInputError(f"limit: {limit!r} is not a positive whole number")
    filters = SearchFilters.coerce({"sources": sources or [], "categories": categories or []})
    papers = all_papers(index) if papers is None else papers
    if filters and filters.sources:
        names = {resolve_source(papers, s, strict=True) for s in filters.sources}
        papers = [p for p in papers if names.intersection(s["name"] for s in p.sources)]
    if filters and filters.categories:
        wanted = set(filters.categories)
        papers = [p for p in papers if wanted.intersection(p.categories)]
    words = (query or "").strip().lower()
    if words:
        papers = [p for p in papers if words in p.title.lower()]
    return sort_papers(papers, sort)[:limit]


def sort_papers(papers: list[LibraryPaper], sort: str) -> list[LibraryPaper]:
    """Newest date first, title A→Z, or most recently added first; unknown dates go last."""
    by_title = sorted(papers, key=lambda p: (normalise_title(p.title), p.paper_id))
    if sort == "title":
        return by_title
    key = "date" if sort == "date" else "added"
    dated = [p for p in by_title if getattr(p, key)]
    undated = [p for p in by_title if not getattr(p, key)]
    return sorted(dated, key=lambda p: getattr(p, key), reverse=True) + undated


def source_counts(index=None, papers: list[LibraryPaper] | None = None) -> list[SourceCount]:
    """Papers per source file, most first (a paper read from two files counts for both)."""
    counts: dict[str, SourceCount] = {}
    for p in all_papers(index) if papers is None else papers:
        for name in dict.fromkeys(s["name"] for s in p.sources):
            label = next(s["label"] for s in p.sources if s["name"] == name)
            counts.setdefault(name, SourceCount(label, name, 0)).papers += 1
    return sorted(counts.values(), key=lambda c: (-c.papers, c.label))


def resolve_source(papers: list[LibraryPaper], value: str, strict: bool = False) -> str:
    """The stored name of the source `value` names (a stored name, or a readable label, case-insensitive).

    Unknown: with `strict`, `AskpapersInputError`; otherwise `value` itself (removal then asks
    Chroma, which also knows sources an interrupted write has not committed yet)."""
    names = {s["name"] for p in papers for s in p.sources}
    if value in names:
        return value
    matches = sorted({s["name"] for p in papers for s in p.sources if s["label"].lower() == value.strip().lower()})
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise AskpapersInputError(f"source: {value!r} names {len(matches)} files ({', '.join(matches)}); give one")
    if strict:
        raise AskpapersInputError(f"source: no source {value!r} in the index (see `askpapers stats`)")
    return value


def remove(index, paper_ids: Iterable[str] = (), source: str | None = None):
    """Remove papers by id, or a source (papers read only from it go, the others stay without it).

    Exactly one of `paper_ids` and `source`. Returns `ingest.remove.RemoveReport`; unknown ids or
    source raise `UnknownPaperError` (an `AskpapersInputError`) and remove nothing."""
    from ingest.remove import remove_papers, remove_source

    index = getattr(index, "index", index)
    ids = [paper_ids] if isinstance(paper_ids, str) else list(paper_ids or [])
    if bool(ids) == bool(source and source.strip()):
        raise AskpapersInputError("remove: give paper ids or a source, not both and not neither")
    if ids:
        return remove_papers(index, ids)
    return remove_source(index, resolve_source(all_papers(index), source.strip()))
