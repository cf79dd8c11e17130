"""The manifest: which segments (and which of their rows) make up the side index of a generation.

`side-index/manifest.json` is small and replaced atomically (temp file, fsync, rename) under the
swap lock; segments are immutable directories beside it. A reader reads the manifest, then opens
its segments; a writer adds a segment, then swaps in a manifest naming it. Whatever a kill
leaves (a segment no manifest names, a temp dir) is garbage, deleted at the next swap.

    {"format", "generation", "papers", "chunks",
     "parent", "token",            # the generation and the ingest (pending token) it was made from
     "segments": [{"name", "papers", "dead": [local rows of papers replaced or removed]}]}
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path

from ..files import fsync_dir

DIRNAME = "side-index"
MANIFEST = "manifest.json"
FORMAT = 11  # bump when the saved layout or the tokenizer changes: older saves are rebuilt
# older formats this code still reads as they are (9: records stored whole, records.py reads both;
# 10: no title-key arrays, so title lookups of such an index ask Chroma, see title_keys.py)
READABLE_FORMATS = (9, 10, FORMAT)
SEGMENT_PREFIX = "seg-"
TMP_PREFIX = ".tmp-"  # a segment or manifest being written
JOURNAL_PREFIX = "journal-"
STALE_TMP_SECONDS = 3600  # a temp dir this old belongs to a save that was killed


def side_dir(base: Path) -> Path:
    return Path(base) / DIRNAME


def read_manifest(base: Path) -> dict | None:
    """The saved manifest (None if absent, unreadable or of another format)."""
    try:
        manifest = json.loads((side_dir(base) / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) and manifest.get("format") in READABLE_FORMATS else None


def new_temp_dir(base: Path) -> Path:
    """A fresh temp path inside the side-index dir (renamed into a segment under the swap lock)."""
    directory = side_dir(base)
    directory.mkdir(parents=True, exist_ok=True)
    return directory / f"{TMP_PREFIX}{uuid.uuid4().hex}"


def new_segment_name() -> str:
    return f"{SEGMENT_PREFIX}{uuid.uuid4().hex[:16]}"


def write_manifest(base: Path, manifest: dict) -> None:
    """Replace the manifest atomically and durably (call under the swap lock)."""
    directory = side_dir(base)
    tmp = directory / f"{TMP_PREFIX}{uuid.uuid4().hex}.json"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, directory / MANIFEST)
    fsync_dir(directory)


def collect_garbage(base: Path, manifest: dict) -> None:
    """Delete segments `manifest` does not name, stale temp files, and what older formats left.

    Called under the swap lock right after the swap: no live save is between renaming its
    segment in and swapping its manifest, and readers keep what they opened (descriptors, maps).
    """
    directory = side_dir(base)
    live = {s["name"] for s in manifest["segments"]} | {MANIFEST}
    now = time.time()
    for path in directory.iterdir():
        name = path.name
        if name in live or name.startswith(JOURNAL_PREFIX):
            continue
        if name.startswith(TMP_PREFIX) and now - path.stat().st_mtime < STALE_TMP_SECONDS:
            continue  # another process may be writing it
        _remove(path)
    for path in Path(base).glob(".side-*"):  # an older format's replaced copies and killed saves
        if path.is_dir() and (path.name.startswith(".side-old-") or now - path.stat().st_mtime > STALE_TMP_SECONDS):
            _remove(path)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            path.unlink()
        except OSError:
            pass
