"""The chat page as a `gr.Blocks`: layout, event wiring and the `/chat`, `/ask`, `/add_papers` API.

A thin layer over `Assistant.stream()` and the upload jobs: no retrieval or answer logic here.
This module has no `from __future__ import annotations`: gradio reads the `gr.Request` /
`gr.SelectData` annotations of the handlers at run time. `gradio` is imported inside
`build_app` only (importing it takes seconds).
"""

import logging
import os
import queue
import threading
from typing import Any

from .downloads import DownloadRow
from .library import library_tab
from .render import (api_text, esc, plain_text, render_answer, render_error, render_header, render_panel,
                     render_partial, render_sources)
from .table import table_tab
from .uploads import UploadJob, UploadLimits, nothing_to_add, received_by, refusal, upload_paths

log = logging.getLogger("askpapers.web")

CONCURRENCY = 12  # answers computed at once (shared by the page and the API); more wait in the queue
MAX_TURNS_KEPT = 20  # answers whose sources stay in the panel
STATUS_POLL_SECONDS = 0.5  # how often a running upload's status line is refreshed
CANCEL_WAIT_SECONDS = 120  # a cancel waits this long for the running batch and the commit
EXAMPLES = (
    "Which papers train a hypernetwork to predict embeddings for new tokens?",
    "What is VectorQ?",
    "How much extra misclassification does the GAMA attack cause in black-box settings?",
    "Which papers let LLMs reason in latent space instead of chain-of-thought tokens?",
)


def make_filters(sources=None, categories=None, date_from: str | None = None, date_to: str | None = None):
    """The page's filter controls → `SearchFilters` (None when empty).

    Validation is `SearchFilters.coerce`'s (the CLI and the API use it too): a bad value raises
    ValueError (`FilterError`) with a one-line message the page shows.
    """
    from ingest.filters import SearchFilters

    def as_list(v) -> list:
        return [v] if isinstance(v, str) else list(v or [])

    f = SearchFilters.coerce({
        "sources": [s for s in as_list(sources) if s],
        "categories": [c.strip() for c in as_list(categories) if c and c.strip()],
        "date_from": (date_from or "").strip() or None,
        "date_to": (date_to or "").strip() or None,
    })
    return None if f is None or f.is_empty() else f


class Catalog:
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

    def choices(self) -> tuple[list[tuple[str, str]], list[str]]:
        stats = self.stats()
        sources = [(f"{name} ({n})", name) for name, n in (stats.get("sources") or {}).items()]
        return sources, list((stats.get("categories") or {}).keys())[:200]


def answer_stream(assistant, question: str, history: list[dict], k, sources, categories, date_from, date_to):
    """Yields ("partial", text) while streaming, ("status", line) while a slow model is silent,
    then ("final", Answer) or ("error", message)."""
    from ingest.filters import AskpapersInputError

    from ..answers import Answer

    try:
        filters = make_filters(sources, categories, date_from, date_to)
    except ValueError as exc:
        yield "error", str(exc)
        return
    try:
        k = int(k) if k else None
    except (TypeError, ValueError):
        k = None
    # the answer runs in a worker so that a slow model's status lines ("reading 5 papers with …
    # (12 s)") reach the page while nothing else can: the answerer reports them from inside its wait
    events: queue.Queue = queue.Queue()

    def work() -> None:
        try:
            for item in assistant.stream(question, history=history or None, k=k, filters=filters,
                                         on_status=lambda line: events.put(("status", line))):
                events.put(("item", item))
        except AskpapersInputError as exc:  # a bad question or history: its one line
            events.put(("error", str(exc)))
        except Exception as exc:  # never a stack trace in the page
            log.exception("answering %r failed", question)
            events.put(("error", f"Could not answer: {type(exc).__name__}: {exc}"))
        finally:
            events.put(("done", None))

    threading.Thread(target=work, name="askpapers-answer", daemon=True).start()
    text = ""
    while True:
        kind, value = events.get()
        if kind == "done":
            return
        if kind in ("status", "error"):
            yield kind, value
        elif isinstance(value, Answer):
            yield "final", value
        else:
            text += value
            yield "partial", text


def _role(message) -> str:
    return message.get("role", "") if isinstance(message, dict) else getattr(message, "role", "")


def respond(assistant, chat: list, sections: list[str], turns: list[dict], k=None, sources=None,
            categories=None, date_from=None, date_to=None, on_answer=None):
    """Answer the last user message of the chat; yields (chat, sections, turns, panel or None).
    `on_answer` gets the final `Answer` (the page keeps its dict for the download buttons).

    The page keeps the conversation as `Turn` dicts (`turns`, with the ids of the papers each
    answer cited) and passes them as history, so follow-ups know what was cited; the chat HTML
    is only what the user sees. `panel` is None while the answer streams (unchanged).
    """
    from ..turns import Turn, message_text

    chat, sections, turns = list(chat or []), list(sections or []), list(turns or [])
    if not chat or _role(chat[-1]) != "user":
        yield chat, sections, turns, render_panel(sections)
        return
    last = chat[-1] if isinstance(chat[-1], dict) else {"content": getattr(chat[-1], "content", "")}
    question = plain_text(message_text(last))
    turn = len(sections) + 1
    chat.append({"role": "assistant", "content": render_partial("")})
    yield chat, sections, turns, None
    for kind, value in answer_stream(assistant, question, turns, k, sources, categories, date_from, date_to):
        if kind == "partial":
            chat[-1] = {"role": "assistant", "content": render_partial(value)}
            yield chat, sections, turns, None
        elif kind == "status":
            if "ap-streaming" not in chat[-1]["content"]:  # only while no text has come
                chat[-1] = {"role": "assistant", "content": render_partial("", status=value)}
                yield chat, sections, turns, None
        elif kind == "error":
            chat[-1] = {"role": "assistant", "content": render_error(value)}
            yield chat, sections, turns, None
        else:
            chat[-1] = {"role": "assistant", "content": render_answer(value, turn)}
            sections = (sections + [render_sources(value, turn)])[-MAX_TURNS_KEPT:]
            turns = (turns + [Turn.from_answer(value).to_dict()])[-MAX_TURNS_KEPT:]
            if on_answer is not None:
                on_answer(value)
            yield chat, sections, turns, render_panel(sections)


class Uploads:
    """The page's upload handlers: one running `UploadJob` per browser session, cancellable."""

    def __init__(self, assistant, catalog: Catalog, received) -> None:
        self.assistant = assistant
        self.catalog = catalog
        self.received = received
        self.limits = UploadLimits.from_settings(assistant.settings)
        self.jobs: dict[str, UploadJob] = {}
        self.write_lock = threading.Lock()

    def run(self, files, session: str):
        """Yield the status line of an upload until it is done (a closed generator cancels it)."""
        accepted, refused = [], []
        for path in upload_paths(files):
            if self.received(path):
                accepted.append((path, os.path.basename(path)))
            else:
                refused.append(refusal(path))
        if not accepted:
            yield nothing_to_add(refused)
            return
        job = UploadJob(self.assistant.index, accepted, self.limits, self.write_lock, errors=refused).start()
        self.jobs[session] = job
        try:
            # yield at every poll, changed or not: gradio can close (cancel) a generator only
            # while it is paused at a yield
            while not job.wait(STATUS_POLL_SECONDS):
                yield job.status_html()
            yield job.status_html()
        finally:
            if not job.done.is_set():  # cancelled or the client went away
                job.cancel()
            if self.jobs.get(session) is job:
                del self.jobs[session]
            self.catalog.invalidate()

    def cancel(self, session: str) -> str | None:
        """Cancel the session's upload and return its final status (None: nothing was running)."""
        job = self.jobs.get(session)
        if job is None:
            return None
        job.cancel()
        job.wait(CANCEL_WAIT_SECONDS)
        self.catalog.invalidate()  # the commit after the cancel changed the index
        return job.status_html()


def build_app(assistant):
    """The chat page for `assistant` as a `gr.Blocks` (not launched)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    from ..turns import Turn

    catalog = Catalog(assistant)
    settings = assistant.settings
    default_k = int(getattr(settings, "top_k", 5) or 5)

    # ---- UI handlers
    def add_question(message, chat):
        message = (message or "").strip()
        chat = list(chat or [])
        if message:
            chat.append({"role": "user", "content": esc(message)})
        return "", chat

    def on_respond(chat, sections, turns, answers, *controls):
        answers = list(answers or [])  # each answer's dict, for the download buttons

        def keep(answer):
            answers.append(answer.to_dict())

        for chat, sections, turns, panel in respond(assistant, chat, sections, turns, *controls, on_answer=keep):
            yield chat, sections, turns, answers[-MAX_TURNS_KEPT:], gr.skip() if panel is None else panel

    def clear():
        return [], [], [], [], render_panel([]), ""

    def pick_example(chat, evt: gr.SelectData):
        value = evt.value
        text = value.get("text", "") if isinstance(value, dict) else str(value or "")
        return add_question(text, chat)

    def refresh_controls():
        src, cats = catalog.choices()
        return gr.update(choices=src), gr.update(choices=cats), render_header(catalog.stats(), settings)

    def upload(files, request: gr.Request):
        yield from uploads.run(files, request.session_hash or "")

    def cancel_upload(request: gr.Request):
        status = uploads.cancel(request.session_hash or "")
        return gr.skip() if status is None else status

    # ---- API endpoints (gradio_client): /chat streams text, /ask returns the Answer as a dict
    def chat(message: str, history: list | None = None, k: int = 0, source: str = "", category: str = "",
             date_from: str = "", date_to: str = "") -> str:
        """Answer `message` from the indexed papers. Streams the text; the last value is the final
        answer with its [n] citations, then "Sources:" with one "[n] Title — url" line per paper.
        `history` is the conversation so far, oldest first: {"role", "content"} messages, or the
        turns `/ask` describes (`Turn.to_dict()`: they carry the cited paper ids)."""
        for kind, value in answer_stream(assistant, message, history, k, source, category, date_from, date_to):
            if kind == "final":
                yield api_text(value)
            elif kind == "error":
                yield f"error: {value}"
            elif kind == "partial":
                yield value

    def ask(message: str, history: list | None = None, k: int = 0, source: str = "", category: str = "",
            date_from: str = "", date_to: str = "") -> dict:
        """Answer `message`; returns the whole Answer (text, citations, papers, refused, mode, warnings)
        and `turn`: pass the turns back as `history` for follow-ups that know what was cited."""
        for kind, value in answer_stream(assistant, message, history, k, source, category, date_from, date_to):
            if kind == "final":
                return value.to_dict() | {"turn": Turn.from_answer(value).to_dict()}
            if kind == "error":
                return {"question": message, "error": value}
        return {"question": message, "error": "no answer"}

    with gr.Blocks(title="askpapers", analytics_enabled=False, fill_width=True) as demo:
        uploads = Uploads(assistant, catalog, received_by(demo))
        header = gr.HTML(render_header({"papers_total": 0}, settings), elem_id="ap-header")
        sections = gr.State([])  # the sources panel of each answer (HTML)
        turns = gr.State([])  # the conversation as Turn dicts: the history `stream` gets
        answers = gr.State([])  # each answer as `Answer.to_dict()`: what the download buttons export
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=420):
                chatbot, box, clear_btn = _chat_column(gr)
                downloads = DownloadRow(gr)
                k_slider, source_dd, category_dd, date_from, date_to = _filter_controls(gr, default_k)
                files, add_btn, cancel_btn, upload_status = _upload_controls(gr, settings)
            with gr.Column(scale=2, min_width=320):
                panel = gr.HTML(render_panel([]), elem_id="ap-sources")

        controls = [k_slider, source_dd, category_dd, date_from, date_to]
        limits = dict(concurrency_limit=CONCURRENCY, concurrency_id="answer")
        private = dict(queue=False, api_visibility="private")
        ask_ev = dict(fn=on_respond, inputs=[chatbot, sections, turns, answers] + controls,
                      outputs=[chatbot, sections, turns, answers, panel], api_visibility="private", **limits)
        cleared = [chatbot, sections, turns, answers, panel, box]
        downloads.wire(answers, [
            box.submit(add_question, [box, chatbot], [box, chatbot], **private).then(**ask_ev),
            chatbot.example_select(pick_example, [chatbot], [box, chatbot], **private).then(**ask_ev),
            clear_btn.click(clear, None, cleared, **private),
            chatbot.clear(clear, None, cleared, **private),
        ])
        table_tab(gr, assistant, controls, **limits)
        # uploads: one at a time (they write the index), in their own group so questions go on
        upload_ev = add_btn.click(upload, [files], [upload_status], api_name="add_papers",
                                  concurrency_limit=1, concurrency_id="upload")
        upload_ev.then(refresh_controls, None, [source_dd, category_dd, header], api_visibility="private")
        cancel_btn.click(cancel_upload, None, [upload_status], cancels=[upload_ev], api_name="cancel_upload",
                         concurrency_limit=None).then(
            refresh_controls, None, [source_dd, category_dd, header], api_visibility="private")
        demo.load(refresh_controls, None, [source_dd, category_dd, header], api_visibility="private")
        library_tab(gr, demo, assistant, catalog, uploads.write_lock, refresh_controls, [source_dd, category_dd, header])
        gr.api(chat, api_name="chat", **limits)
        gr.api(ask, api_name="ask", **limits)
    demo.queue(default_concurrency_limit=CONCURRENCY)
    return demo


def _chat_column(gr) -> tuple[Any, Any, Any]:
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
    return chatbot, box, clear_btn


def _filter_controls(gr, default_k: int) -> tuple[Any, ...]:
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
    return k_slider, source_dd, category_dd, date_from, date_to


def _upload_controls(gr, settings) -> tuple[Any, ...]:
    from ingest.readers import EXTENSIONS, SUPPORTED

    with gr.Accordion("Add papers", open=False):
        gr.Markdown(f"Upload files to index (up to {settings.upload_max_mb} MB and "
                    f"{settings.upload_max_records:,} records in all). Read: {SUPPORTED}. "
                    "Files are only read, never run; new papers are searchable as soon as this finishes.")
        files = gr.File(file_count="multiple", label="Paper files", file_types=sorted(EXTENSIONS), height=120)
        with gr.Row():
            add_btn = gr.Button("Add to the index", variant="primary", scale=3)
            cancel_btn = gr.Button("Cancel", variant="stop", scale=1, min_width=90)
        upload_status = gr.HTML("", elem_classes=["ap-upload-status"])
    return files, add_btn, cancel_btn, upload_status
