"""An in-memory :class:`~llmos.platform.Storage`, for tests and scratch volumes."""

from __future__ import annotations

import time

from llmos.errors import NotFoundError, QuotaError
from llmos.platform import Entry


class MemoryStorage:
    """Files as a dict of byte buffers; folders as a set. ``quota_bytes`` simulates a full disk:
    a write or append that would pass it raises :class:`QuotaError` and changes nothing."""

    def __init__(self, quota_bytes: int | None = None) -> None:
        self._files: dict[str, tuple[bytearray, float]] = {}
        self._dirs: set[str] = {""}
        self.quota_bytes = quota_bytes

    def _used(self) -> int:
        return sum(len(data) for data, _ in self._files.values())

    async def read(self, path: str) -> bytes:
        if path not in self._files:
            raise NotFoundError(f"'{path}' does not exist.")
        return bytes(self._files[path][0])

    async def write(self, path: str, data: bytes) -> None:
        old = len(self._files[path][0]) if path in self._files else 0
        self._check_quota(len(data) - old)
        self._files[path] = (bytearray(data), time.time())

    async def append(self, path: str, data: bytes) -> int:
        self._check_quota(len(data))
        buffer = self._files[path][0] if path in self._files else bytearray()
        offset = len(buffer)
        buffer += data
        self._files[path] = (buffer, time.time())
        return offset

    async def read_range(self, path: str, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            raise ValueError(f"A byte range cannot be negative: offset {offset}, length {length}.")
        if path not in self._files:
            raise NotFoundError(f"'{path}' does not exist.")
        return bytes(self._files[path][0][offset : offset + length])

    async def truncate(self, path: str, size: int) -> None:
        if size < 0:
            raise ValueError(f"A file size cannot be negative: {size}.")
        if path not in self._files:
            raise NotFoundError(f"'{path}' does not exist.")
        del self._files[path][0][size:]

    def _check_quota(self, growth: int) -> None:
        if self.quota_bytes is not None and self._used() + growth > self.quota_bytes:
            raise QuotaError("Storage is full: the file was not saved.")

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
