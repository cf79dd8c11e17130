"""From one record's fields (a JSON object, a CSV row) to a ``Paper``, and a file's bookkeeping.

Records need a title and an abstract under one of the common field names in ``TITLE_FIELDS`` /
``ABSTRACT_FIELDS`` (case-insensitive, spaces and dashes read as underscores). ``RecordSink``
collects what one file gave: its papers and one ``ReadError`` per rejected record.
"""

from __future__ import annotations

import re
from typing import Any

from ingest.records import Paper, ReadError, Source, clean_text, collapse_ws

from . import metadata
from .textfile import Rejected, TextFile, undecodable_bytes

TITLE_FIELDS = ("title", "titles", "paper_title", "name")
ABSTRACT_FIELDS = ("abstract", "abstracts", "summary", "summaries", "text", "description")

MAX_TITLE_CHARS = 1_000
MAX_ABSTRACT_CHARS = 20_000

_NO_FIELDS = "<no title or abstract field>"  # sentinel result of paper_from_fields
_KEYS_SHOWN = 50


class RecordSink:
    """The papers and record errors of one file. ``reject`` refuses the file whole."""

    def __init__(self, src: TextFile) -> None:
        self.src = src
        self.label = str(src.path)
        self.source = Source(name=src.path.name)
        self.papers: list[Paper] = []
        self.errors: list[ReadError] = []
        self._records = 0
        self._records_without_fields = 0
        self._handed_on = 0  # papers already given to `src.on_papers` (streaming)
        self._keys_seen: dict[str, None] = {}
        self.last_place: tuple[int | None, int | None] = (None, None)  # (line, record) last seen
        src.sink = self  # so a failure partway through can keep what was read (readers.files)

    @property
    def kept(self) -> int:
        """Papers read so far (handed on while streaming, or held)."""
        return self._handed_on + len(self.papers)

    def result(self) -> tuple[list[Paper], list[ReadError]]:
        return self.papers, self.errors

    def error(self, message: str, line: int | None = None, record: int | None = None) -> None:
        self.last_place = (line, record)
        self.errors.append(ReadError(path=self.label, message=message, line=line, record=record))

    def undecodable(self, *texts: Any) -> str | None:
        """Why a record must be skipped because it holds bytes the file's encoding cannot read."""
        if not self.src.lossy:
            return None
        for text in texts:
            bad = undecodable_bytes(text) if isinstance(text, str) else []
            if bad:
                return f"holds bytes that are not {self.src.encoding_name} text (0x{bad[0]:02x}); record skipped"
        return None

    def add_record(self, raw: dict, line: int | None = None, record: int | None = None) -> None:
        """Turn one JSON object / CSV row into a Paper, or record why not."""
        self._records += 1
        self.last_place = (line, record)
        try:
            self._add(raw)
        except Exception as exc:  # a reader bug on one odd record: skip it, keep reading
            self.error(f"record skipped: {type(exc).__name__}: {exc}", line=line, record=record)

    def _add(self, raw: dict) -> None:
        line, record = self.last_place
        fields: dict[str, Any] = {}
        for key, value in raw.items():
            fields.setdefault(norm_key(key), value)
        for key in fields:
            if len(self._keys_seen) < _KEYS_SHOWN:
                self._keys_seen.setdefault(key, None)
        result = self.undecodable(*fields.values()) or paper_from_fields(fields, self.source)
        if isinstance(result, Paper):
            self.papers.append(result)
            if self.src.on_papers is not None and len(self.papers) >= self.src.papers_per_call:
                self._handed_on += len(self.papers)
                self.src.on_papers(self.papers)
                self.papers = []
            return
        if result == _NO_FIELDS:
            self._records_without_fields += 1
            keys = ", ".join(list(fields)[:20]) or "none"
            result = f"no title or abstract field (fields: {keys})"
        self.error(result, line=line, record=record)

    def reject_if_no_known_fields(self) -> None:
        """If not one record had a title or abstract field, the file is in a layout we don't know."""
        if not (self.papers or self._handed_on) and self._records and self._records_without_fields == self._records:
            keys = ", ".join(self._keys_seen) or "none"
            raise Rejected(
                f"no record has a title or abstract field (fields found: {keys}); "
                f"expected a title field ({', '.join(TITLE_FIELDS)}) "
                f"and an abstract field ({', '.join(ABSTRACT_FIELDS)})"
            )


def norm_key(key: Any) -> str:
    return re.sub(r"[\s\-]+", "_", str(key).strip().lstrip("\ufeff").strip().lower())


def json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def text_problem(title: str, abstract: str) -> str | None:
    """Why a title/abstract pair is refused (over the length caps), or None."""
    if len(title) > MAX_TITLE_CHARS:
        return f"title is {len(title):,} characters long (limit {MAX_TITLE_CHARS:,}); skipped"
    if len(abstract) > MAX_ABSTRACT_CHARS:
        return f"abstract is {len(abstract):,} characters long (limit {MAX_ABSTRACT_CHARS:,}); skipped"
    return None


def _pick_text(fields: dict[str, Any], names: tuple[str, ...]) -> tuple[str | None, str]:
    """First present field among ``names`` with text: returns (field name or None, text)."""
    present = None
    for name in names:
        if name in fields:
            text = metadata.as_text(fields[name])
            if text is None:
                present = present or name
                continue
            if text.strip():
                return name, text
            present = present or name
    return present, ""


def paper_from_fields(fields: dict[str, Any], source: Source) -> Paper | str:
    """The record's Paper, or a one-line reason why it is skipped."""
    title_field, title = _pick_text(fields, TITLE_FIELDS)
    abstract_field, abstract = _pick_text(fields, ABSTRACT_FIELDS)
    if title_field is None and abstract_field is None:
        return _NO_FIELDS
    title, abstract = collapse_ws(clean_text(title)), collapse_ws(clean_text(abstract))
    if title_field is None:
        return f"no title (expected a field named {', '.join(TITLE_FIELDS)})"
    if abstract_field is None:
        return f"no abstract (expected a field named {', '.join(ABSTRACT_FIELDS)})"
    for what, field, text in (("title", title_field, title), ("abstract", abstract_field, abstract)):
        if not text:
            if metadata.as_text(fields[field]) is None:
                return f"{what} is not text (field {field!r} holds {json_type(fields[field])})"
            return f"empty {what} (field {field!r})"
    problem = text_problem(title, abstract)
    if problem:
        return problem
    arxiv_id = None
    for name in metadata.ID_FIELDS:
        arxiv_id = metadata.arxiv_id(fields.get(name))
        if arxiv_id:
            break
    return Paper(
        title=title,
        abstract=abstract,
        paper_id=metadata.record_id(fields) or "",
        authors=metadata.authors(fields),
        date=next((d for d in (metadata.iso_date(fields.get(n)) for n in metadata.DATE_FIELDS) if d), None),
        categories=metadata.categories(fields),
        arxiv_id=arxiv_id,
        doi=metadata.doi(fields.get("doi")),
        url=next((u for u in (metadata.url(fields.get(n)) for n in metadata.URL_FIELDS) if u), None),
        sources=[source],
    )
