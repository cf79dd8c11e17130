"""Commands that build, show and serve the index: ingest, stats, papers, remove, serve, serve-llm."""

from __future__ import annotations

import sys

from .options import missing_index, open_index, settings_from
from .output import EXIT_ERROR, EXIT_OK, EXIT_REJECTED, EXIT_USAGE, emit_json, say


def cmd_ingest(args) -> int:
    from ingest.pipeline import ingest
    from ingest.store import PaperIndex

    index = PaperIndex(settings_from(args))
    report = ingest(args.paths, index=index, progress=not args.no_progress,
                    on_error=lambda err: say(err, multiline=False, file=sys.stderr))
    if args.json:
        emit_json(report.to_dict())
    else:
        say(report.summary())
        say(f"index: {index.location}", multiline=False)
    return EXIT_REJECTED if report.files_rejected else EXIT_OK


def cmd_stats(args) -> int:
    from ingest.store import PaperIndex, index_missing

    from ..api import empty_index_message

    settings = settings_from(args)
    if not args.json and missing_index(settings, file=sys.stdout):  # like an empty index; nothing is created
        return EXIT_OK
    stats = empty_stats(settings) if index_missing(settings) else PaperIndex(settings).stats()
    if args.json:
        emit_json(stats)
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


def empty_stats(settings) -> dict:
    """`stats` of an index that does not exist yet, without creating it."""
    from ingest.store import IndexStats

    return IndexStats(location=str(settings.index_dir), collection=settings.collection, papers_total=0,
                      chunks_total=0, embed_model=None, embed_dim=None, generation=None).to_dict()


def cmd_papers(args) -> int:
    from ..api import empty_index_message
    from ..library import list_papers

    index = open_index(args)
    if index is None:
        return EXIT_ERROR
    papers = list_papers(index, sources=args.source, categories=args.category, sort=args.sort, limit=args.limit)
    for paper in papers:
        if args.json:  # JSON Lines: one object per paper
            emit_json(paper.to_dict())
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
    from ..library import remove

    index = open_index(args)
    if index is None:
        return EXIT_ERROR
    report = remove(index, paper_ids=args.paper_ids, source=args.source)
    if args.json:
        emit_json(report.to_dict())
    else:
        say(report.summary(), multiline=False)
    return EXIT_OK


def cmd_serve(args) -> int:
    from ..web import WebError, check_binding
    from ..web.serve import PortInUse, check_port

    settings = settings_from(args)  # --host, --port and --auth land in the settings (and are checked there)
    host, auth = settings.host, settings.auth
    try:
        check_binding(host, auth)  # refuse before the slow gradio import
        check_port(host, settings.port)
        from ..api import Assistant
        from ..web import serve

        serve(Assistant(settings=settings), host=host, port=settings.port, auth=auth)
    except PortInUse as exc:  # the user's choice of port: a usage error
        say(f"askpapers serve: {exc}", multiline=False, file=sys.stderr)
        return EXIT_USAGE
    except (WebError, OSError) as exc:
        say(f"askpapers serve: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def cmd_serve_llm(args) -> int:
    import time

    from ..llm import LLMError, LocalServer

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
