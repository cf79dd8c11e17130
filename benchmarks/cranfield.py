"""Cranfield retrieval benchmark: BM25 alone, dense alone and askpapers' hybrid, in one run.

    python benchmarks/cranfield.py PATH/TO/cranfield [--index-dir DIR] [--cli] [--json]

PATH holds cran.all.1400, cran.qry and qrels.trec (binary relevance). Prints nDCG@10, MAP
(top 100), recall@10 and recall@100 averaged over the 225 questions. With --cli the
documents go in as a user's file would: written to cranfield.jsonl with an `id` field and
read by `askpapers ingest` (so the paper ids are the reader's `id:N`, and 40 documents that
repeat another's title must stay apart); without it they are passed as papers with ids.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.retrieval import HybridRetriever  # noqa: E402
from ingest.pipeline import IngestReport, ingest_papers  # noqa: E402
from ingest.records import Paper  # noqa: E402
from ingest.settings import get_settings  # noqa: E402
from ingest.store import PaperIndex  # noqa: E402


def _fields(text: str) -> list[dict[str, str]]:
    records, current, field = [], None, None
    for line in text.splitlines():
        m = re.match(r"^\.([ITABW])\b\s*(.*)$", line)
        if m:
            tag, rest = m.groups()
            if tag == "I":
                current = {"I": rest.strip()}
                records.append(current)
                field = None
            else:
                field = tag
                current[field] = rest
            continue
        if current is not None and field:
            current[field] = (current.get(field, "") + " " + line).strip()
    return records


def load(path: Path, prefix: str = "cran:"):
    """(papers with ids `prefix`N, questions, {question number: relevant ids})."""
    docs = _fields((path / "cran.all.1400").read_text(encoding="latin-1"))
    papers = []
    for d in docs:
        title = d.get("T", "").strip() or f"cranfield {d['I']}"
        papers.append(Paper(title=title, abstract=d.get("W", "").strip() or title, paper_id=f"{prefix}{int(d['I'])}"))
    queries = [q.get("W", "").strip() for q in _fields((path / "cran.qry").read_text(encoding="latin-1"))]
    qrels: dict[int, set[str]] = {}
    for line in (path / "qrels.trec").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 4 and int(parts[3]) > 0:
            qrels.setdefault(int(parts[0]), set()).add(f"{prefix}{int(parts[2])}")
    return papers, queries, qrels


def ingest_direct(papers: list[Paper], index_dir: Path) -> PaperIndex:
    """Papers passed to the pipeline with their ids (no reader involved)."""
    index = PaperIndex(get_settings(index_dir=index_dir, collection="cranfield"))
    report = IngestReport()
    ingest_papers(papers, index, report)
    if index.needs_commit():
        index.commit()
    print(f"{report.chunks_embedded} chunks embedded", file=sys.stderr)
    return index


def ingest_cli(papers: list[Paper], index_dir: Path) -> PaperIndex:
    """`askpapers ingest cranfield.jsonl` (records with an `id` field), as a user would run it."""
    jsonl = index_dir.parent / f"{index_dir.name}-cranfield.jsonl"
    with jsonl.open("w") as f:
        for p in papers:
            f.write(json.dumps({"id": int(p.paper_id.split(":")[1]), "title": p.title, "abstract": p.abstract}) + "\n")
    script = Path(sys.executable).parent / "askpapers"
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "assistant.cli"]
    cmd += ["ingest", str(jsonl), "--index-dir", str(index_dir),
           "--collection", "cranfield-cli", "--no-progress"]
    subprocess.run(cmd, check=True, cwd=Path(__file__).resolve().parent.parent)
    return PaperIndex(get_settings(index_dir=index_dir, collection="cranfield-cli"))


def metrics(ranked: list[str], relevant: set[str]) -> dict[str, float]:
    dcg = sum(1 / math.log2(i + 2) for i, pid in enumerate(ranked[:10]) if pid in relevant)
    idcg = sum(1 / math.log2(i + 2) for i in range(min(10, len(relevant))))
    hits, ap = 0, 0.0
    for i, pid in enumerate(ranked[:100]):
        if pid in relevant:
            hits += 1
            ap += hits / (i + 1)
    return {
        "ndcg@10": dcg / idcg if idcg else 0.0,
        "map": ap / len(relevant) if relevant else 0.0,
        "recall@10": len(set(ranked[:10]) & relevant) / len(relevant),
        "recall@100": len(set(ranked[:100]) & relevant) / len(relevant),
    }


SYSTEMS = {
    "BM25": dict(mode="bm25"),
    "dense (MiniLM)": dict(mode="dense"),
    "hybrid, RRF, no feedback": dict(mode="hybrid", fusion="rrf", feedback=False),
    "hybrid, score fusion, no feedback": dict(mode="hybrid", fusion="score", feedback=False),
    "askpapers (hybrid RRF + feedback)": dict(mode="hybrid", fusion="rrf", feedback=True),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="directory with cran.all.1400, cran.qry, qrels.trec")
    ap.add_argument("--index-dir", type=Path, help="reuse/keep the index here (default: a temp dir)")
    ap.add_argument("--systems", nargs="*", help="subset of system names to run")
    ap.add_argument("--cli", action="store_true", help="ingest through `askpapers ingest` on a JSONL with an id field")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    papers, queries, qrels = load(args.data, "id:" if args.cli else "cran:")
    index_dir = args.index_dir or Path(tempfile.mkdtemp(prefix="askpapers-cranfield-"))
    started = time.perf_counter()
    index = (ingest_cli if args.cli else ingest_direct)(papers, index_dir)
    index.refresh()
    print(f"indexed {len(papers)} docs ({len(index.side.table)} papers) in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)

    rows = {}
    for name, kw in SYSTEMS.items():
        if args.systems and name not in args.systems:
            continue
        retriever = HybridRetriever(index, **kw)
        totals = {"ndcg@10": 0.0, "map": 0.0, "recall@10": 0.0, "recall@100": 0.0}
        judged = 0
        for qn, text in enumerate(queries, start=1):
            relevant = qrels.get(qn)
            if not relevant:
                continue
            judged += 1
            ranked = [h.paper_id for h in retriever.search(text, k=100)]
            for key, v in metrics(ranked, relevant).items():
                totals[key] += v
        rows[name] = {k: v / judged for k, v in totals.items()} | {"questions": judged}

    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"{'system':<36}{'nDCG@10':>9}{'MAP':>8}{'R@10':>8}{'R@100':>8}")
    for name, r in rows.items():
        print(f"{name:<36}{r['ndcg@10']:>9.3f}{r['map']:>8.3f}{r['recall@10']:>8.3f}{r['recall@100']:>8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
