"""The index opener: embedded and server mode, and readers that see other processes' ingests."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import make_settings, write_jsonl
from assistant import Assistant
from ingest.store import IndexError_, PaperIndex

CLI = [sys.executable, "-m", "assistant.cli"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    """A real `chroma run` on 127.0.0.1."""
    exe = shutil.which("chroma", path=str(Path(sys.executable).parent)) or shutil.which("chroma")
    assert exe, "the chroma CLI is installed with chromadb"
    port = _free_port()
    data = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen([exe, "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        pytest.fail("chroma run did not answer its heartbeat in 60 s")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


def _ingest_cli(*args: str) -> dict:
    out = subprocess.run(CLI + ["ingest", "--no-progress", "--json", *args], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def _papers(prefix: str, n: int) -> list[dict]:
    return [{"title": f"{prefix} study number {i} of glacier {prefix.lower()} dynamics",
             "abstract": f"We measure {prefix.lower()} melt rates in glacier {i} with radar and find a {i}% change."}
            for i in range(n)]


def test_server_mode_ingest_search_and_stale_reader(chroma_server, tmp_path):
    first = write_jsonl(tmp_path / "first.jsonl", _papers("Alpine", 3))
    summary = _ingest_cli(str(first), "--chroma-url", chroma_server, "--index-dir", str(tmp_path / "cache-w"))
    assert summary["papers_total"] == 3
    # a long-running reader in this process, with its own local BM25 cache
    reader = Assistant(chroma_url=chroma_server, cache_dir=tmp_path / "cache-r")
    assert "Alpine" in reader.search("alpine glacier melt", k=1)[0].title
    assert not any("Arctic" in h.title for h in reader.search("arctic glacier melt", k=10))

    second = write_jsonl(tmp_path / "second.jsonl", _papers("Arctic", 2))
    assert _ingest_cli(str(second), "--chroma-url", chroma_server, "--index-dir", str(tmp_path / "cache-w"))[
        "papers_total"] == 5
    hits = reader.search("arctic glacier melt", k=2)  # the very next query sees them
    assert [h.title.split()[0] for h in hits] == ["Arctic", "Arctic"]
    assert reader.stats()["papers_total"] == 5


def test_embedded_reader_sees_other_process_ingest(tmp_path):
    index_dir = tmp_path / "idx"
    _ingest_cli(str(write_jsonl(tmp_path / "a.jsonl", _papers("Alpine", 3))), "--index-dir", str(index_dir))
    reader = Assistant(index_dir=index_dir)
    assert len(reader.search("glacier", k=10)) == 3
    _ingest_cli(str(write_jsonl(tmp_path / "b.jsonl", _papers("Arctic", 2))), "--index-dir", str(index_dir))
    hits = reader.search("arctic glacier radar", k=10)
    assert len(hits) == 5
    assert hits[0].title.startswith("Arctic")
    # dense retrieval itself (not only BM25) sees the new vectors
    dense = reader.index.dense(reader.index.embed_model.get_query_embedding("arctic glacier"), 10)
    assert len(dense) == 5


def test_unreachable_server_is_one_line_error(tmp_path):
    with pytest.raises(IndexError_, match="cannot reach the Chroma server"):
        PaperIndex(make_settings(tmp_path, chroma_url=f"http://127.0.0.1:{_free_port()}"))
    out = subprocess.run(CLI + ["stats", "--chroma-url", f"http://127.0.0.1:{_free_port()}"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert out.stderr.strip().count("\n") == 0 and "cannot reach the Chroma server" in out.stderr


def test_in_process_ingest_is_visible_to_the_next_dense_query(tmp_path):
    """An upload through the same Assistant: its vectors must be found right away (this missed
    about 1 time in 4 before commit() reopened the embedded client)."""
    reader = Assistant(index_dir=tmp_path / "idx")
    reader.ingest([write_jsonl(tmp_path / "base.jsonl", _papers("Alpine", 3))])
    for round_ in range(4):
        name = f"Zorblax{round_}"
        f = write_jsonl(tmp_path / f"{name}.jsonl", [{
            "title": f"{name} dots track axolotl limb regeneration",
            "abstract": f"We introduce {name} dots, fluorescent markers that follow axolotl limbs for forty days."}])
        reader.search("alpine glacier melt", k=1)
        reader.ingest([f])
        vector = reader.index.embed_model.get_query_embedding(f"What do {name} dots track?")
        top = reader.index.dense(vector, 3)[0][0]
        assert top.startswith("title:"), top
        assert reader.search(f"What do {name} dots track?", k=1)[0].title.startswith(name)
        assert reader.search(f"What do {name} dots track?", k=1)[0].dense_score > 0.3
