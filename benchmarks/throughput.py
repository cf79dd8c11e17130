"""Embedding throughput of the bundled model vs. askpapers' ingest throughput, on the same papers.

    python benchmarks/throughput.py FILE_OR_DIR... [-n 500]

"raw" embeds each paper's title + abstract once, in batches, through the same ONNX model
(truncated at 256 word pieces, as the model was trained). "ingest" runs the real pipeline into
a fresh embedded index: chunking, embedding every chunk, Chroma writes, BM25 rebuild.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assistant.settings import get_settings  # noqa: E402
from ingest.dedupe import dedupe  # noqa: E402
from ingest.embedding import embedding_model  # noqa: E402
from ingest.pipeline import IngestReport, ingest_papers  # noqa: E402
from ingest.readers import read_paths  # noqa: E402
from ingest.store import PaperIndex  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("paths", nargs="+", type=Path)
    ap.add_argument("-n", type=int, default=500, help="papers to use")
    args = ap.parse_args()

    papers = dedupe(p for _path, ps, _errs in read_paths(args.paths) for p in ps)[: args.n]
    settings = get_settings(index_dir=Path(tempfile.mkdtemp(prefix="askpapers-tp-")))
    model = embedding_model(settings)
    model.embed(["warm up"])
    texts = [f"{p.title}\n{p.abstract}" for p in papers]

    t = time.perf_counter()
    model.embed(texts)
    raw = time.perf_counter() - t

    index = PaperIndex(settings, embed_model=model)
    report = IngestReport()
    t = time.perf_counter()
    ingest_papers(papers, index, report, progress=False)
    index.commit()
    full = time.perf_counter() - t

    print(f"{'':<28}{'papers/s':>10}{'seconds':>9}")
    print(f"{'raw embedding (1 per paper)':<28}{len(papers) / raw:>10.1f}{raw:>9.1f}")
    print(f"{'ingest (' + str(report.chunks_embedded) + ' chunks)':<28}{len(papers) / full:>10.1f}{full:>9.1f}")
    print(f"ratio ingest/raw: {raw / full:.2f}   ({len(papers)} papers, chunk_size={settings.chunk_size}, "
          f"overlap={settings.chunk_overlap})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
