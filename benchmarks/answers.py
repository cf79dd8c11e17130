"""Answer quality and refusal calibration on a question set (dev-questions format).

    python benchmarks/answers.py QUESTIONS.jsonl --index-dir DIR

Runs offline (extractive) and, when an LLM is configured (ASKPAPERS_LLM_BASE_URL and
ASKPAPERS_LLM_MODEL, or ASKPAPERS_LLM_GGUF), in LLM mode too. Then sweeps the offline refusal
threshold to show how it was calibrated.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant import Assistant  # noqa: E402
from assistant.conversation import condense_offline  # noqa: E402
from assistant.evaluation import evaluate_answers, history_messages, load_questions  # noqa: E402
from assistant.settings import get_settings  # noqa: E402
from assistant.extractive import ANSWERABLE_THRESHOLD, LISTING_THRESHOLD, ExtractiveAnswerer, is_topical  # noqa: E402

ROWS = [("facts present", "facts_present"), ("citation precision", "citation_precision"),
        ("multi-paper cited recall", "multi_cited_recall"), ("unanswerable refused", "unanswerable_refused"),
        ("answerable refused", "answerable_refused"), ("latency p50 (ms)", "latency_p50_ms"),
        ("latency p95 (ms)", "latency_p95_ms")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("questions", type=Path)
    ap.add_argument("--index-dir", type=Path)
    ap.add_argument("--chroma-url")
    args = ap.parse_args()
    questions = load_questions(args.questions)

    settings = get_settings(index_dir=args.index_dir, chroma_url=args.chroma_url)
    offline = Assistant(settings=settings.model_copy(update={"llm_base_url": None, "llm_gguf": None}))
    offline.ask(questions[0].question)  # warm up
    results = {"offline": evaluate_answers(offline, questions)}
    online = Assistant(settings=settings)
    if online.settings.llm_base_url or online.settings.llm_gguf:
        results[online.settings.llm_model or str(online.settings.llm_gguf)] = evaluate_answers(online, questions)

    print(f"{'':<28}" + "".join(f"{name[:18]:>20}" for name in results))
    for label, key in ROWS:
        cells = []
        for r in results.values():
            v = r[key]
            cells.append("n/a" if v is None else (f"{v:.0f}" if "ms" in label else f"{v:.3f}"))
        print(f"{label:<28}" + "".join(f"{c:>20}" for c in cells))

    # refusal calibration: answerability of every question against the thresholds
    by_id = {q.id: q for q in questions}
    answerer = ExtractiveAnswerer(offline.scorer)
    scored = []
    for q in questions:
        standalone = condense_offline(q.question, history_messages(q, by_id))
        hits = offline.search(standalone, k=offline.settings.top_k)
        scored.append((answerer.answerability(standalone, hits), bool(q.gold_titles), is_topical(q.question)))
    print(f"\nrefusal threshold sweep (offline; listing and keyword queries use {LISTING_THRESHOLD}; "
          f"in use: {ANSWERABLE_THRESHOLD}; the quantity rule is not included here)")
    print(f"{'threshold':>10}{'unanswerable refused':>24}{'answerable refused':>22}")
    for t in [0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.95]:
        un = [s < (LISTING_THRESHOLD if listing else t) for s, ans, listing in scored if not ans]
        an = [s < (LISTING_THRESHOLD if listing else t) for s, ans, listing in scored if ans]
        mark = "  <- in use" if abs(t - ANSWERABLE_THRESHOLD) < 1e-9 else ""
        print(f"{t:>10.2f}{sum(un) / max(1, len(un)):>24.3f}{sum(an) / max(1, len(an)):>22.3f}{mark}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
