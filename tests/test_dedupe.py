"""Tests for ingest/dedupe.py: which records are the same paper, and how they are merged."""

from __future__ import annotations

import copy

import pytest

from ingest.dedupe import dedupe, merge_records
from ingest.records import Paper, Source


def page(title: str, abstract: str = "Page abstract.", name: str = "page.txt", date: str | None = "Jul 4") -> Paper:
    return Paper(title=title, abstract=abstract, sources=[Source(name, date)])


def arxiv(title: str, arxiv_id: str, abstract: str = "arXiv abstract.", name: str = "meta.csv", **kw) -> Paper:
    return Paper(title=title, abstract=abstract, arxiv_id=arxiv_id, sources=[Source(name)], **kw)


def test_empty_and_distinct_papers_keep_order():
    assert dedupe([]) == []
    papers = [page(f"Paper {i}") for i in (3, 1, 2)]
    assert [p.title for p in dedupe(papers)] == ["Paper 3", "Paper 1", "Paper 2"]


def test_same_normalised_title_is_one_paper_with_both_sources():
    papers = [
        page("Attention Is All You Need", name="a.txt", date="Jul 4"),
        page("Other Paper", name="a.txt", date="Jul 4"),
        page("attention is all you need!", name="b.txt", date="Aug 6"),
    ]
    out = dedupe(papers)
    assert [p.title_key for p in out] == [papers[0].title_key, papers[1].title_key]
    assert out[0].sources == [Source("a.txt", "Jul 4"), Source("b.txt", "Aug 6")]


def test_repeated_source_is_not_listed_twice():
    out = dedupe([page("Same"), page("Same")])
    assert len(out) == 1 and out[0].sources == [Source("page.txt", "Jul 4")]


def test_arxiv_record_wins_identity_when_seen_after_a_page_record():
    out = dedupe(
        [
            page("Deep Residual Learning", name="p.txt"),
            page("Unrelated", name="p.txt"),
            arxiv("Deep residual learning.", "1512.03385", authors=["K. He"], categories=["cs.CV"]),
        ]
    )
    assert len(out) == 2
    merged = out[0]  # stays where the paper was first seen
    assert merged.paper_id == "arxiv:1512.03385" and merged.arxiv_id == "1512.03385"
    assert merged.url == "https://arxiv.org/abs/1512.03385"
    assert merged.authors == ["K. He"] and merged.categories == ["cs.CV"]
    assert merged.sources == [Source("p.txt", "Jul 4"), Source("meta.csv")]


def test_arxiv_record_keeps_identity_when_seen_first_and_later_abstract_wins():
    out = dedupe(
        [
            arxiv("Deep Residual Learning", "1512.03385", abstract="Old abstract.", authors=["K. He"]),
            page("Deep Residual Learning", abstract="Updated abstract.", name="p.txt"),
        ]
    )
    assert len(out) == 1
    assert out[0].paper_id == "arxiv:1512.03385" and out[0].authors == ["K. He"]
    assert out[0].abstract == "Updated abstract."  # the later record wins the text
    assert out[0].sources == [Source("meta.csv"), Source("p.txt", "Jul 4")]


def test_same_paper_id_with_updated_title_and_abstract():
    v1 = arxiv("A Method", "2101.00001", abstract="First version.", name="old.jsonl", doi="10.1/x")
    v2 = arxiv("A Better Method", "2101.00001v2", abstract="Second version.", name="new.jsonl")
    out = dedupe([v1, v2])
    assert len(out) == 1
    assert (out[0].title, out[0].abstract) == ("A Better Method", "Second version.")
    assert out[0].doi == "10.1/x"  # gaps are filled from the other record
    assert out[0].sources == [Source("old.jsonl"), Source("new.jsonl")]
    # a third record with the *old* title still finds the merged paper
    out = dedupe([v1, v2, page("A method")])
    assert len(out) == 1 and len(out[0].sources) == 3


def test_different_arxiv_ids_with_equal_titles_stay_apart():
    out = dedupe([arxiv("Introduction", "0704.0001"), arxiv("Introduction", "0704.0002"), page("Introduction")])
    assert [p.paper_id for p in out] == ["arxiv:0704.0001", "arxiv:0704.0002"]
    assert out[0].sources == [Source("meta.csv"), Source("page.txt", "Jul 4")]


def test_metadata_from_both_records_is_kept():
    a = Paper(title="T", abstract="A", doi="10.1/t", sources=[Source("a.json")])
    b = Paper(title="T", abstract="A", authors=["X"], date="2020-01-02", categories=["cs.AI"], sources=[Source("b.json")])
    (merged,) = dedupe([a, b])
    assert (merged.doi, merged.authors, merged.date, merged.categories) == ("10.1/t", ["X"], "2020-01-02", ["cs.AI"])


def test_inputs_are_not_modified():
    papers = [page("Same", name="a.txt"), arxiv("Same", "2001.00001", authors=["Y"]), page("Same", name="b.txt")]
    before = copy.deepcopy(papers)
    out = dedupe(papers)
    assert papers == before
    assert len(out) == 1 and len(out[0].sources) == 3
    out[0].sources.append(Source("c.txt"))
    assert papers == before


def test_records_that_differ_only_by_control_characters_are_one_paper():
    # text is cleaned at the record boundary, so a stray NUL or ESC does not make a second paper
    # (and a replaced lone surrogate is punctuation to the title key)
    papers = [page("Robust\x00 Readers", name="a.txt"), page("Robust Readers\x1b", name="b.txt"),
              page("Robust \ud800 Readers", name="c.txt"), page("Robust Writers", name="d.txt")]
    merged = dedupe(papers)
    assert [p.title for p in merged] == ["Robust \ufffd Readers", "Robust Writers"]
    assert [s.name for s in merged[0].sources] == ["a.txt", "b.txt", "c.txt"]


@pytest.mark.parametrize("later_has_arxiv", [False, True])
def test_a_merged_source_keeps_the_digest_of_the_record_read_last(later_has_arxiv):
    """One file read twice (say, edited in between): the merged paper's source carries the later
    record's digest, whichever record gives the paper's identity."""
    earlier = Paper(title="T", abstract="old", arxiv_id=None if later_has_arxiv else "2401.00001",
                    sources=[Source("a.csv", None, "d-old"), Source("x.csv", None, "d-x")])
    later = Paper(title="T", abstract="new", arxiv_id="2401.00001" if later_has_arxiv else None,
                  sources=[Source("a.csv", None, "d-new")])
    merged = merge_records(earlier, later)
    assert [(s.name, s.digest) for s in merged.sources] == [("a.csv", "d-new"), ("x.csv", "d-x")]
