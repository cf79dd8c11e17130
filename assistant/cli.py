"""The `askpapers` command: a thin layer over `ingest()`, `Assistant.search()` and friends.

Imports stay inside the commands so `askpapers --help` and each command start fast.

Exit codes: 0 done; 1 the command could not do its job (no papers in the index, an index or
server error); 2 bad arguments (`askpapers: error: <one line>`) or, for `ingest`, a rejected
file; 130 interrupted; 141 stdout closed early (`askpapers stats | head`), quietly.
Everything printed for people goes through `term()`: control characters in titles, abstracts
or file names are shown escaped (`\\x1b`), so a paper cannot drive the terminal. `--json`
output is JSON with the same characters escaped as \\uXXXX.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import textwrap
from pathlib import Path

EXIT_OK, EXIT_ERROR, EXIT_REJECTED, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 1, 2, 130, 141
EXIT_USAGE = 2  # same code argparse uses for a bad flag

# C0/C1 controls (tab and newline are kept where text may span lines), DEL, bidi overrides and
# isolates, and lone surrogates (which cannot even be encoded for the terminal)
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_LINE = re.compile(r"[\t\n]|" + _UNSAFE.pattern)
_UNSAFE_IN_JSON = re.compile(r"[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def term(text, multiline: bool = True) -> str:
    """`text` safe for a terminal: control characters shown as escapes (ESC → `\\x1b`).
    With `multiline=False` (titles, urls, quotes) newlines and tabs are escaped too."""
    pattern = _UNSAFE if multiline else _UNSAFE_LINE
    return pattern.sub(lambda m: m.group().encode("unicode_escape", "backslashreplace").decode("ascii"), str(text))


def say(text="", multiline: bool = True, file=None) -> None:
    """print() for people: escaped with `term`."""
    print(term(text, multiline), file=file)


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
    """The filter flags as validated `SearchFilters` (None: no filter); FilterError on a bad one."""
    from ingest.filters import SearchFilters

    return SearchFilters.coerce({"sources": args.source, "categories": args.category,
                                 "date_from": args.date_from, "date_to": args.date_to})


def _emit_json(obj) -> None:
    """One JSON line. json.dumps escapes C0 controls; bidi controls, C1 and lone surrogates get
    \\uXXXX escapes here (valid JSON: they only occur inside strings)."""
    text = json.dumps(obj, ensure_ascii=False, default=str)
    print(_UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


def _no_papers(assistant) -> bool:
    """Say on stderr that the index is empty (and how to fill it) when it is; True if it was."""
    from .api import empty_index_message

    if not assistant.is_empty():
        return False
    say(empty_index_message(assistant.settings, assistant.index.location), file=sys.stderr)
    return True


# ---------------------------------------------------------------- commands
def cmd_ingest(args) -> int:
    from ingest.pipeline import ingest
    from ingest.store import PaperIndex

    index = PaperIndex(_settings(args))
    report = ingest(args.paths, index=index, progress=None if not args.no_progress else False,
                    on_error=lambda err: say(err, multiline=False, file=sys.stderr))
    if args.json:
        _emit_json(report.to_dict())
    else:
        say(report.summary())
        say(f"index: {index.location}", multiline=False)
    return EXIT_REJECTED if report.files_rejected else EXIT_OK


def cmd_search(args) -> int:
    from .api import Assistant

    assistant = Assistant(settings=_settings(args))
    hits = assistant.search(args.query, k=args.k, filters=_filters(args))
    empty = not hits and _no_papers(assistant)
    if args.json:
        _emit_json({"query": args.query, "hits": [h.to_dict() for h in hits]})
    elif not hits and not empty:
        say("No papers found.")
    from .export import relevance, sources_label

    for n, h in enumerate([] if args.json else hits, start=1):
        say(f"[{n}] {h.title}", multiline=False)
        # how well it matched in words, and where it was read ("daily page of Jul 4"), not raw scores
        meta = [x for x in (relevance(h), h.date, sources_label(h.sources), h.url) if x]
        say("    " + " · ".join(meta), multiline=False)
        say(textwrap.fill(term(h.passage), width=100, initial_indent="    ", subsequent_indent="    ",
                          max_lines=3, placeholder=" …"))
    return EXIT_ERROR if empty else EXIT_OK


def _print_answer(answer) -> None:
    say(answer.text)
    if answer.papers:
        say("\nSources:")
        for line in answer.sources_text().splitlines():
            say(line, multiline=False)
    for c in answer.citations:  # the supporting sentence, unless the answer already quotes it
        if c.quote[-60:] not in answer.text:
            say(f"  [{c.number}] “{c.quote}”", multiline=False)
    for w in answer.warnings:
        say(f"warning: {w}", multiline=False, file=sys.stderr)


def _answer_format(args) -> str:
    """`--format`, with `--json` meaning `--format json`; a one-line usage error when they disagree."""
    from ingest.filters import AskpapersInputError

    if args.json and args.format not in (None, "json"):
        raise AskpapersInputError(f"--json and --format {args.format} disagree; use one of them")
    return "json" if args.json else args.format or "text"


def cmd_ask(args) -> int:
    from .api import Assistant

    fmt = _answer_format(args)
    assistant = Assistant(settings=_settings(args))
    answer = assistant.ask(args.question, k=args.k, filters=_filters(args))
    empty = not answer.papers and assistant.is_empty()
    if fmt == "json":
        _emit_json(answer.to_dict())
    elif empty:  # the answer's text is the "no papers yet" line: an error, on stderr
        say(answer.text, file=sys.stderr)
    elif fmt == "text":
        _print_answer(answer)
    else:
        _print_export(answer, fmt)
    return EXIT_ERROR if empty else EXIT_OK


def _print_export(answer, fmt: str) -> None:
    """An export of the answer on stdout (Markdown, or its cited papers' BibTeX/RIS/CSL-JSON);
    a bibliography of an answer that cites nothing is empty, and stderr says why."""
    from .export import cited_papers, export_answer

    text = export_answer(answer, fmt)
    if text.strip():
        sys.stdout.write(term(text))
    if fmt != "markdown" and not cited_papers(answer):
        say("askpapers: the answer cites no paper, so the bibliography is empty", file=sys.stderr)
    for w in answer.warnings:
        say(f"warning: {w}", multiline=False, file=sys.stderr)


def cmd_table(args) -> int:
    from .api import Assistant
    from .table import evidence_table

    fmt = _table_format(args)
    assistant = Assistant(settings=_settings(args))
    table = evidence_table(assistant, args.question, k=args.k, filters=_filters(args))
    empty = not table.rows and _no_papers(assistant)
    if fmt == "json":
        _emit_json(table.to_dict())
    elif fmt == "csv":
        sys.stdout.write(term(table.to_csv()))
    elif fmt == "markdown":
        sys.stdout.write(term(table.to_markdown()))
    elif table.rows:
        _print_table(table)
    elif not empty:
        say("No papers found.")
    for w in table.warnings:
        say(f"warning: {w}", multiline=False, file=sys.stderr)
    return EXIT_ERROR if empty else EXIT_OK


def _table_format(args) -> str:
    from ingest.filters import AskpapersInputError

    if args.json and args.format not in (None, "json"):
        raise AskpapersInputError(f"--json and --format {args.format} disagree; use one of them")
    return "json" if args.json else args.format or "text"


def _print_table(table, width: int | None = None) -> None:
    """The table aligned to the terminal: [n], the paper (title, date, relevance), its answer;
    then each paper's link. Every cell is escaped with `term` before it is wrapped."""
    import shutil

    width = width or shutil.get_terminal_size((100, 24)).columns
    num_w = len(f"[{len(table.rows)}]") + 1
    paper_w = max(16, min(40, (width - num_w) // 3))
    answer_w = max(20, width - num_w - paper_w - 2)
    say(f"{'#':<{num_w}}{'Paper':<{paper_w}}  Answer")
    for r in table.rows:
        paper = textwrap.wrap(term(r.title, multiline=False), paper_w) + textwrap.wrap(
            term(" · ".join(x for x in (r.date, r.relevance) if x), multiline=False), paper_w)
        answer = textwrap.wrap(term(r.answer, multiline=False), answer_w)
        for i in range(max(len(paper), len(answer))):
            num = f"[{r.number}]" if i == 0 else ""
            left = paper[i] if i < len(paper) else ""
            right = answer[i] if i < len(answer) else ""
            print(f"{num:<{num_w}}{left:<{paper_w}}  {right}".rstrip())
        print()
    for r in table.rows:
        if r.url:
            say(f"[{r.number}] {r.url}", multiline=False)


def cmd_chat(args) -> int:
    from .api import Assistant
    from .conversation import Turn

    assistant = Assistant(settings=_settings(args))
    filters = _filters(args)
    if _no_papers(assistant):
        return EXIT_ERROR
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
        answer = assistant.ask(question, history=history, k=args.k, filters=filters)
        _print_answer(answer)
        history.append(Turn.from_answer(answer))


def cmd_serve_llm(args) -> int:
    import time

    from .llm import LLMError, LocalServer

    try:
        server = LocalServer(args.gguf, port=args.port)
    except LLMError as exc:
        say(f"askpapers: {exc}", file=sys.stderr)
        return EXIT_ERROR
    say(f"llama.cpp server for {server.path.name} at {server.base_url}")
    say(f"use it with: ASKPAPERS_LLM_BASE_URL={server.base_url} ASKPAPERS_LLM_MODEL={server.model}")
    print("Ctrl-C stops it.", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return EXIT_OK


def cmd_serve(args) -> int:
    from .web import WebError, check_binding

    settings = _settings(args)
    host, auth = args.host or settings.host, args.auth or settings.auth
    try:
        check_binding(host, auth)  # refuse before the slow gradio import
    except WebError as exc:
        say(f"askpapers serve: {exc}", file=sys.stderr)
        return EXIT_ERROR
    from .api import Assistant
    from .web import serve

    try:
        serve(Assistant(settings=settings), host=host, port=args.port, auth=auth)
    except (WebError, OSError) as exc:
        say(f"askpapers serve: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def cmd_stats(args) -> int:
    from ingest.store import PaperIndex

    from .api import empty_index_message

    settings = _settings(args)
    stats = PaperIndex(settings).stats()
    if args.json:
        _emit_json(stats)
    elif not stats["papers_total"]:
        say(empty_index_message(settings, stats["location"]))
    else:
        say(f"index:      {stats['location']}", multiline=False)
        say(f"papers:     {stats['papers_total']}   chunks: {stats['chunks_total']}")
        say(f"embeddings: {stats['embed_model']} ({stats['embed_dim']} dimensions)", multiline=False)
        if stats["sources"]:
            say("sources:")
            for name, n in stats["sources"].items():
                say(f"  {n:6d}  {name}", multiline=False)
        if stats["categories"]:
            top = list(stats["categories"].items())[:10]
            say("top categories: " + ", ".join(f"{c} ({n})" for c, n in top), multiline=False)
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


def cmd_papers(args) -> int:
    from .api import empty_index_message
    from .library import list_papers

    index = _settings_index(args)
    papers = list_papers(index, sources=args.source, categories=args.category, sort=args.sort, limit=args.limit)
    for paper in papers:
        if args.json:  # JSON Lines: one object per paper
            _emit_json(paper.to_dict())
            continue
        say(paper.title, multiline=False)
        meta = [paper.date or "no date", ", ".join(paper.source_labels), " ".join(paper.categories), paper.paper_id]
        say("    " + " · ".join(x for x in meta if x), multiline=False)
    if not papers and not (args.source or args.category):  # an empty index: say how to fill it
        say(empty_index_message(index.settings, index.location), file=sys.stderr)
        return EXIT_ERROR
    if not papers and not args.json:
        say("No papers match.", file=sys.stderr)
    return EXIT_OK


def cmd_remove(args) -> int:
    from .library import remove

    report = remove(_settings_index(args), paper_ids=args.paper_ids, source=args.source)
    if args.json:
        _emit_json(report.to_dict())
    else:
        say(report.summary(), multiline=False)
    return EXIT_OK


def _settings_index(args):
    from ingest.store import PaperIndex

    return PaperIndex(_settings(args))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="askpapers",
        description="Ask questions about research-paper abstracts; answers cite the papers they come from.",
        epilog="Settings also come from ASKPAPERS_* environment variables and a .env file.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    idx, flt = _index_options(), _filter_options()

    p = sub.add_parser("ingest", parents=[idx], help="read abstracts from files or directories into the index",
                       description="Read daily-papers pages, CSV/JSONL exports, arXiv metadata or PDF papers (title and "
                                   "abstract from the first page) into the index. "
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
    p.add_argument("--format", choices=("text", "json", "markdown", "bibtex", "ris", "csljson"), default=None,
                   help="text (default); json (same as --json); markdown (answer, sources and quotes); "
                        "bibtex, ris or csljson (the cited papers, for a reference manager)")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("table", parents=[idx, flt], help="an evidence table: one row per paper, its answer and quote",
                       description="Answer a question for each of the top k papers: one row per paper with the "
                                   "answer from its abstract (or 'not stated in the abstract') and the supporting "
                                   "quote, cited [n] like answers.")
    p.add_argument("question")
    p.add_argument("-k", type=int, default=10, help="papers, one row each (default 10)")
    p.add_argument("--format", choices=("text", "csv", "markdown", "json"), default=None,
                   help="text (default, an aligned table); csv; markdown; json (same as --json)")
    p.set_defaults(func=cmd_table)

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
    p.add_argument("--host", help="address to listen on (default 127.0.0.1; env ASKPAPERS_HOST)")
    p.add_argument("--port", type=int, help="port (default 7860; env ASKPAPERS_PORT)")
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

    p = sub.add_parser("papers", parents=[idx], help="list the indexed papers (the library)",
                       description="List the indexed papers: title, then date, sources, categories and id. "
                                   "With --json, one JSON object per paper per line (JSON Lines).")
    p.add_argument("--source", action="append", default=[], metavar="SOURCE",
                   help="only papers from this source: its file name or its label, e.g. 'daily page of Jul 4' (repeatable)")
    p.add_argument("--category", action="append", default=[], metavar="CAT", help="only papers in this category (repeatable)")
    p.add_argument("--sort", choices=("date", "title", "added"), default="date",
                   help="date (newest first, default), title (A-Z) or added (most recently added first)")
    p.add_argument("--limit", type=int, metavar="N", help="at most N papers")
    p.set_defaults(func=cmd_papers)

    p = sub.add_parser("remove", parents=[idx], help="remove papers by id, or every paper of a source",
                       description="Remove papers (chunks, side index, stats), crash-safe like ingest: if it is "
                                   "interrupted, run it again (or any ingest) to finish. --source removes that file "
                                   "from every paper: papers read only from it go, the others stay.")
    p.add_argument("paper_ids", nargs="*", metavar="PAPER_ID", help="ids as `askpapers papers` shows them")
    p.add_argument("--source", metavar="SOURCE", help="a source file name or its label, e.g. 'daily page of Jul 4'")
    p.set_defaults(func=cmd_remove)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command. A reader that closes the pipe early (`| head`) ends it quietly: the
    rest of the output goes to /dev/null, as with SIGPIPE (which Python ignores; restoring its
    default would also kill `serve` when a socket peer goes away)."""
    try:
        code = _run(argv)
        sys.stdout.flush()  # a closed pipe shows here, not at exit, where it would print a traceback
        return code
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        for stream in (sys.stdout, sys.stderr):
            os.dup2(devnull, stream.fileno())
        return EXIT_BROKEN_PIPE


def _run(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_ERROR
    from ingest.filters import AskpapersInputError
    from ingest.store import IndexError_

    try:
        return args.func(args)
    except AskpapersInputError as exc:
        say(f"askpapers: error: {exc}", multiline=False, file=sys.stderr)
        return EXIT_USAGE
    except IndexError_ as exc:
        say(f"askpapers: {exc}", multiline=False, file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("askpapers: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
