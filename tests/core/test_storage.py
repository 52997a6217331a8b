"""The Storage protocol, as every backend (memory, directory, OPFS, IndexedDB) must keep it."""

from __future__ import annotations

import pytest
from llmos.errors import NotFoundError, QuotaError
from llmos.platform import Entry, Storage
from llmos.platform.memory import MemoryStorage


async def test_write_then_read_returns_the_same_bytes(storage: Storage) -> None:
    await storage.write("a.txt", b"hello")
    assert await storage.read("a.txt") == b"hello"


async def test_every_byte_value_survives_a_round_trip(storage: Storage) -> None:
    data = bytes(range(256)) * 4
    await storage.write("blob.bin", data)
    assert await storage.read("blob.bin") == data


async def test_empty_file_round_trip(storage: Storage) -> None:
    await storage.write("empty.txt", b"")
    assert await storage.read("empty.txt") == b""
    entry = await storage.stat("empty.txt")
    assert entry is not None
    assert (entry.is_dir, entry.size) == (False, 0)


async def test_overwrite_replaces_the_whole_file(storage: Storage) -> None:
    await storage.write("a.txt", b"a long first version of the file")
    await storage.write("a.txt", b"short")
    assert await storage.read("a.txt") == b"short"
    entry = await storage.stat("a.txt")
    assert entry is not None
    assert entry.size == 5


async def test_reading_a_missing_file_raises_not_found(storage: Storage) -> None:
    with pytest.raises(NotFoundError):
        await storage.read("missing.txt")


async def test_stat_describes_files_folders_and_missing_paths(storage: Storage) -> None:
    await storage.mkdir("docs")
    await storage.write("docs/a.md", b"12345")
    file = await storage.stat("docs/a.md")
    folder = await storage.stat("docs")
    root = await storage.stat("")
    assert file is not None
    assert (file.path, file.name, file.is_dir, file.size) == ("docs/a.md", "a.md", False, 5)
    assert file.mtime > 0
    assert folder is not None
    assert folder.is_dir
    assert root is not None
    assert root.is_dir
    assert await storage.stat("docs/missing.md") is None
    assert await storage.stat("missing/deeper.md") is None


async def test_stat_below_a_file_is_missing_not_an_error(storage: Storage) -> None:
    await storage.write("plain.txt", b"x")
    assert await storage.stat("plain.txt/child") is None


async def test_list_shows_direct_children_only(storage: Storage) -> None:
    await storage.write("top.txt", b"1")
    await storage.mkdir("docs")
    await storage.write("docs/inner.md", b"22")
    await storage.mkdir("docs/deep")
    await storage.write("docs/deep/x.md", b"333")

    root = {e.path: (e.is_dir, e.size) for e in await storage.list("")}
    assert root == {"top.txt": (False, 1), "docs": (True, 0)}

    docs = await storage.list("docs")
    assert {e.path: e.is_dir for e in docs} == {"docs/inner.md": False, "docs/deep": True}
    assert {e.name for e in docs} == {"inner.md", "deep"}
    assert [e.size for e in docs if not e.is_dir] == [2]


async def test_list_of_an_empty_volume_and_empty_folder(storage: Storage) -> None:
    assert await storage.list("") == []
    await storage.mkdir("empty")
    assert await storage.list("empty") == []


async def test_mkdir_is_idempotent_and_keeps_contents(storage: Storage) -> None:
    await storage.mkdir("docs")
    await storage.write("docs/a.md", b"kept")
    await storage.mkdir("docs")
    assert await storage.read("docs/a.md") == b"kept"


async def test_delete_a_file(storage: Storage) -> None:
    await storage.write("a.txt", b"1")
    await storage.write("b.txt", b"2")
    await storage.delete("a.txt")
    assert await storage.stat("a.txt") is None
    assert [e.path for e in await storage.list("")] == ["b.txt"]


async def test_delete_a_folder_removes_everything_in_it(storage: Storage) -> None:
    await storage.mkdir("proj")
    await storage.mkdir("proj/src")
    await storage.write("proj/src/main.py", b"print()")
    await storage.write("proj/readme.md", b"hi")
    await storage.write("project.txt", b"a sibling with the same prefix")
    await storage.delete("proj")
    assert await storage.stat("proj") is None
    assert await storage.stat("proj/src/main.py") is None
    assert await storage.read("project.txt") == b"a sibling with the same prefix"
    assert [e.path for e in await storage.list("")] == ["project.txt"]


async def test_move_a_file(storage: Storage) -> None:
    await storage.mkdir("dst")
    await storage.write("a.txt", b"content")
    await storage.move("a.txt", "dst/b.txt")
    assert await storage.stat("a.txt") is None
    assert await storage.read("dst/b.txt") == b"content"


async def test_move_a_folder_takes_its_contents_along(storage: Storage) -> None:
    await storage.mkdir("old")
    await storage.mkdir("old/sub")
    await storage.write("old/a.txt", b"a")
    await storage.write("old/sub/b.txt", b"b")
    await storage.write("older.txt", b"not part of the folder")
    await storage.move("old", "new")
    assert await storage.stat("old") is None
    assert await storage.read("new/a.txt") == b"a"
    assert await storage.read("new/sub/b.txt") == b"b"
    assert await storage.read("older.txt") == b"not part of the folder"
    assert {e.path for e in await storage.list("new")} == {"new/a.txt", "new/sub"}


async def test_unicode_and_space_names_round_trip(storage: Storage) -> None:
    await storage.mkdir("Café notes")
    await storage.write("Café notes/日本語 1.md", "こんにちは".encode())
    assert await storage.read("Café notes/日本語 1.md") == "こんにちは".encode()
    assert [e.name for e in await storage.list("Café notes")] == ["日本語 1.md"]


def test_entry_name_is_the_last_path_segment() -> None:
    assert Entry("a/b/c.txt", False).name == "c.txt"
    assert Entry("top", True).name == "top"


async def test_memory_quota_refuses_a_write_and_keeps_the_old_file() -> None:
    storage = MemoryStorage(quota_bytes=10)
    await storage.write("a.txt", b"12345")
    with pytest.raises(QuotaError, match="not saved"):
        await storage.write("a.txt", b"x" * 11)
    assert await storage.read("a.txt") == b"12345"
    with pytest.raises(QuotaError):
        await storage.write("b.txt", b"123456")
    assert await storage.stat("b.txt") is None


async def test_memory_quota_counts_the_replaced_file_once() -> None:
    storage = MemoryStorage(quota_bytes=10)
    await storage.write("a.txt", b"x" * 10)
    await storage.write("a.txt", b"y" * 10)  # replacing frees the old bytes first
    assert await storage.read("a.txt") == b"y" * 10
    await storage.delete("a.txt")
    await storage.write("b.txt", b"z" * 10)  # deleting frees space
    assert await storage.read("b.txt") == b"z" * 10


async def test_memory_storage_keeps_a_copy_of_written_data() -> None:
    storage = MemoryStorage()
    buffer = bytearray(b"abc")
    await storage.write("a.bin", buffer)  # type: ignore[arg-type]
    buffer[0] = ord("X")
    assert await storage.read("a.bin") == b"abc"
