"""Text to vectors: the :class:`EmbeddingEngine` seam and :class:`TextEmbedder` on top of it.

An engine runs the model on token ids and returns one mean-pooled, L2-normalised vector per
input (onnxruntime natively, onnxruntime-web in the browser). Tokenising is shared Python
(:mod:`llmos.memory.tokenizer`), so both platforms feed the model the same ids.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from llmos.memory.tokenizer import Chunk, WordPieceTokenizer

MODEL_ID = "all-MiniLM-L6-v2-int8"  # the weights: vectors of different models never mix
DIM = 384
MAX_TEXT_CHARS = 2_000_000  # ~500 chunks: beyond this a text is refused, not silently cut


class EmbeddingEngine(Protocol):
    """Runs the embedding model. ``model`` names the weights (vectors from different models
    are not comparable); ``backend`` says where it runs (``onnxruntime``, ``wasm``, ``webgpu``)."""

    model: str
    dim: int

    @property
    def backend(self) -> str: ...

    @property
    def loaded(self) -> bool:
        """Whether the model is ready (a browser engine loads it on first use)."""
        ...

    async def load(self) -> object:
        """Load the model now (does nothing when it is loaded)."""
        ...

    async def embed(self, batch: Sequence[Sequence[int]]) -> list[array[float]]:
        """One L2-normalised float32 vector per sequence of token ids (each already has
        ``[CLS]``/``[SEP]`` and at most the model's maximum length)."""
        ...


@dataclass(frozen=True)
class Embedded:
    """One chunk of a text and its vector."""

    text: str
    start: int
    end: int
    vector: array[float]


class TextEmbedder:
    """Tokenises text and batches it through an engine."""

    def __init__(
        self, tokenizer: WordPieceTokenizer, engine: EmbeddingEngine, batch_size: int = 32
    ) -> None:
        self.tokenizer = tokenizer
        self.engine = engine
        self.batch_size = batch_size

    @property
    def model(self) -> str:
        return self.engine.model

    async def embed_texts(self, texts: Sequence[str]) -> list[array[float]]:
        """One vector per text, each truncated to the model's window (queries, short notes)."""
        return await self._run([self.tokenizer.encode(_checked(t)) for t in texts])

    async def embed_chunks(self, text: str) -> list[Embedded]:
        """A long text as overlapping chunks, each with its vector (files, long outputs)."""
        chunks: list[Chunk] = self.tokenizer.chunks(_checked(text))
        vectors = await self._run([c.ids for c in chunks])
        return [Embedded(c.text, c.start, c.end, v) for c, v in zip(chunks, vectors, strict=True)]

    async def _run(self, ids: list[list[int]]) -> list[array[float]]:
        # Similar lengths together: padding costs compute in every batch.
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        out: list[array[float] | None] = [None] * len(ids)
        for start in range(0, len(order), self.batch_size):
            part = order[start : start + self.batch_size]
            for index, vector in zip(
                part, await self.engine.embed([ids[i] for i in part]), strict=True
            ):
                out[index] = vector
        return [v for v in out if v is not None]


def _checked(text: str) -> str:
    if not isinstance(text, str):
        raise TypeError("Only text can be embedded.")
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(
            f"This text is {len(text):,} characters; memory takes at most {MAX_TEXT_CHARS:,} "
            "per item. Split it into smaller files."
        )
    return text


def normalise(values: Sequence[float]) -> array[float]:
    """``values`` scaled to unit length, as float32 (a zero vector stays zero)."""
    norm = math.sqrt(math.fsum(v * v for v in values))
    return array("f", (v / norm for v in values) if norm else values)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors of the same length."""
    dot = math.fsum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(math.fsum(x * x for x in a))
    nb = math.sqrt(math.fsum(y * y for y in b))
    return dot / (na * nb) if na and nb else 0.0
