"""GenerativeAnswerer against the stdlib fake server: every transport fault and every kind of
reply ends in an answer (never an exception, never an empty text), within its limit + 5 s."""

from __future__ import annotations

import re
import time

import pytest
from conftest import write_jsonl
from fake_openai import FakeOpenAI
from test_citations import PAPERS

from assistant.answers import REFUSAL, Answer, Citation
from assistant.extractive import ExtractiveAnswerer
from assistant.generative import (
    GenerativeAnswerer,
    answer_messages,
    count_tokens,
    format_sources,
    lists_every_source,
    pick_evidence,
    quoted_by,
    relevant,
)
from assistant.llm import ChatClient, Limits

LIMITS = Limits(connect=1.0, first_token=2.0, gap=1.5, total=6.0)
SLACK = 5.0  # the bound: no fault may exceed its limit by more than this
MODEL = "fake-model"
QUESTION = "How many parameters does the state-space retrieval encoder have, and how long a document can it handle?"
OTHER_PAPERS = [
    ("Contrastive Decoding Reduces Hallucination",
     ("Contrasting an expert language model with an amateur model at decoding time reduces hallucinated "
      "statements by 4.5 points on TruthfulQA.")),
    ("Hypernetworks for Embedding New Tokens",
     ("We train a hypernetwork that predicts embeddings for tokens missing from the vocabulary. It improves "
      "perplexity on twelve low-resource languages.")),
]


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    """An assistant over five papers (its scorer and retrieval), and the offline answerer."""
    from assistant import Assistant
    from ingest.pipeline import ingest

    d = tmp_path_factory.mktemp("gen")
    records = [{"id": f"2401.0000{i}", "title": t, "abstract": a, "categories": "cs.CL", "update_date": "2024-01-05"}
               for i, (t, a) in enumerate(PAPERS + OTHER_PAPERS, start=1)]
    a = Assistant(index_dir=d / "index")
    ingest([write_jsonl(d / "papers.jsonl", records)], index=a.index, progress=False)
    return a, ExtractiveAnswerer(a.scorer)


@pytest.fixture(scope="module")
def fake():
    server = FakeOpenAI()
    yield server
    server.close()


@pytest.fixture
def run(parts, fake):
    """Ask through a GenerativeAnswerer on the fake server; returns (pieces, answer, seconds, statuses)."""
    a, offline = parts
    fake.behaviour, fake.reply, fake.stall = "reply", "", 30.0

    def ask(question: str = QUESTION, retries: int = 0):
        answerer = GenerativeAnswerer(ChatClient(fake.url, MODEL, "k", LIMITS, retries=retries), a.scorer, offline)
        hits = a.search(question, k=5)
        statuses: list[str] = []
        started = time.monotonic()
        items = list(answerer.stream(question, hits, on_status=statuses.append))
        seconds = time.monotonic() - started
        *pieces, answer = items
        assert isinstance(answer, Answer) and all(isinstance(p, str) for p in pieces)
        assert answer.text.strip() and answer.papers == hits
        return pieces, answer, seconds, statuses

    return ask


def number_of(answer: Answer, prefix: str) -> int:
    return next(i for i, h in enumerate(answer.papers, start=1) if h.title.startswith(prefix))


def strong_source(parts, question: str, prefix: str) -> int:
    """[n] of the paper titled `prefix…` among `question`'s hits, where the offline answerer
    answers (the premise of the tests that complete a model's reply: strong evidence)."""
    a, offline = parts
    hits = a.search(question, k=5)
    assert not offline.answer(question, hits).refused  # the premise: strong evidence
    return number_of(Answer("", "", papers=hits), prefix)


def assert_offline(answer: Answer, reason: str) -> None:
    """The offline answer, with the one-line warning naming the model and what happened."""
    assert answer.mode == "extractive" and not answer.refused and answer.citations
    assert "80M parameters" in answer.text
    warning = answer.warnings[0]
    assert warning.startswith(f"{MODEL}: {reason}") and warning.endswith("showing the offline answer"), warning
    assert "\n" not in warning


@pytest.mark.parametrize("behaviour,reason,limit", [
    ("hang", "no first token within 2 s", LIMITS.first_token),
    ("stall_first", "no first token within 2 s", LIMITS.first_token),
    ("keepalive", "no first token within 2 s", LIMITS.first_token),
    ("stall_mid", "stopped writing (no token for 1.5 s)", LIMITS.first_token + LIMITS.gap),
    ("close_mid", "the connection closed in the middle of the reply", 0.0),
    ("malformed", "a malformed line in the reply stream", 0.0),
    ("error500", "the server answered HTTP 500", 0.0),
    ("empty", "an empty reply", 0.0),
])
def test_transport_faults_end_in_the_offline_answer(run, fake, behaviour, reason, limit):
    fake.behaviour = behaviour
    fake.reply = "The encoder has 80M parameters [1]. It handles documents of up to 32K tokens [1]."
    pieces, answer, seconds, statuses = run()
    assert seconds < limit + SLACK, seconds
    assert_offline(answer, reason)
    assert answer.text in "".join(pieces) or "".join(pieces).startswith("The encoder")  # shown or streamed
    if limit:  # a silent model is reported while waited for
        assert statuses[0] == f"reading 5 papers with {MODEL} (0 s)"
        later = statuses[1:]
        assert later and all(re.fullmatch(rf"(reading 5 papers with {MODEL}|{MODEL} paused) \(\d+ s\)", s)
                             for s in later), statuses


def test_retry_after_beyond_the_limits_is_not_waited_for(run, fake):
    fake.behaviour, fake.retry_after = "busy", 120
    _pieces, answer, seconds, _statuses = run(retries=1)
    assert seconds < LIMITS.first_token + SLACK
    assert_offline(answer, "the server answered HTTP 429, retry asked in 120 s")


def test_retry_after_within_the_limits_is_honoured(run, fake):
    fake.behaviour, fake.retry_after = "busy", 1
    before = len(fake.requests)
    _pieces, answer, seconds, statuses = run(retries=1)
    assert len(fake.requests) - before == 2 and 1 <= seconds < LIMITS.first_token + SLACK
    assert any("retrying in" in s for s in statuses)
    assert_offline(answer, "the server answered HTTP 429")


def test_unexpected_exception_ends_in_the_offline_answer(parts):
    a, offline = parts

    class Broken:
        model = MODEL

        def stream(self, messages, **kw):
            yield "The encoder"
            raise KeyError("choices")

    hits = a.search(QUESTION, k=5)
    *pieces, answer = GenerativeAnswerer(Broken(), a.scorer, offline).stream(QUESTION, hits)
    assert pieces == ["The encoder"] and answer.draft == "The encoder"
    assert_offline(answer, "unexpected KeyError")


def test_refusal_while_the_evidence_is_strong_shows_the_offline_answer(run, fake):
    fake.reply = REFUSAL
    pieces, answer, _seconds, _statuses = run()
    assert "".join(pieces) == REFUSAL and answer.draft == REFUSAL
    assert answer.mode == "extractive" and not answer.refused and "80M" in answer.text
    assert answer.warnings[0] == f"{MODEL} declined to answer; showing the offline answer"


def test_a_reply_citing_in_place_of_saying_shows_the_offline_answer(run, fake):
    # a 1.5B model wrote this for "what were the three tricks they used?": markers where the answer belongs
    fake.reply = "The encoder's two figures are [1] and [2]."
    _pieces, answer, _seconds, _statuses = run()
    assert answer.mode == "extractive" and not answer.refused and "80M" in answer.text
    assert answer.warnings[-1] == f"{MODEL}'s answer cites sources in place of saying what they say: " \
        "showing the offline answer"
    assert answer.draft == fake.reply


def test_cites_in_place():
    from assistant.generative import cites_in_place

    assert cites_in_place("The three techniques they used to get there are [1], [2], and [4].")
    assert cites_in_place("The three techniques they used are [1, 2, 4].")
    assert not cites_in_place("It was introduced by [2].")  # a fair answer to "which paper …?"
    assert not cites_in_place("It is faster than prior methods, as reported in [1].")
    assert not cites_in_place("They fine-tune on MeetingBank [1], [2].")
    assert not cites_in_place("ECO-M2F uses a gating network [1].")
    assert not cites_in_place("The papers are [1] and [3]. They use codebooks [1].")
    assert not cites_in_place("The encoder has 80M parameters.")  # no marker: a claim to check


def test_refusal_both_agree_on(run, fake):
    fake.reply = REFUSAL
    _pieces, answer, _seconds, _statuses = run("Which paper measures the boiling point of liquid helium on Mars?")
    assert answer.refused and answer.text.startswith(REFUSAL) and "[1]" in answer.text
    assert answer.mode == MODEL and answer.draft == REFUSAL


def test_unmarked_correct_answer_is_repaired_not_dropped(run, fake):
    fake.reply = "The encoder has 80M parameters. It can handle documents up to 32K tokens long."
    pieces, answer, _seconds, _statuses = run()
    n = number_of(answer, "Mamba")
    assert "".join(pieces) == fake.reply and answer.draft == fake.reply
    assert answer.mode == MODEL and not answer.refused
    assert answer.text == f"The encoder has 80M parameters [{n}]. It can handle documents up to 32K tokens long [{n}]."
    (c,) = answer.citations  # one per source, quoting its sentence that best supports a claim
    assert c.number == n and c.quote == "It can handle documents up to 32K tokens long."
    assert any(f"added the citation [{n}]" in w for w in answer.warnings)


def test_wrong_marker_is_re_cited(parts, run, fake):
    a, _offline = parts
    hits = a.search(QUESTION, k=5)  # the same ranking the answerer gets
    wrong = number_of(Answer("", "", papers=hits), "Solar")
    fake.reply = f"It can handle documents up to 32K tokens long [{wrong}]."
    _pieces, answer, _seconds, _statuses = run()
    n = number_of(answer, "Mamba")
    # (the parameter count, the question's other part, is added from [n]: see the completion tests)
    assert answer.text.startswith(f"It can handle documents up to 32K tokens long [{n}].") and answer.mode == MODEL
    assert any(w.startswith("re-cited") and f"from [{wrong}] to [{n}]" in w for w in answer.warnings)


def test_unsupported_sentence_is_removed(run, fake):
    fake.reply = ("The encoder has 80M parameters [1]. It was trained on the moon by astronauts using "
                  "solar-powered abacuses [1].")
    _pieces, answer, _seconds, _statuses = run()
    n = number_of(answer, "Mamba")
    assert answer.text.startswith(f"The encoder has 80M parameters [{n}].") and answer.mode == MODEL
    assert "astronauts" not in answer.text and any("astronauts" in w for w in answer.warnings)


def test_answer_nothing_supports_becomes_the_offline_refusal(run, fake):
    fake.reply = "Penguins compose symphonies on Tuesdays [1]. Their favourite key is F sharp [2]."
    _pieces, answer, _seconds, _statuses = run()
    assert answer.refused and answer.text.startswith(REFUSAL) and answer.mode == "extractive"
    assert answer.draft == fake.reply and any("showing the offline refusal" in w for w in answer.warnings)


def test_prompt_leads_with_the_offline_answers_sentences_within_the_budget(parts):
    """The offline answer's sentences go in first, then each source's best sentence while the
    budget lasts (a source nothing of which fits shows its title), never over the budget but for
    the first sentence; every source keeps its number and title, before the question."""
    a, offline = parts
    hits = a.search(QUESTION, k=5)
    evidence = a.scorer.score(QUESTION, hits)
    quoted = quoted_by(offline.answer(QUESTION, hits), hits, evidence)
    assert quoted and any("80M parameters" in e.text for e in quoted)
    titles = sum(count_tokens(f"[{i}] {h.title}\n") for i, h in enumerate(hits, start=1))
    tight = pick_evidence(hits, evidence, titles + count_tokens(quoted[0].text) + 1, quoted)
    assert [e for es in tight.values() for e in es] == [quoted[0]]  # the offline answer's sentence, nothing else
    roomy = pick_evidence(hits, evidence, 10_000, quoted)
    assert set(roomy) == set(range(len(hits)))  # with room, every source has its sentences
    n = number_of(Answer("", "", papers=hits), "Mamba")
    for budget in (titles + 40, titles + 120, 300):
        text = format_sources(hits, evidence, budget, quoted)
        blocks = text.split("\n\n")
        assert [b.split("\n")[0] for b in blocks] == [f"[{i}] {h.title}" for i, h in enumerate(hits, start=1)]
        assert "80M parameters" in blocks[n - 1]
        chosen = pick_evidence(hits, evidence, budget, quoted)
        assert titles + sum(count_tokens(e.text) + 1 for es in chosen.values() for e in es) <= budget
    whole = "\n\n".join(f"[{i}] {h.title}\n{h.abstract}" for i, h in enumerate(hits, start=1))
    assert count_tokens(format_sources(hits, evidence, titles + 40, quoted)) < count_tokens(whole)
    user = answer_messages(QUESTION, hits, evidence)[1]["content"]
    assert QUESTION in user and user.index("[1] ") < user.index(QUESTION)  # the sources, then the question


def test_reply_with_no_claim_to_check_shows_the_offline_answer(run, fake):
    fake.reply = "Yes, [1]"  # a small model's whole reply to "Do studies show that …?": nothing to check
    _pieces, answer, _seconds, _statuses = run()
    assert answer.mode == "extractive" and not answer.refused and "80M parameters" in answer.text
    assert answer.warnings[0] == f"{MODEL}'s answer had no claim to check: showing the offline answer"
    assert answer.draft == "Yes, [1]"


def test_supported_but_irrelevant_reply_does_not_overrule_a_refusal(parts, run, fake):
    a, _offline = parts
    question = "Which paper measures the boiling point of liquid helium on Mars?"  # the offline answerer refuses
    n = number_of(Answer("", "", papers=a.search(question, k=5)), "Solar")
    fake.reply = ("Magnetometer data from three spacecraft reveal an anisotropic cascade of solar wind turbulence "
                  f"below the ion gyroradius [{n}].")  # copied from a source: supported, but not about helium
    _pieces, answer, _seconds, _statuses = run(question)
    assert answer.refused and answer.text.startswith(REFUSAL) and answer.mode == "extractive"
    assert answer.warnings[-1] == f"{MODEL}'s answer quotes the papers but not on what was asked: showing the offline refusal"


def test_an_answer_overruling_a_refusal_must_quote_what_was_asked(parts):
    a, _offline = parts
    hits = a.search(QUESTION, k=5)
    evidence = a.scorer.score(QUESTION, hits)

    def cite(prefix: str, quote: str) -> Citation:
        n = number_of(Answer("", "", papers=hits), prefix)
        return Citation(n, hits[n - 1].paper_id, hits[n - 1].title, None, quote, 0.9)

    on_topic = cite("Mamba", "It can handle documents up to 32K tokens long.")
    off_topic = cite("Solar", PAPERS[2][1])
    unscored = cite("Mamba", "A sentence the scorer never saw.")
    assert relevant([on_topic], evidence) and relevant([off_topic, on_topic], evidence)
    assert not relevant([off_topic], evidence) and not relevant([unscored], evidence)


def test_near_miss_answer_with_an_unsupported_claim_becomes_the_refusal(parts, run, fake):
    """The offline answerer refuses (the abstract says "twelve low-resource languages", not which);
    the model copies the supported sentence and adds languages no paper names: a refusal, with the
    model's draft kept."""
    a, _offline = parts
    question = "Which African languages were evaluated in the hypernetwork embedding paper?"
    hits = a.search(question, k=5)
    assert _offline.answer(question, hits).refused  # the premise: a near miss
    n = number_of(Answer("", "", papers=hits), "Hypernetworks")
    fake.reply = (f"It improves perplexity on twelve low-resource languages [{n}]. The African languages are "
                  f"Swahili, Yoruba and Hausa [{n}].")
    _pieces, answer, _seconds, _statuses = run(question)
    assert answer.refused and answer.text.startswith(REFUSAL) and answer.mode == "extractive"
    assert answer.draft == fake.reply
    assert answer.warnings[-1].endswith("the evidence is weak: showing the offline refusal")
    fake.reply = f"It improves perplexity on twelve low-resource languages [{n}]."  # supported, but names none
    _pieces, answer, _seconds, _statuses = run(question)
    assert answer.refused and answer.text.startswith(REFUSAL) and answer.draft == fake.reply
    assert answer.warnings[-1] == (f"{MODEL}'s answer does not state what was asked (a name), and the evidence is "
                                   "weak: showing the offline refusal")


@pytest.fixture
def weak(monkeypatch):
    """The offline answerer finds every question's evidence weak (it refuses them all)."""
    import assistant.extractive as extractive

    monkeypatch.setattr(extractive, "ANSWERABLE_THRESHOLD", 99.0)
    monkeypatch.setattr(extractive, "counts_asked", lambda text, question: False)  # no measure stated either


RESTATEMENT = "We present a state-space retrieval encoder for retrieval on long documents [{n}]."


def test_weak_evidence_and_a_restatement_of_the_topic_is_refused(parts, run, fake, weak):
    """The q146 case: the model restates what the paper is about, closely enough to pass the strict
    support, but states no quantity for "how many parameters …": the refusal, the draft kept."""
    a, _offline = parts
    n = number_of(Answer("", "", papers=a.search(QUESTION, k=5)), "Mamba")
    fake.reply = RESTATEMENT.format(n=n)
    _pieces, answer, _seconds, _statuses = run()
    assert answer.refused and answer.text.startswith(REFUSAL) and answer.mode == "extractive"
    assert answer.draft == fake.reply
    assert answer.warnings[-1] == (f"{MODEL}'s answer does not state what was asked (a quantity), and the evidence "
                                   "is weak: showing the offline refusal")


def test_weak_evidence_and_a_claim_stating_the_asked_number_is_kept(parts, run, fake, weak):
    a, _offline = parts
    n = number_of(Answer("", "", papers=a.search(QUESTION, k=5)), "Mamba")
    fake.reply = f"{RESTATEMENT.format(n=n)} It can handle documents up to 32K tokens long [{n}]."
    _pieces, answer, _seconds, _statuses = run()
    assert not answer.refused and answer.mode == MODEL and answer.text == fake.reply
    assert [c.quote for c in answer.citations] == ["It can handle documents up to 32K tokens long."]


def test_strong_evidence_completes_a_restatement(parts, run, fake):
    """Only weak evidence asks a claim for the asked kind (else the refusal); with strong evidence
    the same reply stands, and each part of the question it leaves out (the parameter count, the
    document length: one stated quantity does not answer the other) is added from its source."""
    n = strong_source(parts, QUESTION, "Mamba")
    fake.reply = RESTATEMENT.format(n=n)
    _pieces, answer, _seconds, _statuses = run()
    assert not answer.refused and answer.mode == MODEL
    assert answer.text == (f"{fake.reply} We present a state-space retrieval encoder with 80M parameters [{n}]. "
                           f"It can handle documents up to 32K tokens long [{n}].")
    assert len(answer.warnings) == 2


def test_strong_evidence_and_an_echo_of_the_question_shows_the_offline_answer(parts, run, fake):
    """The q077 case: asked for a quantity (or a name), the model restates the question with a
    marker and adds nothing; the offline answer states it, so that is shown, the draft kept."""
    a, _offline = parts
    n = number_of(Answer("", "", papers=a.search(QUESTION, k=5)), "Mamba")
    fake.reply = f"The state-space retrieval encoder has parameters and can handle a long document [{n}]."
    _pieces, answer, _seconds, _statuses = run()
    assert answer.mode == "extractive" and not answer.refused and "80M parameters" in answer.text
    assert answer.draft == fake.reply
    assert answer.warnings[-1] == (f"{MODEL}'s answer restates the question without a quantity: "
                                   "showing the offline answer")
    # one new word (what the paper presents) is not an echo: the model's answer stands (completed)
    fake.reply = RESTATEMENT.format(n=n)
    assert run()[1].text.startswith(fake.reply)



def test_a_walk_through_every_source_shows_the_offline_answer(parts, run, fake):
    """The q165 case: asked about a topic, the model pastes one sentence of each source in turn,
    each supported by its source; that chooses nothing, so the offline answer is shown."""
    a, _offline = parts
    hits = a.search(QUESTION, k=5)
    fake.reply = " ".join(f"[{i}] {h.abstract.split('. ')[0].rstrip('.')}." for i, h in enumerate(hits, start=1))
    answer = run()[1]
    assert answer.mode == "extractive" and "80M parameters" in answer.text and answer.draft == fake.reply
    assert answer.warnings[-1] == f"{MODEL} went through every source in turn instead of answering: showing the offline answer"


def test_a_figure_no_cited_source_states_shows_the_offline_answer(parts, run, fake):
    """The h011 case: the model writes a number its source does not give (8k in the paper, 32k in
    the reply); the offline answer is shown, with the invented figure named."""
    a, _offline = parts
    n = number_of(Answer("", "", papers=a.search(QUESTION, k=5)), "Mamba")
    fake.reply = f"The encoder has 120M parameters [{n}]. It handles documents of up to 32K tokens [{n}]."
    answer = run()[1]
    assert answer.mode == "extractive" and "80M parameters" in answer.text and answer.draft == fake.reply
    assert answer.warnings[-1] == f"{MODEL}'s answer states 120, which its sources do not: showing the offline answer"
    fake.reply = f"The encoder has 80M parameters [{n}], and it handles documents of thirty-two thousand tokens [{n}]."
    assert run()[1].mode == MODEL  # every figure it states is its source's


def test_numbers_in_words_and_in_the_question_count_as_given():
    from assistant.asked import unsourced_numbers

    assert unsourced_numbers("It releases 2 models and beats GPT-4 by 3 points.", ["We release two models."],
                             "How far does it beat GPT-4?") == {"3"}
    assert unsourced_numbers("It reaches 90.0% on K400.", ["VideoMAE V2 reaches 90.0% on Kinetics-400."], "?") == set()


def test_a_which_papers_answer_lists_the_offline_papers_and_names_the_models_others_in_a_warning(parts, fake):
    """The held-out h022/h023 case: the model names two of three papers ("[1] and [3] look at …");
    the answer lists every paper the offline answerer lists, each with its sentence. A paper the
    model names besides (h025: VideoMAE V2 for "which papers represent a video as network
    weights") is named in a warning, not listed."""
    a, offline = parts
    hits = a.search("state-space retrieval encoder long documents", k=5)
    cite = lambda n, quote: Citation(n, hits[n - 1].paper_id, hits[n - 1].title, None, quote, 0.9)  # noqa: E731
    listed = Answer("Which papers …?", f'These indexed papers address it:\n- "{hits[0].title}": A. [1]',
                    [cite(1, "A.")], hits, mode="extractive")
    model = Answer("Which papers …?", "[1] and [4] do it [1][4].", [cite(1, "A."), cite(4, "D.")], hits, mode=MODEL,
                   warnings=["re-cited …"])
    generative = GenerativeAnswerer(ChatClient(fake.url, MODEL, "k", LIMITS), a.scorer, offline)
    answer = generative.list_with(listed, model)
    assert answer.text == listed.text and [c.number for c in answer.citations] == [1]
    assert answer.warnings == ["re-cited …", f"{MODEL} named 2 paper(s): listing every paper whose abstract fits, "
                                             "each with the sentence that shows it",
                               f"{MODEL} also named [4] “{hits[3].title}”, whose abstract fits the question less "
                               "well than the listed papers': not listed"]
    only_listed = generative.list_with(listed, Answer("q", "[1] does [1].", [cite(1, "A.")], hits, mode=MODEL))
    assert only_listed.text == listed.text and only_listed.mode == "extractive"
    assert not any("also named" in w for w in only_listed.warnings)


def test_what_counts_as_a_walk_through_the_sources():
    assert lists_every_source("[1] a. [2] b. [3] c. [5] d.", 5)  # all but one, in order
    assert not lists_every_source("[2] a. [1] b. [3] c. [4] d.", 5)  # an order of its own: a choice
    assert not lists_every_source("a [1]. b [2]. c [3].", 5)  # three of five
    assert not lists_every_source("a [1]. b [2]. c [3].", 3)  # too few sources to tell


PARTS_QUESTION = "Which layer pools the token states of the decoder-only embedding model, and on which benchmark does it rank first?"


def test_a_part_the_answer_leaves_out_is_added_from_its_source(parts, run, fake):
    """The q030 case: a question in two parts, the model answers the first; its source's sentence
    stating the second (a name) is added, cited, with a warning naming the part."""
    n = strong_source(parts, PARTS_QUESTION, "NV-Embed")
    fake.reply = f"It adds a latent attention layer to obtain pooled embeddings from the token states [{n}]."
    _pieces, answer, _seconds, _statuses = run(PARTS_QUESTION)
    assert answer.mode == MODEL and answer.draft == fake.reply
    assert answer.text == f"{fake.reply} NV-Embed ranks first on the MTEB benchmark [{n}]."
    assert [c.number for c in answer.citations] == [n]
    assert answer.warnings[-1] == (f"{MODEL}'s answer left out a name for \"on which benchmark does it rank first\": "
                                   f"added the sentence of [{n}] that states it")
    # an answer that gives both parts stands as written
    fake.reply = (f"It adds a latent attention layer to obtain pooled embeddings [{n}]. "
                  f"It ranks first on the MTEB benchmark [{n}].")
    _pieces, answer, _seconds, _statuses = run(PARTS_QUESTION)
    assert answer.text == fake.reply and not answer.warnings


def test_a_part_said_in_other_words_is_not_added_again(parts, run, fake):
    """The 32K is stated, though not with the part's words ("how long a document"): nothing added."""
    a, _offline = parts
    n = number_of(Answer("", "", papers=a.search(QUESTION, k=5)), "Mamba")
    fake.reply = f"The encoder has 80M parameters and supports inputs of up to 32K tokens [{n}]."
    _pieces, answer, _seconds, _statuses = run()
    assert answer.mode == MODEL and answer.text == fake.reply and not answer.warnings



def test_a_follow_up_is_completed_only_from_the_papers_it_is_about(parts):
    """complete() with `focus`: the model's main source must be one of the first `focus` hits."""
    from assistant.citations import check_citations

    a, offline = parts
    found = a.search(PARTS_QUESTION, k=5)
    nv = next(h for h in found if h.title.startswith("NV-Embed"))
    hits = [next(h for h in found if h.title.startswith("Mamba")), nv] + [h for h in found if h.title[:5] not in ("Mamba", "NV-Em")]
    answerer = GenerativeAnswerer(ChatClient("http://127.0.0.1:9/v1", MODEL, "k", LIMITS), a.scorer, offline)
    reply = "It adds a latent attention layer to obtain pooled embeddings from the token states [2]."

    def completed(focus: int) -> str:
        checked = check_citations(reply, hits, a.scorer)
        answer = Answer(PARTS_QUESTION, checked.text, checked.citations, hits, mode=MODEL)
        answerer.complete(PARTS_QUESTION, hits, checked, answer, focus)
        return answer.text

    assert completed(0).endswith("NV-Embed ranks first on the MTEB benchmark [2].")
    assert completed(2).endswith("MTEB benchmark [2].")
    assert completed(1) == reply  # the follow-up is about [1]: [2]'s sentence is not added


KEYWORDS = "hypernetwork embeddings missing tokens vocabulary"


def test_keywords_answered_without_the_finding_get_the_sentence_that_states_it(parts, run, fake):
    """The dev q164 / held-out h046 case: for search-box keywords the model says what the paper is
    about and leaves out what it found; its source's finding sentence is added, cited, with a warning."""
    n = strong_source(parts, KEYWORDS, "Hypernetworks")
    fake.reply = f"The paper trains a hypernetwork that predicts embeddings for tokens missing from the vocabulary [{n}]."
    _pieces, answer, _seconds, _statuses = run(KEYWORDS)
    assert answer.mode == MODEL
    assert answer.text == f"{fake.reply} It improves perplexity on twelve low-resource languages [{n}]."
    assert answer.warnings[-1] == f"{MODEL}'s answer left out what [{n}] found: added the sentence that says it"
    # an answer that says what it found stands as written
    fake.reply = f"A hypernetwork for missing tokens improves perplexity on twelve low-resource languages [{n}]."
    _pieces, answer, _seconds, _statuses = run(KEYWORDS)
    assert answer.text == fake.reply and not any("found" in w for w in answer.warnings)
