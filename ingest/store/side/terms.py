"""Terms and BM25 arithmetic: one tokenizer for indexing, queries and term coverage.

BM25 is Lucene's (the variant bm25s implements, k1=1.5, b=0.75). Scores are computed at query
time from raw term frequencies and global statistics (papers, document frequency, average
length summed over the live segments), so a side index made of many segments scores exactly
like one built from scratch.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache

import numpy as np

K1 = 1.5
B = 0.75
TOP_TERMS = 20  # characteristic terms per paper, for query expansion

# "encoder-free", "w/o training" and "without an encoder", "without training" say the same thing
_FREE_OF = re.compile(r"\b([A-Za-z][\w]*)-free\b")
_WITHOUT = re.compile(r"\bw/o\b", re.IGNORECASE)


@lru_cache(maxsize=1)
def stemmer():
    """The English Snowball stemmer that BM25 and the conversation's word matching share."""
    import Stemmer

    return Stemmer.Stemmer("english")


def tokenize(texts: list[str]) -> list[list[str]]:
    """Stemmed terms without stopwords, for BM25 and term coverage (one tokenizer for both)."""
    import bm25s

    texts = [_WITHOUT.sub("without", _FREE_OF.sub(r"\1 without", t)) for t in texts]
    return bm25s.tokenize(texts, stopwords="en", stemmer=stemmer(), show_progress=False, return_ids=False)


def paper_text(record: dict) -> str:
    """What BM25 indexes of a paper: its title and whole abstract (one document per paper)."""
    return f"{record.get('title', '')}\n{record.get('abstract', '')}"


def idf(df: int, n_docs: int) -> float:
    """The idf of BM25 (Lucene's, always positive) for a term in `df` of `n_docs` documents."""
    return math.log((n_docs - df + 0.5) / (df + 0.5) + 1)


def length_norm(doc_len: np.ndarray, avgdl: float) -> np.ndarray:
    """k1 * (1 - b + b * length / average length), per document (float64)."""
    return K1 * ((1 - B) + B * np.asarray(doc_len, dtype=np.float64) / (avgdl or 1.0))


def term_part(tf: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """The term-frequency part of BM25, tf / (tf + norm), per posting (float32); a posting's score
    is its term's idf times this."""
    tf = tf.astype(np.float32)
    return tf / (norm.astype(np.float32, copy=False) + tf)
