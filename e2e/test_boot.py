"""Boot: the shell paints before Python, a staged progress bar, the automation API, three rooms."""

from __future__ import annotations

from playwright.sync_api import Page, expect

import build
from e2e.conftest import wait_ready

RECORD_STAGES = """
window.__stages = [];
new MutationObserver(() => {
  const el = document.getElementById("boot-stage");
  const text = el && el.textContent;
  if (text && window.__stages.at(-1) !== text) window.__stages.push(text);
}).observe(document, { subtree: true, childList: true, characterData: true });
"""


def test_shell_paints_before_python_then_progress_reaches_ready(
    page: Page, app_server: build.Background
) -> None:
    page.add_init_script(RECORD_STAGES)
    page.goto(app_server.url + "/", wait_until="commit")
    page.wait_for_selector("#tree", state="attached")
    # The desktop shell is plain HTML: it is there while Python is still loading.
    assert page.evaluate("window.llmosTimings?.ready") is None
    expect(page.locator("h1")).to_have_text("LLMos")
    expect(page.locator("#boot")).to_be_visible()
    info = wait_ready(page)
    stages: list[str] = page.evaluate("window.__stages")
    assert any("Python runtime" in s for s in stages), stages
    assert any("LLMos package" in s for s in stages), stages
    assert stages[-1].endswith("(100%)"), stages
    expect(page.locator("#boot")).to_have_class("boot done")
    expect(page.locator("#status")).to_contain_text("Ready in")
    timings = page.evaluate("window.llmosTimings")
    assert timings["uiReady"] < timings["ready"], "the UI must be interactive before Python"
    assert info["storage"] == "opfs"


def test_automation_api_runs_python_in_the_kernel(app: Page) -> None:
    assert app.evaluate("window.llmos.version") == build.package_version()
    out = app.evaluate("window.llmos.exec('import sys\\nprint(sys.platform)\\n6 * 7')")
    assert out == {"stdout": "emscripten\n", "stderr": "", "result": "42", "error": None}
    failed = app.evaluate("window.llmos.exec('1/0')")
    assert failed["error"]["type"] == "ZeroDivisionError"
    assert "ZeroDivisionError" in failed["stderr"]
    assert failed["result"] is None


def test_cross_origin_isolated_when_the_host_sends_headers(app: Page) -> None:
    assert app.evaluate("self.crossOriginIsolated") is True
    expect(app.locator("#status")).to_contain_text("isolated")


def test_kernel_is_keyless_it_cannot_reach_the_os_storage(app: Page) -> None:
    # The OS keeps its secrets in this origin's storage; plant a canary there.
    app.evaluate(
        """async () => {
          const root = await navigator.storage.getDirectory();
          const dir = await root.getDirectoryHandle("os-private", { create: true });
          const file = await dir.getFileHandle("secrets.json", { create: true });
          const w = await file.createWritable();
          await w.write('{"api_key": "CANARY-7f3a"}');
          await w.close();
          localStorage.setItem("k", "CANARY-7f3a");
        }"""
    )
    hostile = """
import js
tries = {}
async def attempt(name, coro_fn):
    try:
        tries[name] = repr(await coro_fn())[:200]
    except BaseException as e:
        tries[name] = "blocked: " + type(e).__name__
async def opfs():
    root = await js.navigator.storage.getDirectory()
    d = await root.getDirectoryHandle("os-private")
    f = await (await d.getFileHandle("secrets.json")).getFile()
    return await f.text()
async def idb():
    return js.indexedDB.open("llmos")
async def local():
    return js.localStorage.getItem("k")
async def net():
    return await (await js.fetch("http://127.0.0.1:1/")).text()
async def caches():
    return await js.caches.keys()
async def parent_doc():
    return js.parent.document.cookie
for name, fn in [("opfs", opfs), ("idb", idb), ("local", local), ("net", net),
                 ("caches", caches), ("parent", parent_doc)]:
    await attempt(name, fn)
tries
"""
    out = app.evaluate("(code) => window.llmos.exec(code)", hostile)
    assert out["error"] is None, out["stderr"]
    assert "CANARY" not in out["result"]
    assert out["result"].count("blocked") == 6, out["result"]


def test_an_os_worker_crash_is_reported_and_nothing_hangs(
    page: Page, app_server: build.Background
) -> None:
    page.route(
        "**/bridges/os-worker.mjs*",
        lambda route: route.fulfill(
            content_type="text/javascript", body="throw new Error('simulated crash');"
        ),
    )
    page.goto(app_server.url + "/")
    expect(page.locator("#notice")).to_contain_text("The OS worker crashed", timeout=30_000)
    expect(page.locator("#notice")).to_contain_text("Your files are safe")
    reply = page.evaluate("window.llmos.request('fs.list', {path: 'user'})")
    assert reply["ok"] is False
    assert reply["error"]["code"] == "crashed"
    # The kernel does not depend on the OS: Python still runs, from scratch.
    assert page.evaluate("window.llmos.exec('2 ** 10')")["result"] == "1024"
