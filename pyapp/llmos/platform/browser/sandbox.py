"""The browser :class:`~llmos.kernel.sandbox.Sandbox`, used inside the OS worker: the kernel
worker in the page's opaque-origin iframe, reached through ``globalThis.llmosKernel`` that
``web/bridges/os-worker.mjs`` defines (it asks the page, which queues the run on the kernel
host like a console run and streams output back).

``llmosKernel``: ``execute(code, filesJson, onOutput, timeoutMs) -> Promise<resultJson>``,
``interrupt() -> Promise``, ``generation() -> number``.
"""

from __future__ import annotations

import json
import time
from typing import Any

from llmos.kernel.sandbox import ExecOutcome, OnOutput, outcome_from_result
from llmos.kernel.workspace import encode_files


class KernelSandbox:
    """The page's kernel as a :class:`~llmos.kernel.sandbox.Sandbox`. ``bridge`` defaults to
    ``js.llmosKernel``."""

    def __init__(self, bridge: Any = None) -> None:
        if bridge is None:
            import js

            bridge = js.llmosKernel
        self._bridge = bridge

    @property
    def generation(self) -> int:
        """Changes whenever the kernel restarted (its variables and workspace files are gone)."""
        return int(self._bridge.generation())

    async def execute(
        self,
        code: str,
        files: dict[str, bytes] | None = None,
        on_output: OnOutput | None = None,
        timeout: float | None = None,
    ) -> ExecOutcome:
        from pyodide.ffi import create_proxy

        started = time.perf_counter()
        callback = create_proxy(on_output) if on_output is not None else None
        try:
            payload = json.dumps(encode_files(files or {}))
            timeout_ms = 0 if timeout is None else max(1, round(timeout * 1000))
            raw = await self._bridge.execute(code, payload, callback, timeout_ms)
        finally:
            if callback is not None:
                callback.destroy()
        return outcome_from_result(json.loads(raw), (time.perf_counter() - started) * 1000)

    async def interrupt(self) -> None:
        """Stop the code this OS runs in the kernel (never a console run)."""
        await self._bridge.interrupt()
