"""The native :class:`~llmos.memory.index.VectorIndex`: a float32 numpy matrix, exact top-k by
one matrix-vector product and a partial sort. Needs numpy (the ``memory`` extra)."""

from __future__ import annotations

from array import array

import numpy as np
from numpy.typing import NDArray

from llmos.memory.index import Allowed, check_rows

_FIRST_CAPACITY = 1024


class NumpyIndex:
    """Rows in a preallocated matrix that doubles when full, so adding is amortised O(rows)."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._matrix: NDArray[np.float32] = np.empty((_FIRST_CAPACITY, dim), np.float32)
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, vectors: bytes) -> None:
        added = check_rows(vectors, self.dim)
        needed = self._count + added
        if needed > len(self._matrix):
            grown = np.empty((max(needed, 2 * len(self._matrix)), self.dim), np.float32)
            grown[: self._count] = self._matrix[: self._count]
            self._matrix = grown
        rows = np.frombuffer(vectors, dtype="<f4").reshape(added, self.dim)
        self._matrix[self._count : needed] = rows
        self._count = needed

    def search(
        self, query: array[float], k: int, allowed: Allowed = None
    ) -> list[tuple[int, float]]:
        k = min(k, self._count)
        if k <= 0:
            return []
        scores = self._matrix[: self._count] @ np.asarray(query, dtype=np.float32)
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
