// The embedder's own worker: all-MiniLM-L6-v2 (ONNX) in onnxruntime-web, WASM or WebGPU.
// Started by embedder.mjs (in the OS worker), so loading the model (seconds of wasm
// compilation and graph optimisation) and running it never block the OS's event loop.
// Messages: {id, op: "load", options} / {id, op: "embed", ids, batch, width, lengths};
// replies {id, ok, result | error}; progress {id, progress}.
// Vectors are mean-pooled over the attention mask and L2-normalised here, as natively.
// The model and ORT's wasm live in a Cache named after their version, so app updates do not
// download them again; ORT's small .mjs glue is precached with the app by the service worker.
import { BUILD } from "./build-info.mjs";

const BASE = new URL("../", import.meta.url);
const DIM = 384;
let state = null; // {ort, session, backend, threads, adapter}
let loading = null;

async function adapterInfo() {
  if (!self.navigator?.gpu) return null;
  const adapter = await navigator.gpu.requestAdapter().catch(() => null);
  if (!adapter) return null;
  const info = adapter.info || {};
  return { vendor: info.vendor || "", architecture: info.architecture || "", fallback: Boolean(info.isFallbackAdapter) };
}

// "auto" takes WebGPU on a real GPU; a software (fallback) adapter is slower than WASM.
async function chooseBackend(prefer) {
  if (prefer === "wasm") return ["wasm", null];
  const adapter = await adapterInfo();
  if (prefer === "webgpu") {
    if (!adapter) throw Object.assign(new Error("This browser has no WebGPU adapter."), { name: "NotSupportedError" });
    return ["webgpu", adapter];
  }
  return adapter && !adapter.fallback ? ["webgpu", adapter] : ["wasm", adapter];
}

async function cachedBytes(path, onProgress, label, share) {
  const { version } = BUILD.embedder;
  const url = new URL(path, BASE).href;
  const cache = await caches.open(`llmos-embedder-${version}`).catch(() => null);
  const hit = cache && (await cache.match(url));
  if (hit) return new Uint8Array(await hit.arrayBuffer());
  const response = await fetch(url);
  if (!response.ok) throw new Error(`Could not download ${path}: HTTP ${response.status}`);
  const total = Number(response.headers.get("Content-Length")) || 0;
  const reader = response.body.getReader();
  const parts = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    received += value.length;
    onProgress?.({ stage: label, loaded: received, total, share });
  }
  const bytes = new Uint8Array(received);
  let at = 0;
  for (const part of parts) { bytes.set(part, at); at += part.length; }
  if (cache) {
    const headers = { "Content-Type": "application/octet-stream" };
    await cache.put(url, new Response(bytes, { headers })).catch(() => {}); // a full quota only costs a re-download
  }
  return bytes;
}

async function load({ backend: prefer = "auto", threads: wanted = 0, model: modelPath = null } = {}, onProgress = null) {
  if (state && (prefer === "auto" || prefer === state.backend)) return describe();
  const t0 = performance.now();
  const [backend, adapter] = await chooseBackend(prefer);
  const files = BUILD.embedder.files;
  const ort = await import(new URL(files[backend].module, BASE).href);
  const wasm = await cachedBytes(files[backend].wasm, onProgress, "runtime", 0.4);
  const model = await cachedBytes(modelPath || BUILD.embedder.model, onProgress, "model", 0.6);
  ort.env.wasm.wasmPaths = new URL("vendor/ort/", BASE).href;
  ort.env.wasm.wasmBinary = wasm;
  // By default half the cores: memory works in the background, and on a 2-core machine a
  // second ORT thread starved the chat for seconds while the model loaded.
  const cores = navigator.hardwareConcurrency || 1;
  const most = self.crossOriginIsolated ? Math.max(1, Math.min(4, cores)) : 1;
  const threads = Math.min(wanted > 0 ? wanted : Math.max(1, Math.floor(cores / 2)), most);
  ort.env.wasm.numThreads = threads;
  ort.env.logLevel = "error";
  const session = await ort.InferenceSession.create(model, {
    executionProviders: [backend],
    graphOptimizationLevel: "all",
  });
  state = { ort, session, backend, threads, adapter };
  onProgress?.({ stage: "ready", loaded: 1, total: 1, share: 1 });
  return describe(performance.now() - t0);
}

function describe(ms = 0) {
  return { backend: state.backend, threads: state.threads, adapter: state.adapter, ms };
}

async function embed(ids, batch, width, lengths) {
  if (!state) throw new Error("The embedder is not loaded.");
  const { ort, session } = state;
  const n = batch * width;
  const inputIds = new BigInt64Array(n), mask = new BigInt64Array(n);
  for (let i = 0; i < n; i++) {
    inputIds[i] = BigInt(ids[i]);
    mask[i] = i % width < lengths[Math.floor(i / width)] ? 1n : 0n;
  }
  const shape = [batch, width];
  const out = await session.run({
    input_ids: new ort.Tensor("int64", inputIds, shape),
    attention_mask: new ort.Tensor("int64", mask, shape),
    token_type_ids: new ort.Tensor("int64", new BigInt64Array(n), shape),
  });
  const hidden = out.last_hidden_state;
  const data = hidden.location === "cpu" ? hidden.data : await hidden.getData();
  hidden.dispose?.();
  return pool(data, lengths, batch, width);
}

function pool(hidden, lengths, batch, width) {
  const vectors = new Float32Array(batch * DIM);
  const sum = new Float64Array(DIM);
  for (let b = 0; b < batch; b++) {
    sum.fill(0);
    let count = 0;
    for (let t = 0; t < lengths[b]; t++) {
      count++;
      const base = (b * width + t) * DIM;
      for (let d = 0; d < DIM; d++) sum[d] += hidden[base + d];
    }
    let norm = 0;
    for (let d = 0; d < DIM; d++) { sum[d] /= Math.max(count, 1); norm += sum[d] * sum[d]; }
    norm = Math.sqrt(norm) || 1;
    for (let d = 0; d < DIM; d++) vectors[b * DIM + d] = sum[d] / norm;
  }
  return vectors;
}

self.onmessage = async ({ data: m }) => {
  try {
    let result;
    if (m.op === "load") {
      result = await load(m.options, (progress) => self.postMessage({ id: m.id, progress }));
    } else if (m.op === "embed") {
      result = await embed(m.ids, m.batch, m.width, m.lengths);
    } else if (m.op === "adapter") {
      result = await adapterInfo();
    } else {
      throw new Error(`unknown operation ${m.op}`);
    }
    self.postMessage({ id: m.id, ok: true, result }, result instanceof Float32Array ? [result.buffer] : []);
  } catch (error) {
    self.postMessage({ id: m.id, ok: false, error: { name: error?.name || "Error", message: String(error?.message ?? error) } });
  }
};
