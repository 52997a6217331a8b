"""Exact top-k cosine search over the memory store's vector rows: the :class:`VectorIndex` seam
and :class:`PurePythonIndex`, which runs anywhere (Pyodide without numpy included).

The store owns the records; an index only holds their vectors, in the store's row order, and
answers "which ``k`` allowed rows score highest against this query". It never sees ids,
deletes or filters: the store passes them as the ``allowed`` mask of each search. Other
implementations: :class:`llmos.platform.native_index.NumpyIndex` natively, a JS one (WebGPU or
WASM matrix product) in the browser.
"""

from __future__ import annotations

import heapq
import math
import operator
import sys
from array import array
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

from llmos.platform import in_browser

Allowed = Sequence[bool] | bytes | bytearray | None
"""Per row, whether a search may return it (a truthy byte or bool); ``None`` allows every row."""


class VectorIndex(Protocol):
    """Vectors as numbered rows; exact search by dot product (cosine: rows are L2-normalised).

    - ``add(vectors)``: ``vectors`` is packed little-endian float32, a whole number of rows of
      ``dim`` values; they become the next rows (row numbers continue from ``len(index)``).
    - ``search(query, k, allowed)``: ``query`` has ``dim`` values, L2-normalised. Returns at most
      ``k`` ``(row, score)`` pairs over the allowed rows (``allowed`` has one entry per row), the
      highest scores first, ties by ascending row; the result is exact, not approximate.
    - ``len(index)``: the number of rows added.

    A store makes a fresh index for every generation of its files, so nothing is ever removed.
    An index may also offer ``async add_file(storage, path, size)``, adding the rows of a whole
    vector file that it reads itself; the store uses it at open when it can.
    """

    dim: int

    def add(self, vectors: bytes) -> None: ...

    def search(
        self, query: array[float], k: int, allowed: Allowed = None
    ) -> list[tuple[int, float]]: ...

    def __len__(self) -> int: ...


def _sum_of_products(a: Iterable[float], b: Iterable[float]) -> float:
    return float(sum(map(operator.mul, a, b)))


# math.sumprod (Python 3.12+, so in Pyodide) is a C loop, several times faster than map().
dot: Callable[[Iterable[float], Iterable[float]], float] = getattr(
    math, "sumprod", _sum_of_products
)
"""The dot product of two equally long sequences of numbers."""


def check_rows(vectors: bytes, dim: int) -> int:
    """The number of float32 rows of ``dim`` values in ``vectors``; ValueError if not whole."""
    row_bytes = 4 * dim
    if len(vectors) % row_bytes:
        raise ValueError(f"{len(vectors)} bytes are not whole rows of {dim} float32 values.")
    return len(vectors) // row_bytes


class PurePythonIndex:
    """The index without numpy: correct everywhere, about ``len * dim`` multiply-adds in C per
    search (``math.sumprod``) — fine for thousands of rows, slow at 100k."""

    def __init__(self, dim: int) -> None:
        self.dim = dim
        self._rows = array("f")

    def __len__(self) -> int:
        return len(self._rows) // self.dim

    def add(self, vectors: bytes) -> None:
        check_rows(vectors, self.dim)
        if sys.byteorder == "little":
            self._rows.frombytes(vectors)
            return
        added = array("f", vectors)
        added.byteswap()
        self._rows.extend(added)

    def search(
        self, query: array[float], k: int, allowed: Allowed = None
    ) -> list[tuple[int, float]]:
        count = len(self)
        if k <= 0 or count == 0:
            return []
        dim, view = self.dim, memoryview(self._rows)
        rows: Iterable[int] = range(count)
        if allowed is not None:
            rows = (row for row in rows if allowed[row])
        scored = ((dot(query, view[row * dim : row * dim + dim]), row) for row in rows)
        best = heapq.nlargest(k, scored, key=lambda pair: (pair[0], -pair[1]))
        return [(row, score) for score, row in best]


def default_index(dim: int) -> VectorIndex:
    """The fastest index this platform has: numpy natively when installed, else pure Python."""
    if not in_browser():
        try:
            from llmos.platform.native_index import NumpyIndex
        except ImportError:
            pass
        else:
            return NumpyIndex(dim)
    return PurePythonIndex(dim)
