"""CPython implementations of the platform seams: storage is a directory on disk."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from pathlib import Path

from llmos.errors import (
    LlmosError,
    NotFoundError,
    PathError,
    QuotaError,
    ReadOnlyError,
    StorageError,
)
from llmos.platform import Entry

_TMP_PREFIX = ".llmos-tmp-"


class DirectoryStorage:
    """Files under ``root``. Writes go to a temporary file that is fsynced and then renamed
    over the target, so a crash leaves either the old or the new file. Appends are fsynced
    before they return, so a log's later append never reaches the disk before an earlier one.

    Symbolic links never lead outside ``root`` (a cloned repo may hold one to ``/etc``): a path
    whose real location is elsewhere is refused, and listings skip such links and linked
    folders (which could loop)."""

    def __init__(self, root: str | os.PathLike[str], read_only: bool = False) -> None:
        self.root = Path(root)
        self.read_only = read_only
        if not read_only:
            self.root.mkdir(parents=True, exist_ok=True)
        self._real_root = os.path.realpath(self.root)

    def _path(self, path: str, follow: bool = True) -> Path:
        """The file for ``path``; with ``follow=False`` a final symbolic link is the link
        itself (to delete or move it), not what it points to."""
        target = self.root / path if path else self.root
        checked = target if follow else target.parent
        real = os.path.realpath(checked)
        if real != self._real_root and not real.startswith(self._real_root + os.sep):
            raise PathError(
                f"'{path}' is a symbolic link to a place outside this folder; it is not followed."
            )
        return target

    def _check_writable(self) -> None:
        if self.read_only:
            raise ReadOnlyError(f"{self.root} is read-only.")

    async def read(self, path: str) -> bytes:
        try:
            return self._path(path).read_bytes()
        except FileNotFoundError as error:
            raise NotFoundError(f"'{path}' does not exist.") from error
        except OSError as error:
            raise StorageError(f"Could not read '{path}': {error.strerror}.") from error

    async def write(self, path: str, data: bytes) -> None:
        self._check_writable()
        target = self._path(path)
        fd, tmp = tempfile.mkstemp(prefix=_TMP_PREFIX, dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except OSError as error:
            Path(tmp).unlink(missing_ok=True)
            raise _write_error(error, path) from error

    async def stat(self, path: str) -> Entry | None:
        try:
            info = self._path(path).stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        is_dir = self._path(path).is_dir()
        return Entry(path, is_dir, 0 if is_dir else info.st_size, info.st_mtime)

    async def list(self, path: str) -> list[Entry]:
        folder = self._path(path)
        if not folder.is_dir():
            raise NotFoundError(f"'{path}' is not a folder.")
        found: list[Entry] = []
        for child in folder.iterdir():
            if child.name.startswith(_TMP_PREFIX) or (child.is_symlink() and child.is_dir()):
                continue
            try:
                entry = await self.stat(f"{path}/{child.name}" if path else child.name)
            except PathError:
                continue  # a link leading outside
            if entry is not None:
                found.append(entry)
        return found

    async def mkdir(self, path: str) -> None:
        self._check_writable()
        self._path(path).mkdir(parents=True, exist_ok=True)

    async def delete(self, path: str) -> None:
        self._check_writable()
        target = self._path(path, follow=False)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)

    async def move(self, src: str, dst: str) -> None:
        self._check_writable()
        os.replace(self._path(src, follow=False), self._path(dst, follow=False))

    async def append(self, path: str, data: bytes) -> int:
        self._check_writable()
        try:
            fd = os.open(self._path(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        except OSError as error:
            raise _write_error(error, path) from error
        try:
            offset = os.lseek(fd, 0, os.SEEK_END)
            try:
                _write_all(fd, data)
                os.fsync(fd)
            except OSError as error:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, offset)  # a full disk leaves no torn tail behind
                raise _write_error(error, path) from error
        finally:
            os.close(fd)
        return offset

    async def read_range(self, path: str, offset: int, length: int) -> bytes:
        _check_range(offset, length)
        try:
            with self._path(path).open("rb") as handle:
                handle.seek(offset)
                return handle.read(length)
        except FileNotFoundError as error:
            raise NotFoundError(f"'{path}' does not exist.") from error
        except OSError as error:
            raise StorageError(f"Could not read '{path}': {error.strerror}.") from error

    async def truncate(self, path: str, size: int) -> None:
        self._check_writable()
        _check_range(size, 0)
        target = self._path(path)
        try:
            if target.stat().st_size > size:
                os.truncate(target, size)
        except FileNotFoundError as error:
            raise NotFoundError(f"'{path}' does not exist.") from error
        except OSError as error:
            raise StorageError(f"Could not truncate '{path}': {error.strerror}.") from error


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _write_error(error: OSError, path: str) -> LlmosError:
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return QuotaError(f"The disk is full: '{path}' was not saved.")
    return StorageError(f"Could not write '{path}': {error.strerror}.")


def _check_range(offset: int, length: int) -> None:
    if offset < 0 or length < 0:
        raise ValueError(
            f"A byte range needs a non-negative offset and length, not {offset}, {length}."
        )
