"""Answers written by an LLM from the evidence sentences, checked, and arbitrated against the
offline answerer.

`GenerativeAnswerer.stream` is complete on its own: it never raises for a failure of the LLM.
Any failure (transport, protocol, a malformed reply, a bug) ends in the offline answer with a
one-line warning; a refusal the evidence contradicts is overruled; an answer no source
supports becomes a refusal. `Answer.mode` names the model when its text is shown and is
"extractive" when the offline text is (a warning then says why).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from functools import lru_cache

from prompts import load

from .answerability import specific_terms
from .answers import REFUSAL, Answer
from .asked import (
    KINDS,
    already_given,
    answers_asked,
    gives_part,
    restates_instead,
    states_asked,
    unsourced_numbers,
    what_is_asked,
)
from .citations import CLAIM_SUPPORT_MIN, STRICT_SUPPORT, Checked, check_citations, with_markers, without_markers
from .turns import to_turns
from .evidence import SEMANTIC_WEIGHT, Evidence, EvidenceScorer, term_sets
from .extractive import OUTCOME, ExtractiveAnswerer, group_by_paper, paper_support
from .llm import ChatClient, LLMError
from .questions import answer_type, asks_for_several, facets, finding_strength, is_topic_query
from .quoting import shown_in
from .retrieval import Hit

log = logging.getLogger(__name__)

PROMPT_TOKENS = 350  # default budget for the evidence in the prompt (settings.llm_prompt_tokens)
MAX_REPLY_TOKENS = 300
RELEVANT_MIN = 0.3  # how well a quote must match the question for an answer to overrule a refusal
_REFUSAL_SIGNS = re.compile(
    r"do(es)? not (answer|address|mention|say|contain|provide)|cannot (answer|be answered)|"
    r"(no|not enough) information|not (stated|mentioned|specified|answered) in|"
    r"none of the (abstracts|papers|sources)",
    re.IGNORECASE,
)


def _stated(answer: Answer) -> str:
    """What an answer states: its text without its sources' titles and its [n] markers."""
    text = answer.text
    for c in answer.citations:
        text = text.replace(f'"{c.title}"', "")
    return without_markers(text)


def lists_every_source(raw: str, shown: int) -> bool:
    """Does the reply walk through the sources, citing every one of at least four (or all but one)
    in the order shown? Small models asked about a topic often paste a sentence of each source:
    that is no choice of what answers, whatever each sentence's support."""
    order = list(dict.fromkeys(int(n) for n in re.findall(r"\[(\d+)\]", raw)))
    return shown >= 4 and len(order) >= shown - 1 and order == sorted(order)


# what is left of a sentence that cites in place of saying: "The three techniques are [1], [2], and [4]."
_CITED_IN_PLACE = re.compile(r"\b(?:are|were|include|includes|included|:)[\s,;:]*(?:and|or)?[\s,;:]*[.!?]?\s*$",
                             re.IGNORECASE)


def cites_in_place(raw: str) -> bool:
    """Does every sentence of the reply name what it answers only by [n] markers ("The three techniques
    they used are [1], [2], and [4].")? Without its markers each ends on "are", "include" or a colon
    ("… as reported in [1]." says something; "… are [1] and [2]." does not)."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", raw.strip()) if s.strip()]
    return bool(sentences) and all(without_markers(s) != s and _CITED_IN_PLACE.search(without_markers(s))
                                   for s in sentences)


def is_refusal(text: str) -> bool:
    """The model's own "the papers don't answer this", by the shared phrase or in other words."""
    plain = re.sub(r"\s+", " ", text).strip()
    if REFUSAL.rstrip(".").lower() in plain.lower():
        return True
    return bool(_REFUSAL_SIGNS.search(plain)) and len(plain) < 300


@lru_cache(maxsize=1)
def _encode() -> Callable[[str], list[int]]:
    """tiktoken's cl100k encoder, loaded from llama-index's bundled cache (no download)."""
    from llama_index.core.utils import get_tokenizer

    return get_tokenizer()


def count_tokens(text: str) -> int:
    """Tokens of `text` in tiktoken's cl100k encoding (offline)."""
    return len(_encode()(text))


def quoted_by(answer: Answer, hits: list[Hit], evidence: list[Evidence]) -> list[Evidence]:
    """The evidence sentences the offline `answer` quotes (verbatim, trimmed of an opener or named)."""
    if answer.refused:
        return []
    return [e for e in evidence if shown_in(e.text, answer.text)]


def relevant(citations, evidence: list[Evidence]) -> bool:
    """Whether an answer with these citations may overrule the offline refusal. The rule: at
    least one quote (the abstract sentence that supports a claim) must match the question,
    SEMANTIC_WEIGHT × its meaning similarity + the rest × its term coverage (the evidence
    scorer's measures of that sentence against the question) ≥ RELEVANT_MIN. Support alone is
    not enough: a sentence copied from a source is supported whatever the question was. A quote
    the scorer did not score (a weak sentence of a low-ranked paper) does not count."""
    match = {(e.hit + 1, e.text): SEMANTIC_WEIGHT * e.semantic + (1 - SEMANTIC_WEIGHT) * e.coverage
             for e in evidence}
    return any(match.get((c.number, c.quote), 0.0) >= RELEVANT_MIN for c in citations)


def pick_evidence(hits: list[Hit], evidence: list[Evidence], budget: int,
                  first: list[Evidence] = ()) -> dict[int, list[Evidence]]:
    """The evidence sentences that go into the prompt, by source, within `budget` tokens (the
    sources' titles count too; the first sentence always goes in).

    In order while they fit: the sentences in `first` (those the offline answerer quotes: it
    finds the ones that name what a question asks for, which often echo the question least), the
    leading paper's best sentence, every other source's best sentence, the rest of the leading
    paper (the answer is usually there), then the best remaining sentences of any source. A
    source nothing of which fits is shown by its title. (Giving every source its best sentence
    whatever the budget, as before, spent it before the offline answer's sentences: on the dev and
    held-out questions 77 of 87 answer facts reached a 400-token prompt, 85 of 87 a 350-token one
    this way; benchmarks/README.md, "LLM prompt".)
    """
    by_paper = group_by_paper(evidence)  # best first
    if not by_paper:
        return {}
    lead = max(by_paper, key=lambda h: paper_support(by_paper[h]))
    order = list(first) + [by_paper[lead][0]] + [ev[0] for ev in by_paper.values()] + by_paper[lead] + evidence
    used = sum(count_tokens(f"[{i}] {h.title}\n") for i, h in enumerate(hits, start=1))
    chosen: dict[int, list[Evidence]] = {}
    for e in order:
        cost = count_tokens(e.text) + 1
        if e in chosen.get(e.hit, []) or (used + cost > budget and chosen):
            continue
        chosen.setdefault(e.hit, []).append(e)
        used += cost
    return chosen


def format_sources(hits: list[Hit], evidence: list[Evidence], budget: int = PROMPT_TOKENS,
                   first: list[Evidence] = ()) -> str:
    """Each source as "[n] title" and its chosen sentences in the abstract's order ("…" for gaps)."""
    chosen = pick_evidence(hits, evidence, budget, first)
    blocks = []
    for h, hit in enumerate(hits):
        picked = sorted(chosen.get(h, []), key=lambda e: e.sentence)
        text = ""
        for i, e in enumerate(picked):
            gap = i > 0 and e.sentence != picked[i - 1].sentence + 1
            text += (" … " if gap else " " if i else "") + e.text
        blocks.append(f"[{h + 1}] {hit.title}\n{text}".rstrip())
    return "\n\n".join(blocks)


def answer_messages(question: str, hits: list[Hit], evidence: list[Evidence], budget: int = PROMPT_TOKENS,
                    first: list[Evidence] = ()) -> list[dict]:
    sources = format_sources(hits, evidence, budget, first)
    return [
        {"role": "system", "content": load("system").format(refusal=REFUSAL)},
        {"role": "user", "content": load("answer").format(sources=sources, question=question, refusal=REFUSAL)},
    ]


def condense_messages(question: str, history) -> list[dict]:
    """The prompt that rewrites a follow-up as a standalone question. `history`: turns or chat
    messages (see `conversation.to_turns`); the last three turns are shown."""
    lines = []
    for turn in to_turns(history)[-3:]:
        lines.append(f"user: {turn.question[:600]}")
        if turn.answer:
            lines.append(f"assistant: {turn.answer[:600]}")
    return [{"role": "user", "content": load("condense").format(history="\n".join(lines), question=question)}]


class GenerativeAnswerer:
    """Stream an LLM's answer from the evidence, check its citations, arbitrate with the offline
    answerer (`offline`, also the fallback for every failure)."""

    def __init__(self, client: ChatClient, scorer: EvidenceScorer, offline: ExtractiveAnswerer | None = None,
                 prompt_tokens: int = PROMPT_TOKENS) -> None:
        self.client = client
        self.scorer = scorer
        self.offline = offline or ExtractiveAnswerer(scorer)
        self.prompt_tokens = prompt_tokens

    @property
    def mode(self) -> str:
        return self.client.model

    def stream(self, question: str, hits: list[Hit], context: str | None = None, focus: int = 0,
               on_status: Callable[[str], None] | None = None) -> Iterator[str | Answer]:
        """Yield the reply's text pieces, then the final Answer (authoritative: it may differ from
        what streamed). Never raises for a failure of the LLM. `context` and `focus` are passed
        to the offline answerer (the standalone question, the papers a follow-up is about);
        `on_status` gets a line every few seconds while the model is silent."""
        started = time.monotonic()
        offline = self.offline.answer(question, hits, context=context, focus=focus)  # fallback and referee
        parts: list[str] = []
        answer, failure = None, None
        try:
            if hits:
                evidence = self.scorer.score(question, hits)
                messages = answer_messages(question, hits, evidence, self.prompt_tokens,
                                           quoted_by(offline, hits, evidence))
                waiting = f"reading {len(hits)} papers with {self.mode}"
                for delta in self.client.stream(messages, max_tokens=MAX_REPLY_TOKENS, on_status=on_status,
                                                waiting=waiting):
                    parts.append(delta)
                    yield delta
                answer = self.finish(question, hits, "".join(parts), offline, evidence, context, focus)
        except LLMError as exc:
            failure = f"{self.mode}: {exc.reason} after {exc.elapsed:.0f} s: showing the offline answer"
        except Exception as exc:  # a bug or a surprise in the reply: the offline answer still stands
            log.exception("the LLM answer failed")
            failure = (f"{self.mode}: unexpected {type(exc).__name__} after {time.monotonic() - started:.0f} s: "
                       "showing the offline answer")
        if answer is None:
            answer = offline
            answer.warnings = ([failure] if failure else []) + answer.warnings
            answer.draft = "".join(parts) or None
        if not parts:
            yield answer.text
        yield answer

    def finish(self, question: str, hits: list[Hit], raw: str, offline: Answer, evidence: list[Evidence],
               context: str | None = None, focus: int = 0) -> Answer:
        """The answer to show for the model's reply `raw`: its checked text, or the offline
        answer (`offline`) when the model declined or wrote no claim to check ("Yes, [1]") but
        the evidence answers, or the reply only restates a question asking a name or a quantity,
        states a figure no cited abstract states, walks through every source in turn, or names what
        it answers only by [n] markers ("The three techniques are [1], [2], and [4]."),
        or the offline refusal when no sentence of the reply is supported
        or, the evidence being weak, one is not, none of its claims gives what was asked (a
        restatement of the topic) or none of its quotes is about the question."""
        if is_refusal(raw):
            answer = offline
            if answer.refused:  # both decline: the model's verdict, naming the closest papers
                answer.mode = self.mode
            else:
                answer.warnings.insert(0, f"{self.mode} declined to answer; showing the offline answer")
            answer.draft = raw
            return answer
        # weak evidence (the offline answerer refuses): every claim must nearly restate a source
        checked = check_citations(raw, hits, self.scorer, STRICT_SUPPORT if offline.refused else CLAIM_SUPPORT_MIN)
        if offline.refused and checked.claims and checked.removed:
            # a near miss: the model wrote something the papers do not say (the languages of a
            # paper that says "several languages"); its supported sentences do not answer either
            answer = offline
            answer.warnings = checked.warnings + [
                f"{self.mode}'s answer says what no paper supports closely enough, and the evidence is weak: "
                "showing the offline refusal"]
        elif (checked.claims and not offline.refused
              and restates_instead([k.claim for k in checked.kept], question, _stated(offline))):
            # "The method built on X guides Y [1]" for "Which method, built on X, guides Y?"
            answer = offline
            lacks = f"without {what_is_asked(question)}" if answer_type(question) in KINDS else "and adds nothing"
            answer.warnings = checked.warnings + [
                f"{self.mode}'s answer restates the question {lacks}: showing the offline answer"]
        elif checked.claims and not offline.refused and (invented := self.unsourced(checked, hits, question)):
            # a figure no cited abstract states: the one thing a reader must be able to trust
            answer = offline
            answer.warnings = checked.warnings + [
                f"{self.mode}'s answer states {', '.join(sorted(invented))}, which its sources do not: "
                "showing the offline answer"]
        elif checked.claims and not offline.refused and lists_every_source(raw, len(hits)) \
                and not asks_for_several(question):
            # "[1] This paper … [2] In this work … [3] …": a walk through the sources, not a choice
            answer = offline
            answer.warnings = checked.warnings + [
                f"{self.mode} went through every source in turn instead of answering: showing the offline answer"]
        elif checked.claims and (not offline.refused or (relevant(checked.citations, evidence)
                                                         and self.gives_asked(question, hits, checked))):
            answer = Answer(question, checked.text, checked.citations, hits, refused=False, mode=self.mode,
                            warnings=checked.warnings)
            if not offline.refused and asks_for_several(question):
                answer = self.list_with(offline, answer)
            elif not offline.refused:
                self.complete(context or question, hits, checked, answer, focus)
                self.add_finding(question, hits, checked, answer)
        elif checked.claims and not relevant(checked.citations, evidence):
            # supported, but copied from a source that does not answer the question
            answer = offline
            answer.warnings = checked.warnings + [
                f"{self.mode}'s answer quotes the papers but not on what was asked: showing the offline refusal"]
        elif checked.claims:
            # a restatement of the topic ("UniBridge was evaluated across multilingual datasets" for
            # "how many and which languages …?"): close to its source, but not an answer
            answer = offline
            answer.warnings = checked.warnings + [
                f"{self.mode}'s answer does not state what was asked ({what_is_asked(question)}), and the evidence "
                "is weak: showing the offline refusal"]
        elif not checked.removed:  # nothing was checked, so nothing contradicts the offline answer
            answer = offline
            shown = "refusal" if offline.refused else "answer"
            answer.warnings.insert(0, f"{self.mode}'s answer had no claim to check: showing the offline {shown}")
        elif not offline.refused and cites_in_place(raw):  # "The three techniques are [1], [2], and [4]."
            answer = offline
            answer.warnings = checked.warnings + [
                f"{self.mode}'s answer cites sources in place of saying what they say: showing the offline answer"]
        else:
            answer = offline if offline.refused else self.offline.refusal(question, hits, evidence)
            answer.warnings = checked.warnings + [
                f"no sentence of {self.mode}'s answer is supported by the papers: showing the offline refusal"]
        answer.draft = raw
        return answer

    def list_with(self, offline: Answer, model: Answer) -> Answer:
        """A "which papers …" answer: every paper the offline answerer lists, each with the sentence
        that shows it fits. A 1.5B model names two of three ("[1] and [3] look at …") and says
        nothing of why; a paper it names that the listing leaves out is named in a warning, not
        listed: in the recorded dev and held-out runs no such paper was one the question asked for
        (replayed held-out citation precision 0.935 with them, 0.956 without; recall the same)."""
        listed = {c.number for c in offline.citations}
        named = len({c.number for c in model.citations})
        warnings = model.warnings + [f"{self.mode} named {named} paper(s): listing every paper whose abstract "
                                     "fits, each with the sentence that shows it"]
        left = list({c.number: c for c in model.citations if c.number not in listed}.values())
        if left:
            titles = ", ".join(f"[{c.number}] “{c.title}”" for c in left)
            warnings.append(f"{self.mode} also named {titles}, whose abstract fits the question less well "
                            "than the listed papers': not listed")
        return Answer(offline.question, offline.text, offline.citations, offline.papers, refused=False,
                      mode=offline.mode, warnings=warnings)

    @staticmethod
    def unsourced(checked: Checked, hits: list[Hit], question: str) -> set[str]:
        """The numbers kept claims state that the papers they cite do not (`asked.unsourced_numbers`)."""
        invented: set[str] = set()
        for k in checked.kept:
            cited = [f"{hits[n - 1].title} {hits[n - 1].abstract}" for n in k.sources if 0 < n <= len(hits)]
            invented |= unsourced_numbers(k.claim, cited, question)
        return invented

    def complete(self, question: str, hits: list[Hit], checked: Checked, answer: Answer, focus: int = 0) -> None:
        """Add to `answer` what it leaves out of a question in several parts: for each part asking
        a name or a quantity that no kept claim states, the sentence of the model's main source
        that states it (the offline answerer's choice for that part), cited, with a warning.

        The q030 case: "how far were context limits pushed …, and which two extended models were
        released?" answered "… to 32k [1]" alone; [1] says "we release E5-Base-4k and E5-RoPE-Base".
        A follow-up passes its standalone form as `question` and its first `focus` hits are the
        papers it is about: only their sentences are added."""
        parts = facets(question)
        main = next((k for k in checked.kept if k.sources), None)
        if len(parts) < 2 or main is None:
            return
        n = next(iter(main.sources))  # cited by the kept claims, so its citation is in the answer
        if focus and n > focus:  # a follow-up is answered from the papers it is about, not another
            return
        said = [k.claim for k in checked.kept]
        for part in parts:
            if answer_type(part) not in KINDS or self.states_part(said, part):
                continue
            found = self.offline.answer_to_part(part, question, hits[n - 1])
            given = None if found is None else gives_part(found.text, part, question, hits[n - 1])
            if given is None or already_given(given, " ".join(said)) or shown_in(found.text, " ".join(said)):
                continue  # its source does not state it either, or the answer says it in other words
            sentence = found.text.strip()
            answer.text = f"{answer.text} {with_markers(sentence, [n], stop='.')}"
            said.append(sentence)
            answer.warnings.append(f"{self.mode}'s answer left out {what_is_asked(part)} for \"{part}\": "
                                   f"added the sentence of [{n}] that states it")

    def add_finding(self, question: str, hits: list[Hit], checked: Checked, answer: Answer) -> None:
        """Search-box keywords: when no kept claim reports a result, add the sentence of the main
        source that does (the finding the offline gist quotes), cited, with a warning. The 1.5B
        model summarises what a paper is about and leaves out what it found (dev q164: the team's
        model and task, not "We ranked 2nd out of 48 teams"; held-out h046: the layers deleted and
        swapped, not the 72-95% of accuracy kept)."""
        main = next((k for k in checked.kept if k.sources), None)
        said = [k.claim for k in checked.kept]
        if not is_topic_query(question) or main is None or any(finding_strength(c) >= OUTCOME for c in said):
            return
        n = next(iter(main.sources))
        found = self.offline.finding(question, hits[n - 1], " ".join(said))
        if found is None or shown_in(found, answer.text):
            return
        answer.text = f"{answer.text} {with_markers(found.strip(), [n], stop='.')}"
        answer.warnings.append(f"{self.mode}'s answer left out what [{n}] found: added the sentence that says it")

    def states_part(self, claims: list[str], part: str) -> bool:
        """Some claim states the kind `part` asks for and shares one of its terms: in "How many
        parameters …, and how long a document …?" the parameter count does not answer the length."""
        asked = set(self.scorer.terms(part))
        return any(states_asked(claim, part) and asked & terms for claim, terms in zip(claims, term_sets(claims)))

    def gives_asked(self, question: str, hits: list[Hit], checked: Checked) -> bool:
        """Whether some kept claim, with a source sentence supporting it, gives what `question`
        asks for (`asked.answers_asked`: its kind of answer, its specific terms)."""
        specific = specific_terms(self.scorer, question)
        return any(answers_asked(k.claim, source, question, specific, hits[n - 1])
                   for k in checked.kept for n, source in k.sources.items())
