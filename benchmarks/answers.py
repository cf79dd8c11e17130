"""Answers side by side: askpapers offline, askpapers with an LLM, and a plain llama-index peer.

    python benchmarks/answers.py QUESTIONS.jsonl --index-dir DIR [--llm-base-url URL --llm-model M]
    python benchmarks/answers.py --scifact-claims ../shared/benchmarks/scifact --claims 16 \\
        --index-dir /tmp/scifact-index-k --collection scifact --llm-base-url URL --llm-model M

Every question is asked of every system in turn: askpapers offline, askpapers with the LLM, and
llama-index's `CitationQueryEngine` with the same LLM (`OpenAILike`), the same MiniLM embeddings
and top 5 (see benchmarks/llm_peer.py). The LLM comes from --llm-base-url/--llm-model, else from
ASKPAPERS_LLM_BASE_URL / ASKPAPERS_LLM_MODEL (or ASKPAPERS_LLM_GGUF); without one only the offline
answerer runs. All are scored by the offline eval's scorer (`evaluate_answers`, as `askpapers
eval --answers`): facts present, citation precision, multi-paper cited recall, refusals both
ways; plus answers without a citation, prompt tokens, seconds to the first token and in all (p50).

Each answer is appended to --out (JSONL) as soon as it is written, so a run cut short still gives
a table: --resume continues it, --report-only prints the table of what is there. The SciFact mode
asks "Do studies show that <claim>?" for claims whose evidence supports them (answerable: the
cited abstract should be an evidence document) and for claims without evidence (near misses:
they should be refused). In question-file mode the offline answerability calibration follows
(benchmarks/answerability.py; --scifact DIR adds the SciFact calibration sets), and --pairs FILE
adds the follow-up / new-question decisions on a pairs set.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.answers import EXTRACTIVE_MODE, Answer, Citation  # noqa: E402
from assistant.turns import Turn  # noqa: E402
from assistant.evaluation import Question, evaluate_answers, load_questions  # noqa: E402
from assistant.settings import get_settings  # noqa: E402

ROWS = [("facts present", "facts_present"), ("citation precision", "citation_precision"),
        ("multi-paper cited recall", "multi_cited_recall"), ("answerable refused", "answerable_refused"),
        ("unanswerable refused", "unanswerable_refused"), ("answers without a citation", "uncited"),
        ("prompt tokens p50", "prompt_tokens_p50"), ("first token p50 (s)", "first_token_p50"),
        ("total p50 (s)", "total_p50"), ("failures", "failures"), ("offline text shown", "offline_shown")]
_FELL_BACK = " s: showing the offline answer"  # GenerativeAnswerer's warning after an LLM failure


# ---------------------------------------------------------------- questions
def select(questions: list[Question], every: int = 1, limit: int | None = None) -> list[Question]:
    """Every `every`-th question (the first `limit` of those), plus the earlier questions of a
    chosen follow-up's conversation (it cannot be asked without them), in file order."""
    chosen = questions[::every][:limit]
    wanted = {q.id for q in chosen} | {h for q in chosen for h in q.history}
    return [q for q in questions if q.id in wanted]


def claim_question(claim: str) -> str:
    """A SciFact claim as a question: "Do studies show that <claim>?"."""
    claim = claim.strip().rstrip(".")
    return f"Do studies show that {claim[0].lower() + claim[1:] if claim[1:2].islower() else claim}?"


def spread(items: list, n: int) -> list:
    """`n` items evenly spread over `items` (a fixed sample, no randomness)."""
    if n >= len(items):
        return list(items)
    return [items[i * len(items) // n] for i in range(n)]


def scifact_questions(data: Path, n: int) -> list[Question]:
    """`n` SciFact training claims as questions, two thirds with supporting evidence (gold: the
    evidence abstracts' titles), one third without evidence (unanswerable near misses)."""
    try:
        titles = {}
        for line in (data / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
            d = json.loads(line)
            titles[str(d["doc_id"])] = d["title"].strip()
        claims = [json.loads(line) for line in (data / "claims_train.jsonl").read_text(encoding="utf-8").splitlines()
                  if line.strip()]
    except (OSError, ValueError, KeyError) as exc:
        raise SystemExit(f"{data}: not a SciFact directory (corpus.jsonl, claims_train.jsonl): {exc}") from None
    claims.sort(key=lambda c: c["id"])
    supported = [c for c in claims if c["evidence"]
                 and all(e["label"] == "SUPPORT" for ev in c["evidence"].values() for e in ev)]
    near = [c for c in claims if not c["evidence"]]
    n_supported = round(n * 2 / 3)
    out = [Question(f"scifact-{c['id']}", "fact", claim_question(c["claim"]),
                    [titles[d] for d in c["evidence"] if d in titles]) for c in spread(supported, n_supported)]
    out += [Question(f"scifact-{c['id']}", "unanswerable", claim_question(c["claim"]), [])
            for c in spread(near, n - n_supported)]
    return out


# ---------------------------------------------------------------- the run file
def key_of(question: str, history=None) -> str:
    """What identifies one asking: the question and the questions of the conversation before it."""
    return "\x1e".join([t.question for t in history or []] + [question])


def asked_keys(questions: list[Question]) -> list[str]:
    """The key each question is asked with when `questions` are asked in order (a follow-up after
    the earlier questions of its conversation that are among them)."""
    by_id = {q.id: q for q in questions}
    return [key_of(q.question, [Turn(by_id[h].question) for h in q.history if h in by_id]) for q in questions]


def answer_record(answer: Answer) -> dict:
    """What the run file keeps of an answer (all the scorer reads, without the papers)."""
    d = answer.to_dict()
    d.pop("papers")
    return d


def to_answer(d: dict) -> Answer:
    return Answer(d["question"], d["text"], [Citation(**c) for c in d["citations"]], refused=d["refused"],
                  mode=d["mode"], warnings=d["warnings"], standalone_question=d.get("standalone_question"),
                  seconds=d["seconds"], draft=d.get("draft"))


def read_run(path: Path) -> list[dict]:
    """The records of a run file; a last line cut short by a kill is ignored."""
    if not path.exists():
        return []
    records = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue
    return records


class Replay:
    """One system's recorded answers, asked again by `evaluate_answers` (which asks, then scores)."""

    def __init__(self, records: list[dict]) -> None:
        self.by_key = {r["key"]: r for r in records}

    def ask(self, question: str, history=None, k=None) -> Answer:
        return to_answer(self.by_key[key_of(question, history)]["answer"])


def run(systems: list, questions: list[Question], out: Path, done: list[dict]) -> None:
    """Ask every question of every system (follow-ups after their conversation, as
    `evaluate_answers` asks them), appending each answer to `out` as soon as it is written. Each
    record keeps the answer's `Turn` (with the cited paper ids), so a resumed run asks a follow-up
    with the same conversation as an unbroken one."""
    have = {(r["system"], r["key"]) for r in done}
    turns: dict[str, dict[str, Turn]] = {s.name: {} for s in systems}  # the conversation so far, by id
    for r in done:
        if r["system"] in turns:  # (records without a turn, from older runs, lack the cited papers)
            turn = r.get("turn")
            turns[r["system"]][r["id"]] = Turn.from_dict(turn) if turn else Turn.from_answer(to_answer(r["answer"]))
    by_id = {q.id: q for q in questions}
    cut = out.exists() and out.stat().st_size and not out.read_bytes().endswith(b"\n")
    with out.open("a", encoding="utf-8") as f:
        if cut:  # the last line of a killed run: end it, so the next record starts a line of its own
            f.write("\n")
        for i, q in enumerate(questions, start=1):
            for system in systems:
                mine = turns[system.name]
                history = [mine[h] for h in q.history if h in by_id and h in mine]
                key = key_of(q.question, history)
                if (system.name, key) in have:
                    continue
                record = ask_one(system, q, history, key)
                mine[q.id] = Turn.from_dict(record["turn"])
                f.write(json.dumps(record, ensure_ascii=False) + "\n")
                f.flush()
                a = record["answer"]
                verdict = "refused" if a["refused"] else f"{len(a['citations'])} cited"
                print(f"[{i}/{len(questions)}] {q.id} {system.name}: {record['total']:.1f} s, {verdict}"
                      f"{', ' + record['error'] if record['error'] else ''}", file=sys.stderr)


def ask_one(system, q: Question, history: list[Turn], key: str) -> dict:
    """One answer as a run-file record; a failure of the system is recorded (as a refusal with
    the error), not raised, so one bad reply does not end a run of hours."""
    try:
        timed = system.ask(q.question, history=history or None)
        return {"system": system.name, "id": q.id, "key": key, "answer": answer_record(timed.answer),
                "first_token": timed.first_token, "total": timed.total, "prompt_tokens": timed.prompt_tokens,
                "sources": timed.sources, "turn": Turn.from_answer(timed.answer).to_dict(), "error": None}
    except Exception as exc:  # noqa: BLE001 - recorded and counted, see above
        error = f"{type(exc).__name__}: {str(exc)[:200]}"
        answer = Answer(q.question, "", refused=True, mode=system.name, warnings=[error])
        return {"system": system.name, "id": q.id, "key": key, "answer": answer_record(answer),
                "first_token": None, "total": 0.0, "prompt_tokens": None, "sources": [],
                "turn": Turn.from_answer(answer).to_dict(), "error": error}


# ---------------------------------------------------------------- scoring
def p50(values: list) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def score(records: list[dict], questions: list[Question]) -> dict[str, dict]:
    """Per system, over the questions every system has answered: `evaluate_answers`' figures on
    the recorded answers, plus uncited answers, prompt tokens, first token and total (p50)."""
    systems = list(dict.fromkeys(r["system"] for r in records))
    answered = {s: {r["id"] for r in records if r["system"] == s} for s in systems}
    common = [q for q in questions if all(q.id in ids for ids in answered.values())]
    results = {}
    for s in systems:
        mine = [r for r in records if r["system"] == s]
        result = evaluate_answers(Replay(mine), common)
        by_key = {r["key"]: r for r in mine}
        rows = [by_key[key] for key in asked_keys(common)]  # the records evaluate_answers scored
        shown = [r for r in rows if not r["answer"]["refused"]]
        result.update({
            "system": s,
            "uncited": (sum(not r["answer"]["citations"] for r in shown) / len(shown)) if shown else None,
            "prompt_tokens_p50": p50([r["prompt_tokens"] for r in rows]),
            "first_token_p50": p50([r["first_token"] for r in rows]),
            "total_p50": p50([r["total"] for r in rows]),
            "failures": sum(bool(r["error"]) or any(_FELL_BACK in w for w in r["answer"]["warnings"]) for r in rows),
            "offline_shown": (sum(r["answer"]["mode"] == EXTRACTIVE_MODE for r in rows)
                              if any(r["answer"].get("draft") for r in rows) else None),  # LLM answerers only
            "errors": [{"id": r["id"], "error": r["error"]} for r in rows if r["error"]],
        })
        results[s] = result
    return results


def print_table(results: dict[str, dict]) -> None:
    n = next(iter(results.values()))["questions"] if results else 0
    print(f"{n} questions answered by every system")
    width = max([20] + [len(name) + 2 for name in results])
    print(f"{'':<28}" + "".join(f"{name:>{width}}" for name in results))
    for label, key in ROWS:
        cells = []
        for r in results.values():
            v = r[key]
            if v is None:
                cells.append("n/a")
            elif key in ("prompt_tokens_p50", "failures", "offline_shown"):
                cells.append(f"{v:.0f}")
            elif key.endswith("p50"):
                cells.append(f"{v:.1f}")
            else:
                cells.append(f"{v:.3f}")
        print(f"{label:<28}" + "".join(f"{c:>{width}}" for c in cells))


# ---------------------------------------------------------------- main
def build_systems(settings, cache_dir: Path, peer: bool, replay: Path | None = None) -> list:
    """askpapers offline; with the configured LLM, askpapers with it and the llama-index peer;
    with `replay` (a run file), askpapers with that run's recorded LLM replies (benchmarks/replay.py)."""
    from assistant.llm import Limits, client_from_settings
    from benchmarks.llm_peer import AskpapersSystem, CitationEnginePeer, CountingClient

    offline = AskpapersSystem("askpapers offline", settings)
    offline.assistant.search("warm up")  # loads the models, so the first question's time is its own
    systems = [offline]
    if replay is not None:
        from benchmarks.replay import replay_system

        return [*systems, replay_system(settings, read_run(replay), replay)]
    plain = client_from_settings(settings)
    if plain is None:
        return systems
    client = CountingClient(plain.base_url, plain.model, settings.llm_api_key, Limits.from_settings(settings),
                            settings.llm_retries)
    systems.append(AskpapersSystem(f"askpapers + {client.model}", settings, client))
    if peer:
        systems.append(CitationEnginePeer(f"llama-index CitationQueryEngine + {client.model}", offline.assistant,
                                          client.base_url, client.model, settings.llm_api_key, cache_dir))
    return systems


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("questions", type=Path, nargs="?", help="a question set (dev-questions format)")
    ap.add_argument("--scifact-claims", type=Path, metavar="DIR", help="ask SciFact training claims instead")
    ap.add_argument("--claims", type=int, default=16, help="SciFact claims to ask (default 16)")
    ap.add_argument("--index-dir", type=Path)
    ap.add_argument("--chroma-url")
    ap.add_argument("--collection")
    ap.add_argument("--llm-base-url")
    ap.add_argument("--llm-model")
    ap.add_argument("--no-peer", action="store_true", help="skip the llama-index CitationQueryEngine peer")
    ap.add_argument("--every", type=int, default=1, help="ask every N-th question (default: all)")
    ap.add_argument("--limit", type=int, help="ask at most N questions (of those --every picks)")
    ap.add_argument("--out", type=Path, help="the run file (JSONL, one answer a line); "
                                              "default .cache/answers/<set>.jsonl")
    ap.add_argument("--resume", action="store_true", help="keep the answers already in --out, ask the rest")
    ap.add_argument("--report-only", action="store_true", help="print the table of --out, ask nothing")
    ap.add_argument("--replay", type=Path, metavar="RUN",
                    help="answer with the LLM replies recorded in RUN (an earlier --llm-base-url run), "
                         "through the current code: no LLM is called (see benchmarks/replay.py)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    ap.add_argument("--scifact", nargs="*", type=Path, help="also report answerability on SciFact (directory)")
    ap.add_argument("--no-calibration", action="store_true", help="skip the answerability calibration report")
    ap.add_argument("--pairs", type=Path, metavar="PAIRS.jsonl",
                    help="also report the follow-up / new-question decisions on a pairs set "
                         "(e.g. tests/fixtures/followup_pairs.jsonl)")
    ap.add_argument("--cache-dir", type=Path, default=Path(".cache/answerability"),
                    help="where the SciFact calibration index and the peer's embeddings are kept")
    args = ap.parse_args(argv)
    if (args.questions is None) == (args.scifact_claims is None):
        ap.error("give a question file or --scifact-claims DIR (one of them)")
    if args.replay and (args.out is None or args.out.resolve() == args.replay.resolve()):
        ap.error("--replay RUN needs --out NEW, another file than RUN")
    if args.every < 1 or (args.limit is not None and args.limit < 1) or args.claims < 1:
        ap.error("--every, --limit and --claims take a number from 1 up")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.scifact_claims:
        questions = scifact_questions(args.scifact_claims, args.claims)
        name = f"scifact-{args.claims}"
    else:
        try:
            questions = load_questions(args.questions)
        except (OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        name = args.questions.stem
    questions = select(questions, args.every, args.limit)
    out = args.out or Path(".cache/answers") / f"{name}.jsonl"
    settings = get_settings(index_dir=args.index_dir, chroma_url=args.chroma_url, collection=args.collection,
                            llm_base_url=args.llm_base_url, llm_model=args.llm_model)
    if not args.report_only:
        done = read_run(out) if args.resume else []
        out.parent.mkdir(parents=True, exist_ok=True)
        if not args.resume:
            out.write_text("", encoding="utf-8")
        run(build_systems(settings, args.cache_dir, not args.no_peer, args.replay), questions, out, done)
    results = score(read_run(out), questions)
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    else:
        print_table(results)
        print(f"run file: {out}")
    if args.pairs:
        print_follow_ups(args.pairs)
    if args.questions and not args.no_calibration and not args.report_only:
        calibration(args, settings)
    return 0


def print_follow_ups(path: Path) -> None:
    """The conversation's follow-up / new-question decisions on a pairs set (`evaluate_follow_ups`)."""
    from assistant.evaluation import evaluate_follow_ups

    result = evaluate_follow_ups(path)
    wrong = result["wrong"]
    print(f"\nfollow-up / new-question decisions ({path.name}): {result['accuracy']:.3f} right of "
          f"{result['pairs']} pairs ({result['follow_ups']} follow-ups); follow-ups taken as new "
          f"{sum(w['follow_up'] for w in wrong)}, new questions taken as follow-ups "
          f"{sum(not w['follow_up'] for w in wrong)}")
    for w in wrong:
        print(f"  {w['id']}: {'follow-up' if w['follow_up'] else 'new question'} decided wrong: {w['second']}")


def calibration(args, settings) -> None:
    """The offline answerability rule on this set (and on SciFact with --scifact): AUC, refusal
    rates both ways and the calibration curve (see benchmarks/answerability.py)."""
    from assistant import Assistant
    from benchmarks.answerability import measure, print_report, report, sample_items, scifact_sets

    offline = Assistant(settings=settings.model_copy(update={"llm_base_url": None, "llm_gguf": None}))
    sets = {args.questions.stem: sample_items(offline, args.questions)}
    measure(offline, sets[args.questions.stem])
    for data in args.scifact or []:
        sets.update(scifact_sets(data, args.cache_dir))
    print()
    print_report(report(sets))


if __name__ == "__main__":
    sys.exit(main())
