"""Names a question sets as conditions that the answering paper never states (assistant/unnamed.py)."""

from __future__ import annotations

from assistant.unnamed import unnamed

SLAB = ("SLAB: Efficient Transformers with Simplified Linear Attention. Our SLAB-Swin obtains 83.6% top-1 "
        "accuracy on ImageNet-1K with 16.2ms latency.")


def test_a_benchmark_or_metric_asked_on_must_be_in_the_paper():
    assert unnamed("What mIoU does SLAB reach on ADE20K semantic segmentation?", SLAB) == {"miou", "ade20k"}
    assert unnamed("What top-1 accuracy does SLAB-Swin reach on ImageNet-1K?", SLAB) == set()


def test_a_method_compared_with_must_be_in_the_paper_even_when_it_is_a_plain_capitalised_word():
    chimera = "Chimera achieves a latency speedup of 2.7x compared to vanilla auto-regressive decoding."
    assert unnamed("How much faster is Chimera than Medusa?", chimera) == {"medusa"}
    assert unnamed("How much faster is Chimera than vanilla decoding?", chimera) == set()
    zett = "Zero-Shot Tokenizer Transfer. We train a hypernetwork predicting embeddings (ZeTT)."
    assert unnamed("How does TokenAdapt's initialization compare with the ZeTT hypernetwork?", zett) == {"tokenadapt"}


def test_a_setting_given_as_an_example_must_be_in_the_paper():
    deft = "DEFT reduces activation density by up to 50.72% on RoBERTa-Large and 53.19% on Flan-T5-XXL."
    assert unnamed("How much does DEFT cut density when fine-tuning a decoder-only model such as Llama-2-7B?",
                   deft) == {"llama-2-7b"}
    assert unnamed("How much does DEFT cut density on encoder models such as RoBERTa-Large?", deft) == set()


def test_names_count_in_any_spelling():
    text = "We fine-tune Llama 2 with a Bi-LSTM head and reach 90.0% on K400 and 89.9% on K600."
    assert unnamed("What accuracy on Kinetics-400 does it reach, compared with Llama2?", text) == set()
    assert unnamed("How does it do against BiLSTM baselines?", text) == set()
    assert unnamed("How much better is it than the ViTs?", "It beats the ViT baseline.") == set()


def test_describing_words_of_a_hyphenated_name_need_not_be_stated_but_a_metric_is_named_whole():
    text = "We train an 8k context-length 1B model at the cost of a 2k one; it needs GPU memory."
    assert unnamed("How fast is it compared with the 2k-context baseline?", text) == set()
    assert unnamed("How many GPU-hours did it take?", text) == {"gpu-hours"}


def test_names_outside_a_condition_are_not_checked():
    # the question's own description may name things the abstract words otherwise
    assert unnamed("What accuracy did the binary BiLSTM classifier reach?", "The classifier reaches 84.56%.") == set()
