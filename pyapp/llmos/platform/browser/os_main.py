"""Entry point of the OS worker: builds the OS service over browser storage and hands JS a
function that answers JSON requests with JSON replies."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from llmos import protocol
from llmos.platform.browser.embedder import OrtWebEngine
from llmos.platform.browser.http import FetchHttp
from llmos.platform.browser.local_llm import WllamaEngine
from llmos.platform.browser.sandbox import KernelSandbox
from llmos.platform.browser.storage import JsStorage
from llmos.platform.browser.vector_index import JsIndex
from llmos.service import OsService


async def start(
    user_store: Any, private_store: Any, post: Callable[[str], None]
) -> Callable[[str], Awaitable[str]]:
    """Create the OS; ``post`` receives events as JSON text. Returns the request handler."""
    service = await OsService.create(
        JsStorage(user_store), JsStorage(private_store), lambda event: post(json.dumps(event))
    )
    service.http = FetchHttp()
    service.sandbox = KernelSandbox()
    service.engines["local"] = WllamaEngine(
        on_progress=lambda p: service.emit(protocol.event("llm.progress", **p))
    )
    service.vector_index = JsIndex
    service.embedding_engine = lambda prefer: OrtWebEngine(
        prefer, on_progress=lambda p: service.emit(protocol.event("memory.progress", **p))
    )

    async def handle(raw: str) -> str:
        return json.dumps(await service.handle(raw))

    return handle
