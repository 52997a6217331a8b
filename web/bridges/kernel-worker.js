// The kernel worker: Pyodide for user and agent code, started from a data: URL inside the
// sandboxed iframe. It has no network (CSP connect-src 'none'); every file it needs
// (Pyodide itself, wheels) is asked of the host page and served from memory by a fetch shim.
const BASE = "https://kernel.invalid/";
let nextRequest = 0, interrupt = null, pyodide = null, kernel = null;
const pending = new Map();
const post = (m, transfer = []) => self.postMessage(m, transfer);

const getFile = (path) => new Promise((resolve, reject) => {
  const reqId = ++nextRequest;
  pending.set(reqId, { resolve, reject });
  post({ type: "fetch", reqId, path });
});

const TYPES = { wasm: "application/wasm", json: "application/json", mjs: "text/javascript", js: "text/javascript" };

globalThis.fetch = async (input) => {
  const url = new URL(input instanceof Request ? input.url : String(input), BASE);
  if (url.origin !== new URL(BASE).origin) throw new TypeError(`The kernel has no network access (${url.origin}).`);
  const buffer = await getFile(decodeURIComponent(url.pathname.slice(1)));
  const ext = url.pathname.split(".").pop();
  return new Response(buffer, { headers: { "Content-Type": TYPES[ext] || "application/octet-stream" } });
};

const blobUrl = (buffer) => URL.createObjectURL(new Blob([buffer], { type: "text/javascript" }));
const progress = (stage, pct) => post({ type: "progress", stage, pct });

async function boot(info) {
  progress("Loading the kernel runtime", 10);
  const asm = await import(blobUrl(await getFile("pyodide/pyodide.asm.mjs")));
  const { loadPyodide } = await import(blobUrl(await getFile("pyodide/pyodide.mjs")));
  const options = { indexURL: BASE + "pyodide/", createPyodideModule: asm.default };
  const snapshot = await getFile("pyodide/snapshot.bin").catch(() => null);
  if (snapshot) {
    // The OS worker's snapshot of a clean interpreter (taken before anything private loaded).
    pyodide = await loadPyodide({ ...options, _loadSnapshot: new Uint8Array(snapshot) }).catch(() => null);
  }
  pyodide ??= await loadPyodide(options);
  // A fatal interpreter error (e.g. os.abort()) leaves this Pyodide unusable: ask for a new one.
  pyodide._api.on_fatal = (error) =>
    post({ type: "status", state: "crashed", detail: String(error?.message ?? error).slice(0, 500) });
  progress("Loading the kernel package", 70);
  await pyodide.loadPackage(["llmos"], { messageCallback: () => {} });
  const kernelMain = pyodide.pyimport("llmos.platform.browser.kernel_main");
  kernel = kernelMain.setup(JSON.stringify(info.missingPackages || {}), arm);
  progress("Kernel ready", 100);
  post({ type: "status", state: "idle", detail: "ready", isolated: !!interrupt });
}

// SIGINT is armed only while the executor runs the cell inside its error handling: a signal
// landing anywhere else (package loading, asyncio's machinery) can be fatal to the interpreter.
// The frame holds a Stop back until it sees "running"; a stale signal is cleared when arming.
// Called by the Python executor (llmos.kernel.executor) as it enters and leaves the cell.
const arm = (on) => {
  if (interrupt) {
    if (on) Atomics.store(interrupt, 0, 0);
    pyodide.setInterruptBuffer(on ? interrupt : undefined);
  }
  post({ type: on ? "running" : "ran", id: current });
};
let current = null;

async function execute(message) {
  post({ type: "status", state: "busy" });
  current = message.id;
  try {
    await pyodide.loadPackagesFromImports(message.code, { messageCallback: () => {} });
  } catch (error) {
    // Unavailable packages are explained by the import hint when the code runs.
  }
  let result;
  try {
    // files: {path: base64} as JSON text, written into the workspace before the code runs.
    result = await kernel.run(message.id, message.code, (json) => post(JSON.parse(json)), message.files || "");
  } catch (error) {
    // Python itself died (a fatal error in the interpreter): this worker is beyond repair.
    post({ type: "status", state: "crashed", detail: String(error?.message ?? error).slice(0, 500) });
    return;
  }
  post(JSON.parse(result));
  post({ type: "status", state: "idle" });
}

let ready = null;
self.onmessage = async (e) => {
  const m = e.data;
  if (m.type === "init") {
    interrupt = m.interrupt;
    post({ type: "info-request" });
  } else if (m.type === "info") {
    ready = boot(m).catch((error) => post({ type: "status", state: "failed", detail: String(error?.message ?? error) }));
  } else if (m.type === "file") {
    const p = pending.get(m.reqId);
    pending.delete(m.reqId);
    if (m.error) p?.reject(new TypeError(m.error)); else p?.resolve(m.buffer);
  } else if (m.type === "execute") {
    await ready;
    await execute(m);
  }
};
