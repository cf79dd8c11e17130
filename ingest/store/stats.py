"""`IndexStats`: what `askpapers stats` shows about one index (built by `PaperIndex.index_stats`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class IndexStats:
    """What `askpapers stats` shows; `to_dict()` is the form the CLI, API and page print."""

    location: str
    collection: str
    papers_total: int
    chunks_total: int
    embed_model: str | None
    embed_dim: int | None
    generation: str | None
    sources: dict[str, int] = field(default_factory=dict)
    categories: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
