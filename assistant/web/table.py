"""The page's "Evidence table" tab: a question answered for each of the top k papers, one row
per paper (`assistant.table.evidence_table`), shown as an escaped HTML table with a CSV
download; the `/table` endpoint returns the same HTML and the CSV file.

`render_table` is pure (tested without a server); `table_tab` builds the tab with the `gradio`
module the page passes in.
"""

from __future__ import annotations

import logging

from .render import esc, link_citations, render_warnings, safe_url

log = logging.getLogger("askpapers.web")

TAB_ID = "table"  # citations in the table link to #src-table-n (the row of paper n)
PLACEHOLDER = ('<div class="ap-placeholder">Ask one question of many papers, e.g. "which datasets do the '
               'tokenizer-transfer papers use?": each of the top papers gets its own row with what its abstract '
               'says and the supporting quote, or "not stated in the abstract".</div>')


def _row_html(row) -> str:
    title = esc(row.title)
    url = safe_url(row.url)
    if url:
        title = f'<a href="{esc(url)}" target="_blank" rel="noopener noreferrer nofollow">{title}</a>'
    meta = " · ".join(esc(x) for x in (row.date, row.sources, row.relevance) if x)
    answer = link_citations(esc(row.answer), TAB_ID, {row.number: row.title}) if row.stated else (
        f'<span class="ap-not-stated">{esc(row.answer)}</span>')
    quote = f'<mark class="ap-quote">{esc(row.quote)}</mark>' if row.quote else ""
    cls = "ap-row" if row.stated else "ap-row ap-row-not-stated"
    return (f'<tr class="{cls}" id="src-{TAB_ID}-{row.number}"><td class="ap-num">[{row.number}]</td>'
            f'<td><div class="ap-title">{title}</div><div class="ap-src-meta">{meta}</div></td>'
            f"<td>{answer}</td><td>{quote}</td></tr>")


def render_table(table) -> str:
    """The table as HTML: [n], the paper (linked title, date, where it was read, relevance), the
    answer from its abstract and the supporting quote. Every text is escaped."""
    from .render import mode_label

    if not table.rows:
        return (f'<div class="ap-table-view">{render_warnings(table.warnings)}'
                '<p class="ap-empty">No papers matched (check the filters, or add papers).</p></div>')
    stated = sum(r.stated for r in table.rows)
    head = (f'<div class="ap-turn-head"><span class="ap-mode">{esc(mode_label(table.mode))}</span>'
            f'<div class="ap-q">{esc(table.question)}</div>'
            f"<div>{stated} of {len(table.rows)} papers state it in their abstract</div></div>")
    rows = "".join(_row_html(r) for r in table.rows)
    return (f'<div class="ap-table-view">{head}{render_warnings(table.warnings)}'
            '<table class="ap-evidence"><thead><tr><th>#</th><th>Paper</th><th>Answer</th><th>Quote</th></tr>'
            f"</thead><tbody>{rows}</tbody></table></div>")


def build_table(assistant, question: str, k, sources=None, categories=None, date_from=None, date_to=None):
    """(HTML, CSV file or None) for the tab and `/table`; a bad argument is shown as one line."""
    from ingest.filters import AskpapersInputError

    from ..table import evidence_table
    from .downloads import fresh_dir
    from .page import make_filters

    try:
        filters = make_filters(sources, categories, date_from, date_to)
        k = int(k) if k else 10
        table = evidence_table(assistant, question if isinstance(question, str) else "", k=k, filters=filters)
    except (AskpapersInputError, ValueError) as exc:
        return render_warnings([str(exc)]), None
    except Exception as exc:  # never a stack trace in the page
        log.exception("evidence table for %r failed", question)
        return render_warnings([f"Could not build the table: {type(exc).__name__}: {exc}"]), None
    if not table.rows:
        return render_table(table), None
    path = fresh_dir() / "askpapers-table.csv"
    path.write_text(table.to_csv(), encoding="utf-8")
    return render_table(table), str(path)


def table_tab(gr, assistant, controls: list, **limits) -> None:
    """The "Evidence table" tab. `controls` are the page's [k, sources, categories, date from,
    date to]: the table uses the same filters as the chat, and its own number of papers."""
    with gr.Tab("Evidence table", elem_id="ap-table-tab"):
        with gr.Row(equal_height=True):
            question = gr.Textbox(placeholder="A question for each paper, e.g. which datasets do the "
                                              "tokenizer-transfer papers use?", show_label=False, scale=6,
                                  elem_id="ap-table-question", max_lines=3)
            k = gr.Slider(1, 30, value=10, step=1, label="Papers (rows)", scale=2)
            build = gr.Button("Build table", variant="primary", scale=1, min_width=100)
        csv_btn = gr.DownloadButton("Download CSV", value=None, interactive=False, size="sm", variant="secondary")
        out = gr.HTML(PLACEHOLDER, elem_id="ap-table")

    def run(q, n, sources, categories, date_from, date_to):
        return build_table(assistant, q, n, sources, categories, date_from, date_to)

    def enable(path):  # the CSV button is clickable only when there is a table to download
        return gr.update(interactive=bool(path))

    inputs, outputs = [question, k] + list(controls[1:]), [out, csv_btn]
    private = dict(queue=False, api_visibility="private")
    build.click(run, inputs, outputs, api_name="table", **limits).then(enable, [csv_btn], [csv_btn], **private)
    question.submit(run, inputs, outputs, api_visibility="private", **limits).then(
        enable, [csv_btn], [csv_btn], **private)
