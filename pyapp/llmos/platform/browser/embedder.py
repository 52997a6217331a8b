"""The embedding engine in the browser: ``web/bridges/embedder.mjs`` (onnxruntime-web, WASM or
WebGPU) in the OS worker. Token ids go in as one padded Int32Array; pooled, normalised float32
vectors come back."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from typing import Any

from pyodide.ffi import JsException, create_proxy, to_js

from llmos.errors import LlmosError
from llmos.memory.embedder import DIM, MODEL_ID


class OrtWebEngine:
    """:class:`~llmos.memory.embedder.EmbeddingEngine` over ``globalThis.llmosEmbedder``.
    The model loads on first use; ``on_progress`` gets ``{stage, loaded, total, share}``."""

    dim = DIM
    model = MODEL_ID

    def __init__(
        self,
        prefer: str = "auto",
        on_progress: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.prefer = prefer
        self.on_progress = on_progress
        self.info: dict[str, Any] = {}

    @property
    def backend(self) -> str:
        return str(self.info.get("backend", "not loaded"))

    @property
    def loaded(self) -> bool:
        return bool(self.info)

    async def load(self) -> dict[str, Any]:
        """Load the runtime and the model (once); returns backend, threads, adapter, ms."""
        import js

        if self.info:
            return self.info
        callback = create_proxy(lambda p: self.on_progress and self.on_progress(p.to_py()))
        try:
            options = to_js(
                {"backend": self.prefer, "onProgress": callback},
                dict_converter=js.Object.fromEntries,
            )
            loaded = await js.llmosEmbedder.load(options)
        except JsException as error:
            raise LlmosError(f"The embedding model could not load: {error}") from error
        finally:
            callback.destroy()
        self.info = loaded.to_py()
        return self.info

    async def embed(self, batch: Sequence[Sequence[int]]) -> list[array[float]]:
        import js

        if not batch:
            return []
        await self.load()
        width = max(len(ids) for ids in batch)
        flat = array("i", bytes(4 * width * len(batch)))
        for row, ids in enumerate(batch):
            flat[row * width : row * width + len(ids)] = array("i", ids)
        ids_js = js.Int32Array.new(len(flat))
        ids_js.assign(flat)
        lengths = js.Int32Array.new(len(batch))
        lengths.assign(array("i", [len(ids) for ids in batch]))
        try:
            out = await js.llmosEmbedder.embed(ids_js, len(batch), width, lengths)
        except JsException as error:
            raise LlmosError(f"The embedding model failed: {error}") from error
        data = array("f", out.to_bytes())
        return [data[i * DIM : (i + 1) * DIM] for i in range(len(batch))]
