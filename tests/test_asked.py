"""Whether a claim gives what a question asks for (assistant/asked.py): pure text rules, no model."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from test_citations import PAPERS, hit

from assistant.answerability import specific_terms
from assistant.asked import already_given, answers_asked, echoes, gives_part, restates_instead, states_asked, what_is_asked
from assistant.evidence import EvidenceScorer

MAMBA, NV_EMBED, SOLAR = (hit(i, t, a) for i, (t, a) in enumerate(PAPERS, start=1))
TOKENS = "It can handle documents up to 32K tokens long."


@pytest.fixture(scope="module")
def scorer() -> EvidenceScorer:
    return EvidenceScorer(SimpleNamespace(idf=lambda term: 1.0), None)  # terms only: no embedding


def asks(scorer, claim: str, source: str, question: str, paper) -> bool:
    return answers_asked(claim, source, question, specific_terms(scorer, question), paper)


def test_a_quantity_is_answered_by_the_number_its_source_states(scorer):
    q = "How long a document can the state-space retrieval encoder handle?"
    assert asks(scorer, "The encoder handles documents of up to 32K tokens.", TOKENS, q, MAMBA)
    assert not asks(scorer, "The encoder handles long documents.", TOKENS, q, MAMBA)  # restates the topic
    assert not asks(scorer, "The encoder handles documents of up to 64K tokens.", TOKENS, q, MAMBA)  # not the source's
    assert not asks(scorer, "The encoder handles documents of up to 32K tokens.",
                    "Transformer retrievers are slow on long documents.", q, MAMBA)  # the source states none


def test_a_claim_from_a_paper_that_never_names_the_asked_benchmark_is_no_answer(scorer):
    # the model quotes the paper's number faithfully, but for another setting than the one asked
    assert asks(scorer, "The encoder handles documents of up to 32K tokens.", TOKENS,
                "How long a document can the state-space retrieval encoder handle?", MAMBA)
    assert not asks(scorer, "The encoder handles documents of up to 32K tokens.", TOKENS,
                    "How long a document can the state-space retrieval encoder handle on LongBench-XL?", MAMBA)


def test_a_count_in_words_is_a_quantity(scorer):
    q = "How many languages does the hypernetwork improve perplexity on?"
    source = "It improves perplexity on twelve low-resource languages."
    paper = hit(4, "Hypernetworks for Embedding New Tokens", source)
    assert asks(scorer, "It improves perplexity on twelve languages.", source, q, paper)
    assert not asks(scorer, "It improves perplexity on low-resource languages.", source, q, paper)


def test_a_name_question_needs_a_new_name_from_the_source(scorer):
    source = "NV-Embed ranks first on the MTEB benchmark."
    q = "On which benchmark does the latent-attention embedding model rank first?"
    assert asks(scorer, "It ranks first on MTEB.", source, q, NV_EMBED)
    assert not asks(scorer, "NV-Embed ranks first on a leading benchmark.", source, q, NV_EMBED)  # its own name
    assert not asks(scorer, "It ranks first on BEIR.", source, q, NV_EMBED)  # a name the source does not give
    own = "Which method pools embeddings with a latent attention layer?"  # the paper's own name is the answer
    assert asks(scorer, "NV-Embed does, ranking first on the benchmark.", source, own, NV_EMBED)


def test_the_source_must_hold_the_questions_specific_terms(scorer):
    q = "How many spacecraft measured the solar wind turbulence cascade?"
    assert not asks(scorer, "The encoder has 80M parameters.", "We present a state-space retrieval encoder with 80M "
                    "parameters.", q, MAMBA)  # a number, but about something else
    assert asks(scorer, "Data from three spacecraft were used.", PAPERS[2][1], q, SOLAR)


def test_states_asked_is_the_answer_kind_rule():
    assert states_asked("It reaches 90.0% on K400.", "What accuracy does it reach on Kinetics-400?")
    assert not states_asked("It reaches a new state of the art.", "What accuracy does it reach on Kinetics-400?")
    assert states_asked("It reaches a new state of the art.", "What accuracy does it reach?", kinds=("name",))
    assert states_asked("Because attention is quadratic.", "Why are transformer retrievers slow?")
    assert [what_is_asked(q) for q in ("How many GPUs?", "Which benchmark?", "Why is it slow?")] == [
        "a quantity", "a name", "what the question names"]


READ_Q = ("Which method, built on analysing similarity maps of the <SEG> token against image-token embeddings, "
          "guides multimodal models on where to attend with a Similarity as Points module?")


def test_an_echo_of_the_question_is_no_answer_to_a_name_or_a_quantity():
    echo = ("The method built on analysing similarity maps of the <SEG> token against image-token embeddings "
            "guides multimodal models on where to attend with a Similarity as Points module.")
    assert echoes([echo], READ_Q)
    assert restates_instead([echo], READ_Q, "In this work [READ], we first visualize the similarity maps.")
    assert not restates_instead([echo], READ_Q, "we first visualize the similarity maps.")  # offline names none
    assert not echoes([echo + " It is called READ."], READ_Q)


@pytest.mark.parametrize("question,claim", [
    ("Which model, BERT or GPT-2, performs better on GLUE?", "GPT-2 performs better on GLUE."),  # a choice
    ("How many languages does the model support, more than 100?", "The model supports more than 100 languages."),
])
def test_restating_is_the_answer_to_a_choice_or_a_confirmation(question, claim):
    assert echoes([claim], question)
    assert not restates_instead([claim], question, "It supports 104 languages, more than mBERT or GPT-2.")


@pytest.mark.parametrize("question,claim", [
    # the held-out h021, h043 cases: whatever was asked, writing it back is no answer
    ("Which training-free way of swapping a tokenizer rebuilds each new token's embedding from shared tokens?",
     "The training-free way of swapping a tokenizer rebuilds each new token's embedding from shared tokens."),
    ("Mamba copying associative recall initialization", "Mamba copying associative recall initialization."),
    ("Why does attention sink to the first token?", "Attention sinks to the first token."),
])
def test_an_echo_of_any_question_is_no_answer(question, claim):
    assert restates_instead([claim], question, "We propose OMP, which mimics attention.")


def test_restating_a_yes_no_question_is_its_answer():
    claim = "DeCLUTR needs no labelled data."
    assert echoes([claim], "Does DeCLUTR need labelled data?")
    assert not restates_instead([claim], "Does DeCLUTR need labelled data?", "It is self-supervised.")


def test_what_a_sentence_gives_for_a_part_of_a_question():
    q = "Which layer pools the token states of the decoder-only embedding model, and on which benchmark does it rank first?"
    part = "on which benchmark does it rank first"
    assert gives_part("NV-Embed ranks first on the MTEB benchmark.", part, q, NV_EMBED) == {"mteb"}
    # the paper's own name says which paper, not which benchmark
    assert gives_part("NV-Embed is trained with a latent attention layer.", part, q, NV_EMBED) is None
    length = gives_part(TOKENS, "how long a document can it handle", "… and how long a document can it handle?", MAMBA)
    assert length and already_given(length, "It supports inputs of up to 32K tokens.")
    assert gives_part(TOKENS, "why is it fast", "Why is it fast?", MAMBA) is None  # neither a name nor a quantity
    assert not already_given(length, "It has 80M parameters.")
    assert not already_given(set(), "anything")  # a count in words: cannot tell



def test_a_which_corpus_question_needs_a_paper_that_names_one():
    """"Which corpus / benchmark …" is answered by a name the paper gives other than its own: a
    capitalised word inside a sentence counts ("the Pile"), a URL or the paper's own name does not."""
    from assistant.asked import names_other_things

    question = "Which public pretraining corpus was used in the dataset decomposition experiments?"
    vague = hit(9, "DecoData: Faster LLM Training with Buckets",
                "We introduce DecoData, a variable sequence length technique. Experiments on a web-scale corpus "
                "reach target accuracy 3x faster. Code: github.com/x/decodata.")
    assert names_other_things(vague, question) == set()
    named = hit(9, "DecoData: Faster LLM Training with Buckets",
                "We introduce DecoData, a variable sequence length technique. We train on the Pile and evaluate "
                "on MMLU.")
    assert names_other_things(named, question) == {"pile", "mmlu"}


def test_a_which_languages_question_needs_a_paper_that_names_one():
    from assistant.asked import names_a_language

    q = "Which languages were used for continual pretraining in the replay study?"
    assert not names_a_language(q, "We pretrain Llama models across languages with 100 billion tokens in each.")
    assert names_a_language(q, "We pretrain on English and German with 100 billion tokens in each.")
    assert not names_a_language("Which dialects did GOAT-TTS synthesize?", "We validate synthesized dialect speech data.")
    assert names_a_language("Which dialects did it synthesize?", "It synthesizes Cantonese and Sichuanese speech.")
    # a language model is no language; a question asking none is not held to one
    assert names_a_language("Which language model did they fine-tune?", "We fine-tune Llama-2.")
    assert names_a_language("How many tokens were used?", "We use 100 billion tokens.")


YI = hit(4, "Yi: Open Foundation Models by 01.AI",
         "We introduce the Yi model family. The Yi model family is based on 6B and 34B pretrained language models. "
         "Our base models achieve strong performance on benchmarks like MMLU. For pretraining, we construct 3.1 "
         "trillion tokens of English and Chinese corpora.")


def test_a_paper_called_by_name_must_still_say_the_detail_asked(scorer):
    """`states_detail`: the name settles the paper; what is left is whether its abstract says the
    asked thing in the question's own words, beyond the title, names and numbers it gives."""
    from assistant.asked import states_detail

    assert states_detail(scorer, "How many tokens of pretraining data went into the Yi models?", YI)
    assert not states_detail(scorer, "Under what license were 01.AI's Yi models released?", YI)
    assert not states_detail(scorer, "What MMLU score does the 34B Yi base model reach?", YI)  # MMLU, no score
    assert states_detail(scorer, "Which benchmark does NV-Embed rank first on?", NV_EMBED)
    assert not states_detail(scorer, "Which GPU cluster was NV-Embed trained on?", NV_EMBED)


def test_a_dataset_asked_is_named_where_the_abstract_speaks_of_data():
    """"Which dataset did they fine-tune on?": "Top-P sampling" is a name, but not of data; the
    abstract that says "fine-tuned on a small set of samples" names no dataset."""
    from assistant.asked import names_other_things

    hyper = hit(5, "The Hyperfitting Phenomenon", "We fine-tune LLMs to near-zero training loss on a small set of "
                "samples. Greedy decoding then outperforms Top-P sampling on long sequences.")
    assert not names_other_things(hyper, "Which dataset did the hyperfitting paper fine-tune on?")
    assert names_other_things(hyper, "Which decoding method does greedy decoding beat?")  # no data asked: any name
    named = hit(6, "Hyperfitting", "We fine-tune LLMs on 2,000 samples of the Fiction-Stories dataset.")
    assert "fiction-stories" in names_other_things(named, "Which dataset did the hyperfitting paper fine-tune on?")


def test_the_long_form_of_a_name_the_question_uses_is_no_other_thing():
    """"Which fMRI dataset was LLM-VEM trained on?": "an encoding model named the LLM-Visual Encoding
    Model (LLM-VEM)" spells out the asked model, it names no dataset."""
    from assistant.asked import names_other_things

    vem = hit(7, "Aligned with LLM", "We trained an encoding model in fMRI data named the LLM-Visual Encoding Model "
              "(LLM-VEM). It outperforms CLIP baselines.")
    q = "Which fMRI dataset was the LLM-aligned visual encoding model (LLM-VEM) trained and evaluated on?"
    assert not names_other_things(vem, q)
    nsd = hit(8, "Aligned with LLM", "We trained an encoding model named the LLM-Visual Encoding Model (LLM-VEM) on "
              "the Natural Scenes Dataset.")
    assert "natural" in names_other_things(nsd, q) or "nsd" in names_other_things(nsd, q)


def test_benchmarks_named_after_experiments_on_count():
    from assistant.asked import names_other_things

    foo = hit(9, "FooNet", "We propose FooNet. Experiments on ImageNet and COCO show gains over ResNet.")
    assert {"imagenet", "coco"} <= names_other_things(foo, "Which benchmarks is FooNet evaluated on?")
