"""The Memory panel: search what LLMos remembers, read an item and its source, delete one or many,
export and import, and the memory settings (what is remembered, what the agent is given, the
recall weights, the backend); its footer shows the count, size and backend, and the topbar shows
the embedding model's first download.

Everything shown here came from memory (the user's files and chats, the model's output), so it
is set as text, never as HTML. Searches run as the user types, debounced; ``self.generation``
counts them, so a reply to an older query never replaces the results of a newer one. Export and
import go through ``window.llmosMemoryFiles`` (``web/bridges/memory-transfer.mjs``): an export
holds every vector, megabytes that have no business in this MicroPython heap.
"""

import asyncio
import json

from js import window

from llmos.ui import bridge, dom

DEBOUNCE_S = 0.15
RESULTS = 30
MAX_REPORTED_ERRORS = 20
WEIGHT_FIELDS = (
    ("vector", "mem-vector"),
    ("keyword", "mem-keyword"),
    ("recency", "mem-recency"),
    ("half_life_days", "mem-half-life"),
)
REMEMBERED = ("conversations", "executions", "files")
SOURCE_NAMES = {
    "file": "file",
    "conversation": "chat",
    "trace": "code run",
    "note": "note",
}


class MemoryPanel:
    def __init__(self, open_file, open_chat):
        """``open_file(path)`` and ``open_chat(chat_id, index)`` show a memory's source."""
        self.open_file = open_file
        self.open_chat = open_chat
        self.dialog = dom.by_id("memory")
        self.query = dom.by_id("memory-query")
        self.kind = dom.by_id("memory-kind")
        self.list = dom.by_id("memory-results")
        self.detail = dom.by_id("memory-detail")
        self.results = []
        self.checked = set()
        self.shown = None  # the memory in the detail view (``memory.get``'s reply)
        self.generation = 0
        self.open_first = False
        self.stats = {}
        self.stats_due = 0
        self.loading = {}  # embedding model download: stage -> (share, fraction done)
        self.opener = None
        self._wire()

    # -- wiring ------------------------------------------------------------------------------
    def _wire(self):
        dom.on(dom.by_id("memory-open"), "click", lambda e: self.show())
        dom.on(dom.by_id("memory-close"), "click", lambda e: self.dialog.close())
        dom.on(self.dialog, "close", lambda e: self._restore_focus())
        dom.on(self.query, "input", lambda e: self.search_soon())
        dom.on(self.query, "keydown", self._query_key)
        dom.on(self.kind, "change", lambda e: self.search_soon(0))
        dom.on(self.list, "click", self._list_click)
        dom.on(self.list, "change", self._list_change)
        dom.on(self.list, "keydown", self._list_key)
        dom.on(self.detail, "click", self._detail_click)
        dom.on(dom.by_id("memory-all"), "change", self._check_all)
        dom.on(dom.by_id("memory-delete-selected"), "click", lambda e: self.delete_checked())
        dom.on(dom.by_id("memory-export"), "click", lambda e: self.spawn(self.export()))
        dom.on(dom.by_id("memory-import"), "click", lambda e: dom.by_id("memory-file").click())
        dom.on(dom.by_id("memory-file"), "change", lambda e: self.spawn(self.import_from(e.target)))
        dom.on(dom.by_id("memory-settings"), "toggle", self._settings_toggled)
        dom.on(dom.by_id("memory-settings-form"), "submit", self._settings_submit)

    def spawn(self, coro):
        bridge.spawn(coro, lambda text: self.state(text, True))

    def state(self, text, bad=False):
        box = dom.by_id("memory-state")
        box.textContent = text
        box.classList.toggle("bad", bad)

    # -- open, close -------------------------------------------------------------------------
    def show(self):
        """Open the panel with the cursor in the search box."""
        if not self.dialog.open:
            self.opener = dom.active()
            self.dialog.showModal()
        self.query.focus()
        self.query.select()
        self.spawn(self.refresh())

    def show_item(self, memory_id):
        """Open the panel on one memory (a citation in the chat was clicked)."""
        if not self.dialog.open:
            self.opener = dom.active()
            self.dialog.showModal()
        self.spawn(self.refresh())
        self.spawn(self.view(memory_id))

    def citation_click(self, event):
        """Click handler for the chat log: a ``[m12]`` citation opens that memory here."""
        button = event.target.closest("[data-memory-id]")
        if button:
            self.show_item(int(button.getAttribute("data-memory-id")))

    def _restore_focus(self):
        if self.opener:
            self.opener.focus()
            self.opener = None

    def _leave_for(self, show_source):
        """Close the panel to show a source elsewhere (focus goes there, not back)."""
        self.opener = None
        self.dialog.close()
        show_source()

    async def refresh(self):
        """Stats and results again (after a delete, an import, or on opening)."""
        self.show_stats(await bridge.call("memory.stats"))
        self.generation += 1
        await self._search(self.generation, 0)

    # -- search ------------------------------------------------------------------------------
    def search_soon(self, delay=DEBOUNCE_S):
        self.generation += 1
        self.spawn(self._search(self.generation, delay))

    async def _search(self, generation, delay):
        if delay:
            await asyncio.sleep(delay)
        if generation != self.generation:
            return  # the user typed on: a newer search is on its way
        text = str(self.query.value).strip()
        if not text:
            self.show_results(text, [], None)
            return
        params = {"query": text, "k": RESULTS}
        if self.kind.value:
            params["kinds"] = [str(self.kind.value)]
        dom.by_id("memory-summary").textContent = "Searching…"
        reply = await bridge.call("memory.search", **params)
        if reply["items"]:
            self.model_ready()
        if generation == self.generation:  # a reply for an older query is dropped
            self.show_results(text, reply["items"], reply.get("ms"))

    def show_results(self, text, items, ms):
        self.results = items
        ids = [item["id"] for item in items]
        self.checked = {i for i in self.checked if i in ids}
        self.list.innerHTML = ""
        for item in items:
            self.list.append(result_row(item, item["id"] in self.checked, self._is_shown(item)))
        if not items:
            self.list.append(dom.element("li", self.empty_text(text), "memory-empty"))
        summary = dom.by_id("memory-summary")
        summary.textContent = results_text(len(items), ms) if text else ""
        self.list.setAttribute("data-query", text)
        self._sync_checks()
        if self.open_first and items:
            self.open_first = False
            self.spawn(self.view(items[0]["id"]))

    def empty_text(self, text):
        count = self.stats.get("count", 0)
        if not count:
            return "Nothing remembered yet: your chats, code runs and saved files appear here."
        if text:
            return "No matches for “" + text + "”."
        return "Type to search " + plural(count, "memory", "memories") + "."

    def _is_shown(self, item):
        return bool(self.shown) and self.shown["id"] == item["id"]

    def _query_key(self, event):
        if event.key == "Escape":  # a search box would only clear itself: close, as elsewhere
            event.preventDefault()
            self.dialog.close()
        elif event.key == "ArrowDown":
            event.preventDefault()
            self._focus_row(0)
        elif event.key == "Enter":
            event.preventDefault()
            text = str(self.query.value).strip()
            if self.results and self.list.getAttribute("data-query") == text:
                self.spawn(self.view(self.results[0]["id"]))
            else:
                self.open_first = True
                self.search_soon(0)

    # -- the results list --------------------------------------------------------------------
    def _hits(self):
        return list(self.list.querySelectorAll(".memory-hit"))

    def _focus_row(self, index):
        hits = self._hits()
        if hits:
            hits[max(0, min(index, len(hits) - 1))].focus()

    def _row_index(self, node):
        row = node.closest("[data-id]")
        ids = [r.getAttribute("data-id") for r in self.list.querySelectorAll("[data-id]")]
        return ids.index(row.getAttribute("data-id")) if row else -1

    def _list_click(self, event):
        hit = event.target.closest(".memory-hit")
        if hit:
            self.spawn(self.view(int(hit.closest("[data-id]").getAttribute("data-id"))))

    def _list_change(self, event):
        box = event.target
        memory_id = int(box.closest("[data-id]").getAttribute("data-id"))
        if box.checked:
            self.checked.add(memory_id)
        else:
            self.checked.discard(memory_id)
        self._sync_checks()

    def _check_all(self, event):
        on = bool(event.target.checked)
        self.checked = {item["id"] for item in self.results} if on else set()
        for box in self.list.querySelectorAll("input[type='checkbox']"):
            box.checked = on
        self._sync_checks()

    def _sync_checks(self):
        count = len(self.checked)
        button = dom.by_id("memory-delete-selected")
        button.disabled = not count
        button.textContent = "Delete selected" + (" (" + str(count) + ")" if count else "")
        every = dom.by_id("memory-all")
        every.checked = bool(self.results) and count == len(self.results)
        every.indeterminate = 0 < count < len(self.results)
        every.disabled = not self.results

    def _list_key(self, event):
        index = self._row_index(event.target)
        if index < 0:
            return
        key = event.key
        if key == "ArrowDown":
            event.preventDefault()
            self._focus_row(index + 1)
        elif key == "ArrowUp":
            event.preventDefault()
            if index == 0:
                self.query.focus()
            else:
                self._focus_row(index - 1)
        elif key in ("Delete", "Backspace"):
            event.preventDefault()
            if self.checked:
                self.delete_checked()
            else:
                self.spawn(self.delete([self.results[index]["id"]], index))

    # -- one memory --------------------------------------------------------------------------
    async def view(self, memory_id):
        try:
            item = await bridge.call("memory.get", id=memory_id)
        except bridge.OsError as error:
            self.shown = None
            self._show_detail_text("[m" + str(memory_id) + "] is not in memory: " + str(error))
            return
        self.shown = item
        self.detail.innerHTML = ""
        self.detail.append(detail_view(item))
        for row in self.list.querySelectorAll("[data-id]"):
            row.classList.toggle("shown", row.getAttribute("data-id") == str(item["id"]))

    def _show_detail_text(self, text):
        self.detail.innerHTML = ""
        self.detail.append(dom.element("p", text, "muted"))

    def _detail_click(self, event):
        button = event.target.closest("[data-action]")
        if not button or not self.shown:
            return
        action = button.getAttribute("data-action")
        source = self.shown.get("source") or {}
        if action == "delete":
            self.spawn(self.delete([self.shown["id"]]))
        elif action == "open-file":
            path = source.get("ref")
            self._leave_for(lambda: self.open_file(path))
        elif action == "open-chat":
            chat_id, index = chat_place(self.shown)
            self._leave_for(lambda: self.open_chat(chat_id, index))

    # -- delete, export, import --------------------------------------------------------------
    def delete_checked(self):
        ids = [item["id"] for item in self.results if item["id"] in self.checked]
        self.spawn(self.delete(ids))

    async def delete(self, ids, focus_index=None):
        if not ids:
            return
        what = cite(ids[0]) if len(ids) == 1 else plural(len(ids), "memory", "memories")
        if not dom.confirm("Forget " + what + "? This cannot be undone."):
            return
        reply = await bridge.call("memory.delete", ids=ids)
        for memory_id in ids:
            self.checked.discard(memory_id)
        if self.shown and self.shown["id"] in ids:
            self.shown = None
            self._show_detail_text("Deleted.")
        self.state("Deleted " + plural(reply["deleted"], "memory", "memories") + ".")
        await self.refresh()
        if focus_index is not None:
            self._focus_row(focus_index)

    async def export(self):
        self.state("Exporting…")
        result = bridge.checked(await window.llmosMemoryFiles.exportDownload())
        count = plural(result["records"], "memory", "memories")
        self.state("Exported " + count + " to " + result["name"] + ".")

    async def import_from(self, input_element):
        if not input_element.files.length:
            return
        file = input_element.files.item(0)
        input_element.value = ""
        self.state("Importing " + str(file.name) + "…")
        report = bridge.checked(await window.llmosMemoryFiles.importFile(file))
        self.show_report(report)
        await self.refresh()

    def show_report(self, report):
        errors = report.get("errors") or []
        text = "Imported " + plural(report.get("imported", 0), "memory", "memories")
        if report.get("reembedded"):
            text += " (" + str(report["reembedded"]) + " re-embedded with this model)"
        if errors:
            text += "; " + plural(len(errors), "line was", "lines were") + " skipped"
        self.state(text + ".", bool(errors))
        listing = dom.by_id("memory-report")
        listing.innerHTML = ""
        for error in errors[:MAX_REPORTED_ERRORS]:
            listing.append(dom.element("li", str(error)))
        if len(errors) > MAX_REPORTED_ERRORS:
            more = len(errors) - MAX_REPORTED_ERRORS
            listing.append(dom.element("li", "… and " + str(more) + " more."))

    # -- settings ----------------------------------------------------------------------------
    def _settings_toggled(self, event):
        if event.target.open:
            self.spawn(self.load_settings())

    def _settings_submit(self, event):
        event.preventDefault()
        self.spawn(self.save_settings())

    async def load_settings(self):
        fill_settings(await bridge.call("memory.settings.get"))

    async def save_settings(self):
        fill_settings(await bridge.call("memory.settings.set", values=form_settings()))
        self.state("Memory settings saved.")

    # -- stats, events -----------------------------------------------------------------------
    def show_stats(self, stats):
        self.stats = stats
        parts = [
            plural(stats.get("count", 0), "memory", "memories"),
            human_size(stats.get("bytes", 0)),
            str(stats.get("model") or "?"),
            "backend: " + str(stats.get("backend") or "?"),
        ]
        if stats.get("pending"):
            parts.append(str(stats["pending"]) + " waiting to be stored")
        dom.by_id("memory-stats").textContent = " · ".join(parts)
        listing = dom.by_id("memory-notices")
        listing.innerHTML = ""
        for problem in stats.get("problems") or []:
            listing.append(dom.element("li", str(problem), "bad"))
        for notice in stats.get("notices") or []:
            listing.append(dom.element("li", str(notice)))

    def on_event(self, name, data):
        if name == "memory.progress":
            self.progress(data)
        elif name == "memory.notice":
            dom.status("Memory: " + str(data.get("text") or ""))
            if self.dialog.open:
                self.spawn(self.refresh())
        elif name == "memory.changed":
            self.model_ready()
            if self.dialog.open:
                self.stats_due += 1
                self.spawn(self._stats_later(self.stats_due))
                self.search_soon()

    async def _stats_later(self, due):
        await asyncio.sleep(DEBOUNCE_S)
        if due == self.stats_due:  # one request for a burst of changes (an import)
            self.show_stats(await bridge.call("memory.stats"))

    def progress(self, data):
        """The embedding model's download (its stages, e.g. runtime then model, each with its
        share of the whole) as one bar in the topbar; ``ready`` ends it."""
        if data.get("stage") == "ready":
            self.loading = {}
            self.model_ready()
            return
        total = data.get("total") or 0
        done = min(1.0, (data.get("loaded") or 0) / total) if total else 0.0
        stage = str(data.get("stage") or "loading")
        if stage in self.loading and done < self.loading[stage][1]:
            self.loading = {}  # a new load (another backend): start over
        self.loading[stage] = (float(data.get("share") or 1), done)
        shares = sum(share for share, _ in self.loading.values())
        pct = int(100 * sum(share * part for share, part in self.loading.values()) / shares)
        bar = dom.by_id("memory-progress")
        bar.hidden = all(part >= 1 for _, part in self.loading.values())
        bar.setAttribute("aria-valuenow", str(pct))
        dom.by_id("memory-progress-fill").style.width = str(pct) + "%"
        label = "Memory model: " + stage + " (" + str(pct) + "%)"
        dom.by_id("memory-progress-text").textContent = label

    def model_ready(self):
        """Memory answered with the model loaded: the download is over even when its size
        was unknown (no Content-Length)."""
        bar = dom.by_id("memory-progress")
        if not bar.hidden:
            bar.hidden = True
            bar.setAttribute("aria-valuenow", "100")


# -- settings form ---------------------------------------------------------------------------
def fill_settings(values):
    dom.by_id("mem-enabled").checked = bool(values.get("enabled"))
    remember = values.get("remember") or {}
    for name in REMEMBERED:
        dom.by_id("mem-" + name).checked = bool(remember.get(name))
    dom.by_id("mem-inject").value = str(values.get("inject", 0))
    dom.by_id("mem-min-score").value = str(values.get("min_score", 0))
    weights = values.get("weights") or {}
    for name, field in WEIGHT_FIELDS:
        dom.by_id(field).value = str(weights.get(name, ""))
    dom.by_id("mem-backend").value = str(values.get("backend") or "auto")


def form_settings():
    """The form as ``memory.settings.set`` values (the browser has checked the numbers)."""
    return {
        "enabled": bool(dom.by_id("mem-enabled").checked),
        "remember": {name: bool(dom.by_id("mem-" + name).checked) for name in REMEMBERED},
        "inject": int(float(dom.by_id("mem-inject").value)),
        "min_score": float(dom.by_id("mem-min-score").value),
        "weights": {name: float(dom.by_id(field).value) for name, field in WEIGHT_FIELDS},
        "backend": str(dom.by_id("mem-backend").value),
    }


# -- rendering (module functions: they need no panel state) ---------------------------------
def cite(memory_id):
    return "[m" + str(memory_id) + "]"


def source_label(source):
    """``"file · notes.md"``: what kind of source, and its title (else its reference)."""
    source = source or {}
    kind = SOURCE_NAMES.get(source.get("type"), str(source.get("type") or "?"))
    return kind + " · " + str(source.get("title") or source.get("ref") or "?")


def date_text(created):
    if not created:
        return ""
    return str(window.Date.new(float(created) * 1000).toLocaleString())


def score_text(item):
    return "score " + ("%.2f" % float(item.get("score") or 0))


def score_title(item):
    scores = item.get("scores") or {}
    names = ("vector", "keyword", "recency")
    return " · ".join(name + " " + ("%.2f" % float(scores.get(name) or 0)) for name in names)


def result_row(item, checked, shown):
    row = dom.element("li", "", "memory-row" + (" shown" if shown else ""))
    row.setAttribute("data-id", str(item["id"]))
    box = dom.element("input")
    box.type = "checkbox"
    box.checked = checked
    box.setAttribute("aria-label", "Select " + cite(item["id"]))
    row.append(box)
    hit = dom.element("button", "", "memory-hit")
    hit.type = "button"
    head = dom.element("span", "", "memory-head")
    head.append(dom.element("span", cite(item["id"]), "cite-id"))
    head.append(dom.element("span", str(item.get("kind") or "?"), "memory-kind"))
    head.append(dom.element("span", source_label(item.get("source")), "memory-source"))
    head.append(dom.element("span", date_text(item.get("created")), "memory-date"))
    score = dom.element("span", score_text(item), "memory-score")
    score.title = score_title(item)
    head.append(score)
    hit.append(head)
    hit.append(dom.element("span", str(item.get("text") or ""), "memory-snippet"))
    row.append(hit)
    return row


def detail_view(item):
    node = dom.element("article", "", "memory-item")
    node.setAttribute("data-id", str(item["id"]))
    node.append(dom.element("h3", cite(item["id"]) + " " + str(item.get("kind") or "")))
    facts = dom.element("dl", "", "memory-facts")
    source = item.get("source") or {}
    for label, value in (
        ("Source", source_label(source)),
        ("Reference", str(source.get("ref") or "")),
        ("Remembered", date_text(item.get("created"))),
    ):
        facts.append(dom.element("dt", label))
        facts.append(dom.element("dd", value))
    node.append(facts)
    if item.get("metadata"):
        node.append(dom.element("h4", "Metadata"))
        node.append(dom.element("pre", json.dumps(item["metadata"]), "memory-meta"))
    node.append(dom.element("h4", "Text"))
    node.append(dom.element("pre", str(item.get("text") or ""), "memory-text"))
    node.append(detail_actions(source))
    return node


def detail_actions(source):
    tools = dom.element("div", "", "row")
    kind = source.get("type")
    if kind == "file" and str(source.get("ref") or "").startswith("user/"):
        tools.append(action("Open file in the editor", "open-file"))
    elif kind in ("conversation", "trace"):
        tools.append(action("Open the conversation", "open-chat"))
    tools.append(action("Delete", "delete", "danger"))
    return tools


def action(text, name, cls=""):
    button = dom.element("button", text, cls)
    button.type = "button"
    button.setAttribute("data-action", name)
    return button


def chat_place(item):
    """Where a conversation or code-run memory came from: ``(chat_id, item index or None)``."""
    source = item.get("source") or {}
    ref = str(source.get("ref") or "")
    if source.get("type") == "trace" and "#" in ref:
        chat_id, index = ref.split("#", 1)
        return chat_id, int(index) if index.isdigit() else None
    turn = (item.get("metadata") or {}).get("turn")
    return ref, turn if isinstance(turn, int) else None


def plural(count, one, many):
    count = int(count or 0)
    return str(count) + " " + (one if count == 1 else many)


def results_text(count, ms):
    text = plural(count, "result", "results")
    return text + (" in " + str(int(ms)) + " ms" if ms is not None else "")


def human_size(size):
    """``1536`` -> ``"1.5 KB"`` (binary units, as the browser's storage quota counts)."""
    size = float(size or 0)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return (str(int(size)) if unit == "B" else "%.1f" % size) + " " + unit
        size /= 1024
    return ""
