"""Tests for ingest/readers.py. Self-contained: sample pages from examples/, the rest from
tests/fixtures/readers/ (slices of real arXiv CSVs) or generated in tmp_path."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.dedupe import dedupe
from ingest.readers import SUPPORTED, read_file, read_paths
from ingest.records import Paper, ReadError, Source, clean_text

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "examples" / "daily-papers"
FIX = Path(__file__).resolve().parent / "fixtures" / "readers"

# file name, records, page date
SAMPLE_PAGES = [
    ("000_161ee5e26b606702.txt", 40, "Jul 4"),
    ("001_4932ee8f1672d38b.txt", 203, None),  # no date line on this page
    ("002_671164b09f5ab11d.txt", 60, "Mar 11"),
    ("003_872512edb98c6b5d.txt", 66, "Aug 6"),
    ("004_db6ff1646676df76.txt", 52, "Jun 20"),
]
BOILERPLATE = (
    "new",
    "subscribe",
    "daily papers",
    "get trending papers in your email inbox!",
    "get trending papers in your email inbox once a day!",
    "byak and the research community",
)
GLUED_TITLE = (
    "Prompt, Translate, Fine-Tune, Re-Initialize, or Instruction-Tune? "
    "Adapting LLMs for In-Context Learning in Low-Resource Languages"
)


def read_ok(path):
    papers, errors = read_file(path)
    assert errors == [], [str(e) for e in errors]
    return papers


def only_error(path) -> ReadError:
    papers, errors = read_file(path)
    assert papers == []
    assert len(errors) == 1, [str(e) for e in errors]
    return errors[0]


def write(path: Path, data: str | bytes) -> Path:
    if isinstance(data, str):
        data = data.encode("utf-8")
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- daily-papers pages


@pytest.mark.parametrize(("name", "count", "page_date"), SAMPLE_PAGES)
def test_sample_page_counts_dates_and_sources(name, count, page_date):
    papers = read_ok(PAGES / name)
    assert len(papers) == count
    for p in papers:
        assert p.sources == [Source(name=name, date=page_date)]
        assert p.date is None  # a page date has no year
        assert p.arxiv_id is None and p.paper_id.startswith("title:")
        assert 10 < len(p.title) < 200
        assert len(p.abstract) > 400
    assert len({p.title for p in papers}) == count  # no duplicates within one page


def test_sample_pages_total_and_unique_after_dedupe():
    results = list(read_paths([PAGES]))
    assert [path.name for path, _, _ in results] == [name for name, _, _ in SAMPLE_PAGES]
    assert all(errors == [] for _, _, errors in results)
    papers = [p for _, ps, _ in results for p in ps]
    assert len(papers) == 421
    unique = dedupe(papers)
    assert len(unique) == 365
    # a paper on two pages keeps both sightings, first-seen first
    fusion = [p for p in unique if p.title == "Understanding and Improving Encoder Layer Fusion in Sequence-to-Sequence Learning"]
    assert len(fusion) == 1
    assert fusion[0].sources == [
        Source("003_872512edb98c6b5d.txt", "Aug 6"),
        Source("004_db6ff1646676df76.txt", "Jun 20"),
    ]


def test_title_glued_to_subscribe_is_split():
    papers = read_ok(PAGES / "001_4932ee8f1672d38b.txt")
    assert papers[0].title == GLUED_TITLE
    assert papers[0].abstract.startswith("LLMs are typically trained in high-resource languages")
    assert papers[-1].title.startswith("VQ-Logits: Compressing the Output Bottleneck")


def test_first_and_last_papers_of_blank_line_pages():
    papers = read_ok(PAGES / "000_161ee5e26b606702.txt")
    assert papers[0].title.startswith("Deep Learning for Case-Based Reasoning through Prototypes")
    assert papers[0].abstract.startswith("Deep neural networks are widely used for classification.")
    assert papers[-1].title.startswith("Bit Cipher -- A Simple yet Powerful Word Representation System")
    # a title that ends in "...." is still a title, not an abstract
    titles = [p.title for p in read_ok(PAGES / "002_671164b09f5ab11d.txt")]
    assert titles[-1].endswith("Mixers/ Attention/ RNNs or ....")


def test_boilerplate_never_becomes_a_paper():
    for name, _, page_date in SAMPLE_PAGES:
        for p in read_ok(PAGES / name):
            for text in (p.title, p.abstract):
                assert text.lower() not in BOILERPLATE
                assert "Get trending papers" not in text
                assert "byAK" not in text
                assert not text.startswith("Subscribe")
                assert text != page_date


def test_page_with_wrapped_lines_dates_with_year_and_trailing_boilerplate():
    papers = read_ok(FIX / "page-wrapped.txt")
    assert [p.title for p in papers] == [
        "A Wrapped Title About Sparse Mixture-of-Experts: Routing Without Load Balancing Losses",
        "Tiny Models, Big Gains? Distilling Retrieval into Small Encoders",
        "A Paper Listed Under the Second Date",
    ]
    assert papers[0].abstract == (
        "We revisit load balancing in sparse mixture-of-experts models. Existing routers add auxiliary "
        "losses that trade quality for balance. We show that a simple capacity-aware router removes the "
        "need for such losses. Experiments on language modelling benchmarks confirm the gains."
    )
    assert [p.sources[0].date for p in papers] == ["Jul 4, 2024", "Jul 4, 2024", "Jul 5, 2024"]
    assert [p.date for p in papers] == ["2024-07-04", "2024-07-04", "2024-07-05"]


def test_page_structure_problems_are_record_errors():
    papers, errors = read_file(FIX / "page-problems.txt")
    assert [p.title for p in papers] == [
        "First Good Title",
        "Second Good Title",
        "Third Good Title With a Short Abstract",
        "A Title Wrapped Over Two Lines: Because the Scraper Broke It",
    ]
    assert papers[1].abstract.endswith("It belongs to the previous paper. Really.")  # 2nd paragraph joined
    assert papers[2].abstract == "We show that a short one-sentence abstract is kept too."
    assert [(e.line, e.message.split(":")[0]) for e in errors] == [
        (3, "abstract without a title"),
        (6, "title without an abstract"),
        (15, "title without an abstract"),
    ]
    assert not any(e.whole_file for e in errors)


def test_headerless_page_in_one_line_layout(tmp_path):
    abstract = "We study a thing. It works well in practice. The code is public."
    text = "\n".join(f"Paper Number {i}: A Title\n{abstract}" for i in range(3))
    papers = read_ok(write(tmp_path / "page.txt", text))
    assert [p.title for p in papers] == [f"Paper Number {i}: A Title" for i in range(3)]
    # a first title starting with "[" is not taken for broken JSON in a .txt file
    papers = read_ok(write(tmp_path / "re.txt", f"[Re] A Reproduction Study\n{abstract}\n{text}"))
    assert papers[0].title == "[Re] A Reproduction Study" and len(papers) == 4


PROSE = (
    "It was a bright cold day in April, and the clocks were striking thirteen. Winston Smith slipped "
    "quickly through the glass doors of Victory Mansions.\n"
    "The hallway smelt of boiled cabbage and old rag mats. At one end of it a coloured poster had been tacked "
    "to the wall.\n"
    "Chapter Two\n"
    "It depicted simply an enormous face, more than a metre wide. It was the face of a man of about forty-five.\n"
)
RST_README = (
    "Installation Notes\n==================\n\nRun the installer first. Then restart the machine.\n\n"
    "Using It Daily\n--------------\n\nOpen the program. Pick a file and press the button.\n"
)


@pytest.mark.parametrize("name", ["LICENSE.txt", "README.txt", "prose.txt", "rst-readme.txt", "wrapped.txt"])
def test_prose_text_is_an_unknown_layout_not_papers(tmp_path, name):
    # an Apache LICENSE, a markdown README, free prose: no site text and no clean title/abstract
    # pairs, so they are rejected whole instead of split into junk "papers"
    path = {
        "prose.txt": lambda: write(tmp_path / name, PROSE),
        "rst-readme.txt": lambda: write(tmp_path / name, RST_README),
        # hard-wrapped prose: the "abstracts" continue sentences of the line before
        "wrapped.txt": lambda: write(tmp_path / name, (FIX / "LICENSE.txt").read_text()[2000:5000]),
    }.get(name, lambda: FIX / name)()
    err = only_error(path)
    assert err.whole_file and "unknown layout" in err.message, err.message


ABSTRACT = (
    "Large language models are used for code generation. We study how they fail on long repositories. "
    "Our benchmark of 500 tasks shows a 20% drop in accuracy."
)
OTHER_ABSTRACT = (
    "Retrieval augmented generation improves factuality. However, retrieval noise hurts answers. "
    "We propose a filter that scores passages before generation."
)
# hand-written "Title\n\nAbstract" lists: no site text or date line, yet papers
HAND_WRITTEN = {
    "pubmed-titles": (
        f"Impact of diabetes on prognosis in patients with unstable angina: results of a registry of "
        f"ten thousand patients followed for two years in six countries.\n\nBACKGROUND {ABSTRACT}\n\n"
        f"Regulation of myeloid cell function through the CD200 receptor.\n\n{OTHER_ABSTRACT}\n\n"
        f"Viral Paratransgenesis in the Malaria Vector Anopheles gambiae.\n\n{ABSTRACT}\n",
        3,
    ),
    "two-paragraph-abstract": (
        f"Code Models Fail on Long Repositories\n\n{ABSTRACT}\n\n"
        "We further analyse the failure modes. Most errors come from missing cross-file context. "
        "Adding retrieval closes half of the gap.\n\n"
        f"Filtering Noisy Retrieval for RAG\n\n{OTHER_ABSTRACT}\n",
        2,
    ),
    "one-word-title": (f"Mamba\n\n{ABSTRACT}\n\nFiltering Noisy Retrieval for RAG\n\n{OTHER_ABSTRACT}\n", 2),
    "lowercase-abstracts": (
        f"Multilingual Encoders\n\nmBERT and XLM-R are used widely. {ABSTRACT}\n\n"
        f"Tumour Suppression\n\np53 mutations are common in cancer. {OTHER_ABSTRACT}\n\n"
        f"Wnt Signalling\n\nβ-catenin is a transcriptional co-activator. {ABSTRACT}\n",
        3,
    ),
    "tag-title": (
        f"<think>: Reasoning Tags in LLMs\n\n{ABSTRACT}\n\n"
        f'"Why Should I Trust You?": Explaining Predictions\n\n{OTHER_ABSTRACT}\n',
        2,
    ),
    # one paper whose abstract is a single short sentence: an odd pair among good ones
    "one-odd-pair": (
        f"Code Models Fail on Long Repositories\n\n{ABSTRACT}\n\n"
        "A Product Formula for Volumes of Varieties\n\nA simple application.\n\n"
        f"Filtering Noisy Retrieval for RAG\n\n{OTHER_ABSTRACT}\n\n"
        f"Cofibrations in the Category of Frolicher Spaces\n\n{ABSTRACT}\n",
        3,
    ),
}


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_hand_written_paper_list_is_read_without_site_text(tmp_path, name):
    text, count = HAND_WRITTEN[name]
    papers, errors = read_file(write(tmp_path / f"{name}.txt", text))
    assert len(papers) == count, [str(e) for e in errors]
    assert not any(e.whole_file for e in errors)
    assert all(p.abstract.endswith(".") and len(p.title.split()) <= 40 for p in papers)


def test_hand_written_titles_keep_their_shape(tmp_path):
    papers = read_ok(write(tmp_path / "p.txt", HAND_WRITTEN["pubmed-titles"][0]))
    assert papers[1].title == "Regulation of myeloid cell function through the CD200 receptor."
    papers = read_ok(write(tmp_path / "t.txt", HAND_WRITTEN["tag-title"][0]))
    assert papers[0].title == "<think>: Reasoning Tags in LLMs"
    papers = read_ok(write(tmp_path / "m.txt", HAND_WRITTEN["two-paragraph-abstract"][0]))
    assert papers[0].abstract.endswith("Adding retrieval closes half of the gap.")
    papers = read_ok(write(tmp_path / "l.txt", HAND_WRITTEN["lowercase-abstracts"][0]))
    assert [p.abstract.split()[0] for p in papers] == ["mBERT", "p53", "β-catenin"]


# --------------------------------------------------------------------------- arXiv CSV / JSON


def test_arxiv_metadata_csv_keeps_metadata():
    papers = read_ok(FIX / "arxiv-metadata-slice.csv")  # rows 1-20, 1000 and 2000 of the snapshot CSV
    assert len(papers) == 22
    first = papers[0]
    assert first.title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    assert first.abstract.startswith("A fully differential calculation in perturbative quantum chromodynamics is presented")
    assert first.authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]  # from authors_parsed
    assert first.categories == ["hep-ph"]
    assert first.arxiv_id == "0704.0001" and first.paper_id == "arxiv:0704.0001"
    assert first.url == "https://arxiv.org/abs/0704.0001"
    assert first.doi == "10.1103/PhysRevD.76.013009"
    assert first.date == "2008-11-26"  # update_date 11/26/2008
    assert papers[1].categories == ["math.CO", "cs.CG"]
    assert papers[1].authors == ["Ileana Streinu", "Louis Theran"]
    # ids that lost their leading (and trailing) zeros in a spreadsheet: 704.001, 704.1, 704.2
    assert [papers[i].arxiv_id for i in (9, 19, 20, 21)] == ["0704.0010", "0704.0020", "0704.1000", "0704.2000"]
    assert papers[21].authors == ["D0 Collaboration", "V. Abazov"]
    for p in papers:
        assert p.date and p.authors and p.categories and p.arxiv_id
        for text in (p.title, p.abstract):
            assert "\n" not in text and "  " not in text and text == text.strip()


def test_arxiv_ml_csv_with_list_terms():
    papers = read_ok(FIX / "arxiv-ml-slice.csv")
    assert len(papers) == 10
    assert papers[0].title == "Neural ODEs for Image Segmentation with Level Sets"
    assert papers[0].categories == ["cs.CV", "cs.LG", "eess.IV"]
    assert all(p.categories and "\n" not in p.abstract for p in papers)


def test_arxiv_cs_csv_with_category_column():
    papers = read_ok(FIX / "arxiv-cs-slice.csv")
    assert len(papers) == 10
    assert papers[0].title == "Scaling Properties of Diffusion Models for Perceptual Tasks"
    assert papers[0].abstract.endswith("see https://scaling-diffusion-perception.github.io .")
    assert all(p.categories == ["cs.AI"] for p in papers)


def test_arxiv_snapshot_json_lines():
    papers = read_ok(FIX / "arxiv-snapshot.jsonl")
    assert [p.arxiv_id for p in papers] == ["0704.0001", "0704.0002", "0704.0003"]
    assert papers[0].authors == ["C. Balázs", "E. L. Berger", "P. M. Nadolsky", "C. -P. Yuan"]
    assert papers[0].date == "2008-11-26"
    assert papers[1].categories == ["math.CO", "cs.CG"]
    assert papers[0].title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    # the same papers from the CSV and the snapshot are one paper each after dedupe
    csv_papers = read_ok(FIX / "arxiv-metadata-slice.csv")
    assert len(dedupe(csv_papers + papers)) == 22


def test_json_lines_with_alternate_field_names():
    papers = read_ok(FIX / "alt-columns.jsonl")
    assert [p.title for p in papers] == [
        "Sparse Attention for Long Documents",
        "Graph Neural Networks at Scale",
        "Contrastive Pretraining for Code",
        "Efficient Transformers: A Survey",
    ]
    sparse, gnn, code, survey = papers
    assert "\n" not in sparse.abstract and sparse.abstract.endswith("matches dense attention.")
    assert sparse.authors == ["Ada Lovelace", "Alan Turing"]
    assert sparse.arxiv_id == "2305.00001" and sparse.date == "2023-05-01"
    assert gnn.categories == ["cs.LG", "stat.ML"] and gnn.date == "2021-12-31"
    assert code.url == "https://example.org/papers/3" and code.doi == "10.1000/xyz123"
    assert survey.authors == ["Yi Tay", "Mostafa Dehghani", "Dara Bahri"]  # affiliation dropped
    assert survey.categories == ["cs.LG", "cs.CL"]
    assert all(p.sources == [Source("alt-columns.jsonl")] for p in papers)


@pytest.mark.parametrize(("authors", "expected"), [
    ("Smith, J. and Doe, A.", ["Smith, J.", "Doe, A."]),  # BibTeX's "Last, First and Last, First"
    ("Smith, John and Doe, Jane and Roe, R.", ["Smith, John", "Doe, Jane", "Roe, R."]),
    ("Smith, J.; Doe, A.", ["Smith, J.", "Doe, A."]),
    ("Lovelace, Ada & Turing, Alan", ["Lovelace, Ada", "Turing, Alan"]),
    ("Smith, J.", ["Smith, J."]),
    ("Smith, J. and A. Doe", ["Smith, J.", "A. Doe"]),
    ("Smith, J. et al.", ["Smith, J."]),
    ("A. Smith, B. Doe", ["A. Smith", "B. Doe"]),  # full names separated by commas still split
    ("A. Smith, B. Doe and C. Eff", ["A. Smith", "B. Doe", "C. Eff"]),
    ("A. Smith, Jr., B. Doe", ["A. Smith Jr.", "B. Doe"]),
])
def test_author_strings_in_last_first_form_stay_whole(tmp_path, authors, expected):
    path = write(tmp_path / "a.jsonl", json.dumps({"title": "T", "abstract": "A.", "authors": authors}) + "\n")
    assert read_ok(path)[0].authors == expected


def test_last_first_authors_are_two_authors_in_the_exports(tmp_path):
    from assistant.export import bibtex, ris

    path = write(tmp_path / "a.jsonl", json.dumps({"id": "2401.00001", "title": "T", "abstract": "A.",
                                                   "authors": "Smith, J. and Doe, A."}) + "\n")
    paper = read_ok(path)[0]
    hit = {"paper_id": paper.paper_id, "title": paper.title, "authors": paper.authors, "sources": []}
    assert "author = {Smith, J. and Doe, A.}" in bibtex([hit])
    assert [line for line in ris([hit]).splitlines() if line.startswith("AU")] == ["AU  - Smith, J.", "AU  - Doe, A."]


def test_json_list_file():
    rag, dpr = read_ok(FIX / "papers.json")
    assert rag.arxiv_id == "2005.11401" and rag.authors == ["Patrick Lewis", "Ethan Perez"]
    assert rag.categories == ["cs.CL", "cs.LG"]
    assert dpr.title == "Dense Passage Retrieval for Open-Domain Question Answering"


def test_json_object_holding_a_list_and_single_object(tmp_path):
    doc = {"papers": [{"title": "T1", "abstract": "A1"}, {"title": "T2", "abstract": "A2"}]}
    assert [p.title for p in read_ok(write(tmp_path / "wrapped.json", json.dumps(doc, indent=2)))] == ["T1", "T2"]
    single = json.dumps({"title": "Only", "abstract": "One"}, indent=2)
    assert [p.title for p in read_ok(write(tmp_path / "single.json", single))] == ["Only"]


def test_tsv_and_other_csv_dialects(tmp_path):
    bm25, hybrid = read_ok(FIX / "papers.tsv")
    assert bm25.title == "BM25 Strikes Back" and hybrid.categories == ["cs.IR", "cs.CL"]
    assert hybrid.abstract == "Combining dense and sparse retrieval helps; we show it on abstracts."
    crlf = write(tmp_path / "crlf.csv", b'\xef\xbb\xbfTitle,Summary\r\nA,"line one\r\nline two"\r\nB,b\r\n')
    assert [(p.title, p.abstract) for p in read_ok(crlf)] == [("A", "line one line two"), ("B", "b")]
    semi = write(tmp_path / "semi.csv", "paper_title;description\nX;Y\n")
    assert [p.title for p in read_ok(semi)] == ["X"]


def test_content_wins_over_extension(tmp_path):
    jsonl_as_txt = write(tmp_path / "papers.txt", '{"title": "T", "abstract": "A"}\n')
    assert [p.title for p in read_ok(jsonl_as_txt)] == ["T"]
    csv_as_txt = write(tmp_path / "export.txt", "title,abstract\nT2,A2\n")
    assert [p.title for p in read_ok(csv_as_txt)] == ["T2"]


def test_arxiv_id_repairs_and_rejects(tmp_path):
    rows = "id,title,abstract\n704.001,A,a\n1501.0001,B,b\n0704.0001v3,C,c\n123.0,D,d\n7,E,e\n"
    papers = read_ok(write(tmp_path / "ids.csv", rows))
    assert [p.arxiv_id for p in papers] == ["0704.0010", "1501.00010", "0704.0001", None, None]


# --------------------------------------------------------------------------- bad input


def test_empty_and_whitespace_files(tmp_path):
    for name, data in (("empty.txt", b""), ("blank.csv", b" \n\n  \n")):
        err = only_error(write(tmp_path / name, data))
        assert err.whole_file and "empty" in err.message


@pytest.mark.parametrize(
    ("name", "data", "expect"),
    [
        ("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(64), "PNG"),
        ("paper.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
        ("zeros.txt", bytes(4096), "NUL"),
        ("garbage.csv", random.Random(8).randbytes(8192), "binary file"),
    ],
)
def test_binary_files_are_rejected(tmp_path, name, data, expect):
    err = only_error(write(tmp_path / name, data))
    assert err.whole_file
    assert expect in err.message


def notices_and_errors(path):
    papers, errors = read_file(path)
    return papers, [e.message for e in errors if e.notice], [e for e in errors if not e.notice]


def test_utf16_excel_unicode_text_is_read_and_named(tmp_path):
    text = "Title\tAbstract\r\nCaf\u00e9 Na\u00efve Models\tWe study caf\u00e9s \u2013 really.\r\nSecond\tAnother one.\r\n"
    papers, notices, errors = notices_and_errors(write(tmp_path / "excel.txt", text.encode("utf-16")))
    assert [p.title for p in papers] == ["Caf\u00e9 Na\u00efve Models", "Second"] and errors == []
    assert papers[0].abstract == "We study caf\u00e9s \u2013 really."
    assert notices == ["read as utf-16 (the file is not UTF-8)"]
    papers, notices, errors = notices_and_errors(write(tmp_path / "nobom.tsv", text.encode("utf-16-le")))
    assert len(papers) == 2 and errors == [] and notices == ["read as utf-16-le (the file is not UTF-8)"]


def test_cp1252_and_latin1_files_are_read_and_named(tmp_path):
    rows = "title,abstract\nGood,fine\nCaf\u00e9 \u201cQuoted\u201d Paper,It\u2019s na\u00efve \u2013 and works.\n"
    papers, notices, errors = notices_and_errors(write(tmp_path / "win.csv", rows.encode("cp1252")))
    assert [p.title for p in papers] == ["Good", "Caf\u00e9 \u201cQuoted\u201d Paper"] and errors == []
    assert papers[1].abstract == "It\u2019s na\u00efve \u2013 and works."
    assert notices == ["read as cp1252 (the file is not UTF-8)"]
    latin = "title,abstract\nGood,fine\n\u00dcber die Gr\u00f6\u00dfe,Wir untersuchen Stra\u00dfen.\n"
    papers, notices, errors = notices_and_errors(write(tmp_path / "latin1.csv", latin.encode("latin-1")))
    assert papers[1].title == "\u00dcber die Gr\u00f6\u00dfe" and errors == [] and len(notices) == 1
    # UTF-8 with a BOM is UTF-8: no notice
    papers, notices, errors = notices_and_errors(write(tmp_path / "bom.csv", b"\xef\xbb\xbf" + rows.encode()))
    assert len(papers) == 2 and notices == [] and errors == []


def test_utf8_file_with_one_bad_byte_rejects_only_that_record(tmp_path):
    good = [json.dumps({"title": f"T{i} \u00e9t\u00e9", "abstract": "r\u00e9sum\u00e9 " * 5}, ensure_ascii=False) for i in range(4)]
    lines = [line.encode() for line in good]
    lines.insert(2, b'{"title": "Caf\xe9", "abstract": "latin-1 bytes in a UTF-8 file"}')
    papers, notices, errors = notices_and_errors(write(tmp_path / "mixed.jsonl", b"\n".join(lines) + b"\n"))
    assert [p.title for p in papers] == [f"T{i} \u00e9t\u00e9" for i in range(4)] and notices == []
    assert [(e.line, e.whole_file) for e in errors] == [(3, False)]
    assert "not utf-8 text (0xe9)" in errors[0].message
    # a bad byte past the first 1 MiB read chunk, after a character split across chunks
    rows = b"title,abstract\n" + b"A," + "\u00e9".encode() * 300_000 + b"\n"
    papers, notices, errors = notices_and_errors(write(tmp_path / "late.csv", rows + b"B\xff,y\nC,z\n"))
    assert [p.title for p in papers] == ["C"] and [e.line for e in errors] == [2, 3]  # 2: abstract too long
    assert "0xff" in errors[1].message


def test_nul_and_control_characters_are_cleaned_not_fatal(tmp_path):
    data = b"title,abstract\nA,a\x00b\nB\x1b[31m,red\x07\nC,c\n"
    papers, errors = read_file(write(tmp_path / "nul.csv", data))
    assert [(p.title, p.abstract) for p in papers] == [("A", "ab"), ("B[31m", "red"), ("C", "c")] and errors == []
    lines = b'{"title": "A", "abstract": "a\x00b"}\n{"title": "B", "abstract": "b"}\n'
    assert [p.abstract for p in read_ok(write(tmp_path / "nul.jsonl", lines))] == ["ab", "b"]
    err = only_error(write(tmp_path / "ctl.jsonl", '{"title": "\\u0000\\u0001", "abstract": "x"}\n'))
    assert err.line == 1 and "empty title" in err.message


def test_lone_surrogates_are_replaced(tmp_path):
    from ingest.side_index import tokenize

    lines = '{"title": "x \\ud800 y", "abstract": "lone \\udfff surrogate"}\n{"title": "Good", "abstract": "Fine."}\n'
    papers = read_ok(write(tmp_path / "sur.jsonl", lines))
    assert [p.title for p in papers] == ["x \ufffd y", "Good"]
    assert papers[0].abstract == "lone \ufffd surrogate"
    for p in papers:  # everything downstream encodes, hashes and tokenizes it
        (p.title + p.abstract).encode("utf-8")
        assert p.content_hash() and p.title_key
    assert tokenize([papers[0].title + " " + papers[0].abstract])[0]


def test_cr_only_line_ends_are_read(tmp_path):
    csv_text = 'title,abstract\rA,"two\rlines"\rB,b\r'
    assert [(p.title, p.abstract) for p in read_ok(write(tmp_path / "mac.csv", csv_text))] == [("A", "two lines"), ("B", "b")]
    jsonl = '{"title": "A", "abstract": "a"}\r{"title": "B", "abstract": "b"}\r'
    assert [p.title for p in read_ok(write(tmp_path / "mac.jsonl", jsonl))] == ["A", "B"]
    page = (PAGES / "000_161ee5e26b606702.txt").read_text().replace("\n", "\r")
    assert len(read_ok(write(tmp_path / "mac.txt", page))) == 40


def test_special_files_are_skipped_never_opened(tmp_path):
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    err = only_error(fifo)  # opening it would block forever
    assert err.whole_file and err.message == "not a regular file (a named pipe), skipped"
    err = only_error("/dev/null")
    assert err.message == "not a regular file (a character device), skipped"
    write(tmp_path / "good.csv", "title,abstract\nT,A\n")
    results = {p.name: (len(ps), [e.message for e in es]) for p, ps, es in read_paths([tmp_path])}
    assert results == {"good.csv": (1, []), "pipe.csv": (0, ["not a regular file (a named pipe), skipped"])}


def test_symlink_loop_is_one_error(tmp_path):
    (tmp_path / "a.csv").symlink_to(tmp_path / "b.csv")
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "up").symlink_to(tmp_path)  # a folder cycle: not followed
    write(tmp_path / "sub" / "good.jsonl", '{"title": "T", "abstract": "A"}\n')
    results = [(p.relative_to(tmp_path).as_posix(), len(ps), [e.message for e in es]) for p, ps, es in read_paths([tmp_path])]
    assert [r[0] for r in results] == ["a.csv", "b.csv", "sub/good.jsonl"]
    assert all(len(r[2]) == 1 and "symbolic links" in r[2][0] for r in results[:2]) and results[2][1:] == (1, [])


def test_unreadable_folder_and_file_get_one_line_each(tmp_path, monkeypatch):
    for rel in ("a/one.csv", "locked/two.csv", "z/three.csv", "z/secret.csv"):
        (tmp_path / rel).parent.mkdir(exist_ok=True)
        write(tmp_path / rel, "title,abstract\nT,A\n")
    real_scandir, real_open = os.scandir, os.open

    def scandir(path="."):
        if Path(path).name == "locked":
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    def os_open(path, flags, *args, **kw):
        if Path(path).name == "secret.csv":
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags, *args, **kw)

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "open", os_open)
    results = [(p.relative_to(tmp_path).as_posix(), len(ps), [str(e) for e in es]) for p, ps, es in read_paths([tmp_path])]
    assert [(name, n) for name, n, _ in results] == [("a/one.csv", 1), ("locked", 0), ("z/secret.csv", 0), ("z/three.csv", 1)]
    assert results[1][2] == [f"askpapers: {tmp_path / 'locked'}: cannot read directory: Permission denied; skipped"]
    assert results[2][2] == [f"askpapers: {tmp_path / 'z' / 'secret.csv'}: cannot read file: Permission denied"]
    # the folder given itself cannot be listed: one line, not "no supported files" as well
    results = list(read_paths([tmp_path / "locked"]))
    assert [(len(es), es[0].whole_file, "cannot read directory" in es[0].message) for _, _, es in results] == [(1, True, True)]


def test_unknown_layout_lists_supported_formats():
    err = only_error(FIX / "unknown.txt")
    assert err.whole_file and "unknown layout" in err.message and SUPPORTED in err.message


def test_malformed_json_lines_keep_good_records():
    papers, errors = read_file(FIX / "bad-lines.jsonl")
    assert [p.title for p in papers] == ["A Good First Record", "A Good Last Record"]
    assert [e.line for e in errors] == [2, 3, 4, 5, 6]
    assert "malformed JSON" in errors[0].message
    assert "expected a JSON object" in errors[1].message
    assert errors[2].message.startswith("no abstract")
    assert errors[3].message.startswith("no title")
    assert errors[4].message.startswith("empty title")
    assert not any(e.whole_file for e in errors)


def test_non_text_title_or_abstract(tmp_path):
    lines = '{"title": ["a"], "abstract": "x"}\n{"title": "ok", "abstract": {"a": 1}}\n{"title": "T", "abstract": "A"}\n'
    papers, errors = read_file(write(tmp_path / "types.jsonl", lines))
    assert [p.title for p in papers] == ["T"]
    assert [(e.line, e.message.split(" (")[0]) for e in errors] == [(1, "title is not text"), (2, "abstract is not text")]


def test_malformed_json_document(tmp_path):
    err = only_error(write(tmp_path / "bad.json", '[\n {"title": }, {"title": "a", "abstract": "b"}]'))
    assert err.whole_file and err.line == 2 and "malformed JSON" in err.message
    err = only_error(write(tmp_path / "after.json", '[{"title": "a", "abstract": "b"}] trailing'))
    assert err.whole_file and "malformed JSON" in err.message
    papers, errors = read_file(write(tmp_path / "mixed.json", '[{"title": "a", "abstract": "b"}, 3]'))
    assert len(papers) == 1 and [(e.record, e.whole_file) for e in errors] == [(2, False)]


@pytest.mark.parametrize("tail", [
    '{"title": "Broken", "abstract": ',  # cut off inside a record
    '{"title": "Broken", "abstract": "cut',  # inside a string
    '',  # right after a comma
    '{"title": }, {"title": "After", "abstract": "Lost."}]',  # broken, not cut: what follows is lost too
])
def test_truncated_json_list_keeps_the_complete_records(tmp_path, tail):
    good = [{"title": f"Good {i}", "abstract": f"Abstract {i}."} for i in (1, 2)]
    text = "[" + ",\n ".join(json.dumps(r) for r in good) + ",\n " + tail
    papers, errors = read_file(write(tmp_path / "cut.json", text))
    assert [p.title for p in papers] == ["Good 1", "Good 2"]
    assert len(errors) == 1 and not errors[0].whole_file
    assert (errors[0].line, errors[0].record) == (3, 3)
    assert str(errors[0]).startswith(f"askpapers: {tmp_path / 'cut.json'}:3 (record 3): malformed JSON")
    assert "2 complete record(s) before it were read" in errors[0].message


def test_malformed_csv_rows_keep_good_rows():
    papers, errors = read_file(FIX / "bad-rows.csv")
    assert [p.title for p in papers] == ["A Good First Paper", "A Good Second Paper"]
    assert papers[1].abstract == "A quoted abstract that spans two physical lines."
    assert [e.line for e in errors] == [3, 4, 5, 6, 9]
    assert "expected 3 fields, found 4" in errors[0].message
    assert "expected 3 fields, found 1" in errors[1].message
    assert "quote" in errors[2].message
    assert errors[3].message.startswith("empty abstract")
    assert "unterminated quoted field" in errors[4].message
    assert not any(e.whole_file for e in errors)


def test_csv_without_known_columns_lists_columns(tmp_path):
    err = only_error(FIX / "no-columns.csv")
    assert err.whole_file and "'id', 'heading', 'body'" in err.message
    err = only_error(write(tmp_path / "half.csv", "Title,Body\nx,y\n"))
    assert err.whole_file and "no abstract column" in err.message and "'Title', 'Body'" in err.message
    err = only_error(write(tmp_path / "header-only.csv", "title,abstract\n"))
    assert err.whole_file and "no records" in err.message


def test_records_without_any_known_field_reject_the_file(tmp_path):
    err = only_error(write(tmp_path / "other.jsonl", '{"a": 1}\n{"b": 2}\n'))
    assert err.whole_file and "fields found: a, b" in err.message


def test_abstract_over_the_cap_is_a_record_error(tmp_path):
    lines = [{"title": "Too Long", "abstract": "word " * 5000}, {"title": "Fine", "abstract": "Short."}]
    papers, errors = read_file(write(tmp_path / "big.jsonl", "\n".join(json.dumps(x) for x in lines)))
    assert [p.title for p in papers] == ["Fine"]
    assert len(errors) == 1 and errors[0].line == 1 and "limit 20,000" in errors[0].message


def test_five_megabyte_lines(tmp_path):
    huge = "x" * 5_000_000
    good = [json.dumps({"title": t, "abstract": t.lower()}) for t in ("A", "C")]
    jsonl = write(tmp_path / "huge.jsonl", "\n".join([good[0], json.dumps({"title": "B", "abstract": huge}), good[1]]))
    csv_file = write(tmp_path / "huge.csv", f"title,abstract\nA,a\nB,{huge}\nC,c\n")
    for path, line in ((jsonl, 2), (csv_file, 3)):
        papers, errors = read_file(path)
        assert [p.title for p in papers] == ["A", "C"]
        assert [(e.line, e.whole_file) for e in errors] == [(line, False)]
        assert "characters long" in errors[0].message
    err = only_error(write(tmp_path / "huge.txt", huge))
    assert err.whole_file and err.line == 1 and "too long" in err.message
    # a quoted field over the csv module's default field limit (131,072), spanning lines: one
    # record error (the abstract cap), and the rows after it are read in step
    field = "word, more words\n" * 15_000
    papers, errors = read_file(write(tmp_path / "field.csv", f'title,abstract\nA,a\nB,"{field}"\nC,c\nD,d\n'))
    assert [p.title for p in papers] == ["A", "C", "D"]
    assert [(e.line, e.record) for e in errors] == [(3, 2)] and "abstract is 254,999 characters" in errors[0].message


def test_missing_paths_and_directories(tmp_path):
    err = only_error(tmp_path / "nope.csv")
    assert err.whole_file and "no such file" in err.message
    err = only_error(tmp_path)
    assert err.whole_file and "directory" in err.message
    (tmp_path / "empty-dir").mkdir()
    write(tmp_path / "empty-dir" / "notes.md", "# not a paper file")
    results = list(read_paths([tmp_path / "empty-dir", tmp_path / "missing"]))
    assert [(p.name, ps, len(es), es[0].whole_file) for p, ps, es in results] == [
        ("empty-dir", [], 1, True),
        ("missing", [], 1, True),
    ]
    assert "no supported files" in results[0][2][0].message


def test_read_paths_expands_directories_in_name_order_skipping_hidden(tmp_path):
    row = "title,abstract\nT,A\n"
    (tmp_path / "sub").mkdir()
    (tmp_path / ".git").mkdir()
    for rel in ("b.csv", "a.csv", "sub/c.csv", ".hidden.csv", ".git/d.csv", "notes.md"):
        write(tmp_path / rel, row)
    names = [p.relative_to(tmp_path).as_posix() for p, _, _ in read_paths([tmp_path])]
    assert names == ["a.csv", "b.csv", "sub/c.csv"]


def test_every_error_is_one_line_naming_the_file(tmp_path):
    paths = [FIX / n for n in ("bad-lines.jsonl", "bad-rows.csv", "no-columns.csv", "unknown.txt", "page-problems.txt")]
    paths += [write(tmp_path / "e.txt", ""), write(tmp_path / "l.txt", "caf\xe9\n".encode("latin-1")), tmp_path / "x"]
    seen = 0
    for path in paths:
        for err in read_file(path)[1]:
            text = str(err)
            assert "\n" not in text and text.startswith(f"askpapers: {path}")
            seen += 1
    assert seen >= 15


def test_supported_is_a_short_description():
    assert "\n" not in SUPPORTED and "CSV" in SUPPORTED and "JSON" in SUPPORTED and len(SUPPORTED) < 400


def test_module_is_import_light():
    code = (
        "import sys, ingest.readers, ingest.dedupe; "
        "heavy = [m for m in ('pandas', 'numpy', 'llama_index', 'chromadb', 'pydantic') if m in sys.modules]; "
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- the reader seam


def test_a_new_format_is_one_class_and_one_registration(tmp_path, monkeypatch):
    from ingest.readers import EXTENSIONS, FORMATS
    from ingest.readers.fields import RecordSink

    class PipeFormat:
        name = "pipes"
        extensions = (".pipes",)
        description = "title|abstract lines (.pipes)"

        def claims(self, src):
            return src.ext == ".pipes"

        def read(self, src):
            sink = RecordSink(src)
            for lineno, text, _length in src.lines():
                title, _, abstract = text.strip().partition("|")
                sink.add_record({"title": title, "abstract": abstract}, line=lineno)
            return sink.result()

    assert ".pipes" not in EXTENSIONS
    monkeypatch.setattr(FORMATS, "_formats", list(FORMATS.formats))  # undone after the test
    FORMATS.register(PipeFormat())
    write(tmp_path / "a.pipes", "Piped Title|Piped abstract.\nNo Abstract|\n")
    write(tmp_path / "b.csv", "title,abstract\nT,A\n")
    results = {p.name: (ps, es) for p, ps, es in read_paths([tmp_path])}
    papers, errors = results["a.pipes"]
    assert [(p.title, p.abstract) for p in papers] == [("Piped Title", "Piped abstract.")]
    assert [(e.line, e.message) for e in errors] == [(2, "empty abstract (field 'abstract')")]
    assert len(results["b.csv"][0]) == 1
    assert ".pipes" in FORMATS.extensions and "title|abstract lines" in FORMATS.supported()
    assert FORMATS.formats[-1].name == "daily-papers page"  # the catch-all stays last


def test_extensions_come_from_the_registry():
    from ingest.readers import EXTENSIONS, FORMATS

    assert EXTENSIONS == FORMATS.extensions == {".txt", ".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".pdf"}
    assert [f.name for f in FORMATS.formats] == ["json", "csv", "pdf", "daily-papers page"]


def test_paper_cleans_text_at_the_record_boundary():
    paper = Paper(
        title="A \ud800 Title\x00",
        abstract="Tab\tand\nnewline \x1b[1mbold\x9b",
        authors=["Ann \udcff", "Bo\x07b"],
        categories=["cs.\x00CL"],
        doi="10.1/\ud800",
        sources=[Source(name="bad-\udcff.jsonl", date="Jul\x00 4")],
    )
    assert paper.title == "A \ufffd Title" and paper.abstract == "Tab and newline [1mbold"
    assert paper.authors == ["Ann \ufffd", "Bob"] and paper.categories == ["cs.CL"] and paper.doi == "10.1/\ufffd"
    assert paper.sources == [Source("bad-\ufffd.jsonl", "Jul 4")]
    json.dumps(paper.to_dict(), ensure_ascii=False).encode("utf-8")  # encodable everywhere
    assert clean_text("plain text\tstays\n") == "plain text\tstays\n"
