"""Read files and directories: the entry points behind ``read_file`` and ``read_paths``.

Nothing here raises for bad input: problems come back as ``ReadError``s and every good record of
a file is still returned. An error with ``whole_file=True`` means the file (or directory) was
rejected whole and no paper was read from it; one with ``notice=True`` only says how the file
was read (its encoding, when not UTF-8).
"""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path
from typing import Callable, Iterable, Iterator

from ingest.records import Paper, ReadError

from .registry import FORMATS, NotThisFormat
from .textfile import Rejected, open_text

OnPapers = Callable[[Path, list[Paper]], None]


def read_file(path: str | Path, on_papers: OnPapers | None = None,
              papers_per_call: int = 0) -> tuple[list[Paper], list[ReadError]]:
    """Read one file. Returns the papers read and the problems found (never raises for bad input).

    With `on_papers`, a record format hands its papers to `on_papers(path, papers)` every
    `papers_per_call` as it reads them, and returns only the rest (streaming a big file)."""
    p = Path(path)
    binary = FORMATS.binary_for(p)
    if binary is not None:  # e.g. a PDF: the format reads the file's bytes itself
        return _guarded(p, lambda: binary.read_path(p))
    return _guarded(p, lambda: _read_text(p, on_papers, papers_per_call))


def _read_text(p: Path, on_papers: OnPapers | None = None, papers_per_call: int = 0) -> tuple[list[Paper], list[ReadError]]:
    src = open_text(p)
    if on_papers is not None:
        src.on_papers, src.papers_per_call = (lambda papers: on_papers(p, papers)), papers_per_call
    with src.fh:
        try:
            papers, errors = FORMATS.read(src)
        except (Rejected, NotThisFormat):
            raise
        except Exception as exc:  # failed partway (a disk error, a reader bug): keep what was read
            papers, errors = _partial(src, exc)
    note = src.encoding_note()
    if note:
        errors.insert(0, ReadError(path=str(p), message=note, notice=True))
    return papers, errors


def _partial(src, exc: Exception) -> tuple[list[Paper], list[ReadError]]:
    """The papers and errors read before `exc`, plus one line saying where reading stopped; the
    exception again when nothing was read (the file is then rejected whole by `_guarded`)."""
    sink = src.sink
    if sink is None or not sink.kept:
        raise exc
    line, record = sink.last_place
    why = exc.strerror if isinstance(exc, OSError) and exc.strerror else f"{type(exc).__name__}: {exc}"
    message = (f"reading stopped after this record ({why}); the {sink.kept:,} records before it were kept, "
               "the rest of the file was not read")
    return sink.papers, [*sink.errors, ReadError(path=str(src.path), message=message, line=line, record=record)]


def _guarded(p: Path, read) -> tuple[list[Paper], list[ReadError]]:
    """`read()`, with any refusal or failure as one whole-file error naming `p`."""
    try:
        return read()
    except Rejected as exc:
        return [], [_whole(p, exc.message, exc.line)]
    except FileNotFoundError:
        return [], [_whole(p, "no such file or directory")]
    except OSError as exc:
        return [], [_whole(p, f"cannot read file: {exc.strerror or exc}")]
    except Exception as exc:  # a reader bug must not stop a whole ingest run
        return [], [_whole(p, f"could not be read ({type(exc).__name__}: {exc})")]


def read_paths(paths: Iterable[str | Path], on_papers: OnPapers | None = None,
               papers_per_call: int = 0) -> Iterator[tuple[Path, list[Paper], list[ReadError]]]:
    """Read files and directories, yielding ``(file, papers, errors)`` per file.

    Directories are expanded recursively, in name order, skipping hidden files and folders
    and files whose extension no format owns; symlinked folders are not followed. A missing
    path, a directory without any supported file, and a folder that cannot be listed each
    yield one whole-file error for that path. `on_papers` streams big files (see `read_file`).
    """
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            yield from _read_dir(p, on_papers, papers_per_call)
        else:
            papers, errors = read_file(p, on_papers, papers_per_call)
            yield p, papers, errors


def _read_dir(root: Path, on_papers: OnPapers | None,
              papers_per_call: int) -> Iterator[tuple[Path, list[Paper], list[ReadError]]]:
    found, unreadable = _expand_dir(root)
    if not found and not unreadable:
        exts = ", ".join(sorted(FORMATS.extensions))
        yield root, [], [_whole(root, f"no supported files in directory (looked for {exts})")]
        return
    entries = [(f, None) for f in found] + [(d, err) for d, err in unreadable.items()]
    for path, error in sorted(entries, key=lambda e: _relative_parts(e[0], root)):
        if error is not None:
            yield path, [], [error]
        else:
            papers, errors = read_file(path, on_papers, papers_per_call)
            yield path, papers, errors


def _expand_dir(root: Path) -> tuple[list[Path], dict[Path, ReadError]]:
    """Supported files under ``root``, and one error per folder that could not be listed."""
    found: list[Path] = []
    unreadable: dict[Path, ReadError] = {}

    def on_error(exc: OSError) -> None:
        where = Path(exc.filename) if exc.filename else root
        unreadable[where] = _whole(where, f"cannot read directory: {exc.strerror or exc}; skipped")

    extensions = FORMATS.extensions
    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error, followlinks=False):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if not name.startswith(".") and Path(name).suffix.lower() in extensions:
                found.append(Path(dirpath) / name)
    return found, unreadable


def _relative_parts(path: Path, root: Path) -> tuple[str, ...]:
    try:
        return path.relative_to(root).parts
    except ValueError:
        return path.parts


def _whole(path: Path, message: str, line: int | None = None) -> ReadError:
    return ReadError(path=str(path), message=message, line=line, whole_file=True)


class _Stopped(BaseException):
    """The consumer of `stream_paths` went away: unwinds the reader thread (past `_guarded`)."""


def stream_paths(paths: Iterable[str | Path], batch: int) -> Iterator[tuple[Path, list[Paper], list[ReadError], bool]]:
    """`read_paths` with bounded memory: yields `(file, papers, errors, last)`, a big file's
    papers in parts of `batch` as they are read, its errors with the last part (`last=True`).

    A reader thread reads ahead by at most one part while the caller works on the previous
    one; closing the generator stops the thread.
    """
    parts: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def put(item) -> None:
        while not stop.is_set():
            try:
                parts.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        raise _Stopped

    def produce() -> None:
        try:
            for path, papers, errors in read_paths(paths, lambda p, part: put((p, part, [], False)), batch):
                put((path, papers, errors, True))
            put(None)
        except _Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - a reader bug: raised again in the caller's thread
            try:
                put(exc)
            except _Stopped:
                pass

    thread = threading.Thread(target=produce, name="ingest-reader", daemon=True)
    thread.start()
    try:
        while (item := parts.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)
