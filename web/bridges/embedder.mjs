// The embedder, as the OS worker sees it: a client of embedder-worker.mjs, which runs
// onnxruntime-web in its own worker so the OS stays responsive while the model loads or runs.
// llmos.platform.browser.embedder calls globalThis.llmosEmbedder:
//   load({backend, threads, onProgress}) -> {backend, threads, adapter, ms}
//     threads: 0 = half the cores, else that many (more than one only when cross-origin isolated)
//   embed(ids: Int32Array of B*W token ids (0-padded), batch B, width W, lengths: Int32Array(B))
//     -> Float32Array(B*384). Lengths, not zeros, mark padding: a text may contain "[PAD]" (id 0).
let worker = null;
let nextId = 0;
const pending = new Map(); // id -> {resolve, reject, onProgress}
let info = null;
let loading = null;

function start() {
  if (worker) return worker;
  worker = new Worker(new URL("./embedder-worker.mjs", import.meta.url), { type: "module", name: "embedder" });
  worker.onmessage = ({ data: m }) => {
    const call = pending.get(m.id);
    if (!call) return;
    if (m.progress) return call.onProgress?.(m.progress);
    pending.delete(m.id);
    if (m.ok) call.resolve(m.result);
    else call.reject(Object.assign(new Error(m.error.message), { name: m.error.name }));
  };
  worker.onerror = (event) => {
    const error = new Error(`The embedding worker failed: ${event.message || "it could not start"}`);
    for (const call of pending.values()) call.reject(error);
    pending.clear();
    worker = null;
    info = null;
  };
  return worker;
}

function call(message, transfer = [], onProgress = null) {
  const id = ++nextId;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, onProgress });
    start().postMessage({ id, ...message }, transfer);
  });
}

globalThis.llmosEmbedder = {
  // One load at a time; a failed load can be retried.
  load({ onProgress = null, ...options } = {}) {
    loading ??= call({ op: "load", options }, [], onProgress)
      .then((result) => (info = result))
      .finally(() => { loading = null; });
    return loading;
  },
  embed(ids, batch, width, lengths) {
    const copy = Int32Array.from(ids);
    return call({ op: "embed", ids: copy, batch, width, lengths: Int32Array.from(lengths) }, [copy.buffer]);
  },
  loaded: () => info,
  adapterInfo: () => call({ op: "adapter" }),
};
