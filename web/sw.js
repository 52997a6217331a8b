// LLMos service worker: precaches the whole build in a cache named after the build, serves it
// offline, and adds COOP/COEP so the app is cross-origin isolated even on static hosts (GitHub
// Pages) that cannot send those headers. build.py fills in BUILD_ID and FILES.
// Not precached, kept here once used: vendored Pyodide packages and wllama (10 MB of wasm, only
// needed by the local model; local-llm.mjs also puts it in this build's cache itself). The local model itself (a 98 MB .gguf) is never kept here: wllama
// stores it in the origin-private file system on its first load and reads it from there.
const BUILD_ID = "__BUILD_ID__";
const FILES = __FILES__;
const CACHE = `llmos-build-${BUILD_ID}`;
const SCOPE = new URL("./", self.location.href);

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(FILES.map((path) => new Request(new URL(path, SCOPE), { cache: "reload" })));
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith("llmos-build-") && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener("message", (event) => {
  if (event.data?.type === "skip-waiting") self.skipWaiting();
});

const keepOnceUsed = (url) =>
  url.pathname.endsWith(".whl") || url.pathname.startsWith(new URL("vendor/wllama/", SCOPE).pathname);

function isolate(response) {
  if (response.status === 0) return response; // opaque: leave as is
  const headers = new Headers(response.headers);
  headers.set("Cross-Origin-Opener-Policy", "same-origin");
  headers.set("Cross-Origin-Embedder-Policy", "require-corp");
  headers.set("Cross-Origin-Resource-Policy", "same-origin");
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== SCOPE.origin || !url.pathname.startsWith(SCOPE.pathname)) return;
  event.respondWith((async () => {
    const cache = await caches.open(CACHE);
    const key = request.mode === "navigate" ? new URL("index.html", SCOPE).href : url.href;
    const cached = await cache.match(key, { ignoreSearch: true });
    if (cached) return isolate(cached);
    try {
      const response = await fetch(request);
      if (response.ok && keepOnceUsed(url)) await cache.put(url.href, response.clone());
      return isolate(response);
    } catch (error) {
      return new Response(`Offline and not cached: ${url.pathname}`, { status: 503, headers: { "Content-Type": "text/plain" } });
    }
  })());
});
