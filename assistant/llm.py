"""OpenAI-compatible chat endpoints (OpenAI, Ollama, vLLM, llama.cpp, LM Studio...) and a local
llama.cpp server run in-process with xllamacpp (`pip install askpapers[local]`).

Every call is bounded by four limits (`Limits`): connecting, the first token, the gap between
two tokens and the whole reply. The reply is read in a worker thread and the caller waits on a
queue, so the limits hold even when nothing arrives at all (a stalled server, or one that only
sends SSE keep-alive comments, which produce no event). Every failure of any kind surfaces as
one `LLMError` with a one-line reason and the seconds it took.
"""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

STATUS_EVERY = 2.0  # seconds between two status reports while waiting for the model
RETRY_STATUSES = {429, 500, 502, 503, 504}  # worth another try before the reply has started
RETRY_BACKOFF = 1.0  # seconds before a retry when the server does not say (Retry-After)


class LLMError(RuntimeError):
    """The LLM could not give an answer. `reason` says what happened, `elapsed` after how long."""

    def __init__(self, reason: str, elapsed: float = 0.0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.elapsed = elapsed


@dataclass(frozen=True)
class Limits:
    """Seconds allowed for connecting, the first token, the gap between tokens, the whole reply."""

    connect: float = 5.0
    first_token: float = 300.0
    gap: float = 60.0
    total: float = 600.0

    def capped(self, cap: float | None) -> Limits:
        """These limits, none above `cap` (the older single `llm_timeout`)."""
        if not cap:
            return self
        return Limits(*(min(v, cap) for v in (self.connect, self.first_token, self.gap, self.total)))

    @classmethod
    def from_settings(cls, settings) -> Limits:
        return cls(settings.llm_connect_timeout, settings.llm_first_token_timeout, settings.llm_token_gap_timeout,
                   settings.llm_total_timeout).capped(settings.llm_timeout)


class _Retry(Exception):
    """A failure before the first token that another attempt may fix, after `after` seconds."""

    def __init__(self, reason: str, after: float) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after = after


def describe(exc: BaseException, base_url: str) -> str:
    """One line saying what went wrong, for any exception the reading thread met."""
    import httpx
    import openai

    if isinstance(exc, openai.APIStatusError):
        return f"the server answered HTTP {exc.status_code}"
    if isinstance(exc, (openai.APITimeoutError, httpx.TimeoutException)):
        return "the server stopped sending (read timeout)"
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return "the connection closed in the middle of the reply"
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        if isinstance(cause, (httpx.RemoteProtocolError, httpx.ReadError)):
            return "the connection closed before the reply"
        return f"cannot reach the LLM server at {base_url}"
    if isinstance(exc, json.JSONDecodeError):
        return "a malformed line in the reply stream"
    if isinstance(exc, openai.APIError):
        return f"the server reported an error: {str(exc)[:120]}"
    return f"unexpected {type(exc).__name__}: {str(exc)[:120]}"


def retry_after(exc: BaseException) -> float | None:
    """Seconds the server asks to wait (Retry-After), None when it does not say."""
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class ChatClient:
    """A chat model at an OpenAI-compatible base URL."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, limits: Limits | float | None = None,
                 retries: int = 1) -> None:
        import httpx
        from openai import OpenAI

        self.base_url = base_url
        self.model = model
        self.limits = limits if isinstance(limits, Limits) else Limits().capped(limits)
        self.retries = retries
        # the watchdog in `stream` enforces the limits; httpx's own timeouts are the backstop that
        # eventually frees an abandoned reading thread
        timeout = httpx.Timeout(max(self.limits.first_token, self.limits.gap) + 1, connect=self.limits.connect)
        # the key must be non-empty even for local servers that ignore it; retries are ours (bounded)
        self._client = OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout, max_retries=0)

    def stream(self, messages: list[dict], max_tokens: int = 400, temperature: float = 0.1,
               on_status: Callable[[str], None] | None = None, waiting: str | None = None) -> Iterator[str]:
        """Yield the reply's text as it arrives. Raises LLMError on any failure or past a limit.

        `on_status` is called every few seconds while no token arrives: "<waiting> (12 s)", where
        `waiting` says what the model is doing (default "waiting for <model>"), then "<model> paused".
        A failure before the first token is retried (`retries` times) when the server says it is
        busy or unreachable, and only when the wait it asks for (Retry-After) fits the limits.
        """
        started = time.monotonic()
        waiting = waiting or f"waiting for {self.model}"
        self._status(on_status, f"{waiting} (0 s)")
        attempt = 0
        while True:
            try:
                yield from self._attempt(messages, max_tokens, temperature, started, on_status, waiting)
                return
            except _Retry as retry:
                attempt += 1
                self._before_retry(retry, attempt, started, on_status)

    def _before_retry(self, retry: _Retry, attempt: int, started: float, on_status) -> None:
        """Wait out `retry.after` (reporting status), or raise LLMError when no retry is left or it
        would not fit the first-token and total limits."""
        elapsed = time.monotonic() - started
        if attempt > self.retries:
            raise LLMError(retry.reason, elapsed)
        limit = min(self.limits.first_token, self.limits.total)
        if elapsed + retry.after >= limit:
            raise LLMError(f"{retry.reason}, retry asked in {retry.after:g} s (over the {limit:g} s limit)", elapsed)
        until = time.monotonic() + retry.after
        while (left := until - time.monotonic()) > 0:
            self._status(on_status, f"{self.model} is busy ({retry.reason}): retrying in {left:.0f} s")
            time.sleep(min(STATUS_EVERY, left))

    def _attempt(self, messages, max_tokens, temperature, started: float, on_status, waiting: str) -> Iterator[str]:
        """One request, read by a worker thread; this thread waits on its queue with the limits."""
        events: queue.Queue = queue.Queue()
        cancelled = threading.Event()
        holder: dict = {}
        args = (messages, max_tokens, temperature, events, cancelled, holder)
        worker = threading.Thread(target=self._read, args=args, name=f"llm-reply-{self.model}", daemon=True)
        worker.start()
        got_any, last = False, None
        try:
            while True:
                now = time.monotonic()
                deadline, reason = self._deadline(started, last)
                if now >= deadline:
                    raise LLMError(reason, now - started)
                try:
                    kind, value = events.get(timeout=min(STATUS_EVERY, deadline - now))
                except queue.Empty:
                    waited = time.monotonic() - (last or started)
                    what = waiting if last is None else f"{self.model} paused"
                    self._status(on_status, f"{what} ({waited:.0f} s)")
                    continue
                if kind == "token":
                    got_any, last = True, time.monotonic()
                    yield value
                elif kind == "end":
                    if not got_any:
                        raise LLMError("an empty reply", time.monotonic() - started)
                    return
                else:
                    self._fail(value, got_any, started)
        finally:
            cancelled.set()
            self._close(holder)

    def _deadline(self, started: float, last: float | None) -> tuple[float, str]:
        """The next limit to expire and what it means: first token, or gap, and the total."""
        total = (started + self.limits.total, f"no complete reply within {self.limits.total:g} s")
        if last is None:
            step = (started + self.limits.first_token, f"no first token within {self.limits.first_token:g} s")
        else:
            step = (last + self.limits.gap, f"stopped writing (no token for {self.limits.gap:g} s)")
        return step if step[0] <= total[0] else total

    def _fail(self, exc: BaseException, got_any: bool, started: float) -> None:
        """Raise for what the worker met: a `_Retry` when another attempt may help, else LLMError."""
        import openai

        reason = describe(exc, self.base_url)
        if not got_any:
            if isinstance(exc, openai.APIStatusError) and exc.status_code in RETRY_STATUSES:
                after = retry_after(exc)
                raise _Retry(reason, RETRY_BACKOFF if after is None else after)
            if isinstance(exc, openai.APIConnectionError) and not isinstance(exc, openai.APITimeoutError):
                raise _Retry(reason, RETRY_BACKOFF)
        raise LLMError(reason, time.monotonic() - started)

    def _read(self, messages, max_tokens, temperature, events: queue.Queue, cancelled: threading.Event,
              holder: dict) -> None:
        """Worker thread: put ("token", text) for each piece, then ("end", None) or ("error", exc)."""
        try:
            stream = self._client.chat.completions.create(model=self.model, messages=messages, stream=True,
                                                          max_tokens=max_tokens, temperature=temperature)
            holder["stream"] = stream
            for event in stream:
                if cancelled.is_set():
                    break
                delta = (event.choices[0].delta.content or "") if event.choices else ""
                if delta:
                    events.put(("token", delta))
            events.put(("end", None))
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread, which decides
            events.put(("error", exc))
        finally:
            if cancelled.is_set():
                self._close(holder)

    @staticmethod
    def _close(holder: dict) -> None:
        """Close an abandoned reply so the server stops generating (the worker then ends)."""
        stream = holder.pop("stream", None)
        if stream is not None:
            try:
                stream.close()
            except Exception:  # noqa: BLE001, S110 - closing a broken connection may fail; nothing to do
                pass

    def _status(self, on_status, message: str) -> None:
        if on_status is not None:
            try:
                on_status(message)
            except Exception:  # noqa: BLE001, S110 - a broken status display must not lose the answer
                pass

    def complete(self, messages: list[dict], max_tokens: int = 200) -> str:
        return "".join(self.stream(messages, max_tokens=max_tokens)).strip()


# ---------------------------------------------------------------- local llama.cpp
_local_lock = threading.Lock()
_local_servers: dict[str, LocalServer] = {}


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
    """The configured chat model, or None for the offline extractive mode.

    Any failure to build the client (a malformed URL such as "http://[::1", a GGUF that will
    not load) is an `LLMError`, so the caller answers offline with one warning.
    """
    try:
        return _client_from_settings(settings)
    except LLMError:
        raise
    except Exception as exc:  # noqa: BLE001 - httpx/openai/llama.cpp raise many kinds here
        where = settings.llm_gguf or settings.llm_base_url
        first = (str(exc).strip().splitlines() or [""])[0][:200]
        raise LLMError(f"cannot use the LLM at {where} ({type(exc).__name__}{': ' + first if first else ''})") \
            from exc


def _client_from_settings(settings) -> ChatClient | None:
    if settings.llm_gguf:
        server = local_server(settings.llm_gguf)
        return ChatClient(server.base_url, settings.llm_model or server.model, "local",
                          Limits.from_settings(settings), settings.llm_retries)
    if settings.llm_base_url:
        if not settings.llm_model:
            raise LLMError("ASKPAPERS_LLM_BASE_URL is set but ASKPAPERS_LLM_MODEL is not")
        return ChatClient(settings.llm_base_url, settings.llm_model, settings.llm_api_key,
                          Limits.from_settings(settings), settings.llm_retries)
    return None
