"""The library: listing, filtering and sorting the indexed papers, removing papers or a source
(crash-safe like an ingest), through the Python API, the CLI and the page's API."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import ROOT, make_settings, write_jsonl
from test_faults import Interrupted, _raise_at, assert_consistent, snapshot

from assistant import library
from ingest.pipeline import ingest
from ingest.remove import UnknownPaperError
from ingest.store import PaperIndex

ZEBRA, GLACIER, ACTIVE = "arxiv:2001.00001", "arxiv:2305.00002", "Active Learning for Tokenizers"
PAPERS = {
    "zebra": {"id": "2001.00001", "title": "Zebra Finch Song Learning", "categories": "q-bio.NC",
              "abstract": "Juvenile zebra finches copy a tutor song; we track syllable learning over sixty days.",
              "update_date": "2020-01-01"},
    "glacier": {"id": "2305.00002", "title": "Glacier Radar at Svalbard", "categories": "physics.geo-ph",
                "abstract": "Ground-penetrating radar maps the bed of three Svalbard glaciers to within two metres.",
                "update_date": "2023-05-05"},
    "active": {"title": ACTIVE, "categories": "cs.CL",
               "abstract": "Active learning picks which words a subword tokenizer should split, halving annotation.",
               "update_date": "2021-07-07"},
}


def build(tmp_path: Path, monkeypatch, name: str = "index") -> tuple[PaperIndex, dict[str, Path]]:
    """b.jsonl (glacier, active) ingested at t=1000, then a.jsonl (zebra, glacier) at t=2000:
    glacier comes from both files and keeps the time it was first added."""
    files = {"b": write_jsonl(tmp_path / "b.jsonl", [PAPERS["glacier"], PAPERS["active"]]),
             "a": write_jsonl(tmp_path / "a.jsonl", [PAPERS["zebra"], PAPERS["glacier"]])}
    index = PaperIndex(make_settings(tmp_path / name))
    for f, t in ((files["b"], 1000), (files["a"], 2000)):
        monkeypatch.setattr("ingest.store.index.time", SimpleNamespace(time=lambda t=t: t))
        ingest([f], index=index, progress=False)
    monkeypatch.undo()
    return index, files


def stored(path: Path) -> str:
    """A source's stored name: the resolved path of the file ingested."""
    return str(path.resolve())


def titles(papers) -> list[str]:
    return [p.title for p in papers]


# ------------------------------------------------------------------------ Python API
def test_list_sorts_filters_and_counts(tmp_path, monkeypatch):
    index, files = build(tmp_path, monkeypatch)
    by_id = {p.paper_id: p for p in library.all_papers(index)}
    assert len(by_id) == 3
    assert by_id[GLACIER].added == "1970-01-01T00:16:40+00:00"  # first added with b.jsonl, not rewritten's time
    assert by_id[ZEBRA].added == "1970-01-01T00:33:20+00:00"
    assert [s["name"] for s in by_id[GLACIER].sources] == [stored(files["b"]), stored(files["a"])]
    assert [s["label"] for s in by_id[GLACIER].sources] == ["b.jsonl", "a.jsonl"]
    assert by_id[GLACIER].url == "https://arxiv.org/abs/2305.00002"

    assert titles(library.list_papers(index, sort="date")) == [
        "Glacier Radar at Svalbard", ACTIVE, "Zebra Finch Song Learning"]
    assert titles(library.list_papers(index, sort="title")) == [
        ACTIVE, "Glacier Radar at Svalbard", "Zebra Finch Song Learning"]
    assert titles(library.list_papers(index, sort="added")) == [  # newest first; ties by title
        "Zebra Finch Song Learning", ACTIVE, "Glacier Radar at Svalbard"]
    assert titles(library.list_papers(index, sources="a.jsonl", sort="title")) == [
        "Glacier Radar at Svalbard", "Zebra Finch Song Learning"]
    assert titles(library.list_papers(index, categories=["cs.CL", "q-bio.NC"], sort="title")) == [
        ACTIVE, "Zebra Finch Song Learning"]
    assert titles(library.list_papers(index, query="RADAR")) == ["Glacier Radar at Svalbard"]
    assert len(library.list_papers(index, limit=2)) == 2
    assert [(c.label, c.name, c.papers) for c in library.source_counts(index)] == [
        ("a.jsonl", stored(files["a"]), 2), ("b.jsonl", stored(files["b"]), 2)]
    for bad in ({"sort": "size"}, {"limit": 0}, {"sources": "missing.txt"}):
        with pytest.raises(ValueError, match="sort|limit|missing.txt"):
            library.list_papers(index, **bad)


def test_sources_are_named_by_file_or_readable_label():
    page = library.LibraryPaper("p1", "T", sources=[{"name": "000_161ee5e26b606702.txt", "date": "Jul 4",
                                                     "label": "daily page of Jul 4"}])
    assert library.resolve_source([page], "Daily page of Jul 4") == "000_161ee5e26b606702.txt"
    assert library.resolve_source([page], "000_161ee5e26b606702.txt") == "000_161ee5e26b606702.txt"
    assert library.resolve_source([page], "other.txt") == "other.txt"  # removal asks Chroma
    with pytest.raises(ValueError, match="no source 'other.txt'"):
        library.resolve_source([page], "other.txt", strict=True)


def test_two_files_of_one_name_are_told_apart_by_path(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = write_jsonl(tmp_path / "a" / "papers.jsonl", [PAPERS["zebra"]])
    b = write_jsonl(tmp_path / "b" / "papers.jsonl", [PAPERS["glacier"], PAPERS["active"]])
    index = PaperIndex(make_settings(tmp_path / "index"))
    ingest([a, b], index=index, progress=False)
    counts = library.source_counts(index)
    assert [(c.label, c.name, c.papers) for c in counts] == [("b/papers.jsonl", stored(b), 2),
                                                             ("a/papers.jsonl", stored(a), 1)]
    papers = library.all_papers(index)
    with pytest.raises(ValueError, match=r"'papers.jsonl' names 2 files \(.*a/papers.jsonl, .*b/papers.jsonl\)"):
        library.resolve_source(papers, "papers.jsonl")
    monkeypatch.chdir(tmp_path / "a")
    for typed in ("b/papers.jsonl", stored(b), "../b/papers.jsonl", "B/papers.jsonl"):  # as typed, resolved, label
        assert library.resolve_source(papers, typed, strict=True) == stored(b), typed
    assert titles(library.list_papers(index, sources="a/papers.jsonl")) == ["Zebra Finch Song Learning"]
    with pytest.raises(ValueError, match="names 2 files"):
        library.remove(index, source="papers.jsonl")  # ambiguous: nothing removed
    report = library.remove(index, source="../b/papers.jsonl")
    assert len(report.removed) == 2 and report.source == stored(b)
    assert [p.paper_id for p in library.all_papers(index)] == [ZEBRA]
    assert library.resolve_source(library.all_papers(index), "papers.jsonl") == stored(a)  # unambiguous now


def test_an_index_with_bare_source_names_still_lists_filters_and_removes(tmp_path):
    from ingest.pipeline import IngestReport, ingest_papers, stamp_digests
    from ingest.readers import read_file

    index = PaperIndex(make_settings(tmp_path / "index"))
    for name, records in (("b.jsonl", [PAPERS["glacier"], PAPERS["active"]]), ("a.jsonl", [PAPERS["zebra"]])):
        papers, _ = read_file(write_jsonl(tmp_path / name, records))  # sources named as before: bare names
        stamp_digests(papers)
        ingest_papers(papers, index, IngestReport(), progress=False)
    index.commit()
    assert index.stats()["sources"] == {"a.jsonl": 1, "b.jsonl": 2}
    assert titles(library.list_papers(index, sources="a.jsonl")) == ["Zebra Finch Song Learning"]
    from assistant import Assistant

    hits = Assistant(settings=index.settings).search("glacier radar", k=5, filters={"sources": ["b.jsonl"]})
    assert hits and {h.paper_id for h in hits} <= {GLACIER} | {p.paper_id for p in library.all_papers(index)}
    assert ZEBRA not in {h.paper_id for h in hits}
    report = library.remove(index, source="b.jsonl")
    assert len(report.removed) == 2 and [p.paper_id for p in library.all_papers(index)] == [ZEBRA]


def test_remove_a_source_keeps_papers_with_other_sources(tmp_path, monkeypatch):
    index, files = build(tmp_path, monkeypatch)
    report = library.remove(index, source="b.jsonl")
    assert report.kept == [GLACIER] and len(report.removed) == 1 and report.removed[0].startswith("title:")
    assert report.summary() == "1 paper removed, 1 kept with their other sources. Index: 2 papers"
    assert_consistent(index)
    glacier = next(p for p in library.all_papers(index) if p.paper_id == GLACIER)
    assert [s["name"] for s in glacier.sources] == [stored(files["a"])] and glacier.added.endswith("00:16:40+00:00")
    assert index.stats()["sources"] == {stored(files["a"]): 2}
    assert not index.papers_with_source(stored(files["b"]))  # no chunk in Chroma still names the source
    from assistant import Assistant

    hits = Assistant(settings=index.settings).search("active learning subword tokenizer annotation", k=5)
    assert ACTIVE not in [h.title for h in hits] and hits  # gone from dense and BM25 search alike
    assert snapshot(PaperIndex(index.settings)) == snapshot(index)  # a fresh reader agrees


def test_remove_by_id_and_unknown_ids_remove_nothing(tmp_path, monkeypatch):
    index, _ = build(tmp_path, monkeypatch)
    before = snapshot(index)
    with pytest.raises(UnknownPaperError, match="'arxiv:9999.99999'"):
        library.remove(index, [ZEBRA, "arxiv:9999.99999"])
    assert snapshot(index) == before and not index.needs_commit()
    with pytest.raises(ValueError, match="not both"):
        library.remove(index, [ZEBRA], source="a.jsonl")
    report = library.remove(index, [ZEBRA])
    assert report.removed == [ZEBRA] and report.papers_total == 2 and report.chunks_deleted == 1
    assert ZEBRA not in {p.paper_id for p in library.all_papers(index)}
    assert_consistent(index)


REMOVE_POINTS = ["marked", "rewritten", "deleted", "before-commit", "scanned", "side-tmp", "side-saved"]


@pytest.mark.parametrize("repair", ["rerun", "ingest"])
@pytest.mark.parametrize("point", REMOVE_POINTS)
def test_interrupted_remove_is_repaired(point, repair, tmp_path, monkeypatch):
    """A removal interrupted at `point` (an exception where a real kill would SIGKILL) leaves the
    pending mark; re-running it ends exactly like an uninterrupted removal, and the next ingest
    instead ends consistent (side index agrees with Chroma)."""
    clean, _ = build(tmp_path, monkeypatch, "clean")
    library.remove(clean, source="b.jsonl")
    want = snapshot(clean)

    index, files = build(tmp_path, monkeypatch)
    for module in ("ingest.remove", "ingest.store.index", "ingest.store.commit", "ingest.store.side.store"):
        monkeypatch.setattr(f"{module}.kill_point", _raise_at(point))
    with pytest.raises(Interrupted):
        library.remove(index, source="b.jsonl")
    monkeypatch.undo()

    index = PaperIndex(index.settings)
    assert index.needs_commit()
    if repair == "ingest":
        ingest([files["a"]], index=index, progress=False)
        assert_consistent(index)
        return
    try:
        library.remove(index, source="b.jsonl")
    except UnknownPaperError as exc:  # its papers were already gone: the re-run only commits
        assert point not in ("marked", "rewritten") and "interrupted earlier write was completed" in str(exc)
    assert_consistent(index)
    assert snapshot(index) == want


# ------------------------------------------------------------------------ CLI
def askpapers(*args):
    exe = ROOT / ".venv" / "bin" / "askpapers"
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=300,
                          check=False)


def test_cli_papers_and_remove(tmp_path, monkeypatch):
    index, _ = build(tmp_path, monkeypatch)
    where = ["--index-dir", index.settings.index_dir]
    out = askpapers("papers", "--sort", "title", "--json", *where)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]  # JSON Lines: one paper per line
    assert [r["title"] for r in rows] == [ACTIVE, "Glacier Radar at Svalbard", "Zebra Finch Song Learning"]
    assert rows[1]["paper_id"] == GLACIER and [s["label"] for s in rows[1]["sources"]] == ["b.jsonl", "a.jsonl"]

    out = askpapers("papers", "--category", "physics.geo-ph", *where)
    assert out.returncode == 0 and out.stdout.splitlines() == [
        "Glacier Radar at Svalbard", f"    2023-05-05 · b.jsonl, a.jsonl · physics.geo-ph · {GLACIER}"]

    out = askpapers("remove", "arxiv:0000.00000", *where)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "arxiv:0000.00000" in out.stderr
    out = askpapers("remove", "--source", "b.jsonl", *where)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "1 paper removed, 1 kept with their other sources. Index: 2 papers"
    out = askpapers("papers", "--sort", "date", "--limit", "1", *where)
    assert out.stdout.splitlines()[0] == "Glacier Radar at Svalbard" and "b.jsonl" not in out.stdout
    out = askpapers("papers", "--index-dir", tmp_path / "empty")
    assert out.returncode == 1 and "askpapers ingest" in out.stderr and not out.stdout


@pytest.mark.slow
@pytest.mark.parametrize("point", ["marked", "rewritten", "deleted", "side-saved"])
def test_killed_cli_remove_then_rerun_matches_clean_removal(point, tmp_path, monkeypatch):
    """A real SIGKILL (the ASKPAPERS_FAULT_KILL hook) inside `askpapers remove`, then the same command again."""
    import os
    import signal

    clean, _ = build(tmp_path, monkeypatch, "clean")
    library.remove(clean, source="b.jsonl")
    index, _ = build(tmp_path, monkeypatch)
    where = ["--index-dir", str(index.settings.index_dir)]
    exe = str(ROOT / ".venv" / "bin" / "askpapers")
    killed = subprocess.run([exe, "remove", "--source", "b.jsonl", *where], capture_output=True, text=True,
                            timeout=300, check=False, env=os.environ | {"ASKPAPERS_FAULT_KILL": point})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert PaperIndex(index.settings).needs_commit()
    again = askpapers("remove", "--source", "b.jsonl", *where)
    assert again.returncode in (0, 2), again.stderr
    index = PaperIndex(index.settings)
    assert_consistent(index)
    assert snapshot(index) == snapshot(clean)


# ------------------------------------------------------------------------ the page
def test_library_table_escapes_and_links_only_http_urls():
    from assistant.web.library import confirm_text, render_counts, render_table

    evil = library.LibraryPaper("id<1>", '<img src=x onerror="alert(1)">', url="javascript:alert(1)",
                                sources=[{"name": "p.txt", "date": None, "label": "<b>p.txt</b>"}])
    good = library.LibraryPaper("arxiv:1", "Good & Fine", url="https://arxiv.org/abs/1", date="2024-01-02")
    html = render_table([evil, good], 3)
    assert "<img" not in html and "<b>" not in html and "javascript:" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html and 'data-paper-id="id&lt;1&gt;"' in html
    assert '<a href="https://arxiv.org/abs/1"' in html and "Good &amp; Fine" in html and "2 of 3 papers" in html
    assert "No papers match" in render_table([], 3) and "No papers in the index yet" in render_table([], 0)
    assert "&lt;b&gt;p.txt&lt;/b&gt;: <b>1</b>" in render_counts([library.SourceCount("<b>p.txt</b>", "p.txt", 1)])
    assert "Remove 1 paper from" in confirm_text([evil], ["id<1>"]) and "&lt;img" in confirm_text([evil], ["id<1>"])


# ------------------------------------------------------------------------ the page's API
@pytest.mark.slow
def test_page_library_endpoint_lists_and_removes(tmp_path, monkeypatch):
    from gradio_client import Client

    from assistant import Assistant, web

    index, _ = build(tmp_path, monkeypatch)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    demo = web.serve(Assistant(settings=index.settings), host="127.0.0.1", port=port, block=False, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{demo.server_port}/", verbose=False)
        listed = client.predict(sort="title", api_name="/library")
        assert [p["title"] for p in listed["papers"]] == [ACTIVE, "Glacier Radar at Svalbard",
                                                          "Zebra Finch Song Learning"]
        assert listed["total"] == 3 and {c["label"]: c["papers"] for c in listed["sources"]} == {"a.jsonl": 2,
                                                                                             "b.jsonl": 2}
        assert [p["paper_id"] for p in client.predict(source="a.jsonl", category="q-bio.NC",
                                                      api_name="/library")["papers"]] == [ZEBRA]
        assert "error" in client.predict(paper_ids=["arxiv:0000.00000"], api_name="/remove_papers")
        result = client.predict(paper_ids=[ZEBRA], api_name="/remove_papers")
        assert result["removed"] == [ZEBRA] and result["summary"].startswith("1 paper removed")
        result = client.predict(source="b.jsonl", api_name="/remove_papers")
        assert result["kept"] == [GLACIER] and result["papers_total"] == 1
        left = client.predict(api_name="/library")
        assert [p["paper_id"] for p in left["papers"]] == [GLACIER] and left["sources"][0]["label"] == "a.jsonl"
    finally:
        demo.close()
