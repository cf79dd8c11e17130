"""Retrieval evaluation on question sets in the dev-questions format (one JSON object a line).

Fields used: `id`, `type`, `question`, `gold_titles`, `history` (ids of earlier questions of the
same conversation, for follow-ups). Questions without gold titles (unanswerable) are skipped here.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from ingest.filters import AskpapersInputError
from ingest.records import normalise_title

from .turns import Turn


@dataclass
class Question:
    id: str
    type: str
    question: str
    gold_titles: list[str]
    answer_facts: list[str] = field(default_factory=list)
    history: list[str] = field(default_factory=list)


def load_questions(path: str | Path) -> list[Question]:
    """The questions of a JSONL file; `AskpapersInputError` naming the file (and line) when it
    cannot be read or a line is not a question record."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:  # missing, a directory, unreadable
        raise AskpapersInputError(f"{path}: cannot read the questions file ({exc.strerror or exc})") from None
    except UnicodeDecodeError as exc:
        raise AskpapersInputError(f"{path}: not UTF-8 (byte 0x{exc.object[exc.start]:02x} at offset {exc.start})") \
            from None
    questions = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            questions.append(Question(
                id=str(d["id"]), type=d.get("type", ""), question=d["question"],
                gold_titles=list(d.get("gold_titles") or []), answer_facts=list(d.get("answer_facts") or []),
                history=list(d.get("history") or []),
            ))
        except (ValueError, KeyError, TypeError) as exc:
            raise AskpapersInputError(f"{path}:{n}: not a question record ({exc})") from None
    return questions


def history_messages(q: Question, by_id: dict[str, Question]) -> list[dict]:
    """The earlier turns of a follow-up's conversation, as chat messages (questions only)."""
    return [{"role": "user", "content": by_id[h].question} for h in q.history if h in by_id]


@dataclass
class RetrievalResult:
    question: Question
    ranks: list[int | None]  # rank (1-based) of each gold paper in the results, None if absent
    seconds: float


def gold_ranks(gold_titles: list[str], hit_titles: list[str]) -> list[int | None]:
    keys = [normalise_title(t) for t in hit_titles]
    return [keys.index(normalise_title(g)) + 1 if normalise_title(g) in keys else None for g in gold_titles]


def evaluate_retrieval(assistant, questions: list[Question], k: int = 10) -> dict:
    by_id = {q.id: q for q in questions}
    results: list[RetrievalResult] = []
    for q in questions:
        if not q.gold_titles:
            continue
        started = time.perf_counter()
        hits = assistant.search_conversation(q.question, history_messages(q, by_id), k=k)
        results.append(RetrievalResult(q, gold_ranks(q.gold_titles, [h.title for h in hits]),
                                       time.perf_counter() - started))
    return summarise(results, k)


def summarise(results: list[RetrievalResult], k: int) -> dict:
    def recall_at(r: RetrievalResult, n: int) -> float:
        return sum(1 for x in r.ranks if x is not None and x <= n) / len(r.ranks)

    def first(r: RetrievalResult) -> float:
        found = [x for x in r.ranks if x is not None]
        return 1.0 / min(found) if found else 0.0

    n = len(results) or 1
    multi = [r for r in results if len(r.ranks) > 1]
    by_type: dict[str, list[RetrievalResult]] = {}
    for r in results:
        by_type.setdefault(r.question.type, []).append(r)
    times = sorted(r.seconds for r in results) or [0.0]
    return {
        "questions": len(results),
        "recall@1": sum(recall_at(r, 1) for r in results) / n,
        "recall@5": sum(recall_at(r, 5) for r in results) / n,
        "recall@10": sum(recall_at(r, 10) for r in results) / n,
        "mrr": sum(first(r) for r in results) / n,
        "multi_recall@10": (sum(recall_at(r, 10) for r in multi) / len(multi)) if multi else None,
        "by_type": {t: {"n": len(rs), "recall@5": sum(recall_at(r, 5) for r in rs) / len(rs),
                        "mrr": sum(first(r) for r in rs) / len(rs)} for t, rs in sorted(by_type.items())},
        "latency_p50_ms": 1000 * statistics.median(times),
        "misses": [{"id": r.question.id, "ranks": r.ranks} for r in results if recall_at(r, 5) < 1.0],
        "k": k,
    }


# ---------------------------------------------------------------- answers
def fact_present(fact: str, text: str) -> bool:
    """`a|b` means either; a bare number must match as a whole word; case-insensitive."""
    low = text.lower()
    for option in fact.split("|"):
        option = option.strip().lower()
        if not option:
            continue
        if re.fullmatch(r"[\d.,]+", option):
            if re.search(rf"(?<![\w.]){re.escape(option)}(?![\w]|\.\d)", low):
                return True
        elif option in low:
            return True
    return False


def evaluate_answers(assistant, questions: list[Question], k: int | None = None) -> dict:
    """Ask every question (follow-ups after their conversation) and score the answers."""
    by_id = {q.id: q for q in questions}
    answers: dict[str, object] = {}
    rows = []
    for q in questions:
        history: list[Turn] = []
        for hid in q.history:
            if hid in by_id:
                prev = answers.get(hid) or assistant.ask(by_id[hid].question, history=history or None, k=k)
                history.append(Turn.from_answer(prev))
        ans = assistant.ask(q.question, history=history or None, k=k)
        answers[q.id] = ans
        gold = {normalise_title(t) for t in q.gold_titles}
        cited = {normalise_title(c.title) for c in ans.citations} if not ans.refused else set()
        rows.append({
            "id": q.id, "type": q.type, "refused": ans.refused, "seconds": ans.seconds,
            "facts": [fact_present(f, ans.text) for f in q.answer_facts],
            "cited": len(cited), "cited_gold": len(cited & gold), "gold": len(gold),
            "warnings": list(ans.warnings),
        })
    answerable = [r for r in rows if r["gold"]]
    unanswerable = [r for r in rows if not r["gold"]]
    with_facts = [r for r in answerable if r["facts"]]
    cited_rows = [r for r in answerable if not r["refused"] and r["cited"]]
    multi = [r for r in answerable if r["type"] == "multi"]
    times = sorted(r["seconds"] for r in rows) or [0.0]
    ratio = lambda a, b: (a / b) if b else None  # noqa: E731
    return {
        "questions": len(rows),
        "facts_present": ratio(sum(sum(r["facts"]) / len(r["facts"]) for r in with_facts), len(with_facts)),
        "citation_precision": ratio(sum(r["cited_gold"] for r in cited_rows), sum(r["cited"] for r in cited_rows)),
        "multi_cited_recall": ratio(sum(r["cited_gold"] for r in multi), sum(r["gold"] for r in multi)),
        "unanswerable_refused": ratio(sum(r["refused"] for r in unanswerable), len(unanswerable)),
        "answerable_refused": ratio(sum(r["refused"] for r in answerable), len(answerable)),
        "latency_p50_ms": 1000 * statistics.median(times),
        "latency_p95_ms": 1000 * times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))],
        "rows": rows,
    }


def evaluate_follow_ups(path: str | Path) -> dict:
    """The follow-up / new-question decisions on a pairs set (tests/fixtures/followup_pairs.jsonl:
    `first`, `first_answer_title`, `second`, `follow_up`), each decided from the first question and
    the title its answer cited, as a chat has them: accuracy and the pairs decided wrong."""
    from .conversation import is_follow_up

    pairs = [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    wrong = []
    for p in pairs:
        previous = Turn(question=p["first"], cited_titles=[p["first_answer_title"]])
        if is_follow_up(p["second"], previous) != p["follow_up"]:
            wrong.append({"id": p["id"], "second": p["second"], "follow_up": p["follow_up"]})
    return {"pairs": len(pairs), "follow_ups": sum(1 for p in pairs if p["follow_up"]),
            "accuracy": 1 - len(wrong) / len(pairs) if pairs else None, "wrong": wrong}
