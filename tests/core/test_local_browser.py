"""WllamaEngine, the browser side of the local model, over a fake JS bridge: streaming, Stop,
and bridge failures. Pyodide only (it drives real JS objects): tests/core/conftest.py leaves
this module out of the native run; tests/test_core_in_pyodide.py runs it in Chromium."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from llmos.errors import LlmError
from llmos.llm.types import ChatRequest, Completion, Message

FAKE_BRIDGE_JS = """(endless, failure) => ({
  aborted: false,
  chat(payload, onToken, onProgress) {
    onProgress({ stage: "Downloading the local model", loaded: 5, total: 10 });
    if (failure) return Promise.reject(new Error(failure));
    return new Promise((resolve) => {
      let n = 0;
      const tick = () => {
        if (this.aborted) return resolve(JSON.stringify({ text: "", finish_reason: "aborted" }));
        if (n === 3 && !endless) {
          const usage = { prompt_tokens: 5, completion_tokens: 3 };
          return resolve(JSON.stringify({ text: "a b c", usage, stats: { tokens_per_s: 9 } }));
        }
        onToken(["a", " b", " c"][n++ % 3]);
        setTimeout(tick, 5);
      };
      tick();
    });
  },
  abort() { this.aborted = true; },
})"""


def fake_engine(
    progress: list[dict[str, Any]], endless: bool = False, failure: str = ""
) -> tuple[Any, Any]:
    from llmos.platform.browser.local_llm import WllamaEngine
    from pyodide.code import run_js

    bridge = run_js(FAKE_BRIDGE_JS)(endless, failure)
    return WllamaEngine(progress.append, bridge=bridge), bridge


async def test_the_engine_streams_text_then_one_completion() -> None:
    progress: list[dict[str, Any]] = []
    engine, _ = fake_engine(progress)
    items = [item async for item in engine.stream(ChatRequest([Message("user", "hi")]))]
    assert [i.text for i in items[:-1]] == ["a", " b", " c"]
    done = items[-1]
    assert isinstance(done, Completion)
    assert done.message.content == "a b c"
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (5, 3)
    assert engine.stats == {"tokens_per_s": 9}
    assert progress == [
        {"stage": "Downloading the local model", "pct": 50, "loaded": 5, "total": 10}
    ]


async def test_cancelling_the_consumer_stops_the_model() -> None:
    engine, bridge = fake_engine([], endless=True)
    seen: list[Any] = []

    async def consume() -> None:
        async for item in engine.stream(ChatRequest([Message("user", "hi")])):
            seen.append(item)

    task = asyncio.ensure_future(consume())
    while not seen:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert bridge.aborted


async def test_bridge_failures_become_llm_errors() -> None:
    engine, _ = fake_engine([], failure="[out_of_memory] Not enough memory for the local model.")
    with pytest.raises(LlmError, match=r"^Not enough memory") as caught:
        async for _ in engine.stream(ChatRequest([Message("user", "hi")])):
            pass
    assert caught.value.code == "out_of_memory"
