"""Check an LLM answer's citations against the abstracts, and repair them where a source clearly fits.

Every claim sentence of the answer is measured against every source (the evidence scorer's
`claim_support`, the same measure the offline answerer uses):

* a citation [n] outside the sources is removed;
* a citation whose abstract supports the sentence is kept, unless the sentence cites one source
  and another source supports it clearly better (by RECITE_MARGIN, and at least
  REPAIR_SUPPORT_MIN): small models number a list one off ("[2]" for the neighbour of the paper
  the sentence is about), and the neighbour, on the same topic, often passes CLAIM_SUPPORT_MIN;
  the sentence is then re-cited to the source that supports it;
* of several citations on one sentence, those RECITE_MARGIN below the best-supported one are
  removed (a small model cites a neighbouring paper beside the right one);
* a sentence left with no supporting citation (it had no marker, or only wrong ones) is
  re-cited to the source that supports it best, when that support is at least
  REPAIR_SUPPORT_MIN (one source only: a second one nearly as close is usually a neighbour
  paper on the same topic, not where the claim came from);
* only a sentence that no source supports is removed.

A caller can demand stronger support (`min_support`): when the evidence is weak (the offline
answerer refuses), only claims that nearly restate a source are kept.

Small models often write the right sentence without its [n], or with the wrong n: repairing
keeps their answer instead of throwing it away. Each kept citation's quote is the abstract
sentence that supports it best. Every change is reported in `warnings`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .answers import Citation
from .evidence import EvidenceScorer
from .questions import names, short_name
from .retrieval import Hit
from .sentences import split_sentences

CLAIM_SUPPORT_MIN = 0.35  # below this, a cited abstract is not taken to support the sentence
REPAIR_SUPPORT_MIN = 0.45  # an uncited sentence is given a source only when it supports it this well
RECITE_MARGIN = 0.15  # how much better another source must support a sentence to replace its citation
STRICT_SUPPORT = 0.60  # what a claim needs when the evidence is weak (a near restatement of a source)
SUBJECT_WORDS = 4  # a claim's subject is among its first words ("SAILER uses …", "The SAILER model …")
MIN_CLAIM_WORDS = 3  # shorter sentences ("Sure!", "In short:") are connective text, not claims
_MARKERS = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_LINE_PREFIX = re.compile(r"^(\s*(?:[-*•]|\d+[.)])\s+)")
_END = re.compile(r"([.!?]+[\"'”’)]*)$")
# "… 60,000 hours. [1]" (small models put the marker after the full stop): it belongs to that sentence
_AFTER_STOP = re.compile(r"([.!?])[ \t]*((?:\[\d+(?:\s*,\s*\d+)*\][ \t]*)+)(?=\s|$)")
# "… first claim [2]. [3] Morbidity rose …": a sentence that already ends with its own marker
_ENDS_CITED = re.compile(r"\]\s*$")
_LEADING = re.compile(r"^\s*\[\d+(?:\s*,\s*\d+)*\]")
_REPEATED_MARKER = re.compile(r"(\[\d+\])(?:\s*\1)+")
# a marker cut off where a reply stopped ("… methods. [2", "[1, 2"): no citation
_CUT_MARKER = re.compile(r"\s*\[[\d,\s]*$")
# markers written as the subject of their sentence: "[1] develops …", "[1] and [3] show …"
_SUBJECT = re.compile(r"^\s*\[\d+\](?:\s*(?:,|and)\s*\[\d+\])*(?=\s+[a-z])")


def paper_name(title: str) -> str:
    """How an answer names a paper: the short name heading its title ("NV-Embed: Improved …"),
    else the title in quotes."""
    head = title.split(":", 1)[0].strip()
    return head if ":" in title and 0 < len(head.split()) <= 4 else f"“{title}”"


def _attach_after_stop(text: str) -> str:
    """Markers written after a full stop, moved before it: they belong to that sentence, unless a
    sentence follows them and either that sentence already ends with its own marker or the line
    is written markers-first ("[3] A. [4] B."); then they stay at the start of the next sentence
    and belong to it (see `_Checker.sentence`)."""
    lines = []
    for line in text.split("\n"):
        markers_first = bool(_LEADING.match(line))

        def repl(m: re.Match, line: str = line, markers_first: bool = markers_first) -> str:
            follows = line[m.end():].strip()
            if follows and (markers_first or _ENDS_CITED.search(line[: m.start()]) or follows[:1].islower()):
                return m.group(0)  # ("… token. [1] develops …": the marker is the next sentence's subject)
            return f" {m.group(2).strip()}{m.group(1)}"

        lines.append(_AFTER_STOP.sub(repl, line))
    return "\n".join(lines)


@dataclass
class Kept:
    """One kept claim sentence (without its markers) and, for each source it cites, that source's
    sentence supporting it best: what a caller holds the claim to (see `asked.answers_asked`)."""

    claim: str
    sources: dict[int, str]  # source number → its sentence that supports the claim best


@dataclass
class Checked:
    text: str
    citations: list[Citation]
    warnings: list[str]
    claims: int = 0  # claim sentences kept (each with at least one supporting citation)
    removed: int = 0  # claim sentences removed because no source supports them
    kept: list[Kept] = field(default_factory=list)  # the kept claims, in order


def _numbers(marker_group: str) -> list[int]:
    return [int(n) for n in re.split(r"\s*,\s*", marker_group)]


def _short(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def without_markers(text: str) -> str:
    """`text` without its [n] markers."""
    return _MARKERS.sub("", text)


def with_markers(claim: str, numbers: list[int], stop: str = "") -> str:
    """`claim` with its [n] markers before the closing punctuation: "It has 80M parameters [2]."
    (a claim without one ends with `stop`)."""
    markers = "".join(f"[{n}]" for n in numbers)
    m = _END.search(claim)
    return f"{claim[: m.start()]} {markers}{m.group(1)}" if m else f"{claim} {markers}{stop}"


def keep_only(sentence: str, valid: set[int]) -> str:
    """The sentence as written, minus the citation numbers that are not in `valid` (a marker that
    goes leaves its leading space to the next one: "model [1][2]" keeping 2 is "model [2]")."""
    out, at, owed = [], 0, ""
    for m in _MARKERS.finditer(sentence):
        out.append(sentence[at : m.start()])
        at = m.end()
        space = m.group(0)[: len(m.group(0)) - len(m.group(0).lstrip())]
        kept = [n for n in _numbers(m.group(1)) if n in valid]
        if kept:
            out.append((space or owed) + "".join(f"[{n}]" for n in kept))
            owed = ""
        else:
            next_is_marker = m.end() < len(sentence) and sentence[m.end()] == "["
            owed = (owed or space) if next_is_marker else ""
    out.append(sentence[at:])
    return "".join(out).strip()


@dataclass
class _Checker:
    """Checks one answer's sentences against the hits, collecting quotes and warnings."""

    hits: list[Hit]
    scorer: EvidenceScorer
    min_support: float = CLAIM_SUPPORT_MIN
    warnings: list[str] = field(default_factory=list)
    quotes: dict[int, tuple[float, str]] = field(default_factory=dict)  # source number → (support, sentence)
    claims: int = 0
    removed: int = 0
    kept: list[Kept] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.abstracts = [split_sentences(h.abstract) for h in self.hits]
        self.short_names = [short_name(h.title, a) for h, a in zip(self.hits, self.abstracts)]
        self.titles = {h.title.strip().lower() for h in self.hits}

    def is_title(self, text: str) -> bool:
        """A bare title of a source ("Pooling And Attention: What Are …?"): a small model echoing its
        prompt's source list, no part of an answer."""
        return text.strip().rstrip(".").strip().lower() in self.titles

    def is_claim(self, text: str) -> bool:
        """A sentence that states something (as opposed to "Sure!" or "Here is what they say:"; a bare
        paper title is dropped before, `is_title`)."""
        return len(text.split()) >= MIN_CLAIM_WORDS and not text.rstrip().endswith(":") and bool(self.scorer.terms(text))

    def supports(self, claim: str) -> list[tuple[float, int]]:
        """For each source: how well its best sentence supports `claim`, and which sentence."""
        out = []
        for sentences in self.abstracts:
            idx, score = self.scorer.claim_support(claim, sentences)
            out.append((score, idx))
        return out

    def sentence(self, sentence: str) -> str | None:
        """The sentence with checked (or repaired) markers; None when it is removed."""
        sentence = _REPEATED_MARKER.sub(r"\1", sentence)  # "[2] [2] achieves …": one marker
        sentence = _SUBJECT.sub(lambda m: self.named(m), sentence)
        cited = list(dict.fromkeys(n for group in _MARKERS.findall(sentence) for n in _numbers(group)))
        claim = _MARKERS.sub("", sentence).strip()
        lead = _LEADING.match(sentence)
        rest = sentence[lead.end():].strip() if lead else ""
        # "[1] The model reaches …" is cited as "The model reaches … [1]."; "[1] and [4] show …" and
        # "[1] shows …" use the marker as a word and stay as written
        if rest[:1].isupper() and not _MARKERS.search(rest):
            sentence = with_markers(rest, cited)
        if self.is_title(claim):  # "[3] Pooling And Attention: …": the prompt's source list echoed
            return None
        if not self.is_claim(claim):
            return sentence if not cited else claim or None  # connective text: no citation to check
        for n in [n for n in cited if not 1 <= n <= len(self.hits)]:
            self.warnings.append(f"removed citation [{n}]: there are only {len(self.hits)} sources")
        cited = [n for n in cited if 1 <= n <= len(self.hits)]
        support = self.supports(claim)
        kept = [n for n in cited if support[n - 1][0] >= self.min_support]
        better = self.better_source(kept, support)
        if better and (about := self.misattributed(claim, better)):
            # it is about the paper it cites: kept there when that one supports it in its own right
            if support[kept[0] - 1][0] < REPAIR_SUPPORT_MIN:
                return self.remove_misattributed(claim, about, better)
            better = None
        if better:
            self.warnings.append(f"re-cited “{_short(claim)}” from [{kept[0]}] to [{better}] "
                                 f"“{_short(self.hits[better - 1].title, 60)}”, which supports it clearly better")
            self._quote(claim, [better], support)
            return with_markers(claim, [better])
        if kept:
            for n in cited:
                if n not in kept:
                    self.warnings.append(f"removed citation [{n}]: “{_short(self.hits[n - 1].title, 60)}” "
                                         f"does not support “{_short(claim)}”")
            kept = self.best_supported(claim, kept, support)
            self._quote(claim, kept, support)
            return keep_only(sentence, set(kept))
        targets = self.repair_targets(support)
        if not targets:
            self.warnings.append(f"removed a sentence no source supports: “{_short(claim, 100)}”")
            self.removed += 1
            return None
        if about := self.misattributed(claim, targets[0]):
            return self.remove_misattributed(claim, about, targets[0])
        names = " and ".join(f"[{n}] “{_short(self.hits[n - 1].title, 60)}”" for n in targets)
        if cited:
            was = "".join(f"[{n}]" for n in cited)
            self.warnings.append(f"re-cited “{_short(claim)}” from {was} to {names}, which supports it")
        else:
            self.warnings.append(f"added the citation {names} to “{_short(claim)}”")
        self._quote(claim, targets, support)
        return with_markers(claim, targets)

    def misattributed(self, claim: str, n: int) -> str | None:
        """The name of another source's paper that `claim` opens on (its subject) while source [n], the one
        that supports it, never mentions it ("SAILER uses a variety of representative downstream
        ad-hoc retrieval tasks …", written from PROP's abstract): re-citing it to [n] would credit one
        paper with another's work."""
        supporting = f"{self.hits[n - 1].title} {self.hits[n - 1].abstract}".lower()
        opening = " ".join(claim.split()[:SUBJECT_WORDS])
        for i, name in enumerate(self.short_names, start=1):
            if i != n and name and names(name) and re.match(rf"(?:the\s+)?{re.escape(name)}(?![\w-])", opening, re.I) \
                    and name.lower() not in supporting:
                return name
        return None

    def remove_misattributed(self, claim: str, about: str, n: int) -> None:
        """Drop `claim`, about paper `about` but said by source [n] only, with a warning."""
        self.warnings.append(f"removed “{_short(claim)}”: it is about {about}, but what it says "
                             f"is from [{n}] “{_short(self.hits[n - 1].title, 60)}”")
        self.removed += 1
        return None

    def named(self, m: re.Match) -> str:
        """A marker used as the sentence's subject ("[1] develops …", "[1] and [3] show …"), with
        the name of the paper it stands for before it: "NV-Embed [1] develops …"."""
        def name(marker: re.Match) -> str:
            n = int(marker.group(1))
            if not 1 <= n <= len(self.hits):
                return marker.group(0)
            return f"{paper_name(self.hits[n - 1].title)} {marker.group(0)}"

        return re.sub(r"\[(\d+)\]", name, m.group(0))

    def better_source(self, kept: list[int], support: list[tuple[float, int]]) -> int | None:
        """[n] of a source that supports a sentence citing one source clearly better than that one
        does (see RECITE_MARGIN), else None."""
        if len(kept) != 1:
            return None
        best = self.repair_targets(support)
        if not best or best[0] == kept[0]:
            return None
        return best[0] if support[best[0] - 1][0] - support[kept[0] - 1][0] >= RECITE_MARGIN else None

    def best_supported(self, claim: str, kept: list[int], support: list[tuple[float, int]]) -> list[int]:
        """Of several sources a sentence cites, those that support it about as well as the best one
        does: a source RECITE_MARGIN below it is dropped, with a warning (one claim, one [n], unless
        it draws on several sources alike). A small model cites a neighbouring paper beside the
        right one ("… pushed the limit to 32k [1] [2]", where only [1] says it and [2] is another
        long-context paper)."""
        best = max(kept, key=lambda n: support[n - 1][0])
        weaker = [n for n in kept if support[best - 1][0] - support[n - 1][0] >= RECITE_MARGIN]
        for n in weaker:
            self.warnings.append(f"removed citation [{n}] from “{_short(claim)}”: [{best}] "
                                 f"“{_short(self.hits[best - 1].title, 60)}” supports it clearly better")
        return [n for n in kept if n not in weaker]

    def repair_targets(self, support: list[tuple[float, int]]) -> list[int]:
        """[n] of the source that supports a sentence best, if well enough (the first on a tie)."""
        if not support:
            return []
        best = max(range(len(support)), key=lambda i: (support[i][0], -i))
        return [best + 1] if support[best][0] >= max(REPAIR_SUPPORT_MIN, self.min_support) else []

    def _quote(self, claim: str, numbers: list[int], support: list[tuple[float, int]]) -> None:
        """Count a kept claim; each of its sources quotes its best supporting sentence so far."""
        self.claims += 1
        self.kept.append(Kept(claim, {n: self.abstracts[n - 1][support[n - 1][1]] for n in numbers
                                      if support[n - 1][1] >= 0}))
        for n in numbers:
            score, idx = support[n - 1]
            if idx >= 0 and score > self.quotes.get(n, (-1.0, ""))[0]:
                self.quotes[n] = (score, self.abstracts[n - 1][idx])

    def citations(self) -> list[Citation]:
        return [Citation(number=n, paper_id=self.hits[n - 1].paper_id, title=self.hits[n - 1].title,
                         url=self.hits[n - 1].url, quote=quote, score=round(score, 4))
                for n, (score, quote) in sorted(self.quotes.items())]


def check_citations(text: str, hits: list[Hit], scorer: EvidenceScorer,
                    min_support: float = CLAIM_SUPPORT_MIN) -> Checked:
    """The answer with every claim cited to a source that supports it (see the module docstring)."""
    checker = _Checker(hits, scorer, min_support)
    out_lines: list[str] = []
    said: set[str] = set()
    repeated = 0
    for line in _attach_after_stop(_CUT_MARKER.sub("", text)).splitlines():
        prefix_m = _LINE_PREFIX.match(line)
        prefix = prefix_m.group(1) if prefix_m else ""
        kept = []
        for sentence in split_sentences(line[len(prefix):]):
            written = " ".join(_REPEATED_MARKER.sub(r"\1", sentence).lower().split())  # with its markers
            if len(written.split()) >= MIN_CLAIM_WORDS and written in said:
                repeated += 1  # a small model looping on one sentence: said once is enough
                continue
            said.add(written)
            checked = checker.sentence(sentence)
            if checked:
                kept.append(checked)
        if kept:
            out_lines.append(prefix + " ".join(kept))
        elif not line.strip():
            out_lines.append("")
    if repeated:
        checker.warnings.append(f"removed {repeated} repeated sentence{'s' if repeated > 1 else ''}")
    cleaned = re.sub(r"\n{3,}", "\n\n", "\n".join(out_lines).strip())
    return Checked(cleaned, checker.citations(), checker.warnings, checker.claims, checker.removed, checker.kept)
