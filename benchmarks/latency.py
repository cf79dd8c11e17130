"""Search latency against the cost of embedding one query, on an existing index.

    python benchmarks/latency.py QUESTIONS.jsonl --index-dir DIR [--repeat 3]

Warm process: the index is opened and one search is run before timing. "embed" is the
query-embedding call alone; "search" is the whole `Assistant.search(q, k=10)`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant import Assistant  # noqa: E402


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("questions", type=Path)
    ap.add_argument("--index-dir", type=Path)
    ap.add_argument("--chroma-url")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    questions = [json.loads(line)["question"] for line in args.questions.read_text().splitlines() if line.strip()]
    assistant = Assistant(index_dir=args.index_dir, chroma_url=args.chroma_url)
    assistant.search(questions[0])
    model = assistant.index.embed_model
    embed, search = [], []
    for _ in range(args.repeat):
        for q in questions:
            t = time.perf_counter()
            model.get_query_embedding(q)
            embed.append(1000 * (time.perf_counter() - t))
            t = time.perf_counter()
            assistant.search(q, k=10)
            search.append(1000 * (time.perf_counter() - t))
    e50 = statistics.median(embed)
    print(f"{'(ms)':<24}{'p50':>8}{'p95':>8}")
    print(f"{'embed one query':<24}{e50:>8.1f}{pct(embed, 95):>8.1f}")
    print(f"{'search (k=10)':<24}{statistics.median(search):>8.1f}{pct(search, 95):>8.1f}")
    print(f"search p50 / embed p50: {statistics.median(search) / e50:.2f}   "
          f"({len(questions)} questions x {args.repeat}, {assistant.stats()['papers_total']} papers)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
