"""The askpapers command line: ingest / search / stats, --json, exit codes, errors on stderr."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import write_jsonl

CLI = [sys.executable, "-m", "assistant.cli"]


def run(*args, **kw):
    return subprocess.run(CLI + list(map(str, args)), capture_output=True, text=True, timeout=300, **kw)


def test_help_lists_commands():
    out = run("--help")
    assert out.returncode == 0
    for cmd in ("ingest", "search", "stats", "eval"):
        assert cmd in out.stdout


def test_ingest_json_search_stats(tmp_path, tiny_papers):
    f = write_jsonl(tmp_path / "p.jsonl", tiny_papers)
    bad = tmp_path / "picture.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    out = run("ingest", f, bad, "--index-dir", tmp_path / "idx", "--json")
    assert out.returncode == 2  # a file was rejected whole
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    for key in ("papers_total", "added", "updated", "unchanged", "chunks_total", "errors"):
        assert key in summary
    assert summary["papers_total"] == 3 and summary["added"] == 3
    assert len(summary["errors"]) == 1 and "picture.png" in summary["errors"][0]
    assert [line for line in out.stderr.splitlines() if "picture.png" in line]

    out = run("search", "hallucination decoding", "-k", "2", "--index-dir", tmp_path / "idx", "--json")
    assert out.returncode == 0, out.stderr
    hits = json.loads(out.stdout.strip().splitlines()[-1])["hits"]
    assert hits[0]["title"] == "Contrastive Decoding Reduces Hallucination"
    assert set(hits[0]) >= {"paper_id", "title", "abstract", "score", "url", "authors", "date", "sources", "passage"}

    out = run("search", "solar wind", "--index-dir", tmp_path / "idx", "--category", "physics.space-ph")
    assert out.returncode == 0 and "[1] Solar Wind Turbulence" in out.stdout

    out = run("stats", "--index-dir", tmp_path / "idx", "--json")
    stats = json.loads(out.stdout.strip().splitlines()[-1])
    assert stats["papers_total"] == 3 and stats["embed_dim"] == 384


def test_env_var_selects_index(tmp_path, tiny_papers):
    import os

    env = dict(os.environ, ASKPAPERS_INDEX_DIR=str(tmp_path / "envidx"))
    run("ingest", write_jsonl(tmp_path / "p.jsonl", tiny_papers), env=env)
    out = run("stats", "--json", env=env)
    assert json.loads(out.stdout.strip().splitlines()[-1])["papers_total"] == 3
