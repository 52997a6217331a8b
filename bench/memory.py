"""Memory benchmark: embeddings/s, search latency, store open time and size, browser beside native.

    .venv/bin/python bench/memory.py [--quick]

In one run on this machine, side by side:

* embeddings/s of all-MiniLM-L6-v2 on short sentences (ids from our tokenizer, so both sides
  run the model on the same input), batch 1 and batch 32:
  - natively: onnxruntime, 1 thread, the shipped int8 file and its fp32 twin
    (``bench/fp32_embedder.py``: the same graph with the original weights);
  - in Chromium: onnxruntime-web WASM in the OS worker (``globalThis.llmosEmbedder``), 1 thread
    and with threads (the page is cross-origin isolated), for both files; and the WebGPU
    backend on SwiftShader, the only adapter here (``--enable-unsafe-webgpu``);
* exact top-10 search p50/p95 at 1k, 10k and 100k records: natively ``NumpyIndex``; in Chromium
  the store's search through ``JsIndex`` (the SIMD WebAssembly kernel), with recall@10 against an
  exact float64 reference;
* store open time at 100k records and bytes per record: natively on disk; in Chromium over OPFS
  (Pyodide on a harness page's main thread, so OPFS appends use writable streams, slower than
  the OS worker's sync access handles).

Writes bench/results/memory.json and prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import statistics
import sys
import tempfile
import time
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Playwright, Worker, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "pyapp"))

from fp32_embedder import build_fp32_model  # noqa: E402
from llmos.memory.tokenizer import WordPieceTokenizer  # noqa: E402
from llmos.platform.native_embedder import OnnxEmbedder  # noqa: E402
from startup import machine_info  # noqa: E402

import build  # noqa: E402
from conftest import chromium_launch_args  # noqa: E402
from tests.tokenizer_corpus import corpus  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "memory.json"
DIM = 384
SIZES = (1_000, 10_000, 100_000)
QUERIES = 50
WAIT_MS = 600_000
FP32 = build.CACHE / "models" / "minilm-fp32" / "model.onnx"


def short_sentences(count: int) -> list[list[int]]:
    """Token ids of ``count`` short corpus sentences (6-40 tokens), as both sides embed them."""
    tokenizer = WordPieceTokenizer.load()
    ids = [tokenizer.encode(t) for t in corpus()]
    short = [i for i in ids if 6 <= len(i) <= 40]
    return short[:count]


def rate(run: Callable[[list[list[int]]], Any], batches: list[list[list[int]]]) -> float:
    run(batches[0])  # warm-up: first-run allocations are not what a user waits for
    started = time.perf_counter()
    for batch in batches:
        run(batch)
    return sum(len(b) for b in batches) / (time.perf_counter() - started)


def batched(ids: list[list[int]], size: int) -> list[list[list[int]]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


# --- native ----------------------------------------------------------------------------------
def native_embedding(ids: list[list[int]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, path in (("int8", None), ("fp32", FP32)):
        engine = OnnxEmbedder(path, threads=1)
        out[name] = {
            "batch_1": round(rate(engine.embed_sync, batched(ids[:64], 1)), 1),
            "batch_32": round(rate(engine.embed_sync, batched(ids, 32)), 1),
        }
    return out


def unit_rows(count: int, seed: int) -> Any:
    import numpy as np

    rows = np.random.default_rng(seed).standard_normal((count, DIM)).astype(np.float32)
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    return rows


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 2),
    }


def native_search() -> dict[str, Any]:
    from llmos.platform.native_index import NumpyIndex

    out: dict[str, Any] = {}
    queries = unit_rows(QUERIES, 7)
    for size in SIZES:
        index = NumpyIndex(DIM)
        index.add(unit_rows(size, size).tobytes())
        times = []
        for query in queries:
            started = time.perf_counter()
            index.search(array("f", query.tobytes()), 10)
            times.append((time.perf_counter() - started) * 1000)
        out[str(size)] = percentiles(times)
    return out


def native_store() -> dict[str, Any]:
    from llmos.memory.store import NewRecord, Source, VectorStore
    from llmos.platform.native import DirectoryStorage

    rows = unit_rows(SIZES[-1], 1)

    async def fill_and_open(folder: Path) -> dict[str, Any]:
        storage = DirectoryStorage(folder)
        store = await VectorStore.open(storage, "memory", dim=DIM, model="bench")
        started = time.perf_counter()
        for start in range(0, len(rows), 5000):
            await store.add(
                [
                    NewRecord(
                        kind="note",
                        text=f"Synthetic memory number {n} about topic {n % 97}.",
                        metadata={"n": n},
                        source=Source("note", f"note-{n}", f"Note {n}"),
                        vector=array("f", rows[n].tobytes()),
                    )
                    for n in range(start, min(start + 5000, len(rows)))
                ]
            )
        added = time.perf_counter() - started
        opened = []
        for _ in range(3):
            started = time.perf_counter()
            again = await VectorStore.open(storage, "memory", dim=DIM, model="bench")
            opened.append((time.perf_counter() - started) * 1000)
            assert again.count == len(rows)
        return {
            "records": len(rows),
            "add_records_per_s": round(len(rows) / added),
            "open_ms": round(statistics.median(opened), 1),
            "bytes_per_record": round(again.size_bytes / len(rows), 1),
        }

    with tempfile.TemporaryDirectory() as tmp:
        return asyncio.run(fill_and_open(Path(tmp)))


# --- Chromium: the embedder in the OS worker ---------------------------------------------------
def os_worker(page: Page) -> Worker:
    page.wait_for_function("window.llmos !== undefined", timeout=WAIT_MS)
    page.evaluate("window.llmos.ready")
    return next(w for w in page.workers if "os-worker" in w.url)


EMBED_JS = """async ([batches, reps]) => {
  const run = async (batch) => {
    const width = Math.max(...batch.map((ids) => ids.length));
    const flat = new Int32Array(batch.length * width);
    batch.forEach((ids, row) => flat.set(ids, row * width));
    const lengths = Int32Array.from(batch, (ids) => ids.length);
    await globalThis.llmosEmbedder.embed(flat, batch.length, width, lengths);
  };
  await run(batches[0]);
  const t0 = performance.now();
  let count = 0;
  for (let r = 0; r < reps; r++) {
    for (const batch of batches) { await run(batch); count += batch.length; }
  }
  return count / ((performance.now() - t0) / 1000);
}"""


def browser_embedding(pw: Playwright, url: str, ids: list[list[int]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    browser = pw.chromium.launch(**chromium_launch_args())
    try:
        for name, model in (("int8", None), ("fp32", "bench/fp32.onnx")):
            for threads in (1, 4):  # 4: as many as the page allows (cores, isolated)
                page = browser.new_context().new_page()
                page.goto(url)
                worker = os_worker(page)
                info = worker.evaluate(
                    "(o) => globalThis.llmosEmbedder.load(o)",
                    {"backend": "wasm", "threads": threads, "model": model},
                )
                label = "1_thread" if threads == 1 else f"{info['threads']}_threads"
                out.setdefault(name, {})[label] = {
                    "batch_1": round(worker.evaluate(EMBED_JS, [batched(ids[:64], 1), 1]), 1),
                    "batch_32": round(worker.evaluate(EMBED_JS, [batched(ids, 32), 1]), 1),
                    "isolated": page.evaluate("self.crossOriginIsolated"),
                }
                page.context.close()
    finally:
        browser.close()
    return out


def browser_webgpu(pw: Playwright, url: str, ids: list[list[int]]) -> dict[str, Any]:
    """The WebGPU backend on this machine's only adapter, SwiftShader (a CPU fallback): why
    ``auto`` skips fallback adapters."""
    args = chromium_launch_args()
    args["args"] = [*args["args"], "--enable-unsafe-webgpu"]
    browser = pw.chromium.launch(**args)
    try:
        page = browser.new_page()
        page.goto(url)
        worker = os_worker(page)
        info = worker.evaluate("(o) => globalThis.llmosEmbedder.load(o)", {"backend": "webgpu"})
        return {
            "adapter": info["adapter"],
            "batch_1": round(worker.evaluate(EMBED_JS, [batched(ids[:16], 1), 1]), 1),
            "batch_32": round(worker.evaluate(EMBED_JS, [batched(ids[:64], 32), 1]), 1),
        }
    finally:
        browser.close()


# --- Chromium: the store and its index, in Pyodide -----------------------------------------------
STORE_HARNESS = """<!doctype html><meta charset="utf-8"><title>memory bench</title>
<script type="module">
const worker = new Worker("./worker.mjs", { type: "module" });
worker.onmessage = (e) => { window.benchResult = e.data; };
worker.onerror = (e) => { window.benchResult = JSON.stringify({ error: String(e.message) }); };
</script>"""

# Runs in a worker, as the OS does: OPFS through sync access handles, Pyodide off the page.
STORE_WORKER = """
import { loadPyodide } from "./pyodide/pyodide.mjs";
import { openStorage } from "./bridges/storage.mjs";
import "./bridges/vector-index.mjs";
// Deterministic unit rows (row n from seed n), made in JS: 100k x 384 in Python would take minutes.
self.makeRows = (start, count) => {
  const out = new Float32Array(count * 384);
  for (let r = 0; r < count; r++) {
    let x = ((start + r + 1) * 2654435761) >>> 0, norm = 0;
    for (let d = 0; d < 384; d++) {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      const v = x / 4294967296 - 0.5;
      out[r * 384 + d] = v; norm += v * v;
    }
    norm = Math.sqrt(norm);
    for (let d = 0; d < 384; d++) out[r * 384 + d] /= norm;
  }
  return new Uint8Array(out.buffer);
};
try {
  const config = await (await fetch("./config.json")).json();
  const py = await loadPyodide({ indexURL: "./pyodide/" });
  await py.loadPackage(["llmos"]);
  const storage = await openStorage({ prefer: "opfs", namespace: "bench-" + Date.now() });
  py.globals.set("storage", storage.user);
  py.globals.set("config_json", JSON.stringify(config));
  self.postMessage(await py.runPythonAsync(await (await fetch("./bench.py")).text()));
} catch (error) {
  self.postMessage(JSON.stringify({ error: String(error?.stack ?? error) }));
}
"""

STORE_SCRIPT = """
import json, time
from array import array
import js
from llmos.memory.index import PurePythonIndex
from llmos.memory.store import NewRecord, Source, VectorStore
from llmos.platform.browser.storage import JsStorage
from llmos.platform.browser.vector_index import JsIndex

DIM = 384
config = json.loads(config_json)

def rows(start, count):
    return array("f", js.makeRows(start, count).to_bytes())

def ms(samples):
    samples = sorted(samples)
    return {"p50_ms": round(samples[len(samples) // 2], 2),
            "p95_ms": round(samples[int(0.95 * (len(samples) - 1))], 2)}

async def main():
    st = JsStorage(storage)
    store = await VectorStore.open(st, "memory", dim=DIM, model="bench", index_factory=JsIndex)
    reference = PurePythonIndex(DIM)
    queries = [rows(10_000_000 + q, 1) for q in range(config["queries"])]
    result = {"search": {}}
    done = 0
    for size in config["sizes"]:
        added, before = time.perf_counter(), done
        while done < size:
            step = min(4000, size - done)
            block = rows(done, step)
            reference.add(block.tobytes())
            await store.add([
                NewRecord(kind="note", text=f"memory {n}", metadata={},
                          source=Source("note", f"n{n}", ""),
                          vector=block[(n - done) * DIM:(n - done + 1) * DIM])
                for n in range(done, done + step)])
            done += step
        rate = (done - before) / (time.perf_counter() - added)
        result.setdefault("add_records_per_s", {})[str(size)] = round(rate)
        times = []
        for q in queries:
            started = time.perf_counter()
            store.search(q, 10)
            times.append((time.perf_counter() - started) * 1000)
        hits = 0
        checked = queries[: config["recall_queries"]]
        for q in checked:
            got = {i for i, _ in store.search(q, 10)}
            want = {row + 1 for row, _ in reference.search(q, 10)}  # ids start at 1
            hits += len(got & want)
        result["search"][str(size)] = {**ms(times), "recall_at_10": hits / (10 * len(checked))}
    for verify, key in ((False, "open_ms"), (True, "open_verified_ms")):
        opened = []
        for _ in range(3):
            started = time.perf_counter()
            again = await VectorStore.open(st, "memory", dim=DIM, model="bench",
                                           index_factory=JsIndex, verify_vectors=verify)
            opened.append((time.perf_counter() - started) * 1000)
        result[key] = round(sorted(opened)[1], 1)
    started = time.perf_counter()
    await again.verify()
    result["verify_after_open_ms"] = round((time.perf_counter() - started) * 1000, 1)
    result["records"] = again.count
    result["bytes_per_record"] = round(again.size_bytes / again.count, 1)
    return json.dumps(result)

await main()
"""


def browser_store(pw: Playwright, dist: Path, sizes: tuple[int, ...]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp)
        for name in ("pyodide", "bridges", "wasm"):
            (site / name).symlink_to(dist / name)
        config = {"sizes": list(sizes), "queries": QUERIES, "recall_queries": 5}
        (site / "config.json").write_text(json.dumps(config))
        (site / "bench.py").write_text(STORE_SCRIPT)
        (site / "index.html").write_text(STORE_HARNESS)
        (site / "worker.mjs").write_text(STORE_WORKER)
        server = build.serve_in_background(root=site, port=0)
        browser = pw.chromium.launch(**chromium_launch_args())
        try:
            page = browser.new_page()
            page.goto(server.url + "/")
            page.wait_for_function("window.benchResult !== undefined", timeout=WAIT_MS)
            result: dict[str, Any] = json.loads(page.evaluate("window.benchResult"))
        finally:
            browser.close()
            server.stop()
    if "error" in result:
        raise SystemExit(result["error"])
    return result


# --- report ------------------------------------------------------------------------------------
def ratios(native: dict[str, Any], browser: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for model in ("int8", "fp32"):
        for label, figures in browser["embedding"][model].items():  # WASM
            for batch in ("batch_1", "batch_32"):
                key = f"{model} {label} {batch}"
                out[key] = round(figures[batch] / native["embedding"][model][batch], 2)
    return out


def targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    browser, native = report["browser"], report["native"]
    single = browser["embedding"]["int8"]["1_thread"]["batch_32"]
    top = browser["search"][str(SIZES[-1])]
    return [
        {
            "name": "browser embeddings/s >= 0.8x native (int8, 1 thread, batch 32)",
            "measured": round(single / native["embedding"]["int8"]["batch_32"], 2),
            "limit": 0.8,
            "met": single >= 0.8 * native["embedding"]["int8"]["batch_32"],
        },
        {
            "name": "p95 search < 50 ms at 100k",
            "measured": top["p95_ms"],
            "limit": 50,
            "met": top["p95_ms"] < 50,
        },
        {
            "name": "open < 500 ms at 100k",
            "measured": browser["open_ms"],
            "limit": 500,
            "met": browser["open_ms"] < 500,
        },
        {
            "name": "recall@10 = 1.0",
            "measured": min(v["recall_at_10"] for v in browser["search"].values()),
            "limit": 1.0,
            "met": all(v["recall_at_10"] == 1.0 for v in browser["search"].values()),
        },
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1k and 10k records only")
    args = parser.parse_args()
    sizes = SIZES[:2] if args.quick else SIZES
    build_fp32_model(FP32)
    dist = build.DIST
    build.build(dist)
    bench_dir = dist / "bench"
    bench_dir.mkdir(exist_ok=True)
    (bench_dir / "fp32.onnx").write_bytes(FP32.read_bytes())
    ids = short_sentences(256)
    report: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "sentences": {"count": len(ids), "mean_tokens": round(statistics.mean(map(len, ids)), 1)},
        "native": {"embedding": native_embedding(ids), "search": native_search()},
    }
    if not args.quick:
        report["native"]["store"] = native_store()
    server = build.serve_in_background(root=dist, port=0)
    try:
        with sync_playwright() as pw:
            report["machine"] = machine_info(pw)
            report["browser"] = {"embedding": browser_embedding(pw, server.url + "/", ids)}
            report["browser"]["embedding"]["webgpu_swiftshader"] = browser_webgpu(
                pw, server.url + "/", ids
            )
            report["browser"].update(browser_store(pw, dist, sizes))
    finally:
        server.stop()
        for path in bench_dir.iterdir():
            path.unlink()
        bench_dir.rmdir()
    report["ratios_browser_over_native"] = ratios(report["native"], report["browser"])
    if not args.quick:
        report["targets"] = targets(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
