"""What a number measures and whether it is the asked measure (assistant/measures.py): pure text rules."""

from __future__ import annotations


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


def test_a_list_item_number_is_no_quantity():
    from assistant.measures import states_quantity

    gpu = "Which GPU type was used to pretrain the encoder, and how many GPU-hours did it take?"
    assert not states_quantity("It raises three challenges: (1) how to evaluate retrieval, (2) how to pretrain.", gpu)
    assert not states_quantity("Two steps: 1) retrieve, 2) rerank.", "How long does it take?")
    assert states_quantity("Pretraining took 1,200 GPU-hours on A100s.", gpu)


def test_a_capitalised_measure_is_found_beside_its_number():
    from assistant.measures import counts_asked

    assert counts_asked("The model was trained on 64 GPUs for a week.", "How many GPUs were used?")


def test_the_measure_is_the_head_noun_not_what_qualifies_it():
    from assistant.measures import states_quantity

    q = "What LoRA rank and learning rate did the authors use when continuing to pretrain on Dutch?"
    # "LoRA" beside a number of tokens names no rank
    assert not states_quantity("We continue pretraining with LoRA on 32B tokens of Dutch text.", q)
    assert states_quantity("We use LoRA with rank 64 and alpha 16.", q)


def test_a_range_takes_the_unit_after_its_end():
    from assistant.measures import states_quantity

    # "27-90 times fewer parameters" is a factor of parameters, no rank
    assert not states_quantity("It uses 27-90 times fewer learnable parameters than LoRA.", "What rank r did it use?")
    assert states_quantity("It runs 3-6 times faster.", "What speedup does it give?")


def test_a_number_beside_the_measure_asked_or_the_questions_own_words():
    """`number_near`: the number must stand beside the measure the question names ("score"), or,
    when it names none ("how much faster", "how large"), beside one of the given terms."""
    from assistant.measures import number_near

    score = "What MMLU score does the 34B base model of Yi reach?"
    assert number_near("NV-Embed reaches a record-high score of 69.32 on MTEB.", score, set())
    assert not number_near("The Yi family is based on 6B and 34B models with 200K long context.", score, {"famili"})
    faster = "How much faster is LLMLingua-2 than earlier prompt compression methods?"
    assert number_near("Our model is 3x-6x faster than existing prompt compression methods.", faster, {"prompt"})
    size = "How large is ELECTRA's generator compared with its discriminator?"
    assert not number_near("It performs comparably to RoBERTa and XLNet while using less than 1/4 of their compute.",
                           size, {"generat", "discrimin", "larg"})


def test_what_x_size_asks_for_a_number_of_x():
    """"What codebook size …?" names its measure through what is sized: "99% parameter reduction" and
    "6x speedup" give no codebook size; "a codebook of 1024 entries" does. A bare "what size" does not
    name one (any number may answer)."""
    from assistant.measures import measures_asked

    q = "What codebook size K do the VQ-Logits authors end up using for the output layer?"
    assert not measures_asked("VQ-Logits achieves up to 99% parameter reduction in the output layer and 6x speedup "
                              "in logit computation.", q)
    assert measures_asked("We use a shared codebook of 1024 embedding vectors.", q)
    assert measures_asked("It has 7B parameters.", "What size is the model?")


def test_a_factor_asked_is_counted_by_a_factor_stated():
    from assistant.measures import counts_asked

    q = "By what factor could the training trick stretch a pretrained LM's context window?"
    assert counts_asked("Our method can extend input contexts by a factor of 4x while improving perplexity.", q)
    assert counts_asked("It extends the context 4 times.", q)
    assert counts_asked("It extends contexts by a factor of 4.", q)
    assert not counts_asked("We train on 8 GPUs.", q)
    # "which factor" as a cause, "how many times" as repetitions: no factor asked
    assert not counts_asked("It reaches target accuracy 3x faster.", "Which factor matters most for the speedup?")
    assert not counts_asked("It trains 2x faster.", "How many times did they run each experiment?")
    assert counts_asked("It trains 2x faster.", "How many times faster does it train?")


def test_the_year_of_a_reference_is_no_quantity():
    from assistant.measures import measures_asked

    q = "What CIFAR-10 accuracy does it get?"
    assert not measures_asked("Initialization matters (Mishkin & Matas, 2015).", q)
    assert not measures_asked("The scheme of He et al., 2016; was widely adopted.", q)
    assert not measures_asked("He et al. 2016, the scheme, was widely adopted.", q)
    assert measures_asked("It reaches 95.2 on CIFAR-10.", q)
