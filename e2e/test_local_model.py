"""The local model (SmolLM2-135M through wllama) in the real app, through ``llm.complete``.

One browser profile for the module: the first request downloads the model (98 MB) into the
origin-private file system, the next ones reuse it, and an offline reload proves that a second
load in the same profile reads it from disk (and wllama's wasm from the service worker's cache)
without fetching it. Every request is guarded: nothing may leave
the test server. Assertions are on shapes (streamed, well-formed, cached), never on wording.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright, expect

import build
from conftest import chromium_launch_args
from e2e.conftest import OffsiteGuard, wait_ready
from e2e.test_pwa import WAIT_CONTROLLED

MODEL = "SmolLM2-135M-Instruct"
TOOLS: list[dict[str, Any]] = [
    {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "inputSchema": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
    {
        "name": "read_file",
        "description": "Read a file of the user.",
        "inputSchema": {
            "type": "object",
            "properties": {"path": {"type": "string"}},
            "required": ["path"],
        },
    },
]

# Records the OS's llm.* events; the list is emptied before each request.
LISTEN_JS = """() => {
  window.llmEvents = [];
  window.llmosBridge.subscribe((json) => {
    const event = JSON.parse(json);
    if (event.name.startsWith("llm.")) window.llmEvents.push(event);
  });
}"""
COMPLETE_JS = """async (params) => {
  window.llmEvents.length = 0;
  const reply = await window.llmos.request("llm.complete", params);
  return { reply, events: window.llmEvents.slice() };
}"""


@dataclass
class Profile:
    """One persistent browser profile with the app open; ``requests`` logs every URL asked for."""

    context: BrowserContext
    page: Page
    requests: list[str] = field(default_factory=list)

    def model_fetches(self) -> list[str]:
        return [url for url in self.requests if ".gguf" in url]

    def complete(self, **params: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """``llm.complete`` on the local engine: its result and the llm.* events it caused."""
        out = self.page.evaluate(COMPLETE_JS, {"engine": "local", **params})
        reply, events = out["reply"], out["events"]
        assert reply["ok"], reply
        return reply["result"], events

    def open_app(self, url: str | None = None) -> None:
        if url is None:
            self.page.reload()
        else:
            self.page.goto(url)
        wait_ready(self.page)
        self.page.evaluate(LISTEN_JS)


@pytest.fixture(scope="module")
def guard() -> OffsiteGuard:
    return OffsiteGuard()


@pytest.fixture(autouse=True)
def _nothing_leaves(guard: OffsiteGuard) -> Iterator[None]:
    yield
    assert not guard.offsite, f"requests left the origin: {guard.offsite}"


@pytest.fixture(scope="module")
def profile(
    playwright: Playwright,
    tmp_path_factory: pytest.TempPathFactory,
    app_server: build.Background,
    guard: OffsiteGuard,
) -> Iterator[Profile]:
    folder: Path = tmp_path_factory.mktemp("local-model-profile")
    context = playwright.chromium.launch_persistent_context(str(folder), **chromium_launch_args())
    guard.watch(context)
    profile = Profile(context, context.new_page())
    context.on("request", lambda request: profile.requests.append(request.url))
    profile.open_app(app_server.url + "/")
    yield profile
    context.close()


@pytest.fixture(scope="module")
def first_answer(profile: Profile) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The module's first request: it downloads and loads the model."""
    return profile.complete(
        messages=[{"role": "user", "content": "What is the capital of France?"}], max_tokens=24
    )


def events(named: str, seen: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e["data"] for e in seen if e["name"] == named]


def test_a_question_gets_a_streamed_answer(
    profile: Profile, first_answer: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    result, seen = first_answer
    deltas = [d["text"] for d in events("llm.delta", seen)]
    assert deltas, "no llm.delta event"
    assert result["text"].strip()
    assert "".join(deltas) == result["text"]
    assert result["tool_calls"] == []
    assert result["model"] == MODEL
    assert result["usage"]["prompt_tokens"] > 0
    assert 0 < result["usage"]["completion_tokens"] <= 24
    stats = result["stats"]
    assert stats["cached"] is False
    assert stats["load_ms"] > 0
    assert stats["ttft_ms"] > 0
    assert stats["tokens_per_s"] > 0
    progress = events("llm.progress", seen)
    assert any(p["total"] > 0 and p["loaded"] == p["total"] for p in progress), progress
    assert profile.model_fetches(), "the first load did not fetch the model"


def test_the_chat_answers_with_the_local_model_when_nothing_is_set_up(
    profile: Profile, first_answer: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    page = profile.page
    box = page.locator("#chat-in")
    expect(box).to_be_enabled()
    box.fill("Say hello in one short sentence.")
    box.press("Enter")
    log = page.locator("#chat-log")
    expect(log.locator(".route").last).to_contain_text("local")
    answer = log.locator(".msg-assistant").last
    expect(answer.locator(".speed")).to_contain_text("tokens/s", timeout=90_000)
    assert answer.locator(".md").inner_text().strip()
    expect(page.locator("#chat-send")).to_have_text("Send")


def test_a_tool_request_gets_a_well_formed_call(
    profile: Profile, first_answer: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    result, seen = profile.complete(
        messages=[{"role": "user", "content": "Is it raining in Oslo today?"}],
        tools=TOOLS,
        max_tokens=48,
    )
    (call,) = result["tool_calls"]
    tool = next(t for t in TOOLS if t["name"] == call["name"])
    arguments = json.loads(call["arguments"])
    schema = tool["inputSchema"]
    assert set(arguments) <= set(schema["properties"])
    assert all(isinstance(arguments[key], str) for key in schema["required"])
    assert call["id"]
    assert result["finish_reason"] == "tool_calls"
    assert events("llm.delta", seen) == [], "a tool call is not text to show"


def test_a_second_load_in_the_same_profile_reads_the_model_from_disk_offline(
    profile: Profile, first_answer: tuple[dict[str, Any], list[dict[str, Any]]]
) -> None:
    profile.page.evaluate(WAIT_CONTROLLED)
    profile.requests.clear()
    profile.context.set_offline(True)
    try:
        profile.open_app()  # a new OS worker: the model must load again, wasm included
        result, seen = profile.complete(
            messages=[{"role": "user", "content": "Say hello."}], max_tokens=8
        )
    finally:
        profile.context.set_offline(False)
    assert result["stats"]["cached"] is True
    assert result["text"].strip()
    assert profile.model_fetches() == []
    stages = {p["stage"] for p in events("llm.progress", seen)}
    assert "Reading the local model from disk" in stages


def test_a_build_without_the_model_says_so(app: Page, context: BrowserContext) -> None:
    context.route("**/*.gguf*", lambda route: route.fulfill(status=404, body="Not Found"))
    reply = app.evaluate(
        """() => window.llmos.request("llm.complete",
            { engine: "local", messages: [{ role: "user", content: "Hi" }] })"""
    )
    assert reply["ok"] is False
    assert reply["error"]["code"] == "not_found"
    assert "no local model" in reply["error"]["message"]
