"""Entry point of the kernel worker (Pyodide inside an opaque-origin iframe): runs cells with
:class:`~llmos.kernel.executor.Executor` and streams output to JS as JSON text."""

from __future__ import annotations

import json
from collections.abc import Callable

from llmos.kernel import hints
from llmos.kernel.executor import Executor, StreamName


class _JsInterrupts:
    """Arms Pyodide's interrupt buffer through JS callbacks of kernel-worker.js."""

    def __init__(self, arm: Callable[[bool], None]) -> None:
        self._arm = arm

    def arm(self) -> None:
        self._arm(True)

    def disarm(self) -> None:
        self._arm(False)


_executor = Executor()


def setup(missing_packages_json: str, arm: Callable[[bool], None]) -> None:
    """Install hints for Pyodide packages this build lacks (``{import_name: package}``) and
    let the executor arm interrupts with ``arm(on)``."""
    hints.install(json.loads(missing_packages_json))
    _executor.interrupts = _JsInterrupts(arm)


async def run(id: str, code: str, post: Callable[[str], None]) -> str:
    """Execute ``code``; each write to stdout/stderr is posted at once as a ``stream`` message."""

    def on_stream(name: StreamName, text: str) -> None:
        post(json.dumps({"type": "stream", "id": id, "name": name, "text": text}))

    return json.dumps(await _executor.run(code, on_stream, id=id))
