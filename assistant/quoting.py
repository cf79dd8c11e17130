"""How an abstract sentence is shown inside an offline answer: verbatim, with three visible edits.

* a dangling opener is cut ("Additionally, our model …" → "…our model …"): the ellipsis marks it;
* LaTeX's escaped signs read as the signs ("reduces errors by 21\\%" → "21%", "11.9times" → "11.9×");
* where the paper speaks of its own work without naming it ("our model", "the proposed method",
  "this paper"), its name is added in square brackets, the usual mark of words a quoting writer
  adds: "…our model [LLMLingua-2] is 3x-6x faster …". Every word of the abstract stays.

`shown_in` tells whether an answer text shows a sentence (so the CLI does not print it again
under the answer, and the LLM prompt knows which sentences the offline answer quotes).
"""

from __future__ import annotations

import re

# openers that tie a sentence to the one before it in the abstract; quoted alone they dangle
_DANGLING = re.compile(
    r"^(additionally|moreover|furthermore|however|nevertheless|nonetheless|in addition|besides|also|further|"
    r"finally|lastly|then|thus|hence|therefore|consequently|as a result|in particular|specifically|to this end|"
    r"for this purpose|in contrast|on the other hand|by contrast|meanwhile|importantly|notably|interestingly|"
    r"surprisingly|overall|in summary|in conclusion|to summarize|first|second|third|firstly|secondly|"
    r"for example|for instance|similarly|likewise|in this work|in this paper|in this study|to address this|"
    r"to this end|building on this|based on this)\s*,\s+",
    re.I,
)
_LATEX_ESCAPE = re.compile(r"\\([%&_#$])")  # arXiv abstracts keep LaTeX's "85\%", "R\&D"
# and its math signs, with or without the backslash the scrape lost: "11.9\times", "11.9times", "11.0 pm 1.3"
_LATEX_SIGNS = [(re.compile(r"(?<=\d)(?:\s?\\times|times)\b"), "×"), (re.compile(r"(?<=\d) \\?pm (?=\d)"), " ± ")]
MIN_KEPT_CHARS = 20  # an opener is cut only when more than this much of the sentence is left
# the paper speaking of its own work: "our model", "the proposed framework", "this paper"
# ("this model" may be another paper's model, named in the sentence before: not counted)
_SELF_REFERENCE = re.compile(
    r"\b(?:(?:our|the\s+proposed)\s+(?:proposed\s+|new\s+|novel\s+)?(?:model|method|approach|framework|system|"
    r"architecture|algorithm|technique|pipeline|network|agent|tool|toolkit|library|dataset|benchmark|attack|"
    r"solution|scheme|strategy|module|mechanism)s?|this\s+(?:paper|work|study|article))\b",
    re.I,
)
# a name added by `named`: " [LLMLingua-2]" (never a citation number)
_ADDED_NAME = re.compile(r" \[(?!\d+(?:\s*,\s*\d+)*\])[^\[\]\n]+\]")
TAIL_CHARS = 60  # `shown_in` compares this much of a sentence's end


def trimmed(sentence: str) -> str:
    """A quote without its dangling opener ("Additionally, our model …" → "…our model …") and
    with LaTeX's escaped signs shown as the signs ("85\\%" → "85%", "11.0 pm 1.3" → "11.0 ± 1.3", as the
    paper's PDF reads).
    The rest stays verbatim; the ellipsis marks the cut. `Citation.quote` keeps the whole sentence."""
    sentence = _LATEX_ESCAPE.sub(r"\1", sentence)
    for sign, shown in _LATEX_SIGNS:
        sentence = sign.sub(shown, sentence)
    m = _DANGLING.match(sentence)
    return "…" + sentence[m.end():] if m and len(sentence) - m.end() > MIN_KEPT_CHARS else sentence


def named(quote: str, name: str | None) -> str:
    """`quote` with the paper's `name` in brackets after the first phrase in which the paper speaks
    of its own work ("our model [LLMLingua-2] is …"). Unchanged without a name, when the quote
    already says the name, or when it does not speak of the paper's work."""
    if not name or name.lower() in quote.lower():
        return quote
    m = _SELF_REFERENCE.search(quote)
    return quote if m is None else f"{quote[:m.end()]} [{name}]{quote[m.end():]}"


def quoted(sentences: list[str], name: str | None) -> list[str]:
    """The sentences of one paper as an answer quotes them, in order: trimmed, and the paper named
    at its first unexplained "our model" (once: after that, the reader knows what "our" is)."""
    out: list[str] = []
    for sentence in sentences:
        quote = trimmed(sentence)
        if name and not any(name.lower() in q.lower() for q in out):
            quote = named(quote, name)
        out.append(quote)
    return out


def shown_in(sentence: str, text: str) -> bool:
    """Does `text` show `sentence`, verbatim or as `quoted` renders it (trimmed, named)?"""
    tail = sentence[-TAIL_CHARS:]
    if tail in text or trimmed(sentence) in text:
        return True
    plain = _ADDED_NAME.sub("", text)
    return tail in plain or trimmed(sentence) in plain
