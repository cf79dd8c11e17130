"""The chat page (`askpapers serve`): a thin Gradio layer over `Assistant.stream()` / `ingest()`.

No retrieval or answer logic lives here. The module has three parts:

* pure functions that render an `Answer` to HTML (`render_answer`, `render_sources`, ...), unit
  tested without a server. Titles, abstracts, quotes and answers are untrusted text: everything
  is HTML-escaped before it is wrapped in our own markup, and links are kept only for http(s);
* `build_app(assistant)`: the `gr.Blocks` page, plus the `/chat` (streamed answer text with its
  [n] citations and source list) and `/ask` (the whole `Answer` as JSON) API endpoints;
* `serve(assistant, host, port, auth)`: refuses to listen beyond localhost without a login.

`gradio` is imported inside `build_app` / `serve` only: importing it takes seconds.
"""

from __future__ import annotations

import html
import ipaddress
import logging
import os
import re
import threading
import time
from pathlib import Path
from typing import Any, Iterable

log = logging.getLogger("askpapers.web")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
CONCURRENCY = 12  # answers computed at once (shared by the page and the API); more wait in the queue
MAX_UPLOAD_MB = 50
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
MAX_TURNS_KEPT = 20  # answers whose sources stay in the panel
EXAMPLES = (
    "Which papers train a hypernetwork to predict embeddings for new tokens?",
    "What is VectorQ?",
    "How much extra misclassification does the GAMA attack cause in black-box settings?",
    "Which papers let LLMs reason in latent space instead of chain-of-thought tokens?",
)
EXTRACTIVE_LABEL = "offline extractive"
REFUSED_LABEL = "Not answered by the indexed papers"
UPLOAD_EXTENSIONS = (".txt", ".jsonl", ".ndjson", ".json", ".csv", ".tsv")


class WebError(Exception):
    """The page cannot be served as asked (e.g. a public address without a login)."""


# --------------------------------------------------------------------------- rendering (pure)

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
    from .answers import EXTRACTIVE_MODE

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
    bits = []
    if getattr(hit, "date", None):
        bits.append(f'<span class="ap-date">{esc(hit.date)}</span>')
    for s in getattr(hit, "sources", None) or []:
        label = s.name + (f" ({s.date})" if getattr(s, "date", None) else "")
        bits.append(f'<span class="ap-page" title="source page">{esc(label)}</span>')
    cats = getattr(hit, "categories", None) or []
    if cats:
        bits.append(f'<span class="ap-cats">{esc(", ".join(cats))}</span>')
    return " · ".join(bits)


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
    cls = "ap-turn ap-turn-refused" if answer.refused else "ap-turn"
    return f'<section class="{cls}" data-turn="{turn}">{"".join(parts)}</section>'


def render_answer(answer, turn: int = 1) -> str:
    """The chat bubble for a final answer: linked [n], a refusal box, mode and warnings."""
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
    # the cited titles as "[n] Title" lines: shown small, and read back by the offline
    # follow-up condenser (assistant.conversation.cited_titles) when this message is history
    refs = "".join(f'<div class="ap-ref">[{n}] {esc(titles[n])}</div>' for n in cited_numbers(answer))
    refs = f'<div class="ap-refs">{refs}</div>' if refs else ""
    if answer.refused:
        return (f'<div class="ap-answer ap-refused"><div class="ap-refused-label">{REFUSED_LABEL}</div>'
                f'{body}{warn}{refs}<div class="ap-foot">{" · ".join(foot)}</div></div>')
    return f'<div class="ap-answer">{body}{warn}{refs}<div class="ap-foot">{" · ".join(foot)}</div></div>'


def render_partial(text: str) -> str:
    """The chat bubble while the answer streams in (escaped, not yet linked)."""
    if not text:
        return '<div class="ap-answer ap-pending">Searching the indexed papers…</div>'
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


def history_for_assistant(messages: list | None, rendered: bool = True) -> list[dict]:
    """Chat history (str or list-of-parts content) → plain {"role", "content"} messages.

    `rendered`: the messages are this page's HTML (the Chatbot's value), so tags are dropped;
    API clients send plain text, which is kept as it is.
    """
    from .conversation import message_text

    out = []
    for m in messages or []:
        if not isinstance(m, dict):
            m = {"role": getattr(m, "role", ""), "content": getattr(m, "content", "")}
        role = m.get("role")
        if role not in ("user", "assistant"):
            continue
        text = message_text(m)
        text = plain_text(text) if rendered else text.strip()
        if text:
            out.append({"role": role, "content": text})
    return out


def api_text(answer) -> str:
    """What the `/chat` endpoint returns at the end: the answer, its sources, its warnings."""
    text = answer.text
    if answer.papers:
        text += "\n\nSources:\n" + answer.sources_text()
    for w in answer.warnings:
        text += f"\nwarning: {w}"
    return text


def make_filters(sources=None, categories=None, date_from: str | None = None, date_to: str | None = None):
    """The page's filter controls → `SearchFilters` (None when empty). Bad dates raise ValueError."""
    from ingest.filters import SearchFilters

    as_list = lambda v: [v] if isinstance(v, str) else list(v or [])  # noqa: E731
    f = SearchFilters(
        sources=[s for s in as_list(sources) if s],
        categories=[c.strip() for c in as_list(categories) if c and c.strip()],
        date_from=(date_from or "").strip() or None,
        date_to=(date_to or "").strip() or None,
    )
    for label, value in (("date from", f.date_from), ("date to", f.date_to)):
        if value and not _is_date(value):
            raise ValueError(f"{label}: {value!r} is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)")
    return None if f.is_empty() else f


def _is_date(value: str) -> bool:
    import datetime

    if not re.fullmatch(r"\d{4}(-\d{1,2}(-\d{1,2})?)?", value):
        return False
    y, m, d = ([int(p) for p in value.split("-")] + [1, 1])[:3]
    try:
        datetime.date(y, m, d)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- the page

CSS = """
.ap-header h1 {margin: 0 0 2px 0; font-size: 1.6rem;}
.ap-header p {margin: 0; color: var(--body-text-color-subdued);}
.ap-badge {display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: .8rem;
  background: var(--color-accent-soft); color: var(--body-text-color); border: 1px solid var(--border-color-accent);}
.ap-answer p {margin: 0 0 .45em 0;}
.ap-answer ul {margin: .2em 0 .45em 1.1em; padding: 0;}
.ap-answer li {margin: .2em 0;}
a.ap-cite {display: inline-block; padding: 0 3px; margin: 0 1px; border-radius: 4px; font-size: .82em;
  font-weight: 600; text-decoration: none !important; color: var(--color-accent) !important;
  background: var(--color-accent-soft); vertical-align: baseline; cursor: pointer;}
a.ap-cite:hover {background: var(--color-accent); color: white !important;}
.ap-foot {margin-top: .4em; font-size: .78em; color: var(--body-text-color-subdued);}
.ap-refs {margin-top: .4em; font-size: .78em; color: var(--body-text-color-subdued);
  border-top: 1px dashed var(--border-color-primary); padding-top: .3em;}
.ap-mode {display: inline-block; padding: 0 6px; border-radius: 999px; background: var(--background-fill-secondary);
  border: 1px solid var(--border-color-primary); font-size: .9em;}
.ap-refused {border-left: 4px solid #d97706; background: rgba(217, 119, 6, .08); padding: 6px 10px; border-radius: 6px;}
.ap-refused-label, .ap-refused-note {font-weight: 700; color: #b45309; margin-bottom: .3em;}
.ap-pending {color: var(--body-text-color-subdued); font-style: italic;}
.ap-streaming::after {content: "▍"; color: var(--color-accent); animation: ap-blink 1s steps(2) infinite;}
@keyframes ap-blink {50% {opacity: 0;}}
.ap-warning {margin: .35em 0; padding: 4px 8px; border-radius: 6px; font-size: .85em;
  background: rgba(234, 179, 8, .15); border: 1px solid rgba(202, 138, 4, .45);}
.ap-error .ap-warning {background: rgba(220, 38, 38, .1); border-color: rgba(220, 38, 38, .4);}
#ap-sources {max-height: max(460px, calc(100vh - 150px)); overflow-y: auto !important; padding-right: 6px;
  scrollbar-width: thin; position: sticky; top: 8px;}
.ap-panel {font-size: .92rem;}
.ap-placeholder {color: var(--body-text-color-subdued); padding: 12px; border: 1px dashed var(--border-color-primary);
  border-radius: 8px;}
.ap-turn-head {margin-bottom: .4em;}
.ap-q {font-weight: 600; margin-top: .3em;}
.ap-secs, .ap-standalone {font-size: .8em; color: var(--body-text-color-subdued);}
.ap-h {margin: .6em 0 .3em 0; font-size: .95em;}
.ap-src {border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 10px; margin: 0 0 8px 0;
  background: var(--block-background-fill); transition: box-shadow .3s, border-color .3s, background .3s;
  scroll-margin: 12px;}
.ap-src-head {font-weight: 600; line-height: 1.3;}
.ap-src-head a {color: var(--link-text-color, var(--color-accent));}
.ap-num {color: var(--color-accent); margin-right: 2px;}
.ap-src-meta {font-size: .8em; color: var(--body-text-color-subdued); margin: 2px 0 4px 0;}
.ap-abstract {margin: 0; font-size: .88em; line-height: 1.45; color: var(--body-text-color);}
.ap-support {margin: 0 0 4px 0; font-size: .88em;}
mark.ap-quote {background: #fde68a; color: #1f2937; padding: 0 1px; border-radius: 2px;}
.ap-src:target, .ap-src.ap-active {border-color: var(--color-accent); box-shadow: 0 0 0 3px var(--color-accent-soft);}
.ap-src.ap-active mark.ap-quote, .ap-src:target mark.ap-quote {background: #fbbf24;}
.ap-src.ap-hover {border-color: var(--color-accent);}
.ap-uncited, .ap-older {margin: 6px 0; }
.ap-uncited summary, .ap-older summary {cursor: pointer; color: var(--body-text-color-subdued); font-size: .88em;}
.ap-uncited-src {opacity: .9;}
.ap-empty {color: var(--body-text-color-subdued);}
.ap-upload-status .ap-ok {color: #15803d; font-weight: 600;}
.ap-upload-status ul {margin: .3em 0 0 1.1em; font-size: .85em;}
.ap-upload-status li.ap-err {color: #b91c1c;}
"""

# Clicking [n] opens (and highlights) source n; hovering it highlights the card in the panel.
HEAD_JS = """
<script>
(() => {
  const card = (el) => {
    const a = el && el.closest ? el.closest('a.ap-cite, a[href^="#src-"]') : null;
    if (!a) return [null, null];
    const id = a.getAttribute('data-src') || (a.getAttribute('href') || '').slice(1);
    return [a, id ? document.getElementById(id) : null];
  };
  const pane = () => document.getElementById('ap-sources');
  const reveal = (target, smooth) => {
    for (let d = target.parentElement; d; d = d.parentElement) if (d.tagName === 'DETAILS') d.open = true;
    const p = pane();
    if (p && p.contains(target)) {
      const c = target.getBoundingClientRect(), r = p.getBoundingClientRect();
      if (c.top >= r.top && c.bottom <= r.bottom) return;  // already in view
      p.scrollTo({top: c.top - r.top + p.scrollTop - 8, behavior: smooth ? 'smooth' : 'auto'});
    }
  };
  document.addEventListener('click', (e) => {
    const [a, target] = card(e.target);
    if (!a) return;
    e.preventDefault(); e.stopPropagation();
    if (!target) return;
    document.querySelectorAll('.ap-src.ap-active').forEach((x) => x.classList.remove('ap-active'));
    target.classList.add('ap-active');
    reveal(target, true);
    const p = pane();
    const r = p ? p.getBoundingClientRect() : null;
    if (r && (r.top < 0 || r.top > window.innerHeight)) p.scrollIntoView({block: 'start'});
  }, true);
  document.addEventListener('mouseover', (e) => {
    const [a, target] = card(e.target);
    if (!target) return;
    target.classList.add('ap-hover');
    reveal(target, false);
  });
  document.addEventListener('mouseout', (e) => {
    const [a, target] = card(e.target);
    if (target) target.classList.remove('ap-hover');
  });
})();
</script>
"""


class _Catalog:
    """Source pages / categories for the filter dropdowns, computed once and after each upload."""

    def __init__(self, assistant) -> None:
        self.assistant = assistant
        self._stats: dict | None = None
        self._lock = threading.Lock()

    def stats(self) -> dict:
        with self._lock:
            if self._stats is None:
                try:
                    self._stats = self.assistant.stats()
                except Exception as exc:  # an unreadable index still gets a page that says so
                    log.warning("index stats failed: %s", exc)
                    return {"papers_total": 0, "sources": {}, "categories": {}, "error": str(exc)}
            return self._stats

    def invalidate(self) -> None:
        with self._lock:
            self._stats = None


def describe_mode(settings) -> str:
    """The configured answer mode, for the page header (the answer's own `mode` is shown per answer)."""
    if getattr(settings, "llm_base_url", None):
        return f"LLM: {settings.llm_model or 'configured model'}"
    if getattr(settings, "llm_gguf", None):
        return f"LLM: local GGUF {Path(settings.llm_gguf).name}"
    return EXTRACTIVE_LABEL


def _header(stats: dict, settings) -> str:
    n = stats.get("papers_total", 0)
    err = f' <span class="ap-warning">⚠ {esc(stats["error"])}</span>' if stats.get("error") else ""
    return (
        '<div class="ap-header"><h1>askpapers</h1>'
        f"<p>Questions answered from {n:,} indexed paper abstracts. Every claim is cited [n]; click a "
        f'citation to see its source and the supporting sentence. Answer mode: '
        f'<span class="ap-badge" id="ap-mode">{esc(describe_mode(settings))}</span>{err}</p></div>'
    )


def _choices(stats: dict) -> tuple[list[tuple[str, str]], list[str]]:
    sources = [(f"{name} ({n})", name) for name, n in (stats.get("sources") or {}).items()]
    categories = list((stats.get("categories") or {}).keys())[:200]
    return sources, categories


def _upload_error(line: str, path: str, name: str) -> str:
    """A reader's one-line error, naming the uploaded file as the user knows it (no temp path)."""
    line = line.removeprefix("askpapers: ")
    return line.replace(str(path), name)


def ingest_uploads(assistant, paths: list[str]) -> Iterable[tuple[str, bool]]:
    """Ingest uploaded files one by one, yielding (status HTML, done) as it goes.

    Files over MAX_UPLOAD_BYTES are refused; every rejected record gets its one-line error.
    """
    paths = [p for p in paths or [] if p]
    if not paths:
        yield '<div class="ap-upload-status">Choose one or more files to add.</div>', True
        return
    errors: list[str] = []
    added = updated = unchanged = read = 0
    report = None
    for i, path in enumerate(paths, start=1):
        name = Path(path).name
        yield (f'<div class="ap-upload-status">Reading and embedding <b>{esc(name)}</b> ({i}/{len(paths)})…'
               + (f" {added} added so far." if added else "") + "</div>"), False
        try:
            size = os.path.getsize(path)
        except OSError as exc:
            errors.append(f"{name}: cannot read the upload ({exc.strerror or exc})")
            continue
        if size > MAX_UPLOAD_BYTES:
            errors.append(f"{name}: {size / 1024 / 1024:.1f} MB is over the {MAX_UPLOAD_MB} MB upload limit; "
                          f"use `askpapers ingest` for big files")
            continue
        def on_error(err, path=path, name=name):
            errors.append(_upload_error(str(err), path, name))

        try:
            report = assistant.ingest([path], on_error=on_error, progress=False)
        except Exception as exc:  # keep the page alive; the log has the traceback
            log.exception("ingest of %s failed", name)
            errors.append(f"{name}: could not be added ({type(exc).__name__}: {exc})")
            continue
        errors.extend(e for e in (_upload_error(e, path, name) for e in report.errors) if e not in errors)
        added += report.added
        updated += report.updated + report.sources_updated
        unchanged += report.unchanged
        read += report.records_read
    total = f" The index now holds {report.papers_total:,} papers." if report is not None else ""
    summary = (f'<span class="ap-ok">{added} paper{"s" if added != 1 else ""} added</span>, {updated} updated, '
               f"{unchanged} unchanged ({read} records read).{total}"
               + (" New papers are searchable now." if added or updated else ""))
    errs = ""
    if errors:
        shown = errors[:100]
        errs = (f"<div>{len(errors)} problem{'s' if len(errors) != 1 else ''}:</div><ul>"
                + "".join(f'<li class="ap-err">{esc(e)}</li>' for e in shown) + "</ul>"
                + (f"<div>… and {len(errors) - len(shown)} more</div>" if len(errors) > len(shown) else ""))
    yield f'<div class="ap-upload-status">{summary}{errs}</div>', True


def build_app(assistant):
    """The chat page for `assistant` as a `gr.Blocks` (not launched)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    catalog = _Catalog(assistant)
    settings = assistant.settings
    default_k = int(getattr(settings, "top_k", 5) or 5)

    def answer_stream(question: str, history: list[dict], k, sources, categories, date_from, date_to):
        """Yields ("partial", text) while streaming, then ("final", Answer) or ("error", message)."""
        from .answers import Answer

        try:
            filters = make_filters(sources, categories, date_from, date_to)
        except ValueError as exc:
            yield "error", str(exc)
            return
        try:
            k = int(k) if k else None
        except (TypeError, ValueError):
            k = None
        text = ""
        try:
            for item in assistant.stream(question, history=history or None, k=k, filters=filters):
                if isinstance(item, Answer):
                    yield "final", item
                    return
                text += item
                yield "partial", text
        except Exception as exc:  # never a stack trace in the page
            log.exception("answering %r failed", question)
            yield "error", f"Could not answer: {type(exc).__name__}: {exc}"

    # ---- UI handlers
    def add_question(message, chat):
        message = (message or "").strip()
        chat = list(chat or [])
        if message:
            chat.append({"role": "user", "content": esc(message)})
        return "", chat

    def respond(chat, sections, k, sources, categories, date_from, date_to):
        chat = list(chat or [])
        sections = list(sections or [])
        if not chat or _role(chat[-1]) != "user":
            yield chat, sections, render_panel(sections)
            return
        plain = history_for_assistant(chat)
        question, history = plain[-1]["content"] if plain else "", plain[:-1]
        turn = len(sections) + 1
        chat.append({"role": "assistant", "content": render_partial("")})
        yield chat, sections, gr.skip()
        for kind, value in answer_stream(question, history, k, sources, categories, date_from, date_to):
            if kind == "partial":
                chat[-1] = {"role": "assistant", "content": render_partial(value)}
                yield chat, sections, gr.skip()
            elif kind == "error":
                chat[-1] = {"role": "assistant", "content": render_error(value)}
                yield chat, sections, gr.skip()
            else:
                chat[-1] = {"role": "assistant", "content": render_answer(value, turn)}
                sections = (sections + [render_sources(value, turn)])[-MAX_TURNS_KEPT:]
                yield chat, sections, render_panel(sections)

    def clear():
        return [], [], render_panel([]), ""

    def pick_example(chat, evt: gr.SelectData):
        value = evt.value
        text = value.get("text", "") if isinstance(value, dict) else str(value or "")
        return add_question(text, chat)

    pick_example.__annotations__["evt"] = gr.SelectData  # resolved here: this module defers annotations

    def refresh_controls():
        stats = catalog.stats()
        src, cats = _choices(stats)
        return (gr.update(choices=src), gr.update(choices=cats), _header(stats, settings))

    ingest_lock = threading.Lock()

    def upload(files):
        paths = []
        for f in files or []:
            paths.append(f if isinstance(f, str) else getattr(f, "name", None) or getattr(f, "path", None))
        with ingest_lock:  # one upload at a time; questions go on meanwhile
            try:
                for status, done in ingest_uploads(assistant, paths):
                    yield status
            finally:
                catalog.invalidate()

    # ---- API endpoints (gradio_client): /chat streams text, /ask returns the Answer as a dict
    def chat(message: str, history: list | None = None, k: int = 0, source: str = "", category: str = "",
             date_from: str = "", date_to: str = "") -> str:
        """Answer `message` from the indexed papers. Streams the text; the last value is the final
        answer with its [n] citations, then "Sources:" with one "[n] Title — url" line per paper.
        `history` is the conversation so far ([{"role", "content"}], oldest first)."""
        plain = history_for_assistant([m for m in history or [] if isinstance(m, dict)], rendered=False)
        for kind, value in answer_stream(message, plain, k, source, category, date_from, date_to):
            if kind == "final":
                yield api_text(value)
            elif kind == "error":
                yield f"error: {value}"
            else:
                yield value

    def ask(message: str, history: list | None = None, k: int = 0, source: str = "", category: str = "",
            date_from: str = "", date_to: str = "") -> dict:
        """Answer `message`; returns the whole Answer (text, citations, papers, refused, mode, warnings)."""
        plain = history_for_assistant([m for m in history or [] if isinstance(m, dict)], rendered=False)
        for kind, value in answer_stream(message, plain, k, source, category, date_from, date_to):
            if kind == "final":
                return value.to_dict()
            if kind == "error":
                return {"question": message, "error": value}
        return {"question": message, "error": "no answer"}

    with gr.Blocks(title="askpapers", analytics_enabled=False, fill_width=True) as demo:
        header = gr.HTML(_header({"papers_total": 0}, settings), elem_id="ap-header")
        sections = gr.State([])
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                chatbot = gr.Chatbot(
                    label="Answers", elem_id="ap-chat", height=560, show_label=False,
                    examples=[{"text": q} for q in EXAMPLES],
                    placeholder="**Ask about the indexed papers.** Answers quote the abstracts and cite them [n].",
                    feedback_options=None, line_breaks=False, latex_delimiters=[],
                    buttons=["copy", "copy_all"],
                )
                with gr.Row():
                    box = gr.Textbox(placeholder="Ask a question about the papers… (follow-ups work)",
                                     show_label=False, elem_id="ap-question", scale=8, autofocus=True,
                                     submit_btn=True, max_lines=4)
                    clear_btn = gr.Button("New chat", scale=1, min_width=90, variant="secondary", size="md")
                with gr.Accordion("Search settings: number of sources and filters", open=False):
                    with gr.Row():
                        k_slider = gr.Slider(1, 20, value=default_k, step=1, label="Sources (k)")
                        source_dd = gr.Dropdown([], value=[], multiselect=True, label="Source page",
                                                info="only papers seen on these pages")
                        category_dd = gr.Dropdown([], value=[], multiselect=True, allow_custom_value=True,
                                                  label="Category", info="e.g. cs.CL")
                    with gr.Row():
                        date_from = gr.Textbox(label="Date from", placeholder="YYYY[-MM[-DD]]")
                        date_to = gr.Textbox(label="Date to", placeholder="YYYY[-MM[-DD]]")
                with gr.Accordion("Add papers", open=False):
                    gr.Markdown(f"Upload files to index (up to {MAX_UPLOAD_MB} MB each). Read: {_supported()}. "
                                "Files are only read, never run; new papers are searchable as soon as this finishes.")
                    files = gr.File(file_count="multiple", label="Paper files", file_types=list(UPLOAD_EXTENSIONS),
                                    height=120)
                    add_btn = gr.Button("Add to the index", variant="primary")
                    upload_status = gr.HTML("", elem_classes=["ap-upload-status"])
            with gr.Column(scale=2, min_width=320):
                panel = gr.HTML(render_panel([]), elem_id="ap-sources")

        controls = [k_slider, source_dd, category_dd, date_from, date_to]
        limits = dict(concurrency_limit=CONCURRENCY, concurrency_id="answer")
        ask_ev = dict(fn=respond, inputs=[chatbot, sections] + controls, outputs=[chatbot, sections, panel],
                      api_visibility="private", **limits)
        box.submit(add_question, [box, chatbot], [box, chatbot], queue=False, api_visibility="private").then(**ask_ev)
        chatbot.example_select(pick_example, [chatbot], [box, chatbot], queue=False,
                               api_visibility="private").then(**ask_ev)
        clear_btn.click(clear, None, [chatbot, sections, panel, box], queue=False, api_visibility="private")
        chatbot.clear(clear, None, [chatbot, sections, panel, box], queue=False, api_visibility="private")
        add_btn.click(upload, [files], [upload_status], api_name="add_papers", concurrency_limit=1).then(
            refresh_controls, None, [source_dd, category_dd, header], api_visibility="private")
        demo.load(refresh_controls, None, [source_dd, category_dd, header], api_visibility="private")
        gr.api(chat, api_name="chat", **limits)
        gr.api(ask, api_name="ask", **limits)
    demo.queue(default_concurrency_limit=CONCURRENCY)
    return demo


def _role(message) -> str:
    return message.get("role", "") if isinstance(message, dict) else getattr(message, "role", "")


def _supported() -> str:
    from ingest.readers import SUPPORTED

    return SUPPORTED


# --------------------------------------------------------------------------- serving

def is_local(host: str) -> bool:
    host = (host or "").strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_auth(auth: str | None) -> tuple[str, str] | None:
    """'user:password' → (user, password); None/'' → None. Anything else is a WebError."""
    if not auth:
        return None
    user, sep, password = str(auth).partition(":")
    if not sep or not user or not password:
        raise WebError("--auth must be user:password (both non-empty)")
    return user, password


def check_binding(host: str, auth: str | None) -> tuple[str, str] | None:
    """The login to require; refuses a non-local address without one."""
    creds = parse_auth(auth)
    if not is_local(host) and creds is None:
        raise WebError(
            f"refusing to serve on {host}: that makes the page reachable from other machines. "
            f"Pass --auth user:password{_env_hint()} to require a login, "
            f"or bind to {DEFAULT_HOST}."
        )
    return creds


def _env_hint() -> str:
    from .settings import Settings

    return " (or set ASKPAPERS_AUTH)" if "auth" in Settings.model_fields else ""


def launch_kwargs() -> dict:
    import gradio as gr

    return dict(
        theme=gr.themes.Default(primary_hue="indigo", neutral_hue="slate"),
        css=CSS,
        head=HEAD_JS,
        max_file_size=f"{MAX_UPLOAD_MB}mb",
        show_error=False,
        footer_links=["api"],
    )


def serve(assistant, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, auth: str | None = None,
          block: bool = True, quiet: bool = False):
    """Serve the chat page. Returns the Blocks (running in the background) when `block` is False."""
    if auth is None:
        auth = getattr(assistant.settings, "auth", None)  # a settings field, if the project adds one
    creds = check_binding(host, auth)
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    warm = threading.Thread(target=_warm_up, args=(assistant,), daemon=True)
    warm.start()  # open the index and load the model while gradio imports
    demo = build_app(assistant)
    warm.join()
    demo.launch(server_name=host, server_port=port, auth=creds, prevent_thread_lock=True, quiet=True,
                inbrowser=False, share=False, ssr_mode=False, **launch_kwargs())
    if not quiet:
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
        where = f"http://{'[' + shown + ']' if ':' in shown else shown}:{demo.server_port}"
        print(f"askpapers chat on {where} (answers: {describe_mode(assistant.settings)})", flush=True)
        if not is_local(host):
            print(f"listening on {host}: reachable from other machines; login required (user {creds[0]!r})",
                  flush=True)
        print("Ctrl-C stops it.", flush=True)
    if not block:
        return demo
    try:
        while demo.is_running:
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("stopping", flush=True)
    finally:
        demo.close()
    return demo


def _warm_up(assistant) -> None:
    """Open the index and load the models before the first visitor asks (no LLM call)."""
    s = assistant.settings
    try:
        if s.llm_base_url or s.llm_gguf:
            assistant.search("What is attention in transformers?", k=1)
        else:
            assistant.ask("What is attention in transformers?")  # also loads the evidence scorer
    except Exception as exc:  # the page reports problems per question
        log.warning("warm-up failed: %s", exc)
