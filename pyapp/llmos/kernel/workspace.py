"""The kernel's working directory: files handed in before a run, files the run changed after it.

Paths are relative and ``/``-separated, checked by :func:`llmos.vfs.paths.normalize`, so a
file can never land outside the workspace. Changes are found by comparing size and mtime;
files modified just before a run are also hashed, since a same-size rewrite within the clock's
granularity (milliseconds in the browser) keeps the mtime.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from llmos.errors import PathError
from llmos.vfs import paths

SKIPPED_DIRS = frozenset({"__pycache__"})
RECENT_NS = 2_000_000_000  # hash files modified less than this long before a run starts

Stamp = tuple[int, int, str | None]  # size, mtime_ns, digest (recently modified files only)


@dataclass(frozen=True)
class Limits:
    """How much a run may hand back: per file and in all."""

    file_bytes: int = 10_000_000
    total_bytes: int = 32_000_000


def relative(path: str) -> str:
    """``path`` in canonical relative form; refuses absolute paths, ``..`` and the root."""
    found = paths.normalize(path)
    if not found:
        raise PathError(f"'{path}' names the workspace itself, not a file in it.")
    return found


def decode_files(encoded: Mapping[str, str]) -> dict[str, bytes]:
    """``{path: base64}`` as sent over the protocol to ``{path: bytes}``."""
    try:
        return {path: base64.b64decode(data, validate=True) for path, data in encoded.items()}
    except (binascii.Error, TypeError) as error:
        raise ValueError(f"A file sent to the kernel was not valid base64: {error}.") from error


def encode_files(files: Mapping[str, bytes]) -> dict[str, str]:
    return {path: base64.b64encode(data).decode("ascii") for path, data in files.items()}


class Workspace:
    """Files under ``root`` (created if missing)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def write(self, files: Mapping[str, bytes]) -> None:
        """Write each file, creating folders; every path is checked before anything is written."""
        checked = {relative(path): data for path, data in files.items()}
        for path, data in checked.items():
            target = self.root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)

    def scan(self, file_bytes: int = Limits.file_bytes) -> dict[str, Stamp]:
        """A stamp per regular file (symlinks and ``__pycache__`` skipped)."""
        recent = time.time_ns() - RECENT_NS
        stamps: dict[str, Stamp] = {}
        for folder, dirs, names in os.walk(self.root):
            dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
            for name in names:
                full = os.path.join(folder, name)
                info = os.lstat(full)
                if not stat.S_ISREG(info.st_mode):  # symlinks could point outside the root
                    continue
                digest = None
                if info.st_mtime_ns >= recent and info.st_size <= file_bytes:
                    digest = _digest(full)
                rel = os.path.relpath(full, self.root).replace(os.sep, "/")
                stamps[rel] = (info.st_size, info.st_mtime_ns, digest)
        return stamps

    def changed(self, before: Mapping[str, Stamp]) -> list[str]:
        """Paths created or modified since ``before`` was scanned, sorted."""
        found = []
        for path, (size, mtime, _) in self.scan(file_bytes=-1).items():
            old = before.get(path)
            if (
                old is None
                or old[:2] != (size, mtime)
                or (old[2] is not None and old[2] != _digest(str(self.root / path)))
            ):
                found.append(path)
        return sorted(found)

    def collect(self, changed: list[str], limits: Limits) -> tuple[dict[str, bytes], list[str]]:
        """Read ``changed`` within ``limits``; the notes say what was left out and why."""
        files: dict[str, bytes] = {}
        notes: list[str] = []
        total = 0
        for path in changed:
            target = self.root / path
            size = target.stat().st_size if target.is_file() else -1
            if size < 0:  # removed again, e.g. by a thread the code left running
                continue
            if size > limits.file_bytes:
                notes.append(
                    f"{path} not returned: {_mb(size)} is over the per-file limit "
                    f"of {_mb(limits.file_bytes)}."
                )
            elif total + size > limits.total_bytes:
                notes.append(
                    f"{path} not returned: this run's files would pass the limit "
                    f"of {_mb(limits.total_bytes)} in all."
                )
            else:
                files[path] = target.read_bytes()
                total += len(files[path])
        return files, notes


def _digest(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha1").hexdigest()


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"
