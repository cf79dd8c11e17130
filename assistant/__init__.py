"""askpapers: grounded, cited answers over research-paper abstracts.

    from assistant import Assistant, search, ask

Heavy modules load on first use, so `import assistant` stays fast.
"""

from __future__ import annotations

__all__ = ["Answer", "Assistant", "Citation", "Hit", "SearchFilters", "ask", "search", "Settings", "get_settings"]

_LAZY = {
    "Assistant": ("assistant.api", "Assistant"),
    "search": ("assistant.api", "search"),
    "ask": ("assistant.api", "ask"),
    "Answer": ("assistant.answers", "Answer"),
    "Citation": ("assistant.answers", "Citation"),
    "Hit": ("assistant.retrieval", "Hit"),
    "SearchFilters": ("ingest.filters", "SearchFilters"),
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
