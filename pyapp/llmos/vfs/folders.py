"""Whole-folder replacement inside a volume, never half-written.

The new version is written into ``<parent>/.staging/<name>``, the old folder is moved to
``<parent>/.previous/<name>``, the new one is renamed into place, and only then is the old one
deleted. A failure at any step puts the old version back; a crash between the two renames
leaves the old version aside, and :meth:`FolderSwap.recover` puts it back. Dot folders are
never listed as items by the stores that use this (skills, applets).
"""

from __future__ import annotations

from llmos.vfs import Vfs


class FolderSwap:
    """Replaces ``<parent>/<name>`` folders whole; ``keep`` names a subfolder that survives
    from the old version to the new one (an applet's own ``data/``). Callers serialise calls:
    they share the staging folder."""

    def __init__(self, vfs: Vfs, parent: str, keep: str | None = None) -> None:
        self.vfs = vfs
        self.parent = parent
        self.staging = f"{parent}/.staging"
        self.aside = f"{parent}/.previous"
        self.keep = keep

    async def replace(self, name: str, files: dict[str, bytes]) -> None:
        """Write ``files`` (paths relative to the folder) as the whole folder ``name``."""
        folder, staged = f"{self.parent}/{name}", f"{self.staging}/{name}"
        aside = f"{self.aside}/{name}"
        for leftover in (staged, aside):
            if await self.vfs.exists(leftover):
                await self.vfs.delete(leftover)
        try:
            for path, data in files.items():
                await self.vfs.write_bytes(f"{staged}/{path}", data)
        except BaseException:
            if await self.vfs.exists(staged):
                await self.vfs.delete(staged)
            await self._tidy()
            raise
        had_previous = await self.vfs.exists(folder)
        if had_previous:
            await self.vfs.rename(folder, aside)
            await self._carry(aside, staged)
        try:
            await self.vfs.rename(staged, folder)
        except BaseException:
            if had_previous:
                await self._carry(staged, aside)
                await self.vfs.rename(aside, folder)
            raise
        if had_previous:
            await self.vfs.delete(aside)
        await self._tidy()

    async def needs_recovery(self) -> bool:
        return await self.vfs.exists(self.aside)

    async def recover(self) -> None:
        """Put back each old version a crash left aside (unless its folder is back already)."""
        if not await self.vfs.exists(self.aside):
            return
        for entry in await self.vfs.list(self.aside):
            folder = f"{self.parent}/{entry.name}"
            if await self.vfs.exists(folder):
                await self.vfs.delete(entry.path)
            else:
                await self.vfs.rename(entry.path, folder)
        await self._tidy()

    async def _carry(self, source: str, target: str) -> None:
        if self.keep and await self.vfs.exists(f"{source}/{self.keep}"):
            await self.vfs.rename(f"{source}/{self.keep}", f"{target}/{self.keep}")

    async def _tidy(self) -> None:
        for helper in (self.staging, self.aside):
            if await self.vfs.exists(helper) and not await self.vfs.list(helper):
                await self.vfs.delete(helper)
