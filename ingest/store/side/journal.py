"""The ingest journal: which papers and chunks an unfinished ingest touched, so its commit reads
only those from Chroma instead of scanning the collection.

One file per pending token, `side-index/journal-<token>`, next to the side index it updates. Its
first line says what the ingest started from (the committed generation, and whether Chroma was
empty); each later line lists the papers and chunk ids of one write, appended and fsynced BEFORE
the write reaches Chroma. So every chunk in Chroma is either in the side index of the starting
generation or named in the journal. A line may also name replacements planned before a write
(`supersede`: title-only paper id -> the id of the record that replaces it), which the commit
finishes when the ingest was killed between writing the new paper and deleting the old one. A last line cut short by a kill belongs to a write that
never happened and is ignored; any other damage makes the journal unusable, and the commit then
rebuilds from a full scan (as it does when the journal is missing: another machine, server mode).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..files import fsync_dir
from .manifest import JOURNAL_PREFIX, side_dir


@dataclass
class JournalState:
    token: str
    base: str | None  # the committed generation the ingest started from
    empty: bool  # Chroma held nothing when it started
    papers: dict[str, None] = field(default_factory=dict)  # touched paper ids, in order
    chunks: set[str] = field(default_factory=set)  # chunk ids written or deleted
    supersede: dict[str, str] = field(default_factory=dict)  # old paper id -> the paper replacing it


def journal_path(base: Path, token: str) -> Path:
    return side_dir(base) / f"{JOURNAL_PREFIX}{token}"


class Journal:
    """Appends to one ingest's journal (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)

    @classmethod
    def create(cls, base: Path, token: str, generation: str | None, empty: bool) -> Journal:
        """Start a journal durably (before the pending mark that names it is set)."""
        path = journal_path(base, token)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8") as f:
            f.write(json.dumps({"token": token, "base": generation, "empty": empty}) + "\n")
            f.flush()
            os.fsync(f.fileno())
        fsync_dir(path.parent)
        return cls(path)

    @classmethod
    def resume(cls, base: Path, token: str) -> Journal | None:
        """The journal of an interrupted ingest with this token, to append to (None if absent)."""
        path = journal_path(base, token)
        if read_journal(base, token) is None:
            return None
        data = path.read_bytes()
        if not data.endswith(b"\n"):  # drop the line a kill cut short before appending after it
            os.truncate(path, data.rfind(b"\n") + 1)
        return cls(path)

    def append(self, papers: list[str], chunks: list[str], supersede: dict[str, str] | None = None) -> None:
        """Record a write before it is made (one line, fsynced); `supersede`: replacements planned."""
        entry = {"papers": list(dict.fromkeys(papers)), "chunks": chunks} | ({"supersede": supersede} if supersede else {})
        line = json.dumps(entry, ensure_ascii=False) + "\n"
        os.write(self._fd, line.encode())
        os.fsync(self._fd)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        try:
            self.close()
        except OSError:
            pass


def read_journal(base: Path, token: str) -> JournalState | None:
    """The journal of `token`, or None when it is missing or damaged."""
    try:
        data = journal_path(base, token).read_bytes()
    except OSError:
        return None
    complete = data.split(b"\n")[:-1]  # a last line without its newline was cut by a kill
    try:
        head = json.loads(complete[0])
        state = JournalState(head["token"], head["base"], bool(head["empty"]))
        for line in complete[1:]:
            entry = json.loads(line)
            state.papers.update(dict.fromkeys(entry["papers"]))
            state.chunks.update(entry["chunks"])
            state.supersede.update(entry.get("supersede") or {})
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    return state if state.token == token else None


def remove_journals(base: Path, keep: str | None = None) -> None:
    """Delete the journals of finished (or abandoned) ingests, all but `keep`'s."""
    directory = side_dir(base)
    for path in directory.glob(f"{JOURNAL_PREFIX}*"):
        if keep is None or path.name != f"{JOURNAL_PREFIX}{keep}":
            try:
                path.unlink()
            except OSError:
                pass
