"""Read paper records (title + abstract, plus metadata when present) from input files.

Formats, detected by content (the extension is only a hint):

* a scraped "daily papers" page saved as text: site boilerplate and a date line ("Jul 4")
  at the top, then title / abstract pairs, either separated by blank lines or one per
  line with no blank lines at all;
* JSON Lines (one object per line), or a ``.json`` file holding a list of objects;
* CSV / TSV with a header row.

Records (JSON objects, CSV rows) need a title and an abstract under one of the common
field names in ``TITLE_FIELDS`` / ``ABSTRACT_FIELDS`` (case-insensitive). The arXiv
metadata snapshot fields are understood too: authors (``authors_parsed`` preferred),
date, categories, arXiv id, DOI and URL are kept.

Nothing here raises for bad input: problems come back as ``ReadError``s and every good
record of a file is still returned. An error with ``whole_file=True`` means the file was
rejected whole and no paper was read from it.

Only the standard library is used, so importing this module is cheap.
"""

from __future__ import annotations

import ast
import codecs
import csv
import json
import os
import re
from datetime import date as _date
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator

from ingest.records import Paper, ReadError, Source, clean_arxiv_id, collapse_ws

__all__ = ["SUPPORTED", "EXTENSIONS", "read_file", "read_paths"]

SUPPORTED = (
    "daily-papers page text (.txt); JSON Lines (.jsonl) or a JSON list (.json) of objects; "
    "CSV/TSV (.csv, .tsv) with a header row. Records need a title and an abstract "
    "(title/titles/paper_title/name and abstract/abstracts/summary/summaries/text/description); "
    "arXiv metadata snapshot fields (authors, categories, id, doi, update_date) are kept"
)

#: Extensions picked up when a directory is expanded (files named explicitly are always read).
EXTENSIONS = frozenset({".txt", ".jsonl", ".ndjson", ".json", ".csv", ".tsv"})

TITLE_FIELDS = ("title", "titles", "paper_title", "name")
ABSTRACT_FIELDS = ("abstract", "abstracts", "summary", "summaries", "text", "description")
_DATE_FIELDS = ("published", "date", "published_date", "publication_date", "update_date", "updated")
_CATEGORY_FIELDS = ("categories", "category", "terms")
_ID_FIELDS = ("arxiv_id", "id", "entry_id")
_URL_FIELDS = ("url", "link")

MAX_TITLE_CHARS = 1_000
MAX_ABSTRACT_CHARS = 20_000
MAX_LINE_BYTES = 1_000_000  # longer physical lines are skipped with an error, never held in memory
MAX_JSON_DOCUMENT_BYTES = 200_000_000  # a .json list is parsed in one go; beyond this use JSON Lines

_SNIFF_BYTES = 64 * 1024
_CHUNK = 1 << 20

_BINARY_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a zip archive (or .xlsx/.docx)"),
    (b"\x1f\x8b", "gzip-compressed"),
    (b"BZh", "bzip2-compressed"),
    (b"\xfd7zXZ\x00", "xz-compressed"),
    (b"SQLite format 3\x00", "an SQLite database"),
)


# --------------------------------------------------------------------------- public API


def read_file(path: str | Path) -> tuple[list[Paper], list[ReadError]]:
    """Read one file. Returns the papers read and the problems found (never raises for bad input)."""
    p = Path(path)
    reader = _FileReader(p)
    try:
        reader.run()
    except OSError as exc:
        reader.fail(f"cannot read file: {exc.strerror or exc}")
    except Exception as exc:  # a reader bug must not stop a whole ingest run
        reader.fail(f"could not be read ({type(exc).__name__}: {exc})")
    return reader.papers, reader.errors


def read_paths(paths: Iterable[str | Path]) -> Iterator[tuple[Path, list[Paper], list[ReadError]]]:
    """Read files and directories, yielding ``(file, papers, errors)`` per file.

    Directories are expanded recursively, in name order, skipping hidden files and folders
    and files whose extension is not one of ``EXTENSIONS``. A missing path or a directory
    without any supported file yields one whole-file error for that path.
    """
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files = _expand_dir(p)
            if not files:
                exts = ", ".join(sorted(EXTENSIONS))
                yield p, [], [_whole(p, f"no supported files in directory (looked for {exts})")]
            for f in files:
                papers, errors = read_file(f)
                yield f, papers, errors
        else:
            papers, errors = read_file(p)
            yield p, papers, errors


def _expand_dir(root: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.startswith(".") and Path(name).suffix.lower() in EXTENSIONS:
                found.append(Path(dirpath) / name)
    return sorted(found, key=lambda f: f.relative_to(root).parts)


def _whole(path: Path, message: str, line: int | None = None) -> ReadError:
    return ReadError(path=str(path), message=message, line=line, whole_file=True)


# --------------------------------------------------------------------------- one file


class _NotThisFormat(Exception):
    """Raised by a layout reader when the content does not look like its format."""


class _FileReader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.label = str(path)
        self.source = Source(name=path.name)
        self.papers: list[Paper] = []
        self.errors: list[ReadError] = []
        self._records = 0
        self._records_without_fields = 0
        self._keys_seen: dict[str, None] = {}

    # ---- bookkeeping

    def fail(self, message: str, line: int | None = None) -> None:
        """Reject the whole file: drop anything read so far and keep a single error."""
        self.papers = []
        self.errors = [_whole(self.path, message, line)]

    def error(self, message: str, line: int | None = None, record: int | None = None) -> None:
        self.errors.append(ReadError(path=self.label, message=message, line=line, record=record))

    def add_record(self, raw: dict, line: int | None = None, record: int | None = None) -> None:
        """Turn one JSON object / CSV row into a Paper, or record why not."""
        self._records += 1
        fields: dict[str, Any] = {}
        for key, value in raw.items():
            fields.setdefault(_norm_key(key), value)
        for key in fields:
            if len(self._keys_seen) < 50:
                self._keys_seen.setdefault(key, None)
        result = _paper_from_fields(fields, self.source)
        if isinstance(result, Paper):
            self.papers.append(result)
            return
        if result == _NO_FIELDS:
            self._records_without_fields += 1
            keys = ", ".join(list(fields)[:20]) or "none"
            result = f"no title or abstract field (fields: {keys})"
        self.error(result, line=line, record=record)

    def reject_if_no_known_fields(self) -> None:
        """If not one record had a title or abstract field, the file is in a layout we don't know."""
        if not self.papers and self._records and self._records_without_fields == self._records:
            keys = ", ".join(self._keys_seen) or "none"
            self.fail(
                f"no record has a title or abstract field (fields found: {keys}); "
                f"expected a title field ({', '.join(TITLE_FIELDS)}) "
                f"and an abstract field ({', '.join(ABSTRACT_FIELDS)})"
            )

    # ---- driver

    def run(self) -> None:
        if not self.path.exists():
            self.fail("no such file or directory")
            return
        if self.path.is_dir():
            self.fail("is a directory (pass it to read_paths to read the files in it)")
            return
        with open(self.path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            head = fh.read(_SNIFF_BYTES)
            if not head:
                self.fail("file is empty")
                return
            if not head.strip() and size <= len(head):
                self.fail("file is empty (whitespace only)")
                return
            problem = _binary_problem(head)
            if problem:
                self.fail(problem)
                return
            fh.seek(0)
            if self._reject_bad_bytes(fh):
                return
            text = codecs.getincrementaldecoder("utf-8")().decode(head, final=False).lstrip("\ufeff")
            self._dispatch(fh, text, size)

    def _dispatch(self, fh: BinaryIO, head: str, size: int) -> None:
        ext = self.path.suffix.lower()
        json_ext = ext in (".json", ".jsonl", ".ndjson")
        start = head.lstrip()[:1]
        if start == "[" or (start == "{" and ext == ".json"):
            # lenient: not one JSON document -> try JSON Lines ("{") or the text layouts ("[" in a .txt)
            if self._read_json_document(fh, size, lenient=(start == "{" or not json_ext)):
                return
        if start == "{" or (start == "[" and json_ext):
            self._read_json_lines(fh)
            return
        first_line = head.split("\n", 1)[0].rstrip("\r")
        delimiter, columns = _csv_header(first_line, ext)
        if delimiter is not None:
            self._read_csv(fh, delimiter)
            return
        if ext in (".csv", ".tsv"):
            found = ", ".join(repr(c) for c in columns[:30]) or "none"
            self.fail(
                f"no title or abstract column in the header row (columns found: {found}); "
                f"a title column is named one of {', '.join(TITLE_FIELDS)} and an abstract "
                f"column one of {', '.join(ABSTRACT_FIELDS)}"
            )
            return
        try:
            self._read_page(fh)
        except _NotThisFormat as exc:
            detail = f" ({exc})" if str(exc) else ""
            self.fail(f"unknown layout{detail}; supported: {SUPPORTED}")

    # ---- byte-level checks

    def _reject_bad_bytes(self, fh: BinaryIO) -> bool:
        """Strictly decode the whole file once (streaming). Rejects the file on the first bad byte."""
        decoder = codecs.getincrementaldecoder("utf-8")()
        offset = 0
        while True:
            chunk = fh.read(_CHUNK)
            if not chunk:
                break
            nul = chunk.find(b"\x00")
            if nul >= 0:
                pos = offset + nul
                self.fail(f"binary file (NUL byte at byte offset {pos:,}), not text", _line_at(fh, pos))
                return True
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                pos = offset - pending + exc.start
                self._fail_encoding(fh, pos)
                return True
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            self._fail_encoding(fh, offset - len(decoder.getstate()[0]))
            return True
        fh.seek(0)
        return False

    def _fail_encoding(self, fh: BinaryIO, pos: int) -> None:
        fh.seek(pos)
        byte = fh.read(1)
        line = _line_at(fh, pos)
        shown = f"0x{byte[0]:02x}" if byte else "(truncated character)"
        self.fail(
            f"not UTF-8 text: cannot decode byte {shown} at byte offset {pos:,}; "
            "file rejected, re-save it as UTF-8",
            line,
        )

    # ---- JSON

    def _read_json_document(self, fh: BinaryIO, size: int, lenient: bool) -> bool:
        """Parse a whole JSON document. Returns False (lenient mode) when it is not one document."""
        if size > MAX_JSON_DOCUMENT_BYTES:
            if lenient:
                return False
            self.fail(
                f"JSON document is {size:,} bytes (limit {MAX_JSON_DOCUMENT_BYTES:,}); "
                "convert it to JSON Lines (one object per line)"
            )
            return True
        fh.seek(0)
        try:
            doc = json.loads(fh.read().decode("utf-8-sig"))
        except json.JSONDecodeError as exc:
            if lenient:
                return False
            self.fail(f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", exc.lineno)
            return True
        except RecursionError:
            if lenient:
                return False
            self.fail("malformed JSON: nested too deeply")
            return True
        finally:
            fh.seek(0)
        records = _json_records(doc)
        if records is None:
            if lenient:
                return False
            self.fail(f"expected a JSON list of objects, found {_json_type(doc)}")
            return True
        if not records:
            self.fail("JSON list is empty: no records")
            return True
        for i, item in enumerate(records, 1):
            if isinstance(item, dict):
                self.add_record(item, record=i)
            else:
                self.error(f"expected a JSON object, found {_json_type(item)}", record=i)
        self.reject_if_no_known_fields()
        return True

    def _read_json_lines(self, fh: BinaryIO) -> None:
        fh.seek(0)
        for lineno, text, nbytes in _iter_lines(fh):
            if text is None:
                self.error(_too_long(nbytes), line=lineno)
                continue
            text = text.strip()
            if not text:
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                self.error(f"malformed JSON: {exc.msg} (column {exc.colno})", line=lineno)
                continue
            except RecursionError:
                self.error("malformed JSON: nested too deeply", line=lineno)
                continue
            if isinstance(obj, dict):
                self.add_record(obj, line=lineno)
            else:
                self.error(f"expected a JSON object, found {_json_type(obj)}", line=lineno)
        self.reject_if_no_known_fields()

    # ---- CSV / TSV

    def _read_csv(self, fh: BinaryIO, delimiter: str) -> None:
        fh.seek(0)
        overlong: list[int] = []

        def lines() -> Iterator[str]:
            for lineno, text, nbytes in _iter_lines(fh):
                if text is None:
                    # keep line numbering intact; the row holding this line is skipped below
                    overlong.append(lineno)
                    self.error(_too_long(nbytes), line=lineno)
                    yield "\n"
                else:
                    yield text

        reader = csv.reader(lines(), delimiter=delimiter, strict=True)
        try:
            header = next(reader)
        except (csv.Error, StopIteration) as exc:
            self.fail(f"cannot read the CSV header row: {exc or 'no header'}", 1)
            return
        columns = [_norm_key(c) for c in header]
        title_col = next((c for c in TITLE_FIELDS if c in columns), None)
        abstract_col = next((c for c in ABSTRACT_FIELDS if c in columns), None)
        if not title_col or not abstract_col:
            missing = "title" if not title_col else "abstract"
            names = TITLE_FIELDS if not title_col else ABSTRACT_FIELDS
            found = ", ".join(repr(c) for c in header[:30])
            self.fail(
                f"no {missing} column in the header row (columns found: {found}); "
                f"expected one of {', '.join(names)}",
                1,
            )
            return
        record = 0
        while True:
            start = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                record += 1
                end = reader.line_num
                span = f" (row spans lines {start}-{end})" if end > start else ""
                self.error(f"malformed CSV row: {_csv_message(exc)}{span}", line=start, record=record)
                continue
            end = reader.line_num
            if overlong and any(start <= n <= end for n in overlong):
                if row and any(c.strip() for c in row):
                    record += 1
                continue  # already reported as an over-long line
            if not any(c.strip() for c in row):
                continue  # blank line
            record += 1
            if len(row) != len(header):
                hint = " (a delimiter inside an unquoted field?)" if len(row) > len(header) else ""
                self.error(
                    f"malformed CSV row: expected {len(header)} fields, found {len(row)}{hint}",
                    line=start,
                    record=record,
                )
                continue
            self.add_record(dict(zip(columns, row)), line=start, record=record)
        if record == 0:
            self.fail("no records: the file has only a header row")

    # ---- daily-papers page

    def _read_page(self, fh: BinaryIO) -> None:
        fh.seek(0)
        lines: list[tuple[int, str | None]] = []
        overlong: list[tuple[int, int]] = []
        for lineno, text, nbytes in _iter_lines(fh):
            if text is None:
                overlong.append((lineno, nbytes))
                lines.append((lineno, None))
                self.error(_too_long(nbytes), line=lineno)
                continue
            body = text[:-1] if text.endswith("\n") else text
            body = body[:-1] if body.endswith("\r") else body
            # lone CRs (old Mac line ends) break lines too
            lines.extend((lineno, part) for part in body.split("\r"))
        page = _parse_page(lines)
        if overlong and not page.units:
            lineno, nbytes = overlong[0]
            self.fail(
                f"nothing to read: every non-blank line is too long (line {lineno} is {nbytes:,} bytes, "
                f"limit {MAX_LINE_BYTES:,} bytes per line)",
                lineno,
            )
            return
        looks_like_page = page.markers > 0 or (len(page.papers) >= 2 and len(page.papers) > len(page.errors))
        if not looks_like_page:
            raise _NotThisFormat("not a daily-papers page, JSON or CSV with a header row")
        if not page.papers and not page.errors:
            self.fail("daily-papers page without any paper")
            return
        for message, lineno in page.errors:
            self.error(message, line=lineno)
        for title, abstract, lineno, page_date in page.papers:
            problem = _text_problem(title, abstract)
            if problem:
                self.error(problem, line=lineno)
                continue
            self.papers.append(
                Paper(
                    title=title,
                    abstract=abstract,
                    date=_iso_from_page_date(page_date),
                    sources=[Source(name=self.path.name, date=page_date)],
                )
            )


# --------------------------------------------------------------------------- line reading


def _iter_lines(fh: BinaryIO) -> Iterator[tuple[int, str | None, int]]:
    """Yield ``(line_number, text, byte_length)`` per physical line (text keeps its newline).

    Lines longer than MAX_LINE_BYTES are skipped in chunks and yielded with ``text=None``.
    The file has been validated as UTF-8 already, so decoding a whole line cannot fail.
    """
    lineno = 0
    while True:
        raw = fh.readline(MAX_LINE_BYTES + 1)
        if not raw:
            return
        lineno += 1
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            nbytes = len(raw)
            while True:
                more = fh.readline(_CHUNK)
                nbytes += len(more)
                if not more or more.endswith(b"\n"):
                    break
            yield lineno, None, nbytes
            continue
        text = raw.decode("utf-8", errors="replace")
        if lineno == 1:
            text = text.lstrip("\ufeff")
        yield lineno, text, len(raw)


def _too_long(nbytes: int) -> str:
    return f"line is {nbytes:,} bytes long (limit {MAX_LINE_BYTES:,} bytes per line); skipped"


def _line_at(fh: BinaryIO, pos: int) -> int:
    """1-based line number of byte offset ``pos``."""
    fh.seek(0)
    newlines = 0
    remaining = pos
    while remaining > 0:
        chunk = fh.read(min(_CHUNK, remaining))
        if not chunk:
            break
        newlines += chunk.count(b"\n")
        remaining -= len(chunk)
    return newlines + 1


def _binary_problem(head: bytes) -> str | None:
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16 text is not supported; re-save the file as UTF-8"
    for magic, what in _BINARY_MAGIC:
        if head.startswith(magic):
            return f"binary file ({what}), not text"
    return None


# --------------------------------------------------------------------------- records


_NO_FIELDS = "<no title or abstract field>"  # sentinel result of _paper_from_fields


def _norm_key(key: Any) -> str:
    return re.sub(r"[\s\-]+", "_", str(key).strip().lstrip("\ufeff").strip().lower())


def _as_text(value: Any) -> str | None:
    """Scalar -> string; None -> ''; list/dict -> None (not usable as text)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _pick_text(fields: dict[str, Any], names: tuple[str, ...]) -> tuple[str | None, str]:
    """First present field among ``names`` with text: returns (field name or None, text)."""
    present = None
    for name in names:
        if name in fields:
            text = _as_text(fields[name])
            if text is None:
                present = present or name
                continue
            if text.strip():
                return name, text
            present = present or name
    return present, ""


def _text_problem(title: str, abstract: str) -> str | None:
    if len(title) > MAX_TITLE_CHARS:
        return f"title is {len(title):,} characters long (limit {MAX_TITLE_CHARS:,}); skipped"
    if len(abstract) > MAX_ABSTRACT_CHARS:
        return f"abstract is {len(abstract):,} characters long (limit {MAX_ABSTRACT_CHARS:,}); skipped"
    return None


def _paper_from_fields(fields: dict[str, Any], source: Source) -> Paper | str:
    title_field, title = _pick_text(fields, TITLE_FIELDS)
    abstract_field, abstract = _pick_text(fields, ABSTRACT_FIELDS)
    if title_field is None and abstract_field is None:
        return _NO_FIELDS
    title, abstract = collapse_ws(title), collapse_ws(abstract)
    if title_field is None:
        return f"no title (expected a field named {', '.join(TITLE_FIELDS)})"
    if abstract_field is None:
        return f"no abstract (expected a field named {', '.join(ABSTRACT_FIELDS)})"
    for what, field, text in (("title", title_field, title), ("abstract", abstract_field, abstract)):
        if not text:
            if _as_text(fields[field]) is None:
                return f"{what} is not text (field {field!r} holds {_json_type(fields[field])})"
            return f"empty {what} (field {field!r})"
    problem = _text_problem(title, abstract)
    if problem:
        return problem
    arxiv_id = None
    for name in _ID_FIELDS:
        arxiv_id = _arxiv_id(fields.get(name))
        if arxiv_id:
            break
    return Paper(
        title=title,
        abstract=abstract,
        authors=_authors(fields),
        date=next((d for d in (_iso_date(fields.get(n)) for n in _DATE_FIELDS) if d), None),
        categories=_categories(fields),
        arxiv_id=arxiv_id,
        doi=_doi(fields.get("doi")),
        url=next((u for u in (_url(fields.get(n)) for n in _URL_FIELDS) if u), None),
        sources=[source],
    )


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _json_records(doc: Any) -> list | None:
    """The records of a JSON document: a list, a single record, or a list under some key."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        keys = {_norm_key(k) for k in doc}
        if keys & set(TITLE_FIELDS + ABSTRACT_FIELDS):
            return [doc]
        for value in doc.values():
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                return value
    return None


def _csv_header(line: str, ext: str) -> tuple[str | None, list[str]]:
    """Pick the delimiter under which the header row names a title or abstract column."""
    order = ["\t", ",", ";", "|"] if ext == ".tsv" else [",", "\t", ";", "|"]
    known = set(TITLE_FIELDS + ABSTRACT_FIELDS)
    first: list[str] = []
    for delimiter in order:
        try:
            cells = next(csv.reader([line], delimiter=delimiter))
        except (csv.Error, StopIteration):
            continue
        first = first or cells
        if known & {_norm_key(c) for c in cells}:
            return delimiter, cells
    return None, first


def _csv_message(exc: csv.Error) -> str:
    msg = str(exc)
    if "field larger than field limit" in msg:
        return f"a field is longer than {csv.field_size_limit():,} characters"
    if "unexpected end of data" in msg:
        return "unterminated quoted field at end of file"
    if "expected after" in msg:
        return f"{msg} (unterminated or stray quote?)"
    return msg


# --------------------------------------------------------------------------- metadata fields


_MONTHS = {
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
_MONTH_RE = "|".join(sorted(_MONTHS, key=len, reverse=True))


def _literal(text: str) -> Any:
    """Python-literal lists such as "['cs.CV', 'cs.LG']"; None when it is not one."""
    if len(text) > 100_000:
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _arxiv_id(raw: Any) -> str | None:
    text = _as_text(raw)
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


def _authors(fields: dict[str, Any]) -> list[str]:
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
    for part in re.split(r"\s*(?:[,;&]|\band\b)\s*", text):
        part = re.sub(r"\bet al\.?$", "", part).strip(" .") if "et al" in part else part.strip()
        if not part:
            continue
        if names and re.fullmatch(r"(Jr|Sr|II|III|IV)\.?", part):
            names[-1] += f" {part}"
            continue
        names.append(part)
    return names


def _iso_date(value: Any) -> str | None:
    text = _as_text(value)
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
    elif m := re.search(rf"\b(\d{{1,2}})\s+({_MONTH_RE})\.?\s+(\d{{4}})\b", text, re.I):
        d, mon, y = m.groups()
        mo = _MONTHS[mon.lower()]
    elif m := re.search(rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}}),?\s+(\d{{4}})\b", text, re.I):
        mon, d, y = m.groups()
        mo = _MONTHS[mon.lower()]
    if y is None:
        return None
    try:
        return _date(int(y), int(mo), int(d)).isoformat()
    except ValueError:
        return None


def _categories(fields: dict[str, Any]) -> list[str]:
    for key in _CATEGORY_FIELDS:
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


def _doi(value: Any) -> str | None:
    text = _as_text(value)
    if not text or not text.strip():
        return None
    text = re.sub(r"^(https?://(dx\.)?doi\.org/|doi:)", "", text.strip(), flags=re.I)
    return text.split()[0] if text else None


def _url(value: Any) -> str | None:
    text = _as_text(value)
    if text and re.match(r"https?://\S+$", text.strip()):
        return text.strip()
    return None


# --------------------------------------------------------------------------- daily-papers pages


# site text: dropped wherever it appears, and evidence that the file is such a page
_SITE_TEXT = re.compile(
    r"subscribe|daily papers|trending papers|"
    r"get trending papers in your email inbox(?: once a day)?!?|"
    r"by\s*ak and the research community",
    re.I,
)
# markers and navigation: dropped, but too common to prove anything ("new" badges, counts)
_NOISE = re.compile(r"new|(?:load|show|see) more|previous|next|\d+", re.I)
# site text glued to the first title, e.g. "SubscribePrompt, Translate, ..."
_GLUED_BOILERPLATE = re.compile(
    r"(?i:subscribe|daily papers|by\s*ak and the research community)(?=[A-Z0-9\"'(\[])"
)
_PAGE_DATE = re.compile(rf"(?:{_MONTH_RE})\.?\s+\d{{1,2}}(?:,?\s+\d{{4}})?", re.I)
_SENTENCE_END = re.compile(r"[a-z0-9)\]%][.!]\s+[A-Z(]")
_TITLE_JOINERS = re.compile(
    r"(?:[:\-–—,&(/]|\b(?:and|or|of|for|the|with|in|on|to|a|an|via|from|by))$", re.I
)


class _Unit:
    __slots__ = ("text", "lineno", "date", "abstract_like")

    def __init__(self, text: str, lineno: int, date: str | None) -> None:
        self.text = text
        self.lineno = lineno
        self.date = date
        self.abstract_like = _looks_like_abstract(text)


class _Page:
    def __init__(self) -> None:
        self.markers = 0
        self.units: list[_Unit] = []
        self.papers: list[tuple[str, str, int, str | None]] = []
        self.errors: list[tuple[str, int]] = []


def _looks_like_abstract(text: str) -> bool:
    """Abstracts are long or several sentences; titles are short (and may end in "?" or "...")."""
    if len(text) > 300 or len(_SENTENCE_END.findall(text)) >= 2:
        return True
    return text.endswith(".") and not text.endswith("..") and len(text.split()) >= 25


def _is_page_date(text: str) -> bool:
    return bool(_PAGE_DATE.fullmatch(text))


def _iso_from_page_date(page_date: str | None) -> str | None:
    """Only a date line that carries a year ("Jul 4, 2024") gives the paper a date."""
    if page_date and re.search(r"\d{4}$", page_date):
        return _iso_date(page_date)
    return None


def _parse_page(lines: list[tuple[int, str | None]]) -> _Page:
    page = _Page()
    # 1. drop boilerplate and date lines, group the rest into blocks (runs of non-blank lines)
    blocks: list[list[tuple[int, str, str | None]]] = [[]]
    current_date: str | None = None
    for lineno, raw in lines:
        text = collapse_ws(raw) if raw is not None else ""
        if not text or raw is None:
            blocks.append([])
            continue
        if _SITE_TEXT.fullmatch(text) or _NOISE.fullmatch(text):
            page.markers += bool(_SITE_TEXT.fullmatch(text))
            blocks.append([])
            continue
        if _is_page_date(text):
            page.markers += 1
            current_date = text
            blocks.append([])
            continue
        glued = _GLUED_BOILERPLATE.match(text)
        if glued:
            page.markers += 1
            text = text[glued.end():].strip()
        blocks[-1].append((lineno, text, current_date))

    # 2. blocks -> units. A block without any long line is one hard-wrapped title or abstract;
    #    a block mixing short and long lines is the one-line-each layout: one unit per line.
    for block in blocks:
        if not block:
            continue
        if len(block) > 1 and not any(_looks_like_abstract(t) for _, t, _ in block):
            lineno, _, date = block[0]
            page.units.append(_Unit(" ".join(t for _, t, _ in block), lineno, date))
        else:
            page.units.extend(_Unit(t, n, d) for n, t, d in block)

    # 3. units -> title/abstract pairs, by structure: a title, then its abstract
    title: list[_Unit] = []
    last: list | None = None  # [title, abstract parts, lineno, date] of the previous paper

    def finish(abstract: _Unit) -> None:
        nonlocal title, last
        last = [" ".join(u.text for u in title), [abstract.text], title[0].lineno, title[0].date]
        page.papers.append(last)  # type: ignore[arg-type]
        title = []

    units = page.units
    for i, unit in enumerate(units):
        nxt = units[i + 1] if i + 1 < len(units) else None
        if not title:
            if not unit.abstract_like:
                title = [unit]
            elif last is not None:
                last[1].append(unit.text)  # a further paragraph / wrapped part of the abstract
            else:
                page.errors.append((f"abstract without a title: {_clip(unit.text)}", unit.lineno))
            continue
        if unit.abstract_like:
            finish(unit)
        elif nxt is not None and nxt.abstract_like:
            # title, short line, abstract: a title wrapped over two lines, or a title with no abstract
            prev = title[-1].text
            if _TITLE_JOINERS.search(prev) or unit.text[:1].islower():
                title.append(unit)
            else:
                page.errors.append((f"title without an abstract: {_clip(prev)}", title[0].lineno))
                title = [unit]
        elif len(unit.text.split()) >= 8:
            finish(unit)  # a short abstract between two titles
        else:
            page.errors.append((f"title without an abstract: {_clip(title[-1].text)}", title[0].lineno))
            title = [unit]
    if title:
        page.errors.append(
            (f"title without an abstract: {_clip(' '.join(u.text for u in title))}", title[0].lineno)
        )
    page.papers = [(t, " ".join(parts), n, d) for t, parts, n, d in page.papers]  # type: ignore[misc]
    return page


def _clip(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")
