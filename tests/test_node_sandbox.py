"""``execute_python``'s native sandbox: Pyodide under Node's permission model, attacked for real.

One sandbox serves most tests (its start costs seconds); it lives on an event loop of its own
in a helper thread, since every test here runs on a fresh loop. Each escape attempt is checked
for a clear error, an untouched workspace and host, and a next call that still works. The
listener and HTTP server the code tries to reach are the test's own, on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import hashlib
import http.server
import socket
import sys
import threading
import uuid
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import llmos.tools  # noqa: F401  (registers execute_python)
import pytest
from llmos.agent.tools import TOOLS, ToolContext
from llmos.cli import open_vfs
from llmos.kernel.sandbox import ExecOutcome
from llmos.platform.node_sandbox import PyodideNodeSandbox, find_runtime
from mcp import Client, StdioServerParameters

T = TypeVar("T")
RUNTIME = find_runtime()
assert not isinstance(RUNTIME, str), RUNTIME  # the repo's node_modules has Node 26 and Pyodide


class LoopThread:
    """An event loop in a thread, for a sandbox shared across tests."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=120)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class Shared:
    def __init__(self, **options: Any) -> None:
        self.loops = LoopThread()
        self.sandbox = self.loops.run(_make(**options))

    def run(self, code: str, files: dict[str, bytes] | None = None, timeout: float = 20) -> Any:
        return self.loops.run(self.sandbox.execute(code, files, None, timeout))

    def close(self) -> None:
        self.loops.run(self.sandbox.close())
        self.loops.stop()


async def _make(**options: Any) -> PyodideNodeSandbox:
    assert not isinstance(RUNTIME, str)
    return PyodideNodeSandbox(RUNTIME, **options)


@pytest.fixture(scope="module")
def shared() -> Iterator[Shared]:
    box = Shared()
    yield box
    box.close()


class Counter(http.server.BaseHTTPRequestHandler):
    hits = 0

    def do_GET(self) -> None:
        type(self).hits += 1
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"reached")

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def web() -> Iterator[tuple[int, type[Counter]]]:
    handler = type("Handler", (Counter,), {"hits": 0})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], handler
    server.shutdown()
    server.server_close()


def _alive(box: Shared) -> None:
    after = box.run("6 * 7")
    assert (after.result, after.error) == ("42", None)


def _error(outcome: ExecOutcome) -> str:
    assert outcome.error is not None, outcome
    return f"{outcome.error['type']}: {outcome.error['message']}"


def test_output_values_state_and_files_round_trip(shared: Shared) -> None:
    out = shared.run(
        "import os\nprint(open('in.txt').read())\nos.makedirs('sub', exist_ok=True)\n"
        "open('sub/out.txt', 'w').write('made')\nx = 5\nos.getcwd()",
        {"in.txt": b"hello"},
    )
    assert (out.stdout, out.result, out.error) == ("hello\n", "'/home/pyodide/user'", None)
    assert out.files == {"sub/out.txt": b"made"}
    later = shared.run("x + 1")
    assert (later.result, later.error) == ("6", None)


def test_execute_python_saves_into_the_workspace(shared: Shared, tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("1,2,3")

    async def call() -> Any:
        ctx = ToolContext(vfs=open_vfs(str(tmp_path)), sandbox=shared.sandbox)
        code = "n = sum(map(int, open('data.csv').read().split(',')))\n"
        code += "open('total.txt', 'w').write(str(n))\nn"
        return await TOOLS.call("execute_python", {"code": code}, ctx)

    result = shared.loops.run(call())
    assert not result.is_error, result.text
    assert "result: 6" in result.text
    assert "user/total.txt" in result.text
    assert (tmp_path / "total.txt").read_text() == "6"


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _js(source: str) -> str:
    """Python that runs JS through the Function constructor and awaits its promise."""
    return f"import js\nawait js.Function.new({source!r})()"


MARK = f"/tmp/llmos-pwned-{uuid.uuid4().hex}"
ESCAPES = {
    "etc-passwd": ("open('/etc/passwd').read()", "No such file"),
    "import-js-process": ("import js\njs.process", "AttributeError: process"),
    "fs-read": (
        _js("return import('node:fs').then(f => f.readFileSync('/etc/passwd'))"),
        "fs-read",
    ),
    "fs-write": (
        _js(f"return import('node:fs').then(f => f.writeFileSync('{MARK}', 'x'))"),
        "fs-write",
    ),
    "child-process": (
        _js(f"return import('node:child_process').then(c => c.execSync('touch {MARK}'))"),
        "child-process",
    ),
    "process-binding": (
        _js("return import('node:process').then(p => p.default.binding('fs'))"),
        "process.binding",
    ),
    "nodefs-mount": (
        "import pyodide_js, js\nfrom pyodide.ffi import to_js\nFS = pyodide_js.FS\n"
        "FS.mkdirTree('/mnt/etc')\n"
        "FS.mount(FS.filesystems.NODEFS, to_js({'root': '/etc'}, "
        "dict_converter=js.Object.fromEntries), '/mnt/etc')\nopen('/mnt/etc/passwd').read()",
        "",
    ),
    "subprocess": ("import subprocess\nsubprocess.run(['touch', '" + MARK + "'])", "OSError"),
    "fork": ("import os\nos.fork()", "OSError"),
    "fork-bomb": ("import os\nwhile True:\n    os.fork()", "OSError"),
    "huge-allocation": ("bytearray(10 * 2**30)", "Error"),
}


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_escape_attempts_fail_clearly(shared: Shared, tmp_path: Path, name: str) -> None:
    code, expected = ESCAPES[name]
    (tmp_path / "keep.txt").write_text("mine")
    before = _hashes(tmp_path)
    outcome = shared.run(code)
    assert expected in _error(outcome)
    assert outcome.files == {}
    assert _hashes(tmp_path) == before
    assert not Path(MARK).exists()
    _alive(shared)


def test_writes_outside_the_working_dir_stay_in_memory(shared: Shared) -> None:
    outcome = shared.run(f"open('{MARK}', 'w').write('x')\nopen('../../x', 'w').write('x')")
    assert outcome.error is None
    assert outcome.files == {}
    assert not Path(MARK).exists()
    assert not Path("x").exists()


def test_no_socket_reaches_the_host(shared: Shared) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        code = f"import socket\ns = socket.socket()\ns.connect(('127.0.0.1', {port}))"
        assert "OSError" in _error(shared.run(code))
        with pytest.raises(BlockingIOError):
            listener.accept()
    _alive(shared)


def test_no_http_without_the_network_switch(shared: Shared, web: tuple[int, Any]) -> None:
    port, handler = web
    get = f"h.get('http://127.0.0.1:{port}/', ok).on('error', no)"
    code = _js(f"return import('node:http').then(h => new Promise((ok, no) => {get}))")
    assert "ERR_ACCESS_DENIED" in _error(shared.run(code))  # Node: "Use --allow-net"
    assert "AttributeError: fetch" in _error(shared.run("import js\njs.fetch"))
    assert handler.hits == 0


def test_os_system_is_refused(shared: Shared) -> None:
    outcome = shared.run(f"import os\nos.system('touch {MARK}')")
    assert "OSError: The sandbox cannot start programs." in _error(outcome)
    assert not Path(MARK).exists()


def test_posix_system_crashes_only_its_sandbox(shared: Shared) -> None:
    generation = shared.sandbox.generation
    outcome = shared.run(f"import posix\nposix.system('touch {MARK}')")
    assert "allow-child-process" in _error(outcome)
    assert "next run starts a fresh sandbox" in _error(outcome)
    assert not Path(MARK).exists()
    _alive(shared)
    assert shared.sandbox.generation == generation + 1


def test_time_limit(shared: Shared) -> None:
    outcome = shared.run("while True: pass", timeout=2)
    assert outcome.error is not None
    assert outcome.error["type"] == "TimeoutError"
    assert "time limit of 2 s" in outcome.error["message"]
    assert outcome.duration_ms < 4000
    _alive(shared)


def test_memory_limit() -> None:
    box = Shared(memory_mb=400)
    try:
        outcome = box.run("a = []\nwhile True:\n    a.append(bytearray(10**7))")
        assert outcome.error is not None
        assert outcome.error["type"] == "MemoryError"
        assert "memory limit of 400 MB" in outcome.error["message"]
        _alive(box)
    finally:
        box.close()


def test_the_network_switch_really_allows(web: tuple[int, Any]) -> None:
    port, handler = web
    box = Shared(allow_network=True)
    try:
        before = handler.hits
        code = _js(f"return fetch('http://127.0.0.1:{port}/').then(r => r.text())")
        outcome = box.run(code)
        assert (outcome.result, outcome.error) == ("'reached'", None)
        assert handler.hits == before + 1
    finally:
        box.close()


async def test_mcp_execute_python(tmp_path: Path) -> None:
    launch = "import sys; from llmos.cli import main; sys.exit(main(sys.argv[1:]))"
    args = ["-c", launch, "mcp", "--workspace", str(tmp_path)]
    env = {"PATH": "/usr/bin:/bin", "LLMOS_MEMORY": str(tmp_path / "memory"), "HOME": str(tmp_path)}
    params = StdioServerParameters(command=sys.executable, args=args, env=env)
    async with Client(params) as client:
        names = [t.name for t in (await client.list_tools()).tools]
        assert "execute_python" in names
        ran = await client.call_tool("execute_python", {"code": "print(6*7)"})
        assert not ran.is_error
        assert "42" in ran.content[0].text  # type: ignore[union-attr]
        bad = await client.call_tool("execute_python", {"code": "open('/etc/passwd').read()"})
        assert bad.is_error
        assert "FileNotFoundError" in bad.content[0].text  # type: ignore[union-attr]
        again = await client.call_tool("read_file", {"path": "missing.txt"})
        assert again.is_error  # still serving


def test_an_explicit_runtime_that_is_missing_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMOS_PYODIDE", "/nonexistent/pyodide")
    assert "no /nonexistent/pyodide/pyodide.mjs" in str(find_runtime())
    monkeypatch.delenv("LLMOS_PYODIDE")
    monkeypatch.setenv("LLMOS_NODE", sys.executable)  # runs, but is no Node >= 25
    assert f"No Node.js >= 25 (its permission model is the sandbox; tried {sys.executable})" in str(
        find_runtime()
    )


def test_mcp_without_python(tmp_path: Path) -> None:
    import subprocess

    launch = "import sys; from llmos.cli import main; sys.exit(main(sys.argv[1:]))"
    env = {"PATH": "/usr/bin:/bin", "LLMOS_MEMORY": str(tmp_path / "m"), "HOME": str(tmp_path)}
    for flag, expected in (("--no-python", ""), ("", "execute_python is off: Pyodide for Node")):
        extra = {"LLMOS_PYODIDE": "/nonexistent"} if not flag else {}
        args = [sys.executable, "-c", launch, "mcp", "--workspace", str(tmp_path)]
        done = subprocess.run(
            [*args, *filter(None, [flag])],
            input="",
            capture_output=True,
            text=True,
            env={**env, **extra},
            timeout=60,
            check=False,
        )
        assert expected in done.stderr
        assert "execute_python is off" not in done.stderr or not flag
