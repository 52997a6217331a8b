"""A scripted OpenAI-compatible server for tests, e2e and benchmarks.

``ScriptedLLM`` serves ``/v1/chat/completions`` and ``/v1/models`` on 127.0.0.1 (a free port)
from a background thread, answering each completion request with the next queued
:class:`Reply`: real SSE framing in chunked, flushed writes, with CORS so a page on another
port can call it. Build replies with :func:`text`, :func:`tool_calls`, :func:`status`,
:func:`html`, :func:`cut` and :func:`raw`::

    with ScriptedLLM() as server:
        server.queue(text("Hello", chunk_size=2), status(429, headers={"Retry-After": "2"}))
        ...  # point a client at server.url
        assert server.requests[0]["body"]["stream"] is True

Where the server cannot run (inside Pyodide), :class:`RemoteScriptedLLM` drives one that runs
elsewhere through its ``/_scripted/`` control endpoints, with the same API.
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "scripted-model"
STREAM_ID = "chatcmpl-scripted"


@dataclass
class Reply:
    """One scripted answer. With ``events`` it is an SSE stream of those ``data:`` payloads
    (``usage`` is added as a final chunk when the client asked for it, then ``[DONE]`` if
    ``done``); otherwise ``body`` is sent, in ``chunk_size`` pieces when set. ``delay`` waits
    before each piece; ``abrupt`` drops the connection instead of ending the body properly."""

    status: int = 200
    content_type: str = "text/event-stream"
    headers: dict[str, str] = field(default_factory=dict)
    events: list[str] = field(default_factory=list)
    usage: list[int] | None = None
    done: bool = True
    body: str = ""
    chunk_size: int = 0
    delay: float = 0.0
    abrupt: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reply:
        return cls(**data)


def _chunk(delta: dict[str, Any], finish_reason: str | None = None, model: str = MODEL) -> str:
    choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
    return json.dumps(
        {
            "id": STREAM_ID,
            "object": "chat.completion.chunk",
            "created": 0,
            "model": model,
            "choices": [choice],
        }
    )


def _pieces(content: str, size: int) -> list[str]:
    size = max(1, size)
    return [content[i : i + size] for i in range(0, len(content), size)]


def text(
    content: str,
    *,
    chunk_size: int = 4,
    usage: tuple[int, int] | None = (12, 5),
    model: str = MODEL,
    finish_reason: str = "stop",
    delay: float = 0.0,
) -> Reply:
    """An answer that streams ``content`` in pieces of ``chunk_size`` characters."""
    events = [_chunk({"role": "assistant", "content": ""}, model=model)]
    events += [_chunk({"content": piece}, model=model) for piece in _pieces(content, chunk_size)]
    events.append(_chunk({}, finish_reason, model=model))
    return Reply(events=events, usage=list(usage) if usage else None, delay=delay)


def tool_calls(
    calls: list[tuple[str, str]],
    *,
    content: str = "",
    chunk_size: int = 7,
    usage: tuple[int, int] | None = (20, 9),
    model: str = MODEL,
) -> Reply:
    """An answer that calls tools: ``(name, arguments JSON text)`` pairs. Several calls are
    parallel calls; their argument fragments interleave, as real endpoints send them."""
    events = [_chunk({"role": "assistant", "content": content or None}, model=model)]
    fragments = [_pieces(arguments, chunk_size) for _, arguments in calls]
    for index, (name, _) in enumerate(calls):
        call = {"index": index, "id": f"call_{index}_scripted", "type": "function"}
        events.append(_chunk({"tool_calls": [call | {"function": {"name": name}}]}, model=model))
    for round_ in range(max((len(parts) for parts in fragments), default=0)):
        for index, parts in enumerate(fragments):
            if round_ < len(parts):
                call = {"index": index, "function": {"arguments": parts[round_]}}
                events.append(_chunk({"tool_calls": [call]}, model=model))
    events.append(_chunk({}, "tool_calls", model=model))
    return Reply(events=events, usage=list(usage) if usage else None)


def status(
    code: int,
    body: str | None = None,
    *,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> Reply:
    """An HTTP error (or any status) with an OpenAI-style JSON error body by default."""
    if body is None:
        body = json.dumps({"error": {"message": f"scripted status {code}", "type": "scripted"}})
    return Reply(status=code, content_type=content_type, headers=dict(headers or {}), body=body)


def html(code: int = 200) -> Reply:
    """An HTML page, as a wrong base URL or a proxy's error page gives."""
    page = "<!doctype html><html><head><title>Welcome</title></head><body>Hi</body></html>"
    return Reply(status=code, content_type="text/html; charset=utf-8", body=page)


def cut(partial: str, *, chunk_size: int = 4, abrupt: bool = True, delay: float = 0.0) -> Reply:
    """Streams ``partial`` and stops without a finish reason or ``[DONE]``: by dropping the
    connection (``abrupt``), or by ending the body cleanly but too early. Give a ``delay`` when
    the client must see every piece before the drop: a browser discards the pieces it has
    buffered but not handed over when the connection breaks."""
    events = [_chunk({"role": "assistant", "content": ""})]
    events += [_chunk({"content": piece}) for piece in _pieces(partial, chunk_size)]
    return Reply(events=events, done=False, abrupt=abrupt, delay=delay)


def raw(
    body: str, *, content_type: str = "text/event-stream", chunk_size: int = 0, status: int = 200
) -> Reply:
    """Exactly ``body``, optionally in ``chunk_size``-byte pieces (framing edge cases)."""
    return Reply(status=status, content_type=content_type, body=body, chunk_size=chunk_size)


def _free_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


class _State:
    """What the server was told and what it saw; shared by handler threads under a lock."""

    def __init__(self, models: list[str], require_key: str | None) -> None:
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.replies: list[Reply] = []
        self.model_replies: list[Reply] = []
        self.requests: list[dict[str, Any]] = []
        self.disconnects = 0
        self.models = models
        self.require_key = require_key

    def reset(self, models: list[str], require_key: str | None) -> None:
        with self.lock:
            self.replies.clear()
            self.model_replies.clear()
            self.requests.clear()
            self.disconnects = 0
            self.models = models
            self.require_key = require_key

    def next_reply(self, queue: list[Reply]) -> Reply | None:
        with self.lock:
            return queue.pop(0) if queue else None

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "requests": list(self.requests),
                "disconnects": self.disconnects,
                "pending": len(self.replies) + len(self.model_replies),
            }


class _Disconnected(Exception):
    """The client went away mid-response."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    state: _State

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def end_headers(self) -> None:
        asked = self.headers.get("Access-Control-Request-Headers")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
        self.send_header("Access-Control-Allow-Headers", asked or "Authorization, Content-Type")
        self.send_header("Access-Control-Expose-Headers", "*")
        self.send_header("Access-Control-Allow-Private-Network", "true")
        self.send_header("Cross-Origin-Resource-Policy", "cross-origin")
        super().end_headers()

    def do_OPTIONS(self) -> None:
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self) -> None:
        self._route()

    def do_POST(self) -> None:
        self._route()

    def _route(self) -> None:
        data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = self.path.split("?", 1)[0].rstrip("/")
        if path.startswith("/_scripted/"):
            self._control(path.removeprefix("/_scripted/"), data)
            return
        self._record(path, data)
        if self.state.require_key is not None and not self._authorized():
            self._send(status(401, json.dumps({"error": _KEY_ERROR})))
        elif path == "/v1/models" and self.command == "GET":
            self._models()
        elif path == "/v1/chat/completions" and self.command == "POST":
            self._complete(data)
        else:
            self._send(status(404, json.dumps({"error": {"message": f"no route {path}"}})))

    def _authorized(self) -> bool:
        return self.headers.get("Authorization") == f"Bearer {self.state.require_key}"

    def _record(self, path: str, data: bytes) -> None:
        try:
            body = json.loads(data) if data else None
        except ValueError:
            body = data.decode("utf-8", "replace")
        headers = {name.lower(): value for name, value in self.headers.items()}
        entry = {"method": self.command, "path": path, "headers": headers, "body": body}
        with self.state.lock:
            self.state.requests.append(entry)

    def _models(self) -> None:
        reply = self.state.next_reply(self.state.model_replies)
        if reply is None:
            listing = {"object": "list", "data": [_model(name) for name in self.state.models]}
            reply = status(200, json.dumps(listing))
        self._send(reply)

    def _complete(self, data: bytes) -> None:
        reply = self.state.next_reply(self.state.replies)
        if reply is None:
            reply = status(500, json.dumps({"error": {"message": "no scripted reply"}}))
        try:
            wants_usage = json.loads(data)["stream_options"]["include_usage"] is True
        except (ValueError, KeyError, TypeError):
            wants_usage = False
        self._send(reply, wants_usage)

    def _control(self, action: str, data: bytes) -> None:
        payload = json.loads(data) if data else {}
        if action == "queue":
            replies = [Reply.from_dict(item) for item in payload["replies"]]
            target = self.state.model_replies if payload.get("models") else self.state.replies
            with self.state.lock:
                target.extend(replies)
        elif action == "reset":
            self.state.reset(payload.get("models", [MODEL]), payload.get("require_key"))
        answer = json.dumps(self.state.snapshot())
        self._send(status(200, answer))

    def _send(self, reply: Reply, wants_usage: bool = False) -> None:
        try:
            self._start(reply)
            for piece in _payload(reply, wants_usage):
                if reply.delay and self.state.stopping.wait(reply.delay):
                    raise _Disconnected
                self._write_chunk(piece.encode("utf-8"))
            if reply.abrupt:
                self.state.stopping.wait(reply.delay)
                self._drop()
                return
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (_Disconnected, ConnectionError):
            self.close_connection = True
            with self.state.lock:
                self.state.disconnects += 1

    def _start(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _write_chunk(self, data: bytes) -> None:
        if data:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

    def _drop(self) -> None:
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)


_KEY_ERROR = {
    "message": "Incorrect API key provided.",
    "type": "invalid_request_error",
    "code": "invalid_api_key",
}


def _model(name: str) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "scripted"}


def _payload(reply: Reply, wants_usage: bool) -> Iterator[str]:
    if not reply.events:
        size = reply.chunk_size or len(reply.body) or 1
        yield from (reply.body[i : i + size] for i in range(0, len(reply.body), size))
        return
    for event in reply.events:
        yield f"data: {event}\n\n"
    if reply.usage and wants_usage:
        prompt, completion = reply.usage
        numbers = {"prompt_tokens": prompt, "completion_tokens": completion}
        numbers["total_tokens"] = prompt + completion
        usage = {"id": STREAM_ID, "object": "chat.completion.chunk", "choices": []}
        yield f"data: {json.dumps(usage | {'model': MODEL, 'usage': numbers})}\n\n"
    if reply.done:
        yield "data: [DONE]\n\n"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class ScriptedLLM:
    """The server. ``url`` is the API base (``http://127.0.0.1:PORT/v1``); ``dead_url`` points
    at a port nothing listens on. ``require_key`` answers 401 unless ``Authorization`` is
    ``Bearer <require_key>``. Completion requests with nothing queued get a 500."""

    def __init__(self, models: list[str] | None = None, require_key: str | None = None) -> None:
        self._state = _State(list(models or [MODEL]), require_key)
        handler = type("Handler", (_Handler,), {"state": self._state})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()
        host, port = self._server.server_address[:2]
        self.root = f"http://{host!s}:{port}"
        self.url = f"{self.root}/v1"
        self.dead_url = _free_port_url()

    def queue(self, *replies: Reply) -> None:
        """Answer the next completion requests with ``replies``, in order."""
        with self._state.lock:
            self._state.replies.extend(replies)

    def queue_models(self, *replies: Reply) -> None:
        """Answer the next ``GET /v1/models`` with ``replies`` instead of the model list."""
        with self._state.lock:
            self._state.model_replies.extend(replies)

    def reset(self, models: list[str] | None = None, require_key: str | None = None) -> None:
        """Forget queued replies and received requests; set the models and the key."""
        self._state.reset(list(models or [MODEL]), require_key)

    @property
    def requests(self) -> list[dict[str, Any]]:
        """Received requests: ``method``, ``path``, ``headers`` (lower-cased), ``body``."""
        return self._state.snapshot()["requests"]  # type: ignore[no-any-return]

    @property
    def disconnects(self) -> int:
        """How many responses the client abandoned before their end."""
        return self._state.snapshot()["disconnects"]  # type: ignore[no-any-return]

    @property
    def pending(self) -> int:
        return self._state.snapshot()["pending"]  # type: ignore[no-any-return]

    def stop(self) -> None:
        self._state.stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> ScriptedLLM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


Transport = Callable[[str, str, bytes | None], bytes]


def urllib_transport(method: str, url: str, body: bytes | None) -> bytes:
    request = urllib.request.Request(url, data=body, method=method)
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read()  # type: ignore[no-any-return]


class RemoteScriptedLLM:
    """Drives a :class:`ScriptedLLM` running elsewhere (``root`` is its ``http://host:port``)
    through blocking calls to its control endpoints; ``transport`` sends them."""

    def __init__(self, root: str, dead_url: str, transport: Transport = urllib_transport) -> None:
        self.root = root.rstrip("/")
        self.url = f"{self.root}/v1"
        self.dead_url = dead_url
        self._transport = transport

    def _call(self, action: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        body = json.dumps(payload).encode() if payload is not None else None
        method = "POST" if body is not None else "GET"
        answer = self._transport(method, f"{self.root}/_scripted/{action}", body)
        return json.loads(answer)  # type: ignore[no-any-return]

    def queue(self, *replies: Reply) -> None:
        self._call("queue", {"replies": [reply.to_dict() for reply in replies]})

    def queue_models(self, *replies: Reply) -> None:
        self._call("queue", {"replies": [r.to_dict() for r in replies], "models": True})

    def reset(self, models: list[str] | None = None, require_key: str | None = None) -> None:
        self._call("reset", {"models": list(models or [MODEL]), "require_key": require_key})

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self._call("state")["requests"]  # type: ignore[no-any-return]

    @property
    def disconnects(self) -> int:
        return self._call("state")["disconnects"]  # type: ignore[no-any-return]

    @property
    def pending(self) -> int:
        return self._call("state")["pending"]  # type: ignore[no-any-return]
