"""The native :class:`~llmos.kernel.sandbox.Sandbox`: a separate CPython process per sandbox.

The child (:mod:`llmos.kernel.stdio_main`) runs in ``workdir`` with a minimal environment (no
API keys or tokens from ours) and speaks JSON lines over its stdin/stdout. Output written at the
descriptor level (programs it starts, C extensions) arrives on its stderr and is passed on as
``stdout``. A timeout sends SIGINT; code that ignores it is killed after ``grace`` seconds and
the next run starts a fresh process. The process is a separate interpreter, not a security
boundary: it can read whatever the user running it can.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import llmos
from llmos.kernel.sandbox import ExecOutcome, OnOutput, outcome_from_result
from llmos.kernel.workspace import encode_files

LINE_LIMIT = 1 << 30  # one result line carries every file of a run as base64
TAIL_CHARS = 4000


class SandboxStartError(RuntimeError):
    """The sandbox process did not come up."""


@dataclass
class _Run:
    """The execute in flight: where its output goes and how it ended."""

    id: str
    on_output: OnOutput | None
    timeout: float | None
    raw_output: list[str] = field(default_factory=list)  # descriptor level, not in the result
    timed_out: bool = False
    killed: bool = False
    exit_code: int | None = None
    timers: list[asyncio.TimerHandle] = field(default_factory=list)

    def emit(self, name: str, text: str) -> None:
        if self.on_output is not None:
            self.on_output(name, text)


class SubprocessSandbox:
    """Runs code in a child Python process whose working directory is ``workdir``."""

    label = "The Python sandbox"  # how errors name it

    def __init__(
        self,
        workdir: str | os.PathLike[str],
        *,
        grace: float = 2.0,
        start_timeout: float = 30.0,
        python: str = sys.executable,
    ) -> None:
        self.workdir = Path(workdir)
        self.grace = grace
        self.start_timeout = start_timeout
        self.python = python
        self._generation = 0
        self._proc: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()
        self._run: _Run | None = None
        self._tail: collections.deque[str] = collections.deque(maxlen=64)
        self._stderr_task: asyncio.Task[None] | None = None
        self._ids = itertools.count(1)

    @property
    def generation(self) -> int:
        """0 for the first process; +1 each time a process is lost (crash, kill, close)."""
        return self._generation

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    async def __aenter__(self) -> SubprocessSandbox:
        await self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def environment(self) -> dict[str, str]:
        """The child's whole environment: nothing inherited but PATH."""
        package_root = str(Path(llmos.__file__).resolve().parent.parent)
        return {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(self.workdir),
            "LANG": "C.UTF-8",
            "PYTHONPATH": package_root,
            "PYTHONUNBUFFERED": "1",
            "PYTHONIOENCODING": "utf-8",
            "MPLBACKEND": "Agg",
        }

    def command(self) -> list[str]:
        """The child's command line: this Python running the kernel's stdio loop."""
        return [self.python, "-P", "-m", "llmos.kernel.stdio_main"]

    def before_exec(self) -> None:
        """Runs in the child between fork and exec; nothing here."""

    async def start(self) -> None:
        """Start the process unless it runs; waits until it is ready for code."""
        if self._proc is not None and self._proc.returncode is None:
            return
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._tail.clear()
        try:
            self._proc = proc = await asyncio.create_subprocess_exec(
                *self.command(),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=self.workdir,
                env=self.environment(),
                limit=LINE_LIMIT,
                start_new_session=True,  # its own process group: signals reach its programs
                preexec_fn=self.before_exec,
            )
        except OSError as error:
            raise SandboxStartError(f"{self.label} did not start: {error}") from error
        self._stderr_task = asyncio.create_task(self._pump_stderr(proc))
        try:
            hello = await asyncio.wait_for(self._message(proc), self.start_timeout)
        except TimeoutError:
            hello = None
        if hello is None or hello.get("state") != "idle":
            await self._lose(proc)
            detail = str((hello or {}).get("detail", ""))[:2000]  # a failed start says why
            raise SandboxStartError(
                f"{self.label} did not start. {detail} {self._tail_text()}".strip()
            )

    async def execute(
        self,
        code: str,
        files: dict[str, bytes] | None = None,
        on_output: OnOutput | None = None,
        timeout: float | None = None,
    ) -> ExecOutcome:
        """Run ``code`` after writing ``files``; never raises for what the code does."""
        async with self._lock:
            started = time.perf_counter()
            try:
                await self.start()
            except SandboxStartError as error:
                return _failed("SandboxStartError", str(error), started)
            assert self._proc is not None
            run = _Run(f"n{next(self._ids)}", on_output, timeout)
            self._run = run
            try:
                result = await self._exchange(self._proc, run, code, files or {})
            finally:
                self._run = None
                for timer in run.timers:
                    timer.cancel()
            return self._outcome(run, result, started)

    async def interrupt(self) -> None:
        """Stop the running code: SIGINT now, a kill after ``grace`` seconds if still running."""
        run = self._run
        if run is None or self._proc is None:
            return
        self._signal(signal.SIGINT)
        run.timers.append(asyncio.get_running_loop().call_later(self.grace, self._kill, run))

    async def close(self) -> None:
        """End the process (politely: closing its stdin; then a kill)."""
        proc = self._proc
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 2.0)
        except TimeoutError:
            self._signal(signal.SIGKILL)
        await self._lose(proc)

    async def _exchange(
        self, proc: asyncio.subprocess.Process, run: _Run, code: str, files: dict[str, bytes]
    ) -> dict[str, Any] | None:
        """Send the execute message and read until its result (None: the process died)."""
        message = {"type": "execute", "id": run.id, "code": code, "files": encode_files(files)}
        assert proc.stdin is not None
        try:
            proc.stdin.write(json.dumps(message).encode("utf-8") + b"\n")
            await proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            await self._died(proc)
            return None
        if run.timeout is not None:
            loop = asyncio.get_running_loop()
            run.timers.append(loop.call_later(run.timeout, self._time_out, run))
        while (reply := await self._message(proc)) is not None:
            if reply.get("id") != run.id:
                continue
            if reply.get("type") == "stream":
                run.emit(str(reply.get("name")), str(reply.get("text")))
            elif reply.get("type") == "result":
                return reply
        await self._died(proc)
        return None

    async def _message(self, proc: asyncio.subprocess.Process) -> dict[str, Any] | None:
        """The next protocol message, or None at end of stream."""
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            with contextlib.suppress(ValueError):
                message = json.loads(line)
                if isinstance(message, dict):
                    return message
        return None

    async def _pump_stderr(self, proc: asyncio.subprocess.Process) -> None:
        """Pass descriptor-level output on to the run in flight; keep a tail for crash reports."""
        assert proc.stderr is not None
        while chunk := await proc.stderr.read(65536):
            text = chunk.decode("utf-8", errors="replace")
            self._tail.append(text)
            if self._run is not None and self._proc is proc:
                self._run.raw_output.append(text)
                self._run.emit("stdout", text)

    async def _died(self, proc: asyncio.subprocess.Process) -> None:
        code = await proc.wait()
        if self._run is not None:
            self._run.exit_code = code
        if self._stderr_task is not None:  # read the last words before reporting them
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._stderr_task), 1.0)
        await self._lose(proc)

    async def _lose(self, proc: asyncio.subprocess.Process) -> None:
        """Forget a process that is gone (or going): its state is lost."""
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        if self._proc is proc:
            self._proc = None
            self._generation += 1
        if self._stderr_task is not None and not self._stderr_task.done():
            self._stderr_task.cancel()

    def _signal(self, signum: int) -> None:
        if self._proc is not None and self._proc.returncode is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self._proc.pid, signum)

    def _time_out(self, run: _Run) -> None:
        if self._run is run:
            run.timed_out = True
            self._signal(signal.SIGINT)
            loop = asyncio.get_running_loop()
            run.timers.append(loop.call_later(self.grace, self._kill, run))

    def _kill(self, run: _Run) -> None:
        if self._run is run:
            run.killed = True
            self._signal(signal.SIGKILL)

    def _tail_text(self) -> str:
        tail = "".join(self._tail).strip()[-TAIL_CHARS:]
        return f"Its last output:\n{tail}" if tail else ""

    def _outcome(self, run: _Run, result: dict[str, Any] | None, started: float) -> ExecOutcome:
        if result is None:
            return self._lost_outcome(run, started)
        outcome = outcome_from_result(result, _ms(started))
        outcome.stdout += "".join(run.raw_output)
        if run.timed_out and outcome.error is not None:
            message = f"The code ran past its time limit of {run.timeout:g} s and was interrupted."
            outcome.stderr += f"[llmos] {message}\n"
            run.emit("stderr", f"[llmos] {message}\n")
            outcome.error = {**outcome.error, "type": "TimeoutError", "message": message}
        return outcome

    def _lost_outcome(self, run: _Run, started: float) -> ExecOutcome:
        """The process died during the run: a kill after a timeout or Stop, or a crash."""
        if run.killed:
            why = "did not stop when interrupted, so its process was killed"
            if run.timed_out:
                why = f"ran past its time limit of {run.timeout:g} s and " + why
            kind = "TimeoutError" if run.timed_out else "KernelRestarted"
        else:
            why = f"crashed: the sandbox process exited with code {run.exit_code}"
            kind = "KernelCrashed"
        message = (
            f"The code {why}. The next run starts a fresh process (variables are reset; "
            f"files in {self.workdir} stay)."
        )
        if kind == "KernelCrashed" and self._tail_text():
            message += " " + self._tail_text()
        outcome = _failed(kind, message, started)
        outcome.stdout = "".join(run.raw_output)
        run.emit("stderr", outcome.stderr)
        return outcome


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _failed(kind: str, message: str, started: float) -> ExecOutcome:
    return ExecOutcome(
        stderr=f"{kind}: {message}\n",
        error={"type": kind, "message": message, "traceback": ""},
        duration_ms=_ms(started),
    )
