"""Ingest progress moves: lines on a fixed clock in a log, inside a write batch, naming the phase."""

from __future__ import annotations

import re
import threading
import time

import numpy as np
from conftest import make_settings, write_jsonl

from ingest.chunking import chunk_paper
from ingest.embedding import BUNDLED_MODEL
from ingest.pipeline import ingest
from ingest.progress import Progress, duration
from ingest.records import Paper
from ingest.store import PaperIndex

INTERVAL = 0.2


class SlowEncoder:
    """A fake model that takes `delay` seconds per call (any number of texts)."""

    model_name, dimension = BUNDLED_MODEL, 384

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls: list[int] = []

    def embed(self, texts):
        time.sleep(self.delay)
        self.calls.append(len(texts))
        rng = np.random.default_rng(len(self.calls))
        out = rng.standard_normal((len(texts), self.dimension)).astype(np.float32)
        return out / np.linalg.norm(out, axis=1, keepdims=True)

    def get_query_embedding(self, query):
        return self.embed([query])[0].tolist()


class TimedStream:
    """A stream that is not a terminal and remembers when each line arrived."""

    def __init__(self) -> None:
        self.lines: list[tuple[float, str]] = []
        self._lock = threading.Lock()

    def write(self, text: str) -> None:
        with self._lock:
            self.lines += [(time.monotonic(), line) for line in text.splitlines() if line]

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


def _records(n: int) -> list[dict]:
    return [{"id": f"2401.{i:05d}", "title": f"Radar study number {i}",
             "abstract": f"We measure radar echoes of kind {i} over a long campaign and report their statistics."}
            for i in range(n)]


def test_lines_arrive_on_the_clock_and_move_inside_a_write_batch(tmp_path):
    # load the chunker first: its one-time load (tiktoken's, in Rust) can hold the GIL for seconds
    # on a busy machine, and no thread prints meanwhile; the clock is what is tested here
    chunk_paper(Paper(title="Warm-up", abstract="Loads the tokenizer."))
    encoder = SlowEncoder(delay=0.3)  # 10 calls: 3 s of embedding in one write batch
    index = PaperIndex(make_settings(tmp_path / "idx", embed_batch_size=4), embed_model=encoder)
    stream = TimedStream()
    f = write_jsonl(tmp_path / "p.jsonl", _records(40))
    started = time.monotonic()
    report = ingest([f], index=index, progress=Progress(stream=stream, interval=INTERVAL), write_batch=128)
    took = time.monotonic() - started
    assert report.added == 40
    assert max(encoder.calls) <= 4 < sum(encoder.calls)  # steady sub-batches, not one call per write batch

    times = [t for t, _line in stream.lines]
    gaps = np.diff([started, *times])
    # a line at least every interval (10× slack for a busy machine), and about as many as the clock ticks
    assert gaps.max() < 10 * INTERVAL, stream.lines
    assert len(times) >= took / INTERVAL / 3
    text = [line for _t, line in stream.lines]
    assert any(line.startswith("reading files:") for line in text)
    assert any(line.startswith("comparing papers with the index:") for line in text)
    embedding = [line for line in text if line.startswith("embedding:")]
    done = sorted({int(m.group(1)) for line in embedding if (m := re.match(r"embedding: (\d+)/40 papers", line))})
    assert len([d for d in done if 0 < d < 40]) >= 3, embedding  # it moves inside the one 128-paper batch
    assert any(re.search(r"papers/s, \d+s left", line) for line in embedding), embedding
    assert any(line.startswith("committing:") for line in text)


def test_a_terminal_gets_one_redrawn_line(tmp_path):
    class Tty(TimedStream):
        def __init__(self):
            super().__init__()
            self.raw = ""

        def write(self, text):
            self.raw += text

        def isatty(self):
            return True

    stream = Tty()
    index = PaperIndex(make_settings(tmp_path / "idx", embed_batch_size=2), embed_model=SlowEncoder(delay=0.05))
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{not json\n")
    errors = []

    def on_error(err):
        errors.append(str(err))
        stream.write(f"{err}\n")

    ingest([write_jsonl(tmp_path / "p.jsonl", _records(12)), bad], index=index, progress=Progress(stream=stream),
           on_error=on_error)
    assert stream.raw.count("\n") == 1 and "\rembedding: " in stream.raw
    # the live line was blanked before the error line, which starts clean
    assert re.search(r"\r +\r$", stream.raw[: stream.raw.index(errors[0])])
    assert stream.raw.endswith("\r")  # cleared at the end: the summary follows on a clean line


def test_streamed_input_says_which_batch(tmp_path):
    index = PaperIndex(make_settings(tmp_path / "idx"), embed_model=SlowEncoder(delay=0.0))
    files = [write_jsonl(tmp_path / f"{n}.jsonl", _records(30)[n * 10:(n + 1) * 10]) for n in range(3)]
    stream = TimedStream()
    ingest(files, index=index, progress=Progress(stream=stream, interval=INTERVAL), read_batch=10)
    assert any("input batch 3, 30 records read so far" in line for _t, line in stream.lines)


def test_no_progress_prints_none_and_a_log_gets_lines(tmp_path, capsys, monkeypatch):
    from assistant.cli import main

    f = write_jsonl(tmp_path / "p.jsonl", _records(3))
    assert main(["ingest", str(f), "--index-dir", str(tmp_path / "a"), "--no-progress"]) == 0
    assert capsys.readouterr().err == ""
    monkeypatch.setenv("ASKPAPERS_PROGRESS_INTERVAL", "0.01")
    assert main(["ingest", str(f), "--index-dir", str(tmp_path / "b")]) == 0
    err = capsys.readouterr().err
    assert "\r" not in err and re.search(r"^embedding: \d/3 papers", err, re.MULTILINE), err


def test_duration():
    assert [duration(s) for s in (4.6, 62, 3725)] == ["5s", "1m02s", "1h02m"]
