"""Fixtures for the core tests, which run natively and inside Pyodide in Chromium alike.

``storage`` is every :class:`~llmos.platform.Storage` backend available where the tests run:
memory and a real directory everywhere, plus OPFS and IndexedDB in the browser.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from llmos.platform import Storage
from llmos.platform.memory import MemoryStorage
from llmos.platform.native import DirectoryStorage
from llmos.vfs import Vfs, Volume

from tests.conftest import run

IN_BROWSER = sys.platform == "emscripten"
BACKENDS = ["memory", "directory", *(["opfs", "indexeddb"] if IN_BROWSER else [])]


def make_storage(kind: str, tmp_path: Path) -> Storage:
    if kind == "memory":
        return MemoryStorage()
    if kind == "directory":
        return DirectoryStorage(tmp_path / "volume")
    from js import llmosTest
    from llmos.platform.browser.storage import JsStorage
    from pyodide.ffi import run_sync  # browser backends: the real storage.mjs over OPFS / IDB

    opened: Any = run_sync(llmosTest.openStorage(kind, f"test-{uuid.uuid4().hex}"))
    return JsStorage(opened.user)


@pytest.fixture(params=BACKENDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    return make_storage(request.param, tmp_path)


SHIPPED = {"docs/guide.md": b"# Guide\n", "agents/system.md": b"You are helpful.\n"}


@pytest.fixture
def shipped_storage() -> MemoryStorage:
    """A stand-in for the shipped, read-only ``system`` volume."""
    shipped = MemoryStorage()

    async def fill() -> None:
        for path, data in SHIPPED.items():
            await shipped.mkdir(path.rsplit("/", 1)[0])
            await shipped.write(path, data)

    run(fill())
    return shipped


@pytest.fixture
def vfs(storage: Storage, shipped_storage: MemoryStorage) -> Vfs:
    """A VFS with a writable ``user`` volume on each backend and a read-only ``system`` one."""
    mounted = Vfs()
    mounted.mount(Volume("system", shipped_storage, writable=False, description="Shipped"))
    mounted.mount(Volume("user", storage, writable=True, description="Your files"))
    return mounted
