// Pyodide memory snapshots: the interpreter's memory right after start-up, saved once per build
// and restored on later boots, which skips Python's own initialisation (~1.3 s here -> ~0.2 s).
// The snapshot is taken before any package, file, setting or secret is loaded, so it holds
// nothing private and the kernel may start from it too. Stored as is in Cache Storage (~31 MB):
// gzip would save space but costs ~0.3 s on every boot.
const CACHE = "llmos-pyodide-snapshot";
const keyFor = (buildId) => `/pyodide-snapshot/${buildId}.bin`;

export async function readSnapshot(buildId) {
  try {
    const cached = await (await caches.open(CACHE)).match(keyFor(buildId));
    return cached ? new Uint8Array(await cached.arrayBuffer()) : null;
  } catch (error) {
    console.warn("snapshot unreadable, booting without it:", error);
    return null;
  }
}

export async function writeSnapshot(buildId, bytes) {
  try {
    const cache = await caches.open(CACHE);
    for (const request of await cache.keys()) await cache.delete(request);
    await cache.put(keyFor(buildId), new Response(bytes));
  } catch (error) {
    console.warn("snapshot not saved:", error); // e.g. over quota: later boots are just slower
  }
}

export async function dropSnapshots() {
  await caches.delete(CACHE).catch(() => {});
}

// Start Pyodide from `snapshot` when given and valid, else from scratch. Returns
// {pyodide, snapshot, fresh}: `snapshot` is the bytes to reuse, `fresh` says one was just made.
export async function startPyodide(loadPyodide, options, snapshot) {
  if (snapshot) {
    try {
      const pyodide = await loadPyodide({ ...options, _loadSnapshot: snapshot });
      if (pyodide.runPython("1 + 1") === 2) return { pyodide, snapshot, fresh: false };
    } catch (error) {
      console.warn("snapshot rejected, booting from scratch:", error);
    }
  }
  const pyodide = await loadPyodide({ ...options, _makeSnapshot: true });
  return { pyodide, snapshot: pyodide.makeMemorySnapshot(), fresh: true };
}
