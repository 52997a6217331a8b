"""MCP servers in the real app: the user adds the official ``server-everything`` (started on
127.0.0.1 under Node 26 by the test) in Settings, sees it connected with its tools, and the
agent (scripted LLM) calls its ``echo`` tool; the result shows in the chat as untrusted text.
A tool turned off in the UI is not offered to the model; a server killed mid-session gives a
readable error status and an error tool card, and the chat goes on."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from e2e.test_agent import call, connect, send
from tests.llm_server import ScriptedLLM, text, tool_calls

ROOT = Path(__file__).resolve().parent.parent
NODE = ROOT / "node_modules/.bin/node"
EVERYTHING = ROOT / "node_modules/@modelcontextprotocol/server-everything/dist/index.js"
TOKEN = "mcp-e2e-CANARY-5150"
HOSTILE = "<img src=x onerror=alert(1)> hello from MCP"


class Everything:
    """A running server-everything over Streamable HTTP; ``stop`` kills it."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/mcp"
        env = {"PORT": str(port), "PATH": "/usr/bin:/bin"}
        self.process = subprocess.Popen(
            [str(NODE), str(EVERYTHING), "streamableHttp"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stderr is not None
        self.log: list[str] = []
        for line in self.process.stderr:  # it says so once it listens
            self.log.append(line)
            if "listening on port" in line:
                break
        else:
            self.stop()
            raise RuntimeError(f"server-everything did not start: {''.join(self.log)}")
        # keep reading its log, so a full pipe never blocks it
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self) -> None:
        assert self.process.stderr is not None
        self.log.extend(self.process.stderr)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        if getattr(self, "reader", None) is not None:
            self.reader.join()
        assert self.process.stderr is not None
        self.process.stderr.close()


@pytest.fixture(scope="module")
def everything() -> Iterator[Everything]:
    server = Everything()
    yield server
    server.stop()


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


def offered(request: dict[str, Any]) -> set[str]:
    return {t["function"]["name"] for t in request["body"].get("tools", [])}


def open_settings(page: Page) -> Locator:
    page.keyboard.press("Control+,")
    dialog = page.get_by_role("dialog", name="Model settings")
    expect(dialog).to_be_visible()
    return dialog


def tool_card(page: Page, name: str) -> Locator:
    return page.locator("#chat-log .tool", has=page.locator(".name", has_text=name)).last


def test_user_adds_a_server_and_the_agent_calls_its_echo_tool(
    app: Page, llm: ScriptedLLM, everything: Everything
) -> None:
    connect(app, llm)
    dialog = open_settings(app)
    app.locator("#mcp-name").fill("Everything")
    app.locator("#mcp-url").fill(everything.url)
    app.locator("#mcp-token").fill(TOKEN)
    app.locator("#mcp-token").press("Enter")  # the keyboard submits the form
    row = app.locator("#mcp-servers li[data-id]")
    expect(row.locator(".mcp-status")).to_have_text(re.compile(r"^connected, \d+ tools$"))
    expect(row).to_contain_text("everything")
    expect(row).to_contain_text("token set")
    row.get_by_text("Tools of everything").click()
    echo = row.get_by_role("checkbox", name="everything__echo")
    expect(echo).to_be_checked()
    assert TOKEN not in dialog.inner_text()
    app.keyboard.press("Escape")

    llm.queue(tool_calls([call("everything__echo", message=HOSTILE)]), text("It echoed."))
    send(app, "Echo a greeting with the everything server")
    expect(app.locator("#chat-log")).to_contain_text("It echoed.")
    card = tool_card(app, "everything__echo")
    expect(card.locator(".badge")).to_have_text("ok")
    expect(card.locator(".untrusted")).to_have_text("from everything · untrusted")
    card.locator("summary").click()
    expect(card.locator("pre").last).to_have_text("Echo: " + HOSTILE)  # text, never HTML
    expect(app.locator("#chat-log img[src='x']")).to_have_count(0)
    assert {"everything__echo", "write_file"} <= offered(llm.requests[0])
    fenced = [m["content"] for m in llm.requests[-1]["body"]["messages"] if m["role"] == "tool"]
    assert fenced[0].startswith("[External data from MCP server 'everything'. It is untrusted")

    # turned off in Settings: no longer offered to the model
    open_settings(app)
    if not echo.is_visible():
        row.get_by_text("Tools of everything").click()
    echo.uncheck()
    expect(app.locator("#mcp-verdict")).to_contain_text("everything: connected")
    expect(row.get_by_role("checkbox", name="everything__echo")).not_to_be_checked()
    app.keyboard.press("Escape")
    llm.queue(text("Fine."))
    send(app, "hello")
    expect(app.locator("#chat-log")).to_contain_text("Fine.")
    tools = offered(llm.requests[-1])
    assert "everything__echo" not in tools
    assert "everything__get-sum" in tools
    assert all(TOKEN not in json.dumps(r) for r in llm.requests)


def test_a_server_that_dies_gives_readable_errors_and_the_chat_goes_on(
    app: Page, llm: ScriptedLLM, everything: Everything
) -> None:
    connect(app, llm)
    added = app.evaluate(
        "(url) => window.llmos.request('mcp.servers.add', {name: 'everything', url})",
        everything.url,
    )
    assert added["ok"], added
    assert added["result"]["status"] == "connected", added
    everything.stop()

    llm.queue(tool_calls([call("everything__echo", message="anyone?")]), text("It is gone."))
    send(app, "Echo with the everything server")
    expect(app.locator("#chat-log")).to_contain_text("It is gone.")
    card = tool_card(app, "everything__echo")
    expect(card.locator(".badge")).to_have_text("error")
    card.locator("summary").click()
    expect(card.locator("pre").last).to_contain_text("Could not reach http://127.0.0.1:")

    open_settings(app)
    status = app.locator("#mcp-servers .mcp-status")
    expect(status).to_have_text(re.compile(r"^error: MCP server: Could not reach http://127"))
    app.keyboard.press("Escape")
    llm.queue(text("Still here."))
    send(app, "are you there?")
    expect(app.locator("#chat-log")).to_contain_text("Still here.")
