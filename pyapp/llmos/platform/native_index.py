"""The native :class:`~llmos.memory.index.VectorIndex`: a float32 numpy matrix, exact top-k by
one matrix-vector product and a partial sort. Needs numpy (the ``memory`` extra)."""

from __future__ import annotations

from array import array

import numpy as np
from numpy.typing import NDArray

from llmos.memory.index import Allowed, check_rows

_BLOCK_ROWS = 8192


class NumpyIndex:
    """Rows in float32 blocks. An add of many rows (a store segment at open) becomes a block as
    it is, a zero-copy view of its bytes; small adds fill a preallocated tail block that doubles
    as it grows and is sealed at :data:`_BLOCK_ROWS`. A search is one matrix-vector product per
    block, then one partial sort."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._blocks: list[NDArray[np.float32]] = []
        self._tail: NDArray[np.float32] = np.empty((256, dim), np.float32)
        self._tail_rows = 0
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, vectors: bytes) -> None:
        added = check_rows(vectors, self.dim)
        rows = np.frombuffer(vectors, dtype="<f4").reshape(added, self.dim)
        if added >= _BLOCK_ROWS // 2:
            self._seal_tail()
            self._blocks.append(rows if isinstance(vectors, bytes) else rows.copy())
        elif added:
            self._add_to_tail(rows)
        self._count += added

    def _add_to_tail(self, rows: NDArray[np.float32]) -> None:
        needed = self._tail_rows + len(rows)
        if needed > len(self._tail):
            grown = np.empty((max(needed, 2 * len(self._tail)), self.dim), np.float32)
            grown[: self._tail_rows] = self._tail[: self._tail_rows]
            self._tail = grown
        self._tail[self._tail_rows : needed] = rows
        self._tail_rows = needed
        if self._tail_rows >= _BLOCK_ROWS:
            self._seal_tail()

    def _seal_tail(self) -> None:
        if self._tail_rows:
            self._blocks.append(self._tail[: self._tail_rows])
            self._tail = np.empty((256, self.dim), np.float32)
            self._tail_rows = 0

    def search(
        self, query: array[float], k: int, allowed: Allowed = None
    ) -> list[tuple[int, float]]:
        k = min(k, self._count)
        if k <= 0:
            return []
        q = np.asarray(query, dtype=np.float32)
        parts = [block @ q for block in self._blocks]
        scores = np.concatenate([*parts, self._tail[: self._tail_rows] @ q])
        if allowed is not None:
            mask = _as_mask(allowed, self._count)
            k = min(k, int(np.count_nonzero(mask)))
            if k == 0:
                return []
            scores[~mask] = -np.inf
        chosen = _top_rows(scores, k)
        order = np.lexsort((chosen, -scores[chosen]))
        return [(int(row), float(scores[row])) for row in chosen[order]]


def _as_mask(allowed: Allowed, count: int) -> NDArray[np.bool_]:
    if isinstance(allowed, bytes | bytearray):
        return np.frombuffer(allowed, dtype=np.uint8, count=count).astype(bool)
    return np.asarray(allowed, dtype=bool)[:count]


def _top_rows(scores: NDArray[np.float32], k: int) -> NDArray[np.intp]:
    """The ``k`` best rows; among rows tied with the k-th score, the lowest rows, so the
    result is the same as a full sort by (score desc, row asc)."""
    kth = np.partition(scores, len(scores) - k)[len(scores) - k]
    above = np.flatnonzero(scores > kth)
    tied = np.flatnonzero(scores == kth)[: k - len(above)]
    return np.concatenate((above, tied))
