"""What a number measures, and whether it is the measure a question asks for.

"What learning rate …?" is not answered by "100 billion tokens", "what average score …?" not by
"560 million parameters", "how much of the compute …?" not by "a 5x increase in batch sizes". A
question that names its measure ("how many recurrent models", "what learning rate", "what
accuracy", "how much of the compute") is answered by a number that counts that thing, names it
beside itself, or stands bare; one that does not ("how long …?", "what size …?") by any number.
Pure text rules, used by the quantity rule of the offline answerer, its part selection, its
answerability exception (`counts_asked`) and the LLM path's check of the asked kind (asked.py).
"""

from __future__ import annotations

import re
from bisect import bisect_left
from typing import Iterator

from .questions import MEASURE_NOUNS, MEASURE_QUALIFIER, facets, number_matches, numbers, stem, wants_quantity

# a count in words and what it counts ("twelve languages", "two new benchmarks")
_CARDINAL_WORDS = re.compile(r"\b(two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|"
                             r"thousands?|millions?|billions?)((?:\s+[\w-]+){1,3})", re.I)
_HOW_MANY = re.compile(r"\bhow many\s+([\w-]+)", re.I)
# what a question that names its measure measures: "how many recurrent models …", "what learning
# rate …", "what average score …", "how much of the compute …" (not "how long", "what size", "how
# much data": any number may answer those)
_MEASURED = re.compile(rf"\bhow many\s+(?P<count>[\w-]+(?:\s+[\w-]+){{0,2}})|"
                       rf"\b(?:what|which)\s+(?P<measure>(?:{MEASURE_QUALIFIER}\s+){{0,3}}?(?:{MEASURE_NOUNS}))\b|"
                       rf"\b(?:what|which)\s+(?P<sized>(?:{MEASURE_QUALIFIER}\s+){{0,2}}?{MEASURE_QUALIFIER})\s+(?:size|count)\b|"
                       r"\bhow much\s+(?:more\s+|less\s+)?of\s+(?:the\s+|its\s+|their\s+)?(?P<share>[\w-]+)", re.I)
_MEASURE_END = re.compile(r"\b(is|are|was|were|do|does|did|can|could|has|have|had|will|would|in|on|of|for|at|"
                          r"across|over|with|from|by|to|than|and|or|per|the|a|an|this|that|it|its|they|their)\b.*",
                          re.I | re.S)
_MAGNITUDE = {"k", "m", "b", "t", "thousand", "million", "billion", "trillion", "hundred", "thousands", "millions",
              "billions", "+", "-", "~", "±", "+/-", "pm", "plus", "minus"}
# what a number stands for when nothing follows it but these: it may answer any measure
_UNITLESS = frozenset("""on in of for at across over with from by to than and or per the a an as vs versus
    while when which that compared relative respectively""".split())
_RANGE_END = re.compile(r"^[-–]\d[\d.,]*[kmbtx×%]?\\?%?$")
_PERCENT_UNITS = frozenset("percent percentage pp points point".split())
_FACTOR_UNITS = frozenset("times fold".split())
# "by what factor …?", "how many times faster …?" (not "which factor matters most?", "how many times did they run it?")
_ASKS_FACTOR = re.compile(r"\bby\s+(?:what|which|how\s+(?:large|big)\s+a)\s+factor\b|\bhow\s+many-?fold\b|"
                          r"\bhow\s+many\s+times\s+(?:more|less|fewer|faster|slower|larger|smaller|bigger|higher|lower|"
                          r"longer|shorter|cheaper|better|as)\b", re.I)
_FACTOR_OF = re.compile(r"\bfactor\s+of\s+(?:about\s+|around\s+|up\s+to\s+|roughly\s+)?$", re.I)
# measures a factor ("3x") may give; scores and shares ("what accuracy", "how much of the compute") it does not
_FACTOR_NOUNS = r"rate|gain|gains|speed-?up|improvement|improvements|reduction|increase|decrease"
MEASURE_WINDOW = 6  # words either side of a number in which the asked measure may be named


def _measured(question: str) -> tuple[list[str], str]:
    """The words naming what `question` measures ("recurrent", "models"; "learning", "rate") and
    which ratios answer it: "percent" or "factor" (a percentage or "3x"), "percent" (a share or a
    score: "how much of the compute", "what accuracy"), "" (a count: "how many"); no words when
    it does not name its measure."""
    m = _MEASURED.search(question)
    if not m:
        return [], ""
    phrase = _MEASURE_END.sub("", m.group("count") or m.group("measure") or m.group("share") or m.group("sized")).split()
    words = [stem(w.lower()) for w in phrase if w.isalpha() or "-" in w]
    if m.group("count") or m.group("sized"):  # "what codebook size": a count of codebook entries
        return words, ""
    words = words[-1:]  # the measure itself ("LoRA rank" → rank, "average score" → score), not what it qualifies
    factor = m.group("measure") and re.search(rf"\b({_FACTOR_NOUNS})$", m.group("measure"), re.I)
    return words, "percent factor" if factor else "percent"


def _is_factor(text: str, m: re.Match, unit: str | None) -> bool:
    """The number `m` of `text` is a factor: "4x", "3×", "3 times", "10 fold", "a factor of 4"."""
    return m.group(0)[-1] in "x×" or unit in _FACTOR_UNITS or bool(_FACTOR_OF.search(text, 0, m.start()))


def _unit(text: str, end: int) -> str | None:
    """The word a number ending at `end` counts ("100 billion tokens" → "tokens"), None for a
    bare number ("84.3 on MTEB")."""
    for word in text[end:end + 60].split()[:4]:
        w = word.strip("()[],.;:'\"").lower()
        if not w or w in _MAGNITUDE or _RANGE_END.match(w):  # "27-90 times": the range's end, then its unit
            continue
        return None if w in _UNITLESS or not w[0].isalpha() else w
    return None


def measures_asked(text: str, question: str) -> bool:
    """Whether a number in `text` measures what `question` asks, when the question names it ("how
    many GPUs", "what learning rate"): the word it counts is one the question uses, or the asked
    measure is named beside it, or it is bare ("84.3 on MTEB"); a percentage answers a measure but
    not a count, a "3x" only a gain, speed-up or reduction ("5x larger batches" is no share of the
    compute). The question's own numbers do not count. "100 billion tokens" gives no learning rate,
    "560 million parameters" no score. Any number answers a question that does not name its measure ("how long …?"), and a
    question of several parts is answered by a number that answers any one of them."""
    parts = [p for p in facets(question) if wants_quantity(p)] or [question]
    return any(_measures(text, part, question) for part in parts)


def _enumeration(text: str, m: re.Match) -> bool:
    """"(1)", "2)": a list's item number, no quantity."""
    return m.group(0).isdigit() and len(m.group(0)) <= 2 and text[m.end():m.end() + 1] == ")"


def _states_number(text: str) -> bool:
    return any(not _enumeration(text, m) for m in number_matches(text))


_YEAR = re.compile(r"(?:19|20)\d\d")
_CITED_BY = re.compile(r"(?:et\s+al\.?|[A-Z][A-Za-z-]+),?\s*$")  # "(Mishkin & Matas, 2015)", "He et al. 2016"


def _cited_year(text: str, m: re.Match) -> bool:
    """The number `m` of `text` is the year of a reference: "(Mishkin & Matas, 2015)", "et al., 2016;"."""
    year = m.group(0).rstrip(".,")  # "2016," : the number pattern keeps a trailing comma
    end = m.start() + len(year)
    return (_YEAR.fullmatch(year) is not None and text[end:end + 1] in (")", "]", ";", ",")
            and _CITED_BY.search(text[max(0, m.start() - 40):m.start()]) is not None)


def _new_numbers(text: str, question: str) -> Iterator[tuple[re.Match, str | None]]:
    """The numbers of `text` the question does not state, each with the word it counts (`_unit`)."""
    given = numbers(question)
    for m in number_matches(text):
        if (m.group(0).rstrip(".,").lower() in given or text[m.end():m.end() + 1].isalnum() or _enumeration(text, m)
                or _cited_year(text, m)):
            continue  # "the 43B GPT model" of the question itself; a cut number ("19." of "19.2times"); a reference
        yield m, _unit(text, m.end())


def counts_asked(text: str, question: str) -> bool:
    """Whether `text` states a number of exactly what the question names as its measure: "3.1
    trillion tokens" for "how many tokens …", "560 million parameters" for "how many parameters"
    (the counted word is one of the measure's words; a number merely near them does not count), or a
    factor ("4x", "3 times", "a factor of 4") for "by what factor …?"."""
    if _ASKS_FACTOR.search(question) and any(_is_factor(text, m, unit) for m, unit in _new_numbers(text, question)):
        return True
    for part in facets(question):
        asked, _ratios = _measured(part)
        if asked and any(unit and stem(unit) in asked for _m, unit in _new_numbers(text, question)):
            return True
    return False


_WORD = re.compile(r"[a-z][a-z0-9-]*")


def _word_spans(text: str) -> list[tuple[int, str]]:
    """The words of `text`, lower-cased, each with where it starts."""
    return [(w.start(), w.group(0)) for w in _WORD.finditer(text.lower())]


def _around(spans: list[tuple[int, str]], at: int) -> range:
    """Indices of the words within MEASURE_WINDOW words of the character position `at`."""
    i = bisect_left(spans, at, key=lambda span: span[0])
    return range(max(0, i - MEASURE_WINDOW), min(len(spans), i + MEASURE_WINDOW))


def _measures(text: str, part: str, question: str) -> bool:
    """`measures_asked` for one part of `question`."""
    asked, ratios = _measured(part)
    if not asked:
        return _states_number(text)
    q_stems = {stem(w) for w in _WORD.findall(question.lower())}
    spans = _word_spans(text)
    for m, unit in _new_numbers(text, question):
        if unit and stem(unit) in q_stems:
            return True
        if set(asked) & {stem(spans[i][1]) for i in _around(spans, m.start())}:
            return True
        percent = m.group(0)[-1] == "%" or unit in _PERCENT_UNITS
        factor = m.group(0)[-1] in "x×" or unit in _FACTOR_UNITS
        if percent and "percent" in ratios or factor and "factor" in ratios or unit is None and not (percent or factor):
            return True
    return False


def number_near(text: str, question: str, terms: set[str]) -> bool:
    """`text` states a number the question does not give with, within MEASURE_WINDOW words of it,
    the measure the question names ("score" for "what MMLU score …?") or, when it names none, one of
    `terms` (as `evidence.term_sets` makes them): "3x-6x faster than existing prompt compression
    methods" for how much faster LLMLingua-2 is, not "less than 1/4 of their compute" for how large
    ELECTRA's generator is, nor "based on 6B and 34B models" for Yi's MMLU score."""
    from .evidence import term_sets

    named = {w for part in facets(question) for w in _measured(part)[0]}
    spans = _word_spans(text)
    words = term_sets([w for _, w in spans])
    for m, _unit in _new_numbers(text, question):
        window = _around(spans, m.start())
        if named and named & {stem(spans[i][1]) for i in window}:
            return True
        if not named and terms & set().union(*(words[i] for i in window)):
            return True
    return False


_SCALE_WORDS = {"k": "thousand", "m": "million", "b": "billion", "t": "trillion"}


def unstated_quantities(question: str, text: str) -> set[str]:
    """The quantities the question states as given ("the 7B-parameter model", "the 110M model", "its
    2.7x speedup": a number with a scale, a percentage or a factor) that `text` does not state, in
    any spelling ("7B", "7b", "7 billion"; "80%", "80\\%"; "2.7x", "2.7×"). Bare numbers ("8
    documents", "pass@1") are left out: they read too many ways."""
    said = text.lower().replace("\\", "").replace("×", "x")
    missing = set()
    for m in number_matches(question):
        n = m.group(0).rstrip(".,").lower()
        if question[m.start() - 1: m.start()] in (".", "-") or not re.fullmatch(r"[\d.,]+[kmbtx%]", n):
            continue  # a piece of a name ("5B" of "Qwen-1.5B"), or a bare number
        value, scale = n[:-1], n[-1]
        spellings = [n] + ([f"{value} {_SCALE_WORDS[scale]}", f"{value}-{_SCALE_WORDS[scale]}"] if scale in _SCALE_WORDS
                           else [f"{value} %", f"{value} percent", f"{value} times", f"{value}-fold"])
        if not any(re.search(rf"(?<![\d.]){re.escape(sp)}(?![\d])", said) for sp in spellings):
            missing.add(n)
    return missing


def states_quantity(text: str, question: str) -> bool:
    """`text` states a quantity of the asked measure (`measures_asked`): a number, or, for "how many
    languages …?", a count of them in words ("on twelve languages"; not "two essential elements")."""
    if measures_asked(text, question):
        return True
    m = _HOW_MANY.search(question)
    counted = m.group(1).lower().rstrip("s") if m else None
    return counted is not None and any(
        counted in (w.lower().rstrip("s") for w in c.group(2).split()) for c in _CARDINAL_WORDS.finditer(text))
