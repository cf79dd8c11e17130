"""CSL-JSON (the Citation Style Language's input data, read by Zotero, pandoc and citeproc) for
the cited papers: a list of items with ``id``, ``type``, ``title``, ``author`` as family/given
objects and ``issued`` as date-parts.

arXiv papers are ``article`` (CSL's type for preprints) with the arXiv id as ``number`` and
``publisher: "arXiv"``; DOI papers ``article-journal``; pages without metadata ``document``
with the source page as ``note``. Only CSL data-model fields are written.
"""

from __future__ import annotations

from .references import Reference

_TYPES = {"arxiv": "article", "doi": "article-journal", "misc": "document"}


def item(ref: Reference) -> dict:
    """One CSL-JSON item."""
    out: dict = {"id": ref.key, "type": _TYPES[ref.kind], "title": ref.title}
    authors = [{k: v for k, v in (("family", n.family), ("given", n.given), ("suffix", n.suffix)) if v}
               for n in ref.authors]
    if authors:
        out["author"] = authors
    if ref.date:
        out["issued"] = {"date-parts": [list(ref.date)]}
    if ref.kind == "arxiv":
        out.update({"number": f"arXiv:{ref.arxiv_id}", "publisher": "arXiv", "genre": "Preprint"})
        if ref.primary_class:
            out["keyword"] = ref.primary_class
    if ref.doi:
        out["DOI"] = ref.doi
    if ref.url:
        out["URL"] = ref.url
    if ref.abstract:
        out["abstract"] = ref.abstract
    if ref.source_note:
        out["note"] = f"Read from {ref.source_note}"
    return out


def csl_items(refs: list[Reference]) -> list[dict]:
    return [item(r) for r in refs]
