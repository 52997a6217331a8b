"""A kernel session: the executor plus a workspace, shared by the browser kernel and the native
sandbox process.

One run writes the incoming files into the workspace, runs the code there, and reports what the
code produced besides output: files it created or changed, and images (see
:mod:`llmos.kernel.display`). Anything left out for size is said in stderr, so neither the user
nor the agent mistakes a missing file for a bug.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping

from llmos.errors import LlmosError
from llmos.kernel import display
from llmos.kernel.executor import Executor, OnStream, StreamName
from llmos.kernel.workspace import Limits, Workspace, encode_files
from llmos.protocol import ExecError, Result

MAX_IMAGES = 20
DEFAULT_LIMITS = Limits()


class SessionResult(Result):
    """A ``result`` message with ``files`` ({path: base64}) and ``images`` ([base64 PNG])."""

    files: dict[str, str]
    images: list[str]


class Session:
    """Runs cells in ``root``; the caller makes ``root`` the process's working directory."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        executor: Executor | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.workspace = Workspace(root)
        self.executor = executor or Executor()
        self.limits = limits

    async def run(
        self,
        code: str,
        files: Mapping[str, bytes] | None = None,
        on_stream: OnStream | None = None,
        id: str = "",
    ) -> SessionResult:
        """Write ``files``, run ``code``, and collect changed files and images."""
        emit = on_stream or _ignore
        try:
            self.workspace.write(files or {})
        except (LlmosError, OSError) as error:
            return refused(id, error, emit)
        before = self.workspace.scan(self.limits.file_bytes)
        display.take_shown()  # drop images shown outside a run
        result = await self.executor.run(code, emit, id=id)
        changed = self.workspace.changed(before)
        files_out, notes = self.workspace.collect(changed, self.limits)
        images = self._images(result["error"] is None, files_out, notes)
        note = "".join(f"[llmos] {n}\n" for n in notes)
        if note:
            emit("stderr", note)
        return {
            "type": "result",
            "id": result["id"],
            "stdout": result["stdout"],
            "stderr": result["stderr"] + note,
            "result": result["result"],
            "error": result["error"],
            "files": encode_files(files_out),
            "images": [base64.b64encode(image).decode("ascii") for image in images],
        }

    def _images(self, succeeded: bool, files: dict[str, bytes], notes: list[str]) -> list[bytes]:
        """show() calls, matplotlib figures, the cell's value, then PNG files, without repeats."""
        found = display.take_shown()
        try:
            found += display.matplotlib_figures()
        except Exception as error:
            notes.append(f"matplotlib figures not shown: {type(error).__name__}: {error}")
        if succeeded:
            try:
                value = display.png_of(self.executor.last_value)
            except Exception as error:
                notes.append(f"the value's image not shown: {type(error).__name__}: {error}")
            else:
                found += [value] if value else []
        found += [d for p, d in files.items() if p.lower().endswith(".png") and display.is_png(d)]
        unique = [i for i in dict.fromkeys(found) if len(i) <= self.limits.file_bytes]
        if len(unique) < len(set(found)):
            notes.append(f"images over {self.limits.file_bytes:,} bytes not shown.")
        if len(unique) > MAX_IMAGES:
            notes.append(f"{len(unique) - MAX_IMAGES} images not shown: at most {MAX_IMAGES}.")
        return unique[:MAX_IMAGES]


def _ignore(name: StreamName, text: str) -> None:
    return None


def refused(id: str, error: Exception, emit: OnStream = _ignore) -> SessionResult:
    """The result of a run whose files could not be written (bad path or data, full disk):
    the code did not run."""
    message = f"The files were not written, so the code did not run: {error}"
    failure: ExecError = {"type": type(error).__name__, "message": message, "traceback": ""}
    emit("stderr", message + "\n")
    return {
        "type": "result",
        "id": id,
        "stdout": "",
        "stderr": message + "\n",
        "result": None,
        "error": failure,
        "files": {},
        "images": [],
    }
