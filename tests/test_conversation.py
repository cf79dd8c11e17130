"""The conversation: typed turns, history in every accepted form, and the follow-up decision."""

from __future__ import annotations

import json

import pytest

from assistant.conversation import condense_offline, is_follow_up, points_back
from assistant.turns import Turn, to_turns

from conftest import FIXTURES

PAIRS = [json.loads(line) for line in (FIXTURES / "followup_pairs.jsonl").read_text().splitlines() if line.strip()]


def test_pairs_set_is_large_and_balanced():
    kinds = [p["follow_up"] for p in PAIRS]
    assert len(PAIRS) >= 40 and 0.3 < sum(kinds) / len(kinds) < 0.7


def test_follow_up_decisions_on_the_pairs_set():
    """≥ 0.95 of the written pairs are decided right from the first question and its cited title
    (`evaluate_follow_ups`, which benchmarks/answers.py --pairs prints)."""
    from assistant.evaluation import evaluate_follow_ups

    result = evaluate_follow_ups(FIXTURES / "followup_pairs.jsonl")
    assert result["pairs"] == len(PAIRS) and result["follow_ups"] == sum(p["follow_up"] for p in PAIRS)
    assert result["accuracy"] >= 0.95, result["wrong"]


def test_follow_up_decisions_on_the_second_pairs_set():
    """The second set (followup_pairs_fresh.jsonl: many long questions that refer inside themselves)."""
    from assistant.evaluation import evaluate_follow_ups

    result = evaluate_follow_ups(FIXTURES / "followup_pairs_fresh.jsonl")
    assert result["pairs"] == 80 and result["follow_ups"] == 40
    assert result["accuracy"] >= 0.90, result["wrong"]


def test_follow_up_decisions_on_the_third_pairs_set():
    """The third set (followup_pairs_third.jsonl: scored unseen at 0.80, then used to shape the
    subordinate-clause, "the one", "this idea: …" and verbless "how many …?" rules)."""
    from assistant.evaluation import evaluate_follow_ups

    result = evaluate_follow_ups(FIXTURES / "followup_pairs_third.jsonl")
    assert result["pairs"] == 80 and result["follow_ups"] == 40
    assert result["accuracy"] >= 0.90, result["wrong"]


def test_follow_up_decisions_on_the_fourth_pairs_set():
    """The fourth set (followup_pairs_fourth.jsonl: 0.833 on 3180e60 and 0.850 on the rules the third
    set shaped, both unseen; then used for the opener and comparison rules)."""
    from assistant.evaluation import evaluate_follow_ups

    result = evaluate_follow_ups(FIXTURES / "followup_pairs_fourth.jsonl")
    assert result["pairs"] == 60 and result["follow_ups"] == 30
    assert result["accuracy"] >= 0.90, result["wrong"]


def test_follow_up_decisions_on_the_sixth_pairs_set():
    """The sixth set (followup_pairs_sixth.jsonl: 0.92 unseen, every miss a topic switch after "also,"
    or "what about the paper that …"; then used for the opener rules)."""
    from assistant.evaluation import evaluate_follow_ups

    result = evaluate_follow_ups(FIXTURES / "followup_pairs_sixth.jsonl")
    assert result["pairs"] == 50 and result["follow_ups"] == 25
    assert result["accuracy"] >= 0.95, result["wrong"]


def test_follow_up_decisions_on_the_seventh_pairs_set():
    """The seventh set (followup_pairs_seventh.jsonl: 0.88 unseen; then used for the topic-first,
    "the biggest … one" and "any paper doing …" opener rules)."""
    from assistant.evaluation import evaluate_follow_ups

    result = evaluate_follow_ups(FIXTURES / "followup_pairs_seventh.jsonl")
    assert result["pairs"] == 50 and result["follow_ups"] == 25
    assert result["accuracy"] >= 0.94, result["wrong"]


def test_follow_up_decisions_on_the_ninth_pairs_set():
    """The ninth set (followup_pairs_ninth.jsonl: 0.84 unseen on 99b83e1, seven of eight misses a new
    question opening on its own topic after "and/also/what about" ("And TERA — along which axes does it
    …?"); then used for the topic-opener and "how many lessons did they …" rules)."""
    from assistant.evaluation import evaluate_follow_ups

    result = evaluate_follow_ups(FIXTURES / "followup_pairs_ninth.jsonl")
    assert result["pairs"] == 50 and result["follow_ups"] == 25
    assert result["accuracy"] >= 0.96, result["wrong"]


def test_follow_up_decisions_on_the_tenth_pairs_set():
    """The tenth set (followup_pairs_tenth.jsonl: 0.76 unseen on 99b83e1, 0.80 on the ninth set's rules;
    misses: "they" for the authors of a work the question names, "this flow-to-depth layer" naming its
    own subject, "and in the paper on …, why …?"; then used for those rules)."""
    from assistant.evaluation import evaluate_follow_ups

    result = evaluate_follow_ups(FIXTURES / "followup_pairs_tenth.jsonl")
    assert result["pairs"] == 50 and result["follow_ups"] == 25
    assert result["accuracy"] >= 0.94, result["wrong"]


def test_follow_up_decisions_on_the_eleventh_pairs_set():
    """The eleventh set (followup_pairs_eleventh.jsonl: 0.76 unseen on ca2f809, most misses a new paper
    described without a name and then called "they/it"; then used for the described-topic rules; p11049 "on Chinese text-to-image retrieval, which systems does it beat?" is wrong again after review: an opening "on …" phrase may be the subject too)."""
    from assistant.evaluation import evaluate_follow_ups

    result = evaluate_follow_ups(FIXTURES / "followup_pairs_eleventh.jsonl")
    assert result["pairs"] == 50 and result["follow_ups"] == 25
    assert result["accuracy"] >= 0.96, result["wrong"]


@pytest.mark.parametrize("question, follow_up", [
    ("In Signing the Supermask, how high a pruning rate do they reach?", False),  # they: its authors
    ("ok, now InSerter - what benchmark did they introduce?", False),
    ("Which base LLM gave them their best results?", True),  # a generic "LLM" is no work of its own
    ("Does this bi-granular document representation approach keep its embeddings on disk?", False),
    ("Does this approach keep its embeddings on disk?", True),
    ("And in the paper on training LLMs over neurally compressed text, why does arithmetic coding fail?", False),
    ("what about the paper on scaling diffusion models for depth estimation?", False),
    ("what about the results on ImageNet?", True),
    # found in review: punctuation, "I", "Thanks" and a "this" that is a pronoun or compared are no new topic
    ("Also..., how fast is it?", True),
    ("and (...), what is it?", True),
    ("And I wonder, does it also work on video?", True),
    ("And Thanks - how fast is it?", True),
    ("Does this method beat selective context on long documents?", True),
    ("Can this handle multilingual code generation?", True),
    ("Is this faster than FlashAttention kernels?", True),
    ("Works on ImageNet too?", True),
    # a paper described, not named, then asked about
    ("what about graph pruning for model compression, how do they choose the final configuration?", False),
    ("And the bridging-subword-gaps paper: how does it get embeddings for new tokens?", False),
    ("Also, in 'Towards Robust and Efficient Continual Language Learning', how does their learner start?", False),
    ("ok, now the deep hashing paper for secure multimodal biometrics: which two traits do they fuse?", False),
    ("what's the mutual encoder-decoder inpainting model, and how does it equalize the filled features?", False),
    ("what about the model re-basin paper, what goes wrong in their merged models?", False),
    # ... but a setting, a short generic phrase or a wh-phrase is not one
    ("what about image classification, does it help there?", True),
    ("And in the paper, what do they use?", True),
    # found in review: "the paper" plainly, "in" + a setting, a topic "there" are the last turn's
    ("Going back to the paper, which baselines did they compare against?", True),
    ("In the full paper, what datasets do they use?", True),
    ("and in out-of-domain tests on LongBench, how does it do?", True),
    ("and multi-document question answering, how much latency does it save there?", True),
    ("Which was the best downstream transfer result?", True),
    ("also, in “Attention Is All You Need”, how many heads do they use?", False),  # a quoted title
    ("how big an improvement over Herbelot and Vecchi does it get?", True),
    ("What does the required prompt length depend on?", True),
])
def test_a_question_naming_its_own_subject_in_other_ways_is_new(question, follow_up):
    from assistant.conversation import is_follow_up
    from assistant.turns import Turn

    previous = Turn(question="What are echo embeddings?", cited_titles=["Repetition Improves Language Model Embeddings"])
    assert is_follow_up(question, previous) is follow_up


@pytest.mark.parametrize("question, follow_up", [
    ("And the BLOOM checkpoint - how was it trained?", False),  # a new name, a dash, its question
    ("what about Shortformer, by what factor does it speed up training?", False),  # capitalised after the opener
    ("Also, for speaker diarization of meetings (EEND), what loss does it use?", False),  # a described new topic
    ("and for ImageNet, how much does it gain?", True),  # "for" one name: a setting of the last question
    ("And on COCO and Flickr30k, how much does it gain?", True),  # "on …": a setting
    ("and how many lessons did they boil their findings down to?", True),  # "they" the subject asked about
])
def test_an_opener_then_a_topic_of_its_own_is_a_new_question(question, follow_up):
    from assistant.conversation import is_follow_up
    from assistant.turns import Turn

    previous = Turn(question="In what sizes were the CodeGen2 models released?",
                    cited_titles=["CodeGen2: Lessons for Training LLMs on Programming and Natural Languages"])
    assert is_follow_up(question, previous) is follow_up


@pytest.mark.parametrize("question, follow_up", [
    ("has anyone measured how much battery an LLM chatbot drains when it runs locally on a phone?", False),
    ("What's a good way to ensemble several reward models so an RLHF policy can't exploit any single one of them?",
     False),
    ("Is there a quantization method for VLMs that uses this idea: activation entropy as a proxy for dependency?",
     False),
    ("Is masked language modeling still worth it for training text encoders?", False),
    ("What's the eccentricity of the one on a 21-day orbit?", True),
    ("How many images and classes?", True),
    ("How much faster than existing compressors?", True),
    ("How many papers study hallucination in summarization?", False),
    ("also, which paper uses GPT-4o with RAG to detect vulnerabilities in C code?", False),
    ("what about defending GNNs against adversarial edge perturbations?", False),
    ("And on ImageNet?", True),
    ("and on the retrieval subset alone?", True),
    ("And on COCO and Flickr30k, how much does it gain?", True),
    ("throughput vs FlashAttention-2?", True),
])
def test_clauses_idioms_and_fragments(question, follow_up):
    previous = Turn(question="Which paper proposes LLMLingua-2?", answer="LLMLingua-2 compresses prompts [1].",
                    cited_titles=["LLMLingua-2: Data Distillation for Efficient and Faithful Task-Agnostic Prompt Compression"])
    assert is_follow_up(question, previous) is follow_up


@pytest.mark.parametrize("question", [
    "What datasets did they use?", "Is it open source?", "How do their results compare?",
    "Is that better than pruning?", "And on ImageNet?", "What about the smaller model?", "Which games?",
    "Are humans fooled as much?", "Is the 200K model trained from scratch?", "How long does training take?",
])
def test_questions_that_lean_on_the_conversation(question):
    previous = Turn(question="Which model family from 01.AI offers 200K context?", cited_titles=["Yi: Open Foundation Models"])
    assert is_follow_up(question, previous)


@pytest.mark.parametrize("question", [
    "Which paper uses quantum circuits to accelerate attention?",
    "How much does gradient clipping improve training stability?",
    "Which paper shows that small models can self-correct?",
    "Can private text be recovered from its embedding?",
    "Which other papers extend the context of language models?",
    "Why do transformers fail at multiplying large numbers?",
])
def test_questions_that_name_their_own_subject(question):
    previous = Turn(question="How much faster is LLMLingua-2 than existing prompt compression methods?",
                    answer="LLMLingua-2 is 3x-6x faster than existing prompt compression methods [1].",
                    cited_titles=["LLMLingua-2: Data Distillation for Efficient and Faithful Task-Agnostic Prompt Compression"])
    assert not is_follow_up(question, previous)


@pytest.mark.parametrize("question", [
    # the pronoun, possessive or "the …" refers to what the question itself names before it
    "A technical report on training a mixture-of-experts LLM compares upcycling with training from scratch. "
    "How many experts does the resulting model have, and which dense model was it initialized from?",
    "One way to cut pretraining cost is to insert the [MASK] placeholders only at a later layer. "
    "In that work, what masking rate did they move to?",
    "What is the method that expands a small pretrained language model into a wider one while preserving its "
    "function, so the big model starts training as accurate as the small one?",
    "How many source languages does the translation model initialized from XLM-R support, and parallel data "
    "in how many languages was it trained on?",
    "In the large multilingual extension of MTEB, which embedding model came out best, and how many "
    "parameters does it have?",
    "What MMLU score does the 34B base model of 01.AI's Yi family reach?",
    "What's WhiteningBERT?",  # a short question naming something new
    "Is it true that transformers cannot multiply large numbers?",  # a dummy "it"
    "It is not proven that moderate consumption of chocolate reduces cardiovascular risk.",
])
def test_a_reference_inside_the_question_does_not_make_it_a_follow_up(question):
    previous = Turn(question="How much faster is LLMLingua-2 than existing prompt compression methods?",
                    cited_titles=["LLMLingua-2: Data Distillation for Efficient and Faithful Task-Agnostic Prompt Compression"])
    assert not is_follow_up(question, previous)


@pytest.mark.parametrize("question", [
    "Which kind of position encoding benefited more from their context-extension strategies?",  # no plural owner
    "How much more misclassification does it cause?",  # the wh-phrase is not what "it" is
    "What two new training techniques did that report highlight?",
    "How small does Llama 7B get with it?",  # not the subject of its own clause
    "Is there an official PyTorch implementation of it?",
])
def test_a_reference_with_nothing_to_refer_to_in_the_question_points_back(question):
    assert points_back(question)


def test_first_question_is_never_a_follow_up():
    assert not is_follow_up("What datasets did they use?", None)


def test_that_as_a_conjunction_does_not_point_back():
    assert not points_back("Which paper shows that training on short subsequences first improves perplexity?")
    assert points_back("Is that better than pruning?")


def test_plain_messages_become_turns_without_parsing_answers():
    history = [
        {"role": "user", "content": "Which CTR model weights past behaviours by relevance to the ad?"},
        {"role": "assistant", "content": [{"type": "text", "text": "Deep Interest Network [1].\n\n[1] Deep Interest Network"}]},
        {"role": "user", "content": "Which techniques did they add?"},
    ]
    turns = to_turns(history)
    assert [t.question for t in turns] == [history[0]["content"], history[2]["content"]]
    assert turns[0].answer.startswith("Deep Interest Network") and turns[0].cited == [] and turns[0].cited_titles == []
    assert turns[1].answer == ""


def test_turns_and_turn_dicts_pass_through():
    t = Turn(question="q", answer="a [1]", cited=["arxiv:1"], cited_titles=["T"], refused=False)
    assert to_turns([t]) == [t]
    assert to_turns([t.to_dict()]) == [t]


def test_condensed_follow_up_carries_the_cited_titles_not_after_a_refusal():
    previous = Turn(question="Which CTR model weights behaviours by relevance?", cited_titles=["Deep Interest Network"])
    assert "Deep Interest Network" in condense_offline("Which techniques did they add?", previous)
    previous.refused = True
    assert "Deep Interest Network" not in condense_offline("Which techniques did they add?", previous)
    assert "CTR" in condense_offline("Which techniques did they add?", previous)


def test_an_opener_before_a_question_of_its_own_starts_a_new_topic():
    from assistant.conversation import is_follow_up
    from assistant.turns import Turn

    previous = Turn(question="Is there a continual learning method that replays generated data?",
                    answer='According to "Generative Replay": we replay samples from a generator [1]',
                    cited=["p1"], cited_titles=["Generative Replay"])
    # a plural pronoun whose referent the new question names itself
    assert not is_follow_up("also, can you prune attention heads from a transformer without retraining them?", previous)
    # a short question about a name not said before
    assert not is_follow_up("also, what is FlashAttention-3?", previous)
    # a paper described by a clause
    assert not is_follow_up("what about the paper that distils diffusion samplers into one-step generators "
                            "with adversarial losses?", previous)
    # still follow-ups: a singular pronoun, an ellipsis, a plural pronoun with no plural before it
    assert is_follow_up("and on CIFAR-100, how much does it gain?", previous)
    assert is_follow_up("and what about ImageNet?", previous)
    assert is_follow_up("also, how were they evaluated?", previous)
    # a name the rest opens on is what its pronoun means; "any paper doing X" is a paper of its own
    assert not is_follow_up("and FlashAttention-3, which GPUs does it target?", previous)
    assert not is_follow_up("also, any paper detecting deepfakes from audio spectrograms?", previous)
    # "the biggest distilled one" is one of those just discussed
    assert is_follow_up("and what did the biggest distilled one score?", previous)
    assert is_follow_up("and on ImageNet-1k, how much does it gain?", previous)
