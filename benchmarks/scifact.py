"""SciFact benchmark: retrieval (BM25, dense, askpapers) and evidence (claim cited, rationale quoted).

    python benchmarks/scifact.py ../shared/benchmarks/scifact [--index-dir DIR] [--claims N] [--half fit|report] [--json]

PATH holds corpus.jsonl (5,183 abstracts as sentence lists), claims_train.jsonl (809 claims)
and qrels_train.tsv. Retrieval: nDCG@10 and recall@100 over every claim in the qrels (binary
relevance). Evidence, over the claims that have evidence: the share whose `ask(claim)` cites an
evidence abstract (SUPPORT or CONTRADICT), and, of those citations, the share whose quote is one
of that abstract's gold rationale sentences. The index is kept in --index-dir and reused, so
only the first run embeds the corpus.

--half splits the training claims in two by id: `fit` (even ids) is where constants such as the
quote rule's (assistant/evidence.py) are chosen, `report` (odd ids) is where they are measured,
so a reported figure is not tuned on the claims it reports.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.api import Assistant  # noqa: E402
from assistant.retrieval import HybridRetriever  # noqa: E402
from benchmarks.cranfield import metrics  # noqa: E402
from ingest.pipeline import IngestReport, ingest_papers  # noqa: E402
from ingest.records import Paper  # noqa: E402
from ingest.settings import get_settings  # noqa: E402
from ingest.store import PaperIndex  # noqa: E402

SYSTEMS = {
    "BM25": dict(mode="bm25"),
    "dense (MiniLM)": dict(mode="dense"),
    "askpapers (hybrid RRF + feedback)": dict(mode="hybrid"),
}


def doc_id(raw) -> str:
    """The paper id askpapers gives a SciFact abstract (the id the CLI gives a `doc_id` field)."""
    return f"doc_id:{raw}"


def load(path: Path):
    """(papers, {doc id: sentences}, claims, {claim id: relevant doc ids})."""
    papers, sentences = [], {}
    for line in (path / "corpus.jsonl").read_text().splitlines():
        d = json.loads(line)
        pid = doc_id(d["doc_id"])
        sentences[pid] = [s.strip() for s in d["abstract"]]
        papers.append(Paper(title=d["title"].strip(), abstract=" ".join(sentences[pid]), paper_id=pid))
    claims = [json.loads(line) for line in (path / "claims_train.jsonl").read_text().splitlines()]
    qrels: dict[int, set[str]] = {}
    for line in (path / "qrels_train.tsv").read_text().splitlines()[1:]:
        qid, cid, score = line.split("\t")
        if int(score) > 0:
            qrels.setdefault(int(qid), set()).add(doc_id(cid))
    return papers, sentences, claims, qrels


def open_index(papers: list[Paper], index_dir: Path) -> PaperIndex:
    """The SciFact index in `index_dir`, embedding only what is not stored there yet."""
    index = PaperIndex(get_settings(index_dir=index_dir, collection="scifact"))
    started = time.perf_counter()
    report = IngestReport()
    ingest_papers(papers, index, report)
    if index.needs_commit():
        index.commit()
    print(f"index {index_dir}: {len(papers)} docs, {report.chunks_embedded} chunks embedded "
          f"in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return index


HALVES = {"fit": 0, "report": 1}  # claim id % 2


def half(claims: list[dict], name: str | None) -> list[dict]:
    """The claims of one half (`HALVES`), or all of them when `name` is None."""
    return claims if name is None else [c for c in claims if c["id"] % 2 == HALVES[name]]


def retrieval(index: PaperIndex, claims: list[dict], qrels: dict[int, set[str]]) -> dict[str, dict]:
    rows = {}
    for name, kw in SYSTEMS.items():
        retriever = HybridRetriever(index, **kw)
        ndcg = r100 = 0.0
        judged = [c for c in claims if c["id"] in qrels]
        for c in judged:
            ranked = [h.paper_id for h in retriever.search(c["claim"], k=100)]
            m = metrics(ranked, qrels[c["id"]])
            ndcg, r100 = ndcg + m["ndcg@10"], r100 + m["recall@100"]
        rows[name] = {"ndcg@10": ndcg / len(judged), "recall@100": r100 / len(judged), "claims": len(judged)}
    return rows


def _norm(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def is_rationale(quote: str, gold: list[str]) -> bool:
    """True when the quote is (a cut of) one of the gold sentences, or holds one whole."""
    q = _norm(quote)
    return bool(q) and any(g and (q in g or g in q) for g in map(_norm, gold))


def evidence(index_dir: Path, claims: list[dict], sentences: dict[str, list[str]]) -> dict:
    """Claim cited / rationale quoted, over the claims that have evidence."""
    assistant = Assistant(settings=get_settings(index_dir=index_dir, collection="scifact"))
    with_evidence = [c for c in claims if c["evidence"]]
    cited = quoted = refused = 0
    misses = {"not among the papers shown": 0, "refused, gold shown": 0, "answered from another paper": 0}
    for c in with_evidence:
        gold = {doc_id(d): [i for ev in evs for i in ev["sentences"]] for d, evs in c["evidence"].items()}
        answer = assistant.ask(c["claim"])
        refused += answer.refused
        hits = [cit for cit in answer.citations if cit.paper_id in gold]
        if not hits:
            shown = any(h.paper_id in gold for h in answer.papers)
            key = ("refused, gold shown" if answer.refused else "answered from another paper") if shown \
                else "not among the papers shown"
            misses[key] += 1
            continue
        cited += 1
        cit = hits[0]
        quoted += is_rationale(cit.quote, [sentences[cit.paper_id][i] for i in gold[cit.paper_id]])
    n = len(with_evidence)
    return {"claims": n, "claim_cited": cited / n, "rationale_quoted": quoted / max(cited, 1),
            "rationale_quoted_of_all": quoted / n, "refused": refused / n, "not_cited": misses}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", type=Path, help="directory with corpus.jsonl, claims_train.jsonl, qrels_train.tsv")
    ap.add_argument("--index-dir", type=Path, help="reuse/keep the index here (default: a temp dir)")
    ap.add_argument("--claims", type=int, help="only the first N claims (a quick look)")
    ap.add_argument("--half", choices=sorted(HALVES), help="only the claims with even (fit) or odd (report) ids")
    ap.add_argument("--build-only", action="store_true", help="build the index and stop")
    ap.add_argument("--no-evidence", action="store_true", help="retrieval figures only")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    papers, sentences, claims, qrels = load(args.data)
    claims = half(claims, args.half)
    claims = claims[: args.claims] if args.claims else claims
    index_dir = args.index_dir or Path(tempfile.mkdtemp(prefix="askpapers-scifact-"))
    index = open_index(papers, index_dir)
    if args.build_only:
        return 0
    rows = retrieval(index, claims, qrels)
    ev = None if args.no_evidence else evidence(index_dir, claims, sentences)
    if args.json:
        print(json.dumps({"retrieval": rows, "evidence": ev}))
        return 0
    print(f"{'system':<36}{'nDCG@10':>9}{'R@100':>8}   ({next(iter(rows.values()))['claims']} claims)")
    for name, r in rows.items():
        print(f"{name:<36}{r['ndcg@10']:>9.3f}{r['recall@100']:>8.3f}")
    if ev:
        print(f"\nevidence ({ev['claims']} claims with evidence): claim cited {ev['claim_cited']:.3f}, "
              f"rationale quoted {ev['rationale_quoted']:.3f} of those cited "
              f"({ev['rationale_quoted_of_all']:.3f} of all), refused {ev['refused']:.3f}")
        print("not cited: " + ", ".join(f"{k} {v}" for k, v in ev["not_cited"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
