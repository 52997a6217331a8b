"""An in-memory :class:`~llmos.platform.Storage`, for tests and scratch volumes."""

from __future__ import annotations

import time

from llmos.errors import NotFoundError, QuotaError
from llmos.platform import Entry


class MemoryStorage:
    """Files as a dict of bytes; folders as a set. ``quota_bytes`` simulates a full disk."""

    def __init__(self, quota_bytes: int | None = None) -> None:
        self._files: dict[str, tuple[bytes, float]] = {}
        self._dirs: set[str] = {""}
        self.quota_bytes = quota_bytes

    def _used(self) -> int:
        return sum(len(data) for data, _ in self._files.values())

    async def read(self, path: str) -> bytes:
        if path not in self._files:
            raise NotFoundError(f"'{path}' does not exist.")
        return self._files[path][0]

    async def write(self, path: str, data: bytes) -> None:
        if self.quota_bytes is not None:
            old = len(self._files.get(path, (b"", 0.0))[0])
            if self._used() - old + len(data) > self.quota_bytes:
                raise QuotaError("Storage is full: the file was not saved.")
        self._files[path] = (bytes(data), time.time())

    async def stat(self, path: str) -> Entry | None:
        if path in self._dirs:
            return Entry(path, True)
        if path in self._files:
            data, mtime = self._files[path]
            return Entry(path, False, len(data), mtime)
        return None

    async def list(self, path: str) -> list[Entry]:
        if path not in self._dirs:
            raise NotFoundError(f"'{path}' is not a folder.")
        prefix = f"{path}/" if path else ""
        found: list[Entry] = []
        for name in [*self._dirs, *self._files]:
            if name and name.startswith(prefix) and "/" not in name[len(prefix) :]:
                entry = await self.stat(name)
                if entry is not None:
                    found.append(entry)
        return found

    async def mkdir(self, path: str) -> None:
        self._dirs.add(path)

    async def delete(self, path: str) -> None:
        prefix = path + "/"
        self._files = {
            k: v for k, v in self._files.items() if k != path and not k.startswith(prefix)
        }
        self._dirs = {d for d in self._dirs if d != path and not d.startswith(prefix)}

    async def move(self, src: str, dst: str) -> None:
        def moved(name: str) -> str:
            return dst + name[len(src) :] if name == src or name.startswith(src + "/") else name

        self._files = {moved(k): v for k, v in self._files.items()}
        self._dirs = {moved(d) for d in self._dirs}
