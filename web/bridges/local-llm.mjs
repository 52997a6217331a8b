// The local model, inside the OS worker: wllama (llama.cpp in WebAssembly) runs the GGUF that
// build.py vendors, in a worker of its own. Nothing loads until the first chat. The model is kept
// in the origin-private file system (wllama's cache) after its first download, so later loads and
// offline use read it from disk. Python (llmos.platform.browser.local_llm) drives this through
// globalThis.llmosLocalLlm; prompts, grammars and output parsing live in llmos.llm.local.
import { BUILD } from "./build-info.mjs";

const ROOT = new URL("../", import.meta.url);
const WLLAMA_JS = new URL("vendor/wllama/index.js", ROOT).href;
const WLLAMA_WASM = new URL("vendor/wllama/wllama.wasm", ROOT).href;
const MODEL = BUILD.localModel;
// The version query changes with the model, so wllama's cache (keyed by URL) never serves a stale one.
const MODEL_URL = new URL(`${MODEL.file}?v=${MODEL.version}`, ROOT).href;

// Threads: half the cores, at most 4, so the page and the OS keep some. On 2 idle cores 2 threads
// generated 19 tok/s against 11 with 1, but fell to 2 tok/s when other work shared the cores
// (bench/llm.py): a 2-core machine gets 1. nCtx: llmos.llm.local.CONTEXT_TOKENS fits prompts to it.
const config = { nThreads: Math.max(1, Math.min(4, Math.floor((navigator.hardwareConcurrency || 2) / 2))), nCtx: 2048 };
let wllama = null; // a loaded Wllama
let loading = null; // the Promise of the load in progress
let controller = null; // aborts the chat in progress
let lastLoad = null; // {load_ms, cached, n_threads, multithread} of the latest load

// Errors cross into Python as "[code] message"; llmos.llm.local maps the code to an LlmError.
const fail = (code, message) => new Error(`[${code}] ${message}`);

const quietLogger = { debug: () => {}, log: () => {}, warn: console.warn, error: console.error };

function needsCompat() {
  const jspi = typeof WebAssembly.Suspending === "function";
  let memory64 = true;
  try {
    new WebAssembly.Memory({ initial: 1n, maximum: 1n, address: "i64" });
  } catch {
    memory64 = false;
  }
  return !(jspi && memory64);
}

async function isCached(instance) {
  const models = await instance.modelManager.getModels();
  return models.some((m) => m.url === MODEL_URL);
}

// Older versions of the model (another ?v=) would hold on to ~100 MB each.
async function dropStaleModels(instance) {
  const sameFile = (url) => url.split("?")[0] === MODEL_URL.split("?")[0];
  const stale = (await instance.cacheManager.list()).filter(
    (e) => sameFile(e.metadata?.originalURL ?? "") && e.metadata.originalURL !== MODEL_URL,
  );
  for (const entry of stale) await instance.cacheManager.delete(entry.name);
}

// The service worker keeps wllama once it serves it, but a first load may come before it controls
// this worker: then put the files in its cache here (the HTTP cache makes that a revalidation).
async function keepForOffline() {
  const cache = await caches.open(`llmos-build-${BUILD.id}`);
  for (const url of [WLLAMA_JS, WLLAMA_WASM]) {
    if (!(await cache.match(url))) await cache.add(url);
  }
}

function explainLoadError(error) {
  const text = messageOf(error);
  if (/HTTP 404/.test(text)) {
    return fail("model_missing", `This build has no local model (${MODEL.file} answered 404). Rebuild with build.py, or set a remote model endpoint.`);
  }
  if (error instanceof TypeError && /fetch/i.test(text)) {
    return fail("network", "The local model has not been downloaded yet and the network is unreachable. Connect once to download it (98 MB).");
  }
  return outOfMemory(error) ?? fail("local_model", `The local model failed to load: ${messageOf(error)}`);
}

function explainChatError(error) {
  if (error?.type === "kv_cache_full" || /exceeds the available context|context size|kv_cache_full/i.test(messageOf(error))) {
    return fail("context_full", `The conversation is too long for the local model's ${config.nCtx}-token context: start a new one or shorten it.`);
  }
  return outOfMemory(error) ?? fail("local_model", `The local model failed: ${messageOf(error)}`);
}

const messageOf = (error) => String(error?.message ?? error);

function outOfMemory(error) {
  const text = messageOf(error);
  if (!/out of memory|Cannot allocate|OOM|RangeError/i.test(text)) return null;
  return fail("out_of_memory", `Not enough memory for the local model (${text}). Close other tabs, or set a remote model endpoint.`);
}

async function load(onProgress = () => {}) {
  if (wllama) return lastLoad;
  loading ??= start(onProgress).finally(() => {
    loading = null;
  });
  return loading;
}

async function start(onProgress) {
  if (needsCompat()) {
    throw fail("unsupported", "This browser lacks WebAssembly JSPI or Memory64, which the local model needs (Chromium 137 or newer has both). Set a remote model endpoint instead.");
  }
  const t0 = performance.now();
  const { Wllama } = await import(WLLAMA_JS);
  const instance = new Wllama({ default: WLLAMA_WASM }, { logger: quietLogger, suppressNativeLog: true, allowOffline: true });
  const cached = await isCached(instance);
  const stage = cached ? "Reading the local model from disk" : "Downloading the local model";
  const progress = ({ loaded, total }) => onProgress({ stage, loaded, total });
  progress({ loaded: 0, total: 0 });
  try {
    await instance.loadModelFromUrl(MODEL_URL, {
      n_ctx: config.nCtx,
      n_threads: config.nThreads,
      n_parallel: 1, // one conversation at a time: its prompt stays cached between turns
      n_gpu_layers: 0, // CPU: WebGPU needs a real GPU to pay off for a 135M model
      progressCallback: progress,
    });
  } catch (error) {
    await instance.exit().catch(() => {});
    throw explainLoadError(error);
  }
  onProgress({ stage: "Local model ready", loaded: 1, total: 1 });
  await dropStaleModels(instance).catch((e) => console.warn("could not drop old models:", e));
  keepForOffline().catch((e) => console.warn("wllama is not kept for offline use:", e));
  wllama = instance;
  lastLoad = {
    load_ms: performance.now() - t0,
    cached,
    n_threads: instance.getNumThreads(),
    multithread: instance.isMultithread(),
  };
  return lastLoad;
}

// request: {messages, max_tokens, temperature, grammar?, ...sampling}, as llmos.llm.local builds it.
// Resolves to JSON {text, finish_reason, usage, stats}; onToken gets each piece of text.
async function chat(requestJson, onToken = () => {}, onProgress = () => {}) {
  const request = JSON.parse(requestJson);
  const own = (controller = new AbortController()); // a stop during the load skips the chat
  const loadedNow = !wllama;
  await load(onProgress);
  if (own.signal.aborted) return aborted("", loadedNow);
  const t0 = performance.now();
  let firstToken = null;
  let text = "";
  let last = null;
  let finish = null;
  try {
    const stream = await wllama.createChatCompletion({ ...request, stream: true, abortSignal: own.signal });
    for await (const chunk of stream) {
      if (own.signal.aborted) break; // the caller stopped listening
      const piece = chunk.choices?.[0]?.delta?.content ?? "";
      finish = chunk.choices?.[0]?.finish_reason ?? finish;
      last = chunk;
      if (!piece) continue;
      firstToken ??= performance.now() - t0;
      text += piece;
      onToken(piece);
    }
  } catch (error) {
    if (error?.name !== "AbortError") {
      if (error?.name === "WllamaRuntimeError" || /crashed/.test(String(error?.message))) await unload();
      throw explainChatError(error);
    }
  } finally {
    if (controller === own) controller = null;
  }
  if (own.signal.aborted) return aborted(text, loadedNow);
  return JSON.stringify(result(text, finish, last, firstToken, performance.now() - t0, loadedNow));
}

const aborted = (text, loadedNow) =>
  JSON.stringify({ text, finish_reason: "aborted", usage: null, stats: { ...lastLoad, loaded_now: loadedNow } });

function result(text, finish, last, firstToken, totalMs, loadedNow) {
  const t = last?.timings ?? {};
  const completion = t.predicted_n ?? 0;
  return {
    text,
    finish_reason: finish ?? "stop",
    usage: { prompt_tokens: (t.prompt_n ?? 0) + (t.cache_n ?? 0), completion_tokens: completion },
    stats: {
      ...lastLoad,
      loaded_now: loadedNow,
      ttft_ms: firstToken,
      total_ms: totalMs,
      prompt_ms: t.prompt_ms ?? null,
      prompt_tokens_per_s: t.prompt_per_second ?? null,
      prompt_cached_tokens: t.cache_n ?? 0,
      generation_ms: t.predicted_ms ?? null,
      tokens_per_s: t.predicted_per_second ?? (completion && totalMs ? (completion * 1000) / totalMs : 0),
    },
  };
}

function abort() {
  controller?.abort();
}

async function unload() {
  const instance = wllama;
  wllama = null;
  await instance?.exit().catch(() => {});
}

// Settings for the next load (the benchmark compares thread counts); a loaded model is unloaded.
async function configure(options = {}) {
  const next = { ...config, ...options };
  if (next.nThreads === config.nThreads && next.nCtx === config.nCtx) return;
  Object.assign(config, next);
  await unload();
}

function info() {
  return { model: MODEL.file, loaded: !!wllama, loading: !!loading, config: { ...config }, lastLoad };
}

globalThis.llmosLocalLlm = { load, chat, abort, configure, unload, info };
