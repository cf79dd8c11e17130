"""Pure functions that render an `Answer` to the page's HTML (no gradio, no I/O).

Titles, abstracts, quotes and answers are untrusted text: everything is HTML-escaped before it is
wrapped in our own markup, and links are kept only for http(s).
"""

from __future__ import annotations

import html
import re
from typing import Any, Iterable

EXTRACTIVE_LABEL = "offline extractive"
REFUSED_LABEL = "Not answered by the indexed papers"

_CITE = re.compile(r"\[(\d{1,3})\]")
_TAG = re.compile(r"<[^>]*>")


def esc(text: Any) -> str:
    """HTML-escape untrusted text (quotes too, so it is safe inside attributes)."""
    return html.escape("" if text is None else str(text), quote=True)


def safe_url(url: str | None) -> str | None:
    """The URL if it is a plain http(s) link, else None (no javascript:, data:, ...)."""
    url = (url or "").strip()
    if re.match(r"^https?://[^\s<>\"']+$", url, re.I):
        return url
    return None


def mode_label(mode: str | None) -> str:
    """'offline extractive' for the offline answerer, else the LLM's model name."""
    from ..answers import EXTRACTIVE_MODE

    return EXTRACTIVE_LABEL if not mode or mode == EXTRACTIVE_MODE else f"LLM: {mode}"


def source_id(turn: int, number: int) -> str:
    """The HTML id of source [number] of the answer to question `turn` (1-based)."""
    return f"src-{turn}-{number}"


def link_citations(escaped: str, turn: int, titles: dict[int, str] | None = None) -> str:
    """Turn every [n] of already-escaped text into a link to its source card.

    Only numbers in `titles` (the answer's sources) become links when `titles` is given.
    """
    titles = titles or {}

    def repl(m: re.Match) -> str:
        n = int(m.group(1))
        if titles and n not in titles:
            return m.group(0)
        tip = f' title="[{n}] {esc(titles[n])}"' if n in titles else ""
        return f'<a class="ap-cite" href="#{source_id(turn, n)}" data-src="{source_id(turn, n)}"{tip}>[{n}]</a>'

    return _CITE.sub(repl, escaped)


def text_to_html(text: str, turn: int | None = None, titles: dict[int, str] | None = None) -> str:
    """Answer text → HTML: escaped, "- " lines as a list, [n] linked when `turn` is given.

    The result has no blank lines, so Markdown renderers keep it as one HTML block.
    """
    out: list[str] = []
    items: list[str] = []

    def inline(line: str) -> str:
        e = esc(line)
        return link_citations(e, turn, titles) if turn is not None else e

    def flush() -> None:
        if items:
            out.append("<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>")
            items.clear()

    for line in (text or "").splitlines():
        stripped = line.strip()
        if not stripped:
            flush()
            continue
        if stripped.startswith(("- ", "* ", "• ")):
            items.append(inline(stripped[2:]))
        else:
            flush()
            out.append(f"<p>{inline(stripped)}</p>")
    flush()
    return "".join(out)


def _spans(text: str, quote: str) -> list[tuple[int, int]]:
    """Where `quote` occurs in `text`: exact, else ignoring whitespace and case differences."""
    quote = (quote or "").strip()
    if not quote or not text:
        return []
    found = []
    i = text.find(quote)
    while i >= 0:
        found.append((i, i + len(quote)))
        i = text.find(quote, i + len(quote))
    if found:
        return found
    words = quote.split()
    if not words:
        return []
    pattern = r"\s+".join(re.escape(w) for w in words)
    return [m.span() for m in re.finditer(pattern, text, re.I)]


def highlight(text: str, quotes: Iterable[str]) -> tuple[str, bool]:
    """`text` escaped, with every occurrence of each quote wrapped in <mark>; and whether any was found."""
    spans = sorted(s for q in quotes for s in _spans(text, q))
    merged: list[list[int]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    out, pos = [], 0
    for a, b in merged:
        out.append(esc(text[pos:a]))
        out.append(f'<mark class="ap-quote">{esc(text[a:b])}</mark>')
        pos = b
    out.append(esc(text[pos:]))
    return "".join(out), bool(merged)


def _source_meta(hit) -> str:
    """Date, where it was read ("daily page of Jul 4", the file name in the tooltip), categories,
    and how well it matched in words ("strong match")."""
    from ..export import relevance, source_label

    bits = []
    if getattr(hit, "date", None):
        bits.append(f'<span class="ap-date">{esc(hit.date)}</span>')
    for s in dict.fromkeys(getattr(hit, "sources", None) or []):
        bits.append(f'<span class="ap-page" title="read from {esc(s.name)}">{esc(source_label(s))}</span>')
    cats = getattr(hit, "categories", None) or []
    if cats:
        bits.append(f'<span class="ap-cats">{esc(", ".join(cats))}</span>')
    bits.append(f'<span class="ap-rel" title="how well the paper matched the question">{esc(relevance(hit))}</span>')
    return " · ".join(bits)


def score_details(papers) -> str:
    """The raw search scores of an answer's papers behind one details toggle, for the curious:
    each card already says how well its paper matched in words ("strong match")."""
    from ..export import relevance

    if not papers:
        return ""
    rows = "".join(
        f"<tr><td>[{n}]</td><td>{esc(relevance(h))}</td><td>{float(getattr(h, 'score', 0) or 0):.4f}</td>"
        f"<td>{float(getattr(h, 'dense_score', 0) or 0):.3f}</td><td>{float(getattr(h, 'bm25_score', 0) or 0):.2f}</td></tr>"
        for n, h in enumerate(papers, start=1))
    head = ("<tr><th>#</th><th>relevance</th><th>search score (fused ranks)</th>"
            "<th>meaning similarity</th><th>keyword score (BM25)</th></tr>")
    return (f'<details class="ap-scores"><summary>Search scores</summary>'
            f'<table class="ap-score-table">{head}{rows}</table></details>')


def render_source(hit, number: int, turn: int, quotes: Iterable[str] = (), cited: bool = True) -> str:
    """One source card: [n], linked title, date and source page, the abstract with the quote marked."""
    quotes = [q for q in quotes if q]
    title = esc(hit.title)
    url = safe_url(getattr(hit, "url", None))
    if url:
        title = f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer nofollow">{title}</a>'
    abstract, found = highlight(hit.abstract or "", quotes)
    extra = ""
    if quotes and not found:  # the quote is not verbatim in the abstract: show it on its own
        extra = "".join(f'<p class="ap-support">Supporting sentence: <mark class="ap-quote">{esc(q)}</mark></p>'
                        for q in quotes)
    meta = _source_meta(hit)
    cls = "ap-src" + ("" if cited else " ap-uncited-src")
    return (
        f'<article class="{cls}" id="{source_id(turn, number)}">'
        f'<div class="ap-src-head"><span class="ap-num">[{number}]</span> <span class="ap-title">{title}</span></div>'
        + (f'<div class="ap-src-meta">{meta}</div>' if meta else "")
        + extra
        + f'<p class="ap-abstract">{abstract}</p></article>'
    )


def _quotes_by_number(answer) -> dict[int, list[str]]:
    quotes: dict[int, list[str]] = {}
    for c in answer.citations:
        if c.quote and c.quote not in quotes.setdefault(c.number, []):
            quotes[c.number].append(c.quote)
    return quotes


def cited_numbers(answer) -> list[int]:
    """The source numbers the answer cites, in source order."""
    nums = {c.number for c in answer.citations} | {int(n) for n in _CITE.findall(answer.text or "")}
    return [n for n in range(1, len(answer.papers) + 1) if n in nums]


def render_warnings(warnings: Iterable[str]) -> str:
    return "".join(f'<div class="ap-warning" role="status">⚠ {esc(w)}</div>' for w in warnings if w)


def render_sources(answer, turn: int = 1) -> str:
    """The sources panel for one answer: cited papers (quote marked), then the uncited ones collapsed.

    For a refusal the closest papers are listed instead, under a visible "not answered" label.
    """
    quotes = _quotes_by_number(answer)
    cited = cited_numbers(answer)
    head = (f'<div class="ap-turn-head"><span class="ap-mode" title="answer mode">{esc(mode_label(answer.mode))}</span>'
            + (f' <span class="ap-secs">{answer.seconds:.1f} s</span>' if answer.seconds else "")
            + f'<div class="ap-q">{esc(answer.question)}</div>'
            + (f'<div class="ap-standalone">searched as: {esc(answer.standalone_question)}</div>'
               if answer.standalone_question else "")
            + "</div>")
    parts = [head, render_warnings(answer.warnings)]
    if answer.refused:
        parts.append(f'<div class="ap-refused-note">{REFUSED_LABEL}. Closest papers:</div>')
    elif cited:
        parts.append(f'<h4 class="ap-h">Cited sources ({len(cited)})</h4>')
    elif answer.papers:
        parts.append('<h4 class="ap-h">No source cited</h4>')
    shown = cited if not answer.refused else (cited or list(range(1, min(3, len(answer.papers)) + 1)))
    for n in shown:
        parts.append(render_source(answer.papers[n - 1], n, turn, quotes.get(n, ()), cited=True))
    rest = [n for n in range(1, len(answer.papers) + 1) if n not in shown]
    if rest:
        cards = "".join(render_source(answer.papers[n - 1], n, turn, quotes.get(n, ()), cited=False) for n in rest)
        label = "Also retrieved" if answer.refused else "Retrieved but not cited"
        parts.append(f'<details class="ap-uncited"><summary>{label} ({len(rest)})</summary>{cards}</details>')
    if not answer.papers:
        parts.append('<p class="ap-empty">No papers matched (check the filters, or add papers below).</p>')
    parts.append(score_details(answer.papers))
    cls = "ap-turn ap-turn-refused" if answer.refused else "ap-turn"
    return f'<section class="{cls}" data-turn="{turn}">{"".join(parts)}</section>'


def render_draft(answer) -> str:
    """The model's raw reply (`Answer.draft`), escaped, in a collapsed "Model's draft" box: what the
    LLM wrote before its citations were checked (empty for offline answers, which have none)."""
    if not getattr(answer, "draft", None):
        return ""
    return ('<details class="ap-draft"><summary>Model\'s draft</summary>'
            f'<div class="ap-draft-text" style="white-space: pre-wrap">{esc(answer.draft)}</div></details>')


def render_answer(answer, turn: int = 1) -> str:
    """The chat bubble for a final answer: linked [n], a refusal box, mode, warnings and, when an
    LLM wrote it, the model's draft (collapsed)."""
    titles = {i: h.title for i, h in enumerate(answer.papers, start=1)}
    body = text_to_html(answer.text, turn, titles)
    n_cited = len(cited_numbers(answer))
    foot = [f'<span class="ap-mode">{esc(mode_label(answer.mode))}</span>']
    if answer.refused:
        foot.append(f"{len(answer.papers)} closest papers in the panel")
    elif n_cited:
        foot.append(f"{n_cited} source{'s' if n_cited != 1 else ''} cited")
    if answer.seconds:
        foot.append(f"{answer.seconds:.1f} s")
    warn = render_warnings(answer.warnings)
    # the cited titles as "[n] Title" lines, shown small under the answer
    refs = "".join(f'<div class="ap-ref">[{n}] {esc(titles[n])}</div>' for n in cited_numbers(answer))
    refs = f'<div class="ap-refs">{refs}</div>' if refs else ""
    refs += render_draft(answer)
    if answer.refused:
        return (f'<div class="ap-answer ap-refused"><div class="ap-refused-label">{REFUSED_LABEL}</div>'
                f'{body}{warn}{refs}<div class="ap-foot">{" · ".join(foot)}</div></div>')
    return f'<div class="ap-answer">{body}{warn}{refs}<div class="ap-foot">{" · ".join(foot)}</div></div>'


def render_partial(text: str, status: str | None = None) -> str:
    """The chat bubble while the answer streams in (escaped, not yet linked); before any text,
    what is happening (a slow model's status line, or the search)."""
    if not text:
        return f'<div class="ap-answer ap-pending">{esc(status) if status else "Searching the indexed papers"}…</div>'
    return f'<div class="ap-answer ap-streaming">{text_to_html(text)}</div>'


def render_error(message: str) -> str:
    return f'<div class="ap-answer ap-error">{render_warnings([message])}</div>'


def render_panel(sections: list[str]) -> str:
    """The sources panel: the latest answer's sources, older answers' sources collapsed below."""
    if not sections:
        return ('<div class="ap-panel"><div class="ap-placeholder"><b>Sources</b><br>'
                "Ask a question: the papers behind each [n] of the answer show up here, with the "
                "supporting sentence highlighted in the abstract.</div></div>")
    latest, older = sections[-1], sections[:-1][::-1]
    old = "".join(f'<details class="ap-older"><summary>Earlier answer {len(sections) - 1 - i}</summary>{s}</details>'
                  for i, s in enumerate(older))
    return f'<div class="ap-panel">{latest}{old}</div>'


def plain_text(html_text: str) -> str:
    """Text of a chat message rendered by this module (tags dropped, entities decoded)."""
    text = re.sub(r"</(p|li|div|ul|section|article)>|<br\s*/?>", "\n", html_text or "")
    text = _TAG.sub("", text)
    return re.sub(r"\n{2,}", "\n", html.unescape(text)).strip()


def api_text(answer) -> str:
    """What the `/chat` endpoint returns at the end: the answer, its sources, its warnings."""
    text = answer.text
    if answer.papers:
        text += "\n\nSources:\n" + answer.sources_text()
    for w in answer.warnings:
        text += f"\nwarning: {w}"
    return text




def describe_mode(settings) -> str:
    """The configured answer mode, for the page header (the answer's own `mode` is shown per answer)."""
    from pathlib import Path

    if getattr(settings, "llm_base_url", None):
        return f"LLM: {settings.llm_model or 'configured model'}"
    if getattr(settings, "llm_gguf", None):
        return f"LLM: local GGUF {Path(settings.llm_gguf).name}"
    return EXTRACTIVE_LABEL


def render_header(stats: dict, settings) -> str:
    """The title line: how many papers are indexed and the configured answer mode."""
    n = stats.get("papers_total", 0)
    err = f' <span class="ap-warning">⚠ {esc(stats["error"])}</span>' if stats.get("error") else ""
    return (
        '<div class="ap-header"><h1>askpapers</h1>'
        f"<p>Questions answered from {n:,} indexed paper abstracts. Every claim is cited [n]; click a "
        f'citation to see its source and the supporting sentence. Answer mode: '
        f'<span class="ap-badge" id="ap-mode">{esc(describe_mode(settings))}</span>{err}</p></div>'
    )
