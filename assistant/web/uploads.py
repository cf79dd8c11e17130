"""Papers uploaded through the chat page: only files this page received, a record cap, progress, cancel.

An upload runs as an `UploadJob` in its own thread: the page's event handler only polls it for a
status line, so a Cancel click (or a client that goes away) stops the job between two batches of
papers, and the index is committed either way (what was embedded is searchable, nothing is half
written). Questions keep being answered meanwhile: they run in another concurrency group.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from .render import esc

log = logging.getLogger("askpapers.web")

UPLOAD_BATCH = 64  # papers embedded between two cancel checks (about 2 s on 2 cores)
SHOWN_ERRORS = 100  # problems listed in the status; the rest are counted


@dataclass
class UploadLimits:
    """What one upload may hold (from the settings `upload_max_mb` and `upload_max_records`)."""

    max_mb: int = 50
    max_records: int = 20_000

    @classmethod
    def from_settings(cls, settings) -> "UploadLimits":
        return cls(max_mb=settings.upload_max_mb, max_records=settings.upload_max_records)


def upload_paths(values: Iterable | None) -> list[str]:
    """The file paths in a `gr.File` value (strings, or objects with a `.path` / `.name`)."""
    paths = []
    for v in values or []:
        path = v if isinstance(v, str) else getattr(v, "path", None) or getattr(v, "name", None)
        if path:
            paths.append(str(path))
    return paths


def received_by(demo) -> Callable[[str], bool]:
    """A check that a path is a file this page's upload route received.

    Gradio copies every file named in a request into its upload folder before our handler runs
    (a server path or URL named by a hostile client included), so being in that folder proves
    nothing. Its upload route also records each file it writes in `Blocks.upload_file_set`: only
    those are accepted (resolved, so a symlink cannot lead outside). If gradio drops that set,
    every path is refused (tests/test_web_uploads.py fails then).
    """
    from gradio.utils import get_upload_folder

    folder = Path(get_upload_folder()).resolve()

    def received(path: str) -> bool:
        received_set = getattr(demo, "upload_file_set", None) or ()
        if os.path.abspath(path) not in {os.path.abspath(p) for p in received_set}:
            return False
        try:
            real = Path(path).resolve(strict=True)
        except OSError:
            return False
        return real.is_file() and real.is_relative_to(folder)

    return received


def refusal(path: str) -> str:
    """The one line shown for a path the page did not receive in an upload."""
    return f"{Path(path).name}: refused: only files uploaded through this page can be added"


def _file_error(line: str, path: str, name: str) -> str:
    """A reader's one-line error, naming the uploaded file as the user knows it (no temp path)."""
    return line.removeprefix("askpapers: ").replace(str(path), name)


@dataclass
class _Progress:
    file_no: int = 0
    name: str = ""
    phase: str = "waiting"  # waiting | reading | embedding | committing | done
    papers_done: int = 0
    papers_total: int = 0
    records_used: int = 0
    waiting: str = ""  # another process is writing the index: its one line
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # how a file was read ("read as utf-16"): no problem


class UploadJob:
    """Ingest uploaded files in a thread, in bounded batches, checking for a cancel between them."""

    def __init__(self, index, files: list[tuple[str, str]], limits: UploadLimits, lock: threading.Lock,
                 errors: Iterable[str] = (), batch: int = UPLOAD_BATCH) -> None:
        from ingest.pipeline import IngestReport

        self.index = index
        self.files = files  # (path, name shown to the user)
        self.limits = limits
        self.batch = batch
        self._lock = lock
        self.report = IngestReport()
        self.progress = _Progress(errors=list(errors))
        self.papers_in_index: int | None = None
        self.cancelled = threading.Event()
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="askpapers-upload", daemon=True)

    # ---------------------------------------------------------------- control
    def start(self) -> "UploadJob":
        self._thread.start()
        return self

    def cancel(self) -> None:
        """Stop before the next batch; what is already embedded stays and is committed."""
        self.cancelled.set()

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)

    def run(self) -> "UploadJob":
        """Run in the calling thread (tests, scripts)."""
        self._run()
        return self

    # ---------------------------------------------------------------- work
    def _run(self) -> None:
        from ingest.store import IndexError_
        from ingest.store.lock import IngestLockCancelled, exclusive_writer

        p = self.progress
        try:
            with self._lock:  # one writer at a time in this page; questions go on meanwhile
                # and one writer per index across processes (an `askpapers ingest` meanwhile)
                with exclusive_writer(self.index, on_wait=self._waiting, cancelled=self.cancelled.is_set):
                    self._ingest_files()
        except IngestLockCancelled:
            pass
        except IndexError_ as exc:  # waited too long for another ingest: one line
            p.errors.append(f"{p.name or 'upload'}: nothing added: {exc}")
        except Exception as exc:  # keep the page alive; the log has the traceback
            log.exception("upload failed")
            p.errors.append(f"{p.name or 'upload'}: could not be added ({type(exc).__name__}: {exc})")
        finally:
            p.phase = "done"
            self.done.set()

    def _waiting(self, line: str) -> None:
        """Another process (an `askpapers ingest`) is writing the index: say so in the status."""
        self.progress.waiting = line.removeprefix("askpapers: ")

    def _ingest_files(self) -> None:
        p = self.progress
        p.waiting = ""
        try:
            for i, (path, name) in enumerate(self.files, start=1):
                if self.cancelled.is_set():
                    break
                p.file_no, p.name, p.papers_done, p.papers_total = i, name, 0, 0
                self._ingest_file(path, name)
        except Exception as exc:  # keep the page alive; the log has the traceback
            log.exception("upload of %s failed", p.name)
            p.errors.append(f"{p.name}: could not be added ({type(exc).__name__}: {exc})")
        finally:
            p.phase = "committing"
            self._commit()

    def _ingest_file(self, path: str, name: str) -> None:
        from ingest.dedupe import dedupe
        from ingest.pipeline import RunState, ingest_papers, stamp_digests

        p = self.progress
        papers = self._read(path, name)
        if not papers:
            return
        stamp_digests(papers)  # as `askpapers ingest` reads a file: the same file later is unchanged
        papers = dedupe(papers)
        p.phase, p.papers_total = "embedding", len(papers)
        run = RunState()  # the file's batches are one run, as the parts of a big file are for ingest
        try:
            for start in range(0, len(papers), self.batch):
                if self.cancelled.is_set():
                    return
                ingest_papers(papers[start:start + self.batch], self.index, self.report, progress=False, run=run)
                p.papers_done = min(start + self.batch, len(papers))
        finally:
            run.tally(self.report)

    def _read(self, path: str, name: str) -> list:
        """The file's papers, or [] after one line when it is too big or has too many records.

        The size is checked before reading; the records are counted as they stream in, and papers
        past the cap are counted, never kept, so a file of many tiny records cannot fill memory."""
        from ingest.readers import read_paths

        p = self.progress
        p.phase = "reading"
        max_bytes = self.limits.max_mb * 1024 * 1024
        try:
            size = os.path.getsize(path)
        except OSError as exc:
            p.errors.append(f"{name}: cannot read the upload ({exc.strerror or exc})")
            return []
        if size > max_bytes:
            p.errors.append(f"{name}: {size / 1024 / 1024:.1f} MB is over the {self.limits.max_mb} MB upload "
                            "limit; use `askpapers ingest` for big files")
            return []
        room = self.limits.max_records - p.records_used
        papers, errors, streamed = [], [], [0]

        def keep(_path, part) -> None:  # papers as they are read: past the cap only counted, not kept
            streamed[0] += len(part)
            if streamed[0] <= room:
                papers.extend(part)

        for _path, file_papers, file_errors in read_paths([path], keep, papers_per_call=1000):
            keep(_path, file_papers)
            errors.extend(file_errors)
        records = streamed[0] + sum(1 for e in errors if not e.whole_file and not e.notice)
        if records > room:
            already = f" ({p.records_used:,} already in this upload)" if p.records_used else ""
            p.errors.append(f"{name}: {records:,} records is over the limit of {self.limits.max_records:,} "
                            f"records per upload{already}; nothing from it was added "
                            "(split it, or use `askpapers ingest`)")
            return []
        p.records_used += records
        self.report.files_read += 1
        self.report.records_read += len(papers)
        p.errors.extend(_file_error(str(e), path, name) for e in errors if not e.notice)
        p.notes.extend(_file_error(str(e), path, name) for e in errors if e.notice)  # as the CLI: not counted
        return papers

    def _commit(self) -> None:
        """Make what was written searchable (also after a cancel or an error mid-way)."""
        try:
            if self.index.needs_commit():
                self.index.commit()
            self.papers_in_index = len(self.index.side.table)
        except Exception as exc:
            log.exception("commit after upload failed")
            self.progress.errors.append(f"the index could not be updated ({type(exc).__name__}: {exc}); "
                                        "run `askpapers ingest` again on the file")

    # ---------------------------------------------------------------- status
    def status_html(self) -> str:
        """The status line under the upload box: progress while running, the summary at the end."""
        p = self.progress
        if p.phase != "done":
            where = f"<b>{esc(p.name)}</b> ({p.file_no}/{len(self.files)})" if p.name else "the upload"
            if p.phase == "embedding":
                step = f"Embedding {where}: {p.papers_done:,} of {p.papers_total:,} papers"
            elif p.phase == "committing":
                step = "Making the new papers searchable"
            elif p.phase == "waiting":
                step = esc(p.waiting[:1].upper() + p.waiting[1:].rstrip("…")) if p.waiting else "Waiting for another upload to finish"
            else:
                step = f"Reading {where}"
            stopping = " Cancelling after this batch…" if self.cancelled.is_set() else ""
            return f'<div class="ap-upload-status">{step}…{stopping}</div>'
        return f'<div class="ap-upload-status">{self._summary()}{render_problems(p.errors)}{render_notes(p.notes)}</div>'

    def _summary(self) -> str:
        r, p = self.report, self.progress
        added = r.added
        total = f" The index now holds {self.papers_in_index:,} papers." if self.papers_in_index is not None else ""
        cancelled = ""
        if self.cancelled.is_set():
            cancelled = (f'<span class="ap-err">Cancelled</span> at {esc(p.name)}: {p.papers_done:,} of '
                         f"{p.papers_total:,} papers processed; what was added is kept. ")
        return (f'{cancelled}<span class="ap-ok">{added} paper{"s" if added != 1 else ""} added</span>, '
                f"{r.updated + r.sources_updated} updated, {r.unchanged} unchanged ({r.records_read} records read)."
                f"{total}" + (" New papers are searchable now." if added or r.updated else ""))


def render_problems(errors: list[str]) -> str:
    """The one-line problems of an upload as a list (the first SHOWN_ERRORS of them)."""
    return _render_list(f"{len(errors)} problem{'s' if len(errors) != 1 else ''}:", errors, "ap-err")


def render_notes(notes: list[str]) -> str:
    """How files were read (their encoding, when not UTF-8): listed as notes, not problems, as the
    CLI prints them without counting them."""
    return _render_list("Note:" if len(notes) == 1 else "Notes:", notes, "ap-note")


def _render_list(heading: str, lines: list[str], css: str) -> str:
    """`heading`, then the first SHOWN_ERRORS of `lines` as list items of class `css` ("" for none)."""
    if not lines:
        return ""
    shown = lines[:SHOWN_ERRORS]
    more = len(lines) - len(shown)
    return (f"<div>{heading}</div><ul>" + "".join(f'<li class="{css}">{esc(line)}</li>' for line in shown) + "</ul>"
            + (f"<div>… and {more} more</div>" if more else ""))


def nothing_to_add(refusals: list[str]) -> str:
    """The status when no file of the request can be read."""
    if not refusals:
        return '<div class="ap-upload-status">Choose one or more files to add.</div>'
    return f'<div class="ap-upload-status">Nothing added.{render_problems(refusals)}</div>'
