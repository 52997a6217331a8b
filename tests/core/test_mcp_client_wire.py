"""The MCP client itself over the fake MCP wire of ``test_mcp_remote`` (so it runs inside
Pyodide too): resources/read, legacy sessions and their renewal, the 2026-07-28 envelope,
cancellation and timeouts of a call. The same client against real servers (the official SDK,
server-everything) is tested natively in tests/test_mcp_client.py and in e2e."""

from __future__ import annotations

import asyncio

import pytest
from llmos.mcp.client import MODERN_REVISION, McpClient, McpError
from llmos.platform.http import Http

from tests.core.test_mcp_remote import ROOT, FakeMcpHttp, FakeServer, tool


@pytest.fixture
def fake(http: Http) -> FakeMcpHttp:
    return FakeMcpHttp(http)


def methods(server: FakeServer) -> list[str]:
    return [str(s["message"].get("method")) for s in server.seen]


async def test_legacy_session_reads_a_resource_and_is_renewed_once_forgotten(
    fake: FakeMcpHttp,
) -> None:
    server = fake.servers["old"] = FakeServer([tool("echo")], "sse", legacy=True)
    client = McpClient(fake, f"{ROOT}/old", timeout_s=5)

    result = await client.read_resource("note://hello")
    assert result == {"contents": [{"uri": "note://hello", "text": "hello"}]}
    assert client.session_id == "session-1"
    assert server.seen[-1]["headers"]["Mcp-Session-Id"] == "session-1"

    server.expire_session = True
    assert (await client.call_tool("echo", {"message": "again"}))["content"][0]["text"] == (
        "Echo: <b>again</b>"
    )
    assert client.session_id == "session-2"
    assert methods(server)[-5:] == [
        "tools/call",
        "server/discover",
        "initialize",
        "notifications/initialized",
        "tools/call",
    ]


async def test_modern_revision_sends_its_envelope_and_routing_headers(fake: FakeMcpHttp) -> None:
    server = fake.servers["new"] = FakeServer([tool("echo")])
    client = McpClient(fake, f"{ROOT}/new", {"Authorization": "Bearer t"}, 5)
    await client.call_tool("echo", {"message": "x"})

    assert client.revision == MODERN_REVISION
    assert methods(server) == ["server/discover", "tools/call"]
    call = server.seen[-1]
    assert call["headers"]["Mcp-Method"] == "tools/call"
    assert call["headers"]["Mcp-Name"] == "echo"
    assert call["headers"]["MCP-Protocol-Version"] == MODERN_REVISION
    assert call["headers"]["Authorization"] == "Bearer t"
    meta = call["message"]["params"]["_meta"]
    assert meta["io.modelcontextprotocol/protocolVersion"] == MODERN_REVISION


async def test_cancelling_a_call_tells_a_legacy_server(fake: FakeMcpHttp) -> None:
    server = fake.servers["old"] = FakeServer([tool("echo")], legacy=True)
    server.hang_methods = {"tools/call"}
    client = McpClient(fake, f"{ROOT}/old", timeout_s=30)
    await client.connect()
    call = asyncio.ensure_future(client.call_tool("echo", {"message": "slow"}))
    while "tools/call" not in methods(server):
        await asyncio.sleep(0)  # yield until the request is on the wire (no wall-clock wait)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    while "notifications/cancelled" not in methods(server):
        await asyncio.sleep(0)
    cancelled = server.seen[-1]["message"]
    called = next(s["message"] for s in server.seen if s["message"].get("method") == "tools/call")
    assert cancelled["params"]["requestId"] == called["id"]


async def test_a_call_that_gets_no_answer_times_out_with_a_clear_error(
    fake: FakeMcpHttp,
) -> None:
    server = fake.servers["new"] = FakeServer([tool("echo")])
    server.hang_methods = {"tools/call"}
    client = McpClient(fake, f"{ROOT}/new", timeout_s=0.2)
    with pytest.raises(McpError) as raised:
        await client.call_tool("echo", {})
    assert raised.value.code == "network"
    assert str(raised.value) == (
        "MCP server: Could not reach http://mcp.test/new: no answer within 0.2 s"
    )
