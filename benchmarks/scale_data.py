"""Synthetic papers for the scale benchmark: real sentences, arXiv-like records, cached vectors.

Every sentence (over 20 characters) of the source abstracts goes into a pool; paper i takes a
pool sentence as title and 4-9 pool sentences as abstract, 1-4 authors from 2,000 made-up
names, 1-2 arXiv categories and a 2023 date, all drawn from a generator seeded by i (paper i is
the same in every run). Its id is an arXiv id (`23MM.NNNNN`), unique for i < 1.2M. Papers are
written as JSONL files of 10,000, the form `askpapers ingest` reads.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scale_embed import sentences_of  # noqa: E402 (the benchmark's own sibling module)

FILE_PAPERS = 10_000
NEW_START = 1_100_000  # the "+1,000 new papers" are i = NEW_START..: never in a library of ≤ 1.1M
CATEGORIES = ["cs.CL", "cs.LG", "cs.CV", "cs.AI", "cs.IR", "stat.ML", "cs.RO", "cs.CR", "eess.AS", "q-bio.QM"]
FIRST = ["Ana", "Wei", "Priya", "Jonas", "Fatima", "Kenji", "Olga", "Mateo", "Aisha", "Lars",
         "Mei", "Omar", "Sofia", "Ravi", "Elena", "Tomás", "Yuki", "Noah", "Leila", "Ivan"]
LAST = [f"{a}{b}" for a in ("Kov", "Mar", "Sun", "Ber", "Ols", "Tan", "Gar", "Nak", "Hof", "Rao")
        for b in ("ac", "tin", "den", "gman", "son", "aka", "cia", "mura", "fer", "vik")]


def build_pool(paths: list[Path]) -> list[str]:
    from ingest.readers import read_paths

    pool: dict[str, None] = {}
    for _path, papers, _errors in read_paths(paths):
        for p in papers:
            for s in sentences_of(p.abstract):
                pool.setdefault(s)
    return list(pool)


def arxiv_id(i: int) -> str:
    return f"23{(i // 100_000) % 12 + 1:02d}.{i % 100_000:05d}"


def record(pool: list[str], i: int) -> dict:
    rng = random.Random(i * 1_000_003 + 7)
    names = [f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(rng.randint(1, 4))]
    return {
        "id": arxiv_id(i),
        "title": pool[rng.randrange(len(pool))],
        "abstract": " ".join(pool[rng.randrange(len(pool))] for _ in range(rng.randint(4, 9))),
        "authors": names,
        "categories": " ".join(rng.sample(CATEGORIES, rng.randint(1, 2))),
        "published": f"2023-{(i // 100_000) % 12 + 1:02d}-{rng.randint(1, 28):02d}",
    }


def write_papers(pool: list[str], path: Path, start: int, stop: int) -> Path:
    """Papers start..stop-1 as one JSONL file (kept if already complete)."""
    if path.exists() and sum(1 for _ in path.open()) == stop - start:
        return path
    tmp = path.with_suffix(".tmp")
    with tmp.open("w") as f:
        for i in range(start, stop):
            f.write(json.dumps(record(pool, i)) + "\n")
    tmp.replace(path)
    return path


def library_files(pool: list[str], data: Path, size: int) -> list[Path]:
    """The first `size` papers, in files of FILE_PAPERS (shared by every library size)."""
    data.mkdir(parents=True, exist_ok=True)
    return [write_papers(pool, data / f"library-{s // FILE_PAPERS:03d}-{min(size, s + FILE_PAPERS)}.jsonl",
                         s, min(size, s + FILE_PAPERS))
            for s in range(0, size, FILE_PAPERS)]


def new_papers_file(pool: list[str], data: Path, n: int) -> Path:
    data.mkdir(parents=True, exist_ok=True)
    return write_papers(pool, data / f"new-{n}.jsonl", NEW_START, NEW_START + n)


def prepare_vectors(work: Path, sources: list[Path], qfiles: list[Path], mode: str, log) -> list[str]:
    """The sentence pool (work/pool.json) and, for `cached` vectors, the bundled model's vectors
    of every pool sentence and of every question (embedded once, kept in `work`)."""
    pool_file = work / "pool.json"
    if pool_file.exists():
        pool = json.loads(pool_file.read_text())
    else:
        pool = build_pool(sources)
        pool_file.write_text(json.dumps(pool))
    if mode != "cached":
        return pool
    from ingest.embedding import MiniLMEncoder

    encoder = None
    if not (work / "pool-vectors.npy").exists():
        log(f"embedding {len(pool)} pool sentences with the bundled model (once)")
        t = time.perf_counter()
        encoder = MiniLMEncoder()
        np.save(work / "pool-vectors.npy", encoder.embed(pool))
        log(f"  done in {time.perf_counter() - t:.0f} s")
    qfile = work / "query-vectors.json"
    cached = json.loads(qfile.read_text()) if qfile.exists() else {}
    wanted = [json.loads(line)["question"] for f in qfiles for line in open(f) if line.strip()]
    missing = [q for q in dict.fromkeys(wanted) if q not in cached]
    if missing:
        encoder = encoder or MiniLMEncoder()
        cached.update({q: v.tolist() for q, v in zip(missing, encoder.embed(missing))})
        qfile.write_text(json.dumps(cached))
    return pool
