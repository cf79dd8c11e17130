"""Fault injection: an ingest killed at any moment, then run again, ends exactly like a clean run.

Kills come from the hook in ingest/faults.py (`ASKPAPERS_FAULT_KILL=<point>[:n]`: the process
SIGKILLs itself there) and from SIGKILLs at random times. Each case runs on an empty and on a
populated index, in embedded mode and against a real `chroma run` server. Also: filtered searches
in a loop while another process ingests give no error, in both modes.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import ROOT, make_settings, write_jsonl

from ingest.pipeline import ingest
from ingest.remove import remove_papers
from ingest.settings import Settings
from ingest.store import META_PENDING, PaperIndex
from ingest.store.sparse import DIRNAME, SideIndex

BATCH = 4  # papers per write step: many steps (and kill points) on a small input

# A subprocess that ingests `before` (unarmed), then arms the hook and ingests `paths`.
DRIVER = """
import json, os, sys
from ingest.pipeline import ingest
from ingest.settings import Settings
spec = json.loads(sys.argv[1])
settings = Settings(**spec["settings"])
for paths in spec["before"]:
    ingest(paths, settings=settings, progress=False, write_batch=spec["batch"])
if spec["kill"]:
    os.environ["ASKPAPERS_FAULT_KILL"] = spec["kill"]
print("ARMED", flush=True)
ingest(spec["paths"], settings=settings, progress=False, write_batch=spec["batch"],
       **({"read_batch": spec["read_batch"]} if spec.get("read_batch") else {}))
print("FINISHED", flush=True)
"""


# ---------------------------------------------------------------------------- inputs
def _abstract(topic: str, i: int, long: bool) -> str:
    text = f"We study {topic} in setting {i} and report a {i + 3}% gain over prior {topic} baselines."
    if long:  # two or more chunks
        text += " " + " ".join(f"Experiment {j} on {topic} confirms the effect under condition {j}." for j in range(40))
    return text


def _inputs(d: Path) -> dict[str, Path]:
    """Three small files: a base of arXiv papers, title-only papers, and an update that adds new
    papers, gives arXiv ids to title-only ones, rewrites abstracts and adds sources."""
    base = [{"id": f"2301.{i:05d}", "title": f"Glacier radar study {i}", "abstract": _abstract("glacier radar", i, i % 5 == 0),
             "categories": "physics.geo-ph" if i % 2 else "cs.LG", "update_date": f"20{10 + i % 12:02d}-03-0{1 + i % 9}"}
            for i in range(14)]
    titles = [{"title": f"Untitled coral survey {i}", "abstract": _abstract("coral reef", i, i == 3)} for i in range(8)]
    # first in the file, so the first write steps replace stored papers: new abstracts (one
    # shrinks from several chunks to one, one grows), arXiv ids for title-only papers
    update = [dict(base[i], abstract=_abstract("rewritten radar", i, i == 1)) for i in (0, 1, 2, 3)]
    update += [{"id": f"2203.{i:05d}", "title": t["title"], "abstract": t["abstract"], "categories": "q-bio",
                "update_date": "2022-05-05"} for i, t in enumerate(titles[:5])]  # title-only -> arXiv
    update += [base[i] for i in (6, 7)]  # same papers seen in another file: new source
    update += [{"id": f"2402.{i:05d}", "title": f"Quantum sensor paper {i}", "abstract": _abstract("quantum sensing", i, i % 4 == 0),
                "categories": "quant-ph", "update_date": f"2024-0{1 + i % 9}-11"} for i in range(14)]
    return {"base": write_jsonl(d / "base.jsonl", base), "titles": write_jsonl(d / "titles.jsonl", titles),
            "update": write_jsonl(d / "update.jsonl", update)}


# (ingests done before, the ingest that is interrupted)
SCENARIOS = {
    "empty": ([], ["base", "titles", "update"]),
    "populated": ([["base", "titles"]], ["update"]),
}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    return _inputs(tmp_path_factory.mktemp("fault-inputs"))


def _paths(inputs, names: list[str]) -> list[str]:
    return [str(inputs[n]) for n in names]


# ---------------------------------------------------------------------------- snapshots
def snapshot(index: PaperIndex) -> dict:
    """Everything a clean run determines: chunks (ids, metadata, text) and side-index rows."""
    chunks = sorted((cid, json.dumps(_timeless(meta), sort_keys=True), doc) for cid, meta, doc, _v in
                    index.scan(["metadatas", "documents"]))
    side = index.side
    rows = sorted((pid, side.table.n_chunks[i], side.table.date_ord[i], side.table.categories[i],
                   side.table.sources[i], json.dumps(side.record(pid), sort_keys=True))
                  for i, pid in enumerate(side.table.ids))
    return {"chunks": chunks, "rows": rows}


def _timeless(meta: dict) -> dict:
    """Chunk metadata without the wall-clock `added` time (two runs never share it; test_library
    checks that it survives rewrites), also inside llama-index's `_node_content` copy."""
    meta = {k: v for k, v in meta.items() if k != "added"}
    if "_node_content" in meta:
        node = json.loads(meta["_node_content"])
        node.get("metadata", {}).pop("added", None)
        meta["_node_content"] = json.dumps(node, sort_keys=True)
    return meta


def assert_consistent(index: PaperIndex) -> None:
    """Committed (no pending mark), and the saved side index is this generation's, with Chroma's counts."""
    meta = index.chroma.metadata()
    assert not meta.get(META_PENDING)
    assert index.needs_commit() is None
    saved = SideIndex.saved_manifest(Path(index.settings.side_index_dir))
    assert saved and saved["generation"] == index.generation
    assert saved["chunks"] == index.collection.count()


@pytest.fixture(scope="module")
def clean(inputs, tmp_path_factory) -> dict[str, dict]:
    """The snapshot of each scenario's clean (uninterrupted) run, embedded."""
    out = {}
    for name, (before, during) in SCENARIOS.items():
        index = PaperIndex(make_settings(tmp_path_factory.mktemp(f"clean-{name}")))
        for names in before + [during]:
            ingest(_paths(inputs, names), index=index, progress=False, write_batch=BATCH)
        out[name] = snapshot(index)
    assert len(out["empty"]["rows"]) == len(out["populated"]["rows"]) == 14 + 8 + 14
    return out


def _run_driver(settings: dict, inputs, scenario: str, kill: str | None, cwd: Path, random_kill: random.Random | None = None):
    before, during = SCENARIOS[scenario]
    spec = {"settings": settings, "before": [_paths(inputs, b) for b in before], "paths": _paths(inputs, during),
            "kill": kill, "batch": BATCH}
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKPAPERS_")}
    env["PYTHONPATH"] = str(ROOT)
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, json.dumps(spec)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if random_kill is not None:
        assert proc.stdout.readline().strip() == "ARMED", proc.stderr.read()
        time.sleep(random_kill.uniform(0.0, 4.0))
        proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def _rerun_and_compare(settings: Settings, inputs, scenario: str, clean) -> None:
    _before, during = SCENARIOS[scenario]
    index = PaperIndex(settings)
    report = ingest(_paths(inputs, during), index=index, progress=False, write_batch=BATCH)
    assert not report.errors
    assert_consistent(index)
    got = snapshot(index)
    want = clean[scenario]
    assert [c[0] for c in got["chunks"]] == [c[0] for c in want["chunks"]]  # the chunk ids first: clearer diff
    assert got == want
    # and a fresh reader of the repaired index loads the saved side index, which agrees too
    assert snapshot(PaperIndex(settings)) == want


# ---------------------------------------------------------------------------- chroma server
def _settings(mode: str, tmp_path: Path, request) -> dict:
    """Settings for one case: its own embedded dir, or its own collection on the shared server."""
    if mode == "embedded":
        return {"index_dir": str(tmp_path / "index")}
    url = request.getfixturevalue("chroma_server")
    return {"index_dir": str(tmp_path / "cache"), "chroma_url": url, "collection": f"faults-{uuid.uuid4().hex[:12]}"}


# ---------------------------------------------------------------------------- the kill tests
POINTS = ["marked", "rewritten", "written:1", "deleted:1", "written:2", "written:4", "superseded", "before-commit",
          "scanned", "side-tmp", "compacted", "segment-written", "side-saved", "stamped", "journal-removed"]
# an ingest into an empty index commits one segment: nothing to supersede, rewrite or compact
CASES = [(s, p) for s in SCENARIOS for p in POINTS if not (s == "empty" and p in ("superseded", "rewritten", "compacted"))]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["embedded", "server"])
@pytest.mark.parametrize("scenario,point", CASES)
def test_kill_at_point_then_rerun_matches_clean_run(mode, scenario, point, inputs, clean, tmp_path, request):
    settings = _settings(mode, tmp_path, request)
    code, out, err = _run_driver(settings, inputs, scenario, point, tmp_path)
    assert code == -signal.SIGKILL, f"the ingest was not killed at {point!r}: {code} {out} {err[-2000:]}"
    assert "ARMED" in out and "FINISHED" not in out
    _rerun_and_compare(Settings(**settings), inputs, scenario, clean)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["embedded", "server"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kill_at_random_time_then_rerun_matches_clean_run(mode, seed, inputs, clean, tmp_path, request):
    settings = _settings(mode, tmp_path, request)
    code, _out, err = _run_driver(settings, inputs, "populated", None, tmp_path, random.Random(seed))
    assert code in (0, -signal.SIGKILL), err[-2000:]
    _rerun_and_compare(Settings(**settings), inputs, "populated", clean)


# ---------------------------------------------------------------------------- readers during writes
@pytest.mark.slow
@pytest.mark.parametrize("mode,read_batch", [("embedded", None), ("server", None), ("embedded", 1)])
def test_filtered_searches_while_another_process_ingests(mode, read_batch, inputs, tmp_path, request):
    """`read_batch=1`: the writer commits after every paper (an ingest's part commits), so the reader
    meets many commits half done; it must neither fail nor rebuild the side index from a scan."""
    from assistant import Assistant

    settings = _settings(mode, tmp_path, request)
    ingest(_paths(inputs, ["base"]), settings=Settings(**settings), progress=False)
    reader = Assistant(settings=Settings(**settings))
    rebuilds, rebuild = [], reader.index.rebuild_side_index
    reader.index.rebuild_side_index = lambda *a, **k: rebuilds.append(a) or rebuild(*a, **k)
    queries = [("glacier radar", {"date_from": "2007"}), ("quantum sensing", {"categories": ["quant-ph"]}),
               ("coral reef survey", {"date_to": "2023-12"}), ("radar experiment", {"categories": ["cs.LG"]})]
    assert reader.search(queries[0][0], k=5, filters=queries[0][1])  # a long-lived reader, opened first
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASKPAPERS_")}
    env["PYTHONPATH"] = str(ROOT)
    spec = {"settings": settings, "before": [_paths(inputs, ["titles"])], "paths": _paths(inputs, ["update"]),
            "kill": None, "batch": 1, "read_batch": read_batch}
    writer = subprocess.Popen([sys.executable, "-c", DRIVER, json.dumps(spec)], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    errors, searches, counts = [], 0, []
    deadline = time.time() + 240
    while (writer.poll() is None or searches < 20) and time.time() < deadline:
        query, filters = queries[searches % len(queries)]
        try:
            reader.search(query, k=5, filters=filters)
            counts.append(reader.stats()["papers_total"])
        except Exception as exc:  # noqa: BLE001 - counting every failure is the point
            errors.append(f"{type(exc).__name__}: {exc}")
        searches += 1
    _out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err[-2000:]
    assert not errors, f"{len(errors)} of {searches} searches failed: {errors[:3]}"
    if read_batch:
        assert not rebuilds  # every commit's side index was read from disk, none rebuilt from a scan
        assert counts == sorted(counts)  # the library a reader sees never shrinks while papers are added
    hits = reader.search("quantum sensor paper", k=40, filters={"categories": ["quant-ph"]})
    assert len(hits) == 14  # and once the writer is done, the reader sees everything it wrote


# ---------------------------------------------------------------------------- fast, in-process
class Interrupted(Exception):
    """Stands in for a kill in the in-process tests."""


def _raise_at(point: str):
    name, _, nth = point.partition(":")
    seen = []

    def hook(at: str) -> None:
        if at == name:
            seen.append(at)
            if len(seen) == int(nth or 1):
                raise Interrupted(at)
    return hook


KILL_MODULES = ("ingest.pipeline", "ingest.store.index", "ingest.store.commit", "ingest.store.side.store")


@pytest.mark.parametrize("point", ["marked", "rewritten", "written:1", "deleted:1", "written:2", "deleted:2",
                                   "superseded", "before-commit", "scanned", "side-tmp", "segment-written",
                                   "side-saved", "stamped", "journal-removed"])
def test_interrupted_ingest_is_repaired_by_the_next_run(point, tiny_papers, tmp_path, monkeypatch):
    """The repair logic in one process: an ingest interrupted at `point` (an exception where the
    slow tests SIGKILL), then a plain re-run, ends with the clean run's chunks and side index."""
    untitled = {k: v for k, v in tiny_papers[0].items() if k != "id"}
    long = dict(tiny_papers[1], abstract="Solar wind turbulence, measured at many scales. " * 60)  # several chunks
    base = write_jsonl(tmp_path / "base.jsonl", [untitled, long, tiny_papers[2]])
    # an arXiv id for the untitled paper, a shorter abstract (one chunk: the others must go), and a
    # paper seen again (a new source)
    update = write_jsonl(tmp_path / "update.jsonl", tiny_papers)
    clean = PaperIndex(make_settings(tmp_path / "clean"))
    for f in (base, update):
        ingest([f], index=clean, progress=False, write_batch=1)
    want = snapshot(clean)

    settings = make_settings(tmp_path / "index")
    ingest([base], index=PaperIndex(settings), progress=False, write_batch=1)
    hook = _raise_at(point)
    for module in KILL_MODULES:
        monkeypatch.setattr(f"{module}.kill_point", hook)
    with pytest.raises(Interrupted):
        ingest([update], index=PaperIndex(settings), progress=False, write_batch=1)
    monkeypatch.undo()

    index = PaperIndex(settings)
    if point not in ("stamped", "journal-removed"):
        assert index.needs_commit()  # the interrupted run left its mark
    report = ingest([update], index=index, progress=False, write_batch=1)
    assert report.papers_total == 3
    assert_consistent(index)
    if point != "stamped":  # a journal left after the stamp is dropped by the next commit
        assert not list((Path(settings.side_index_dir) / DIRNAME).glob("journal-*"))
    got = snapshot(index)
    assert [c[0] for c in got["chunks"]] == [c[0] for c in want["chunks"]]
    assert got == want
    sources = {row[0]: row[4] for row in got["rows"]}
    assert sources["arxiv:0704.0002"] == [str(base.resolve()), str(update.resolve())]  # kept its first source


@pytest.mark.parametrize("point", ["compacted", "segment-written", "side-saved"])
def test_interrupted_compaction_is_repaired_by_the_next_run(point, tiny_papers, tmp_path, monkeypatch):
    """A commit whose new segment merges with the older one (compaction), interrupted on the way:
    the re-run ends with the clean run's side index."""
    first = write_jsonl(tmp_path / "first.jsonl", tiny_papers[:2])
    changed = dict(tiny_papers[0], abstract="Hypernetworks embed unseen tokens in twelve languages.")
    second = write_jsonl(tmp_path / "second.jsonl", [changed, tiny_papers[2]])
    clean = PaperIndex(make_settings(tmp_path / "clean"))
    for f in (first, second):
        ingest([f], index=clean, progress=False)
    want = snapshot(clean)

    settings = make_settings(tmp_path / "index")
    ingest([first], index=PaperIndex(settings), progress=False)
    reached = []
    hook = _raise_at(point)
    for module in KILL_MODULES:
        monkeypatch.setattr(f"{module}.kill_point", lambda at: reached.append(at) or hook(at))
    with pytest.raises(Interrupted):
        ingest([second], index=PaperIndex(settings), progress=False)
    monkeypatch.undo()
    assert "compacted" in reached  # one segment of 1 live paper + one of 2 new: they merge

    index = PaperIndex(settings)
    assert index.needs_commit()
    ingest([second], index=index, progress=False)
    assert_consistent(index)
    assert snapshot(index) == want == snapshot(PaperIndex(settings))
    assert len(SideIndex.saved_manifest(Path(settings.side_index_dir))["segments"]) == 1


def test_reader_of_an_interrupted_index_answers_from_the_last_commit(tiny_papers, tmp_path, monkeypatch):
    """Chroma holds a paper the last commit does not (the ingest died before committing): a reader
    answers filtered searches from the committed snapshot, without error, until a re-run commits."""
    from assistant import Assistant

    settings = make_settings(tmp_path / "index")
    ingest([write_jsonl(tmp_path / "a.jsonl", tiny_papers[:2])], index=PaperIndex(settings), progress=False)
    monkeypatch.setattr("ingest.pipeline.kill_point", _raise_at("before-commit"))
    both = write_jsonl(tmp_path / "b.jsonl", tiny_papers)
    with pytest.raises(Interrupted):
        ingest([both], index=PaperIndex(settings), progress=False)
    monkeypatch.undo()

    reader = Assistant(settings=settings)
    reader.index.chroma.reopen()  # a fresh client: it sees every vector written, like a new process
    question = "contrastive decoding reduces hallucination"
    vector = reader.index.embed_model.get_query_embedding(question)
    assert reader.index.dense(vector, 1)[0][0].startswith("title:")  # Chroma has the uncommitted paper
    for filters in (None, {"date_from": "2007"}, {"categories": ["cs.CL"]}):
        hits = reader.search(question, k=10, filters=filters)
        assert hits and all(h.paper_id.startswith("arxiv:") for h in hits)
    assert reader.stats()["papers_total"] == 2

    ingest([both], index=PaperIndex(settings), progress=False)  # the re-run commits
    assert reader.search(question, k=1)[0].title == "Contrastive Decoding Reduces Hallucination"
    assert reader.stats()["papers_total"] == 3


@pytest.mark.parametrize("point", ["stamped:1", "written:2", "before-commit:2"])
def test_ingest_killed_between_part_commits_is_repaired_by_the_next_run(point, tiny_papers, tmp_path, monkeypatch):
    """A big input commits once per read part: interrupted after one part's commit (or inside a
    later part), the re-run ends with the clean run's chunks and side index."""
    base = write_jsonl(tmp_path / "base.jsonl", tiny_papers[:1])
    update = write_jsonl(tmp_path / "update.jsonl", tiny_papers)
    clean = PaperIndex(make_settings(tmp_path / "clean"))
    for f in (base, update):
        ingest([f], index=clean, progress=False, write_batch=1, read_batch=1)
    want = snapshot(clean)

    settings = make_settings(tmp_path / "index")
    ingest([base], index=PaperIndex(settings), progress=False, write_batch=1, read_batch=1)
    reached = []
    hook = _raise_at(point)
    for module in KILL_MODULES:
        monkeypatch.setattr(f"{module}.kill_point", lambda at: reached.append(at) or hook(at))
    with pytest.raises(Interrupted):
        ingest([update], index=PaperIndex(settings), progress=False, write_batch=1, read_batch=1)
    monkeypatch.undo()
    assert "stamped" in reached  # at least one part was committed before the kill

    index = PaperIndex(settings)
    ingest([update], index=index, progress=False, write_batch=1, read_batch=1)
    assert_consistent(index)
    assert snapshot(index) == want == snapshot(PaperIndex(settings))


def _ingest_then_kill(first: Path, then: Path, point: str, settings: Settings, monkeypatch) -> None:
    """Ingest `first` whole, then `then` interrupted at `point` (one paper per write step)."""
    ingest([first], index=PaperIndex(settings), progress=False, write_batch=1)
    for module in KILL_MODULES:
        monkeypatch.setattr(f"{module}.kill_point", _raise_at(point))
    with pytest.raises(Interrupted):
        ingest([then], index=PaperIndex(settings), progress=False, write_batch=1)
    monkeypatch.undo()


def test_half_replaced_paper_left_by_a_kill_is_rewritten_by_a_later_run(tiny_papers, tmp_path, monkeypatch):
    """A kill after a changed paper's new chunks are written, before its old surplus chunks are
    deleted, then a run that does not include that paper (it commits the half-replaced state), then
    the paper again: it is written again, and the index ends as a clean run's."""
    long = dict(tiny_papers[1], abstract="Solar wind turbulence, measured at many scales. " * 60)  # several chunks
    short = dict(tiny_papers[1], abstract="Solar wind turbulence, measured once.")  # one chunk: the others must go
    base = write_jsonl(tmp_path / "base.jsonl", [long, tiny_papers[0]])
    update = write_jsonl(tmp_path / "update.jsonl", [short])
    other = write_jsonl(tmp_path / "other.jsonl", [tiny_papers[2]])
    clean = PaperIndex(make_settings(tmp_path / "clean"))
    for f in (base, update, other):
        ingest([f], index=clean, progress=False, write_batch=1)
    want = snapshot(clean)

    settings = make_settings(tmp_path / "index")
    _ingest_then_kill(base, update, "written", settings, monkeypatch)
    ingest([other], index=PaperIndex(settings), progress=False, write_batch=1)  # commits the half-replaced paper

    index = PaperIndex(settings)
    stored = index.stored_papers(["arxiv:0704.0002"])["arxiv:0704.0002"]
    assert not stored.complete  # chunks of two versions: not taken for the new version, stored whole
    report = ingest([update], index=index, progress=False, write_batch=1)
    assert report.updated == 1
    assert_consistent(index)
    assert snapshot(index) == want


def test_rechunked_paper_left_half_written_by_a_kill_is_rewritten_by_a_later_run(tiny_papers, tmp_path, monkeypatch):
    """The chunk size changed and a paper seen in a new file is embedded again with the new chunking;
    a kill before its old surplus chunks are deleted leaves chunks of one content hash but two
    chunkings. After a run without that paper commits it, the paper again is written as a clean run."""
    long = dict(tiny_papers[1], abstract="Solar wind turbulence, measured at many scales. " * 60)
    base = write_jsonl(tmp_path / "base.jsonl", [long])
    update = write_jsonl(tmp_path / "update.jsonl", [long])  # the same paper from another file
    other = write_jsonl(tmp_path / "other.jsonl", [tiny_papers[2]])
    small, big = {"chunk_size": 192}, {"chunk_size": 512}
    clean = make_settings(tmp_path / "clean", **small)
    ingest([base], index=PaperIndex(clean), progress=False, write_batch=1)
    for f in (update, other):
        ingest([f], index=PaperIndex(make_settings(tmp_path / "clean", **big)), progress=False, write_batch=1)
    want = snapshot(PaperIndex(make_settings(tmp_path / "clean", **big)))

    ingest([base], index=PaperIndex(make_settings(tmp_path / "index", **small)), progress=False, write_batch=1)
    for module in KILL_MODULES:
        monkeypatch.setattr(f"{module}.kill_point", _raise_at("written"))
    with pytest.raises(Interrupted):
        ingest([update], index=PaperIndex(make_settings(tmp_path / "index", **big)), progress=False, write_batch=1)
    monkeypatch.undo()
    settings = make_settings(tmp_path / "index", **big)
    ingest([other], index=PaperIndex(settings), progress=False, write_batch=1)  # commits the half-written paper
    index = PaperIndex(settings)
    assert not index.stored_papers(["arxiv:0704.0002"])["arxiv:0704.0002"].complete
    ingest([update], index=index, progress=False, write_batch=1)
    assert_consistent(index)
    assert snapshot(index) == want


@pytest.mark.parametrize("then", ["ingest", "remove", "remove the new paper"])
def test_replacement_killed_before_the_old_paper_goes_is_finished_by_the_next_commit(then, tiny_papers, tmp_path,
                                                                                    monkeypatch):
    """A record with an id replaces a stored title-only paper: written, then the old paper deleted.
    Killed in between, the next commit of any command (another input, a removal) finishes the
    replacement: the title-only paper does not stay beside its replacement, nor come back when
    the replacement itself is removed next."""
    untitled = {k: v for k, v in tiny_papers[0].items() if k != "id"}
    base = write_jsonl(tmp_path / "base.jsonl", [untitled, tiny_papers[1]])
    update = write_jsonl(tmp_path / "update.jsonl", [tiny_papers[0]])  # the same paper, with its arXiv id
    other = write_jsonl(tmp_path / "other.jsonl", [tiny_papers[2]])

    def next_command(index: PaperIndex) -> None:
        if then == "ingest":
            ingest([other], index=index, progress=False, write_batch=1)
        else:
            remove_papers(index, ["arxiv:2401.00001" if then == "remove the new paper" else "arxiv:0704.0002"])

    clean = PaperIndex(make_settings(tmp_path / "clean"))
    for f in (base, update):
        ingest([f], index=clean, progress=False, write_batch=1)
    next_command(clean)
    want = snapshot(clean)

    settings = make_settings(tmp_path / "index")
    _ingest_then_kill(base, update, "superseded", settings, monkeypatch)
    index = PaperIndex(settings)
    next_command(index)
    assert_consistent(index)
    assert snapshot(index) == want
    titles = [index.side.record(pid)["title"] for pid in index.side.table.ids]
    assert titles.count(tiny_papers[0]["title"]) == (0 if then == "remove the new paper" else 1)
