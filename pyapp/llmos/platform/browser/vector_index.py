"""The memory's vector index in the browser: ``web/bridges/vector-index.mjs`` keeps the rows in
WebAssembly memory and scores them with a SIMD kernel; Python hands over bytes and gets
``(row, score)`` pairs back (see :class:`llmos.memory.index.VectorIndex`)."""

from __future__ import annotations

import sys
from array import array
from typing import Any

from pyodide.ffi import JsException, to_js

from llmos.errors import StorageError
from llmos.memory.index import Allowed, check_rows
from llmos.platform import Storage
from llmos.platform.browser.storage import JsStorage


class JsIndex:
    """:class:`~llmos.memory.index.VectorIndex` over ``globalThis.llmosVectorIndex``."""

    def __init__(self, dim: int) -> None:
        import js

        self.dim = dim
        self._js: Any = js.llmosVectorIndex.create(dim)

    def __len__(self) -> int:
        return int(self._js.rows)

    def add(self, vectors: bytes) -> None:
        check_rows(vectors, self.dim)
        if sys.byteorder != "little":  # wasm memory is little-endian
            swapped = array("f", vectors)
            swapped.byteswap()
            vectors = swapped.tobytes()
        self._js.add(to_js(memoryview(vectors).cast("B")))

    async def add_file(self, storage: Storage, path: str, size: int) -> None:
        """Add the rows of a whole vector file: from OPFS/IndexedDB straight into WebAssembly
        memory when ``storage`` is a browser store, else through Python."""
        if sys.byteorder == "little" and isinstance(storage, JsStorage):
            try:
                await self._js.addFromStore(storage.js_store, path, size)
            except JsException as error:
                raise StorageError(f"Could not read the memory file '{path}': {error}") from error
            return
        self.add((await storage.read(path))[:size])

    def search(
        self, query: array[float], k: int, allowed: Allowed = None
    ) -> list[tuple[int, float]]:
        if k <= 0 or len(self) == 0:
            return []
        mask = None
        if allowed is not None:
            mask = to_js(memoryview(bytes(allowed) if not isinstance(allowed, bytes) else allowed))
        found = self._js.search(to_js(memoryview(array("f", query))), k, mask)
        rows = found.rows.to_py().tolist()
        scores = found.scores.to_py().tolist()
        return list(zip(rows, scores, strict=True))
