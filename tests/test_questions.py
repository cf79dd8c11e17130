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
    wants_quantity,
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
    assert asks_for_several("Which text-to-speech papers use self-supervised speech features?")  # hyphens are one word
    assert asks_for_several("is there work on cheap draft-then-verify decoding? list all of them")
    assert asks_for_several("give me all the papers on speculative decoding")
    assert not asks_for_several("how did they beat all of them?")
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
    assert asks_own_name("A recommender that aggregates item tokens into one embedding. What's it called?")
    assert asks_own_name("What is it called?")
    assert not asks_own_name("Which dense model was it initialized from?")  # may be another paper's model
    assert not asks_own_name("Which benchmarks did it use?")


def test_a_question_calls_a_paper_by_the_name_its_title_carries():
    from assistant.called import names_title

    title = "NV-Embed: Improved Techniques for Training LLMs as Generalist Embedding Models"
    assert names_title("What score did NV-Embed reach on the MTEB leaderboard?", title)
    assert not names_title("What score did the best embedding model reach on MTEB?", title)
    assert not names_title("Which LLMs make good embedding models?", title)  # a generic name, not the paper's


def test_list_and_name_questions_in_their_shorter_forms():
    from assistant.questions import NAME, answer_type, asks_for_several

    assert asks_for_several("papers on getting large language models to unlearn specific knowledge?")
    assert asks_for_several("any papers about text-to-speech with self-supervised features?")
    assert not asks_for_several("Papers are rarely this short?")
    assert answer_type("What's the tuning-free fix that adds a temperature to the softmax?") == NAME
    assert answer_type("what is the accuracy on GLUE?") != NAME


def test_a_quantity_in_a_clause_describing_the_named_thing_is_not_asked():
    q = ("name of the approach that lets a segmentation model choose, per input image, how many encoder layers "
         "to run?")
    assert answer_type(q) == NAME and not wants_quantity(q)
    assert answer_type("How many encoder layers does the approach run?") == QUANTITY
    assert answer_type("Which benchmark, and how many examples does it hold?") == QUANTITY  # asked in its own clause
    assert answer_type("What baseline do they compare to and by how much do they beat it?") == QUANTITY


def test_a_question_calls_a_paper_by_its_title_or_name_not_by_a_dimension():
    from assistant.called import named_paper, names_title, writes_title
    from assistant.retrieval import Hit

    def hit(title, abstract=""):
        return Hit(title, title, abstract, 0.0, None, [], None, [], "")

    q = "What CIFAR-10 accuracy does Convolution Aware Initialization get?"
    assert writes_title(q, "Convolution Aware Initialization") and names_title(q, "Convolution Aware Initialization")
    assert not writes_title("what does convolution aware initialization do?", "Convolution Aware Initialization: X")
    hits = [hit("Mimetic Initialization of Self-Attention Layers"), hit("Convolution Aware Initialization")]
    assert named_paper(q, hits) == 1
    # part of a longer name, or a rival: not a call by title
    assert not writes_title("What verbalizer does Effective Structured Prompting use?", "Structured Prompting: Scaling")
    assert not writes_title("How much faster than Pointer Networks is the set transformer?", "Pointer Networks")
    # "3D" of "Learning 3D Representations …" is what the paper is about, not its name
    q3d = "What approach brings BERT-style masked pretraining to convnets by treating pixels like a 3D point cloud?"
    assert named_paper(q3d, [hit("Designing BERT for Convolutional Networks"),
                             hit("Learning 3D Representations from 2D Pre-trained Models",
                                 "We propose to learn 3D representations from 2D pre-trained models.")]) is None


def test_which_llms_asks_for_other_names():
    assert asked_kind("Which specific open-weight LLMs was AweDist evaluated on?") == "llm"


def test_items_asked_and_items_numbered():
    from assistant.questions import enumerated_items, items_asked

    assert items_asked("what were the three tricks they used to get there?") == 3
    assert items_asked("Which two techniques did they add to help train such huge networks?") == 2
    assert items_asked("How many layers does it have?") is None
    assert items_asked("What is the 4 class accuracy?") is None
    assert enumerated_items("by (1) carefully initializing the network, (2) applying learning rate scaling, "
                            "and (3) performing data up-sampling") == 3
    assert enumerated_items("two obstacles: (i) irregular inputs and (ii) single-scale decoders") == 2
    assert enumerated_items("1) a cache 2) a router") == 2
    assert enumerated_items("(1) first and (3) third") == 0  # not in order
    assert enumerated_items("we use 2) things") == 0


def test_introduced_names():
    from assistant.questions import introduced_names

    assert "spark" in introduced_names(["Our method called Sparse masKed modeling (SparK) is general."])
    assert introduced_names(["We train a BiLSTM classifier on Dutch sentences."]) == set()
    assert introduced_names(["It improves named entity recognition (NER) by 2 points."]) == set()


def test_says_count():
    from assistant.questions import says_count

    assert says_count("We introduce three techniques that help.", 3)
    assert says_count("It adds 3 tricks.", 3)
    assert not says_count("We introduce two techniques.", 3)
