"""The askpapers command line: ingest / search / stats, --json, exit codes, errors on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import make_settings, write_jsonl

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


# ---------------------------------------------------------------- errors, pipes, terminal safety, empty index
ASKPAPERS = Path(sys.executable).parent / "askpapers"  # the installed console script (.venv/bin/askpapers)


def askpapers(index_dir, *args, stdout=subprocess.PIPE):
    env = dict(os.environ, ASKPAPERS_INDEX_DIR=str(index_dir))
    return subprocess.run([str(ASKPAPERS), *map(str, args)], stdout=stdout, stderr=subprocess.PIPE, env=env,
                          timeout=300)


@pytest.fixture(scope="module")
def odd_index(tmp_path_factory):
    """A tiny index whose one paper's title carries a bidi override (which survives ingest)."""
    from ingest.pipeline import ingest
    from ingest.store import PaperIndex

    tmp = tmp_path_factory.mktemp("odd")
    paper = {"title": "Solar Wind \u202eTurbulence", "abstract": "Spacecraft magnetometers see solar wind turbulence.",
             "id": "0704.0002", "update_date": "2007-04-02"}
    ingest([write_jsonl(tmp / "p.jsonl", [paper])], index=PaperIndex(make_settings(tmp / "idx")), progress=False)
    return tmp / "idx"


@pytest.mark.parametrize("args, message", [
    (["search", "x", "--date-from", "yesterday"],
     "date_from: 'yesterday' is not a date (use YYYY, YYYY-MM or YYYY-MM-DD)"),
    (["ask", "x", "--date-to", "-5"], "date_to: '-5' is not a date"),
    (["search", "x", "--date-to", "2024-13-45"], "date_to: '2024-13-45' is not a date"),
    (["ask", "x", "--date-from", "2024", "--date-to", "2023"], "date_from: '2024' is after date_to '2023'"),
    (["search", "x", "-k", "0"], "k: 0 is out of range"),
    (["ask", " "], "question: must not be empty"),
])
def test_bad_arguments_are_one_line_and_exit_2(tmp_path, args, message):
    out = askpapers(tmp_path / "idx", *args)
    stderr = out.stderr.decode()
    assert out.returncode == 2 and stderr.startswith(f"askpapers: error: {message}")
    assert len(stderr.splitlines()) == 1 and "Traceback" not in stderr and out.stdout == b""
    assert not (tmp_path / "idx").exists()  # refused before the index was opened


def test_output_into_a_closed_pipe_ends_quietly(odd_index):
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head` that has already exited: every write fails
    try:
        out = askpapers(odd_index, "stats", stdout=write_end)
    finally:
        os.close(write_end)
    assert out.returncode == 141 and out.stderr == b"", out.stderr.decode()
    shell = subprocess.run(f"'{ASKPAPERS}' stats | head -1", shell=True, capture_output=True, text=True,
                           env=dict(os.environ, ASKPAPERS_INDEX_DIR=str(odd_index)), timeout=300)
    assert shell.stdout.startswith("index:") and shell.stderr == ""


def test_control_characters_are_shown_escaped(tmp_path, odd_index):
    from assistant.cli import term

    assert term("a\x1b[31mb\x07c\x9bd\re\u202ef\ud800") == "a\\x1b[31mb\\x07c\\x9bd\\re\\u202ef\\ud800"
    assert term("one\n\ttwo") == "one\n\ttwo" and term("one\n\ttwo", multiline=False) == "one\\n\\ttwo"

    out = askpapers(odd_index, "search", "solar wind")
    assert out.returncode == 0 and "[1] Solar Wind \\u202eTurbulence" in out.stdout.decode()
    assert "\u202e" not in out.stdout.decode()
    out = askpapers(odd_index, "search", "solar wind", "--json")
    assert "\u202e" not in out.stdout.decode()  # escaped as \u202e inside the JSON string
    assert json.loads(out.stdout)["hits"][0]["title"] == "Solar Wind \u202eTurbulence"

    bad = tmp_path / "bad\x1b[31m\x07.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    out = askpapers(tmp_path / "idx", "ingest", bad, "--no-progress")
    assert b"\x1b" not in out.stderr and b"\x07" not in out.stderr
    assert "bad\\x1b[31m\\x07.jsonl" in out.stderr.decode()


def test_empty_index_says_how_to_fill_it(tmp_path):
    idx = tmp_path / "empty"
    line = f"No papers in the index at {idx} yet: run `askpapers ingest PATH --index-dir {idx}`\n"
    for command, code in ((["search", "solar wind"], 1), (["ask", "what is solar wind?"], 1)):
        out = askpapers(idx, *command)
        assert (out.returncode, out.stderr.decode(), out.stdout) == (code, line, b"")
    out = askpapers(idx, "stats")
    assert (out.returncode, out.stdout.decode()) == (0, line)


def test_stats_shows_where_the_index_is(odd_index):
    out = askpapers(odd_index, "stats")
    assert out.stdout.decode().splitlines()[0] == f"index:      {odd_index}"
    assert "papers:     1" in out.stdout.decode()


def test_an_unexpected_error_is_one_line(tmp_path, monkeypatch, capsys):
    """A bug or a library's surprise still ends in one line on stderr and exit 1, not a traceback."""
    from assistant import cli
    from ingest.store import PaperIndex

    def boom(self):
        raise RuntimeError("the shelf fell over\nwith a second line")

    monkeypatch.setattr(PaperIndex, "stats", boom)
    (tmp_path / "idx").mkdir()  # an index that exists (a missing one is said without opening it)
    assert cli.main(["stats", "--index-dir", str(tmp_path / "idx")]) == 1
    err = capsys.readouterr().err
    assert err == "askpapers: unexpected error (RuntimeError): the shelf fell over (ASKPAPERS_TRACEBACK=1 shows where)\n"
    monkeypatch.setenv("ASKPAPERS_TRACEBACK", "0")  # off, as unset
    assert cli.main(["stats", "--index-dir", str(tmp_path / "idx")]) == 1
    assert "unexpected error (RuntimeError): the shelf fell over" in capsys.readouterr().err
    monkeypatch.setenv("ASKPAPERS_TRACEBACK", "1")
    with pytest.raises(RuntimeError, match="shelf fell over"):
        cli.main(["stats", "--index-dir", str(tmp_path / "idx")])


def test_chat_goes_on_after_an_answer_fails(tmp_path, tiny_papers, monkeypatch, capsys):
    """A failure inside one answer of `askpapers chat` is one line; the next question is answered."""
    from assistant import Assistant, cli
    from ingest.pipeline import ingest

    index_dir = tmp_path / "idx"
    ingest([write_jsonl(tmp_path / "p.jsonl", tiny_papers)], index=Assistant(index_dir=index_dir).index, progress=False)
    real, calls = Assistant.ask, []

    def flaky(self, question, **kw):
        calls.append(question)
        if len(calls) == 1:
            raise RuntimeError("the shelf fell over")
        return real(self, question, **kw)

    monkeypatch.setattr(Assistant, "ask", flaky)
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("What do hypernetworks predict?\n"
                                                               "What do hypernetworks predict?\n\n"))
    assert cli.main(["chat", "--index-dir", str(index_dir)]) == 0
    out, err = capsys.readouterr()
    assert err.count("could not answer that (RuntimeError: the shelf fell over)") == 1 and "Traceback" not in err
    assert "Hypernetworks for Embedding New Tokens" in out and len(calls) == 2


# ---------------------------------------------------------------- ordinary mistakes: one line, exit 2, nothing created
@pytest.mark.parametrize(("env", "args", "message"), [
    ({"ASKPAPERS_TOP_K": "-3"}, ["stats"], "ASKPAPERS_TOP_K: must be ≥ 1 (got -3)"),
    ({"ASKPAPERS_LLM_TIMEOUT": "abc"}, ["ask", "x"], "ASKPAPERS_LLM_TIMEOUT: must be a number (got abc)"),
    ({"ASKPAPERS_RETRIEVAL_FUSION": "bogus"}, ["search", "x"],
     "ASKPAPERS_RETRIEVAL_FUSION: must be one of 'rrf', 'rrf-confidence' or 'score' (got bogus)"),
    ({}, ["serve", "--port", "70000"], "--port: must be ≤ 65535 (got 70000)"),
    ({}, ["stats", "--collection", "a"], "--collection: must be a Chroma collection name: 3-512 letters"),
    ({}, ["eval", "nosuch.jsonl"], "nosuch.jsonl: cannot read the questions file (No such file or directory)"),
    ({}, ["search", ""], "query: must not be empty"),
])
def test_bad_settings_and_arguments_are_one_line_and_exit_2(tmp_path, monkeypatch, capsys, env, args, message):
    from assistant import cli

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    assert cli.main([*args, "--index-dir", str(tmp_path / "idx")]) == 2
    out, err = capsys.readouterr()
    assert err.startswith(f"askpapers: error: {message}") and len(err.splitlines()) == 1, err
    assert "unexpected" not in err and out == ""
    assert not (tmp_path / "idx").exists()


def test_an_index_dir_that_cannot_be_one_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys, tiny_papers):
    from assistant import cli

    afile, papers = tmp_path / "afile", write_jsonl(tmp_path / "p.jsonl", tiny_papers)
    afile.write_text("not an index\n")
    for args in (["ingest", str(papers), "--no-progress"], ["ask", "x"], ["stats"], ["search", "x"]):
        assert cli.main([*args, "--index-dir", str(afile)]) == 2
        err = capsys.readouterr().err
        assert err == f"askpapers: error: the index directory {afile} is a file, not a directory; give a directory " \
                      "(--index-dir / ASKPAPERS_INDEX_DIR)\n"
    assert cli.main(["ingest", str(papers), "--no-progress", "--index-dir", "/proc/askx"]) == 2
    assert capsys.readouterr().err.startswith("askpapers: error: cannot create the index directory /proc/askx: ")
    assert cli.main(["eval", str(tmp_path), "--index-dir", str(tmp_path / "idx")]) == 2
    assert "cannot read the questions file (Is a directory)" in capsys.readouterr().err


def test_reading_a_missing_index_creates_nothing(tmp_path, capsys):
    from assistant import Assistant, cli

    idx = tmp_path / "nope"
    line = f"No papers in the index at {idx} yet: run `askpapers ingest PATH --index-dir {idx}`\n"
    for args, code in ((["ask", "x"], 1), (["search", "x"], 1), (["table", "x"], 1), (["papers"], 1),
                       (["remove", "arxiv:1"], 1), (["stats"], 0)):
        assert cli.main([*args, "--index-dir", str(idx)]) == code
        out, err = capsys.readouterr()
        assert (err if code else out) == line, args
    assert cli.main(["stats", "--json", "--index-dir", str(idx)]) == 0
    assert json.loads(capsys.readouterr().out)["papers_total"] == 0
    a = Assistant(index_dir=idx)
    assert a.search("x") == [] and a.is_empty() and a.ask("x").refused
    assert not idx.exists()


def test_json_is_offered_only_where_it_is_what_it_says():
    from assistant.cli import build_parser

    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["chat", "--json"])  # chat prints a conversation, not JSON
    papers = run("papers", "--help").stdout
    assert "JSON Lines" in " ".join(papers.split()) and "last line" not in papers
    assert "one JSON object on the last line" in " ".join(run("stats", "--help").stdout.split())


def test_source_filters_take_what_papers_takes_and_refuse_unknown_sources(tmp_path, capsys, tiny_papers):
    """`--source` of search/ask/table/chat: a label ('daily page of …'), a file name or a path, as
    `askpapers papers --source` takes it; a source the index does not hold is one line, exit 2."""
    import shutil

    from assistant import cli, library
    from conftest import SAMPLES
    from ingest.pipeline import ingest
    from ingest.store import PaperIndex

    page = shutil.copy(SAMPLES / "000_161ee5e26b606702.txt", tmp_path / "000_161ee5e26b606702.txt")
    index = PaperIndex(make_settings(tmp_path / "idx"))
    ingest([page, write_jsonl(tmp_path / "p.jsonl", tiny_papers)], index=index, progress=False)
    (label,) = [c.label for c in library.source_counts(index) if c.label.startswith("daily page of")]
    where = ["--index-dir", str(tmp_path / "idx")]
    assert cli.main(["search", "language model", "--source", label, "--json", *where]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert hits and all(h["sources"][0]["name"] == str(Path(page).resolve()) for h in hits)
    assert cli.main(["search", "language model", "--source", "p.jsonl", "--json", *where]) == 0
    hits = json.loads(capsys.readouterr().out)["hits"]
    assert hits and {h["title"] for h in hits} <= {p["title"] for p in tiny_papers}
    for command in (["search", "x"], ["ask", "x"], ["table", "x"], ["chat"]):
        assert cli.main([*command, "--source", "nosuch.txt", *where]) == 2, command
        out, err = capsys.readouterr()
        assert err == "askpapers: error: source: no source 'nosuch.txt' in the index (see `askpapers stats`)\n"


def test_eval_of_an_empty_question_file_is_one_line_and_exit_2(tmp_path, capsys):
    from assistant import cli

    empty = tmp_path / "q.jsonl"
    empty.write_text("\n  \n")
    assert cli.main(["eval", str(empty), "--index-dir", str(tmp_path / "idx")]) == 2
    out, err = capsys.readouterr()
    assert err == f"askpapers: error: no questions in {empty}\n" and out == ""
