"""Downloads in the page (an answer as Markdown / BibTeX / RIS, the conversation as Markdown),
the `/export` and `/table` endpoints of a real server (gradio_client), one browser download, and
readable provenance in the sources panel (page-date names, relevance in words)."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import bibtexparser
import pytest
from conftest import free_port, make_settings, write_jsonl

from assistant import web
from assistant.answers import Answer, Citation
from assistant.retrieval import Hit
from assistant.web.downloads import ExportError, download_files, export_file
from ingest.records import Source

PAPERS = [
    {"title": "Adaptive Prompt Caching with Learned Thresholds",
     "abstract": "We present VectorQ, a semantic prompt cache that learns a similarity threshold per embedding. "
                 "VectorQ raises the cache hit rate by up to 12x over static thresholds.",
     "id": "2502.03771", "authors": "Luis Gaspar Schroeder, Shu Liu", "categories": "cs.LG",
     "update_date": "2025-02-06"},
    {"title": "Hypernetworks for Embedding New Tokens",
     "abstract": "We train a hypernetwork that predicts embeddings for tokens missing from the vocabulary. "
                 "It improves perplexity on twelve low-resource languages.",
     "id": "2401.00001", "categories": "cs.CL", "update_date": "2024-01-05"},
    {"title": "Solar Wind Turbulence at Small Scales",
     "abstract": "Magnetometer data from three spacecraft reveal an anisotropic cascade of solar wind turbulence "
                 "below the ion gyroradius.", "id": "0704.0002", "categories": "physics.space-ph",
     "update_date": "2007-04-02"},
]


def hit(title: str, paper_id: str, **kw) -> Hit:
    base = dict(paper_id=paper_id, title=title, abstract=f"{title} is studied. It works well.", score=0.0325,
                url=f"https://arxiv.org/abs/{paper_id.split(':')[-1]}", authors=["Ada Lovelace"], date="2024-01-05",
                sources=[Source("000_161ee5e26b606702.txt", "Jul 4")], passage="", dense_score=0.71, bm25_score=3.2)
    return Hit(**{**base, **kw})


def answer_dict(question="What works?") -> dict:
    papers = [hit("Cited Paper", "arxiv:2401.00001"), hit("Uncited Paper", "arxiv:2401.00002"),
              hit("Also Cited", "arxiv:2401.00003")]
    cites = [Citation(1, papers[0].paper_id, papers[0].title, papers[0].url, "Cited Paper is studied.", 0.8),
             Citation(3, papers[2].paper_id, papers[2].title, papers[2].url, "Also Cited is studied.", 0.6)]
    return Answer(question, "Cited Paper works [1]. Also Cited works [3].", cites, papers).to_dict()


def bib_titles(text: str) -> set[str]:
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks
    return {e.fields_dict["title"].value.strip("{}") for e in library.entries}


# ------------------------------------------------------------------ provenance in the page (fast)

def test_sources_show_page_dates_and_relevance_in_words():
    answer = Answer("q?", "It works [1].", [Citation(1, "arxiv:1", "Cited Paper", None, "It works well.", 0.8)],
                    [hit("Cited Paper", "arxiv:1"), hit("Weak One", "arxiv:2", dense_score=0.1, bm25_score=0.0)])
    html = web.render_sources(answer, 1)
    visible = re.sub(r'title="[^"]*"', "", html)  # the file name stays in the tooltip only
    assert "daily page of Jul 4" in visible and "000_161ee5e26b606702" not in visible
    assert 'title="read from 000_161ee5e26b606702.txt"' in html
    assert "strong match" in visible and "weak match" in visible
    before, scores = html.split('<details class="ap-scores">')
    assert "0.0325" not in before and "0.0325" in scores and "0.710" in scores  # raw scores behind the toggle


# ------------------------------------------------------------------ download files (fast)

def test_download_files_hold_the_answer_and_exactly_its_cited_papers():
    answers = [answer_dict("First question?"), answer_dict("Second question?")]
    files, conversation = download_files(answers, 0)
    assert files["markdown"].name == "askpapers-answer-1.md"
    markdown = files["markdown"].read_text(encoding="utf-8")
    assert "First question?" in markdown and "Cited Paper works [1]" in markdown and "Cited Paper is studied." in markdown
    assert bib_titles(files["bibtex"].read_text(encoding="utf-8")) == {"Cited Paper", "Also Cited"}
    ris = files["ris"].read_text(encoding="utf-8")
    assert ris.count("TY  - ") == 2 and ris.count("ER  - ") == 2 and "Uncited Paper" not in ris
    whole = conversation.read_text(encoding="utf-8")
    assert "First question?" in whole and "Second question?" in whole
    latest, _ = download_files(answers, None)  # nothing picked: the latest answer
    assert latest["markdown"].name == "askpapers-answer-2.md"


def test_an_answer_citing_nothing_has_no_bibliography_and_bad_exports_are_one_line():
    refused = Answer("q?", "The indexed papers do not answer this question.", [], [], refused=True).to_dict()
    files, conversation = download_files([refused], None)
    assert files["bibtex"] is None and files["ris"] is None and files["markdown"].exists() and conversation
    assert download_files([], None) == ({"markdown": None, "bibtex": None, "ris": None}, None)
    for args, message in (((answer_dict(), "docx"), "format: 'docx' is not one of"),
                          (("not an answer", "bibtex"), "answer: expected an answer dict"),
                          (([answer_dict()], "bibtex"), "answer: bibtex exports one answer")):
        with pytest.raises(ExportError, match=message):
            export_file(*args)


# ------------------------------------------------------------------ a real server

@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from assistant import Assistant

    tmp = tmp_path_factory.mktemp("downloads")
    assistant = Assistant(settings=make_settings(tmp / "idx"))
    assert assistant.ingest([write_jsonl(tmp / "papers.jsonl", PAPERS)]).papers_total == 3
    demo = web.serve(assistant, host="127.0.0.1", port=free_port(), block=False, quiet=True)
    yield f"http://127.0.0.1:{demo.server_port}/"
    demo.close()


@pytest.fixture(scope="module")
def client(server):
    from gradio_client import Client

    return Client(server, verbose=False)


@pytest.mark.slow
def test_export_endpoint_files_match_the_answer(client):
    answer = client.predict("How much does VectorQ raise the cache hit rate?", api_name="/ask")
    cited = {answer["papers"][c["number"] - 1]["title"] for c in answer["citations"]}
    assert cited and not answer["refused"]
    bib = Path(client.predict(answer, "bibtex", api_name="/export"))
    assert bib.suffix == ".bib" and bib_titles(bib.read_text(encoding="utf-8")) == cited
    markdown = Path(client.predict(answer, "markdown", api_name="/export")).read_text(encoding="utf-8")
    assert answer["text"].split(" [")[0][:40] in markdown and all(t in markdown for t in cited)
    ris = Path(client.predict(answer, "ris", api_name="/export")).read_text(encoding="utf-8")
    assert ris.count("TY  - ") == len(cited)
    second = client.predict("Which papers predict embeddings for new tokens?", api_name="/ask")
    whole = Path(client.predict([answer, second], "conversation", api_name="/export")).read_text(encoding="utf-8")
    assert "How much does VectorQ raise the cache hit rate?" in whole and "Which papers predict embeddings for new tokens?" in whole
    with pytest.raises(Exception, match="format: 'docx' is not one of"):
        client.predict(answer, "docx", api_name="/export")


@pytest.mark.slow
def test_table_endpoint_returns_the_table_and_its_csv(client):
    html, path = client.predict("Which papers predict embeddings for new tokens?", 3, [], [], "", "",
                                api_name="/table")
    assert 'class="ap-evidence"' in html and "Hypernetworks for Embedding New Tokens" in html
    rows = list(csv.DictReader(io.StringIO(Path(path).read_text(encoding="utf-8"))))
    assert len(rows) == 3 and rows[0]["title"] == "Hypernetworks for Embedding New Tokens"
    assert "[1]" in rows[0]["answer"] and rows[0]["quote"] in PAPERS[1]["abstract"]
    assert {r["answer"] for r in rows[1:]} == {"not stated in the abstract"}  # the others are not about it
    bad, none = client.predict("Which papers?", 3, [], [], "tomorrow", "", api_name="/table")
    assert "date_from: &#x27;tomorrow&#x27; is not a date" in bad and none is None


@pytest.mark.slow
def test_download_buttons_under_the_chat_in_a_browser(server):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path("/usr/bin/chromium").exists():
        pytest.skip("needs Debian's chromium at /usr/bin/chromium")
    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
        try:
            page = browser.new_page()
            page.goto(server, wait_until="load")
            box = page.locator("#ap-question textarea")
            box.fill("How much does VectorQ raise the cache hit rate?")
            box.press("Enter")
            page.locator('[data-testid="bot"] .ap-foot').first.wait_for(timeout=120_000)
            bib_button = page.get_by_role("button", name="BibTeX", exact=True)
            sync_api.expect(bib_button).to_be_enabled(timeout=30_000)
            with page.expect_download(timeout=30_000) as download:
                bib_button.click()
            assert download.value.suggested_filename == "askpapers-answer-1.bib"
            titles = bib_titles(Path(download.value.path()).read_text(encoding="utf-8"))
            assert titles == {"Adaptive Prompt Caching with Learned Thresholds"}
            assert "daily page" not in page.locator("#ap-sources").inner_text()  # a JSONL file keeps its name
            assert "papers.jsonl" in page.locator("#ap-sources").inner_text()
        finally:
            browser.close()
