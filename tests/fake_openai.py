"""A stdlib fake of an OpenAI-compatible chat server, for the LLM failure cases."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BEHAVIOURS = {
    "reply": "stream `reply` in small pieces, then [DONE]",
    "empty": "a well-formed stream with no text",
    "error500": "HTTP 500 with a JSON error body",
    "busy": "HTTP 429 with `Retry-After: retry_after`",
    "hang": "accept the request and send nothing, not even headers, for `stall` seconds",
    "stall_first": "send the headers, then nothing for `stall` seconds",
    "stall_mid": "send the first pieces, then nothing for `stall` seconds",
    "keepalive": "send only SSE keep-alive comments (': ping') for `stall` seconds",
    "close_mid": "send the first pieces, then drop the connection mid-body",
    "malformed": "send the first pieces, then a data line that is not JSON",
}
PIECE = 7  # characters per streamed piece
FIRST_PIECES = 3  # pieces sent before a mid-stream fault


def _chunk(model, content: str | None, finish: str | None = None) -> bytes:
    delta = {"content": content} if content is not None else {}
    event = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": model,
             "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return f"data: {json.dumps(event)}\n\n".encode()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A client that gave up (closed its end) is expected here, not an error worth printing."""


class FakeOpenAI:
    """Answers /v1/chat/completions according to `self.behaviour` (one of BEHAVIOURS).

    Requests are recorded in `self.requests`; `self.condensed` answers condensing prompts. The
    body is sent with chunked transfer encoding, so a dropped connection is a protocol error (as
    with real servers), not a clean end of the reply.
    """

    def __init__(self) -> None:
        self.behaviour = "reply"
        self.reply = ""
        self.condensed = None
        self.stall = 30.0
        self.retry_after = 120
        self.requests: list[dict] = []
        self._stop = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: no ~40 ms delayed-ACK wait

            def log_message(self, *args):  # quiet
                pass

            def send_bytes(self, data: bytes) -> None:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()

            def error(self, status: int, headers: dict) -> None:
                body = b'{"error": {"message": "boom"}}'
                self.send_response(status)
                for k, v in {"Content-Type": "application/json", "Content-Length": str(len(body)), **headers}.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                fake.requests.append(body)
                prompt = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
                text = fake.condensed if (fake.condensed and "Standalone question:" in prompt) else fake.reply
                mode, model = fake.behaviour, body.get("model")
                if mode == "hang":
                    fake._stop.wait(fake.stall)
                    self.close_connection = True
                    return
                if mode == "error500":
                    return self.error(500, {})
                if mode == "busy":
                    return self.error(429, {"Retry-After": str(fake.retry_after)})
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                self.wfile.flush()
                pieces = [] if mode == "empty" else [text[i : i + PIECE] for i in range(0, len(text), PIECE)]
                if mode in ("stall_mid", "close_mid", "malformed"):
                    pieces = pieces[:FIRST_PIECES]
                if mode == "stall_first":
                    fake._stop.wait(fake.stall)
                if mode == "keepalive":
                    until = time.monotonic() + fake.stall
                    while time.monotonic() < until and not fake._stop.wait(0.2):
                        self.send_bytes(b": ping\n\n")
                    pieces = []
                for piece in pieces:
                    self.send_bytes(_chunk(model, piece))
                if mode == "stall_mid":
                    fake._stop.wait(fake.stall)
                if mode == "close_mid":
                    self.wfile.write(b"40\r\ndata: {\"trunc")  # half a chunk, then the connection drops
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if mode == "malformed":
                    self.send_bytes(b"data: {this is not json\n\n")
                self.send_bytes(_chunk(model, None, "stop") + b"data: [DONE]\n\n")
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        self.server = _Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
