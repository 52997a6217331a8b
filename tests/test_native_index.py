"""NumpyIndex (native) gives exactly what PurePythonIndex (everywhere) gives: the same rows in
the same order, the same scores, under masks, ties, growth and edge cases."""

from __future__ import annotations

from array import array

import numpy as np
import pytest
from llmos.memory.index import PurePythonIndex, VectorIndex, default_index
from llmos.platform.native_index import NumpyIndex

DIM = 48


def unit_rows(rng: np.random.Generator, count: int, dim: int = DIM) -> np.ndarray:
    rows = rng.standard_normal((count, dim)).astype(np.float32)
    normalised: np.ndarray = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return normalised


def both(rows: np.ndarray, sizes: tuple[int, ...] = ()) -> tuple[NumpyIndex, PurePythonIndex]:
    """Both indexes holding ``rows``, added in parts of ``sizes`` (then the rest)."""
    fast, pure = NumpyIndex(rows.shape[1]), PurePythonIndex(rows.shape[1])
    for part in np.split(rows, np.cumsum(sizes)):
        fast.add(part.tobytes())
        pure.add(part.tobytes())
    return fast, pure


def assert_same(got: list[tuple[int, float]], want: list[tuple[int, float]]) -> None:
    assert [row for row, _ in got] == [row for row, _ in want]
    assert [score for _, score in got] == pytest.approx([score for _, score in want], abs=1e-5)


def test_same_results_on_random_data_added_in_big_and_small_parts() -> None:
    rng = np.random.default_rng(3)
    rows = unit_rows(rng, 40_000)
    # whole blocks, a block after a tail, single rows, a tail that fills up and is sealed
    fast, pure = both(rows, (5000, 7, 1, 300, 9000, *[1] * 50, 4096, 8000, 3000, 3000, 3000))
    assert len(fast) == len(pure) == 40_000
    for query in unit_rows(rng, 8):
        q = array("f", query.tobytes())
        assert_same(fast.search(q, 10), pure.search(q, 10))


def test_same_results_when_searches_come_between_adds() -> None:
    rng = np.random.default_rng(8)
    fast, pure = NumpyIndex(DIM), PurePythonIndex(DIM)
    for size in (500, 1, 1, 700, 2000, 1, 3000, 5):  # fits the matrix, waits, grows it
        part = unit_rows(rng, size).tobytes()
        fast.add(part)
        pure.add(part)
        q = array("f", unit_rows(rng, 1)[0].tobytes())
        assert_same(fast.search(q, 10), pure.search(q, 10))
    assert len(fast) == len(pure) == 6208


def test_same_results_under_masks_of_every_accepted_type() -> None:
    rng = np.random.default_rng(4)
    rows = unit_rows(rng, 500)
    fast, pure = both(rows)
    flags = rng.random(500) < 0.3
    masks: list[bytes | bytearray | list[bool]] = [
        flags.astype(np.uint8).tobytes(),
        bytearray(flags.astype(np.uint8).tobytes()),
        [bool(f) for f in flags],
    ]
    q = array("f", unit_rows(rng, 1)[0].tobytes())
    for mask in masks:
        got = fast.search(q, 20, mask)
        assert_same(got, pure.search(q, 20, mask))
        assert all(flags[row] for row, _ in got)


def test_ties_go_to_the_lowest_row_in_both() -> None:
    rng = np.random.default_rng(5)
    base = unit_rows(rng, 4)
    rows = np.concatenate([base[[0, 1, 0, 2, 0, 3, 0]], unit_rows(rng, 20)])  # four copies of 0
    fast, pure = both(rows)
    q = array("f", base[0].tobytes())
    assert [row for row, _ in fast.search(q, 3)] == [0, 2, 4]
    assert_same(fast.search(q, 3), pure.search(q, 3))


def test_edge_cases_agree() -> None:
    rng = np.random.default_rng(6)
    empty_fast, empty_pure = NumpyIndex(DIM), PurePythonIndex(DIM)
    q = array("f", unit_rows(rng, 1)[0].tobytes())
    assert empty_fast.search(q, 5) == empty_pure.search(q, 5) == []
    fast, pure = both(unit_rows(rng, 6))
    assert_same(fast.search(q, 100), pure.search(q, 100))
    assert len(fast.search(q, 100)) == 6
    assert fast.search(q, 0) == pure.search(q, 0) == []
    nothing = bytes(6)
    assert fast.search(q, 3, nothing) == pure.search(q, 3, nothing) == []
    one = bytes([0, 0, 0, 0, 1, 0])
    assert [row for row, _ in fast.search(q, 3, one)] == [4]


@pytest.mark.parametrize("index_type", [NumpyIndex, PurePythonIndex])
def test_adding_bytes_that_are_not_whole_rows_is_refused(index_type: type[VectorIndex]) -> None:
    index = index_type(4)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="not whole rows of 4 float32 values"):
        index.add(bytes(4 * 4 + 2))
    assert len(index) == 0


def test_the_native_default_is_numpy() -> None:
    assert isinstance(default_index(8), NumpyIndex)
