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

IN_BROWSER = sys.platform == "emscripten"
BACKENDS = ["memory", "directory", *(["opfs", "indexeddb"] if IN_BROWSER else [])]


def make_storage(kind: str, tmp_path: Path) -> Storage:
    if kind == "memory":
        return MemoryStorage()
    if kind == "directory":
        return DirectoryStorage(tmp_path / "volume")
    from pyodide.ffi import run_sync  # browser backends: the real storage.mjs over OPFS / IDB

    from js import llmosTest  # type: ignore[import-not-found]
    from llmos.platform.browser.storage import JsStorage

    opened: Any = run_sync(llmosTest.openStorage(kind, f"test-{uuid.uuid4().hex}"))
    return JsStorage(opened.user)


@pytest.fixture(params=BACKENDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    return make_storage(request.param, tmp_path)
