"""Shared pytest set-up: ``async def`` tests run to completion on whichever event loop exists.

Natively that is ``asyncio.run``; inside Pyodide (the in-browser tier, see
``tests/test_core_in_pyodide.py``) it is ``pyodide.ffi.run_sync`` on the browser's loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import io
import sys
import zipfile
from collections.abc import Coroutine
from typing import Any, TypeVar

import pytest

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from synchronous code, natively or in Pyodide."""
    if sys.platform == "emscripten":
        from pyodide.ffi import run_sync

        return run_sync(coro)  # type: ignore[no-any-return]
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass  # the usual case; asyncio.run below, outside this handler (no stray __context__)
    else:
        # Another loop runs on this thread (Playwright's sync API, once a browser test started):
        # asyncio.run refuses to nest, so run the coroutine on a fresh loop in a helper thread.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, coro).result()
    return asyncio.run(coro)


def zip_of(files: dict[str, bytes] | dict[str, str]) -> bytes:
    """A deflated zip archive holding ``files`` (path -> content)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(path, data)
    return buffer.getvalue()


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    run(pyfuncitem.obj(**{name: pyfuncitem.funcargs[name] for name in names}))
    return True
