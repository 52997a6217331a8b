"""The ``llmos`` console script: the OS's file system from a terminal, on a workspace folder.

A workspace has the same layout as the browser's user volume, so a clone of a user's synced
repository works. Later issues add ``llmos mcp``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

import llmos
from llmos.errors import LlmosError
from llmos.platform.native import DirectoryStorage
from llmos.service import system_storage
from llmos.vfs import Vfs, Volume


def open_vfs(workspace: str) -> Vfs:
    vfs = Vfs()
    vfs.mount(Volume("system", system_storage(), writable=False))
    vfs.mount(Volume("user", DirectoryStorage(workspace), writable=True))
    return vfs


async def _ls(vfs: Vfs, path: str) -> None:
    for entry in await vfs.list(path):
        print(f"{entry.path}/" if entry.is_dir else f"{entry.path}\t{entry.size}")


async def _cat(vfs: Vfs, path: str) -> None:
    sys.stdout.write(await vfs.read_text(path))


async def _put(vfs: Vfs, path: str) -> None:
    await vfs.write_bytes(path, sys.stdin.buffer.read())


COMMANDS = {"ls": _ls, "cat": _cat, "put": _put}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llmos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"llmos {llmos.__version__}")
    parser.add_argument("--workspace", default=".", help="folder used as the user volume")
    parser.add_argument("command", choices=sorted(COMMANDS), help="ls, cat, or put (from stdin)")
    parser.add_argument("path", nargs="?", default="user", help="a VFS path, e.g. user/notes.md")
    args = parser.parse_args(argv)
    try:
        asyncio.run(COMMANDS[args.command](open_vfs(args.workspace), args.path))
    except LlmosError as error:
        print(f"llmos: {error}", file=sys.stderr)
        return 1
    return 0
