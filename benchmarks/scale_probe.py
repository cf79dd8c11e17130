"""What benchmarks/scale.py runs in a fresh process, so each figure is that process's own.

    python benchmarks/scale_probe.py ingest OUT.json PATHS...       `askpapers ingest PATHS`
    python benchmarks/scale_probe.py search OUT.json QUESTIONS REPEAT   a reader: Assistant.search
    python benchmarks/scale_probe.py fts OUT.json QUESTIONS N        Chroma full-text vs the side index
    python benchmarks/scale_probe.py direct OUT.json WORK VECTORS EVERY PATHS...   papers straight in, a commit every EVERY

The index is chosen by the ASKPAPERS_* environment (index dir or chroma_url, embeddings
endpoint), as a user's would be. Each writes one JSON object to OUT.json; peak RSS is the
process's own `VmHWM` (Linux carries `ru_maxrss` over fork+exec, VmHWM starts anew at exec).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

# the askpapers source tree measured: this checkout, or a snapshot (scale.py --code, e.g. `git archive`)
ROOT = Path(os.environ.get("SCALE_CODE_DIR") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(ROOT))

WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]{3,}")


def peak_rss_mib() -> float:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def rss_mib() -> float:
    status = Path("/proc/self/status").read_text()
    return int(status.split("VmRSS:")[1].split()[0]) / 1024


def questions(path: str) -> list[str]:
    return [json.loads(line)["question"] for line in open(path) if line.strip()]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[int(q * (len(values) - 1))]


def run_ingest(paths: list[str]) -> dict:
    from assistant.cli import main

    rc = main(["ingest", *paths])
    return {"rc": rc, "peak_rss_mib": peak_rss_mib()}


def run_search(qfile: str, repeat: int) -> dict:
    """Open an Assistant, answer the first search (the reader's start), then time every search:
    end to end (the query embedded through the endpoint), then with the query vectors known."""
    from assistant import Assistant

    qs = questions(qfile)
    t = time.perf_counter()
    a = Assistant()
    a.search(qs[0], k=10)
    first = time.perf_counter() - t
    first_answered_at = time.time()
    model = a.index.embed_model
    emb, lat = [], []
    for _ in range(repeat):
        for q in qs:
            t = time.perf_counter()
            model.get_query_embedding(q)
            emb.append(time.perf_counter() - t)
            t = time.perf_counter()
            a.search(q, k=10)
            lat.append(time.perf_counter() - t)
    # askpapers' own cost: the same searches with each query's vector already known
    known = {q: model.get_query_embedding(q) for q in qs}
    model.get_query_embedding = known.__getitem__
    own = []
    for _ in range(repeat):
        for q in qs:
            t = time.perf_counter()
            a.search(q, k=10)
            own.append(time.perf_counter() - t)
    return {"first_answered_at": first_answered_at, "open_and_first_search_s": first,
            "embed_p50_ms": 1000 * statistics.median(emb), "search_p50_ms": 1000 * statistics.median(lat),
            "search_p95_ms": 1000 * pct(lat, 0.95), "own_p50_ms": 1000 * statistics.median(own),
            "own_p95_ms": 1000 * pct(own, 0.95), "searches": len(lat), "peak_rss_mib": peak_rss_mib()}


def content_words(query: str) -> list[str]:
    """The query's words that BM25 keeps (not stop words), as typed, lower case, at most 6."""
    from ingest.store.sparse import tokenize

    words = []
    for w in dict.fromkeys(m.group(0).lower() for m in WORD.finditer(query)):
        if tokenize([w])[0]:
            words.append(w)
    return words[:6]


def paper_of(chunk_id: str) -> str:
    return chunk_id.rsplit("#", 1)[0]


def top_papers(chunk_ids: list[str], n: int) -> list[str]:
    return list(dict.fromkeys(paper_of(c) for c in chunk_ids))[:n]


def fts_dense(coll, vector, words: list[str], n: int) -> list[str]:
    """Chroma server-side: the dense query restricted to chunks containing any query word."""
    where = {"$or": [{"$contains": w} for w in words]} if len(words) > 1 else {"$contains": words[0]}
    res = coll.query(query_embeddings=[vector], n_results=4 * n, where_document=where, include=[])
    return top_papers(res["ids"][0], n)


def fts_idf(coll, words: list[str], total: int, n: int) -> list[str]:
    """Chroma server-side: each word's matching chunks ($contains), papers ranked by summed idf
    (BM25 with binary term frequency and no length norm: all a match list gives)."""
    import math

    score: dict[str, float] = {}
    for w in words:
        papers = {paper_of(c) for c in coll.get(where_document={"$contains": w}, include=[])["ids"]}
        idf = math.log(1 + (total - len(papers) + 0.5) / (len(papers) + 0.5))
        for p in papers:
            score[p] = score.get(p, 0.0) + idf
    return [p for p, _ in sorted(score.items(), key=lambda kv: -kv[1])[:n]]


def search_api_probe(coll) -> str:
    """Whether Chroma's hybrid Search API (sparse vectors, BM25 functions) answers here."""
    try:
        from chromadb.execution.expression import Knn, Search

        coll.search(Search().rank(Knn(query=[0.0] * 384)).limit(1))
        return "answered"
    except Exception as exc:  # NotImplementedError locally, an HTTP error from a single-node server
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"


def run_fts(qfile: str, n_questions: int) -> dict:
    """Latency and recall of the side index's BM25 top 10 for two Chroma full-text substitutes."""
    from ingest.store import PaperIndex
    from assistant.settings import get_settings

    index = PaperIndex(get_settings())
    t = time.perf_counter()
    side = index.side
    side_open = time.perf_counter() - t
    coll, total = index.collection, len(side.table)
    model = index.embed_model
    lat = {"side BM25": [], "Chroma $contains + dense": [], "Chroma $contains, idf ranked": []}
    recall = {k: [] for k in lat}
    for q in questions(qfile)[:n_questions]:
        words = content_words(q)
        if not words:
            continue
        vector = model.get_query_embedding(q)
        t = time.perf_counter()
        gold = [pid for pid, _ in side.search(q, 10)]
        lat["side BM25"].append(time.perf_counter() - t)
        for name, fn in (("Chroma $contains + dense", lambda: fts_dense(coll, vector, words, 10)),
                         ("Chroma $contains, idf ranked", lambda: fts_idf(coll, words, total, 10))):
            t = time.perf_counter()
            got = fn()
            lat[name].append(time.perf_counter() - t)
            recall[name].append(len(set(got) & set(gold)) / max(1, len(gold)))
        recall["side BM25"].append(1.0)
    rows = {k: {"p50_ms": 1000 * statistics.median(v), "p95_ms": 1000 * pct(v, 0.95),
                "recall_of_bm25_top10": statistics.mean(recall[k])} for k, v in lat.items() if v}
    return {"side_open_s": side_open, "queries": len(lat["side BM25"]), "methods": rows,
            "search_api": search_api_probe(coll), "peak_rss_mib": peak_rss_mib()}


def run_direct(work: str, mode: str, commit_every: int, paths: list[str], batch: int = 5000) -> dict:
    """Write the papers of `paths` straight through `PaperIndex.write_chunks` (chunked as ingest
    does, vectors computed here as the endpoint computes them), with a commit after every
    `commit_every` papers and at the end: a fast way to a big library, without ingest's dedupe,
    stored-state checks and per-128 batching. Each commit adds one side-index segment of its part
    (the side index's compaction keeps at most 16), so memory stays bounded by a part, not the
    library; one JSONL file (10,000 papers) is held at a time. A file whose last chunk is stored
    already (an earlier run, killed, wrote it all) is skipped: a run resumes where one stopped."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from scale_embed import Vectors

    from assistant.settings import get_settings
    from ingest.chunking import chunk_paper
    from ingest.readers import read_paths
    from ingest.store import PaperIndex

    vectors = Vectors(Path(work), mode)
    index = PaperIndex(get_settings())
    s = index.settings
    t, papers_written, since_commit, write_s, commits = time.perf_counter(), 0, 0, 0.0, []

    def commit() -> None:
        c = time.perf_counter()
        index.commit()
        commits.append({"papers": papers_written, "commit_s": time.perf_counter() - c,
                        "rss_mib": rss_mib(), "elapsed_s": time.perf_counter() - t})
        print(f"commit at {papers_written} papers: {commits[-1]['commit_s']:.1f} s, "
              f"RSS {commits[-1]['rss_mib']:.0f} MiB", file=sys.stderr, flush=True)

    skipped = 0
    for _path, papers, _errors in read_paths(paths):
        last = chunk_paper(papers[-1], s.chunk_size, s.chunk_overlap)[-1].chunk_id if papers else None
        if last and index.chroma.collection.get(ids=[last], include=[])["ids"]:  # its very last chunk
            skipped += len(papers)
            papers_written += len(papers)
            continue
        w = time.perf_counter()
        items = [(p, c, p.content_hash(), vectors.text(c.text).tolist())
                 for p in papers for c in chunk_paper(p, s.chunk_size, s.chunk_overlap)]
        for start in range(0, len(items), batch):
            index.write_chunks(items[start : start + batch])
        del items
        write_s += time.perf_counter() - w
        papers_written += len(papers)
        since_commit += len(papers)
        print(f"{papers_written} papers written, {time.perf_counter() - t:.0f} s, RSS {rss_mib():.0f} MiB",
              file=sys.stderr, flush=True)
        if commit_every and since_commit >= commit_every:
            commit()
            since_commit = 0
    if since_commit or not commits:
        commit()
    return {"papers": papers_written, "skipped_as_written": skipped, "write_s": write_s, "commit_s": sum(c["commit_s"] for c in commits),
            "commits": commits, "commit_every": commit_every, "peak_rss_mib": peak_rss_mib()}


def main(argv: list[str]) -> int:
    kind, out = argv[0], Path(argv[1])
    if kind == "ingest":
        result = run_ingest(argv[2:])
    elif kind == "search":
        result = run_search(argv[2], int(argv[3]))
    elif kind == "fts":
        result = run_fts(argv[2], int(argv[3]))
    elif kind == "direct":
        result = run_direct(argv[2], argv[3], int(argv[4]), argv[5:])
    else:
        print(f"unknown probe {kind!r}: use ingest, search, fts or direct", file=sys.stderr)
        return 2
    out.write_text(json.dumps(result))
    return int(result.get("rc", 0) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
