"""Whether a text gives what a question asks for, not only what it is about.

A near miss (a question on a paper that exists, asking a detail its abstract does not give) is
answered by a small model with a restatement of the topic: "UniBridge was evaluated across
multilingual datasets [1]" for "How many and which languages were evaluated in the UniBridge
paper?". It nearly copies its source, so support cannot tell it from an answer. What it lacks is
the kind of answer asked for (`questions.answer_type`: a quantity for "how many / what accuracy",
a name for "which benchmark / method") and, in the source sentence behind it, the question's
specific terms (`answerability.specific_terms`: its rarest words, names and numbers).

`states_asked` is the answer-kind rule itself: the offline answerer applies it to the sentences it
quotes (its quantity rule: a quantity asked and none stated → refuse) and `answers_asked` holds an
LLM's claim and its source sentence to it when the evidence is weak (`generative.finish`).
"""

from __future__ import annotations

from .answerability import said_otherwise, share
from .evidence import stated_numbers, term_sets
from .questions import NAME, QUANTITY, answer_type, asked_kind, names, new_names, own_name, states_quantity
from .retrieval import Hit
from .sentences import split_sentences

# the share of the question's specific terms (idf-weighted) that the sentence supporting a claim,
# with its paper's title, must hold. On the dev questions the best sentence of the gold paper holds
# 0.23-1.00 (lowest: the multi-paper q122; fact and identify questions 0.31-1.00), the closest
# sentence for the off-topic q135/q136/q139 0.43/0.28/0.00: a low bar, which keeps claims about
# another thing out (the kind does the rest). benchmarks/README.md, "asked kind" re-run.
SPECIFIC_HELD_MIN = 0.20
KINDS = (QUANTITY, NAME)


def states_asked(text: str, question: str, kinds: tuple[str, ...] = KINDS) -> bool:
    """`text` states the kind of answer `question` asks for, when that kind is one of `kinds`: a
    quantity (a number, or a count in words of what "how many" counts) or a name the question
    does not already hold. True for any other question (a description, a reason, a yes/no)."""
    kind = answer_type(question)
    if kind not in kinds:
        return True
    if kind == QUANTITY:
        return states_quantity(text, question)
    return bool(new_names(text, question))


def _asked_names(claim: str, source: str, hit: Hit | None, question: str) -> set[str]:
    """Names the claim gives that the question lacks and its source sentence holds; for "which
    benchmark/dataset/language …" not the paper's own name (that says which paper, not what)."""
    found = new_names(claim, question) & set(names(source))
    if hit is not None and asked_kind(question):
        found.discard(own_name(hit.title, split_sentences(hit.abstract)))
    return found


def _states_source_quantity(claim: str, source: str, question: str) -> bool:
    """Claim and source both state a quantity, and a number the claim adds is one the source gives."""
    if not (states_asked(claim, question, (QUANTITY,)) and states_asked(source, question, (QUANTITY,))):
        return False
    added = stated_numbers(claim) - stated_numbers(question)
    return not added or bool(added & stated_numbers(source))


def answers_asked(claim: str, source: str, question: str, specific: dict[str, float],
                  hit: Hit | None = None) -> bool:
    """Whether `claim` answers `question` from `source` (the abstract sentence that supports it, of
    the paper `hit`), not just restates its topic: the claim states the asked kind of answer and
    its source states the same (the quantity, the name), and the source with its paper's title
    holds at least SPECIFIC_HELD_MIN of the question's `specific` terms."""
    kind = answer_type(question)
    if kind == QUANTITY and not _states_source_quantity(claim, source, question):
        return False
    if kind == NAME and not _asked_names(claim, source, hit, question):
        return False
    context = f"{hit.title} {source}" if hit is not None else source
    held = term_sets([context])[0] | said_otherwise(question, context)
    return not specific or share(specific, held) >= SPECIFIC_HELD_MIN


def what_is_asked(question: str) -> str:
    """How a refusal names what the answer lacked: "a quantity", "a name", "the question's terms"."""
    return {QUANTITY: "a quantity", NAME: "a name"}.get(answer_type(question), "what the question names")
