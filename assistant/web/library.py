"""The page's Library tab: the indexed papers in a filterable, sortable table, the count by
source, and removing selected papers after a confirmation; plus the `/library` and
`/remove_papers` API endpoints.

The listing and the removal are `assistant.library`'s (the CLI's `papers` and `remove` use them
too); this module only renders (escaped HTML) and wires Gradio events. A removal takes the
uploads' write lock (one writer at a time), then invalidates the page's catalog so the chat's
filters and header show what is left.
"""

from __future__ import annotations

import logging
from typing import Any

from ingest.filters import AskpapersInputError

from .. import library
from .render import esc, safe_url

log = logging.getLogger("askpapers.web")

LIST_LIMIT = 500  # papers shown (and selectable) at once; the filters narrow the rest
SORT_CHOICES = [("Date (newest first)", "date"), ("Title (A–Z)", "title"), ("Recently added", "added")]
TABLE_STYLE = ("<style>#ap-library-table table{width:100%;border-collapse:collapse;font-size:.9rem}"
               "#ap-library-table th,#ap-library-table td{text-align:left;padding:4px 6px;"
               "border-bottom:1px solid var(--border-color-primary);vertical-align:top}"
               "#ap-library-table .ap-id{font-family:monospace;font-size:.8rem}</style>")


# ------------------------------------------------------------------ rendering (pure)
def render_table(papers: list[library.LibraryPaper], total: int) -> str:
    """The papers as an HTML table (every value escaped; titles linked to http(s) urls only)."""
    if not total:
        return '<p class="ap-library-empty">No papers in the index yet: add some under "Add papers".</p>'
    if not papers:
        return '<p class="ap-library-empty">No papers match these filters.</p>'
    rows = []
    for p in papers:
        url = safe_url(p.url)
        title = (f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer nofollow">{esc(p.title)}</a>'
                 if url else esc(p.title))
        rows.append(f'<tr data-paper-id="{esc(p.paper_id)}"><td class="ap-title">{title}</td>'
                    f"<td>{esc(p.date or '')}</td><td>{esc(', '.join(p.source_labels))}</td>"
                    f"<td>{esc(' '.join(p.categories))}</td><td>{esc((p.added or '')[:10])}</td>"
                    f'<td class="ap-id">{esc(p.paper_id)}</td></tr>')
    shown = f"{len(papers):,} of {total:,} papers" if len(papers) < total else f"{total:,} papers"
    return (f'{TABLE_STYLE}<p class="ap-library-shown">{shown}</p><table class="ap-library"><thead><tr>'
            "<th>Title</th><th>Date</th><th>Sources</th><th>Categories</th><th>Added</th><th>Id</th>"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table>")


def render_counts(counts: list[library.SourceCount]) -> str:
    """Papers per source, one line (readable names; the stored file name on hover)."""
    if not counts:
        return ""
    items = [f'<span title="{esc(c.name)}">{esc(c.label)}: <b>{c.papers:,}</b></span>' for c in counts]
    return '<div class="ap-library-counts">Papers by source: ' + " · ".join(items) + "</div>"


def paper_choices(papers: list[library.LibraryPaper]) -> list[tuple[str, str]]:
    """(label, paper id) for the selection checkboxes."""
    return [(f"{p.title} ({p.date or 'no date'}) · {p.paper_id}", p.paper_id) for p in papers]


def confirm_text(papers: list[library.LibraryPaper], selected: list[str]) -> str:
    """The question asked before a removal, naming the papers."""
    titles = {p.paper_id: p.title for p in papers}
    names = "".join(f"<li>{esc(titles.get(i, i))}</li>" for i in selected[:20])
    more = f"<li>… and {len(selected) - 20} more</li>" if len(selected) > 20 else ""
    n = len(selected)
    return (f"<p><b>Remove {n} paper{'s' if n != 1 else ''} from the index?</b> Their chunks and search entries "
            f"are deleted; add their files again to bring them back.</p><ul>{names}{more}</ul>")


# ------------------------------------------------------------------ the work behind the events
class Library:
    """Listing and removal for one page (and its API), serialised with uploads by `lock`."""

    def __init__(self, assistant, catalog, lock) -> None:
        self.assistant = assistant
        self.catalog = catalog
        self.lock = lock

    def view(self, source: str = "", category: str = "", sort: str = "date", query: str = "") -> dict[str, Any]:
        """The papers matching the filters (at most LIST_LIMIT), their total, the counts and choices."""
        everything = library.all_papers(self.assistant)
        try:
            shown = library.list_papers(self.assistant, sources=source or None, categories=category or None,
                                        sort=sort or "date", query=query or "", papers=everything)
        except AskpapersInputError:  # a source removed meanwhile: show everything
            shown = library.sort_papers(everything, sort or "date")
        counts = library.source_counts(papers=everything)
        categories = sorted({c for p in everything for c in p.categories})
        return {"papers": shown, "total": len(everything), "counts": counts, "categories": categories}

    def remove(self, paper_ids: list[str] | None = None, source: str = "") -> dict[str, Any]:
        """Remove papers (or a source) under the page's write lock; the report as a dict, or
        {"error": line}. While an upload holds the lock it says so at once instead of waiting
        silently for minutes."""
        if not self.lock.acquire(blocking=False):
            return {"error": "an upload into this library is still being indexed: remove the papers when it has finished"}
        try:
            report = library.remove(self.assistant, paper_ids=paper_ids or [], source=source or None)
        except AskpapersInputError as exc:
            return {"error": str(exc)}
        except Exception as exc:  # never a stack trace in the page
            log.exception("removing %s failed", paper_ids or source)
            return {"error": f"could not remove: {type(exc).__name__}: {exc}"}
        finally:
            self.lock.release()
            self.catalog.invalidate()
        return report.to_dict() | {"summary": report.summary()}


# ------------------------------------------------------------------ Gradio wiring
def library_tab(gr, demo, assistant, catalog, lock, refresh_controls, chat_controls: list) -> Library:
    """Add the Library tab and the `/library`, `/remove_papers` endpoints to the page being built.

    `refresh_controls` / `chat_controls`: the page's handler that refreshes the chat's filters and
    header from the catalog, and its outputs; run after each removal."""
    lib = Library(assistant, catalog, lock)
    with gr.Tab("Library", elem_id="ap-library"):
        counts = gr.HTML("", elem_id="ap-library-counts")
        with gr.Row():
            source = gr.Dropdown([("All sources", "")], value="", label="Source", elem_id="ap-library-source")
            category = gr.Dropdown([("All categories", "")], value="", label="Category",
                                   elem_id="ap-library-category")
            query = gr.Textbox(label="Title contains", elem_id="ap-library-query")
            sort = gr.Radio(SORT_CHOICES, value="date", label="Sort by", elem_id="ap-library-sort")
        table = gr.HTML("", elem_id="ap-library-table")
        with gr.Accordion("Remove papers", open=False, elem_id="ap-library-remove"):
            selected = gr.CheckboxGroup([], value=[], label="Papers to remove (those listed above)",
                                        elem_id="ap-library-select")
            remove_btn = gr.Button("Remove selected…", variant="stop", elem_id="ap-library-remove-btn")
            with gr.Group(visible=False) as confirm_box:
                question = gr.HTML("", elem_id="ap-library-question")
                with gr.Row():
                    yes = gr.Button("Yes, remove them", variant="stop", elem_id="ap-library-confirm")
                    no = gr.Button("Cancel", elem_id="ap-library-cancel")
        status = gr.HTML("", elem_id="ap-library-status")

    def refresh(source_v, category_v, sort_v, query_v):
        v = lib.view(source_v, category_v, sort_v, query_v)
        shown = v["papers"][:LIST_LIMIT]
        sources = [("All sources", "")] + [(f"{c.label} ({c.papers})", c.name) for c in v["counts"]]
        cats = [("All categories", "")] + [(c, c) for c in v["categories"]]
        return (render_table(shown, v["total"]), gr.update(choices=paper_choices(shown), value=[]),
                render_counts(v["counts"]), gr.update(choices=sources), gr.update(choices=cats))

    def ask_confirm(ids):
        if not ids:
            return gr.update(visible=False), "", '<span class="ap-err">Select papers to remove first.</span>'
        return gr.update(visible=True), confirm_text(library.all_papers(assistant), list(ids)), ""

    def do_remove(ids):
        result = lib.remove(list(ids or []))
        line = (f'<span class="ap-err">{esc(result["error"])}</span>' if "error" in result
                else f'<span class="ap-ok">{esc(result["summary"])}</span>')
        return gr.update(visible=False), line

    filters = [source, category, sort, query]
    views = [table, selected, counts, source, category]
    private = {"queue": False, "api_visibility": "private"}
    for control in (source, category, sort):
        control.change(refresh, filters, views, **private)
    query.submit(refresh, filters, views, **private)
    demo.load(refresh, filters, views, **private)
    remove_btn.click(ask_confirm, [selected], [confirm_box, question, status], **private)
    no.click(lambda: gr.update(visible=False), None, [confirm_box], **private)
    yes.click(do_remove, [selected], [confirm_box, status], api_visibility="private", concurrency_limit=1,
              concurrency_id="upload").then(refresh, filters, views, **private).then(
        refresh_controls, None, chat_controls, **private)

    # ---- API endpoints (gradio_client)
    def list_library(source: str = "", category: str = "", sort: str = "date", query: str = "") -> dict:
        """The indexed papers (`papers`: title, date, url, sources with readable labels, categories,
        id, added), filtered by source (file name or label), category and title words, sorted by
        date, title or added; `total` papers in the index and the count by source (`sources`)."""
        try:
            papers = library.list_papers(assistant, sources=source or None, categories=category or None,
                                         sort=sort or "date", query=query or "")
        except AskpapersInputError as exc:
            return {"error": str(exc)}
        everything = library.all_papers(assistant)
        return {"papers": [p.to_dict() for p in papers], "total": len(everything),
                "sources": [c.to_dict() for c in library.source_counts(papers=everything)]}

    def remove_papers(paper_ids: list[str] | None = None, source: str = "") -> dict:
        """Remove papers by id, or a source (file name or label: papers read only from it go, the
        others stay without it). Returns `removed`, `kept`, `papers_total` and a `summary` line,
        or `error` (unknown ids: nothing is removed)."""
        return lib.remove(paper_ids, source)

    gr.api(list_library, api_name="library", concurrency_limit=None)
    gr.api(remove_papers, api_name="remove_papers", concurrency_limit=1, concurrency_id="upload")
    return lib
