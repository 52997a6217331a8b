"""Every shipped Panel applet, run natively: CPython Panel serves it on 127.0.0.1 and Chromium
uses it the way a person would (types in a widget; the output bound to it changes). Nothing is
loaded from another origin: a route guard aborts any request not to the Panel server.

In the browser, with this machine's default build (no Panel: numpy and pandas for Pyodide are on
no registry here), a Panel applet's sandboxed frame says how to enable Panel, and the page that
would run the app boots Pyodide inside the sandbox from the host's files and stops with that
message too; never a blank frame.

Also how a build gets Panel: ``build.py build --pyodide-packages DIR_OR_URL --packages panel``
takes numpy, pandas & co from the Pyodide distribution and the pure wheels it lacks from the
pins in wheels/panel-wheels.json.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import panel as pn
import pytest
from llmos.applets.model import parse_manifest
from llmos.applets.panel import (
    APP_CSP,
    ENABLE_COMMAND,
    INLINE_STYLESHEETS,
    app_page,
    missing_for_panel,
    panel_page,
)
from playwright.sync_api import Page, Route, expect

import build
from tests.test_pyodide_packages import _wheel, lock_entry

SYSTEM_APPLETS = Path(__file__).resolve().parents[1] / "pyapp" / "llmos" / "system" / "applets"


def _panel_applets() -> list[Path]:
    found = []
    for manifest_path in sorted(SYSTEM_APPLETS.glob("*/manifest.json")):
        manifest = json.loads(manifest_path.read_text())
        if manifest["kind"] == "panel":
            found.append(manifest_path.parent / manifest["entry"])
    return found


PANEL_APPLETS = _panel_applets()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def panel_server() -> Iterator[str]:
    """One Panel server for all shipped Panel applets, each at /<applet name>."""
    port = _free_port()
    apps = {app.parent.name: str(app) for app in PANEL_APPLETS}
    server = pn.serve(  # type: ignore[no-untyped-call]
        apps,
        port=port,
        address="127.0.0.1",
        websocket_origin=[f"127.0.0.1:{port}"],
        threaded=True,
        show=False,
    )
    yield f"http://127.0.0.1:{port}"
    server.stop()


def _same_origin_only(page: Page, origin: str) -> list[str]:
    blocked: list[str] = []

    def guard(route: Route) -> None:
        if route.request.url.startswith(origin + "/"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    return blocked


def test_every_shipped_panel_applet_is_tested() -> None:
    assert [app.parent.name for app in PANEL_APPLETS] == ["loan-calculator"]


def test_loan_calculator_widgets_drive_the_summary(page: Page, panel_server: str) -> None:
    blocked = _same_origin_only(page, panel_server)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{panel_server}/loan-calculator")
    summary = page.get_by_text(re.compile(r"Monthly payment:"))
    # 200,000 over 25 years at 4 % a year.
    expect(summary).to_have_text("Monthly payment: 1,055.67")
    amount = page.get_by_label("Amount borrowed")
    amount.fill("100000")
    amount.press("Enter")
    expect(summary).to_have_text("Monthly payment: 527.84")
    expect(page.get_by_text(re.compile(r"^Total repaid"))).to_have_text(
        "Total repaid: 158,351.05 (interest 58,351.05)"
    )
    # The slider by keyboard: one step down, 25 -> 24 years.
    years = page.get_by_role("slider").nth(1)
    years.focus()
    years.press("ArrowLeft")
    expect(summary).to_have_text("Monthly payment: 540.69")
    assert blocked == []
    assert errors == []


# What only a Pyodide distribution has (compiled for WebAssembly); the rest Panel needs is pure.
COMPILED = ["numpy", "pandas", "contourpy", "pillow", "pyyaml", "markupsafe", "nh3"]
DEPENDS = {"pandas": ["numpy", "tzdata"], "contourpy": ["numpy"]}  # tzdata: a pinned pure one


@pytest.fixture(scope="module")
def distribution(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Pyodide distribution with stand-ins for the compiled packages, and its own packaging
    (which must win over the pinned one)."""
    folder = tmp_path_factory.mktemp("pyodide-dist")
    info = json.loads((build.NODE / "pyodide" / "pyodide-lock.json").read_text())["info"]
    packages = {}
    for name in [*COMPILED, "packaging"]:
        wheel = _wheel(folder, name, {f"{name}/__init__.py": ""}, [])
        packages[name] = lock_entry(wheel, name, [name], DEPENDS.get(name, []))
    (folder / "pyodide-lock.json").write_text(json.dumps({"info": info, "packages": packages}))
    return folder


def _lock(distribution: Path) -> dict[str, Any]:
    lock: dict[str, Any] = json.loads((distribution / "pyodide-lock.json").read_text())
    return lock


def test_packages_panel_resolves_compiled_from_the_distribution_and_pure_from_the_pins(
    distribution: Path,
) -> None:
    lock = build.with_pure_wheels(_lock(distribution))
    order = build.resolve_pyodide_packages(lock, ["panel"])
    pinned = {w["name"] for w in json.loads(build.PURE_WHEELS_LOCK.read_text())["wheels"]}
    assert set(order) == set(COMPILED) | pinned | {"packaging"}
    assert {key for key in order if lock["packages"][key].get("pinned")} == pinned - {"packaging"}
    cycle = {"panel", "panel-material-ui"}  # they need each other
    for key in order:
        for dep in lock["packages"][key]["depends"]:
            if not {key, dep} <= cycle:
                assert order.index(dep) < order.index(key), (dep, key)


def test_a_distribution_without_a_compiled_dependency_is_named(distribution: Path) -> None:
    lock = _lock(distribution)
    del lock["packages"]["nh3"]
    with pytest.raises(SystemExit, match=r"no package 'nh3' \(a dependency of 'panel'\)"):
        build.resolve_pyodide_packages(build.with_pure_wheels(lock), ["panel"])


def test_pinned_pure_wheels_are_fetched_checked_and_listed(
    distribution: Path, tmp_path: Path
) -> None:
    entries = build.vendor_pyodide_packages(str(distribution), ["pyviz_comms"], tmp_path)
    assert [(e["name"], e["version"]) for e in entries] == [
        ("param", "2.4.2"),
        ("pyviz-comms", "3.0.6"),
    ]
    assert entries[1]["depends"] == ["param"]
    for entry in entries:
        assert build.sha256_of(tmp_path / entry["file_name"]) == entry["sha256"]
        assert entry["file_name"].endswith("-py3-none-any.whl")


def test_the_pins_match_what_the_native_test_runs() -> None:
    """The browser gets the Panel this file tests natively."""
    from importlib.metadata import version

    for wheel in json.loads(build.PURE_WHEELS_LOCK.read_text())["wheels"]:
        if wheel["name"] in ("panel", "bokeh", "param", "pyviz-comms", "xyzservices"):
            assert version(wheel["name"]) == wheel["version"], wheel["name"]


# A stand-in for the desktop's applet host: a sandboxed srcdoc frame, given a port on which it
# asks for the build's Pyodide files, served by the desktop's own pyodide-files.mjs.
HOST_PAGE = """<!doctype html><meta charset="utf-8"><title>host</title><body>
<script type="module">
import { servePyodideFile } from "./bridges/pyodide-files.mjs";
window.panelMessages = [];
window.openApplet = (html) => {
  const frame = document.createElement("iframe");
  frame.setAttribute("sandbox", "allow-scripts");
  frame.title = "applet";
  frame.srcdoc = html;
  const channel = new MessageChannel();
  channel.port1.onmessage = (e) => {
    const m = e.data;
    if (m?.type !== "fetch") return window.panelMessages.push(m);
    servePyodideFile(channel.port1, m, new URL("./", location.href));
  };
  const init = { type: "llmos-panel-init" };
  frame.onload = () => frame.contentWindow.postMessage(init, "*", [channel.port2]);
  document.body.append(frame);
};
</script>"""


@pytest.fixture(scope="module")
def dist_server(dist: Path) -> Iterator[str]:
    server = build.serve_in_background(root=dist, port=0)
    yield server.url
    server.stop()


def _open_host(page: Page, origin: str) -> list[str]:
    """The host page on the dist server's origin; any request elsewhere is aborted, listed."""
    blocked: list[str] = []

    def guard(route: Route) -> None:
        url = route.request.url
        if url == f"{origin}/panel-host.html":
            route.fulfill(body=HOST_PAGE, content_type="text/html")
        elif url.startswith(origin + "/"):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    page.route("**/*", guard)
    page.goto(f"{origin}/panel-host.html")
    return blocked


def _loan() -> tuple[Any, str]:
    folder = SYSTEM_APPLETS / "loan-calculator"
    manifest = parse_manifest((folder / "manifest.json").read_text(), "loan-calculator")
    return manifest, (folder / "app.py").read_text()


def _dist_missing(dist: Path) -> list[str]:
    """What the OS worker finds missing in this build's lock (llmos.applets.panel)."""
    lock = json.loads((dist / "pyodide" / "pyodide-lock.json").read_text())
    return missing_for_panel(lock["packages"])


def test_without_panel_the_frame_says_how_to_enable_it(
    page: Page, dist: Path, dist_server: str
) -> None:
    missing = _dist_missing(dist)
    assert "panel" in missing  # this machine's default build
    blocked = _open_host(page, dist_server)
    manifest, code = _loan()
    page.evaluate("html => openApplet(html)", panel_page(manifest, code, missing))
    frame = page.frame_locator("iframe[title=applet]")
    expect(frame.get_by_role("heading", name="Panel is not in this build")).to_be_visible()
    expect(frame.get_by_role("status")).to_contain_text("“Loan calculator” is a Python Panel app")
    expect(frame.get_by_text(ENABLE_COMMAND)).to_be_visible()
    assert blocked == []


def test_the_app_page_boots_pyodide_in_the_sandbox_and_says_panel_is_missing(
    page: Page, dist_server: str
) -> None:
    blocked = _open_host(page, dist_server)
    manifest, code = _loan()
    page.evaluate("html => openApplet(html)", app_page(manifest, code))
    status = page.frame_locator("iframe[title=applet]").get_by_role("status")
    expect(status).to_have_text(
        f"This Panel app failed: Panel is not in this build: {ENABLE_COMMAND}", timeout=60_000
    )
    messages = page.evaluate("window.panelMessages")
    assert messages == [
        {"type": "panel-error", "message": f"Panel is not in this build: {ENABLE_COMMAND}"}
    ]
    assert blocked == []


# The app page's rendering half, natively: CPython Panel builds the app's document as the page's
# Python does (init_doc's mock session, then inline_stylesheets, the page's own code), and the
# Bokeh/Panel JavaScript from the installed wheels renders it in a sandboxed frame under the
# app page's CSP. (The page's Pyodide half needs numpy & co for Pyodide: not testable here.)
RENDER_FRAME = """<!doctype html><html lang="en"><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="%s"><body><div id="roots"></div>
<script type="module">
document.addEventListener("securitypolicyviolation", (e) =>
  parent.postMessage({ type: "csp", blocked: `${e.violatedDirective} ${e.blockedURI}` }, "*"));
window.addEventListener("message", async ({ data }) => {
  for (const text of data.scripts) {
    const tag = document.createElement("script");
    tag.src = URL.createObjectURL(new Blob([text], { type: "text/javascript" }));
    await new Promise((resolve, reject) => { tag.onload = resolve; tag.onerror = reject;
      document.head.append(tag); });
  }
  for (const id of Object.values(data.items[0].roots)) {
    const root = document.createElement("div");
    root.id = id;
    document.getElementById("roots").append(root);
  }
  await Bokeh.embed.embed_items(data.docs, data.items);
  parent.postMessage({ type: "rendered" }, "*");
});
</script>"""


def _app_document_json() -> tuple[Any, list[dict[str, Any]], list[str]]:
    from bokeh.document import Document
    from bokeh.embed.util import standalone_docs_json_and_render_items
    from bokeh.io.doc import set_curdoc
    from panel.io.document import MockSessionContext
    from panel.io.state import state

    doc = Document()
    doc.hold()
    # As panel.io.pyodide.init_doc does (a callable standing in for bokeh's weakref).
    session = MockSessionContext(document=doc)  # type: ignore[no-untyped-call]
    doc._session_context = lambda: session  # type: ignore[assignment]
    set_curdoc(doc)
    state.curdoc = doc
    try:
        _, code = _loan()
        exec(compile(code, "app.py", "exec"), {"__name__": "__main__"})
        namespace: dict[str, Any] = {}
        exec(INLINE_STYLESHEETS, namespace)
        inlined = namespace["inline_stylesheets"](doc)
        docs, items = standalone_docs_json_and_render_items(
            doc.roots, suppress_callback_warning=True
        )
    finally:
        state.curdoc = None  # type: ignore[assignment]
        set_curdoc(Document())
    rendered = [item.to_json() for item in items]
    ids = [model.id for model in doc.roots]
    rendered[0].update(roots={m: f"panel-root-{n}" for n, m in enumerate(ids)}, root_ids=ids)
    return json.loads(json.dumps(docs)), rendered, inlined


def test_wheel_javascript_renders_the_app_in_the_sandbox_under_its_csp(page: Page) -> None:
    from importlib.resources import files

    docs, items, inlined = _app_document_json()
    assert "css/loading.css" in inlined  # Panel's own CSS, from its wheel
    bokeh_js = files("bokeh").joinpath("server", "static", "js")
    scripts = [
        *(bokeh_js.joinpath(f"{name}.min.js").read_text() for name in ("bokeh", "bokeh-widgets")),
        bokeh_js.joinpath("bokeh-tables.min.js").read_text(),
        files("panel").joinpath("dist", "panel.min.js").read_text(),
    ]
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.set_content(
        "<body><script>window.got = []; addEventListener('message', e => got.push(e.data))"
        "</script></body>"
    )
    page.evaluate(
        """html => { const frame = document.createElement("iframe");
        frame.setAttribute("sandbox", "allow-scripts"); frame.title = "applet";
        frame.srcdoc = html; document.body.append(frame); }""",
        RENDER_FRAME % APP_CSP,
    )
    frame = page.frame_locator("iframe[title=applet]")
    expect(frame.locator("#roots")).to_be_attached()
    page.evaluate(
        "data => document.querySelector('iframe').contentWindow.postMessage(data, '*')",
        {"scripts": scripts, "docs": docs, "items": items},
    )
    page.wait_for_function("got.some(m => m.type === 'rendered')")
    expect(frame.get_by_label("Amount borrowed")).to_have_value("200000")
    expect(frame.get_by_role("slider")).to_have_count(2)
    expect(frame.get_by_text("Monthly payment: 1,055.67")).to_be_visible()
    assert [m for m in page.evaluate("got") if m["type"] == "csp"] == []
    assert [url for url in requests if not url.startswith(("about:", "blob:"))] == []


def test_the_app_page_bootstrap_is_valid_javascript(tmp_path: Path) -> None:
    manifest, code = _loan()
    page = app_page(manifest, code)
    module = re.search(r'<script type="module">(.*?)</script>', page, re.S)
    assert module is not None
    script = tmp_path / "bootstrap.mjs"
    script.write_text(module[1])
    command = ["node", "--check", str(script)]
    checked = subprocess.run(command, check=False, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
