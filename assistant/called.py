"""Which paper a question calls by name: "What score did NV-Embed reach …?" (a name its title carries),
"What CIFAR-10 accuracy does Convolution Aware Initialization get?" (its title, written as the title
does). That paper is what the question asks about: search shows it first (`api`), and the offline
answer comes from it or is a refusal (`extractive`). A name that is a rival or a setting ("faster
than FlashAttention", "on GLUE") calls no paper.
"""

from __future__ import annotations

import re

from .questions import asks_for_several, asks_which_paper, names, short_name
from .sentences import split_sentences


def names_title(question: str, title: str) -> bool:
    """The question calls a paper by a name its title carries ("What score did NV-Embed reach …?"
    and "NV-Embed: Improved Techniques …"), or by its title ("What CIFAR-10 accuracy does
    Convolution Aware Initialization get?"): that paper is what it asks about."""
    return bool(set(names(question)) & set(names(title))) or writes_title(question, title)


def writes_title(question: str, title: str) -> bool:
    """The question writes the paper's title (before any colon), of at least two words, as the title
    does, capitals and all: "Convolution Aware Initialization", "Go Wider Instead of Deeper"."""
    head = title.split(":")[0].strip()
    if len(head.split()) < 2 or not any(c.isupper() for c in head):
        return False
    m = re.search(rf"(?<![\w-]){re.escape(head)}(?![\w-])", question)
    if m is None:
        return False
    before, after = question[:m.start()].split()[-1:], question[m.end():].split()[:1]
    # not part of a longer name ("Effective Structured Prompting" holds "Structured Prompting"), nor a
    # rival or setting ("faster than Pointer Networks")
    return not (before and (before[0][:1].isupper() and m.start() > len(before[0]) + 1
                            or before[0].lower() in _SETTING_WORDS)) and not (after and after[0][:1].isupper())


_SETTING_WORDS = frozenset("on in than over against versus vs vs. with from".split())
_SETTING_NAME = re.compile(r"\b(?:on|in|than|over|against|versus|vs\.?|with|from)\s+(?:the\s+)?\S+", re.I)


_DIMENSION = re.compile(r"\d+[A-Za-z]{0,2}")  # "3D", "7B", "4K": what a title is about, not its name


def named_paper(question: str, hits: list) -> int | None:
    """The hit the question calls by its own name ("The small ELECTRA model that beat GPT on GLUE —
    how long was it trained?" and "ELECTRA: Pre-training Text Encoders …"), when exactly one hit's
    `short_name` is a name the question uses; None for questions that identify a paper or list
    several (a name there is what the answer relates to, not the answer)."""
    if asks_which_paper(question) or asks_for_several(question):
        return None
    # not a benchmark or rival named as a setting ("score on GLUE", "faster than FlashAttention")
    asked = set(names(_SETTING_NAME.sub(" ", question)))
    called = [i for i, h in enumerate(hits)
              if ((own := short_name(h.title, split_sentences(h.abstract))) and not _DIMENSION.fullmatch(own)
                  and asked & set(names(own)))
              or writes_title(question, h.title)]
    return called[0] if len(called) == 1 else None
