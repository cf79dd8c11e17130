"""Open one input file as text: safe to open, encoding found, lines split. Every format reads through this.

* Only regular files are opened. A FIFO, socket or device is refused after a ``stat`` (opening a
  FIFO blocks until a writer comes), and the file is opened non-blocking as a guard against a
  swap between the ``stat`` and the ``open``.
* UTF-8 is the fast path: the file is checked with one streaming strict decode. A BOM names
  UTF-8, UTF-16 or UTF-32 directly. Otherwise the encoding is detected with charset-normalizer
  on a sample (the head, and the bytes around the first one UTF-8 rejects), never on the whole
  file. A mostly-UTF-8 file with a few bad bytes stays UTF-8; only the records holding those
  bytes are rejected (``TextFile.undecodable``).
* Lines end at ``\\n`` (``\\r\\n`` too), or at ``\\r`` in a file that has no ``\\n`` in its head
  (old Mac line ends). A line over ``MAX_LINE_CHARS`` is skipped in pieces, never held whole.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

MAX_LINE_CHARS = 1_000_000  # longer lines are skipped with an error, never held in memory
SNIFF_BYTES = 64 * 1024  # the head: enough to tell the layout and the encoding
CHUNK_BYTES = 1 << 20

_UTF8 = ("utf-8", "utf-8-sig")
_BOMS = (  # UTF-32 first: its little-endian BOM starts with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_BINARY_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"PK\x03\x04", "a zip archive (or .xlsx/.docx)"),
    (b"\x1f\x8b", "gzip-compressed"),
    (b"BZh", "bzip2-compressed"),
    (b"\xfd7zXZ\x00", "xz-compressed"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
_SPECIAL_FILES = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)
# controls that never occur in text (whitespace controls and ESC-free text are fine)
_BINARY_CONTROLS = re.compile("[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_MAX_CONTROL_SHARE = 0.05  # random bytes decode to ~11 % such controls; text to ~0 %
_MIN_CONTROLS = 8  # a few stray controls in a short text file do not make it binary
_COHERENCE_SLACK = 0.05  # see _detect
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes a decode could not read, see _mark_bytes


class Rejected(Exception):
    """The whole file is refused: one message (and a line number when it helps)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def _mark_bytes(exc: UnicodeDecodeError) -> tuple[str, int]:
    """Decode error handler: each unreadable byte becomes U+DC80+byte (like surrogateescape, any codec)."""
    bad = exc.object[exc.start : exc.end]
    return "".join(chr(0xDC00 + b) for b in bad), exc.end


codecs.register_error("askpapers-mark", _mark_bytes)


def undecodable_bytes(text: str) -> list[int]:
    """The bytes of ``text`` that its file's encoding could not decode (empty for clean text)."""
    return [ord(ch) - 0xDC00 for ch in _UNDECODABLE.findall(text)]


@dataclass
class TextFile:
    """An open input file, decoded. ``head`` is the decoded start, for formats to sniff."""

    path: Path
    size: int
    encoding: str  # Python codec name
    head: str
    newline: str  # "\n" or "\r"
    lossy: bool  # some bytes did not decode: records holding them must be rejected
    fh: BinaryIO
    # streaming: a format's RecordSink hands its papers here every `papers_per_call` records
    # (None: all papers are returned at the end). See `readers.files.stream_paths`.
    on_papers: Callable[[list], None] | None = None
    papers_per_call: int = 0
    sink: object = None  # the format's RecordSink, once it has one (what was read if reading fails)

    @property
    def ext(self) -> str:
        return self.path.suffix.lower()

    @property
    def encoding_name(self) -> str:
        """The encoding as people write it ('utf-16-le', not charset-normalizer's 'utf_16_le')."""
        return codecs.lookup(self.encoding).name

    def encoding_note(self) -> str | None:
        """One line saying how a non-UTF-8 file was read (None for UTF-8)."""
        if self.encoding in _UTF8:
            return None
        return f"read as {self.encoding_name} (the file is not UTF-8)"

    def read_text(self) -> str:
        """The whole file, decoded (callers bound the size first)."""
        self.fh.seek(0)
        return self.fh.read().decode(self.encoding, "askpapers-mark").lstrip("\ufeff")

    def lines(self) -> Iterator[tuple[int, str | None, int]]:
        """Yield ``(line_number, text, length)`` per line; text keeps its line end.

        A line longer than ``MAX_LINE_CHARS`` is skipped and yielded with ``text=None``.
        """
        decoder = codecs.getincrementaldecoder(self.encoding)("askpapers-mark")
        self.fh.seek(0)
        buf, lineno, skipped, first = "", 0, 0, True
        while True:
            chunk = self.fh.read(CHUNK_BYTES)
            text = decoder.decode(chunk, final=not chunk)
            if first and text:
                text, first = text.lstrip("\ufeff"), False
            buf += text
            start = 0
            while (end := buf.find(self.newline, start)) >= 0:
                line, start = buf[start : end + 1], end + 1
                lineno += 1
                yield _line(lineno, line, skipped)
                skipped = 0
            buf = buf[start:]
            if len(buf) > MAX_LINE_CHARS:
                skipped, buf = skipped + len(buf), ""
            if not chunk:
                if buf or skipped:
                    yield _line(lineno + 1, buf, skipped)
                return


def too_long(length: int) -> str:
    """The record error for a line over ``MAX_LINE_CHARS``."""
    return f"line is {length:,} characters long (limit {MAX_LINE_CHARS:,} characters per line); skipped"


def _line(lineno: int, text: str, skipped: int) -> tuple[int, str | None, int]:
    length = skipped + len(text)
    if skipped or length > MAX_LINE_CHARS:
        return lineno, None, length
    return lineno, text, length


def open_text(path: Path) -> TextFile:
    """Open ``path`` for reading as text, or raise ``Rejected`` (or ``OSError``) saying why not.

    The caller closes ``TextFile.fh``.
    """
    _check_kind(os.stat(path))
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        _check_kind(st)  # the path may have been swapped for a FIFO after the stat
        fh = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    try:
        return _decode(path, fh, st.st_size)
    except BaseException:
        fh.close()
        raise


def _check_kind(st: os.stat_result) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise Rejected("is a directory (pass it to read_paths to read the files in it)")
    if not stat.S_ISREG(st.st_mode):
        what = next((name for test, name in _SPECIAL_FILES if test(st.st_mode)), "a special file")
        raise Rejected(f"not a regular file ({what}), skipped")


def _decode(path: Path, fh: BinaryIO, size: int) -> TextFile:
    head = fh.read(SNIFF_BYTES)
    if not head:
        raise Rejected("file is empty")
    if not head.strip() and size <= len(head):
        raise Rejected("file is empty (whitespace only)")
    for magic, what in _BINARY_MAGIC:
        if head.startswith(magic):
            raise Rejected(f"binary file ({what}), not text")
    encoding, lossy = _choose_encoding(fh, head)
    text = codecs.getincrementaldecoder(encoding)("askpapers-mark").decode(head).lstrip("\ufeff")
    controls = len(_BINARY_CONTROLS.findall(text))
    if controls > _MIN_CONTROLS and controls > _MAX_CONTROL_SHARE * len(text):
        raise Rejected(f"binary file ({controls:,} control bytes in its first {len(head):,} bytes), not text")
    newline = "\r" if "\n" not in text and "\r" in text else "\n"
    return TextFile(path, size, encoding, text, newline, lossy, fh)


def _choose_encoding(fh: BinaryIO, head: bytes) -> tuple[str, bool]:
    """The codec to read with, and whether some bytes will not decode under it."""
    bom = next((enc for mark, enc in _BOMS if head.startswith(mark)), None)
    if bom is None and head.count(0) > len(head) // 10:
        # UTF-16/32 without a BOM is half NUL bytes; anything else that NUL-heavy is binary
        bom = _detect(head, wide_only=True)
        if bom is None:
            raise Rejected(f"binary file ({head.count(0):,} NUL bytes in its first {len(head):,}), not text")
    encoding = bom or "utf-8"
    bad = _first_undecodable(fh, encoding)
    if bad is None:
        return encoding, False
    if bom is None:
        sample = head + _window(fh, bad)
        if not _mostly_utf8(sample):
            legacy = _detect(sample)
            if legacy is None:
                raise Rejected(f"binary file (not UTF-8 at byte offset {bad:,}, and no other text encoding fits), not text")
            return legacy, _first_undecodable(fh, legacy) is not None
    return encoding, True


def _first_undecodable(fh: BinaryIO, encoding: str) -> int | None:
    """Byte offset of the first byte ``encoding`` cannot decode, or None. One streaming pass."""
    decoder = codecs.getincrementaldecoder(encoding)()
    fh.seek(0)
    offset = 0
    try:
        while chunk := fh.read(CHUNK_BYTES):
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                return max(0, offset - pending + exc.start)
            offset += len(chunk)
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return max(0, offset - len(decoder.getstate()[0]))
        return None
    finally:
        fh.seek(0)


def _window(fh: BinaryIO, offset: int) -> bytes:
    """The bytes around ``offset``, so detection sees the text that is not UTF-8."""
    start = max(SNIFF_BYTES, offset - SNIFF_BYTES // 2)
    fh.seek(start)
    data = fh.read(SNIFF_BYTES)
    fh.seek(0)
    return data


def _mostly_utf8(sample: bytes) -> bool:
    """True when the sample's non-ASCII text is mostly well-formed UTF-8 (a few stray bytes)."""
    text = sample.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    good = sum(1 for ch in text if ch > "\x7f") - bad
    return good > bad


def _detect(sample: bytes, wide_only: bool = False) -> str | None:
    """charset-normalizer's pick for ``sample``, preferring cp1252 among equally good fits.

    Western text decodes the same (or as well) under several Windows code pages and
    charset-normalizer names the first; cp1252 is what Excel and Windows write in the West.
    "Equally good": no more chaos, and coherence (a letter-frequency score, noisy on short
    samples) within ``_COHERENCE_SLACK``; Turkish text stays cp1254, Polish or Czech cp1250.
    """
    from charset_normalizer import from_bytes  # imported only for files that are not UTF-8

    matches = from_bytes(sample)
    best = matches.best()
    if best is None:
        return None
    if wide_only:
        return best.encoding if best.encoding.startswith(("utf_16", "utf_32")) else None
    for match in matches:
        as_good = match.chaos <= best.chaos and match.coherence >= best.coherence - _COHERENCE_SLACK
        if as_good and "cp1252" in match.could_be_from_charset:
            return "cp1252"
    return best.encoding
