"""DirectoryStorage on a real disk: crash-safe writes, full disks, read-only roots.

Native only (these patch ``os`` functions), so they live outside tests/core, which also runs in
Pyodide.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import pytest
from llmos.errors import NotFoundError, PathError, QuotaError, ReadOnlyError, StorageError
from llmos.platform.native import DirectoryStorage
from llmos.service import system_storage
from llmos.vfs import Vfs, Volume

from tests.conftest import run


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "volume"


@pytest.fixture
def storage(root: Path) -> DirectoryStorage:
    storage = DirectoryStorage(root)
    run(storage.write("doc.md", b"the old, good content"))
    return storage


def raiser(error: OSError) -> Any:
    def fail(*args: Any, **kwargs: Any) -> None:
        raise error

    return fail


def test_root_folder_is_created(root: Path) -> None:
    DirectoryStorage(root / "nested" / "deeper")
    assert (root / "nested" / "deeper").is_dir()


def test_write_lands_on_disk(storage: DirectoryStorage, root: Path) -> None:
    run(storage.write("doc.md", b"new"))
    assert (root / "doc.md").read_bytes() == b"new"
    assert sorted(os.listdir(root)) == ["doc.md"]


@pytest.mark.parametrize("target", ["replace", "fsync"])
def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp_file(
    storage: DirectoryStorage, root: Path, monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    monkeypatch.setattr(os, target, raiser(OSError(errno.EIO, "Input/output error")))
    with pytest.raises(StorageError, match=r"Could not write 'doc\.md': Input/output error"):
        run(storage.write("doc.md", b"half-written new content"))
    monkeypatch.undo()
    assert (root / "doc.md").read_bytes() == b"the old, good content"
    assert sorted(os.listdir(root)) == ["doc.md"]
    assert [e.path for e in run(storage.list(""))] == ["doc.md"]


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EDQUOT])
def test_a_full_disk_is_a_quota_error_and_the_old_file_survives(
    storage: DirectoryStorage, root: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    monkeypatch.setattr(os, "fsync", raiser(OSError(code, os.strerror(code))))
    with pytest.raises(QuotaError, match=r"The disk is full: 'doc\.md' was not saved") as caught:
        run(storage.write("doc.md", b"x" * 1000))
    monkeypatch.undo()
    assert caught.value.code == "quota"
    assert (root / "doc.md").read_bytes() == b"the old, good content"
    assert sorted(os.listdir(root)) == ["doc.md"]


def test_a_full_disk_through_the_vfs_announces_nothing(
    storage: DirectoryStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    vfs = Vfs()
    vfs.mount(Volume("user", storage, writable=True))
    changes: list[object] = []
    vfs.subscribe(changes.append)
    monkeypatch.setattr(os, "fsync", raiser(OSError(errno.ENOSPC, "No space left on device")))
    with pytest.raises(QuotaError):
        run(vfs.write_text("user/doc.md", "new"))
    monkeypatch.undo()
    assert run(vfs.read_text("user/doc.md")) == "the old, good content"
    assert changes == []


def test_leftover_temp_files_from_a_crash_are_not_listed(
    storage: DirectoryStorage, root: Path
) -> None:
    (root / ".llmos-tmp-abc123").write_bytes(b"partial")
    (root / "sub").mkdir()
    (root / "sub" / ".llmos-tmp-def456").write_bytes(b"partial")
    assert sorted(e.path for e in run(storage.list(""))) == ["doc.md", "sub"]
    assert run(storage.list("sub")) == []


def test_reading_a_folder_is_a_storage_error(storage: DirectoryStorage, root: Path) -> None:
    (root / "folder").mkdir()
    with pytest.raises(StorageError, match="Could not read 'folder'"):
        run(storage.read("folder"))
    with pytest.raises(NotFoundError):
        run(storage.read("missing.md"))


def test_listing_a_file_or_missing_folder_is_not_found(storage: DirectoryStorage) -> None:
    with pytest.raises(NotFoundError):
        run(storage.list("doc.md"))
    with pytest.raises(NotFoundError):
        run(storage.list("nowhere"))


def test_read_only_storage_refuses_changes_and_creates_nothing(tmp_path: Path) -> None:
    root = tmp_path / "shipped"
    storage = DirectoryStorage(root, read_only=True)
    assert not root.exists()
    root.mkdir()
    (root / "a.md").write_bytes(b"shipped")
    for change in (
        storage.write("a.md", b"x"),
        storage.write("b.md", b"x"),
        storage.mkdir("new"),
        storage.delete("a.md"),
        storage.move("a.md", "b.md"),
    ):
        with pytest.raises(ReadOnlyError, match="read-only"):
            run(change)
    assert sorted(os.listdir(root)) == ["a.md"]
    assert run(storage.read("a.md")) == b"shipped"


def test_the_shipped_system_volume_is_read_only_and_has_docs() -> None:
    shipped = system_storage()
    assert shipped.read_only
    assert run(shipped.read("docs/welcome.md")).strip()
    assert {e.name for e in run(shipped.list(""))} >= {"docs", "agents"}
    with pytest.raises(ReadOnlyError):
        run(shipped.write("docs/welcome.md", b"tampered"))


def test_symbolic_links_never_lead_outside_the_folder(root: Path, tmp_path: Path) -> None:
    storage = DirectoryStorage(root)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("host file")
    (root / "notes.md").write_text("mine")
    (root / "escape").symlink_to(outside)
    (root / "secret-link.txt").symlink_to(outside / "secret.txt")
    (root / "loop").symlink_to(root)
    (root / "alias.md").symlink_to(root / "notes.md")  # inside: allowed

    for path in ("escape/secret.txt", "secret-link.txt"):
        with pytest.raises(PathError, match="outside this folder"):
            run(storage.read(path))
    with pytest.raises(PathError):
        run(storage.write("escape/new.txt", b"x"))
    assert not (outside / "new.txt").exists()
    names = sorted(e.name for e in run(storage.list("")))
    assert names == ["alias.md", "notes.md"], "links outside and linked folders are not listed"
    assert run(storage.read("alias.md")) == b"mine"
    run(storage.delete("escape"))
    run(storage.delete("secret-link.txt"))
    assert (outside / "secret.txt").read_text() == "host file", "deleting a link keeps its target"
    assert not (root / "escape").exists()
