"""Check an answer's citations against the abstracts they point to.

Every sentence of the answer is checked: a citation [n] outside the sources is removed; a
cited sentence that its abstract does not support loses that citation, and a sentence left
with no supported citation is removed. Each kept citation gets as its quote the abstract
sentence that supports it best. Everything removed is reported in warnings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .answers import Citation
from .evidence import EvidenceScorer
from .retrieval import Hit
from .sentences import split_sentences

CLAIM_SUPPORT_MIN = 0.35  # below this, a cited abstract is not taken to support the sentence
_MARKERS = re.compile(r"\s*\[(\d+(?:\s*,\s*\d+)*)\]")
_LINE_PREFIX = re.compile(r"^(\s*(?:[-*•]|\d+[.)])\s+)")


@dataclass
class Checked:
    text: str
    citations: list[Citation]
    warnings: list[str]


def _numbers(marker_group: str) -> list[int]:
    return [int(n) for n in re.split(r"\s*,\s*", marker_group)]


def _keep_markers(sentence: str, valid: set[int]) -> str:
    """The sentence as written, minus the citation numbers that are not in `valid`."""

    def repl(m: re.Match) -> str:
        kept = [n for n in _numbers(m.group(1)) if n in valid]
        if not kept:
            return ""
        return m.group(0)[: len(m.group(0)) - len(m.group(0).lstrip())] + "".join(f"[{n}]" for n in kept)

    return _MARKERS.sub(repl, sentence)


def check_citations(text: str, hits: list[Hit], scorer: EvidenceScorer) -> Checked:
    abstracts = [split_sentences(h.abstract) for h in hits]
    best: dict[int, tuple[float, str]] = {}
    warnings: list[str] = []
    out_lines: list[str] = []
    for line in text.splitlines():
        prefix_m = _LINE_PREFIX.match(line)
        prefix = prefix_m.group(1) if prefix_m else ""
        kept: list[str] = []
        for sentence in split_sentences(line[len(prefix):]):
            cited = [n for group in _MARKERS.findall(sentence) for n in _numbers(group)]
            claim = _MARKERS.sub("", sentence).strip()
            if not cited:
                kept.append(sentence)  # connective text without a claim of its own
                continue
            valid: list[int] = []
            for n in dict.fromkeys(cited):
                if not 1 <= n <= len(hits):
                    warnings.append(f"removed citation [{n}]: there are only {len(hits)} sources")
                    continue
                idx, score = scorer.claim_support(claim, abstracts[n - 1])
                if score < CLAIM_SUPPORT_MIN:
                    warnings.append(f"removed citation [{n}]: “{hits[n - 1].title}” does not support “{claim[:80]}”")
                    continue
                valid.append(n)
                if idx >= 0 and score > best.get(n, (-1.0, ""))[0]:
                    best[n] = (score, abstracts[n - 1][idx])
            if not valid:
                warnings.append(f"removed a sentence no cited abstract supports: “{claim[:100]}”")
                continue
            kept.append(_keep_markers(sentence, set(valid)))
        if kept:
            out_lines.append(prefix + " ".join(kept))
        elif not line.strip():
            out_lines.append("")
    cleaned = "\n".join(out_lines).strip()
    cleaned = re.sub(r"\n{3,}", "\n\n", cleaned)
    citations = [
        Citation(number=n, paper_id=hits[n - 1].paper_id, title=hits[n - 1].title, url=hits[n - 1].url,
                 quote=quote, score=round(score, 4))
        for n, (score, quote) in sorted(best.items())
    ]
    return Checked(cleaned, citations, warnings)
