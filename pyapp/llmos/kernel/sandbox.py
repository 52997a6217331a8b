"""The seam between the OS and the room where model-written code runs.

The OS never runs agent code itself: it hands code (and the user files the code may need) to a
:class:`Sandbox` and gets back what happened, including the files the code wrote and the images
it produced. In the browser the sandbox is the kernel worker inside an opaque-origin iframe;
natively it is a separate Python process.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from llmos.errors import LlmosError, PathError
from llmos.kernel import workspace
from llmos.protocol import ExecError

if TYPE_CHECKING:
    from llmos.vfs import Vfs

OnOutput = Callable[[str, str], None]  # (stream name "stdout"|"stderr", text)


@dataclass
class ExecOutcome:
    """What one execution did. ``files`` are the files the code created or changed under its
    working directory (relative ``/`` paths); ``images`` are PNG bytes it displayed."""

    stdout: str = ""
    stderr: str = ""
    result: str | None = None
    error: ExecError | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    images: list[bytes] = field(default_factory=list)
    duration_ms: float = 0.0


class Sandbox(Protocol):
    """Runs untrusted Python away from the OS's secrets.

    ``files`` are written into the sandbox's working directory before the code runs (relative
    paths). ``generation`` changes whenever the sandbox lost its state (a restart after a crash
    or a forced stop), so callers know to send files again. ``timeout`` seconds after the start
    the code is interrupted (and the sandbox restarted if it does not stop), and the outcome's
    ``error`` says so.
    """

    @property
    def generation(self) -> int: ...

    async def execute(
        self,
        code: str,
        files: dict[str, bytes] | None = None,
        on_output: OnOutput | None = None,
        timeout: float | None = None,
    ) -> ExecOutcome: ...

    async def interrupt(self) -> None: ...


def outcome_from_result(result: Mapping[str, Any], duration_ms: float = 0.0) -> ExecOutcome:
    """An :class:`ExecOutcome` from a kernel's ``result`` message, whose ``files`` ({path:
    base64}) and ``images`` ([base64]) are decoded here. The kernel is untrusted: a path that
    is absolute or climbs out with ``..`` is dropped, and stderr says so."""
    outcome = ExecOutcome(
        stdout=str(result.get("stdout") or ""),
        stderr=str(result.get("stderr") or ""),
        result=result.get("result"),
        error=result.get("error"),
        images=[base64.b64decode(image) for image in result.get("images") or []],
        duration_ms=duration_ms,
    )
    for path, data in (result.get("files") or {}).items():
        try:
            outcome.files[workspace.relative(path)] = base64.b64decode(data)
        except (PathError, ValueError) as error:
            outcome.stderr += f"[llmos] A file the code returned was dropped: {error}\n"
    return outcome


PROTECTED = ("chats/", "agents/", "skills/")
"""User folders code in the sandbox may not write back into: conversations are the OS's record,
and agent and skill files are prompts and tool grants (model-written code must not rewrite them;
a skill reaches the sandbox only while it is enabled, see ``llmos.tools.python``)."""


async def save_outputs(vfs: Vfs, files: dict[str, bytes]) -> tuple[list[str], str]:
    """Write the files a run produced into the user volume, each on its own: one that cannot be
    saved (quota, a bad name, a protected folder) is named in the returned notes and the rest
    are still saved. Returns the saved VFS paths and the notes (for stderr)."""
    saved: list[str] = []
    notes = ""
    for rel, data in files.items():
        path = f"user/{rel}"
        if rel.startswith(PROTECTED):
            notes += (
                f"[llmos] {path} was not saved: code may not write into {rel.split('/')[0]}/.\n"
            )
            continue
        try:
            await vfs.write_bytes(path, data)
        except LlmosError as error:
            notes += f"[llmos] {path} was not saved: {error}\n"
            continue
        saved.append(path)
    return saved, notes
