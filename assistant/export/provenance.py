"""Provenance a reader can use: where a paper was read, and how well it matched, in words.

Scraped daily-papers pages are stored under generated names (``000_161ee5e26b606702.txt``);
shown to a reader they become "daily page of Jul 4". Search scores (fused reciprocal ranks such
as 0.0325) mean nothing to a reader; ``relevance`` says "strong match" from what the score is
made of: the meaning similarity of the best passage and whether the words matched.
"""

from __future__ import annotations

import re
from pathlib import PurePath
from typing import Any

from ingest.records import Source

# a generated page name: a sequence number and a hex digest ("000_161ee5e26b606702.txt")
_GENERATED = re.compile(r"^(\d+)[_-][0-9a-f]{12,}$")
# Cosine similarity (all-MiniLM-L6-v2) of the question and the paper's best passage. On the
# dev questions over the sample pages, 61 % of the papers that answer a question reach 0.6 and 4 %
# of the other top-10 papers do; 0.45 keeps 89 % of the answering papers (and 39 % of the rest).
STRONG, GOOD = 0.6, 0.45


def source_label(source: Source | dict) -> str:
    """A readable name for a source file: 'daily page of Jul 4', or 'papers.jsonl (Jul 4)' (the
    file name without its folder; `assistant.library` tells two files of one name apart)."""
    name = source.get("name", "") if isinstance(source, dict) else source.name
    date = source.get("date") if isinstance(source, dict) else source.date
    if _GENERATED.match(PurePath(name).stem):
        number = int(_GENERATED.match(PurePath(name).stem).group(1))
        return f"daily page of {date}" if date else f"daily page #{number}"
    name = PurePath(name).name or name
    return f"{name} ({date})" if date else name


def sources_label(sources: list[Any]) -> str:
    """All of a paper's sources, readable, in one line (same label once)."""
    return ", ".join(dict.fromkeys(source_label(s) for s in sources or []))


def relevance(hit: Any) -> str:
    """How well a hit matched, in words: 'strong match', 'good match', 'weak match' or 'keyword match'."""
    dense = float(getattr(hit, "dense_score", 0.0) or 0.0)
    keywords = float(getattr(hit, "bm25_score", 0.0) or 0.0) > 0
    if dense >= STRONG:
        return "strong match"
    if dense >= GOOD:
        return "good match"
    if dense <= 0 and keywords:
        return "keyword match"
    return "weak match"
