"""The public API: `Assistant` and the module-level `search()` / `ask()` on the default index.

The chat page and the CLI are thin layers over these.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Callable

from ingest.filters import AskpapersInputError, SearchFilters

from .answers import Answer, Answerer
from .conversation import condense_offline, is_follow_up, points_back
from .called import named_paper
from .turns import Turn, to_turns
from .retrieval import Hit, HybridRetriever
from .settings import Settings, get_settings

FOCUS_PAPERS = 2  # a follow-up is about at most this many of the papers the last answer cited
MAX_K = 1000  # papers per call; more than any page or answerer shows, small enough to stay fast
ROLES = ("user", "assistant", "system")


class Assistant:
    """Question answering over an askpapers index.

    >>> from assistant import Assistant
    >>> a = Assistant(index_dir="~/papers-index")
    >>> for hit in a.search("hypernetwork embeddings for new tokens", k=3):
    ...     print(hit.title, hit.score)
    """

    def __init__(self, index_dir: str | Path | None = None, chroma_url: str | None = None,
                 settings: Settings | None = None, answerer: Answerer | None = None, **overrides) -> None:
        base = settings or get_settings()
        self._answerer = answerer  # None: chosen from the settings for each question (see `answerer`)
        self.settings = base.with_overrides(index_dir=index_dir, chroma_url=chroma_url, **overrides)
        self._index = None
        self._retriever = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> "Assistant":
        return cls(settings=settings)

    @property
    def index(self):
        """The opened PaperIndex (opened on first use, so construction is cheap)."""
        if self._index is None:
            with self._lock:
                if self._index is None:
                    from ingest.store import PaperIndex

                    self._index = PaperIndex(self.settings)
        return self._index

    @property
    def location(self) -> str:
        """Where the index is (its directory, or the server and collection), without opening it."""
        if self._index is not None:
            return self._index.location
        if self.settings.chroma_url:
            return f"{self.settings.chroma_url} (collection {self.settings.collection})"
        return str(self.settings.index_dir)

    def _missing(self) -> bool:
        """True while the embedded index directory does not exist: reading it creates nothing."""
        from ingest.store import index_missing

        return self._index is None and index_missing(self.settings)

    @property
    def retriever(self) -> HybridRetriever:
        if self._retriever is None:
            self._retriever = HybridRetriever(self.index)
        return self._retriever

    def search(self, query: str, k: int = 10, filters=None) -> list[Hit]:
        """Papers that best match `query`, best first, one `Hit` per paper (none for a blank query).

        `k` is an int from 1 to MAX_K (not a bool, float or numeric string). `filters` is a
        `SearchFilters` or a dict with any of `sources`, `categories` (lists), `date_from`,
        `date_to` (YYYY, YYYY-MM or YYYY-MM-DD). Bad arguments raise `AskpapersInputError`
        (a ValueError and a TypeError) before the index is opened.
        """
        query, k, filters = check_text("query", query, blank_ok=True), check_k(k), SearchFilters.coerce(filters)
        if self._missing():
            return []
        return self.retriever.search(query, k=k, filters=self.resolve_filters(filters))

    def resolve_filters(self, filters=None) -> SearchFilters | None:
        """`filters` checked, with each source as stored: a source may be named as `askpapers papers
        --source` takes it (a path, a file name, a label such as "daily page of Jul 4"; see
        `assistant.library.resolve_source`). A source the index does not hold raises
        `AskpapersInputError` (one line) instead of matching nothing."""
        filters = SearchFilters.coerce(filters)
        if not filters or not filters.sources or self._missing():
            return filters
        from dataclasses import replace

        from .library import resolve_sources

        return replace(filters, sources=resolve_sources(self.index, filters.sources))

    def is_empty(self) -> bool:
        """True when the index holds no papers yet (read fresh, so another process's ingest counts)."""
        if self._missing():
            return True
        self.index.refresh()
        return not len(self.index.side.table)

    @property
    def scorer(self):
        if getattr(self, "_scorer", None) is None or self._scorer.side is not self.index.side:
            from .evidence import EvidenceScorer

            self._scorer = EvidenceScorer(self.index.side, self.index.embed_model)
        return self._scorer

    def ask(self, question: str, history=None, k: int | None = None, filters=None,
            on_status: Callable[[str], None] | None = None):
        """Answer `question` from the indexed abstracts, citing each claim as [n].

        `question` is a non-empty string. `history` is the conversation so far, oldest first:
        `Turn`s (`Turn.from_answer(answer)` after each answer; they carry the cited paper ids, so
        a follow-up is answered from those papers), or {"role": "user" | "assistant" | "system",
        "content": str} messages from a plain client (Gradio's list-of-parts content works too).
        A question that names its own subject is answered as if asked alone
        (`conversation.is_follow_up`). `k` is the number of papers shown to the answerer: None
        for the configured `top_k`, else an int from 1 to MAX_K (not a bool, float or numeric
        string). `filters` as in `search`. Bad arguments raise `AskpapersInputError`.
        Returns an `Answer`; when the papers do not answer the question, `answer.refused` is True
        and the text says so and names the closest papers (or that the index is still empty).
        """
        answer = None
        for item in self.stream(question, history=history, k=k, filters=filters, on_status=on_status):
            answer = item
        return answer

    def stream(self, question: str, history=None, k: int | None = None, filters=None,
               on_status: Callable[[str], None] | None = None):
        """Like `ask`, but yields the answer's text as it is produced, then the final `Answer`.

        The arguments are checked when `stream` is called, before anything is yielded. The final
        `Answer` is authoritative: citation checking may remove parts of a streamed LLM reply,
        and when the LLM fails the offline answer replaces it (with a warning).
        """
        question = check_text("question", question)
        history = check_history(history)
        k = self.settings.top_k if k is None else check_k(k)
        return self._stream(question, history, k, SearchFilters.coerce(filters), on_status)

    def answerer(self, client=None) -> Answerer:
        """The answerer for this question: the injected one, else the LLM's when one is configured
        (it falls back to, and is refereed by, the offline answerer), else the offline one."""
        if self._answerer is not None:
            return self._answerer
        from .extractive import ExtractiveAnswerer

        offline = ExtractiveAnswerer(self.scorer)
        if client is None:
            return offline
        from .generative import GenerativeAnswerer

        return GenerativeAnswerer(client, self.scorer, offline, self.settings.llm_prompt_tokens)

    def _stream(self, question: str, history: list[dict], k: int, filters: SearchFilters | None,
                on_status: Callable[[str], None] | None = None):
        import time

        started = time.perf_counter()
        warnings: list[str] = []
        client = self._chat_client(warnings)
        turns = to_turns(history)
        previous = turns[-1] if turns and is_follow_up(question, turns[-1]) else None
        standalone = self._standalone(question, turns, client, warnings) if previous else question
        hits = self.search(standalone, k=k, filters=filters)
        if not hits and self.is_empty():
            text = empty_index_message(self.settings, self.location)
            yield text
            yield Answer(question=question, text=text, refused=True, seconds=time.perf_counter() - started)
            return
        focus = self._focus(question, previous, standalone)
        if focus:  # a follow-up is first about the papers the conversation is about
            ids = {h.paper_id for h in focus}
            hits = (focus + [h for h in hits if h.paper_id not in ids])[: max(len(hits), len(focus))]
        elif (called := named_paper(standalone, hits)):  # the question calls a paper by its name: it comes first
            hits = [hits[called]] + hits[:called] + hits[called + 1:]
        answer = None
        for item in self.answerer(client).stream(question, hits, context=standalone, focus=len(focus),
                                                 on_status=on_status):
            if isinstance(item, Answer):
                answer = item
            else:
                yield item
        answer.warnings = warnings + answer.warnings
        answer.standalone_question = standalone if standalone != question else None
        answer.seconds = time.perf_counter() - started
        yield answer

    def _chat_client(self, warnings: list[str]):
        """The configured LLM client, or None (offline). A broken configuration is a warning."""
        if not (self.settings.llm_base_url or self.settings.llm_gguf):
            return None
        if getattr(self, "_client", None) is None:
            from .llm import LLMError, client_from_settings

            try:
                self._client = client_from_settings(self.settings)
            except LLMError as exc:
                warnings.append(f"{exc}: answering offline")
                return None
        return self._client

    def _focus(self, question: str, previous: Turn | None, standalone: str) -> list[Hit]:
        """The papers the last answer cited (at most two), fetched by id: what a follow-up is about.
        None after a refusal, or for "which other papers …?" (not about the same ones)."""
        from .questions import asks_for_several

        if previous is None or previous.refused or not previous.cited or asks_for_several(question):
            return []
        return self.retriever.hits_for(previous.cited[:FOCUS_PAPERS], standalone)

    def _standalone(self, question: str, turns: list[Turn], client, warnings: list[str]) -> str:
        """A follow-up as a standalone question: by the LLM when there is one, else offline."""
        if client is not None:
            from .generative import condense_messages
            from .llm import LLMError

            try:
                rewritten = client.complete(condense_messages(question, turns)).strip().splitlines()[0]
                if len(rewritten) > 8 and not points_back(rewritten):  # a rewrite still saying "they" is none
                    return rewritten
            except (LLMError, IndexError) as exc:
                warnings.append(f"could not rewrite the follow-up with the LLM ({exc}); used the offline method")
        return condense_offline(question, turns[-1])

    def search_conversation(self, question: str, history=None, k: int = 10, filters=None) -> list[Hit]:
        """Search for a question asked inside a conversation (follow-ups are made standalone first,
        by the LLM when one is configured, as `ask` does)."""
        question, turns = check_text("question", question, blank_ok=True), to_turns(check_history(history))
        if turns and is_follow_up(question, turns[-1]):
            question = self._standalone(question, turns, self._chat_client([]), [])
        return self.search(question, k=k, filters=filters)

    def ingest(self, paths, on_error=None, progress: bool | None = False):
        """Add files to this assistant's index; they are searchable as soon as this returns."""
        from ingest.pipeline import ingest

        return ingest(paths, index=self.index, on_error=on_error, progress=progress)

    def stats(self) -> dict:
        return self.index.stats()


_default: Assistant | None = None
_default_lock = threading.Lock()


def default_assistant() -> Assistant:
    global _default
    with _default_lock:
        if _default is None:
            _default = Assistant()
        return _default


def ask(question: str, history=None, k: int | None = None, filters=None):
    """`Assistant().ask(...)` on the default index."""
    return default_assistant().ask(question, history=history, k=k, filters=filters)


def search(query: str, k: int = 10, filters=None) -> list[Hit]:
    """`Assistant().search(...)` on the default index (ASKPAPERS_INDEX_DIR / ASKPAPERS_CHROMA_URL)."""
    return default_assistant().search(query, k=k, filters=filters)


# ------------------------------------------------------------------ argument checks
def check_text(name: str, value, blank_ok: bool = False) -> str:
    """`value` stripped, if it is a string (and not blank unless `blank_ok`)."""
    if not isinstance(value, str):
        raise AskpapersInputError(f"{name}: expected a string, got {type(value).__name__} {value!r:.60}")
    if not blank_ok and not value.strip():
        raise AskpapersInputError(f"{name}: must not be empty")
    return value.strip()


def check_k(value) -> int:
    """A number of papers: an int (numpy ints too) from 1 to MAX_K. "5", 2.5, 5.0 and True are
    refused rather than guessed at: the CLI and the page parse their own text into ints."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise AskpapersInputError(f"k: expected an int from 1 to {MAX_K}, got {type(value).__name__} {value!r:.60}")
    if not 1 <= value <= MAX_K:
        raise AskpapersInputError(f"k: {value} is out of range (1 to {MAX_K})")
    return int(value)


def check_history(value) -> list:
    """A conversation: None or a list (or tuple), oldest first, of `Turn`s, turn dicts (with a
    "question" key, as `Turn.to_dict()` gives) or chat messages.

    A chat message is a {"role", "content"} dict: `role` is "user", "assistant" or "system";
    `content` a string or a list of parts (strings or {"type": "text", "text": ...} dicts, as
    Gradio sends). Other keys are ignored."""
    if value is None:
        return []
    if not isinstance(value, (list, tuple)):
        raise AskpapersInputError(f"history: expected a list of messages, got {type(value).__name__} {value!r:.60}")
    for i, message in enumerate(value):
        if isinstance(message, Turn):
            continue
        if not isinstance(message, dict):
            raise AskpapersInputError(f"history[{i}]: expected a {{'role', 'content'}} dict, got {message!r:.60}")
        if "question" in message and "role" not in message:
            if not isinstance(message["question"], str) or not isinstance(message.get("cited", []), list):
                raise AskpapersInputError(f"history[{i}]: a turn needs a string question and a list of cited ids")
            continue
        if message.get("role") not in ROLES:
            role = message.get("role")
            raise AskpapersInputError(f"history[{i}]: role {role!r:.40} is not one of {', '.join(ROLES)}")
        content = message.get("content")
        parts = content if isinstance(content, (list, tuple)) else [content]
        if content is not None and not all(isinstance(p, (str, dict)) for p in parts):
            raise AskpapersInputError(f"history[{i}]: content must be a string or a list of parts, got {content!r:.60}")
    return list(value)


def empty_index_message(settings: Settings, location: str) -> str:
    """What to say when the index has no papers: where it is, and the command that fills it."""
    flags = ""
    if settings.chroma_url:
        flags = f" --chroma-url {settings.chroma_url} --collection {settings.collection}"
    elif Path(settings.index_dir) != type(settings).model_fields["index_dir"].get_default(call_default_factory=True):
        flags = f" --index-dir {settings.index_dir}"
    return f"No papers in the index at {location} yet: run `askpapers ingest PATH{flags}`"
