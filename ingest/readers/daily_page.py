"""Daily-papers pages saved as text: the scraped listing of a "daily papers" site.

Site boilerplate and a date line ("Jul 4") at the top, then title / abstract pairs, either
separated by blank lines or one per line with no blank lines at all. Titles and abstracts are
told apart by shape (abstracts are long or several sentences), so hard-wrapped lines and
paragraphs are joined. Boilerplate is dropped wherever it appears and is also the evidence that
a file is such a page. This format is tried last. Whether a text is a page can only be told from
its structure, so ``read`` decides and backs out (``NotThisFormat``, then "unknown layout") unless
the text has site text or a date line, or, without them, is mostly title/abstract pairs (see
``_is_page``): a LICENSE, a README or free prose has headings, numbered clauses and wrapped
sentences that are mostly no such pairs.
"""

from __future__ import annotations

import re
from fractions import Fraction

from ingest.records import Paper, ReadError, Source, clean_text, collapse_ws

from .fields import RecordSink, text_problem
from .metadata import MONTH_RE, iso_date
from .registry import NotThisFormat
from .textfile import MAX_LINE_CHARS, Rejected, TextFile, too_long


class DailyPageFormat:
    name = "daily-papers page"
    extensions = (".txt",)
    description = "daily-papers page text (.txt)"
    fallback = True  # tried after every other format

    def claims(self, src: TextFile) -> bool:
        """Any text may be a page: the layout check needs the whole parse, so ``read`` makes it."""
        return True

    def read(self, src: TextFile) -> tuple[list[Paper], list[ReadError]]:
        sink = RecordSink(src)
        lines: list[tuple[int, str | None]] = []
        overlong: list[tuple[int, int]] = []
        for lineno, text, length in src.lines():
            if text is None:
                overlong.append((lineno, length))
                lines.append((lineno, None))
                sink.error(too_long(length), line=lineno)
                continue
            body = text[:-1] if text.endswith(("\n", "\r")) else text
            body = body[:-1] if body.endswith("\r") else body
            # lone CRs (old Mac line ends) break lines too
            lines.extend((lineno, part) for part in body.split("\r"))
        page = _parse_page(lines)
        if overlong and not page.units:
            lineno, length = overlong[0]
            raise Rejected(
                f"nothing to read: every non-blank line is too long (line {lineno} is {length:,} characters, "
                f"limit {MAX_LINE_CHARS:,} characters per line)",
                lineno,
            )
        if not _is_page(page):
            raise NotThisFormat("not a daily-papers page, JSON or CSV with a header row")
        if not page.papers and not page.errors:
            raise Rejected("daily-papers page without any paper")
        for message, lineno in page.errors:
            sink.error(message, line=lineno)
        for title, abstract, lineno, page_date in page.papers:
            problem = sink.undecodable(title, abstract)
            title, abstract = collapse_ws(clean_text(title)), collapse_ws(clean_text(abstract))
            problem = problem or text_problem(title, abstract) or _empty(title, abstract)
            if problem:
                sink.error(problem, line=lineno)
                continue
            sink.papers.append(
                Paper(
                    title=title,
                    abstract=abstract,
                    date=_iso_from_page_date(page_date),
                    sources=[Source(name=src.path.name, date=page_date)],
                )
            )
        return sink.result()


def _is_page(page: _Page) -> bool:
    """Site text or a date line makes a page; without them, mostly title/abstract pairs do.

    A list of papers is nearly all pairs of a title (one short line, no sentence inside) and an
    abstract (several sentences, or long); prose, a LICENSE or a README pairs up headings, clauses
    and wrapped lines that mostly are not. One odd pair in a few (a one-word title, a title in
    mark-up) and a second abstract paragraph now and then still make a page.
    """
    if page.markers:
        return True
    shaped = sum(_title_shaped(t) and _abstract_shaped(a) for t, a, _, _ in page.papers)
    odd = len(page.papers) - shaped + len(page.errors)
    return (
        shaped >= MIN_PAIRS
        and shaped >= PAIR_SHARE * (shaped + odd)  # errors count too: prose makes many
        and page.continued <= shaped  # more papers than extra paragraphs
    )


# a page without site text or a date line needs this many well-shaped pairs, and this share of them
MIN_PAIRS = 2
PAIR_SHARE = Fraction(3, 5)
MAX_TITLE_WORDS = 40
SHORT_ABSTRACT_WORDS = 8  # a one-sentence abstract between two titles
MIN_SHOUTED_LETTERS = 20  # "BERT" or "GPT-4o" is a name, not shouting
# what starts a heading, list item, quote, table or code line in markdown / reST / plain text
_MARKUP_START = tuple("#*->|`!=_~+•")
_TAG_START = re.compile(r"<(?![a-z]+>)|<[a-z]+>\s*$", re.I)  # "<think>: ..." is a title, "<!--", "<div" are not
_RULE = re.compile(r"([=\-_*#~^])\1\1")  # "===", "---": underlines and rules
# a lowercase first word that is a plain word ("and", "which", "e.g.") continues a sentence;
# "mBERT", "p53", "β-catenin" start one
_CONTINUATION = re.compile(r"[^\W\d_]+(?=[\s,;:.)]|$)")


def _title_shaped(text: str) -> bool:
    """A paper title: one phrase, perhaps ending in one period; not mark-up, a URL or a sentence."""
    return (
        1 <= len(text.split()) <= MAX_TITLE_WORDS
        and not _shouted(text)
        and not text.startswith(_MARKUP_START)
        and not _TAG_START.match(text)
        and "://" not in text
        and not _RULE.search(text)
        and not _SENTENCE_INSIDE.search(text)
        and not text.endswith((",", ";", ":"))
        and (not text.endswith("..") or text.endswith("..."))
    )


def _abstract_shaped(text: str) -> bool:
    """An abstract is long or several sentences and starts a sentence (not a wrapped one's rest)."""
    continues = text[:1].islower() and (m := _CONTINUATION.match(text)) is not None and m.group().islower()
    return (
        _looks_like_abstract(text)  # a one-sentence abstract is an odd pair: BSD clauses are such
        and not continues
        and not text.startswith(_MARKUP_START)
        and not _shouted(text)
    )


def _shouted(text: str) -> bool:
    """Mostly capitals: a licence's disclaimer ("THE SOFTWARE IS PROVIDED ..."), not an abstract."""
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= MIN_SHOUTED_LETTERS and sum(c.isupper() for c in letters) > 0.6 * len(letters)


def _empty(title: str, abstract: str) -> str | None:
    """A title or abstract that was only control characters."""
    for what, text in (("title", title), ("abstract", abstract)):
        if not text:
            return f"empty {what} (only control characters)"
    return None




# site text: dropped wherever it appears, and evidence that the file is such a page
_SITE_TEXT = re.compile(
    r"subscribe|daily papers|trending papers|"
    r"get trending papers in your email inbox(?: once a day)?!?|"
    r"by\s*ak and the research community",
    re.I,
)
# markers and navigation: dropped, but too common to prove anything ("new" badges, counts)
_NOISE = re.compile(r"new|(?:load|show|see) more|previous|next|\d+", re.I)
# site text glued to the first title, e.g. "SubscribePrompt, Translate, ..."
_GLUED_BOILERPLATE = re.compile(
    r"(?i:subscribe|daily papers|by\s*ak and the research community)(?=[A-Z0-9\"'(\[])"
)
_PAGE_DATE = re.compile(rf"(?:{MONTH_RE})\.?\s+\d{{1,2}}(?:,?\s+\d{{4}})?", re.I)
# "... Clouds. IX. The Serpens ..." is a title of a series, not two sentences
_SENTENCE_INSIDE = re.compile(r"[a-z)\]%][.!]\s+[A-Z(][a-z]")
_SENTENCE_END = re.compile(r"[a-z0-9)\]%][.!]\s+[A-Z(]")
_TITLE_JOINERS = re.compile(
    r"(?:[:\-–—,&(/]|\b(?:and|or|of|for|the|with|in|on|to|a|an|via|from|by))$", re.I
)


class _Unit:
    __slots__ = ("text", "lineno", "date", "abstract_like")

    def __init__(self, text: str, lineno: int, date: str | None) -> None:
        self.text = text
        self.lineno = lineno
        self.date = date
        self.abstract_like = _looks_like_abstract(text)


class _Page:
    def __init__(self) -> None:
        self.markers = 0
        self.continued = 0  # abstract paragraphs joined to the abstract before them
        self.units: list[_Unit] = []
        self.papers: list[tuple[str, str, int, str | None]] = []
        self.errors: list[tuple[str, int]] = []


def _looks_like_abstract(text: str) -> bool:
    """Abstracts are long or several sentences; titles are short (and may end in "?" or "...")."""
    if len(text) > 300 or len(_SENTENCE_END.findall(text)) >= 2:
        return True
    return text.endswith(".") and not text.endswith("..") and len(text.split()) >= 25


def _long_title(unit: _Unit, nxt: _Unit | None) -> bool:
    """A long one-sentence title ending in "." (PubMed style) before a longer abstract is a title.

    Its length makes it look like a short abstract; an abstract's middle paragraph is rarely one
    sentence of at most ``MAX_TITLE_WORDS`` words.
    """
    return (
        nxt is not None
        and nxt.abstract_like
        and len(nxt.text) > len(unit.text)
        and len(unit.text.split()) <= MAX_TITLE_WORDS
        and _title_shaped(unit.text)
    )


def _is_page_date(text: str) -> bool:
    return bool(_PAGE_DATE.fullmatch(text))


def _iso_from_page_date(page_date: str | None) -> str | None:
    """Only a date line that carries a year ("Jul 4, 2024") gives the paper a date."""
    if page_date and re.search(r"\d{4}$", page_date):
        return iso_date(page_date)
    return None


def _parse_page(lines: list[tuple[int, str | None]]) -> _Page:
    page = _Page()
    # 1. drop boilerplate and date lines, group the rest into blocks (runs of non-blank lines)
    blocks: list[list[tuple[int, str, str | None]]] = [[]]
    current_date: str | None = None
    for lineno, raw in lines:
        text = collapse_ws(raw) if raw is not None else ""
        if not text or raw is None:
            blocks.append([])
            continue
        if _SITE_TEXT.fullmatch(text) or _NOISE.fullmatch(text):
            page.markers += bool(_SITE_TEXT.fullmatch(text))
            blocks.append([])
            continue
        if _is_page_date(text):
            page.markers += 1
            current_date = text
            blocks.append([])
            continue
        glued = _GLUED_BOILERPLATE.match(text)
        if glued:
            page.markers += 1
            text = text[glued.end():].strip()
        blocks[-1].append((lineno, text, current_date))

    # 2. blocks -> units. A block without any long line is one hard-wrapped title or abstract;
    #    a block mixing short and long lines is the one-line-each layout: one unit per line.
    for block in blocks:
        if not block:
            continue
        if len(block) > 1 and not any(_looks_like_abstract(t) for _, t, _ in block):
            lineno, _, date = block[0]
            page.units.append(_Unit(" ".join(t for _, t, _ in block), lineno, date))
        else:
            page.units.extend(_Unit(t, n, d) for n, t, d in block)

    # 3. units -> title/abstract pairs, by structure: a title, then its abstract
    title: list[_Unit] = []
    last: list | None = None  # [title, abstract parts, lineno, date] of the previous paper

    def finish(abstract: _Unit) -> None:
        nonlocal title, last
        last = [" ".join(u.text for u in title), [abstract.text], title[0].lineno, title[0].date]
        page.papers.append(last)  # type: ignore[arg-type]
        title = []

    units = page.units
    for i, unit in enumerate(units):
        nxt = units[i + 1] if i + 1 < len(units) else None
        if not title:
            if not unit.abstract_like or _long_title(unit, nxt):
                title = [unit]
            elif last is not None:
                last[1].append(unit.text)  # a further paragraph / wrapped part of the abstract
                page.continued += 1
            else:
                page.errors.append((f"abstract without a title: {_clip(unit.text)}", unit.lineno))
            continue
        if unit.abstract_like:
            finish(unit)
        elif nxt is not None and nxt.abstract_like:
            # title, short line, abstract: a title wrapped over two lines, or a title with no abstract
            prev = title[-1].text
            if _TITLE_JOINERS.search(prev) or unit.text[:1].islower():
                title.append(unit)
            else:
                page.errors.append((f"title without an abstract: {_clip(prev)}", title[0].lineno))
                title = [unit]
        elif len(unit.text.split()) >= SHORT_ABSTRACT_WORDS:
            finish(unit)  # a short abstract between two titles
        else:
            page.errors.append((f"title without an abstract: {_clip(title[-1].text)}", title[0].lineno))
            title = [unit]
    if title:
        page.errors.append(
            (f"title without an abstract: {_clip(' '.join(u.text for u in title))}", title[0].lineno)
        )
    page.papers = [(t, " ".join(parts), n, d) for t, parts, n, d in page.papers]  # type: ignore[misc]
    return page


def _clip(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")
