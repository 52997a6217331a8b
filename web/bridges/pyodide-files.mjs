// The build's Pyodide files, served to a sandboxed frame that has no network of its own: the
// kernel's frame (kernel-host.mjs) and a Panel applet's frame (applet-host.mjs). The frame asks
// on a MessagePort ({type: "fetch", reqId, path}); the answer is {type: "file", reqId, buffer}
// with the ArrayBuffer transferred, or {type: "file", reqId, error} saying why not.
//
// The path is untrusted: only files one level under pyodide/ are served (the runtime, lock,
// stdlib and wheels), so code in the frame cannot make this page fetch other URLs for it (no
// "..", no "/", no user files, no secrets: those live in the OS worker's storage, not at URLs).

export const SERVABLE = /^pyodide\/[A-Za-z0-9_+-][A-Za-z0-9._+-]*$/;

const shown = (path) => JSON.stringify(String(path).slice(0, 200));

// `fromMemory(path)` may give the bytes of a file this page holds itself (the kernel's
// interpreter snapshot); null means "fetch it". Resolves once the answer is posted.
export async function servePyodideFile(port, { reqId, path }, base, fromMemory = async () => null) {
  try {
    if (typeof path !== "string" || !SERVABLE.test(path)) {
      throw new Error(`${shown(path)} is not a Pyodide file of this build; only pyodide/<file> is served.`);
    }
    const buffer = (await fromMemory(path)) ?? (await fetchFile(path, base));
    port.postMessage({ type: "file", reqId, buffer }, [buffer]);
  } catch (error) {
    port.postMessage({ type: "file", reqId, error: String(error?.message ?? error) });
  }
}

async function fetchFile(path, base) {
  const response = await fetch(new URL(path, base));
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return response.arrayBuffer();
}
