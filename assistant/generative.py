"""Answers written by an LLM from the retrieved abstracts, then checked (see citations.py)."""

from __future__ import annotations

import re
from typing import Iterator

from prompts import load

from .answers import REFUSAL, Answer
from .citations import check_citations
from .conversation import message_text
from .evidence import EvidenceScorer
from .llm import ChatClient
from .retrieval import Hit

MAX_ABSTRACT_CHARS = 2500  # per source in the prompt
_REFUSAL_SIGNS = re.compile(
    r"do(es)? not (answer|address|mention|say|contain|provide)|cannot (answer|be answered)|"
    r"(no|not enough) information|not (stated|mentioned|specified|answered) in|"
    r"none of the (abstracts|papers|sources)",
    re.I,
)


def is_refusal(text: str) -> bool:
    """The model's own "the papers don't answer this", by the shared phrase or in other words."""
    plain = re.sub(r"\s+", " ", text).strip()
    if REFUSAL.rstrip(".").lower() in plain.lower():
        return True
    return bool(_REFUSAL_SIGNS.search(plain)) and len(plain) < 300


def format_sources(hits: list[Hit]) -> str:
    return "\n\n".join(f"[{i}] {h.title}\n{h.abstract[:MAX_ABSTRACT_CHARS]}" for i, h in enumerate(hits, start=1))


def answer_messages(question: str, hits: list[Hit]) -> list[dict]:
    return [
        {"role": "system", "content": load("system").format(refusal=REFUSAL)},
        {"role": "user", "content": load("answer").format(sources=format_sources(hits), question=question,
                                                          refusal=REFUSAL)},
    ]


def condense_messages(question: str, history: list[dict]) -> list[dict]:
    turns = "\n".join(f"{m.get('role', 'user')}: {message_text(m)[:600]}" for m in history[-6:])
    return [{"role": "user", "content": load("condense").format(history=turns, question=question)}]


class GenerativeAnswerer:
    """Stream an LLM's answer, then verify its citations against the abstracts."""

    def __init__(self, client: ChatClient, scorer: EvidenceScorer) -> None:
        self.client = client
        self.scorer = scorer
        self.mode = client.model

    def stream(self, question: str, hits: list[Hit]) -> Iterator[str | Answer]:
        """Yield text deltas, then the checked Answer. Raises LLMError when the LLM fails."""
        parts: list[str] = []
        for delta in self.client.stream(answer_messages(question, hits)):
            parts.append(delta)
            yield delta
        yield self.finish(question, hits, "".join(parts))

    def finish(self, question: str, hits: list[Hit], raw: str) -> Answer:
        if is_refusal(raw):
            names = " and ".join(f'"{h.title}" [{i}]' for i, h in enumerate(hits[:2], start=1))
            text = REFUSAL + (f" The closest papers are {names}." if names else "")
            return Answer(question, text, [], hits, refused=True, mode=self.mode)
        checked = check_citations(raw, hits, self.scorer)
        if not checked.text or not checked.citations:
            return Answer(question, "", [], hits, refused=False, mode=self.mode,
                          warnings=checked.warnings + ["the LLM's answer had no supported, cited sentence"])
        return Answer(question, checked.text, checked.citations, hits, refused=False, mode=self.mode,
                      warnings=checked.warnings)
