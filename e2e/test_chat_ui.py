"""The chat panel and the settings dialog, clicked as a user would.

These tests put a small in-page fake in front of the OS's ``chat.*`` and ``llm.*`` methods (an
init script wraps ``window.llmosBridge``) and play the OS's events by hand, so each UI behaviour
(hostile Markdown, streaming, tool cards, edit-and-resend, settings) is checked exactly, without
a model. Everything else (files, console) is the real OS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

import build
from e2e.conftest import wait_ready
from e2e.fake_bridge import fake_bridge
from tests.llm_server import MODEL, ScriptedLLM, text

# A 2x2 red PNG.
PNG = (
    "iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAEklEQVR4nGP4z8DAwMDAwMAAAA0ABgE3"
    "p3WqAAAAAElFTkSuQmCC"
)

FAKE_OS = fake_bridge(
    "__fakeOs",
    """
  const usage = () => ({ prompt_tokens: 0, completion_tokens: 0, cost_usd: null });
  const summary = (c) => ({ id: c.id, title: c.title, updated: c.updated, usage: c.usage });
  fake.add = (title, items = []) => {
    const id = `c${++fake.seq}`;
    fake.chats[id] = { id, title, items, usage: usage(), updated: fake.seq };
    fake.order.unshift(id);
    return id;
  };
  const local = { available: true, model: "SmolLM2", loaded: false };
  fake.settings = { mode: "auto", endpoints: [], local };
  fake.test = { ok: true, code: "ok", message: "model answered" };
  fake.handlers = {
    "chat.list": () => fake.order.map((id) => summary(fake.chats[id])),
    "chat.new": () => fake.chats[fake.add("New conversation")],
    "chat.get": ({ id }) => fake.chats[id],
    "chat.rename": ({ id, title }) => { fake.chats[id].title = title; return null; },
    "chat.delete": ({ id }) => {
      delete fake.chats[id];
      fake.order = fake.order.filter((x) => x !== id);
      return null;
    },
    "chat.send": ({ id }) => new Promise((resolve) => {
      fake.finish = (done) => {
        fake.chats[id].usage = done.usage || fake.chats[id].usage;
        resolve(done);
      };
    }),
    "chat.stop": () => null,
    "chat.confirm": () => null,
    "llm.settings.get": () => fake.settings,
    "llm.settings.set": (p) => {
      if (p.mode) fake.settings.mode = p.mode;
      const others = (id) => fake.settings.endpoints.filter((e) => e.id !== id);
      if (p.delete_endpoint) fake.settings.endpoints = others(p.delete_endpoint);
      if (p.endpoint) {
        const { api_key, ...rest } = p.endpoint;
        const old = fake.settings.endpoints.find((e) => e.id === rest.id);
        const id = rest.id || `e${++fake.seq}`;
        const saved = { ...rest, id, has_key: !!api_key || !!old?.has_key };
        fake.settings.endpoints = [...others(id), saved];
      }
      return fake.settings;
    },
    "llm.test": () => fake.test,
  };
""",
    chats="{}",
    order="[]",
    seq="0",
)

HOSTILE = """Here is **the answer**.

<img src=x onerror="window.pwned=1">
<script>window.pwned=2</script>

[click me](javascript:window.pwned=3)
<a href="javascript:window.pwned=4">raw link</a>
<iframe srcdoc="<script>parent.pwned=5</script>"></iframe>
<img src="https://evil.example/t.png">
<svg><script>window.pwned=6</script></svg>

![tracker](https://evil.example/m.png) and <img src="https://evil.example/inline.png">

[a safe link](https://example.org/docs)

Readable to the end.
"""


@pytest.fixture
def chat(page: Page, app_server: build.Background) -> Page:
    """The app with the fake chat OS, at the 1280x800 the layout must fit."""
    page.set_viewport_size({"width": 1280, "height": 800})
    page.add_init_script(FAKE_OS)
    page.goto(app_server.url + "/")
    wait_ready(page)
    expect(page.locator("#chat-in")).to_be_enabled()
    return page


def emit(page: Page, name: str, **data: Any) -> None:
    page.evaluate("([n, d]) => window.__fakeOs.emit(n, d)", [name, data])


def calls(page: Page, method: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate(
        "(m) => window.__fakeOs.calls.filter((c) => c.method === m).map((c) => c.params)", method
    )
    return found


def finish(page: Page, status: str = "final", **usage: Any) -> None:
    done = {"status": status, "usage": usage or None}
    page.evaluate("(d) => window.__fakeOs.finish(d)", done)


def send(page: Page, text: str) -> str:
    """Type ``text`` and press Enter; returns the id of the conversation it went to."""
    page.locator("#chat-in").fill(text)
    page.locator("#chat-in").press("Enter")
    expect(page.locator("#chat-send")).to_have_text("Stop")
    chat_id: str = calls(page, "chat.send")[-1]["id"]
    return chat_id


def reply(page: Page, chat_id: str, start: int, *items: dict[str, Any]) -> None:
    for offset, item in enumerate(items):
        emit(page, "chat.item", chat=chat_id, index=start + offset, item=item)


def test_layout_fits_1280x800_with_all_panes(chat: Page) -> None:
    for pane in ("nav.explorer", "section.editor", "section.console", "#chat"):
        box = chat.locator(pane).bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 1280
        assert box["y"] + box["height"] <= 800
    assert chat.locator("#chat").bounding_box()["width"] >= 360  # type: ignore[index]
    chat.keyboard.press("Alt+Shift+C")
    expect(chat.locator("#chat-in")).to_be_focused()


def test_hostile_markdown_runs_nothing_and_requests_nothing(chat: Page) -> None:
    chat_id = send(chat, "say something nasty")
    reply(chat, chat_id, 1, {"kind": "assistant", "text": "", "model": "m"})
    for start in range(0, len(HOSTILE), 40):
        emit(chat, "chat.delta", chat=chat_id, index=1, text=HOSTILE[start : start + 40])
    finish(chat)
    message = chat.locator("#chat-log [data-kind='assistant']")
    expect(message).to_contain_text("Readable to the end.")
    expect(message.locator("strong")).to_have_text("the answer")
    bad = "script, iframe, img, svg, [onerror], [srcdoc], a[href^='javascript'], [src]"
    expect(message.locator(bad)).to_have_count(0)
    expect(message).to_contain_text("<script>window.pwned=2</script>")  # raw HTML: shown as text
    chat.get_by_text("click me").click()
    chat.get_by_text("raw link").click()
    chat.wait_for_timeout(300)
    assert chat.evaluate("window.pwned") is None
    safe = message.get_by_role("link", name="a safe link")
    expect(safe).to_have_attribute("target", "_blank")
    expect(safe).to_have_attribute("rel", "noopener noreferrer")
    tracker = message.get_by_role("link", name="🖼 tracker")  # an image becomes a link
    expect(tracker).to_have_attribute("href", "https://evil.example/m.png")


def test_markdown_bridge_sanitizes_directly(chat: Page) -> None:
    html = chat.evaluate("(t) => window.llmosMarkdown.render(t)", HOSTILE)
    tags = chat.evaluate(
        """(html) => {
          const doc = new DOMParser().parseFromString(html, "text/html");
          return [...doc.body.querySelectorAll("*")].map((e) => e.outerHTML.split(">")[0] + ">");
        }""",
        html,
    )
    allowed = {
        "<p>",
        "<strong>",
        "<a>",
        '<a href="https://example.org/docs" target="_blank" rel="noopener noreferrer">',
        '<a href="https://evil.example/m.png" target="_blank" rel="noopener noreferrer">',
    }
    assert set(tags) <= allowed, set(tags) - allowed
    assert chat.evaluate("window.llmosMarkdown.render('- [x] done')").count("☑") == 1
    assert chat.evaluate("window.llmosMarkdown.prettyJson('{\"a\":1}')") == '{\n  "a": 1\n}'
    assert chat.evaluate("window.llmosMarkdown.prettyJson('{oops')") == "{oops"


def test_streaming_reply_renders_markdown_as_it_arrives(chat: Page) -> None:
    chat_id = send(chat, "hello")
    user = chat.locator("#chat-log [data-kind='user']")
    expect(user).to_contain_text("hello")
    reply(
        chat,
        chat_id,
        0,
        {"kind": "user", "text": "hello"},  # the OS's copy replaces the optimistic one
        {"kind": "route", "engine": "local", "model": "SmolLM2", "reason": "short question"},
        {"kind": "assistant", "text": "", "model": "SmolLM2"},
    )
    expect(user).to_have_count(1)
    expect(chat.locator(".route")).to_have_text("local · SmolLM2 — short question")
    emit(chat, "chat.delta", chat=chat_id, index=2, text="Hi **the")
    emit(chat, "chat.delta", chat=chat_id, index=2, text="re**! Here:\n\n1. one\n")
    message = chat.locator("#chat-log [data-kind='assistant']")
    expect(message.locator("strong")).to_have_text("there")
    expect(message).to_have_attribute("aria-busy", "true")
    expect(chat.locator("#chat-send")).to_have_text("Stop")
    emit(chat, "chat.delta", chat=chat_id, index=2, text="2. two\n")
    expect(message.locator("ol li")).to_have_count(2)
    finish(chat, prompt_tokens=1234, completion_tokens=56, cost_usd=0.0021)
    expect(chat.locator("#chat-send")).to_have_text("Send")
    expect(message).to_have_attribute("aria-busy", "false")
    expect(chat.locator("#chat-usage")).to_have_text(
        "1,234 prompt · 56 completion tokens · $0.0021"
    )
    expect(chat.locator("#chat-log")).to_have_attribute("aria-live", "polite")


def test_tool_card_plan_image_error_and_notice(chat: Page) -> None:
    chat_id = send(chat, "plot it")
    reply(
        chat,
        chat_id,
        1,
        {"kind": "plan", "text": "1. Write the script\n2. Run it"},
        {
            "kind": "tool",
            "call_id": "t1",
            "name": "run_python",
            "arguments": '{"code": "plot()"}',
            "status": "running",
            "result": "",
            "images": [],
            "duration_ms": None,
        },
    )
    expect(chat.locator(".card-plan li")).to_have_count(2)
    card = chat.locator("details.tool").first
    expect(card.locator("summary")).to_contain_text("run_python")
    expect(card.locator(".badge")).to_have_text("running")
    card.locator("summary").click()  # the user opens it while it runs
    done = {
        "kind": "tool",
        "call_id": "t1",
        "name": "run_python",
        "arguments": '{"code": "plot()"}',
        "status": "ok",
        "result": "saved plot",
        "images": [PNG],
        "duration_ms": 42,
    }
    emit(chat, "chat.update", chat=chat_id, index=2, item=done)
    expect(card.locator(".badge")).to_have_text("ok")
    expect(card.locator(".ms")).to_have_text("42 ms")
    expect(card).to_have_attribute("open", "")  # stays open across the update
    expect(card.locator("pre").first).to_have_text('{\n  "code": "plot()"\n}')
    expect(card).to_contain_text("saved plot")
    image = chat.locator(".tool-card img").first  # outside the card: visible even when closed
    expect(image).to_be_visible()
    expect(image).to_have_attribute("src", "data:image/png;base64," + PNG)
    assert chat.evaluate("(img) => img.naturalWidth", image.element_handle()) == 2
    broken = {**done, "call_id": "t2", "arguments": "{not json", "status": "error"}
    broken.update(result="Traceback: boom", images=[], duration_ms=7)
    reply(
        chat,
        chat_id,
        3,
        broken,
        {"kind": "error", "message": "The endpoint refused the key"},
        {"kind": "notice", "text": "Step limit reached"},
    )
    second = chat.locator("details.tool").nth(1)
    expect(second).to_have_class("tool error")
    second.locator("summary").press("Enter")  # keyboard opens it
    expect(second.locator("pre").first).to_have_text("{not json")
    expect(chat.get_by_role("alert").filter(has_text="refused")).to_have_text(
        "Error: The endpoint refused the key"
    )
    expect(chat.locator(".msg-notice")).to_have_text("Step limit reached")
    finish(chat, "step_limit")
    expect(chat.locator("#chat-state")).to_have_text("Step limit reached.")


def test_edit_and_resend_truncates_from_that_message(chat: Page) -> None:
    items = [
        {"kind": "user", "text": "first question"},
        {"kind": "assistant", "text": "first answer", "model": "m"},
        {"kind": "user", "text": "second question"},
        {"kind": "assistant", "text": "second answer", "model": "m"},
    ]
    chat_id = chat.evaluate("(i) => window.__fakeOs.add('Two turns', i)", items)
    chat.click("#chat-new")  # refreshes the list
    chat.select_option("#chat-list", label="Two turns")
    log = chat.locator("#chat-log")
    expect(log).to_contain_text("second answer")
    log.get_by_role("button", name="Edit and resend this message").first.click()
    box = log.locator("textarea.edit-box")
    expect(box).to_be_focused()
    expect(box).to_have_value("first question")
    box.press("Escape")  # cancel keeps everything
    expect(log.locator("textarea")).to_have_count(0)
    expect(log).to_contain_text("second answer")
    log.get_by_role("button", name="Edit and resend this message").first.click()
    box.fill("first question, better")
    box.press("Enter")
    expect(chat.locator("#chat-send")).to_have_text("Stop")
    chat.wait_for_function(
        "window.__fakeOs.calls.some(c => c.method == 'chat.send' && 'edit_index' in c.params)"
    )
    assert calls(chat, "chat.send")[-1] == {
        "id": chat_id,
        "text": "first question, better",
        "edit_index": 0,
    }
    expect(log.locator("[data-index]")).to_have_count(1)
    expect(log).not_to_contain_text("second")
    reply(chat, chat_id, 1, {"kind": "assistant", "text": "better answer", "model": "m"})
    finish(chat)
    expect(log.locator("[data-kind='assistant']")).to_have_text("better answer")


def test_stop_by_button_and_escape(chat: Page) -> None:
    chat_id = send(chat, "long job")
    chat.click("#chat-send")
    chat.wait_for_function("window.__fakeOs.calls.some(c => c.method == 'chat.stop')")
    assert calls(chat, "chat.stop") == [{"id": chat_id}]
    chat.locator("#chat-in").press("Escape")
    chat.wait_for_function("window.__fakeOs.calls.filter(c => c.method == 'chat.stop').length == 2")
    reply(chat, chat_id, 1, {"kind": "notice", "text": "Stopped by you."})
    finish(chat, "stopped")
    expect(chat.locator(".msg-notice")).to_have_text("Stopped by you.")
    expect(chat.locator("#chat-send")).to_have_text("Send")


def test_conversations_new_switch_rename_delete(chat: Page) -> None:
    chat.evaluate("window.__fakeOs.add('Older', [{kind: 'user', text: 'old message'}])")
    chat.click("#chat-new")
    expect(chat.locator("#chat-in")).to_be_focused()
    options = chat.locator("#chat-list option")
    expect(options).to_have_text(["New conversation", "Older"])
    chat.select_option("#chat-list", label="Older")
    expect(chat.locator("#chat-log")).to_contain_text("old message")
    chat.once("dialog", lambda dialog: dialog.accept("Renamed"))
    chat.click("#chat-rename")
    expect(options).to_have_text(["New conversation", "Renamed"])
    chat.once("dialog", lambda dialog: dialog.accept())
    chat.click("#chat-delete")
    expect(options).to_have_text(["New conversation"])
    expect(chat.locator("#chat-log")).not_to_contain_text("old message")
    chat.keyboard.press("Alt+Shift+N")
    expect(options).to_have_count(2)


def test_agent_asks_before_deleting_a_file(chat: Page) -> None:
    chat_id = send(chat, "delete notes.md")
    ask = {"chat": chat_id, "tool": "delete_file", "arguments": '{"path": "user/notes.md"}'}
    emit(chat, "chat.ask", ask_id="a1", question="Delete user/notes.md?", **ask)
    dialog = chat.get_by_role("dialog", name="The assistant asks for your permission")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Delete user/notes.md?")
    expect(dialog).to_contain_text('"path": "user/notes.md"')
    expect(chat.locator("#ask-deny")).to_be_focused()
    chat.click("#ask-allow")
    expect(dialog).to_be_hidden()
    emit(chat, "chat.ask", ask_id="a2", question="Delete user/other.md?", **ask)
    expect(dialog).to_be_visible()
    chat.keyboard.press("Escape")  # Esc denies
    expect(dialog).to_be_hidden()
    chat.wait_for_function(
        "window.__fakeOs.calls.filter(c => c.method == 'chat.confirm').length == 2"
    )
    assert calls(chat, "chat.confirm") == [
        {"ask_id": "a1", "allow": True},
        {"ask_id": "a2", "allow": False},
    ]


def test_local_model_progress_bar(chat: Page) -> None:
    bar = chat.get_by_role("progressbar", name="Loading the local model")
    expect(bar).to_be_hidden()
    emit(chat, "llm.progress", stage="Downloading SmolLM2", pct=40, loaded=40, total=100)
    expect(bar).to_be_visible()
    expect(bar).to_have_attribute("aria-valuenow", "40")
    expect(bar).to_contain_text("Downloading SmolLM2 (40%)")
    emit(chat, "llm.progress", stage="Ready", pct=100, loaded=100, total=100)
    expect(bar).to_be_hidden()


def test_settings_never_show_a_key_and_show_test_verdicts(chat: Page) -> None:
    chat.keyboard.press("Control+,")
    dialog = chat.get_by_role("dialog", name="Model settings")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Auto: the router picks per turn")).to_be_checked()
    expect(dialog).to_contain_text("Local model: SmolLM2 (loads on first use)")
    dialog.get_by_label("Name").fill("Acme")
    dialog.get_by_label("Base URL").fill("http://127.0.0.1:9/v1")
    dialog.get_by_label("Model", exact=True).fill("gpt-x")
    dialog.get_by_label("API key").fill("sk-very-secret")
    dialog.get_by_label("$ per 1M input tokens").fill("0.15")
    dialog.get_by_role("button", name="Save endpoint").click()
    expect(dialog.locator("#ep-verdict")).to_have_text("Saved Acme.")
    saved = calls(chat, "llm.settings.set")[-1]["endpoint"]
    assert saved["api_key"] == "sk-very-secret"
    assert saved["input_cost_per_mtok"] == 0.15
    assert saved["output_cost_per_mtok"] is None
    expect(dialog.get_by_label("API key")).to_have_value("")
    expect(dialog.get_by_label("API key")).to_have_attribute(
        "placeholder", "A key is set; leave empty to keep it"
    )
    expect(dialog.locator("#endpoints li")).to_contain_text(
        "gpt-x · http://127.0.0.1:9/v1 · key set"
    )
    assert "sk-very-secret" not in chat.content()

    # Saving again without typing a key keeps it: no api_key is sent.
    dialog.get_by_label("Model", exact=True).fill("gpt-y")
    dialog.get_by_role("button", name="Save endpoint").click()
    expect(dialog.locator("#endpoints li")).to_contain_text("gpt-y")
    assert "api_key" not in calls(chat, "llm.settings.set")[-1]["endpoint"]

    verdicts = [
        ({"ok": False, "code": "auth", "message": "401: bad key"}, "✗ Authentication refused"),
        ({"ok": False, "code": "not_found", "message": "404"}, "✗ Not found"),
        ({"ok": False, "code": "network", "message": "no answer"}, "✗ Unreachable"),
        ({"ok": False, "code": "bad_response", "message": "HTML"}, "✗ Not an OpenAI-compatible"),
        ({"ok": True, "code": "ok", "message": "gpt-y is available"}, "✓ OK: gpt-y is available"),
    ]
    for result, shown in verdicts:
        chat.evaluate("(r) => { window.__fakeOs.test = r; }", result)
        dialog.get_by_role("button", name="Test connection").click()
        expect(dialog.locator("#ep-verdict")).to_contain_text(shown)
    endpoint_id = calls(chat, "llm.settings.set")[-1]["endpoint"]["id"]
    # the kept key: tested by id, with what the form says now
    assert calls(chat, "llm.test")[-1] == {
        "id": endpoint_id,
        "base_url": "http://127.0.0.1:9/v1",
        "model": "gpt-y",
    }

    dialog.get_by_label("Always the local model").check()
    chat.wait_for_function(
        "window.__fakeOs.calls.some(c => c.method == 'llm.settings.set' && c.params.mode)"
    )
    assert calls(chat, "llm.settings.set")[-1] == {"mode": "local"}
    chat.once("dialog", lambda d: d.accept())
    dialog.get_by_role("button", name="Delete Acme").click()
    expect(dialog.locator("#endpoints")).to_contain_text("No endpoints yet")
    chat.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert calls(chat, "llm.settings.get")  # the dialog loaded from the OS


# --- the same UI against the real OS and a scripted OpenAI-compatible server ------------------
API_KEY = "sk-chat-ui-CANARY-3k3k"


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


def add_endpoint_through_settings(page: Page, url: str) -> None:
    page.click("#settings-open")
    dialog = page.get_by_role("dialog", name="Model settings")
    dialog.get_by_label("Name").fill("Scripted")
    dialog.get_by_label("Base URL").fill(url)
    dialog.get_by_label("Model", exact=True).fill(MODEL)
    dialog.get_by_label("API key").fill(API_KEY)
    dialog.get_by_role("button", name="Save endpoint").click()
    expect(dialog.locator("#ep-verdict")).to_have_text("Saved Scripted.")
    # auto would send small talk to the in-page model: these tests script the remote one
    dialog.get_by_label("Always a remote endpoint").check()
    expect(dialog.locator("#ep-verdict")).to_have_text("Routing: remote")


def test_real_settings_keep_the_key_hidden_and_test_connections(
    app: Page, llm: ScriptedLLM
) -> None:
    add_endpoint_through_settings(app, llm.url)
    dialog = app.get_by_role("dialog", name="Model settings")
    expect(dialog.locator("#endpoints li")).to_contain_text("key set")
    expect(dialog.get_by_label("API key")).to_have_value("")
    dialog.get_by_role("button", name="Test connection").click()
    expect(dialog.locator("#ep-verdict")).to_contain_text("✓ OK")
    assert llm.requests[-1]["headers"]["authorization"] == f"Bearer {API_KEY}"
    dialog.get_by_label("Base URL").fill(llm.dead_url)
    dialog.get_by_label("API key").fill("sk-other")  # a typed key tests the form as it is
    dialog.get_by_role("button", name="Test connection").click()
    expect(dialog.locator("#ep-verdict")).to_contain_text("✗ Unreachable", timeout=20_000)
    dialog.get_by_label("Base URL").fill(llm.root + "/nowhere")
    dialog.get_by_role("button", name="Test connection").click()
    expect(dialog.locator("#ep-verdict")).to_contain_text("✗ Not found")
    app.reload()
    wait_ready(app)
    app.keyboard.press("Control+,")
    expect(dialog.locator("#endpoints li")).to_contain_text("Scripted")
    assert API_KEY not in app.content()
    settings = app.evaluate("window.llmos.request('llm.settings.get', {})")
    assert API_KEY not in json.dumps(settings)


def test_real_hostile_reply_renders_safely_and_chats_persist(app: Page, llm: ScriptedLLM) -> None:
    add_endpoint_through_settings(app, llm.url)
    app.keyboard.press("Escape")
    llm.queue(text(HOSTILE, chunk_size=7))
    app.locator("#chat-in").fill("hello there")
    app.locator("#chat-in").press("Enter")
    message = app.locator("#chat-log [data-kind='assistant']")
    expect(message).to_contain_text("Readable to the end.")
    expect(app.locator("#chat-send")).to_have_text("Send")
    expect(app.locator("#chat-log .route")).to_contain_text("remote · ")
    bad = "script, iframe, img, svg, [onerror], [srcdoc], a[href^='javascript'], [src]"
    expect(message.locator(bad)).to_have_count(0)
    app.get_by_text("click me").click()
    app.wait_for_timeout(300)
    assert app.evaluate("window.pwned") is None
    expect(app.locator("#chat-usage")).not_to_have_text("No tokens used")

    app.reload()
    wait_ready(app)
    expect(app.locator("#chat-list option:checked")).to_have_text("hello there")
    expect(app.locator("#chat-log [data-kind='user']")).to_have_text("hello thereEdit")
    expect(message).to_contain_text("Readable to the end.")
    assert app.evaluate("window.pwned") is None


def test_real_edit_and_resend(app: Page, llm: ScriptedLLM) -> None:
    add_endpoint_through_settings(app, llm.url)
    app.keyboard.press("Escape")
    box = app.locator("#chat-in")
    log = app.locator("#chat-log")
    for question, answer in (("first question", "first answer"), ("second one", "second answer")):
        llm.queue(text(answer))
        box.fill(question)
        box.press("Enter")
        expect(log).to_contain_text(answer)
        expect(app.locator("#chat-send")).to_have_text("Send")
    llm.queue(text("a better answer"))
    log.get_by_role("button", name="Edit and resend this message").first.click()
    log.locator("textarea.edit-box").fill("first question, better")
    log.locator("textarea.edit-box").press("Enter")
    expect(log).to_contain_text("a better answer")
    expect(log).not_to_contain_text("second")
    expect(log.locator("[data-kind='user']")).to_have_count(1)
    sent = [m["content"] for m in llm.requests[-1]["body"]["messages"] if m["role"] == "user"]
    assert sent == ["first question, better"]
    app.reload()
    wait_ready(app)
    expect(log).to_contain_text("a better answer")
    expect(log).not_to_contain_text("second")
