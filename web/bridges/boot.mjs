// Boots the rooms and joins them: starts the OS worker, then the kernel from the OS's interpreter
// snapshot, registers the service worker after boot, and exposes
//   window.llmos        the automation API: {version, ready, exec(code), interrupt()}
//   window.llmosBridge  the UI's (MicroPython) link to the OS and kernel, JSON text in and out.
import { BUILD } from "./build-info.mjs";
import { KernelHost } from "./kernel-host.mjs";

const base = new URL("../", import.meta.url);
// Milestones in ms since navigation start, for tests and bench/startup.py.
const timings = (window.llmosTimings = { bootScript: performance.now() });
const mark = (name) => { timings[name] ??= performance.now(); };
const listeners = new Set();
const latest = new Map(); // last event per name, replayed to late subscribers (the UI boots later)
const emit = (name, data) => {
  latest.set(name === "boot.progress" ? `${name}:${data.room}` : name, { name, data });
  for (const fn of listeners) fn(JSON.stringify({ name, data }));
};

// --- OS worker -------------------------------------------------------------------------------
const pending = new Map();
let nextId = 0;
const storagePref = new URL(location.href).searchParams.get("storage") || "opfs";
const osUrl = new URL(`bridges/os-worker.mjs?storage=${encodeURIComponent(storagePref)}`, base);
let osWorker;
let osFailure = null; // once the OS is gone, requests are answered with this at once
let resolveOs, rejectOs, resolveSnapshot;
const osReady = new Promise((res, rej) => { resolveOs = res; rejectOs = rej; });
// The OS worker shares its clean interpreter snapshot so the kernel boots (and restarts) fast.
const snapshot = new Promise((res) => { resolveSnapshot = res; });
osReady.catch(() => resolveSnapshot(null));

function startOs() {
  osWorker = new Worker(osUrl, { type: "module", name: "llmos-os" });
  osWorker.onmessage = (e) => {
    const m = e.data;
    if (m.type === "reply") {
      const waiter = pending.get(m.id);
      pending.delete(m.id);
      waiter?.(m);
    } else if (m.type === "snapshot") {
      resolveSnapshot(m.bytes);
    } else if (m.type === "kernel.execute" || m.type === "kernel.interrupt") {
      onOsKernelRequest(m);
    } else if (m.type === "event") {
      if (m.name === "os.ready") { mark("osReady"); resolveOs(m.data); }
      if (m.name === "os.snapshot") mark(m.data.saved ? "snapshotSaved" : "snapshotRestored");
      if (m.name === "os.failed") failOs(m.data.message);
      emit(m.name, m.data);
    }
  };
  osWorker.onerror = (e) => {
    const message = `The OS worker crashed: ${e.message || "unknown error"}. Your files are safe; reload to restart it.`;
    emit("os.failed", { message });
    failOs(message);
  };
}

function failOs(message) {
  osFailure = { code: "crashed", message };
  for (const [id, waiter] of pending) waiter({ type: "reply", id, ok: false, error: osFailure });
  pending.clear();
  rejectOs(new Error(message));
}

// request(method, params) -> reply {ok, result | error}; never rejects.
function request(method, params = {}) {
  const id = `r${++nextId}`;
  if (osFailure) return Promise.resolve({ type: "reply", id, ok: false, error: osFailure });
  return new Promise((resolve) => {
    pending.set(id, resolve);
    osWorker.postMessage({ type: "request", id, method, params });
  });
}

// --- kernel ----------------------------------------------------------------------------------
let kernelGeneration = 0;
const kernel = new KernelHost({
  base,
  info: { missingPackages: BUILD.missingPackages },
  snapshot,
  onStatus: (s) => {
    if (s.state === "idle") mark("kernelReady");
    if (s.generation !== kernelGeneration) {
      kernelGeneration = s.generation;
      osWorker?.postMessage({ type: "kernel.generation", generation: s.generation });
    }
    emit("kernel.status", s);
  },
  onProgress: (p) => emit("boot.progress", { room: "kernel", stage: p.stage, pct: p.pct }),
});

// An applet's endless loop froze the sandbox process the kernel's frame shares (see
// applet-host.mjs): the kernel moves to a new frame, so Python keeps answering.
window.addEventListener("llmos:sandbox-process-frozen", (e) => {
  kernel.recreate(`an applet (${e.detail?.culprit}) froze the sandbox process it shares with the kernel`);
});

// The OS runs code in the kernel (the agent's execute_python): queued with console runs, output
// streamed back to the OS worker. Only the OS worker sends these; nothing the kernel sends is
// ever forwarded to the OS (see kernel-host.mjs).
function onOsKernelRequest(m) {
  const id = String(m.id);
  if (m.type === "kernel.interrupt") return kernel.interrupt(`os:${id}`);
  const onStream = (name, text) => osWorker.postMessage({ type: "kernel.stream", id, name, text });
  const options = { files: String(m.files || ""), timeoutMs: Number(m.timeoutMs) || 0, tag: `os:${id}` };
  kernel.execute(String(m.code), onStream, options).then((result) => {
    osWorker.postMessage({ type: "kernel.result", id, result: JSON.stringify(result), generation: result.generation });
  });
}

// Console runs (window.llmos.exec, the UI console) run in the kernel's workspace, the user
// volume's counterpart: files they create or change are saved to the user volume, so the
// explorer shows them. Resolves to the kernel's result plus `saved` (paths) and notes in stderr.
async function consoleExec(code, onStream) {
  const result = await kernel.execute(String(code), onStream, { tag: "console" });
  const saved = [];
  for (const [path, base64] of Object.entries(result.files)) {
    const reply = await saveKernelFile(path, base64);
    if (reply.ok) {
      saved.push(reply.result.path);
    } else {
      const note = `[llmos] ${path} was not saved: ${reply.error.message}\n`;
      result.stderr += note;
      onStream?.("stderr", note);
    }
  }
  return { ...result, saved };
}

// The kernel is untrusted: a path must stay inside the user volume (the OS checks it again).
function saveKernelFile(path, base64) {
  const parts = String(path).split("/");
  if (parts.some((p) => p === "" || p === "." || p === "..") || typeof base64 !== "string") {
    return Promise.resolve({ ok: false, error: { message: "not a relative path" } });
  }
  return request("fs.write", { path: `user/${parts.join("/")}`, base64 });
}

// --- service worker: offline cache, COOP/COEP for static hosts, update notice ------------------
async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  const registration = await navigator.serviceWorker.register(new URL("sw.js", base), { scope: base.pathname });
  const announce = () => emit("app.update", { ready: true });
  if (registration.waiting && navigator.serviceWorker.controller) announce();
  registration.addEventListener("updatefound", () => {
    const incoming = registration.installing;
    incoming?.addEventListener("statechange", () => {
      if (incoming.state === "installed" && navigator.serviceWorker.controller) announce();
    });
  });
  let reloading = false;
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (reloading || !sessionStorage.getItem("llmos-applying-update")) return;
    reloading = true;
    sessionStorage.removeItem("llmos-applying-update");
    location.reload();
  });
  window.llmosApplyUpdate = () => {
    sessionStorage.setItem("llmos-applying-update", "1");
    registration.waiting?.postMessage({ type: "skip-waiting" });
  };
}

async function requestPersistence() {
  const persisted = await navigator.storage?.persist?.().catch(() => false);
  emit("storage.persist", { persisted: !!persisted });
}

// --- public API ------------------------------------------------------------------------------
const t0 = performance.now();
startOs();
// The kernel boots from the OS's interpreter snapshot, so it starts once that exists; until
// then the two cores go to the UI and the OS.
snapshot
  .then(() => kernel.start())
  .catch((error) => emit("kernel.status", { state: "failed", detail: String(error) }));
const ready = Promise.all([osReady, kernel.ready()]).then(([os]) => {
  mark("ready");
  const info = { ms: performance.now() - t0, storage: os.storage, isolated: self.crossOriginIsolated };
  emit("llmos.ready", info);
  return info;
});
ready.catch((error) => emit("llmos.failed", { message: String(error?.message ?? error) }));
// Precaching the whole build competes with the boot for the network and the disk: do it after.
ready
  .finally(() => registerServiceWorker())
  .catch((error) => console.warn("service worker:", error));
requestPersistence();

// exec resolves to {stdout, stderr, result, error}, plus `files` ({path: base64}, also saved to
// the user volume) and `images` ([base64 PNG]) when the code produced any.
const publicResult = ({ stdout, stderr, result, error, files, images }) => ({
  stdout, stderr, result, error,
  ...(Object.keys(files).length ? { files } : {}),
  ...(images.length ? { images } : {}),
});

window.llmos = Object.freeze({
  version: BUILD.version,
  build: BUILD.id,
  ready,
  exec: async (code) => publicResult(await consoleExec(code)), // queued until the kernel is ready
  interrupt: () => kernel.interrupt("console"),
  request,
});

window.llmosBridge = {
  subscribe(fn) {
    listeners.add(fn);
    for (const e of latest.values()) fn(JSON.stringify(e));
  },
  async request(method, paramsJson) {
    await osReady.catch(() => {});
    return JSON.stringify(await request(method, JSON.parse(paramsJson || "{}")));
  },
  // Resolves to the result as JSON: {stdout, stderr, result, error, images, saved}; file bytes
  // stay out of the UI's MicroPython heap (they are in the user volume, paths in `saved`).
  async exec(code, onStream) {
    const { files, generation, ...result } = await consoleExec(code, (name, text) => onStream(name, text));
    return JSON.stringify(result);
  },
  interrupt: () => kernel.interrupt("console"),
  applyUpdate: () => window.llmosApplyUpdate?.(),
  isolated: () => self.crossOriginIsolated,
};
emit("shell.booted", { ms: performance.now() });

// File transfer for the UI: file bytes go straight between the browser and the OS worker,
// never through the UI's MicroPython heap. Both resolve to the OS reply as JSON text.
const toBase64 = (bytes) => {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
};

window.llmosFiles = {
  async upload(folder, file) {
    const base64 = toBase64(new Uint8Array(await file.arrayBuffer()));
    return JSON.stringify(await request("fs.write", { path: `${folder}/${file.name}`, base64 }));
  },
  async download(path) {
    const reply = await request("fs.read", { path, encoding: "base64" });
    if (reply.ok) {
      const bytes = Uint8Array.from(atob(reply.result.base64), (c) => c.charCodeAt(0));
      const url = URL.createObjectURL(new Blob([bytes]));
      const link = Object.assign(document.createElement("a"), { href: url, download: path.split("/").pop() });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    }
    return JSON.stringify(reply);
  },
};
