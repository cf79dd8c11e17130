"""BibTeX for the cited papers: ``@article`` with eprint fields for arXiv, ``doi`` when known,
``@misc`` with the source page for pages without metadata.

Values are brace-delimited and brace-balanced by construction: LaTeX specials are escaped
(``{`` → ``\\textbraceleft{}``, ``%`` → ``\\%``, …) so the file works with BibTeX and biber;
Unicode stays UTF-8 (biber and modern BibTeX read it). URLs, DOIs and eprints are kept verbatim
(``\\url`` reads them raw), with only braces and backslashes percent-encoded.
"""

from __future__ import annotations

import re

from .references import Reference

_SPECIAL = {
    "\\": r"\textbackslash{}",
    "{": r"\textbraceleft{}",
    "}": r"\textbraceright{}",
    "%": r"\%",
    "&": r"\&",
    "#": r"\#",
    "_": r"\_",
    "$": r"\$",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}
_SPECIAL_RE = re.compile("|".join(re.escape(ch) for ch in _SPECIAL))
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def escape(text: str) -> str:
    """``text`` as a BibTeX field value: LaTeX specials escaped, whitespace collapsed."""
    return _SPECIAL_RE.sub(lambda m: _SPECIAL[m.group()], " ".join(str(text).split()))


def verbatim(text: str) -> str:
    """A URL / DOI / eprint: kept as is except braces, backslashes and whitespace (percent-encoded)."""
    return re.sub(r"[{}\\\s]", lambda m: f"%{ord(m.group()):02X}", text.strip())


def _names(ref: Reference) -> str:
    # BibTeX's unambiguous order: "Family, Jr., Given" (or "Family, Given")
    names = [escape(", ".join(p for p in (n.family, n.suffix, n.given) if p)) for n in ref.authors]
    # an organisation ('The ATLAS Collaboration', 'Smith and Sons') is one name: braced, BibTeX
    # neither splits it into first and last names nor into two authors at its "and"
    names = [f"{{{text}}}" if not n.given and " " in n.family else text for n, text in zip(ref.authors, names)]
    if ref.others:
        names.append("others")
    return " and ".join(names)


def entry(ref: Reference) -> str:
    """One BibTeX entry."""
    fields: list[tuple[str, str]] = [("title", "{" + escape(ref.title) + "}")]  # double braces keep its case
    if ref.authors or ref.others:
        fields.append(("author", _names(ref)))
    if ref.year:
        fields.append(("year", str(ref.year)))
    if len(ref.date) > 1:
        fields.append(("month", _MONTHS[ref.date[1] - 1]))
    if ref.kind == "arxiv":
        fields += [("eprint", verbatim(ref.arxiv_id)), ("archivePrefix", "arXiv")]
        if ref.primary_class:
            fields.append(("primaryClass", verbatim(ref.primary_class)))
        fields.append(("journal", escape(f"arXiv preprint arXiv:{ref.arxiv_id}")))
    if ref.doi:
        fields.append(("doi", verbatim(ref.doi)))
    if ref.url:
        fields.append(("url", verbatim(ref.url)))
    if ref.kind == "misc" and ref.source_note:
        fields.append(("howpublished", escape(f"Read from {ref.source_note}")))
    kind = "misc" if ref.kind == "misc" else "article"
    # the month is BibTeX's own macro (jan, feb, ...): written bare, every other value in braces
    body = ",\n".join(f"  {name} = {value if name == 'month' else '{' + value + '}'}" for name, value in fields)
    return f"@{kind}{{{ref.key},\n{body}\n}}\n"


def bibtex_entries(refs: list[Reference]) -> str:
    """The entries, one blank line apart (empty for no references)."""
    return "\n".join(entry(r) for r in refs)
