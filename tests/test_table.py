"""The evidence table: one row per paper with its own answer and quote, "not stated in the
abstract" when the paper does not say, CSV / Markdown / JSON, the LLM path (fake server), the
`askpapers table` command, and the page's table HTML."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import make_settings, write_jsonl

from assistant.answers import Answer, Citation
from assistant.retrieval import Hit
from assistant.table import (
    NOT_STATED,
    Row,
    Table,
    evidence_table,
    per_paper_question,
    row_from_answer,
    states_asked,
)
from ingest.records import Source

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "Which datasets do the tokenizer transfer papers evaluate on?"
PAPERS = [
    {"title": "Hypernetworks Transfer Language Models to New Tokenizers",
     "abstract": "We transfer pretrained language models to new tokenizers with a hypernetwork that predicts the "
                 "embeddings of the new vocabulary. We evaluate tokenizer transfer on the XNLI and MasakhaNER "
                 "datasets, where it keeps accuracy within two points of the original model.",
     "id": "2405.07883", "categories": "cs.CL", "update_date": "2024-05-13"},
    {"title": "Vocabulary Surgery for Multilingual Tokenizer Transfer",
     "abstract": "Replacing a model's tokenizer usually needs long continued training. We initialise the new "
                 "embeddings by orthogonal matching pursuit over shared tokens, so tokenizer transfer works "
                 "without gradient updates, and the tokenized sequences get shorter for low-resource scripts.",
     "id": "2501.00002", "categories": "cs.CL", "update_date": "2025-01-02"},
    {"title": "Solar Wind Turbulence at Small Scales",
     "abstract": "Magnetometer data from three spacecraft reveal an anisotropic cascade of solar wind turbulence "
                 "below the ion gyroradius.", "id": "0704.0002", "categories": "physics.space-ph",
     "update_date": "2007-04-02"},
]


def hit(title: str, abstract: str = "One. Two.", **kw) -> Hit:
    base = dict(paper_id=title.lower().replace(" ", "-")[:20], title=title, abstract=abstract, score=0.03,
                url="https://arxiv.org/abs/2401.00001", authors=[], date="2024-01-05",
                sources=[Source("000_161ee5e26b606702.txt", "Jul 4")], passage=abstract, dense_score=0.7)
    return Hit(**{**base, **kw})


def table_of(rows: list[Row]) -> Table:
    return Table(question="Which datasets?", rows=rows)


# ------------------------------------------------------------------ rows from answers (fast)

def test_a_which_papers_question_is_asked_of_one_paper():
    assert per_paper_question(QUESTION) == QUESTION  # not a list-of-papers question: asked as it is
    assert per_paper_question("Which papers use LoRA?") == "Which paper use LoRA?"
    assert per_paper_question("What is VectorQ?") == "What is VectorQ?"


def test_the_asked_kind_or_quantity_must_be_stated():
    assert states_asked(QUESTION, "We evaluate on the XNLI dataset.")
    assert not states_asked(QUESTION, "We transfer models to new tokenizers with a hypernetwork.")
    assert states_asked("What model sizes do they train?", "We train models of 1.3B parameters.")
    assert not states_asked("What model sizes do they train?", "We train small and large models.")
    assert states_asked("What do they propose?", "Anything at all.")  # asks for no kind or quantity


def test_row_cites_its_own_paper_and_strips_the_lead_in():
    h = hit("Paper Seven", "We evaluate on the XNLI dataset. It works.")
    answer = Answer("q", 'According to "Paper Seven": We evaluate on the XNLI dataset. [1]',
                    [Citation(1, h.paper_id, h.title, h.url, "We evaluate on the XNLI dataset.", 0.8)], [h])
    row = row_from_answer(7, h, QUESTION, answer)
    assert row.stated and row.answer == "We evaluate on the XNLI dataset. [7]"
    assert row.quote == "We evaluate on the XNLI dataset." and row.number == 7
    assert row.sources == "daily page of Jul 4" and row.relevance == "strong match"


def test_a_refusal_or_an_answer_missing_the_asked_kind_is_not_stated():
    h = hit("Paper One")
    refused = Answer("q", "The indexed papers do not answer this question.", [], [h], refused=True)
    off_topic = Answer("q", "We propose a hypernetwork. [1]", [Citation(1, "p", "t", None, "We propose.", 0.5)], [h])
    for answer in (refused, off_topic):
        row = row_from_answer(1, h, QUESTION, answer)
        assert not row.stated and row.answer == NOT_STATED and row.quote is None


def test_csv_markdown_and_json_shapes():
    rows = [Row(1, "p1", "A | piped *title*", "https://x.org/1", "2024-01-05", "Uses XNLI. [1]", "Uses XNLI.", True),
            Row(2, "p2", "=HYPERLINK(\"http://evil\")", None, None, NOT_STATED, None, False)]
    table = table_of(rows)
    parsed = list(csv.DictReader(io.StringIO(table.to_csv())))
    assert [r["n"] for r in parsed] == ["1", "2"] and parsed[0]["answer"] == "Uses XNLI. [1]"
    assert parsed[0]["title"] == "A | piped *title*" and parsed[1]["answer"] == NOT_STATED
    assert parsed[1]["title"].startswith("'=HYPERLINK")  # a spreadsheet will not run it
    md = table.to_markdown().splitlines()
    assert md[2] == "| # | Paper | Answer | Quote |"
    assert md[4] == r"| [1] | A \| piped \*title\* (2024-01-05) | Uses XNLI. [1] | “Uses XNLI.” |"
    assert all(line.count(" | ") == 3 for line in md[4:6])  # the pipe in the title does not add a column
    assert "[1] A \\| piped \\*title\\* — <https://x.org/1>" in md
    d = json.loads(json.dumps(table.to_dict()))
    assert d["question"] == "Which datasets?" and [r["stated"] for r in d["rows"]] == [True, False]


def test_page_table_is_escaped_and_links_its_citations():
    from assistant.web.table import render_table

    rows = [Row(1, "p1", "<img src=x onerror=alert(1)>", "javascript:alert(1)", "2024", "Uses <b>XNLI</b>. [1]",
                "Uses <b>XNLI</b>.", True, "strong match", "daily page of Jul 4"),
            Row(2, "p2", "Other", None, None, NOT_STATED, None, False)]
    html = render_table(table_of(rows))
    assert "<img" not in html and "<b>" not in html and "javascript:" not in html
    assert 'href="#src-table-1"' in html and 'id="src-table-1"' in html
    assert "daily page of Jul 4" in html and "strong match" in html and "1 of 2 papers state it" in html
    assert 'class="ap-row ap-row-not-stated"' in html and NOT_STATED in html


# ------------------------------------------------------------------ a tiny real index

@pytest.fixture(scope="module")
def tiny_index(tmp_path_factory) -> Path:
    from ingest.pipeline import ingest
    from ingest.store import PaperIndex

    tmp = tmp_path_factory.mktemp("table")
    report = ingest([write_jsonl(tmp / "papers.jsonl", PAPERS)], index=PaperIndex(make_settings(tmp / "idx")),
                    progress=False)
    assert report.papers_total == 3
    return tmp / "idx"


def test_rows_from_a_tiny_index(tiny_index):
    from assistant import Assistant

    table = evidence_table(Assistant(index_dir=tiny_index), QUESTION, k=2)
    assert {r.title for r in table.rows} == {PAPERS[0]["title"], PAPERS[1]["title"]}  # the off-topic one is third
    by_title = {r.title: r for r in table.rows}
    stated = by_title[PAPERS[0]["title"]]
    assert stated.stated and "XNLI" in stated.answer and f"[{stated.number}]" in stated.answer
    assert stated.quote and stated.quote in PAPERS[0]["abstract"]
    assert stated.url == "https://arxiv.org/abs/2405.07883" and stated.paper_id
    silent = by_title[PAPERS[1]["title"]]  # on topic, but names no dataset
    assert not silent.stated and silent.answer == NOT_STATED and silent.quote is None
    assert table.mode == "extractive" and [r.number for r in table.rows] == [1, 2]


def test_bad_arguments_are_one_line_errors(tiny_index):
    from assistant import AskpapersInputError, Assistant

    a = Assistant(index_dir=tiny_index)
    for call, message in ((lambda: evidence_table(a, "  "), "question: must not be empty"),
                          (lambda: evidence_table(a, QUESTION, k=0), "k: 0 is out of range"),
                          (lambda: evidence_table(a, QUESTION, filters={"date_to": "soon"}), "date_to: 'soon'")):
        with pytest.raises(AskpapersInputError, match=message):
            call()


def test_with_an_llm_each_paper_gets_its_own_checked_answer(tiny_index):
    from fake_openai import FakeOpenAI

    from assistant import Assistant

    fake = FakeOpenAI()
    try:
        fake.reply = "They evaluate tokenizer transfer on the XNLI and MasakhaNER datasets [1]."
        a = Assistant(index_dir=tiny_index, llm_base_url=fake.url, llm_model="fake-model", llm_api_key="k",
                      llm_timeout=10, llm_retries=0)
        table = evidence_table(a, QUESTION, k=2)
        assert len(fake.requests) == 2  # one short answer per paper
        prompts = [" ".join(m["content"] for m in r["messages"]) for r in fake.requests]
        assert all(sum(p["title"] in prompt for p in PAPERS) == 1 for prompt in prompts)  # one paper each
        by_title = {r.title: r for r in table.rows}
        supported = by_title[PAPERS[0]["title"]]
        assert supported.mode == "fake-model" and supported.stated
        assert supported.answer == f"They evaluate tokenizer transfer on the XNLI and MasakhaNER datasets " \
                                   f"[{supported.number}]."
        # the same reply is not supported by the other paper's abstract: checked away, not shown
        assert by_title[PAPERS[1]["title"]].answer == NOT_STATED
        assert table.mode == "fake-model"
        fake.behaviour = "error500"  # a failing LLM: each row falls back to the offline answer, with a warning
        failed = evidence_table(a, QUESTION, k=2)
        assert {r.mode for r in failed.rows} == {"extractive"} and len(failed.warnings) == 2
        assert failed.warnings[0].startswith("[1] fake-model:")
        assert {r.stated for r in failed.rows} == {True, False}
    finally:
        fake.close()


# ------------------------------------------------------------------ the command

def askpapers(*args) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "askpapers"
    return subprocess.run([str(exe), *map(str, args)], capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1", "COLUMNS": "90"})


@pytest.mark.slow
def test_cli_table_formats(tiny_index, tmp_path):
    args = ("table", QUESTION, "-k", "2", "--index-dir", tiny_index)
    out = askpapers(*args, "--format", "csv")
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert {r["title"] for r in rows} == {PAPERS[0]["title"], PAPERS[1]["title"]}
    assert NOT_STATED in {r["answer"] for r in rows}
    md = askpapers(*args, "--format", "markdown")
    assert md.returncode == 0 and "| # | Paper | Answer | Quote |" in md.stdout
    js = askpapers(*args, "--json")
    assert js.returncode == 0 and len(json.loads(js.stdout.strip().splitlines()[-1])["rows"]) == 2
    text = askpapers(*args)
    assert text.returncode == 0 and text.stdout.startswith("#")
    assert all(len(line) <= 90 for line in text.stdout.splitlines() if not line.startswith("[") or "http" not in line)
    assert "not stated in the abstract" in text.stdout and "https://arxiv.org/abs/2405.07883" in text.stdout
    empty = askpapers("table", QUESTION, "--index-dir", tmp_path / "empty")
    assert empty.returncode == 1 and "No papers in the index" in empty.stderr and not empty.stdout
    bad = askpapers("table", QUESTION, "-k", "0", "--index-dir", tiny_index)
    assert bad.returncode == 2 and bad.stderr.strip() == "askpapers: error: k: 0 is out of range (1 to 1000)"
