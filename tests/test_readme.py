"""Every example in the README is a test: its questions, its Python calls and its shown output."""

from __future__ import annotations

import re
import shlex

import pytest

from conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
REFUSED_ON_PURPOSE = {"Which paper uses quantum circuits to accelerate attention?"}  # the demo's unanswerable one


def _commands(text: str, verb: str) -> list[list[str]]:
    lines = re.findall(rf"askpapers {verb} (.+?)(?:\s+#.*)?$", text, re.M)
    return [shlex.split(line) for line in lines]


def _questions() -> list[str]:
    return sorted({args[0] for args in _commands(README + MAKEFILE, "ask")})


def test_the_readme_asks_questions():
    assert len(_questions()) >= 5


@pytest.mark.parametrize("question", _questions())
def test_every_question_in_the_readme_and_demo_is_answered(sample_assistant, question):
    answer = sample_assistant.ask(question)
    assert answer.refused == (question in REFUSED_ON_PURPOSE), answer.text
    if not answer.refused:
        assert answer.citations and re.search(r"\[\d+\]", answer.text)


def test_the_first_example_says_what_the_readme_shows(sample_assistant):
    shown = README[README.index("$ askpapers ask"):README.index("Sources:")]
    question = shlex.split(shown.splitlines()[0].split("askpapers ask ", 1)[1])[0]
    text = " ".join(shown.splitlines()[1:]).strip()
    answer = sample_assistant.ask(question)
    assert " ".join(answer.text.split()) == " ".join(text.split())


def test_the_bibtex_example_is_what_ask_prints(sample_assistant):
    from assistant.export import export_answer

    block = README[README.index("--format bibtex\n@"):]
    shown = block[block.index("@"):block.index("\n}\n") + 2]
    question = re.search(r'\$ askpapers ask "(.+?)" --format bibtex', README).group(1)
    assert export_answer(sample_assistant.ask(question), "bibtex").strip() == shown.strip()


def test_every_search_line_runs(sample_assistant):
    from assistant.cli import main

    for args in _commands(README + MAKEFILE, "search"):
        flags = [a for a in args[1:] if a != "--json"]
        assert main(["search", args[0], "--index-dir", str(sample_assistant.settings.index_dir), *flags]) in (0, 1)


def test_the_stream_example_with_a_turn_follows_up(sample_assistant):
    from assistant import Turn

    example = README[README.index("first = a.ask("):]
    first_question = re.search(r'a\.ask\("(.+?)"\)', example).group(1)
    follow_up = re.search(r'a\.stream\("(.+?)"', example).group(1)
    first = sample_assistant.ask(first_question)
    parts = list(sample_assistant.stream(follow_up, history=[Turn.from_answer(first)]))
    answer = parts[-1]
    assert not answer.refused and answer.citations[0].title == "Deep Interest Network for Click-Through Rate Prediction"
    assert "mini-batch aware regularization" in answer.text.lower()
    assert "".join(p for p in parts[:-1]) == answer.text


def test_the_answerer_seam_example_runs(sample_assistant, monkeypatch):
    import assistant

    code = README[README.index("class FirstTitle"):]
    code = code[:code.index("```")]
    monkeypatch.setenv("ASKPAPERS_INDEX_DIR", str(sample_assistant.settings.index_dir))
    printed: list[str] = []
    namespace = {"Answer": assistant.Answer, "Assistant": assistant.Assistant, "print": printed.append}
    exec(code, namespace)  # noqa: S102 - the README's own example
    assert printed == ["Adaptive Semantic Prompt Caching with VectorQ [1]"]
