"""Micro-benchmark of the side index alone (no Chroma, no embedding): what a commit costs.

Synthetic papers: titles and abstracts drawn from the sentences of real arXiv abstracts
(`../shared/benchmarks/arxiv-samples`), 1-2 chunks each, random 384-d vectors, chunk metadata
as askpapers writes it. Paper i is the same in every run. Each step runs in its own process
and reports its time and its own peak RSS (VmHWM):

  build    a full build of N papers (what the fallback rebuild from a scan does), saved
  add      commit +A new papers into the N-paper side index (load it, write one segment)
  change   commit A changed papers (new abstracts) into it (their old rows become dead)
  empty    commit the same +A papers into an empty side index
  compact  merge everything into one segment (the most a compaction can cost at this size)
  reader   open the side index and run BM25 searches and feedback expansion
  old      the previous design (git HEAD~ version of ingest/store/sparse.py, bm25s, rebuilt
           from all papers at every commit) building N + A papers: what +A cost before

    .venv/bin/python benchmarks/side_index.py --papers 100000 --add 1000 --work /tmp/side-bench
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAMPLES = ROOT.parent / "shared" / "benchmarks" / "arxiv-samples" / "arxiv-metadata-2000.csv"
DIM = 384
CATEGORIES = ["cs.CL", "cs.LG", "cs.CV", "cs.AI", "cs.IR", "stat.ML", "cs.RO", "cs.CR", "eess.AS", "q-bio.QM"]
QUERIES = ["neural network training", "quantum field theory", "graph algorithms complexity",
           "protein structure prediction", "galaxy cluster mass", "language model evaluation",
           "convex optimization convergence", "magnetic field turbulence", "image segmentation", "dark matter"]


def sentence_pool() -> list[str]:
    csv.field_size_limit(1 << 24)
    pool: dict[str, None] = {}
    with open(SAMPLES, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for s in re.split(r"(?<=[.!?])\s+", " ".join(row["abstract"].split())):
                if len(s) > 20:
                    pool[s] = None
    return list(pool)


def paper_rows(i: int, pool: list[str], version: int = 0) -> list[tuple]:
    """Chunk rows (id, metadata, document, embedding) of synthetic paper i."""
    from ingest.chunking import Chunk, chunk_id
    from ingest.records import Paper, Source
    from ingest.store.codec import chunk_metadata

    rng = random.Random(i * 7 + version)
    abstract = " ".join(rng.choice(pool) for _ in range(rng.randint(4, 9)))
    paper = Paper(title=rng.choice(pool)[:120], abstract=abstract, paper_id=f"arxiv:9{i:07d}",
                  categories=rng.sample(CATEGORIES, rng.randint(1, 2)), date=f"2023-{1 + i % 12:02d}-15",
                  sources=[Source(f"file-{i // 10000:03d}.jsonl", None)])
    words = abstract.split()
    parts = [" ".join(words[k:k + 120]) for k in range(0, len(words), 120)] or [""]
    vectors = np.random.default_rng(i).standard_normal((len(parts), DIM), dtype=np.float32)
    rows = []
    for n, passage in enumerate(parts):
        chunk = Chunk(chunk_id(paper.paper_id, n), paper.paper_id, n, len(parts), f"{paper.title}\n{passage}", passage)
        rows.append((chunk.chunk_id, chunk_metadata(paper, chunk, f"h{version}", 1700000000), chunk.text, vectors[n]))
    return rows


def rows_of(indices, pool, version: int = 0):
    for i in indices:
        yield from paper_rows(i, pool, version)


class Clock:
    """Wall and CPU seconds since creation (CPU time is what to compare on a busy shared machine)."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self, prefix: str = "") -> dict:
        return {f"{prefix}seconds": time.perf_counter() - self.wall, f"{prefix}cpu_seconds": time.process_time() - self.cpu}


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# ---------------------------------------------------------------------------- steps (one process each)
def step_build(args, pool) -> dict:
    from ingest.store.sparse import SideIndex

    clock = Clock()
    side = SideIndex.from_chunks(rows_of(range(args.papers), pool), "base", Path(args.work) / "base")
    side.save(Path(args.work) / "base")
    return clock.read() | {"papers": len(side.table), "note": "includes generating the synthetic rows"}


def _commit(base: Path, rows, touched: set[str]) -> dict:
    from ingest.store.side.build import papers_from_chunks
    from ingest.store.side.store import commit_changes, empty, load

    clock = Clock()
    current = load(base) if (base / "side-index" / "manifest.json").exists() else empty("none")
    loaded = clock.read("load_")
    papers = papers_from_chunks(rows)
    side = commit_changes(current, base, papers, touched | {p.paper_id for p in papers}, "next", current.generation, None)
    return clock.read() | loaded | {"papers": len(side.table), "segments": len(side.manifest()["segments"])}


def _copy_base(args, name: str) -> Path:
    target = Path(args.work) / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(Path(args.work) / "base", target)
    return target


def step_add(args, pool) -> dict:
    base = _copy_base(args, "add")
    rows = list(rows_of(range(args.papers, args.papers + args.add), pool))
    return _commit(base, rows, set())


def step_change(args, pool) -> dict:
    base = _copy_base(args, "change")
    rows = list(rows_of(range(0, args.papers, max(1, args.papers // args.add))[: args.add], pool, version=1))
    return _commit(base, rows, set())


def step_empty(args, pool) -> dict:
    base = Path(args.work) / "empty"
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    rows = list(rows_of(range(args.papers, args.papers + args.add), pool))
    return _commit(base, rows, set())


def step_compact(args, pool) -> dict:
    from ingest.store.side import compact
    from ingest.store.side.store import load

    base = Path(args.work) / "add"
    side = load(base)
    target = Path(args.work) / "compacted"
    shutil.rmtree(target, ignore_errors=True)
    clock = Clock()
    compact.merge(target, side.segments, [np.zeros(len(s), dtype=np.int64) for s in side.segments])
    return clock.read() | {"segments_merged": len(side.segments)}


def step_reader(args, pool) -> dict:
    from ingest.store.side.store import load

    clock = Clock()
    side = load(Path(args.work) / "add")
    opened = clock.read("open_")
    clock = Clock()
    side.search(QUERIES[0], 100)  # the first query computes the snapshot's BM25 term parts
    first = clock.read("first_query_")
    times, feedback = [], []  # CPU ms per query: the BM25 search, then the feedback stage's BM25 part
    for _ in range(3):
        for q in QUERIES:
            t0 = time.process_time()
            hits = side.search(q, 100)
            t1 = time.process_time()
            weights = side.query_terms(q)
            for term, w in side.expansion_terms([side.row[p] for p, _s in hits[:5]], 10).items():
                weights[term] += 0.5 * w
            side.term_scores(weights)
            times.append(t1 - t0)
            feedback.append(time.process_time() - t1)
    return opened | first | {"bm25_search_cpu_p50_ms": 1000 * statistics.median(times),
                             "feedback_cpu_p50_ms": 1000 * statistics.median(feedback), "papers": len(side.table)}


def step_old(args, pool) -> dict:
    """The previous design, loaded from git: every commit rebuilt bm25s and everything from all papers."""
    import importlib.util

    source = subprocess.run(["git", "show", f"{args.old_rev}:ingest/store/sparse.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = Path(args.work) / "old_sparse.py"
    path.write_text(source.replace("from ..faults", "from ingest.faults").replace("from .codec", "from ingest.store.codec")
                    .replace("from .files", "from ingest.store.files"))
    spec = importlib.util.spec_from_file_location("old_sparse", path)
    old = sys.modules["old_sparse"] = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(old)
    target = Path(args.work) / "old"
    shutil.rmtree(target, ignore_errors=True)
    clock = Clock()
    side = old.SideIndex.from_chunks(rows_of(range(args.papers + args.add), pool), "old")
    side.save(target)
    return clock.read() | {"papers": len(side.table), "note": "includes generating the synthetic rows"}


STEPS = {"build": step_build, "add": step_add, "change": step_change, "empty": step_empty, "compact": step_compact,
         "reader": step_reader, "old": step_old}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--add", type=int, default=1000)
    parser.add_argument("--work", default="/tmp/side-bench")
    parser.add_argument("--steps", default="build,add,change,empty,compact,reader,old")
    parser.add_argument("--old-rev", default="c667da7", help="the git revision of the previous design")
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        result = STEPS[args.step](args, sentence_pool())
        print(json.dumps(result | {"peak_rss_mib": round(peak_rss_mib())}))
        return
    Path(args.work).mkdir(parents=True, exist_ok=True)
    for step in args.steps.split(","):
        out = subprocess.run([sys.executable, __file__, "--step", step, "--papers", str(args.papers), "--add",
                              str(args.add), "--work", args.work, "--old-rev", args.old_rev],
                             capture_output=True, text=True, check=False)
        if out.returncode:
            print(f"{step}: failed\n{out.stderr[-2000:]}", file=sys.stderr)
            sys.exit(1)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps({"step": step, "library": args.papers, "add": args.add}
                         | {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}), flush=True)


if __name__ == "__main__":
    main()
