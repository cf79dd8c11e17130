"""How a paper's record is stored in a segment's records.jsonl: lean, and read back unchanged.

A record (Paper.to_dict() plus its chunks' `passages`) repeats what the segment or the record
itself already holds. Stored lean (segment format 10):
  spans      each passage as [start, end] into the abstract (the chunker cuts the abstract, so
             this is every passage but an empty one of a missing chunk, or one not found in the
             abstract, which stays a string); replaces `passages`
  paper_id   left out: the segment's ids.json holds it
  arxiv_id   left out when the paper id is `arxiv:<arxiv_id>`
  url        left out when it is the arXiv abs page of the arxiv_id (what Paper sets by default)
  None / []  left out (doi, date, authors, ... when unknown)
`decode` restores the same dict (same keys, same order: the Paper fields, then `passages`).
A line without `spans` (format 9, or a record with no passages) is read as it is.
"""

from __future__ import annotations

import json

from ...records import ARXIV_ABS_URL

SPANS = "spans"
LEAN = "lean"  # marks a lean line (so a record that had no passages is lean too)
FIELDS = ("title", "abstract", "paper_id", "authors", "date", "categories", "arxiv_id", "doi", "url", "sources")
EMPTY = ("authors", "categories", "sources")  # default []; the rest None (see _default)
MISSING = "\0"  # a key the record lacked


def _default(key: str, paper_id: str, record: dict):
    """What a left-out key reads as, given the paper id and the keys before it."""
    if key == "paper_id":
        return paper_id
    if key in EMPTY:
        return []
    if key == "arxiv_id":
        return paper_id[6:] if paper_id.startswith("arxiv:") else None
    if key == "url":
        return ARXIV_ABS_URL.format(record["arxiv_id"]) if record.get("arxiv_id") else None
    return None


def encode(record: dict, paper_id: str) -> bytes:
    """The stored line of `record` (the paper of id `paper_id`)."""
    keys = [k for k in record if k != "passages"]
    known = keys == [k for k in FIELDS if k in record] and list(record)[len(keys):] in ([], ["passages"])
    if not known or record.get("paper_id") != paper_id:  # not a record this module knows: as is
        return json.dumps(record, ensure_ascii=False).encode() + b"\n"
    lean: dict = {LEAN: 1}
    for key in FIELDS:
        if key not in record:
            lean[key] = MISSING
        elif record[key] != _default(key, paper_id, record):
            lean[key] = record[key]
    if "passages" in record:
        abstract = record.get("abstract") or ""
        lean[SPANS] = [_span(abstract, p) for p in record["passages"]]
    return json.dumps(lean, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _span(abstract: str, passage) -> list | str:
    if not isinstance(passage, str) or not passage:
        return passage
    start = abstract.find(passage)
    return passage if start < 0 else [start, start + len(passage)]


def decode(line: bytes, paper_id: str) -> dict:
    """The record stored as `line` (lean or not) for the paper of id `paper_id`."""
    stored = json.loads(line)
    if LEAN not in stored:
        return stored
    record: dict = {}
    for key in FIELDS:  # _default inlined: this runs for every record a search returns
        if key in stored:
            value = stored[key]
            if value.__class__ is not str or value != MISSING:
                record[key] = value
        elif key in EMPTY:
            record[key] = []
        elif key == "paper_id":
            record[key] = paper_id
        else:
            record[key] = _default(key, paper_id, record)
    spans = stored.get(SPANS)
    if spans is not None:
        abstract = record.get("abstract") or ""
        record["passages"] = [abstract[s[0]:s[1]] if s.__class__ is list else s for s in spans]
    return record
