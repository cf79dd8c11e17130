"""The quote rule: the sentence quoted for a claim is the one that supports it, not the one that
reads most like it.

Tiny synthetic abstracts, a stub idf and a stub embedder whose similarities are set by hand, so
each test pins one part of `assistant.evidence.quote_rule` (rare terms, numbers, a sentence's
role) against a sentence that is closer in meaning but does not carry the claim's specifics.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from assistant import evidence
from assistant.evidence import EvidenceScorer, quote_rule, sentence_role, stated_numbers
from assistant.extractive import ExtractiveAnswerer
from assistant.retrieval import Hit


class SetSimilarity:
    """A stand-in embedding model: the query is the unit vector e0 and every sentence has the cosine
    with it that the test gives (`sims`); other texts are orthogonal to the query."""

    dimension = 4

    def __init__(self, sims: dict[str, float]) -> None:
        self.sims = sims

    def _vector(self, text: str) -> np.ndarray:
        c = self.sims.get(text, 0.0)
        return np.array([c, np.sqrt(1 - c * c), 0.0, 0.0], dtype=np.float32)

    def embed(self, texts: list[str]) -> list[np.ndarray]:
        return [self._vector(t) for t in texts]

    def get_query_embedding(self, text: str) -> list[float]:
        return [1.0, 0.0, 0.0, 0.0]


RARE = {"tamoxifen": 6.0, "cyp2d6": 6.5, "homocystein": 5.5, "folat": 5.5}  # stemmed, as the index holds them


def scorer(sims: dict[str, float]) -> EvidenceScorer:
    side = SimpleNamespace(idf=lambda term: RARE.get(term, 1.0))
    return EvidenceScorer(side, SetSimilarity(sims))


def hit(abstract: str, title: str = "A cohort study") -> Hit:
    return Hit(paper_id="p1", title=title, abstract=abstract, score=1.0, url=None, authors=[], date=None,
               sources=[], passage=abstract, dense_score=0.9)


def best_sentence(claim: str, sentences: dict[str, float], title: str = "A cohort study") -> str:
    """The sentence `score` puts first among `sentences` (text → cosine with the claim)."""
    evidence = scorer(sentences).score(claim, [hit(" ".join(sentences), title)])
    return evidence[0].text


CLAIM = "Tamoxifen lowers the recurrence of breast cancer in patients."
GENERIC = "Recurrence of breast cancer in patients remains a major clinical problem."
SPECIFIC = "Recurrence fell in women given tamoxifen."
OLD_RULE = {"SPECIFIC_IDF_POWER": 1.0, "NUMBER_WEIGHT": 0.0, "FINDING_BONUS": 0.0, "SETUP_FACTOR": 1.0}


def test_the_claims_rare_term_beats_a_more_similar_generic_sentence():
    assert best_sentence(CLAIM, {GENERIC: 0.90, SPECIFIC: 0.60}) == SPECIFIC


@pytest.mark.parametrize("part", sorted(OLD_RULE))
def test_each_fixture_is_decided_by_its_part_of_the_rule(monkeypatch, part):
    """Without the part a test is about, its sentence loses: the tests above check the rule, not
    the fixtures' similarities."""
    monkeypatch.setattr(evidence, part, OLD_RULE[part])
    losers = {
        "SPECIFIC_IDF_POWER": lambda: best_sentence(CLAIM, {GENERIC: 0.90, SPECIFIC: 0.60}) == GENERIC,
        "NUMBER_WEIGHT": lambda: best_sentence(DOSE_CLAIM, {OTHER_DOSE: 0.8, SAME_DOSE: 0.8}) == OTHER_DOSE,
        "FINDING_BONUS": lambda: best_sentence(CYP_CLAIM, {PLAIN: 0.80, FINDING: 0.75}) == PLAIN,
        "SETUP_FACTOR": lambda: best_sentence(CYP_CLAIM, {AIM: 0.85, OUTCOME: 0.75}) == AIM,
    }
    assert losers[part]()


CYP_CLAIM = "Poor CYP2D6 metabolism of tamoxifen worsens breast cancer outcomes."
AIM = "OBJECTIVE To determine whether CYP2D6 metabolism of tamoxifen is associated with breast cancer outcomes."
OUTCOME = "Among women given tamoxifen, poor CYP2D6 metabolizers had more breast cancer recurrences."
PLAIN = "Poor CYP2D6 metabolizers of tamoxifen had more recurrences."
FINDING = "Poor CYP2D6 metabolizers of tamoxifen had significantly more recurrences."


def test_the_outcome_is_quoted_rather_than_the_aim_that_restates_the_claim():
    assert best_sentence(CYP_CLAIM, {AIM: 0.85, OUTCOME: 0.75}) == OUTCOME


def test_a_sentence_reporting_a_finding_is_preferred():
    assert best_sentence(CYP_CLAIM, {PLAIN: 0.80, FINDING: 0.75}) == FINDING


def test_an_unknown_stated_as_background_does_not_support_the_claim():
    claim = "Folate deficiency raises homocysteine levels in blood."
    background = "Whether folate deficiency raises homocysteine levels in blood remains unknown."
    finding = "Homocysteine in blood rose in folate-deficient subjects."
    assert best_sentence(claim, {background: 0.85, finding: 0.75}) == finding


# single digits are not index terms ("0.8" tokenizes to nothing): only the number rule tells these apart
DOSE_CLAIM = "A folate dose of 0.8 mg gives the largest homocysteine reduction."
OTHER_DOSE = "A folate dose of 0.4 mg gave the largest homocysteine reduction."
SAME_DOSE = "A folate dose of 0.8 mg gave the largest homocysteine reduction."


def test_a_number_the_claim_states_tips_two_otherwise_equal_sentences():
    assert best_sentence(DOSE_CLAIM, {OTHER_DOSE: 0.8, SAME_DOSE: 0.8}) == SAME_DOSE


def test_the_extractive_answer_cites_the_supporting_sentence():
    sims = {GENERIC: 0.90, SPECIFIC: 0.60, "Patients were followed for ten years.": 0.3}
    s = scorer(sims)
    answer = ExtractiveAnswerer(s).answer(CLAIM, [hit(" ".join(sims))])
    assert answer.citations and answer.citations[0].quote == SPECIFIC


@pytest.mark.parametrize("text, role", [
    ("OBJECTIVE To determine whether CYP2D6 variation is associated with outcomes.", -1),
    ("DESIGN, SETTING, AND PARTICIPANTS Double-blind randomized trial in 36 centers.", -1),
    ("Design, Setting, and Participants Prospective cohort of 981 women.", -1),
    ("MAIN OUTCOME MEASURES The primary outcome was all-cause mortality.", -1),
    ("Methods We randomized 151 patients to five dosages.", -1),
    ("Little is known about untreated mental disorders.", -1),
    ("RESULTS Of the 32,441 samples 16 were positive.", 1),
    ("CONCLUSIONS This study corroborates previous estimates.", 1),
    ("Serum folate increased linearly with dosage.", 1),
    ("Our model achieves 85.2% accuracy on ImageNet.", 1),
    ("We report that basophils promote T helper 2 cell differentiation.", 1),
    # negative and comparative findings, and outcome verbs (SciFact's gold sentences often say it so)
    ("No association was detected between bariatric surgery and fractures, cancer, or stroke.", 1),
    ("The screening component did not improve self reported visual problems.", 1),
    ("Exposed infants had a lower hospital death rate.", 1),
    ("Converting ApoE4 to ApoE3 by gene editing rescued these phenotypes.", 1),
    ("Deletion of the receptor impaired kidney regeneration.", 1),
    ("The lower layers process syntax.", 0),  # a comparative alone is not a finding
    ("Large language models are trained on web text.", 0),
    ("Context windows keep growing.", 0),  # a label only when a capitalised sentence follows it
    ("Methods that use retrieval are popular.", 0),
])
def test_sentence_role(text, role):
    assert sentence_role(text) == role


def test_stated_numbers_are_read_as_written():
    assert stated_numbers("Of 32,441 samples, 16 (0.05%) at 40mg; Th2 and B12 are names") == {"32441", "16", "0.05", "40"}


def test_the_quote_rule_grows_with_each_kind_of_support():
    base = quote_rule(0.5, 0.5, 0.0, 0)
    assert quote_rule(0.6, 0.5, 0.0, 0) > base
    assert quote_rule(0.5, 0.6, 0.0, 0) > base
    assert quote_rule(0.5, 0.5, 1.0, 0) > base
    assert quote_rule(0.5, 0.5, 0.0, 1) > base > quote_rule(0.5, 0.5, 0.0, -1)


def test_a_sentences_role_picks_the_quote_not_the_paper(monkeypatch):
    """The paper whose aim restates the claim still answers it (that is what shows it is about the
    claim); only which of its sentences is quoted changes."""
    about = {AIM: 0.95, "Women were followed for ten years.": 0.30}
    nearby = {FINDING: 0.70}
    s = scorer({**about, **nearby})
    hits = [hit(" ".join(about)), hit(" ".join(nearby), "Drug metabolism")]
    hits[1].paper_id = "p2"
    assert s.score(CYP_CLAIM, hits)[0].hit == 0
    monkeypatch.setattr(evidence, "_level_papers", lambda evidence, plain: None)
    assert s.score(CYP_CLAIM, hits)[0].hit == 1  # roles alone would hand the claim to the other paper


def test_a_quantity_question_is_answered_by_the_number_not_by_a_finding_without_it():
    question = "How many bugs does the repair tool fix across its benchmarks?"
    number = "Across all benchmarks, the tool fixes 2,077 bugs."
    finding = "We show that the repair tool outperforms state-of-the-art tools across benchmarks."
    assert best_sentence(question, {number: 0.60, finding: 0.70}) == number


def test_a_pointer_to_the_code_is_no_answer_unless_the_code_is_asked_for():
    """"Our code is released at https://github.com/…/CodeT5" matches a question through the name in
    its URL; it says nothing about the work, so it weighs half, except when the code is asked for."""
    pointer = "Our code and pre-trained models are released at https: //github.com/salesforce/CodeT5 ."
    work = "CodeT5 is a unified encoder-decoder model that leverages the code semantics of identifiers."
    sims = {pointer: 0.80, work: 0.60}
    assert best_sentence("Which papers introduce CodeT5?", sims, "CodeT5") == work
    assert best_sentence("Where is the code of CodeT5 released?", sims, "CodeT5") == pointer
    assert evidence._POINTER.search("Code will be made publicly available.")
    assert not evidence._POINTER.search("The models are trained on publicly available data.")
