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
import os
import sys
from pathlib import Path

from .answering import cmd_ask, cmd_chat, cmd_eval, cmd_search, cmd_table
from .library import (
    cmd_ingest,
    cmd_papers,
    cmd_remove,
    cmd_serve,
    cmd_serve_llm,
    cmd_stats,
)
from .options import filter_options, index_options, port_number
from .output import (
    EXIT_BROKEN_PIPE,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    say,
    term,
)

__all__ = ["build_parser", "main", "say", "term"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="askpapers",
        description="Ask questions about research-paper abstracts; answers cite the papers they come from.",
        epilog="Settings also come from ASKPAPERS_* environment variables and a .env file.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    idx, flt = index_options(), filter_options()

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
    p.add_argument("--show-draft", action="store_true",
                   help="also print the LLM's raw reply, before its citations were checked and repaired")
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

    p = sub.add_parser("chat", parents=[index_options(json_help=None), flt], help="an interactive conversation in the terminal (follow-ups work)")
    p.add_argument("-k", type=int, default=None, help="papers shown to the answerer (default 5)")
    p.set_defaults(func=cmd_chat)

    p = sub.add_parser("serve-llm", help="serve a local GGUF model with llama.cpp (needs askpapers[local])",
                       description="Start llama.cpp's OpenAI-compatible server on 127.0.0.1 for a GGUF model.")
    p.add_argument("gguf", type=Path, help="path to a .gguf model file")
    p.add_argument("--port", type=port_number, default=8081, help="port (default 8081)")
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

    p = sub.add_parser("papers", parents=[index_options(json_help="machine-readable output: JSON Lines, "
                                                                  "one JSON object per paper per line")], help="list the indexed papers (the library)",
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
    except BrokenPipeError:
        raise  # main() ends quietly
    except Exception as exc:  # noqa: BLE001 - a bug or a library's surprise: one line, not a traceback
        if os.environ.get("ASKPAPERS_TRACEBACK", "").strip().lower() not in ("", "0", "false", "no"):
            raise
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        say(f"askpapers: unexpected error ({type(exc).__name__}){': ' + first if first else ''} "
            "(ASKPAPERS_TRACEBACK=1 shows where)", multiline=False, file=sys.stderr)
        return EXIT_ERROR
