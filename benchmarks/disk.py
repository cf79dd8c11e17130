"""Disk per paper of an embedded askpapers index, by component.

    python benchmarks/disk.py INDEX_DIR [--json] [--keys]

Components: Chroma's SQLite file by table and index (dbstat: the write log `embeddings_queue`,
`embedding_metadata` and its indexes, `embeddings`, the full-text tables, free pages), its
`-wal` file, the HNSW segment files (the vectors and the graph), and the side index
(ingest/store/sparse.py). `--keys` adds the bytes of each metadata key's values, grouped as
askpapers writes them (`cat:*`, `src:*` together), which shows what llama-index's `_node_content`
and the documents cost. `measure(index_dir)` returns the same as a dict (benchmarks/scale.py
can call it). Only reads: open it on a copy or an idle index (SQLite reads take no write lock).
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import sys
from pathlib import Path

SIDE_DIR = "side-index"

# (component, how a dbstat name maps to it), first match wins
GROUPS = [
    ("sqlite: embeddings_queue (write log)", ("embeddings_queue",)),
    ("sqlite: embedding_metadata indexes", ("embedding_metadata_int_value", "embedding_metadata_float_value",
                                            "embedding_metadata_string_value", "sqlite_autoindex_embedding_metadata")),
    ("sqlite: embedding_metadata (rows)", ("embedding_metadata",)),
    ("sqlite: full-text search (documents)", ("embedding_fulltext_search",)),
    ("sqlite: embeddings (ids)", ("embeddings", "sqlite_autoindex_embeddings")),
]


def _group(name: str) -> str:
    for label, prefixes in GROUPS:
        if any(name == p or name.startswith(p + "_") or name.startswith(p) and p.startswith("sqlite_")
               for p in prefixes):
            return label
    return "sqlite: other tables"


def sqlite_components(db: Path) -> dict[str, int]:
    """Bytes per component of Chroma's SQLite file (dbstat page sizes, plus free pages)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        out: dict[str, int] = {}
        for name, size in con.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
            label = _group(name)
            out[label] = out.get(label, 0) + int(size)
        page = con.execute("PRAGMA page_size").fetchone()[0]
        free = con.execute("PRAGMA freelist_count").fetchone()[0]
        out["sqlite: free pages"] = int(page) * int(free)
        return out
    finally:
        con.close()


def metadata_keys(db: Path) -> dict[str, int]:
    """Bytes of stored values per metadata key (`cat:*` and `src:*` grouped, and the parts of the
    packed record or abstract: `record_2`, ... count as `record`), largest first."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "SELECT key, SUM(COALESCE(LENGTH(string_value), 0) + CASE WHEN int_value IS NOT NULL OR "
            "float_value IS NOT NULL OR bool_value IS NOT NULL THEN 8 ELSE 0 END + LENGTH(key)) "
            "FROM embedding_metadata GROUP BY key").fetchall()
    finally:
        con.close()
    out: dict[str, int] = {}
    for key, size in rows:
        label = key.split(":", 1)[0] + ":*" if key.startswith(("cat:", "src:")) else re.sub(r"_\d+$", "", key)
        out[label] = out.get(label, 0) + int(size or 0)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def counts(db: Path) -> tuple[int, int]:
    """(papers, chunks) in the collection, from the metadata rows."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        chunks = con.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0]
        papers = con.execute("SELECT COUNT(DISTINCT string_value) FROM embedding_metadata "
                             "WHERE key = 'paper_id'").fetchone()[0]
        return int(papers), int(chunks)
    finally:
        con.close()


def _tree_size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def measure(index_dir: str | Path, keys: bool = False) -> dict:
    """Bytes by component of the embedded index in `index_dir`, with papers and chunks."""
    base = Path(index_dir)
    db = base / "chroma.sqlite3"
    papers, chunks = counts(db)
    components = sqlite_components(db)
    wal = base / "chroma.sqlite3-wal"
    components["sqlite: -wal file"] = wal.stat().st_size if wal.exists() else 0
    hnsw = [d for d in base.iterdir() if d.is_dir() and (d / "header.bin").exists()]  # Chroma's segment dirs
    components["HNSW segment files"] = sum(_tree_size(d) for d in hnsw)
    side = base / SIDE_DIR
    components["side index"] = _tree_size(side) if side.exists() else 0
    total = sum(components.values())
    out = {"index_dir": str(base), "papers": papers, "chunks": chunks, "total_bytes": total,
           "components": dict(sorted(components.items(), key=lambda kv: -kv[1]))}
    if keys:
        out["metadata_keys"] = metadata_keys(db)
    return out


def table(result: dict) -> str:
    """The measurement as a Markdown table: bytes, and bytes per paper, per component."""
    n = max(1, result["papers"])
    lines = [f"{result['papers']:,} papers, {result['chunks']:,} chunks in {result['index_dir']}", "",
             "| component | MB | bytes/paper |", "| --- | ---: | ---: |"]
    for name, size in result["components"].items():
        lines.append(f"| {name} | {size / 1e6:.2f} | {size / n:,.0f} |")
    lines.append(f"| **total** | **{result['total_bytes'] / 1e6:.2f}** | **{result['total_bytes'] / n:,.0f}** |")
    if "metadata_keys" in result:
        lines += ["", "| metadata key | MB of values | bytes/paper |", "| --- | ---: | ---: |"]
        lines += [f"| `{k}` | {v / 1e6:.2f} | {v / n:,.0f} |" for k, v in result["metadata_keys"].items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("index_dir")
    ap.add_argument("--json", action="store_true", help="print the measurement as JSON")
    ap.add_argument("--keys", action="store_true", help="also the bytes of each metadata key")
    args = ap.parse_args(argv)
    if not (Path(args.index_dir) / "chroma.sqlite3").exists():
        print(f"disk.py: no chroma.sqlite3 in {args.index_dir} (an embedded askpapers index)", file=sys.stderr)
        return 2
    result = measure(args.index_dir, keys=args.keys)
    print(json.dumps(result, indent=1) if args.json else table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
