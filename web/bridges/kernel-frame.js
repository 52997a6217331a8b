// Runs inside the kernel's sandboxed iframe (opaque origin: no storage, no app secrets).
// Owns the kernel worker, relays messages between it and the host port, and handles interrupts:
// through a SharedArrayBuffer when cross-origin isolated, else by restarting the worker.
(() => {
  // `running` is the id of the execute request the worker is on (seen passing through here), so
  // a late interrupt never hits the next run; `inPython` says the worker is running its Python
  // (between its "running" and "ran" notes), the only time a signal is safe to send.
  let port = null, worker = null, workerSource = "", interrupt = null;
  let running = null, inPython = false, pending = false;

  const signal = () => {
    Atomics.store(interrupt, 0, 2); // SIGINT: Pyodide raises KeyboardInterrupt
    pending = false;
  };

  const startWorker = () => {
    const url = "data:text/javascript;base64," + btoa(unescape(encodeURIComponent(workerSource)));
    worker = new Worker(url, { type: "module" });
    interrupt = self.crossOriginIsolated ? new Int32Array(new SharedArrayBuffer(4)) : null;
    worker.onmessage = (e) => {
      if (e.data?.type === "status" && e.data.state === "crashed") return restart(`crashed: ${e.data.detail}`);
      const m = e.data;
      if (m?.type === "running" || m?.type === "ran") {
        inPython = m.type === "running" && m.id === running;
        if (inPython && pending) signal();
        return;
      }
      if (m?.type === "result" && m.id === running) running = null;
      port.postMessage(m);
    };
    worker.onerror = (e) => restart(`crashed: ${e.message || "the kernel worker stopped"}`);
    worker.postMessage({ type: "init", interrupt });
  };

  const restart = (reason) => {
    worker?.terminate();
    [running, inPython, pending] = [null, false, false];
    port.postMessage({ type: "status", state: "restarted", detail: reason });
    startWorker();
  };

  const onPortMessage = (e) => {
    const message = e.data;
    if (message?.type === "interrupt") {
      if (message.id !== running) return; // that run already finished
      if (interrupt && !message.force) {
        if (inPython) signal();
        else pending = true;
        port.postMessage({ type: "status", state: "interrupting", detail: "signal" });
      } else {
        restart(message.force ? "not interruptible" : "not cross-origin isolated");
      }
      return;
    }
    if (message?.type === "restart") return restart(message.detail || "restart requested");
    if (message?.type === "execute") [running, inPython, pending] = [message.id, false, false];
    worker.postMessage(message, message?.buffer ? [message.buffer] : []);
  };

  window.addEventListener("message", (e) => {
    if (e.source !== window.parent || e.data?.type !== "llmos-kernel-init" || port) return;
    port = e.ports[0];
    workerSource = e.data.workerSource;
    port.onmessage = onPortMessage;
    startWorker();
  });
})();
