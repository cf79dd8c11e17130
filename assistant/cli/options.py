"""The flags several commands share (index, filters) and what they turn into."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .output import say


JSON_LAST_LINE = "machine-readable output: one JSON object on the last line"


def index_options(json_help: str | None = JSON_LAST_LINE) -> argparse.ArgumentParser:
    """The index flags, and `--json` described as `json_help` (None: the command has no --json)."""
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("index")
    g.add_argument("--index-dir", type=Path, help="embedded index directory (env ASKPAPERS_INDEX_DIR)")
    g.add_argument("--chroma-url", help="use a Chroma server, e.g. http://127.0.0.1:8000 (env ASKPAPERS_CHROMA_URL)")
    g.add_argument("--collection", help="Chroma collection name (env ASKPAPERS_COLLECTION)")
    if json_help:
        p.add_argument("--json", action="store_true", help=json_help)
    return p


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 0-65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be 0-65535 (got {port})")
    return port


def filter_options() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(add_help=False)
    g = p.add_argument_group("filters")
    g.add_argument("--source", action="append", default=[], metavar="PAGE", help="only papers from this source: its path, file name or label, e.g. 'daily page of Jul 4' (repeatable)")
    g.add_argument("--category", action="append", default=[], metavar="CAT", help="only papers in this category, e.g. cs.CL (repeatable)")
    g.add_argument("--date-from", metavar="YYYY[-MM[-DD]]", help="only papers dated on or after this")
    g.add_argument("--date-to", metavar="YYYY[-MM[-DD]]", help="only papers dated on or before this")
    return p


# the settings a command's flags override, and the flag that names each in an error
FLAGS = {"index_dir": "--index-dir", "chroma_url": "--chroma-url", "collection": "--collection",
         "host": "--host", "port": "--port", "auth": "--auth"}


def settings_from(args):
    """The settings with the command's flags on top; a bad flag value is a `SettingError` naming the flag."""
    from ingest.errors import SettingError

    from ..settings import get_settings

    flags = {field: getattr(args, field, None) for field in FLAGS}
    try:
        return get_settings(**flags)
    except SettingError as exc:
        if exc.field in FLAGS and flags.get(exc.field) is not None:
            raise exc.renamed(FLAGS[exc.field]) from None
        raise


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
    say(empty_index_message(assistant.settings, assistant.location), file=sys.stderr)
    return True


def missing_index(settings, file=None) -> bool:
    """Say that the index does not exist yet (and how to fill it) when its directory is missing;
    True if it was. Read-only commands ask this first, so they create nothing."""
    from ingest.store import index_missing

    from ..api import empty_index_message

    if not index_missing(settings):
        return False
    say(empty_index_message(settings, str(settings.index_dir)), file=file or sys.stderr)
    return True


def open_index(args):
    """The index the flags name, or None (said on stderr) when it does not exist: nothing is created."""
    from ingest.store import PaperIndex

    settings = settings_from(args)
    return None if missing_index(settings) else PaperIndex(settings)
