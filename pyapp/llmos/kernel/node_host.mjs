// The Pyodide sandbox host under Node.js: `node --permission ... node_host.mjs PYODIDE_DIR LLMOS_DIR`.
// Runs the page's kernel (llmos.kernel.session via llmos.platform.browser.kernel_main) in Pyodide
// and speaks the native sandbox's JSON lines: `execute` in on stdin; `status`, `stream` and
// `result` out on stdout. The working directory lives in Pyodide's in-memory file system only
// (no host folder is ever mounted): files come in and go out as messages. The real boundary is
// Node's permission model the parent starts us under (read-only access to Pyodide and the llmos
// package, no writes, no child processes, no network unless allowed); hiding `process` from
// user code below only makes the escape harder, it is not relied on.
import fs from "node:fs";
import path from "node:path";
import readline from "node:readline";
import { pathToFileURL } from "node:url";

const WORKSPACE = "/home/pyodide/user";
const [pyodideDir, llmosDir, network] = process.argv.slice(2);
const stdout = process.stdout;
const stderr = process.stderr;
const stdin = process.stdin;
const send = (message) => stdout.write(JSON.stringify(message) + "\n");
// Output below the executor's streams (C-level writes) must not corrupt the channel.
const raw = (text) => stderr.write(text + "\n");

function pythonFiles(dir, rel = "") {
  const found = [];
  for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const child = path.join(rel, entry.name);
    if (entry.isDirectory() && entry.name !== "__pycache__") found.push(...pythonFiles(dir, child));
    else if (entry.isFile() && entry.name.endsWith(".py")) found.push(child);
  }
  return found;
}

function installLlmos(pyodide) {
  const site = pyodide.runPython("import sysconfig; sysconfig.get_paths()['purelib']");
  for (const rel of pythonFiles(llmosDir)) {
    const target = `${site}/llmos/${rel.split(path.sep).join("/")}`;
    pyodide.FS.mkdirTree(target.slice(0, target.lastIndexOf("/")));
    pyodide.FS.writeFile(target, fs.readFileSync(path.join(llmosDir, rel)));
  }
}

async function boot() {
  // Emscripten's NODEFS asks the denied process.binding for the fs flag constants at start.
  const binding = process.binding;
  process.binding = (name) => (name === "constants" ? { fs: fs.constants } : binding(name));
  const { loadPyodide } = await import(pathToFileURL(path.join(pyodideDir, "pyodide.mjs")).href);
  const pyodide = await loadPyodide({
    indexURL: pyodideDir + path.sep,
    stdout: raw,
    stderr: raw,
    env: { HOME: "/home/pyodide" },
  });
  installLlmos(pyodide);
  pyodide.FS.mkdirTree(WORKSPACE);
  const kernelMain = pyodide.pyimport("llmos.platform.browser.kernel_main");
  const kernel = kernelMain.setup("{}", () => {}, WORKSPACE);
  // Node refuses to start programs, which Pyodide takes as fatal: say so in Python instead
  // (posix.system itself still ends this process; the parent reports it and starts afresh).
  pyodide.runPython(`
import os
def system(command):
    raise OSError("The sandbox cannot start programs.")
os.system = system
del os, system
`);
  return kernel;
}

function hideHost() {
  // What user code could reach through `import js` or the Function constructor.
  const names = ["process", "require", "module"];
  if (network !== "net") names.push("fetch", "WebSocket", "EventSource");
  for (const name of names) {
    try {
      delete globalThis[name];
    } catch {
      globalThis[name] = undefined;
    }
  }
}

async function main() {
  let kernel;
  try {
    kernel = await boot();
  } catch (error) {
    send({ type: "status", state: "failed", detail: String(error?.stack ?? error).slice(0, 2000) });
    process.exit(1);
  }
  const exit = process.exit.bind(process);
  const pid = process.pid;
  hideHost();
  const lines = readline.createInterface({ input: stdin, crlfDelay: Infinity });
  send({ type: "status", state: "idle", detail: "ready", pid });
  for await (const line of lines) {
    let message;
    try {
      message = JSON.parse(line);
    } catch {
      continue;
    }
    if (message?.type !== "execute") continue;
    const id = String(message.id ?? "");
    const post = (json) => stdout.write(json + "\n");
    try {
      const files = JSON.stringify(message.files ?? {});
      stdout.write((await kernel.run(id, String(message.code), post, files)) + "\n");
    } catch (error) {
      // Python itself died (a fatal interpreter error): the parent starts a fresh host.
      raw(`The interpreter failed: ${String(error?.message ?? error).slice(0, 2000)}`);
      exit(70);
    }
  }
  exit(0);
}

main();
