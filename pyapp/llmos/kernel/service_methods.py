"""The OS method ``kernel.execute``: run code in the sandbox with user files, the way the
agent's ``execute_python`` tool does, and save what the code wrote into the user volume.

The sandbox's working directory is the user volume's counterpart: ``user/data.csv`` is sent as
``data.csv``, and a file the code writes to ``out/plot.png`` is saved as ``user/out/plot.png``.

Params: ``code``; ``inputs`` (VFS paths under ``user/`` to send); ``timeout`` (seconds).
Reply: ``{stdout, stderr, result, error, files: [saved VFS paths], images: [base64 PNG],
generation, ms}``. While the code runs, ``kernel.output`` events carry ``{stream, text}``.
"""

from __future__ import annotations

import base64
from typing import Any

from llmos import protocol
from llmos.errors import ProtocolError
from llmos.kernel.sandbox import Sandbox, save_outputs
from llmos.platform import in_browser
from llmos.service import OsService, method

USER = "user/"


def sandbox_of(service: OsService) -> Sandbox:
    """``service.sandbox``; in the browser the page's kernel when none was plugged in."""
    if service.sandbox is None and in_browser():
        from llmos.platform.browser.sandbox import KernelSandbox

        service.sandbox = KernelSandbox()
    if service.sandbox is None:
        raise ProtocolError("This OS has no sandbox to run code in.")
    return service.sandbox


async def _inputs(service: OsService, params: dict[str, Any]) -> dict[str, bytes]:
    paths = params.get("inputs", [])
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise ProtocolError("The parameter 'inputs' must be a list of paths.")
    files = {}
    for path in paths:
        if not path.startswith(USER):
            raise ProtocolError(f"'{path}' is not in the user volume; only user files are sent.")
        files[path[len(USER) :]] = await service.vfs.read_bytes(path)
    return files


def _timeout(params: dict[str, Any]) -> float | None:
    value = params.get("timeout")
    if value is not None and (not isinstance(value, int | float) or value <= 0):
        raise ProtocolError("The parameter 'timeout' must be a positive number of seconds.")
    return None if value is None else float(value)


@method("kernel.execute")
async def _execute(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    code = params.get("code")
    if not isinstance(code, str):
        raise ProtocolError("The parameter 'code' must be text.")
    files, timeout = await _inputs(service, params), _timeout(params)
    sandbox = sandbox_of(service)

    def on_output(name: str, text: str) -> None:
        service.emit(protocol.event("kernel.output", stream=name, text=text))

    outcome = await sandbox.execute(code, files, on_output, timeout)
    saved, notes = await save_outputs(service.vfs, outcome.files)
    return {
        "stdout": outcome.stdout,
        "stderr": outcome.stderr + notes,
        "result": outcome.result,
        "error": outcome.error,
        "files": saved,
        "images": [base64.b64encode(image).decode("ascii") for image in outcome.images],
        "generation": sandbox.generation,
        "ms": round(outcome.duration_ms, 1),
    }
