"""The Memory panel and the chat's citations, clicked as a user would.

Two pages, each shared by the tests of its part to keep page loads (and the embedding model's
load) few:

- ``fake``: the app with the ``memory.*`` methods replaced by an in-page fake (an init script
  wraps ``window.llmosBridge``), for what needs exact control over the OS's replies: a search
  reply that arrives after a newer one, hostile text in every field, the download bar.
- ``real``: the real OS in a fresh profile. Files written through the OS are remembered by the
  embedding model running in the page (onnxruntime-web, WASM); then live search, the source,
  deleting, export and import, and a chat turn with the scripted LLM that cites a memory.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

import build
from e2e.conftest import OffsiteGuard, wait_ready
from e2e.fake_bridge import fake_bridge
from tests.llm_server import MODEL, ScriptedLLM, text

EMBED_TIMEOUT_MS = 120_000  # the first embedding loads onnxruntime-web and the model

FAKE_MEMORY = fake_bridge(
    "__fakeMemory",
    """
  fake.hold = false;
  fake.notices = [];
  fake.problems = [];
  const hit = (r, rank) => ({
    id: r.id, kind: r.kind, text: r.text.slice(0, 300), source: r.source, created: r.created,
    score: 0.9 - rank / 10, scores: { vector: 0.8, keyword: 0.5, recency: 1 },
  });
  const refuse = (code, message) => { throw Object.assign(new Error(message), { code }); };
  fake.handlers = {
    "memory.stats": () => ({
      count: fake.records.length, bytes: 1536 * fake.records.length, model: "fake-minilm",
      dim: 384, backend: "wasm", problems: fake.problems, notices: fake.notices, pending: 0,
    }),
    "memory.search": ({ query }) => {
      const words = query.toLowerCase().split(/\\s+/);
      const found = fake.records.filter((r) => words.some((w) => r.text.toLowerCase().includes(w)));
      const reply = { items: found.map(hit), ms: 2 };
      if (!fake.hold) return reply;
      return new Promise((resolve) => fake.held.push({ query, send: () => resolve(reply) }));
    },
    "memory.get": ({ id }) => {
      const r = fake.records.find((x) => x.id === id);
      return r ? { ...r } : refuse("not_found", `No memory ${id}.`);
    },
    "memory.delete": ({ ids }) => {
      const before = fake.records.length;
      fake.records = fake.records.filter((r) => !ids.includes(r.id));
      return { deleted: before - fake.records.length };
    },
  };
  fake.release = (query) => {
    const i = fake.held.findIndex((h) => h.query === query);
    fake.held.splice(i, 1)[0].send();
  };
""",
    records="[]",
    held="[]",
)

HOSTILE = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'


def record(memory_id: int, body: str, **source: str) -> dict[str, Any]:
    return {
        "id": memory_id,
        "kind": "file",
        "text": body,
        "metadata": {"size": len(body)},
        "created": 1_760_000_000 + memory_id,
        "source": {"type": "file", "ref": f"user/{memory_id}.md", "title": f"{memory_id}.md"}
        | source,
    }


@pytest.fixture(scope="module")
def fake(browser: Browser, app_server: build.Background) -> Iterator[Page]:
    guard = OffsiteGuard()
    context = guard.watch(browser.new_context(viewport={"width": 1280, "height": 800}))
    page = context.new_page()
    page.add_init_script(FAKE_MEMORY)
    page.goto(app_server.url + "/")
    wait_ready(page)
    yield page
    context.close()
    assert not guard.offsite, guard.offsite


@pytest.fixture
def panel(fake: Page) -> Iterator[Page]:
    """The fake page with its memory emptied and no panel open."""
    fake.evaluate(
        "() => { const f = window.__fakeMemory; f.records = []; f.calls = []; f.hold = false; }"
    )
    yield fake
    if fake.locator("#memory").is_visible():
        fake.keyboard.press("Escape")
    expect(fake.locator("#memory")).to_be_hidden()


def fill_memory(page: Page, *records: dict[str, Any]) -> None:
    page.evaluate("(rs) => { window.__fakeMemory.records = rs; }", list(records))


def fake_calls(page: Page, method: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = page.evaluate(
        "(m) => window.__fakeMemory.calls.filter((c) => c.method === m).map((c) => c.params)",
        method,
    )
    return found


def rows(page: Page) -> Any:
    return page.locator("#memory-results .memory-row")


def test_opens_by_button_and_shortcut_closes_with_escape_and_shows_empty_states(
    panel: Page,
) -> None:
    dialog = panel.get_by_role("dialog", name="Memory")
    panel.click("#memory-open")
    expect(dialog).to_be_visible()
    expect(panel.get_by_label("Search memory")).to_be_focused()
    expect(dialog.locator("#memory-results")).to_contain_text("Nothing remembered yet")
    expect(dialog.locator("#memory-stats")).to_have_text(
        "0 memories · 0 B · fake-minilm · backend: wasm"
    )
    panel.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(panel.locator("#memory-open")).to_be_focused()  # focus goes back where it was

    fill_memory(panel, record(1, "apples and pears"), record(2, "a pear tart"))
    panel.locator("#chat-in").focus()
    panel.keyboard.press("Alt+Shift+M")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#memory-results")).to_have_text("Type to search 2 memories.")
    expect(dialog.locator("#memory-stats")).to_contain_text("2 memories · 3.0 KB")
    panel.get_by_label("Search memory").fill("zucchini")
    expect(dialog.locator("#memory-results")).to_have_text("No matches for “zucchini”.")


def test_a_reply_to_an_older_query_never_replaces_a_newer_one(panel: Page) -> None:
    fill_memory(panel, record(1, "alpha centauri"), record(2, "beta carotene"))
    panel.keyboard.press("Alt+Shift+M")
    panel.evaluate("() => { window.__fakeMemory.hold = true; }")
    box = panel.get_by_label("Search memory")
    box.fill("alpha")
    panel.wait_for_function("window.__fakeMemory.held.length === 1")
    box.fill("beta")
    panel.wait_for_function("window.__fakeMemory.held.length === 2")
    panel.evaluate("() => window.__fakeMemory.release('beta')")
    expect(rows(panel)).to_have_count(1)
    expect(rows(panel)).to_contain_text("beta carotene")
    panel.evaluate("() => window.__fakeMemory.release('alpha')")  # the late, stale reply
    expect(panel.locator("#memory-summary")).to_have_text("1 result in 2 ms")
    panel.wait_for_function("window.__fakeMemory.held.length === 0")
    expect(rows(panel)).to_contain_text("beta carotene")
    expect(rows(panel)).not_to_contain_text("alpha")

    # typing is debounced: one search for a word typed key by key, not one per key
    panel.evaluate("() => { window.__fakeMemory.hold = false; window.__fakeMemory.calls = []; }")
    box.fill("")
    box.press_sequentially("centauri", delay=20)
    expect(rows(panel)).to_have_text(re.compile("alpha centauri"))
    queries = [c["query"] for c in fake_calls(panel, "memory.search")]
    assert queries[-1] == "centauri"
    assert len(queries) < 4, queries


def test_hostile_memory_text_is_shown_as_text(panel: Page) -> None:
    evil = record(7, f"quarterly report {HOSTILE} due in April", title=HOSTILE, ref=HOSTILE)
    evil["kind"] = HOSTILE
    evil["metadata"] = {"note": HOSTILE}
    fill_memory(panel, evil)
    panel.keyboard.press("Alt+Shift+M")
    panel.get_by_label("Search memory").fill("quarterly")
    row = rows(panel).first
    expect(row).to_contain_text(HOSTILE)
    row.locator(".memory-hit").click()
    detail = panel.locator("#memory-detail")
    expect(detail.locator(".memory-text")).to_have_text(f"quarterly report {HOSTILE} due in April")
    expect(detail.locator(".memory-facts")).to_contain_text(HOSTILE)
    expect(detail.locator(".memory-meta")).to_contain_text("window.pwned=1")
    dialog = panel.locator("#memory")
    expect(dialog.locator("img, script, [onerror]")).to_have_count(0)
    assert panel.evaluate("window.pwned") is None


def test_keyboard_moves_opens_and_deletes_with_confirmation(panel: Page) -> None:
    fill_memory(
        panel,
        record(1, "kiwi smoothie recipe"),
        record(2, "kiwi bird facts", type="note", ref="note-1", title="Birds"),
        record(3, "kiwi orchard notes"),
    )
    panel.keyboard.press("Alt+Shift+M")
    box = panel.get_by_label("Search memory")
    box.fill("kiwi")
    expect(rows(panel)).to_have_count(3)
    first = rows(panel).first
    expect(first.locator(".memory-kind")).to_have_text("file")
    expect(first.locator(".memory-source")).to_have_text("file · 1.md")
    expect(first.locator(".memory-score")).to_have_text("score 0.90")
    expect(first.locator(".memory-date")).not_to_be_empty()
    box.press("ArrowDown")
    expect(rows(panel).nth(0).locator(".memory-hit")).to_be_focused()
    panel.keyboard.press("ArrowDown")
    expect(rows(panel).nth(1).locator(".memory-hit")).to_be_focused()
    panel.keyboard.press("Enter")
    detail = panel.locator("#memory-detail")
    expect(detail.locator("h3")).to_have_text("[m2] file")
    expect(detail).to_contain_text("note · Birds")
    expect(detail.get_by_role("button", name="Open file in the editor")).to_have_count(0)
    expect(rows(panel).nth(1)).to_have_class("memory-row shown")

    panel.once("dialog", lambda d: d.dismiss())  # a "no" keeps it
    panel.keyboard.press("Delete")
    expect(rows(panel)).to_have_count(3)
    assert fake_calls(panel, "memory.delete") == []
    messages: list[str] = []

    def accept(dialog: Dialog) -> None:
        messages.append(dialog.message)
        dialog.accept()

    panel.once("dialog", accept)
    rows(panel).nth(1).locator(".memory-hit").focus()
    panel.keyboard.press("Delete")
    expect(rows(panel)).to_have_count(2)
    assert messages == ["Forget [m2]? This cannot be undone."]
    assert fake_calls(panel, "memory.delete") == [{"ids": [2]}]
    expect(panel.locator("#memory-state")).to_have_text("Deleted 1 memory.")
    expect(detail).to_have_text("Deleted.")
    expect(rows(panel).nth(1).locator(".memory-hit")).to_be_focused()  # the next one
    panel.keyboard.press("ArrowUp")
    panel.keyboard.press("ArrowUp")
    expect(box).to_be_focused()

    box.press("Enter")  # Enter in the search box opens the best match
    expect(detail.locator("h3")).to_have_text("[m1] file")
    panel.once("dialog", lambda d: d.accept())
    detail.get_by_role("button", name="Delete").click()
    expect(rows(panel)).to_have_count(1)
    assert fake_calls(panel, "memory.delete")[-1] == {"ids": [1]}


def test_gone_memory_and_notices_read_plainly(panel: Page) -> None:
    panel.evaluate(
        """() => {
          const f = window.__fakeMemory;
          f.problems = ["segment 3 is corrupt: 12 records could not be read"];
          f.notices = ["user/big.csv is 3.2 MB: memory indexes files up to 1 MB"];
        }"""
    )
    fill_memory(panel, record(4, "some text"))
    panel.keyboard.press("Alt+Shift+M")
    notices = panel.get_by_role("list", name="Memory notices")
    expect(notices.locator("li")).to_have_text(
        [
            "segment 3 is corrupt: 12 records could not be read",
            "user/big.csv is 3.2 MB: memory indexes files up to 1 MB",
        ]
    )
    panel.get_by_label("Search memory").fill("some")
    expect(rows(panel)).to_have_count(1)
    panel.evaluate("() => { window.__fakeMemory.records = []; }")  # deleted elsewhere meanwhile
    rows(panel).first.locator(".memory-hit").click()
    expect(panel.locator("#memory-detail")).to_have_text("[m4] is not in memory: No memory 4.")
    panel.evaluate("() => { window.__fakeMemory.problems = []; window.__fakeMemory.notices = []; }")


def test_embedding_model_download_bar(panel: Page) -> None:
    bar = panel.get_by_role("progressbar", name="Loading the memory model")
    expect(bar).to_be_hidden()

    def progress(stage: str, loaded: int, total: int, share: float) -> None:
        data = {"stage": stage, "loaded": loaded, "total": total, "share": share}
        panel.evaluate("(d) => window.__fakeMemory.emit('memory.progress', d)", data)

    progress("runtime", 50, 100, 0.4)
    expect(bar).to_be_visible()
    expect(bar).to_have_attribute("aria-valuenow", "50")
    progress("runtime", 100, 100, 0.4)
    progress("model", 50, 100, 0.6)
    expect(bar).to_contain_text("Memory model: model (70%)")
    progress("model", 100, 100, 0.6)
    expect(bar).to_be_hidden()


# --- the real OS: the embedding model runs in the page ---------------------------------------
BASE_FILES = {
    "user/notes/sourdough.md": (
        "# Sourdough bread\nFeed the starter the night before. Mix 500 g flour, 350 g water and "
        "100 g starter, fold every 30 minutes, proof overnight in the fridge, then bake in a "
        "Dutch oven at 250 °C for 20 minutes with the lid on and 25 minutes without."
    ),
    "user/astronomy.md": (
        "# Moons of Jupiter\nIo, Europa, Ganymede and Callisto are the four Galilean moons. "
        "Europa hides a salty ocean under its ice; Ganymede is the largest moon of all."
    ),
    "user/garden.md": (
        "# Tomato garden\nWater the tomatoes deeply twice a week, stake them early, and pinch "
        "the side shoots so that the plant puts its energy into the fruit."
    ),
    "user/taxes.md": f"Quarterly tax report {HOSTILE} is due in April.",
}
EXTRA_FILES = {
    "user/bikes.md": "Lubricate the bicycle chain every 300 km and check the tyre pressure weekly.",
    "user/chess.md": "In chess, control the centre early and castle before you attack.",
    "user/coffee.md": "Brew coffee with water just off the boil, 60 g of beans per litre.",
}

# Records what the download bar showed (set up before the UI runs).
WATCH_PROGRESS = """
window.__memoryBar = { shown: false, max: 0 };
document.addEventListener("DOMContentLoaded", () => {
  const bar = document.getElementById("memory-progress");
  new MutationObserver(() => {
    const seen = window.__memoryBar;
    if (!bar.hidden) seen.shown = true;
    seen.max = Math.max(seen.max, Number(bar.getAttribute("aria-valuenow")));
  }).observe(bar, { attributes: true });
});
"""


def os_call(page: Page, method: str, **params: Any) -> Any:
    reply = page.evaluate("([m, p]) => window.llmos.request(m, p)", [method, params])
    assert reply["ok"], reply
    return reply["result"]


def remember_files(page: Page, files: dict[str, str]) -> None:
    """Save files through the OS and wait until memory holds them (one chunk each)."""
    before = os_call(page, "memory.stats")["count"]
    for path, body in files.items():
        os_call(page, "fs.write", path=path, text=body)
    wait_remembered(page, before + len(files))


def wait_remembered(page: Page, count: int) -> None:
    """Wait until memory holds ``count`` records and has nothing left to store."""
    stats = page.evaluate(
        """async ([n, deadline]) => {
          for (const end = Date.now() + deadline; Date.now() < end; ) {
            const r = await window.llmos.request("memory.stats", {});
            if (!r.ok || (r.result.count >= n && r.result.pending === 0)) return r;
            await new Promise((wake) => setTimeout(wake, 100));
          }
          return window.llmos.request("memory.stats", {});
        }""",
        [count, EMBED_TIMEOUT_MS],
    )
    assert stats["ok"], stats
    assert stats["result"]["count"] == count, stats


@pytest.fixture(scope="module")
def real(browser: Browser, app_server: build.Background) -> Iterator[Page]:
    guard = OffsiteGuard()
    context = guard.watch(browser.new_context(viewport={"width": 1280, "height": 800}))
    page = context.new_page()
    page.add_init_script(WATCH_PROGRESS)
    page.goto(app_server.url + "/")
    wait_ready(page)
    remember_files(page, BASE_FILES)
    yield page
    context.close()
    assert not guard.offsite, guard.offsite


@pytest.fixture
def memory(real: Page) -> Iterator[Page]:
    """The real app with the Memory panel open on an empty search."""
    real.click("#memory-open")
    real.get_by_label("Search memory").fill("")
    yield real
    if real.locator("#memory").is_visible():
        real.keyboard.press("Escape")


def count_shown(page: Page) -> int:
    stats = str(page.locator("#memory-stats").text_content())
    return int(stats.split(" ", 1)[0])


def test_the_model_download_showed_a_progress_bar(real: Page) -> None:
    seen = real.evaluate("window.__memoryBar")
    assert seen["shown"], seen
    assert seen["max"] == 100, seen
    expect(real.get_by_role("progressbar", name="Loading the memory model")).to_be_hidden()


def test_live_search_finds_by_meaning_and_opens_the_file(memory: Page) -> None:
    expect(memory.locator("#memory-stats")).to_contain_text(" memories · ")
    expect(memory.locator("#memory-stats")).to_contain_text("backend: wasm")
    memory.get_by_label("Search memory").press_sequentially("how do I make bread?", delay=15)
    best = rows(memory).first
    expect(best.locator(".memory-source")).to_have_text(
        "file · sourdough.md", timeout=EMBED_TIMEOUT_MS
    )
    expect(best.locator(".memory-kind")).to_have_text("file")
    expect(best.locator(".memory-snippet")).to_contain_text("Feed the starter")
    expect(best.locator(".memory-score")).to_have_text(re.compile(r"^score \d\.\d\d$"))
    best.locator(".memory-hit").click()
    detail = memory.locator("#memory-detail")
    expect(detail.locator(".memory-facts")).to_contain_text("user/notes/sourdough.md")
    expect(detail.locator(".memory-text")).to_have_text(BASE_FILES["user/notes/sourdough.md"])
    detail.get_by_role("button", name="Open file in the editor").click()
    expect(memory.locator("#memory")).to_be_hidden()
    expect(memory.locator("#editor-path")).to_have_text("user/notes/sourdough.md")
    expect(memory.locator("#editor-text")).to_have_value(BASE_FILES["user/notes/sourdough.md"])
    expect(memory.locator("#tree li.selected")).to_have_attribute(
        "data-path", "user/notes/sourdough.md"
    )


def test_hostile_text_from_a_real_file_stays_text(memory: Page) -> None:
    memory.get_by_label("Search memory").fill("quarterly tax report")
    best = rows(memory).first
    expect(best.locator(".memory-source")).to_have_text("file · taxes.md")
    expect(best.locator(".memory-snippet")).to_contain_text(HOSTILE)
    best.locator(".memory-hit").click()
    expect(memory.locator("#memory-detail .memory-text")).to_have_text(BASE_FILES["user/taxes.md"])
    expect(memory.locator("#memory img, #memory script")).to_have_count(0)
    assert memory.evaluate("window.pwned") is None


def test_delete_one_by_keyboard_and_many_by_selection(memory: Page) -> None:
    memory.keyboard.press("Escape")
    remember_files(memory, EXTRA_FILES)
    memory.keyboard.press("Alt+Shift+M")
    stats = memory.locator("#memory-stats")
    total = os_call(memory, "memory.stats")["count"]
    expect(stats).to_contain_text(f"{total} memories · ")
    box = memory.get_by_label("Search memory")
    box.fill("bicycle chain and tyres")
    expect(rows(memory).first.locator(".memory-source")).to_have_text("file · bikes.md")
    box.press("ArrowDown")
    memory.once("dialog", lambda d: d.accept())
    memory.keyboard.press("Delete")
    expect(stats).to_contain_text(f"{total - 1} memories · ")
    expect(rows(memory).locator(".memory-source", has_text="bikes.md")).to_have_count(0)

    box.fill("chess openings or coffee brewing")
    for name in ("chess.md", "coffee.md"):
        row = rows(memory).filter(has=memory.locator(".memory-source", has_text=name))
        row.get_by_role("checkbox").check()
    delete = memory.get_by_role("button", name="Delete selected (2)")
    memory.once("dialog", lambda d: d.accept())
    delete.click()
    expect(stats).to_contain_text(f"{total - 3} memories · ")
    expect(memory.locator("#memory-state")).to_have_text("Deleted 2 memories.")
    found = memory.locator("#memory-results .memory-source")
    expect(found.filter(has_text="chess.md")).to_have_count(0)
    expect(found.filter(has_text="coffee.md")).to_have_count(0)
    expect(memory.get_by_role("button", name="Delete selected")).to_be_disabled()
    assert os_call(memory, "memory.stats")["count"] == total - 3


def delete_everything(page: Page) -> None:
    page.get_by_label("Search memory").fill("anything at all")
    expect(rows(page).first).to_be_visible()
    page.get_by_label("All", exact=True).check()
    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Delete selected").click()
    expect(page.locator("#memory-stats")).to_contain_text("0 memories · ")
    expect(page.locator("#memory-results")).to_contain_text("Nothing remembered yet")


def import_file(page: Page, path: Path) -> None:
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Import").click()
    chooser.value.set_files(str(path))


def test_export_then_import_restores_and_reports(memory: Page, tmp_path: Path) -> None:
    total = os_call(memory, "memory.stats")["count"]
    with memory.expect_download() as download:
        memory.get_by_role("button", name="Export").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.suffix == ".jsonl"
    expect(memory.locator("#memory-state")).to_have_text(
        f"Exported {total} memories to {saved.name}."
    )
    lines = [json.loads(line) for line in saved.read_text().splitlines()]
    assert lines[0]["llmos-memory"] == 1
    assert len(lines) == total + 1
    texts = {line["text"] for line in lines[1:]}
    assert BASE_FILES["user/notes/sourdough.md"] in texts

    delete_everything(memory)
    size = re.compile(r" · \d+(\.\d)? (B|KB|MB) · ")
    emptied = str(memory.locator("#memory-stats").text_content())
    assert size.search(emptied), emptied
    import_file(memory, saved)
    expect(memory.locator("#memory-state")).to_have_text(f"Imported {total} memories.")
    expect(memory.locator("#memory-stats")).to_contain_text(f"{total} memories · ")
    expect(memory.locator("#memory-stats")).not_to_have_text(emptied)  # the size grew too
    box = memory.get_by_label("Search memory")
    box.fill("baking bread at home")
    expect(rows(memory).first.locator(".memory-source")).to_have_text("file · sourdough.md")

    # from another model, with a broken line: vectors are recomputed, the bad line is reported
    delete_everything(memory)
    other = tmp_path / "other-model.jsonl"
    header = {**lines[0], "model": "some-other-model"}
    body = [json.dumps(header), *map(json.dumps, lines[1:]), "{not json"]
    other.write_text("\n".join(body) + "\n")
    import_file(memory, other)
    expect(memory.locator("#memory-state")).to_have_text(
        f"Imported {total} memories ({total} re-embedded with this model); 1 line was skipped.",
        timeout=EMBED_TIMEOUT_MS,
    )
    expect(memory.get_by_role("list", name="Import problems")).to_have_text(
        f"line {total + 2}: not a JSON object"
    )
    box.fill("moons of Jupiter")
    expect(rows(memory).first.locator(".memory-source")).to_have_text("file · astronomy.md")


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


def test_a_chat_turn_recalls_memories_and_citations_open_the_panel(
    real: Page, llm: ScriptedLLM
) -> None:
    endpoint = {"name": "scripted", "base_url": llm.url, "model": MODEL, "api_key": "sk-x"}
    os_call(real, "llm.settings.set", endpoint=endpoint, mode="remote")
    hits = os_call(real, "memory.search", query="sourdough bread starter", k=1)["items"]
    cited = hits[0]["id"]
    llm.queue(text(f"Bake it at 250 °C in a Dutch oven [m{cited}]."))
    before = os_call(real, "memory.stats")["count"]
    real.locator("#chat-in").fill("How hot should the oven be for my sourdough bread?")
    real.locator("#chat-in").press("Enter")
    log = real.locator("#chat-log")
    expect(log).to_contain_text(f"Dutch oven [m{cited}].", timeout=EMBED_TIMEOUT_MS)
    card = log.locator("details.memories-card")
    expect(card.locator("summary")).to_contain_text("Recalled ")
    expect(card.locator("summary")).to_contain_text(f"[m{cited}]")
    prompt = llm.requests[-1]["body"]["messages"][0]["content"]
    assert f"[m{cited}]" in prompt  # the model saw what the chat cites

    card.locator("summary").click()
    citation = card.locator(f"[data-memory-id='{cited}']")
    expect(citation).to_contain_text("file · sourdough.md")
    expect(citation).to_contain_text("Feed the starter")
    citation.click()
    dialog = real.get_by_role("dialog", name="Memory")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#memory-detail h3")).to_have_text(f"[m{cited}] file")
    expect(dialog.locator("#memory-detail .memory-text")).to_have_text(
        BASE_FILES["user/notes/sourdough.md"]
    )
    real.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    # the turn itself is remembered (as a conversation turn and as its execution trace); its
    # memory leads back to the conversation
    wait_remembered(real, before + 2)
    title = str(real.locator("#chat-list option:checked").text_content())
    real.keyboard.press("Alt+Shift+N")
    expect(real.locator("#chat-list option:checked")).to_have_text("New chat")
    real.keyboard.press("Alt+Shift+M")
    real.get_by_label("Kind of memory").select_option("conversation")
    real.get_by_label("Search memory").fill("oven temperature for sourdough")
    best = rows(real).first
    expect(best.locator(".memory-source")).to_have_text(f"chat · {title}")
    best.locator(".memory-hit").click()
    expect(dialog.locator("#memory-detail .memory-text")).to_contain_text("Dutch oven")
    dialog.get_by_role("button", name="Open the conversation").click()
    expect(dialog).to_be_hidden()
    expect(real.locator("#chat-list option:checked")).to_have_text(title)
    expect(log).to_contain_text(f"Dutch oven [m{cited}].")


def test_settings_are_read_saved_and_refused_readably(memory: Page) -> None:
    before = os_call(memory, "memory.settings.get")
    memory.locator("#memory-settings summary").click()
    form = memory.locator("#memory-settings-form")
    expect(form.get_by_label("Memories given to the agent per message")).to_have_value(
        str(before["inject"])
    )
    expect(form.get_by_label("Remember and recall")).to_be_checked()
    expect(form.get_by_label("Weight of meaning")).to_have_value(str(before["weights"]["vector"]))
    form.get_by_label("saved files").uncheck()
    form.get_by_label("Memories given to the agent per message").fill("2")
    form.get_by_label("Weight of matching words").fill("0.5")
    form.get_by_role("button", name="Save settings").click()
    expect(memory.locator("#memory-state")).to_have_text("Memory settings saved.")
    saved = os_call(memory, "memory.settings.get")
    assert saved["inject"] == 2
    assert saved["remember"] == {"conversations": True, "executions": True, "files": False}
    assert saved["weights"]["keyword"] == 0.5
    assert saved["weights"]["vector"] == before["weights"]["vector"]

    for name in ("Weight of meaning", "Weight of matching words", "Weight of recency"):
        form.get_by_label(name).fill("0")
    form.get_by_role("button", name="Save settings").click()
    state = memory.locator("#memory-state")
    expect(state).to_contain_text("At least one recall weight")
    expect(state).to_have_class(re.compile(r"\bbad\b"))
    assert os_call(memory, "memory.settings.get")["weights"] == saved["weights"]
    os_call(memory, "memory.settings.set", values={k: before[k] for k in ("inject", "remember")})
