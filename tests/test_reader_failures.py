"""A reader that fails partway through a file (a disk error, a reader bug on one record) keeps the
records read before it, names where it stopped in one line and does not count the file as
rejected whole; and readers fed truncated or corrupted files never raise (a small fuzz)."""

from __future__ import annotations

import io
import json
import random
import shutil
from pathlib import Path

import pytest

import ingest.readers.files as files
from conftest import write_jsonl
from ingest.pipeline import IngestReport, read_batches
from ingest.readers import read_file

NASTY = Path(__file__).resolve().parent / "fixtures" / "nasty"


def records(n: int) -> list[dict]:
    return [{"title": f"Paper {i} on moths", "abstract": f"We count moths {i} times at night near lamps."}
            for i in range(n)]


class FailingFile(io.BufferedReader):
    """A file whose reads fail with EIO after `limit` bytes (a disk or network file system error)."""

    def __init__(self, raw, limit: int) -> None:
        super().__init__(raw)
        self.limit = limit

    def read(self, size=-1):
        if self.tell() >= self.limit:
            raise OSError(5, "Input/output error")
        size = self.limit - self.tell() if size is None or size < 0 else min(size, self.limit - self.tell())
        return super().read(size)


def fail_after(monkeypatch, limit: int) -> None:
    real = files.open_text

    def open_failing(path):
        src = real(path)
        failing = FailingFile(io.FileIO(src.fh.fileno(), closefd=False), limit)
        failing.real = src.fh  # keeps the file (and its descriptor) open
        src.fh = failing
        return src

    monkeypatch.setattr(files, "open_text", open_failing)


def test_io_error_partway_keeps_the_records_before_it(tmp_path, monkeypatch):
    path = write_jsonl(tmp_path / "big.jsonl", records(3000))
    monkeypatch.setattr("ingest.readers.textfile.CHUNK_BYTES", 4096)
    fail_after(monkeypatch, path.stat().st_size // 2)
    report = IngestReport()
    errors = []
    papers = [p for batch in read_batches([path], errors.append, report, batch=200) for p in batch]
    assert 1000 < len(papers) < 2000 and report.records_read == len(papers)
    assert report.files_rejected == 0 and report.files_read == 1
    assert len(errors) == 1 and not errors[0].whole_file
    line = str(errors[0])
    assert line.startswith(f"askpapers: {path}:") and "\n" not in line
    assert "Input/output error" in line and f"{len(papers):,} records before it were kept" in line


def test_io_error_before_any_record_rejects_the_file_whole(tmp_path, monkeypatch):
    path = write_jsonl(tmp_path / "small.jsonl", records(50))
    monkeypatch.setattr("ingest.readers.textfile.CHUNK_BYTES", 4096)
    fail_after(monkeypatch, 0)
    papers, errors = read_file(path)
    assert papers == [] and len(errors) == 1 and errors[0].whole_file


def test_a_reader_bug_on_one_record_skips_only_that_record(tmp_path, monkeypatch):
    import ingest.readers.fields as fields

    real = fields.paper_from_fields

    def buggy(f, source):
        if f.get("title") == "Paper 7 on moths":
            raise TypeError("unhashable type: 'list'")
        return real(f, source)

    monkeypatch.setattr(fields, "paper_from_fields", buggy)
    path = write_jsonl(tmp_path / "bug.jsonl", records(20))
    report = IngestReport()
    errors = []
    papers = [p for batch in read_batches([path], errors.append, report, batch=5) for p in batch]
    assert len(papers) == 19 and report.files_rejected == 0
    assert [str(e) for e in errors] == [f"askpapers: {path}:8: record skipped: TypeError: unhashable type: 'list'"]


@pytest.mark.parametrize("seed", range(6))
def test_truncated_and_corrupted_files_never_raise(tmp_path, seed):
    """Each committed nasty file cut at a random offset, or with random bytes overwritten: read_file
    returns, every error is one line naming the file, a whole-file error comes alone."""
    rng = random.Random(seed)
    for src in sorted(NASTY.iterdir()):
        data = src.read_bytes()
        if not data:
            continue
        cut = tmp_path / f"cut-{src.name}"
        cut.write_bytes(data[: rng.randrange(len(data))])
        bad = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            bad[rng.randrange(len(bad))] = rng.randrange(256)
        corrupt = tmp_path / f"corrupt-{src.name}"
        corrupt.write_bytes(bytes(bad))
        for path in (cut, corrupt):
            papers, errors = read_file(path)
            for e in errors:
                assert "\n" not in str(e) and str(e).startswith(f"askpapers: {path}"), str(e)
            whole = [e for e in errors if e.whole_file]
            if whole:
                assert papers == [] and len([e for e in errors if not e.notice]) == 1, [str(e) for e in errors]
            json.dumps([p.title for p in papers])
            path.unlink()
