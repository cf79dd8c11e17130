"""Search filters (source page, date range, category), understood by both halves of the index."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .store import CAT_PREFIX, SRC_PREFIX, date_ord


@dataclass
class SearchFilters:
    """Keep papers that match every given field. Lists mean "any of these".

    `date_from` / `date_to` are ISO dates (YYYY, YYYY-MM or YYYY-MM-DD) compared with the paper's
    date; papers without a known date are dropped when a date bound is set.
    """

    sources: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    date_from: str | None = None
    date_to: str | None = None

    @classmethod
    def coerce(cls, value: "SearchFilters | dict | None") -> "SearchFilters | None":
        if value is None or isinstance(value, SearchFilters):
            return value
        unknown = set(value) - {"sources", "categories", "date_from", "date_to", "source", "category"}
        if unknown:
            raise ValueError(f"unknown filter(s): {', '.join(sorted(unknown))}")
        as_list = lambda v: [v] if isinstance(v, str) else list(v or [])  # noqa: E731
        return cls(
            sources=as_list(value.get("sources")) + as_list(value.get("source")),
            categories=as_list(value.get("categories")) + as_list(value.get("category")),
            date_from=value.get("date_from"),
            date_to=value.get("date_to"),
        )

    def is_empty(self) -> bool:
        return not (self.sources or self.categories or self.date_from or self.date_to)

    @staticmethod
    def _bound(value: str, upper: bool) -> int:
        parts = value.strip().split("-")
        if len(parts) == 1:
            parts += ["12", "31"] if upper else ["01", "01"]
        elif len(parts) == 2:
            parts.append("31" if upper else "01")
        y, m, d = (int(p) for p in parts[:3])
        return y * 10000 + m * 100 + d if date_ord(f"{y:04d}-{m:02d}-01") else 0

    @property
    def date_from_ord(self) -> int:
        return self._bound(self.date_from, upper=False) if self.date_from else 0

    @property
    def date_to_ord(self) -> int:
        return self._bound(self.date_to, upper=True) if self.date_to else 99999999

    def chroma_where(self) -> dict[str, Any] | None:
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


def _any_of(clauses: list[dict[str, Any]]) -> dict[str, Any]:
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}
