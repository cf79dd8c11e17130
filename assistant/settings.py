"""The settings object lives in `ingest.settings` (both halves read it); re-exported here."""

from ingest.settings import DEFAULT_COLLECTION, Settings, get_settings

__all__ = ["DEFAULT_COLLECTION", "Settings", "get_settings"]
