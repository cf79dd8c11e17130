"""The reader seam: a file format is a small object registered in one line.

A format says which extensions it owns (directories are expanded to those), describes itself in
a few words (for ``SUPPORTED``), claims a file from its content (``claims``, a cheap look at
``TextFile.head``) and reads it (``read``). Formats are tried in registration order, a
``fallback`` format (the daily-papers page, which claims any text) after all others; a format
that finds, while reading, that the file is not its kind raises ``NotThisFormat`` and the next
one is tried. To add one::

    # ingest/readers/bibtex_format.py
    class BibtexFormat:
        name = "bibtex"
        extensions = (".bib",)
        description = "BibTeX (.bib) entries with title and abstract"

        def claims(self, src: TextFile) -> bool:
            return src.head.lstrip().startswith("@")

        def read(self, src: TextFile) -> tuple[list[Paper], list[ReadError]]:
            sink = RecordSink(src)
            ...  # sink.add_record(fields, line=n) per entry
            return sink.result()

    # ingest/readers/__init__.py
    FORMATS.register(BibtexFormat())
"""

from __future__ import annotations

from typing import Protocol

from ingest.records import Paper, ReadError

from .textfile import Rejected, TextFile


class NotThisFormat(Exception):
    """Raised by a format's ``read`` when the content turns out not to be its kind."""


class Format(Protocol):
    """What a format provides. It may also set ``fallback = True``: tried after every other format."""

    name: str
    extensions: tuple[str, ...]
    description: str

    def claims(self, src: TextFile) -> bool:
        """Whether this format should try the file (from ``src.head`` and ``src.ext``)."""

    def read(self, src: TextFile) -> tuple[list[Paper], list[ReadError]]:
        """The file's papers and its record errors; ``Rejected`` refuses the file whole."""


RECORDS_NOTE = (
    "Records need a title and an abstract "
    "(title/titles/paper_title/name and abstract/abstracts/summary/summaries/text/description); "
    "arXiv metadata snapshot fields (authors, categories, id, doi, update_date) are kept"
)


class Registry:
    """The formats askpapers reads, in the order they are tried."""

    def __init__(self) -> None:
        self._formats: list[Format] = []

    def register(self, fmt: Format) -> Format:
        self._formats.append(fmt)
        return fmt

    @property
    def formats(self) -> tuple[Format, ...]:
        """The formats in the order they are tried (fallbacks last, otherwise as registered)."""
        return tuple(sorted(self._formats, key=lambda fmt: bool(getattr(fmt, "fallback", False))))

    @property
    def extensions(self) -> frozenset[str]:
        """Extensions picked up when a directory is expanded (named files are always read)."""
        return frozenset(ext for fmt in self.formats for ext in fmt.extensions)

    def binary_for(self, path) -> Format | None:
        """The binary format (``binary = True``, e.g. PDF) that owns ``path``'s extension, if any.

        A binary format is not handed a decoded ``TextFile``: it reads the file itself with
        ``read_path(path) -> (papers, errors)`` and refuses it whole with ``Rejected``.
        """
        ext = path.suffix.lower()
        return next((f for f in self.formats if getattr(f, "binary", False) and ext in f.extensions), None)

    def supported(self) -> str:
        """One line saying what can be read."""
        return "; ".join(fmt.description for fmt in self.formats) + ". " + RECORDS_NOTE

    def read(self, src: TextFile) -> tuple[list[Paper], list[ReadError]]:
        """Read ``src`` with the first format that claims it and does not back out."""
        reason = ""
        for fmt in self.formats:
            if not fmt.claims(src):
                continue
            try:
                return fmt.read(src)
            except NotThisFormat as exc:
                reason = str(exc) or reason
        detail = f" ({reason})" if reason else ""
        raise Rejected(f"unknown layout{detail}; supported: {self.supported()}")


FORMATS = Registry()
