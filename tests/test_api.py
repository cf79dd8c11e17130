"""Argument checks of the public API: one-line AskpapersInputError before any index is opened."""

from __future__ import annotations

import numpy as np
import pytest

import assistant
from assistant import AskpapersInputError, Assistant
from assistant.api import MAX_K, check_history, check_k, empty_index_message
from conftest import make_settings, write_jsonl


@pytest.fixture
def unopened(tmp_path):
    """An Assistant whose index must stay unopened: every check below fails before it."""
    a = Assistant(settings=make_settings(tmp_path / "never-opened"))
    yield a
    assert a._index is None, "a bad argument opened the index"
    assert not (tmp_path / "never-opened").exists()


BAD_CALLS = {
    "search(12345)": (lambda a: a.search(12345), "query: expected a string, got int 12345"),
    "search(None)": (lambda a: a.search(None), "query: expected a string, got NoneType"),
    "k='5'": (lambda a: a.search("x", k="5"), "k: expected an int from 1 to 1000, got str '5'"),
    "k=2.5": (lambda a: a.search("x", k=2.5), "k: expected an int from 1 to 1000, got float 2.5"),
    "k=True": (lambda a: a.search("x", k=True), "k: expected an int from 1 to 1000, got bool True"),
    "k=0": (lambda a: a.search("x", k=0), "k: 0 is out of range (1 to 1000)"),
    "k=-3 ask": (lambda a: a.ask("x", k=-3), "k: -3 is out of range"),
    "k huge": (lambda a: a.ask("x", k=10**9), "k: 1000000000 is out of range"),
    "date word": (lambda a: a.search("x", filters={"date_from": "yesterday"}),
                  "date_from: 'yesterday' is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)"),
    "date -5": (lambda a: a.ask("x", filters={"date_to": "-5"}), "date_to: '-5' is not a date"),
    "no such day": (lambda a: a.search("x", filters={"date_to": "2024-13-45"}), "date_to: '2024-13-45' is not a date"),
    "categories": (lambda a: a.search("x", filters={"categories": [None, 5]}), "categories: None is not a string"),
    "filters str": (lambda a: a.search("x", filters="cs.CL"), "filters: expected a dict or SearchFilters"),
    "question None": (lambda a: a.ask(None), "question: expected a string, got NoneType"),
    "question blank": (lambda a: a.ask("   "), "question: must not be empty"),
    "question bytes": (lambda a: a.ask(b"what?"), "question: expected a string, got bytes"),
    "history str": (lambda a: a.ask("x", history="not a list"), "history: expected a list of messages, got str"),
    "history item": (lambda a: a.ask("x", history=["hi"]), "history[0]: expected a {'role', 'content'} dict"),
    "history role": (lambda a: a.ask("x", history=[{"role": "bot", "content": "hi"}]), "history[0]: role 'bot'"),
    "history content": (lambda a: a.ask("x", history=[{"role": "user", "content": 5}]),
                        "history[0]: content must be a string or a list of parts, got 5"),
    "stream": (lambda a: a.stream(12345), "question: expected a string, got int"),  # raised at the call
    "search_conversation": (lambda a: a.search_conversation("x", history={"role": "user"}), "history: expected a list"),
}


@pytest.mark.parametrize("name", BAD_CALLS)
def test_bad_arguments_raise_one_line_input_errors(unopened, name):
    call, message = BAD_CALLS[name]
    with pytest.raises(AskpapersInputError) as err:
        call(unopened)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)
    assert isinstance(err.value, ValueError) and isinstance(err.value, TypeError)


def test_module_level_functions_check_their_arguments(tmp_path, monkeypatch):
    monkeypatch.setenv("ASKPAPERS_INDEX_DIR", str(tmp_path / "default"))
    monkeypatch.setattr(assistant.api, "_default", None)
    with pytest.raises(AskpapersInputError, match="history: expected a list"):
        assistant.ask("x", history="not a list")
    with pytest.raises(AskpapersInputError, match="k: expected an int"):
        assistant.search("x", k=2.5)
    assert not (tmp_path / "default").exists()


def test_accepted_argument_shapes():
    assert check_k(np.int64(7)) == 7 and check_k(1) == 1 and check_k(MAX_K) == MAX_K
    gradio_style = [{"role": "user", "content": [{"type": "text", "text": "hi"}]},
                    {"role": "assistant", "content": "hello", "metadata": None}]
    assert check_history(gradio_style) == gradio_style
    assert check_history(tuple(gradio_style)) == gradio_style
    assert check_history(None) == []


def test_empty_index_message_names_the_index_and_the_command(tmp_path):
    settings = make_settings(tmp_path / "idx")
    assert empty_index_message(settings, str(tmp_path / "idx")) == (
        f"No papers in the index at {tmp_path / 'idx'} yet: run `askpapers ingest PATH --index-dir {tmp_path / 'idx'}`")
    server = make_settings(tmp_path, chroma_url="http://127.0.0.1:8000")
    assert "--chroma-url http://127.0.0.1:8000 --collection askpapers`" in empty_index_message(server, "x")


def test_tiny_index_filters_and_empty_index(tmp_path, tiny_papers):
    from ingest.pipeline import ingest

    empty = Assistant(settings=make_settings(tmp_path / "empty"))
    assert empty.search("solar wind") == [] and empty.is_empty()
    answer = empty.ask("what is solar wind turbulence?")
    assert answer.refused and answer.text.startswith(f"No papers in the index at {tmp_path / 'empty'} yet")

    a = Assistant(settings=make_settings(tmp_path / "idx"))
    ingest([write_jsonl(tmp_path / "p.jsonl", tiny_papers)], index=a.index, progress=False)
    assert not a.is_empty()
    assert [h.title for h in a.search("turbulence", k=3, filters={"date_to": "2007-04"})] == [
        "Solar Wind Turbulence at Small Scales"]
    assert a.search("turbulence", k=3, filters={"date_from": "2007-04-03", "date_to": "2023"}) == []
    titles = {h.title for h in a.search("language model", k=3, filters={"category": "cs.CL", "date_from": "2024-06"})}
    assert titles == {"Contrastive Decoding Reduces Hallucination"}
    answer = a.ask("What does contrastive decoding reduce?", history=[], k=2)
    assert not answer.refused and answer.papers
