"""Ingest progress that moves: a live line on a terminal, plain lines every few seconds in a log.

An ingest goes through phases (reading files, comparing with the index, embedding, committing);
the current one is always named, so a slow phase shows as such. A background thread prints the
status on a fixed clock, whatever the pipeline is doing, so even one long step (a slow embedding
call, the commit) cannot leave the output silent for longer than the interval:

* on a terminal, one line redrawn about twice a second:
  ``embedding: 1,234/2,000 papers, 12.3 papers/s, 1m02s left``
* when the stream is not a terminal (a log, `make demo > log`), the same text as a new line
  every `interval` seconds (`Settings.progress_interval`), and one line when a phase starts.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Self, TextIO

TTY_REFRESH = 0.5  # seconds between redraws of the live line on a terminal


def duration(seconds: float) -> str:
    """'45s', '1m02s', '2h03m'."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
    """Phases with counts, shown on `stream` (stderr by default) until `close()`.

    `phase(name, total, unit)` starts a phase, `advance(n)` counts work done in it, `note(text)`
    sets a short detail of the phase shown after the counts, `context(text)` one that stays across
    phases (which batch of a streamed input). Thread-safe: the pipeline advances it while the
    ticker thread prints it.
    """

    def __init__(self, stream: TextIO | None = None, interval: float = 3.0, tty: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = _isatty(self.stream) if tty is None else tty
        self.interval = min(interval, TTY_REFRESH) if self.tty else interval
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._name, self._unit, self._total, self._done, self._note = "starting", "papers", None, 0, ""
        self._context = ""
        self._emit_lock = threading.Lock()  # the ticker and a phase change never write at once
        self._phase_start = time.monotonic()
        self._width = 0  # length of the live line drawn last (terminal)
        self._thread = threading.Thread(target=self._tick, name="ingest-progress", daemon=True)
        self._thread.start()

    # --- what the pipeline calls
    def phase(self, name: str, total: int | None = None, unit: str = "papers") -> None:
        """Start a phase (a new line in a log at once, so the change is seen)."""
        with self._lock:
            self._name, self._total, self._unit, self._done, self._note = name, total, unit, 0, ""
            self._phase_start = time.monotonic()
        self._emit()

    def advance(self, n: int = 1) -> None:
        with self._lock:
            self._done += n

    def note(self, text: str) -> None:
        with self._lock:
            self._note = text

    def context(self, text: str) -> None:
        with self._lock:
            self._context = text

    def clear(self) -> None:
        """On a terminal, blank the live line so that a message printed next starts on a clean line
        (the next tick draws it again)."""
        with self._emit_lock:
            if self.tty and self._width:
                self._write("\r" + " " * self._width + "\r")
                self._width = 0

    def close(self) -> None:
        """Stop the clock; on a terminal the live line is cleared (the summary follows)."""
        self._stop.set()
        self._thread.join(timeout=5)
        self.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- what is shown
    def status(self) -> str:
        """'embedding: 1,234/2,000 papers, 12.3 papers/s, 1m02s left' (the current phase)."""
        with self._lock:
            name, unit, total, done, note = self._name, self._unit, self._total, self._done, self._note
            context = self._context
            elapsed = time.monotonic() - self._phase_start
        parts = [f"{done:,}/{total:,} {unit}" if total is not None else (f"{done:,} {unit}" if done else "")]
        rate = done / elapsed if elapsed > 0 else 0.0
        if done and elapsed > 0:
            parts.append(f"{rate:,.1f} {unit}/s")
        if total is not None and rate > 0 and done < total:
            parts.append(f"{duration((total - done) / rate)} left")
        else:
            parts.append(f"{duration(elapsed)} so far")
        parts += [note, context]
        return f"{name}: " + ", ".join(p for p in parts if p)

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            self._emit()

    def _emit(self) -> None:
        text = self.status()
        with self._emit_lock:
            if self.tty:
                pad = max(0, self._width - len(text))
                self._width = len(text)
                self._write("\r" + text + " " * pad)
            else:
                self._write(text + "\n")

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stream must not stop an ingest
            self._stop.set()


class NoProgress:
    """The same calls, showing nothing (`--no-progress`, library callers, uploads)."""

    def phase(self, name: str, total: int | None = None, unit: str = "papers") -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def context(self, text: str) -> None:
        pass

    def clear(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        pass


def make_progress(progress, interval: float) -> Progress | NoProgress:
    """What `ingest(progress=...)` asks for: False shows nothing, True or None shows progress on
    stderr (a live line on a terminal, plain lines otherwise), a `Progress` is used as it is."""
    if isinstance(progress, (Progress, NoProgress)):
        return progress
    if progress is False:
        return NoProgress()
    return Progress(interval=interval)


def _isatty(stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
