"""Answerability: does each candidate feature tell answerable questions from near misses, and where
does the refusal rule cut? Calibration sets the answerer was not developed on, in one run.

    python benchmarks/answerability.py ../shared/benchmarks/scifact [--cache-dir DIR] [--json]
        [--rule-only] [--no-abbreviations]

`--rule-only` measures the rule in use alone (search only, no sentence scoring: about ten times
faster); `--no-abbreviations` switches off `answerability.said_otherwise` to measure what it adds.

Sets (each question labelled answerable or not):
* `dev`, `held-out`: tests/fixtures/dev_questions.jsonl and heldout_questions.jsonl over the
  bundled sample pages (answerable = has gold titles; the others must be refused);
* `scifact-A`, `scifact-B`: a directory holding SciFact's corpus.jsonl and claims_train.jsonl.
  Each training claim is asked as "Do studies show that <claim>?" over the whole 5,183-abstract
  corpus: a claim whose cited abstract has evidence sentences is answerable; one whose cited
  abstract does not settle it is a near miss (the paper exists, the detail does not) and must
  be refused. The claims are split by id parity into two folds.

For each set: the ROC AUC of every feature of `assistant.answerability.features` and of the rule
in use (`extractive.decide`), its refusal rates both ways, and the calibration curve (refusal
rates against the threshold). `--fit FEATURE...` fits a logistic combination of those features
on dev + scifact-A, sets its threshold by the rule "the highest at which no fitting set refuses
more than 5% of its answerable questions", and reports it on every set, held-out and scifact-B
never fitted on. Indexes are built once into --cache-dir (the SciFact corpus takes about 35
minutes to embed on the shared cores) and reused.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant import Assistant  # noqa: E402
from assistant.answerability import features  # noqa: E402
from assistant.evaluation import load_questions  # noqa: E402
from assistant.extractive import ANSWERABLE_THRESHOLD, LISTING_THRESHOLD, combined, threshold_for  # noqa: E402
from assistant.settings import get_settings  # noqa: E402
from ingest.pipeline import IngestReport, ingest, ingest_papers  # noqa: E402
from ingest.records import Paper  # noqa: E402
from ingest.store import PaperIndex  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "examples" / "daily-papers"
QUESTION_SETS = {"dev": ROOT / "tests/fixtures/dev_questions.jsonl",
                 "held-out": ROOT / "tests/fixtures/heldout_questions.jsonl"}
FIT_SETS = ("dev", "scifact-A")  # the rule is fitted on these and reported on the others
MAX_ANSWERABLE_REFUSED = 0.05
CURVE = [round(0.05 * i, 2) for i in range(8, 25)]


@dataclass
class Item:
    """One calibration question: what is asked, what it is judged on, and its label."""

    question: str
    standalone: str
    answerable: bool
    features: dict[str, float] | None = None
    refused: bool = False  # by the rule in use (its threshold depends on the kind of question)


# ---------------------------------------------------------------- sets
def sample_items(assistant: Assistant, path: Path) -> list[Item]:
    """The questions of a dev-format set; a follow-up is judged on the standalone question the
    assistant makes of it after its conversation (asked as `evaluate_answers` asks it)."""
    questions = load_questions(path)
    by_id = {q.id: q for q in questions}
    items = []
    for q in questions:
        standalone = q.question
        if q.history:
            history = []
            for hid in (h for h in q.history if h in by_id):
                prev = assistant.ask(by_id[hid].question)
                history += [{"role": "user", "content": by_id[hid].question},
                            {"role": "assistant", "content": prev.text}]
            standalone = assistant.ask(q.question, history=history).standalone_question or q.question
        items.append(Item(q.question, standalone, bool(q.gold_titles)))
    return items


def scifact_items(data: Path) -> tuple[list[Paper], dict[str, list[Item]]]:
    """The corpus as papers, and the training claims as two folds of questions."""
    try:
        docs = [json.loads(line) for line in (data / "corpus.jsonl").read_text(encoding="utf-8").splitlines() if line]
        claims = [json.loads(line) for line in (data / "claims_train.jsonl").read_text(encoding="utf-8").splitlines()
                  if line]
    except (OSError, ValueError) as exc:
        raise SystemExit(f"{data}: not a SciFact directory (corpus.jsonl, claims_train.jsonl): {exc}") from None
    papers = [Paper(title=d["title"].strip() or f"SciFact {d['doc_id']}",
                    abstract=" ".join(s.strip() for s in d["abstract"]), paper_id=f"scifact:{d['doc_id']}")
              for d in docs]
    folds: dict[str, list[Item]] = {"scifact-A": [], "scifact-B": []}
    for c in claims:
        claim = c["claim"].strip().rstrip(".")
        q = f"Do studies show that {claim[0].lower() + claim[1:] if claim[1:2].islower() else claim}?"
        folds["scifact-A" if c["id"] % 2 == 0 else "scifact-B"].append(Item(q, q, bool(c["evidence"])))
    return papers, folds


def open_index(cache: Path, name: str, build) -> Assistant:
    """The assistant over the cached index `name`, built by `build(index)` when missing."""
    settings = get_settings(index_dir=cache / name, collection=name, llm_base_url=None, llm_gguf=None)
    assistant = Assistant(settings=settings)
    if assistant.is_empty():
        print(f"building the {name} index in {cache / name} (once) ...", file=sys.stderr)
        build(PaperIndex(settings))
        assistant = Assistant(settings=settings)
    return assistant


def _ingest_papers(papers: list[Paper]):
    def build(index: PaperIndex) -> None:
        ingest_papers(papers, index, IngestReport(), progress=False)
        index.commit()
    return build


def scifact_sets(data: Path, cache: Path) -> dict[str, list[Item]]:
    """The two SciFact folds, measured over the cached SciFact index (built on first use)."""
    papers, folds = scifact_items(data)
    assistant = open_index(cache, "scifact", _ingest_papers(papers))
    for items in folds.values():
        measure(assistant, items)
    return folds


# ---------------------------------------------------------------- measuring
RULE_ONLY = False  # --rule-only: measure the rule in use alone (no sentence scoring: search only)


def measure(assistant: Assistant, items: list[Item]) -> None:
    """Fill each item's features and the decision of the rule in use."""
    for item in items:
        hits = assistant.search(item.standalone, k=assistant.settings.top_k)
        if RULE_ONLY:  # the rule reads the papers' dense scores and terms, not their sentences
            item.features = {"old rule": features(assistant.scorer, item.standalone, hits, [])["old rule"]}
        else:
            evidence = assistant.scorer.score(item.standalone, hits)
            item.features = features(assistant.scorer, item.standalone, hits, evidence)
        item.features["rule in use"] = combined(item.features)
        item.refused = item.features["rule in use"] < threshold_for(item.question)


def auc(scores: list[float], labels: list[bool]) -> float | None:
    """ROC AUC: the chance that an answerable question scores above an unanswerable one (ties half)."""
    pos = [s for s, y in zip(scores, labels) if y]
    neg = [s for s, y in zip(scores, labels) if not y]
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def refusal_rates(scores: list[float], labels: list[bool], threshold: float) -> tuple[float, float]:
    """(answerable refused, unanswerable refused) when refusing below `threshold`."""
    ans = [s < threshold for s, y in zip(scores, labels) if y]
    una = [s < threshold for s, y in zip(scores, labels) if not y]
    return sum(ans) / max(1, len(ans)), sum(una) / max(1, len(una))


def fit(sets: dict[str, list[Item]], names: list[str], l2: float = 0.01) -> tuple[dict[str, float], float]:
    """Logistic regression of answerable on `names`, over the FIT_SETS only (Newton steps).

    Every (set, label) group weighs the same in total, so SciFact's hundreds of claims do not
    drown the dev set, and answerable and near-miss questions count equally."""
    rows = [(i, name) for name in FIT_SETS if name in sets for i in sets[name]]
    groups: dict[tuple[str, bool], int] = {}
    for item, name in rows:
        groups[(name, item.answerable)] = groups.get((name, item.answerable), 0) + 1
    x = np.array([[1.0] + [item.features[f] for f in names] for item, _n in rows])
    y = np.array([float(item.answerable) for item, _n in rows])
    w = np.array([1.0 / groups[(name, item.answerable)] for item, name in rows])
    beta = np.zeros(x.shape[1])
    penalty = l2 * np.eye(x.shape[1])
    penalty[0, 0] = 0.0
    for _ in range(50):
        p = 1 / (1 + np.exp(-x @ beta))
        grad = x.T @ (w * (y - p)) - penalty @ beta
        hess = (x * (w * p * (1 - p))[:, None]).T @ x + penalty
        step = np.linalg.solve(hess, grad)
        beta += step
        if np.abs(step).max() < 1e-9:
            break
    return dict(zip(names, beta[1:].round(3).tolist())), round(float(beta[0]), 3)


def rule_threshold(sets: dict[str, list[Item]], key: str = "rule in use") -> float:
    """The rule: the highest threshold at which no fitting set refuses more than
    MAX_ANSWERABLE_REFUSED of its answerable questions (refusing below the threshold)."""
    limits = []
    for name in FIT_SETS:
        scores = sorted(i.features[key] for i in sets.get(name, []) if i.answerable)
        if scores:
            limits.append(scores[int(MAX_ANSWERABLE_REFUSED * len(scores))])
    return min(limits) if limits else 0.0


def refit(sets: dict[str, list[Item]], names: list[str]) -> None:
    """Fit the combination on `names`, set the threshold by the rule, and add the result to every
    item as the feature "refitted" (reported beside the rule in use)."""
    unknown = set(names) - set(next(iter(sets.values()))[0].features)
    if unknown:
        raise SystemExit(f"--fit: unknown feature(s) {', '.join(sorted(unknown))}")
    weights, bias = fit(sets, names)
    for item in (i for items in sets.values() for i in items):
        item.features["refitted"] = 1 / (1 + np.exp(-(bias + sum(w * item.features[n] for n, w in weights.items()))))
    print(f"refitted on {' + '.join(FIT_SETS)}: weights {weights}, bias {bias}; threshold by the rule: "
          f"{math.floor(1000 * rule_threshold(sets, 'refitted')) / 1000:.3f}", file=sys.stderr)


def report(sets: dict[str, list[Item]]) -> dict:
    """AUC of every feature, refusal rates of each rule, and the calibration curve, per set."""
    names = list(next(iter(sets.values()))[0].features)
    rules = {"refitted": rule_threshold(sets, "refitted")} if "refitted" in names else {}
    out: dict = {"sets": {}, "thresholds": rules, "curve": {}}
    for name, items in sets.items():
        labels = [i.answerable for i in items]
        ans = [i.refused for i in items if i.answerable]
        una = [i.refused for i in items if not i.answerable]
        rates = {"rule in use": (sum(ans) / max(1, len(ans)), sum(una) / max(1, len(una)))}
        for rule, threshold in rules.items():
            rates[rule] = refusal_rates([i.features[rule] for i in items], labels, threshold)
        out["sets"][name] = {
            "answerable": sum(labels), "unanswerable": len(labels) - sum(labels),
            "auc": {f: auc([i.features[f] for i in items], labels) for f in names},
            "refused": {rule: {"answerable": a, "unanswerable": u} for rule, (a, u) in rates.items()},
        }
        used = [i.features["rule in use"] for i in items]
        out["curve"][name] = [(t, *refusal_rates(used, labels, t)) for t in CURVE]
    return out


def print_report(out: dict) -> None:
    sets = out["sets"]
    print(f"{'ROC AUC':<34}" + "".join(f"{n:>12}" for n in sets))
    sizes = [f"{s['answerable']}/{s['unanswerable']}" for s in sets.values()]
    print(f"{'(answerable / unanswerable)':<34}" + "".join(f"{n:>12}" for n in sizes))
    for f in next(iter(sets.values()))["auc"]:
        print(f"{f:<34}" + "".join(f"{'n/a' if s['auc'][f] is None else format(s['auc'][f], '.3f'):>12}"
                                   for s in sets.values()))
    print("\nrefusal rates: answerable refused / unanswerable refused (the rule in use: below "
          f"{ANSWERABLE_THRESHOLD}, {LISTING_THRESHOLD} for topical questions"
          + "".join(f"; {r} refuses below {math.floor(1000 * t) / 1000:.3f}" for r, t in out["thresholds"].items())
          + ")")
    for rule in next(iter(sets.values()))["refused"]:
        cells = [f"{s['refused'][rule]['answerable']:>6.3f}/{s['refused'][rule]['unanswerable']:<5.3f}"
                 for s in sets.values()]
        print(f"{rule:<34}" + "".join(cells))
    in_use = ANSWERABLE_THRESHOLD
    print("\ncalibration curve of the rule's score, one threshold for every question: "
          "threshold → answerable refused / unanswerable refused")
    print(f"{'threshold':<34}" + "".join(f"{n:>12}" for n in sets))
    for k, t in enumerate(CURVE):
        mark = "  <- nearest to the threshold in use" if abs(t - in_use) <= 0.025 else ""
        print(f"{t:<34.2f}" + "".join(f"{c[k][1]:>6.3f}/{c[k][2]:<5.3f}" for c in out["curve"].values()) + mark)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data", nargs="*", type=Path, help="SciFact directory (corpus.jsonl, claims_train.jsonl)")
    ap.add_argument("--cache-dir", type=Path, default=Path(".cache/answerability"),
                    help="where the indexes are built once and reused")
    ap.add_argument("--fit", nargs="+", metavar="FEATURE",
                    help="refit the combination on these features (on dev + scifact-A) and report it too")
    ap.add_argument("--rule-only", action="store_true",
                    help="measure the rule in use alone: no sentence features (about ten times faster)")
    ap.add_argument("--no-abbreviations", action="store_true",
                    help="without matching abbreviations (K400 / Kinetics-400), to measure what that adds")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    global RULE_ONLY
    RULE_ONLY = args.rule_only
    if args.no_abbreviations:
        import assistant.answerability

        assistant.answerability.said_otherwise = lambda question, text: set()
    sets: dict[str, list[Item]] = {}
    samples = open_index(args.cache_dir, "samples", lambda index: ingest([SAMPLES], index=index, progress=False))
    for name, path in QUESTION_SETS.items():
        sets[name] = sample_items(samples, path)
        measure(samples, sets[name])
    for data in args.data:
        if (data / "claims_train.jsonl").is_file():
            sets.update(scifact_sets(data, args.cache_dir))
        else:
            print(f"{data}: skipped (no answerability labels can be derived from it; SciFact directories hold "
                  f"claims_train.jsonl)", file=sys.stderr)
    if args.fit:
        refit(sets, args.fit)
    out = report(sets)
    if args.json:
        print(json.dumps(out))
    else:
        print_report(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
