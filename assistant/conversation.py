"""The one decision about each new question of a conversation: follow-up or not.

The conversation itself is typed turns (`assistant/turns.py`): nothing is parsed back out of
rendered answer text.

`is_follow_up` is the decision. A question that points back ("they", "that model", "the
authors", "what about …", "and on ImageNet?") continues the conversation; so does one that
names nothing of its own (every content word is generic — "how long does training take?" — or
was already said in the last turn). A question that names its own subject ("which paper uses
quantum circuits to accelerate attention?") is a new question and is answered as if asked
alone. `condense_offline` turns a follow-up into a standalone search query; with an LLM,
`prompts/condense.txt` rewrites it instead (see `api.Assistant`).
"""

from __future__ import annotations

import re

from ingest.store.side.terms import stemmer

from .questions import names
from .turns import Turn, to_turns

# ------------------------------------------------------------------ the follow-up decision


def _stem_word(word: str) -> str:
    return stemmer().stemWord(word.lower().strip(".-+'"))


_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-\.+']*[A-Za-z0-9+]|[A-Za-z0-9]")
# personal pronouns point back ("what did they use?", "is it open source?")
_PRONOUN = re.compile(r"\b(they|them|it|itself|themselves|he|she|him)\b", re.I)
# possessives point back only when nothing in the question before them could own them:
# "their results" points back, "can private text be recovered from its embedding?" does not
_POSSESSIVE = re.compile(r"\b(its|their|theirs|his|her)\b", re.I)
# a demonstrative used as a pronoun or as a determiner: "is that better?", "about this",
# "these results", "that model" (but not "shows that small models …", a conjunction)
_DEMONSTRATIVE = re.compile(
    r"(^|\b(is|was|are|were|does|did|do|can|could|would|will|has|have|about|of|in|on|for|with|from|to|by|than|"
    r"like|beyond|besides|after|before|use|uses|used|beat|beats)\s+)(this|that|these|those)\b|"
    r"\b(this|these|those|such|said|aforementioned)\s+\w+|"
    r"\b(the\s+(latter|former|same|above|previous|earlier|authors?|one|ones|other|others))\b(?!\s+(of|that|which|who)\b)",
    re.I,
)
# a demonstrative that says itself what it means: "… uses this idea: activation entropy as …", "That
# trick of prepending …: which paper is it from?"
_SAYS_WHICH = re.compile(r"(?:\s+[\w-]+)?\s*(?::|—|–|\s-\s)|(?:\s+[\w-]+)?\s+(?:of|where|whereby|called|named)\b",
                         re.I)
_COMPARES = re.compile(r"\b(vs\.?|versus|compared (to|with)|relative to)(?=\s)", re.I)
_IDIOM = re.compile(r"\bworth\s+$", re.I)  # "is X still worth it?" refers to X
# "what about the paper that drops residual learning …?": a new paper, identified by what it does
_DESCRIBED = re.compile(r"[\s,;:]*(?:(?:in|for|from|about|on)\s+)?(the|a|an|any)\s+"
                        r"(paper|work|study|article|method|approach|model|technique)s?\s+"
                        r"(that|which|where|on|about|\w+ing)\b", re.I)
# "and KaLM-Embedding-V2, what does it use?", "what about TAPE — how does it …?", "also, for scene-aware
# speech enhancement (SAV-SE), what …?": the rest opens on what it asks about (a short phrase, after
# "for/about/regarding" or none), then a comma, colon or dash, then its question
_TOPIC_FIRST = re.compile(r"[\s,;:]*(?P<lead>(?:for|about|regarding|as\s+for)\s+|in\s+(?=['\"“]))?(?:the\s+)?"
                          r"(?P<phrase>'[^']+'|\"[^\"]+\"|“[^”]+”|[\w.+()/-]+(?:\s+[\w.+()/-]+){0,6}?)\s*(?:[,:—–]|\s-\s)",
                          re.I)
_SUBJECT_VERBS = frozenset("""use uses used work works keep keeps kept estimate estimates need needs handle handles
    compare compares differ differs perform performs scale scales run runs rely relies require requires""".split())
_SETTING_WORDS = frozenset("on in at with under over across to from by into than vs versus".split())
TOPIC_LEAD_WORDS = 2  # a topic after "for/about" names at least this many new subject words ("for ImageNet" is a setting)
TOPIC_OWN_WORDS = 2  # a topic with no lead and no name names at least this many ("graph pruning for model compression")
_THERE = re.compile(r"\b(there|here)\b", re.I)
# "the biggest instruction-tuned one": one of the things just discussed
_ONE_DESCRIBED = re.compile(r"\bthe\s+(?:[\w-]+\s+){1,3}(one|ones)\b", re.I)
_ONE_OF_THOSE = re.compile(r"the\s+(one|ones|other|others)", re.I)
# elliptical openers and closers: "and on ImageNet?", "what about Llama-3?", "… too?", "… as much?"
_CONTINUES = re.compile(
    r"^\s*(and|also|but what|but how|then what|what about|how about|what else|anything else|same for|"
    r"tell me more|more on)\b|\b(too|either|as well|as much|as many|as often|instead)\s*[?.!]*\s*$",
    re.I,
)
# "which other papers …" asks about new papers: a new question even though it leans on the last one
_OTHER_PAPERS = re.compile(r"\b(other|else|another|more)\s+(papers?|works?|studies|articles|methods|approaches)\b",
                           re.I)
# "which paper/method …" asks to identify something by what follows: it names its own target
_IDENTIFY = re.compile(r"^\s*(which|what|name|list|find)\s+(\w+\s+)?(papers?|works?|studies|articles|"
                       r"methods?|models?|approach(es)?|frameworks?|systems?|techniques?|datasets?|benchmarks?)\b"
                       r"(?!\s*[?.!]*\s*$)", re.I)
# a definite noun phrase with nothing after it saying which one ("is the 200K model trained from
# scratch?", "how big is the production dataset?") presupposes the thing under discussion: "the",
# then its words that name nothing new, unless a specifier follows them ("the 34B base model of …")
_DEFINITE = re.compile(r"\bthe(?=((?:\s+[\w'.-]+){1,6}[,;:]?))", re.I)
_SPECIFIER = frozenset("of that which who whose for called named".split())
_PAPER_ON = re.compile(r"\s*(paper|work|study|article)s?\s+(on|about|that|which|where)\b", re.I)
MAX_CARRIED_WORDS = 24  # words of the last question a condensed follow-up carries
FRAGMENT_WORDS = 3  # "Which games?", "And ImageNet?": too short to be a question of its own
VERBLESS_WORDS = 7  # ... and "how many/much …?" with no verb up to this length
OPENER_REST_WORDS = 4  # "and/also/what about" + at most this many words is an ellipsis of the last question
DESCRIBED_WORDS = 2  # new subject words after "this" that make it a subject of its own

_STOP = frozenset(
    """a an the and or of in on for to with by from at as is are was were be been being do does did done
    what what's which who whom whose when where why how that this these those it its they them their there
    than then so such can could would should may might will shall not no nor into onto about over under
    each per very just only both between while after before during if any all some also more most much many
    i me my we us our you your please tell give show explain describe list name find mention mentioned say says
    said there here too other else another way ways kind kinds type types get gets got""".split()
)
# words that name no subject of their own: the properties one asks about any paper
_GENERIC = frozenset(_stem_word(w) for w in """
    paper work study article author method model approach technique framework system architecture algorithm
    result finding experiment evaluation evaluate benchmark dataset data corpus metric baseline task setting setup
    use train training test run need require take long time fast slow speed speedup big small large size
    parameter number count percent percentage accuracy score performance perform improve improvement gain better
    best worse outperform beat compare comparison reach achieve obtain report propose introduce present main key
    limitation drawback weakness contribution release available open source code github license public well good
    new novel exactly specifically overall total whole procedure part step component version variant one first
    second third last final previous next base call name find show claim conclude measure help versus vs
    different difference same similar cost memory compute gpu hour day minute second hardware language english
    human people user real world token pretrain pre-train finetune fine-tune inference complexity length
    share fraction ratio rate
    how much many short shorter long longer high higher low lower smaller larger bigger faster slower
    better worse cheaper perplexity bleu rouge f1 recall precision error loss latency throughput""".split())


def content_words(text: str) -> list[str]:
    """The words of `text` that carry meaning (no stopwords, no one-letter words), first use kept."""
    seen, words = set(), []
    for w in _WORD.findall(text):
        lw = w.lower()
        if lw in _STOP or (len(lw) < 3 and not any(c.isdigit() for c in lw) and not w.isupper()) or lw in seen:
            continue
        seen.add(lw)
        words.append(w)
    return words


def subject_words(question: str) -> list[str]:
    """Words of a question that name what it is about (not what it asks about that thing)."""
    return [w for w in content_words(question) if _stem_word(w) not in _GENERIC]


_WH_WORDS = "what|which|how|who|whom|whose|when|where|why"
_AUX_WORDS = "is|are|was|were|do|does|did|can|could|has|have|had|will|would|should|may|might"
# where the clause of a referring word starts: a sentence or clause break, or "and"/"but" opening a
# new wh-question ("What is CLEAR and what kind of retriever is it meant to complement?"), or a
# subordinate clause holding a pronoun ("… drains when it runs locally": it may refer to the main clause)
_CLAUSE_BREAK = re.compile(rf"[.?!:;,]\s|\s[—–-]\s|\b(and|but)\s+(?=({_WH_WORDS})\b)|"
                           r"\b(once|when|whenever|while|whereas|if|unless|until|because|since|so|although|though)\s+"
                           r"(?=[^.?!;:]*?\b(it|they|them|its|their)\b)", re.I)
# a wh-word opening a clause, its phrase, then the verb: in "How much more misclassification does its
# error grow?" the phrase asks about something, it does not say whose error
_WH_CLAUSE = re.compile(r"(?:^|[.?!:;,]\s*|\band\s+|\bbut\s+)(?:[\w'-]+\s+){0,3}?"  # "and parallel data in how"
                        rf"({_WH_WORDS})\b", re.I)
# a clause asked as a question, its verb before its subject: "how small does Llama 7B get with it?",
# "is there an implementation of it?", "what accuracy did that report give?"
_INVERTED = re.compile(rf"\s*(?:(?:[\w'-]+\s+){{0,3}}?(?:{_WH_WORDS})\b"
                       rf"(?:\s+[\w'-]+){{0,8}}?\s+)?(?:{_AUX_WORDS})\b", re.I)
_AUXILIARY = re.compile(rf"\b({_AUX_WORDS})\s+$", re.I)
_REFERRING = re.compile(r"\b(they|them|it|itself|themselves|he|she|him|its|their|theirs|his|her|this|that|these|"
                        r"those|such|said|aforementioned|the)\b", re.I)
# a dummy "it": "is it possible to …?", "it is not proven that …", "does it help to …?" is about
# what follows, not about something said before
_EXPLETIVE = re.compile(r"it\s+(?:is\s+|was\s+)?(?:not\s+|still\s+|really\s+)?(?:true|possible|known|proven|shown|"
                        r"necessary|better|worse|worth|clear|feasible|harder|easier|likely|enough|helpful|common|"
                        r"help|pay|matter|make\s+sense)\s+(?:that|to|whether|if)\b", re.I)
_PLURAL_REFERENCES = frozenset("they them their theirs themselves these those".split())
# a question word or auxiliary: the words after an opener ask a question of their own
_ASKS = re.compile(rf"\b({_WH_WORDS}|{_AUX_WORDS})\b", re.I)
# "How many images and classes?", "How much faster than existing compressors?": a quantity asked with
# no verb of its own is asked about what was just discussed
# ("how many papers …?" counts papers of the library: a question of its own)
_VERBLESS_QUANTITY = re.compile(rf"^\s*how\s+(many|much)\b(?!\s+(papers|works|studies|articles)\b)"
                                rf"(?!.*\b({_AUX_WORDS}|'s|'re)\b)", re.I)


def _plural(word: str) -> bool:
    """A plural noun, roughly: "models", "placeholders", "LLMs" (not "class", "corpus", "analysis")."""
    lw = word.lower()
    return len(lw) > 3 and lw.endswith("s") and not lw.endswith(("ss", "us", "is", "ics"))


def _names_work(word: str, text: str) -> bool:
    """`word` names a work whose authors "they" may be ("In Signing the Supermask, how high a pruning rate
    do they reach?", "what did the ChocoLlama project find when they …"): a name (`questions.names`:
    not a generic "LLM"), or a capitalised word that does not open `text`."""
    if names(word):  # "ChocoLlama", "InSerter"; not a generic "LLM"
        return True
    return word[:1].isupper() and word[1:].islower() and not text.lstrip().startswith(word)


def _has_antecedent(question: str, at: int, plural: bool = False, same_clause: bool = False) -> bool:
    """Does the question itself name, before position `at`, what a referring word there refers to?

    A pronoun, a demonstrative or "the …" refers to something named in an earlier sentence or
    clause ("A paper proposes X for Y. How much faster is it?", "…, and which dense model was it
    initialized from?"), not to its own clause ("how small does Llama 7B get with it?", "is there an
    implementation of it?"). A possessive may refer inside its clause ("the method that expands a
    small model while preserving its function"), but not to the wh-phrase it follows ("what accuracy
    does its base model reach?"). "they"/"their" need a plural. Only the question's own subject
    words count (see `subject_words`)."""
    before = question[:at]
    if same_clause:
        opening = list(_WH_CLAUSE.finditer(before))
        if opening and _AUXILIARY.search(before):
            before = before[: opening[-1].start()]
    else:
        breaks = [b for b in _CLAUSE_BREAK.finditer(question) if b.end() <= at]
        start = breaks[-1].end() if breaks else 0
        if _INVERTED.match(before[start:]):  # a question's own clause: what it asks about, not a referent
            before = before[:start]
    if plural:  # "several reward models so a policy can't exploit them": a generic plural is a referent too
        # "the deep hashing paper …: which traits do they fuse?": its authors ("the full paper" is the last one)
        return any(_plural(w) or _names_work(w, before) for w in content_words(before)) or _described_paper(before)
    return bool(subject_words(before))


def points_back(question: str, said: set[str] = frozenset()) -> bool:
    """Does the question refer to something said before ("they", "that model", "what about …")?
    `said` holds the stems of what the last turn said. A pronoun, possessive, demonstrative or
    definite "the …" points back only when the question names nothing it could refer to
    (`_has_antecedent`): long questions often describe a paper, then ask "how fast is it?"."""
    m = _CONTINUES.search(question)
    patterns = (_PRONOUN, _POSSESSIVE, _DEMONSTRATIVE)
    if m:
        if not (m.start() == 0 and _asks_anew(question[m.end():], said)):
            return True
        patterns = (_DEMONSTRATIVE,)  # the pronouns after the opener were judged by _asks_anew
    for pattern in patterns:
        for m in pattern.finditer(question):
            word = _REFERRING.search(m.group(0))  # where the referring word itself starts
            at = m.start() + word.start()
            if _EXPLETIVE.match(question, at) or _IDIOM.search(question[:at]):  # "is it true that …?", "worth it"
                continue
            if pattern is _DEMONSTRATIVE and _SAYS_WHICH.match(question, m.end()):  # "this idea: …", "that trick of …"
                continue
            if pattern is _DEMONSTRATIVE and _describes_own(question[at:], said):  # "this flow-to-depth layer"
                continue
            if _ONE_OF_THOSE.fullmatch(m.group(0)):  # "the one on a 21-day orbit": one of what was said
                return True
            if not _has_antecedent(question, at, word.group(0).lower() in _PLURAL_REFERENCES,
                                   same_clause=pattern is _POSSESSIVE):
                return True
    if _IDENTIFY.search(question):  # "which method builds drafts from …?" names its own target
        return False
    for m in _DEFINITE.finditer(question):
        if _presupposes(m.group(1), said) and not _has_antecedent(question, m.start()):
            return True
    return False


def _describes_own(phrase: str, said: set[str]) -> bool:
    """"this bi-granular document representation approach keep …", "this flow-to-depth layer estimate
    …": a demonstrative opening a noun phrase that is the subject of its clause (its verb or an
    auxiliary follows it) and names at least DESCRIBED_WORDS subject words the last turn did not
    say introduces its own subject. "this approach", "this retrieval engine" after one, "this method
    beat X on …", "can this handle …?", "is this faster than …?" do not."""
    words = _WORD.findall(phrase)
    if not words or words[0].lower() not in ("this", "these"):
        return False
    noun_phrase = []
    for w in words[1:6]:
        if w.lower() in _SUBJECT_VERBS or re.fullmatch(_AUX_WORDS, w, re.I):
            break  # the phrase's verb: what came before is its subject
        if w.lower() in _STOP:
            return False  # a preposition or "than": not a subject followed by its verb
        noun_phrase.append(w)
    else:
        return False  # no verb within five words
    return len([w for w in noun_phrase if _stem_word(w) not in said and _stem_word(w) not in _GENERIC]) \
        >= DESCRIBED_WORDS


def _asks_anew(rest: str, said: set[str]) -> bool:
    """After an opener ("also, …", "and …", "what about …"): a question of its own, not an
    ellipsis of the last one ("and on ImageNet?", "what about the 7B one?"). Either more than
    OPENER_REST_WORDS words asking something of their own (a question word, an auxiliary, a leading
    gerund, or a paper described by a clause: "what about the paper that drops residual
    learning …?") that name at least two things the last turn did not, or a short question about
    a name not said ("also, what is FaiR-IoT?"); and nothing in it points back (a pronoun whose
    referent it names itself counts as its own: "also, can you remove backdoors without detecting
    them first?")."""
    words = _WORD.findall(rest)
    if _opens_on_topic(rest, said):
        return True  # "and SharinGAN, what does it map images into?": "it" is the name it opens on
    if not words or _points_back_from(rest):
        return False  # "and on COCO, how much does it gain?"
    if len(words) <= OPENER_REST_WORDS:  # "and what about GPT-4?" is still an ellipsis
        return (bool(_ASKS.search(rest)) and not _CONTINUES.match(rest)
                and any(_is_name(w) and _stem_word(w) not in said for w in words))
    if not (_ASKS.search(rest) or words[0].lower().endswith("ing") or _DESCRIBED.match(rest)):
        return False  # "and on the retrieval subset alone?": no question or gerund of its own
    return len([w for w in subject_words(rest) if _stem_word(w) not in said]) >= 2


_NOT_NAMES = frozenset("i thanks thank please ok okay now well so hi hey great cool sure nice wait right".split())


def _capitalised_name(word: str) -> bool:
    """A capitalised word after an opener that may name something ("Shortformer"), not "I", "Thanks"."""
    return word[:1].isupper() and word.lower() not in _STOP and word.lower() not in _NOT_NAMES and len(word) > 3


def _opens_on_topic(rest: str, said: set[str]) -> bool:
    """What follows an opener starts with a new topic, then asks about it: "TAPE — how does it …?",
    "the REASON architecture for 6G, how many …?" (a name not said in the last turn, capitalised words
    count after the opener), "for scene-aware audio-visual speech enhancement (SAV-SE), what …?"
    (after "for/about", at least TOPIC_LEAD_WORDS new subject words with a name: "for ImageNet" is a
    setting of the last question)."""
    topic = _TOPIC_FIRST.match(rest)
    if not topic or not _ASKS.search(rest[topic.end():]):
        return False
    words = [w.strip("()") for w in _WORD.findall(topic.group("phrase"))]
    if not words or words[0].lower() in _SETTING_WORDS:  # "and on COCO and Flickr30k, how much does it gain?"
        return False
    if topic.group("phrase")[:1] in "'\"“":  # "also, in 'Towards Robust … Learning', how does their learner …?"
        return len(words) >= 2  # a title in quotes: a paper of its own
    new_names = [w for w in words if (_is_name(w) or _capitalised_name(w)) and _stem_word(w) not in said]
    new_words = [w for w in subject_words(topic.group("phrase")) if _stem_word(w.strip("()")) not in said]
    if not topic.group("lead"):
        # "graph pruning for model compression, how do they choose the final configuration?" (a described
        # topic, then a question of its own), not "image classification, does it help there?" (a setting)
        asked = rest[topic.end():]  # "…, how much latency does it save there?": the topic is a setting
        asks_own = not _THERE.search(asked) and any(_stem_word(w) not in said for w in subject_words(asked))
        return bool(new_names) or (bool(new_words) and _names_paper(words)) or (
            len(new_words) >= TOPIC_OWN_WORDS and asks_own)
    return bool(new_names) and len(new_words) >= TOPIC_LEAD_WORDS


_THE_PAPER = re.compile(r"\bthe\s+((?:[\w-]+\s+){1,4})(?:paper|work|study|article)\b", re.I)


def _described_paper(text: str) -> bool:
    """`text` describes a paper by what it is about: "the deep hashing paper", "the bridging-subword-gaps
    paper" (two subject words before the paper noun, or one hyphenated), not "the full paper", "the
    original paper", "the very same paper"."""
    for m in _THE_PAPER.finditer(text):
        about = [w for w in m.group(1).split() if w.lower() not in _STOP and _stem_word(w) not in _GENERIC
                 and w.lower() not in _PLAIN_PAPER]
        if len(about) >= 2 or any("-" in w.strip("-") for w in about):
            return True
    return False


_PLAIN_PAPER = frozenset("full original published same very whole entire actual main earlier above cited".split())


def _names_paper(words: list[str]) -> bool:
    """A phrase that describes a paper: "model re-basin paper", "deep hashing work" (`_described_paper`)."""
    return _described_paper("the " + " ".join(words))


def _points_back_from(rest: str) -> bool:
    """A pronoun or possessive in what follows an opener: it refers to the last turn, unless it is
    plural and the rest names a plural before it ("remove backdoors without detecting them"); "the
    biggest instruction-tuned one" refers back too."""
    if _ONE_DESCRIBED.search(rest):
        return True
    for m in list(_PRONOUN.finditer(rest)) + list(_POSSESSIVE.finditer(rest)):
        plural = m.group(0).lower() in _PLURAL_REFERENCES
        if _AUXILIARY.search(rest[:m.start()]):  # "how many lessons did they …": the subject asked about
            return True
        if not (plural and any(_plural(w) or _names_work(w, rest) for w in content_words(rest[:m.start()]))):
            return True
    return False


def _presupposes(phrase: str, said: set[str]) -> bool:
    """Does "the" + `phrase` presuppose a thing under discussion? Its first word names nothing new
    (generic, already said, or a quantity: "the 200K model", "the last phase", "the required prompt
    length"), no word is a name ("the MTEB benchmark", "the o1-preview agent" say which one), and
    no specifier follows ("the 34B base model of 01.AI's Yi family")."""
    words, closed = [], False
    for w in phrase.split()[:4]:
        bare = w.strip("?.!,;:()\"'")
        if not bare or bare.lower() in _STOP:
            break
        words.append(bare)
        if bare != w:  # punctuation ends the phrase
            closed = True
            break
    if not words or any(_is_name(w) for w in words):
        return False
    if _PAPER_ON.match(phrase):  # "the paper on scaling diffusion models …" describes a paper of its own
        return False
    new = [w for w in words if _stem_word(w) not in said and _stem_word(w) not in _GENERIC]
    if (closed and len(new) >= DESCRIBED_WORDS) or (new and _names_paper(words)):
        return False  # "the mutual encoder-decoder inpainting model,", "the model re-basin paper" say which one
    first = _stem_word(words[0])
    if not (first in _GENERIC or first in said or words[0][0].isdigit()):
        return False
    rest = phrase.split(words[-1], 1)[1] if words[-1] in phrase else ""
    clause = re.split(r"[,;:.?!()]", rest, maxsplit=1)[0].lower().split()
    return not any(w in _SPECIFIER for w in clause[:4])


_QUANTITY = re.compile(r"^\d[\d.,]*[KMBTkmbtx%]?(-[a-z]+)?$")


def _is_name(word: str) -> bool:
    """A word that names something: an acronym or capital inside it ("MTEB", "WhiteningBERT",
    "DP2Unlearning"), or letters with digits not starting with a digit ("o1-preview"); quantities
    ("200K", "110M-parameter") are not names."""
    if _QUANTITY.match(word):
        return False
    return any(c.isupper() for c in word[1:]) or any(c.isdigit() for c in word)


def is_follow_up(question: str, previous: Turn | None) -> bool:
    """Is `question` a continuation of `previous` (True) or a question of its own (False)?

    The rule, in order. With no previous turn: no. "Which other papers …" asks about new
    papers: no. A question that points back is a follow-up: a pronoun ("they", "it"), a
    possessive with no owner in the question ("their results"), a demonstrative ("is that
    better?", "these models"), an elliptical opener or closer ("and on ImageNet?", "… too?"),
    or a definite noun phrase made only of generic or already-said words ("the 200K model",
    "the complexity"), each only when the question names nothing before it that it could refer
    to (`points_back`: long questions often describe a paper, then ask "how fast is it?"; a pronoun
    after "when/while/so/if …" may refer to the main clause before it), and "the one(s)/other(s)"
    always. A fragment of at most three words ("Which games?"), or a "how many/much …?" of at most
    seven with no verb ("How many images and classes?"), is a follow-up.
    Otherwise a question that names its own subject — a content word that is neither generic
    ("model", "faster", "dataset") nor said in the previous turn — is new; one that names
    nothing of its own continues the conversation ("how long does training take?").
    """
    if previous is None or not question.strip():
        return False
    if _OTHER_PAPERS.search(question):
        return False
    said = {_stem_word(w) for w in content_words(" ".join([previous.searched, previous.answer,
                                                             *previous.cited_titles]))}
    if points_back(question, said):
        return True
    length = len(_WORD.findall(question))
    short = length <= FRAGMENT_WORDS or (length <= VERBLESS_WORDS and _VERBLESS_QUANTITY.match(question))
    if short and _COMPARES.search(question):  # "throughput vs FlashAttention-2?" compares with what was said
        return True
    if short:  # "Which games?", "How many images and classes?", but not "What's WhiteningBERT?"
        return not any(_is_name(w) and _stem_word(w) not in said for w in content_words(question))
    own = [w for w in subject_words(question) if _stem_word(w) not in said]
    return not own


def condense_offline(question: str, previous: Turn | list | None) -> str:
    """A standalone search query for a follow-up: the question, then what the last turn was about
    (the titles of the papers it cited, and the words of its question). `previous` is the last
    turn, or a whole history in any form `to_turns` accepts."""
    if isinstance(previous, (list, tuple)):
        turns = to_turns(previous)
        previous = turns[-1] if turns else None
    if previous is None:
        return question
    mine = {_stem_word(w) for w in content_words(question)}
    carried = [w for w in content_words(previous.searched) if _stem_word(w) not in mine][:MAX_CARRIED_WORDS]
    parts = [question]
    if previous.cited_titles and not previous.refused:
        parts.append("; ".join(previous.cited_titles[:2]))
    if carried:
        parts.append(" ".join(carried))
    return " — ".join(parts)

