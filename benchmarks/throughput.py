"""Embedding throughput of the bundled model vs. askpapers' ingest throughput, on the same papers.

    python benchmarks/throughput.py FILE_OR_DIR... [-n 500]

Three timings on the same papers, warm model:
* "raw, one text per paper": each paper's title + abstract embedded once (the model truncates
  at 256 word pieces, so long abstracts are only partly read);
* "raw, the ingest's chunks": the model alone on exactly the texts ingest embeds (every
  chunk, title included), i.e. the same model work without the pipeline;
* "ingest": the real pipeline into a fresh embedded index (chunking, embedding, Chroma
  writes through llama-index, side-index rebuild).
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

    from ingest.chunking import chunk_paper

    chunk_texts = [c.text for p in papers for c in chunk_paper(p, settings.chunk_size, settings.chunk_overlap)]
    t = time.perf_counter()
    model.embed(chunk_texts)
    raw_chunks = time.perf_counter() - t

    index = PaperIndex(settings, embed_model=model)
    report = IngestReport()
    t = time.perf_counter()
    ingest_papers(papers, index, report, progress=False)
    index.commit()
    full = time.perf_counter() - t

    n = len(papers)
    print(f"{'':<34}{'papers/s':>10}{'seconds':>9}{'ingest/raw':>12}")
    print(f"{'raw, one text per paper':<34}{n / raw:>10.1f}{raw:>9.1f}{raw / full:>12.2f}")
    print(f"{'raw, the ingest' + chr(39) + 's ' + str(len(chunk_texts)) + ' chunks':<34}{n / raw_chunks:>10.1f}"
          f"{raw_chunks:>9.1f}{raw_chunks / full:>12.2f}")
    print(f"{'ingest':<34}{n / full:>10.1f}{full:>9.1f}")
    print(f"({n} papers, chunk_size={settings.chunk_size}, overlap={settings.chunk_overlap}, "
          f"{report.chunks_embedded} chunks embedded)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
