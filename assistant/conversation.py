"""Follow-up questions → standalone questions, before retrieval.

Offline (no LLM): a question that leans on the conversation ("what dataset did *they* use?",
or a short one such as "how long does the whole procedure take?") carries forward the previous
question's content words and the titles of the papers the last answer cited, so retrieval lands
on the same papers; those papers are also the answer's first sources (`focus_titles`). A
self-contained question is left alone.
With an LLM, `prompts/condense.txt` rewrites it instead (see `answering`).
"""

from __future__ import annotations

import re

from .answers import REFUSAL
from .questions import names

Message = dict  # {"role": "user" | "assistant", "content": str | list of parts}

# words that point back into the conversation
_REFERRING = re.compile(
    r"\b(they|them|their|theirs|it|its|this|that|these|those|such|the (paper|papers|method|model|approach|"
    r"authors|work|study|system|framework|technique|benchmark|dataset)|same|above|previous|earlier|former|latter)\b",
    re.I,
)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9\-\.]*[A-Za-z0-9]|[A-Za-z]")
_STOP = frozenset(
    """a an the and or of in on for to with by from at as is are was were be been being do does did
    what which who whom whose when where why how that this these those it its they them their there
    than then so such can could would should may might will shall not no nor into onto about over under
    paper papers work method model approach study use used using uses also more most much many some any
    each per very just only both between while after before during""".split()
)
MAX_CARRIED_WORDS = 24
SHORT_QUESTION_WORDS = 6  # a question this short, naming nothing new, continues the conversation


def message_text(message: Message) -> str:
    """Text of a chat message whose content is a string or a list of parts (Gradio 6)."""
    content = message.get("content", "")
    if isinstance(content, str):
        return content
    parts = []
    for part in content or []:
        if isinstance(part, dict):
            parts.append(str(part.get("text", "")))
        elif isinstance(part, str):
            parts.append(part)
    return " ".join(parts)


def needs_context(question: str, history: list[Message] | None = None) -> bool:
    """Does `question` lean on the conversation? It refers back ("they", "this method"), or it is
    short and names nothing the conversation has not (so it is about the same papers)."""
    if _REFERRING.search(question):
        return True
    if not history or len(content_words(question)) > SHORT_QUESTION_WORDS:
        return False
    said = " ".join(message_text(m) for m in history).lower()
    return all(n in said for n in names(question))


def content_words(text: str) -> list[str]:
    seen, words = set(), []
    for w in _WORD.findall(text):
        lw = w.lower()
        if lw in _STOP or len(lw) < 3 and not w.isupper() or lw in seen:
            continue
        seen.add(lw)
        words.append(w)
    return words


_SOURCE_LINE = re.compile(r"^\s*\[(\d+)\]\s+(.+?)(?:\s+—\s+\S+)?(?:\s+\(not cited\))?\s*$", re.M)
_TITLE_IN_TEXT = re.compile(r'"([^"]{8,300})"\s*\[(\d+)\]')


def cited_titles(answer_text: str) -> list[str]:
    """Titles of the papers an answer cites: from its source list ("[n] Title") where [n] is
    used in the body, else from quoted titles followed by [n] in the body."""
    body = _SOURCE_LINE.sub("", answer_text)
    used = set(re.findall(r"\[(\d+)\]", body))
    titles = [t for n, t in _SOURCE_LINE.findall(answer_text) if n in used]
    titles += [t for t, n in _TITLE_IN_TEXT.findall(body) if t not in titles]
    return titles


def focus_titles(history: list[Message] | None) -> list[str]:
    """Titles of the papers the last answer cited (none after a refusal): what a follow-up is about."""
    last_answer = next((message_text(m) for m in reversed(history or []) if m.get("role") == "assistant"), "")
    if not last_answer or last_answer.lstrip().startswith(REFUSAL):
        return []
    return cited_titles(last_answer)


def condense_offline(question: str, history: list[Message] | None) -> str:
    """A standalone version of `question` for retrieval, built deterministically from `history`."""
    if not history or not needs_context(question, history):
        return question
    last_user = next((message_text(m) for m in reversed(history) if m.get("role") == "user"), "")
    carried = content_words(last_user)
    # titles the last answer cited are the strongest hint of what "they" are
    last_answer = next((message_text(m) for m in reversed(history) if m.get("role") == "assistant"), "")
    cited = cited_titles(last_answer)
    mine = {w.lower() for w in content_words(question)}
    extra = [w for w in carried if w.lower() not in mine][:MAX_CARRIED_WORDS]
    parts = [question]
    if cited:
        parts.append("; ".join(cited[:2]))
    if extra:
        parts.append(" ".join(extra))
    return " — ".join(parts)
