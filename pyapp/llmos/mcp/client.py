"""The MCP client: LLMos talking to any Model Context Protocol server over Streamable HTTP.

It owns the wire side of a connection through the :class:`~llmos.platform.http.Http` seam (httpx
natively, ``fetch`` in the browser): JSON-RPC over POST with JSON or Server-Sent-Event answers,
the choice of protocol revision (2026-07-28's stateless ``server/discover`` first, else the
2025-11-25 ``initialize`` handshake), the legacy ``Mcp-Session-Id`` session and its renewal,
cancellation, and the size limit on what a server may hand back. Every failure is one
:class:`McpError` whose ``code`` says what went wrong.

What a server returns is untrusted: this module only limits its size and checks its shape.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from llmos.errors import LlmError, LlmosError
from llmos.llm.sse import SseDecoder
from llmos.platform.http import Http, HttpResponse, display_url, excerpt

MODERN_REVISION: Final = "2026-07-28"
"""The stateless revision: every request carries its own ``_meta`` envelope, no session."""

LEGACY_REVISION: Final = "2025-11-25"
"""The handshake revision: ``initialize``, then an optional ``Mcp-Session-Id`` session."""

DEFAULT_MAX_RESULT_CHARS = 1_000_000
"""How much text of one tool result reaches the agent; the rest is cut with a note."""

DEFAULT_MAX_RESPONSE_BYTES = 16_000_000
"""Bytes of one HTTP answer read at most, so a server cannot exhaust memory."""

Json = dict[str, Any]
Revision = Literal["auto", "2026-07-28", "2025-11-25"]
NotificationHandler = Callable[[str, Json], None]

_META_VERSION = "io.modelcontextprotocol/protocolVersion"
_META_CLIENT_INFO = "io.modelcontextprotocol/clientInfo"
_META_CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
_META_SERVER_INFO = "io.modelcontextprotocol/serverInfo"
_NAME_BEARING = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
_CLIENT_INFO = {"name": "LLMos", "version": "1"}


class McpError(LlmosError):
    """An MCP server could not be used. ``code`` is one of ``network`` (unreachable, refused,
    no answer in time), ``auth`` (401/403), ``not_found`` (404: wrong URL), ``server`` (5xx),
    ``http`` (another HTTP error), ``bad_response`` (not JSON-RPC), ``too_large`` (an answer
    over the byte cap), or ``rpc`` (the server answered with a JSON-RPC error, whose number is
    ``rpc_code``)."""

    def __init__(
        self,
        message: str,
        code: str = "mcp",
        *,
        status: int | None = None,
        rpc_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.rpc_code = rpc_code


@dataclass(frozen=True)
class ServerInfo:
    """What the server said about itself when the connection was negotiated."""

    revision: str
    name: str
    version: str
    capabilities: Json = field(default_factory=dict)


class McpClient:
    """One MCP server at ``url``. Connects on first use (or :meth:`connect`); ``headers`` go
    with every request (e.g. ``Authorization``); ``timeout_s`` bounds the wait for an answer
    and between two pieces of a streamed one. ``revision`` pins a protocol revision instead of
    negotiating; ``on_notification`` sees the notifications a server streams while it answers.
    """

    def __init__(
        self,
        http: Http,
        url: str,
        headers: dict[str, str] | None = None,
        timeout_s: float = 30,
        *,
        revision: Revision = "auto",
        max_result_chars: int = DEFAULT_MAX_RESULT_CHARS,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        on_notification: NotificationHandler | None = None,
    ) -> None:
        self._http = http
        self.url = url
        self._headers = dict(headers or {})
        self.timeout_s = timeout_s
        self._revision_wanted = revision
        self.max_result_chars = max_result_chars
        self.max_response_bytes = max_response_bytes
        self._on_notification = on_notification
        self.server: ServerInfo | None = None
        self._session_id: str | None = None
        self._next_id = 0
        self._background: set[asyncio.Task[None]] = set()

    @property
    def session_id(self) -> str | None:
        """The legacy session the server opened (``Mcp-Session-Id``), if any."""
        return self._session_id

    @property
    def revision(self) -> str | None:
        """The negotiated protocol revision, ``None`` before connecting."""
        return self.server.revision if self.server else None

    async def connect(self) -> ServerInfo:
        """Negotiate the protocol revision (again, if connected) and return the server's info."""
        self.server = None
        self._session_id = None
        if self._revision_wanted == LEGACY_REVISION:
            self.server = await self._initialize()
        elif self._revision_wanted == MODERN_REVISION:
            self.server = await self._discover()
        else:
            self.server = await self._negotiate()
        return self.server

    async def list_tools(self) -> list[Json]:
        """Every tool the server offers, following ``nextCursor`` across pages."""
        return await self._list("tools/list", "tools")

    async def call_tool(self, name: str, arguments: Json | None = None) -> Json:
        """Run tool ``name``; the result dict (``content``, ``isError``...), its text cut to
        ``max_result_chars`` with a note saying so. A tool that failed is a result with
        ``isError`` true, not an exception."""
        result = await self.request("tools/call", {"name": name, "arguments": arguments or {}})
        return limit_result(result, self.max_result_chars)

    async def list_resources(self) -> list[Json]:
        """Every resource the server lists, following ``nextCursor`` across pages."""
        return await self._list("resources/list", "resources")

    async def read_resource(self, uri: str) -> Json:
        """The ``resources/read`` result for ``uri`` (its ``contents``)."""
        return await self.request("resources/read", {"uri": uri})

    async def request(self, method: str, params: Json | None = None) -> Json:
        """Send one JSON-RPC request and return its result, connecting first if needed. A
        legacy session the server forgot (404) is renewed once and the request retried."""
        if self.server is None:
            await self.connect()
        try:
            return await self._send(method, params)
        except McpError as error:
            if error.status != 404 or self._session_id is None:
                raise
        await self.connect()
        return await self._send(method, params)

    async def close(self) -> None:
        """End a legacy session on the server (best effort) and forget the connection."""
        session, self._session_id, self.server = self._session_id, None, None
        if session is None:
            return
        try:
            async with self._http.stream(
                "DELETE", self.url, headers={**self._headers, "Mcp-Session-Id": session}
            ):
                pass
        except LlmError:
            pass  # the server is gone: the session is over anyway

    async def _list(self, method: str, key: str) -> list[Json]:
        items: list[Json] = []
        cursor: str | None = None
        while True:
            result = await self.request(method, {"cursor": cursor} if cursor else {})
            page = result.get(key)
            if not isinstance(page, list):
                raise self._bad(f"a {method} result without a {key} list")
            items.extend(item for item in page if isinstance(item, dict))
            next_cursor = result.get("nextCursor")
            if not isinstance(next_cursor, str) or not next_cursor or next_cursor == cursor:
                return items
            cursor = next_cursor

    async def _negotiate(self) -> ServerInfo:
        try:
            return await self._discover()
        except McpError as error:
            if error.code in ("network", "auth", "too_large"):
                raise  # an outage or a refusal is no sign of an older server
        return await self._initialize()

    async def _discover(self) -> ServerInfo:
        result = await self._send("server/discover", {}, revision=MODERN_REVISION)
        supported = result.get("supportedVersions")
        if not isinstance(supported, list) or MODERN_REVISION not in supported:
            raise self._bad(f"a server/discover answer that lacks revision {MODERN_REVISION}")
        meta = result.get("_meta")
        info = meta.get(_META_SERVER_INFO) if isinstance(meta, dict) else None
        return _server_info(MODERN_REVISION, info, result.get("capabilities"))

    async def _initialize(self) -> ServerInfo:
        params = {
            "protocolVersion": LEGACY_REVISION,
            "capabilities": {},
            "clientInfo": _CLIENT_INFO,
        }
        result = await self._send("initialize", params, revision="")
        revision = result.get("protocolVersion")
        if not isinstance(revision, str):
            raise self._bad("an initialize result without a protocolVersion")
        server = _server_info(revision, result.get("serverInfo"), result.get("capabilities"))
        self.server = server
        await self._notify("notifications/initialized")
        return server

    async def _send(self, method: str, params: Json | None, revision: str | None = None) -> Json:
        revision = self.revision if revision is None else revision
        self._next_id += 1
        request_id = self._next_id
        params = dict(params or {})
        headers = self._request_headers(method, params, revision or "")
        if revision == MODERN_REVISION:
            meta = dict(params.get("_meta") or {})
            meta.update({_META_VERSION: revision, _META_CLIENT_INFO: _CLIENT_INFO})
            meta.setdefault(_META_CLIENT_CAPABILITIES, {})
            params["_meta"] = meta
        message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        try:
            return await self._exchange(message, headers, request_id)
        except asyncio.CancelledError:
            self._tell_cancelled(request_id)
            raise

    def _request_headers(self, method: str, params: Json, revision: str) -> dict[str, str]:
        headers = {
            **self._headers,
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        }
        if revision:
            headers["MCP-Protocol-Version"] = revision
        if revision == MODERN_REVISION:
            headers["Mcp-Method"] = method
            name = params.get(_NAME_BEARING.get(method, ""))
            if isinstance(name, str):
                headers["Mcp-Name"] = _header_value(name)
        if self._session_id:
            headers["Mcp-Session-Id"] = self._session_id
        return headers

    async def _notify(self, method: str, params: Json | None = None) -> None:
        message: Json = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        headers = self._request_headers(method, message.get("params") or {}, self.revision or "")
        await self._exchange(message, headers, None)

    def _tell_cancelled(self, request_id: int) -> None:
        """A legacy server hears that the request was abandoned; at 2026-07-28 closing the
        response stream (done by the cancellation itself) is the whole protocol."""
        if self.revision in (None, MODERN_REVISION):
            return
        params = {"requestId": request_id, "reason": "Cancelled by the user."}
        task = asyncio.ensure_future(self._notify_quietly("notifications/cancelled", params))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _notify_quietly(self, method: str, params: Json) -> None:
        with contextlib.suppress(McpError):  # advisory: the request is abandoned already
            await self._notify(method, params)

    async def _exchange(
        self, message: Json, headers: dict[str, str], request_id: int | None
    ) -> Json:
        body = json.dumps(message).encode()
        try:
            async with self._http.stream(
                "POST", self.url, headers=headers, body=body, timeout=self.timeout_s
            ) as response:
                session = response.headers.get("mcp-session-id")
                if session and message.get("method") == "initialize":
                    self._session_id = session
                return await self._answer(response, request_id)
        except LlmError as error:
            raise McpError(f"MCP server: {error}", "network") from error

    async def _answer(self, response: HttpResponse, request_id: int | None) -> Json:
        content_type = response.headers.get("content-type", "")
        if response.status >= 400:
            raise self._status_error(response.status, await self._read(response))
        if request_id is None or response.status == 202:
            if request_id is not None:
                raise self._bad("an empty 202 answer to a request")
            return {}
        if "text/event-stream" in content_type:
            return await self._from_events(response, request_id)
        return self._result(self._parse(await self._read(response)), request_id)

    async def _read(self, response: HttpResponse) -> bytes:
        return b"".join([chunk async for chunk in self._capped(response)])

    async def _capped(self, response: HttpResponse) -> AsyncIterator[bytes]:
        """The response's bytes, refused past ``max_response_bytes``."""
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > self.max_response_bytes:
                raise McpError(
                    f"The MCP server at {display_url(self.url)} sent more than "
                    f"{self.max_response_bytes:,} bytes in one answer.",
                    "too_large",
                )
            yield chunk

    async def _from_events(self, response: HttpResponse, request_id: int) -> Json:
        decoder = SseDecoder()
        async for chunk in self._capped(response):
            for event in decoder.feed(chunk):
                answer = self._event_answer(event.data, request_id)
                if answer is not None:
                    return answer
        for event in decoder.close():
            answer = self._event_answer(event.data, request_id)
            if answer is not None:
                return answer
        raise self._bad("an event stream that ended without the answer")

    def _event_answer(self, data: str, request_id: int) -> Json | None:
        """The result if this event answers our request; a notification goes to the handler."""
        if not data.strip():
            return None  # a keep-alive or priming event
        message = self._parse(data.encode())
        if message.get("id") == request_id and ("result" in message or "error" in message):
            return self._result(message, request_id)
        method = message.get("method")
        if "id" not in message and isinstance(method, str) and self._on_notification:
            params = message.get("params")
            self._on_notification(method, params if isinstance(params, dict) else {})
        return None

    def _parse(self, body: bytes) -> Json:
        try:
            message = json.loads(body)
        except ValueError:
            raise self._bad(f"text that is not JSON: {excerpt(body, 120)}") from None
        if not isinstance(message, dict):
            raise self._bad(f"JSON that is not a JSON-RPC message: {excerpt(body, 120)}")
        return message

    def _result(self, message: Json, request_id: int) -> Json:
        error = message.get("error")
        if isinstance(error, dict):
            raise _rpc_error(error)
        result = message.get("result")
        if message.get("id") != request_id or not isinstance(result, dict):
            raise self._bad(
                f"a message that answers something else: {excerpt(json.dumps(message), 120)}"
            )
        return result

    def _status_error(self, status: int, body: bytes) -> McpError:
        where = display_url(self.url)
        try:
            error = json.loads(body).get("error")
        except (ValueError, AttributeError):
            error = None
        detail = f" ({error['message']})" if isinstance(error, dict) and "message" in error else ""
        if status in (401, 403):
            sent = "the token sent was refused" if self._has_auth() else "it needs a token"
            message, code = f"The MCP server at {where} refused access: {sent}{detail}.", "auth"
        elif status == 404:
            message, code = f"No MCP server at {where} (HTTP 404){detail}.", "not_found"
        elif status >= 500:
            message, code = f"The MCP server at {where} failed (HTTP {status}){detail}.", "server"
        else:
            message, code = (
                f"The MCP server at {where} refused the request (HTTP {status}){detail}.",
                "http",
            )
        rpc_code = error.get("code") if isinstance(error, dict) else None
        return McpError(
            message, code, status=status, rpc_code=rpc_code if isinstance(rpc_code, int) else None
        )

    def _has_auth(self) -> bool:
        return any(name.lower() == "authorization" for name in self._headers)

    def _bad(self, what: str) -> McpError:
        return McpError(f"The MCP server at {display_url(self.url)} sent {what}.", "bad_response")


def limit_result(result: Json, max_chars: int) -> Json:
    """``result`` with its content cut to ``max_chars`` characters of text (embedded binary
    counts by its encoded size), ending in a note that says what was cut."""
    content = result.get("content")
    if not isinstance(content, list):
        return result
    total = sum(_size(item) for item in content)
    if total <= max_chars:
        return result
    kept: list[Any] = []
    used = 0
    for item in content:
        room = max_chars - used
        if _size(item) <= room:
            kept.append(item)
            used += _size(item)
        elif isinstance(item, dict) and item.get("type") == "text" and room > 0:
            kept.append({**item, "text": str(item.get("text", ""))[:room]})
            break
        else:
            break
    note = (
        f"[LLMos cut this tool result: it was {total:,} characters, only {max_chars:,} are shown.]"
    )
    kept.append({"type": "text", "text": note})
    trimmed = {key: value for key, value in result.items() if key != "structuredContent"}
    return {**trimmed, "content": kept, "truncated": True}


def _size(item: object) -> int:
    if isinstance(item, dict) and item.get("type") == "text":
        return len(str(item.get("text", "")))
    return len(json.dumps(item))


def _server_info(revision: str, info: object, capabilities: object) -> ServerInfo:
    described = info if isinstance(info, dict) else {}
    return ServerInfo(
        revision=revision,
        name=str(described.get("name", "")),
        version=str(described.get("version", "")),
        capabilities=capabilities if isinstance(capabilities, dict) else {},
    )


def _rpc_error(error: Json) -> McpError:
    code = error.get("code")
    message = str(error.get("message") or "no message")
    return McpError(
        f"The MCP server answered with an error: {message}",
        "rpc",
        rpc_code=code if isinstance(code, int) else None,
    )


def _header_value(value: str) -> str:
    """``value`` as an HTTP header carries it: verbatim if printable ASCII without edge blanks,
    else in the ``=?base64?...?=`` form the protocol defines."""
    if (
        value.isascii()
        and value.isprintable()
        and value == value.strip()
        and not value.startswith("=?")
    ):
        return value
    return f"=?base64?{base64.b64encode(value.encode()).decode('ascii')}?="
