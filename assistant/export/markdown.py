"""Markdown for an answer (its text with [n], then each cited source with its quote and link)
and for a whole conversation (every question, answer and source, then one bibliography)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from .references import Reference, field_of, references

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def md_escape(text: str) -> str:
    """Text shown literally in Markdown (titles: a '[Re]' or '*' must not become markup)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _link(title: str, url: str | None) -> str:
    return f"[{md_escape(title)}](<{url}>)" if url else md_escape(title)


def _quote(text: str) -> str:
    return "> “" + " ".join(str(text).split()) + "”"


def citation_numbers(answer: Any) -> list[int]:
    """The source numbers the answer cites, in order, each once, and only real sources."""
    papers = field_of(answer, "papers") or []
    numbers = [field_of(c, "number") for c in field_of(answer, "citations") or []]
    return sorted({n for n in numbers if isinstance(n, int) and 0 < n <= len(papers)})


def _quotes(answer: Any, number: int) -> list[str]:
    quotes = [field_of(c, "quote") for c in field_of(answer, "citations") or [] if field_of(c, "number") == number]
    return list(dict.fromkeys(q for q in quotes if q))


def reference_line(ref: Reference) -> str:
    """One bibliography line: authors (year). Title. arXiv:id / doi. Where it was read."""
    names = [n.display for n in ref.authors[:3]]
    if ref.others or len(ref.authors) > 3:
        names.append("et al.")
    year = f" ({ref.year})" if ref.year else ""
    if names:
        parts = [md_escape(", ".join(names)) + year + ".", _link(ref.title, ref.url) + "."]
    else:
        parts = [_link(ref.title, ref.url) + year + "."]
    if ref.arxiv_id:
        parts.append(f"arXiv:{ref.arxiv_id}" + (f" [{ref.primary_class}]" if ref.primary_class else "") + ".")
    if ref.doi:
        parts.append(f"doi:{md_escape(ref.doi)}.")
    if ref.source_note:
        parts.append(f"Read from {md_escape(ref.source_note)}.")
    return " ".join(parts)


def _sources_section(answer: Any) -> list[str]:
    """Cited sources as a list (each with its quotes), then the retrieved papers not cited."""
    papers = field_of(answer, "papers") or []
    cited = citation_numbers(answer)
    refs = references(papers)
    lines = []
    if cited:
        lines += ["", "**Sources**", ""]
        for n in cited:
            lines.append(f"- **[{n}]** {reference_line(refs[n - 1])}")
            lines += [f"  {_quote(q)}" for q in _quotes(answer, n)]
    uncited = [n for n in range(1, len(papers) + 1) if n not in cited]
    if uncited:
        title = "**Closest papers**" if not cited else "**Also retrieved, not cited**"
        lines += ["", title, ""]
        lines += [f"- [{n}] {_link(field_of(papers[n - 1], 'title'), field_of(papers[n - 1], 'url'))}" for n in uncited]
    return lines


def answer_body(answer: Any) -> list[str]:
    """The answer text, its warnings and its sources, as Markdown lines."""
    lines = [str(field_of(answer, "text") or "").strip()]
    lines += [f"\n*Note: {md_escape(w)}*" for w in field_of(answer, "warnings") or []]
    return lines + _sources_section(answer)


def answer_markdown(answer: Any) -> str:
    """An answer as a Markdown document: the question, the text with [n], each cited source with
    its quote and link, then the papers retrieved but not cited."""
    lines = [f"**Question:** {md_escape(field_of(answer, 'question') or '')}", ""] + answer_body(answer)
    return "\n".join(lines).strip() + "\n"


def conversation_markdown(answers: Iterable[Any], title: str = "askpapers conversation") -> str:
    """A whole conversation: each question, its answer and sources, then one bibliography of
    every paper cited anywhere in it (each paper once, in order of first citation)."""
    answers = list(answers)
    lines = [f"# {md_escape(title)}"]
    for i, answer in enumerate(answers, start=1):
        lines += ["", f"## {i}. {md_escape(field_of(answer, 'question') or '')}", ""] + answer_body(answer)
    cited = cited_in_conversation(answers)
    if cited:
        lines += ["", "## Bibliography", ""]
        lines += [f"- {reference_line(ref)}" for ref in references(cited)]
    return "\n".join(lines).strip() + "\n"


def cited_papers(answer: Any) -> list[Any]:
    """Exactly the papers an answer cites, in the order of their [n]."""
    papers = field_of(answer, "papers") or []
    return [papers[n - 1] for n in citation_numbers(answer)]


def cited_in_conversation(answers: Iterable[Any]) -> list[Any]:
    """Every paper cited in the conversation, once (by paper id), in order of first citation."""
    seen: dict[str, Any] = {}
    for answer in answers:
        for paper in cited_papers(answer):
            seen.setdefault(field_of(paper, "paper_id") or field_of(paper, "title"), paper)
    return list(seen.values())
