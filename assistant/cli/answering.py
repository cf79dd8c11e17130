"""Commands that answer: search, ask, table, chat, eval."""

from __future__ import annotations

import logging
import sys
import textwrap

from .options import filters_from, no_papers, settings_from
from .output import (
    EXIT_ERROR,
    EXIT_OK,
    StatusLine,
    emit_json,
    print_answer,
    print_export,
    print_table,
    say,
    term,
)

log = logging.getLogger(__name__)


def cmd_search(args) -> int:
    from ..api import Assistant, check_text

    check_text("query", args.query)  # a blank query is a mistake here, as for `ask` (the API returns no hits)
    assistant = Assistant(settings=settings_from(args))
    hits = assistant.search(args.query, k=args.k, filters=filters_from(args))
    empty = not hits and no_papers(assistant)
    if args.json:
        emit_json({"query": args.query, "hits": [h.to_dict() for h in hits]})
    elif not hits and not empty:
        say("No papers found.")
    from ..export import relevance, sources_label

    for n, h in enumerate([] if args.json else hits, start=1):
        say(f"[{n}] {h.title}", multiline=False)
        # how well it matched in words, and where it was read ("daily page of Jul 4"), not raw scores
        meta = [x for x in (relevance(h), h.date, sources_label(h.sources), h.url) if x]
        say("    " + " · ".join(meta), multiline=False)
        say(textwrap.fill(term(h.passage), width=100, initial_indent="    ", subsequent_indent="    ",
                          max_lines=3, placeholder=" …"))
    return EXIT_ERROR if empty else EXIT_OK


def output_format(args) -> str:
    """`--format`, with `--json` meaning `--format json`; a one-line usage error when they disagree."""
    from ingest.filters import AskpapersInputError

    if args.json and args.format not in (None, "json"):
        raise AskpapersInputError(f"--json and --format {args.format} disagree; use one of them")
    return "json" if args.json else args.format or "text"


def cmd_ask(args) -> int:
    from ..api import Assistant

    fmt = output_format(args)
    assistant = Assistant(settings=settings_from(args))
    with StatusLine() as status:
        answer = assistant.ask(args.question, k=args.k, filters=filters_from(args), on_status=status)
    empty = not answer.papers and assistant.is_empty()
    if fmt == "json":
        emit_json(answer.to_dict())
    elif empty:  # the answer's text is the "no papers yet" line: an error, on stderr
        say(answer.text, file=sys.stderr)
    elif fmt == "text":
        print_answer(answer, show_draft=args.show_draft)
    else:
        print_export(answer, fmt)
    return EXIT_ERROR if empty else EXIT_OK


def cmd_table(args) -> int:
    from ..api import Assistant
    from ..table import evidence_table

    fmt = output_format(args)
    assistant = Assistant(settings=settings_from(args))
    table = evidence_table(assistant, args.question, k=args.k, filters=filters_from(args))
    empty = not table.rows and no_papers(assistant)
    if fmt == "json":
        emit_json(table.to_dict())
    elif fmt == "csv":
        sys.stdout.write(term(table.to_csv()))
    elif fmt == "markdown":
        sys.stdout.write(term(table.to_markdown()))
    elif table.rows:
        print_table(table)
    elif not empty:
        say("No papers found.")
    for w in table.warnings:
        say(f"warning: {w}", multiline=False, file=sys.stderr)
    return EXIT_ERROR if empty else EXIT_OK


def cmd_chat(args) -> int:
    from ..api import Assistant
    from ..turns import Turn

    assistant = Assistant(settings=settings_from(args))
    filters = filters_from(args)
    if no_papers(assistant):
        return EXIT_ERROR
    filters = assistant.resolve_filters(filters)  # an unknown source: one line, before the first question
    history: list[Turn] = []
    print("Ask about the indexed papers. An empty line or Ctrl-D ends the chat.")
    while True:
        try:
            question = input("\n> ").strip()
        except EOFError:
            print()
            return EXIT_OK
        if not question or question.lower() in {"exit", "quit"}:
            return EXIT_OK
        try:
            with StatusLine() as status:
                answer = assistant.ask(question, history=history, k=args.k, filters=filters, on_status=status)
        except Exception as exc:  # noqa: BLE001 - one line, and the chat (its history) goes on
            log.debug("chat: the answer failed", exc_info=True)
            first = (str(exc).strip().splitlines() or [""])[0][:300]
            say(f"askpapers: could not answer that ({type(exc).__name__}{': ' + first if first else ''}); "
                "ask again, or ask something else", multiline=False, file=sys.stderr)
            continue
        print_answer(answer)
        history.append(Turn.from_answer(answer))


def cmd_eval(args) -> int:
    from ingest.filters import AskpapersInputError

    from ..api import Assistant
    from ..evaluation import evaluate_retrieval, load_questions

    assistant = Assistant(settings=settings_from(args))
    questions = load_questions(args.questions)
    if not questions:
        raise AskpapersInputError(f"no questions in {args.questions}")
    if no_papers(assistant):
        return EXIT_ERROR
    result = evaluate_retrieval(assistant, questions, k=args.k)
    if args.answers:
        from ..evaluation import evaluate_answers

        result["answers"] = evaluate_answers(assistant, questions)
    if args.json:
        emit_json(result)
        return EXIT_OK
    say(f"retrieval over {result['questions']} answerable questions ({args.questions})")
    print(f"{'metric':<18}{'value':>8}")
    for key in ("recall@1", "recall@5", "recall@10", "mrr", "multi_recall@10"):
        v = result[key]
        print(f"{key:<18}{('n/a' if v is None else f'{v:.3f}'):>8}")
    print(f"{'search p50 (ms)':<18}{result['latency_p50_ms']:>8.1f}")
    print("\nby type:")
    for t, r in result["by_type"].items():
        say(f"  {t:<12} n={r['n']:<3} recall@5={r['recall@5']:.3f}  mrr={r['mrr']:.3f}")
    if result["misses"]:
        say("\nnot in top 5: " + ", ".join(f"{m['id']} {m['ranks']}" for m in result["misses"]))
    if args.answers:
        a = result["answers"]
        mode = assistant.settings.llm_model or ("local GGUF" if assistant.settings.llm_gguf else "extractive")
        say(f"\nanswers over {a['questions']} questions (mode: {mode})")
        for label, key in (("facts present", "facts_present"), ("citation precision", "citation_precision"),
                           ("multi cited recall", "multi_cited_recall"),
                           ("unanswerable refused", "unanswerable_refused"),
                           ("answerable refused", "answerable_refused")):
            v = a[key]
            print(f"{label:<22}{('n/a' if v is None else f'{v:.3f}'):>8}")
        print(f"{'ask p50 / p95 (ms)':<22}{a['latency_p50_ms']:>8.0f} / {a['latency_p95_ms']:.0f}")
    return EXIT_OK
