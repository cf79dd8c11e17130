"""Exports: an answer as Markdown, its cited papers as BibTeX / RIS / CSL-JSON, a conversation as
Markdown with one bibliography, and `askpapers ask --format`. BibTeX is checked with a real
parser (bibtexparser), CSL-JSON against the CSL data model's shape (jsonschema), RIS by its
record structure."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import bibtexparser
import jsonschema
import pytest
from bibtexparser.middlewares import LatexDecodingMiddleware
from conftest import write_jsonl

from assistant.answers import Answer, Citation
from assistant.export import (
    answer_markdown,
    bibtex,
    cited_papers,
    conversation_markdown,
    csl_json,
    export_answer,
    references,
    relevance,
    ris,
    source_label,
)
from assistant.retrieval import Hit
from ingest.records import Source

PAGE = Source("000_161ee5e26b606702.txt", "Jul 4")


def hit(paper_id: str, title: str, authors=(), date=None, url=None, categories=(), sources=(PAGE,), doi=None,
        abstract="An abstract.", dense=0.0, bm25=0.0) -> Hit:
    return Hit(paper_id=paper_id, title=title, abstract=abstract, score=0.03, url=url, authors=list(authors),
               date=date, sources=list(sources), passage=abstract, categories=list(categories),
               dense_score=dense, bm25_score=bm25, doi=doi)


ARXIV = hit("arxiv:2401.00001", "Hypernetworks for Embedding New Tokens", ["Ada Lovelace", "Alan M. Turing"],
            "2024-01-05", "https://arxiv.org/abs/2401.00001", ["cs.CL", "cs.LG"])
DOI = hit("cran:17", "Shock Waves on Slender Wings", ["Lovelace, Ada"], "1962-03-01",
          "https://doi.org/10.1000/xyz_1", doi="10.1000/xyz_1")
PAGE_ONLY = hit("title:0123456789abcdef", "Über Maß: Speicher & Zeit",
                sources=[Source("000_161ee5e26b606702.txt", "Jul 4, 2024")])
UNCITED = hit("arxiv:0704.0002", "Solar Wind Turbulence at Small Scales", ["Someone Else"], "2007-04-02")


def answer(papers=(ARXIV, DOI, PAGE_ONLY, UNCITED), cited=(1, 2, 3), question="What do they do?") -> Answer:
    papers = list(papers)
    text = " ".join(f"Claim {n} [{n}]." for n in cited)
    citations = [Citation(n, papers[n - 1].paper_id, papers[n - 1].title, papers[n - 1].url,
                          f"Quote from paper {n}.", 0.8) for n in cited]
    return Answer(question=question, text=text, citations=citations, papers=papers)


def parse_bibtex(text: str):
    library = bibtexparser.parse_string(text)
    assert not library.failed_blocks, [b.error for b in library.failed_blocks]
    return library


def fields(entry) -> dict[str, str]:
    return {f.key: f.value for f in entry.fields}


# ---------------------------------------------------------------- BibTeX
def test_bibtex_holds_exactly_the_cited_papers_with_their_fields():
    a = answer(cited=(1, 2, 3))
    library = parse_bibtex(bibtex(cited_papers(a)))
    entries = {fields(e)["title"].strip("{}"): e for e in library.entries}
    assert set(entries) == {ARXIV.title, DOI.title, "Über Maß: Speicher \\& Zeit"}  # not the uncited paper

    arxiv = entries[ARXIV.title]
    assert arxiv.entry_type == "article" and arxiv.key == "lovelace2024hypernetworks"
    f = fields(arxiv)
    assert f["author"] == "Lovelace, Ada and Turing, Alan M."
    assert (f["year"], f["eprint"], f["archivePrefix"], f["primaryClass"]) == ("2024", "2401.00001", "arXiv", "cs.CL")
    assert f["url"] == "https://arxiv.org/abs/2401.00001" and "doi" not in f

    f = fields(entries[DOI.title])
    assert f["doi"] == "10.1000/xyz_1" and f["year"] == "1962" and "eprint" not in f

    page = entries["Über Maß: Speicher \\& Zeit"]
    f = fields(page)
    assert page.entry_type == "misc" and page.key == "uber2024"  # no authors: firstwordYEAR, year of the dated page
    assert f["howpublished"] == "Read from daily page of Jul 4, 2024" and "author" not in f


def test_bibtex_escapes_latex_specials_balances_braces_and_keeps_unicode():
    title = "Über {braces} 100% & #1 a_b \\cmd ~tilde^hat $5"
    text = bibtex([hit("title:ffff000011112222", title, ["Jürgen Müller"], "2020-01-01")])
    assert "Über" in text and "Müller" in text  # UTF-8 kept, not LaTeX-encoded
    for value in re.findall(r"^\s+\w+ = \{(.*)\},?$", text, re.M):  # real BibTeX counts every brace
        depth = 0
        for ch in value:
            depth += {"{": 1, "}": -1}.get(ch, 0)
            assert depth >= 0, value
        assert depth == 0, value
    assert fields(parse_bibtex(text).entries[0])["title"] == (
        r"{Über \textbraceleft{}braces\textbraceright{} 100\% \& \#1 a\_b \textbackslash{}cmd "
        r"\textasciitilde{}tilde\textasciicircum{}hat \$5}")
    # a LaTeX decoder reads the text back (pylatexenc does not know \textbraceleft, so no braces here)
    plain = "100% & #1 a_b \\cmd ~tilde $5"
    decoded = bibtexparser.parse_string(bibtex([hit("title:1", plain)]), append_middleware=[LatexDecodingMiddleware()])
    assert fields(decoded.entries[0])["title"].strip("{}") == plain


def test_citation_keys_are_stable_unique_and_bibtex_safe():
    twins = [hit(f"arxiv:2401.0000{i}", "Attention Is All You Need", ["Ashish Vaswani"], "2017-06-12")
             for i in range(3)]
    keys = [r.key for r in references(twins + [ARXIV])]
    assert keys == ["vaswani2017attentiona", "vaswani2017attentionb", "vaswani2017attentionc",
                    "lovelace2024hypernetworks"]
    assert keys == [r.key for r in references(twins + [ARXIV])]  # same papers, same keys
    odd = hit("title:1", "The 3D World", ["Ludwig van Beethoven"], None)
    assert references([odd])[0].key == "beethoven3d"  # particles and stop words skipped, no year
    assert all(re.fullmatch(r"[a-z][a-z0-9]*", k) for k in keys)
    library = parse_bibtex(bibtex(twins))
    assert len({e.key for e in library.entries}) == 3


def test_an_answer_that_cites_nothing_exports_an_empty_bibliography():
    refused = answer(cited=())
    assert cited_papers(refused) == []
    assert export_answer(refused, "bibtex") == "" and export_answer(refused, "ris") == ""
    assert json.loads(export_answer(refused, "csljson")) == []


def test_dict_forms_export_like_the_objects():
    a = answer()
    for fmt in ("markdown", "bibtex", "ris", "csljson"):
        assert export_answer(a.to_dict(), fmt) == export_answer(a, fmt)


# ---------------------------------------------------------------- RIS
RIS_LINE = re.compile(r"^[A-Z][A-Z0-9]  - .*$")


def test_ris_records_are_well_formed():
    text = ris(cited_papers(answer()))
    records = [r for r in text.split("\n\n") if r.strip()]
    assert len(records) == 3
    for record in records:
        lines = record.strip("\n").split("\n")
        assert lines[0].startswith("TY  - ") and lines[-1] == "ER  - "
        assert all(RIS_LINE.match(line) for line in lines), lines
        tags = [line[:2] for line in lines]
        assert {"TY", "TI", "ID", "ER"} <= set(tags) and tags.count("TY") == tags.count("ER") == 1
    arxiv, doi, page = records
    assert "TY  - UNPB" in arxiv and "AU  - Lovelace, Ada\nAU  - Turing, Alan M." in arxiv and "PY  - 2024" in arxiv
    assert "DO  - 10.1000/xyz_1" in doi and "TY  - JOUR" in doi
    assert "TY  - GEN" in page and "N1  - Read from daily page of Jul 4, 2024" in page
    assert UNCITED.title not in text


# ---------------------------------------------------------------- CSL-JSON
_NAME = {"type": "object", "additionalProperties": False, "minProperties": 1,
         "properties": {k: {"type": "string"} for k in ("family", "given", "literal", "suffix",
                                                        "dropping-particle", "non-dropping-particle")}}
_DATE = {"type": "object", "additionalProperties": False, "required": ["date-parts"],
         "properties": {"date-parts": {"type": "array", "minItems": 1, "maxItems": 2, "items": {
             "type": "array", "minItems": 1, "maxItems": 3, "items": {"type": ["integer", "string"]}}}}}
_STRINGS = ("title", "URL", "DOI", "number", "publisher", "genre", "keyword", "abstract", "note",
            "container-title", "page", "volume", "issue", "language", "source", "ISSN", "ISBN")
# The CSL data model (CSL 1.0.2 csl-data): an item needs id and type; only CSL variables are allowed.
CSL_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["id", "type", "title"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": ["string", "number"]},
            "type": {"enum": ["article", "article-journal", "paper-conference", "report", "thesis", "book",
                              "chapter", "document", "dataset", "webpage", "post", "manuscript", "software"]},
            "author": {"type": "array", "items": _NAME},
            "editor": {"type": "array", "items": _NAME},
            "issued": _DATE,
            "accessed": _DATE,
            **{k: {"type": "string"} for k in _STRINGS},
        },
    },
}


def test_csl_json_follows_the_csl_data_model():
    items = json.loads(csl_json(cited_papers(answer())))
    jsonschema.validate(items, CSL_SCHEMA)
    by_title = {i["title"]: i for i in items}
    assert set(by_title) == {ARXIV.title, DOI.title, PAGE_ONLY.title}
    arxiv = by_title[ARXIV.title]
    assert arxiv["type"] == "article" and arxiv["number"] == "arXiv:2401.00001"
    assert arxiv["author"] == [{"family": "Lovelace", "given": "Ada"}, {"family": "Turing", "given": "Alan M."}]
    assert arxiv["issued"] == {"date-parts": [[2024, 1, 5]]}
    assert by_title[DOI.title]["DOI"] == "10.1000/xyz_1"
    assert by_title[PAGE_ONLY.title]["type"] == "document" and "author" not in by_title[PAGE_ONLY.title]
    # the same keys as the BibTeX entries, so a document can cite either
    assert [i["id"] for i in items] == [e.key for e in parse_bibtex(bibtex(cited_papers(answer()))).entries]


# ---------------------------------------------------------------- Markdown
def test_answer_markdown_has_the_text_then_each_cited_source_with_quote_and_link():
    a = answer(cited=(1, 3))
    md = answer_markdown(a)
    assert md.startswith("**Question:** What do they do?")
    assert "Claim 1 [1]. Claim 3 [3]." in md
    sources = md.split("**Sources**")[1].split("**Also retrieved, not cited**")[0]
    assert "**[1]** Ada Lovelace, Alan M. Turing (2024). [Hypernetworks for Embedding New Tokens]" \
           "(<https://arxiv.org/abs/2401.00001>)." in sources
    assert "> “Quote from paper 1.”" in sources and "> “Quote from paper 3.”" in sources
    assert "**[3]** Über Maß: Speicher & Zeit (2024)." in sources and "daily page of Jul 4, 2024" in sources
    assert "**[2]**" not in sources  # not cited: listed below, without a quote
    rest = md.split("**Also retrieved, not cited**")[1]
    assert "[2] [Shock Waves on Slender Wings](<https://doi.org/10.1000/xyz_1>)" in rest and UNCITED.title in rest


def test_markdown_escapes_titles_that_look_like_markup():
    md = answer_markdown(answer(papers=[hit("title:2", "[Re] *Bold* claims_of `code`", url="https://x.org/a")],
                                cited=(1,)))
    assert r"[\[Re\] \*Bold\* claims\_of \`code\`](<https://x.org/a>)" in md


def test_conversation_markdown_has_every_turn_and_one_bibliography():
    first = answer(cited=(1, 2), question="What about tokens?")
    second = answer(papers=[ARXIV, UNCITED], cited=(1, 2), question="And the sun?")
    md = conversation_markdown([first, second])
    assert md.index("## 1. What about tokens?") < md.index("## 2. And the sun?") < md.index("## Bibliography")
    bibliography = md.split("## Bibliography")[1]
    lines = [line for line in bibliography.splitlines() if line.startswith("- ")]
    assert len(lines) == 3  # ARXIV (cited twice, listed once), DOI, UNCITED (cited in turn 2)
    assert sum(ARXIV.title in line for line in lines) == 1 and PAGE_ONLY.title not in bibliography


# ---------------------------------------------------------------- provenance
def test_sources_and_relevance_read_as_words():
    assert source_label(PAGE) == "daily page of Jul 4"
    assert source_label(Source("001_4932ee8f1672d38b.txt")) == "daily page #1"
    assert source_label(Source("papers.jsonl", "2024-01-05")) == "papers.jsonl (2024-01-05)"
    assert source_label({"name": "my.pdf", "date": None}) == "my.pdf"
    assert source_label(Source("/data/a/papers.jsonl", "2024-01-05")) == "papers.jsonl (2024-01-05)"  # a path
    assert source_label(Source("/data/pages/000_161ee5e26b606702.txt", "Jul 4")) == "daily page of Jul 4"
    assert relevance(hit("a", "t", dense=0.7, bm25=3.0)) == "strong match"
    assert relevance(hit("a", "t", dense=0.5)) == "good match"
    assert relevance(hit("a", "t", dense=0.1, bm25=1.0)) == "weak match"
    assert relevance(hit("a", "t", bm25=2.0)) == "keyword match"


# ---------------------------------------------------------------- CLI
def askpapers(*args):
    return subprocess.run([sys.executable, "-m", "assistant.cli", *map(str, args)], capture_output=True, text=True,
                          timeout=300)


@pytest.mark.slow
def test_ask_format_bibtex_ris_csljson_through_the_cli(tmp_path, tiny_papers):
    idx = tmp_path / "idx"
    assert askpapers("ingest", write_jsonl(tmp_path / "p.jsonl", tiny_papers), "--index-dir", idx).returncode == 0
    question = "What reduces hallucination at decoding time?"
    out = askpapers("ask", question, "--index-dir", idx, "--format", "bibtex")
    assert out.returncode == 0, out.stderr
    library = parse_bibtex(out.stdout)
    answer_json = json.loads(askpapers("ask", question, "--index-dir", idx, "--json").stdout.splitlines()[-1])
    cited = {answer_json["papers"][c["number"] - 1]["title"] for c in answer_json["citations"]}
    assert cited and {fields(e)["title"].strip("{}") for e in library.entries} == cited
    assert "Contrastive Decoding Reduces Hallucination" in cited

    out = askpapers("ask", question, "--index-dir", idx, "--format", "markdown")
    assert out.returncode == 0 and "**Sources**" in out.stdout and "[1]" in out.stdout

    out = askpapers("ask", question, "--index-dir", idx, "--json", "--format", "ris")
    assert out.returncode == 2 and out.stderr.strip().count("\n") == 0
    assert out.stderr.startswith("askpapers: error: --json and --format ris disagree")


@pytest.mark.slow
def test_search_output_names_pages_and_relevance_not_raw_scores(tmp_path, capsys):
    """`askpapers search` shows "daily page of Jul 4" and "strong match", not a file hash and 0.0325."""
    from conftest import SAMPLES, make_settings

    from assistant.cli import main
    from ingest.pipeline import ingest
    from ingest.store import PaperIndex

    blocks = (SAMPLES / PAGE.name).read_text(encoding="utf-8").split("\n\n")
    page = tmp_path / PAGE.name  # the sample page's boilerplate and date line, then its first three papers
    page.write_text("\n\n".join(blocks[:5 + 6]) + "\n", encoding="utf-8")
    ingest([page], index=PaperIndex(make_settings(tmp_path / "idx")), progress=False)
    capsys.readouterr()
    assert main(["search", "prototype layer that explains its predictions", "--index-dir", str(tmp_path / "idx")]) == 0
    out = capsys.readouterr().out
    first = out.split("[2]")[0]
    assert first.startswith("[1] Deep Learning for Case-Based Reasoning through Prototypes")
    assert "match · " in first and "daily page of Jul 4" in first
    assert "score" not in out and "161ee5e26b606702" not in out


def test_bibtex_author_lists_split_into_the_right_name_parts():
    """BibTeX's own name rules (bibtexparser's SplitNameParts) read back each author as meant."""
    from bibtexparser.middlewares import SeparateCoAuthors, SplitNameParts

    names = ["Ada Lovelace", "Ludwig van Beethoven", "Martin Luther King Jr.", "The ATLAS Collaboration",
             "Jürgen Müller", "others"]
    text = bibtex([hit("arxiv:2401.00009", "Names", names, "2024-01-01")])
    library = bibtexparser.parse_string(text, append_middleware=[SeparateCoAuthors(), SplitNameParts()])
    parts = [(n.first, n.von, n.last, n.jr) for n in fields(library.entries[0])["author"]]
    assert parts == [
        (["Ada"], [], ["Lovelace"], []),
        (["Ludwig"], ["van"], ["Beethoven"], []),
        (["Martin", "Luther"], [], ["King"], ["Jr."]),
        ([], [], ["{The ATLAS Collaboration}"], []),
        (["Jürgen"], [], ["Müller"], []),
        ([], [], ["others"], []),
    ]
    item = json.loads(csl_json([hit("arxiv:2401.00009", "Names", names[:4], "2024-01-01")]))[0]
    assert item["author"] == [{"family": "Lovelace", "given": "Ada"}, {"family": "van Beethoven", "given": "Ludwig"},
                              {"family": "King", "given": "Martin Luther", "suffix": "Jr."},
                              {"family": "The ATLAS Collaboration"}]


def test_write_export_gives_a_file_a_download_button_can_serve(tmp_path):
    from assistant.export import FILE_TYPES, write_export

    a = answer()
    paths = {fmt: write_export(export_answer(a, fmt), fmt, tmp_path, stem="answer-1") for fmt in FILE_TYPES}
    assert sorted(p.name for p in paths.values()) == ["answer-1.bib", "answer-1.json", "answer-1.md", "answer-1.ris"]
    assert parse_bibtex(paths["bibtex"].read_text(encoding="utf-8")).entries[2].key == "uber2024"
    assert json.loads(paths["csljson"].read_text(encoding="utf-8"))[0]["id"] == "lovelace2024hypernetworks"


def test_sources_are_read_in_every_stored_form():
    """A hit's sources as the API gives them (dicts), as the side index stores them ([name, date,
    digest]) or as Source objects; one without a name is skipped, not turned into a nameless file."""
    from assistant.export.references import _sources
    from ingest.records import Source

    paper = {"sources": [{"name": "jul4.txt", "date": "2024-07-04", "label": "daily page of Jul 4"},
                         ["b.csv", None, "d1"], Source("c.jsonl"), {"date": "2024-01-01"}]}
    assert [(s.name, s.date, s.digest) for s in _sources(paper)] == [
        ("jul4.txt", "2024-07-04", None), ("b.csv", None, "d1"), ("c.jsonl", None, None)]
