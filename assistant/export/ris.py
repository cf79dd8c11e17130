"""RIS (Research Information Systems) records for the cited papers, as Zotero, EndNote and
Mendeley import them: ``TAG  - value`` lines, one record per paper from ``TY`` to ``ER``.

arXiv papers are ``UNPB`` (unpublished work: a preprint), papers with a DOI ``JOUR``, pages
without metadata ``GEN``. Values are one line each (whitespace collapsed).
"""

from __future__ import annotations

from .references import Reference

_TYPES = {"arxiv": "UNPB", "doi": "JOUR", "misc": "GEN"}


def _line(tag: str, value: str) -> str:
    return f"{tag}  - {' '.join(str(value).split())}"


def record(ref: Reference) -> str:
    """One RIS record, ending with its ``ER  - `` line."""
    lines = [_line("TY", _TYPES[ref.kind]), _line("ID", ref.key), _line("TI", ref.title)]
    lines += [_line("AU", n.inverted) for n in ref.authors]  # "Family, Given[, Suffix]"
    if ref.year:
        lines.append(_line("PY", str(ref.year)))
        parts = list(ref.date) + [None] * (3 - len(ref.date))
        lines.append(_line("DA", "/".join(f"{p:02d}" if p else "" for p in parts) + "/"))
    if ref.kind == "arxiv":
        lines += [_line("T2", "arXiv"), _line("M1", f"arXiv:{ref.arxiv_id}")]
        if ref.primary_class:
            lines.append(_line("KW", ref.primary_class))
    if ref.doi:
        lines.append(_line("DO", ref.doi))
    if ref.url:
        lines.append(_line("UR", ref.url))
    if ref.abstract:
        lines.append(_line("AB", ref.abstract))
    if ref.source_note:
        lines.append(_line("N1", f"Read from {ref.source_note}"))
    lines.append("ER  - ")
    return "\n".join(lines) + "\n"


def ris_records(refs: list[Reference]) -> str:
    """The records, one blank line apart (empty for no references)."""
    return "\n".join(record(r) for r in refs)
