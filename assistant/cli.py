"""The `askpapers` command: a thin layer over `ingest()`, `Assistant.search()` and friends.

Imports stay inside the commands so `askpapers --help` and each command start fast.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

EXIT_OK, EXIT_ERROR, EXIT_REJECTED = 0, 1, 2


def _index_options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("index")
    g.add_argument("--index-dir", type=Path, help="embedded index directory (env ASKPAPERS_INDEX_DIR)")
    g.add_argument("--chroma-url", help="use a Chroma server, e.g. http://127.0.0.1:8000 (env ASKPAPERS_CHROMA_URL)")
    g.add_argument("--collection", help="Chroma collection name (env ASKPAPERS_COLLECTION)")
    p.add_argument("--json", action="store_true", help="machine-readable output: one JSON object on the last line")
    return p


def _filter_options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("filters")
    g.add_argument("--source", action="append", default=[], metavar="PAGE", help="only papers from this source file (repeatable)")
    g.add_argument("--category", action="append", default=[], metavar="CAT", help="only papers in this category, e.g. cs.CL (repeatable)")
    g.add_argument("--date-from", metavar="YYYY[-MM[-DD]]", help="only papers dated on or after this")
    g.add_argument("--date-to", metavar="YYYY[-MM[-DD]]", help="only papers dated on or before this")
    return p


def _settings(args):
    from .settings import get_settings

    return get_settings(index_dir=getattr(args, "index_dir", None), chroma_url=getattr(args, "chroma_url", None),
                        collection=getattr(args, "collection", None))


def _filters(args):
    from ingest.filters import SearchFilters

    f = SearchFilters(sources=args.source, categories=args.category, date_from=args.date_from, date_to=args.date_to)
    return None if f.is_empty() else f


def _emit_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, default=str))


# ---------------------------------------------------------------- commands
def cmd_ingest(args) -> int:
    from ingest.pipeline import ingest
    from ingest.store import PaperIndex

    index = PaperIndex(_settings(args))
    report = ingest(args.paths, index=index, progress=None if not args.no_progress else False)
    if args.json:
        d = report.to_dict()
        _emit_json(d)
    else:
        print(report.summary())
    return EXIT_REJECTED if report.files_rejected else EXIT_OK


def cmd_search(args) -> int:
    from .api import Assistant

    hits = Assistant(settings=_settings(args)).search(args.query, k=args.k, filters=_filters(args))
    if args.json:
        _emit_json({"query": args.query, "hits": [h.to_dict() for h in hits]})
        return EXIT_OK
    if not hits:
        print("No papers found.")
    for n, h in enumerate(hits, start=1):
        print(f"[{n}] {h.title}  (score {h.score:.4f})")
        meta = [x for x in (h.url, h.date, ", ".join(s.label() for s in h.sources)) if x]
        if meta:
            print("    " + " · ".join(meta))
        print(textwrap.fill(h.passage, width=100, initial_indent="    ", subsequent_indent="    ",
                            max_lines=3, placeholder=" …"))
    return EXIT_OK


def _print_answer(answer) -> None:
    print(answer.text)
    if answer.papers:
        print("\nSources:")
        print(answer.sources_text())
    for c in answer.citations:
        print(f"  [{c.number}] “{c.quote}”")
    for w in answer.warnings:
        print(f"warning: {w}", file=sys.stderr)


def cmd_ask(args) -> int:
    from .api import Assistant

    answer = Assistant(settings=_settings(args)).ask(args.question, k=args.k, filters=_filters(args))
    if args.json:
        _emit_json(answer.to_dict())
    else:
        _print_answer(answer)
    return EXIT_OK


def cmd_chat(args) -> int:
    from .api import Assistant

    assistant = Assistant(settings=_settings(args))
    history: list[dict] = []
    print("Ask about the indexed papers. An empty line or Ctrl-D ends the chat.")
    while True:
        try:
            question = input("\n> ").strip()
        except EOFError:
            print()
            return EXIT_OK
        if not question or question.lower() in {"exit", "quit"}:
            return EXIT_OK
        answer = assistant.ask(question, history=history, k=args.k, filters=_filters(args))
        _print_answer(answer)
        history += [{"role": "user", "content": question},
                    {"role": "assistant", "content": answer.text + "\n\n" + answer.sources_text()}]


def cmd_serve_llm(args) -> int:
    import time

    from .llm import LLMError, LocalServer

    try:
        server = LocalServer(args.gguf, port=args.port)
    except LLMError as exc:
        print(f"askpapers: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(f"llama.cpp server for {server.path.name} at {server.base_url}")
    print(f"use it with: ASKPAPERS_LLM_BASE_URL={server.base_url} ASKPAPERS_LLM_MODEL={server.model}")
    print("Ctrl-C stops it.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return EXIT_OK


def cmd_serve(args) -> int:
    from .web import WebError, check_binding

    settings = _settings(args)
    auth = args.auth or getattr(settings, "auth", None)  # ASKPAPERS_AUTH once settings has the field
    try:
        check_binding(args.host, auth)  # refuse before the slow gradio import
    except WebError as exc:
        print(f"askpapers serve: {exc}", file=sys.stderr)
        return EXIT_ERROR
    from .api import Assistant
    from .web import serve

    try:
        serve(Assistant(settings=settings), host=args.host, port=args.port, auth=auth)
    except (WebError, OSError) as exc:
        print(f"askpapers serve: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def cmd_stats(args) -> int:
    from ingest.store import PaperIndex

    stats = PaperIndex(_settings(args)).stats()
    if args.json:
        _emit_json(stats)
        return EXIT_OK
    print(f"index:      {stats['location']}")
    print(f"papers:     {stats['papers_total']}   chunks: {stats['chunks_total']}")
    print(f"embeddings: {stats['embed_model']} ({stats['embed_dim']} dimensions)")
    if stats["sources"]:
        print("sources:")
        for name, n in stats["sources"].items():
            print(f"  {n:6d}  {name}")
    if stats["categories"]:
        top = list(stats["categories"].items())[:10]
        print("top categories: " + ", ".join(f"{c} ({n})" for c, n in top))
    return EXIT_OK


def cmd_eval(args) -> int:
    from .api import Assistant
    from .evaluation import evaluate_retrieval, load_questions

    assistant = Assistant(settings=_settings(args))
    questions = load_questions(args.questions)
    result = evaluate_retrieval(assistant, questions, k=args.k)
    if args.answers:
        from .evaluation import evaluate_answers

        result["answers"] = evaluate_answers(assistant, questions)
    if args.json:
        _emit_json(result)
        return EXIT_OK
    print(f"retrieval over {result['questions']} answerable questions ({args.questions})")
    print(f"{'metric':<18}{'value':>8}")
    for key in ("recall@1", "recall@5", "recall@10", "mrr", "multi_recall@10"):
        v = result[key]
        print(f"{key:<18}{('n/a' if v is None else f'{v:.3f}'):>8}")
    print(f"{'search p50 (ms)':<18}{result['latency_p50_ms']:>8.1f}")
    print("\nby type:")
    for t, r in result["by_type"].items():
        print(f"  {t:<12} n={r['n']:<3} recall@5={r['recall@5']:.3f}  mrr={r['mrr']:.3f}")
    if result["misses"]:
        print("\nnot in top 5: " + ", ".join(f"{m['id']} {m['ranks']}" for m in result["misses"]))
    if args.answers:
        a = result["answers"]
        mode = assistant.settings.llm_model or ("local GGUF" if assistant.settings.llm_gguf else "extractive")
        print(f"\nanswers over {a['questions']} questions (mode: {mode})")
        for label, key in (("facts present", "facts_present"), ("citation precision", "citation_precision"),
                           ("multi cited recall", "multi_cited_recall"),
                           ("unanswerable refused", "unanswerable_refused"),
                           ("answerable refused", "answerable_refused")):
            v = a[key]
            print(f"{label:<22}{('n/a' if v is None else f'{v:.3f}'):>8}")
        print(f"{'ask p50 / p95 (ms)':<22}{a['latency_p50_ms']:>8.0f} / {a['latency_p95_ms']:.0f}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="askpapers",
        description="Ask questions about research-paper abstracts; answers cite the papers they come from.",
        epilog="Settings also come from ASKPAPERS_* environment variables and a .env file.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    idx, flt = _index_options(), _filter_options()

    p = sub.add_parser("ingest", parents=[idx], help="read abstracts from files or directories into the index",
                       description="Read daily-papers pages, CSV/JSONL exports or arXiv metadata into the index. "
                                   "Unchanged papers are skipped; bad records are reported one line each on stderr.")
    p.add_argument("paths", nargs="+", type=Path, help="files or directories")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("search", parents=[idx, flt], help="find the papers that best match a query")
    p.add_argument("query")
    p.add_argument("-k", type=int, default=10, help="number of papers (default 10)")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", parents=[idx, flt], help="answer a question from the indexed abstracts, with citations",
                       description="Answer a question from the indexed abstracts. Each claim is cited as [n]; "
                                   "when the papers do not answer it, askpapers says so and names the closest papers.")
    p.add_argument("question")
    p.add_argument("-k", type=int, default=None, help="papers shown to the answerer (default 5)")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("chat", parents=[idx, flt], help="an interactive conversation in the terminal (follow-ups work)")
    p.add_argument("-k", type=int, default=None, help="papers shown to the answerer (default 5)")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("serve-llm", help="serve a local GGUF model with llama.cpp (needs askpapers[local])",
                       description="Start llama.cpp's OpenAI-compatible server on 127.0.0.1 for a GGUF model.")
    p.add_argument("gguf", type=Path, help="path to a .gguf model file")
    p.add_argument("--port", type=int, default=8081)
    p.set_defaults(func=cmd_serve_llm)

    p = sub.add_parser("serve", help="the chat page in the browser (Gradio), with cited, streaming answers",
                       description="Serve the chat page: streaming answers citing [n], the sources beside them, "
                                   "filters, and uploads. Binding beyond 127.0.0.1 requires --auth.")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=7860, help="port (default 7860)")
    p.add_argument("--auth", metavar="USER:PASSWORD", help="require this login (needed for any non-local --host)")
    p.add_argument("--index-dir", type=Path, help="embedded index directory (env ASKPAPERS_INDEX_DIR)")
    p.add_argument("--chroma-url", help="use a Chroma server, e.g. http://127.0.0.1:8000 (env ASKPAPERS_CHROMA_URL)")
    p.add_argument("--collection", help="Chroma collection name (env ASKPAPERS_COLLECTION)")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("stats", parents=[idx], help="what the index holds")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("eval", parents=[idx], help="retrieval quality on a question set (dev-questions format)")
    p.add_argument("questions", type=Path, help="JSONL file of questions")
    p.add_argument("-k", type=int, default=10, help="papers retrieved per question (default 10)")
    p.add_argument("--answers", action="store_true", help="also ask every question and score the answers")
    p.set_defaults(func=cmd_eval)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_ERROR
    from ingest.store import IndexError_

    try:
        return args.func(args)
    except IndexError_ as exc:
        print(f"askpapers: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("askpapers: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
