"""The flags several commands share (index, filters) and what they turn into."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .output import say


def index_options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("index")
    g.add_argument("--index-dir", type=Path, help="embedded index directory (env ASKPAPERS_INDEX_DIR)")
    g.add_argument("--chroma-url", help="use a Chroma server, e.g. http://127.0.0.1:8000 (env ASKPAPERS_CHROMA_URL)")
    g.add_argument("--collection", help="Chroma collection name (env ASKPAPERS_COLLECTION)")
    p.add_argument("--json", action="store_true", help="machine-readable output: one JSON object on the last line")
    return p


def filter_options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("filters")
    g.add_argument("--source", action="append", default=[], metavar="PAGE", help="only papers from this source file (repeatable)")
    g.add_argument("--category", action="append", default=[], metavar="CAT", help="only papers in this category, e.g. cs.CL (repeatable)")
    g.add_argument("--date-from", metavar="YYYY[-MM[-DD]]", help="only papers dated on or after this")
    g.add_argument("--date-to", metavar="YYYY[-MM[-DD]]", help="only papers dated on or before this")
    return p


def settings_from(args):
    from ..settings import get_settings

    return get_settings(index_dir=getattr(args, "index_dir", None), chroma_url=getattr(args, "chroma_url", None),
                        collection=getattr(args, "collection", None))


def filters_from(args):
    """The filter flags as validated `SearchFilters` (None: no filter); FilterError on a bad one."""
    from ingest.filters import SearchFilters

    return SearchFilters.coerce({"sources": args.source, "categories": args.category,
                                 "date_from": args.date_from, "date_to": args.date_to})


def no_papers(assistant) -> bool:
    """Say on stderr that the index is empty (and how to fill it) when it is; True if it was."""
    from ..api import empty_index_message

    if not assistant.is_empty():
        return False
    say(empty_index_message(assistant.settings, assistant.index.location), file=sys.stderr)
    return True


def open_index(args):
    from ingest.store import PaperIndex

    return PaperIndex(settings_from(args))
