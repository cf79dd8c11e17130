"""Which papers a "which papers …?" answer lists, and how each is shown.

A paper is listed when it fits the question about as well as the best one (`listing_score`:
support scaled by the share of the question's specific terms its abstract says), and, when the
question asks for papers that do without something, when it says so (absence.py).
"""

from __future__ import annotations

from .absence import done_without, states_absence
from .answerability import share, specific_terms
from .evidence import EvidenceScorer, term_sets
from .retrieval import Hit

MULTI_MAX_PAPERS = 3
# in a "which papers" answer a paper is listed when its listing score (see `listing_score`) is at
# least MULTI_RATIO of the best paper's. Measured on the multi-paper questions (cited recall /
# citation precision of all answers): the old rule (support alone, 0.85) dev 0.688 / 0.891,
# held-out 0.467 / 0.909; this one 0.750 / 0.913 and 0.800 / 0.900 (`askpapers eval … --answers`).
# Any ratio from 0.55 to 0.65 gives the same lists; 4 papers instead of 3 cost precision.
MULTI_RATIO = 0.60
SPECIFIC_FLOOR = 0.5  # a paper with none of the question's specific terms keeps this share of its support


def list_line(title: str, quote: str, number: int) -> str:
    """One paper of a "which papers …" answer: its title, the sentence that shows it fits, [n]."""
    return f'- "{title}": {quote} [{number}]'


def listing_score(support: float, specific_share: float) -> float:
    """How well a paper fits a "which papers …" question: its support, scaled by the share of the
    question's specific terms (its rarest words, names, numbers) that its title and abstract
    contain. Papers on the same broad topic are about as similar in meaning; the ones that fit
    also say the specific things asked ("hypernetwork", "codebooks")."""
    return support * (SPECIFIC_FLOOR + specific_share)


def listed(scorer: EvidenceScorer, question: str, hits: list[Hit], paper_score: dict[int, float]) -> list[int]:
    """The papers a "which papers …" answer lists, best first: those whose `listing_score` is
    at least MULTI_RATIO of the best one's (at most MULTI_MAX_PAPERS).

    When the question asks for papers that do without something ("… when no positional
    encodings are used", "… without a pretrained vision encoder"), only papers whose title
    or abstract says they do without it are listed (`absence.states_absence`): a paper on
    the same topic that uses the thing reads just as close. None of them saying so: nothing
    is listed, and the question is refused like a quantity the papers do not state. When it asks
    for papers that drop or remove something, those that say they do without it are listed when
    any does (else the list is made as usual: removing is also what papers on the topic do)."""
    without = done_without(question)
    if without:
        paper_score = {h: s for h, s in paper_score.items()
                       if states_absence(f"{hits[h].title}. {hits[h].abstract}", without)}
        if not paper_score:
            return []
    removed = done_without(question, removed=True)  # "… that drop the visual encoder": those that say so
    saying = {h: s for h, s in paper_score.items() if states_absence(f"{hits[h].title}. {hits[h].abstract}", removed)}
    paper_score = saying or paper_score
    specific = specific_terms(scorer, question)
    terms = term_sets([f"{hits[h].title} {hits[h].abstract}" for h in paper_score])
    score = {h: listing_score(paper_score[h], share(specific, t)) for h, t in zip(paper_score, terms)}
    ranked = sorted(score, key=lambda h: -score[h])
    return [h for h in ranked if score[h] >= MULTI_RATIO * score[ranked[0]]][:MULTI_MAX_PAPERS]
