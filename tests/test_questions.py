"""What a question asks for: parts, answer kinds, names, keyword queries."""

from __future__ import annotations

from assistant.questions import (
    NAME,
    QUANTITY,
    answer_type,
    asked_kind,
    asks_for_several,
    facets,
    finding_strength,
    is_claim,
    is_topic_query,
    names,
    own_name,
    states_new_number,
)
from ingest.side_index import tokenize


def test_a_question_with_several_asks_is_split_into_parts():
    parts = facets("How far was the context window pushed without training, and which two models were released?")
    assert parts == ["How far was the context window pushed without training", "which two models were released"]
    three = facets("Which base model was tuned, how many layers changed, and what average score is reported?")
    assert [answer_type(p) for p in three] == [NAME, QUANTITY, QUANTITY]


def test_context_sentences_and_opening_clauses_stay_with_their_question():
    parts = facets("A model adds a dataset token. What SPIDEr scores does it reach on AudioCaps and on Clotho?")
    assert len(parts) == 1 and parts[0].startswith("A model adds a dataset token")
    parts = facets("When profiling the training of the speech model, what fraction was wasted on padding, "
                   "and what speedup came from a smaller decoder?")
    assert len(parts) == 2 and parts[0].startswith("When profiling")
    assert facets("What is VectorQ?") == ["What is VectorQ"]


def test_answer_kinds():
    assert answer_type("By what factor does it speed up decoding?") == QUANTITY
    assert answer_type("What accuracy on ModelNet40 does it reach?") == QUANTITY
    assert answer_type("Which method guides the model where to attend?") == NAME
    assert answer_type("Why does the mask token hurt fine-tuning?") is None
    assert asked_kind("On which two program-synthesis benchmarks did it report results?") == "benchmark"
    assert asked_kind("Which datasets were used?") == "dataset"
    assert asked_kind("Which method guides the model?") is None  # the paper's own name


def test_claims_are_told_from_keywords():
    for claim in ("Aspirin inhibits the production of PGE2.", "Transformers are better than RNNs at copying",
                  "DUSP4 downregulation deactivates the Ras-ERK pathway",
                  "0-dimensional biomaterials lack inductive properties."):
        assert is_claim(claim), claim
    for keywords in ("diffusion models video", "kv-cache coprocessor latent embeddings reasoning",
                     "audio classification without transformers or convolutions",
                     "overfit pretrained LLM on few samples better greedy long-form generation",
                     "Is aspirin better than placebo for stroke?", "aspirin."):
        assert not is_claim(keywords), keywords


def test_which_paper_questions_ask_for_the_paper_not_a_name_in_it():
    # the noun after "which" is "paper": "measures", "loss", "language" later on name no asked kind
    for q in ("Which paper measures the calibration of reward models?",
              "Which paper proposes a new loss for dense retrieval?",
              "What work uses protein language model embeddings to predict 3D protein structures?"):
        assert answer_type(q) is None and asked_kind(q) is None, q
    # ... while a name asked in another part, or of the paper, still is one
    assert asked_kind("Which paper proposes READ, and which benchmarks does it evaluate on?") == "benchmark"
    assert answer_type("Which measure does the paper use?") == NAME


def test_the_papers_own_name_answers_which_paper_under_weak_evidence():
    from assistant.asked import answers_asked
    from assistant.retrieval import Hit

    question = "Which paper uses protein language model embeddings to predict 3D protein structures?"
    abstract = "We present ProtFold, which predicts 3D protein structures from protein language model embeddings."
    hit = Hit("p", "ProtFold: Structures from Embeddings", abstract, 0.0, None, [], None, [], "")
    assert answers_asked("ProtFold predicts 3D structures from language model embeddings [1].", abstract, question,
                         {}, hit)


def test_listing_detection():
    assert asks_for_several("Which papers show that transformers can still carry positional information?")
    assert asks_for_several("Which works use vector quantization?")
    assert not asks_for_several("Which two extended models were released?")
    assert not asks_for_several("Which paper uses quantum circuits?")


def test_keyword_queries_are_not_questions():
    assert is_topic_query("SemEval emoji prediction tweets LSTM attention")
    assert not is_topic_query("How do they predict emojis")
    assert not is_topic_query("emoji prediction with LSTMs?")


def test_names_and_the_papers_own_name():
    found = set(names("Upon these findings, we present READ, built on LLaVA and CodeT5, with E5-Base-4k embeddings."))
    assert {"read", "llava", "codet5", "e5-base-4k"} <= found
    assert "upon" not in found and "we" not in found
    sentences = ["We present READ, which reasons where to attend.", "READ features a SasP module.",
                 "Experiments on RefCOCO show gains."]
    assert own_name("Reasoning to Attend", sentences) == "read"
    assert own_name("LongEmbed: Extending Embedding Models", ["We release E5-Base-4k.", "It has 6 tasks."]) \
        == "longembed"
    # the bracketed short form, not a mixed-case word of the long one
    assert own_name("Designing BERT for Convolutional Networks: Sparse and Hierarchical Masked Modeling",
                    ["We extend BERT-style pre-training to convnets.",
                     "Our method called Sparse masKed modeling (SparK) is general."]) == "spark"


def test_new_numbers_and_findings():
    assert states_new_number("It reaches 69.32 on MTEB.", "What did it score across 56 tasks?")
    assert not states_new_number("It is evaluated across 56 tasks.", "What did it score across 56 tasks?")
    assert states_new_number("We ranked 2nd out of 48 teams.", "SemEval emoji prediction")
    assert finding_strength("We ranked 2nd out of 48 teams.") == 3
    assert finding_strength("Convolutional networks have achieved strong results.") == 2
    assert finding_strength("The corpus holds 550 million tweets.") == 1


def test_tokenizer_reads_x_free_as_without():
    assert set(tokenize(["an encoder-free model"])[0]) == set(tokenize(["a model without an encoder"])[0])
    assert "without" in tokenize(["trained w/o labels"])[0]


def test_own_name_questions():
    from assistant.questions import asks_own_name

    assert asks_own_name("Which method guides the model where to attend?")
    assert asks_own_name("What is the name of the family of white-box networks?")
    assert not asks_own_name("Which dense model was it initialized from?")  # may be another paper's model
    assert not asks_own_name("Which benchmarks did it use?")


def test_a_count_in_words_answers_how_many_of_that_thing():
    from assistant.measures import states_quantity

    assert states_quantity("It improves perplexity on twelve languages.", "On how many languages did it improve?")
    assert states_quantity("It uses 8 GPUs.", "How many GPUs did it use?")
    # a count of something else is not the answer
    assert not states_quantity("Our approach tackles two essential elements.", "How many languages were evaluated?")


def test_a_number_answers_the_measure_the_question_names():
    from assistant.measures import states_quantity

    lr = "What learning rate and batch size were used to continue pretraining the 43B GPT model into Retro 48B?"
    assert not states_quantity("We continue to pretrain the 43B GPT model on additional 100 billion tokens "
                               "by retrieving from 1.2 trillion tokens.", lr)  # tokens, and the question's own 43B
    assert states_quantity("We train with batch size 256 for 3 epochs.", lr)
    score = "What average score does multilingual-e5-large-instruct obtain on MMTEB?"
    assert not states_quantity("The best public model is multilingual-e5-large-instruct with only 560 million "
                               "parameters.", score)
    assert states_quantity("It reaches 63.2 on average.", score)  # a bare number may be the score
    assert states_quantity("It scores 90.0% on K400.", "What accuracy does VideoMAE V2 reach on K400?")
    count = "Across how many recurrent models was it measured?"
    assert states_quantity("Averaged across 16 recurrent LMs and the 6 ICL tasks.", count)
    assert not states_quantity("It provides 99% of Transformer quality at 360M params., 30B tokens.", count)
    assert not states_quantity("It has 19.2times higher throughput.", count)  # "19." is no number
    share = "How much of the compute turned out to be wasted on padding?"
    assert states_quantity("More than 50% of computation was spent on padding.", share)
    assert not states_quantity("It led up to a 5x increase in average batch sizes.", share)  # a factor is no share
    assert states_quantity("It gives a 3x inference speedup.", "What inference speedup did it bring?")
    assert not states_quantity("It beats 10x larger models.", "What average score does it obtain?")
    # a question that does not name its measure takes any number, as before
    assert states_quantity("It reads up to 32k tokens.", "How long a document can it read?")


def test_a_number_of_exactly_the_measure_asked():
    from assistant.measures import counts_asked

    tokens = "How many tokens of pretraining data went into the Yi base models, and which sizes were released?"
    assert counts_asked("Yi is pretrained on 3.1 trillion tokens of English and Chinese.", tokens)
    assert not counts_asked("We release 6B and 34B models trained on a large corpus of tokens.", tokens)  # near, not counted
    assert counts_asked("The best model has only 560 million parameters.", "How many parameters does it have?")
    assert not counts_asked("It reaches 63.2 on MTEB.", "How long a context does it read?")  # no measure named
    assert not counts_asked("We release 7B and 13B models.", "How many tokens was the 7B model trained on?")


def test_quantities_a_question_states_as_given():
    from assistant.measures import unstated_quantities

    q = "How much training time did it save when pretraining a 7B-parameter model?"
    assert unstated_quantities(q, "An 8k-context 1B model trains at the cost of a 2k one.") == {"7b"}
    assert unstated_quantities(q, "A 7 billion parameter model trains 3x faster.") == set()
    assert unstated_quantities("Up to how many authors with at least 80% accuracy?", "with at least 80\\% accuracy") == set()
    assert unstated_quantities("Where was its 2.7x speedup measured?", "a 2.7× speedup") == set()
    # a piece of a name and bare numbers are not quantities given
    assert unstated_quantities("How much shorter on DeepSeek-R1-Distill-Qwen-1.5B with 8 documents?", "Qwen") == set()


def test_what_a_listing_question_asks_papers_to_do_without():
    from assistant.absence import done_without

    assert done_without("Which papers carry position when no positional encodings are used at all?") == {"posit", "encod"}
    assert done_without("Which models do without a pretrained vision encoder, letting the LLM see pixels?") == {
        "pretrain", "vision", "encod"}
    # an action left out is worded too many ways to require; so is "no longer"
    assert done_without("Which papers steer a frozen model without changing any of its weights?") == set()
    assert done_without("Without additional training, how far was the context pushed?") == set()
    # what papers are asked to drop or remove: a hint the listing uses when some paper says so
    assert done_without("Which papers build LLMs that drop the pretrained visual encoder entirely?", removed=True) == {
        "pretrain", "visual", "encod"}
    assert done_without("Which papers build LLMs that drop the pretrained visual encoder entirely?") == set()
    assert done_without("Which papers remove the need for labels?", removed=True) == set()
    assert done_without("Which papers no longer need labels?") == set()
    assert done_without("Which papers train a hypernetwork for new tokens?") == set()


def test_a_paper_says_it_does_without_something():
    from assistant.absence import done_without, states_absence

    encodings = done_without("when no positional encodings are used")
    assert states_absence("Transformers solve these tasks without using positional encodings.", encodings)
    assert states_absence("A model devoid of positional embeddings still encodes order.", encodings)
    assert states_absence("We train it w/o positional encodings.", encodings)
    assert not states_absence("Instead of predefined position embeddings, we learn dynamic ones.", encodings)
    assert not states_absence("We do not dictate the position of source tokens.", encodings)
    assert not states_absence("No gains come from this. Positional encodings help.", encodings)  # another sentence
    encoder = done_without("models that do without a pretrained vision encoder")
    assert states_absence("We present an encoder-free 3D LMM.", encoder)
    assert not states_absence("We connect a pretrained vision encoder to the LLM.", encoder)
