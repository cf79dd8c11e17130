"""Search latency and peak memory at 10k and 100k abstracts.

    python benchmarks/scale.py SOURCE_FILES... --questions Q.jsonl --work DIR [--sizes 10000 100000]

Synthetic abstracts are made from real sentences: every sentence of the source abstracts goes
into a pool, and each synthetic paper takes a pool sentence as title and 4-9 random pool
sentences as abstract. To keep the run under an hour on 2 cores, the pool sentences are
embedded once with the bundled model and a chunk's vector is the normalised mean of its
sentences' vectors (sentences the chunker cut are embedded for real). Everything else is the
real pipeline: chunking, Chroma writes, the side-index rebuild, and `Assistant.search`
(queries embedded by the real model) in a fresh process whose peak RSS is reported.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")


def sentences_of(text: str) -> list[str]:
    return [s.strip() for s in SENTENCE.split(text) if len(s.strip()) > 20]


def build_pool(paths: list[Path]) -> list[str]:
    from ingest.readers import read_paths

    pool: dict[str, None] = {}
    for _path, papers, _errors in read_paths(paths):
        for p in papers:
            for s in sentences_of(p.abstract):
                pool.setdefault(s)
    return list(pool)


def sentence_mean_model(pool: list[str], vectors: np.ndarray):
    from ingest.embedding import BUNDLED_MODEL, MiniLMEncoder

    class SentenceMeanEncoder:
        """Chunk vector = normalised mean of its (pre-embedded) sentences' vectors."""

        model_name = BUNDLED_MODEL
        dimension = vectors.shape[1]

        def __init__(self):
            self._lookup = {s: i for i, s in enumerate(pool)}
            self._real = MiniLMEncoder()

        def embed(self, texts: list[str]) -> np.ndarray:
            out = np.zeros((len(texts), vectors.shape[1]), dtype=np.float32)
            missing: list[tuple[int, str]] = []
            for i, text in enumerate(texts):
                for part in text.split("\n"):
                    for s in sentences_of(part) or [part]:
                        j = self._lookup.get(s)
                        if j is None:
                            missing.append((i, s))
                        else:
                            out[i] += vectors[j]
            if missing:
                extra = self._real.embed([s for _, s in missing])
                for (i, _s), v in zip(missing, extra):
                    out[i] += v
            return out / np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-12, None)

        def get_query_embedding(self, query: str) -> list[float]:
            return self._real.get_query_embedding(query)

    return SentenceMeanEncoder()


def synthetic_papers(pool: list[str], start: int, stop: int, seed: int = 7):
    from ingest.records import Paper, Source

    rng = random.Random(seed)
    rng.seed(seed * 1_000_003 + start)
    for i in range(start, stop):
        title = pool[rng.randrange(len(pool))]
        body = " ".join(pool[rng.randrange(len(pool))] for _ in range(rng.randint(4, 9)))
        yield Paper(title=title, abstract=body, paper_id=f"synthetic:{i}",
                    sources=[Source(f"synthetic-{i // 10000:02d}.jsonl")])


def measure_search(index_dir: Path, questions: Path, repeat: int) -> dict:
    """Run in a fresh process so that peak RSS is the reader's own."""
    code = f"""
import json, statistics, sys, time
sys.path.insert(0, {str(ROOT)!r})
from assistant import Assistant
qs = [json.loads(l)["question"] for l in open({str(questions)!r}) if l.strip()]
t = time.perf_counter()
a = Assistant(index_dir={str(index_dir)!r})
a.search(qs[0])
first = time.perf_counter() - t
m = a.index.embed_model
emb, lat = [], []
for _ in range({repeat}):
    for q in qs:
        t = time.perf_counter(); m.get_query_embedding(q); emb.append(time.perf_counter() - t)
        t = time.perf_counter(); a.search(q, k=10); lat.append(time.perf_counter() - t)
lat.sort()
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over fork+exec, so a child would report its parent's peak
hwm = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) / 1024
print(json.dumps({{"open_and_first_search_s": first, "embed_p50_ms": 1000 * statistics.median(emb),
                  "search_p50_ms": 1000 * statistics.median(lat), "search_p95_ms": 1000 * lat[int(0.95 * (len(lat) - 1))],
                  "peak_rss_mib": hwm}}))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources", nargs="+", type=Path, help="files whose abstracts give the sentence pool")
    ap.add_argument("--questions", type=Path, required=True, help="JSONL questions used as queries")
    ap.add_argument("--work", type=Path, required=True, help="work directory (index and sentence cache)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--repeat", type=int, default=2)
    args = ap.parse_args()

    from assistant.settings import get_settings
    from ingest.embedding import MiniLMEncoder
    from ingest.pipeline import IngestReport, ingest_papers
    from ingest.store import PaperIndex

    args.work.mkdir(parents=True, exist_ok=True)
    pool = build_pool(args.sources)
    cache = args.work / f"pool-{len(pool)}.npy"
    if cache.exists():
        vectors = np.load(cache)
    else:
        t = time.perf_counter()
        vectors = MiniLMEncoder().embed(pool)
        np.save(cache, vectors)
        print(f"embedded {len(pool)} pool sentences in {time.perf_counter() - t:.0f} s", file=sys.stderr)

    index_dir = args.work / "index"
    index = PaperIndex(get_settings(index_dir=index_dir), embed_model=sentence_mean_model(pool, vectors))
    done = index.side.table.ids and len(index.side.table) or 0
    rows = []
    for size in sorted(args.sizes):
        if size < done:
            print(f"skipping {size}: the index in {args.work} already holds {done} papers", file=sys.stderr)
            continue
        if size > done:
            t = time.perf_counter()
            batch = list(synthetic_papers(pool, done, size))
            report = IngestReport()
            ingest_papers(batch, index, report, progress=False)
            index.commit()
            took = time.perf_counter() - t
            print(f"ingested papers {done}..{size} in {took:.0f} s "
                  f"(peak RSS of the ingesting process so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB)",
                  file=sys.stderr)
            done = size
        r = measure_search(index_dir, args.questions, args.repeat)
        rows.append((size, r))
        print(json.dumps({"papers": size, **r}), file=sys.stderr)

    print(f"{'papers':>8}{'embed p50':>11}{'search p50':>12}{'search p95':>12}{'peak RSS':>11}{'open+1st':>10}")
    for size, r in rows:
        print(f"{size:>8}{r['embed_p50_ms']:>9.1f}ms{r['search_p50_ms']:>10.1f}ms{r['search_p95_ms']:>10.1f}ms"
              f"{r['peak_rss_mib']:>8.0f}MiB{r['open_and_first_search_s']:>9.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
