"""The native :class:`~llmos.memory.index.VectorIndex`: a float32 numpy matrix, exact top-k by
one matrix-vector product and a partial sort. Needs numpy (the ``memory`` extra)."""

from __future__ import annotations

from array import array

import numpy as np
from numpy.typing import NDArray

from llmos.memory.index import Allowed, check_rows


class NumpyIndex:
    """Rows in one preallocated float32 matrix that grows by doubling, so a search is a single
    matrix-vector product (one BLAS call: many small ones stall on BLAS threads when cores
    are busy). Rows that do not fit wait as zero-copy views of the bytes they came in, and
    join the matrix at the next search: opening a store copies no vectors."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._matrix: NDArray[np.float32] = np.empty((0, dim), np.float32)
        self._settled = 0  # rows in the matrix; the rest wait in _waiting
        self._waiting: list[NDArray[np.float32]] = []
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add(self, vectors: bytes) -> None:
        added = check_rows(vectors, self.dim)
        rows = np.frombuffer(vectors, dtype="<f4").reshape(added, self.dim)
        if not self._waiting and self._settled + added <= len(self._matrix):
            self._matrix[self._settled : self._settled + added] = rows
            self._settled += added
        elif added:
            self._waiting.append(rows if isinstance(vectors, bytes) else rows.copy())
        self._count += added

    def _settle(self) -> None:
        if not self._waiting:
            return
        if self._count > len(self._matrix):
            grown = np.empty((max(self._count, 2 * len(self._matrix), 1024), self.dim), np.float32)
            grown[: self._settled] = self._matrix[: self._settled]
            self._matrix = grown
        for rows in self._waiting:
            self._matrix[self._settled : self._settled + len(rows)] = rows
            self._settled += len(rows)
        self._waiting = []

    def search(
        self, query: array[float], k: int, allowed: Allowed = None
    ) -> list[tuple[int, float]]:
        k = min(k, self._count)
        if k <= 0:
            return []
        self._settle()
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
