"""Load on the chat page: concurrent gradio_client users, and how fast `askpapers serve` is up.

    python benchmarks/web_load.py http://127.0.0.1:7860          # a page that is already running
    python benchmarks/web_load.py --index-dir DIR [--port 7871]  # start `askpapers serve` and time it too

Each of --users clients (default 20) asks --rounds questions one after another through the
`/chat` endpoint, all starting at once; no two asks share a question while there are enough
(the dev and held-out questions by default: 80). Every answer must come back with a [n]
citation or a refusal. Prints p50 / p95 / max latency per question (target: p95 <= 3 x p50;
the exit code is 1 when an answer is missing or the target is missed) and, with --index-dir,
the time from starting `askpapers serve` to the page answering its first question (target: <= 10 s).

    python benchmarks/web_load.py --index-dir DIR --users 50 --rounds 1   # the issue-8 check
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

from assistant.answers import REFUSAL  # noqa: E402

QUESTION_FILES = [ROOT / "tests" / "fixtures" / "dev_questions.jsonl",
                  ROOT / "tests" / "fixtures" / "heldout_questions.jsonl"]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load_questions(paths: list[Path]) -> list[str]:
    """The distinct stand-alone questions of these JSONL files, in file order."""
    qs: dict[str, None] = {}
    for path in paths:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                q = json.loads(line)
                if q.get("type") != "followup":  # those need a conversation
                    qs[q["question"]] = None
    return list(qs)


def answered(text: str) -> bool:
    return bool(text) and (bool(re.search(r"\[\d+\]", text)) or text.startswith(REFUSAL))


def start_server(index_dir: Path, port: int) -> tuple[subprocess.Popen, float, float]:
    """Start `askpapers serve`; return (process, seconds to HTTP 200, seconds to a first answer)."""
    from gradio_client import Client

    exe = shutil.which("askpapers") or str(Path(sys.executable).with_name("askpapers"))
    cmd = [exe, "serve", "--index-dir", str(index_dir), "--port", str(port)]
    if not Path(exe).exists():
        cmd = [sys.executable, "-m", "assistant.cli"] + cmd[1:]
    url = f"http://127.0.0.1:{port}/"
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    up = None
    while up is None:
        if proc.poll() is not None:
            raise SystemExit(f"askpapers serve exited with {proc.returncode}:\n{proc.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    up = time.perf_counter() - started
        except OSError:
            time.sleep(0.05)
        if time.perf_counter() - started > 120:
            raise SystemExit("the page did not come up within 120 s")
    text = Client(url, verbose=False).predict("What is VectorQ?", api_name="/chat")
    first = time.perf_counter() - started
    if not answered(text):
        raise SystemExit(f"first answer has no citation: {text[:200]!r}")
    return proc, up, first


def run_load(url: str, questions: list[str], users: int, rounds: int) -> dict:
    from gradio_client import Client

    clients = [Client(url, verbose=False) for _ in range(users)]  # connect before the clock starts
    barrier = threading.Barrier(users)
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def user(i: int) -> None:
        barrier.wait()
        for r in range(rounds):
            q = questions[(i + r * users) % len(questions)]
            t = time.perf_counter()
            try:
                text = clients[i].predict(q, api_name="/chat")
                ok = answered(text)
            except Exception as exc:  # a failed request is a result, not a crash
                text, ok = f"{type(exc).__name__}: {exc}", False
            dt = time.perf_counter() - t
            with lock:
                latencies.append(dt)
                if not ok:
                    failures.append(f"{q[:60]!r}: {text[:120]!r}")

    threads = [threading.Thread(target=user, args=(i,)) for i in range(users)]
    wall = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    wall = time.perf_counter() - wall
    for c in clients:
        try:
            c.close()
        except Exception:
            pass
    return {"latencies": latencies, "failures": failures, "wall": wall}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("url", nargs="?", help="a running page, e.g. http://127.0.0.1:7860")
    ap.add_argument("--index-dir", type=Path, help="start `askpapers serve` on this index instead")
    ap.add_argument("--port", type=int, default=0, help="port for the started server (default: a free one)")
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=2, help="questions asked by each user, one after another")
    ap.add_argument("--questions", type=Path, nargs="+", default=QUESTION_FILES,
                    help="JSONL question files (default: the dev and held-out questions)")
    args = ap.parse_args()
    if bool(args.url) == bool(args.index_dir):
        ap.error("give either a page URL or --index-dir")

    questions = load_questions(args.questions)
    proc = None
    url = args.url
    if args.index_dir:
        port = args.port or free_port()
        proc, up, first = start_server(args.index_dir, port)
        url = f"http://127.0.0.1:{port}/"
        print(f"askpapers serve: page up in {up:.1f} s, first answer at {first:.1f} s (target <= 10 s)")
    try:
        result = run_load(url, questions, args.users, args.rounds)
    finally:
        if proc is not None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
    lat = result["latencies"]
    n = len(lat)
    p50, p95 = pct(lat, 50), pct(lat, 95)
    print(f"{args.users} concurrent users x {args.rounds} questions = {n} answers "
          f"({n - len(result['failures'])} answered with citations or a refusal) in {result['wall']:.1f} s "
          f"= {n / result['wall']:.2f} answers/s")
    print(f"{'latency':<10}{'p50':>8}{'p95':>8}{'max':>8}{'mean':>8}")
    print(f"{'seconds':<10}{p50:>8.2f}{p95:>8.2f}{max(lat):>8.2f}{statistics.mean(lat):>8.2f}")
    print(f"p95 / p50 = {p95 / p50:.2f} (target <= 3); {min(n, len(questions))} distinct questions")
    for f in result["failures"][:10]:
        print(f"FAILED {f}")
    return 1 if result["failures"] or p95 > 3 * p50 else 0


if __name__ == "__main__":
    sys.exit(main())
