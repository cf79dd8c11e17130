"""ingest/settings.py: `~` expanded once for every user of the paths, and bad values as one line
naming the setting and the value (`SettingError`, an `AskpapersInputError`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import AskpapersInputError, SettingError
from ingest.settings import Settings, get_settings


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)  # a literal ./~ would appear here
    return tmp_path / "home"


def test_tilde_is_expanded_for_chroma_side_index_and_lock(home, monkeypatch):
    from ingest.store.lock import lock_path

    monkeypatch.setenv("ASKPAPERS_INDEX_DIR", "~/idx")
    for settings in (get_settings(), get_settings(index_dir="~/idx"), Settings(index_dir=Path("~/idx"))):
        assert settings.index_dir == home / "idx"
        assert settings.side_index_dir == home / "idx"
        assert lock_path(settings) == home / "idx" / "ingest.lock"
    server = get_settings(chroma_url="http://127.0.0.1:8000", cache_dir="~/cache")
    assert server.side_index_dir.parent == home / "cache"
    assert lock_path(server).parent == server.side_index_dir
    assert get_settings(llm_gguf="~/m.gguf").llm_gguf == home / "m.gguf"


def test_ingest_into_a_tilde_index_dir_writes_one_directory(home, tmp_path):
    from assistant import Assistant
    from conftest import write_jsonl
    from ingest.pipeline import ingest

    papers = [{"title": "Tilde Paths in Index Settings", "abstract": "We expand the home directory once."}]
    ingest([write_jsonl(tmp_path / "p.jsonl", papers)], settings=get_settings(index_dir="~/idx"), progress=False)
    assert not (tmp_path / "~").exists()  # no literal ./~ holding the side index or the locks
    assert (home / "idx" / "chroma.sqlite3").exists() and (home / "idx" / "ingest.lock").exists()
    assert [h.title for h in Assistant(index_dir="~/idx").search("home directory")] == [papers[0]["title"]]


@pytest.mark.parametrize(("name", "value", "message"), [
    ("ASKPAPERS_LLM_TIMEOUT", "abc", "ASKPAPERS_LLM_TIMEOUT: must be a number (got abc)"),
    ("ASKPAPERS_TOP_K", "-3", "ASKPAPERS_TOP_K: must be ≥ 1 (got -3)"),
    ("ASKPAPERS_TOP_K", "2.5", "ASKPAPERS_TOP_K: must be a whole number (got 2.5)"),
    ("ASKPAPERS_PORT", "99999", "ASKPAPERS_PORT: must be ≤ 65535 (got 99999)"),
    ("ASKPAPERS_RETRIEVAL_FUSION", "bogus",
     "ASKPAPERS_RETRIEVAL_FUSION: must be one of 'rrf', 'rrf-confidence' or 'score' (got bogus)"),
    ("ASKPAPERS_RETRIEVAL_FEEDBACK", "maybe", "ASKPAPERS_RETRIEVAL_FEEDBACK: must be true or false (got maybe)"),
    ("ASKPAPERS_RETRIEVAL_RERANKERS", "[oops",
     "ASKPAPERS_RETRIEVAL_RERANKERS: must be a JSON list of names or comma-separated names (got [oops)"),
    ("ASKPAPERS_COLLECTION", "a", "ASKPAPERS_COLLECTION: must be a Chroma collection name: 3-512 letters"),
])
def test_a_bad_environment_value_names_the_variable_and_the_value(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingError) as caught:
        get_settings()
    assert str(caught.value).startswith(message)
    assert isinstance(caught.value, AskpapersInputError) and "\n" not in str(caught.value)


def test_rerankers_from_the_environment_are_a_list(monkeypatch):
    monkeypatch.setenv("ASKPAPERS_RETRIEVAL_RERANKERS", "title-overlap, other")
    assert get_settings().retrieval_rerankers == ["title-overlap", "other"]
    monkeypatch.setenv("ASKPAPERS_RETRIEVAL_RERANKERS", '["title-overlap"]')
    assert get_settings().retrieval_rerankers == ["title-overlap"]


def test_a_bad_keyword_names_the_keyword(tmp_path):
    from assistant import Assistant

    with pytest.raises(AskpapersInputError, match=r"^top_k: must be ≥ 1 \(got -3\)$"):
        Assistant(index_dir=tmp_path / "idx", top_k=-3)
    with pytest.raises(AskpapersInputError, match=r"^port: must be ≤ 65535 \(got 70000\)$"):
        get_settings(port=70000)
    assert not (tmp_path / "idx").exists()


def test_an_env_file_that_is_not_utf8_is_named(tmp_path, monkeypatch):
    env = tmp_path / ".env"
    env.write_bytes(b"ASKPAPERS_TOP_K=3\nASKPAPERS_LLM_MODEL=caf\xe9\n")
    monkeypatch.setitem(Settings.model_config, "env_file", str(env))
    with pytest.raises(SettingError, match=r"\.env: not UTF-8 \(byte 0xe9 at offset \d+\); save it as UTF-8"):
        get_settings()
