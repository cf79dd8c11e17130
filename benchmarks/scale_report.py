"""Tables of a benchmarks/scale.py run (its results.json), as Markdown.

    python benchmarks/scale_report.py WORK/results.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _mb(b: float) -> str:
    return f"{b / 1e9:.2f} GB" if b >= 1e9 else f"{b / 1e6:.0f} MB"


def _s(x: float | None) -> str:
    return "—" if x is None else f"{x:.1f} s"


def _rss(r: dict | None) -> str:
    return "—" if not r else f"{r['peak_rss_mib'] / 1024:.2f} GiB" if r["peak_rss_mib"] >= 1024 else f"{r['peak_rss_mib']:.0f} MiB"


def ingest_table(res: dict) -> list[str]:
    n = res["new_papers"]
    empty = res["empty"]
    lines = ["| | papers | time | peak RSS | ×empty |", "| --- | --- | --- | --- | --- |"]
    for mode in ("embedded", "server"):
        if mode in empty:
            lines.append(f"| {mode}: +{n:,} into an empty index | {n:,} | {_s(empty[mode]['seconds'])} "
                         f"| {_rss(empty[mode])} | 1.00 |")
    for row in res["sizes"]:
        lib = row["library_ingest"]
        commits = len(lib.get("commits") or [None])
        how = "" if lib["how"] == "askpapers ingest" else \
            f" (direct write_chunks, {commits} commit{'s' if commits > 1 else ''})"
        lines.append(f"| ingest the library{how} | {row['papers']:,} | {_s(lib['seconds'])} | {_rss(lib)} | |")
        for mode in ("embedded", "server"):
            add = row.get(mode, {}).get("add")
            if add:
                ratio = add.get("ratio_to_empty")
                lines.append(f"| {mode}: +{n:,} into the {row['papers']:,} library | {row['papers'] + n:,} "
                             f"| {_s(add['seconds'])} | {_rss(add)} | {'—' if ratio is None else f'**{ratio:.2f}**'} |")
    return lines


def reader_table(res: dict) -> list[str]:
    lines = ["| papers | mode | start → first answer | search p50 / p95 | without embedding the query p50 / p95 "
             "| embed p50 | reader peak RSS |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for row in res["sizes"]:
        n = row["papers"] + res["new_papers"]
        readers = [("embedded", row.get("embedded", {}).get("reader"))]
        srv = row.get("server", {})
        readers += [("server, no cache (builds side index)", srv.get("reader_cold")),
                    ("server, cache saved by the ingest", srv.get("reader_warm")),
                    ("server, no cache, after the +1,000", srv.get("reader_cold_after_add"))]
        for mode, r in readers:
            if r:
                own = f"{r['own_p50_ms']:.1f} / {r['own_p95_ms']:.1f} ms" if "own_p50_ms" in r else "—"
                lines.append(f"| {n:,} | {mode} | {_s(r['start_to_first_answer_s'])} | {r['search_p50_ms']:.1f} / "
                             f"{r['search_p95_ms']:.1f} ms | {own} | {r['embed_p50_ms']:.1f} ms | {_rss(r)} |")
    return lines


def disk_table(res: dict) -> list[str]:
    rows = [(row["papers"] + res["new_papers"], row["embedded"]["disk"]) for row in res["sizes"] if "embedded" in row]
    if not rows:
        return []
    names = sorted({k for _, d in rows for k in d if k != "total"}, key=lambda k: -max(d.get(k, 0) for _, d in rows))
    lines = ["| component | " + " | ".join(f"{n:,} papers" for n, _ in rows) + " |",
             "| --- |" + " --- |" * len(rows)]
    lines.append("| **total** | " + " | ".join(f"**{_mb(d['total'])}**" for _, d in rows) + " |")
    lines += [f"| {k} | " + " | ".join(_mb(d.get(k, 0)) for _, d in rows) + " |" for k in names]
    lines.append("| per paper | " + " | ".join(f"{d['total'] / n / 1e3:.1f} kB" for n, d in rows) + " |")
    return lines


def fts_table(res: dict) -> list[str]:
    lines = []
    for row in res["sizes"]:
        fts = row.get("server", {}).get("fts")
        if not fts:
            continue
        lines += [f"Server mode, {row['papers'] + res['new_papers']:,} papers, {fts['queries']} questions "
                  f"(side index opened in {fts['side_open_s']:.1f} s; Chroma Search API: {fts['search_api']}):", "",
                  "| method | p50 | p95 | recall of the side index's BM25 top 10 |", "| --- | --- | --- | --- |"]
        lines += [f"| {k} | {m['p50_ms']:.1f} ms | {m['p95_ms']:.1f} ms | {m['recall_of_bm25_top10']:.2f} |"
                  for k, m in fts["methods"].items()]
        lines.append("")
    return lines


def print_tables(res: dict) -> None:
    m = res["machine"]
    load = m["load_1min"]
    print(f"vectors: {res['vectors']} ({'bundled-model vectors of the ' + str(res['pool_sentences']) + ' pool sentences, averaged per chunk' if res['vectors'] == 'cached' else 'hashed random unit vectors'}); "
          f"machine: {m['cores']} cores, {m['mem_gib']} GiB; 1-min load during the run {load['min']:.1f}–{load['max']:.1f} "
          f"(median {load['median']:.1f}); run took {res['seconds'] / 60:.0f} min\n")
    for part in (ingest_table(res), reader_table(res), disk_table(res), fts_table(res)):
        if part:
            print("\n".join(part) + "\n")


if __name__ == "__main__":
    print_tables(json.loads(Path(sys.argv[1]).read_text()))
