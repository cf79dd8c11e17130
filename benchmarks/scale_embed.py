"""A fast local OpenAI-style embeddings endpoint for the scale benchmark (stdlib http.server).

    python benchmarks/scale_embed.py --work DIR [--vectors cached|random] [--port 0]

It answers `POST /v1/embeddings` (float lists or base64, as the openai client asks) with
deterministic 384-d unit vectors, so that a scale run measures askpapers' own cost and not the
model's. A text is split into lines and sentences; each sentence's vector is

- `cached`: its all-MiniLM-L6-v2 vector from DIR/pool.json + DIR/pool-vectors.npy (the pool
  the synthetic abstracts are drawn from, embedded once by the bundled model), else
- a hashed random unit vector (seeded by the sentence's BLAKE2 hash: the same sentence always
  gets the same vector),

and the text's vector is the normalised mean of its sentences' vectors. Exact texts listed in
DIR/query-vectors.json (the benchmark's questions, embedded by the bundled model) get their
real vector, so dense retrieval over cached vectors behaves like the real model's.
`--vectors random` ignores both caches. The first stdout line is the base URL.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import re
import sys
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

DIM = 384
SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z(])")


def sentences_of(text: str) -> list[str]:
    """The sentences the synthetic abstracts were built from (the pool's own split rule)."""
    return [s.strip() for s in SENTENCE.split(text) if len(s.strip()) > 20]


@lru_cache(maxsize=200_000)
def hashed_vector(sentence: str) -> np.ndarray:
    seed = int.from_bytes(hashlib.blake2b(sentence.encode(), digest_size=8).digest(), "little")
    v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
    return v / np.linalg.norm(v)


class Vectors:
    """Text -> deterministic unit vector (see the module docstring)."""

    def __init__(self, work: Path | None, mode: str) -> None:
        self.mode = mode
        self.lookup: dict[str, int] = {}
        self.pool = np.zeros((0, DIM), dtype=np.float32)
        self.queries: dict[str, list[float]] = {}
        if mode == "cached" and work is not None:
            pool = json.loads((work / "pool.json").read_text())
            self.pool = np.load(work / "pool-vectors.npy").astype(np.float32)
            self.lookup = {s: i for i, s in enumerate(pool)}
            qfile = work / "query-vectors.json"
            if qfile.exists():
                self.queries = json.loads(qfile.read_text())

    def sentence(self, s: str) -> np.ndarray:
        j = self.lookup.get(s)
        return self.pool[j] if j is not None else hashed_vector(s)

    def text(self, text: str) -> np.ndarray:
        if text in self.queries:
            return np.asarray(self.queries[text], dtype=np.float32)
        parts = [s for line in text.split("\n") for s in (sentences_of(line) or [line])] or [text]
        v = np.sum([self.sentence(s) for s in parts], axis=0)
        return v / max(float(np.linalg.norm(v)), 1e-12)

    def many(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.text(t) for t in texts]).astype(np.float32) if texts else np.zeros((0, DIM), np.float32)


def make_handler(vectors: Vectors):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # headers and body go out in two writes: with Nagle's algorithm the body waits for the
        # client's delayed ACK, ~40 ms a request, which would be counted as askpapers' search time
        disable_nagle_algorithm = True

        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            if not self.path.rstrip("/").endswith("/embeddings"):
                self.send_error(404)
                return
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
            vecs = vectors.many([str(t) for t in texts])
            b64 = body.get("encoding_format") == "base64"
            data = [{"object": "embedding", "index": i,
                     "embedding": base64.b64encode(v.astype("<f4").tobytes()).decode() if b64 else v.tolist()}
                    for i, v in enumerate(vecs)]
            out = json.dumps({"object": "list", "data": data, "model": body.get("model", ""),
                              "usage": {"prompt_tokens": 0, "total_tokens": 0}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args) -> None:
            pass

    return Handler


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--work", type=Path, help="directory with pool.json, pool-vectors.npy, query-vectors.json")
    ap.add_argument("--vectors", choices=["cached", "random"], default="cached")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(Vectors(args.work, args.vectors)))
    print(f"http://127.0.0.1:{server.server_address[1]}/v1", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
