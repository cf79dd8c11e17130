"""benchmarks/answers.py (side by side) and benchmarks/llm_peer.py: question selection, SciFact
questions, the run file (written per answer, resumed, cut short), scoring by the eval's scorer,
and the llama-index peer's answers read as askpapers Answers."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from assistant.answers import REFUSAL, Answer, Citation
from assistant.evaluation import Question
from assistant.retrieval import Hit
from benchmarks import answers as bench
from benchmarks.llm_peer import Timed, peer_answer
from conftest import write_jsonl

GOLD = "Hypernetworks for Embedding New Tokens"
OTHER = "Solar Wind Turbulence at Small Scales"


def questions() -> list[Question]:
    return [
        Question("f1", "fact", "How much does the hypernetwork improve perplexity?", [GOLD], ["twelve"]),
        Question("u1", "unanswerable", "What is the boiling point of tungsten?", []),
        Question("f2", "followup", "On how many languages?", [GOLD], ["twelve"], history=["f1"]),
    ]


class Scripted:
    """A system that answers from a script: {question: (text, cited titles or None to refuse)}."""

    def __init__(self, name: str, script: dict, fail_on: str | None = None) -> None:
        self.name, self.script, self.fail_on, self.asked = name, script, fail_on, []

    def ask(self, question: str, history=None) -> Timed:
        self.asked.append((question, [(t.question, t.cited) for t in history or []]))
        if question == self.fail_on:
            raise TimeoutError("the server stopped sending")
        text, titles = self.script[question]
        papers = [Hit(f"id:{t[:5]}", t, "", 0.5, None, [], None, [], "") for t in titles or []]
        cites = [Citation(i, p.paper_id, p.title, None, "", 0.0) for i, p in enumerate(papers, start=1)]
        return Timed(Answer(question, text, cites, papers, refused=titles is None, mode=self.name), 1.0, 2.0, 100)


def script(fact_text="It improves perplexity on twelve languages [1].", fact_cites=(GOLD,)):
    q = questions()
    return {q[0].question: (fact_text, list(fact_cites)), q[1].question: (REFUSAL, None),
            q[2].question: ("Twelve low-resource languages [1].", [GOLD])}


def test_every_nth_question_keeps_the_conversation_of_a_chosen_follow_up():
    qs = questions() + [Question("x", "fact", "Another?", [OTHER])]
    assert [q.id for q in bench.select(qs, every=2)] == ["f1", "f2"]  # f2 (chosen) needs f1 (chosen anyway)
    assert [q.id for q in bench.select(qs, every=3)] == ["f1", "x"]
    f1, u1, f2, x = qs
    assert [q.id for q in bench.select([u1, f1, x, f2], every=3)] == ["u1", "f1", "f2"]  # f1 pulled in for f2
    assert [q.id for q in bench.select(qs, limit=1)] == ["f1"]


def test_scifact_claims_become_supported_and_near_miss_questions(tmp_path):
    write_jsonl(tmp_path / "corpus.jsonl", [{"doc_id": i, "title": f"Paper {i}", "abstract": ["A."]}
                                            for i in range(1, 5)])
    claims = [{"id": 1, "claim": "Aspirin lowers fever.", "evidence": {"1": [{"sentences": [0], "label": "SUPPORT"}]}},
              {"id": 2, "claim": "X causes Y.", "evidence": {"2": [{"sentences": [0], "label": "CONTRADICT"}]}},
              {"id": 3, "claim": "Zinc helps colds.", "evidence": {}, "cited_doc_ids": [3]},
              {"id": 4, "claim": "Tea is a drug.", "evidence": {"4": [{"sentences": [0], "label": "SUPPORT"}]}}]
    write_jsonl(tmp_path / "claims_train.jsonl", claims)
    qs = bench.scifact_questions(tmp_path, 3)
    assert [(q.id, q.type, q.gold_titles) for q in qs] == [
        ("scifact-1", "fact", ["Paper 1"]), ("scifact-4", "fact", ["Paper 4"]), ("scifact-3", "unanswerable", [])]
    assert qs[0].question == "Do studies show that aspirin lowers fever?"
    with pytest.raises(SystemExit, match="not a SciFact directory"):
        bench.scifact_questions(tmp_path / "missing", 3)


def test_each_answer_is_written_as_it_comes_and_scored_by_the_eval_scorer(tmp_path):
    out = tmp_path / "run.jsonl"
    good = Scripted("good", script())
    sloppy = Scripted("sloppy", script("Perplexity improves on twelve languages.", ()))  # right, but uncited
    bench.run([good, sloppy], questions(), out, [])
    records = bench.read_run(out)
    assert [(r["system"], r["id"]) for r in records] == [
        ("good", "f1"), ("sloppy", "f1"), ("good", "u1"), ("sloppy", "u1"), ("good", "f2"), ("sloppy", "f2")]
    assert good.asked[2] == ("On how many languages?", [(questions()[0].question, ["id:Hyper"])])  # after f1
    results = bench.score(records, questions())
    assert results["good"]["facts_present"] == 1.0 and results["good"]["citation_precision"] == 1.0
    assert results["good"]["unanswerable_refused"] == 1.0 and results["good"]["answerable_refused"] == 0.0
    assert results["good"]["uncited"] == 0.0 and results["sloppy"]["uncited"] == 0.5
    assert results["good"]["prompt_tokens_p50"] == 100 and results["good"]["total_p50"] == 2.0


def test_a_run_cut_short_gives_a_table_and_resumes_where_it_stopped(tmp_path):
    out = tmp_path / "run.jsonl"
    first = Scripted("a", script())
    bench.run([first], questions()[:2], out, [])
    with out.open("a") as f:
        f.write('{"system": "a", "id": "f2", "key": "On how')  # killed while writing
    partial = bench.score(bench.read_run(out), questions())
    assert partial["a"]["questions"] == 2  # the questions answered so far
    again = Scripted("a", script())
    bench.run([again], questions(), out, bench.read_run(out))
    assert [q for q, _ in again.asked] == ["On how many languages?"]  # only what was missing
    assert again.asked[0][1] == [(questions()[0].question, ["id:Hyper"])]  # as an unbroken run has it
    assert bench.score(bench.read_run(out), questions())["a"]["questions"] == 3


def test_a_failing_system_is_recorded_and_the_run_goes_on(tmp_path):
    out = tmp_path / "run.jsonl"
    q = questions()
    flaky = Scripted("flaky", script(), fail_on=q[0].question)
    bench.run([flaky], q, out, [])
    results = bench.score(bench.read_run(out), q)["flaky"]
    assert results["questions"] == 3 and results["failures"] == 1
    assert results["errors"] == [{"id": "f1", "error": "TimeoutError: the server stopped sending"}]
    assert results["answerable_refused"] == 0.5  # the failed answer counts as not answered


def test_only_questions_every_system_answered_are_compared(tmp_path):
    out = tmp_path / "run.jsonl"
    bench.run([Scripted("a", script()), Scripted("b", script())], questions()[:1], out, [])
    bench.run([Scripted("a", script())], questions()[1:2], out, bench.read_run(out))
    results = bench.score(bench.read_run(out), questions())
    assert results["a"]["questions"] == results["b"]["questions"] == 1


def test_report_only_prints_the_table_without_asking(tmp_path, capsys):
    out = tmp_path / "run.jsonl"
    bench.run([Scripted("askpapers offline", script())], questions(), out, [])
    qfile = write_jsonl(tmp_path / "q.jsonl", [{"id": q.id, "type": q.type, "question": q.question,
                                                "gold_titles": q.gold_titles, "answer_facts": q.answer_facts,
                                                "history": q.history} for q in questions()])
    assert bench.main([str(qfile), "--out", str(out), "--report-only"]) == 0
    table = capsys.readouterr().out
    assert "3 questions answered by every system" in table and "askpapers offline" in table
    assert any(line.startswith("citation precision") and line.split()[-1] == "1.000" for line in table.splitlines())
    assert bench.main([str(qfile), "--out", str(out), "--report-only", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["askpapers offline"]["facts_present"] == 1.0


def test_the_peers_markers_cite_its_sources_and_refusal_words_refuse():
    sources = [SimpleNamespace(node=SimpleNamespace(metadata={"title": t, "paper_id": p}))
               for t, p in ((GOLD, "arxiv:1"), (OTHER, "arxiv:2"))]
    answer = peer_answer("q?", "It helps [1], [1, 2] and [7].", sources, "peer")
    assert [(c.number, c.title) for c in answer.citations] == [(1, GOLD), (2, OTHER)] and not answer.refused
    worded = peer_answer("q?", "It helps [Source 2]. So does [Sources 1 and 2].", sources, "peer")
    assert [c.number for c in worded.citations] == [2, 1]
    pasted = peer_answer("q?", "Source 1: We train a hypernetwork.", sources, "peer")
    assert pasted.citations == [] and not pasted.refused  # an answer without a citation
    declined = peer_answer("q?", "The sources do not provide information about this [1].", sources, "peer")
    assert declined.refused and declined.citations == []
    assert peer_answer("q?", "  ", sources, "peer").refused


@pytest.mark.slow
def test_the_peer_answers_through_a_fake_openai_server(tmp_path, tiny_papers):
    """The llama-index CitationQueryEngine end to end: same papers, streamed reply, prompt counted."""
    from assistant import Assistant
    from benchmarks.llm_peer import CitationEnginePeer
    from fake_openai import FakeOpenAI

    assistant = Assistant(index_dir=tmp_path / "index")
    assistant.ingest([write_jsonl(tmp_path / "p.jsonl", tiny_papers)])
    fake = FakeOpenAI()
    try:
        fake.reply = "A hypernetwork predicts embeddings for new tokens [1]."
        peer = CitationEnginePeer("peer", assistant, fake.url, "fake-model", None, tmp_path / "cache")
        timed = peer.ask("Which paper trains a hypernetwork to embed new tokens?")
    finally:
        fake.close()
    assert timed.answer.text == fake.reply and [c.title for c in timed.answer.citations] == [GOLD]
    assert timed.sources[0] == GOLD  # the numbered sources are kept with the answer (the run file has them)
    assert timed.prompt_tokens > 50 and 0 < timed.first_token <= timed.total
    assert "Source 1" in json.dumps(fake.requests[-1])  # llama-index's own citation prompt was sent
    assert any(Path(tmp_path / "cache").glob("peer-vectors-*.npy"))


@pytest.mark.slow
def test_askpapers_with_an_llm_counts_its_prompt_and_times_its_first_token(tmp_path, tiny_papers):
    """The askpapers system the benchmark runs: the user's Assistant around a counting client."""
    from assistant import Assistant
    from assistant.llm import Limits
    from assistant.settings import get_settings
    from benchmarks.llm_peer import AskpapersSystem, CountingClient
    from fake_openai import FakeOpenAI

    Assistant(index_dir=tmp_path / "index").ingest([write_jsonl(tmp_path / "p.jsonl", tiny_papers)])
    fake = FakeOpenAI()
    try:
        fake.reply = "A hypernetwork predicts embeddings for tokens missing from the vocabulary [1]."
        settings = get_settings(index_dir=tmp_path / "index", llm_base_url=fake.url, llm_model="fake-model")
        client = CountingClient(fake.url, "fake-model", None, Limits(total=30))
        timed = AskpapersSystem("askpapers + fake", settings, client).ask("Which paper trains a hypernetwork?")
    finally:
        fake.close()
    sent = fake.requests[-1]["messages"]
    assert timed.prompt_tokens == bench_tokens(sent) and timed.prompt_tokens > 20
    assert timed.answer.mode == "fake-model" and timed.answer.draft == fake.reply
    assert [c.title for c in timed.answer.citations] == [GOLD] and 0 < timed.first_token <= timed.total


def bench_tokens(messages: list[dict]) -> int:
    from assistant.generative import count_tokens

    return sum(count_tokens(m["content"]) for m in messages)


def test_a_follow_up_is_scored_on_the_answer_given_after_its_conversation(tmp_path):
    out = tmp_path / "run.jsonl"
    bench.run([Scripted("a", script())], questions(), out, [])
    records = bench.read_run(out)
    alone = dict(records[-1], key="On how many languages?", answer=dict(records[-1]["answer"], citations=[]))
    results = bench.score(records + [alone], questions())["a"]  # `alone`: f2 asked without f1, uncited
    assert results["uncited"] == 0.0 and results["questions"] == 3


def test_prompt_facts_counts_the_facts_and_tokens_each_budget_gives(tmp_path, tiny_papers):
    """benchmarks/prompt_facts.py: whole abstracts hold every fact; a budget's prompt is smaller,
    still holds the gold paper's fact sentence, and follow-ups (asked in a conversation) are skipped."""
    from assistant import Assistant
    from benchmarks import prompt_facts
    from ingest.pipeline import ingest

    a = Assistant(index_dir=tmp_path / "index")
    ingest([write_jsonl(tmp_path / "p.jsonl", tiny_papers)], index=a.index, progress=False)
    rows = prompt_facts.measure(a, questions(), [20])
    whole, small = rows[prompt_facts.WHOLE], rows[20]
    assert whole["questions"] == small["questions"] == 1  # f1 only: u1 has no facts, f2 is a follow-up
    assert (whole["facts"], whole["facts_total"], whole["gold_shown"], whole["gold_total"]) == (1, 1, 1, 1)
    assert small["facts"] == 1 and small["tokens_p50"] < whole["tokens_p50"] and small["of_whole"] < 1


def test_pairs_report_counts_each_kind_of_wrong_decision(tmp_path, capsys):
    """--pairs: the accuracy of the follow-up decisions, and each pair decided wrong, by kind."""
    pairs = [
        {"id": "a", "first": "Which model family from 01.AI offers 200K context?",
         "first_answer_title": "Yi: Open Foundation Models", "second": "Is it open source?", "follow_up": True},
        {"id": "b", "first": "Which model family from 01.AI offers 200K context?",
         "first_answer_title": "Yi: Open Foundation Models", "second": "Is it open source?", "follow_up": False},
    ]
    path = write_jsonl(tmp_path / "pairs.jsonl", pairs)
    bench.print_follow_ups(path)
    out = capsys.readouterr().out
    assert "0.500 right of 2 pairs (1 follow-ups); follow-ups taken as new 0, new questions taken as follow-ups 1" in out
    assert "b: new question decided wrong: Is it open source?" in out


def test_replay_answers_each_prompt_with_the_reply_recorded_for_its_question():
    """A replayed run: the answer prompt gets the question's draft (also when it asks the follow-up's
    standalone question), the condensing prompt its standalone question, anything else an LLMError."""
    from assistant.generative import answer_messages, condense_messages
    from assistant.llm import LLMError
    from benchmarks.replay import ReplayClient

    records = [
        {"system": "askpapers + local", "answer": {"question": "Which paper trains a hypernetwork?",
                                                    "draft": "Hypernetworks for Embedding New Tokens [1]."}},
        {"system": "askpapers + local", "answer": {"question": "How much does it improve?",
                                                    "standalone_question": "How much does the hypernetwork improve perplexity?",
                                                    "draft": "On twelve languages [1]."}},
        {"system": "askpapers offline", "answer": {"question": "Which paper studies solar wind?", "draft": "x"}},
    ]
    client = ReplayClient(records, "askpapers + local", "local")
    asked = answer_messages("Which paper trains a hypernetwork?", [], [])
    assert client.complete(asked) == "Hypernetworks for Embedding New Tokens [1]."
    assert client.complete(answer_messages("How much does the hypernetwork improve perplexity?", [], [])) \
        == "On twelve languages [1]."
    condensing = condense_messages("How much does it improve?", [{"role": "user", "content": "Which paper …?"}])
    assert client.complete(condensing) == "How much does the hypernetwork improve perplexity?"
    assert client.prompt_tokens > 0
    with pytest.raises(LLMError):  # another system's replies are not this one's
        client.complete(answer_messages("Which paper studies solar wind?", [], []))


@pytest.mark.slow
def test_a_replayed_run_checks_the_recorded_draft_with_the_current_code(tmp_path, tiny_papers):
    """Replaying through AskpapersSystem: the recorded draft goes through citation checking as a live
    reply would; a question with no recorded reply gets the offline answer and a warning."""
    from assistant import Assistant
    from assistant.settings import get_settings
    from benchmarks.replay import replay_system

    Assistant(index_dir=tmp_path / "index").ingest([write_jsonl(tmp_path / "p.jsonl", tiny_papers)])
    q = "Which paper trains a hypernetwork to embed new tokens?"
    draft = "A hypernetwork predicts embeddings for tokens missing from the vocabulary."  # no marker
    records = [{"system": "askpapers + local", "answer": {"question": q, "draft": draft}}]
    system = replay_system(get_settings(index_dir=tmp_path / "index"), records, tmp_path / "run.jsonl")
    assert system.name == "askpapers + local (replayed)"
    timed = system.ask(q)
    assert timed.answer.draft == draft and [c.title for c in timed.answer.citations] == [GOLD]  # re-cited
    assert timed.prompt_tokens > 20
    other = system.ask("Which paper measures solar wind turbulence with spacecraft?")
    assert not other.answer.refused and other.answer.citations and other.answer.warnings
    with pytest.raises(SystemExit):
        replay_system(get_settings(index_dir=tmp_path / "index"), [], tmp_path / "empty.jsonl")
