"""The MCP client against real peers: the official SDK's ``MCPServer`` over Streamable HTTP (in
JSON and SSE answer modes, both protocol revisions), and small hand-made servers for what the SDK
never does (pagination, a legacy-only server, garbage, silence, refusals)."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from llmos.mcp.client import (
    LEGACY_REVISION,
    MODERN_REVISION,
    McpClient,
    McpError,
    Revision,
    limit_result,
)
from llmos.platform.native_http import NativeHttp

SDK_SERVER = textwrap.dedent(
    """
    import asyncio, sys
    from mcp.server.mcpserver import Context, MCPServer

    port, answers, sessions = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    server = MCPServer("peer", version="9.1")

    @server.tool()
    def echo(text: str) -> str:
        \"\"\"Say it back.\"\"\"
        return text

    @server.tool()
    def boom() -> str:
        raise ValueError("kaboom")

    @server.tool()
    async def slow(seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "done"

    @server.tool()
    async def count(n: int, ctx: Context) -> str:
        for step in range(n):
            await ctx.report_progress(step + 1, n)
        return f"counted {n}"

    @server.resource("note://hello")
    def hello() -> str:
        return "hello world"

    server.run("streamable-http", host="127.0.0.1", port=port,
               json_response=answers == "json", stateless_http=sessions == "stateless")
    """
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_for_port(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, "the SDK server exited while starting"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listened on port {port}")


@pytest.fixture(scope="module")
def sdk_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Two SDK servers: SSE answers with sessions, and JSON answers without sessions."""
    script = tmp_path_factory.mktemp("mcp") / "server.py"
    script.write_text(SDK_SERVER)
    modes = {"sse": ("sse", "stateful"), "json": ("json", "stateless")}
    started: dict[str, tuple[int, subprocess.Popen[bytes]]] = {}
    for name, (answers, sessions) in modes.items():
        port = _free_port()
        command = [sys.executable, str(script), str(port), answers, sessions]
        started[name] = (port, subprocess.Popen(command, stderr=subprocess.DEVNULL))
    try:
        for port, process in started.values():
            _wait_for_port(port, process)
        yield {name: f"http://127.0.0.1:{port}/mcp" for name, (port, _) in started.items()}
    finally:
        for _, process in started.values():
            process.terminate()
            process.wait(10)


@pytest.mark.parametrize("mode", ["sse", "json"])
@pytest.mark.parametrize("revision", ["auto", LEGACY_REVISION])
async def test_a_full_session_with_the_sdk_server(
    sdk_servers: dict[str, str], mode: str, revision: Revision
) -> None:
    client = McpClient(NativeHttp(), sdk_servers[mode], revision=revision)
    info = await client.connect()
    assert info.revision == (MODERN_REVISION if revision == "auto" else LEGACY_REVISION)
    assert (info.name, info.version) == ("peer", "9.1")
    assert "tools" in info.capabilities
    assert (client.session_id is not None) == (mode == "sse" and revision == LEGACY_REVISION)

    tools = await client.list_tools()
    assert {"echo", "boom", "slow", "count"} <= {tool["name"] for tool in tools}
    echoed = await client.call_tool("echo", {"text": "héllo wörld"})
    assert echoed["isError"] is False
    assert echoed["content"][0]["text"] == "héllo wörld"
    failed = await client.call_tool("boom")
    assert failed["isError"] is True
    assert [resource["uri"] for resource in await client.list_resources()] == ["note://hello"]
    read = await client.read_resource("note://hello")
    assert read["contents"][0]["text"] == "hello world"
    await client.close()


@pytest.mark.parametrize("revision", [MODERN_REVISION, LEGACY_REVISION])
async def test_notifications_streamed_before_the_answer_reach_the_handler(
    sdk_servers: dict[str, str], revision: Revision
) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []
    client = McpClient(
        NativeHttp(),
        sdk_servers["sse"],
        revision=revision,
        on_notification=lambda *n: seen.append(n),
    )
    params = {"name": "count", "arguments": {"n": 3}, "_meta": {"progressToken": "p1"}}
    result = await client.request("tools/call", params)
    assert result["content"][0]["text"] == "counted 3"
    progress = [p["progress"] for method, p in seen if method == "notifications/progress"]
    assert progress == [1, 2, 3]


@pytest.mark.parametrize("revision", ["auto", LEGACY_REVISION])
async def test_cancelling_a_call_aborts_it_and_the_client_still_works(
    sdk_servers: dict[str, str], revision: Revision
) -> None:
    client = McpClient(NativeHttp(), sdk_servers["sse"], revision=revision)
    await client.connect()
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(client.call_tool("slow", {"seconds": 30}), 0.5)
    assert time.monotonic() - started < 5
    assert (await client.call_tool("echo", {"text": "still here"}))["content"][0][
        "text"
    ] == "still here"


async def test_an_expired_session_is_renewed_once_and_the_call_retried(
    sdk_servers: dict[str, str],
) -> None:
    url = sdk_servers["sse"]
    client = McpClient(NativeHttp(), url, revision=LEGACY_REVISION)
    await client.connect()
    first = client.session_id
    assert first
    async with httpx.AsyncClient() as raw:  # the server forgets the session
        await raw.delete(
            url, headers={"Mcp-Session-Id": first, "MCP-Protocol-Version": LEGACY_REVISION}
        )
    result = await client.call_tool("echo", {"text": "again"})
    assert result["content"][0]["text"] == "again"
    assert client.session_id not in (None, first)


async def test_an_unknown_method_is_a_json_rpc_error(sdk_servers: dict[str, str]) -> None:
    client = McpClient(NativeHttp(), sdk_servers["sse"], revision=LEGACY_REVISION)
    with pytest.raises(McpError) as caught:
        await client.request("no/such/method")
    assert caught.value.code == "rpc"
    assert caught.value.rpc_code == -32601


# --- Hand-made peers -------------------------------------------------------------------------

Reply = tuple[int, dict[str, str], bytes]
Handler = Callable[[dict[str, Any], dict[str, str]], Reply]


class _Peer(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        message = json.loads(body)
        self.server.received.append(message)  # type: ignore[attr-defined]
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, reply_headers, reply = self.server.handle(message, headers)  # type: ignore[attr-defined]
        self.send_response(status)
        for name, value in reply_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def peer() -> Iterator[Callable[[Handler], tuple[str, list[dict[str, Any]]]]]:
    """Start a hand-made HTTP peer; returns its URL and the messages it received."""
    servers: list[ThreadingHTTPServer] = []

    def start(handle: Handler) -> tuple[str, list[dict[str, Any]]]:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Peer)
        server.daemon_threads = True
        server.handle = handle  # type: ignore[attr-defined]
        server.received = []  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}/mcp", server.received  # type: ignore[attr-defined]

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def _json(message: dict[str, Any], status: int = 200, **headers: str) -> Reply:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(message).encode()


def _answer(message: dict[str, Any], result: dict[str, Any]) -> Reply:
    return _json({"jsonrpc": "2.0", "id": message["id"], "result": result})


def _legacy_server(tools: Callable[[dict[str, Any]], dict[str, Any]]) -> Handler:
    """A 2025-11-25 server that knows no ``server/discover``; ``tools`` answers the rest."""

    def handle(message: dict[str, Any], headers: dict[str, str]) -> Reply:
        method = message.get("method")
        if "id" not in message:
            return 202, {}, b""
        if method == "server/discover":
            error = {"code": -32601, "message": "Method not found"}
            return _json({"jsonrpc": "2.0", "id": message["id"], "error": error})
        if method == "initialize":
            result = {
                "protocolVersion": LEGACY_REVISION,
                "capabilities": {"tools": {}},
                "serverInfo": {"name": "old", "version": "0.1"},
            }
            return _answer(message, result)
        assert headers.get("mcp-protocol-version") == LEGACY_REVISION
        return _answer(message, tools(message))

    return handle


async def test_a_legacy_only_server_falls_back_to_initialize_and_pages_are_followed(
    peer: Any,
) -> None:
    def tools(message: dict[str, Any]) -> dict[str, Any]:
        page = int(message["params"].get("cursor") or 0)
        result: dict[str, Any] = {"tools": [{"name": f"tool{page}a"}, {"name": f"tool{page}b"}]}
        if page < 2:
            result["nextCursor"] = str(page + 1)
        return result

    url, received = peer(_legacy_server(tools))
    client = McpClient(NativeHttp(), url)
    names = [tool["name"] for tool in await client.list_tools()]
    assert names == ["tool0a", "tool0b", "tool1a", "tool1b", "tool2a", "tool2b"]
    assert client.server is not None
    assert (client.server.revision, client.server.name, client.server.version) == (
        LEGACY_REVISION,
        "old",
        "0.1",
    )
    methods = [message["method"] for message in received]
    assert methods[:3] == ["server/discover", "initialize", "notifications/initialized"]


async def test_an_sse_answer_skips_other_messages_and_takes_the_matching_id(peer: Any) -> None:
    def handle(message: dict[str, Any], headers: dict[str, str]) -> Reply:
        if message["method"] == "server/discover":
            return _answer(message, {"supportedVersions": [MODERN_REVISION], "capabilities": {}})
        events = [
            {"jsonrpc": "2.0", "method": "notifications/message", "params": {"data": "hi"}},
            {"jsonrpc": "2.0", "id": 999, "result": {"content": []}},
            {
                "jsonrpc": "2.0",
                "id": message["id"],
                "result": {"content": [], "isError": False, "n": 1},
            },
        ]
        stream = ": ping\n\n" + "".join(
            f"event: message\ndata: {json.dumps(e)}\n\n" for e in events
        )
        return 200, {"Content-Type": "text/event-stream"}, stream.encode()

    url, _ = peer(handle)
    seen: list[str] = []
    client = McpClient(
        NativeHttp(), url, revision=MODERN_REVISION, on_notification=lambda m, p: seen.append(m)
    )
    assert (await client.request("tools/call", {"name": "x"}))["n"] == 1
    assert seen == ["notifications/message"]


async def test_a_cancelled_legacy_call_tells_the_server(peer: Any) -> None:
    release = threading.Event()

    def tools(message: dict[str, Any]) -> dict[str, Any]:
        if message["method"] == "tools/call":
            release.wait(10)
        return {"content": [], "isError": False}

    url, received = peer(_legacy_server(tools))
    client = McpClient(NativeHttp(), url)
    await client.connect()
    call = asyncio.ensure_future(client.call_tool("hang"))
    while not any(message.get("method") == "tools/call" for message in received):
        await asyncio.sleep(0.01)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    call_id = next(m["id"] for m in received if m.get("method") == "tools/call")
    deadline = time.monotonic() + 5
    while not any(m.get("method") == "notifications/cancelled" for m in received):
        assert time.monotonic() < deadline, "no notifications/cancelled arrived"
        await asyncio.sleep(0.01)
    release.set()
    cancelled = next(m for m in received if m.get("method") == "notifications/cancelled")
    assert cancelled["params"]["requestId"] == call_id


async def test_a_huge_tool_result_is_cut_with_a_note(peer: Any) -> None:
    def tools(message: dict[str, Any]) -> dict[str, Any]:
        return {
            "content": [{"type": "text", "text": "x" * 5000}],
            "structuredContent": {"r": "x" * 5000},
        }

    url, _ = peer(_legacy_server(tools))
    client = McpClient(NativeHttp(), url, max_result_chars=1000)
    result = await client.call_tool("big")
    assert result["content"][0]["text"] == "x" * 1000
    assert "cut this tool result" in result["content"][-1]["text"]
    assert "5,000" in result["content"][-1]["text"]
    assert result["truncated"] is True
    assert "structuredContent" not in result


def test_a_small_result_is_left_alone() -> None:
    result = {"content": [{"type": "text", "text": "short"}], "isError": False}
    assert limit_result(result, 100) is result


async def test_a_body_over_the_byte_cap_is_refused(peer: Any) -> None:
    url, _ = peer(lambda message, headers: _answer(message, {"blob": "y" * 10_000}))
    client = McpClient(NativeHttp(), url, revision=MODERN_REVISION, max_response_bytes=2000)
    with pytest.raises(McpError) as caught:
        await client.list_tools()
    assert caught.value.code == "too_large"


async def test_a_garbage_server_is_a_bad_response(peer: Any) -> None:
    page = b"<html><body>Welcome to nginx</body></html>"
    url, _ = peer(lambda message, headers: (200, {"Content-Type": "text/html"}, page))
    with pytest.raises(McpError) as caught:
        await McpClient(NativeHttp(), url).list_tools()
    assert caught.value.code == "bad_response"
    assert "not JSON" in str(caught.value)
    assert "Welcome to nginx" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "code", "words"),
    [(404, "not_found", "No MCP server"), (500, "server", "HTTP 500"), (400, "http", "HTTP 400")],
)
async def test_http_error_statuses_have_their_own_codes(
    peer: Any, status: int, code: str, words: str
) -> None:
    url, _ = peer(lambda message, headers: (status, {"Content-Type": "text/plain"}, b"nope"))
    with pytest.raises(McpError) as caught:
        await McpClient(NativeHttp(), url).connect()
    assert (caught.value.code, caught.value.status) == (code, status)
    assert words in str(caught.value)


async def test_a_bearer_token_is_sent_and_a_refusal_is_explained(peer: Any) -> None:
    def handle(message: dict[str, Any], headers: dict[str, str]) -> Reply:
        if headers.get("authorization") != "Bearer good":
            return 401, {"WWW-Authenticate": "Bearer"}, b""
        return _legacy_server(lambda m: {"tools": [{"name": "secret"}]})(message, headers)

    url, _ = peer(handle)
    with pytest.raises(McpError) as missing:
        await McpClient(NativeHttp(), url).connect()
    assert missing.value.code == "auth"
    assert "needs a token" in str(missing.value)
    with pytest.raises(McpError) as wrong:
        await McpClient(NativeHttp(), url, {"Authorization": "Bearer bad"}).connect()
    assert wrong.value.code == "auth"
    assert "token sent was refused" in str(wrong.value)
    good = McpClient(NativeHttp(), url, {"Authorization": "Bearer good"})
    assert [tool["name"] for tool in await good.list_tools()] == ["secret"]


async def test_a_refused_port_is_a_network_error() -> None:
    client = McpClient(NativeHttp(), f"http://127.0.0.1:{_free_port()}/mcp")
    with pytest.raises(McpError) as caught:
        await client.connect()
    assert caught.value.code == "network"
    assert "127.0.0.1" in str(caught.value)


async def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/mcp"
        started = time.monotonic()
        with pytest.raises(McpError) as caught:
            await McpClient(NativeHttp(), url, timeout_s=0.5).connect()
    assert caught.value.code == "network"
    assert "no answer within 0.5 s" in str(caught.value)
    assert time.monotonic() - started < 5
