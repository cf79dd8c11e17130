"""CSV and TSV with a header row naming a title and an abstract column.

The delimiter is the one (``,`` tab ``;`` ``|``) under which the header names a known column.
A bad row is one record error; the rows after it are still read. Quoted fields may span lines.

Fields may be up to ``MAX_FIELD_CHARS`` long (Python's csv default, 131,072, is below what
some exports hold in one cell: a field over it threw the parser out of step and turned the rest
of the field into bogus rows). A row with a longer field is one record error, and reading
resumes after the end of that field.
"""

from __future__ import annotations

import csv
from typing import Iterator

from ingest.records import Paper, ReadError

from .fields import ABSTRACT_FIELDS, TITLE_FIELDS, RecordSink, norm_key
from .textfile import Rejected, TextFile, too_long

MAX_FIELD_CHARS = 10_000_000
# process-wide setting of the csv module: raise it, never lower what someone else set
csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD_CHARS))
_KNOWN = set(TITLE_FIELDS + ABSTRACT_FIELDS)


class CsvFormat:
    name = "csv"
    extensions = (".csv", ".tsv")
    description = "CSV/TSV (.csv, .tsv) with a header row"

    def claims(self, src: TextFile) -> bool:
        """A header naming a known column, or a .csv/.tsv name (then a bad header is its error)."""
        delimiter, _ = _csv_header(_first_line(src), src.ext)
        return delimiter is not None or src.ext in self.extensions

    def read(self, src: TextFile) -> tuple[list[Paper], list[ReadError]]:
        delimiter, columns = _csv_header(_first_line(src), src.ext)
        if delimiter is None:
            found = ", ".join(repr(c) for c in columns[:30]) or "none"
            raise Rejected(
                f"no title or abstract column in the header row (columns found: {found}); "
                f"a title column is named one of {', '.join(TITLE_FIELDS)} and an abstract "
                f"column one of {', '.join(ABSTRACT_FIELDS)}"
            )
        sink = RecordSink(src)
        _CsvRows(src, sink, delimiter).read()
        return sink.result()


def _first_line(src: TextFile) -> str:
    return src.head.split(src.newline, 1)[0].rstrip("\r\n")


class _CsvRows:
    """One pass over the rows; tracks physical line numbers and quote parity for resyncing."""

    def __init__(self, src: TextFile, sink: RecordSink, delimiter: str) -> None:
        self.src, self.sink, self.delimiter = src, sink, delimiter
        self.lineno = 0  # last physical line handed to the csv reader
        self.quotes = 0  # quote characters since the current row started
        self.overlong: list[int] = []
        self.lines = self._lines()

    def _lines(self) -> Iterator[str]:
        for lineno, text, length in self.src.lines():
            self.lineno = lineno
            if text is None:
                # keep line numbering intact; the row holding this line is skipped below
                self.overlong.append(lineno)
                self.sink.error(too_long(length), line=lineno)
                yield self.src.newline
                continue
            self.quotes += text.count('"')
            yield text

    def _skip_rest_of_field(self) -> None:
        """After a field over the cap: drop lines until its closing quote (even quote count)."""
        while self.quotes % 2:
            if next(self.lines, None) is None:
                return

    def read(self) -> None:
        sink = self.sink
        reader = csv.reader(self.lines, delimiter=self.delimiter, strict=True)
        try:
            header = next(reader)
        except (csv.Error, StopIteration) as exc:
            raise Rejected(f"cannot read the CSV header row: {exc or 'no header'}", 1) from None
        columns = [norm_key(c) for c in header]
        title_col = next((c for c in TITLE_FIELDS if c in columns), None)
        abstract_col = next((c for c in ABSTRACT_FIELDS if c in columns), None)
        if not title_col or not abstract_col:
            missing = "title" if not title_col else "abstract"
            names = TITLE_FIELDS if not title_col else ABSTRACT_FIELDS
            found = ", ".join(repr(c) for c in header[:30])
            raise Rejected(
                f"no {missing} column in the header row (columns found: {found}); "
                f"expected one of {', '.join(names)}",
                1,
            )
        record = 0
        while True:
            start = self.lineno + 1
            self.quotes = 0
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                record += 1
                if "field larger than field limit" in str(exc):
                    self._skip_rest_of_field()
                span = f" (row spans lines {start}-{self.lineno})" if self.lineno > start else ""
                sink.error(f"malformed CSV row: {_csv_message(exc)}{span}", line=start, record=record)
                continue
            end = self.lineno
            if self.overlong and any(start <= n <= end for n in self.overlong):
                if row and any(c.strip() for c in row):
                    record += 1
                continue  # already reported as an over-long line
            if not any(c.strip() for c in row):
                continue  # blank line
            record += 1
            if len(row) != len(header):
                hint = " (a delimiter inside an unquoted field?)" if len(row) > len(header) else ""
                sink.error(
                    f"malformed CSV row: expected {len(header)} fields, found {len(row)}{hint}",
                    line=start,
                    record=record,
                )
                continue
            sink.add_record(dict(zip(columns, row)), line=start, record=record)
        if record == 0:
            raise Rejected("no records: the file has only a header row")


def _csv_header(line: str, ext: str) -> tuple[str | None, list[str]]:
    """Pick the delimiter under which the header row names a title or abstract column."""
    order = ["\t", ",", ";", "|"] if ext == ".tsv" else [",", "\t", ";", "|"]
    first: list[str] = []
    for delimiter in order:
        try:
            cells = next(csv.reader([line], delimiter=delimiter))
        except (csv.Error, StopIteration):
            continue
        first = first or cells
        if _KNOWN & {norm_key(c) for c in cells}:
            return delimiter, cells
    return None, first


def _csv_message(exc: csv.Error) -> str:
    msg = str(exc)
    if "field larger than field limit" in msg:
        return f"a field is longer than {MAX_FIELD_CHARS:,} characters (the cap per field); row skipped"
    if "unexpected end of data" in msg:
        return "unterminated quoted field at end of file"
    if "expected after" in msg:
        return f"{msg} (unterminated or stray quote?)"
    return msg
