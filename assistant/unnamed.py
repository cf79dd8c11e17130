"""Names a question gives that a paper never states: a near miss the words around them hide.

"What mIoU does SLAB reach on ADE20K?" over the SLAB paper, which reports ImageNet accuracy;
"How does TokenAdapt compare with ZeTT?" over a paper that names only one of them; "What BLEU
does SixT+ get on German-to-English?" over a many-to-English paper. The paper is the right topic
and reads close; what it lacks is a *name* the question sets as a condition (a benchmark, a
metric, a compared method, a language), and an answer from it answers another question.

A name is what `questions.names` finds (acronyms, mixed case, letters with digits), plus the
capitalised pieces of a hyphenated one ("German-to-English"). It is stated when the paper holds
it in any spelling: case, hyphens and spaces aside ("BiLSTM" / "Bi-LSTM", "Llama2" / "Llama 2"),
a plural's "s" aside ("ViTs"), or shortened ("K400" for "Kinetics-400", `said_otherwise`). The
lower-case words of a hyphenated name only describe ("2k-context", "BERT-style", "LLM-distilled"):
only its name-like pieces must be stated.
"""

from __future__ import annotations

import re

from .answerability import said_otherwise
from .questions import names

_PIECES = re.compile(r"[-/]")
_NAME = r"[A-Za-z0-9][\w\-.+/@]*[\w+]"
# where a name sets a condition of the answer: what a result is asked on or compared with ("on
# ADE20K", "than Phi-1.5", "compared with ZeTT", "a decoder-only model such as Llama-2-7B"), the
# metric asked ("what mIoU", "how many BLEU points"), whose thing it is ("TokenAdapt's initialization")
_CONDITION = re.compile(
    rf"\b(?:on|than|versus|vs\.?|against|over|such\s+as|(?:compared?|relative)\s+(?:with|to))\s+(?:the\s+)?(?P<on>{_NAME})|"
    rf"\b(?:what|which|how\s+many|how\s+much)\s+(?P<metric>{_NAME})|"
    rf"(?P<owner>{_NAME})'s\b", re.I)
_SQUASH = re.compile(r"[^a-z0-9@+]")
_NOT_NAMES = {"the", "a", "an", "this", "that", "these", "those", "it", "its", "their", "our", "average"}


def _squash(text: str) -> str:
    return _SQUASH.sub("", text.lower())


def _name_like(piece: str) -> bool:
    """A piece of a hyphenated name that names something: a capital or a digit in it ("German",
    "2k", "BERT"), not a lower-case describing word ("style", "based", "context")."""
    return any(c.isupper() or c.isdigit() for c in piece)


def _stated(piece: str, squashed: str) -> bool:
    s = _squash(piece)
    if not s or s in squashed:
        return True
    return len(s) > 3 and s.endswith("s") and s[:-1] in squashed  # "ViTs", "GPUs" for "ViT", "GPU"


def _conditions(question: str):
    """(role, name, the pieces of it a text must state) for each name `question` sets as a condition."""
    named = set(names(question))
    for m in _CONDITION.finditer(question):
        role = next(r for r in ("on", "metric", "owner") if m.group(r))
        name = m.group(role)
        if name.lower() not in named and not (role == "on" and name[0].isupper() and name.lower() not in _NOT_NAMES):
            continue  # a common word; "than Medusa", "on Dutch": a capitalised word compared with or asked on is a name
        pieces = [p for p in _PIECES.split(name) if p]
        # a metric is named whole ("GPU-hours"); elsewhere a hyphenated name's describing words may go
        yield role, name, [name] if role == "metric" or len(pieces) == 1 else [p for p in pieces if _name_like(p)]


def unnamed(question: str, text: str) -> set[str]:
    """The names `question` sets as conditions (see the module docstring) that `text` (a paper's
    title and abstract) never states in any spelling; lower-cased."""
    conditions = list(_conditions(question))
    if not conditions:
        return set()
    squashed = _squash(text.replace("\\", ""))
    shortened = said_otherwise(question, text)
    return {name.lower() for _role, name, wanted in conditions
            if not all(_stated(p, squashed) for p in wanted) and not _stem_said(name, shortened)}


def _stem_said(name: str, shortened: set[str]) -> bool:
    """`said_otherwise` found the name in another form (it answers in index stems: "kinetics-400"
    is stemmed to "kinetics" and "400")."""
    return any(len(s) >= 3 and s in _squash(name) for s in shortened)
