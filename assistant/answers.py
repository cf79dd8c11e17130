"""What `ask()` returns, and the phrases shared by the prompts and the code that checks answers."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable, Iterator, Protocol, runtime_checkable

from .retrieval import Hit

# One refusal phrase, used in prompts/answer.txt (as {refusal}) and to recognise an LLM's refusal.
REFUSAL = "The indexed papers do not answer this question."
EXTRACTIVE_MODE = "extractive"


@dataclass
class Citation:
    """[number] in the answer text → the paper and the abstract sentence that supports it."""

    number: int
    paper_id: str
    title: str
    url: str | None
    quote: str  # the sentence of the abstract that best supports the cited claim
    score: float  # support of the claim by `quote` (0..1)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Answer:
    """A grounded answer. `papers[i]` is source [i + 1]; every [n] in `text` is in `citations`."""

    question: str
    text: str
    citations: list[Citation] = field(default_factory=list)
    papers: list[Hit] = field(default_factory=list)
    refused: bool = False
    mode: str = EXTRACTIVE_MODE
    warnings: list[str] = field(default_factory=list)
    standalone_question: str | None = None  # the follow-up rewritten for retrieval, when it was
    seconds: float = 0.0
    draft: str | None = None  # the LLM's raw reply, before checking (None in offline mode)

    def to_dict(self) -> dict:
        return {
            "question": self.question,
            "text": self.text,
            "citations": [c.to_dict() for c in self.citations],
            "papers": [dict(h.to_dict(), number=i) for i, h in enumerate(self.papers, start=1)],
            "refused": self.refused,
            "mode": self.mode,
            "warnings": list(self.warnings),
            "standalone_question": self.standalone_question,
            "seconds": round(self.seconds, 3),
            "draft": self.draft,
        }

    def sources_text(self) -> str:
        """The numbered source list, as shown under an answer in the terminal."""
        lines = []
        for i, h in enumerate(self.papers, start=1):
            cited = any(c.number == i for c in self.citations)
            lines.append(f"[{i}] {h.title}" + (f" — {h.url}" if h.url else "") + ("" if cited else " (not cited)"))
        return "\n".join(lines)


@runtime_checkable
class Answerer(Protocol):
    """The answer seam: text pieces as they are written, then the final, authoritative `Answer`.

    `hits` are the sources (`papers[n-1]` is [n]); `context` is a follow-up's standalone form,
    `focus` how many leading hits the conversation is about; `on_status` gets a line now and
    then while nothing can be shown yet (a slow model reading its prompt). `Assistant` picks
    the offline `ExtractiveAnswerer` or the LLM's `GenerativeAnswerer`; another one is passed
    as `Assistant(answerer=...)`:

        class EchoAnswerer:
            mode = "echo"
            def stream(self, question, hits, context=None, focus=0, on_status=None):
                text = f"{hits[0].title} [1]" if hits else REFUSAL
                yield text
                yield Answer(question, text, papers=hits, refused=not hits, mode=self.mode)
    """

    mode: str

    def stream(self, question: str, hits: list[Hit], context: str | None = None, focus: int = 0,
               on_status: Callable[[str], None] | None = None) -> Iterator[str | Answer]: ...

