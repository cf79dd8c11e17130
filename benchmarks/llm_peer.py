"""The systems `benchmarks/answers.py` compares, each answering one question at a time and saying
how long the first token and the whole answer took and how many prompt tokens it sent.

* `AskpapersSystem`: askpapers' `Assistant`, offline or with an LLM (through a `ChatClient` that
  counts the prompt tokens it sends).
* `CitationEnginePeer`: a plain llama-index `CitationQueryEngine` over the same papers: the same
  LLM through llama-index's `OpenAILike`, the same embedding model (askpapers' bundled MiniLM
  through `ingest.embedding.as_llama_index`), top 5, each paper one document (title and abstract).

Both return askpapers `Answer`s, so the offline eval's scorer (`evaluate_answers`) scores them
alike. Prompt tokens are counted with one tokenizer for both (tiktoken cl100k, offline), so the
counts compare even though the served model tokenizes differently.
"""

from __future__ import annotations

import hashlib
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistant.answers import Answer, Citation
from assistant.generative import count_tokens, is_refusal
from assistant.llm import ChatClient

TOP_K = 5
MAX_REPLY_TOKENS = 300  # as askpapers' GenerativeAnswerer (generative.MAX_REPLY_TOKENS)
PEER_TIMEOUT = 900.0  # seconds for one peer reply (a slow local model reads a long prompt)
# "[2]", "[1, 3]", and the "[Source 2]" / "[Sources 1 and 3]" small models write after llama-index's
# "Source n:" headings (a bare "Source 1: <pasted abstract>" heading is not a citation)
_MARKER = re.compile(r"\[((?:sources?\s*)?\d+(?:\s*(?:,|and)\s*(?:source\s*)?\d+)*)\]", re.IGNORECASE)


@dataclass
class Timed:
    """One answer and what it cost: seconds to the first text, in all, and prompt tokens sent."""

    answer: Answer
    first_token: float
    total: float
    prompt_tokens: int | None
    sources: list[str] = field(default_factory=list)  # titles of the numbered sources ([1] first)


def message_tokens(messages) -> int:
    """Prompt tokens of chat messages (dicts or llama-index ChatMessages), cl100k."""
    total = 0
    for m in messages:
        content = m.get("content") if isinstance(m, dict) else m.content
        total += count_tokens(content or "")
    return total


class CountingClient(ChatClient):
    """A `ChatClient` that adds up the prompt tokens of every request it sends."""

    prompt_tokens = 0

    def stream(self, messages, *args, **kwargs):
        self.prompt_tokens += message_tokens(messages)
        return super().stream(messages, *args, **kwargs)


def timed_stream(pieces) -> tuple[Answer, float, float]:
    """Drain an answer stream (text pieces, then the Answer): (answer, first text s, total s)."""
    started = time.perf_counter()
    first, answer = None, None
    for item in pieces:
        if isinstance(item, Answer):
            answer = item
        elif item and first is None:
            first = time.perf_counter() - started
    total = time.perf_counter() - started
    return answer, total if first is None else first, total


class AskpapersSystem:
    """askpapers as a user runs it: `Assistant.stream`, offline or with `client`'s LLM."""

    def __init__(self, name: str, settings, client: CountingClient | None = None) -> None:
        from assistant import Assistant

        self.name = name
        self.client = client
        offline = Assistant(settings=settings.model_copy(update={"llm_base_url": None, "llm_gguf": None}))
        if client is None:
            self.assistant = offline
        else:  # the answerer Assistant.answerer would build, around the counting client
            from assistant.extractive import ExtractiveAnswerer
            from assistant.generative import GenerativeAnswerer

            scorer = offline.scorer
            answerer = GenerativeAnswerer(client, scorer, ExtractiveAnswerer(scorer), settings.llm_prompt_tokens)
            self.assistant = Assistant(settings=settings, answerer=answerer)

    def ask(self, question: str, history=None) -> Timed:
        before = self.client.prompt_tokens if self.client else 0
        answer, first, total = timed_stream(self.assistant.stream(question, history=history))
        tokens = self.client.prompt_tokens - before if self.client else None
        return Timed(answer, first, total, tokens, [h.title for h in answer.papers])


# ---------------------------------------------------------------- the llama-index peer
def paper_nodes(assistant, cache_dir: Path):
    """Every paper of `assistant`'s index as one llama-index node (title and abstract), with its
    MiniLM embedding; the embeddings are cached per index generation (5,000 abstracts take
    minutes on two cores)."""
    from llama_index.core.schema import MetadataMode, TextNode

    from ingest.embedding import embedding_model

    papers = [p for p in assistant.index.side.papers() if p.get("abstract") or p.get("title")]
    nodes = [TextNode(text=f"{p.get('title', '')}\n{p.get('abstract', '')}".strip(), id_=p["paper_id"],
                      metadata={"title": p.get("title", ""), "paper_id": p["paper_id"]},
                      excluded_embed_metadata_keys=["title", "paper_id"],
                      excluded_llm_metadata_keys=["title", "paper_id"]) for p in papers]
    key = hashlib.sha256("\n".join(n.id_ for n in nodes).encode()).hexdigest()[:16]
    path = cache_dir / f"peer-vectors-{assistant.index.generation}-{key}.npy"
    if path.exists():
        vectors = np.load(path)
    else:
        print(f"peer: embedding {len(nodes)} papers for llama-index (cached in {path}) ...", file=sys.stderr)
        encoder = embedding_model(assistant.settings)
        vectors = encoder.embed([n.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes])
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
    for node, vector in zip(nodes, vectors):
        node.embedding = vector.tolist()
    return nodes


class _PromptCounter:
    """A llama-index instrumentation handler adding up the prompt tokens of LLM calls."""

    def __init__(self) -> None:
        from llama_index.core.instrumentation.event_handlers import BaseEventHandler
        from llama_index.core.instrumentation.events.llm import LLMChatStartEvent, LLMCompletionStartEvent

        counter = self

        class Handler(BaseEventHandler):
            @classmethod
            def class_name(cls) -> str:
                return "AskpapersPromptCounter"

            def handle(self, event, **kwargs) -> None:
                if isinstance(event, LLMChatStartEvent):
                    counter.tokens += message_tokens(event.messages)
                elif isinstance(event, LLMCompletionStartEvent):
                    counter.tokens += count_tokens(event.prompt)

        self.tokens = 0
        self.handler = Handler()


class CitationEnginePeer:
    """A plain llama-index `CitationQueryEngine` (streaming) over the papers of `assistant`'s index."""

    def __init__(self, name: str, assistant, base_url: str, model: str, api_key: str | None, cache_dir: Path,
                 context_window: int = 8192) -> None:
        from llama_index.core import VectorStoreIndex
        from llama_index.core.instrumentation import get_dispatcher
        from llama_index.core.query_engine import CitationQueryEngine
        from llama_index.llms.openai_like import OpenAILike

        from ingest.embedding import as_llama_index, embedding_model

        self.name = name
        embed = as_llama_index(embedding_model(assistant.settings))
        index = VectorStoreIndex(paper_nodes(assistant, cache_dir), embed_model=embed)
        llm = OpenAILike(model=model, api_base=base_url, api_key=api_key or "not-needed", is_chat_model=True,
                         context_window=context_window, max_tokens=MAX_REPLY_TOKENS, temperature=0.1,
                         timeout=PEER_TIMEOUT, max_retries=0)
        self.engine = CitationQueryEngine.from_args(index, llm=llm, similarity_top_k=TOP_K, streaming=True)
        self.counter = _PromptCounter()
        get_dispatcher().add_event_handler(self.counter.handler)

    def ask(self, question: str, history=None) -> Timed:
        """The engine's answer to `question` alone (it keeps no conversation)."""
        before = self.counter.tokens
        started = time.perf_counter()
        response = self.engine.query(question)  # retrieval; the LLM is called as the stream is read
        retrieval = time.perf_counter() - started

        def pieces():
            text = ""
            for token in response.response_gen:
                text += token
                yield token
            yield peer_answer(question, text, response.source_nodes, self.name)

        answer, first, total = timed_stream(pieces())
        answer.seconds = retrieval + total
        titles = [n.node.metadata.get("title", "") for n in response.source_nodes]
        return Timed(answer, retrieval + first, retrieval + total, self.counter.tokens - before, titles)


def peer_answer(question: str, text: str, sources, mode: str) -> Answer:
    """The peer's reply as an askpapers `Answer`: "[n]" cites `sources[n-1]`'s paper (numbers
    outside the sources are ignored); a reply in refusal words is a refusal."""
    text = text.strip()
    cited = {}
    for group in _MARKER.findall(text):
        for n in (int(x) for x in re.findall(r"\d+", group)):
            if 1 <= n <= len(sources) and n not in cited:
                node = sources[n - 1].node
                cited[n] = Citation(number=n, paper_id=node.metadata.get("paper_id", ""),
                                    title=node.metadata.get("title", ""), url=None, quote="", score=0.0)
    refused = not text or is_refusal(text)
    return Answer(question, text, citations=[] if refused else list(cited.values()), refused=refused, mode=mode,
                  draft=text)
