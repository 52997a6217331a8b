"""LLMos applets served by ``llmos mcp`` render in an MCP Apps host built on the official host
library (npm ``@modelcontextprotocol/ext-apps``'s ``AppBridge``, with the SDK client it is made
for): the host connects over Streamable HTTP, finds each ``show_applet_<name>`` tool's
``ui://`` resource, renders it in the spec's double iframe (a sandbox proxy on another origin
with the spec's CSP as a header, the view in a sandboxed frame inside it), and lets the view's
tool calls reach the server. Chromium shows what a user of that host sees; no request leaves
this machine.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import FrameLocator, Page, Route, expect

from e2e.test_applets import CLIENT, SQUARES
from tests.test_mcp_server import SKILL, _env, serving_http

ROOT = Path(__file__).resolve().parents[1]
HOST_FILES = Path(__file__).resolve().parent / "mcp_apps_host"
# The npm packages the host page imports (the import map in host.html names their files).
SERVED_PACKAGES = (
    "@modelcontextprotocol/ext-apps",
    "@modelcontextprotocol/client",
    "@modelcontextprotocol/core",
    "zod",
    "jose",
    "pkce-challenge",
    "eventsource",
    "eventsource-parser",
)
NONE, SELF = "'none'", "'self'"
TYPES = {".html": "text/html", ".js": "text/javascript", ".mjs": "text/javascript"}
MISSING_TOOL = (
    "<!doctype html><html><head><meta charset='utf-8'><title>Ghost</title></head><body>"
    "<button id='go'>Call a tool</button><p id='out'>nothing yet</p><script>"
    + CLIENT
    + """
document.getElementById("go").onclick = async () => {
  await ready;
  const out = document.getElementById("out");
  try {
    const r = await rpc("tools/call", { name: "no_such_tool", arguments: {} });
    const text = r.content.map((c) => c.text).join(" ");
    out.textContent = r.isError ? "Error: " + text : text;
  } catch (error) {
    out.textContent = "Error: " + error.message;
  }
};
</script></body></html>"""
)


def _applet(folder: Path, name: str, html: str, permissions: list[str]) -> None:
    manifest = {
        "name": name,
        "title": name.title(),
        "description": f"The {name} applet.",
        "icon": "🧩",
        "version": 1,
        "created_by": "agent",
        "kind": "html",
        "entry": "index.html",
        "permissions": permissions,
    }
    (folder / "applets" / name).mkdir(parents=True)
    (folder / "applets" / name / "manifest.json").write_text(json.dumps(manifest))
    (folder / "applets" / name / "index.html").write_text(html)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("apps-host") / "ws"
    folder.mkdir()
    (folder / "notes.md").write_text("# Notes\nbuy milk\n")
    (folder / "skills" / SKILL.name).mkdir(parents=True)
    (folder / "skills" / SKILL.name / "SKILL.md").write_text(SKILL.to_markdown())
    _applet(folder, "squares", SQUARES, ["execute_python"])
    _applet(folder, "ghost", MISSING_TOOL, [])
    return folder


def _csp(declared: dict[str, list[str]]) -> str:
    """The view's CSP from its resource's ``_meta.ui.csp``: the spec's restrictive default,
    widened only by the domains the server declared."""

    def sources(key: str, default: str) -> str:
        domains = [d for d in declared.get(key, []) if d and not any(c in d for c in " ;,'")]
        return " ".join(domains) or default

    resources = sources("resourceDomains", "")
    return "; ".join(
        [
            "default-src 'none'",
            "object-src 'none'",
            f"script-src 'self' 'unsafe-inline' {resources}".strip(),
            f"style-src 'self' 'unsafe-inline' {resources}".strip(),
            f"img-src 'self' data: {resources}".strip(),
            f"media-src 'self' data: {resources}".strip(),
            f"font-src 'self' {resources}".strip(),
            "connect-src " + sources("connectDomains", NONE),
            "frame-src " + sources("frameDomains", NONE),
            "base-uri " + sources("baseUriDomains", SELF),
        ]
    )


class HostFiles(BaseHTTPRequestHandler):
    """The host page, its sandbox proxy (with the CSP header) and the npm files it imports."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        headers: dict[str, str] = {}
        if url.path == "/sandbox.html":
            declared = json.loads(parse_qs(url.query).get("csp", ["{}"])[0])
            headers["Content-Security-Policy"] = _csp(declared)
        file = self._file(url.path)
        if file is None:
            self.send_error(404)
            return
        body = file.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", TYPES.get(file.suffix, "application/octet-stream"))
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _file(self, path: str) -> Path | None:
        if path in ("/host.html", "/host.mjs", "/sandbox.html"):
            return HOST_FILES / path.lstrip("/")
        inner = path.removeprefix("/node_modules/")
        if inner == path or not inner.startswith(tuple(f"{p}/" for p in SERVED_PACKAGES)):
            return None
        file = (ROOT / "node_modules" / inner).resolve()
        modules = (ROOT / "node_modules").resolve()
        return file if file.is_relative_to(modules) and file.is_file() else None

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test reads what the page shows."""


def _serve_host_files() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), HostFiles)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def host_port() -> Iterator[int]:
    """The host page's origin."""
    yield from _serve_host_files()


@pytest.fixture(scope="module")
def sandbox_port() -> Iterator[int]:
    """The sandbox proxy's origin: another port, so another origin than the host's."""
    yield from _serve_host_files()


@pytest.fixture(scope="module")
def mcp_url(
    workspace: Path, host_port: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A real ``llmos mcp --http`` over the workspace, open to the host page's origin."""
    env = _env(tmp_path_factory.mktemp("apps-host-env"))
    with serving_http(workspace, env, "--allow-origin", f"http://127.0.0.1:{host_port}") as url:
        yield url


def _local_only(page: Page, blocked: list[str]) -> None:
    def guard(route: Route) -> None:
        host = urlsplit(route.request.url).hostname
        if host == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", guard)


def _view(page: Page, tool: str) -> FrameLocator:
    """The view's document: the inner frame of the tool's sandbox proxy."""
    return page.frame_locator(f".app[data-tool='{tool}'] iframe").frame_locator("iframe")


def _show(page: Page, tool: str) -> dict[str, Any]:
    shown: dict[str, Any] = page.evaluate("(tool) => window.mcpHost.show(tool)", tool)
    return shown


def test_official_host_renders_llmos_applets_and_forwards_their_tool_calls(
    page: Page, host_port: int, sandbox_port: int, mcp_url: str
) -> None:
    blocked: list[str] = []
    _local_only(page, blocked)
    page.goto(f"http://127.0.0.1:{host_port}/host.html")
    page.wait_for_function("() => window.mcpHost !== undefined")
    sandbox = f"http://127.0.0.1:{sandbox_port}/sandbox.html"
    listing = page.evaluate("([u, s]) => window.mcpHost.connect(u, s)", [mcp_url, sandbox])

    assert listing["server"]["name"] == "llmos"
    uris = {t["name"]: t["resourceUri"] for t in listing["tools"]}
    assert "execute_python" in uris  # the sandbox this test's applet needs is there
    for name in ("squares", "ghost", "file-viewer", "skill-browser", "memory-explorer"):
        assert uris[f"show_applet_{name}"] == f"ui://llmos/{name}"
    assert "show_applet_loan-calculator" not in uris  # a Panel applet is no MCP App

    # the agent-style applet: painted, and its button runs Python on the server
    squares = _show(page, "show_applet_squares")
    assert (squares["uri"], squares["mimeType"]) == (
        "ui://llmos/squares",
        "text/html;profile=mcp-app",
    )
    assert squares["app"] == {"name": "test", "version": "1"}
    assert squares["meta"] == {"csp": {}, "prefersBorder": True}  # read from contents._meta.ui
    assert not squares["result"].get("isError")
    # this host declared MCP Apps support, so the tool's text says the applet is shown
    [said] = squares["result"]["content"]
    assert said["text"] == "Showing the applet 'Squares' (ui://llmos/squares)."
    view = _view(page, "show_applet_squares")
    expect(view.locator("#out")).to_have_text("nothing yet")
    view.locator("#go").click()
    expect(view.locator("#out")).to_contain_text("1 4 9 16 25", timeout=30_000)
    # the empty _meta.ui.csp leaves the spec's default: the view reaches no server, not even
    # its own origin (where CORS would not stop it)
    reach = "(_, url) => fetch(url).then(() => 'reached', () => 'blocked')"
    assert view.locator("body").evaluate(reach, sandbox) == "blocked"

    # a shipped system applet, painted with the server's files
    _show(page, "show_applet_file-viewer")
    files = _view(page, "show_applet_file-viewer")
    files.get_by_role("button", name="📄 notes.md").click()
    expect(files.locator("#content")).to_have_text("# Notes\nbuy milk\n")
    expect(files.locator("#file-name")).to_have_text("user/notes.md")

    _show(page, "show_applet_skill-browser")
    skills = _view(page, "show_applet_skill-browser")
    expect(skills.locator("#status")).to_have_text("1 skill. Pick one to read it.")
    skills.get_by_role("button", name=SKILL.name).click()
    expect(skills.locator("#body")).to_contain_text("Run `scripts/summary.py <file>`")

    # a call to a tool the server lacks: the view shows the server's error, no hang
    _show(page, "show_applet_ghost")
    ghost = _view(page, "show_applet_ghost")
    ghost.locator("#go").click()
    expect(ghost.locator("#out")).to_contain_text("Error: There is no tool named 'no_such_tool'")

    # teardown: the view answers ui/resource-teardown, then the host removes it
    assert page.evaluate("() => window.mcpHost.close('show_applet_ghost')") == {}
    expect(page.locator(".app[data-tool='show_applet_ghost']")).to_have_count(0)
    assert blocked == []
