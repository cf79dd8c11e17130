"""A test hook that kills the process at a named point of an ingest (a no-op unless armed).

Set `ASKPAPERS_FAULT_KILL=<point>[:n]` and the process SIGKILLs itself the n-th time (default
the first) it reaches `kill_point(<point>)`. tests/test_faults.py uses it to interrupt an
ingest at every step of its write and commit protocol and checks that a re-run repairs the
index. This is a test hook, not configuration: it is read at each point, never stored.

Points (in the order an ingest reaches them):
  marked          the index is marked pending, nothing written yet
  rewritten       a paper seen in a new file had its chunks rewritten with the new sources
  written         a write step wrote its chunks (n counts steps), old versions not yet deleted
  deleted         a write step deleted the chunks its papers' old versions no longer have
  superseded      before the title-only records replaced by arXiv records are deleted
  before-commit   every write done, commit not started
  scanned         commit read the journal's papers from Chroma (or scanned the collection)
  side-tmp        the new side-index segment written to its temp dir, not yet swapped in
  compacted       segments merged into a new temp segment, not yet swapped in (when compaction runs)
  segment-written new segment(s) renamed into the side index, manifest not yet replaced
  side-saved      manifest replaced (the new side index is saved), generation not yet stamped
  stamped         generation stamped and pending mark cleared, journal not yet removed
  journal-removed the ingest journal removed
"""

from __future__ import annotations

import os
import signal

ENV = "ASKPAPERS_FAULT_KILL"
_seen: dict[str, int] = {}


def kill_point(name: str) -> None:
    """SIGKILL this process if the hook is armed for `name` and this is the chosen occurrence."""
    armed = os.environ.get(ENV)
    if not armed:
        return
    point, _, nth = armed.partition(":")
    if point != name:
        return
    _seen[name] = _seen.get(name, 0) + 1
    if _seen[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
