"""How well each abstract sentence answers a question, and whether the evidence answers it at all.

A sentence's support for a question combines:
* meaning: cosine similarity of the sentence's and the question's embeddings (bundled model);
* coverage: the share of the question's informative terms (stemmed, weighted by idf in the
  index) that the sentence, or its paper's title, contains;
* answer type: a question asking for a quantity ("how many", "what accuracy") is only
  answered by a sentence stating a number the question does not already give.

For a statement (a claim to check, or search-box keywords: `questions.is_topic_query`), which of a
paper's sentences is quoted is decided by `quote_rule`, which also weighs:
* specificity: coverage with each term weighted by idf ** SPECIFIC_IDF_POWER, so the claim's rare
  terms ("tamoxifen", "CYP2D6") count for more than its common ones ("patients", "outcome");
* numbers: the share of the claim's numbers ("40 mg", "1 in 5 million") the sentence states;
* role: a sentence that reports a finding ("RESULTS …", "was associated with", "we show") is
  preferred, and one that only states the background, the aim or the method ("OBJECTIVE To
  determine whether …", "… remains unknown") is not, however close it reads: it restates the
  claim instead of supporting it.
The rule only orders sentences within a paper: each paper keeps the supports of the measure above
(`_level_papers`), so which paper answers, and whether any does, is decided as before. Questions
keep the measure above: their own rules (answer type, the answerer's parts) choose among it, and
on the sample-page questions the quote rule lost facts. Which sentence names what a "which
benchmark/method" question asks for is the extractive answerer's choice, made among these scores.

The measure above (without the quote rule) also checks LLM answers (`claim_support`, see
citations.py, whose thresholds are set on it), so both modes are held to one standard.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock

import numpy as np

from ingest.store.sparse import SideIndex, tokenize

from .questions import finding_strength, is_topic_query, states_new_number, wants_quantity
from .retrieval import Hit
from .sentences import split_sentences

SEMANTIC_WEIGHT = 0.6  # share of meaning (vs. term coverage) in a sentence's support
TITLE_CREDIT = 0.5  # a question term found only in the paper's title counts this much
NO_NUMBER_PENALTY = 0.75  # support multiplier for a number-less sentence when a quantity is asked
# a sentence that points to the paper's code or data ("Our code and pre-trained models are released at
# https://github.com/…/CodeT5") says nothing about the work; it matches a question through the name in
# its URL. Unless the question asks where the code is, it weighs this much of its support.
POINTER_PENALTY = 0.5
_POINTER = re.compile(r"https?\s*:\s*/\s*/|\bgithub\b|\b(?:code|implementation|source)\b[^.]{0,40}\b(?:available|released|"
                      r"open[- ]sourced)\b", re.I)
_ASKS_POINTER = re.compile(r"\b(code|github|available|availability|release[sd]?|open[- ]source[sd]?|implementation|"
                           r"url|link|website|download|repository|repo)\b", re.I)
# --- the quote rule (`quote_rule`)
SPECIFIC_IDF_POWER = 2.0  # its term coverage weighs a term by idf ** this (1: as `coverage`)
SPECIFIC_WEIGHT = 0.4  # share of that coverage (vs. meaning)
NUMBER_WEIGHT = 0.1  # added for stating every number the question states (in proportion)
FINDING_BONUS = 0.2  # added for a sentence that reports a finding ...
SETUP_FACTOR = 0.7  # ... and support multiplied by this for one that only sets up the study
# --- embedding
SENTENCE_CACHE = 4096  # sentence vectors kept between questions (papers recur in a conversation)
FULLY_READ_PAPERS = 3  # every sentence of the top papers is embedded; of the others ...
SENTENCES_PER_OTHER_PAPER = 2  # ... only their lexically best ones (embedding is most of an ask's time)

# words of the question that say what kind of answer is wanted, not what it is about
_QUESTION_WORDS = set(tokenize(["""what which who whom whose when where why how does did do is are was were
    paper papers work works study studies method approach propose proposed present introduce introduced report
    reported achieve achieved show shown use used using collection describe research author authors
    model models result results new"""])[0])


# what a sentence does in its abstract. Structured abstracts label their parts ("OBJECTIVE To
# determine …", "Design, Setting, and Participants …"); the others say it in words.
_SETUP_LABEL = re.compile(
    r"^(background|context|introduction|importance|objectives?|aims?|purpose|design|settings?|methods?|"
    r"materials? and methods|participants|patients|subjects|interventions?|exposures?|measurements?|"
    r"main outcomes?(?: and)? measures?|study selection|data sources?|data extraction)"
    r"(?:\s*(?:,\s*(?:and\s+)?|and\s+|&\s*)(?:setting|settings|participants|patients|design|methods?|measures?))*"
    r"\s*[:.]?\s+(?=(?-i:[A-Z(\d]))",
    re.I,
)
_FINDING_LABEL = re.compile(r"^(results?|findings|conclusions?|interpretation|methods and findings)\s*[:.]?\s+(?=(?-i:[A-Z(\d]))", re.I)
_AIM = re.compile(
    r"\b(to (determine|assess|evaluate|investigate|examine|test|explore|compare|identify|establish|characteri[sz]e|"
    r"clarify|estimate|quantify|describe|review) (whether|if|how|the|what)|(?:is|are|was|were|remains?) "
    r"(largely |still |currently )?(unknown|unclear|poorly understood|not (well |fully )?(known|understood|established))|"
    r"little is known|we (asked|hypothesi[sz]ed|sought|aimed)|(the|our) (aim|objective|purpose|goal) (of|was|is))\b",
    re.I,
)
_RESULT = re.compile(
    r"\b(we (found|find|show|showed|demonstrate|demonstrated|observed|report)|(was|were|is|are) (significantly |"
    r"strongly |independently |positively |negatively |inversely )?(associated|correlated|linked)|"
    r"significant(ly)?|odds ratio|hazard ratio|relative risk|confidence interval|(increase|decrease|reduce|"
    r"improve|raise|enhance|promote|induce|rescue|restore|attenuate|reverse|abrogate|exacerbate|accelerate|"
    r"mediate|require)[sd]|(lower|prevent|inhibit|suppress|abolish|impair|block|protect|worsen|delay)(s|es|ed)|"
    r"led to|resulted in|"
    r"no (significant |statistically significant )?(association|difference|effect|change|benefit|increase|decrease|"
    r"reduction|improvement)|(did|does|do) not (affect|alter|change|improve|increase|reduce|differ|influence)|"
    r"(had|have|has|showed|exhibited) (a |an )?(significantly )?(lower|higher|greater|smaller|reduced|increased|"
    r"decreased|elevated))\b|"
    r"\bp\s*[<=>]\s*0?\.\d|\d\s*%",
    re.I,
)


def sentence_role(text: str) -> int:
    """+1 when `text` reports a finding, -1 when it only sets up the study (background, aim,
    design, method), 0 otherwise. A label wins over the words ("RESULTS To our surprise …")."""
    if _FINDING_LABEL.match(text):
        return 1
    if _SETUP_LABEL.match(text) or _AIM.search(text):
        return -1
    return 1 if _RESULT.search(text) or finding_strength(text) >= 2 else 0


_NUMBER = re.compile(r"(?<![A-Za-z\d.,])\d+(?:[.,]\d+)*")


def stated_numbers(text: str) -> set[str]:
    """The numbers `text` states, as written without thousands commas ("32,441" → "32441")."""
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def quote_rule(semantic: float, specific: float, numbers: float, role: int) -> float:
    """How well a sentence supports a statement (a claim, search-box keywords), from its meaning
    (cosine), its coverage of the statement's specific terms (0..1), its share of the statement's
    numbers (0..1) and its
    role (`sentence_role`). The weights are the module constants, chosen on the even-id half of the
    SciFact training claims (`benchmarks/scifact.py --half fit`), reported on the other half and
    checked on the sample-page questions (benchmarks/README.md, SciFact)."""
    support = (1 - SPECIFIC_WEIGHT) * semantic + SPECIFIC_WEIGHT * specific + NUMBER_WEIGHT * numbers
    if role > 0:
        return support + FINDING_BONUS
    return support * SETUP_FACTOR if role < 0 else support


def _level_papers(evidence: list[Evidence], plain: list[float]) -> None:
    """Within each paper, hand its plain supports (meaning and idf coverage, `plain[i]` for
    `evidence[i]`) out again in the order of the quote rule: the rule decides which of a paper's
    sentences is quoted, not which paper answers (the aim sentence that restates a claim is what
    shows the paper is about it), so every paper keeps its plain supports, best and second best alike."""
    by_paper: dict[int, list[int]] = {}
    for i, e in enumerate(evidence):
        by_paper.setdefault(e.hit, []).append(i)
    for members in by_paper.values():
        order = sorted(members, key=lambda i: -evidence[i].support)
        for i, value in zip(order, sorted((plain[i] for i in members), reverse=True)):
            evidence[i].support = value


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
        # the quote rule is for statements (a claim to check, search-box keywords); a question's own
        # rules (answer type, the extractive answerer's parts) choose among the plain measure's order
        statement = is_topic_query(question)
        pointers = not _ASKS_POINTER.search(asked)  # where the code is is no answer, unless asked
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
        specific_terms = {t: w ** SPECIFIC_IDF_POWER for t, w in q_terms.items()}
        q_numbers = stated_numbers(question)
        out, paper_level = [], []
        for i in chosen:
            h, s, text = items[i]
            sim = float(sims[i])
            support = quote = SEMANTIC_WEIGHT * sim + (1 - SEMANTIC_WEIGHT) * coverage[i]
            if statement:
                specific = self.coverage(specific_terms, tokens[i], title_terms[h])
                numbers = len(q_numbers & stated_numbers(text)) / len(q_numbers) if q_numbers else 0.0
                quote = quote_rule(sim, specific, numbers, sentence_role(text))
            if quantity and not states_new_number(text, asked):
                support, quote = support * NO_NUMBER_PENALTY, quote * NO_NUMBER_PENALTY
            if pointers and _POINTER.search(text):
                support, quote = support * POINTER_PENALTY, quote * POINTER_PENALTY
            out.append(Evidence(h, s, text, sim, coverage[i], quote))
            paper_level.append(support)
        quote_order = {id(e): -e.support for e in out}  # ties in the handed-out supports keep it
        _level_papers(out, paper_level)
        out.sort(key=lambda e: (-e.support, quote_order[id(e)]))
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
