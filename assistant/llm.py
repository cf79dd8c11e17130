"""OpenAI-compatible chat endpoints (OpenAI, Ollama, vLLM, llama.cpp, LM Studio...) and a local
llama.cpp server run in-process with xllamacpp (`pip install askpapers[local]`).

Calls are bounded: a per-request timeout, a fixed number of retries, and an overall deadline
on streams, so a dead or stuck server costs seconds, never a hang.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from typing import Iterator


class LLMError(RuntimeError):
    """The LLM could not give an answer (unreachable, error status, timeout, empty reply)."""


class ChatClient:
    """A chat model at an OpenAI-compatible base URL."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, timeout: float = 30.0,
                 retries: int = 1) -> None:
        from openai import OpenAI

        self.base_url = base_url
        self.model = model
        self.timeout = timeout
        # the key must be non-empty even for local servers that ignore it
        self._client = OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout,
                              max_retries=retries)

    def stream(self, messages: list[dict], max_tokens: int = 400, temperature: float = 0.1) -> Iterator[str]:
        """Yield the reply's text as it arrives. Raises LLMError on failure or past the deadline."""
        import openai

        deadline = time.monotonic() + self.timeout
        got_any = False
        try:
            stream = self._client.chat.completions.create(model=self.model, messages=messages, stream=True,
                                                          max_tokens=max_tokens, temperature=temperature)
            for event in stream:
                if time.monotonic() > deadline:
                    stream.close()
                    raise LLMError(f"no complete reply within {self.timeout:g} s")
                if not event.choices:
                    continue
                delta = event.choices[0].delta.content or ""
                if delta:
                    got_any = True
                    yield delta
        except openai.APIStatusError as exc:
            raise LLMError(f"the LLM server answered HTTP {exc.status_code}") from None
        except openai.APITimeoutError:
            raise LLMError(f"the LLM server did not answer within {self.timeout:g} s") from None
        except openai.APIConnectionError:
            raise LLMError(f"cannot reach the LLM server at {self.base_url}") from None
        except openai.OpenAIError as exc:
            raise LLMError(f"LLM error: {exc}") from None
        if not got_any:
            raise LLMError("the LLM returned an empty reply")

    def complete(self, messages: list[dict], max_tokens: int = 200) -> str:
        return "".join(self.stream(messages, max_tokens=max_tokens)).strip()


# ---------------------------------------------------------------- local llama.cpp
_local_lock = threading.Lock()
_local_servers: dict[str, "LocalServer"] = {}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """llama.cpp's OpenAI-compatible server inside this process, on 127.0.0.1."""

    def __init__(self, gguf: str | Path, port: int | None = None, n_ctx: int = 4096, threads: int | None = None):
        try:
            import xllamacpp
        except ImportError:
            raise LLMError("a local GGUF model needs the optional extra: pip install 'askpapers[local]'") from None
        path = Path(gguf).expanduser()
        if not path.is_file():
            raise LLMError(f"GGUF model not found: {path}")
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = n_ctx
        params.n_parallel = 1
        params.hostnames = ["127.0.0.1"]  # never reachable from other machines
        params.port = port or _free_port()
        params.warmup = False
        if threads:
            params.cpuparams.n_threads = threads
        self.path = path
        self._server = xllamacpp.Server(params)
        self.base_url = self._server.listening_address.rstrip("/") + "/v1"
        self.model = path.stem


def local_server(gguf: str | Path) -> LocalServer:
    """One in-process server per model file, started on first use."""
    key = str(Path(gguf).expanduser().resolve())
    with _local_lock:
        if key not in _local_servers:
            _local_servers[key] = LocalServer(key)
        return _local_servers[key]


def client_from_settings(settings) -> ChatClient | None:
    """The configured chat model, or None for the offline extractive mode."""
    if settings.llm_gguf:
        server = local_server(settings.llm_gguf)
        return ChatClient(server.base_url, settings.llm_model or server.model, "local", settings.llm_timeout,
                          settings.llm_retries)
    if settings.llm_base_url:
        if not settings.llm_model:
            raise LLMError("ASKPAPERS_LLM_BASE_URL is set but ASKPAPERS_LLM_MODEL is not")
        return ChatClient(settings.llm_base_url, settings.llm_model, settings.llm_api_key, settings.llm_timeout,
                          settings.llm_retries)
    return None
