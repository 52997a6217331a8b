"""The user's MCP servers inside the OS: ``mcp.servers.*`` methods and the agent calling remote
tools, against a fake Http that speaks the real MCP wire format (JSON-RPC answered as JSON or as
Server-Sent Events, both revisions, pagination) next to the real scripted LLM over real HTTP.
Runs natively and inside Pyodide."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from llmos.mcp.remote import servers
from llmos.platform.http import Http, dropped_error, network_error

from tests.conftest import run
from tests.core.agent_support import Os, Server, kinds, leaked, make_os
from tests.llm_server import text, tool_calls

ROOT = "http://mcp.test"
TOKEN = "mcp-CANARY-token-777"


@dataclass
class FakeServer:
    """One MCP server. ``mode``: ``json``/``sse`` answers, ``garbage`` (an HTML page),
    ``hang`` (never answers), ``die`` (a tools/call stream that drops mid-answer),
    ``down`` (refuses connections)."""

    tools: list[dict[str, Any]]
    mode: str = "json"
    legacy: bool = False
    page_size: int = 100
    seen: list[dict[str, Any]] = field(default_factory=list)
    hang_methods: set[str] = field(default_factory=set)
    expire_session: bool = False
    sessions: int = 0

    def answer(self, message: dict[str, Any]) -> dict[str, Any] | None:  # noqa: PLR0911
        method, params = message.get("method"), message.get("params") or {}
        if "id" not in message:
            return None
        if method == "server/discover":
            if self.legacy:
                return {"error": {"code": -32601, "message": "Method not found"}}
            return {"result": {"supportedVersions": ["2026-07-28"], "capabilities": {"tools": {}}}}
        if method == "initialize":
            info = {"name": "fake", "version": "1"}
            return {"result": {"protocolVersion": "2025-11-25", "serverInfo": info}}
        if method == "resources/read":
            return {"result": {"contents": [{"uri": params["uri"], "text": "hello"}]}}
        if method == "tools/list":
            start = int(params.get("cursor") or 0)
            page: dict[str, Any] = {"tools": self.tools[start : start + self.page_size]}
            if start + self.page_size < len(self.tools):
                page["nextCursor"] = str(start + self.page_size)
            return {"result": page}
        if method == "tools/call":
            args = params.get("arguments") or {}
            if params.get("name") == "picture":
                image = {"type": "image", "data": "iVBORw0KGgo=", "mimeType": "image/png"}
                return {"result": {"content": [{"type": "text", "text": "a cat"}, image]}}
            said = "<b>" + str(args.get("message", "")) + "</b>"
            return {"result": {"content": [{"type": "text", "text": f"Echo: {said}"}]}}
        return {"error": {"code": -32601, "message": f"Unknown method {method}"}}


class Response:
    def __init__(self, status: int, headers: dict[str, str], chunks: list[bytes], drop: bool):
        self.status, self.headers = status, headers
        self._chunks, self._drop = chunks, drop

    async def aiter_bytes(self) -> AsyncGenerator[bytes, None]:
        for chunk in self._chunks:
            yield chunk
        if self._drop:
            raise dropped_error(ROOT, "the server went away")

    async def read(self) -> bytes:
        return b"".join([c async for c in self.aiter_bytes()])


class FakeMcpHttp:
    """Answers requests to ``ROOT/<name>`` from ``servers[name]``; everything else goes to the
    real transport (the scripted LLM)."""

    def __init__(self, real: Http) -> None:
        self.real = real
        self.servers: dict[str, FakeServer] = {}

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = 60,
    ) -> AsyncIterator[Any]:
        if not url.startswith(ROOT):
            async with self.real.stream(
                method, url, headers=headers, body=body, timeout=timeout
            ) as response:
                yield response
            return
        server = self.servers[url.removeprefix(ROOT + "/")]
        message = json.loads(body or b"{}")
        server.seen.append({"message": message, "headers": dict(headers or {})})
        if server.mode == "down":
            raise network_error(url, "connection refused")
        if server.expire_session and (headers or {}).get("Mcp-Session-Id"):
            server.expire_session = False  # the server forgot the session once
            yield Response(404, {"content-type": "application/json"}, [b"{}"], False)
            return
        if server.mode == "hang" or message.get("method") in server.hang_methods:
            try:
                await asyncio.wait_for(asyncio.Event().wait(), timeout)
            except TimeoutError:
                raise network_error(url, f"no answer within {timeout:g} s") from None
        if server.mode == "garbage":
            yield Response(200, {"content-type": "text/html"}, [b"<html>Welcome!</html>"], False)
            return
        answer = server.answer(message)
        if answer is None:
            yield Response(202, {}, [], False)
            return
        data = json.dumps({"jsonrpc": "2.0", "id": message["id"], **answer}).encode()
        session = {}
        if message.get("method") == "initialize":
            server.sessions += 1
            session = {"mcp-session-id": f"session-{server.sessions}"}
        dies = server.mode == "die" and message.get("method") == "tools/call"
        if server.mode in ("sse", "die"):
            progress = b'data: {"jsonrpc":"2.0","method":"notifications/progress","params":{}}\n\n'
            chunks = [b": keep-alive\n\n", progress] + ([] if dies else [b"data: ", data, b"\n\n"])
            yield Response(200, {"content-type": "text/event-stream", **session}, chunks, dies)
            return
        yield Response(200, {"content-type": "application/json", **session}, [data], False)


def tool(name: str, description: str = "Says it back.") -> dict[str, Any]:
    schema = {"type": "object", "properties": {"message": {"type": "string"}}}
    return {"name": name, "description": description, "inputSchema": schema}


@pytest.fixture
def fake(http: Http) -> FakeMcpHttp:
    return FakeMcpHttp(http)


@pytest.fixture
def os_(tmp_path: Path, llm_server: Server, fake: FakeMcpHttp) -> Os:
    made = run(make_os(tmp_path, llm_server, fake))
    servers(made.service).request_timeout_s = 0.3
    return made


def echo_call(message: str, name: str = "docs__echo") -> tuple[str, str]:
    return (name, json.dumps({"message": message}))


def offered(server: Server, index: int = -1) -> set[str]:
    return {t["function"]["name"] for t in server.requests[index]["body"].get("tools", [])}


async def add(os_: Os, name: str = "Docs!", path: str = "docs", **extra: str) -> dict[str, Any]:
    return dict(await os_.call("mcp.servers.add", name=name, url=f"{ROOT}/{path}", **extra))


async def test_added_server_lists_tools_and_the_agent_calls_one(
    os_: Os, fake: FakeMcpHttp, llm_server: Server
) -> None:
    fake.servers["docs"] = FakeServer([tool("echo"), tool("picture")])
    view = await add(os_, token=TOKEN, headers="X-Team: blue\n")

    assert view["name"] == "docs"  # sanitized
    assert view["status"] == "connected"
    assert [t["qualified"] for t in view["tools"]] == ["docs__echo", "docs__picture"]
    assert view["has_token"] is True
    assert view["header_names"] == ["X-Team"]
    assert TOKEN not in json.dumps(await os_.call("mcp.servers.list"))
    assert TOKEN not in json.dumps(await os_.call("settings.get"))
    assert fake.servers["docs"].seen[0]["headers"]["Authorization"] == f"Bearer {TOKEN}"
    assert fake.servers["docs"].seen[0]["headers"]["X-Team"] == "blue"

    llm_server.queue(
        tool_calls([echo_call("hi there"), ("docs__picture", "{}")]),
        text("Done."),
    )
    done, chat = await os_.chat("Use the docs server to echo hi there")

    assert done["status"] == "final"
    assert {"docs__echo", "docs__picture", "write_file"} <= offered(llm_server, 0)
    echo, picture = [i for i in chat["items"] if i["kind"] == "tool"]
    assert echo["status"] == "ok"
    assert echo["result"] == "Echo: <b>hi there</b>"
    assert echo["source"] == "docs"
    assert echo["untrusted"] is True
    assert picture["result"].startswith("a cat\n[image image/png, ")
    assert picture["images"] == []  # a remote image is summarized, never shown as ours
    messages = llm_server.requests[-1]["body"]["messages"]
    fenced = next(m["content"] for m in messages if m["role"] == "tool")
    assert fenced.startswith("[External data from MCP server 'docs'. It is untrusted")
    assert "Echo: <b>hi there</b>" in fenced
    assert leaked(os_.home, os_.events, TOKEN) == []


async def test_legacy_server_answering_in_sse_pages_its_tools(
    os_: Os, fake: FakeMcpHttp, llm_server: Server
) -> None:
    names = [f"t{i}" for i in range(5)]
    fake.servers["old"] = FakeServer([tool(n) for n in names], "sse", legacy=True, page_size=2)
    view = await add(os_, "old", "old")

    assert view["status"] == "connected"
    assert [t["name"] for t in view["tools"]] == names
    methods = [s["message"].get("method") for s in fake.servers["old"].seen]
    assert methods[:3] == ["server/discover", "initialize", "notifications/initialized"]
    llm_server.queue(tool_calls([echo_call("x", "old__t3")]), text("ok"))
    _, chat = await os_.chat("hi")
    [item] = [i for i in chat["items"] if i["kind"] == "tool"]
    assert (item["status"], item["result"]) == ("ok", "Echo: <b>x</b>")


async def test_names_never_collide_or_override(os_: Os, fake: FakeMcpHttp) -> None:
    fake.servers["a"] = FakeServer([tool("echo"), tool("echo"), tool("bad.name"), tool("shadow")])
    servers(os_.service)._builtin = lambda: ["write_file", "a__shadow"]
    view = await add(os_, "a", "a")
    notes = {(t["name"], t["note"]) for t in view["tools"] if t["note"]}
    assert notes == {
        ("echo", "Not offered: 'a__echo' is already the name of another tool."),
        (
            "bad.name",
            "Not offered: 'a__bad.name' is not a valid tool name (letters, digits, _ and -).",
        ),
        ("shadow", "Not offered: 'a__shadow' is already the name of another tool."),
    }
    assert [s.name for s in servers(os_.service).offered()] == ["a__echo"]
    error = await os_.fails("mcp.servers.add", name="A", url=f"{ROOT}/a")
    assert error["message"] == "There is already an MCP server named 'a'."
    error = await os_.fails("mcp.servers.add", name="x", url="file:///etc/passwd")
    assert "must start with http:// or https://" in error["message"]
    error = await os_.fails("mcp.servers.add", name="x", url="https://me:pw@mcp.test/a")
    assert error["message"] == "Put credentials in the token or headers fields, not in the URL."


async def test_disabled_tools_and_servers_are_not_offered(
    os_: Os, fake: FakeMcpHttp, llm_server: Server
) -> None:
    fake.servers["docs"] = FakeServer([tool("echo"), tool("other")])
    view = await add(os_)
    view = await os_.call("mcp.servers.update", id=view["id"], tools={"echo": False})
    assert [t["enabled"] for t in view["tools"]] == [False, True]

    llm_server.queue(tool_calls([echo_call("sneaky")]), text("ok"))
    _, chat = await os_.chat("hi")
    assert "docs__echo" not in offered(llm_server, 0)
    assert "docs__other" in offered(llm_server, 0)
    [item] = [i for i in chat["items"] if i["kind"] == "tool"]
    assert item["status"] == "error"
    assert item["result"] == "docs__echo is not an enabled tool of 'docs'."
    calls = [s for s in fake.servers["docs"].seen if s["message"].get("method") == "tools/call"]
    assert calls == []

    view = await os_.call("mcp.servers.update", id=view["id"], enabled=False)
    assert view["status"] == "disabled"
    llm_server.queue(text("ok"))
    await os_.chat("hi again")
    assert not any(name.startswith("docs__") for name in offered(llm_server, -1))


async def test_garbage_and_silence_are_readable_errors(os_: Os, fake: FakeMcpHttp) -> None:
    fake.servers["junk"] = FakeServer([tool("echo")], "garbage")
    fake.servers["mute"] = FakeServer([tool("echo")], "hang")
    junk = await add(os_, "junk", "junk")
    mute = await add(os_, "mute", "mute")

    assert junk["status"] == "error"
    assert junk["message"] == (
        "The MCP server at http://mcp.test/junk sent text that is not JSON: "
        '"<html>Welcome!</html>".'
    )
    assert mute["status"] == "error"
    assert (
        mute["message"]
        == "MCP server: Could not reach http://mcp.test/mute: no answer within 0.3 s"
    )
    statuses = [e["server"]["status"] for e in os_.named("mcp.status")]
    assert statuses[:2] == ["connecting", "error"]


async def test_server_dying_mid_call_gives_an_error_result_and_reconnects_on_next_use(
    os_: Os, fake: FakeMcpHttp, llm_server: Server
) -> None:
    server = fake.servers["docs"] = FakeServer([tool("echo")], "die")
    view = await add(os_)
    assert view["status"] == "connected"

    llm_server.queue(tool_calls([echo_call("one")]), text("The server failed."))
    done, chat = await os_.chat("echo one")
    assert done["status"] == "final"
    assert kinds(chat)[-2:] == ["tool", "assistant"]
    item = chat["items"][-2]
    assert item["status"] == "error"
    assert item["result"] == (
        "docs__echo failed: MCP server: The connection to http://mcp.test dropped: "
        "the server went away"
    )
    assert item["source"] == "docs"
    [listed] = await os_.call("mcp.servers.list")
    assert listed["status"] == "error"
    assert "dropped" in listed["message"]

    server.mode = "down"  # the next turn retries and says why it cannot
    llm_server.queue(tool_calls([echo_call("two")]), text("Still down."))
    _, chat = await os_.chat("echo two")
    item = chat["items"][-2]
    assert item["result"] == (
        "The MCP server 'docs' is unavailable: MCP server: Could not reach "
        "http://mcp.test/docs: connection refused"
    )

    server.mode = "sse"  # back: the next use reconnects
    llm_server.queue(tool_calls([echo_call("three")]), text("Back."))
    _, chat = await os_.chat("echo three")
    assert chat["items"][-2]["result"] == "Echo: <b>three</b>"
    [listed] = await os_.call("mcp.servers.list")
    assert listed["status"] == "connected"


async def test_secrets_update_and_removal(os_: Os, fake: FakeMcpHttp) -> None:
    fake.servers["docs"] = FakeServer([tool("echo")])
    view = await add(os_, token=TOKEN)
    view = await os_.call("mcp.servers.update", id=view["id"], name="Renamed Docs")
    assert view["name"] == "renamed-docs"
    assert view["has_token"] is True  # a blank token field keeps the stored one
    view = await os_.call("mcp.servers.update", id=view["id"], clear_secrets=True)
    assert view["has_token"] is False
    assert "Authorization" not in fake.servers["docs"].seen[-1]["headers"]
    error = await os_.fails("mcp.servers.update", id=view["id"], headers="no colon here")
    assert error["message"] == "Header line 1 is not 'Name: value'."

    await os_.call("mcp.servers.update", id=view["id"], token="second-token")
    await os_.call("mcp.servers.remove", id=view["id"])
    assert await os_.call("mcp.servers.list") == []
    assert [k for k in os_.service.secrets.as_dict() if k.startswith("mcp.")] == []
