"""Sentence splitting for abstracts: abbreviations, decimals, "et al.", initials survive."""

from __future__ import annotations

import re

_ABBREV = {
    "e.g", "i.e", "et al", "etc", "vs", "cf", "fig", "figs", "eq", "eqs", "sec", "no", "approx", "resp",
    "al", "dr", "mr", "ms", "prof", "inc", "ltd", "jr", "sr", "st", "vol", "pp", "ca", "viz", "ref", "refs",
}
_BOUNDARY = re.compile(r"([.!?])([\"'”’)\]]*)\s+(?=[\"'“‘(\[]?[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Split an abstract into sentences (whitespace already collapsed)."""
    text = text.strip()
    if not text:
        return []
    sentences, start = [], 0
    for m in _BOUNDARY.finditer(text):
        end = m.end(2)
        before = text[start : m.start(1)]
        last_word = before.rsplit(" ", 1)[-1].lower().rstrip(".")
        if m.group(1) == ".":
            if last_word in _ABBREV or last_word.endswith(("e.g", "i.e")):
                continue
            if len(last_word) == 1 and last_word.isalpha():  # an initial: "J. Smith"
                continue
        piece = text[start:end].strip()
        if piece:
            sentences.append(piece)
        start = m.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences
