"""The native sandbox for untrusted code: the page's Pyodide kernel under Node.js.

:class:`PyodideNodeSandbox` runs ``node --permission ... node_host.mjs``, which loads Pyodide
and the same :class:`~llmos.kernel.session.Session` the browser kernel uses, and speaks the
JSON lines of :mod:`llmos.kernel.stdio_main`. Node's permission model is the boundary: the
child may only read the Pyodide folder and the llmos package, write nothing, start no programs
or workers, and reach no network unless ``allow_network``. It starts with an empty environment
in a private empty folder; the code's working directory is Pyodide's in-memory file system,
so files come in and go out only as messages. A run past its time limit, or whose process grows
past ``memory_mb`` of resident memory, is killed and the next run starts a fresh process.

Node (>= 25, for ``--permission`` with ``--allow-net``) and the npm ``pyodide`` package are
found through ``LLMOS_NODE`` and ``LLMOS_PYODIDE``, else this repository's ``node_modules``,
else ``node`` on PATH (Pyodide then still has to come from ``LLMOS_PYODIDE`` or the repo).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import llmos
from llmos.kernel.sandbox import ExecOutcome, OnOutput
from llmos.platform.native_sandbox import SubprocessSandbox, _failed, _Run

MIN_NODE_MAJOR = 25
DEFAULT_MEMORY_MB = 1024
MEMORY_POLL_S = 0.1
PR_SET_PDEATHSIG = 1
PACKAGE_DIR = Path(llmos.__file__).resolve().parent
HOST_SCRIPT = PACKAGE_DIR / "kernel" / "node_host.mjs"
REPO_NODE_MODULES = PACKAGE_DIR.parent.parent / "node_modules"
HOW_TO_ENABLE = (
    "Install Node.js >= 25 and the npm package pyodide (npm install pyodide), then set "
    "LLMOS_NODE to the node program and LLMOS_PYODIDE to the pyodide package folder."
)


@dataclass(frozen=True)
class NodeRuntime:
    """Where the sandbox's Node and Pyodide are."""

    node: str
    pyodide: Path


def find_runtime() -> NodeRuntime | str:
    """The Node and Pyodide to use, or why there are none (with how to get them). A folder or
    program named in ``LLMOS_PYODIDE`` or ``LLMOS_NODE`` is used or reported, never skipped."""
    pyodide = os.environ.get("LLMOS_PYODIDE") or str(REPO_NODE_MODULES / "pyodide")
    if not (Path(pyodide) / "pyodide.mjs").is_file():
        return f"Pyodide for Node was not found (no {pyodide}/pyodide.mjs). {HOW_TO_ENABLE}"
    explicit = os.environ.get("LLMOS_NODE")
    candidates: list[str | None] = [explicit or str(REPO_NODE_MODULES / ".bin" / "node")]
    candidates += [] if explicit else [shutil.which("node")]
    for node in filter(None, candidates):
        if _node_major(node) >= MIN_NODE_MAJOR:
            return NodeRuntime(node, Path(pyodide).resolve())
    tried = ", ".join(filter(None, candidates)) or "none on PATH"
    return (
        f"No Node.js >= {MIN_NODE_MAJOR} (its permission model is the sandbox; tried {tried}). "
        + HOW_TO_ENABLE
    )


def _node_major(node: str) -> int:
    """The major version of ``node`` (0 when it does not run)."""
    try:
        done = subprocess.run(
            [node, "--version"], check=False, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return 0
    match = re.match(r"v(\d+)\.", done.stdout.strip())
    return int(match.group(1)) if match else 0


def resident_mb(pid: int) -> float:
    """The resident memory of process ``pid`` in MB (0 when it cannot be read)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else 0.0


class PyodideNodeSandbox(SubprocessSandbox):
    """Runs code in Pyodide in a Node process held by Node's permission model."""

    label = "The Pyodide sandbox"

    def __init__(
        self,
        runtime: NodeRuntime,
        *,
        allow_network: bool = False,
        memory_mb: int = DEFAULT_MEMORY_MB,
        start_timeout: float = 60.0,
    ) -> None:
        self._private = tempfile.TemporaryDirectory(prefix="llmos-pyodide-")
        super().__init__(self._private.name, grace=0.0, start_timeout=start_timeout)
        self.runtime = runtime
        self.allow_network = allow_network
        self.memory_mb = memory_mb
        self._over_memory = False

    def environment(self) -> dict[str, str]:
        """Nothing inherited: no keys, tokens or paths reach the child."""
        return {}

    def command(self) -> list[str]:
        """The node command line: read-only access to Pyodide and llmos, nothing else."""
        flags = [
            "--permission",
            f"--allow-fs-read={self.runtime.pyodide}",
            f"--allow-fs-read={PACKAGE_DIR}",
        ]
        if self.allow_network:
            flags.append("--allow-net")
        network = "net" if self.allow_network else "no-net"
        host = [str(HOST_SCRIPT), str(self.runtime.pyodide), str(PACKAGE_DIR), network]
        return [self.runtime.node, *flags, *host]

    def before_exec(self) -> None:
        """A kill when we die, or a loop in the child would spin on forever (Pyodide runs on
        Node's main thread, deaf to a closed stdin while code runs)."""
        if sys.platform == "linux":
            ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

    async def execute(
        self,
        code: str,
        files: dict[str, bytes] | None = None,
        on_output: OnOutput | None = None,
        timeout: float | None = None,
    ) -> ExecOutcome:
        self._over_memory = False
        watch = asyncio.create_task(self._watch_memory())
        try:
            outcome = await super().execute(code, files, on_output, timeout)
        finally:
            watch.cancel()
        return outcome

    async def interrupt(self) -> None:
        """Stop the running code. Pyodide on Node's main thread cannot take a signal, so the
        process is killed and the next run starts a fresh one."""
        run = self._run
        if run is not None:
            self._kill(run)

    async def close(self) -> None:
        await super().close()
        self._private.cleanup()

    async def _watch_memory(self) -> None:
        while True:
            await asyncio.sleep(MEMORY_POLL_S)
            proc, run = self._proc, self._run
            if proc is None or run is None or proc.returncode is not None:
                continue
            if resident_mb(proc.pid) > self.memory_mb:
                self._over_memory = True
                self._kill(run)

    def _time_out(self, run: _Run) -> None:
        if self._run is run:
            run.timed_out = True
            self._kill(run)

    def _kill(self, run: _Run) -> None:
        if self._run is run:
            run.killed = True
            with contextlib.suppress(ProcessLookupError, PermissionError):
                if self._proc is not None and self._proc.returncode is None:
                    os.killpg(self._proc.pid, signal.SIGKILL)

    def _lost_outcome(self, run: _Run, started: float) -> ExecOutcome:
        fresh = "The next run starts a fresh sandbox (variables and files sent before are reset)."
        if self._over_memory:
            kind = "MemoryError"
            why = f"used more than the sandbox's memory limit of {self.memory_mb} MB"
        elif run.timed_out:
            kind, why = "TimeoutError", f"ran past its time limit of {run.timeout:g} s"
        elif run.killed:
            kind, why = "KernelRestarted", "was stopped"
        else:
            kind = "KernelCrashed"
            why = f"crashed the sandbox: its process exited with code {run.exit_code}"
        killed = ", so its sandbox process was killed" if run.killed else ""
        message = f"The code {why}{killed}. {fresh}"
        if kind == "KernelCrashed" and self._tail_text():
            message += " " + self._tail_text()
        outcome = _failed(kind, message, started)
        outcome.stdout = "".join(run.raw_output)
        run.emit("stderr", outcome.stderr)
        return outcome
