"""Scale: ingest, disk, search and reader start at N papers, embedded and on a `chroma run` server.

    python benchmarks/scale.py SOURCES... --questions Q.jsonl --work DIR [--sizes 10000 100000]
        [--vectors cached|random] [--modes embedded server] [--direct-above 200000]
        [--commit-every 100000] [--resume] [--keep] [--json]

Papers are synthetic, made of real sentences (benchmarks/scale_data.py), written as JSONL and
ingested by `askpapers ingest` in a fresh process (time and peak RSS are that process's own).
Embeddings come from a fast local OpenAI-style endpoint (benchmarks/scale_embed.py) that
askpapers is pointed at through its settings, so the figures are askpapers' cost, not a
model's. For each size N, one run measures:

- ingest 1,000 papers into an empty index (once; also into an empty server collection);
- ingest the N papers (libraries above --direct-above are written straight through
  `PaperIndex.write_chunks` in big batches with a commit every --commit-every papers, so the
  side index ends as one segment a part and memory stays bounded; and say so);
- ingest the same 1,000 papers into the N library, and its ratio to the empty case;
- disk by component (benchmarks/disk.py);
- a reader in a fresh process: process start to first search answered, then search p50/p95
  over the questions (`Assistant.search`, k=10), and its peak RSS;
- in server mode (a copy of the N library served by `chroma run`): the reader's start with no
  side-index cache (it builds one from the collection) and with the cache, the +1,000 ingest
  through the server, and Chroma's own full-text search against the side index's BM25
  (benchmarks/scale_probe.py fts).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from scale_data import library_files, new_papers_file, prepare_vectors  # noqa: E402
from disk import measure as measure_disk  # noqa: E402
from scale_report import print_tables  # noqa: E402

MODEL = "askpapers-scale-384"  # the model name askpapers records in the index (same in every run)
PY = sys.executable
STARTED = time.perf_counter()


def log(msg: str) -> None:
    print(f"[{time.perf_counter() - STARTED:7.0f} s] {msg}", file=sys.stderr, flush=True)


class LoadSampler(threading.Thread):
    """The 1-minute load average every 15 s, to say how busy the machine was."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples: list[float] = []

    def run(self) -> None:
        while True:
            self.samples.append(os.getloadavg()[0])
            time.sleep(15)

    def summary(self) -> dict:
        s = self.samples or [0.0]
        return {"min": min(s), "median": sorted(s)[len(s) // 2], "max": max(s)}


def start_process(cmd: list[str], logfile: Path, pipe: bool = False) -> subprocess.Popen:
    """Start a server in its own session; its output goes to `logfile` (stdout to a pipe when
    `pipe`: read it, or a chatty server blocks once the pipe is full)."""
    out = logfile.open("ab")
    return subprocess.Popen(cmd, stdout=subprocess.PIPE if pipe else out, stderr=out, text=True,
                            start_new_session=True)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def start_embedder(work: Path, vectors: str) -> tuple[subprocess.Popen, str]:
    proc = start_process([PY, str(HERE / "scale_embed.py"), "--work", str(work), "--vectors", vectors],
                         work / "logs" / "embed.log", pipe=True)  # prints its URL, then nothing
    return proc, proc.stdout.readline().strip()


def start_chroma(path: Path, port: int, logfile: Path) -> tuple[subprocess.Popen, str]:
    chroma = Path(PY).parent / "chroma"
    proc = start_process([str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
                         logfile)
    url = f"http://127.0.0.1:{port}"
    for _ in range(240):
        try:
            urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2)
            return proc, url
        except OSError:
            if proc.poll() is not None:
                raise SystemExit(f"chroma run exited with {proc.returncode}; see {logfile}")
            time.sleep(0.5)
    stop(proc)
    raise SystemExit(f"chroma run did not answer in 120 s; see {logfile}")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Runner:
    """Runs probes (benchmarks/scale_probe.py) in fresh processes against one embeddings endpoint."""

    def __init__(self, args, embed_url: str) -> None:
        self.args, self.work, self.embed_url = args, args.work, embed_url

    def env(self, index_dir: Path, chroma_url: str | None = None, collection: str | None = None) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ASKPAPERS_")}
        env.update(ASKPAPERS_INDEX_DIR=str(index_dir), ASKPAPERS_EMBED_BASE_URL=self.embed_url,
                   ASKPAPERS_EMBED_MODEL=MODEL, ASKPAPERS_EMBED_API_KEY="local", PYTHONUNBUFFERED="1",
                   SCALE_CODE_DIR=str(self.args.code))
        if chroma_url:
            env["ASKPAPERS_CHROMA_URL"] = chroma_url
        if collection:
            env["ASKPAPERS_COLLECTION"] = collection
        return env

    def probe(self, name: str, kind: str, args: list[str], env: dict) -> dict:
        """Run one probe; {"seconds": wall time, **what it wrote}. Its output goes to logs/NAME.log."""
        out = self.work / "logs" / f"{name}.json"
        logfile = self.work / "logs" / f"{name}.log"
        out.unlink(missing_ok=True)
        # write back what earlier steps left dirty in the page cache (a library just built or
        # copied): else the probe's first fsync pays for it (0.8 s for a fresh 100k copy)
        os.sync()
        started, t = time.time(), time.perf_counter()
        with logfile.open("w") as f:
            rc = subprocess.run([PY, str(HERE / "scale_probe.py"), kind, str(out), *map(str, args)],
                                stdout=f, stderr=subprocess.STDOUT, env=env, cwd=self.work).returncode
        seconds = time.perf_counter() - t
        if rc != 0 or not out.exists():
            raise SystemExit(f"probe {name} failed (exit {rc}); see {logfile}")
        result = {"seconds": seconds, **json.loads(out.read_text())}
        if "first_answered_at" in result:
            result["start_to_first_answer_s"] = result.pop("first_answered_at") - started
        return result

    def ingest(self, name: str, paths: list[Path], env: dict) -> dict:
        log(f"{name}: askpapers ingest {len(paths)} file(s)")
        r = self.probe(name, "ingest", paths, env)
        log(f"  {r['seconds']:.1f} s, peak RSS {r['peak_rss_mib']:.0f} MiB")
        return r

    def search(self, name: str, env: dict) -> dict:
        r = self.probe(name, "search", [self.args.questions, self.args.repeat], env)
        log(f"{name}: first answer {r['start_to_first_answer_s']:.1f} s after start, search p50 "
            f"{r['search_p50_ms']:.1f} ms, p95 {r['search_p95_ms']:.1f} ms, peak RSS {r['peak_rss_mib']:.0f} MiB")
        return r

    def direct(self, name: str, paths: list[Path], env: dict) -> dict:
        log(f"{name}: writing {len(paths)} file(s) of papers straight through PaperIndex.write_chunks")
        r = self.probe(name, "direct", [self.work, self.args.vectors, self.args.commit_every, *paths], env)
        log(f"  {r['seconds']:.1f} s ({len(r['commits'])} commits, {r['commit_s']:.1f} s), "
            f"peak RSS {r['peak_rss_mib']:.0f} MiB")
        return r


def disk(path: Path) -> dict:
    measured = measure_disk(path)
    parts = {**measured["components"], "total": measured["total_bytes"]}
    log(f"disk {path.name}: {parts['total'] / 1e6:.0f} MB")
    return parts


def run_size(run: Runner, size: int, pool: list[str], new_file: Path, empty: dict) -> dict:
    args, work = run.args, run.work
    files = library_files(pool, work / "data", size)
    lib = work / f"lib-{size}"
    if not (args.resume and size > args.direct_above):
        shutil.rmtree(lib, ignore_errors=True)
    elif lib.exists():
        log(f"lib-{size}: resuming the direct writes into the library left by an earlier run")
    row: dict = {"papers": size}
    if size > args.direct_above:
        row["library_ingest"] = {**run.direct(f"lib-{size}", files, run.env(lib)), "how": "direct write_chunks"}
    else:
        row["library_ingest"] = {**run.ingest(f"lib-{size}", files, run.env(lib)), "how": "askpapers ingest"}
    srv = work / f"srv-{size}"
    if "server" in args.modes:
        shutil.rmtree(srv, ignore_errors=True)
        log(f"copying lib-{size} to srv-{size} for the server runs")
        shutil.copytree(lib, srv)
    if "embedded" in args.modes:
        add = run.ingest(f"lib-{size}-add", [new_file], run.env(lib))
        add["ratio_to_empty"] = add["seconds"] / empty["embedded"]["seconds"]
        log(f"  +{args.new} into {size}: {add['ratio_to_empty']:.2f}x the empty-index time")
        row["embedded"] = {"add": add, "disk": disk(lib), "reader": run.search(f"lib-{size}-reader", run.env(lib))}
    if "server" in args.modes:
        row["server"] = run_server(run, size, srv, new_file, empty)
    if not args.keep:
        for path in (lib, srv, work / f"client-{size}"):
            shutil.rmtree(path, ignore_errors=True)
    return row


def run_server(run: Runner, size: int, srv: Path, new_file: Path, empty: dict) -> dict:
    """The N library copy behind `chroma run`: cold reader, +1,000 ingest, warm reader, full-text."""
    args, work = run.args, run.work
    proc, url = start_chroma(srv, free_port(), work / "logs" / f"chroma-{size}.log")
    client = work / f"client-{size}"  # the machine that ingests and reads: its side-index cache
    shutil.rmtree(client, ignore_errors=True)
    try:
        out: dict = {"disk": disk(srv)}
        out["reader_cold"] = run.search(f"srv-{size}-reader-cold", run.env(client, url))
        add = run.ingest(f"srv-{size}-add", [new_file], run.env(client, url))
        if "server" in empty:
            add["ratio_to_empty"] = add["seconds"] / empty["server"]["seconds"]
        out["add"] = add
        out["reader_warm"] = run.search(f"srv-{size}-reader-warm", run.env(client, url))
        fresh = work / f"client-{size}-fresh"
        shutil.rmtree(fresh, ignore_errors=True)
        out["reader_cold_after_add"] = run.search(f"srv-{size}-reader-cold2", run.env(fresh, url))
        log(f"srv-{size}: Chroma full-text search vs the side index's BM25")
        out["fts"] = run.probe(f"srv-{size}-fts", "fts", [args.questions, args.fts_questions], run.env(client, url))
        for name, m in out["fts"]["methods"].items():
            log(f"  {name}: p50 {m['p50_ms']:.1f} ms, p95 {m['p95_ms']:.1f} ms, "
                f"recall of BM25 top 10 {m['recall_of_bm25_top10']:.2f}")
        log(f"  Chroma Search API: {out['fts']['search_api']}")
        shutil.rmtree(fresh, ignore_errors=True)
    finally:
        stop(proc)
    return out


def empty_case(run: Runner, new_file: Path) -> dict:
    """+1,000 papers into an empty index: embedded, and into an empty collection on a server."""
    work, out = run.work, {}
    if "embedded" in run.args.modes:
        empty = work / "empty"
        shutil.rmtree(empty, ignore_errors=True)
        out["embedded"] = run.ingest("empty-add", [new_file], run.env(empty))
        out["embedded"]["disk_total"] = disk(empty)["total"]
        shutil.rmtree(empty, ignore_errors=True)
    if "server" in run.args.modes:
        data = work / "empty-server"
        shutil.rmtree(data, ignore_errors=True)
        proc, url = start_chroma(data, free_port(), work / "logs" / "chroma-empty.log")
        try:
            out["server"] = run.ingest("empty-server-add", [new_file], run.env(work / "empty-client", url))
        finally:
            stop(proc)
            shutil.rmtree(data, ignore_errors=True)
            shutil.rmtree(work / "empty-client", ignore_errors=True)
    return out


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sources", nargs="+", type=Path, help="files or folders whose abstracts give the sentences")
    ap.add_argument("--questions", type=Path, required=True, help="JSONL with a 'question' field: the queries")
    ap.add_argument("--work", type=Path, required=True, help="work directory (data, indexes, logs, vector caches)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--new", type=int, default=1000, help="papers added to the empty index and to each library")
    ap.add_argument("--repeat", type=int, default=2, help="passes over the questions per reader")
    ap.add_argument("--vectors", choices=["cached", "random"], default="cached",
                    help="cached: bundled-model vectors of the pool sentences, averaged; random: hashed unit vectors")
    ap.add_argument("--modes", nargs="+", choices=["embedded", "server"], default=["embedded", "server"])
    ap.add_argument("--direct-above", type=int, default=200_000,
                    help="libraries larger than this are written through PaperIndex.write_chunks, not ingest")
    ap.add_argument("--commit-every", type=int, default=100_000,
                    help="direct writes commit after every this many papers (one side-index segment each)")
    ap.add_argument("--fts-questions", type=int, default=12, help="questions used for the full-text comparison")
    ap.add_argument("--code", type=Path, default=ROOT,
                    help="askpapers source tree to measure (default this checkout; e.g. a `git archive` of a commit)")
    ap.add_argument("--keep", action="store_true", help="keep the indexes (else each is removed after its size)")
    ap.add_argument("--resume", action="store_true",
                    help="a library above --direct-above that an earlier (killed) run left is written on from "
                         "where it stopped, not again (its write time then counts only this run's part)")
    ap.add_argument("--json", action="store_true", help="print the results as JSON instead of tables")
    return ap.parse_args()


def main() -> int:
    args = parse_args()
    args.work = args.work.resolve()
    args.questions = args.questions.resolve()
    args.code = args.code.resolve()
    (args.work / "logs").mkdir(parents=True, exist_ok=True)
    load = LoadSampler()
    load.start()
    pool = prepare_vectors(args.work, args.sources, [args.questions], args.vectors, log)
    new_file = new_papers_file(pool, args.work / "data", args.new)
    embedder, url = start_embedder(args.work, args.vectors)
    log(f"measuring the code in {args.code}; embeddings endpoint {url} ({args.vectors} vectors), "
        f"pool of {len(pool)} sentences")
    try:
        run = Runner(args, url)
        empty = empty_case(run, new_file)
        rows = [run_size(run, size, pool, new_file, empty) for size in sorted(args.sizes)]
    finally:
        stop(embedder)
    result = {
        "code": str(args.code), "vectors": args.vectors, "pool_sentences": len(pool), "new_papers": args.new, "empty": empty, "sizes": rows,
        "machine": {"cores": os.cpu_count(), "mem_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
                                                              / 2**30, 1), "load_1min": load.summary()},
        "seconds": time.perf_counter() - STARTED,
    }
    (args.work / "results.json").write_text(json.dumps(result, indent=1))
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print_tables(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
