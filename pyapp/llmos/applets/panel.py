"""The ``panel`` kind of applet: a Python Panel app (``pn.Column(...).servable()``).

Owns what is particular to it: whether this build can run Panel (the packages Panel needs are in
the Pyodide lock of the build, or installed natively), the page the desktop renders for a Panel
applet, and, when the build lacks Panel, the page that says so and how to enable it (never a
blank frame).

The page for a build with Panel runs Pyodide inside the applet's sandboxed iframe. It has no
network (CSP ``connect-src 'none'``): it asks its host for each file it needs, as the kernel's
frame does. Protocol: the host posts ``{type: "llmos-panel-init"}`` with a ``MessagePort``; the
page sends ``{type: "fetch", reqId, path}`` (paths ``pyodide/<file>``, the build's Pyodide
runtime, lock and wheels) and the host answers ``{type: "file", reqId, buffer | error}``. The
page then loads Panel from the lock, adds Bokeh's and Panel's JavaScript from their installed
wheels as ``blob:`` scripts, runs the app and renders it. It posts ``{type: "panel-rendered"}`` or
``{type: "panel-error", message}`` on the port, and shows errors in its status line. It answers
the host's ``{type: "ping"}`` with ``{type: "pong"}`` (the host's watchdog for endless loops).

``applets.panel_page {name}`` -> ``{html, missing, enable}``: the page for one applet.
"""

from __future__ import annotations

import html
import importlib.metadata
import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from llmos.applets.model import Manifest
from llmos.errors import ProtocolError
from llmos.platform import in_browser
from llmos.protocol import text_param
from llmos.service import method

if TYPE_CHECKING:
    from llmos.service import OsService

# What a Panel app needs besides Panel itself, as Pyodide's lock names them. numpy and pandas
# come only from a Pyodide distribution; the rest are pure wheels build.py pins.
PANEL_PACKAGES = ("panel", "bokeh", "param", "pyviz-comms", "numpy", "pandas")
ENABLE_COMMAND = "python3 build.py build --pyodide-packages DIR_OR_URL --packages panel"
# The message page runs no script at all; the app page runs only its own inline bootstrap and
# the blob: scripts it makes from the wheels' JavaScript.
MESSAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
APP_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'unsafe-inline' 'unsafe-eval' 'wasm-unsafe-eval' blob:",
        "style-src 'unsafe-inline' blob:",
        "img-src data: blob:",
        "font-src data: blob:",
        "connect-src 'none'",
        "frame-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ]
)
STYLE = (
    "body{font:15px/1.5 system-ui,sans-serif;margin:1.5rem;color:#1d2330}"
    "code,pre{background:#eef1f6;border-radius:4px;padding:.1rem .3rem}"
    "pre{padding:.6rem;overflow:auto;white-space:pre-wrap}"
)


def canonical(name: str) -> str:
    """A package name as Pyodide's lock and PEP 503 compare them: ``pyviz_comms`` is
    ``pyviz-comms``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def build_packages() -> set[str]:
    """The packages this Python can load: in Pyodide, those in the build's lock (loaded or
    not); natively, those installed."""
    if in_browser():
        import pyodide_js  # type: ignore[import-not-found]  # Pyodide only
        from js import Object

        return {canonical(str(key)) for key in Object.keys(pyodide_js.lockfile.packages)}
    return {canonical(d.metadata["Name"]) for d in importlib.metadata.distributions()}


def missing_for_panel(packages: Iterable[str] | None = None) -> list[str]:
    """The packages Panel needs that ``packages`` (default: this build's) lacks, in order."""
    have = {canonical(p) for p in (build_packages() if packages is None else packages)}
    return [name for name in PANEL_PACKAGES if name not in have]


def panel_page(manifest: Manifest, code: str, missing: list[str] | None = None) -> str:
    """The document the desktop renders for a Panel applet: the app when this build has Panel
    (``missing`` empty), else the page that says how to enable it."""
    missing = missing_for_panel() if missing is None else missing
    if missing:
        return unavailable_page(manifest, code, missing)
    return app_page(manifest, code)


def unavailable_page(manifest: Manifest, code: str, missing: list[str]) -> str:
    """A page, without any script, saying this build cannot run Panel apps and how to enable
    it. The host and tests find it by ``[data-llmos-panel="unavailable"]``."""
    title = html.escape(manifest.title)
    packages = ", ".join(f"<code>{html.escape(p)}</code>" for p in missing)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{MESSAGE_CSP}">'
        f"<title>{title}</title><style>{STYLE}</style></head>"
        f'<body><main data-llmos-panel="unavailable">'
        f"<h1>Panel is not in this build</h1>"
        f'<p role="status" aria-live="polite">“{title}” is a Python Panel app. This build of '
        f"LLMos cannot run it: it lacks {packages}.</p>"
        f"<p>To enable Panel applets, build LLMos with Panel and its dependencies from an "
        f"official Pyodide distribution of the same version (a folder or a URL):</p>"
        f"<pre>{html.escape(ENABLE_COMMAND)}</pre>"
        f"<p>Then reload LLMos; this applet will run here.</p>"
        f"<details><summary>The app's code</summary><pre>{html.escape(code)}</pre></details>"
        f"</main></body></html>"
    )


def app_page(manifest: Manifest, code: str) -> str:
    """The page that runs the Panel app in Pyodide inside the sandboxed iframe."""
    app = json.dumps({"name": manifest.name, "code": code})
    # Inside a <script> element only "</" could end it early; JSON allows "<\/".
    app = app.replace("</", "<\\/")
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{APP_CSP}">'
        f"<title>{html.escape(manifest.title)}</title><style>{STYLE}</style></head>"
        f'<body><main data-llmos-panel="app">'
        f'<p id="panel-status" role="status" aria-live="polite">Starting Python and Panel…</p>'
        f'<div id="panel-roots"></div></main>'
        f'<script type="application/json" id="panel-app">{app}</script>'
        f'<script type="module">{BOOTSTRAP}</script></body></html>'
    )


# Panel links its CSS from its CDN, which the page's CSP blocks: the same files from its wheel,
# inline (style-src 'unsafe-inline'). Run as it is in the page; tests run this very text.
INLINE_STYLESHEETS = """
import importlib.resources, re
from bokeh.models import ImportedStyleSheet, InlineStyleSheet

def inline_stylesheets(doc):
    panel_files, css = importlib.resources.files("panel"), {}

    def local(sheet):
        found = isinstance(sheet, ImportedStyleSheet) and re.search(r"/dist/([^?]+)", sheet.url)
        if not found or not panel_files.joinpath("dist", found[1]).is_file():
            return sheet
        if found[1] not in css:
            css[found[1]] = panel_files.joinpath("dist", found[1]).read_text("utf-8")
        return InlineStyleSheet(css=css[found[1]])

    for model in list(doc.models):
        if getattr(model, "stylesheets", None):
            model.stylesheets = [local(sheet) for sheet in model.stylesheets]
    return sorted(css)
"""

# Python run in the page once Panel is loaded: Bokeh's and Panel's JavaScript from their wheels
# (nothing from a CDN), then the app in a document Panel renders into the page.
RUN_APP = (
    INLINE_STYLESHEETS
    + """
import importlib.resources, json
from js import document, Blob, URL, Promise, Object
from pyodide.ffi import to_js, create_once_callable

def _script_url(package, *parts):
    data = importlib.resources.files(package).joinpath(*parts).read_bytes()
    options = to_js({"type": "text/javascript"}, dict_converter=Object.fromEntries)
    return URL.createObjectURL(Blob.new(to_js([data]), options))

async def _add_script(url):
    def executor(resolve, reject):
        tag = document.createElement("script")
        tag.src = url
        tag.onload = create_once_callable(lambda e: resolve(True))
        tag.onerror = create_once_callable(lambda e: reject(url))
        document.head.appendChild(tag)
    await Promise.new(executor)

JS = "server", "static", "js"
for name in ("bokeh.min.js", "bokeh-widgets.min.js", "bokeh-tables.min.js"):
    await _add_script(_script_url("bokeh", *JS, name))
await _add_script(_script_url("panel", "dist", "panel.min.js"))

import panel as pn
from panel.io.pyodide import init_doc, write_doc
init_doc()
_app = json.loads(document.getElementById("panel-app").textContent)
exec(compile(_app["code"], f"applets/{_app['name']}/app.py", "exec"), {"__name__": "__main__"})
_roots = document.getElementById("panel-roots")
for _i, _root in enumerate(pn.state.curdoc.roots):
    _el = document.createElement("div")
    _el.id = f"panel-root-{_i}"
    _el.setAttribute("data-root-id", f"{_i:06d}")  # write_doc sorts them as text
    _roots.appendChild(_el)
inline_stylesheets(pn.state.curdoc)
await write_doc()
"""
)

BOOTSTRAP = (
    """
const BASE = "https://panel.invalid/";
const status = document.getElementById("panel-status");
let port = null, next = 0;
const pending = new Map();
const TYPES = { wasm: "application/wasm", json: "application/json", mjs: "text/javascript" };
const getFile = (path) => new Promise((resolve, reject) => {
  const reqId = ++next;
  pending.set(reqId, { resolve, reject });
  port.postMessage({ type: "fetch", reqId, path });
});
globalThis.fetch = async (input) => {
  const url = new URL(input instanceof Request ? input.url : String(input), BASE);
  if (url.origin !== new URL(BASE).origin) throw new TypeError(`No network here (${url.origin}).`);
  const buffer = await getFile(decodeURIComponent(url.pathname.slice(1)));
  const type = TYPES[url.pathname.split(".").pop()] || "application/octet-stream";
  return new Response(buffer, { headers: { "Content-Type": type } });
};
const blobUrl = (b) => URL.createObjectURL(new Blob([b], { type: "text/javascript" }));
const fail = (error) => {
  const message = String(error?.message ?? error).slice(0, 2000);
  status.textContent = "This Panel app failed: " + message;
  port?.postMessage({ type: "panel-error", message });
};
async function run() {
  const asm = await import(blobUrl(await getFile("pyodide/pyodide.asm.mjs")));
  const { loadPyodide } = await import(blobUrl(await getFile("pyodide/pyodide.mjs")));
  const options = { indexURL: BASE + "pyodide/", createPyodideModule: asm.default };
  const pyodide = await loadPyodide(options);
  if (!pyodide.lockfile.packages.panel) throw new Error(`Panel is not in this build: ${ENABLE}`);
  status.textContent = "Loading Panel…";
  await pyodide.loadPackage(["panel"], { messageCallback: () => {} });
  await pyodide.runPythonAsync(RUN_APP);
  status.textContent = "";
  port.postMessage({ type: "panel-rendered" });
}
window.addEventListener("error", (e) => fail(e.error ?? e.message));
window.addEventListener("unhandledrejection", (e) => fail(e.reason));
window.addEventListener("message", (e) => {
  if (e.source !== window.parent || e.data?.type !== "llmos-panel-init" || port) return;
  port = e.ports[0];
  port.onmessage = (m) => {
    if (m.data?.type === "ping") return port.postMessage({ type: "pong" });
    const p = pending.get(m.data?.reqId);
    if (m.data?.type !== "file" || !p) return;
    pending.delete(m.data.reqId);
    if (m.data.error) p.reject(new TypeError(m.data.error)); else p.resolve(m.data.buffer);
  };
  run().catch(fail);
});
const ENABLE = """
    + json.dumps(ENABLE_COMMAND)
    + """;
const RUN_APP = """
    + json.dumps(RUN_APP).replace("</", "<\\/")
    + ";\n"
)


@method("applets.panel_page")
async def _panel_page(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    # Here, not at the top: applets.methods may come to import this module.
    from llmos.applets.methods import host

    name = text_param(params, "name")
    applet = await host(service).store.get(name)
    if applet.manifest.kind != "panel":
        raise ProtocolError(f"'{name}' is an {applet.manifest.kind} applet, not a Panel one.")
    missing = missing_for_panel()
    return {
        "html": panel_page(applet.manifest, applet.entry, missing),
        "missing": missing,
        "enable": ENABLE_COMMAND,
    }
