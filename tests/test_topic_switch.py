"""A topic switch is answered as if asked alone, in `askpapers chat` and in the chat page; a true
follow-up after it stays on the paper the switched question found.

The conversation, over the bundled sample pages: a question about LLMLingua-2, then a question
that names its own subject (concept erasure in diffusion models), then a follow-up that only
makes sense after it ("how long does the whole erasure procedure take?": 3 seconds, RECE).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, free_port

FIRST = "How much faster is LLMLingua-2 than existing prompt compression methods?"
SWITCH = "Which approach erases unsafe concepts from text-to-image diffusion models with closed-form updates?"
FOLLOW_UP = "How long does the whole erasure procedure take?"
FIRST_PAPER = "LLMLingua-2: Data Distillation for Efficient and Faithful Task-Agnostic Prompt Compression"
SWITCH_PAPER = "Reliable and Efficient Concept Erasure of Text-to-Image Diffusion Models"
FOLLOW_UP_FACT = "3 seconds"

pytestmark = pytest.mark.slow


# ------------------------------------------------------------------ the terminal chat
def _cli(index_dir, *args: str, stdin: str | None = None) -> str:
    out = subprocess.run([sys.executable, "-m", "assistant.cli", *args, "--index-dir", str(index_dir)],
                         input=stdin, capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return out.stdout


def _cited_titles(printed: str) -> list[str]:
    """Titles of the cited sources in a printed answer ("[n] Title — url", uncited ones marked)."""
    sources = printed.split("\nSources:\n", 1)[1] if "\nSources:\n" in printed else ""
    titles = []
    for line in sources.splitlines():
        m = re.match(r"\[\d+\] (.*?)(?: — \S+)?$", line)
        if m and not m.group(1).endswith("(not cited)"):
            titles.append(m.group(1))
    return titles


def test_terminal_chat_answers_a_switch_as_if_asked_alone(sample_index_dir):
    printed = _cli(sample_index_dir, "chat", stdin="\n".join([FIRST, SWITCH, FOLLOW_UP]) + "\n")
    # each answer follows the "> " prompt; the last prompt is answered by the end of input
    blocks = [b.strip() for b in printed.split("\n> ")[1:]]
    assert len(blocks) == 4 and blocks[-1] == "", printed
    first, switched, follow_up = blocks[:3]
    assert FIRST_PAPER in _cited_titles(first), first

    alone = _cli(sample_index_dir, "ask", SWITCH).strip()
    assert switched == alone  # the same answer, the same sources, word for word
    assert _cited_titles(switched) == [SWITCH_PAPER], switched
    assert "LLMLingua" not in switched.split("\nSources:\n")[0]

    assert _cited_titles(follow_up)[:1] == [SWITCH_PAPER], follow_up
    assert FOLLOW_UP_FACT in follow_up


# ------------------------------------------------------------------ the chat page
@pytest.fixture(scope="module")
def page_url(sample_index_dir, tmp_path_factory):
    """The page launched over a copy of the sample index (a real server on 127.0.0.1)."""
    from assistant import Assistant, web

    index_dir = tmp_path_factory.mktemp("switch-index") / "index"
    shutil.copytree(sample_index_dir, index_dir)
    demo = web.serve(Assistant(index_dir=index_dir), host="127.0.0.1", port=free_port(), block=False, quiet=True)
    yield f"http://127.0.0.1:{demo.server_port}/"
    demo.close()


@pytest.fixture(scope="module")
def client(page_url):
    from gradio_client import Client

    return Client(page_url, verbose=False)


def _cited(result: dict) -> list[str]:
    """Titles the answer dict cites, in [n] order."""
    numbers = sorted({c["number"] for c in result["citations"]})
    return [result["papers"][n - 1]["title"] for n in numbers]


def test_page_api_with_turns_answers_a_switch_as_if_asked_alone(client):
    """`/ask` hands back each answer's `turn`; a client passes them as history (one chat, three turns)."""
    first = client.predict(FIRST, api_name="/ask")
    assert FIRST_PAPER in _cited(first)
    switched = client.predict(SWITCH, [first["turn"]], api_name="/ask")
    alone = client.predict(SWITCH, api_name="/ask")
    assert switched["standalone_question"] is None
    assert (switched["text"], _cited(switched), switched["refused"]) == (alone["text"], _cited(alone), alone["refused"])
    assert FIRST_PAPER not in _cited(switched) and _cited(switched) == [SWITCH_PAPER]

    follow_up = client.predict(FOLLOW_UP, [first["turn"], switched["turn"]], api_name="/ask")
    assert follow_up["standalone_question"], follow_up
    assert _cited(follow_up)[:1] == [SWITCH_PAPER] and FOLLOW_UP_FACT in follow_up["text"], follow_up["text"]


def test_page_chat_endpoint_with_plain_messages_answers_a_switch_as_if_asked_alone(client):
    """`/chat` from a plain client: the history is role/content text only, no cited ids."""
    first = client.predict(FIRST, api_name="/chat")
    history = [{"role": "user", "content": FIRST}, {"role": "assistant", "content": first}]
    switched = client.predict(SWITCH, history, api_name="/chat")
    assert switched == client.predict(SWITCH, api_name="/chat")
    assert "LLMLingua" not in switched.split("\n\nSources:\n")[0]

    history += [{"role": "user", "content": SWITCH}, {"role": "assistant", "content": switched}]
    follow_up = client.predict(FOLLOW_UP, history, api_name="/chat")
    assert FOLLOW_UP_FACT in follow_up and f"[1] {SWITCH_PAPER}" in follow_up, follow_up


def test_page_chat_state_answers_a_switch_as_if_asked_alone(sample_assistant):
    """The page's own chat handler (`web.respond`, what the question box runs) over one chat: the
    turns it keeps in its state are the history of the next question."""
    from assistant import web

    chat, sections, turns = [], [], []
    finals = []
    for question in (FIRST, SWITCH, FOLLOW_UP):
        chat = chat + [{"role": "user", "content": web.esc(question)}]
        final = None
        for chat, sections, turns, panel in web.respond(sample_assistant, chat, sections, turns,
                                                        on_answer=lambda a: finals.append(a)):
            final = panel
        assert final is not None and len(turns) == len(finals)
    first, switched, follow_up = finals
    alone = sample_assistant.ask(SWITCH)
    assert (switched.text, switched.refused, switched.standalone_question) == (alone.text, alone.refused, None)
    assert [t["cited_titles"] for t in turns] == [[FIRST_PAPER], [SWITCH_PAPER], turns[2]["cited_titles"]]
    assert turns[2]["cited_titles"][:1] == [SWITCH_PAPER] and FOLLOW_UP_FACT in follow_up.text
    assert len(sections) == 3 and len(chat) == 6
