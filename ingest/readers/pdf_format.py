"""PDF papers: the title and abstract from the first pages, read with pypdf (pure Python).

A PDF is binary, so this format reads the file itself (``binary = True``, ``read_path``) instead
of a decoded ``TextFile``; it owns the ``.pdf`` extension. Only the first ``MAX_PAGES`` pages are
parsed, so a long or hostile file cannot hang an ingest.

* Abstract: the text after an "Abstract" heading ("Abstract", "ABSTRACT", "Abstract—…",
  "Abstract." …) up to the next section heading ("1 Introduction", "Keywords", "Index Terms",
  "CCS Concepts", …), de-hyphenated at line ends, ligatures unfolded, whitespace collapsed.
* Title: the PDF's metadata title when it is a real title (not "Microsoft Word - draft.docx"),
  else the largest-font lines of the first page above the abstract, else its first line.
* Metadata when the page shows it: the arXiv stamp ("arXiv:2401.00001v2 [cs.CL] 5 Jan 2024")
  gives the arXiv id, primary category and date; a DOI above the introduction is kept; the
  metadata author field gives the authors.

A PDF without a findable abstract (scanned, image-only, or no "Abstract" heading), an encrypted
one, and a corrupt or truncated one are each refused with one line (``Rejected``).
"""

from __future__ import annotations

import logging
import os
import re
import stat
import unicodedata
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from ingest.records import Paper, ReadError, Source, collapse_ws

from .fields import text_problem
from .metadata import iso_date
from .registry import NotThisFormat
from .textfile import Rejected, TextFile

MAX_PAGES = 2  # the title and abstract are on the first page; a long title page spills onto the second
MAX_PDF_BYTES = 200 * 1024 * 1024
MAX_ABSTRACT_CHARS = 4_000  # an abstract without a heading after it stops here, at a sentence end
MIN_ABSTRACT_WORDS = 15
HEADER_BYTES = 1024  # the spec lets "%PDF-" start anywhere in the first 1024 bytes

_ABSTRACT_HEAD = re.compile(r"^\s*(abstract|a\s?b\s?s\s?t\s?r\s?a\s?c\s?t)\b\s*([:.—–-]?)\s*(.*)$", re.I)
_SECTION_NAMES = ("introduction", "background", "related work", "motivation", "preliminaries", "overview")
_END_HEAD = re.compile(  # the heading after the abstract: a whole line, or a keyword list's lead-in
    r"^\s*(?:(?:\d{1,2}|[IVX]{1,4})\.?\s+)?(?:" + "|".join(_SECTION_NAMES) + r")\s*$"
    r"|^\s*(?:keywords|key\s?words|index\s+terms|ccs\s+concepts|general\s+terms|acm\s+reference\s+format"
    r"|categories\s+and\s+subject\s+descriptors|additional\s+key\s+words(?:\s+and\s+phrases)?)\s*(?:[:.—–-]|$)"
    r"|^\s*1\.?\s+[A-Z][A-Za-z\- ]{2,40}$",
    re.I,
)
_ARXIV_STAMP = re.compile(
    r"arXiv:(\d{4}\.\d{4,5})(?:v\d+)?\s*\[([a-z\-]+(?:\.[A-Za-z\-]+)?)\]\s*(\d{1,2}\s+[A-Z][a-z]{2}\s+\d{4})")
_DOI = re.compile(r"(?:doi:\s*|https?://(?:dx\.)?doi\.org/)(10\.\d{4,9}/[^\s\"<>]+)", re.I)
_JUNK_TITLE = re.compile(
    r"^(untitled|microsoft (word|powerpoint)|document\d*|title|paper|main|manuscript|arxiv|slides?)\b"
    r"|\.(pdf|docx?|tex|dvi|ps|indd|odt)$|^[\w\-]+\.\w{2,4}$|[\\/]",
    re.I,
)
_HYPHEN_BREAK = re.compile(r"(\w)[-\u00ad]\n(?=[a-z])")


class PdfFormat:
    name = "pdf"
    extensions = (".pdf",)
    description = "PDF papers (.pdf): title and abstract from the first page"
    binary = True  # read from the path (read_path), never decoded as text

    def claims(self, src: TextFile) -> bool:
        return False  # a file that decodes as text is not a PDF

    def read(self, src: TextFile) -> tuple[list[Paper], list[ReadError]]:
        raise NotThisFormat("not a PDF")

    def read_path(self, path: Path) -> tuple[list[Paper], list[ReadError]]:
        """The PDF's paper, or ``Rejected`` with one line saying why it cannot be read."""
        with _open_regular(path) as fh:
            head = fh.read(HEADER_BYTES)
            if b"%PDF-" not in head:
                raise Rejected("not a PDF (no %PDF- header)" if head else "file is empty")
            size = os.fstat(fh.fileno()).st_size
            if size > MAX_PDF_BYTES:
                raise Rejected(f"PDF is {size / 1024 / 1024:.0f} MB (limit {MAX_PDF_BYTES // 1024 // 1024} MB)")
            fh.seek(0)
            pages = _first_pages(fh)
        paper = paper_from_pages(pages, Source(name=path.name))
        return [paper], []


def _open_regular(path: Path):
    """Open ``path`` for binary reading, refusing FIFOs and devices (opening a FIFO would block)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise Rejected("not a regular file, skipped")
    return os.fdopen(fd, "rb")


@dataclass
class PageText:
    """What the first pages give: their text, the first page's largest-font lines, the metadata."""

    text: str
    big_lines: list[str] = field(default_factory=list)
    meta_title: str = ""
    meta_author: str = ""


def _first_pages(fh) -> PageText:
    """Text of the first ``MAX_PAGES`` pages; every pypdf failure becomes one ``Rejected`` line."""
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    quiet = logging.getLogger("pypdf")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # pypdf logs each repaired xref; a bad file is one line, not twenty
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = PdfReader(fh, strict=False)
            if reader.is_encrypted and not _decrypted(reader):
                raise Rejected("encrypted PDF (password-protected): its text cannot be read; "
                               "save an unprotected copy and ingest that")
            pages = list(reader.pages[:MAX_PAGES])
            if not pages:
                raise Rejected("PDF has no pages")
            sizes: list[tuple[float, str]] = []
            first = pages[0].extract_text(visitor_text=_size_visitor(sizes))
            text = "\n".join([first] + [p.extract_text() for p in pages[1:]])
            title, author = _metadata(reader)
            return PageText(text, _largest(sizes), title, author)
    except Rejected:
        raise
    except (FileNotDecryptedError, DependencyError):
        raise Rejected("encrypted PDF: its text cannot be read; save an unprotected copy and ingest that")
    except (PdfReadError, RecursionError, MemoryError) as exc:
        raise Rejected(f"corrupt or truncated PDF ({_one_line(exc)})")
    except Exception as exc:  # pypdf raises plain errors (KeyError, ValueError…) on damaged files
        raise Rejected(f"corrupt or unreadable PDF ({type(exc).__name__}: {_one_line(exc)})")
    finally:
        quiet.setLevel(level)


def _metadata(reader) -> tuple[str, str]:
    """The document-information title and author ('' each when absent or unreadable: the pages
    can still be read when only the metadata is damaged)."""
    try:
        meta = reader.metadata or {}
        return str(meta.get("/Title") or ""), str(meta.get("/Author") or "")
    except Exception:
        return "", ""


def _decrypted(reader) -> bool:
    """Open a PDF locked only against editing (empty user password); False if it needs a password."""
    try:
        return bool(reader.decrypt(""))
    except Exception:
        return False


def _one_line(exc: BaseException) -> str:
    text = collapse_ws(str(exc)) or type(exc).__name__
    return text[:160]


def _size_visitor(sizes: list[tuple[float, str]]):
    """A pypdf text visitor recording (font size on the page, text) of upright text runs.

    The size is the font size times the vertical scale of the text matrix and the current
    transformation (LaTeX sets 1 pt fonts scaled by the matrix). Rotated runs are skipped: the
    arXiv stamp on the margin is set larger than the title.
    """

    def visit(text, cm, tm, font_dict, font_size) -> None:
        # the text-space → page matrix is tm × cm; only its linear part matters here
        a, b = tm[0] * cm[0] + tm[1] * cm[2], tm[0] * cm[1] + tm[1] * cm[3]
        c, d = tm[2] * cm[0] + tm[3] * cm[2], tm[2] * cm[1] + tm[3] * cm[3]
        if not text.strip() or abs(b) > 1e-3 * abs(a or 1) or abs(c) > 1e-3 * abs(d or 1):
            return
        sizes.append((round(float(font_size) * abs(d or 1.0), 1), text))

    return visit


def _largest(sizes: list[tuple[float, str]]) -> list[str]:
    """The first run of text set in the page's largest font (the title, on a paper's first page)."""
    wordy = [s for s, t in sizes if re.search(r"[A-Za-z]{2}", t)]
    if not wordy:
        return []
    top = max(wordy)
    run: list[str] = []
    for size, text in sizes:
        if size >= top - 0.5:
            run.append(text)
        elif run and text.strip():
            break
    return run


def clean_page_text(text: str) -> str:
    """Ligatures unfolded (NFKC), soft hyphens and line-end hyphenation joined; lines kept."""
    text = unicodedata.normalize("NFKC", text).replace("\r", "\n")
    return _HYPHEN_BREAK.sub(r"\1", text).replace("\u00ad", "")


def _heading_rest(line: str) -> str | None:
    """The text after an abstract heading on this line ('' for the heading alone), or None.

    "Abstract", "ABSTRACT We …", "Abstract. We …", "Abstract—We …" are headings; a title or a
    sentence that starts with the word ("Abstract Meaning Representation for …") is not.
    """
    m = _ABSTRACT_HEAD.match(line)
    if not m:
        return None
    word, separator, rest = m.groups()
    return rest if not rest or separator or word.isupper() else None


def find_abstract(text: str) -> tuple[str, int, int] | None:
    """(abstract, line of its heading, line after it) from cleaned page text, or None."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        rest = _heading_rest(line)
        if rest is None:
            continue
        body = [rest]
        end = i + 1
        while end < len(lines) and not _END_HEAD.match(lines[end]):
            body.append(lines[end])
            end += 1
        abstract = _bounded(collapse_ws(" ".join(body)))
        if len(abstract.split()) >= MIN_ABSTRACT_WORDS:
            return abstract, i, end
    return None


def _bounded(abstract: str) -> str:
    """An abstract that ran on with no heading after it, cut at the last sentence end in bounds."""
    if len(abstract) <= MAX_ABSTRACT_CHARS:
        return abstract
    cut = abstract[:MAX_ABSTRACT_CHARS]
    return cut[: cut.rfind(". ") + 1] or cut


def plausible_title(title: str) -> bool:
    """A metadata title that names the paper (not a file name, a tool's default or a placeholder)."""
    title = collapse_ws(title)
    letters = sum(ch.isalpha() for ch in title)
    return (8 <= len(title) <= 300 and len(title.split()) >= 2 and letters >= len(title) / 2
            and not _JUNK_TITLE.search(title))


def _title(pages: PageText, before_abstract: list[str]) -> str:
    if plausible_title(pages.meta_title):
        return collapse_ws(pages.meta_title)
    big = collapse_ws(" ".join(pages.big_lines))
    if 2 <= len(big.split()) and len(big) <= 300:
        return big
    for line in before_abstract:
        line = collapse_ws(line)
        if len(line.split()) >= 2 and not _ARXIV_STAMP.search(line):
            return line
    return ""


def _authors(meta_author: str) -> list[str]:
    parts = re.split(r"\s*(?:;|,|\band\b|&)\s*", collapse_ws(meta_author))
    return [p for p in parts if len(p.split()) >= 2 and not re.search(r"\d|@", p)]


def paper_from_pages(pages: PageText, source: Source) -> Paper:
    """The paper on these pages, or ``Rejected`` when no abstract (or no title) is found."""
    text = clean_page_text(pages.text)
    found = find_abstract(text)
    if found is None:
        why = "no readable text" if not text.strip() else "no \"Abstract\" heading followed by a paragraph"
        raise Rejected(f"no abstract found on the first {MAX_PAGES} pages ({why}; scanned or image-only PDF?)")
    abstract, head_line, end_line = found
    lines = text.split("\n")
    title = _title(pages, lines[:head_line])
    if not title:
        raise Rejected("no title found on the first page (and no title in the PDF's metadata)")
    problem = text_problem(title, abstract)
    if problem:
        raise Rejected(problem)
    stamp = _ARXIV_STAMP.search(text)
    doi = _DOI.search("\n".join(lines[:end_line]))
    return Paper(
        title=title,
        abstract=abstract,
        authors=_authors(pages.meta_author),
        date=iso_date(stamp.group(3)) if stamp else None,
        categories=[stamp.group(2)] if stamp else [],
        arxiv_id=stamp.group(1) if stamp else None,
        doi=doi.group(1).rstrip(".,;)") if doi else None,
        sources=[source],
    )
