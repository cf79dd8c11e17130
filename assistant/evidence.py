"""How well each abstract sentence answers a question, and whether the evidence answers it at all.

A sentence's support for a question combines:
* meaning: cosine similarity of the sentence's and the question's embeddings (bundled model);
* coverage: the share of the question's informative terms (stemmed, weighted by idf in the
  index) that the sentence, or its paper's title, contains;
* answer type: a question asking for a quantity ("how many", "what accuracy") is only
  answered by a sentence stating a number the question does not already give.
  (Which sentence names what a "which benchmark/method" question asks for is the extractive
  answerer's choice, made among these scores.)

The same measure checks LLM answers (see citations.py), so both modes are held to one standard.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock

import numpy as np

from ingest.store.sparse import SideIndex, tokenize

from .questions import states_new_number, wants_quantity
from .retrieval import Hit
from .sentences import split_sentences

SEMANTIC_WEIGHT = 0.6  # share of meaning (vs. term coverage) in a sentence's support
TITLE_CREDIT = 0.5  # a question term found only in the paper's title counts this much
NO_NUMBER_PENALTY = 0.75  # support multiplier for a number-less sentence when a quantity is asked
SENTENCE_CACHE = 4096  # sentence vectors kept between questions (papers recur in a conversation)
FULLY_READ_PAPERS = 3  # every sentence of the top papers is embedded; of the others ...
SENTENCES_PER_OTHER_PAPER = 2  # ... only their lexically best ones (embedding is most of an ask's time)

# words of the question that say what kind of answer is wanted, not what it is about
_QUESTION_WORDS = set(tokenize(["""what which who whom whose when where why how does did do is are was were
    paper papers work works study studies method approach propose proposed present introduce introduced report
    reported achieve achieved show shown use used using collection describe research author authors
    model models result results new"""])[0])


@dataclass
class Evidence:
    """One sentence of one retrieved abstract, scored against the question."""

    hit: int  # index into the hits (source number - 1)
    sentence: int  # index of the sentence in its abstract
    text: str
    semantic: float
    coverage: float
    support: float


# words a question and an abstract use for the same thing ("make public" / "release"); each
# group's first word stands for the group when terms are compared
_SAME_MEANING = [
    "release public publicly publish",
    "outperform beat surpass exceed",
    "reduce cut lower decrease shrink",
    "improve boost enhance",
    "accelerate speed faster speedup",
    "evaluate assess",
    "large big huge",
    "small tiny",
]
_CANONICAL = {}
for _group in _SAME_MEANING:
    _stems = [t[0] for t in tokenize(_group.split()) if t]
    for _stem in _stems:
        _CANONICAL[_stem] = _stems[0]


def term_sets(texts: list[str]) -> list[set[str]]:
    """Each text's stemmed terms, with words of the same meaning made one."""
    return [{_CANONICAL.get(t, t) for t in toks} for toks in tokenize(texts)]


class EvidenceScorer:
    """Scores sentences of retrieved abstracts against questions (and claims against quotes)."""

    def __init__(self, side: SideIndex, embed_model) -> None:
        self.side = side
        self.embed_model = embed_model
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = Lock()

    # --- building blocks
    def terms(self, text: str) -> dict[str, float]:
        """Informative stemmed terms of `text` with their idf in the index."""
        out: dict[str, float] = {}
        for t in tokenize([text])[0]:
            if not t or t in _QUESTION_WORDS:
                continue
            t = _CANONICAL.get(t, t)
            if t not in out:
                out[t] = self.side.idf(t)  # unseen terms weigh the most
        return out

    def vectors(self, sentences: list[str]) -> np.ndarray:
        # read what is cached first: trimming the cache below may evict vectors this call needs
        with self._lock:
            found = {s: self._cache[s] for s in dict.fromkeys(sentences) if s in self._cache}
            for s in found:
                self._cache.move_to_end(s)
        missing = [s for s in dict.fromkeys(sentences) if s not in found]
        if missing:
            embedded = self.embed_model.embed(missing)
            found.update(zip(missing, embedded))
            with self._lock:
                for s, v in zip(missing, embedded):
                    self._cache[s] = v
                while len(self._cache) > SENTENCE_CACHE:
                    self._cache.popitem(last=False)
        return np.vstack([found[s] for s in sentences]) if sentences else np.zeros((0, self.embed_model.dimension), dtype=np.float32)

    @staticmethod
    def coverage(q_terms: dict[str, float], text_terms: set[str], title_terms: set[str] = frozenset()) -> float:
        total = sum(q_terms.values())
        if not total:
            return 0.0
        got = sum(w if t in text_terms else TITLE_CREDIT * w if t in title_terms else 0.0 for t, w in q_terms.items())
        return got / total

    # --- the measure
    def score(self, question: str, hits: list[Hit], question_vector: np.ndarray | None = None,
              asked: str | None = None) -> list[Evidence]:
        """Sentences of the hits' abstracts, best supported first.

        `question` may be one part of the question `asked`, which is what a "new" number (one
        the question does not already state) is judged against.
        """
        asked = asked or question
        q_terms = self.terms(question)
        quantity = wants_quantity(question)
        items: list[tuple[int, int, str]] = []
        for h, hit in enumerate(hits):
            for s, sentence in enumerate(split_sentences(hit.abstract)):
                items.append((h, s, sentence))
        if not items:
            return []
        tokens = term_sets([text for _h, _s, text in items] + [hit.title for hit in hits])
        title_terms = tokens[len(items):]
        coverage = [self.coverage(q_terms, t, title_terms[h]) for (h, _s, _t), t in zip(items, tokens)]
        # which sentences to embed: all of the top papers', the lexically best of the others
        chosen = [i for i, (h, _s, _t) in enumerate(items) if h < FULLY_READ_PAPERS]
        for h in range(FULLY_READ_PAPERS, len(hits)):
            mine = sorted((i for i, item in enumerate(items) if item[0] == h), key=lambda i: -coverage[i])
            chosen += mine[:SENTENCES_PER_OTHER_PAPER]
        if question_vector is None:
            question_vector = np.asarray(self.embed_model.get_query_embedding(question), dtype=np.float32)
        sims = dict(zip(chosen, self.vectors([items[i][2] for i in chosen]) @ question_vector))
        out = []
        for i in chosen:
            h, s, text = items[i]
            sim = float(sims[i])
            support = SEMANTIC_WEIGHT * sim + (1 - SEMANTIC_WEIGHT) * coverage[i]
            if quantity and not states_new_number(text, asked):
                support *= NO_NUMBER_PENALTY
            out.append(Evidence(h, s, text, sim, coverage[i], support))
        out.sort(key=lambda e: -e.support)
        return out

    def claim_support(self, claim: str, sentences: list[str]) -> tuple[int, float]:
        """The sentence that best supports `claim` and how well (0..1): for checking citations."""
        if not sentences:
            return -1, 0.0
        c_terms = self.terms(claim)
        vecs = self.vectors(sentences)
        cvec = self.vectors([claim])[0]
        best, best_score = -1, -1.0
        for i, (vec, toks) in enumerate(zip(vecs, term_sets(sentences))):
            cov = self.coverage(c_terms, toks)
            score = SEMANTIC_WEIGHT * float(vec @ cvec) + (1 - SEMANTIC_WEIGHT) * cov
            if score > best_score:
                best, best_score = i, score
        return best, max(0.0, best_score)
