"""The paper record shared by `ingest/` (which writes it) and `assistant/` (which reads it)."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import PurePath

ARXIV_ABS_URL = "https://arxiv.org/abs/{}"

_NON_ALNUM = re.compile(r"[^0-9a-z]+")
# C0 controls except the whitespace ones (tab, newline, CR, VT, FF), DEL and C1 controls
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_UNSAFE = re.compile("[\x00-\x08\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_ARXIV_NEW = re.compile(r"^(\d{4}\.\d{4,5})(v\d+)?$")
_ARXIV_OLD = re.compile(r"^([a-z\-]+(\.[A-Z]{2})?/\d{7})(v\d+)?$")


def clean_text(text: str) -> str:
    """Text every later stage can encode: lone surrogates become U+FFFD, control characters go.

    JSON accepts "\\ud800" escapes and files carry NULs, escape codes and stray controls; a lone
    surrogate cannot be encoded as UTF-8 (the tokenizer, hashing and Chroma all fail on it), and
    control characters are never wanted in a title or abstract (they can drive a terminal).
    Tab, newline, CR, VT and FF are kept: they are whitespace that ``collapse_ws`` folds.
    """
    if not _UNSAFE.search(text):
        return text
    return _CONTROL.sub("", _SURROGATE.sub("\ufffd", text))


def collapse_ws(text: str) -> str:
    """Join hard line breaks and runs of spaces into single spaces."""
    return " ".join(text.split())  # str.split() and re's \s agree on what whitespace is


def normalise_title(title: str) -> str:
    """Lower-case, accent- and punctuation-free form of a title, used to spot the same paper twice."""
    text = unicodedata.normalize("NFKD", title)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return _NON_ALNUM.sub(" ", text).strip()


def title_key(title: str) -> str:
    return hashlib.sha1(normalise_title(title).encode()).hexdigest()[:16]


def clean_arxiv_id(raw: str | None) -> str | None:
    """'0704.0001v2' -> '0704.0001'; old-style 'hep-th/9901001' kept; anything else -> None."""
    if not raw:
        return None
    raw = raw.strip()
    for prefix in ("arXiv:", "arxiv:", "https://arxiv.org/abs/", "http://arxiv.org/abs/"):
        if raw.startswith(prefix):
            raw = raw[len(prefix):]
    # CSV round-trips can turn "0704.0010" into the float "704.001": repair the leading zero
    m = re.fullmatch(r"(\d{3})\.(\d{1,5})", raw)
    if m:
        raw = f"0{m.group(1)}.{m.group(2).ljust(4, '0')}"
    m = _ARXIV_NEW.match(raw) or _ARXIV_OLD.match(raw)
    return m.group(1) if m else None


TITLE_ID_PREFIX = "title:"


def make_paper_id(title: str, arxiv_id: str | None) -> str:
    """Stable id: the arXiv id when known, else a hash of the normalised title."""
    if arxiv_id:
        return f"arxiv:{arxiv_id}"
    return f"{TITLE_ID_PREFIX}{title_key(title)}"


def is_title_id(paper_id: str) -> bool:
    """True for ids derived from the title; False for explicit ones (arXiv or given by the source)."""
    return paper_id.startswith(TITLE_ID_PREFIX)


@dataclass(frozen=True)
class Source:
    """Where a paper was seen: the file it came from and, for dated pages, the page date.

    `name` is the file's resolved absolute path for files `ingest` read (two files called
    `papers.jsonl` in two folders are two sources), and the bare file name for uploads through the
    page and for sources an index recorded before paths were kept (`file_name` is the same for both).

    `digest` fingerprints the record as that file gave it (`Paper.record_digest`, set when it is
    read): a later ingest that reads the same record from the same file again knows the stored
    paper holds it already. It is not part of a source's identity (equality ignores it)."""

    name: str
    date: str | None = None
    digest: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        # file names may hold undecodable bytes (surrogate-escaped by Python)
        object.__setattr__(self, "name", clean_text(self.name))
        if self.date is not None:
            object.__setattr__(self, "date", clean_text(self.date))

    def label(self) -> str:
        return f"{self.name} ({self.date})" if self.date else self.name

    @property
    def file_name(self) -> str:
        """The file's name without its folder (`papers.jsonl`)."""
        return PurePath(self.name).name

    @property
    def has_path(self) -> bool:
        """Whether `name` is a path (a file `ingest` read), not a bare file name."""
        return PurePath(self.name).name != self.name

    def upgrades(self, older: "Source") -> bool:
        """Whether this source (a path) is what `older`, recorded by file name only before paths
        were kept, meant: the same file name and page date. Re-reading the file then records its
        path in place of the bare name instead of listing the file twice."""
        return self.has_path and not older.has_path and older.name == self.file_name and older.date == self.date

    def to_dict(self) -> dict:
        return {"name": self.name, "date": self.date} | ({"digest": self.digest} if self.digest else {})

    def to_list(self) -> list:
        return [self.name, self.date] + ([self.digest] if self.digest else [])

    @classmethod
    def from_stored(cls, value) -> "Source":
        """A source as `to_dict` or `to_list` stored it (older records: no digest)."""
        if isinstance(value, dict):
            return cls(value["name"], value.get("date"), value.get("digest"))
        return cls(*value[:3])


@dataclass
class Paper:
    """One paper as askpapers knows it. `sources` lists every file the paper was read from."""

    title: str
    abstract: str
    paper_id: str = ""
    authors: list[str] = field(default_factory=list)
    date: str | None = None  # ISO YYYY-MM-DD when known
    categories: list[str] = field(default_factory=list)
    arxiv_id: str | None = None
    doi: str | None = None
    url: str | None = None
    sources: list[Source] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Normalise at the record boundary, so nothing downstream sees unencodable text."""
        self.title = collapse_ws(clean_text(self.title))
        self.abstract = collapse_ws(clean_text(self.abstract))
        self.authors = [clean_text(a) for a in self.authors]
        self.categories = [clean_text(c) for c in self.categories]
        for attr in ("paper_id", "date", "doi", "url"):
            value = getattr(self, attr)
            if value:
                setattr(self, attr, clean_text(value))
        self.arxiv_id = clean_arxiv_id(self.arxiv_id)
        if not self.paper_id:
            self.paper_id = make_paper_id(self.title, self.arxiv_id)
        if self.url is None and self.arxiv_id:
            self.url = ARXIV_ABS_URL.format(self.arxiv_id)

    @property
    def title_key(self) -> str:
        return title_key(self.title)

    def record_digest(self) -> str:
        """A fingerprint of the record as read (its fields, not its sources): see Source.digest."""
        fields = [getattr(self, f) for f in _PAPER_FIELDS]
        return hashlib.sha1(json.dumps(fields, ensure_ascii=False).encode()).hexdigest()[:12]

    def content_hash(self) -> str:
        """Changes when anything that is embedded changes (title or abstract)."""
        return hashlib.sha1(f"{self.title}\n{self.abstract}".encode()).hexdigest()[:16]

    def merge_sources(self, other: "Paper") -> None:
        self.sources = merged_sources(self.sources, other.sources)
        if not self.authors and other.authors:
            self.authors = list(other.authors)
        self.categories += [c for c in other.categories if c not in self.categories]
        for attr in ("date", "arxiv_id", "doi", "url"):
            if not getattr(self, attr) and getattr(other, attr):
                setattr(self, attr, getattr(other, attr))

    def to_dict(self) -> dict:
        return asdict(self) | {"sources": [s.to_dict() for s in self.sources]}

    @classmethod
    def from_dict(cls, record: dict) -> Paper:
        """The paper `to_dict()` gave (other keys, such as a side-index record's passages, are ignored;
        sources may be dicts or [name, date] pairs)."""
        paper = cls(**{f: record[f] for f in _PAPER_FIELDS if f in record})
        paper.sources = [Source.from_stored(s) for s in record.get("sources") or []]
        return paper


def merged_sources(first: list[Source], then: list[Source]) -> list[Source]:
    """Every source of both lists, first-seen order, no repeats; a source in both keeps the place
    it had in `first` and the digest of `then` (the record read last from that file). A source of
    `then` with a path takes the place of the same file recorded by name only (`Source.upgrades`)."""
    out = list(first)
    for src in then:
        if src in out:
            if src.digest:
                out[out.index(src)] = src
            continue
        legacy = next((i for i, old in enumerate(out) if src.upgrades(old)), None)
        if legacy is not None:
            out[legacy] = src
        else:
            out.append(src)
    return out


@dataclass(frozen=True)
class ReadError:
    """A problem with one input file or record: printed as one line on stderr.

    ``notice=True`` marks a line that reports no problem, only how the file was read
    (e.g. "read as cp1252"); nothing was rejected because of it.
    """

    path: str
    message: str
    line: int | None = None
    record: int | None = None
    whole_file: bool = False  # the file was rejected entirely (no record read)
    notice: bool = False

    def __str__(self) -> str:
        where = self.path
        if self.line is not None:
            where += f":{self.line}"
        if self.record is not None:
            where += f" (record {self.record})"
        return f"askpapers: {where}: {self.message}"


_PAPER_FIELDS = ("title", "abstract", "paper_id", "authors", "date", "categories", "arxiv_id", "doi", "url")
