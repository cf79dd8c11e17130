"""A conversation as typed turns.

A `Turn` is what one exchange leaves behind: the question, the standalone question it was
searched as, the answer text, the ids (and titles) of the papers the answer cited, and whether
it refused. The page and the terminal chat keep `Turn`s; `ask`/`stream` take them as history.
A plain client that sends only role/content messages still works: its messages become turns
with no cited papers, and nothing is parsed back out of rendered answer text.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterable

Message = dict  # {"role": "user" | "assistant", "content": str | list of parts}


@dataclass
class Turn:
    """One exchange of a conversation, as the answerer left it."""

    question: str
    answer: str = ""
    cited: list[str] = field(default_factory=list)  # paper ids the answer cited, in order of [n]
    cited_titles: list[str] = field(default_factory=list)  # their titles (same order)
    standalone: str | None = None  # the question as it was searched, when it was rewritten
    refused: bool = False

    @classmethod
    def from_answer(cls, answer: Any) -> "Turn":
        """The turn an `Answer` ends (its cited papers in [n] order)."""
        numbers = sorted({c.number for c in answer.citations})
        papers = [answer.papers[n - 1] for n in numbers if 0 < n <= len(answer.papers)]
        return cls(question=answer.question, answer=answer.text, cited=[p.paper_id for p in papers],
                   cited_titles=[p.title for p in papers], standalone=answer.standalone_question,
                   refused=answer.refused)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Turn":
        known = {k: data[k] for k in ("question", "answer", "cited", "cited_titles", "standalone", "refused")
                 if k in data}
        return cls(**known)

    @property
    def searched(self) -> str:
        """What this turn was about, as a search query."""
        return self.standalone or self.question


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


def to_turns(history: Iterable[Turn | dict] | None) -> list[Turn]:
    """History in any accepted form → turns, oldest first.

    Accepted items: `Turn`s, turn dicts (with a "question" key, e.g. `Turn.to_dict()`), and
    role/content chat messages, where each user message opens a turn and the assistant
    message after it is that turn's answer (text only: a plain client cites no ids).
    """
    turns: list[Turn] = []
    open_question = False  # the last turn is waiting for its answer message
    for item in history or []:
        if isinstance(item, Turn):
            turns.append(item)
            open_question = False
        elif isinstance(item, dict) and "question" in item and "role" not in item:
            turns.append(Turn.from_dict(item))
            open_question = False
        elif isinstance(item, dict):
            role, text = item.get("role"), message_text(item)
            if role == "user":
                turns.append(Turn(question=text))
                open_question = True
            elif role == "assistant" and turns and open_question:
                turns[-1].answer = text
                open_question = False
    return turns
