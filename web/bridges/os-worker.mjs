// The OS worker: Pyodide running the llmos core. It alone holds settings and secrets.
// Speaks llmos.protocol: takes {type:"request"} messages, posts replies and events.
import "./local-llm.mjs";
import "./embedder.mjs";
import "./vector-index.mjs";
import { loadPyodide } from "../pyodide/pyodide.mjs";
import { BUILD } from "./build-info.mjs";
import { dropSnapshots, readSnapshot, startPyodide, writeSnapshot } from "./snapshot.mjs";
import { openStorage } from "./storage.mjs";

const post = (message, transfer = []) => self.postMessage(message, transfer);
const progress = (stage, pct) =>
  post({ type: "event", name: "boot.progress", data: { room: "os", stage, pct } });

const queue = [];
let handle = null;
self.onmessage = (e) => {
  if (String(e.data?.type).startsWith("kernel.")) return onKernelMessage(e.data);
  return handle ? answer(e.data) : queue.push(e.data);
};

async function answer(message) {
  post(JSON.parse(await handle(JSON.stringify(message))));
}

// --- kernel bridge: the OS runs code in the kernel through the page -------------------------
// llmos.platform.browser.sandbox.KernelSandbox calls globalThis.llmosKernel. The page queues the
// run on its KernelHost, streams output back ("kernel.stream") and posts "kernel.result";
// "kernel.generation" says the kernel (re)started, so its variables and files are gone.
const kernelRuns = new Map();
let kernelGeneration = 0, kernelNextId = 0;

globalThis.llmosKernel = {
  // filesJson: {path: base64}; onOutput(name, text) or null; timeoutMs 0 for none.
  execute(code, filesJson, onOutput, timeoutMs) {
    const id = `k${++kernelNextId}`;
    return new Promise((resolve) => {
      kernelRuns.set(id, { resolve, onOutput });
      post({ type: "kernel.execute", id, code, files: filesJson, timeoutMs });
    });
  },
  // Stops this OS's runs only (running or queued), never the user's console runs.
  async interrupt() {
    for (const id of kernelRuns.keys()) post({ type: "kernel.interrupt", id });
  },
  generation: () => kernelGeneration,
};

function onKernelMessage(m) {
  if (typeof m.generation === "number") kernelGeneration = m.generation;
  const run = kernelRuns.get(m.id);
  if (m.type === "kernel.stream") run?.onOutput?.(m.name, m.text);
  if (m.type === "kernel.result" && run) {
    kernelRuns.delete(m.id);
    run.resolve(m.result);
  }
}

async function boot() {
  const params = new URL(self.location.href).searchParams;
  progress("Loading the Python runtime", 5);
  const t0 = performance.now();
  const saved = await readSnapshot(BUILD.id);
  const { pyodide, snapshot, fresh } = await startPyodide(
    loadPyodide,
    { indexURL: new URL("../pyodide/", import.meta.url).href },
    saved,
  );
  if (saved && fresh) await dropSnapshots();
  // Hand the page a copy for the kernel, which may start from the same clean interpreter.
  const copy = snapshot.slice();
  post({ type: "snapshot", bytes: copy }, [copy.buffer]);
  progress("Loading the LLMos package", 60);
  await pyodide.loadPackage(["llmos"], { messageCallback: () => {}, errorCallback: (m) => console.error(m) });
  progress("Opening your files", 80);
  const storage = await openStorage({ prefer: params.get("storage") || "opfs" });
  const osMain = pyodide.pyimport("llmos.platform.browser.os_main");
  handle = await osMain.start(storage.user, storage.private, (json) => post(JSON.parse(json)));
  progress("Ready", 100);
  post({ type: "event", name: "os.ready", data: { storage: storage.kind, ms: performance.now() - t0 } });
  for (const message of queue.splice(0)) answer(message);
  if (fresh) await writeSnapshot(BUILD.id, snapshot); // after boot: it competes for the disk
  post({ type: "event", name: "os.snapshot", data: { saved: fresh, restored: !fresh } });
}

boot().catch((error) => {
  post({ type: "event", name: "os.failed", data: { message: String(error?.message ?? error) } });
});
