"""The desktop hosting Panel applets: the page that runs a Panel app (``app_page``, made here
natively) in the desktop's own Panel window code, in the built site.

This machine's build has no Panel (numpy and pandas for Pyodide are on no registry here), so the
desktop would show the "how to enable Panel" page; the tests hand the real app page to the very
function the desktop calls for a build with Panel (``renderPanel``). Real Pyodide then boots in
the sandboxed frame from files the host serves on the page's port, finds no Panel in the lock,
and its error reaches the window and ``applets.report``. A hostile page gets nothing but the
Pyodide files and cannot reach the desktop; one stuck in a loop can be closed and leaves the
desktop and the kernel working. The agent is told when a Panel applet cannot run in this build.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

import llmos
from llmos.applets.model import parse_manifest
from llmos.applets.panel import APP_CSP, ENABLE_COMMAND, app_page
from playwright.sync_api import FrameLocator, Locator, Page, expect

from e2e.test_agent import connect, llm, send
from e2e.test_applets import tool_results, window
from tests.llm_server import ScriptedLLM, text, tool_calls

__all__ = ["llm"]  # the scripted LLM fixture

SYSTEM_APPLETS = Path(llmos.__file__).parent / "system" / "applets"
LOAN = "loan-calculator"
HOST = "window.llmosApplets.host"
PYODIDE_FILES = {
    "pyodide/pyodide.asm.mjs",
    "pyodide/pyodide.mjs",
    "pyodide/pyodide-lock.json",
    "pyodide/pyodide.asm.wasm",
    "pyodide/python_stdlib.zip",
}
REFUSED = [
    "pyodide/../index.html",
    "pyodide/..",
    "pyodide/%2e%2e%2findex.html",
    "pyodide/sub/x.whl",
    "/etc/passwd",
    "user/notes.md",
    "secrets.json",
    "../secrets.json",
    "https://example.com/x",
    42,
]

# A page that does what a hostile Panel app could: probes the desktop, calls the html applets'
# JSON-RPC bridge, sends junk on its port and asks for files outside pyodide/; then it reports an
# "error" holding HTML.
HOSTILE = """<!doctype html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="CSP"></head><body><pre id="out"></pre><script>
const found = {};
const probe = (name, fn) => {
  try { found[name] = "GOT " + String(fn()).slice(0, 80); }
  catch (e) { found[name] = "blocked " + e.name; }
};
probe("parent.document", () => parent.document.title);
probe("localStorage", () => localStorage.getItem("llmos-desktop-windows"));
parent.postMessage({ jsonrpc: "2.0", id: 1, method: "ui/initialize", params: {} }, "*");
parent.postMessage({ jsonrpc: "2.0", id: 2, method: "tools/call",
  params: { name: "execute_python", arguments: { code: "print(1)" } } }, "*");
addEventListener("message", (e) => {
  if (e.data?.jsonrpc) found.bridge = "ANSWERED " + JSON.stringify(e.data).slice(0, 80);
  if (e.data?.type !== "llmos-panel-init") return;
  const port = e.ports[0], paths = PATHS, replies = {};
  port.onmessage = ({ data }) => {
    if (data?.type !== "file") return;
    replies[data.reqId] = data.error ? "error: " + data.error : "bytes " + data.buffer.byteLength;
    if (Object.keys(replies).length < paths.length) return;
    document.getElementById("out").textContent = JSON.stringify({ found, replies });
    port.postMessage({ type: "panel-error", message: "<b>bold</b> is text" });
  };
  port.postMessage({ type: "unknown", path: "/etc/passwd" });
  paths.forEach((path, i) => port.postMessage({ type: "fetch", reqId: i, path }));
});
</script></body></html>"""

# A Panel page that gets its first file, then loops for ever (as `while True: pass` would).
SPIN = (
    """<!doctype html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="CSP"></head><body><p>spin</p><script>
addEventListener("message", (e) => {
  if (e.data?.type !== "llmos-panel-init") return;
  const port = e.ports[0];
  port.onmessage = () => { while (true) {} };
  port.postMessage({ type: "fetch", reqId: 1, path: "pyodide/pyodide-lock.json" });
});
</script></body></html>"""
).replace("CSP", APP_CSP)

# A Panel page that says it has rendered when the user clicks (as write_doc would, done).
RENDERED = """<!doctype html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="CSP"></head><body><button id="go">go</button>
<script>
addEventListener("message", (e) => {
  if (e.data?.type !== "llmos-panel-init") return;
  const port = e.ports[0];
  port.onmessage = (m) => { if (m.data?.type === "ping") port.postMessage({ type: "pong" }); };
  document.getElementById("go").onclick = () => port.postMessage({ type: "panel-rendered" });
});
</script></body></html>""".replace("CSP", APP_CSP)

ICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    '<circle cx="8" cy="8" r="7" fill="#3a7"/></svg>'
)


def loan_app_page() -> str:
    folder = SYSTEM_APPLETS / LOAN
    manifest = parse_manifest((folder / "manifest.json").read_text(), LOAN)
    return app_page(manifest, (folder / "app.py").read_text())


def render_panel(app: Page, name: str, html: str) -> None:
    """Hand a page to the desktop's Panel window code, as loadPanel does in a build with Panel."""
    app.evaluate(f"([name, html]) => {HOST}.windows.get(name).renderPanel(html)", [name, html])


def window_state(app: Page, name: str) -> Any:
    """What the window holds: its errors, the OS's answer to its applets.report, its sandbox."""
    app.wait_for_function(f"name => {HOST}.windows.get(name).reportSent", arg=name)
    return app.evaluate(
        f"""async (name) => {{
        const win = {HOST}.windows.get(name);
        return {{ errors: win.errors, report: await win.reportSent,
                  sandbox: win.frame?.getAttribute("sandbox") }}; }}""",
        name,
    )


def open_loan_window(app: Page) -> Locator:
    app.locator(f".applet-card-row[data-name='{LOAN}'] .applet-card").click()
    win = window(app, LOAN)
    expect(loan_frame(app).locator("body")).to_contain_text(
        ENABLE_COMMAND
    )  # this build has no Panel
    return win


def loan_frame(app: Page) -> FrameLocator:
    return app.frame_locator(f".applet-window[data-applet='{LOAN}'] iframe")


def served_pyodide_requests(app: Page) -> list[str]:
    requested: list[str] = []
    app.on("request", lambda request: requested.append(request.url))
    return requested


def test_the_desktop_boots_a_panel_page_from_served_files_and_contains_it(app: Page) -> None:
    win = open_loan_window(app)
    requested = served_pyodide_requests(app)

    # The real app page: Pyodide boots inside the applet's frame from files the host served,
    # then the page finds no Panel in this build's lock and says so over its port.
    started = time.monotonic()
    render_panel(app, LOAN, loan_app_page())
    expect(win.locator(".applet-status")).to_have_text(
        f"Error in the applet: Panel is not in this build: {ENABLE_COMMAND}", timeout=60_000
    )
    boot_s = time.monotonic() - started
    expect(loan_frame(app).get_by_role("status")).to_have_text(
        f"This Panel app failed: Panel is not in this build: {ENABLE_COMMAND}"
    )
    served = int(win.get_attribute("data-files-served") or 0)
    fetched = {url.split("/", 3)[3] for url in requested if "/pyodide/" in url}
    assert fetched >= PYODIDE_FILES, fetched
    assert served == len(PYODIDE_FILES), (served, fetched)
    state = window_state(app, LOAN)
    assert state["errors"] == [f"Panel is not in this build: {ENABLE_COMMAND}"]
    assert state["report"]["ok"], state["report"]
    assert state["report"]["result"] == {"name": LOAN, "version": 1}
    assert state["sandbox"] == "allow-scripts"  # an opaque origin: no same-origin access
    print(f"Pyodide in the applet frame: {boot_s:.1f} s to its error, {served} files served")

    requested.clear()
    hostile_page_gets_only_pyodide_files(app, win, requested)
    rendered_counts_as_painted(app, win)
    stuck_page_closes_and_the_kernel_answers(app, win)


def hostile_page_gets_only_pyodide_files(app: Page, win: Locator, requested: list[str]) -> None:
    """No bridge, no access to the desktop, nothing but pyodide/<file>; its "error" is text."""
    paths = json.dumps(["pyodide/pyodide-lock.json", *REFUSED])
    render_panel(app, LOAN, HOSTILE.replace("CSP", APP_CSP).replace("PATHS", paths))
    out = loan_frame(app).locator("#out")
    expect(out).to_contain_text("replies")
    seen = json.loads(out.inner_text())
    assert seen["found"] == {
        "parent.document": "blocked SecurityError",
        "localStorage": "blocked SecurityError",
    }
    replies = seen["replies"]
    assert replies.pop("0").startswith("bytes "), replies
    assert len(replies) == len(REFUSED)
    for reply in replies.values():
        assert "is not a Pyodide file of this build" in reply, reply
    leaked = [u for u in requested if any(w in u for w in ("passwd", "secrets", "user/", "index"))]
    assert leaked == [], leaked
    expect(win.locator(".applet-status")).to_have_text("Error in the applet: <b>bold</b> is text")
    expect(win.locator(".applet-status b")).to_have_count(0)


def rendered_counts_as_painted(app: Page, win: Locator) -> None:
    """The window's progress line goes; the report is clean."""
    render_panel(app, LOAN, RENDERED)
    expect(win.locator(".applet-status")).to_have_text("Starting Python and Panel…")
    loan_frame(app).locator("#go").click()
    expect(win.locator(".applet-status")).to_be_hidden()
    state = window_state(app, LOAN)
    assert state["errors"] == []
    assert state["report"]["ok"], state["report"]
    assert float(win.get_attribute("data-painted-ms") or "nan") > 0


def stuck_page_closes_and_the_kernel_answers(app: Page, win: Locator) -> None:
    """The desktop keeps answering; closing the window frees the frame, and the kernel, which
    shared its process, answers again."""
    render_panel(app, LOAN, SPIN)
    expect(win).to_have_attribute("data-files-served", "1")
    box = app.locator("#console-in")
    typing = time.monotonic()
    box.press_sequentially("6*7")
    expect(box).to_have_value("6*7")
    assert time.monotonic() - typing < 1.5
    # silent past the html applets' 5 s limit, it is still open: a Panel page booting Python
    # blocks for seconds and gets a longer grace
    app.wait_for_function(f"{HOST}.windows.get('{LOAN}').hung(performance.now(), 6500)")
    expect(win.locator("iframe")).to_have_count(1)
    win.get_by_role("button", name=f"Close {LOAN}").click()
    expect(win).to_have_count(0)
    assert app.evaluate("document.querySelectorAll('iframe.applet-frame').length") == 0
    assert app.evaluate("window.llmos.exec('6*7')")["result"] == "42"


def test_the_agent_learns_a_panel_applet_cannot_run_here_and_svg_icons_show(
    app: Page, llm: ScriptedLLM
) -> None:
    connect(app, llm)
    code = "import panel as pn\npn.pane.Markdown('hi').servable()"
    spec = {"name": "hello-panel", "title": "Hello", "description": "hi", "kind": "panel"}
    call = ("create_applet", json.dumps(spec | {"code": code}))
    llm.queue(text("1. Make it."), tool_calls([call]), text("Made."))
    send(app, "make a Panel applet")
    expect(app.locator("#chat-log")).to_contain_text("Made.")
    results = "\n".join(tool_results(llm))
    assert "Panel is not in this build" in results, results
    assert ENABLE_COMMAND in results, results

    # an applet whose icon is an .svg file of its own: the window's title shows it as an image
    manifest = {"name": "dot", "title": "Dot", "version": 1, "created_by": "user"}
    manifest |= {"kind": "html", "entry": "index.html", "icon": "icon.svg"}
    files = {"manifest.json": json.dumps(manifest), "index.html": "<p>dot</p>", "icon.svg": ICON}
    for path, body in files.items():
        reply = app.evaluate(
            "([path, text]) => window.llmos.request('fs.write', {path, text})",
            [f"user/applets/dot/{path}", body],
        )
        assert reply["ok"], reply
    assert json.loads(app.evaluate("window.llmosApplets.open('dot')"))["ok"]
    icon = window(app, "dot").locator(".applet-icon img")
    svg = f"data:image/svg+xml;base64,{base64.b64encode(ICON.encode()).decode()}"
    expect(icon).to_have_attribute("src", svg)
