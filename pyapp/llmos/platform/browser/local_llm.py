"""The local model as an :class:`~llmos.llm.types.LlmEngine`: SmolLM2 through wllama, via
``globalThis.llmosLocalLlm`` (``web/bridges/local-llm.mjs``) in this same OS worker.

The model loads on the first request; ``on_progress`` receives ``{stage, pct, loaded, total}``
while it downloads (or is read from the browser's disk). Generations run one at a time; cancelling
the consuming task (or closing the stream) stops the model, also while it loads. ``stats`` holds
the numbers of the latest run: ``load_ms`` and ``cached`` (of the latest load), ``loaded_now``
(whether this run loaded it), ``ttft_ms`` (prompt evaluation included, load excluded),
``tokens_per_s``, ``prompt_tokens_per_s``, ``n_threads``...
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import js
from pyodide.ffi import JsException, create_proxy

from llmos.errors import LlmError
from llmos.llm.types import ChatRequest, StreamItem, TextDelta


def _bridge() -> Any:
    bridge = getattr(js, "llmosLocalLlm", None)
    if bridge is None:
        raise LlmError(
            "The local model is not available here: web/bridges/local-llm.mjs is not loaded "
            "in this worker.",
            "unsupported",
        )
    return bridge


def progress_event(raw: dict[str, Any]) -> dict[str, Any]:
    """The bridge's ``{stage, loaded, total}`` with a percentage."""
    loaded, total = int(raw.get("loaded") or 0), int(raw.get("total") or 0)
    pct = round(100 * loaded / total) if total else 0
    return {"stage": str(raw.get("stage", "")), "pct": pct, "loaded": loaded, "total": total}


def _settle(pending: asyncio.Future[Any], bridge: Any, proxies: list[Any]) -> None:
    """Release the callbacks once the bridge is done with them; stop it first if it still runs
    (the consumer was cancelled or closed the stream)."""

    def release(_: object = None) -> None:
        if pending.done() and not pending.cancelled():
            pending.exception()  # retrieved: a late failure after a stop is not news
        for proxy in proxies:
            proxy.destroy()

    if pending.done():
        release()
    else:
        bridge.abort()
        pending.add_done_callback(release)


class WllamaEngine:
    """SmolLM2-135M-Instruct in the browser (see the module doc)."""

    name = "local"

    def __init__(self, on_progress: Callable[[dict[str, Any]], None], bridge: Any = None) -> None:
        self._on_progress = on_progress
        self._bridge = bridge
        self._lock = asyncio.Lock()
        self.stats: dict[str, Any] = {}

    def _progress(self, raw: Any) -> None:
        self._on_progress(progress_event(raw.to_py() if hasattr(raw, "to_py") else dict(raw)))

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamItem]:
        """See :class:`~llmos.llm.types.LlmEngine`."""
        from llmos.llm import local  # prompts and grammars: imported on first use, not at boot

        async with self._lock:
            bridge = self._bridge or _bridge()
            pieces: asyncio.Queue[str | None] = asyncio.Queue()
            on_token = create_proxy(pieces.put_nowait)
            on_progress = create_proxy(self._progress)
            shown = local.DeltaFilter(bool(request.tools))
            payload = json.dumps(local.build_payload(request))
            pending = asyncio.ensure_future(bridge.chat(payload, on_token, on_progress))
            pending.add_done_callback(lambda _: pieces.put_nowait(None))
            try:
                while (piece := await pieces.get()) is not None:
                    if text := shown.feed(piece):
                        yield TextDelta(text)
                raw = await pending
            except JsException as error:
                raise local.error_from_bridge(str(error)) from None
            finally:
                _settle(pending, bridge, [on_token, on_progress])
        result = json.loads(str(raw))
        self.stats = dict(result.get("stats") or {})
        yield local.completion_from_result(result, request.tools)
