"""The browser's vector index (WebAssembly SIMD, web/bridges/vector-index.mjs) gives exactly the
pure-Python index's answers. Runs only inside Pyodide (see conftest.collect_ignore)."""

from __future__ import annotations

import random
from array import array
from pathlib import Path

from llmos.memory.embedder import normalise
from llmos.memory.index import PurePythonIndex
from llmos.memory.store import NewRecord, Source, VectorStore
from llmos.platform import Storage
from llmos.platform.browser.vector_index import JsIndex

from tests.core.conftest import make_storage

DIM = 384


def unit_vectors(count: int, seed: int) -> list[array[float]]:
    rng = random.Random(seed)
    return [normalise([rng.gauss(0, 1) for _ in range(DIM)]) for _ in range(count)]


def test_js_index_top_k_equals_the_pure_python_reference() -> None:
    rows = unit_vectors(1500, 1)
    js, reference = JsIndex(DIM), PurePythonIndex(DIM)
    for start in range(0, len(rows), 500):  # added in batches, as the store does
        packed = b"".join(v.tobytes() for v in rows[start : start + 500])
        js.add(packed)
        reference.add(packed)
    assert len(js) == 1500
    for query in unit_vectors(20, 2):
        got = js.search(query, 10)
        want = reference.search(query, 10)
        assert [r for r, _ in got] == [r for r, _ in want]
        assert all(abs(a - b) < 1e-5 for (_, a), (_, b) in zip(got, want, strict=True))


def test_js_index_honours_the_allowed_mask_and_small_k() -> None:
    rows = unit_vectors(300, 3)
    index = JsIndex(DIM)
    index.add(b"".join(v.tobytes() for v in rows))
    allowed = bytes(1 if n % 3 == 0 else 0 for n in range(300))
    query = rows[7]  # row 7 is not allowed: its perfect score must not come back
    found = index.search(query, 5, allowed)
    assert len(found) == 5
    assert all(row % 3 == 0 for row, _ in found)
    assert index.search(rows[9], 1, allowed)[0][0] == 9
    assert index.search(query, 0) == []
    assert JsIndex(DIM).search(query, 3) == []


class CountingJsIndex(JsIndex):
    files = 0

    async def add_file(self, storage: Storage, path: str, size: int) -> None:
        CountingJsIndex.files += 1
        await super().add_file(storage, path, size)


async def test_a_reopened_store_loads_its_vectors_straight_from_opfs(tmp_path: Path) -> None:
    storage = make_storage("opfs", tmp_path)
    rows = unit_vectors(300, 5)
    store = await VectorStore.open(storage, "m", dim=DIM, model="t", index_factory=JsIndex)
    items = [NewRecord("note", f"r{n}", {}, Source("note", f"s{n}"), v) for n, v in enumerate(rows)]
    ids = await store.add(items)
    again = await VectorStore.open(
        storage, "m", dim=DIM, model="t", index_factory=CountingJsIndex, verify_vectors=False
    )
    assert CountingJsIndex.files == 1, "the segment went from OPFS to the index directly"
    for query in unit_vectors(10, 6):
        assert again.search(query, 5) == store.search(query, 5)
    assert again.search(rows[42], 1)[0][0] == ids[42]
    assert await again.verify() == []
