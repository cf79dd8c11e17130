"""Search filters (source page, date range, category), understood by both halves of the index.

`SearchFilters` is the one validated filter type: the CLI, the Python API and the chat page all
build it through `SearchFilters.coerce`, so a bad date or a wrong type gets the same one-line
`FilterError` everywhere instead of a traceback from deep inside retrieval.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from .errors import AskpapersInputError
from .store import CAT_PREFIX, SRC_PREFIX

DATE_HINT = "use YYYY, YYYY-MM or YYYY-MM-DD"
_DATE = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")
_LIST_FIELDS = ("sources", "categories")
_KEYS = {"sources": "sources", "source": "sources", "categories": "categories", "category": "categories",
         "date_from": "date_from", "date_to": "date_to"}


class FilterError(AskpapersInputError):
    """A filter that cannot be applied; the message names the field and the value."""


@dataclass
class SearchFilters:
    """Keep papers that match every given field. Lists mean "any of these".

    `date_from` / `date_to` are calendar dates (YYYY, YYYY-MM or YYYY-MM-DD, or a `datetime.date`)
    compared with the paper's date: `date_from="2024"` means from 2024-01-01, `date_to="2024-02"`
    up to 2024-02-31 (the end of that month). Papers without a known date are dropped when a date
    bound is set. Construction validates and normalises every field (strings stripped, empty
    strings dropped, dates zero-padded) and raises `FilterError` on anything else.
    """

    sources: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    date_from: str | None = None
    date_to: str | None = None

    def __post_init__(self) -> None:
        self.sources = _string_list("sources", self.sources)
        self.categories = _string_list("categories", self.categories)
        self.date_from = _iso_date("date_from", self.date_from)
        self.date_to = _iso_date("date_to", self.date_to)
        if self.date_from and self.date_to and self.date_from_ord > self.date_to_ord:
            raise FilterError(f"date_from: {self.date_from!r} is after date_to {self.date_to!r}")

    @classmethod
    def coerce(cls, value: "SearchFilters | dict | None") -> "SearchFilters | None":
        """`value` as validated filters, or None when it sets nothing (no filtering).

        Accepts None, a `SearchFilters`, or a dict with the keys `sources`, `categories` (a string
        or a list of strings; `source` / `category` are accepted as aliases), `date_from`, `date_to`.
        Unknown keys, non-string entries and dates that are not real calendar dates raise
        `FilterError` (a ValueError) with a one-line message naming the field and the value.
        """
        if value is None:
            return None
        if isinstance(value, SearchFilters):
            value = asdict(value)  # re-validate: fields may have been changed after construction
        if not isinstance(value, dict):
            raise FilterError(f"filters: expected a dict or SearchFilters, got {type(value).__name__} {value!r:.60}")
        fields: dict[str, Any] = {"sources": [], "categories": []}
        for key, raw in value.items():
            name = _KEYS.get(key) if isinstance(key, str) else None
            if name is None:
                raise FilterError(f"filters: unknown filter {key!r} (known: sources, categories, date_from, date_to)")
            if name in _LIST_FIELDS:
                fields[name] += _string_list(key, raw)
            else:
                fields[name] = raw
        filters = cls(**fields)
        return None if filters.is_empty() else filters

    def is_empty(self) -> bool:
        return not (self.sources or self.categories or self.date_from or self.date_to)

    @property
    def date_from_ord(self) -> int:
        """The lower date bound as YYYYMMDD (0 when unset), comparable with the index's `date_ord`."""
        return _bound(self.date_from, upper=False) if self.date_from else 0

    @property
    def date_to_ord(self) -> int:
        """The upper date bound as YYYYMMDD (99999999 when unset)."""
        return _bound(self.date_to, upper=True) if self.date_to else 99999999

    def chroma_where(self) -> dict[str, Any] | None:
        """The same filters as a Chroma `where` clause over the chunk metadata (None: no filtering)."""
        clauses: list[dict[str, Any]] = []
        if self.sources:
            clauses.append(_any_of([{SRC_PREFIX + s: True} for s in self.sources]))
        if self.categories:
            clauses.append(_any_of([{CAT_PREFIX + c: True} for c in self.categories]))
        if self.date_from:
            clauses.append({"date_ord": {"$gte": self.date_from_ord}})
        if self.date_to:
            clauses.append({"date_ord": {"$lte": self.date_to_ord}})
            clauses.append({"date_ord": {"$gt": 0}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _string_list(name: str, value: Any) -> list[str]:
    """A string or a list/tuple/set of strings → stripped, non-empty strings, in order."""
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple, set, frozenset)):
        raise FilterError(f"{name}: expected a string or a list of strings, got {type(value).__name__} {value!r:.60}")
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise FilterError(f"{name}: {item!r:.60} is not a string")
        if item.strip() and item.strip() not in out:
            out.append(item.strip())
    return out


def _iso_date(name: str, value: Any) -> str | None:
    """A date bound → 'YYYY', 'YYYY-MM' or 'YYYY-MM-DD' (zero-padded), None when unset."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        value = value.date()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if not isinstance(value, str):
        raise FilterError(f"{name}: {value!r:.60} is not a date ({DATE_HINT})")
    text = value.strip()
    if not text:
        return None
    match = _DATE.fullmatch(text)
    year, month, day = match.groups() if match else (None, None, None)
    try:
        datetime.date(int(year), int(month or 1), int(day or 1))
    except (TypeError, ValueError):
        raise FilterError(f"{name}: {value!r:.60} is not a date ({DATE_HINT})") from None
    return "-".join([year] + [f"{int(p):02d}" for p in (month, day) if p])


def _bound(iso: str, upper: bool) -> int:
    """A validated date bound as YYYYMMDD; a missing month or day is its first (or last) one."""
    parts = [int(p) for p in iso.split("-")]
    month = parts[1] if len(parts) > 1 else (12 if upper else 1)
    day = parts[2] if len(parts) > 2 else (31 if upper else 1)
    return parts[0] * 10000 + month * 100 + day


def _any_of(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}
