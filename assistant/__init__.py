"""askpapers: grounded, cited answers over research-paper abstracts.

    from assistant import Assistant, search, ask

Heavy modules load on first use, so `import assistant` stays fast. Bad arguments (a question
that is not a string, k=2.5, an unknown filter, a date that is not a date, …) raise
`AskpapersInputError` (a ValueError and a TypeError) with a one-line message.
"""

from __future__ import annotations

__all__ = ["Answer", "AskpapersInputError", "Assistant", "Citation", "FilterError", "Hit", "SearchFilters", "ask",
           "search", "Settings", "Turn", "get_settings"]

_LAZY = {
    "Assistant": ("assistant.api", "Assistant"),
    "search": ("assistant.api", "search"),
    "ask": ("assistant.api", "ask"),
    "Answer": ("assistant.answers", "Answer"),
    "Citation": ("assistant.answers", "Citation"),
    "Hit": ("assistant.retrieval", "Hit"),
    "Turn": ("assistant.turns", "Turn"),
    "SearchFilters": ("ingest.filters", "SearchFilters"),
    "AskpapersInputError": ("ingest.filters", "AskpapersInputError"),  # every bad-argument error
    "FilterError": ("ingest.filters", "FilterError"),
    "Settings": ("assistant.settings", "Settings"),
    "get_settings": ("assistant.settings", "get_settings"),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        value = getattr(importlib.import_module(module), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'assistant' has no attribute {name!r}")
