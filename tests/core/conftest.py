"""Fixtures for the core tests, which run natively and inside Pyodide in Chromium alike.

``storage`` is every :class:`~llmos.platform.Storage` backend available where the tests run:
memory and a real directory everywhere, plus OPFS and IndexedDB in the browser. ``llm_server``
is a scripted OpenAI-compatible endpoint and ``http`` this platform's HTTP transport.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llmos.platform import Storage
from llmos.platform.http import Http
from llmos.platform.memory import MemoryStorage
from llmos.platform.native import DirectoryStorage
from llmos.vfs import Vfs, Volume

from tests.conftest import run
from tests.llm_server import RemoteScriptedLLM, ScriptedLLM

IN_BROWSER = sys.platform == "emscripten"
# Modules that drive real JS objects: collected only inside Pyodide, where they run in full.
collect_ignore = [] if IN_BROWSER else ["test_local_browser.py", "test_vector_index_browser.py"]
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


# --- LLM endpoint tests --------------------------------------------------------------------------
# A scripted OpenAI-compatible server and this platform's HTTP transport: httpx natively; in
# Pyodide, fetch against a ScriptedLLM that tests/test_core_in_pyodide.py runs on the host and
# announces in ``llmosTest.llmServer`` (driven here with blocking XHR calls).


def _xhr(method: str, url: str, body: bytes | None) -> bytes:
    from js import XMLHttpRequest

    request = XMLHttpRequest.new()
    request.open(method, url, False)
    request.setRequestHeader("Content-Type", "text/plain")
    request.send(body.decode("utf-8") if body is not None else None)
    return str(request.responseText).encode("utf-8")


@pytest.fixture
def llm_server() -> Iterator[ScriptedLLM | RemoteScriptedLLM]:
    if not IN_BROWSER:
        with ScriptedLLM() as server:
            yield server
        return
    from js import llmosTest

    announced = llmosTest.llmServer
    remote = RemoteScriptedLLM(str(announced.root), str(announced.deadUrl), _xhr)
    remote.reset()
    yield remote


@pytest.fixture
def http() -> Http:
    if IN_BROWSER:
        from llmos.platform.browser.http import FetchHttp

        return FetchHttp()
    from llmos.platform.native_http import NativeHttp

    return NativeHttp()


# --- memory ---------------------------------------------------------------------------------------
# The real embedding model: onnxruntime natively; onnxruntime-web (WASM) inside Pyodide, through
# web/bridges/embedder.mjs, which the harness page imports. One engine per test session.
_ENGINE: list[Any] = []


@pytest.fixture
def embedding_engine() -> Any:
    if not _ENGINE:
        if IN_BROWSER:
            from llmos.platform.browser.embedder import OrtWebEngine

            _ENGINE.append(OrtWebEngine("wasm"))
        else:
            from llmos.platform.native_embedder import OnnxEmbedder

            _ENGINE.append(OnnxEmbedder())
    return _ENGINE[0]
