"""How small can the LLM prompt be? Prompt tokens and answer facts that reach it, by evidence budget.

    python benchmarks/prompt_facts.py QUESTIONS.jsonl... --index-dir DIR [--budgets 250 300 350 400] [--json]

For every single-turn question with `answer_facts`, the prompt askpapers would send an LLM
(`generative.answer_messages`: the evidence sentences within the budget, the offline answer's
sentences first) is built for each budget, and once with whole abstracts (the budget unbounded),
and scored like an answer: how many of the question's facts it holds (`evaluation.fact_present`),
how many tokens it has (tiktoken cl100k, system and user messages), and how many of the gold
papers got at least one sentence (also for the multi-paper questions, which have no facts). No LLM is called: a fact missing from the prompt is one no
model can give, and the prompt's size sets a local model's time to first token.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant import Assistant  # noqa: E402
from assistant.evaluation import fact_present, load_questions  # noqa: E402
from assistant.extractive import ExtractiveAnswerer  # noqa: E402
from assistant.generative import answer_messages, count_tokens, pick_evidence, quoted_by  # noqa: E402

WHOLE = 10**6  # a budget no abstract reaches: whole abstracts


def measure(assistant, questions, budgets: list[int]) -> dict[int, dict]:
    offline = ExtractiveAnswerer(assistant.scorer)
    rows: dict[int, dict] = {b: {"questions": 0, "tokens": [], "facts": 0, "facts_total": 0, "gold_shown": 0,
                                 "gold_total": 0, "multi_gold_shown": 0, "multi_gold_total": 0}
                             for b in [*budgets, WHOLE]}
    for q in questions:
        multi = len(q.gold_titles) > 1  # a question several papers answer: each needs its sentence
        if q.history or not (q.answer_facts or multi):
            continue
        hits = assistant.search(q.question, k=assistant.settings.top_k)
        evidence = assistant.scorer.score(q.question, hits)
        first = quoted_by(offline.answer(q.question, hits), hits, evidence)
        gold = [i for i, h in enumerate(hits) if h.title in q.gold_titles]
        for budget, row in rows.items():
            text = "\n".join(m["content"] for m in answer_messages(q.question, hits, evidence, budget, first))
            chosen = pick_evidence(hits, evidence, budget, first)
            shown = sum(1 for i in gold if chosen.get(i))
            if multi:
                row["multi_gold_shown"] += shown
                row["multi_gold_total"] += len(gold)
            if not q.answer_facts:
                continue
            row["questions"] += 1
            row["tokens"].append(count_tokens(text))
            row["facts"] += sum(fact_present(f, text) for f in q.answer_facts)
            row["facts_total"] += len(q.answer_facts)
            row["gold_shown"] += shown
            row["gold_total"] += len(gold)
    whole = statistics.median(rows[WHOLE]["tokens"]) if rows[WHOLE]["tokens"] else 0
    for row in rows.values():
        row["tokens_p50"] = statistics.median(row["tokens"]) if row["tokens"] else 0
        row["of_whole"] = row["tokens_p50"] / whole if whole else 0
        del row["tokens"]
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("questions", nargs="+", type=Path, help="question sets (dev-questions format)")
    ap.add_argument("--index-dir", type=Path, required=True)
    ap.add_argument("--budgets", type=int, nargs="+", default=[250, 300, 350, 400])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    assistant = Assistant(index_dir=args.index_dir)
    result = {str(path): measure(assistant, load_questions(path), args.budgets) for path in args.questions}
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"{'questions':28s} {'budget':>8s} {'prompt p50':>10s} {'× whole':>8s} {'facts in prompt':>16s} "
          f"{'gold with a sentence':>21s} {'multi: gold with a sentence':>28s}")
    for path, rows in result.items():
        for budget, r in rows.items():
            name = "whole abstracts" if budget == WHOLE else str(budget)
            print(f"{Path(path).name[:28]:28s} {name:>8s} {r['tokens_p50']:10.0f} {r['of_whole']:8.2f} "
                  f"{r['facts']:>9}/{r['facts_total']:<6} {r['gold_shown']:>14}/{r['gold_total']:<6} "
                  f"{r['multi_gold_shown']:>21}/{r['multi_gold_total']:<6}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
