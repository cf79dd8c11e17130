"""What a question asks for: its parts, the kind of answer each part wants, and names in text.

Pure text rules, no models. The extractive answerer uses them to pick, for every part of a
question, a sentence of the right kind: a quantity needs a number the question does not
already state, "which benchmark/model/method" needs a name the question does not already
contain, and a search-box query ("emoji prediction LSTM") wants what the paper did and found.
"""

from __future__ import annotations

import re
from typing import Iterator

QUANTITY = "quantity"
NAME = "name"
NAMED_WITHIN = 6  # words after "we propose" in which the name a paper gives its work stands

_WH = r"(?:what|which|who|whom|whose|when|where|why|how|whether)"
_QUANTITY = re.compile(
    r"\bhow (many|much|large|long|short|big|small|fast|slow|often|far|high|low|deep|wide|old|heavy)\b|"
    r"\bby how\b|\bwhat factor\b|"
    r"\b(what|which)\s+([\w-]+\s+){0,3}?(percentage|fraction|proportion|number|accuracy|score|scores|bleu|f1|"
    r"rate|gain|gains|speed-?up|improvement|improvements|recall|precision|perplexity|error|size|count|"
    r"reduction|increase|decrease)\b",
    re.I,
)
# "which method/framework …?" asks for the paper's own name; "which benchmarks/datasets …?" for other names
_OWN_NAME_NOUNS = {
    "name", "method", "technique", "framework", "approach", "model", "system", "algorithm", "architecture",
    "family", "network", "tool", "strategy", "module", "mechanism", "procedure", "toolkit", "library", "pipeline",
    "paradigm", "scheme", "recipe", "agent", "suite",
}
_OTHER_NAME_NOUNS = {
    "benchmark", "dataset", "metric", "loss", "objective", "task", "language", "corpus", "corpora", "baseline",
    "encoder", "decoder", "tokenizer", "optimizer", "measure", "component", "backbone", "competition", "challenge",
}
_NAME_NOUNS = "|".join(sorted(_OWN_NAME_NOUNS | _OTHER_NAME_NOUNS))
_ASKS_NAME = re.compile(
    rf"\b(which|what)\s+(is\s+the\s+|are\s+the\s+)?([\w-]+\s+){{0,3}}?(?P<head>{_NAME_NOUNS})(s|es)?\b|"
    r"\bwhat is (it|this|the \w+) called\b|\bname of\b|\bwho\b",
    re.I,
)
# "which paper/work …?" asks to identify a paper, whatever noun follows ("which paper measures …",
# "which paper proposes a new loss …"): a match of _ASKS_NAME whose question word is followed by one
# of these is not a question for a name
# (not "what is the paper's loss?": that asks for a name in it)
_PAPER_NOUN = re.compile(r"\s+(?:(?:is|are)\s+the\s+)?(?:papers?|works?|stud(?:y|ies)|articles?|publications?|"
                         r"preprints?|manuscripts?)\b(?!['’]s)", re.I)
_MULTI = re.compile(r"\b(which|what|list|name|any)\b(\s+\w+){0,3}?\s+(papers|works|studies|articles|publications)\b",
                    re.I)
_QUESTION_START = re.compile(
    rf"^\s*(?:{_WH}|is|are|was|were|do|does|did|can|could|should|would|will|has|have|had|list|name|"
    r"give|tell|find|show|explain|describe|compare|summari[sz]e)\b",
    re.I,
)
# where one question holds several: "…, and which two models were released?", "…; what score…"
_SPLIT = re.compile(r"\?\s+|;\s+|,\s+and\s+|,\s+(?=(?:what|which|who|how)\b)|\s+and\s+(?=" + _WH + r"\b)", re.I)
# a question word that asks ("when did …"), not one that only opens a clause ("when profiling …",
# "a study of how information moves …")
_HAS_WH = re.compile(r"(?<!\bof )(?<!\babout )\b(what|which|who|whom|whose|why|how|whether)\b|"
                     r"\b(when|where)\s+(did|does|do|is|are|was|were|will|can|could|has|have)\b", re.I)
# a standalone quantity (16%, 1,000, 0.825, 1k, 12x, 2nd), not a digit inside a name (F1, E5-Base, GPT-4)
_NUMBER = re.compile(r"(?<![\w\-])\d[\d,.]*(?:[kKMBx×%]|st|nd|rd|th)?(?![A-Za-z])")
_NUMBER_WORDS = re.compile(r"\b(twice|half|double|triple|first|second|third|one|two|three|four|five|six|seven|"
                           r"eight|nine|ten|hundred|thousand|million|billion|dozen)\b", re.I)
# a count in words and what it counts ("twelve languages", "two new benchmarks")
_CARDINAL_WORDS = re.compile(r"\b(two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|"
                             r"thousands?|millions?|billions?)((?:\s+[\w-]+){1,3})", re.I)
_HOW_MANY = re.compile(r"\bhow many\s+([\w-]+)", re.I)
# a name: an acronym or mixed-case word (READ, CodeRL, LLaVA), or letters with digits (E5-Base-4k, T5)
_TOKEN = re.compile(r"[A-Za-z0-9][\w\-.+/]*[\w+]|[A-Za-z]")
_GENERIC_NAMES = {
    "ai", "ml", "nlp", "llm", "llms", "lm", "lms", "rl", "ir", "gpu", "gpus", "cpu", "api", "sota", "cnn", "cnns",
    "rnn", "rnns", "mlp", "mlps", "nlu", "nlg", "qa", "asr", "tts", "mt", "cv", "vlm", "vlms", "lmms", "lmm",
}
# a sentence that gives something a name: "we propose X", "… called X"
_INTRODUCES = re.compile(r"\b(we|this (paper|work|study))\s+(propose|introduce|present|develop|call|name|dub|term|coin)"
                         r"s?\b|\b(called|named|dubbed|termed|coined)\b", re.I)
# what a paper did, and what it found: the gist of an abstract for a search-box query
_CONTRIBUTION = re.compile(
    r"\b(we|this (paper|work|study|article))\b[^.]{0,40}?\b(propose|present|introduce|develop|explore|design|"
    r"build|describe|study|investigate|use|adopt|employ|leverage|extend|train)s?\b|"
    r"\b(our|the proposed) (method|approach|model|framework|system|architecture)\b",
    re.I,
)
_FINDING = re.compile(
    r"\b(outperform|outperforms|outperformed|surpass|surpasses|achieve|achieves|achieved|rank|ranked|improve|"
    r"improves|improved|reduce|reduces|reduced|state-of-the-art|sota|show that|shows that|demonstrate|"
    r"demonstrates|results? (show|indicate|suggest)|find that|found that|win|won|best)\b",
    re.I,
)
_FIRST_PERSON = re.compile(r"\b(we|our|this (paper|work|study|article))\b", re.I)


def facets(question: str) -> list[str]:
    """The parts of a question that each ask for something ("how far …", "which two models …").

    A part without a question word ("An audio model adds a token…") only says what the
    question is about; it is kept with the next part. One part when nothing splits.
    """
    pieces = [p.strip(" ,.?;") for p in _SPLIT.split(question) if p and p.strip(" ,.?;")]
    parts: list[str] = []
    carry = ""
    for piece in pieces:
        text = f"{carry} {piece}".strip() if carry else piece
        if _HAS_WH.search(piece) or _QUANTITY.search(piece):
            parts.append(text)
            carry = ""
        else:
            carry = text
    if carry:
        if parts:
            parts[-1] = f"{parts[-1]} {carry}"
        else:
            parts.append(carry)
    return parts or [question]


def _name_asked(question: str) -> re.Match | None:
    """Where `question` asks for a name: the first match of _ASKS_NAME that is not "which
    paper …" (a question to identify a paper, answered by the paper, not by a name in it)."""
    for m in _ASKS_NAME.finditer(question):
        if m.group(1) and _PAPER_NOUN.match(question, m.end(1)):
            continue
        return m
    return None


def answer_type(question: str) -> str | None:
    """QUANTITY, NAME or None (anything: a description, a yes/no, a reason, which paper)."""
    if _QUANTITY.search(question):
        return QUANTITY
    if _name_asked(question):
        return NAME
    return None


def _asked_noun(question: str) -> str | None:
    m = _name_asked(question)
    return (m.group("head") or "").lower() if m else None


def asked_kind(question: str) -> str | None:
    """The kind of thing a name question asks about when it is not the paper's own contribution
    ("benchmark" in "on which two benchmarks …"), else None."""
    head = _asked_noun(question)
    return head if head in _OTHER_NAME_NOUNS else None


def asks_own_name(question: str) -> bool:
    """"Which method/framework …?", "what is it called?": the name of the paper's own contribution.
    ("Which model …?" may be the paper's model or one it builds on, so it is not counted.)"""
    head = _asked_noun(question)
    return head is not None and (head == "" or head in _OWN_NAME_NOUNS and head != "model")


_WHICH_PAPER = re.compile(r"^\s*(?:which|what)\s+(?:[\w-]+\s+)?(?:paper|work|study|article|publication)\b(?!s)", re.I)


def asks_which_paper(question: str) -> bool:
    """"Which paper explains …?": answered by one paper (not a list, not a name in it)."""
    return bool(_WHICH_PAPER.match(question))


def wants_quantity(question: str) -> bool:
    return bool(_QUANTITY.search(question))


def asks_for_several(question: str) -> bool:
    """"Which papers …?": answered by a list of papers, one line each."""
    return bool(_MULTI.search(question))


_YES_NO = re.compile(r"^\s*(is|are|was|were|do|does|did|can|could|should|would|will|has|have|had)\b", re.I)


def is_yes_no(question: str) -> bool:
    """"Does X need labelled data?": answered by restating it ("X needs no labelled data")."""
    return bool(_YES_NO.match(question))


def is_topic_query(question: str) -> bool:
    """Search-box keywords ("SemEval emoji prediction LSTM") rather than a question."""
    return "?" not in question and not _QUESTION_START.search(question)


# a claim to check ("Aspirin inhibits the production of PGE2.") rather than search-box keywords
# ("diffusion models video"): a statement of at least CLAIM_MIN_WORDS words written as a sentence,
# that is with a finite verb we can tell without a tagger (a copula, auxiliary or modal; a verb in
# -s/-ed right before a determiner: "deactivates the …", "increased a …") or closed by a full stop
# ("… lack inductive properties.": a sentence whose verb no rule names). Keywords have neither.
CLAIM_MIN_WORDS = 4
_FINITE_VERB = re.compile(
    r"\b(is|are|was|were|has|have|had|does|do|did|can|cannot|could|may|might|must|shall|should|will|would|"
    r"isn't|aren't|wasn't|weren't|hasn't|haven't|doesn't|don't|didn't|can't|won't)\b|"
    r"\b[a-z]{3,}(?:s|ed)\s+(the|a|an|its|their|this|these|no)\b",
    re.I,
)


def is_claim(text: str) -> bool:
    """A statement (`is_topic_query`) that asserts something, a claim to check, rather than
    keywords to search with: see CLAIM_MIN_WORDS."""
    return (is_topic_query(text) and len(text.split()) >= CLAIM_MIN_WORDS
            and (bool(_FINITE_VERB.search(text)) or text.rstrip().endswith((".", "!"))))


def numbers(text: str) -> set[str]:
    return {m.group(0).rstrip(".,").lower() for m in _NUMBER.finditer(text)}


def has_number(text: str) -> bool:
    return bool(_NUMBER.search(text))


# what a question that names its measure measures: "how many recurrent models …", "what learning
# rate …", "what average score …", "how much of the compute …" (not "how long", "what size", "how
# much data": any number may answer those)
_MEASURE_NOUNS = (r"percentage|fraction|proportion|accuracy|score|scores|bleu|f1|rate|gain|gains|speed-?up|"
                  r"improvement|improvements|recall|precision|perplexity|error|reduction|increase|decrease")
_MEASURED = re.compile(rf"\bhow many\s+(?P<count>[\w-]+(?:\s+[\w-]+){{0,2}})|"
                       rf"\b(?:what|which)\s+(?P<measure>(?:[\w-]+\s+){{0,3}}?(?:{_MEASURE_NOUNS}))\b|"
                       r"\bhow much\s+(?:more\s+|less\s+)?of\s+(?:the\s+|its\s+|their\s+)?(?P<share>[\w-]+)", re.I)
_MEASURE_END = re.compile(r"\b(is|are|was|were|do|does|did|can|could|has|have|had|will|would|in|on|of|for|at|"
                          r"across|over|with|from|by|to|than|and|or|per|the|a|an|this|that|it|its|they|their)\b.*",
                          re.I | re.S)
_MAGNITUDE = {"k", "m", "b", "t", "thousand", "million", "billion", "trillion", "hundred", "thousands", "millions",
              "billions", "+", "-", "~", "±", "+/-", "pm", "plus", "minus"}
# what a number stands for when nothing follows it but these: it may answer any measure
_UNITLESS = frozenset("""on in of for at across over with from by to than and or per the a an as vs versus
    while when which that compared relative respectively""".split())
_PERCENT_UNITS = frozenset("percent percentage pp points point".split())
_FACTOR_UNITS = frozenset("times fold".split())
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
    phrase = _MEASURE_END.sub("", m.group("count") or m.group("measure") or m.group("share")).split()
    words = [stem(w) for w in phrase if w.isalpha() or "-" in w]
    if m.group("count"):
        return words, ""
    factor = m.group("measure") and re.search(rf"\b({_FACTOR_NOUNS})$", m.group("measure"), re.I)
    return words, "percent factor" if factor else "percent"


def _unit(text: str, end: int) -> str | None:
    """The word a number ending at `end` counts ("100 billion tokens" → "tokens"), None for a
    bare number ("84.3 on MTEB")."""
    for word in text[end:end + 60].split()[:4]:
        w = word.strip("()[],.;:'\"").lower()
        if not w or w in _MAGNITUDE:
            continue
        return None if w in _UNITLESS or not w[0].isalpha() else w
    return None


def measures_asked(text: str, question: str) -> bool:
    """Whether a number in `text` measures what `question` asks, when the question names it ("how
    many GPUs", "what learning rate"): the word it counts is one the question uses, or the asked
    measure is named beside it, or it is bare ("84.3 on MTEB"); a percentage answers a measure but
    not a count, a "3x" only a gain, speed-up or reduction ("5x larger batches" is no share of the
    compute). The question's own numbers do not count. "100 billion tokens" gives no learning rate, "560 million parameters"
    no score. Any number answers a question that does not name its measure ("how long …?"), and a
    question of several parts is answered by a number that answers any one of them."""
    parts = [p for p in facets(question) if _QUANTITY.search(p)] or [question]
    return any(_measures(text, part, question) for part in parts)


def _new_numbers(text: str, question: str) -> Iterator[tuple[re.Match, str | None]]:
    """The numbers of `text` the question does not state, each with the word it counts (`_unit`)."""
    given = numbers(question)
    for m in _NUMBER.finditer(text):
        if m.group(0).rstrip(".,").lower() in given or text[m.end():m.end() + 1].isalnum():
            continue  # "the 43B GPT model" of the question itself; a cut number ("19." of "19.2times")
        yield m, _unit(text, m.end())


def counts_asked(text: str, question: str) -> bool:
    """Whether `text` states a number of exactly what the question names as its measure: "3.1
    trillion tokens" for "how many tokens …", "560 million parameters" for "how many parameters"
    (the counted word is one of the measure's words; a number merely near them does not count)."""
    for part in facets(question):
        asked, _ratios = _measured(part)
        if asked and any(unit and stem(unit) in asked for _m, unit in _new_numbers(text, question)):
            return True
    return False


def _measures(text: str, part: str, question: str) -> bool:
    """`measures_asked` for one part of `question`."""
    asked, ratios = _measured(part)
    if not asked:
        return has_number(text)
    q_stems = {stem(w) for w in re.findall(r"[a-z][a-z0-9-]*", question.lower())}
    words = [(w.start(), stem(w.group(0))) for w in re.finditer(r"[a-z][a-z0-9-]*", text.lower())]
    for m, unit in _new_numbers(text, question):
        if unit and stem(unit) in q_stems:
            return True
        at = sum(1 for start, _ in words if start < m.start())
        if set(asked) & {stem for _, stem in words[max(0, at - MEASURE_WINDOW): at + MEASURE_WINDOW]}:
            return True
        percent = m.group(0)[-1] == "%" or unit in _PERCENT_UNITS
        factor = m.group(0)[-1] in "x×" or unit in _FACTOR_UNITS
        if percent and "percent" in ratios or factor and "factor" in ratios or unit is None and not (percent or factor):
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
    for m in _NUMBER.finditer(question):
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


def states_new_number(text: str, question: str) -> bool:
    """`text` states a quantity the question does not already give (or a counted word: "two", "second")."""
    return bool(numbers(text) - numbers(question)) or bool(
        {w.lower() for w in _NUMBER_WORDS.findall(text)} - {w.lower() for w in _NUMBER_WORDS.findall(question)}
    )


def names(text: str) -> list[str]:
    """Name-like tokens of `text` in order, once each: acronyms, mixed case, letters with digits
    (lower-cased)."""
    out: list[str] = []
    for m in _TOKEN.finditer(text):
        tok = m.group(0).strip(".-/")
        if len(tok) < 2 or tok.isdigit():
            continue
        upper = sum(c.isupper() for c in tok[1:])
        letters_digits = any(c.isdigit() for c in tok) and any(c.isalpha() for c in tok)
        if upper >= 1 and any(c.isupper() for c in tok) or letters_digits:
            low = tok.lower()
            if low not in _GENERIC_NAMES and not _NUMBER.fullmatch(tok) and low not in out:
                out.append(low)
    return out


def new_names(text: str, question: str) -> set[str]:
    """Names in `text` (a method, model, dataset) that the question does not mention."""
    asked = question.lower()
    return {n for n in names(text) if n not in asked}


def states_new_name(text: str, question: str) -> bool:
    return bool(new_names(text, question))


def introduces_name(text: str) -> bool:
    """"We propose X", "… called X": the sentence gives something a name."""
    return bool(_INTRODUCES.search(text))


_BRACKETED = re.compile(r"\(([^()]{2,30})\)")


def own_name(title: str, sentences: list[str]) -> str | None:
    """The name a paper gives its own contribution: the name heading its title ("CodeRL: …"),
    else the first name right after "we propose/present/introduce" or "called" (one in brackets
    first: "called Sparse masKed modeling (SparK)"), else the name it mentions
    most (at least twice; the title counts twice)."""
    if ":" in title:
        head = title.split(":", 1)[0]
        in_head = names(head) if len(head.split()) <= 3 else []
        if in_head:
            return in_head[0]
    for sentence in sentences:
        m = _INTRODUCES.search(sentence)
        if m:
            window = sentence[m.end(): m.end() + 80]
            # "called Sparse masKed modeling (SparK)": the name in brackets, not a word of the long form
            bracketed = [n for b in _BRACKETED.findall(window) for n in names(b)]
            after = bracketed or names(window)
            if after:
                return after[0]
    counts: dict[str, int] = {}
    for n in names(title):
        counts[n] = counts.get(n, 0) + 2
    for sentence in sentences:
        for n in names(sentence):
            counts[n] = counts.get(n, 0) + 1
    if not counts:
        return None
    name, count = max(counts.items(), key=lambda kv: (kv[1], -len(kv[0])))
    return name if count >= 2 else None


def states_contribution(text: str) -> bool:
    return bool(_CONTRIBUTION.search(text))


def finding_strength(text: str) -> int:
    """How plainly `text` reports the paper's own result: 3 "we outperform…", 2 an outcome verb,
    1 just a number, 0 none."""
    if _FINDING.search(text):
        return 3 if _FIRST_PERSON.search(text) else 2
    return 1 if has_number(text) else 0


def short_name(title: str, sentences: list[str]) -> str | None:
    """The name a paper goes by, as it spells it, for naming it in place of "our model": the
    head of its title ("LLMLingua-2: …", "Yi: …", "VideoMAE V2: …", at most three words that
    are a name or one word), else the first name after "we propose/present/introduce" in its
    abstract ("we present FIND, …", within NAMED_WITHIN words of the verb). None when it has
    neither (the most-mentioned name may be a baseline it uses)."""
    if ":" in title:
        head = title.split(":", 1)[0].strip()
        words = head.split()
        if 0 < len(words) <= 3 and (names(head) or len(words) == 1):
            return head
    for sentence in sentences:
        m = _INTRODUCES.search(sentence)
        if m:
            after = " ".join(sentence[m.end():].split()[:NAMED_WITHIN])
            found = names(after)
            if found:
                spelled = re.search(re.escape(found[0]), after, re.I)
                return spelled.group(0) if spelled else None
    return None


def stem(word: str) -> str:
    """A word's stem, as the side index stems terms."""
    from ingest.store.side.terms import stemmer

    return stemmer().stemWord(word)
