"""Memory in the real app: the embedder in onnxruntime-web gives the native vectors (WASM, and
WebGPU on SwiftShader), and the store survives reloads, browser restarts and a page killed in
the middle of a write."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright

import build
from conftest import chromium_launch_args
from e2e.conftest import OffsiteGuard, wait_ready
from tests.tokenizer_corpus import corpus

PARITY_SENTENCES = 200
MIN_COSINE = 0.9999


def call(page: Page, method: str, **params: Any) -> Any:
    reply = page.evaluate("([m, p]) => window.llmos.request(m, p)", [method, params])
    assert reply["ok"], f"{method}: {reply.get('error')}"
    return reply["result"]


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    texts = list(corpus())
    step = max(1, len(texts) // PARITY_SENTENCES)
    return texts[::step][:PARITY_SENTENCES]


@pytest.fixture(scope="module")
def native_vectors(sentences: list[str]) -> list[list[float]]:
    from llmos.memory.embedder import TextEmbedder
    from llmos.memory.tokenizer import WordPieceTokenizer
    from llmos.platform.native_embedder import OnnxEmbedder

    from tests.conftest import run

    embedder = TextEmbedder(WordPieceTokenizer.load(), OnnxEmbedder())
    return [list(v) for v in run(embedder.embed_texts(sentences))]


def browser_vectors(
    page: Page, backend: str, sentences: list[str]
) -> tuple[list[Any], dict[str, Any]]:
    call(page, "memory.settings.set", values={"backend": backend})
    vectors: list[Any] = []
    engine: dict[str, Any] = {}
    for start in range(0, len(sentences), 32):
        out = call(page, "memory.embed", texts=sentences[start : start + 32])
        vectors += out["vectors"]
        engine = out["engine"]
    return vectors, engine


def cosines(a: list[list[float]], b: list[list[float]]) -> list[float]:
    return [
        math.fsum(x * y for x, y in zip(u, v, strict=True))
        / math.sqrt(math.fsum(x * x for x in u) * math.fsum(y * y for y in v))
        for u, v in zip(a, b, strict=True)
    ]


def test_wasm_vectors_match_native_onnxruntime(
    app: Page, sentences: list[str], native_vectors: list[list[float]]
) -> None:
    vectors, engine = browser_vectors(app, "wasm", sentences)
    assert engine["backend"] == "wasm"
    assert engine["threads"] >= 1
    worst = min(cosines(vectors, native_vectors))
    assert worst >= MIN_COSINE, f"worst cosine {worst}"


def test_webgpu_vectors_match_native_onnxruntime(  # noqa: PLR0917 (pytest fixtures)
    playwright: Playwright,
    app_server: build.Background,
    tmp_path: Path,
    guard: OffsiteGuard,
    sentences: list[str],
    native_vectors: list[list[float]],
) -> None:
    args = chromium_launch_args()
    args["args"] = [*args["args"], "--enable-unsafe-webgpu"]
    browser = playwright.chromium.launch(**args)
    try:
        page = guard.watch(browser.new_context()).new_page()
        page.goto(app_server.url + "/")
        wait_ready(page)
        vectors, engine = browser_vectors(page, "webgpu", sentences[:64])
    finally:
        browser.close()
    assert engine["backend"] == "webgpu"
    assert engine["adapter"]["architecture"] == "swiftshader"
    worst = min(cosines(vectors, native_vectors[:64]))
    assert worst >= MIN_COSINE, f"worst cosine {worst}"


WAIT_COUNT_JS = """async (n) => {
  const until = performance.now() + 120000;
  for (;;) {
    const stats = (await window.llmos.request('memory.stats', {})).result;
    if (stats && stats.count >= n) return stats;
    if (performance.now() > until) return stats;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}"""


def _wait_count(page: Page, at_least: int) -> dict[str, Any]:
    """The memory's stats once it holds ``at_least`` records (writes run in the background)."""
    stats: dict[str, Any] = page.evaluate(WAIT_COUNT_JS, at_least)
    assert stats["count"] >= at_least, stats
    return stats


def test_memory_survives_reload_and_browser_restart(
    persistent: Callable[[], BrowserContext], app_server: build.Background
) -> None:
    page = persistent().new_page()
    page.goto(app_server.url + "/")
    wait_ready(page)
    call(page, "fs.write", path="user/recipes.md", text="Grandma's soup: smoked paprika and leeks.")
    _wait_count(page, 1)
    page.reload()
    wait_ready(page)
    found = call(page, "memory.search", query="what goes in the soup?", k=1)
    assert found["items"][0]["source"]["ref"] == "user/recipes.md"
    page = persistent().new_page()  # a browser restart on the same profile
    page.goto(app_server.url + "/")
    wait_ready(page)
    found = call(page, "memory.search", query="soup ingredients", k=1)
    assert "paprika" in found["items"][0]["text"]


def test_a_page_killed_mid_import_reopens_with_its_memory(
    persistent: Callable[[], BrowserContext], app_server: build.Background
) -> None:
    page = persistent().new_page()
    page.goto(app_server.url + "/")
    wait_ready(page)
    call(page, "fs.write", path="user/keep.md", text="The boat is moored at pier 7.")
    before = _wait_count(page, 1)["count"]
    header = json.dumps({"llmos-memory": 1, "model": "other", "dim": 384})
    lines = [json.dumps({"kind": "note", "text": f"Imported fact {n}."}) for n in range(400)]
    # the import re-embeds every line (another model), so it is still writing when the page dies
    page.evaluate(
        "(t) => { window.llmos.request('memory.import', {jsonl: t}); }", "\n".join([header, *lines])
    )
    _wait_count(page, before + 40)
    page.context.close()
    page = persistent().new_page()
    page.goto(app_server.url + "/")
    wait_ready(page)
    stats = call(page, "memory.stats")
    assert before + 40 <= stats["count"] < before + 400
    assert stats["problems"] == []
    found = call(page, "memory.search", query="where is the boat?", k=1)
    assert "pier 7" in found["items"][0]["text"]
    found = call(page, "memory.search", query="Imported fact 12", k=1)
    assert found["items"][0]["text"] == "Imported fact 12."
