"""The applets of the user volume (``user/applets/<name>/``) and the shipped ones (``system``).

An applet is saved whole or not at all, like a skill: its UI files go to a staging folder, then
the folder is renamed into place (the previous version is moved aside first, and put back if
that rename fails). The applet's own data (``data/``, what its ``files`` tools write) moves
along into each new version. A folder whose manifest is broken is still listed, with its
problem, so one bad applet never hides the others.
"""

from __future__ import annotations

import asyncio
import base64
import io
import zipfile
from dataclasses import dataclass
from typing import Any

from llmos.applets.model import (
    MANIFEST,
    MAX_APPLET_BYTES,
    AppletError,
    Manifest,
    check_name,
    check_ui_size,
    parse_manifest,
)
from llmos.errors import ExistsError, NotFoundError, PathError, ReadOnlyError
from llmos.vfs import Vfs, paths
from llmos.vfs.folders import FolderSwap

USER_DIR = "user/applets"
SYSTEM_DIR = "system/applets"
SYSTEM_DATA = f"{USER_DIR}/.system-data"  # where shipped (read-only) applets keep their data
DATA = "data"
MAX_FILES = 200
MAX_ICON_BYTES = 100_000  # an .svg icon, shown as an image (an SVG image runs no script)
MAX_ZIP_BYTES = 2 * MAX_APPLET_BYTES  # unpacked: room for a refusal that names the real limit
_ZIP_TIME = (2026, 1, 1, 0, 0, 0)  # fixed, so exporting one applet twice gives the same bytes


@dataclass
class AppletInfo:
    """An applet as the desktop lists it; ``problem`` says why a broken one cannot open."""

    name: str
    volume: str  # "user" or "system"
    manifest: dict[str, Any] | None
    problem: str | None = None
    icon_url: str | None = None  # a data: URL when the icon is an .svg file of the applet

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "volume": self.volume,
            "manifest": self.manifest,
            "problem": self.problem,
            "icon_url": self.icon_url,
        }


@dataclass
class Applet:
    manifest: Manifest
    entry: str  # the entry file's text: the HTML document or the Panel app's code
    volume: str
    icon_url: str | None = None


class AppletStore:
    """Every applet one VFS holds, user ones first; names are unique across both volumes."""

    def __init__(self, vfs: Vfs) -> None:
        self.vfs = vfs
        self._lock = asyncio.Lock()  # one write at a time: they share the staging folder
        self._folders = FolderSwap(vfs, USER_DIR, keep=DATA)

    # --- reading -----------------------------------------------------------------------------
    async def list(self) -> list[AppletInfo]:
        await self._recover()
        found: dict[str, AppletInfo] = {}
        for volume, root in (("user", USER_DIR), ("system", SYSTEM_DIR)):
            if not await self._has(root):
                continue
            for entry in await self.vfs.list(root):
                if entry.is_dir and not entry.name.startswith(".") and entry.name not in found:
                    found[entry.name] = await self._info(entry.name, volume)
        return sorted(found.values(), key=lambda i: i.name)

    async def _info(self, name: str, volume: str) -> AppletInfo:
        folder = f"{_root(volume)}/{name}"
        try:
            manifest = await self._manifest(folder, name)
        except (AppletError, NotFoundError, PathError) as error:
            return AppletInfo(name, volume, None, str(error))
        return AppletInfo(
            name, volume, manifest.to_dict(), icon_url=await self._icon(folder, manifest)
        )

    async def _icon(self, folder: str, manifest: Manifest) -> str | None:
        """The icon as a ``data:image/svg+xml`` URL when it names an .svg file of the applet
        (at most :data:`MAX_ICON_BYTES`); None for an emoji, or a file that is not there."""
        if not manifest.icon.lower().endswith(".svg"):
            return None
        try:
            path = f"{folder}/{paths.normalize(manifest.icon)}"
            entry = await self.vfs.stat(path)
            if entry is None or entry.is_dir or entry.size > MAX_ICON_BYTES:
                return None
            data = await self.vfs.read_bytes(path)
        except (NotFoundError, PathError):
            return None
        return "data:image/svg+xml;base64," + base64.b64encode(data).decode("ascii")

    async def _manifest(self, folder: str, name: str) -> Manifest:
        path = f"{folder}/{MANIFEST}"
        if not await self.vfs.exists(path):
            raise AppletError(f"{path} is missing: an applet folder needs a manifest.")
        return parse_manifest(await self.vfs.read_bytes(path), name)

    async def locate(self, name: str) -> tuple[str, str]:
        """``(volume, folder)`` of applet ``name``; :class:`NotFoundError` when there is none."""
        check_name(name)
        for volume in ("user", "system"):
            folder = f"{_root(volume)}/{name}"
            if await self._has(folder):
                return volume, folder
        raise NotFoundError(f"There is no applet '{name}'.")

    async def get(self, name: str) -> Applet:
        volume, folder = await self.locate(name)
        manifest = await self._manifest(folder, name)
        path = f"{folder}/{manifest.entry}"
        if not await self.vfs.exists(path):
            raise AppletError(f"{path} is missing: the manifest names it as the entry.")
        entry = await self.vfs.stat(path)
        check_ui_size(name, entry.size if entry is not None else 0)
        text = await self.vfs.read_text(path)
        return Applet(manifest, text, volume, await self._icon(folder, manifest))

    async def ui_files(self, name: str) -> dict[str, bytes]:
        """The applet's files without its data: manifest, entry and assets."""
        _, folder = await self.locate(name)
        inside = len(folder) + 1
        files: dict[str, bytes] = {}
        for entry in await self.vfs.walk(folder):
            relative = entry.path[inside:]
            if not entry.is_dir and relative.split("/", 1)[0] != DATA:
                files[relative] = await self.vfs.read_bytes(entry.path)
        return files

    def data_folder(self, name: str, volume: str) -> str:
        """Where applet ``name`` keeps the files it writes (its ``files`` permission)."""
        check_name(name)
        return f"{USER_DIR}/{name}/{DATA}" if volume == "user" else f"{SYSTEM_DATA}/{name}"

    # --- writing -----------------------------------------------------------------------------
    async def save(self, manifest: Manifest, files: dict[str, bytes]) -> None:
        """Save ``manifest`` with its UI ``files`` (paths relative to the applet folder; the
        entry must be among them) as the whole new version. Checked first; a failure leaves
        the previous version as it was."""
        name = manifest.name
        check_name(name)
        if await self._has(f"{SYSTEM_DIR}/{name}"):
            raise ReadOnlyError(f"'{name}' is a shipped applet: duplicate it to change it.")
        clean = _checked_files(name, files)
        if manifest.entry not in clean:
            raise AppletError(f"{name}: its entry {manifest.entry} is not among its files.")
        parse_manifest(manifest.to_json(), name)  # what is written must read back as valid
        clean[MANIFEST] = manifest.to_json().encode("utf-8")
        async with self._lock:
            await self._folders.replace(name, clean)

    async def _recover(self) -> None:
        """Put back a previous version that a crash left aside mid-save."""
        if await self._folders.needs_recovery():
            async with self._lock:
                await self._folders.recover()

    async def _user_folder(self, name: str) -> str:
        volume, folder = await self.locate(name)
        if volume != "user":
            raise ReadOnlyError(f"'{name}' is a shipped applet: it cannot be changed.")
        return folder

    async def rename(self, name: str, new: str) -> Manifest:
        """Rename applet ``name`` (folder and manifest) to ``new``."""
        folder = await self._user_folder(name)
        check_name(new)
        if new != name and await self._taken(new):
            raise ExistsError(f"An applet named '{new}' exists already: pick another name.")
        manifest = await self._manifest(folder, name)
        manifest.name = new
        async with self._lock:
            target = f"{USER_DIR}/{new}"
            if new != name:
                await self.vfs.rename(folder, target)
            try:
                await self.vfs.write_text(f"{target}/{MANIFEST}", manifest.to_json())
            except BaseException:
                if new != name:
                    await self.vfs.rename(target, folder)
                raise
        return manifest

    async def duplicate(self, name: str) -> Manifest:
        """A copy of applet ``name`` (user or shipped) as a new user applet, without its data."""
        _, folder = await self.locate(name)
        manifest = await self._manifest(folder, name)
        files = await self.ui_files(name)
        files.pop(MANIFEST, None)
        manifest.name = await self.free_name(f"{name[:59]}-copy")
        manifest.title = f"{manifest.title} (copy)"[:120]
        manifest.version = 1
        manifest.created_by = "user"
        await self.save(manifest, files)
        return manifest

    async def delete(self, name: str) -> None:
        folder = await self._user_folder(name)
        async with self._lock:
            await self.vfs.delete(folder)

    async def exists(self, name: str) -> bool:
        """Whether an applet (user or shipped) is called ``name``."""
        return await self._taken(check_name(name))

    async def _taken(self, name: str) -> bool:
        return any([await self._has(f"{root}/{name}") for root in (USER_DIR, SYSTEM_DIR)])

    async def _has(self, path: str) -> bool:
        """Whether ``path`` exists; False on a volume this VFS lacks (no ``system`` in tests)."""
        try:
            return await self.vfs.exists(path)
        except NotFoundError:
            return False

    async def free_name(self, base: str) -> str:
        """``base``, or ``base-2``, ``base-3``... whichever no applet has yet."""
        candidate, number = base, 1
        while await self._taken(candidate):
            number += 1
            candidate = f"{base[: 64 - len(str(number)) - 1]}-{number}"
        return candidate

    # --- import / export ---------------------------------------------------------------------
    async def export_zip(self, name: str) -> bytes:
        """Applet ``name`` as ``<name>/manifest.json`` + its UI files (its data stays here)."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path, data in sorted((await self.ui_files(name)).items()):
                entry = zipfile.ZipInfo(f"{name}/{path}", _ZIP_TIME)
                entry.compress_type = zipfile.ZIP_DEFLATED
                entry.external_attr = 0o644 << 16
                archive.writestr(entry, data)
        return buffer.getvalue()

    async def import_zip(self, data: bytes) -> Manifest:
        """Import one applet from a zip (``manifest.json`` at its root or in one folder). A name
        already taken gets a free one (``name-2``); the import never brings grants along."""
        files = _unpack(data)
        raw = files.pop(MANIFEST, None)
        if raw is None:
            raise AppletError(f"The zip holds no {MANIFEST}: an applet is a folder with one.")
        manifest = parse_manifest(raw)
        files = {p: d for p, d in files.items() if p.split("/", 1)[0] != DATA}
        manifest.name = await self.free_name(manifest.name)
        if manifest.created_by == "system":
            manifest.created_by = "user"  # only the system volume holds system applets
        await self.save(manifest, files)
        return manifest


def _root(volume: str) -> str:
    return USER_DIR if volume == "user" else SYSTEM_DIR


def _checked_files(name: str, files: dict[str, bytes]) -> dict[str, bytes]:
    if len(files) > MAX_FILES:
        raise AppletError(f"{name}: {len(files)} files; an applet may hold at most {MAX_FILES}.")
    clean: dict[str, bytes] = {}
    for path, data in files.items():
        try:
            relative = paths.normalize(path)
        except PathError as error:
            raise AppletError(f"{name}: {error}") from error
        if not relative or relative.split("/", 1)[0] == DATA or relative == MANIFEST:
            raise AppletError(f"{name}: '{path}' is not a file an applet's UI may hold.")
        clean[relative] = data
    check_ui_size(name, sum(len(d) for d in clean.values()))
    return clean


def _unpack(data: bytes) -> dict[str, bytes]:
    """The zip's files relative to the applet folder; escapes, links and more than
    :data:`MAX_ZIP_BYTES` unpacked are refused (the skills' careful reader, a lower cap)."""
    from llmos.skills.spec import SkillError
    from llmos.skills.store import read_zip

    try:
        files = read_zip(data, MAX_ZIP_BYTES)
    except SkillError as error:
        raise AppletError(str(error)) from error
    tops = {path.split("/", 1)[0] for path in files}
    if MANIFEST not in files and len(tops) == 1:
        top = tops.pop()
        files = {path[len(top) + 1 :]: content for path, content in files.items()}
    return files
