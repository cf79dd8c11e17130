"""Metadata fields of a record: dates, authors, categories, arXiv ids, DOIs and URLs.

Shared by every record format (JSON, CSV) and the page reader (dates). Each parser takes the
raw field value (any JSON type, or CSV text) and returns a clean value or nothing; none raises.
The arXiv metadata snapshot's own shapes are understood: ``authors_parsed`` lists, Python-literal
category lists, ids that a spreadsheet turned into floats, and its M/D/YYYY dates.
"""

from __future__ import annotations

import ast
import math
import re
from datetime import date as _date
from typing import Any

from ingest.records import clean_arxiv_id, collapse_ws

DATE_FIELDS = ("published", "date", "published_date", "publication_date", "update_date", "updated")
CATEGORY_FIELDS = ("categories", "category", "terms")
ID_FIELDS = ("arxiv_id", "id", "entry_id")  # fields that may hold an arXiv id
# Fields holding the source's own id for a record, in order of preference (keys as ``norm_key``
# gives them: lower case, underscores). An arXiv id in any of ID_FIELDS comes first, then a DOI,
# then a PubMed id, then the rest; the id is namespaced by its kind or by the field's name.
RECORD_ID_FIELDS = ("doi", "pmid", "pubmed_id", "id", "doc_id", "paperid", "paper_id", "corpusid", "corpus_id",
                    "s2_id", "key", "entry_id", "arxiv_id", "_id", "uid", "identifier")
MAX_ID_CHARS = 200
URL_FIELDS = ("url", "link")


def as_text(value: Any) -> str | None:
    """Scalar -> string; None -> ''; list/dict/bool/NaN/Infinity -> None (not usable as text)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(value)
    return None


MONTHS = {
    name: i
    for i, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ),
        1,
    )
    for name in names
}
MONTH_RE = "|".join(sorted(MONTHS, key=len, reverse=True))


def _literal(text: str) -> Any:
    """Python-literal lists such as "['cs.CV', 'cs.LG']"; None when it is not one."""
    if len(text) > 100_000:
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def arxiv_id(raw: Any) -> str | None:
    text = as_text(raw)
    if not text or not text.strip():
        return None
    text = text.strip()
    # a spreadsheet round-trip drops trailing zeros too: "1501.0001" was 1501.00010
    m = re.fullmatch(r"(\d{4})\.(\d{1,5})(v\d+)?", text)
    if m:
        width = 5 if int(m.group(1)) >= 1501 else 4
        text = f"{m.group(1)}.{m.group(2).ljust(width, '0')}"
    aid = clean_arxiv_id(text)
    if aid and re.match(r"\d{4}\.", aid) and not 1 <= int(aid[2:4]) <= 12:
        return None  # e.g. a row number "123.0" is not an arXiv id
    return aid


def record_id(fields: dict[str, Any]) -> str | None:
    """The record's own id, namespaced: ``arxiv:…``, ``doi:…``, ``pmid:…`` or ``<field>:…``.

    None when the record carries no usable id (then it is known by its title). Two records with
    different ids are different papers even when their titles match (Cranfield repeats titles).
    """
    for name in ID_FIELDS:
        aid = arxiv_id(fields.get(name))
        if aid:
            return f"arxiv:{aid}"
    for name in RECORD_ID_FIELDS:
        value = doi(fields.get(name)) if name == "doi" else _id_text(fields.get(name))
        if not value:
            continue
        if name == "doi" or _DOI.match(value):
            return f"doi:{value.lower()}"  # DOIs are case-insensitive
        return f"{'pmid' if name == 'pubmed_id' else name}:{value}"
    return None


_DOI = re.compile(r"^10\.\d{4,9}/\S+$")


def _id_text(value: Any) -> str | None:
    """An id value as text: strings and integers (4983.0 from a spreadsheet counts as 4983)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = as_text(value)
    if not text:
        return None
    text = collapse_ws(text)
    return text if 0 < len(text) <= MAX_ID_CHARS else None


def authors(fields: dict[str, Any]) -> list[str]:
    parsed = fields.get("authors_parsed")
    if isinstance(parsed, str):
        parsed = _literal(parsed)
    if isinstance(parsed, list):
        names = []
        for item in parsed:
            if isinstance(item, (list, tuple)):
                parts = [str(x) for x in item if x]
                # arXiv order is [last, first, suffix]
                ordered = parts[1:2] + parts[:1] + parts[2:]
                name = collapse_ws(" ".join(ordered))
            else:
                name = collapse_ws(str(item))
            if name:
                names.append(name)
        if names:
            return names
    for key in ("authors", "author"):
        value = fields.get(key)
        if isinstance(value, list):
            names = []
            for item in value:
                if isinstance(item, dict):
                    item = item.get("name", "")
                name = collapse_ws(str(item)) if item else ""
                if name:
                    names.append(name)
            if names:
                return names
        elif isinstance(value, str) and value.strip():
            return _split_authors(value)
    return []


def _split_authors(text: str) -> list[str]:
    """'A. Bee, C. Dee and E. Eff (Univ. X)' -> ['A. Bee', 'C. Dee', 'E. Eff']."""
    text = collapse_ws(text)
    for _ in range(10):  # drop (affiliations), innermost first
        stripped = re.sub(r"\s*\([^()]*\)", "", text)
        if stripped == text:
            break
        text = stripped
    text = text.split("(", 1)[0]  # an unbalanced "(" starts an affiliation to the end
    names: list[str] = []
    for part in _name_parts(text):
        part = re.sub(r"\bet al\.?$", "", part).strip(" .") if "et al" in part else part.strip()
        if not part:
            continue
        if names and re.fullmatch(r"(Jr|Sr|II|III|IV)\.?", part):
            names[-1] += f" {part}"
            continue
        names.append(part)
    return names


_PEOPLE_SEPARATOR = re.compile(r"\s*(?:;|&|\band\b)\s*")
_INITIALS = re.compile(r"(?:[A-Z][a-z]?\.?[\s-]*)+")  # "J.", "J. R.", "J.-P.", "Ch."


def _name_parts(text: str) -> list[str]:
    """Split an author string into names. "and", ";" and "&" always separate people; a comma does
    too, except inside "Last, First" names: "Smith, J. and Doe, A." is two people (BibTeX's form,
    when every part is "Last, First", or a part is "Last, Initials"), "A. Smith, B. Doe" is two."""
    text = re.sub(r"\s*,?\s*\bet al\b\.?", "", text)  # "et al." names nobody
    groups = [g for g in _PEOPLE_SEPARATOR.split(text) if g.strip()]
    last_first = len(groups) > 1 and all(g.count(",") == 1 for g in groups)
    parts: list[str] = []
    for group in groups:
        if group.count(",") == 1 and (last_first or _INITIALS.fullmatch(group.split(",")[1].strip())):
            parts.append(group)
        else:
            parts.extend(re.split(r"\s*,\s*", group))
    return parts


def iso_date(value: Any) -> str | None:
    text = as_text(value)
    if not text:
        return None
    text = text.strip()
    y = mo = d = None
    if m := re.match(r"(\d{4})-(\d{1,2})-(\d{1,2})", text):
        y, mo, d = m.groups()
    elif m := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text):  # arXiv CSV export: M/D/YYYY
        mo, d, y = m.groups()
    elif m := re.fullmatch(r"(\d{4})/(\d{1,2})/(\d{1,2})", text):
        y, mo, d = m.groups()
    elif m := re.search(rf"\b(\d{{1,2}})\s+({MONTH_RE})\.?\s+(\d{{4}})\b", text, re.I):
        d, mon, y = m.groups()
        mo = MONTHS[mon.lower()]
    elif m := re.search(rf"\b({MONTH_RE})\.?\s+(\d{{1,2}}),?\s+(\d{{4}})\b", text, re.I):
        mon, d, y = m.groups()
        mo = MONTHS[mon.lower()]
    if y is None:
        return None
    try:
        return _date(int(y), int(mo), int(d)).isoformat()
    except ValueError:
        return None


def categories(fields: dict[str, Any]) -> list[str]:
    for key in CATEGORY_FIELDS:
        value = fields.get(key)
        if not value:
            continue
        items: list[Any]
        if isinstance(value, list):
            items = value
        elif isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                parsed = _literal(text)
                items = parsed if isinstance(parsed, list) else re.findall(r"[\w.\-]+", text)
            else:
                items = re.split(r"[\s,;]+", text)
        else:
            continue
        out: list[str] = []
        for item in items:
            cat = str(item).strip()
            if cat and cat not in out:
                out.append(cat)
        if out:
            return out
    return []


def doi(value: Any) -> str | None:
    text = as_text(value)
    if not text or not text.strip():
        return None
    text = re.sub(r"^(https?://(dx\.)?doi\.org/|doi:)", "", text.strip(), flags=re.I)
    return text.split()[0] if text else None


def url(value: Any) -> str | None:
    text = as_text(value)
    if text and re.match(r"https?://\S+$", text.strip()):
        return text.strip()
    return None


