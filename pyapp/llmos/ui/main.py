"""UI entry point: wires the boot progress bar, explorer/editor, console, chat, settings, the
memory panel, the skills panel and the desktop's applets."""

import asyncio

from js import document, window

from llmos.ui import bridge, dom
from llmos.ui.chat import Chat
from llmos.ui.console import Console
from llmos.ui.desktop import Desktop
from llmos.ui.files import Files
from llmos.ui.memory import MemoryPanel
from llmos.ui.settings import SettingsPanel
from llmos.ui.skills import SkillsPanel

files = Files()
console = Console()
chat = Chat()
settings = SettingsPanel()
desktop = Desktop()


async def open_file(path):
    """Show a file in the explorer and the editor (a memory's source)."""
    parts = path.split("/")
    for end in range(1, len(parts)):
        files.expanded["/".join(parts[:end])] = True
    files.selected = path
    await files.open(path)
    await files.refresh()
    files.text.focus()


async def open_chat(chat_id, index):
    """Open a conversation at one of its items (a memory's source)."""
    await chat.open(chat_id)
    if index is not None and index < len(chat.nodes):
        chat.nodes[index].scrollIntoView()


memory = MemoryPanel(
    lambda path: files.spawn(open_file(path)),
    lambda chat_id, index: chat.spawn(open_chat(chat_id, index)),
)
skills = SkillsPanel(lambda chat_id, index: chat.spawn(open_chat(chat_id, index)))


def review_skill(name):
    """Leave Settings for the Skills panel on a skill a sync pulled."""
    settings.dialog.close()
    skills.show_skill(name)


settings.sync.open_skill = review_skill
progress = {"os": 0, "kernel": 0}
stages = {"os": "", "kernel": ""}


def show_progress():
    pct = (progress["os"] * 2 + progress["kernel"]) // 3
    dom.by_id("boot-fill").style.width = str(pct) + "%"
    dom.by_id("boot").setAttribute("aria-valuenow", str(pct))
    stage = stages["os"] if progress["os"] < 100 else stages["kernel"]
    dom.by_id("boot-stage").textContent = stage + " (" + str(pct) + "%)"


def on_event(name, data):
    if name == "boot.progress":
        progress[data["room"]] = data["pct"]
        stages[data["room"]] = data["stage"]
        show_progress()
    elif name == "os.ready":
        files.enable()
        asyncio.create_task(start_files())
        asyncio.create_task(start_chat())
        desktop.spawn(desktop.start())
    elif name.startswith("chat.") or name.startswith("llm."):
        chat.on_event(name, data)
    elif name.startswith("memory."):
        memory.on_event(name, data)
    elif name.startswith("mcp."):
        settings.mcp.on_event(name, data)
    elif name == "learning.trace":
        chat.on_event(name, data)
    elif name.startswith("learning.") or name.startswith("skills."):
        skills.on_event(name, data)
    elif name.startswith("applets."):
        desktop.on_event(name, data)
    elif name.startswith("sync."):
        settings.sync.on_event(name, data)
    elif name == "llmos.ready":
        dom.by_id("boot").classList.add("done")
        mode = "isolated" if data.get("isolated") else "not isolated"
        dom.status(
            "Ready in " + str(int(data["ms"])) + " ms · storage: " + data["storage"] + " · " + mode
        )
        document.body.setAttribute("data-ready", "1")
    elif name in ("os.failed", "llmos.failed"):
        dom.notice("LLMos could not start: " + data["message"])
    elif name == "kernel.status":
        dom.by_id("kernel-state").textContent = "kernel: " + data["state"]
        if data["state"] == "failed":
            dom.notice("The Python kernel failed to start: " + data.get("detail", ""))
        if data["state"] in ("idle", "busy"):
            console.enable()
    elif name == "fs.changed":
        files.on_change(data)
    elif name == "app.update":
        dom.by_id("update").hidden = False
    elif name == "storage.persist" and not data["persisted"]:
        dom.status("Storage is not persistent: the browser may evict files under pressure.")


async def start_chat():
    """The chat first; then the skills badge (it loads the learning modules in the OS)."""
    await chat.start()
    await skills.start()


async def start_files():
    try:
        info = await bridge.call("os.info")
        await files.refresh()
        if any(e["name"] == "README.md" for e in await bridge.call("fs.list", path="user")):
            files.selected = "user/README.md"
            await files.open("user/README.md")
            await files.refresh()
        if info["warnings"]:
            dom.notice("\n".join(info["warnings"]))
    except bridge.OsError as error:
        dom.notice(str(error))


def on_key(event):
    """Shortcuts: Ctrl+S save, Esc stop, Ctrl+, settings, Alt+Shift+C chat, Alt+Shift+N new,
    Alt+Shift+M memory, Alt+Shift+K skills."""
    ctrl = event.ctrlKey or event.metaKey
    in_chat = dom.by_id("chat").contains(event.target)
    in_dialog = bool(document.querySelector("dialog[open]"))
    if ctrl and event.key == "s":
        event.preventDefault()
        files.spawn(files.save())
    elif ctrl and event.key == ",":
        event.preventDefault()
        settings.show()
    elif event.altKey and event.shiftKey and event.code == "KeyC":
        event.preventDefault()
        chat.input.focus()
    elif event.altKey and event.shiftKey and event.code == "KeyN" and chat.available:
        event.preventDefault()
        chat.spawn(chat.new())
    elif event.altKey and event.shiftKey and event.code == "KeyM":
        event.preventDefault()
        memory.show()
    elif event.altKey and event.shiftKey and event.code == "KeyK":
        event.preventDefault()
        skills.show()
    elif in_dialog:
        return
    elif event.key == "Escape" and chat.is_running() and (in_chat or not console.running):
        event.preventDefault()
        chat.spawn(chat.stop())
    elif event.key == "Escape" and console.running:
        event.preventDefault()
        asyncio.create_task(console.stop())


def on_before_unload(event):
    if files.dirty():
        event.preventDefault()
        event.returnValue = "unsaved"


dom.on(document, "keydown", on_key)
dom.on(window, "beforeunload", on_before_unload)
dom.on(dom.by_id("update-apply"), "click", lambda e: window.llmosBridge.applyUpdate())
dom.on(dom.by_id("chat-log"), "click", memory.citation_click)
bridge.subscribe(on_event)
document.body.setAttribute("data-ui", "1")
window.llmosTimings.uiReady = window.performance.now()
