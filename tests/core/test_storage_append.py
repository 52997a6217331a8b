"""The append-only part of the Storage protocol (append, read_range, truncate), on every
backend: memory, directory, and OPFS and IndexedDB inside Pyodide."""

from __future__ import annotations

import asyncio
import errno
import os
from pathlib import Path
from typing import Any

import pytest
from llmos.errors import NotFoundError, QuotaError
from llmos.platform import Storage
from llmos.platform.memory import MemoryStorage
from llmos.platform.native import DirectoryStorage


async def test_append_creates_the_file_and_returns_where_each_piece_starts(
    storage: Storage,
) -> None:
    assert await storage.append("log.bin", b"first") == 0
    assert await storage.append("log.bin", b"-second") == 5
    assert await storage.append("log.bin", b"") == 12
    assert await storage.read("log.bin") == b"first-second"
    entry = await storage.stat("log.bin")
    assert entry is not None
    assert entry.size == 12


async def test_append_continues_a_written_file_in_a_folder(storage: Storage) -> None:
    await storage.mkdir("logs")
    await storage.write("logs/a.bin", bytes(range(256)))
    assert await storage.append("logs/a.bin", b"\x00\xff") == 256
    assert await storage.read("logs/a.bin") == bytes(range(256)) + b"\x00\xff"
    assert [e.path for e in await storage.list("logs")] == ["logs/a.bin"]


async def test_read_range_returns_the_bytes_asked_for_and_short_at_the_end(
    storage: Storage,
) -> None:
    await storage.write("data.bin", b"0123456789")
    assert await storage.read_range("data.bin", 0, 3) == b"012"
    assert await storage.read_range("data.bin", 4, 2) == b"45"
    assert await storage.read_range("data.bin", 8, 100) == b"89"
    assert await storage.read_range("data.bin", 10, 5) == b""
    assert await storage.read_range("data.bin", 50, 5) == b""
    assert await storage.read_range("data.bin", 3, 0) == b""


async def test_truncate_cuts_the_tail_and_appends_continue_from_there(storage: Storage) -> None:
    await storage.append("log.bin", b"committed|torn tail")
    await storage.truncate("log.bin", 10)
    assert await storage.read("log.bin") == b"committed|"
    assert await storage.append("log.bin", b"next") == 10
    assert await storage.read("log.bin") == b"committed|next"


async def test_truncate_never_grows_a_file(storage: Storage) -> None:
    await storage.write("short.bin", b"abc")
    await storage.truncate("short.bin", 3)
    await storage.truncate("short.bin", 100)
    assert await storage.read("short.bin") == b"abc"
    await storage.truncate("short.bin", 0)
    assert await storage.read("short.bin") == b""


async def test_missing_files_are_not_found_for_reads_and_truncation(storage: Storage) -> None:
    with pytest.raises(NotFoundError):
        await storage.read_range("missing.bin", 0, 1)
    with pytest.raises(NotFoundError):
        await storage.truncate("missing.bin", 0)
    assert await storage.stat("missing.bin") is None


async def test_negative_ranges_are_refused(storage: Storage) -> None:
    await storage.write("a.bin", b"abc")
    with pytest.raises(ValueError, match="negative"):
        await storage.read_range("a.bin", -1, 2)
    with pytest.raises(ValueError, match="negative"):
        await storage.read_range("a.bin", 0, -2)
    with pytest.raises(ValueError, match="negative"):
        await storage.truncate("a.bin", -1)
    assert await storage.read("a.bin") == b"abc"


async def test_concurrent_appends_all_land_whole(storage: Storage) -> None:
    pieces = [bytes([n]) * (100 + n) for n in range(8)]
    offsets = await asyncio.gather(*(storage.append("log.bin", p) for p in pieces))
    data = await storage.read("log.bin")
    assert len(data) == sum(len(p) for p in pieces)
    for offset, piece in zip(offsets, pieces, strict=True):
        assert data[offset : offset + len(piece)] == piece


async def test_reads_and_stats_during_appends_see_whole_appends(storage: Storage) -> None:
    await storage.append("log.bin", b"a" * 10)

    async def read_and_stat() -> tuple[bytes, int]:
        entry = await storage.stat("log.bin")
        assert entry is not None
        return await storage.read_range("log.bin", 0, 10), entry.size

    results = await asyncio.gather(
        storage.append("log.bin", b"b" * 10), read_and_stat(), storage.append("log.bin", b"c" * 10)
    )
    first_ten, size = results[1]
    assert first_ten == b"a" * 10
    assert size in (10, 20, 30)
    assert (await storage.read("log.bin"))[10:] in (b"b" * 10 + b"c" * 10, b"c" * 10 + b"b" * 10)


async def test_memory_quota_refuses_an_append_and_keeps_the_file() -> None:
    storage = MemoryStorage(quota_bytes=10)
    await storage.append("log.bin", b"12345678")
    with pytest.raises(QuotaError):
        await storage.append("log.bin", b"abc")
    assert await storage.read("log.bin") == b"12345678"
    await storage.truncate("log.bin", 4)  # truncating frees space
    assert await storage.append("log.bin", b"abcdef") == 4


async def test_a_full_disk_during_an_append_leaves_no_torn_tail(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = DirectoryStorage(tmp_path / "volume")
    await storage.append("log.bin", b"committed")
    real_write = os.write

    def half_then_full(fd: int, data: Any) -> int:
        written = real_write(fd, bytes(data)[: len(data) // 2])
        monkeypatch.setattr(os, "write", disk_full)
        return written

    def disk_full(fd: int, data: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(QuotaError, match="disk is full"):
        await storage.append("log.bin", b"x" * 1000)
    monkeypatch.undo()
    assert await storage.read("log.bin") == b"committed"
