"""JSON: JSON Lines (one object per line), or one document holding a list of objects.

A document may also be a single record, or an object with the list under some key
(``{"papers": [...]}``). A ``[`` at the start of a file that is not named .json/.jsonl may just
be a page whose first title starts with a bracket ("[Re] A Reproduction …"): if it does not
parse, the next format gets the file.
"""

from __future__ import annotations

import json
from typing import Any

from ingest.records import Paper, ReadError

from .fields import ABSTRACT_FIELDS, TITLE_FIELDS, RecordSink, json_type, norm_key
from .registry import NotThisFormat
from .textfile import Rejected, TextFile, too_long

MAX_JSON_DOCUMENT_BYTES = 200_000_000  # a .json list is parsed in one go; beyond this use JSON Lines


class JsonFormat:
    name = "json"
    extensions = (".jsonl", ".ndjson", ".json")
    description = "JSON Lines (.jsonl) or a JSON list (.json) of objects"

    def claims(self, src: TextFile) -> bool:
        return src.head.lstrip()[:1] in ("[", "{")

    def read(self, src: TextFile) -> tuple[list[Paper], list[ReadError]]:
        sink = RecordSink(src)
        start = src.head.lstrip()[:1]
        if start == "[" or src.ext == ".json":
            lenient = start == "{" or src.ext not in self.extensions
            if _read_document(src, sink, lenient):
                return sink.result()
            if start == "[":
                raise NotThisFormat("not a daily-papers page, JSON or CSV with a header row")
        _read_lines(src, sink)
        return sink.result()


def _loads(text: str) -> tuple[Any, str | None]:
    """Parse JSON; returns (value, None) or (None, a one-line reason). Raw control characters
    inside strings are accepted (they are cleaned from the record later)."""
    try:
        return json.loads(text, strict=False), None
    except json.JSONDecodeError as exc:
        return None, f"malformed JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
    except RecursionError:
        return None, "malformed JSON: nested too deeply"
    except ValueError as exc:  # e.g. an integer over Python's digit limit
        return None, f"malformed JSON: {exc}"


def _read_document(src: TextFile, sink: RecordSink, lenient: bool) -> bool:
    """Parse the whole file as one document. Returns False (lenient mode) when it is not one."""
    if src.size > MAX_JSON_DOCUMENT_BYTES:
        if lenient:
            return False
        raise Rejected(
            f"JSON document is {src.size:,} bytes (limit {MAX_JSON_DOCUMENT_BYTES:,}); "
            "convert it to JSON Lines (one object per line)"
        )
    text = src.read_text()
    try:
        doc, problem = _loads(text)
    except MemoryError:
        doc, problem = None, "malformed JSON: too large to parse"
    if problem:
        if lenient:
            return False
        line = _error_line(text, problem)
        raise Rejected(problem, line)
    records = _json_records(doc)
    if records is None:
        if lenient:
            return False
        raise Rejected(f"expected a JSON list of objects, found {json_type(doc)}")
    if not records:
        raise Rejected("JSON list is empty: no records")
    for i, item in enumerate(records, 1):
        if isinstance(item, dict):
            sink.add_record(item, record=i)
        else:
            sink.error(f"expected a JSON object, found {json_type(item)}", record=i)
    sink.reject_if_no_known_fields()
    return True


def _error_line(text: str, problem: str) -> int | None:
    """The line a document's parse error points at (for the error's ``file:line``)."""
    marker = "(line "
    if marker not in problem:
        return None
    return int(problem.split(marker, 1)[1].split(",", 1)[0])


def _read_lines(src: TextFile, sink: RecordSink) -> None:
    for lineno, text, length in src.lines():
        if text is None:
            sink.error(too_long(length), line=lineno)
            continue
        text = text.strip()
        if not text:
            continue
        obj, problem = _loads(text)
        if problem:
            sink.error(problem.replace("(line 1, column", "(column"), line=lineno)
        elif isinstance(obj, dict):
            sink.add_record(obj, line=lineno)
        else:
            sink.error(f"expected a JSON object, found {json_type(obj)}", line=lineno)
    sink.reject_if_no_known_fields()


def _json_records(doc: Any) -> list | None:
    """The records of a JSON document: a list, a single record, or a list under some key."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        keys = {norm_key(k) for k in doc}
        if keys & set(TITLE_FIELDS + ABSTRACT_FIELDS):
            return [doc]
        for value in doc.values():
            if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
                return value
    return None
