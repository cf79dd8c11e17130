"""Whether the retrieved abstracts answer a question: the features the refusal rule reads.

A near miss is a question about a paper that exists, asking a detail its abstract does not
give ("what learning rate did they use?"). Topical similarity cannot see that: the paper is
about the asked thing. What can is whether the *specific* words of the question (its rarest
terms, numbers and names) appear in what the best paper says, and whether one sentence
carries the question's meaning. `features` computes these from the evidence the answerer
already has (no extra model calls); `benchmarks/answerability.py` measures each feature's
ROC AUC on calibration sets and fits the combination in `extractive.decide`. A term the text
says in another form ("K400" for "Kinetics-400", "CTR" for "click-through rate") counts as
said (`said_otherwise`).
"""

from __future__ import annotations

import re

from .evidence import Evidence, EvidenceScorer, term_sets
from .questions import NAME, QUANTITY, answer_type, names, numbers, states_new_name, states_new_number
from .retrieval import Hit

PAPERS_CONSIDERED = 3  # how many top papers may carry the answer
PAPER_COVERAGE_WEIGHT = 0.5  # the old rule: dense + this × idf coverage of the whole abstract
SPECIFIC_SHARE = 0.5  # the question's specific terms: its rarest terms holding this share of its idf mass


def specific_terms(scorer: EvidenceScorer, question: str) -> dict[str, float]:
    """The question's most specific terms with their idf: the rarest ones that together hold
    SPECIFIC_SHARE of its idf mass, plus every number and name it states (stemmed as the index
    stems them). These are what a near miss lacks; common words describe the topic."""
    q_terms = scorer.terms(question)
    if not q_terms:
        return {}
    total = sum(q_terms.values())
    out: dict[str, float] = {}
    mass = 0.0
    for t, w in sorted(q_terms.items(), key=lambda kv: -kv[1]):
        if mass >= SPECIFIC_SHARE * total:
            break
        out[t] = w
        mass += w
    marked = " ".join(sorted(numbers(question)) + names(question))
    for t in term_sets([marked])[0] if marked else set():
        if t in q_terms:
            out[t] = q_terms[t]
    return out


# --- one thing named two ways: "Kinetics-400" / "K400", "click-through rate" / "CTR"
_WORDS = re.compile(r"[A-Za-z0-9]+")  # hyphens split: "click-through" is two words
_ACRONYM = re.compile(r"\b[A-Z]{3,6}s?\b")  # CTR, DIN, MLPs (two letters match too much by chance)
_NAMED_NUMBER = re.compile(r"\b([A-Za-z])[A-Za-z]{3,}-(\d+[A-Za-z]?)\b")  # Kinetics-400, ImageNet-1k


def _spelled_out(words: list[str], acronym: str) -> list[str]:
    """The first run of `words` whose initials spell `acronym` (any case), or []."""
    letters = acronym.lower()
    n = len(letters)
    for i in range(len(words) - n + 1):
        if all(w[0].lower() == c for w, c in zip(words[i:i + n], letters)):
            return words[i:i + n]
    return []


def said_otherwise(question: str, text: str) -> set[str]:
    """Stems of the question's terms that `text` says in another form: a name with a number
    shortened to its initial ("Kinetics-400" / "K400", either way round), or the question's
    acronym spelled out in the text ("CTR" / "click-through rate"; not when the question spells
    it out itself: its words are counted already). Found from the two texts
    alone (no dictionary of abbreviations). The other way round (the text's acronym spelled by
    words of the question) was measured and not adopted: on SciFact, words of near-miss claims
    spell the abstracts' many acronyms by chance (near misses refused 0.513 → 0.500)."""
    q_words, t_words = _WORDS.findall(question), _WORDS.findall(text)
    q_lower, t_lower = {w.lower() for w in q_words}, {w.lower() for w in t_words}
    found: list[str] = []
    for m in _NAMED_NUMBER.finditer(question):
        if (m.group(1) + m.group(2)).lower() in t_lower:
            found.append(m.group(0))
    for m in _NAMED_NUMBER.finditer(text):
        if (m.group(1) + m.group(2)).lower() in q_lower:
            found.append(m.group(1) + m.group(2))
    for m in _ACRONYM.finditer(question):
        acronym = m.group(0).rstrip("s")
        if _spelled_out(q_words, acronym):  # "tyrosine kinase inhibitors (TKIs)": its words count already
            continue
        if m.group(0).lower() not in t_lower and _spelled_out(t_words, acronym):
            found.append(m.group(0))
    return term_sets([" ".join(found)])[0] if found else set()


def share(terms: dict[str, float], present: set[str]) -> float:
    """The idf-weighted share of `terms` found in `present`."""
    total = sum(terms.values())
    return sum(w for t, w in terms.items() if t in present) / total if total else 0.0


def features(scorer: EvidenceScorer, question: str, hits: list[Hit], evidence: list[Evidence]) -> dict[str, float]:
    """Candidate answerability features of one question (see the module docstring).

    `evidence` is `scorer.score(question, hits)`, best first. All features grow with answerability.
    """
    top = hits[:PAPERS_CONSIDERED]
    q_terms = scorer.terms(question)
    specific = specific_terms(scorer, question)
    paper_terms = [t | said_otherwise(question, f"{h.title} {h.abstract}")
                   for h, t in zip(top, term_sets([f"{h.title} {h.abstract}" for h in top]))]
    old = max((h.dense_score + PAPER_COVERAGE_WEIGHT * scorer.coverage(q_terms, t) for h, t in zip(top, paper_terms)),
              default=0.0)
    ev = [e for e in evidence if e.hit < PAPERS_CONSIDERED] or evidence
    best_of: dict[int, float] = {}  # each paper's best sentence support (evidence is best first)
    for e in ev:
        best_of.setdefault(e.hit, e.support)
    supports = sorted(best_of.values(), reverse=True) or [0.0]
    best_paper = ev[0].hit if ev else 0
    sentence_terms = [t | said_otherwise(question, e.text) for e, t in zip(ev, term_sets([e.text for e in ev]))]
    titles = term_sets([h.title for h in top]) if top else []
    specific_in_sentence = max(
        (share(specific, t | titles[e.hit]) for e, t in zip(ev, sentence_terms) if e.hit < len(titles)), default=0.0)
    kind = answer_type(question)
    typed = [e for e in ev if kind is None or (kind == QUANTITY and states_new_number(e.text, question))
             or (kind == NAME and states_new_name(e.text, question))]
    return {
        "old rule": old,
        "best sentence of the asked kind": typed[0].support if typed else 0.0,
        "dense (top paper)": max((h.dense_score for h in top), default=0.0),
        "best sentence support": ev[0].support if ev else 0.0,
        "best sentence meaning": max((e.semantic for e in ev), default=0.0),
        "best sentence coverage": max((e.coverage for e in ev), default=0.0),
        "specific terms, best sentence": specific_in_sentence,
        "specific terms, best paper": share(specific, paper_terms[best_paper]) if best_paper < len(paper_terms) else 0.0,
        "paper margin": supports[0] - (supports[1] if len(supports) > 1 else 0.0),
        "rarest missing term, best paper": _rarest_missing(q_terms, paper_terms[best_paper] | titles[best_paper])
        if best_paper < len(paper_terms) else 0.0,
    }


def _rarest_missing(q_terms: dict[str, float], present: set[str]) -> float:
    """1 − idf of the rarest question term the text lacks / idf of the rarest question term:
    1 when every term is there, low when the question's most specific word is missing."""
    if not q_terms:
        return 0.0
    missing = [w for t, w in q_terms.items() if t not in present]
    return 1.0 - (max(missing) / max(q_terms.values()) if missing else 0.0)
