"""The virtual file system: named volumes over :class:`~llmos.platform.Storage` backends.

Volumes: ``system`` (read-only, shipped inside the wheel: default agents, docs) and ``user``
(read-write, OPFS or IndexedDB in the browser, a directory natively). A VFS path is
``<volume>/<path inside it>``, e.g. ``user/notes/today.md``. Every change is announced to
subscribers (the explorer, later the memory indexer) as a :class:`Change`.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass

from llmos.errors import (
    BinaryFileError,
    ExistsError,
    NotAFileError,
    NotFoundError,
    PathError,
    QuotaError,
    ReadOnlyError,
)
from llmos.platform import Entry, Storage
from llmos.vfs import paths

MAX_FILE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class Volume:
    name: str
    storage: Storage
    writable: bool
    description: str = ""


@dataclass(frozen=True)
class Change:
    """What happened to which VFS path: ``kind`` is written, deleted, created or moved."""

    kind: str
    path: str
    dest: str = ""


Listener = Callable[[Change], None]


class Vfs:
    """All volumes under one namespace, with path checks, read-only rules and change events."""

    def __init__(self) -> None:
        self._volumes: dict[str, Volume] = {}
        self._listeners: list[Listener] = []

    def mount(self, volume: Volume) -> None:
        if not volume.name or "/" in volume.name or paths.normalize(volume.name) != volume.name:
            raise PathError(f"A volume name must be one plain name, not {volume.name!r}.")
        self._volumes[volume.name] = volume

    @property
    def volumes(self) -> list[Volume]:
        return list(self._volumes.values())

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener`` after each change; returns a function that unsubscribes."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def resolve(self, path: str) -> tuple[Volume, str]:
        """Split a VFS path into its volume and the normalised path inside it."""
        clean = paths.normalize(path)
        name, _, inner = clean.partition("/")
        if not name:
            raise PathError("The path is empty: name a volume, e.g. 'user/notes.md'.")
        volume = self._volumes.get(name)
        if volume is None:
            known = ", ".join(sorted(self._volumes))
            raise NotFoundError(f"There is no volume '{name}' (volumes: {known}).")
        return volume, inner

    def _writable(self, path: str) -> tuple[Volume, str]:
        volume, inner = self.resolve(path)
        if not volume.writable:
            raise ReadOnlyError(f"'{path}' is on the read-only '{volume.name}' volume.")
        if not inner:
            raise PathError(f"'{path}' is the root of a volume, not a file.")
        return volume, inner

    def _emit(self, change: Change) -> None:
        for listener in list(self._listeners):
            listener(change)

    async def stat(self, path: str) -> Entry | None:
        volume, inner = self.resolve(path)
        if not inner:
            return Entry(path=volume.name, is_dir=True)
        entry = await volume.storage.stat(inner)
        if entry is None:
            return None
        return Entry(f"{volume.name}/{inner}", entry.is_dir, entry.size, entry.mtime)

    async def exists(self, path: str) -> bool:
        return await self.stat(path) is not None

    async def list(self, path: str) -> builtins.list[Entry]:
        """Entries directly under ``path``, folders first, then by name."""
        volume, inner = self.resolve(path)
        if inner:
            folder = await volume.storage.stat(inner)
            if folder is None:
                raise NotFoundError(f"'{path}' does not exist.")
            if not folder.is_dir:
                raise NotAFileError(f"'{path}' is a file, not a folder.")
        entries = await volume.storage.list(inner)
        shown = [Entry(f"{volume.name}/{e.path}", e.is_dir, e.size, e.mtime) for e in entries]
        return sorted(shown, key=lambda e: (not e.is_dir, e.name.lower()))

    async def walk(self, path: str) -> builtins.list[Entry]:  # `list` is a method here
        """Every entry below ``path``, depth first."""
        found: builtins.list[Entry] = []
        for entry in await self.list(path):
            found.append(entry)
            if entry.is_dir:
                found.extend(await self.walk(entry.path))
        return found

    async def read_bytes(self, path: str) -> bytes:
        volume, inner = self.resolve(path)
        entry = await volume.storage.stat(inner) if inner else Entry("", True)
        if entry is None:
            raise NotFoundError(f"'{path}' does not exist.")
        if entry.is_dir:
            raise NotAFileError(f"'{path}' is a folder, not a file.")
        return await volume.storage.read(inner)

    async def read_text(self, path: str) -> str:
        data = await self.read_bytes(path)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise BinaryFileError(
                f"'{path}' is a binary file ({len(data)} bytes), not UTF-8 text: "
                "download it instead of editing it."
            ) from error

    async def write_bytes(self, path: str, data: bytes) -> None:
        """Write atomically, creating parent folders."""
        volume, inner = self._writable(path)
        if len(data) > MAX_FILE_BYTES:
            size_mb = len(data) / 1e6
            raise QuotaError(f"'{path}' is {size_mb:.1f} MB; one file may hold at most 64 MB.")
        existing = await volume.storage.stat(inner)
        if existing is not None and existing.is_dir:
            raise NotAFileError(f"'{path}' is a folder; a file cannot replace it.")
        await self._ensure_parent(volume, inner)
        await volume.storage.write(inner, data)
        self._emit(Change("created" if existing is None else "written", f"{volume.name}/{inner}"))

    async def write_text(self, path: str, text: str) -> None:
        await self.write_bytes(path, text.encode("utf-8"))

    async def mkdir(self, path: str) -> None:
        volume, inner = self._writable(path)
        existing = await volume.storage.stat(inner)
        if existing is not None:
            if existing.is_dir:
                return
            raise ExistsError(f"'{path}' is already a file.")
        await self._ensure_parent(volume, inner)
        await volume.storage.mkdir(inner)
        self._emit(Change("created", f"{volume.name}/{inner}"))

    async def delete(self, path: str) -> None:
        """Delete a file or a folder with everything in it."""
        volume, inner = self._writable(path)
        if await volume.storage.stat(inner) is None:
            raise NotFoundError(f"'{path}' does not exist.")
        await volume.storage.delete(inner)
        self._emit(Change("deleted", f"{volume.name}/{inner}"))

    async def rename(self, src: str, dst: str) -> None:
        """Move ``src`` to ``dst`` within one volume; refuses to overwrite."""
        volume, inner = self._writable(src)
        dst_volume, dst_inner = self._writable(dst)
        if dst_volume is not volume:
            raise PathError("Moving between volumes is not supported: copy, then delete.")
        if await volume.storage.stat(inner) is None:
            raise NotFoundError(f"'{src}' does not exist.")
        if await volume.storage.stat(dst_inner) is not None:
            raise ExistsError(f"'{dst}' already exists.")
        if dst_inner.startswith(inner + "/"):
            raise PathError(f"'{src}' cannot be moved inside itself.")
        await self._ensure_parent(volume, dst_inner)
        await volume.storage.move(inner, dst_inner)
        self._emit(Change("moved", f"{volume.name}/{inner}", f"{volume.name}/{dst_inner}"))

    async def _ensure_parent(self, volume: Volume, inner: str) -> None:
        folder = paths.parent(inner)
        if not folder:
            return
        entry = await volume.storage.stat(folder)
        if entry is None:
            await self._ensure_parent(volume, folder)
            await volume.storage.mkdir(folder)
        elif not entry.is_dir:
            raise NotAFileError(f"'{volume.name}/{folder}' is a file, not a folder.")
