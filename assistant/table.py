"""The evidence table: one row per retrieved paper, with that paper's answer to a question.

For a question over many papers ("which datasets and model sizes do the tokenizer-transfer
papers use?") a single answer names two or three papers; a table answers it for each of the
top k. Each row is answered from its own paper alone, by the same answerers as `ask`:

* offline, `ExtractiveAnswerer` on that one paper: its quoted sentences, or "not stated in the
  abstract" when the answerer refuses, or when the question asks for a kind of thing
  ("datasets") the abstract never mentions: a cell states what the paper says, never a guess;
* with an LLM configured, `GenerativeAnswerer` on that one paper: one short answer, its
  citations checked like any answer (and the offline answer when the LLM fails).

Rows are cited like answers: [n] is row n's paper.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import asdict, dataclass, field

from .answers import Answer
from .evidence import Evidence, term_sets
from .extractive import Decision, ExtractiveAnswerer
from .questions import asked_kind, asks_for_several, facets, has_number, wants_quantity
from .retrieval import Hit

NOT_STATED = "not stated in the abstract"
CSV_COLUMNS = ("n", "title", "paper_id", "url", "date", "answer", "quote", "relevance", "sources")
# "which papers …" asks about each paper in turn: the per-paper question names one paper
_PLURAL = re.compile(r"\b(papers|works|studies|articles|publications)\b", re.IGNORECASE)
_SINGULAR = {"papers": "paper", "works": "work", "studies": "study", "articles": "article",
             "publications": "publication"}
_CITE = re.compile(r"\[1\]")
_ANY_CITE = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")
_CLAIM_END = re.compile(r"(?<=\[1\])\s+|(?<=\[1\][.!?])\s+")  # after each cited claim: "… [1]" or "… [1]."
# plural quantities that `questions.wants_quantity` (written for one-answer questions) does not read as one
_PLURAL_QUANTITY = re.compile(r"\b(what|which)\s+([\w-]+\s+){0,3}?(sizes|numbers|counts|rates|scores|accuracies)\b",
                              re.IGNORECASE)
_SPREADSHEET_FORMULA = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Row:
    """One paper of the table: who it is, what it says about the question, and the quote."""

    number: int  # [number] in `answer` is this paper
    paper_id: str
    title: str
    url: str | None
    date: str | None
    answer: str  # the paper's answer with [number], or NOT_STATED
    quote: str | None  # the abstract sentence that supports it best (None when not stated)
    stated: bool
    relevance: str = ""  # how well the paper matched the question, in words
    sources: str = ""  # where it was read ("daily page of Jul 4")
    mode: str = "extractive"  # what wrote the cell: "extractive" or the LLM's model name

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Table:
    """`rows[i]` is paper [i + 1]; `warnings` says where the LLM was not used or failed."""

    question: str
    rows: list[Row] = field(default_factory=list)
    mode: str = "extractive"
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"question": self.question, "mode": self.mode, "warnings": list(self.warnings),
                "rows": [r.to_dict() for r in self.rows]}

    def to_csv(self) -> str:
        """CSV with a header (CSV_COLUMNS). Cells that a spreadsheet would run as a formula
        (starting with = + - @) get a leading apostrophe: titles and quotes are untrusted text."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for r in self.rows:
            values = (r.number, r.title, r.paper_id, r.url or "", r.date or "", r.answer, r.quote or "",
                      r.relevance, r.sources)
            writer.writerow([_cell_for_spreadsheet(v) for v in values])
        return out.getvalue()

    def to_markdown(self) -> str:
        """A Markdown table (paper, answer, quote), then the numbered papers with their links."""
        lines = [f"**{_md(self.question)}**", "", "| # | Paper | Answer | Quote |", "|---|---|---|---|"]
        for r in self.rows:
            paper = _md(r.title) + (f" ({_md(r.date)})" if r.date else "")
            quote = f"“{_md(r.quote)}”" if r.quote else ""
            lines.append(f"| [{r.number}] | {paper} | {_md(r.answer)} | {quote} |")
        if self.rows:
            lines += ["", "Papers:", ""]
            lines += [f"[{r.number}] {_md(r.title)}" + (f" — <{r.url}>" if r.url else "") for r in self.rows]
        return "\n".join(lines) + "\n"


def _md(text) -> str:
    """Text for one Markdown table cell: one line, pipes and markup characters escaped."""
    return re.sub(r"([\\`*_<>|])", r"\\\1", " ".join(str(text or "").split()))


def _cell_for_spreadsheet(value):
    if isinstance(value, str) and value.startswith(_SPREADSHEET_FORMULA):
        return "'" + value
    return value


def per_paper_question(question: str) -> str:
    """The question asked of one paper: "which datasets do the X papers use?" → "… the X paper use?"
    (a "which papers" question is answered by a list of papers; one row is one paper)."""
    if not asks_for_several(question):
        return question
    return _PLURAL.sub(lambda m: _match_case(_SINGULAR[m.group().lower()], m.group()), question, count=1)


def _match_case(word: str, like: str) -> str:
    return word.capitalize() if like[:1].isupper() else word


def asked_things(question: str) -> tuple[list[str], bool]:
    """The kinds of thing the question asks for ("dataset" in "which datasets …"), and whether
    it asks for a quantity ("model sizes", "how much …")."""
    kinds = [kind for kind in (asked_kind(part) for part in facets(question)) if kind]
    return kinds, wants_quantity(question) or bool(_PLURAL_QUANTITY.search(question))


def states_asked(question: str, text: str) -> bool:
    """Whether `text` states something the question asks for: a kind it names ("datasets") is
    mentioned, or an asked quantity is given as a number. True for questions asking neither."""
    kinds, quantity = asked_things(question)
    if not kinds and not quantity:
        return True
    text = _ANY_CITE.sub("", text)  # a marker's number is not a stated quantity
    words = term_sets([text])[0]
    return any(term_sets([kind])[0] & words for kind in kinds) or (quantity and has_number(text))


def stated_part(question: str, text: str) -> str:
    """The cited sentences of `text` that state what the question asks for (all of them when it
    asks for no particular kind or quantity); "" when none does."""
    claims = [c for c in _CLAIM_END.split(text.strip()) if c.strip()]
    return " ".join(c for c in claims if states_asked(question, c))


class RowAnswerer(ExtractiveAnswerer):
    """The offline answerer for one row. A question asking for something specific (a kind of
    thing, a quantity) is judged by whether the quoted sentences state it (`states_asked`), not
    by the fitted answerability, which measures how close the paper is to the whole question:
    a table question's topic ("the tokenizer-transfer papers") already chose the rows. Other
    questions are refused as `ask` refuses them."""

    def decide(self, question: str, hits: list[Hit], evidence: list[Evidence], context: str | None = None) -> Decision:
        kinds, quantity = asked_things(question)
        if evidence and (kinds or quantity):
            return Decision(False, 1.0, "a table row answers from the sentences that state what is asked")
        return super().decide(question, hits, evidence, context)


def row_from_answer(number: int, hit: Hit, question: str, answer: Answer) -> Row:
    """Row `number` from the answer computed on `hit` alone (where [1] is this paper)."""
    from .export import relevance, sources_label

    kept = "" if answer.refused else stated_part(question, _without_lead_in(answer.text, hit.title))
    stated = bool(kept)
    text, quote = NOT_STATED, None
    if stated:
        text = _CITE.sub(f"[{number}]", kept)
        quoted = [c for c in answer.citations if c.quote and c.quote[-40:] in kept] or answer.citations
        quote = max(quoted, key=lambda c: c.score).quote if quoted else None
    return Row(number=number, paper_id=hit.paper_id, title=hit.title, url=hit.url, date=hit.date, answer=text,
               quote=quote, stated=stated, relevance=relevance(hit), sources=sources_label(hit.sources),
               mode=answer.mode)


def _without_lead_in(text: str, title: str) -> str:
    """The answer without 'According to "Title": ' (the row already names its paper)."""
    lead = f'According to "{title}": '
    return text.removeprefix(lead)


def paper_answer(assistant, question: str, hit: Hit, client) -> Answer:
    """One paper's answer to `question`: by the LLM when `client` is set (checked, with the offline
    answer on any failure), else by the offline answerer. `hit` is source [1]."""
    if client is None:
        return RowAnswerer(assistant.scorer).answer(question, [hit])
    from .generative import GenerativeAnswerer

    answer = None
    offline = RowAnswerer(assistant.scorer)  # the referee and fallback judge a row as offline rows are
    for item in GenerativeAnswerer(client, assistant.scorer, offline=offline).stream(question, [hit]):
        if isinstance(item, Answer):
            answer = item
    return answer


def evidence_table(assistant, question: str, k: int = 10, filters=None) -> Table:
    """The evidence table for `question` over the top `k` papers (arguments as `Assistant.search`;
    bad ones raise `AskpapersInputError`). No rows when nothing matches or the index is empty."""
    from ingest.filters import SearchFilters

    from .api import check_k, check_text

    question, k, filters = check_text("question", question), check_k(k), SearchFilters.coerce(filters)
    warnings: list[str] = []
    client = assistant._chat_client(warnings)
    hits = assistant.search(question, k=k, filters=filters)
    asked = per_paper_question(question)
    rows = []
    for number, hit in enumerate(hits, start=1):
        answer = paper_answer(assistant, asked, hit, client)
        warnings += [f"[{number}] {w}" for w in answer.warnings]
        rows.append(row_from_answer(number, hit, question, answer))
    mode = client.model if client is not None else "extractive"
    return Table(question=question, rows=rows, mode=mode, warnings=warnings)
