"""PDF ingest: title and abstract from the first page of PDFs written here with fpdf2; PDFs
without an abstract, encrypted, corrupt or truncated ones are refused with one line."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fpdf import FPDF

from ingest.readers import EXTENSIONS, read_file, read_paths

TITLE = "Sparse Mixture Routing for Efficient Tokenizer Transfer in Multilingual Models"
ABSTRACT = ("We study how to transfer a tokenizer between languages without retraining the whole model. "
            "Our method routes each new token through a sparse mixture of existing embeddings, and recovers "
            "95% of the original quality on six languages while training only 2% of the parameters.")
INTRO = "Large language models are trained with a fixed vocabulary that rarely fits a new language. " * 4
NEXT = {"new_x": "LMARGIN", "new_y": "NEXT"}


def make_pdf(path: Path, *, title: str = TITLE, abstract: str | None = ABSTRACT, heading: str = "Abstract",
             end: str = "1 Introduction", meta_title: str | None = None, meta_author: str | None = None,
             stamp: str | None = None, password: str | None = None) -> Path:
    """A paper-like first page: a big title, authors, the abstract under its heading, then a section."""
    pdf = FPDF()
    pdf.core_fonts_encoding = "windows-1252"  # em dashes and soft hyphens in the built-in fonts
    pdf.add_page()
    if stamp:  # arXiv's stamp, rotated on the left margin, in a larger font than the title
        pdf.set_font("Times", "", 24)
        with pdf.rotation(90, x=12, y=200):
            pdf.text(12, 200, stamp)
    pdf.set_font("Helvetica", "B", 18)
    pdf.multi_cell(0, 9, title, align="C", **NEXT)
    pdf.set_font("Helvetica", "", 11)
    pdf.multi_cell(0, 6, "Alice Smith, Bob Jones\nUniversity of Examples", align="C", **NEXT)
    if abstract is not None:
        pdf.set_font("Helvetica", "B", 12)
        if heading.endswith(("—", ".")):  # an inline heading: "Abstract—We study ..."
            pdf.set_font("Helvetica", "", 10)
            pdf.multi_cell(0, 5, heading + abstract, **NEXT)
        else:
            pdf.cell(0, 8, heading, align="C", **NEXT)
            pdf.set_font("Helvetica", "", 10)
            pdf.multi_cell(0, 5, abstract, **NEXT)
    pdf.set_font("Helvetica", "B", 12)
    pdf.cell(0, 8, end, **NEXT)
    pdf.set_font("Helvetica", "", 10)
    pdf.multi_cell(0, 5, INTRO, **NEXT)
    if meta_title is not None:
        pdf.set_title(meta_title)
    if meta_author is not None:
        pdf.set_author(meta_author)
    if password:
        pdf.set_encryption(owner_password="owner", user_password=password)
    pdf.output(str(path))
    return path


def read_one(path: Path):
    papers, errors = read_file(path)
    return papers, [str(e) for e in errors]


def test_pdf_is_a_supported_extension():
    assert ".pdf" in EXTENSIONS  # so directories pick PDFs up and the upload widget accepts them


def test_paper_like_first_page_gives_title_and_abstract(tmp_path):
    f = make_pdf(tmp_path / "paper.pdf", meta_title="Microsoft Word - draft3.docx")  # not a real title
    papers, errors = read_one(f)
    assert errors == [] and len(papers) == 1
    p = papers[0]
    assert p.title == TITLE  # the largest-font lines, since the metadata title is a file name
    assert p.abstract == ABSTRACT  # up to "1 Introduction", lines joined
    assert "fixed vocabulary" not in p.abstract
    assert p.sources[0].name == "paper.pdf" and p.paper_id.startswith("title:")


def test_plausible_metadata_title_wins_and_hyphenation_is_joined(tmp_path):
    hyphenated = ABSTRACT.replace("mixture", "mix-\nture").replace("embeddings", "embed\u00addings")
    f = make_pdf(tmp_path / "p.pdf", abstract=hyphenated, heading="ABSTRACT", end="Keywords: tokenizers, transfer",
                 meta_title="Sparse Mixture Routing for Tokenizer Transfer", meta_author="Alice Smith; Bob Jones")
    papers, errors = read_one(f)
    assert errors == []
    assert papers[0].title == "Sparse Mixture Routing for Tokenizer Transfer"
    assert papers[0].authors == ["Alice Smith", "Bob Jones"]
    assert "sparse mixture of existing embeddings" in papers[0].abstract
    assert papers[0].abstract.endswith("2% of the parameters.") and "Keywords" not in papers[0].abstract


def test_inline_heading_index_terms_and_the_arxiv_stamp(tmp_path):
    f = make_pdf(tmp_path / "ieee.pdf", heading="Abstract\u2014", end="Index Terms\u2014tokenizers",
                 stamp="arXiv:2401.01234v2 [cs.CL] 5 Jan 2024")
    papers, errors = read_one(f)
    assert errors == []
    p = papers[0]
    assert p.title == TITLE and p.abstract == ABSTRACT
    assert (p.paper_id, p.categories, p.date) == ("arxiv:2401.01234", ["cs.CL"], "2024-01-05")
    assert p.url == "https://arxiv.org/abs/2401.01234"


def _one_line(errors: list[str], name: str) -> str:
    assert len(errors) == 1, errors
    assert name in errors[0] and "\n" not in errors[0] and "Traceback" not in errors[0]
    return errors[0]


def test_pdf_without_an_abstract_is_refused_in_one_line(tmp_path):
    papers, errors = read_one(make_pdf(tmp_path / "noabs.pdf", abstract=None))
    assert papers == []
    line = _one_line(errors, "noabs.pdf")
    assert line.endswith("no abstract found on the first 2 pages "
                         "(no \"Abstract\" heading followed by a paragraph; scanned or image-only PDF?)")


def test_image_only_pdf_is_refused_in_one_line(tmp_path):
    pdf = FPDF()
    pdf.add_page()
    pdf.rect(20, 20, 150, 200, style="F")  # a "scan": marks on the page, no text
    pdf.output(str(tmp_path / "scan.pdf"))
    papers, errors = read_one(tmp_path / "scan.pdf")
    assert papers == [] and "no readable text; scanned or image-only PDF?" in _one_line(errors, "scan.pdf")


@pytest.mark.parametrize("damage, expected", [
    (lambda data: data[: len(data) // 2], "PDF"),  # truncated mid-file
    (lambda data: b"%PDF-1.7\n" + bytes(range(256)) * 8, "corrupt"),  # a header, then garbage
    (lambda data: b"title,abstract\nnot,a pdf\n", "not a PDF (no %PDF- header)"),
    (lambda data: b"", "file is empty"),
])
def test_corrupt_truncated_or_fake_pdf_is_one_line(tmp_path, damage, expected):
    good = make_pdf(tmp_path / "good.pdf").read_bytes()
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(damage(good))
    start = time.monotonic()
    papers, errors = read_one(bad)
    assert time.monotonic() - start < 10  # refused, not stuck
    assert papers == [] and expected in _one_line(errors, "bad.pdf")


def test_encrypted_pdf_is_one_line_unless_only_editing_is_locked(tmp_path):
    papers, errors = read_one(make_pdf(tmp_path / "locked.pdf", password="secret"))
    assert papers == [] and "encrypted PDF" in _one_line(errors, "locked.pdf")
    papers, errors = read_one(make_pdf(tmp_path / "no-edit.pdf", password=""))  # opens without a password
    assert errors == [] and [p.abstract for p in papers] == [ABSTRACT]


def test_directory_with_pdfs_and_a_bad_one(tmp_path):
    make_pdf(tmp_path / "a.pdf")
    make_pdf(tmp_path / "b.pdf", abstract=None)
    results = {path.name: (papers, errors) for path, papers, errors in read_paths([tmp_path])}
    assert [p.title for p in results["a.pdf"][0]] == [TITLE] and not results["a.pdf"][1]
    assert not results["b.pdf"][0] and results["b.pdf"][1][0].whole_file


@pytest.mark.slow
def test_ingest_a_pdf_then_search_finds_it(tmp_path):
    good = make_pdf(tmp_path / "paper.pdf")
    bad = make_pdf(tmp_path / "noabs.pdf", abstract=None)
    idx = tmp_path / "idx"
    cli = [sys.executable, "-m", "assistant.cli"]
    out = subprocess.run(cli + ["ingest", str(good), str(bad), "--index-dir", str(idx), "--no-progress"],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 2  # one file rejected
    assert out.stderr.strip().splitlines() == [
        f"askpapers: {bad}: no abstract found on the first 2 pages "
        "(no \"Abstract\" heading followed by a paragraph; scanned or image-only PDF?)"]
    assert "1 added" in out.stdout
    out = subprocess.run(cli + ["search", "tokenizer transfer between languages", "--index-dir", str(idx), "--json"],
                         capture_output=True, text=True, timeout=300)
    hits = json.loads(out.stdout.splitlines()[-1])["hits"]
    assert hits[0]["title"] == TITLE and hits[0]["abstract"] == ABSTRACT
    assert hits[0]["sources"] == [{"name": str(good.resolve()), "date": None}]  # the file, by its path
