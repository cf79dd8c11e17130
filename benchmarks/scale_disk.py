"""Disk use of an askpapers index directory, by component (SQLite's dbstat, file sizes).

    python benchmarks/scale_disk.py INDEX_DIR [--json]

Components: Chroma's HNSW files (the vector index), its SQLite split by table, the rows of
`embedding_metadata` split by what they hold (llama-index's `_node_content`, the chunk text
`chroma:document`, the abstract, filter flags, the rest: each key group's share of the table's
pages is its share of the string/int payload plus 24 bytes a row), and everything that is not
Chroma's (the side index). Sizes are allocated bytes (`du`), in MB (10^6).
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from pathlib import Path

ROW_OVERHEAD = 24  # bytes a metadata row costs beyond its value (id, key, rowid, header): an estimate


def allocated(path: Path) -> int:
    """Bytes allocated on disk for a file or a directory tree."""
    if path.is_file():
        return path.stat().st_blocks * 512
    return sum(Path(root, f).stat().st_blocks * 512 for root, _dirs, files in os.walk(path) for f in files)


def table_group(name: str) -> str:
    if name.startswith("embedding_fulltext_search"):
        return "Chroma full-text index (FTS5 trigram)"
    if name.startswith("embeddings_queue"):
        return "Chroma write log (embeddings_queue)"
    if name in ("embedding_metadata",) or name.startswith("sqlite_autoindex_embedding_metadata"):
        return "embedding_metadata"
    if name.startswith("embedding_metadata"):
        return "Chroma metadata indexes"
    if name.startswith("embeddings") or name.startswith("sqlite_autoindex_embeddings"):
        return "Chroma embeddings table (ids)"
    return "Chroma SQLite, other"


def key_group(key: str) -> str:
    if key == "_node_content":
        return "metadata rows: llama-index _node_content"
    if key == "chroma:document":
        return "metadata rows: chunk text (chroma:document)"
    if key == "abstract":
        return "metadata rows: abstract"
    if ":" in key and not key.startswith("chroma"):
        return "metadata rows: filter flags (cat:, src:)"
    return "metadata rows: other keys"


def sqlite_components(db: Path) -> dict[str, int]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        pages: dict[str, int] = {}
        for name, size in con.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
            group = table_group(name)
            pages[group] = pages.get(group, 0) + int(size)
        payload: dict[str, int] = {}
        rows = con.execute("SELECT key, COUNT(*), SUM(COALESCE(LENGTH(string_value), 8)) FROM embedding_metadata "
                           "GROUP BY key")
        for key, count, size in rows:
            group = key_group(key)
            payload[group] = payload.get(group, 0) + int(size or 0) + ROW_OVERHEAD * int(count)
    finally:
        con.close()
    meta_pages = pages.pop("embedding_metadata", 0)
    total_payload = sum(payload.values()) or 1
    for group, size in payload.items():
        pages[group] = round(meta_pages * size / total_payload)
    return pages


def disk_by_component(index_dir: Path) -> dict[str, int]:
    """{component: bytes}, plus "total". Chroma's files are chroma.sqlite3* and its segment
    directories (named by UUID); everything else in the directory counts as the side index."""
    index_dir = Path(index_dir)
    out: dict[str, int] = {"total": allocated(index_dir)}
    db = index_dir / "chroma.sqlite3"
    sqlite_total = sum(allocated(p) for p in index_dir.glob("chroma.sqlite3*"))
    hnsw = sum(allocated(p) for p in index_dir.iterdir() if p.is_dir() and len(p.name) == 36 and p.name.count("-") == 4)
    out["Chroma HNSW (vector index files)"] = hnsw
    if db.exists():
        out.update(sqlite_components(db))
        out["Chroma SQLite, free pages and WAL"] = sqlite_total - sum(
            v for k, v in out.items() if k not in ("total", "Chroma HNSW (vector index files)"))
    out["side index and caches (not Chroma)"] = out["total"] - sqlite_total - hnsw
    return out


def main() -> int:
    path = Path(sys.argv[1])
    parts = disk_by_component(path)
    if "--json" in sys.argv:
        print(json.dumps(parts))
    else:
        for name, size in sorted(parts.items(), key=lambda kv: -kv[1]):
            print(f"{size / 1e6:>10.1f} MB  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
