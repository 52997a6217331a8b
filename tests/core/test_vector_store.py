"""The persistent vector store on every storage backend: records, exact search, filters,
deletes, compaction, and what a crash, damage, a newer format or a full disk leave behind."""

from __future__ import annotations

import asyncio
import math
import random
from array import array
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from llmos.errors import MemoryFormatError, NotFoundError, QuotaError, StorageError
from llmos.memory import store as store_module
from llmos.memory.index import PurePythonIndex
from llmos.memory.store import Filter, NewRecord, Source, VectorStore
from llmos.platform import Entry, Storage
from llmos.platform.memory import MemoryStorage

DIM = 16
FOLDER = "memory"


def unit_vector(rng: random.Random, dim: int = DIM) -> array[float]:
    values = [rng.gauss(0, 1) for _ in range(dim)]
    norm = math.sqrt(sum(v * v for v in values))
    return array("f", [v / norm for v in values])


def new(n: int, rng: random.Random, **fields: Any) -> NewRecord:
    return NewRecord(
        kind=fields.get("kind", "note"),
        text=fields.get("text", f"memory number {n}"),
        metadata=fields.get("metadata", {"n": n}),
        source=fields.get("source", Source("note", f"note-{n}", f"Note {n}")),
        vector=fields.get("vector", unit_vector(rng, fields.get("dim", DIM))),
        created=fields.get("created", 1_000.0 + n),
    )


async def open_store(storage: Storage, **options: Any) -> VectorStore:
    return await VectorStore.open(
        storage, FOLDER, dim=options.pop("dim", DIM), model="m", **options
    )


async def filled(
    storage: Storage, count: int, seed: int = 1
) -> tuple[VectorStore, list[NewRecord]]:
    rng = random.Random(seed)
    items = [new(n, rng) for n in range(count)]
    store = await open_store(storage)
    await store.add(items)
    return store, items


async def snapshot(storage: Storage) -> dict[str, bytes]:
    return {e.path: await storage.read(e.path) for e in await storage.list(FOLDER) if not e.is_dir}


async def file_named(storage: Storage, prefix: str) -> str:
    names = sorted(e.path for e in await storage.list(FOLDER) if e.name.startswith(prefix))
    assert names, f"no {prefix} file"
    return names[-1]


def brute_force(
    vectors: dict[int, Sequence[float]], query: Sequence[float], k: int
) -> list[tuple[int, float]]:
    scored = [(sum(a * b for a, b in zip(v, query, strict=True)), i) for i, v in vectors.items()]
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    return [(i, s) for s, i in scored[:k]]


def assert_same_ranking(found: list[tuple[int, float]], expected: list[tuple[int, float]]) -> None:
    """Same ids (recall@k = 1.0), same scores, same order wherever scores differ visibly."""
    assert {i for i, _ in found} == {i for i, _ in expected}
    for (got_id, got), (want_id, want) in zip(found, expected, strict=True):
        assert got == pytest.approx(want, abs=1e-5)
        if got_id != want_id:
            assert abs(got - want) < 1e-5


# --- records ---------------------------------------------------------------------------------


async def test_added_records_come_back_with_all_their_fields(storage: Storage) -> None:
    store = await open_store(storage)
    rng = random.Random(7)
    items = [
        new(0, rng, text="Café, naïve, 日本語 and an emoji 🧠\nsecond line", kind="conversation"),
        new(1, rng, metadata={"lines": [1, 2], "ok": True, "nested": {"x": None}}, kind="file"),
        new(2, rng, text="", source=Source("trace", "chat-1#3", "")),
    ]
    ids = await store.add(items)
    assert ids == [1, 2, 3]
    assert store.count == 3
    for record_id, item in zip(ids, items, strict=True):
        record = await store.get(record_id, with_vectors=True)
        assert (record.id, record.kind, record.text) == (record_id, item.kind, item.text)
        assert (record.metadata, record.created, record.source) == (
            item.metadata,
            item.created,
            item.source,
        )
        assert record.vector is not None
        assert list(record.vector) == pytest.approx(list(item.vector), abs=1e-6)
        assert store.created(record_id) == item.created
    assert (await store.get(1)).vector is None


async def test_records_come_in_the_order_asked_and_skip_unknown_ids(storage: Storage) -> None:
    store, _ = await filled(storage, 6)
    found = await store.records([5, 99, 2, 2, 0])
    assert [r.id for r in found] == [5, 2, 2]
    assert [r.text for r in found] == ["memory number 4", "memory number 1", "memory number 1"]
    with pytest.raises(NotFoundError, match="99"):
        await store.get(99)
    with pytest.raises(NotFoundError):
        store.created(99)


async def test_text_that_is_not_valid_unicode_still_round_trips(storage: Storage) -> None:
    store = await open_store(storage)
    [record_id] = await store.add([new(0, random.Random(1), text="half a pair: \ud83d!")])
    assert (await store.get(record_id)).text == "half a pair: \ud83d!"


async def test_vectors_are_stored_normalised(storage: Storage) -> None:
    store = await open_store(storage)
    [record_id] = await store.add([new(0, random.Random(1), vector=[3.0, 4.0] + [0.0] * 14)])
    record = await store.get(record_id, with_vectors=True)
    assert record.vector is not None
    assert list(record.vector[:3]) == pytest.approx([0.6, 0.8, 0.0])


@pytest.mark.parametrize(
    ("vector", "message"),
    [
        ([0.5] * (DIM - 1), "has 15 values; this memory needs 16"),
        ([math.nan] + [0.1] * (DIM - 1), "NaN or infinite"),
        ([math.inf] + [0.1] * (DIM - 1), "NaN or infinite"),
        ([0.0] * DIM, "all zeros"),
        (["a"] * DIM, "sequence of 16 numbers"),
    ],
)
async def test_bad_vectors_are_refused_and_nothing_is_written(
    storage: Storage, vector: list[Any], message: str
) -> None:
    store, _ = await filled(storage, 2)
    before = await snapshot(storage)
    good = new(5, random.Random(3))
    with pytest.raises(ValueError, match=message):
        await store.add([good, new(6, random.Random(4), vector=vector)])
    with pytest.raises(ValueError, match=message):
        store.search(vector, 3)
    assert await snapshot(storage) == before
    assert store.count == 2
    assert await store.add([good]) == [3]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"metadata": {"when": object()}}, "plain JSON"),
        ({"metadata": {"x": math.nan}}, "plain JSON"),
        ({"metadata": ["not", "a", "dict"]}, "must be a dict"),
        ({"kind": ""}, "needs a kind"),
        ({"text": b"bytes"}, "must be a string"),
        ({"created": math.inf}, "finite"),
    ],
)
async def test_bad_records_are_refused_with_a_clear_message(
    storage: Storage, fields: dict[str, Any], message: str
) -> None:
    store = await open_store(storage)
    with pytest.raises(ValueError, match=message):
        await store.add([new(0, random.Random(1), **fields)])
    assert store.count == 0


# --- search ----------------------------------------------------------------------------------


async def test_search_equals_a_brute_force_reference(storage: Storage) -> None:
    rng = random.Random(42)
    store = await open_store(storage, dim=384)
    items = [new(n, rng, dim=384, kind="a" if n % 3 else "b") for n in range(300)]
    ids = await store.add(items[:150])
    ids += await store.add(items[150:])
    vectors = {i: item.vector for i, item in zip(ids, items, strict=True)}
    deleted = ids[::7]
    await store.delete(deleted)
    live = {i: v for i, v in vectors.items() if i not in deleted}
    kind_b = {i: v for i, v in live.items() if items[i - 1].kind == "b"}
    for _ in range(10):
        query = unit_vector(rng, 384)
        assert_same_ranking(store.search(query, 10), brute_force(live, query, 10))
        where = Filter(kinds=frozenset({"b"}))
        assert_same_ranking(store.search(query, 10, where), brute_force(kind_b, query, 10))


async def test_search_ranks_the_record_itself_first(storage: Storage) -> None:
    store, items = await filled(storage, 30)
    for n in (0, 13, 29):
        best_id, score = store.search(items[n].vector, 1)[0]
        assert best_id == n + 1
        assert score == pytest.approx(1.0, abs=1e-5)


async def test_search_edge_cases(storage: Storage) -> None:
    empty = await open_store(storage)
    assert empty.search(unit_vector(random.Random(1)), 5) == []
    store, items = await filled(storage, 4)
    assert store.search(items[0].vector, 0) == []
    assert len(store.search(items[0].vector, 50)) == 4
    nobody = Filter(kinds=frozenset({"nothing"}))
    assert store.search(items[0].vector, 5, nobody) == []


async def test_the_pure_python_index_gives_the_same_results(storage: Storage) -> None:
    store, items = await filled(storage, 40)
    pure = await open_store(storage, index_factory=PurePythonIndex)
    for n in (0, 11, 39):
        assert_same_ranking(pure.search(items[n].vector, 8), store.search(items[n].vector, 8))


async def test_filters_by_kind_time_and_source(storage: Storage) -> None:
    rng = random.Random(5)
    store = await open_store(storage)
    items = [
        new(0, rng, kind="conversation", source=Source("conversation", "chat-1"), created=100.0),
        new(1, rng, kind="conversation", source=Source("conversation", "chat-2"), created=200.0),
        new(2, rng, kind="file", source=Source("file", "notes/a.md"), created=300.0),
        new(3, rng, kind="file", source=Source("file", "notes/b.md"), created=400.0),
        new(4, rng, kind="execution", source=Source("trace", "chat-1#2"), created=500.0),
    ]
    await store.add(items)
    assert store.ids() == [1, 2, 3, 4, 5]
    assert store.ids(Filter(kinds=frozenset({"file", "execution"}))) == [3, 4, 5]
    assert store.ids(Filter(since=200.0, until=400.0)) == [2, 3]
    assert store.ids(Filter(source_ref="notes/b.md")) == [4]
    assert store.ids(Filter(source_ref="chat-1")) == [1]
    assert store.ids(Filter(source_type="conversation")) == [1, 2]
    assert store.ids(Filter(source_type="file", since=350.0)) == [4]
    assert store.ids(Filter(kinds=frozenset({"file"}), source_ref="chat-1")) == []
    query = items[0].vector
    assert [i for i, _ in store.search(query, 5, Filter(source_type="file"))] in ([3, 4], [4, 3])
    assert store.search(query, 5, Filter(until=150.0))[0][0] == 1


async def test_a_repeated_filter_sees_later_adds_and_deletes(storage: Storage) -> None:
    store, _ = await filled(storage, 5)
    where = Filter(kinds=frozenset({"file"}))
    assert store.ids(where) == []
    [first] = await store.add([new(9, random.Random(9), kind="file")])
    assert store.ids(where) == [first]
    [second] = await store.add([new(10, random.Random(10), kind="file")])
    await store.delete([first])
    assert store.ids(where) == [second]
    assert [i for i, _ in store.search(unit_vector(random.Random(9)), 5, where)] == [second]
    await store.delete([1, 2])
    await store.compact()
    assert store.ids(where) == [second]
    assert store.ids() == [3, 4, 5, second]


# --- deletes and persistence -------------------------------------------------------------------


async def test_records_survive_reopening(storage: Storage) -> None:
    store, items = await filled(storage, 12)
    reopened = await open_store(storage)
    assert reopened.count == 12
    assert reopened.ids() == store.ids()
    assert (await reopened.get(7)).text == "memory number 6"
    assert reopened.search(items[3].vector, 3) == store.search(items[3].vector, 3)
    assert await reopened.add([new(99, random.Random(9))]) == [13]
    assert reopened.size_bytes == sum(e.size for e in await storage.list(FOLDER))


async def test_deletes_hide_records_and_survive_reopening(storage: Storage) -> None:
    store, items = await filled(storage, 10)
    assert await store.delete([2, 5, 5, 99]) == 2
    assert await store.delete([2]) == 0
    assert store.count == 8
    for record_id in (2, 5):
        with pytest.raises(NotFoundError):
            await store.get(record_id)
    assert 2 not in [i for i, _ in store.search(items[1].vector, 10)]
    reopened = await open_store(storage)
    assert reopened.count == 8
    assert reopened.ids() == [1, 3, 4, 6, 7, 8, 9, 10]
    assert await reopened.records([1, 2, 3]) == await store.records([1, 3])


async def test_records_span_several_segments(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "SEGMENT_ROWS", 4)
    store, items = await filled(storage, 6)
    await store.add([new(n, random.Random(n)) for n in range(6, 11)])
    assert len([e for e in await storage.list(FOLDER) if e.name.startswith("vectors-")]) == 3
    reopened = await open_store(storage)
    for n in (0, 4, 5):
        assert reopened.search(items[n].vector, 1)[0][0] == n + 1
    record = await reopened.get(9, with_vectors=True)
    assert record.vector is not None
    assert list(record.vector) == pytest.approx(list(unit_vector(random.Random(8))), abs=1e-6)


async def test_compaction_keeps_results_shrinks_the_store_and_never_reuses_ids(
    storage: Storage,
) -> None:
    store, items = await filled(storage, 40)
    await store.delete(range(20, 41))
    before = [store.search(items[n].vector, 5) for n in (0, 7, 19)]
    size = store.size_bytes
    await store.compact()
    assert store.size_bytes < size * 0.6
    assert store.count == 19
    assert [store.search(items[n].vector, 5) for n in (0, 7, 19)] == before
    names = sorted(e.name for e in await storage.list(FOLDER))
    assert names == ["docs-2.jsonl", "manifest.json", "rows-2.bin", "vectors-2-0.f32"]
    reopened = await open_store(storage)
    assert reopened.ids() == list(range(1, 20))
    assert (await reopened.get(19)).text == "memory number 18"
    assert await reopened.add([new(0, random.Random(1))]) == [41]


async def test_concurrent_adds_reads_and_compaction_stay_consistent(storage: Storage) -> None:
    store, _ = await filled(storage, 10)
    await store.delete([2, 3])

    async def read_while_others_write() -> None:
        for _ in range(30):
            assert [r.id for r in await store.records([1, 4, 10])] == [1, 4, 10]
            assert store.ids()[:3] == [1, 4, 5]
            await asyncio.sleep(0)  # let the writers run

    added: list[int] = []

    async def add(n: int) -> None:
        added.extend(await store.add([new(n, random.Random(n))]))

    await asyncio.gather(store.compact(), read_while_others_write(), *map(add, range(20, 25)))
    assert sorted(added) == [11, 12, 13, 14, 15]
    reopened = await open_store(storage)
    assert reopened.ids() == [1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]
    assert reopened.search(unit_vector(random.Random(22)), 1)[0][0] in (11, 12, 13, 14, 15)


# --- crashes ---------------------------------------------------------------------------------


class Crash(Exception):
    """The page went away."""


class CrashingStorage:
    """Passes calls through until the ``after``-th change, which crashes half-done (an append
    lands half its bytes); every call after that crashes too, as in a dead page."""

    def __init__(self, inner: Storage, after: int) -> None:
        self.inner, self.left, self.crashed = inner, after, False

    def _change(self) -> bool:
        if self.crashed:
            raise Crash
        self.left -= 1
        self.crashed = self.left < 0
        return self.crashed

    def __getattr__(self, name: str) -> Callable[..., Any]:
        return getattr(self.inner, name)  # type: ignore[no-any-return]

    async def append(self, path: str, data: bytes) -> int:
        if self._change():
            await self.inner.append(path, data[: len(data) // 2])
            raise Crash
        return await self.inner.append(path, data)

    async def write(self, path: str, data: bytes) -> None:
        if self._change():
            raise Crash
        await self.inner.write(path, data)

    async def delete(self, path: str) -> None:
        if self._change():
            raise Crash
        await self.inner.delete(path)

    async def truncate(self, path: str, size: int) -> None:
        if self._change():
            raise Crash
        await self.inner.truncate(path, size)


async def test_a_crash_at_any_step_of_an_add_loses_at_most_the_unfinished_records(
    storage: Storage,
) -> None:
    await filled(storage, 5)
    expected = [1, 2, 3, 4, 5]
    for step in range(3):  # the page dies appending the vectors, the docs, the rows
        crashing = await open_store(CrashingStorage(storage, after=step))
        batch = [new(n, random.Random(n)) for n in range(10 * step, 10 * step + 3)]
        with pytest.raises(Crash):
            await crashing.add(batch)
        reopened = await open_store(storage)
        assert reopened.problems == []
        if step == 2:  # half the rows landed: the first record is whole, the second torn
            expected.append(expected[-1] + 1)
        assert reopened.ids() == expected
        for record in await reopened.records(expected, with_vectors=True):
            assert record.vector is not None
            assert reopened.search(record.vector, 1)[0][0] == record.id
    assert await reopened.add([new(50, random.Random(50))]) == [expected[-1] + 1]
    again = await open_store(storage)
    assert again.search(unit_vector(random.Random(50)), 1)[0][0] == expected[-1] + 1
    assert (await again.get(expected[-1] + 1)).text == "memory number 50"


async def test_a_torn_row_tail_loses_at_most_the_unfinished_record(storage: Storage) -> None:
    _store, items = await filled(storage, 5)
    rows = await file_named(storage, "rows-")
    committed = await snapshot(storage)
    size = len(committed[rows])
    await storage.append(rows, b"\x07" * 30)  # half a row of the next record
    reopened = await open_store(storage)
    assert reopened.ids() == [1, 2, 3, 4, 5]
    assert reopened.problems == []
    assert await snapshot(storage) == committed
    await storage.truncate(rows, size - 10)  # the last record's row torn instead
    reopened = await open_store(storage)
    assert reopened.ids() == [1, 2, 3, 4]
    assert reopened.search(items[4].vector, 1)[0][0] != 5
    assert await reopened.add([new(9, random.Random(9))]) == [5]
    again = await open_store(storage)
    assert again.ids() == [1, 2, 3, 4, 5]
    assert (await again.get(5)).text == "memory number 9"


async def test_torn_vector_and_doc_tails_are_cut_off(storage: Storage) -> None:
    _store, _items = await filled(storage, 3)
    committed = await snapshot(storage)
    await storage.append(await file_named(storage, "vectors-"), b"\x01" * (4 * DIM + 5))
    await storage.append(await file_named(storage, "docs-"), b'{"id": 4, "kind": "no')
    reopened = await open_store(storage)
    assert (reopened.ids(), reopened.problems) == ([1, 2, 3], [])
    assert await snapshot(storage) == committed
    [added] = await reopened.add([new(7, random.Random(7))])
    again = await open_store(storage)
    assert again.search(unit_vector(random.Random(7)), 1)[0][0] == added
    assert (await again.get(added)).text == "memory number 7"


async def test_a_crash_at_any_step_of_compaction_keeps_every_live_record(
    storage: Storage,
) -> None:
    store, items = await filled(storage, 12)
    await store.delete([3, 4, 5])
    expected = [store.search(items[n].vector, 4) for n in (0, 8)]
    step = 0
    while True:
        crashing = await open_store(CrashingStorage(storage, after=step))
        try:
            await crashing.compact()
        except Crash:
            reopened = await open_store(storage)
            assert reopened.ids() == [1, 2, 6, 7, 8, 9, 10, 11, 12]
            assert [reopened.search(items[n].vector, 4) for n in (0, 8)] == expected
            names = [e.name for e in await storage.list(FOLDER)]
            generations = {m.group(2) for n in names if (m := store_module._FILE_NAME.match(n))}
            assert len(generations) == 1, f"leftovers of another generation: {names}"
            step += 1
            continue
        break
    assert step >= 4  # vectors, docs, rows, manifest, deletes: each step was interrupted once
    final = await open_store(storage)
    assert final.ids() == [1, 2, 6, 7, 8, 9, 10, 11, 12]
    assert final.size_bytes < store.size_bytes


# --- damage and bad input ----------------------------------------------------------------------


@pytest.mark.parametrize("row", [2, 5])  # one in the middle, the last one
async def test_damaged_vectors_are_left_out_and_listed_and_nothing_is_deleted(
    storage: Storage, row: int
) -> None:
    _store, items = await filled(storage, 6)
    segment = await file_named(storage, "vectors-")
    data = bytearray(await storage.read(segment))
    data[row * 4 * DIM + 5] ^= 0xFF
    await storage.write(segment, bytes(data))
    damaged = await snapshot(storage)
    reopened = await open_store(storage)
    assert len(reopened.problems) == 1
    assert f"records {row + 1} are damaged" in reopened.problems[0]
    assert "vectors-1-0.f32" in reopened.problems[0]
    assert reopened.ids() == [i for i in range(1, 7) if i != row + 1]
    assert row + 1 not in [i for i, _ in reopened.search(items[row].vector, 6)]
    assert reopened.search(items[3 - row % 2].vector, 1)[0][0] == 4 - row % 2
    assert (await reopened.get(1)).text == "memory number 0"
    assert await snapshot(storage) == damaged
    assert await reopened.add([new(9, random.Random(9))]) == [7]
    assert (await open_store(storage)).ids() == [i for i in range(1, 8) if i != row + 1]


async def test_vector_checks_can_wait_until_after_open(storage: Storage) -> None:
    _store, items = await filled(storage, 4)
    segment = await file_named(storage, "vectors-")
    data = bytearray(await storage.read(segment))
    data[4 * DIM + 1] ^= 0x01  # record 2
    await storage.write(segment, bytes(data))
    quick = await open_store(storage, verify_vectors=False)
    assert (quick.problems, quick.count) == ([], 4)
    found = await quick.verify()
    assert len(found) == 1
    assert "records 2 are damaged" in found[0]
    assert quick.problems == found
    assert quick.ids() == [1, 3, 4]
    assert 2 not in [i for i, _ in quick.search(items[1].vector, 4)]
    assert await quick.verify() == []


async def test_a_damaged_row_is_left_out_and_the_rows_after_it_stay(storage: Storage) -> None:
    _store, items = await filled(storage, 5)
    rows = await file_named(storage, "rows-")
    data = bytearray(await storage.read(rows))
    data[store_module.ROW.size + 3] ^= 0x10  # row 2
    await storage.write(rows, bytes(data))
    reopened = await open_store(storage)
    assert reopened.ids() == [1, 3, 4, 5]
    assert "rows-1.bin" in reopened.problems[0]
    assert reopened.search(items[4].vector, 1)[0][0] == 5
    assert await reopened.add([new(8, random.Random(8))]) == [6]


async def test_a_short_segment_keeps_the_records_it_still_has(storage: Storage) -> None:
    _store, _items = await filled(storage, 5)
    segment = await file_named(storage, "vectors-")
    await storage.truncate(segment, 3 * 4 * DIM + 7)  # records 4 and 5 lost their vectors
    reopened = await open_store(storage)
    assert reopened.ids() == [1, 2, 3]
    assert "shorter" in reopened.problems[0]
    [added] = await reopened.add([new(8, random.Random(8))])
    again = await open_store(storage)
    assert again.ids() == [1, 2, 3, added]
    assert again.search(unit_vector(random.Random(8)), 1)[0][0] == added


async def test_a_damaged_text_is_reported_when_read_and_the_rest_stays(storage: Storage) -> None:
    _store, _ = await filled(storage, 4)
    docs = await file_named(storage, "docs-")
    data = await storage.read(docs)
    await storage.write(docs, data.replace(b"memory number 1", b"memory numbe? 1"))
    reopened = await open_store(storage)
    with pytest.raises(StorageError, match="Memory 2 is damaged"):
        await reopened.get(2)
    assert [r.id for r in await reopened.records([1, 2, 3])] == [1, 3]
    assert "memory 2" in reopened.problems[-1]
    assert 2 not in reopened.ids()


async def test_a_damaged_manifest_is_rebuilt_from_the_files(storage: Storage) -> None:
    _store, items = await filled(storage, 4)
    await storage.write(f"{FOLDER}/manifest.json", b'{"format": 1, "generat')
    reopened = await open_store(storage)
    assert "manifest.json was damaged" in reopened.problems[0]
    assert reopened.ids() == [1, 2, 3, 4]
    assert reopened.search(items[2].vector, 1)[0][0] == 3
    assert await reopened.add([new(5, random.Random(5))]) == [5]


async def test_a_store_from_a_newer_version_is_refused_and_left_untouched(
    storage: Storage,
) -> None:
    await filled(storage, 3)
    manifest = await storage.read(f"{FOLDER}/manifest.json")
    await storage.write(f"{FOLDER}/manifest.json", manifest.replace(b'"format": 1', b'"format": 2'))
    await storage.append(await file_named(storage, "rows-"), b"a newer row layout")
    before = await snapshot(storage)
    with pytest.raises(MemoryFormatError, match="newer LLMos") as caught:
        await open_store(storage)
    assert "Nothing was changed" in str(caught.value)
    assert caught.value.code == "memory_format"
    assert await snapshot(storage) == before


async def test_a_full_disk_during_an_add_keeps_the_store_usable() -> None:
    for quota in range(2_000, 9_000, 500):
        storage = MemoryStorage(quota_bytes=quota)
        store = await open_store(storage)
        await store.add([new(n, random.Random(n)) for n in range(3)])
        used = sum(e.size for e in await storage.list(FOLDER))
        with pytest.raises(QuotaError):
            await store.add([new(n, random.Random(n)) for n in range(3, 40)])
        assert sum(e.size for e in await storage.list(FOLDER)) == used, "no torn tails"
        assert store.count == 3
        assert await store.delete([1]) == 1
        reopened = await open_store(storage)
        assert (reopened.ids(), reopened.problems) == ([2, 3], [])
        assert reopened.search(unit_vector(random.Random(2)), 1)[0][0] == 3


async def test_a_batch_costs_one_append_per_file(storage: Storage) -> None:
    calls: list[str] = []

    class Counting:
        def __getattr__(self, name: str) -> Any:
            calls.append(name)
            return getattr(storage, name)

    store = await open_store(Counting())
    calls.clear()
    await store.add([new(n, random.Random(n)) for n in range(500)])
    assert sorted(calls) == ["append", "append", "append"]


def test_entries_of_other_folders_are_not_store_files() -> None:
    assert store_module._FILE_NAME.fullmatch("rows-3.bin")
    assert store_module._FILE_NAME.fullmatch("vectors-3-12.f32")
    assert not store_module._FILE_NAME.fullmatch("notes.md")
    assert Entry("memory/rows-1.bin", False).name == "rows-1.bin"
