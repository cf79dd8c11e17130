"""The library: what the index holds, listed, filtered, sorted, counted by source, and removed.

One module for `askpapers papers` / `askpapers remove` and the page's Library tab, so both show
and remove the same things. Papers come from the committed side index (`PaperIndex.papers()`, no
collection scan); removal is `ingest.remove` (crash-safe like an ingest).

A source is stored as the resolved path of the file `ingest` read (older indexes and uploads: its
bare file name). It can be named by that path, by the path as typed (relative, or any tail of it:
`b/papers.jsonl`), by its file name when only one source has it, or by its readable label
(`daily page of Jul 4`, from `assistant.export.source_label`; two files of one name are labelled
by as much of their paths as tells them apart). `resolve_sources` does the same for search filters.

    list_papers(index, sources=..., categories=..., sort="date", limit=None) -> list[LibraryPaper]
    source_counts(index) -> list[SourceCount]        # readable label, stored name, papers
    remove(index, paper_ids=..., source=...) -> RemoveReport
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePath
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
    papers = [LibraryPaper.from_record(r) for r in index.papers()]
    _tell_apart(papers)
    return papers


def _tell_apart(papers: list[LibraryPaper]) -> None:
    """Label two files that share a label (`papers.jsonl` in two folders) by the shortest tails of
    their paths that differ (`a/papers.jsonl`, `b/papers.jsonl`); daily pages keep theirs."""
    by_label: dict[str, set[str]] = {}
    for p in papers:
        for s in p.sources:
            by_label.setdefault(s["label"], set()).add(s["name"])
    renamed: dict[tuple[str, str], str] = {}
    for label, names in by_label.items():
        if len(names) < 2 or not all(label.startswith(PurePath(n).name) for n in names):
            continue
        for name, tail in _short_tails(names).items():
            renamed[label, name] = tail + label[len(PurePath(name).name):]
    for p in papers:
        for s in p.sources:
            s["label"] = renamed.get((s["label"], s["name"]), s["label"])


def _short_tails(names: set[str]) -> dict[str, str]:
    """Each path's shortest tail (last parts) that no other of `names` ends with."""
    parts = {n: PurePath(n).parts for n in names}
    out = {}
    for name, mine in parts.items():
        for k in range(1, len(mine) + 1):
            if all(other[-k:] != mine[-k:] for o, other in parts.items() if o != name):
                break
        out[name] = str(PurePath(*mine[-k:]))
    return out


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
    """The stored name of the source `value` names: a stored name; a path (relative to here, or as
    typed at ingest: any tail of the stored path, `b/papers.jsonl`); a file name only one source
    has; or a readable label (case-insensitive). A name or label that fits several files raises
    `AskpapersInputError` listing them.

    Unknown: with `strict`, `AskpapersInputError`; otherwise `value` (a path: resolved) itself
    (removal then asks Chroma, which also knows sources an interrupted write has not committed yet)."""
    names = {s["name"] for p in papers for s in p.sources}
    if value in names:
        return value
    value = value.strip()
    typed = PurePath(value)
    as_path = _resolved(value) if os.sep in value or value.startswith("~") else None
    if as_path in names:
        return as_path
    if value and not typed.is_absolute():
        n = len(typed.parts)
        tails = sorted(name for name in names if PurePath(name).parts[-n:] == typed.parts)
        if len(tails) == 1:
            return tails[0]
        if tails:
            raise AskpapersInputError(f"source: {value!r} names {len(tails)} files ({', '.join(tails)}); "
                                      "give its path")
    matches = sorted({s["name"] for p in papers for s in p.sources if s["label"].lower() == value.lower()})
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise AskpapersInputError(f"source: {value!r} names {len(matches)} files ({', '.join(matches)}); give one")
    if strict:
        raise AskpapersInputError(f"source: no source {value!r} in the index (see `askpapers stats`)")
    return as_path or value


def _resolved(value: str) -> str | None:
    """`value` as an absolute path, symlinks resolved, as `ingest` records a file (None: not a path)."""
    try:
        return str(Path(value).expanduser().resolve())
    except (OSError, RuntimeError, ValueError):
        return None


def resolve_sources(index, values: Iterable[str]) -> list[str]:
    """The stored names of the sources `values` name (see `resolve_source`), for a search filter; a
    source the index does not hold raises `AskpapersInputError`. Stored names are checked against
    the side index's counts; only other values read the library (for labels and paths)."""
    index = getattr(index, "index", index)
    values = list(values)
    index.refresh()
    stored = index.side.counts("sources")
    if not stored or all(v in stored for v in values):  # (an empty index: the caller says it is empty)
        return values
    papers = all_papers(index)
    return list(dict.fromkeys(resolve_source(papers, v, strict=True) for v in values))


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
