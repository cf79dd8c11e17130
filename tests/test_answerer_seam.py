"""The answerer seam: an injected answerer is used as is, its status lines reach the CLI and the page."""

from __future__ import annotations

import io

import pytest

from conftest import make_settings, write_jsonl
from assistant import Assistant
from assistant.answers import REFUSAL, Answer, Answerer
from assistant.cli.output import StatusLine


class EchoAnswerer:
    """Cites the first source by title; reports a status line before answering."""

    mode = "echo"

    def stream(self, question, hits, context=None, focus=0, on_status=None):
        if on_status is not None:
            on_status("reading 1 paper with echo (0 s)")
        text = f"{hits[0].title} [1]" if hits else REFUSAL
        yield text
        yield Answer(question, text, papers=hits, refused=not hits, mode=self.mode)


@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory):
    from ingest.pipeline import ingest
    from ingest.store import PaperIndex

    d = tmp_path_factory.mktemp("seam-index")
    path = write_jsonl(d / "papers.jsonl", [
        {"title": "Hypernetworks for Embedding New Tokens", "id": "2401.00001",
         "abstract": "We train a hypernetwork that predicts embeddings for tokens missing from the vocabulary."},
        {"title": "Solar Wind Turbulence at Small Scales", "id": "0704.0002",
         "abstract": "Magnetometer data from three spacecraft reveal an anisotropic cascade of turbulence."},
    ])
    ingest([path], index=PaperIndex(make_settings(d / "idx")), progress=False)
    return d / "idx"


def test_an_injected_answerer_answers_and_reports_status(tiny_index):
    assert isinstance(EchoAnswerer(), Answerer)
    lines: list[str] = []
    a = Assistant(settings=make_settings(tiny_index), answerer=EchoAnswerer())
    answer = a.ask("hypernetwork embeddings for new tokens", on_status=lines.append)
    assert answer.mode == "echo" and answer.text == "Hypernetworks for Embedding New Tokens [1]"
    assert lines == ["reading 1 paper with echo (0 s)"]


def test_the_page_shows_status_lines_before_the_text(tiny_index):
    from assistant.web.page import answer_stream

    a = Assistant(settings=make_settings(tiny_index), answerer=EchoAnswerer())
    kinds = [kind for kind, _ in answer_stream(a, "hypernetwork embeddings", [], 2, None, None, "", "")]
    assert kinds == ["status", "partial", "final"]


def test_status_line_in_a_log_is_plain_lines_at_most_every_ten_seconds():
    out = io.StringIO()
    with StatusLine(out) as status:
        status("waiting for qwen (2 s)")
        status("waiting for qwen (4 s)")  # within 10 s of the last: not repeated in a log
    assert out.getvalue() == "waiting for qwen (2 s)\n"


def test_status_line_on_a_terminal_is_rewritten_in_place_and_cleared():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    out = Tty()
    with StatusLine(out) as status:
        status("waiting for qwen (2 s)")
        status("waiting \x1b[31m (4 s)")
    assert out.getvalue() == "\r\x1b[Kwaiting for qwen (2 s)\r\x1b[Kwaiting \\x1b[31m (4 s)\r\x1b[K"
