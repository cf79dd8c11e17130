"""Serving the chat page: where it listens, the login it requires, and login throttling.

The page refuses to listen beyond localhost without a login. With a login, `LoginThrottle` (an
ASGI middleware in front of gradio's `/login` route) slows down password guessing per client
address: after `login_max_failures` wrong logins the address is locked out (HTTP 429, the password
is not even checked) for `login_lockout_seconds`, doubling with each further failure; a right
login resets it. gradio's `auth=` callable gets only (user, password), so the address has to be
taken from the request before gradio sees it. It is the TCP peer's (forwarded-for headers can be
forged): behind a reverse proxy every visitor shares the proxy's address, so a guesser locks
everyone out for the window rather than getting more guesses.
"""

from __future__ import annotations

import errno
import ipaddress
import json
import logging
import os
import socket
import sys
import threading
import time
import traceback
from pathlib import Path

from ingest.settings import Settings

from .render import describe_mode

log = logging.getLogger("askpapers.web")

DEFAULT_HOST = Settings.model_fields["host"].default
DEFAULT_PORT = Settings.model_fields["port"].default
MAX_LOCKOUT_SECONDS = 15 * 60  # doubling stops here: a locked-out user still gets in the same day
LOGIN_PATHS = ("/login", "/login/")  # gradio's login route (routes.py `login`)
STATIC = Path(__file__).resolve().parent / "static"


class WebError(Exception):
    """The page cannot be served as asked (e.g. a public address without a login)."""


class PortInUse(WebError):
    """The port asked for is taken by another program (a user's choice to change: exit 2)."""


# --------------------------------------------------------------------------- binding

def is_local(host: str) -> bool:
    host = (host or "").strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_auth(auth: str | None) -> tuple[str, str] | None:
    """'user:password' → (user, password); None/'' → None. Anything else is a WebError."""
    if not auth:
        return None
    user, sep, password = str(auth).partition(":")
    if not sep or not user or not password:
        raise WebError("--auth must be user:password (both non-empty)")
    return user, password


def check_binding(host: str, auth: str | None) -> tuple[str, str] | None:
    """The login to require; refuses a non-local address without one."""
    creds = parse_auth(auth)
    if not is_local(host) and creds is None:
        raise WebError(
            f"refusing to serve on {host}: that makes the page reachable from other machines. "
            "Pass --auth user:password (or set ASKPAPERS_AUTH) to require a login, "
            f"or bind to {DEFAULT_HOST}."
        )
    return creds


def check_port(host: str, port: int | None) -> None:
    """Refuse, in one line, a port another program listens on (before the slow start; gradio's own
    error names its environment variables and `launch()`). Port 0 or None: any free port."""
    if not port:
        return
    family = socket.AF_INET6 if ":" in (host or "") else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: a closed port's TIME_WAIT is free
        try:
            s.bind((host.strip("[]"), port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortInUse(f"port {port} is in use; pick another with --port") from None
            raise WebError(f"cannot listen on {host} port {port}: {exc.strerror or exc}") from None


# --------------------------------------------------------------------------- refused requests

class _RefusalsInOneLine:
    """Stands in for the `traceback` module inside gradio's request handling: a request that
    gradio's input validation refuses (a bare path where a file upload belongs: pydantic's
    ValidationError; a file type the component does not take: `gradio.Error`) is the client's
    mistake, correctly refused, and gets one log line; any other failure keeps its traceback."""

    def __getattr__(self, name: str):
        return getattr(traceback, name)

    def print_exc(self, *args, **kwargs) -> None:
        exc = sys.exc_info()[1]
        if _refused_input(exc):
            first = (str(exc).strip().splitlines() or [""])
            log.warning("request refused: %s", " ".join(line.strip() for line in first[:3])[:300])
            return
        traceback.print_exc(*args, **kwargs)


def _refused_input(exc: BaseException | None) -> bool:
    from gradio.exceptions import Error
    from pydantic import ValidationError

    return isinstance(exc, (ValidationError, Error))


def quiet_refusals() -> None:
    """Install `_RefusalsInOneLine` in gradio's queue and routes (idempotent)."""
    import gradio.queueing
    import gradio.routes

    for module in (gradio.queueing, gradio.routes):
        if getattr(module, "traceback", None) is traceback:
            module.traceback = _RefusalsInOneLine()


# --------------------------------------------------------------------------- login throttling

class FailureWindow:
    """Wrong-login counts per client address, and until when each address is locked out."""

    def __init__(self, max_failures: int, lockout_seconds: float, clock=time.monotonic) -> None:
        self.max_failures = max_failures
        self.lockout_seconds = lockout_seconds
        self.clock = clock
        self._failures: dict[str, int] = {}
        self._locked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def retry_after(self, client: str) -> float:
        """Seconds this client must wait before its next try (0: it may try now)."""
        with self._lock:
            return max(0.0, self._locked_until.get(client, 0.0) - self.clock())

    def begin(self, client: str) -> float:
        """Count an attempt before its password is checked (so parallel guesses count too).

        Returns the seconds to wait when the client is locked out (the attempt is then not counted).
        """
        with self._lock:
            wait = self._locked_until.get(client, 0.0) - self.clock()
            if wait > 0:
                return wait
            n = self._failures.get(client, 0) + 1
            self._failures[client] = n
            if n >= self.max_failures:
                extra = min(n - self.max_failures, 30)
                self._locked_until[client] = self.clock() + min(self.lockout_seconds * 2 ** extra,
                                                                MAX_LOCKOUT_SECONDS)
            self._prune()
            return 0.0

    def succeeded(self, client: str) -> None:
        """A right login: forget the client's failures."""
        with self._lock:
            self._failures.pop(client, None)
            self._locked_until.pop(client, None)

    def _prune(self, keep: int = 10_000) -> None:
        if len(self._failures) <= keep:
            return
        now = self.clock()
        for client in [c for c in self._failures if self._locked_until.get(c, 0.0) < now]:
            self._failures.pop(client, None)
            self._locked_until.pop(client, None)


class LoginThrottle:
    """ASGI middleware: 429 for a locked-out client's logins; counts the others' failures."""

    def __init__(self, app, window: FailureWindow) -> None:
        self.app = app
        self.window = window

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path") not in LOGIN_PATHS:
            return await self.app(scope, receive, send)
        client = (scope.get("client") or ("unknown", 0))[0]  # the TCP peer: headers can be forged
        wait = self.window.begin(client)
        if wait > 0:
            return await _too_many(send, wait)
        status: list[int] = []

        async def watch(message):
            if message["type"] == "http.response.start":
                status.append(message["status"])
            await send(message)

        await self.app(scope, receive, watch)
        if status and 200 <= status[0] < 300:
            self.window.succeeded(client)


async def _too_many(send, wait: float) -> None:
    seconds = int(wait) + 1
    body = json.dumps({"detail": f"Too many wrong logins from this address; try again in {seconds} s."}).encode()
    await send({"type": "http.response.start", "status": 429,
                "headers": [(b"content-type", b"application/json"), (b"retry-after", str(seconds).encode()),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


# --------------------------------------------------------------------------- launching

def launch_kwargs(settings) -> dict:
    """gradio `launch()` options: theme, our CSS and JS, the upload size limit, no error details."""
    import gradio as gr

    return dict(
        theme=gr.themes.Default(primary_hue="indigo", neutral_hue="slate"),
        css=(STATIC / "page.css").read_text(encoding="utf-8"),
        head=f"<script>\n{(STATIC / 'page.js').read_text(encoding='utf-8')}</script>\n",
        max_file_size=f"{settings.upload_max_mb}mb",
        show_error=False,
        footer_links=["api"],
    )


def throttle_middleware(settings) -> list:
    """The login throttle as a FastAPI `middleware=` entry (passed through launch's `app_kwargs`)."""
    from starlette.middleware import Middleware

    window = FailureWindow(settings.login_max_failures, settings.login_lockout_seconds)
    return [Middleware(LoginThrottle, window=window)]


def serve(assistant, host: str | None = None, port: int | None = None, auth: str | None = None,
          block: bool = True, quiet: bool = False):
    """Serve the chat page. Returns the Blocks (running in the background) when `block` is False.

    host, port and auth default to the settings (`host`, `port`, `auth`).
    """
    from .page import build_app

    settings = assistant.settings
    host = host or settings.host
    port = settings.port if port is None else port
    creds = check_binding(host, auth if auth is not None else settings.auth)
    check_port(host, port)
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    warm = threading.Thread(target=_warm_up, args=(assistant,), daemon=True)
    warm.start()  # open the index and load the model while gradio imports
    demo = build_app(assistant)
    warm.join()
    quiet_refusals()
    try:
        demo.launch(server_name=host, server_port=port or None, auth=creds, prevent_thread_lock=True, quiet=True,
                    inbrowser=False, share=False, ssr_mode=False,
                    app_kwargs={"middleware": throttle_middleware(settings)}, **launch_kwargs(settings))
    except OSError as exc:
        if port and "empty port" in str(exc):  # taken since `check_port` looked
            raise PortInUse(f"port {port} is in use; pick another with --port") from None
        raise
    if not quiet:
        _announce(demo, host, creds, settings)
    if not block:
        return demo
    try:
        while demo.is_running:
            time.sleep(0.2)
    except KeyboardInterrupt:
        print("stopping", flush=True)
    finally:
        demo.close()
    return demo


def _announce(demo, host: str, creds, settings) -> None:
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    where = f"http://{'[' + shown + ']' if ':' in shown else shown}:{demo.server_port}"
    print(f"askpapers chat on {where} (answers: {describe_mode(settings)})", flush=True)
    if not is_local(host):
        print(f"listening on {host}: reachable from other machines; login required (user {creds[0]!r})",
              flush=True)
    print("Ctrl-C stops it.", flush=True)


def _warm_up(assistant) -> None:
    """Open the index and load the models before the first visitor asks (no LLM call)."""
    s = assistant.settings
    try:
        if s.llm_base_url or s.llm_gguf:
            assistant.search("What is attention in transformers?", k=1)
        else:
            assistant.ask("What is attention in transformers?")  # also loads the evidence scorer
    except Exception as exc:  # the page reports problems per question
        log.warning("warm-up failed: %s", exc)
