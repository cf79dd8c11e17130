"""What the CLI prints for people and for scripts: escaped text, JSON lines, answers, tables.

Everything printed for people goes through `term()`: control characters in titles, abstracts
or file names are shown escaped (`\\x1b`), so a paper cannot drive the terminal. `--json`
output is JSON with the same characters escaped as \\uXXXX.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap

EXIT_OK, EXIT_ERROR, EXIT_REJECTED, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 1, 2, 130, 141
EXIT_USAGE = 2  # same code argparse uses for a bad flag

# C0/C1 controls (tab and newline are kept where text may span lines), DEL, bidi overrides and
# isolates, and lone surrogates (which cannot even be encoded for the terminal)
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_LINE = re.compile(r"[\t\n]|" + _UNSAFE.pattern)
_UNSAFE_IN_JSON = re.compile(r"[\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")



def term(text, multiline: bool = True) -> str:
    """`text` safe for a terminal: control characters shown as escapes (ESC → `\\x1b`).
    With `multiline=False` (titles, urls, quotes) newlines and tabs are escaped too."""
    pattern = _UNSAFE if multiline else _UNSAFE_LINE
    return pattern.sub(lambda m: m.group().encode("unicode_escape", "backslashreplace").decode("ascii"), str(text))


def say(text="", multiline: bool = True, file=None) -> None:
    """print() for people: escaped with `term`."""
    print(term(text, multiline), file=file)


def emit_json(obj) -> None:
    """One JSON line. json.dumps escapes C0 controls; bidi controls, C1 and lone surrogates get
    \\uXXXX escapes here (valid JSON: they only occur inside strings)."""
    text = json.dumps(obj, ensure_ascii=False, default=str)
    print(_UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


class StatusLine:
    """What a slow LLM is doing ("reading 5 papers with qwen (12 s)"), on stderr while the answer
    is awaited: one line rewritten in place on a terminal, plain lines (at most one every 10 s)
    in a log. Cleared when the answer is there."""

    LOG_EVERY = 10.0

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.shown = False
        self.last = float("-inf")

    def __call__(self, text: str) -> None:
        import time

        if self.tty:
            self.stream.write("\r\x1b[K" + term(text, multiline=False)[:200])
            self.shown = True
        elif time.monotonic() - self.last >= self.LOG_EVERY:
            self.stream.write(term(text, multiline=False) + "\n")
            self.last = time.monotonic()
        self.stream.flush()

    def __enter__(self) -> "StatusLine":
        return self

    def __exit__(self, *exc) -> None:
        if self.shown:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def print_answer(answer, show_draft: bool = False) -> None:
    say(answer.text)
    if answer.papers:
        say("\nSources:")
        for line in answer.sources_text().splitlines():
            say(line, multiline=False)
    from ..quoting import shown_in

    for c in answer.citations:  # the supporting sentence, unless the answer already quotes it
        if not shown_in(c.quote, answer.text):
            say(f"  [{c.number}] “{c.quote}”", multiline=False)
    for w in answer.warnings:
        say(f"warning: {w}", multiline=False, file=sys.stderr)
    if show_draft:
        draft = getattr(answer, "draft", None)
        say("\nThe model's draft (before citation checking):\n" + draft if draft else
            "\n(no model draft: this answer was written offline)")


def print_export(answer, fmt: str) -> None:
    """An export of the answer on stdout (Markdown, or its cited papers' BibTeX/RIS/CSL-JSON);
    a bibliography of an answer that cites nothing is empty, and stderr says why."""
    from ..export import cited_papers, export_answer

    text = export_answer(answer, fmt)
    if text.strip():
        sys.stdout.write(term(text))
    if fmt != "markdown" and not cited_papers(answer):
        say("askpapers: the answer cites no paper, so the bibliography is empty", file=sys.stderr)
    for w in answer.warnings:
        say(f"warning: {w}", multiline=False, file=sys.stderr)


def print_table(table, width: int | None = None) -> None:
    """The table aligned to the terminal: [n], the paper (title, date, relevance), its answer;
    then each paper's link. Every cell is escaped with `term` before it is wrapped."""
    import shutil

    width = width or shutil.get_terminal_size((100, 24)).columns
    num_w = len(f"[{len(table.rows)}]") + 1
    paper_w = max(16, min(40, (width - num_w) // 3))
    answer_w = max(20, width - num_w - paper_w - 2)
    say(f"{'#':<{num_w}}{'Paper':<{paper_w}}  Answer")
    for r in table.rows:
        paper = textwrap.wrap(term(r.title, multiline=False), paper_w) + textwrap.wrap(
            term(" · ".join(x for x in (r.date, r.relevance) if x), multiline=False), paper_w)
        answer = textwrap.wrap(term(r.answer, multiline=False), answer_w)
        for i in range(max(len(paper), len(answer))):
            num = f"[{r.number}]" if i == 0 else ""
            left = paper[i] if i < len(paper) else ""
            right = answer[i] if i < len(answer) else ""
            print(f"{num:<{num_w}}{left:<{paper_w}}  {right}".rstrip())
        print()
    for r in table.rows:
        if r.url:
            say(f"[{r.number}] {r.url}", multiline=False)
