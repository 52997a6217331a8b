// Main-thread host of the kernel: a sandboxed, opaque-origin iframe (no allow-same-origin) with
// a strict CSP, running kernel-worker.js. The kernel cannot read this origin's storage, so it
// never reaches the OS's secrets. Files it needs are fetched here (same origin, served by the
// service worker when offline) and transferred to it.
//
// Everything the kernel sends is untrusted: only kernel protocol messages are acted on (file
// requests for the Pyodide runtime, progress, stream, result, status), and nothing from the
// kernel is ever passed on to the OS worker. `generation` counts kernel starts: it changes
// whenever the kernel lost its variables and workspace files.

import { servePyodideFile } from "./pyodide-files.mjs";

const CSP = [
  "default-src 'none'",
  "script-src 'unsafe-inline' 'unsafe-eval' 'wasm-unsafe-eval' blob: data:",
  "worker-src blob: data:",
  "connect-src 'none'",
  "style-src 'none'",
].join("; ");

const SNAPSHOT_PATH = "pyodide/snapshot.bin"; // served from memory, see snapshot.mjs
const ESCALATE_MS = 1500; // an interrupt signal not honoured by then is escalated to a restart

const failure = (type, message) => ({
  stdout: "",
  stderr: `${type}: ${message}\n`,
  result: null,
  error: { type, message, traceback: "" },
});

export class KernelHost {
  constructor({ base, info = {}, snapshot = Promise.resolve(null), onStatus = () => {}, onProgress = () => {} }) {
    this.base = base;
    this.snapshot = snapshot;
    this.info = info;
    this.onStatus = onStatus;
    this.onProgress = onProgress;
    this.queue = [];
    this.current = null;
    this.nextId = 0;
    this.state = "booting";
    this.isolated = false;
    this.readyWaiters = [];
    this.generation = 0;
  }

  async start() {
    this.generation += 1;
    const [frameSource, workerSource] = await Promise.all(
      ["bridges/kernel-frame.js", "bridges/kernel-worker.js"].map(async (p) => (await fetch(new URL(p, this.base))).text()),
    );
    this.workerSource = workerSource;
    const iframe = document.createElement("iframe");
    iframe.setAttribute("sandbox", "allow-scripts");
    iframe.setAttribute("allow", "cross-origin-isolated");
    iframe.setAttribute("aria-hidden", "true");
    iframe.title = "Python kernel sandbox";
    iframe.hidden = true;
    iframe.srcdoc = `<!doctype html><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${CSP}"><script>${frameSource}<\/script>`;
    const loaded = new Promise((resolve) => iframe.addEventListener("load", resolve, { once: true }));
    document.body.append(iframe);
    this.iframe = iframe;
    await loaded;
    const channel = new MessageChannel();
    this.port = channel.port1;
    this.port.onmessage = (e) => this.onMessage(e.data);
    iframe.contentWindow.postMessage({ type: "llmos-kernel-init", workerSource }, "*", [channel.port2]);
  }

  ready() {
    return this.state === "idle" || this.state === "busy"
      ? Promise.resolve()
      : new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  setState(state, detail = "") {
    this.state = state;
    this.onStatus({ state, detail, isolated: this.isolated, generation: this.generation });
    if (state === "idle") this.readyWaiters.splice(0).forEach((w) => w.resolve());
    if (state === "failed") {
      this.readyWaiters.splice(0).forEach((w) => w.reject(new Error(detail)));
      for (const run of this.queue.splice(0)) run.resolve(failure("KernelFailed", `The Python kernel could not start: ${detail}`));
    }
  }

  async onMessage(m) {
    switch (m.type) {
      case "info-request":
        this.port.postMessage({ type: "info", ...this.info });
        break;
      case "fetch":
        await this.serveFile(m);
        break;
      case "progress":
        this.onProgress(m);
        break;
      case "stream":
        if (this.current?.id === m.id) this.current.onStream?.(m.name, m.text);
        break;
      case "result":
        if (this.current?.id === m.id) this.finish(m);
        break;
      case "status":
        this.onKernelStatus(m);
        break;
    }
  }

  // The kernel may ask only for the Pyodide runtime and wheels (see pyodide-files.mjs).
  serveFile(request) {
    return servePyodideFile(this.port, request, this.base, async (path) => {
      if (path !== SNAPSHOT_PATH) return null;
      const bytes = await this.snapshot;
      if (!bytes) throw new Error("no interpreter snapshot");
      return bytes.slice().buffer;
    });
  }

  onKernelStatus(m) {
    if (m.isolated !== undefined) this.isolated = m.isolated;
    if (m.state === "restarted") {
      this.generation += 1;
      const crashed = m.detail.startsWith("crashed");
      const how = crashed ? "The Python kernel crashed and was restarted" : "The Python kernel was restarted";
      this.abortCurrent(`${how} (${m.detail}). Your files are safe; variables were reset.`, crashed ? "KernelCrashed" : "KernelRestarted");
      this.setState("booting", m.detail);
      return;
    }
    if (m.state === "idle" && this.current) return; // the result message finishes the run
    this.setState(m.state, m.detail || "");
    if (m.state === "idle") this.pump();
  }

  abortCurrent(message, type) {
    const run = this.current;
    if (!run) return;
    this.current = null;
    const result = failure(type, message);
    run.resolve({ ...result, stdout: run.stdout, stderr: run.stderr + result.stderr });
  }

  finish(m) {
    const run = this.current;
    this.current = null;
    const files = m.files && typeof m.files === "object" ? m.files : {};
    const images = Array.isArray(m.images) ? m.images : [];
    run.resolve({ stdout: m.stdout, stderr: m.stderr, result: m.result, error: m.error, files, images });
    this.setState("idle");
    this.pump();
  }

  // Run Python; onStream(name, text) sees output as it is printed. Options: files ({path:
  // base64} as JSON text, written into the kernel's workspace first), timeoutMs (then the run
  // is interrupted, or the kernel restarted), tag (for interrupt(tag)). Resolves to {stdout,
  // stderr, result, error, files, images, generation}; never rejects for errors in the code.
  execute(code, onStream, { files = "", timeoutMs = 0, tag } = {}) {
    return new Promise((resolve) => {
      const run = { id: `x${++this.nextId}`, code, files, timeoutMs, tag, stdout: "", stderr: "" };
      run.finished = new Promise((settle) => {
        run.resolve = (value) => {
          clearTimeout(run.timer);
          clearTimeout(run.escalation);
          run.how = value.error?.type === "KeyboardInterrupt" ? "interrupted" : "restarted";
          const shown = run.timedOut ? this.timedOut(run, value) : value;
          const result = { files: {}, images: [], ...shown, generation: this.generation };
          resolve(result);
          settle(result);
        };
      });
      run.onStream = (name, text) => { run[name] += text; onStream?.(name, text); };
      this.queue.push(run);
      this.pump();
    });
  }

  pump() {
    if (this.current || this.state !== "idle" || !this.queue.length) return;
    const run = (this.current = this.queue.shift());
    this.setState("busy");
    if (run.timeoutMs > 0) run.timer = setTimeout(() => this.timeOut(run), run.timeoutMs);
    this.port.postMessage({ type: "execute", id: run.id, code: run.code, files: run.files });
  }

  timeOut(run) {
    if (this.current !== run) return;
    run.timedOut = true;
    this.stop(run);
  }

  // The result of a run stopped by its time limit says so (unless it finished anyway).
  timedOut(run, value) {
    const type = value.error?.type;
    if (type !== "KeyboardInterrupt" && type !== "KernelRestarted") return value;
    const how = type === "KeyboardInterrupt" ? "interrupted" : "stopped by restarting the kernel (variables and workspace files were reset)";
    const message = `The code ran past its time limit of ${run.timeoutMs / 1000} s and was ${how}.`;
    const note = `[llmos] ${message}\n`;
    run.onStream("stderr", note);
    return { ...value, stderr: value.stderr + note, error: { type: "TimeoutError", message, traceback: value.error.traceback } };
  }

  // Interrupt the running code; if it is not stopped after ESCALATE_MS, restart the kernel.
  stop(run) {
    this.port.postMessage({ type: "interrupt", id: run.id });
    run.escalation = setTimeout(() => this.port.postMessage({ type: "interrupt", id: run.id, force: true }), ESCALATE_MS);
    return run.finished.then(() => run.how);
  }

  // Stop the running code (with a tag: only runs given that tag, running or queued). Resolves
  // to "interrupted" (KeyboardInterrupt raised in the kernel), "restarted" (the worker was
  // terminated and is booting again) or "idle" (nothing to stop).
  interrupt(tag) {
    const matches = (run) => tag === undefined || run.tag === tag;
    const run = this.current && matches(this.current) ? this.current : null;
    if (!run || tag !== undefined) {
      // Not started yet (e.g. the kernel is still booting): cancel instead of running it.
      const cancelled = this.queue.filter(matches);
      this.queue = this.queue.filter((queued) => !matches(queued));
      for (const queued of cancelled) queued.resolve(failure("KeyboardInterrupt", "stopped before the code started"));
      if (!run) return Promise.resolve(cancelled.length ? "interrupted" : "idle");
    }
    return this.stop(run);
  }

  restart() {
    this.port.postMessage({ type: "restart", detail: "restart requested" });
  }

  // Replace the kernel's frame with a new one. Chromium runs the page's sandboxed frames in one
  // process, so an applet's endless loop freezes this frame too, and the loop only ends when no
  // frame of that process is left: the applet host removes the applets' frames, this removes
  // ours, and the new frame starts in a fresh process.
  async recreate(detail) {
    if (this.port) this.port.onmessage = null;
    this.port?.close();
    this.iframe?.remove();
    this.iframe = null;
    this.abortCurrent(`The Python kernel was restarted (${detail}). Your files are safe; variables were reset.`, "KernelRestarted");
    this.setState("booting", detail);
    await this.start();
  }
}
