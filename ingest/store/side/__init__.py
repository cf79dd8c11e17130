"""The side index beside Chroma, one row per paper: BM25, filter fields, records, mean vectors.

Callers see terms, scores, idf, masks and records (`SideIndex`); nothing else sees the layout.

* BM25 (English stop words, Snowball stemming) over title + whole abstract, one document per
  paper (on Cranfield this beats BM25 over chunks: nDCG@10 0.388 vs 0.370), scored at query time
  from raw term counts with global statistics.
* The fields filters need (date, categories, sources), so BM25 can be filtered without Chroma.
* Each paper's record and chunk passages, so a search needs one Chroma call (the vector query).
* For pseudo-relevance feedback: each paper's mean chunk vector (float16); its characteristic
  terms are computed from its record when asked.

It is incremental (LSM-style): immutable segments plus a manifest naming the live ones and the
rows that later segments replaced. A commit writes one segment with only the papers an ingest
touched (its journal says which); compaction merges segments when it pays.

One job per module:
  terms.py       tokenizer and BM25 arithmetic
  build.py       papers (records, passages, counts, mean vectors) from Chroma chunk rows
  segment.py     one immutable segment: write it, open it (memory-mapped)
  records.py     a record as a segment stores it (passages as spans of the abstract) and back
  title_keys.py  which rows hold a title key (hash arrays per segment), for an ingest's title lookups
  table.py       the paper table (ids, counts, filter fields) in row order
  vectors.py     mean vectors of rows across segments
  side_index.py  `SideIndex`: rows over live segments; BM25, masks, records, expansion terms
  manifest.py    the manifest: atomic swap, garbage collection
  compact.py     when and how segments merge
  journal.py     which papers an unfinished ingest touched
  store.py       full save, incremental commit, load
"""

from .journal import Journal, JournalState, read_journal, remove_journals
from .manifest import DIRNAME, FORMAT, MANIFEST
from .segment import PaperRow
from .side_index import SideIndex
from .terms import TOP_TERMS, tokenize

__all__ = ["DIRNAME", "FORMAT", "MANIFEST", "TOP_TERMS", "Journal", "JournalState", "PaperRow", "SideIndex",
           "read_journal", "remove_journals", "tokenize"]
