"""``llmos mcp`` against real peers: the official SDK's client over stdio and Streamable HTTP,
and raw HTTP/stdio for the security checks and malformed JSON-RPC."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from llmos.agent.tools import TOOLS
from llmos.mcp.server import exposed_tools
from llmos.skills.spec import Skill
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.test_cli import llmos_cmd

REVISIONS = ["legacy", "2026-07-28"]  # legacy: the 2025-11-25 initialize handshake
TOKEN = "test-token-0a9f"
ALLOWED = "http://app.example"
SKILL = Skill(
    "summarize-csv",
    "Summarise a CSV file: rows and totals. Use for .csv files.",
    "# Summarise a CSV\n\nRun `scripts/summary.py <file>`; say: done.",
)
LAUNCH = "import sys; from llmos.cli import main; sys.exit(main(sys.argv[1:]))"
PAGE = "<!doctype html><title>Units</title><p>1 km = 0.621 mi</p>"
UNITS = {
    "name": "unit-converter",
    "title": "Unit converter",
    "description": "Converts km to miles.",
    "icon": "📏",
    "version": 3,
    "created_by": "agent",
    "kind": "html",
    "entry": "index.html",
    "permissions": [],
}
APPLETS = {"unit-converter": UNITS, "broken-applet": {"name": "broken-applet"}}


def _memory_installed() -> bool:
    try:
        from llmos.platform.native_embedder import find_model

        find_model()
    except Exception:
        return False
    return True


EXPECTED_TOOLS = exposed_tools(_memory_installed())
# Offered besides when this machine has its sandbox (Node >= 25 + pyodide); its own tests say when.
OPTIONAL_TOOLS = {"execute_python"}


def file_and_memory_tools(names: list[str]) -> list[str]:
    """The listed tool names this file checks exactly: all but the optional ones and the
    applets' (checked in ``_check_applets``)."""
    return [n for n in names if n not in OPTIONAL_TOOLS and not n.startswith("show_applet_")]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    (folder / "chats").mkdir(parents=True)
    (folder / "notes.md").write_text("# Notes\nbuy milk\n")
    (folder / "chats" / "c1.json").write_text("{}")
    (folder / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    (folder / "skills" / "summarize-csv").mkdir(parents=True)
    (folder / "skills" / "summarize-csv" / "SKILL.md").write_text(SKILL.to_markdown())
    (folder / "skills" / "broken").mkdir()
    (folder / "skills" / "broken" / "SKILL.md").write_text("---\nname: other\n---\nBROKEN")
    for name, manifest in APPLETS.items():
        (folder / "applets" / name).mkdir(parents=True)
        (folder / "applets" / name / "manifest.json").write_text(json.dumps(manifest))
        (folder / "applets" / name / "index.html").write_text(PAGE)
    return folder


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "LLMOS_MEMORY": str(tmp_path / "memory"), **extra}


def _stdio(workspace: Path, tmp_path: Path) -> StdioServerParameters:
    args = ["-c", LAUNCH, "mcp", "--workspace", str(workspace)]
    return StdioServerParameters(command=sys.executable, args=args, env=_env(tmp_path))


def _text(result: Any) -> str:
    return "\n".join(block.text for block in result.content)


async def _check_session(client: Client, workspace: Path) -> None:
    """The session a user's MCP client runs: tools, a write and a read, errors, resources."""
    tools = (await client.list_tools()).tools
    listed = [t for t in tools if t.name in file_and_memory_tools([t.name])]
    assert [t.name for t in listed] == EXPECTED_TOOLS
    for tool, spec in zip(listed, TOOLS.specs(EXPECTED_TOOLS), strict=True):
        assert (tool.description, tool.input_schema) == (spec.description, spec.input_schema)

    wrote = await client.call_tool("write_file", {"path": "plans/today.md", "content": "ship"})
    assert not wrote.is_error, _text(wrote)
    assert (workspace / "plans" / "today.md").read_text() == "ship"
    read = await client.call_tool("read_file", {"path": "plans/today.md"})
    assert (_text(read), read.is_error) == ("ship", False)

    bad = await client.call_tool("read_file", {"name": "notes.md"})
    assert bad.is_error
    assert _text(bad) == "Invalid arguments for read_file: arguments is missing 'path'."

    escape = await client.call_tool("write_file", {"path": "../outside.txt", "content": "x"})
    assert escape.is_error
    assert "leaves its folder" in _text(escape)
    assert not (workspace.parent / "outside.txt").exists()

    hidden = await client.call_tool("delete_file", {"path": "notes.md"})
    assert hidden.is_error
    assert "no tool named 'delete_file'" in _text(hidden)
    assert (workspace / "notes.md").exists()

    uris = {str(r.uri) for r in (await client.list_resources()).resources}
    assert {"llmos://user/notes.md", "llmos://user/plans/today.md"} <= uris
    assert not any("chats/" in uri or "logo.png" in uri for uri in uris)
    contents = (await client.read_resource("llmos://user/notes.md")).contents
    assert contents[0].text == "# Notes\nbuy milk\n"  # type: ignore[union-attr]
    await _check_skills(client)
    await _check_applets(client)


async def _check_applets(client: Client) -> None:
    """Each valid html applet is an MCP App (SEP-1865): a ``ui://`` resource of the MCP App
    type holding its page, and a tool whose ``_meta.ui.resourceUri`` points at it."""
    resources = (await client.list_resources()).resources
    apps = {str(r.uri): r for r in resources if str(r.uri).startswith("ui://")}
    units = apps["ui://llmos/unit-converter"]
    assert (units.mime_type, units.title, units.description) == (
        "text/html;profile=mcp-app",
        "Unit converter",
        "Converts km to miles.",
    )
    assert "ui://llmos/memory-explorer" in apps  # a shipped applet is one too
    assert "ui://llmos/broken-applet" not in apps
    assert "ui://llmos/loan-calculator" not in apps  # a Panel applet is not HTML
    [content] = (await client.read_resource("ui://llmos/unit-converter")).contents
    assert (content.text, content.mime_type) == (PAGE, "text/html;profile=mcp-app")  # type: ignore[union-attr]
    with pytest.raises(MCPError, match="no html applet is called that"):
        await client.read_resource("ui://llmos/broken-applet")

    tools = {t.name: t for t in (await client.list_tools()).tools}
    show = tools["show_applet_unit-converter"]
    assert show.meta is not None
    assert show.meta["ui"] == {"resourceUri": "ui://llmos/unit-converter"}
    assert show.title == "Unit converter"
    shows = {t.meta["ui"]["resourceUri"] for t in tools.values() if t.meta and "ui" in t.meta}
    assert shows == set(apps)  # every app has its tool, and every tool's page is listed
    # this client declared no MCP Apps support: the tool says so instead of "Showing" (the
    # official host in tests/test_mcp_apps_host.py, which declares it, gets "Showing")
    shown = await client.call_tool("show_applet_unit-converter", {})
    assert not shown.is_error
    assert _text(shown) == (
        "'Unit converter' is an interactive LLMos applet (ui://llmos/unit-converter), and this "
        "client does not render MCP Apps, so it cannot be shown here. What it does: Converts km "
        "to miles. Open it on the LLMos desktop or in an MCP Apps host."
    )
    unknown = await client.call_tool("show_applet_broken-applet", {})
    assert unknown.is_error


async def _check_skills(client: Client) -> None:
    """Every valid skill of the workspace is a prompt and a markdown resource; a broken one
    is neither."""
    prompts = (await client.list_prompts()).prompts
    assert [(p.name, p.description) for p in prompts] == [(SKILL.name, SKILL.description)]
    prompt = await client.get_prompt(SKILL.name)
    assert prompt.description == SKILL.description
    [message] = prompt.messages
    assert (message.role, message.content.type) == ("user", "text")
    assert message.content.text == SKILL.body  # type: ignore[union-attr]
    with pytest.raises(MCPError, match="Unknown prompt 'broken'"):
        await client.get_prompt("broken")

    resources = (await client.list_resources()).resources
    [skill] = [r for r in resources if str(r.uri).startswith("llmos://skills/")]
    assert (str(skill.uri), skill.mime_type) == (
        f"llmos://skills/{SKILL.name}/SKILL.md",
        "text/markdown",
    )
    contents = (await client.read_resource(f"llmos://skills/{SKILL.name}/SKILL.md")).contents
    assert contents[0].text == SKILL.to_markdown()  # type: ignore[union-attr]
    assert contents[0].mime_type == "text/markdown"
    with pytest.raises(MCPError, match="no enabled skill"):
        await client.read_resource("llmos://skills/broken/SKILL.md")


@pytest.mark.parametrize("mode", REVISIONS)
async def test_stdio_session(workspace: Path, tmp_path: Path, mode: Any) -> None:
    async with Client(_stdio(workspace, tmp_path), mode=mode) as client:
        expected = "2025-11-25" if mode == "legacy" else mode
        assert client.protocol_version == expected
        await _check_session(client, workspace)


async def test_the_server_declares_mcp_apps_to_a_discovering_client(
    workspace: Path, tmp_path: Path
) -> None:
    async with Client(_stdio(workspace, tmp_path)) as client:  # "auto": server/discover
        extensions = client.server_capabilities.extensions
        assert extensions == {"io.modelcontextprotocol/ui": {}}


async def test_stdio_memory_remembers_and_recalls(workspace: Path, tmp_path: Path) -> None:
    async with Client(_stdio(workspace, tmp_path)) as client:
        if "remember" not in EXPECTED_TOOLS:  # no embedder here: memory tools are not offered
            names = [t.name for t in (await client.list_tools()).tools]
            assert "remember" not in names
            assert "recall" not in names
            return
        stored = await client.call_tool("remember", {"text": "The cat is called Zorro."})
        assert not stored.is_error
        assert "[m" in _text(stored)
        found = await client.call_tool("recall", {"query": "what is the cat's name"})
        assert "Zorro" in _text(found)


def _oversized_write() -> dict[str, Any]:
    """A 20 MB write_file call: over the 4 MiB cap of one message on either transport."""
    arguments = {"path": "big.txt", "content": "x" * 20_000_000}
    return {"method": "tools/call", "params": {"name": "write_file", "arguments": arguments}}


def test_stdio_malformed_and_unknown_method_keep_serving(workspace: Path, tmp_path: Path) -> None:
    server = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, "mcp", "--workspace", str(workspace)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=_env(tmp_path),
        text=True,
    )
    assert server.stdin is not None
    assert server.stdout is not None
    try:
        replies = []
        lines = ["{not json", json.dumps({"jsonrpc": "2.0", "id": 7, "method": "no/such"})]
        lines.append(json.dumps({"jsonrpc": "2.0", "id": 9, **_oversized_write()}))
        for line in lines:
            server.stdin.write(line + "\n")
            server.stdin.flush()
            replies.append(json.loads(server.stdout.readline()))
        assert replies[0]["error"]["code"] == -32700
        assert (replies[1]["id"], replies[1]["error"]["code"]) == (7, -32601)
        assert (replies[2]["id"], replies[2]["error"]["code"]) == (9, -32600)
        assert replies[2]["error"]["message"].startswith("Request too large: 2000")
        assert not (workspace / "big.txt").exists()
        ping = {"jsonrpc": "2.0", "id": 8, "method": "ping", "params": {}}
        server.stdin.write(json.dumps(ping) + "\n")
        server.stdin.flush()
        assert json.loads(server.stdout.readline()) == {"jsonrpc": "2.0", "id": 8, "result": {}}
    finally:
        server.stdin.close()
        assert server.wait(timeout=10) == 0  # the client closed stdin: a clean exit
        server.stdout.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_listening(server: subprocess.Popen[bytes], port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert server.poll() is None, "llmos mcp --http exited before listening"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"llmos mcp --http did not listen on {port} within 30 s")


@contextmanager
def serving_http(workspace: Path, env: dict[str, str], *options: str) -> Iterator[str]:
    """A real ``llmos mcp --http`` over ``workspace`` on a free port, with ``options``; yields
    its URL, and checks on the way out that the token never reached its stderr."""
    port = _free_port()
    command = [sys.executable, "-c", LAUNCH, "mcp", "--workspace", str(workspace)]
    server = subprocess.Popen(
        [*command, "--http", str(port), *options], env=env, stderr=subprocess.PIPE
    )
    try:
        _wait_until_listening(server, port)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=10)
        assert TOKEN.encode() not in stderr


@pytest.fixture
def http_server(workspace: Path, tmp_path: Path) -> Iterator[str]:
    env = _env(tmp_path, LLMOS_TEST_MCP_TOKEN=TOKEN)
    options = ("--allow-origin", ALLOWED, "--token-env", "LLMOS_TEST_MCP_TOKEN")  # a bare port
    with serving_http(workspace, env, *options) as url:
        yield url


@pytest.mark.parametrize("mode", REVISIONS)
async def test_http_session(http_server: str, workspace: Path, mode: Any) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx2.AsyncClient(headers=headers) as http:
        transport = streamable_http_client(http_server, http_client=http)
        async with Client(transport, mode=mode) as client:
            expected = "2025-11-25" if mode == "legacy" else mode
            assert client.protocol_version == expected
            await _check_session(client, workspace)


MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientCapabilities": {},
}


def _post(url: str, body: str | dict[str, Any], **headers: str) -> httpx.Response:
    """One raw 2026-07-28 request, with the token unless ``headers`` say otherwise."""
    sent = {
        "Authorization": f"Bearer {TOKEN}",
        "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2026-07-28",
    }
    if isinstance(body, dict):
        sent["Mcp-Method"] = body["method"]
        body = json.dumps({"jsonrpc": "2.0", "id": 1, **body, "params": {"_meta": MODERN_META}})
    sent.update(headers)
    return httpx.post(url, content=body, headers={k: v for k, v in sent.items() if v})


def test_http_refuses_foreign_origins_and_missing_tokens(http_server: str) -> None:
    listing = {"method": "tools/list"}
    assert _post(http_server, listing).status_code == 200
    foreign = _post(http_server, listing, Origin="http://evil.example")
    assert foreign.status_code == 403
    assert "access-control-allow-origin" not in foreign.headers
    preflight = httpx.options(
        http_server,
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 403
    own = http_server.removesuffix("/mcp")  # a page the server itself would serve
    assert _post(http_server, listing, Origin=own).status_code == 200
    other_port = f"http://127.0.0.1:{_free_port()}"  # another local site
    assert _post(http_server, listing, Origin=other_port).status_code == 403
    rebound = {"Host": "evil.example:80", "Origin": "http://evil.example:80"}
    assert _post(http_server, listing, **rebound).status_code == 403
    assert _post(http_server, listing, Authorization="").status_code == 401
    wrong = _post(http_server, listing, Authorization="Bearer not-the-token")
    assert (wrong.status_code, wrong.headers["www-authenticate"]) == (401, "Bearer")


def test_http_sends_cors_headers_to_allowed_origins_only(http_server: str) -> None:
    preflight = httpx.options(
        http_server,
        headers={
            "Origin": ALLOWED,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, mcp-method",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "authorization" in preflight.headers["access-control-allow-headers"]
    answered = _post(http_server, {"method": "tools/list"}, Origin=ALLOWED)
    assert answered.status_code == 200
    assert answered.headers["access-control-allow-origin"] == ALLOWED
    assert "mcp-session-id" in answered.headers["access-control-expose-headers"].lower()
    names = [t["name"] for t in answered.json()["result"]["tools"]]
    assert file_and_memory_tools(names) == EXPECTED_TOOLS
    plain = _post(http_server, {"method": "tools/list"})
    assert "access-control-allow-origin" not in plain.headers


def test_http_malformed_and_unknown_method_keep_serving(http_server: str) -> None:
    assert _post(http_server, "{not json").json()["error"]["code"] == -32700
    assert _post(http_server, "[1, 2]").json()["error"]["code"] == -32600
    unknown = _post(http_server, {"method": "no/such"}).json()
    assert unknown["error"]["code"] == -32601
    assert _post(http_server, {"method": "tools/list"}).json()["result"]["tools"]


def test_http_invalid_params_and_oversized_requests_keep_serving(
    http_server: str, workspace: Path
) -> None:
    nameless = _post(http_server, {"method": "tools/call"}, **{"Mcp-Name": "write_file"})
    assert nameless.json()["error"]["code"] == -32602
    call = _oversized_write()
    body = {"jsonrpc": "2.0", "id": 1, **call}
    body["params"]["_meta"] = MODERN_META
    headers = {"Mcp-Method": "tools/call", "Mcp-Name": "write_file"}
    too_big = _post(http_server, json.dumps(body), **headers)
    assert (too_big.status_code, too_big.text) == (413, "Request body too large")
    assert not (workspace / "big.txt").exists()
    assert _post(http_server, {"method": "tools/list"}).json()["result"]["tools"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--http", "localhost:http"], "--http takes [HOST:]PORT"),
        (["--http", "70000"], "--http takes [HOST:]PORT"),
        (["--http", "127.0.0.1:8765", "--token-env", "LLMOS_TEST_UNSET"], "empty or unset"),
    ],
)
def test_bad_options_are_refused_before_serving(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, options: list[str], message: str
) -> None:
    monkeypatch.delenv("LLMOS_TEST_UNSET", raising=False)
    out = llmos_cmd("mcp", "--workspace", str(workspace), *options)
    assert out.returncode == 1
    assert message in out.stderr.decode()
    assert "Traceback" not in out.stderr.decode()
