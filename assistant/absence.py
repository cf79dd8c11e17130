"""Papers that do without something: "which papers … when no positional encodings are used?".

A paper on the same topic that uses the thing reads just as close as one that does without it, so
a "which papers … without X?" answer lists only papers whose title or abstract says they do
without X ("without positional encodings", "encoder-free", "devoid of …"). Pure text rules.
"""

from __future__ import annotations

import re

from .questions import stem as _stem


# --- "which papers … without X?": a listed paper must itself say it does without X
ABSENCE_WINDOW = 4  # words after "without"/"no"/"devoid of" in which a paper names what it does without
# Measured (`askpapers eval … --answers`, sample pages): citation precision dev 0.913 → 0.933, held-out
# 0.917 → 0.978 (its encoder-free question is refused: none of the 5 papers shown says so; answerable
# refused 0.025 → 0.050); every window from 1 to 8 gives the same lists on both sets (0: only "X-free"
# counts, and the dev question loses both its papers).
_ABSENT_ASKED = re.compile(r"\b(?:without|w/o|no)\s+([^,;:?!.()]+)", re.I)
# "… that drop the pretrained visual encoder": asked by what the papers do, which is also what some
# papers on the topic do as their method ("we remove duplicates"): a hint, not a requirement
_REMOVED_ASKED = re.compile(r"\b(?:drop(?:s|ping)?|remov(?:e|es|ing)|eliminat(?:e|es|ing)|discard(?:s|ing)?|"
                            r"dispens(?:e|es|ing)\s+with|do(?:es)?\s+away\s+with|get(?:s|ting)?\s+rid\s+of|"
                            r"forgo(?:es|ing)?|ditch(?:es|ing)?)\s+([^,;:?!.()]+)", re.I)
_PHRASE_SKIP = {"a", "an", "the", "any", "its", "their", "his", "her", "explicit", "additional", "extra"}
# where the named thing ends: a verb or a clause word follows it ("no positional encodings are used")
_PHRASE_END = {
    "are", "is", "was", "were", "be", "been", "that", "which", "who", "to", "for", "by", "in", "on", "of", "with",
    "and", "or", "at", "as", "from", "than", "so", "but", "while", "when", "where", "can", "could", "will", "would",
    "should", "may", "might", "has", "have", "had", "do", "does", "did", "all",
}
# "no longer", "without losing …": not a thing done without
_NOT_A_THING = {"longer", "more", "less", "further", "need", "matter", "one", "other", "doubt", "way", "much", "many"}
_WORD = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*|[^\sa-z0-9]")
_ABSENCE_MARKS = {"without", "no", "devoid", "absence"}


def done_without(question: str, removed: bool = False) -> set[str]:
    """The stemmed words of the thing a question asks papers to do without: "… that do without a
    pretrained vision encoder" → {pretrain, vision, encod}; "when no positional encodings are
    used" → {posit, encod}. Empty when it asks for none, or when what is left out is an action
    ("without changing its weights", "without losing accuracy"): papers word an action left out
    in many ways ("frozen", "no fine-tuning"), a component they name. With `removed`, what the
    question asks papers to drop or remove ("… that drop the visual encoder entirely") instead."""
    found: set[str] = set()
    for m in (_REMOVED_ASKED if removed else _ABSENT_ASKED).finditer(question):
        words = [w for w in m.group(1).lower().split() if w not in _PHRASE_SKIP]
        if not words or words[0] in _NOT_A_THING or words[0].endswith("ing"):
            continue
        phrase = []
        for w in words:
            if w in _PHRASE_END or len(phrase) == 3:
                break
            phrase.append(w)
        found |= {_stem(part) for w in phrase for part in w.split("-") if len(part) > 2}
    return found


def states_absence(text: str, without: set[str]) -> bool:
    """`text` says it does without one of `without` (stems from `done_without`): "without using
    positional encodings", "devoid of positional embeddings", "no positional encodings",
    "encoder-free", within ABSENCE_WINDOW words of the negation."""
    if not without:
        return False
    words = _WORD.findall(text.lower().replace("w/o", "without"))
    for i, w in enumerate(words):
        if w.endswith("-free") and any(_stem(p) in without for p in w[:-5].split("-")):
            return True
        if w in _ABSENCE_MARKS or (w == "free" and i + 1 < len(words) and words[i + 1] == "of"):
            for after in words[i + 1:i + 1 + ABSENCE_WINDOW]:
                if not after[0].isalnum():
                    break
                if any(_stem(p) in without for p in after.split("-")):
                    return True
    return False
