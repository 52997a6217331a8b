""":class:`~llmos.platform.Storage` over a JS store from ``web/bridges/storage.mjs`` (OPFS or
IndexedDB), translating the browser's DOMException names into LLMos errors."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar

from pyodide.ffi import JsException, jsnull, to_js

from llmos.errors import LlmosError, NotFoundError, QuotaError, StorageError
from llmos.platform import Entry

T = TypeVar("T")


def _translate(error: JsException, path: str) -> LlmosError:
    name = getattr(error, "name", "") or str(error)
    if "NotFound" in name:
        return NotFoundError(f"'{path}' does not exist.")
    if "Quota" in name:
        return QuotaError(
            f"The browser's storage quota is full: '{path}' was not saved. "
            "Delete files you no longer need, or free space for this site."
        )
    return StorageError(f"Storage failed on '{path}': {error}")


class JsStorage:
    """Wraps one store object of ``storage.mjs``."""

    def __init__(self, store: Any) -> None:
        self._store = store

    @property
    def js_store(self) -> Any:
        """The ``storage.mjs`` store itself, for bridges that read files without Python."""
        return self._store

    @property
    def kind(self) -> str:
        return str(self._store.kind)

    async def _call(self, path: str, awaitable: Awaitable[T]) -> T:
        try:
            return await awaitable
        except JsException as error:
            raise _translate(error, path) from error

    async def read(self, path: str) -> bytes:
        data = await self._call(path, self._store.read(path))
        return bytes(data.to_bytes())

    async def write(self, path: str, data: bytes) -> None:
        await self._call(path, self._store.write(path, to_js(data)))

    async def stat(self, path: str) -> Entry | None:
        info = await self._call(path, self._store.stat(path))
        if info is None or info is jsnull:
            return None
        return Entry(path, bool(info.dir), int(info.size), float(info.mtime))

    async def list(self, path: str) -> list[Entry]:
        found = await self._call(path, self._store.list(path))
        prefix = f"{path}/" if path else ""
        return [Entry(prefix + e.name, bool(e.dir), int(e.size), float(e.mtime)) for e in found]

    async def mkdir(self, path: str) -> None:
        await self._call(path, self._store.mkdir(path))

    async def delete(self, path: str) -> None:
        await self._call(path, self._store.delete(path))

    async def move(self, src: str, dst: str) -> None:
        await self._call(src, self._store.move(src, dst))

    async def append(self, path: str, data: bytes) -> int:
        return int(await self._call(path, self._store.append(path, to_js(data))))

    async def read_range(self, path: str, offset: int, length: int) -> bytes:
        if offset < 0 or length < 0:
            raise ValueError(f"A byte range cannot be negative: offset {offset}, length {length}.")
        data = await self._call(path, self._store.readRange(path, offset, length))
        return bytes(data.to_bytes())

    async def truncate(self, path: str, size: int) -> None:
        if size < 0:
            raise ValueError(f"A file size cannot be negative: {size}.")
        await self._call(path, self._store.truncate(path, size))
