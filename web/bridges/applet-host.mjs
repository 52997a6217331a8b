// The desktop's applet windows and the MCP Apps host (pyapp/llmos/ui/desktop.py drives it).
//
// An html applet renders in an iframe with sandbox="allow-scripts" (never allow-same-origin: an
// opaque origin, so no storage, no cookies, no access to this page) from srcdoc, with a strict
// CSP <meta> first in its document (no network, no frames, no workers, no forms) and a small
// prelude that runs before the applet's own scripts: it reports errors (window.onerror,
// unhandledrejection, syntax errors, CSP violations) and first paint, answers the host's pings
// and cancels navigations. The applet talks JSON-RPC 2.0 over postMessage as the MCP Apps
// extension (io.modelcontextprotocol/ui) says: ui/initialize, then tools/call, which becomes the
// OS method applets.call; the first use of a permission asks the user (applets.grant).
//
// Everything an applet sends is untrusted: only messages from its own frame are read, only the
// methods below are answered, and nothing it sends is shown as HTML. An applet that stops
// answering pings (an endless loop) is closed; Chromium runs sandboxed frames out of process, so
// the desktop stays responsive meanwhile. Window places are UI state, kept in localStorage.
//
// A Panel applet (pyapp/llmos/applets/panel.py) renders its own page, which carries its own CSP
// (Pyodide needs 'wasm-unsafe-eval'), in the same sandbox. It speaks no JSON-RPC: on load it gets
// a MessagePort on which it asks for the build's Pyodide files (pyodide-files.mjs serves them,
// nothing else), answers pings, and says "panel-rendered" or "panel-error". Booting Python
// blocks its thread for seconds at a time, so it gets a longer grace before it counts as stuck.
//
// window.llmosApplets: open(name), restore(), close(name, message, teardown), isOpen(name), openNames(),
// exportDownload(name), importZip(file); each resolves to JSON text ({ok, result | error}).

import { servePyodideFile } from "./pyodide-files.mjs";

const PROTOCOL_VERSION = "2026-01-26";
const STORE_KEY = "llmos-desktop-windows";
const PING_MS = 1000;
const HANG_MS = 5000; // no answer to pings for this long: the applet is stuck, close it
const STALLED_MS = 3 * PING_MS; // a window closed after missing this many pings was stuck
const PANEL_HANG_MS = 20_000; // the same for a Panel page, whose Python boots in long steps
const BASE = new URL("../", import.meta.url); // the site's root, where pyodide/ is
const REPORT_SETTLE_MS = 300; // errors thrown just after the first paint go into the report
const TEARDOWN_MS = 1000; // how long a closed window's view may take to answer ui/resource-teardown
const CSP = [
  "default-src 'none'",
  "script-src 'unsafe-inline'",
  "style-src 'unsafe-inline'",
  "img-src data: blob:",
  "font-src data:",
  "media-src data: blob:",
  "connect-src 'none'",
  "frame-src 'none'",
  "child-src 'none'",
  "worker-src 'none'",
  "object-src 'none'",
  "manifest-src 'none'",
  "form-action 'none'",
  "base-uri 'none'",
].join("; ");

// Runs first inside the applet's frame. `parent` is the host; "*" because the host's origin is
// not the frame's (opaque) one: the messages carry nothing the applet does not already know.
const PRELUDE = `(() => {
  const post = (message) => parent.postMessage({ jsonrpc: "2.0", ...message }, "*");
  const log = (text) => post({ method: "notifications/message",
    params: { level: "error", logger: "llmos-host", data: String(text).slice(0, 2000) } });
  addEventListener("error", (e) => {
    const where = e.lineno ? " (line " + e.lineno + ")" : "";
    log((e.error && e.error.name ? e.error.name + ": " + e.error.message : e.message) + where);
  });
  addEventListener("unhandledrejection", (e) => {
    const r = e.reason;
    log("Unhandled promise rejection: " + (r && r.message ? (r.name || "Error") + ": " + r.message : String(r)));
  });
  addEventListener("securitypolicyviolation", (e) => {
    log("Blocked by the applet sandbox: " + e.effectiveDirective + " " + (e.blockedURI || ""));
  });
  addEventListener("message", (e) => {
    const m = e.data;
    if (e.source === parent && m && m.llmos === "ping") parent.postMessage({ llmos: "pong" }, "*");
  });
  if (self.navigation) navigation.addEventListener("navigate", (e) => {
    if (e.cancelable && !e.hashChange) { e.preventDefault(); log("Navigation is not allowed in an applet."); }
  });
  for (const name of ["RTCPeerConnection", "webkitRTCPeerConnection", "RTCDataChannel", "WebTransport"]) {
    try { delete self[name]; } catch (_) {}
  }
  addEventListener("load", () => requestAnimationFrame(() => setTimeout(() =>
    post({ method: "notifications/llmos/painted", params: {} }))));
})();`;

const escapeAttr = (text) => String(text).replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");

// The applet's document with the CSP and the prelude first in <head> (after a doctype, so the
// applet keeps standards mode).
export function frameDocument(html) {
  const head = `<meta http-equiv="Content-Security-Policy" content="${escapeAttr(CSP)}"><script>${PRELUDE}<\/script>`;
  const text = String(html);
  const headTag = /<head(\s[^>]*)?>/i.exec(text);
  if (headTag) return text.slice(0, headTag.index + headTag[0].length) + head + text.slice(headTag.index + headTag[0].length);
  const doctype = /^\s*<!doctype[^>]*>/i.exec(text);
  if (doctype) return doctype[0] + "<head>" + head + "</head>" + text.slice(doctype[0].length);
  return "<!doctype html><head>" + head + "</head>" + text;
}

const request = (method, params) => window.llmos.request(method, params);
const replyText = (reply) => JSON.stringify(reply);
const ok = (result) => ({ ok: true, result });
const failed = (message) => ({ ok: false, error: { code: "error", message } });

// --- saved places --------------------------------------------------------------------------
function loadPlaces() {
  try {
    const saved = JSON.parse(localStorage.getItem(STORE_KEY) || "[]");
    return Array.isArray(saved) ? saved.filter((p) => p && typeof p.name === "string") : [];
  } catch {
    return [];
  }
}

// --- the permission prompt (one at a time) ---------------------------------------------------
let asking = Promise.resolve();
function askPermission(title, tool, permission) {
  const turn = asking.then(() => new Promise((resolve) => {
    const dialog = document.getElementById("applet-ask");
    document.getElementById("applet-ask-text").textContent =
      `The applet "${title}" wants to use ${tool} (permission "${permission}"). Allow it? Allow is remembered; Deny holds until this window closes.`;
    const allow = document.getElementById("applet-ask-allow");
    const deny = document.getElementById("applet-ask-deny");
    const done = (answer) => {
      allow.onclick = deny.onclick = dialog.oncancel = null;
      dialog.close();
      resolve(answer);
    };
    allow.onclick = () => done(true);
    deny.onclick = () => done(false);
    dialog.oncancel = () => done(false);
    dialog.showModal();
    deny.focus();
  }));
  asking = turn.catch(() => {});
  return turn;
}

// --- one window --------------------------------------------------------------------------------
const el = (tag, cls, text) => {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text) node.textContent = text;
  return node;
};

class AppletWindow {
  constructor(host, name, place) {
    this.host = host;
    this.name = name;
    this.place = { x: 80, y: 80, w: 480, h: 360, max: false, ...place, name };
    this.denied = new Set();
    this.frame = this.port = null;
    this.panel = false;
    this.hangMs = HANG_MS;
    this.build();
  }

  build() {
    const root = (this.root = el("section", "applet-window"));
    root.dataset.applet = this.name;
    root.setAttribute("role", "dialog");
    root.setAttribute("aria-label", this.name);
    const head = (this.head = el("header", "applet-head"));
    head.tabIndex = 0;
    head.title = "Drag to move; arrow keys move, Shift+arrows resize, Enter maximises";
    this.icon = el("span", "applet-icon");
    this.icon.setAttribute("aria-hidden", "true");
    this.title = el("span", "applet-title", this.name);
    const buttons = el("span", "applet-buttons");
    this.reloadButton = this.button(buttons, "⟳", "Reload", () => this.load());
    this.maxButton = this.button(buttons, "□", "Maximise", () => this.toggleMax());
    this.closeButton = this.button(buttons, "✕", "Close", () => this.host.close(this.name));
    head.append(this.icon, this.title, buttons);
    this.body = el("div", "applet-body");
    this.status = el("p", "applet-status");
    this.status.setAttribute("role", "status");
    const grip = el("div", "applet-grip");
    grip.setAttribute("aria-hidden", "true");
    root.append(head, this.body, this.status, grip);
    this.dragOn(head, (dx, dy, start) => ({ x: start.x + dx, y: start.y + dy }));
    this.dragOn(grip, (dx, dy, start) => ({ w: start.w + dx, h: start.h + dy }));
    head.addEventListener("keydown", (e) => this.onKey(e));
    head.addEventListener("dblclick", (e) => { if (!e.target.closest("button")) this.toggleMax(); });
    root.addEventListener("pointerdown", () => { this.active = performance.now(); this.host.raise(this); }, true);
    root.addEventListener("focusin", () => { this.active = performance.now(); this.host.raise(this); });
    this.layout();
  }

  button(parent, text, label, action) {
    const b = el("button", "", text);
    b.type = "button";
    b.title = label;
    b.setAttribute("aria-label", `${label} ${this.name}`);
    b.addEventListener("click", action);
    parent.append(b);
    return b;
  }

  dragOn(handle, change) {
    handle.addEventListener("pointerdown", (e) => {
      if (e.button !== 0 || e.target.closest("button") || this.place.max) return;
      e.preventDefault();
      handle.setPointerCapture(e.pointerId);
      const start = { ...this.place };
      this.root.classList.add("dragging");
      const move = (m) => this.setPlace(change(m.clientX - e.clientX, m.clientY - e.clientY, start));
      const end = () => {
        handle.removeEventListener("pointermove", move);
        handle.removeEventListener("pointerup", end);
        handle.removeEventListener("pointercancel", end);
        this.root.classList.remove("dragging");
        this.host.save();
      };
      handle.addEventListener("pointermove", move);
      handle.addEventListener("pointerup", end);
      handle.addEventListener("pointercancel", end);
    });
  }

  onKey(e) {
    if (e.target !== this.head) return;
    const step = 16;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (moves[e.key] && !this.place.max) {
      e.preventDefault();
      const [dx, dy] = moves[e.key];
      const p = this.place;
      this.setPlace(e.shiftKey ? { w: p.w + dx, h: p.h + dy } : { x: p.x + dx, y: p.y + dy });
      this.host.save();
    } else if (e.key === "Enter") {
      e.preventDefault();
      this.toggleMax();
    } else if (e.key === "Delete") {
      e.preventDefault();
      this.host.close(this.name);
    }
  }

  setPlace(change) {
    const p = Object.assign(this.place, change);
    p.w = Math.max(200, Math.round(p.w));
    p.h = Math.max(120, Math.round(p.h));
    p.x = Math.min(Math.max(Math.round(p.x), -p.w + 80), innerWidth - 80);
    p.y = Math.min(Math.max(Math.round(p.y), 0), innerHeight - 40);
    this.layout();
  }

  layout() {
    const p = this.place;
    this.root.classList.toggle("maximised", !!p.max);
    this.maxButton?.setAttribute("aria-pressed", String(!!p.max));
    if (this.maxButton) this.maxButton.title = p.max ? "Restore" : "Maximise";
    Object.assign(this.root.style, p.max ? { left: "", top: "", width: "", height: "" } :
      { left: `${p.x}px`, top: `${p.y}px`, width: `${p.w}px`, height: `${p.h}px` });
  }

  toggleMax(value) {
    this.place.max = value ?? !this.place.max;
    this.layout();
    this.host.save();
  }

  showStatus(text, bad = false) {
    this.status.textContent = text;
    this.status.classList.toggle("bad", bad);
  }

  // Fetches the applet and (re)renders it. Resolves to the OS reply of applets.get.
  async load() {
    this.stopFrame();
    this.showStatus("Loading…");
    const reply = await request("applets.get", { name: this.name });
    if (!reply.ok) {
      this.manifest = null;
      this.body.replaceChildren(el("p", "applet-problem", `This applet cannot open: ${reply.error.message}`));
      this.body.firstChild.setAttribute("role", "alert");
      this.showStatus("");
      return reply;
    }
    const { manifest } = reply.result;
    this.manifest = manifest;
    this.showIcon(manifest.icon, reply.result.icon_url);
    this.title.textContent = manifest.title || this.name;
    this.root.setAttribute("aria-label", manifest.title || this.name);
    this.root.dataset.version = String(manifest.version);
    if (manifest.kind === "panel") return this.loadPanel(reply);
    this.render(String(reply.result.html ?? ""));
    return reply;
  }

  // An .svg icon file of the applet shows as an image: applets.get gives it as a data: URL,
  // and an SVG drawn by <img> runs no script and loads nothing. Otherwise the emoji.
  showIcon(icon, url) {
    if (typeof url === "string" && url.startsWith("data:image/svg+xml")) {
      const image = el("img");
      Object.assign(image, { src: url, alt: "", width: 16, height: 16, decoding: "async" });
      this.icon.replaceChildren(image);
    } else {
      this.icon.textContent = /\.svg$/i.test(icon || "") ? "🧩" : icon || "🧩";
    }
  }

  // A Panel applet: without Panel in the build, its page says how to enable it (static HTML,
  // rendered like any applet); with Panel, the page that runs the app in Pyodide.
  async loadPanel(reply) {
    const page = await request("applets.panel_page", { name: this.name });
    this.showStatus("");
    if (!page.ok) {
      const note = el("p", "applet-problem", page.error.message);
      note.setAttribute("role", "alert");
      this.body.replaceChildren(note);
    } else if (page.result.missing.length) {
      this.render(page.result.html);
      // The page tells the user; the report tells the agent that made it, so it can change course.
      const lacks = page.result.missing.join(", ");
      this.errors.push(`Panel is not in this build (it lacks ${lacks}), so this applet cannot run here; to enable Panel, build LLMos with: ${page.result.enable}`);
    } else {
      this.renderPanel(page.result.html);
    }
    return reply;
  }

  render(html) {
    this.newFrame(false).srcdoc = frameDocument(html); // before it is in the page: no about:blank load first
    this.body.replaceChildren(this.frame);
  }

  // The page of a Panel app (panel.py app_page), as it is: it brings its own CSP.
  renderPanel(html) {
    const frame = this.newFrame(true);
    frame.addEventListener("load", () => this.connectPanel(frame), { once: true });
    frame.srcdoc = String(html);
    this.body.replaceChildren(frame);
    this.showStatus("Starting Python and Panel…");
  }

  newFrame(panel) {
    this.stopFrame();
    const frame = (this.frame = document.createElement("iframe"));
    frame.setAttribute("sandbox", "allow-scripts");
    frame.setAttribute("referrerpolicy", "no-referrer");
    frame.setAttribute("allow", "");
    frame.title = `${this.manifest.title || this.name} (applet)`;
    frame.className = "applet-frame";
    this.panel = panel;
    this.hangMs = panel ? PANEL_HANG_MS : HANG_MS;
    this.filesServed = 0;
    this.errors = [];
    this.reported = false;
    this.reportSent = null; // the OS's answer to applets.report, once sent
    this.started = performance.now();
    this.lastAnswer = this.started;
    this.pending = new Map();
    this.paintedMs = null;
    this.answered = false;
    this.initialized = false; // the view sent ui/notifications/initialized
    this.tornDown = null; // resolves when the view answers ui/resource-teardown
    this.active = this.started;
    let loads = 0;
    // The page's CSP (frame-src 'none') blocks a frame navigating to a URL; what loads then is
    // an error page, so a second load means the applet tried to leave its document.
    frame.addEventListener("load", () => { if (++loads > 1) this.navigatedAway(); });
    return frame;
  }

  // The Panel page's port: given to this frame only, once it has loaded.
  connectPanel(frame) {
    if (frame !== this.frame) return;
    const channel = new MessageChannel();
    this.port = channel.port1;
    this.port.onmessage = (e) => { if (frame === this.frame) this.onPanelMessage(e.data); };
    frame.contentWindow.postMessage({ type: "llmos-panel-init" }, "*", [channel.port2]);
  }

  // A message on the Panel page's port: anything but these is ignored.
  onPanelMessage(m) {
    this.lastAnswer = performance.now();
    this.answered = true;
    if (m?.type === "fetch") {
      this.filesServed += 1;
      this.root.dataset.filesServed = String(this.filesServed);
      servePyodideFile(this.port, m, BASE);
    } else if (m?.type === "panel-rendered") {
      this.painted();
    } else if (m?.type === "panel-error") {
      this.failed(String(m.message ?? "").slice(0, 2000));
      if (this.paintedMs === null) this.sendReport(); // the page stops here: nothing will paint
    }
  }

  frozenBy(culprit) {
    this.stopFrame();
    const note = el("p", "applet-problem", `Stopped: the applet "${culprit}" froze the process all applets share. Reload (⟳) starts this one again.`);
    note.setAttribute("role", "alert");
    this.body.replaceChildren(note);
  }

  navigatedAway() {
    const text = "The applet tried to navigate away from its page, which applets may not do; it was stopped. Reload (⟳) starts it again.";
    this.errors.push(text);
    this.sendReport();
    this.stopFrame();
    const note = el("p", "applet-problem", text);
    note.setAttribute("role", "alert");
    this.body.replaceChildren(note);
  }

  // Closing: a responsive view that initialized gets ui/resource-teardown and up to TEARDOWN_MS
  // to answer (it may save its state through its tools meanwhile) before its frame goes.
  async teardown() {
    const responsive = this.initialized && !this.hung(performance.now(), STALLED_MS);
    if (this.frame && !this.panel && responsive) {
      const answered = new Promise((resolve) => { this.tornDown = resolve; });
      this.post({ jsonrpc: "2.0", method: "ui/resource-teardown", id: "teardown", params: {} });
      await Promise.race([answered, new Promise((resolve) => setTimeout(resolve, TEARDOWN_MS))]);
    }
    this.stopFrame();
  }

  stopFrame() {
    this.port?.close();
    this.frame?.remove();
    this.frame = this.port = null;
  }

  post(message) {
    this.frame?.contentWindow?.postMessage(message, "*");
  }

  ping() {
    if (this.panel) this.port?.postMessage({ type: "ping" });
    // Not a JSON-RPC ping: the view must get no request before it has initialized (MCP Apps),
    // and this one only the prelude answers, whatever the view's own code is doing.
    else this.post({ llmos: "ping" });
  }

  // Silent for longer than this window's grace: stuck in a loop.
  hung(now, grace = this.hangMs) {
    return !!this.frame && now - this.lastAnswer > grace;
  }

  kill(others = false) {
    const also = others ? " The other open applets were stopped with it." : "";
    const text = `"${this.manifest?.title || this.name}" stopped responding (an endless loop?) and was closed.${also}`;
    this.errors.push(`The applet stopped responding for ${this.hangMs / 1000} s (an endless loop?); the desktop closed it.`);
    this.sendReport();
    this.host.close(this.name, text);
  }

  sendReport() {
    if (this.reported || !this.manifest) return;
    this.reported = true;
    const painted = this.paintedMs ?? null;
    this.reportSent = request("applets.report", {
      name: this.name, version: this.manifest.version, errors: this.errors.slice(0, 20), painted_ms: painted,
    });
  }

  // A message from this window's frame (already checked to come from it).
  async onMessage(m) {
    this.lastAnswer = performance.now();
    this.answered = true;
    if (!m || typeof m !== "object" || m.jsonrpc !== "2.0") return;
    const method = typeof m.method === "string" ? m.method : null;
    if (!method) return m.id === "teardown" && this.tornDown?.(); // an answer to one of ours
    if (m.id === undefined) return this.onNotification(method, m.params || {});
    const answer = (body) => this.post({ jsonrpc: "2.0", id: m.id, ...body });
    try {
      answer({ result: await this.handle(method, m.params || {}) });
    } catch (error) {
      answer({ error: { code: error.code ?? -32603, message: String(error.message || error) } });
    }
  }

  onNotification(method, params) {
    if (method === "notifications/llmos/painted") {
      this.painted();
    } else if (method === "ui/notifications/initialized") {
      this.initialized = true;
    } else if (method === "notifications/message" && params.level === "error") {
      this.failed(String(params.data ?? "").slice(0, 2000));
    } else if (method === "ui/notifications/size-changed") {
      this.contentSize = { width: Number(params.width) || 0, height: Number(params.height) || 0 };
    }
  }

  painted() {
    if (this.paintedMs !== null) return;
    this.paintedMs = Math.round((performance.now() - this.started) * 10) / 10;
    this.root.dataset.paintedMs = String(this.paintedMs);
    this.showStatus(this.errors.length ? this.status.textContent : "");
    setTimeout(() => this.sendReport(), REPORT_SETTLE_MS);
  }

  // An error inside the applet: shown (as text) and kept for the report.
  failed(text) {
    this.errors.push(text);
    this.root.dataset.errors = String(this.errors.length);
    this.showStatus(`Error in the applet: ${text}`, true);
  }

  async handle(method, params) {
    if (method === "ui/initialize") {
      return {
        protocolVersion: PROTOCOL_VERSION,
        hostInfo: { name: "llmos-desktop", version: "1" },
        hostCapabilities: { serverTools: {}, logging: {} },
        hostContext: {
          theme: "dark",
          displayMode: this.place.max ? "fullscreen" : "inline",
          availableDisplayModes: ["inline", "fullscreen"],
          containerDimensions: { width: this.body.clientWidth, height: this.body.clientHeight },
          toolInfo: { tool: { name: this.name, inputSchema: { type: "object" } } },
        },
      };
    }
    if (method === "ping") return {};
    if (method === "tools/call") return this.callTool(String(params.name ?? ""), params.arguments ?? {});
    if (method === "ui/request-display-mode") {
      this.toggleMax(params.mode === "fullscreen");
      return { mode: this.place.max ? "fullscreen" : "inline" };
    }
    throw Object.assign(new Error(`This host does not support ${method.slice(0, 80)}.`), { code: -32601 });
  }

  async callTool(tool, args) {
    const call = () => request("applets.call", { name: this.name, tool, arguments: args });
    let reply = await call();
    const permission = reply.ok && reply.result.needsGrant;
    if (permission && !this.denied.has(permission)) {
      const title = this.manifest?.title || this.name;
      if (await askPermission(title, tool, permission)) {
        const granted = await request("applets.grant", { name: this.name, tool: permission, allow: true });
        if (!granted.ok) throw new Error(granted.error.message);
        reply = await call();
      } else {
        this.denied.add(permission);
      }
    }
    if (!reply.ok) throw new Error(reply.error.message);
    const { needsGrant, ...result } = reply.result;
    return result;
  }
}

// --- the desktop's windows ---------------------------------------------------------------------
class AppletHost {
  constructor() {
    this.windows = new Map();
    this.closing = new Set(); // closed windows whose view is still answering ui/resource-teardown
    this.z = 10;
    this.onClosed = null; // (name, message) -> void, set by the UI
    window.addEventListener("message", (e) => {
      for (const win of [...this.windows.values(), ...this.closing]) {
        // A Panel page talks on its port only; it may not reach the JSON-RPC bridge's tools.
        if (win.frame && e.source === win.frame.contentWindow) return win.panel || win.onMessage(e.data);
      }
    });
    setInterval(() => this.watch(), PING_MS);
  }

  // Chromium runs all sandboxed applet frames of this page in one process, so one endless loop
  // silences every applet. A frame silent while others answer is stuck on its own: close it.
  // When all are silent, close the likeliest culprit (one that never painted, else the one
  // loaded or clicked last) and give the others a fresh grace period.
  watch() {
    const now = performance.now();
    const framed = [...this.windows.values()].filter((w) => w.frame);
    const hung = framed.filter((w) => w.hung(now));
    if (hung.length && framed.some((w) => w.answered && now - w.lastAnswer < 2 * PING_MS)) {
      for (const win of hung) win.kill();
    } else if (hung.length) {
      framed.sort((a, b) => (a.paintedMs === null) - (b.paintedMs === null) || a.active - b.active);
      // A booting Panel page silences the process for seconds: wait for its own grace.
      if (!framed.at(-1).hung(now)) return this.pingAll();
      const culprit = framed.pop();
      // Removing its frame does not stop the loop: the process stays busy while any frame of it
      // is left, so the other applets are stopped too (each can be reloaded).
      for (const win of framed) win.frozenBy(culprit.manifest?.title || culprit.name);
      culprit.kill(framed.length > 0);
      this.processFrozen(culprit);
    }
    this.pingAll();
  }

  pingAll() {
    for (const win of this.windows.values()) if (win.frame) win.ping();
  }

  // The kernel's frame shares that process: boot.mjs gives it a new frame (and process).
  processFrozen(culprit) {
    window.dispatchEvent(new CustomEvent("llmos:sandbox-process-frozen", { detail: { culprit: culprit.name } }));
  }

  layer() {
    return document.getElementById("applet-windows");
  }

  raise(win) {
    if (win.root.style.zIndex !== String(this.z)) win.root.style.zIndex = String(++this.z);
    for (const other of this.windows.values()) other.root.classList.toggle("front", other === win);
  }

  save() {
    const places = [...this.windows.values()].filter((w) => w.manifest).map((w) => w.place);
    localStorage.setItem(STORE_KEY, JSON.stringify(places));
  }

  async open(name, place) {
    let win = this.windows.get(name);
    const fresh = !win;
    if (fresh) {
      const n = this.windows.size;
      win = new AppletWindow(this, name, place ?? { x: 120 + 32 * n, y: 90 + 32 * n });
      this.windows.set(name, win);
      this.layer().append(win.root);
    }
    this.raise(win);
    const reply = await win.load();
    this.save();
    if (fresh && !place) win.head.focus();
    return reply;
  }

  // `teardown` false: the applet is being deleted or renamed, so it gets no chance to save.
  close(name, message = "", teardown = true) {
    const win = this.windows.get(name);
    if (!win) return false;
    // Closing a frame stuck in a loop before the watchdog did leaves the process it shares with
    // the other applets and the kernel busy: free them as the watchdog would.
    const stuck = !message && win.hung(performance.now(), STALLED_MS);
    for (const other of stuck ? this.windows.values() : []) {
      if (other !== win && other.frame) other.frozenBy(win.manifest?.title || name);
    }
    this.windows.delete(name);
    if (stuck || message || !teardown) {
      win.stopFrame();
      if (stuck) this.processFrozen(win);
      win.root.remove();
    } else {
      win.root.hidden = true; // gone for the user now; the frame lives until the view answered
      this.closing.add(win);
      win.teardown().finally(() => { win.root.remove(); this.closing.delete(win); });
    }
    this.save();
    this.onClosed?.(name, message);
    return true;
  }

  async restore() {
    const places = loadPlaces();
    await Promise.all(places.map((p) => this.open(p.name, p)));
    for (const p of places) if (!this.windows.get(p.name)?.manifest) this.close(p.name);
    this.save();
  }
}

const host = new AppletHost();

const toBase64 = (bytes) => {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
};

window.llmosApplets = {
  host,
  async open(name) {
    return replyText(await host.open(String(name)));
  },
  async restore() {
    await host.restore();
    return replyText(ok({ open: [...host.windows.keys()] }));
  },
  close: (name, message = "", teardown = true) => host.close(String(name), String(message), teardown !== false),
  isOpen: (name) => host.windows.has(String(name)),
  openNames: () => JSON.stringify([...host.windows.keys()]),
  onClosed(fn) { host.onClosed = (name, message) => fn(name, message); },
  renamed(old, name) {
    const win = host.windows.get(old);
    if (!win) return;
    host.close(old, "", false);
    host.open(name, { ...win.place, name });
  },
  async exportDownload(name) {
    const reply = await request("applets.export", { name: String(name) });
    if (!reply.ok) return replyText(reply);
    const bytes = Uint8Array.from(atob(reply.result.zip), (c) => c.charCodeAt(0));
    const blob = new Blob([bytes], { type: "application/zip" });
    const url = URL.createObjectURL(blob);
    const link = Object.assign(document.createElement("a"), { href: url, download: reply.result.name || `${name}.zip` });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    return replyText(ok({ name: link.download, bytes: blob.size }));
  },
  async importZip(file) {
    if (!file) return replyText(failed("No file chosen."));
    const zip = toBase64(new Uint8Array(await file.arrayBuffer()));
    return replyText(await request("applets.import", { zip }));
  },
};
