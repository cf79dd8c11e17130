"""Citation checking and repair (assistant/citations.py) on small hand-made sources, no index."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from assistant.citations import (
    REPAIR_SUPPORT_MIN,
    STRICT_SUPPORT,
    check_citations,
    with_markers,
)
from assistant.evidence import EvidenceScorer
from assistant.retrieval import Hit
from assistant.sentences import split_sentences

PAPERS = [
    ("Mamba Retriever: Long-Document Retrieval with State Space Models",
     ("Transformer retrievers are slow on long documents. We present a state-space retrieval encoder with 80M "
      "parameters. It can handle documents up to 32K tokens long. It matches transformer retrievers on long-document "
      "benchmarks at a fraction of the cost.")),
    ("NV-Embed: Improved Techniques for Training LLMs as Generalist Embedding Models",
     ("We propose a latent attention layer to obtain pooled embeddings from the token states of a decoder-only "
      "language model. We remove the causal attention mask during contrastive training. NV-Embed ranks first on the "
      "MTEB benchmark.")),
    ("Solar Wind Turbulence at Small Scales",
     ("Magnetometer data from three spacecraft reveal an anisotropic cascade of solar wind turbulence below the ion "
      "gyroradius.")),
]


def hit(i: int, title: str, abstract: str) -> Hit:
    return Hit(paper_id=f"p{i}", title=title, abstract=abstract, score=1.0, url=None, authors=[], date=None,
               sources=[], passage=abstract)


@pytest.fixture(scope="module")
def scorer() -> EvidenceScorer:
    from ingest.embedding import MiniLMEncoder

    return EvidenceScorer(SimpleNamespace(idf=lambda term: 1.0), MiniLMEncoder())  # every term weighs the same


@pytest.fixture
def hits() -> list[Hit]:
    return [hit(i, t, a) for i, (t, a) in enumerate(PAPERS, start=1)]


def quote_of(checked, n: int) -> str:
    return next(c.quote for c in checked.citations if c.number == n)


def test_supported_citation_is_kept_as_written(scorer, hits):
    text = "NV-Embed uses a latent attention layer to obtain pooled embeddings [2]."
    checked = check_citations(text, hits, scorer)
    assert checked.text == text and not checked.warnings and checked.claims == 1
    assert quote_of(checked, 2).startswith("We propose a latent attention layer")


def test_unmarked_claims_are_cited_to_the_source_that_supports_them(scorer, hits):
    checked = check_citations("The encoder has 80M parameters. It can handle documents up to 32K tokens long.",
                              hits, scorer)
    assert checked.text == "The encoder has 80M parameters [1]. It can handle documents up to 32K tokens long [1]."
    assert checked.claims == 2 and [c.number for c in checked.citations] == [1]
    assert quote_of(checked, 1) in split_sentences(PAPERS[0][1])
    assert sum("added the citation [1]" in w for w in checked.warnings) == 2


def test_an_echoed_source_list_keeps_its_claims_and_drops_the_titles(scorer, hits):
    # a 1.5B model pasted its prompt: evidence lines, then the other sources' bare titles
    text = ("[1] It can handle documents up to 32K tokens long.\n"
            "[2] NV-Embed: Improved Techniques for Training LLMs as Generalist Embedding Models\n"
            "[3] Solar Wind Turbulence at Small Scales")
    checked = check_citations(text, hits, scorer)
    assert checked.text == "It can handle documents up to 32K tokens long [1]."
    assert checked.claims == 1 and [c.number for c in checked.citations] == [1]


def test_wrong_marker_is_re_cited(scorer, hits):
    checked = check_citations("NV-Embed removes the causal attention mask during contrastive training [3].",
                              hits, scorer)
    assert checked.text == "NV-Embed removes the causal attention mask during contrastive training [2]."
    assert quote_of(checked, 2) == "We remove the causal attention mask during contrastive training."
    (warning,) = checked.warnings
    assert "from [3] to [2]" in warning and "NV-Embed" in warning


def test_out_of_range_marker_is_dropped_and_the_claim_re_cited(scorer, hits):
    checked = check_citations("NV-Embed ranks first on the MTEB benchmark [7].", hits, scorer)
    assert checked.text == "NV-Embed ranks first on the MTEB benchmark [2]."
    assert any("only 3 sources" in w for w in checked.warnings)


def test_unsupported_sentence_is_removed_and_the_rest_kept(scorer, hits):
    checked = check_citations("Magnetometer data show an anisotropic cascade below the ion gyroradius [3]. "
                              "The spacecraft were built from recycled bicycles in Antarctica [3].", hits, scorer)
    assert checked.text == "Magnetometer data show an anisotropic cascade below the ion gyroradius [3]."
    assert any("no source supports" in w and "bicycles" in w for w in checked.warnings)


def test_answer_nothing_supports_keeps_no_claim(scorer, hits):
    checked = check_citations("Penguins compose symphonies on Tuesdays [1].", hits, scorer)
    assert checked.claims == 0 and not checked.citations and checked.text == ""


def test_a_bare_title_is_no_claim(scorer, hits):
    checked = check_citations(f"[2] {PAPERS[1][0]} [2]", hits, scorer)
    assert checked.claims == 0 and not checked.citations


def test_connective_text_and_bullets_survive(scorer, hits):
    text = "Here is what they say:\n- The encoder has 80M parameters [1].\n- NV-Embed ranks first on MTEB [2]."
    checked = check_citations(text, hits, scorer)
    assert checked.text == text and checked.claims == 2


def test_a_repair_cites_one_source_the_first_on_a_tie(scorer):
    twins = [hit(1, "Paper A", "Sparse attention cuts the memory of long-context transformers."),
             hit(2, "Paper B", "Sparse attention cuts the memory of long-context transformers."),
             hit(3, *PAPERS[2])]
    checked = check_citations("Sparse attention cuts the memory of long-context transformers.", twins, scorer)
    assert checked.text == "Sparse attention cuts the memory of long-context transformers [1]."


def test_marker_after_the_full_stop_belongs_to_that_sentence(scorer, hits):
    checked = check_citations("The encoder has 80M parameters. [1] NV-Embed ranks first on the MTEB benchmark. [2]",
                              hits, scorer)
    assert checked.text == "The encoder has 80M parameters [1]. NV-Embed ranks first on the MTEB benchmark [2]."
    assert not checked.warnings


def test_weak_evidence_keeps_only_near_restatements(scorer, hits):
    text = ("Mamba Retriever uses quantum circuits to speed up long-document retrieval [1]. "
            "It can handle documents up to 32K tokens long [1].")
    assert check_citations(text, hits, scorer).claims == 2
    strict = check_citations(text, hits, scorer, min_support=STRICT_SUPPORT)
    assert strict.text == "It can handle documents up to 32K tokens long [1]."
    assert any("quantum" in w for w in strict.warnings)


def test_weak_support_is_not_enough_for_a_repair(scorer, hits, monkeypatch):
    from assistant import citations

    text = "The encoder has 80M parameters."
    assert check_citations(text, hits, scorer).claims == 1
    monkeypatch.setattr(citations, "REPAIR_SUPPORT_MIN", 0.99)  # nothing clears it: removed, not re-cited
    checked = check_citations(text, hits, scorer)
    assert checked.claims == 0 and any("no source supports" in w for w in checked.warnings)
    assert REPAIR_SUPPORT_MIN < 0.99


def test_markers_go_before_the_closing_punctuation():
    assert with_markers("It has 80M parameters.", [2]) == "It has 80M parameters [2]."
    assert with_markers("It is fast", [1, 3]) == "It is fast [1][3]"


def test_marker_before_a_sentence_belongs_to_it_when_the_previous_is_cited(scorer, hits):
    text = "The encoder has 80M parameters [1]. [2] NV-Embed ranks first on the MTEB benchmark."
    checked = check_citations(text, hits, scorer)
    assert checked.text == "The encoder has 80M parameters [1]. NV-Embed ranks first on the MTEB benchmark [2]."
    assert not checked.warnings and checked.claims == 2


def test_marker_at_the_start_of_the_reply_belongs_to_the_first_sentence(scorer, hits):
    text = "[2] NV-Embed ranks first on the MTEB benchmark. The encoder has 80M parameters [1]."
    checked = check_citations(text, hits, scorer)
    assert checked.text == "NV-Embed ranks first on the MTEB benchmark [2]. The encoder has 80M parameters [1]."
    assert not checked.warnings and checked.claims == 2


def test_markers_first_replies_keep_each_marker_with_its_own_sentence(scorer, hits):
    text = "[2] NV-Embed ranks first on the MTEB benchmark. [1] The encoder has 80M parameters."
    checked = check_citations(text, hits, scorer)
    assert checked.text == "NV-Embed ranks first on the MTEB benchmark [2]. The encoder has 80M parameters [1]."
    assert not checked.warnings and checked.claims == 2


def test_a_marker_used_as_a_word_stays_where_it_was_written_with_its_paper_named(scorer, hits):
    # only a lone leading group before a capitalised sentence moves; "[1] and [2] show …" and
    # "[1] shows …" keep their words as written (the old rewrite turned them into "and show …"),
    # and the marker standing for a paper gets the paper's name before it
    checked = check_citations("[1] shows that the encoder has 80M parameters.", hits, scorer)
    assert checked.text == "Mamba Retriever [1] shows that the encoder has 80M parameters." and not checked.warnings
    checked = check_citations("[1] and [2] show that the encoder has 80M parameters.", hits, scorer)
    assert checked.text.startswith("Mamba Retriever [1] and ") and "show that the encoder has 80M" in checked.text
    assert "“Solar Wind Turbulence at Small Scales” [3] reports" in check_citations(
        "[3] reports an anisotropic cascade below the ion gyroradius.", hits, scorer).text  # no short name


def test_a_marker_after_a_full_stop_before_a_verb_is_the_next_sentences_subject(scorer, hits):
    """The held-out h019 reply: "… token. [1] develops …" kept "develops …" with no subject."""
    checked = check_citations("The encoder has 80M parameters [1]. [1] handles documents up to 32K tokens long.",
                              hits, scorer)
    assert checked.text == ("The encoder has 80M parameters [1]. Mamba Retriever [1] handles documents up to "
                            "32K tokens long.")


def test_removed_counts_only_unsupported_claims(scorer, hits):
    assert check_citations("Yes, [1]", hits, scorer).removed == 0
    assert check_citations("Penguins compose symphonies on Tuesdays [1].", hits, scorer).removed == 1


HYPERNETWORK_PAPERS = [
    ("Hypernetworks for Embedding New Tokens",
     ("We train a hypernetwork that predicts embeddings for tokens missing from the vocabulary of a language model. "
      "It improves perplexity on twelve low-resource languages.")),
    ("Zero-Shot Tokenizer Transfer",
     ("We transfer a language model to a new tokenizer without training, predicting the embeddings of the new "
      "tokens with a hypernetwork trained on many tokenizers.")),
    ("Retrofitting Language Models with Dynamic Tokenization",
     ("We retrofit language models with dynamic tokenization, merging frequent subword sequences into new tokens "
      "whose embeddings a hypernetwork predicts on the fly.")),
]
LIST_CLAIMS = [
    "A hypernetwork predicts embeddings for tokens missing from the vocabulary, improving perplexity on "
    "low-resource languages",
    "Zero-shot tokenizer transfer predicts the embeddings of a new tokenizer's tokens with a hypernetwork trained "
    "on many tokenizers",
    "Dynamic tokenization merges frequent subword sequences into new tokens whose embeddings are predicted on the fly",
]


def test_list_numbered_one_off_is_re_cited_to_the_source_that_clearly_supports_each_line(scorer):
    """A small model's "which papers" list cites each line's neighbour, which is on the same topic and
    passes the plain support check; each line goes to the source that supports it clearly better."""
    hits = [hit(i, t, a) for i, (t, a) in enumerate(HYPERNETWORK_PAPERS, start=1)]
    shifted = "\n".join(f"- {claim} [{n % 3 + 1}]." for n, claim in enumerate(LIST_CLAIMS, start=1))
    checked = check_citations(shifted, hits, scorer)
    assert checked.text == "\n".join(f"- {claim} [{n}]." for n, claim in enumerate(LIST_CLAIMS, start=1))
    assert checked.claims == 3 and checked.removed == 0
    assert sum(w.startswith("re-cited") and "clearly better" in w for w in checked.warnings) == 3
    assert [c.number for c in checked.citations] == [1, 2, 3]
    assert quote_of(checked, 2) == HYPERNETWORK_PAPERS[1][1]


def test_right_list_numbering_and_shared_claims_are_kept(scorer):
    hits = [hit(i, t, a) for i, (t, a) in enumerate(HYPERNETWORK_PAPERS, start=1)]
    right = "\n".join(f"- {claim} [{n}]." for n, claim in enumerate(LIST_CLAIMS, start=1))
    checked = check_citations(right, hits, scorer)
    assert checked.text == right and not checked.warnings
    both = "Hypernetworks predict the embeddings of new tokens [1][2]."  # two citations: not re-cited
    assert check_citations(both, hits, scorer).text == both


def test_of_several_citations_only_those_about_as_supportive_as_the_best_are_kept(scorer, hits):
    """"… [1] [2]" where [1] states the claim and [2] is a neighbour on the same topic: [2] goes."""
    neighbour = hit(4, "Long-Document Retrieval Benchmarks", (
        "Retrieval encoders struggle with long documents. We build a benchmark of long-document retrieval tasks "
        "and evaluate transformer retrievers on it."))
    both = [hits[0], neighbour]
    claim = "The state-space retrieval encoder has 80M parameters"  # supports: [1] 0.92, [2] 0.52
    checked = check_citations(f"{claim} [1] [2].", both, scorer)
    assert checked.text == f"{claim} [1]."
    assert [c.number for c in checked.citations] == [1]
    assert any(w.startswith("removed citation [2]") and "clearly better" in w for w in checked.warnings)
    alike = "Transformer retrievers are evaluated on long documents"  # both say it: both stay
    assert check_citations(f"{alike} [1] [2].", both, scorer).text == f"{alike} [1] [2]."


@pytest.mark.parametrize("sentence, valid, kept", [
    ("the 80M model [1][2].", {2}, "the 80M model [2]."),
    ("the 80M model [1] [2].", {2}, "the 80M model [2]."),
    ("x [1][3][2].", {2}, "x [2]."),
    ("A [1], B [2].", {2}, "A, B [2]."),
    ("x [1,2] y.", {1}, "x [1] y."),
    ("x [1].", set(), "x."),
])
def test_keep_only_drops_markers_and_keeps_the_spacing(sentence, valid, kept):
    from assistant.citations import keep_only

    assert keep_only(sentence, valid) == kept


def test_a_claim_about_one_paper_is_not_re_cited_to_another_that_says_it(scorer, hits):
    """"NV-Embed handles 32K-token documents" is what the Mamba Retriever abstract says: re-citing it
    to [1] would credit one paper with another's work, so the sentence goes (with a warning)."""
    for text in ("NV-Embed can handle documents up to 32K tokens long [2].",
                 "NV-Embed can handle documents up to 32K tokens long."):
        checked = check_citations(f"NV-Embed ranks first on the MTEB benchmark [2]. {text}", hits, scorer)
        assert "32K" not in checked.text and "MTEB" in checked.text, checked.text
        assert any("it is about NV-Embed, but what it says is from [1]" in w for w in checked.warnings), checked.warnings
    # the same claim about the paper that says it is re-cited as before
    checked = check_citations("The state-space encoder can handle documents up to 32K tokens long [2].", hits, scorer)
    assert "32K tokens long [1]" in checked.text


def test_a_looping_reply_keeps_each_sentence_once_and_one_marker_each(scorer, hits):
    """Small models loop ("[2] uses … [2] [2] uses … [2"): repeated sentences, doubled markers and a
    marker cut off at the end of the reply are tidied, with a warning."""
    loop = " ".join(["[2] [2] ranks first on the MTEB benchmark."] * 4) + " [2"
    checked = check_citations(loop, hits, scorer)
    assert checked.text == "NV-Embed [2] ranks first on the MTEB benchmark.", checked.text
    assert "removed 3 repeated sentences" in checked.warnings


def test_a_claim_its_own_source_supports_stays_there_and_only_exact_repeats_go(scorer, hits):
    """Found in review: a sentence about NV-Embed that NV-Embed's abstract supports keeps its [2] even
    when another source reads closer; the same words citing another source are no repeat; a marker
    cut off as "[1, 2" is dropped."""
    checked = check_citations("NV-Embed removes the causal attention mask during contrastive training [2].", hits, scorer)
    assert "[2]" in checked.text, (checked.text, checked.warnings)
    twice = "- It matches transformer retrievers on long-document benchmarks [1].\n" \
            "- It matches transformer retrievers on long-document benchmarks [2]."
    assert "repeated" not in " ".join(check_citations(twice, hits, scorer).warnings)
    assert check_citations("NV-Embed ranks first on the MTEB benchmark [2]. [1, 2", hits, scorer).text.endswith("benchmark [2].")
