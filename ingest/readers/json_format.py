"""JSON: JSON Lines (one object per line), or one document holding a list of objects.

A document may also be a single record, or an object with the list under some key
(``{"papers": [...]}``). A ``[`` at the start of a file that is not named .json/.jsonl may just
be a page whose first title starts with a bracket ("[Re] A Reproduction …"): if it does not
parse, the next format gets the file.
"""

from __future__ import annotations

import json
import re
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
    cut = None
    if problem:
        salvaged = _salvage_list(text)
        if salvaged is None or (lenient and not any(isinstance(r, dict) for r in salvaged[0])):
            if lenient:
                return False
            raise Rejected(problem, _error_line(text, problem))
        doc, cut = salvaged  # a list cut off (or broken) after some complete records: keep those
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
    if cut is not None:
        sink.error(f"malformed JSON: {cut.msg} (line {cut.lineno}, column {cut.colno}): the list breaks off here; "
                   f"the {len(records)} complete record(s) before it were read", line=cut.lineno,
                   record=len(records) + 1)
    sink.reject_if_no_known_fields()
    return True


def _salvage_list(text: str) -> tuple[list, json.JSONDecodeError] | None:
    """The complete elements of a JSON list that breaks off (a truncated download or copy), and
    the error where it breaks; None when the text is no list or not even its first element is whole."""
    decoder = json.JSONDecoder(strict=False)
    ws = re.compile(r"\s*")
    pos = ws.match(text).end()
    if not text.startswith("[", pos):
        return None
    items: list = []
    pos += 1
    while True:
        pos = ws.match(text, pos).end()
        try:
            item, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            return (items, exc) if items else None
        except (RecursionError, ValueError):
            return None
        items.append(item)
        pos = ws.match(text, pos).end()
        if text.startswith(",", pos):
            pos += 1
        elif not text.startswith("]", pos):  # the cut (or junk) right after a complete element
            return items, json.JSONDecodeError("Expecting ',' delimiter", text, pos)
        else:
            return None  # the list itself is whole: the problem is elsewhere (e.g. data after it)


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
