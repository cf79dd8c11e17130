"""Papers that do without something (assistant/absence.py): pure text rules."""

from __future__ import annotations


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
