"""A record keeps its file's own id; only records without one are merged by title."""

from __future__ import annotations

import pytest
from conftest import make_settings, write_jsonl

from ingest.dedupe import MergeCounts, dedupe
from ingest.pipeline import ingest
from ingest.readers import read_paths
from ingest.readers.metadata import record_id
from ingest.records import Paper
from ingest.store import PaperIndex

ABSTRACT = "We measure the pressure distribution over a slender wing at supersonic speeds. " * 3


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"id": 4983}, "id:4983"),
        ({"doc_id": 4983.0}, "doc_id:4983"),  # a spreadsheet's float is still the integer id
        ({"paperid": "649def34f8be52c8b66281af98ae884c09aef38b"}, "paperid:649def34f8be52c8b66281af98ae884c09aef38b"),
        ({"pmid": "12345"}, "pmid:12345"),
        ({"pubmed_id": 12345}, "pmid:12345"),
        ({"doi": "https://doi.org/10.1000/ABC.1"}, "doi:10.1000/abc.1"),
        ({"id": "10.1000/xyz"}, "doi:10.1000/xyz"),  # a DOI in an id column is a DOI
        ({"key": "ABCD1234"}, "key:ABCD1234"),  # Zotero
        ({"id": "0704.0001v2"}, "arxiv:0704.0001"),
        ({"arxiv_id": "2401.00001", "doi": "10.1/x"}, "arxiv:2401.00001"),  # arXiv first
        ({"doi": "10.1/x", "doc_id": 7}, "doi:10.1/x"),  # then a DOI
        ({"id": None}, None),
        ({"id": "   "}, None),
        ({"id": [1, 2]}, None),
        ({"id": "x" * 201}, None),
        ({"title": "no id at all"}, None),
    ],
)
def test_record_id_is_namespaced_by_kind_or_field(fields, expected):
    assert record_id(fields) == expected


def test_jsonl_records_with_ids_keep_them_and_same_titles_stay_apart(tmp_path):
    f = write_jsonl(tmp_path / "cran.jsonl", [
        {"id": 1, "title": "Shock waves over wings", "abstract": ABSTRACT},
        {"id": 2, "title": "Shock waves over wings.", "abstract": ABSTRACT + "Second study."},
        {"title": "A paper without an id", "abstract": ABSTRACT},
    ])
    [(_path, papers, errors)] = list(read_paths([f]))
    assert errors == []
    assert [p.paper_id for p in papers[:2]] == ["id:1", "id:2"]
    assert papers[2].paper_id.startswith("title:")
    counts = MergeCounts()
    assert [p.paper_id for p in dedupe(papers, counts)] == ["id:1", "id:2", papers[2].paper_id]
    assert counts == MergeCounts(by_title=0, duplicate_ids=0)


def test_dedupe_counts_title_merges_and_duplicate_ids():
    counts = MergeCounts()
    out = dedupe([
        Paper(title="Wing flutter", abstract="a", paper_id="doc_id:1"),
        Paper(title="Wing flutter", abstract="b"),  # no id: joins doc_id:1 by title
        Paper(title="Wing flutter", abstract="c", paper_id="doc_id:2"),  # own id: a paper of its own
        Paper(title="Other", abstract="d", paper_id="doc_id:1"),  # the same id again
        Paper(title="Page paper", abstract="e"),
        Paper(title="Page paper!", abstract="f"),  # title-only twice: merged by title
    ], counts)
    assert [p.paper_id for p in out] == ["doc_id:1", "doc_id:2", out[2].paper_id]
    assert counts == MergeCounts(by_title=2, duplicate_ids=1)


def test_ingest_keeps_ids_and_reports_merges(tmp_path):
    index = PaperIndex(make_settings(tmp_path / "index"))
    first = write_jsonl(tmp_path / "a.jsonl", [
        {"doc_id": 1, "title": "Heat transfer in boundary layers", "abstract": ABSTRACT},
        {"doc_id": 2, "title": "Heat transfer in boundary layers", "abstract": "Another study. " + ABSTRACT},
        {"doc_id": 2, "title": "Heat transfer in boundary layers", "abstract": "Another study. " + ABSTRACT},
    ])
    report = ingest([first], index=index, progress=False)
    assert (report.records_read, report.papers_total) == (3, 2)
    assert (report.duplicate_ids, report.merged_by_title) == (1, 0)
    assert "1 duplicate ids in the input" in report.summary()
    assert set(index.side.table.ids) == {"doc_id:1", "doc_id:2"}

    # a later record without an id joins the stored paper of its title (it cannot tell which of
    # two, so it joins one), and says so; no new paper appears
    second = write_jsonl(tmp_path / "b.jsonl", [{"title": "Heat transfer in boundary layers.", "abstract": ABSTRACT}])
    report = ingest([second], index=index, progress=False)
    assert (report.papers_total, report.merged_by_title) == (2, 1)
    assert "1 records merged into existing papers by title (no id)" in report.summary()


def test_csv_ids_from_pubmed_and_semantic_scholar_exports(tmp_path):
    f = tmp_path / "export.csv"
    f.write_text("paperId,PMID,Title,Abstract\n"
                 f"649def34,,Same title,{ABSTRACT}\n"
                 f",31715818,Same title,{ABSTRACT} More.\n"
                 f",,Same title,{ABSTRACT} Again.\n", encoding="utf-8")
    [(_path, papers, errors)] = list(read_paths([f]))
    assert errors == []
    assert [p.paper_id for p in papers[:2]] == ["paperid:649def34", "pmid:31715818"]
    assert papers[2].paper_id.startswith("title:")
    counts = MergeCounts()
    assert len(dedupe(papers, counts)) == 2 and counts.by_title == 1  # only the id-less one merges
