"""The persistent vector store: memory records in one folder of a
:class:`~llmos.platform.Storage` (OPFS in the browser, a directory natively: the same files),
append-only and crash-safe, with exact top-k cosine search through a
:class:`~llmos.memory.index.VectorIndex`.

Files of a store (``g`` is the generation ``manifest.json`` names):

``manifest.json``
    ``{"format": 1, "generation": g, "dim", "model", "segment_rows", "next_id"}``; replaced
    atomically, only when the store is created or compacted.
``rows-<g>.bin``
    The record table, one fixed-width :data:`ROW` per record in row order: id, created, hashes
    of the source ref, kind and source type (for filters), where the doc lies and its crc32,
    the vector's crc32, and the row's own crc32. Opening reads this table with ``array``
    casts instead of parsing JSON, so it stays fast at 100k records.
``vectors-<g>-<k>.f32``
    Little-endian float32 vectors; row ``r`` is row ``r % segment_rows`` of segment
    ``k = r // segment_rows``, so a vector's place follows from its row.
``docs-<g>.jsonl``
    One JSON line per record (id, kind, text, metadata, created, source), read only when a
    record is asked for, by the offset and length its row holds.
``deleted-<g>.bin``
    Tombstones: the ids of deleted records, 12 bytes each (id, crc32).

Commit protocol: an ``add`` appends the vectors, then the docs, then the rows (one append per
file per batch); a record exists once its row is complete with a valid checksum. At open,
invalid rows after the last valid one are the torn tail of an interrupted write: they are cut
off, and so are vector and doc bytes past the last committed row, so a crash loses at most the
unfinished batch. An invalid row, vector or missing bytes *between* good ones is damage, not a
crash: the record stays on disk, is left out of search and is described in :attr:`problems`.

Filters compare hashes kept in the rows, never the docs: 64 bits for the source ref (a false
match among 100k refs has odds of about 1e-14, so a ref filter is exact in practice), 32 bits
for the kind and the source type (a handful of values each).

Compaction writes generation ``g + 1`` with the live records only, then the manifest naming
it, then deletes generation ``g``; files of any other generation found at open are leftovers
of an interrupted compaction and are deleted.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import dataclasses
import hashlib
import json
import math
import operator
import re
import struct
import sys
import time
import zlib
from array import array
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from itertools import compress
from typing import Any, TypeVar

from llmos.errors import LlmosError, MemoryFormatError, NotFoundError, StorageError
from llmos.memory.index import VectorIndex, default_index, dot
from llmos.platform import Storage

FORMAT = 1
SEGMENT_ROWS = 8192
ROW = struct.Struct("<QdQQIIIIII")
"""id, created, source-ref hash, doc offset, doc length, vector crc32, doc crc32, kind hash,
source-type hash, row crc32 (of the 52 bytes before it): 56 bytes, seven 8-byte words."""
TOMBSTONE = struct.Struct("<QI")
_ROW_WORDS = ROW.size // 8
_FILE_NAME = re.compile(r"(rows|docs|deleted|vectors)-(\d+)(?:-(\d+))?\.(?:bin|jsonl|f32)")
_MERGE_GAP = 64 * 1024  # neighbouring reads closer than this become one read
_MAX_READ = 4 * 1024 * 1024
_MAX_LISTED = 10
_MANIFEST_KEYS = ("generation", "dim", "model", "segment_rows")
T = TypeVar("T")


@dataclass(frozen=True)
class Source:
    """Where a memory came from, shown with every recalled item."""

    type: str  # "conversation" | "file" | "trace" | "note" | ...
    ref: str  # conversation id / file path / trace id
    title: str = ""


@dataclass(frozen=True)
class Record:
    """One stored memory. ``vector`` is only filled when asked for (``with_vectors=True``)."""

    id: int
    kind: str
    text: str
    metadata: dict[str, Any]
    created: float
    source: Source
    vector: array[float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON-ready data (its doc line; what the panel shows), no vector."""
        source = self.source
        return {
            "id": self.id,
            "kind": self.kind,
            "text": self.text,
            "metadata": self.metadata,
            "created": self.created,
            "source": {"type": source.type, "ref": source.ref, "title": source.title},
        }


@dataclass(frozen=True)
class NewRecord:
    """A memory to add; ``created`` defaults to now (seconds since the epoch)."""

    kind: str
    text: str
    metadata: dict[str, Any]
    source: Source
    vector: Sequence[float]
    created: float | None = None


@dataclass(frozen=True)
class Filter:
    """Which records a search or listing may return; every given condition must hold.
    ``since`` is inclusive, ``until`` exclusive (seconds since the epoch)."""

    kinds: frozenset[str] | None = None
    since: float | None = None
    until: float | None = None
    source_ref: str | None = None
    source_type: str | None = None


def _hash(text: str, size: int) -> int:
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=size).digest()
    return int.from_bytes(digest, "little")


def _native(typecode: str, data: bytes | memoryview) -> array[Any]:
    """Little-endian packed values as an array of this machine's numbers."""
    values = array(typecode)
    values.frombytes(data)
    if sys.byteorder != "little":
        values.byteswap()
    return values


def _listed(ids: Iterable[int]) -> str:
    ids = list(ids)
    shown = ", ".join(str(i) for i in ids[:_MAX_LISTED])
    return shown + (f" and {len(ids) - _MAX_LISTED} more" if len(ids) > _MAX_LISTED else "")


@dataclass
class _Columns:
    """The row table in memory, one array per field (row ``r`` is index ``r`` of each)."""

    ids: array[int] = field(default_factory=lambda: array("Q"))
    created: array[float] = field(default_factory=lambda: array("d"))
    ref_hash: array[int] = field(default_factory=lambda: array("Q"))
    doc_offset: array[int] = field(default_factory=lambda: array("Q"))
    doc_length: array[int] = field(default_factory=lambda: array("I"))
    vector_crc: array[int] = field(default_factory=lambda: array("I"))
    doc_crc: array[int] = field(default_factory=lambda: array("I"))
    kind_hash: array[int] = field(default_factory=lambda: array("I"))
    type_hash: array[int] = field(default_factory=lambda: array("I"))

    def extend(self, rows: bytes | memoryview) -> None:
        """Append whole packed rows (their checksums are checked elsewhere)."""
        words, halves = _native("Q", rows), _native("I", rows)
        self.ids.extend(words[0::_ROW_WORDS])
        self.created.extend(_native("d", rows)[1::_ROW_WORDS])
        self.ref_hash.extend(words[2::_ROW_WORDS])
        self.doc_offset.extend(words[3::_ROW_WORDS])
        for column, start in (
            (self.doc_length, 8),
            (self.vector_crc, 9),
            (self.doc_crc, 10),
            (self.kind_hash, 11),
            (self.type_hash, 12),
        ):
            column.extend(halves[start :: 2 * _ROW_WORDS])

    def __len__(self) -> int:
        return len(self.ids)


class _ReadAhead:
    """Reads files in order, one read ahead of the consumer, so storage works (off-thread in
    the browser) while Python checks the previous file; at most two files are held at once."""

    def __init__(self, read: Callable[[str], Awaitable[bytes]], names: list[str]) -> None:
        self._read, self._names = read, names
        self._pending: asyncio.Future[bytes] | None = None

    def _start(self) -> None:
        if self._names:
            self._pending = asyncio.ensure_future(self._read(self._names.pop(0)))

    async def next(self) -> bytes:
        if self._pending is None:
            self._start()
        assert self._pending is not None, "read past the last file"
        current, self._pending = self._pending, None
        self._start()
        return await current

    async def __aenter__(self) -> _ReadAhead:
        return self

    async def __aexit__(self, *error: object) -> None:
        if self._pending is not None:
            self._pending.cancel()
            with contextlib.suppress(BaseException):
                await self._pending


@dataclass
class _Prepared:
    vector: bytes
    doc: bytes
    record: NewRecord
    created: float


class VectorStore:
    """Records with vectors in one storage folder. Open it with :meth:`open`.

    ``count`` is the number of live records, ``size_bytes`` the bytes its files take, ``model``
    and ``dim`` those the store was created with (a caller with another embedding model must
    re-embed), ``problems`` readable descriptions of damage found (those records are left out).
    """

    def __init__(
        self,
        storage: Storage,
        folder: str,
        manifest: dict[str, Any],
        index_factory: Callable[[int], VectorIndex],
    ) -> None:
        self._storage = storage
        self._folder = folder
        self._manifest = manifest
        self._index_factory = index_factory
        self._lock = asyncio.Lock()
        self._readers = 0  # record reads in flight (compaction deletes old files after them)
        self._no_readers = asyncio.Event()
        self._no_readers.set()
        self.problems: list[str] = []
        self._index = self._index_factory(self.dim)
        self._columns = _Columns()
        self._live = bytearray()  # 1 per row that is neither deleted nor damaged
        self._damaged: set[int] = set()
        self._sizes: dict[str, int] = {}  # file name -> bytes, for every file of this generation
        self._next_id = int(self._manifest.get("next_id", 1))
        self._last_mask: tuple[object, bytes] = (None, b"")
        self._verify_on_load = True
        self._dirty = False  # a write failed: file tails may not match the rows

    # --- opening -------------------------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        storage: Storage,
        folder: str,
        *,
        dim: int,
        model: str,
        index_factory: Callable[[int], VectorIndex] | None = None,
        verify_vectors: bool = True,
    ) -> VectorStore:
        """Open the store in ``folder``, creating it (for ``dim``/``model``) when missing.

        Recovers from an interrupted write or compaction. Raises :class:`MemoryFormatError`,
        touching nothing, when a newer LLMos wrote the store. Checking every vector's crc32 is
        about a quarter of the open time at 100k records in Pyodide: ``verify_vectors=False``
        skips it (sizes and row checksums are still checked) for :meth:`verify` to do later.
        """
        manifest, problem = await _read_manifest(storage, folder)
        if manifest is None:
            manifest = await _create(
                storage, folder, dim, model, await _highest_generation(storage, folder)
            )
        store = cls(storage, folder, manifest, index_factory or default_index)
        store._verify_on_load = verify_vectors
        if problem:
            store.problems.append(problem)
        await store._remove_other_generations()
        await store._load()
        return store

    @property
    def dim(self) -> int:
        return int(self._manifest["dim"])

    @property
    def model(self) -> str:
        return str(self._manifest["model"])

    @property
    def generation(self) -> int:
        return int(self._manifest["generation"])

    @property
    def count(self) -> int:
        return self._live.count(1)

    @property
    def rows(self) -> int:
        """Records on disk, deleted and damaged ones included (compaction drops those)."""
        return len(self._live)

    @property
    def size_bytes(self) -> int:
        return sum(self._sizes.values())

    def _path(self, name: str) -> str:
        return f"{self._folder}/{name}" if self._folder else name

    def _name(self, kind: str, segment: int | None = None, generation: int | None = None) -> str:
        gen = self.generation if generation is None else generation
        if kind == "vectors":
            return f"vectors-{gen}-{segment}.f32"
        return f"{kind}-{gen}.{'jsonl' if kind == 'docs' else 'bin'}"

    @property
    def _segment_rows(self) -> int:
        return int(self._manifest["segment_rows"])

    def _generation_of(self, name: str) -> int | None:
        match = _FILE_NAME.fullmatch(name)
        return int(match.group(2)) if match else None

    async def _load(self) -> None:
        files = {e.name: e.size for e in await self._storage.list(self._folder) if not e.is_dir}
        self._sizes = {
            name: size
            for name, size in files.items()
            if name == "manifest.json" or self._generation_of(name) == self.generation
        }
        rows = await self._read_if_present(self._name("rows"))
        committed = await self._load_rows(rows)
        await self._load_vectors(committed)
        await self._check_docs()
        await self._load_tombstones()

    async def _remove_other_generations(self) -> None:
        """Delete what an interrupted compaction left: files of any generation but this one."""
        for entry in await self._storage.list(self._folder):
            generation = self._generation_of(entry.name)
            if generation is not None and generation != self.generation:
                await self._storage.delete(self._path(entry.name))

    async def _read_if_present(self, name: str) -> bytes:
        if name not in self._sizes:
            return b""
        return await self._storage.read(self._path(name))

    async def _load_rows(self, data: bytes) -> int:
        """Parse the row table, cut a torn tail off; returns the number of committed rows."""
        view = memoryview(data)[: len(data) - len(data) % ROW.size]
        crcs = _native("I", view)[2 * _ROW_WORDS - 1 :: 2 * _ROW_WORDS]
        size, body = ROW.size, ROW.size - 4
        valid = [zlib.crc32(view[r * size : r * size + body]) == crcs[r] for r in range(len(crcs))]
        committed = len(valid)
        while committed and not valid[committed - 1]:
            committed -= 1
        if len(data) > committed * size:
            await self._cut(self._name("rows"), committed * size)
        self._columns.extend(view[: committed * size])
        self._live = bytearray(valid[:committed])
        bad = [r for r in range(committed) if not valid[r]]
        self._check_id_order(committed)
        if bad:
            self._mark_damaged(bad)
            self.problems.append(
                f"{self._name('rows')}: {len(bad)} damaged rows (rows {_listed(bad)}) fail "
                "their checksum; those records are left out of search."
            )
        return committed

    def _check_id_order(self, committed: int) -> None:
        """Ids grow with the row; a valid row out of order is damaged too. Damaged rows take
        their predecessor's id, so ids stay sorted for :func:`bisect` (the live one wins)."""
        ids, previous, out_of_order = self._columns.ids, 0, []
        in_order = committed and ids[0] > 0 and all(map(operator.lt, ids, ids[1:]))
        if in_order and 0 not in self._live:  # the usual case: nothing to fix, no Python loop
            self._next_id = max(self._next_id, ids[-1] + 1)
            return
        for row in range(committed):
            if self._live[row] and ids[row] > previous:
                previous = ids[row]
                continue
            if self._live[row]:
                out_of_order.append(row)
            ids[row] = previous
        if out_of_order:
            self._mark_damaged(out_of_order)
            self.problems.append(
                f"{self._name('rows')}: rows {_listed(out_of_order)} repeat or reorder record "
                "ids; those records are left out of search."
            )
        self._next_id = max(self._next_id, previous + 1)

    def _mark_damaged(self, rows: Iterable[int]) -> None:
        for row in rows:
            self._damaged.add(row)
            self._live[row] = 0

    async def _cut(self, name: str, size: int) -> None:
        await self._storage.truncate(self._path(name), size)
        self._sizes[name] = size

    async def _load_vectors(self, committed: int) -> None:
        segments = -(-committed // self._segment_rows)
        for name in [n for n in self._sizes if n.startswith("vectors-")]:
            match = _FILE_NAME.fullmatch(name)
            if match and int(match.group(3)) >= segments:
                await self._storage.delete(self._path(name))  # only an unfinished add wrote it
                del self._sizes[name]
        if await self._load_vectors_directly(segments, committed):
            return
        reads = _ReadAhead(
            self._read_if_present, [self._name("vectors", k) for k in range(segments)]
        )
        async with reads:
            for segment in range(segments):
                await self._add_segment(segment, committed, await reads.next())

    async def _load_vectors_directly(self, segments: int, committed: int) -> bool:
        """Let an index that reads files itself (the browser's: OPFS straight into WebAssembly
        memory, ~150 MB at 100k records that never pass through Python) load whole, intact
        segments. Only when checksums are checked later (:meth:`verify`)."""
        add_file = getattr(self._index, "add_file", None)
        if add_file is None or self._verify_on_load:
            return False
        per, row_bytes = self._segment_rows, 4 * self.dim
        sizes = [min(per, committed - k * per) * row_bytes for k in range(segments)]
        names = [self._name("vectors", k) for k in range(segments)]
        if any(self._sizes.get(n) != size for n, size in zip(names, sizes, strict=True)):
            return False  # a torn or short segment: the careful path below handles it
        for name, size in zip(names, sizes, strict=True):
            await add_file(self._storage, self._path(name), size)
        return True

    async def _add_segment(self, segment: int, committed: int, data: bytes) -> None:
        """Check one segment's vectors (cut an unfinished tail) and hand them to the index."""
        per, row_bytes = self._segment_rows, 4 * self.dim
        segments = -(-committed // per)
        first = segment * per
        rows = min(per, committed - first)
        expected = rows * row_bytes
        if len(data) > expected and segment == segments - 1:
            await self._cut(self._name("vectors", segment), expected)
        present = min(rows, len(data) // row_bytes)
        if self._verify_on_load:
            self._verify_vectors(data, first, present)
        if present < rows:
            self._report_missing(segment, range(first + present, first + rows))
        if len(data) != expected:  # cut, or padded where vectors are missing
            data = data[: present * row_bytes] + bytes((rows - present) * row_bytes)
        self._index.add(data)

    async def verify(self) -> list[str]:
        """Check every stored vector against its crc32 (what ``open`` skips with
        ``verify_vectors=False``); damaged records leave search. Returns the new problems."""
        async with self._lock:
            known = len(self.problems)
            per, row_bytes, rows = self._segment_rows, 4 * self.dim, len(self._columns)
            segments = -(-rows // per)
            names = [self._name("vectors", k) for k in range(segments)]
            async with _ReadAhead(self._read_if_present, names) as reads:
                for segment in range(segments):
                    data = await reads.next()
                    present = min(per, rows - segment * per, len(data) // row_bytes)
                    self._verify_vectors(data, segment * per, present)
            return self.problems[known:]

    def _verify_vectors(self, data: bytes, first: int, present: int) -> None:
        view, size = memoryview(data), 4 * self.dim
        found = [zlib.crc32(view[i * size : i * size + size]) for i in range(present)]
        stored = self._columns.vector_crc[first : first + present]
        if array("I", found) == stored:
            return
        bad = [
            first + i
            for i in range(present)
            if found[i] != stored[i] and first + i not in self._damaged
        ]
        if bad:
            self._mark_damaged(bad)
            ids = (self._columns.ids[r] for r in bad)
            self.problems.append(
                f"{self._name('vectors', first // self._segment_rows)}: the vectors of records "
                f"{_listed(ids)} are damaged; those records are left out of search."
            )

    def _report_missing(self, segment: int, rows: range) -> None:
        self._mark_damaged(rows)
        self.problems.append(
            f"{self._name('vectors', segment)} is shorter than its rows: the vectors of "
            f"{len(rows)} records are missing; those records are left out of search."
        )

    async def _check_docs(self) -> None:
        """Cut doc bytes written after the last committed row (whose row checksum holds, so its
        doc offset can be trusted); rows whose doc lies past the end of the file are damaged."""
        cols, name = self._columns, self._name("docs")
        size = self._sizes.get(name, 0)
        last = len(cols) - 1
        end = 0 if last < 0 else cols.doc_offset[last] + cols.doc_length[last] + 1
        if size > end:
            await self._cut(name, end)
        elif size < end:
            good = (r for r in range(len(cols)) if r not in self._damaged)
            missing = [r for r in good if cols.doc_offset[r] + cols.doc_length[r] + 1 > size]
            self._mark_damaged(missing)
            self.problems.append(
                f"{name} is shorter than its rows: the text of {len(missing)} records is "
                "missing; those records are left out of search."
            )

    async def _load_tombstones(self) -> None:
        name = self._name("deleted")
        data = await self._read_if_present(name)
        size = TOMBSTONE.size
        entries = [TOMBSTONE.unpack_from(data, at) for at in range(0, len(data) - size + 1, size)]
        valid = [zlib.crc32(struct.pack("<Q", i)) == crc for i, crc in entries]
        kept = max((n + 1 for n, ok in enumerate(valid) if ok), default=0)
        if len(data) > kept * size:
            await self._cut(name, kept * size)
        for (record_id, _), ok in zip(entries[:kept], valid, strict=False):
            row = self._row(record_id) if ok else None
            if row is not None:
                self._live[row] = 0
        if not all(valid[:kept]):
            self.problems.append(
                f"{name}: {valid[:kept].count(False)} damaged deletions; records deleted "
                "there may show up again."
            )

    # --- lookups -------------------------------------------------------------------------------

    def _row(self, record_id: int) -> int | None:
        """The row of a live record, or None."""
        ids = self._columns.ids
        row = bisect.bisect_left(ids, record_id)
        if row < len(ids) and ids[row] == record_id and self._live[row]:
            return row
        return None

    def _live_row(self, record_id: int) -> int:
        row = self._row(record_id)
        if row is None:
            raise NotFoundError(f"There is no memory {record_id}.")
        return row

    def created(self, record_id: int) -> float:
        """When a live record was created; NotFoundError if unknown or deleted."""
        return self._columns.created[self._live_row(record_id)]

    def _mask(self, where: Filter | None) -> bytes | bytearray:
        """1 per row that is live and passes ``where``; the last one is kept until the rows
        change, since recall asks with the same filter again and again."""
        if where is None or where == Filter():
            return self._live
        # Within a generation rows are only added or taken out, so these pin the row state.
        key = (where, len(self._live), self._live.count(1), self.generation)
        if self._last_mask[0] != key:
            self._last_mask = (key, self._filtered(where))
        return self._last_mask[1]

    def _filtered(self, where: Filter) -> bytes:
        """Masks of each condition ANDed as big integers."""
        cols, count = self._columns, len(self._live)
        masks: list[bytes | bytearray] = [self._live]
        if where.kinds is not None:
            wanted = frozenset(_hash(kind, 4) for kind in where.kinds)
            masks.append(bytes(map(wanted.__contains__, cols.kind_hash)))
        if where.since is not None:
            masks.append(bytes(map(float(where.since).__le__, cols.created)))
        if where.until is not None:
            masks.append(bytes(map(float(where.until).__gt__, cols.created)))
        if where.source_ref is not None:
            masks.append(bytes(map(_hash(where.source_ref, 8).__eq__, cols.ref_hash)))
        if where.source_type is not None:
            masks.append(bytes(map(_hash(where.source_type, 4).__eq__, cols.type_hash)))
        combined = int.from_bytes(masks[0], "little")
        for mask in masks[1:]:
            combined &= int.from_bytes(mask, "little")
        return combined.to_bytes(count, "little")

    def ids(self, where: Filter | None = None) -> list[int]:
        """Ids of the live records that pass ``where``, oldest first."""
        return list(compress(self._columns.ids, self._mask(where)))

    def search(
        self, query: Sequence[float], k: int, where: Filter | None = None
    ) -> list[tuple[int, float]]:
        """The ``k`` live records most similar to ``query`` (cosine), best first, as
        ``(id, score)``; exact, not approximate. ValueError for a malformed query."""
        vector = self._check_vector(query, "The query")
        mask = self._mask(where)
        everything = mask is self._live and self.count == len(mask)
        allowed = None if everything else mask
        hits = self._index.search(vector, k, allowed)
        return [(self._columns.ids[row], score) for row, score in hits]

    # --- reading records -----------------------------------------------------------------------

    async def get(self, record_id: int, *, with_vectors: bool = False) -> Record:
        """One live record; NotFoundError if unknown or deleted, StorageError if its text is
        damaged on disk."""
        row = self._live_row(record_id)
        found = await self._read_records([row], with_vectors)
        if not found:
            raise StorageError(f"Memory {record_id} is damaged on disk: {self.problems[-1]}")
        return found[0]

    async def records(self, ids: Iterable[int], *, with_vectors: bool = False) -> list[Record]:
        """The live records among ``ids``, in the order given; unknown, deleted and damaged
        ones are left out (damage is added to :attr:`problems`). Reads are batched."""
        rows = [row for row in map(self._row, ids) if row is not None]
        return await self._read_records(rows, with_vectors)

    async def _read_records(self, rows: list[int], with_vectors: bool) -> list[Record]:
        # A compaction may swap in the next generation while this awaits: keep reading the
        # columns and files these rows belong to (compaction deletes them only after readers).
        cols, gen = self._columns, self.generation
        self._readers += 1
        self._no_readers.clear()
        try:
            spans = [(cols.doc_offset[r], cols.doc_length[r]) for r in rows]
            docs = await self._read_spans(self._name("docs", generation=gen), spans)
            parsed = [(r, self._parse_doc(cols, r, doc)) for r, doc in zip(rows, docs, strict=True)]
            kept = [(row, record) for row, record in parsed if record is not None]
            if not with_vectors or not kept:
                return [record for _, record in kept]
            vectors = await self._vectors_of([row for row, _ in kept], gen)
            return [
                dataclasses.replace(record, vector=_native("f", vector))
                for (_, record), vector in zip(kept, vectors, strict=True)
            ]
        finally:
            self._readers -= 1
            if not self._readers:
                self._no_readers.set()

    def _parse_doc(self, cols: _Columns, row: int, doc: bytes) -> Record | None:
        try:
            if not _doc_intact(cols, row, doc):
                raise ValueError("checksum mismatch")
            data = json.loads(doc)
            source = data["source"]
            record = Record(
                id=int(data["id"]),
                kind=str(data["kind"]),
                text=str(data["text"]),
                metadata=dict(data["metadata"]),
                created=float(data["created"]),
                source=Source(str(source["type"]), str(source["ref"]), str(source["title"])),
            )
            if record.id != cols.ids[row]:
                raise ValueError(f"it holds memory {record.id}")
        except (ValueError, KeyError, TypeError) as error:
            if cols is self._columns:
                self._mark_damaged([row])
            self.problems.append(
                f"{self._name('docs')}: the text of memory {cols.ids[row]} is damaged "
                f"({error}); it is left out from now on."
            )
            return None
        return record

    async def _vectors_of(self, rows: list[int], generation: int) -> list[bytes]:
        """The packed vectors of ``rows``, read in as few reads as the segments allow."""
        per, size = self._segment_rows, 4 * self.dim
        by_segment: dict[int, list[int]] = {}
        for n, row in enumerate(rows):
            by_segment.setdefault(row // per, []).append(n)
        vectors: list[bytes] = [b""] * len(rows)
        for segment, members in by_segment.items():
            spans = [((rows[n] % per) * size, size) for n in members]
            name = self._name("vectors", segment, generation)
            for n, data in zip(members, await self._read_spans(name, spans), strict=True):
                vectors[n] = data
        return vectors

    async def _read_spans(self, name: str, spans: list[tuple[int, int]]) -> list[bytes]:
        """Read ``(offset, length)`` spans of one file, merging near neighbours into one read."""
        found: list[bytes] = [b""] * len(spans)
        groups: list[list[int]] = []
        start = end = 0
        for n in sorted(range(len(spans)), key=lambda n: spans[n][0]):
            offset, length = spans[n]
            if groups and offset - end <= _MERGE_GAP and offset + length - start <= _MAX_READ:
                groups[-1].append(n)
                end = max(end, offset + length)
            else:
                groups.append([n])
                start, end = offset, offset + length
        for group in groups:
            start = spans[group[0]][0]
            end = max(spans[m][0] + spans[m][1] for m in group)
            data = await self._storage.read_range(self._path(name), start, end - start)
            for m in group:
                offset, length = spans[m]
                found[m] = data[offset - start : offset - start + length]
        return found

    # --- writing -------------------------------------------------------------------------------

    def _check_vector(self, values: Sequence[float], what: str) -> array[float]:
        """A float32 copy of ``values``, L2-normalised; ValueError unless it has ``dim`` finite
        values that are not all zero."""
        vector = values if isinstance(values, array) and values.typecode == "f" else None
        if vector is None:
            try:
                vector = array("f", values)
            except (TypeError, OverflowError) as error:
                raise ValueError(f"{what} must be a sequence of {self.dim} numbers.") from error
        if len(vector) != self.dim:
            raise ValueError(f"{what} has {len(vector)} values; this memory needs {self.dim}.")
        square = dot(vector, vector)
        if not math.isfinite(square):
            raise ValueError(f"{what} contains NaN or infinite values.")
        if square == 0:
            raise ValueError(f"{what} is all zeros, so it has no direction to compare.")
        if abs(square - 1) > 1e-4:
            norm = math.sqrt(square)
            vector = array("f", (x / norm for x in vector))
        return vector

    def _prepare(self, record_id: int, item: NewRecord) -> _Prepared:
        if not isinstance(item.kind, str) or not item.kind:
            raise ValueError("A memory needs a kind (a non-empty string).")
        if not isinstance(item.text, str):
            raise ValueError(f"A memory's text must be a string, not {type(item.text).__name__}.")
        if not isinstance(item.metadata, dict):
            raise ValueError("A memory's metadata must be a dict.")
        if not isinstance(item.source, Source):
            raise ValueError("A memory needs a Source (type, ref, title).")
        created = time.time() if item.created is None else float(item.created)
        if not math.isfinite(created):
            raise ValueError("A memory's created time must be a finite number.")
        vector = self._check_vector(item.vector, f"The vector of memory '{item.text[:40]}'")
        record = Record(record_id, item.kind, item.text, item.metadata, created, item.source)
        return _Prepared(_packed(vector), _encode(record.to_dict()), item, created)

    def _pack_row(self, row_id: int, item: _Prepared, doc_offset: int) -> bytes:
        source = item.record.source
        return _row_bytes(
            row_id,
            item.created,
            _hash(source.ref, 8),
            doc_offset,
            len(item.doc),
            zlib.crc32(item.vector),
            zlib.crc32(item.doc),
            _hash(item.record.kind, 4),
            _hash(source.type, 4),
        )

    async def add(self, items: Sequence[NewRecord]) -> list[int]:
        """Store new records; returns their ids. Every item is checked before anything is
        written (ValueError names the problem); the batch costs one append per file touched.
        On QuotaError or StorageError the records not committed are rolled back."""
        async with self._lock:
            first_id = self._next_id
            prepared = [self._prepare(first_id + n, item) for n, item in enumerate(items)]
            if not prepared:
                return []
            rows = await self._guarded(self._append_batch(first_id, prepared))
            self._commit(rows, b"".join(p.vector for p in prepared))
            self._next_id = first_id + len(prepared)
            return list(range(first_id, self._next_id))

    async def _append_batch(self, first_id: int, prepared: list[_Prepared]) -> bytes:
        first_row = len(self._columns)
        await self._append_vectors(first_row, [p.vector for p in prepared])
        docs_name = self._name("docs")
        offset = await self._append(docs_name, b"".join(p.doc + b"\n" for p in prepared))
        rows = []
        for n, item in enumerate(prepared):
            rows.append(self._pack_row(first_id + n, item, offset))
            offset += len(item.doc) + 1
        packed = b"".join(rows)
        await self._append(self._name("rows"), packed)
        return packed

    async def _append(self, name: str, data: bytes) -> int:
        offset = await self._storage.append(self._path(name), data)
        self._sizes[name] = offset + len(data)
        return offset

    async def _append_vectors(self, first_row: int, vectors: list[bytes]) -> None:
        per, size = self._segment_rows, 4 * self.dim
        row = first_row
        while row < first_row + len(vectors):
            segment = row // per
            end = min((segment + 1) * per, first_row + len(vectors))
            name = self._name("vectors", segment)
            expected = (row - segment * per) * size
            have = self._sizes.get(name, 0)
            padding = bytes(max(0, expected - have))  # a damaged, short segment keeps its places
            offset = await self._append(
                name, padding + b"".join(vectors[row - first_row : end - first_row])
            )
            if offset + len(padding) != expected:
                raise StorageError(f"{name} changed under the memory store; reopen it.")
            row = end

    def _commit(self, rows: bytes, vectors: bytes) -> None:
        count = len(rows) // ROW.size
        self._columns.extend(rows)
        self._live.extend(b"\x01" * count)
        self._index.add(vectors)

    async def _guarded(self, writes: Awaitable[T]) -> T:
        """Run appends; if they fail, cut the files back to their committed sizes (now, or
        before the next write if that fails too) and re-raise."""
        await self._recover_if_dirty()
        committed = dict(self._sizes)
        self._dirty = True
        try:
            result = await writes
        except BaseException:
            self._sizes = committed
            with contextlib.suppress(LlmosError):
                await self._recover_if_dirty()
            raise
        self._dirty = False
        return result

    async def _recover_if_dirty(self) -> None:
        """After a failed write, cut every file back to what the committed rows account for."""
        if not self._dirty:
            return
        files = {e.name: e.size for e in await self._storage.list(self._folder) if not e.is_dir}
        for name, size in files.items():
            if self._generation_of(name) != self.generation:
                continue
            if name not in self._sizes:
                await self._storage.delete(self._path(name))
            elif size > self._sizes[name]:
                await self._storage.truncate(self._path(name), self._sizes[name])
            else:
                self._sizes[name] = size
        self._dirty = False

    async def delete(self, ids: Iterable[int]) -> int:
        """Delete live records (a tombstone each, one append); returns how many were deleted."""
        async with self._lock:
            rows = {row for row in map(self._row, ids) if row is not None}
            if not rows:
                return 0
            stones = b"".join(
                TOMBSTONE.pack(i, zlib.crc32(struct.pack("<Q", i)))
                for i in sorted(self._columns.ids[row] for row in rows)
            )
            await self._guarded(self._append(self._name("deleted"), stones))
            for row in rows:
                self._live[row] = 0
            return len(rows)

    # --- compaction ----------------------------------------------------------------------------

    async def compact(self) -> None:
        """Rewrite the store with its live records only (deleted and damaged ones go), as the
        next generation; crash-safe at every step. Afterwards :attr:`problems` is empty.
        Records are copied as bytes (their ids stay), nothing is parsed or re-encoded."""
        async with self._lock:
            await self._recover_if_dirty()
            cols = self._columns
            rows = [row for row in range(len(self._live)) if self._live[row]]
            spans = [(cols.doc_offset[r], cols.doc_length[r]) for r in rows]
            docs = await self._read_spans(self._name("docs"), spans)
            intact = [_doc_intact(cols, r, doc) for r, doc in zip(rows, docs, strict=True)]
            rows = list(compress(rows, intact))
            docs = list(compress(docs, intact))
            vectors = await self._vectors_of(rows, self.generation)
            manifest = {**self._manifest, "generation": self.generation + 1}
            manifest["next_id"] = self._next_id
            new = VectorStore(self._storage, self._folder, manifest, self._index_factory)
            try:
                await new._write_generation(cols, rows, docs, vectors)
            except BaseException:
                with contextlib.suppress(LlmosError):
                    await new._remove_written()
                raise
            await self._storage.write(self._path("manifest.json"), _manifest_bytes(manifest))
            await new._load()
            self._adopt(new)
            await self._no_readers.wait()  # reads begun before the swap still use the old files
            await self._remove_other_generations()

    def _adopt(self, other: VectorStore) -> None:
        """Take over another store object's state at once (no await: readers see one or the
        other, never a mix)."""
        self._manifest, self.problems = other._manifest, other.problems
        self._index, self._columns, self._live = other._index, other._columns, other._live
        self._damaged, self._sizes, self._next_id = other._damaged, other._sizes, other._next_id

    async def _remove_written(self) -> None:
        for entry in await self._storage.list(self._folder):
            if self._generation_of(entry.name) == self.generation:
                await self._storage.delete(entry.path)

    async def _write_generation(
        self, cols: _Columns, rows: list[int], docs: list[bytes], vectors: list[bytes]
    ) -> None:
        """Write this (new, empty) generation's files, one write each: the given rows of
        ``cols`` with their docs and vectors, renumbered from row 0."""
        table, offset = [], 0
        for row, doc in zip(rows, docs, strict=True):
            table.append(
                _row_bytes(
                    cols.ids[row],
                    cols.created[row],
                    cols.ref_hash[row],
                    offset,
                    cols.doc_length[row],
                    cols.vector_crc[row],
                    cols.doc_crc[row],
                    cols.kind_hash[row],
                    cols.type_hash[row],
                )
            )
            offset += len(doc) + 1
        per = self._segment_rows
        for segment in range(-(-len(rows) // per)):
            chunk = b"".join(vectors[segment * per : (segment + 1) * per])
            await self._storage.write(self._path(self._name("vectors", segment)), chunk)
        await self._storage.write(self._path(self._name("docs")), b"".join(d + b"\n" for d in docs))
        await self._storage.write(self._path(self._name("rows")), b"".join(table))


def _doc_intact(cols: _Columns, row: int, doc: bytes) -> bool:
    return len(doc) == cols.doc_length[row] and zlib.crc32(doc) == cols.doc_crc[row]


def _row_bytes(*fields: float) -> bytes:
    """One row of the table: the fields of :data:`ROW` before its checksum, then the checksum."""
    body = ROW.pack(*fields, 0)[:-4]
    return body + struct.pack("<I", zlib.crc32(body))


def _packed(vector: array[float]) -> bytes:
    if sys.byteorder != "little":
        vector = array("f", vector)
        vector.byteswap()
    return vector.tobytes()


def _encode(doc: dict[str, Any]) -> bytes:
    """One JSON line, UTF-8 (text with lone surrogates falls back to \\u escapes)."""
    try:
        text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"A memory's metadata must be plain JSON data: {error}.") from error
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(doc, separators=(",", ":"), allow_nan=False).encode("ascii")


def _manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, indent=1, sort_keys=True).encode("utf-8") + b"\n"


async def _read_manifest(storage: Storage, folder: str) -> tuple[dict[str, Any] | None, str]:
    """The manifest, or None when missing or unreadable (then with a problem to report)."""
    path = f"{folder}/manifest.json" if folder else "manifest.json"
    try:
        data = await storage.read(path)
    except NotFoundError:
        return None, ""
    damaged = f"{path} was damaged; it was rebuilt from the files found."
    try:
        manifest = json.loads(data)
        version = int(manifest["format"])
    except (ValueError, KeyError, TypeError):
        return None, damaged
    if version > FORMAT:
        raise MemoryFormatError(
            f"The memory in '{folder}' was written by a newer LLMos (format {version}; this one "
            f"reads format {FORMAT}). Nothing was changed: update LLMos to use it."
        )
    if any(key not in manifest for key in _MANIFEST_KEYS):
        return None, damaged
    return manifest, ""


async def _highest_generation(storage: Storage, folder: str) -> int:
    if await storage.stat(folder) is None:
        return 1
    generations = [
        int(match.group(2))
        for entry in await storage.list(folder)
        if (match := _FILE_NAME.fullmatch(entry.name)) and match.group(1) == "rows"
    ]
    return max(generations, default=1)


async def _create(
    storage: Storage, folder: str, dim: int, model: str, generation: int
) -> dict[str, Any]:
    manifest = {
        "format": FORMAT,
        "generation": generation,
        "dim": dim,
        "model": model,
        "segment_rows": SEGMENT_ROWS,
        "next_id": 1,
    }
    if folder:
        await storage.mkdir(folder)
    await storage.write(
        f"{folder}/manifest.json" if folder else "manifest.json", _manifest_bytes(manifest)
    )
    return manifest
