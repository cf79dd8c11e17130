"""Downloads under the chat: an answer as Markdown, its cited papers as BibTeX or RIS, and the
whole conversation as Markdown; plus the `/export` endpoint for API clients.

The page keeps each answer as its `Answer.to_dict()` in a per-session `gr.State`; the exports
(`assistant.export`) accept those dicts. Files are written to a fresh folder under the system
temp directory (gradio serves files from there); folders older than `KEEP_SECONDS` are removed
when new ones are made. `gradio` is passed in by the page (importing it here would be slow).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

ANSWER_FORMATS = {"markdown": "Markdown", "bibtex": "BibTeX", "ris": "RIS"}
API_FORMATS = ("markdown", "bibtex", "ris", "csljson", "conversation")
KEEP_SECONDS = 3600  # a download folder lives this long (a page reload asks again)
ROOT_NAME = "askpapers-downloads"


class ExportError(ValueError):
    """A bad /export request: one line naming the argument."""


def fresh_dir() -> Path:
    """A new folder for one set of downloads (and old ones removed)."""
    root = Path(tempfile.gettempdir()) / ROOT_NAME
    root.mkdir(exist_ok=True)
    cutoff = time.time() - KEEP_SECONDS
    for old in root.iterdir():
        try:
            if old.is_dir() and old.stat().st_mtime < cutoff:
                shutil.rmtree(old, ignore_errors=True)
        except OSError:  # another session removed it first
            continue
    return Path(tempfile.mkdtemp(dir=root))


def answer_files(answer: dict, number: int, directory: Path) -> dict[str, Path | None]:
    """The answer's download files by format; None for a bibliography of an answer citing no paper."""
    from ..export import cited_papers, export_answer, write_export

    files: dict[str, Path | None] = {}
    for fmt in ANSWER_FORMATS:
        if fmt != "markdown" and not cited_papers(answer):
            files[fmt] = None
            continue
        files[fmt] = write_export(export_answer(answer, fmt), fmt, directory, f"askpapers-answer-{number}")
    return files


def conversation_file(answers: list[dict], directory: Path) -> Path | None:
    from ..export import conversation_markdown, write_export

    if not answers:
        return None
    return write_export(conversation_markdown(answers), "markdown", directory, "askpapers-conversation")


def choices(answers: list[dict]) -> list[tuple[str, int]]:
    """The picker's entries: "3. What is VectorQ?" → index 2."""
    out = []
    for i, a in enumerate(answers):
        question = " ".join(str(a.get("question", "")).split())
        out.append((f"{i + 1}. {question[:70]}" + ("…" if len(question) > 70 else ""), i))
    return out


def download_files(answers: list[dict], picked: int | None) -> tuple[dict[str, Path | None], Path | None]:
    """The files for answer `picked` (the latest when None or out of range) and the conversation."""
    if not answers:
        return {fmt: None for fmt in ANSWER_FORMATS}, None
    index = picked if isinstance(picked, int) and 0 <= picked < len(answers) else len(answers) - 1
    directory = fresh_dir()
    return answer_files(answers[index], index + 1, directory), conversation_file(answers, directory)


def export_file(answer: Any, fmt: str) -> Path:
    """The `/export` endpoint: one answer dict (as `/ask` returns it) in `fmt`, or a list of them
    with fmt "conversation" (a single answer is a conversation of one). Returns the file."""
    from ..export import conversation_markdown, export_answer, write_export

    if fmt not in API_FORMATS:
        raise ExportError(f"format: {fmt!r} is not one of {', '.join(API_FORMATS)}")
    answers = answer if isinstance(answer, list) else [answer]
    if not answers or not all(isinstance(a, dict) and isinstance(a.get("text"), str) for a in answers):
        raise ExportError("answer: expected an answer dict as /ask returns it (or a list of them)")
    if fmt == "conversation":
        return write_export(conversation_markdown(answers), "markdown", fresh_dir(), "askpapers-conversation")
    if isinstance(answer, list):
        raise ExportError(f"answer: {fmt} exports one answer; pass a dict (or use format 'conversation')")
    try:
        return write_export(export_answer(answer, fmt), fmt, fresh_dir(), "askpapers-answer")
    except (TypeError, KeyError, AttributeError) as exc:
        raise ExportError(f"answer: not an answer dict as /ask returns it ({type(exc).__name__}: {exc})") from None


class DownloadRow:
    """The row under the chat: which answer, its three downloads, and the conversation's."""

    def __init__(self, gr) -> None:
        self.gr = gr
        with gr.Row(elem_id="ap-downloads", equal_height=True):
            self.picker = gr.Dropdown([], value=None, label="Download answer", scale=3, min_width=200,
                                      interactive=True)
            self.buttons = {fmt: gr.DownloadButton(label, value=None, interactive=False, size="sm", scale=1,
                                                   min_width=80, variant="secondary")
                            for fmt, label in ANSWER_FORMATS.items()}
            self.conversation = gr.DownloadButton("Conversation (Markdown)", value=None, interactive=False,
                                                  size="sm", scale=2, min_width=120, variant="secondary")

    @property
    def outputs(self) -> list:
        return [self.picker, *self.buttons.values(), self.conversation]

    def updates(self, answers: list[dict], picked: int | None = None, new_answer: bool = False) -> list:
        """Updates for `outputs`: the picker's entries (the latest picked after a new answer) and
        each button pointing at its file (disabled when there is none)."""
        gr = self.gr
        answers = list(answers or [])
        if new_answer or picked is None:
            picked = len(answers) - 1 if answers else None
        files, conversation = download_files(answers, picked)
        picker = gr.update(choices=choices(answers), value=picked)
        buttons = [gr.update(value=str(p) if p else None, interactive=p is not None) for p in files.values()]
        whole = gr.update(value=str(conversation) if conversation else None, interactive=conversation is not None)
        return [picker, *buttons, whole]

    def wire(self, answers_state, events: list, export_api: bool = True) -> None:
        """Refresh the downloads after each of `events` (the answer events) and when another
        answer is picked; add the `/export` endpoint."""
        private = dict(queue=False, api_visibility="private")
        for event in events:
            event.then(lambda answers: self.updates(answers, new_answer=True), [answers_state], self.outputs,
                       **private)
        self.picker.input(lambda answers, picked: self.updates(answers, picked), [answers_state, self.picker],
                          self.outputs, **private)
        if export_api:
            self._export_endpoint()

    def _export_endpoint(self) -> None:
        """`/export(answer, format) -> file`: for API clients (hidden components, no UI)."""
        gr = self.gr

        def export(answer, fmt):
            try:
                return str(export_file(answer, fmt))
            except ExportError as exc:
                raise gr.Error(str(exc)) from None

        answer_in = gr.JSON(visible=False)
        fmt_in = gr.Textbox(visible=False)
        file_out = gr.File(visible=False)
        trigger = gr.Button(visible=False)
        trigger.click(export, [answer_in, fmt_in], [file_out], api_name="export", concurrency_limit=4)
