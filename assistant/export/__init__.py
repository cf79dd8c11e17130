"""Exports, offline: an answer as Markdown, its cited papers as BibTeX, RIS or CSL-JSON, and a
whole conversation as Markdown with one bibliography. Built only from the stored metadata on
`Answer.papers` (`Hit`s); every function also takes the dict forms (`Answer.to_dict()`), so the
page can export answers it kept as JSON.

    answer_markdown(answer) -> str
    bibtex(papers) / ris(papers) -> str;  csl_json(papers) -> str (a JSON list)
    cited_papers(answer) -> list[Hit]     # what the three bibliographies should be given
    conversation_markdown(answers) -> str
    export_answer(answer, fmt) -> str     # fmt in EXPORT_FORMATS, as `askpapers ask --format`
    write_export(text, fmt, directory, stem) -> Path   # a file for a download button
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .bibtex import bibtex_entries
from .csl import csl_items
from .markdown import (
    answer_markdown,
    cited_in_conversation,
    cited_papers,
    conversation_markdown,
)
from .provenance import relevance, source_label, sources_label
from .references import Reference, references
from .ris import ris_records

__all__ = [
    "EXPORT_FORMATS", "FILE_TYPES", "FORMATS", "Reference", "answer_markdown", "bibtex", "cited_in_conversation",
    "cited_papers", "conversation_markdown", "csl_json", "export_answer", "references", "relevance", "ris",
    "source_label", "sources_label", "write_export",
]

#: what `export_answer` (and `askpapers ask --format`) can write, besides text and json
EXPORT_FORMATS = ("markdown", "bibtex", "ris", "csljson")
FORMATS = ("text", "json") + EXPORT_FORMATS
#: file extension and media type of each export, for download buttons
FILE_TYPES = {
    "markdown": (".md", "text/markdown"),
    "bibtex": (".bib", "application/x-bibtex"),
    "ris": (".ris", "application/x-research-info-systems"),
    "csljson": (".json", "application/vnd.citationstyles.csl+json"),
}


def bibtex(papers: Iterable[Any]) -> str:
    """BibTeX entries for ``papers`` (pass `cited_papers(answer)` for an answer's bibliography)."""
    return bibtex_entries(references(papers))


def ris(papers: Iterable[Any]) -> str:
    """RIS records for ``papers``."""
    return ris_records(references(papers))


def csl_json(papers: Iterable[Any]) -> str:
    """CSL-JSON (a JSON list of items) for ``papers``; keys match `bibtex`'s."""
    return json.dumps(csl_items(references(papers)), ensure_ascii=False, indent=2) + "\n"


def write_export(text: str, fmt: str, directory: str | Path, stem: str = "askpapers-answer") -> Path:
    """Write an export to ``directory/stem.<ext>`` (UTF-8) and return its path, for a download button."""
    path = Path(directory) / f"{stem}{FILE_TYPES[fmt][0]}"
    path.write_text(text, encoding="utf-8")
    return path


def export_answer(answer: Any, fmt: str) -> str:
    """An answer in one of `EXPORT_FORMATS`: Markdown of the whole answer, or its cited papers'
    bibliography (empty, or ``[]`` for CSL-JSON, when it cites none)."""
    if fmt == "markdown":
        return answer_markdown(answer)
    writers = {"bibtex": bibtex, "ris": ris, "csljson": csl_json}
    if fmt not in writers:
        raise ValueError(f"unknown export format {fmt!r} (choose from {', '.join(EXPORT_FORMATS)})")
    return writers[fmt](cited_papers(answer))
