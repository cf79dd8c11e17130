"""Answer quality and refusal calibration on a question set (dev-questions format).

    python benchmarks/answers.py QUESTIONS.jsonl --index-dir DIR

Runs offline (extractive) and, when an LLM is configured (ASKPAPERS_LLM_BASE_URL and
ASKPAPERS_LLM_MODEL, or ASKPAPERS_LLM_GGUF), in LLM mode too. Then reports the offline
answerability rule on the same questions (and, with --scifact, on the SciFact calibration set):
ROC AUC of each feature, refusal rates both ways, and the calibration curve (see
benchmarks/answerability.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant import Assistant  # noqa: E402
from assistant.evaluation import evaluate_answers, load_questions  # noqa: E402
from assistant.settings import get_settings  # noqa: E402
from benchmarks.answerability import measure, print_report, report, sample_items, scifact_sets  # noqa: E402

ROWS = [("facts present", "facts_present"), ("citation precision", "citation_precision"),
        ("multi-paper cited recall", "multi_cited_recall"), ("unanswerable refused", "unanswerable_refused"),
        ("answerable refused", "answerable_refused"), ("latency p50 (ms)", "latency_p50_ms"),
        ("latency p95 (ms)", "latency_p95_ms")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("questions", type=Path)
    ap.add_argument("--index-dir", type=Path)
    ap.add_argument("--chroma-url")
    ap.add_argument("--scifact", nargs="*", type=Path, help="also report answerability on SciFact (directory)")
    ap.add_argument("--cache-dir", type=Path, default=Path(".cache/answerability"),
                    help="where the SciFact index is built once and reused")
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

    # answerability on this set (and on SciFact when given): AUC, refusal rates, calibration curve
    sets = {args.questions.stem: sample_items(offline, args.questions)}
    measure(offline, sets[args.questions.stem])
    for data in args.scifact or []:
        sets.update(scifact_sets(data, args.cache_dir))
    print()
    print_report(report(sets))
    return 0


if __name__ == "__main__":
    sys.exit(main())
