"""The VFS: volumes, path checks, read-only rules, file/folder semantics and change events."""

from __future__ import annotations

import pytest
from llmos import vfs as vfs_module
from llmos.errors import (
    BinaryFileError,
    ExistsError,
    NotAFileError,
    NotFoundError,
    PathError,
    QuotaError,
    ReadOnlyError,
)
from llmos.platform import Storage
from llmos.platform.memory import MemoryStorage
from llmos.vfs import Change, Vfs, Volume


def record(vfs: Vfs) -> list[Change]:
    changes: list[Change] = []
    vfs.subscribe(changes.append)
    return changes


# --- volumes and path resolution ----------------------------------------------------------------


def test_volumes_are_listed_in_mount_order(vfs: Vfs) -> None:
    assert [(v.name, v.writable, v.description) for v in vfs.volumes] == [
        ("system", False, "Shipped"),
        ("user", True, "Your files"),
    ]


def test_resolve_splits_volume_and_normalised_inner_path(vfs: Vfs) -> None:
    volume, inner = vfs.resolve("user//notes/./today.md")
    assert (volume.name, inner) == ("user", "notes/today.md")
    volume, inner = vfs.resolve("system")
    assert (volume.name, inner) == ("system", "")


def test_unknown_volume_names_the_volumes_that_exist(vfs: Vfs) -> None:
    with pytest.raises(NotFoundError, match=r"no volume 'home' \(volumes: system, user\)"):
        vfs.resolve("home/notes.md")


@pytest.mark.parametrize("path", ["", ".", "./"])
def test_empty_path_asks_for_a_volume(vfs: Vfs, path: str) -> None:
    with pytest.raises(PathError, match="path is empty"):
        vfs.resolve(path)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("user/../system/docs/guide.md", r"'\.\.'"),
        ("../user/a.txt", r"'\.\.'"),
        ("/user/a.txt", "absolute"),
        ("C:/user/a.txt", "absolute"),
        ("user/a\x00.txt", "NUL byte"),
        ("user/a:b.txt", "cannot hold"),
    ],
)
async def test_bad_paths_are_refused_before_touching_storage(
    vfs: Vfs, path: str, message: str
) -> None:
    for operation in (vfs.read_bytes, vfs.list, vfs.delete, vfs.mkdir, vfs.stat):
        with pytest.raises(PathError, match=message):
            await operation(path)
    with pytest.raises(PathError, match=message):
        await vfs.write_text(path, "x")
    with pytest.raises(PathError, match=message):
        await vfs.rename("user/any.txt", path)
    assert await vfs.list("user") == []


@pytest.mark.parametrize("name", ["a/b", "..", "", ".", "bad:name"])
def test_mount_refuses_volume_names_that_are_not_one_plain_name(name: str) -> None:
    vfs = Vfs()
    with pytest.raises(PathError):
        vfs.mount(Volume(name, MemoryStorage(), writable=True))
    assert vfs.volumes == []


# --- read-only system volume --------------------------------------------------------------------


async def test_system_volume_is_readable(vfs: Vfs) -> None:
    assert await vfs.read_text("system/docs/guide.md") == "# Guide\n"
    assert [e.path for e in await vfs.list("system")] == ["system/agents", "system/docs"]


async def test_system_volume_refuses_every_change(vfs: Vfs) -> None:
    changes = record(vfs)
    with pytest.raises(ReadOnlyError, match="read-only 'system' volume"):
        await vfs.write_text("system/docs/guide.md", "hacked")
    with pytest.raises(ReadOnlyError):
        await vfs.write_text("system/new.md", "x")
    with pytest.raises(ReadOnlyError):
        await vfs.mkdir("system/new")
    with pytest.raises(ReadOnlyError):
        await vfs.delete("system/docs/guide.md")
    with pytest.raises(ReadOnlyError):
        await vfs.rename("system/docs/guide.md", "system/docs/moved.md")
    with pytest.raises(ReadOnlyError):
        await vfs.rename("system/docs/guide.md", "user/guide.md")
    with pytest.raises(ReadOnlyError):
        await vfs.rename("user/x.md", "system/x.md")
    assert await vfs.read_text("system/docs/guide.md") == "# Guide\n"
    assert await vfs.stat("system/new.md") is None
    assert changes == []


@pytest.mark.parametrize("path", ["user", "user/", "user/."])
async def test_a_volume_root_cannot_be_written_deleted_or_moved(vfs: Vfs, path: str) -> None:
    await vfs.write_text("user/keep.txt", "safe")
    with pytest.raises(PathError, match="root of a volume"):
        await vfs.delete(path)
    with pytest.raises(PathError, match="root of a volume"):
        await vfs.write_text(path, "x")
    with pytest.raises(PathError, match="root of a volume"):
        await vfs.rename(path, "user/elsewhere")
    assert await vfs.read_text("user/keep.txt") == "safe"


# --- write and read -----------------------------------------------------------------------------


async def test_write_then_read_text(vfs: Vfs) -> None:
    await vfs.write_text("user/notes.md", "# Hello\nwörld ✓\n")
    assert await vfs.read_text("user/notes.md") == "# Hello\nwörld ✓\n"
    assert await vfs.read_bytes("user/notes.md") == "# Hello\nwörld ✓\n".encode()


async def test_write_creates_missing_parent_folders(vfs: Vfs) -> None:
    await vfs.write_text("user/a/b/c/deep.txt", "deep")
    assert await vfs.read_text("user/a/b/c/deep.txt") == "deep"
    for folder in ("user/a", "user/a/b", "user/a/b/c"):
        entry = await vfs.stat(folder)
        assert entry is not None
        assert entry.is_dir, folder
    assert [e.path for e in await vfs.walk("user")] == [
        "user/a",
        "user/a/b",
        "user/a/b/c",
        "user/a/b/c/deep.txt",
    ]


async def test_overwrite_keeps_only_the_new_content(vfs: Vfs) -> None:
    await vfs.write_text("user/a.txt", "first version, rather long")
    await vfs.write_text("user/a.txt", "second")
    assert await vfs.read_text("user/a.txt") == "second"


async def test_reading_missing_files_and_folders(vfs: Vfs) -> None:
    with pytest.raises(NotFoundError, match=r"'user/nope\.txt' does not exist"):
        await vfs.read_text("user/nope.txt")
    await vfs.mkdir("user/docs")
    with pytest.raises(NotAFileError, match="'user/docs' is a folder"):
        await vfs.read_text("user/docs")
    with pytest.raises(NotAFileError, match="is a folder"):
        await vfs.read_bytes("user")


async def test_writing_over_a_folder_is_refused(vfs: Vfs) -> None:
    await vfs.write_text("user/docs/inside.md", "kept")
    with pytest.raises(NotAFileError, match="'user/docs' is a folder; a file cannot replace it"):
        await vfs.write_text("user/docs", "x")
    assert await vfs.read_text("user/docs/inside.md") == "kept"


async def test_writing_below_a_file_is_refused(vfs: Vfs) -> None:
    await vfs.write_text("user/plain.txt", "kept")
    with pytest.raises(NotAFileError, match=r"'user/plain\.txt' is a file, not a folder"):
        await vfs.write_text("user/plain.txt/child.txt", "x")
    assert await vfs.read_text("user/plain.txt") == "kept"


async def test_binary_file_cannot_be_read_as_text_but_can_be_downloaded(vfs: Vfs) -> None:
    data = b"\x89PNG\r\n\x1a\n\xff\xfe\x00"
    await vfs.write_bytes("user/image.png", data)
    with pytest.raises(BinaryFileError, match="download it instead of editing it") as caught:
        await vfs.read_text("user/image.png")
    assert "'user/image.png' is a binary file (11 bytes)" in str(caught.value)
    assert caught.value.code == "binary"
    assert await vfs.read_bytes("user/image.png") == data


async def test_oversized_file_is_refused_without_touching_storage(
    vfs: Vfs, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vfs_module, "MAX_FILE_BYTES", 10)
    await vfs.write_bytes("user/ok.bin", b"x" * 10)
    with pytest.raises(QuotaError, match="at most 64 MB"):
        await vfs.write_bytes("user/ok.bin", b"y" * 11)
    assert await vfs.read_bytes("user/ok.bin") == b"x" * 10


async def test_quota_exceeded_keeps_the_old_content_and_emits_nothing() -> None:
    vfs = Vfs()
    vfs.mount(Volume("user", MemoryStorage(quota_bytes=20), writable=True))
    await vfs.write_text("user/draft.md", "old draft")
    changes = record(vfs)
    with pytest.raises(QuotaError, match="not saved") as caught:
        await vfs.write_text("user/draft.md", "a new draft that is far too long")
    assert caught.value.code == "quota"
    assert await vfs.read_text("user/draft.md") == "old draft"
    assert changes == []


async def test_stat_and_exists(vfs: Vfs) -> None:
    await vfs.write_text("user/docs/a.md", "12345")
    entry = await vfs.stat("user/docs/a.md")
    assert entry is not None
    assert (entry.path, entry.name, entry.is_dir, entry.size) == (
        "user/docs/a.md",
        "a.md",
        False,
        5,
    )
    root = await vfs.stat("user")
    assert root is not None
    assert (root.path, root.is_dir) == ("user", True)
    assert await vfs.exists("user/docs")
    assert not await vfs.exists("user/docs/b.md")


# --- list ---------------------------------------------------------------------------------------


async def test_list_shows_folders_first_then_names_case_insensitively(vfs: Vfs) -> None:
    for name in ("b.txt", "A.txt", "c.txt"):
        await vfs.write_text(f"user/{name}", name)
    for name in ("zeta", "Alpha"):
        await vfs.mkdir(f"user/{name}")
    listed = await vfs.list("user")
    assert [e.name for e in listed] == ["Alpha", "zeta", "A.txt", "b.txt", "c.txt"]
    assert [e.path for e in listed][:2] == ["user/Alpha", "user/zeta"]
    assert [e.is_dir for e in listed] == [True, True, False, False, False]


async def test_list_of_a_nested_folder_uses_full_vfs_paths(vfs: Vfs) -> None:
    await vfs.write_text("user/proj/src/main.py", "print('hi')\n")
    await vfs.write_text("user/proj/readme.md", "hi")
    listed = await vfs.list("user/proj/")
    assert [(e.path, e.is_dir) for e in listed] == [
        ("user/proj/src", True),
        ("user/proj/readme.md", False),
    ]
    assert [e.size for e in listed] == [0, 2]


async def test_listing_a_missing_folder_is_not_found(vfs: Vfs) -> None:
    with pytest.raises(NotFoundError, match="'user/nowhere' does not exist"):
        await vfs.list("user/nowhere")


async def test_listing_a_file_says_it_is_not_a_folder(vfs: Vfs) -> None:
    await vfs.write_text("user/a.txt", "x")
    with pytest.raises(NotAFileError, match=r"'user/a\.txt' is a file, not a folder"):
        await vfs.list("user/a.txt")


# --- mkdir --------------------------------------------------------------------------------------


async def test_mkdir_creates_nested_folders(vfs: Vfs) -> None:
    await vfs.mkdir("user/x/y/z")
    assert [e.path for e in await vfs.walk("user")] == ["user/x", "user/x/y", "user/x/y/z"]
    assert await vfs.list("user/x/y/z") == []


async def test_mkdir_of_an_existing_folder_is_a_quiet_no_op(vfs: Vfs) -> None:
    await vfs.write_text("user/docs/a.md", "kept")
    changes = record(vfs)
    await vfs.mkdir("user/docs")
    assert await vfs.read_text("user/docs/a.md") == "kept"
    assert changes == []


async def test_mkdir_over_a_file_is_refused(vfs: Vfs) -> None:
    await vfs.write_text("user/a.txt", "kept")
    with pytest.raises(ExistsError, match=r"'user/a\.txt' is already a file"):
        await vfs.mkdir("user/a.txt")
    with pytest.raises(NotAFileError, match="is a file, not a folder"):
        await vfs.mkdir("user/a.txt/sub")
    assert await vfs.read_text("user/a.txt") == "kept"


# --- delete -------------------------------------------------------------------------------------


async def test_delete_a_file(vfs: Vfs) -> None:
    await vfs.write_text("user/a.txt", "1")
    await vfs.write_text("user/b.txt", "2")
    await vfs.delete("user/a.txt")
    assert not await vfs.exists("user/a.txt")
    assert [e.path for e in await vfs.list("user")] == ["user/b.txt"]


async def test_delete_a_folder_is_recursive(vfs: Vfs) -> None:
    await vfs.write_text("user/proj/src/deep/main.py", "x")
    await vfs.write_text("user/proj/readme.md", "y")
    await vfs.write_text("user/project.md", "sibling with a shared prefix")
    await vfs.delete("user/proj")
    assert not await vfs.exists("user/proj")
    assert not await vfs.exists("user/proj/src/deep/main.py")
    assert [e.path for e in await vfs.walk("user")] == ["user/project.md"]


async def test_delete_missing_is_not_found(vfs: Vfs) -> None:
    with pytest.raises(NotFoundError, match=r"'user/ghost\.txt' does not exist"):
        await vfs.delete("user/ghost.txt")


# --- rename -------------------------------------------------------------------------------------


async def test_rename_a_file(vfs: Vfs) -> None:
    await vfs.write_text("user/old.md", "content")
    await vfs.rename("user/old.md", "user/new.md")
    assert not await vfs.exists("user/old.md")
    assert await vfs.read_text("user/new.md") == "content"


async def test_rename_into_a_new_folder_creates_it(vfs: Vfs) -> None:
    await vfs.write_text("user/a.md", "content")
    await vfs.rename("user/a.md", "user/archive/2024/a.md")
    assert await vfs.read_text("user/archive/2024/a.md") == "content"
    assert [e.path for e in await vfs.list("user")] == ["user/archive"]


async def test_rename_a_folder_moves_everything_in_it(vfs: Vfs) -> None:
    await vfs.write_text("user/proj/src/main.py", "code")
    await vfs.write_text("user/proj/readme.md", "doc")
    await vfs.rename("user/proj", "user/project")
    assert not await vfs.exists("user/proj")
    assert [e.path for e in await vfs.walk("user")] == [
        "user/project",
        "user/project/src",
        "user/project/src/main.py",
        "user/project/readme.md",
    ]
    assert await vfs.read_text("user/project/src/main.py") == "code"


async def test_rename_refuses_to_overwrite(vfs: Vfs) -> None:
    await vfs.write_text("user/a.md", "A")
    await vfs.write_text("user/b.md", "B")
    with pytest.raises(ExistsError, match=r"'user/b\.md' already exists"):
        await vfs.rename("user/a.md", "user/b.md")
    await vfs.mkdir("user/folder")
    with pytest.raises(ExistsError):
        await vfs.rename("user/a.md", "user/folder")
    assert await vfs.read_text("user/a.md") == "A"
    assert await vfs.read_text("user/b.md") == "B"


async def test_rename_refuses_to_move_a_folder_into_itself(vfs: Vfs) -> None:
    await vfs.write_text("user/proj/a.md", "A")
    with pytest.raises(PathError, match="'user/proj' cannot be moved inside itself"):
        await vfs.rename("user/proj", "user/proj/sub")
    with pytest.raises(PathError, match="inside itself"):
        await vfs.rename("user/proj", "user/proj/sub/deeper")
    assert [e.path for e in await vfs.walk("user")] == ["user/proj", "user/proj/a.md"]


async def test_rename_to_a_sibling_with_a_shared_prefix_is_allowed(vfs: Vfs) -> None:
    await vfs.write_text("user/proj/a.md", "A")
    await vfs.rename("user/proj", "user/proj2")
    assert await vfs.read_text("user/proj2/a.md") == "A"


async def test_rename_missing_source_is_not_found(vfs: Vfs) -> None:
    with pytest.raises(NotFoundError, match=r"'user/ghost\.md' does not exist"):
        await vfs.rename("user/ghost.md", "user/other.md")
    assert not await vfs.exists("user/other.md")


async def test_rename_between_volumes_is_refused() -> None:
    vfs = Vfs()
    vfs.mount(Volume("user", MemoryStorage(), writable=True))
    vfs.mount(Volume("scratch", MemoryStorage(), writable=True))
    await vfs.write_text("user/a.md", "A")
    with pytest.raises(PathError, match="Moving between volumes is not supported"):
        await vfs.rename("user/a.md", "scratch/a.md")
    assert await vfs.read_text("user/a.md") == "A"
    assert not await vfs.exists("scratch/a.md")


async def test_rename_below_a_file_is_refused(vfs: Vfs) -> None:
    await vfs.write_text("user/a.md", "A")
    await vfs.write_text("user/plain.txt", "P")
    with pytest.raises(NotAFileError, match="is a file, not a folder"):
        await vfs.rename("user/a.md", "user/plain.txt/a.md")
    assert await vfs.read_text("user/a.md") == "A"


# --- change events ------------------------------------------------------------------------------


async def test_every_change_is_announced(vfs: Vfs) -> None:
    changes = record(vfs)
    await vfs.write_text("user/a.md", "1")
    await vfs.write_text("user/a.md", "2")
    await vfs.mkdir("user/docs")
    await vfs.rename("user/a.md", "user/docs/a.md")
    await vfs.delete("user/docs")
    assert changes == [
        Change("created", "user/a.md"),
        Change("written", "user/a.md"),
        Change("created", "user/docs"),
        Change("moved", "user/a.md", "user/docs/a.md"),
        Change("deleted", "user/docs"),
    ]


async def test_change_events_name_the_canonical_path(vfs: Vfs) -> None:
    changes = record(vfs)
    await vfs.write_text("user//notes/./a.md", "1")
    await vfs.rename("user/./notes/a.md", "user/notes//b.md/")
    await vfs.delete("user/notes/")
    assert changes == [
        Change("created", "user/notes/a.md"),
        Change("moved", "user/notes/a.md", "user/notes/b.md"),
        Change("deleted", "user/notes"),
    ]


async def test_failed_operations_announce_nothing(vfs: Vfs) -> None:
    await vfs.write_text("user/a.md", "A")
    await vfs.write_text("user/b.md", "B")
    changes = record(vfs)
    for failing in (
        vfs.rename("user/a.md", "user/b.md"),
        vfs.delete("user/ghost.md"),
        vfs.mkdir("user/a.md"),
        vfs.write_text("user/../x", "x"),
    ):
        with pytest.raises((ExistsError, NotFoundError, PathError)):
            await failing
    assert changes == []


async def test_unsubscribe_stops_the_events(vfs: Vfs) -> None:
    first: list[Change] = []
    second: list[Change] = []
    stop = vfs.subscribe(first.append)
    vfs.subscribe(second.append)
    await vfs.write_text("user/a.md", "1")
    stop()
    await vfs.write_text("user/b.md", "2")
    assert [c.path for c in first] == ["user/a.md"]
    assert [c.path for c in second] == ["user/a.md", "user/b.md"]


async def test_volume_on_any_backend_persists_across_vfs_instances(storage: Storage) -> None:
    first = Vfs()
    first.mount(Volume("user", storage, writable=True))
    await first.write_text("user/keep/me.md", "still here")
    second = Vfs()
    second.mount(Volume("user", storage, writable=True))
    assert await second.read_text("user/keep/me.md") == "still here"
