"""Platform seams: the small interfaces that differ between the browser and CPython.

Each seam is a typed Protocol with a native implementation (:mod:`llmos.platform.native`), a
browser one (:mod:`llmos.platform.browser`) and, where tests want it, an in-memory one
(:mod:`llmos.platform.memory`). Nothing outside this package cares which one it gets.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Entry:
    """One directory entry as storage reports it. ``path`` is relative to the storage root."""

    path: str
    is_dir: bool
    size: int = 0
    mtime: float = 0.0

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


class Storage(Protocol):
    """A tree of files under one root. Paths are already normalised (see :mod:`llmos.vfs.paths`):
    relative, ``/``-separated, no ``.``/``..``; ``""`` is the root.

    ``write`` is atomic: after a crash a reader sees the old bytes or the new ones, never a mix.
    ``append``, ``read_range`` and ``truncate`` serve append-only logs (the memory store): an
    append is *not* atomic, so a crash may leave a torn tail that the caller must detect (with
    checksums) and cut off with ``truncate``.
    Implementations raise :class:`llmos.errors.NotFoundError`, ``QuotaError`` or ``StorageError``.
    """

    async def read(self, path: str) -> bytes: ...

    async def write(self, path: str, data: bytes) -> None: ...

    async def stat(self, path: str) -> Entry | None: ...

    async def list(self, path: str) -> list[Entry]: ...

    async def mkdir(self, path: str) -> None: ...

    async def delete(self, path: str) -> None: ...

    async def move(self, src: str, dst: str) -> None: ...

    async def append(self, path: str, data: bytes) -> int:
        """Add ``data`` at the end of the file (created when missing); returns the offset where
        ``data`` starts. On a ``QuotaError`` nothing was appended where the backend can tell."""
        ...

    async def read_range(self, path: str, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes from ``offset``: fewer (maybe none) at the end of the file."""
        ...

    async def truncate(self, path: str, size: int) -> None:
        """Keep only the first ``size`` bytes of the file; a file already that short is kept."""
        ...


def in_browser() -> bool:
    """True inside Pyodide (browser or Node), where ``js`` and ``pyodide`` can be imported."""
    return sys.platform == "emscripten"
