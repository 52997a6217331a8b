"""Entry point of the kernel worker (Pyodide inside an opaque-origin iframe): runs cells with
:class:`~llmos.kernel.executor.Executor` and streams output to JS as JSON text."""

from __future__ import annotations

import json
from collections.abc import Callable

from llmos.kernel import hints
from llmos.kernel.executor import Executor, StreamName

_executor = Executor()


def setup(missing_packages_json: str) -> None:
    """Install hints for Pyodide packages this build lacks (``{import_name: package}``)."""
    hints.install(json.loads(missing_packages_json))


async def run(id: str, code: str, post: Callable[[str], None]) -> str:
    """Execute ``code``; each write to stdout/stderr is posted at once as a ``stream`` message."""

    def on_stream(name: StreamName, text: str) -> None:
        post(json.dumps({"type": "stream", "id": id, "name": name, "text": text}))

    return json.dumps(await _executor.run(code, on_stream, id=id))
