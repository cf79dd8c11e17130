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
# what a "what …" question may ask to measure (measures.py: a number answers only the one named)
MEASURE_NOUNS = (r"percentage|fraction|proportion|accuracy|score|scores|bleu|f1|rate|rank|gain|gains|speed-?up|"
                 r"improvement|improvements|recall|precision|perplexity|error|reduction|increase|decrease")
# a word between "what/which" and its measure noun: not a verb ("which benchmark does it rank first?" asks no rank)
MEASURE_QUALIFIER = r"(?!(?:is|are|was|were|do|does|did|can|could|will|would|has|have|had)\b)[\w-]+"
_QUANTITY = re.compile(
    r"\bhow (many|much|large|long|short|big|small|fast|slow|often|far|high|low|deep|wide|old|heavy)\b|"
    r"\bby how\b|\bwhat factor\b|"
    rf"\b(what|which)\s+({MEASURE_QUALIFIER}\s+){{0,3}}?({MEASURE_NOUNS}|number|size|count)\b",
    re.I,
)
# "which method/framework …?" asks for the paper's own name; "which benchmarks/datasets …?" for other names
_OWN_NAME_NOUNS = {
    "name", "method", "technique", "framework", "approach", "model", "system", "algorithm", "architecture",
    "family", "network", "tool", "strategy", "module", "mechanism", "procedure", "toolkit", "library", "pipeline",
    "paradigm", "scheme", "recipe", "agent", "suite", "fix", "trick", "remedy", "solution",
}
_OTHER_NAME_NOUNS = {
    "benchmark", "dataset", "metric", "loss", "objective", "task", "language", "corpus", "corpora", "baseline",
    "encoder", "decoder", "tokenizer", "optimizer", "measure", "component", "backbone", "competition", "challenge",
    "dialect", "llm",
}
_NAME_NOUNS = "|".join(sorted(_OWN_NAME_NOUNS | _OTHER_NAME_NOUNS))
_ASKS_NAME = re.compile(
    rf"\b(which|what)(?:'s|’s|\s+is|\s+are)?\s+(the\s+)?([\w-]+\s+){{0,3}}?(?P<head>{_NAME_NOUNS})(s|es)?\b|"
    r"\bwhat(?: is|'s|’s) (it|this|the \w+) called\b|\bname of\b|\bwho\b",
    re.I,
)
# "which paper/work …?" asks to identify a paper, whatever noun follows ("which paper measures …",
# "which paper proposes a new loss …"): a match of _ASKS_NAME whose question word is followed by one
# of these is not a question for a name
# (not "what is the paper's loss?": that asks for a name in it)
_PAPER_NOUN = re.compile(r"\s+(?:(?:is|are)\s+the\s+)?(?:papers?|works?|stud(?:y|ies)|articles?|publications?|"
                         r"preprints?|manuscripts?)\b(?!['’]s)", re.I)
# "is there work on X? list all of them", "all the papers on X", "every paper that …"
_ALL_OF_THEM = re.compile(r"\b(list|name|give|show)\s+(me\s+)?(them\s+)?all\b|"
                          r"\ball\s+(the\s+)?(papers|works|studies|articles)\b|\bevery\s+(paper|work|study|article)\b", re.I)
_MULTI = re.compile(r"\b(which|what|list|name|any)\b(\s+[\w-]+){0,3}?\s+(papers|works|studies|articles|publications)\b|"
                    r"^\s*(?:are\s+there\s+)?(?:any\s+)?(?:papers|studies|articles)\s+(?:on|about|that|which|where|"
                    r"for|using|doing)\b", re.I)
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
# a name: an acronym or mixed-case word (READ, CodeRL, LLaVA), or letters with digits (E5-Base-4k, T5)
_TOKEN = re.compile(r"[A-Za-z0-9][\w\-.+/]*[\w+]|[A-Za-z]")
_GENERIC_NAMES = {
    "ai", "ml", "nlp", "llm", "llms", "lm", "lms", "rl", "ir", "gpu", "gpus", "cpu", "api", "sota", "cnn", "cnns",
    "rnn", "rnns", "mlp", "mlps", "nlu", "nlg", "qa", "asr", "tts", "mt", "cv", "vlm", "vlms", "lmms", "lmm",
}
# a sentence that gives something a name: "we propose X", "… called X"
_INTRODUCES = re.compile(r"\b(we|this (paper|work|study))\s+(propose|introduce|present|develop|call|name|dub|term|coin)"
                         r"s?\b|\b(called|named|dubbed|termed|coined)\b(?!\s+entit)", re.I)  # not "named entity"
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


# "name of the approach that lets a model choose how many layers to run": after the name asked, a
# relative clause describes what is named; a quantity in it is not what the question asks
_DESCRIBING = re.compile(r"\b(that|which|who|whose|where|to)\b", re.I)
_NEW_CLAUSE = re.compile(r"\b(and|but)\b|[?;]", re.I)  # "Which optimizer did they switch to, and how much …?"


def _quantity_asked(question: str) -> re.Match | None:
    """Where `question` asks for a quantity: the first match of _QUANTITY, unless a name is asked
    before it and the quantity is in a clause describing what is named."""
    m = _QUANTITY.search(question)
    if m:
        name = _name_asked(question)
        between = question[name.end():m.start()] if name and name.end() <= m.start() else ""
        if _DESCRIBING.search(between) and not _NEW_CLAUSE.search(between):
            return None
    return m


def answer_type(question: str) -> str | None:
    """QUANTITY, NAME or None (anything: a description, a yes/no, a reason, which paper)."""
    if _quantity_asked(question):
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
    return bool(_quantity_asked(question))


def asks_for_several(question: str) -> bool:
    """"Which papers …?", "… list all of them": answered by a list of papers, one line each."""
    return bool(_MULTI.search(question) or _ALL_OF_THEM.search(question))


_COUNT_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
# "what were the three tricks they used?", "which two techniques did they add?", "name the 4 stages"
_ITEMS_ASKED = re.compile(r"\b(?:what|which|name|list|give)\b(?:\s+(?:are|were|is|was))?(?:\s+the|\s+its|\s+their)?"
                          r"\s+(two|three|four|five|six)\s+(?:[\w-]+\s+){0,2}?[a-z-]+[^s\W]s\b", re.I)
_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4, "v": 5, "vi": 6}
# numbered items, each kind with what its mark counts: "(1)", "1)", "(ii)", "(b)"
_ITEM_MARKS = ((re.compile(r"\((\d)\)"), int), (re.compile(r"(?<![\w(])(\d)\)"), int),
               (re.compile(r"\((i{1,3}|iv|vi?)\)"), _ROMAN.get), (re.compile(r"\(([a-f])\)"), lambda c: ord(c) - 96))


def items_asked(question: str) -> int | None:
    """How many things the question asks to be named: 3 for "what were the three tricks they used?"."""
    m = _ITEMS_ASKED.search(question)
    return _COUNT_WORDS[m.group(1).lower()] if m else None


def says_count(text: str, count: int) -> bool:
    """`text` says the count `count`, in words or digits: "we introduce three techniques", "3 tricks"."""
    words = [w for w, n in _COUNT_WORDS.items() if n == count]
    return re.search(rf"\b({'|'.join(words + [str(count)])})\b", text, re.I) is not None


def enumerated_items(text: str) -> int:
    """How many items `text` numbers in order: 3 for "by (1) initializing …, (2) scaling …, and (3) …"
    ("1) … 2) …", "(i) … (ii) …" and "(a) … (b) …" too); 0 when it numbers none."""
    for marks, value in _ITEM_MARKS:
        values = [value(m.group(1)) for m in marks.finditer(text)]
        if len(values) >= 2 and values == list(range(1, len(values) + 1)):
            return len(values)
    return 0


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


def number_matches(text: str) -> Iterator[re.Match]:
    """Where `text` states standalone quantities (`numbers`), in order."""
    return _NUMBER.finditer(text)


def has_number(text: str) -> bool:
    return bool(_NUMBER.search(text))


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


def introduced_names(sentences: list[str]) -> set[str]:
    """The names a paper introduces as its own: those within NAMED_WITHIN words after "we propose /
    present / introduce" or "called / named" ("Our method called Sparse masKed modeling (SparK)")."""
    found: set[str] = set()
    for sentence in sentences:
        for m in _INTRODUCES.finditer(sentence):
            found.update(names(" ".join(sentence[m.end():].split()[:NAMED_WITHIN])))
    return found


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
