"""The chat panel: conversations, streamed replies as safe Markdown, tool cards, edit-and-resend,
thumbs up/down on each finished answer, and "Applied skill X" on a skill's card.

The OS owns the conversation; this panel mirrors it. ``self.items[i]`` and ``self.nodes[i]`` are
item ``i`` of the open conversation and its element; ``chat.item``/``chat.delta``/``chat.update``
events change them by index. A turn's thumbs go to its execution trace (``chat.feedback``, by
the index of the turn's user item); the OS marks that item too, so they survive a reload.
Markdown goes through ``window.llmosMarkdown`` (sanitized HTML); everything else is set as text
or built with DOM calls, never as HTML.
"""

import json

from js import window

from llmos.ui import bridge, dom
from llmos.ui.memory import cite, plural, source_label

STATUS_TEXT = {
    "final": "",
    "stopped": "Stopped.",
    "step_limit": "Step limit reached.",
    "error": "The turn failed.",
}


class Chat:
    def __init__(self):
        self.log = dom.by_id("chat-log")
        self.input = dom.by_id("chat-in")
        self.send_button = dom.by_id("chat-send")
        self.select = dom.by_id("chat-list")
        self.chat_id = None
        self.items = []
        self.nodes = []
        self.running = set()
        self.asks = []
        self.feedback = {}  # user item index -> "up" | "down" | "none" (the open chat's thumbs)
        self.loading = False
        self.available = False
        self._wire()

    # -- wiring ------------------------------------------------------------------------------
    def _wire(self):
        dom.on(dom.by_id("chat-form"), "submit", self._submit)
        dom.on(self.input, "keydown", self._input_key)
        dom.on(self.select, "change", lambda e: self.spawn(self.open(self.select.value)))
        dom.on(dom.by_id("chat-new"), "click", lambda e: self.spawn(self.new()))
        dom.on(dom.by_id("chat-rename"), "click", lambda e: self.spawn(self.rename()))
        dom.on(dom.by_id("chat-delete"), "click", lambda e: self.spawn(self.delete()))
        dom.on(self.log, "click", self._log_click)
        dom.on(self.log, "keydown", self._log_key)
        dom.on(dom.by_id("ask-allow"), "click", lambda e: self._answer(True))
        dom.on(dom.by_id("ask-deny"), "click", lambda e: self._answer(False))
        dom.on(dom.by_id("ask"), "cancel", self._ask_cancel)

    def spawn(self, coro):
        bridge.spawn(coro, lambda text: self.state(text, True))

    def state(self, text, bad=False):
        box = dom.by_id("chat-state")
        box.textContent = text
        box.classList.toggle("bad", bad)

    # -- conversations -----------------------------------------------------------------------
    async def start(self):
        """The OS is ready: list the conversations and open the newest."""
        try:
            chats = await self.refresh_list()
        except bridge.OsError as error:
            self.state("Chat is unavailable: " + str(error), True)
            return
        self.available = True
        for name in ("chat-new", "chat-rename", "chat-delete"):
            dom.by_id(name).disabled = False
        self.input.disabled = False
        self._sync_button()
        if chats:
            await self.open(chats[0]["id"])
        else:
            self._clear_log()

    async def refresh_list(self):
        chats = await bridge.call("chat.list")
        self.select.innerHTML = ""
        for entry in chats:
            option = dom.element("option", entry.get("title") or "New conversation")
            option.value = entry["id"]
            self.select.append(option)
            if entry["id"] == self.chat_id:
                self.show_usage(entry.get("usage"))
        if not chats:
            self.select.append(dom.element("option", "No conversations yet"))
        self.select.disabled = not chats
        if self.chat_id:
            self.select.value = self.chat_id
        return chats

    async def open(self, chat_id):
        chat = await bridge.call("chat.get", id=chat_id)
        self.chat_id = chat["id"]
        self.select.value = self.chat_id
        self.feedback = {}
        self._clear_log()
        self.loading = True  # one decorate() at the end, not one per item
        for index, item in enumerate(chat["items"]):
            self.put(index, item)
        self.loading = False
        self.decorate()
        self.show_usage(chat.get("usage"))
        self.state("")
        self._sync_button()

    async def new(self):
        chat = await bridge.call("chat.new")
        self.chat_id = chat["id"]
        await self.refresh_list()
        await self.open(chat["id"])
        self.input.focus()

    async def rename(self):
        if not self.chat_id:
            return
        current = self.select.options.item(self.select.selectedIndex)
        title = dom.prompt("Rename this conversation to:", current.textContent if current else "")
        if title and title.strip():
            await bridge.call("chat.rename", id=self.chat_id, title=title.strip())
            await self.refresh_list()

    async def delete(self):
        if not self.chat_id or not dom.confirm("Delete this conversation? This cannot be undone."):
            return
        await bridge.call("chat.delete", id=self.chat_id)
        self.running.discard(self.chat_id)
        self.chat_id = None
        chats = await self.refresh_list()
        if chats:
            await self.open(chats[0]["id"])
        else:
            self._clear_log()
            self.show_usage(None)

    # -- sending -----------------------------------------------------------------------------
    def _submit(self, event):
        event.preventDefault()
        if self.chat_id in self.running:
            self.spawn(self.stop())
            return
        text = self.input.value
        if text.strip() and self.available:
            self.input.value = ""
            self.spawn(self.send(text))

    def _input_key(self, event):
        if event.key == "Enter" and not event.shiftKey and not event.isComposing:
            event.preventDefault()
            if self.chat_id not in self.running:
                self._submit(event)

    async def send(self, text, edit_index=None):
        if not self.chat_id:
            chat = await bridge.call("chat.new")
            self.chat_id = chat["id"]
            await self.refresh_list()
        chat_id = self.chat_id
        params = {"id": chat_id, "text": text}
        index = len(self.items)
        if edit_index is not None:
            params["edit_index"] = edit_index
            index = edit_index
        self.put(index, {"kind": "user", "text": text})
        self.running.add(chat_id)
        self._sync_button()
        self.state("Working…")
        try:
            result = await bridge.call("chat.send", **params)
        except bridge.OsError as error:
            result = {"status": "error", "message": str(error)}
        self.finish(chat_id, result)
        await self.refresh_list()

    def finish(self, chat_id, data):
        """A turn ended (``chat.done`` or the ``chat.send`` reply; either may come first)."""
        self.running.discard(chat_id)
        if chat_id != self.chat_id:
            return
        for node in self.log.querySelectorAll("[aria-busy='true']"):
            node.setAttribute("aria-busy", "false")
        status = data.get("status", "final")
        message = data.get("message") or STATUS_TEXT.get(status, status)
        self.state(message, status == "error")
        if data.get("usage"):
            self.show_usage(data["usage"])
        self._sync_button()
        self.decorate()

    async def stop(self):
        if self.chat_id in self.running:
            self.state("Stopping…")
            await bridge.call("chat.stop", id=self.chat_id)

    def is_running(self):
        return self.chat_id in self.running

    def _sync_button(self):
        running = self.chat_id in self.running
        self.send_button.textContent = "Stop" if running else "Send"
        self.send_button.title = "Stop the assistant (Esc)" if running else "Send (Enter)"
        self.send_button.classList.toggle("stop", running)
        self.send_button.disabled = not self.available

    # -- events from the OS ------------------------------------------------------------------
    def on_event(self, name, data):
        if name == "llm.progress":
            self.progress(data)
            return
        chat_id = data.get("chat")
        if name == "chat.ask":
            self.asks.append(data)
            if len(self.asks) == 1:
                self._show_ask()
        elif name == "chat.done":
            self.finish(chat_id, data)
        elif chat_id != self.chat_id:
            return
        elif name == "learning.trace":
            self.feedback[int(data.get("turn") or 0)] = feedback_of(data.get("signals"))
            self.decorate()
            return
        elif name == "chat.item":
            self.put(data["index"], data["item"])
        elif name == "chat.update":
            self.replace(data["index"], data["item"])
        elif name == "chat.delta":
            self.append_text(data["index"], data["text"])

    def put(self, index, item):
        """Item ``index`` is new: it replaces whatever was at and after ``index``."""
        if index > len(self.items):
            self.spawn(self.open(self.chat_id))
            return
        self.truncate(index)
        node = self.render(index, item)
        self.items.append(item)
        self.nodes.append(node)
        stick = self._at_bottom()
        self.log.append(node)
        if stick:
            self.log.scrollTop = self.log.scrollHeight
        self.decorate()

    def replace(self, index, item):
        if index >= len(self.items):
            self.put(index, item)
            return
        node = self.render(index, item)
        was, now = details_of(self.nodes[index]), details_of(node)
        if was and now and was.hasAttribute("open"):
            now.setAttribute("open", "")
        self.nodes[index].replaceWith(node)
        self.items[index] = item
        self.nodes[index] = node
        self.decorate()

    def append_text(self, index, text):
        if index >= len(self.items):
            self.spawn(self.open(self.chat_id))
            return
        item = self.items[index]
        item["text"] = item.get("text", "") + text
        body = self.nodes[index].querySelector(".md")
        if body:
            self.nodes[index].classList.remove("empty")
            self.nodes[index].setAttribute("aria-busy", "true")
            window.llmosMarkdown.renderInto(body, item["text"], self.log)

    def truncate(self, index):
        for node in self.nodes[index:]:
            node.remove()
        del self.items[index:]
        del self.nodes[index:]
        empty = self.log.querySelector(".chat-empty")
        if empty:
            empty.remove()

    def _clear_log(self):
        self.items = []
        self.nodes = []
        self.log.innerHTML = ""
        self.log.append(
            dom.element(
                "p",
                "Ask LLMos anything: it can read and write your files and run Python.",
                "chat-empty",
            )
        )

    def _at_bottom(self):
        return self.log.scrollHeight - self.log.scrollTop - self.log.clientHeight < 40

    # -- rendering items ---------------------------------------------------------------------
    def render(self, index, item):
        kind = item.get("kind")
        maker = RENDERERS.get(kind, render_notice)
        node = maker(item)
        node.setAttribute("data-index", str(index))
        node.setAttribute("data-kind", str(kind))
        return node

    # -- edit and resend ---------------------------------------------------------------------
    def _log_click(self, event):
        button = event.target.closest("[data-action]")
        if not button:
            return
        node = button.closest("[data-index]")
        index = int(node.getAttribute("data-index"))
        action = button.getAttribute("data-action")
        if action == "edit":
            self._start_edit(index)
        elif action == "cancel":
            self.replace(index, self.items[index])
        elif action == "resend":
            self._resend(index)
        elif action == "feedback":
            turn = int(button.closest("[data-turn]").getAttribute("data-turn"))
            value = button.getAttribute("data-value")
            if self.feedback.get(turn) == value:
                value = "none"  # pressing a pressed thumb takes it back
            self.spawn(self.give_feedback(self.chat_id, turn, value))

    def _log_key(self, event):
        if not event.target.classList.contains("edit-box"):
            return
        index = int(event.target.closest("[data-index]").getAttribute("data-index"))
        if event.key == "Enter" and not event.shiftKey and not event.isComposing:
            event.preventDefault()
            self._resend(index)
        elif event.key == "Escape":
            event.preventDefault()
            event.stopPropagation()
            self.replace(index, self.items[index])
            self.nodes[index].querySelector("button").focus()

    def _start_edit(self, index):
        if self.chat_id in self.running:
            self.state("Wait for the assistant to finish, or stop it first.")
            return
        node = self.nodes[index]
        node.innerHTML = ""
        box = dom.element("textarea", "", "edit-box")
        box.value = self.items[index].get("text", "")
        box.rows = 3
        box.setAttribute("aria-label", "Edit your message")
        node.append(box)
        tools = dom.element("div", "", "msg-tools")
        tools.append(action_button("Cancel", "cancel", "Cancel the edit (Esc)"))
        tools.append(action_button("Resend", "resend", "Resend from here (Enter)", "primary"))
        node.append(tools)
        box.focus()

    def _resend(self, index):
        box = self.nodes[index].querySelector(".edit-box")
        text = box.value if box else ""
        if not text.strip() or self.chat_id in self.running:
            return
        self.spawn(self.send(text, index))
        self.input.focus()

    # -- thumbs up/down -----------------------------------------------------------------------
    async def give_feedback(self, chat_id, turn, value):
        await bridge.call("chat.feedback", chat=chat_id, index=turn, value=value)
        if chat_id == self.chat_id:
            self.feedback[turn] = value
            self.decorate()
            words = {"up": "Thanks: marked as a good answer.", "down": "Marked as a bad answer."}
            self.state(words.get(value, "Feedback taken back."))

    def decorate(self):
        """Thumbs under the last answer of each finished turn, pressed as the user left them."""
        if self.loading:
            return
        for turn, answer in finished_answers(self.items, self.chat_id in self.running):
            node = self.nodes[answer]
            bar = node.querySelector(".feedback")
            if not bar:
                bar = feedback_bar(turn)
                node.append(bar)
            value = self.feedback.get(turn) or self.items[turn].get("feedback") or "none"
            for button in bar.querySelectorAll("button"):
                pressed = button.getAttribute("data-value") == value
                button.setAttribute("aria-pressed", "true" if pressed else "false")

    # -- usage, progress, confirmations ------------------------------------------------------
    def show_usage(self, usage):
        dom.by_id("chat-usage").textContent = usage_text(usage)

    def progress(self, data):
        bar = dom.by_id("llm-progress")
        pct = int(data.get("pct") or 0)
        bar.hidden = pct >= 100
        bar.setAttribute("aria-valuenow", str(pct))
        dom.by_id("llm-progress-fill").style.width = str(pct) + "%"
        label = str(data.get("stage") or "Loading the local model")
        dom.by_id("llm-progress-text").textContent = label + " (" + str(pct) + "%)"

    def _show_ask(self):
        ask = self.asks[0]
        dom.by_id("ask-question").textContent = ask.get("question") or "Allow this action?"
        tool = ask.get("tool") or "tool"
        dom.by_id("ask-args").textContent = tool + " " + pretty(ask.get("arguments"))
        dialog = dom.by_id("ask")
        if not dialog.open:
            dialog.showModal()
        dom.by_id("ask-deny").focus()

    def _ask_cancel(self, event):
        event.preventDefault()
        self._answer(False)

    def _answer(self, allow):
        if not self.asks:
            return
        ask = self.asks.pop(0)
        if self.asks:
            self._show_ask()
        else:
            dom.by_id("ask").close()
            self.input.focus()
        self.spawn(bridge.call("chat.confirm", ask_id=ask["ask_id"], allow=allow))


# -- item renderers (module functions: they need no panel state) -----------------------------
def action_button(text, action, title, cls=""):
    button = dom.element("button", text, cls)
    button.type = "button"
    button.title = title
    button.setAttribute("data-action", action)
    return button


def pretty(arguments):
    """Tool arguments (JSON text, maybe invalid, or already parsed) indented for reading."""
    if arguments is None:
        return ""
    if not isinstance(arguments, str):
        arguments = json.dumps(arguments)
    return window.llmosMarkdown.prettyJson(arguments)


def markdown_block(text):
    body = dom.element("div", "", "md")
    body.innerHTML = window.llmosMarkdown.render(text or "")
    return body


def render_user(item):
    node = dom.element("div", "", "msg msg-user")
    node.append(dom.element("div", item.get("text", ""), "text"))
    tools = dom.element("div", "", "msg-tools")
    button = action_button("Edit", "edit", "Edit this message and resend from here")
    button.setAttribute("aria-label", "Edit and resend this message")
    tools.append(button)
    node.append(tools)
    return node


def render_assistant(item):
    # An assistant step that only called tools has no text: its tool cards say it all.
    node = dom.element("div", "", "msg msg-assistant" + ("" if item.get("text") else " empty"))
    node.append(markdown_block(item.get("text", "")))
    speed = speed_text(item.get("stats"))
    if speed:
        node.append(dom.element("div", speed, "speed"))
    return node


def speed_text(stats):
    """``"12.5 tokens/s · first token 420 ms"`` for a finished model call."""
    if not stats or not stats.get("tokens_per_s"):
        return ""
    text = str(stats["tokens_per_s"]) + " tokens/s"
    if stats.get("first_token_ms") is not None:
        text += " · first token " + str(int(stats["first_token_ms"])) + " ms"
    return text


def render_plan(item):
    node = dom.element("div", "", "msg card-plan")
    node.append(dom.element("h4", "Plan"))
    node.append(markdown_block(item.get("text", "")))
    return node


def render_route(item):
    engine = item.get("engine") or "?"
    text = engine + " · " + (item.get("model") or "?")
    if item.get("reason"):
        text += " — " + item["reason"]
    node = dom.element("div", text, "route " + engine)
    node.title = "Which model answered this turn, and why"
    return node


def details_of(node):
    """The collapsible part of an item's node, if it has one."""
    return node if node.tagName == "DETAILS" else node.querySelector("details")


def render_tool(item):
    """A collapsible card (arguments, result); its images stay visible below it."""
    card = dom.element("div", "", "tool-card")
    status = item.get("status") or "running"
    node = dom.element("details", "", "tool " + status)
    summary = dom.element("summary")
    summary.append(dom.element("span", "Tool"))
    summary.append(dom.element("span", item.get("name") or "?", "name"))
    summary.append(dom.element("span", status, "badge"))
    if item.get("skill"):
        summary.append(dom.element("span", "Applied skill " + str(item["skill"]), "applied"))
        card.setAttribute("data-skill", str(item["skill"]))
    source = item.get("source")
    if source:
        summary.append(dom.element("span", "from " + source + " · untrusted", "untrusted"))
    if item.get("duration_ms") is not None:
        summary.append(dom.element("span", str(int(item["duration_ms"])) + " ms", "ms"))
    node.append(summary)
    body = dom.element("div", "", "tool-body")
    if source:
        note = "External data from the MCP server " + source + ": untrusted, shown as plain text."
        body.append(dom.element("p", note, "source-note"))
    body.append(dom.element("h5", "Arguments"))
    body.append(dom.element("pre", pretty(item.get("arguments"))))
    if item.get("result") or status != "running":
        body.append(dom.element("h5", "Result"))
        body.append(dom.element("pre", item.get("result") or "(no output)"))
    node.append(body)
    card.append(node)
    for image in item.get("images") or []:
        img = dom.element("img", "", "tool-image")
        img.alt = "Image made by " + (item.get("name") or "the tool")
        img.src = "data:image/png;base64," + image
        card.append(img)
    return card


def render_error(item):
    node = dom.element("div", "Error: " + (item.get("message") or "unknown error"), "msg msg-error")
    node.setAttribute("role", "alert")
    return node


def render_notice(item):
    return dom.element("div", item.get("text") or item.get("message") or "", "msg msg-notice")


def render_memories(item):
    """The memories recalled for the message above, folded; each citation opens the Memory
    panel on its item (``MemoryPanel.citation_click`` listens on the log)."""
    memories = item.get("items") or []
    node = dom.element("details", "", "memories-card")
    summary = dom.element("summary")
    summary.append(dom.element("span", "Recalled " + plural(len(memories), "memory", "memories")))
    ids = " ".join(cite(memory.get("id")) for memory in memories)
    summary.append(dom.element("span", ids, "cite-list"))
    node.append(summary)
    listing = dom.element("ul", "", "memories-list")
    for memory in memories:
        button = dom.element("button", "", "cite")
        button.type = "button"
        button.title = "Open " + cite(memory.get("id")) + " in the Memory panel"
        button.setAttribute("data-memory-id", str(memory.get("id")))
        button.append(dom.element("span", cite(memory.get("id")), "cite-id"))
        button.append(dom.element("span", source_label(memory.get("source")), "cite-source"))
        button.append(dom.element("span", str(memory.get("text") or ""), "cite-snippet"))
        row = dom.element("li")
        row.append(button)
        listing.append(row)
    node.append(listing)
    return node


def feedback_of(signals):
    """A trace's signals as the pressed thumb: ``"up"``, ``"down"`` or ``"none"``."""
    signals = signals or []
    if "thumbs up" in signals:
        return "up"
    return "down" if "thumbs down" in signals else "none"


def finished_answers(items, running):
    """``(user index, last answer index)`` of each turn that has ended with a written answer."""
    users = [i for i, item in enumerate(items) if item.get("kind") == "user"]
    found = []
    for n, start in enumerate(users):
        end = users[n + 1] if n + 1 < len(users) else len(items)
        if running and end == len(items):
            continue  # the turn is still going
        answers = [
            i
            for i in range(start + 1, end)
            if items[i].get("kind") == "assistant" and items[i].get("text")
        ]
        if answers:
            found.append((start, answers[-1]))
    return found


def feedback_bar(turn):
    bar = dom.element("div", "", "feedback")
    bar.setAttribute("data-turn", str(turn))
    bar.setAttribute("role", "group")
    bar.setAttribute("aria-label", "Was this answer good?")
    for value, label in (("up", "Good answer"), ("down", "Bad answer")):
        # the thumb is drawn by CSS: the answer's text stays the answer's words
        button = action_button("", "feedback", label + " (press again to take it back)", value)
        button.setAttribute("data-value", value)
        button.setAttribute("aria-label", label)
        button.setAttribute("aria-pressed", "false")
        bar.append(button)
    return bar


RENDERERS = {
    "user": render_user,
    "assistant": render_assistant,
    "plan": render_plan,
    "route": render_route,
    "tool": render_tool,
    "error": render_error,
    "notice": render_notice,
    "memories": render_memories,
}


def group(number):
    """``1234567`` -> ``"1,234,567"`` (MicroPython's format has no ``,``)."""
    text = str(int(number or 0))
    parts = []
    while len(text) > 3:
        parts.insert(0, text[-3:])
        text = text[:-3]
    parts.insert(0, text)
    return ",".join(parts)


def usage_text(usage):
    if not usage:
        return "No tokens used"
    text = (
        group(usage.get("prompt_tokens"))
        + " prompt · "
        + group(usage.get("completion_tokens"))
        + " completion tokens"
    )
    cost = usage.get("cost_usd")
    if cost is None:
        return text + " · cost unknown"
    return text + " · $" + ("%.4f" % cost)
