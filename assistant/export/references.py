"""The cited papers as bibliography references: names split, dates parsed, kinds and keys chosen.

Everything comes from the stored metadata on a `Hit` (title, authors, date, url, paper id,
sources); nothing is looked up online. A paper is one of three kinds:

* ``arxiv``: an ``arxiv:`` paper id (the id gives eprint, url and, with categories, the primary class);
* ``doi``: a DOI (a ``doi:`` paper id, the hit's ``doi``, or a doi.org url);
* ``misc``: anything else, e.g. a title-hash id from a page without metadata: cited by its title
  and the page it was read from.

Citation keys are ``lastnameYEARfirstword`` in ASCII (``vaswani2017attention``), made unique
within one bibliography with a/b/c suffixes, so the same papers in the same order always get
the same keys.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from ingest.readers.metadata import iso_date
from ingest.records import Source

from .provenance import source_label

# lower-case name particles that belong to the family name ("Ludwig van Beethoven")
_PARTICLES = {"van", "von", "de", "der", "den", "del", "della", "di", "da", "du", "dos", "das", "la", "le", "ter", "ten"}
_ORGANISATION = re.compile(r"\b(collaboration|consortium|team|group|project|committee|institute)\b", re.I)
_SUFFIXES = {"jr", "jr.", "sr", "sr.", "ii", "iii", "iv"}
_SKIP_WORDS = {"a", "an", "the", "on", "of", "in", "for", "to", "and", "towards", "toward", "with", "via", "is", "are"}
_DOI = re.compile(r"\b(10\.\d{4,9}/\S+)", re.IGNORECASE)
_ISO = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?")
_ARXIV_CATEGORY = re.compile(r"^[a-z\-]+(\.[A-Za-z\-]+)?$")


@dataclass(frozen=True)
class Name:
    """One author: family, given and suffix ('Jr.'); ``given`` is empty for a one-word name."""

    family: str
    given: str = ""
    suffix: str = ""

    @property
    def display(self) -> str:
        return " ".join(p for p in (self.given, self.family, self.suffix) if p)

    @property
    def inverted(self) -> str:
        """'Family, Given' ('King, Martin Luther, Jr.' with a suffix), as RIS lists authors."""
        return ", ".join(p for p in (self.family, self.given, self.suffix) if p)


@dataclass
class Reference:
    """One cited paper, ready for any bibliography format."""

    key: str
    kind: str  # "arxiv", "doi" or "misc"
    paper_id: str
    title: str
    authors: list[Name]
    others: bool  # the author list ends with "et al." / "others"
    date: tuple[int, ...]  # (year,), (year, month) or (year, month, day); () when unknown
    url: str | None
    arxiv_id: str | None = None
    primary_class: str | None = None
    doi: str | None = None
    abstract: str = ""
    sources: list[Source] = field(default_factory=list)

    @property
    def year(self) -> int | None:
        return self.date[0] if self.date else None

    @property
    def source_note(self) -> str:
        """Where the paper was read, e.g. 'daily page of Jul 4' (empty when unknown)."""
        return "; ".join(source_label(s) for s in self.sources)


def field_of(paper: Any, name: str, default: Any = None) -> Any:
    """A field of a `Hit` or of its dict form (`Hit.to_dict()`), so both can be exported."""
    if isinstance(paper, dict):
        return paper.get(name, default)
    return getattr(paper, name, default)


def split_name(raw: str) -> Name:
    """'Ada Lovelace' / 'Lovelace, Ada' / 'Ludwig van Beethoven' / 'Martin Luther King Jr.' →
    family, given and suffix (BibTeX's 'King, Jr., Martin Luther' order is read too)."""
    raw = " ".join(raw.split()).strip(" ,;")
    if _ORGANISATION.search(raw):  # 'The ATLAS Collaboration' is one name, not Mr Collaboration
        return Name(raw)
    if "," in raw:
        parts = [p.strip() for p in raw.split(",")]
        if len(parts) >= 3:
            return Name(parts[0], ", ".join(parts[2:]), parts[1])
        if parts[1].lower() in _SUFFIXES:  # 'Martin Luther King, Jr.'
            return replace(split_name(parts[0]), suffix=parts[1])
        return Name(parts[0], parts[1])
    words = raw.split(" ")
    suffix = words.pop() if len(words) > 2 and words[-1].lower() in _SUFFIXES else ""
    if len(words) == 1:
        return Name(words[0], "", suffix)
    cut = len(words) - 1
    while cut > 1 and words[cut - 1] in _PARTICLES:
        cut -= 1
    return Name(" ".join(words[cut:]), " ".join(words[:cut]), suffix)


def _authors(raw: list[str]) -> tuple[list[Name], bool]:
    names, others = [], False
    for author in raw or []:
        text = str(author).strip()
        if text.lower().rstrip(".") in {"others", "et al", "and others"}:
            others = True
        elif text:
            names.append(split_name(text))
    return names, others


def _date(paper: Any) -> tuple[int, ...]:
    """The paper's date as (year[, month[, day]]): its own date, else a dated source page."""
    candidates = [field_of(paper, "date")]
    candidates += [iso_date(s.date) for s in _sources(paper) if s.date]
    for text in candidates:
        m = _ISO.match(text or "")
        if m:
            return tuple(int(g) for g in m.groups() if g)
    return ()


def _sources(paper: Any) -> list[Source]:
    """A paper's or a hit's sources, however they came (Source objects, stored dicts or pairs)."""
    return [s if isinstance(s, Source) else Source.from_stored(s) for s in field_of(paper, "sources") or []
            if isinstance(s, Source) or (s.get("name") if isinstance(s, dict) else s)]


def _doi(paper: Any) -> str | None:
    pid = field_of(paper, "paper_id") or ""
    if pid.startswith("doi:"):
        return pid[4:]
    for text in (field_of(paper, "doi"), field_of(paper, "url")):
        m = _DOI.search(text or "")
        if m:
            return m.group(1).rstrip(".,;")
    return None


def to_reference(paper: Any) -> Reference:
    """A `Hit` (or its dict) as a `Reference`, with an empty key (see `references`)."""
    pid = field_of(paper, "paper_id") or ""
    arxiv_id = pid.split(":", 1)[1] if pid.startswith("arxiv:") else None
    doi = _doi(paper)
    categories = [c for c in field_of(paper, "categories") or [] if _ARXIV_CATEGORY.match(c)]
    authors, others = _authors(field_of(paper, "authors") or [])
    return Reference(
        key="",
        kind="arxiv" if arxiv_id else "doi" if doi else "misc",
        paper_id=pid,
        title=field_of(paper, "title") or pid,
        authors=authors,
        others=others,
        date=_date(paper),
        url=field_of(paper, "url") or (f"https://arxiv.org/abs/{arxiv_id}" if arxiv_id else None),
        arxiv_id=arxiv_id,
        primary_class=categories[0] if arxiv_id and categories else None,
        doi=doi,
        abstract=field_of(paper, "abstract") or "",
        sources=_sources(paper),
    )


def ascii_word(text: str) -> str:
    """Letters and digits of ``text`` folded to lower-case ASCII ('Müller-Lüdenscheidt' → 'mullerludenscheidt')."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", folded.lower())


def base_key(ref: Reference) -> str:
    """``lastnameYEARfirstword`` ('vaswani2017attention'); without authors ``firstwordYEAR``.
    The key starts with a letter ('paper' is put in front when it would not)."""
    family = ref.authors[0].family.split(" ") if ref.authors else []
    while len(family) > 1 and family[0] in _PARTICLES:  # 'van Beethoven' → 'beethoven'
        family = family[1:]
    last = ascii_word(" ".join(family))
    words = [w for w in (ascii_word(w) for w in re.split(r"[\s/:]+", ref.title)) if w]
    first = next((w for w in words if w not in _SKIP_WORDS), words[0] if words else "")
    year = str(ref.year or "")
    key = f"{last}{year}{first}" if last else f"{first}{year}"
    return key if re.match(r"[a-z]", key) else f"paper{key}"


def references(papers: Iterable[Any]) -> list[Reference]:
    """The papers as references with unique keys; papers with equal base keys get a, b, c, … suffixes."""
    refs = [to_reference(p) for p in papers]
    bases = [base_key(r) for r in refs]
    count = Counter(bases)
    used = {b for b in bases if count[b] == 1}
    next_suffix: Counter = Counter()
    for ref, base in zip(refs, bases):
        key = base
        while count[base] > 1 and (key == base or key in used):  # 'smith2020a' may already be a real key
            key = base + _suffix(next_suffix[base])
            next_suffix[base] += 1
        used.add(key)
        ref.key = key
    return refs


def _suffix(n: int) -> str:
    """0 → 'a', 25 → 'z', 26 → 'aa', …"""
    letters = ""
    n += 1
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters
