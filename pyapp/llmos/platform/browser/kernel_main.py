"""Entry point of the kernel worker (Pyodide inside an opaque-origin iframe): runs cells in a
:class:`~llmos.kernel.session.Session` whose workspace is ``/home/pyodide/user`` (the user
volume's counterpart) and streams output to JS as JSON text."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable

from llmos.kernel import hints, workspace
from llmos.kernel.executor import Executor, StreamName
from llmos.kernel.session import Session, refused

WORKSPACE = "/home/pyodide/user"


class _JsInterrupts:
    """Arms Pyodide's interrupt buffer through JS callbacks of kernel-worker.js."""

    def __init__(self, arm: Callable[[bool], None]) -> None:
        self._arm = arm

    def arm(self) -> None:
        self._arm(True)

    def disarm(self) -> None:
        self._arm(False)


class Kernel:
    """The kernel worker's session; kernel-worker.js calls :meth:`run`."""

    def __init__(self, session: Session) -> None:
        self.session = session

    async def run(self, id: str, code: str, post: Callable[[str], None], files_json: str) -> str:
        """Execute ``code`` after writing ``files_json`` ({path: base64}); each write to
        stdout/stderr is posted at once as a ``stream`` message. Returns the ``result`` JSON."""

        def on_stream(name: StreamName, text: str) -> None:
            post(json.dumps({"type": "stream", "id": id, "name": name, "text": text}))

        try:
            files = workspace.decode_files(json.loads(files_json or "{}"))
        except ValueError as error:
            return json.dumps(refused(id, error, on_stream))
        return json.dumps(await self.session.run(code, files, on_stream, id=id))


def setup(missing_packages_json: str, arm: Callable[[bool], None], root: str = WORKSPACE) -> Kernel:
    """Install hints for Pyodide packages this build lacks (``{import_name: package}``), let
    the executor arm interrupts with ``arm(on)``, and make ``root`` the working directory."""
    hints.install(json.loads(missing_packages_json))
    session = Session(root, Executor(interrupts=_JsInterrupts(arm)))
    os.chdir(root)
    if root not in sys.path:
        sys.path.insert(0, root)  # modules the code writes import like a script's neighbours
    return Kernel(session)
