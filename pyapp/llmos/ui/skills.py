"""The Skills panel: the user's Agent Skills (list, search as you type, read, edit, enable or
disable, delete, provenance), import of a folder or a zip, export of all as a zip, install from
a GitHub URL; the skills reflection proposes (accept, edit then accept, reject, with the runs they
came from), "Reflect now", the reflection log and its settings (when it runs by itself, how
many similar runs make a skill). The topbar's Skills button shows how many proposals wait.

Everything here came from a skill, a model or another repository, so it is set as text, never as
HTML. Enabling a skill that was imported (untrusted) first lists its scripts and asks. Zip and
folder bytes go through ``window.llmosSkillFiles`` (``web/bridges/skills-transfer.mjs``), never
through this MicroPython heap.
"""

import json

from js import window

from llmos.ui import bridge, dom
from llmos.ui.memory import date_text, plural

MAX_REPORTED = 20
KIND_TITLES = {"new": "New skill", "revise": "Revision of", "retire": "Retire"}


class SkillsPanel:
    def __init__(self, open_chat):
        """``open_chat(chat_id, index)`` shows a run a skill or a proposal came from."""
        self.open_chat = open_chat
        self.dialog = dom.by_id("skills")
        self.query = dom.by_id("skills-query")
        self.list = dom.by_id("skills-list")
        self.detail = dom.by_id("skills-detail")
        self.skills = []
        self.shown = None  # ``skills.get``'s reply for the skill in the detail view
        self.proposals = []
        self.traces = {}  # trace id -> {"chat", "turn", "request"}: where a source run is
        self.traces_fresh = False  # fetched since the panel last refreshed
        self.opener = None
        self._wire()

    # -- wiring ------------------------------------------------------------------------------
    def _wire(self):
        dom.on(dom.by_id("skills-open"), "click", lambda e: self.show())
        dom.on(dom.by_id("skills-close"), "click", lambda e: self.dialog.close())
        dom.on(self.dialog, "close", lambda e: self._restore_focus())
        dom.on(self.query, "input", lambda e: self.show_list())
        dom.on(self.query, "keydown", self._query_key)
        dom.on(self.list, "click", self._list_click)
        dom.on(self.list, "keydown", self._list_key)
        dom.on(self.detail, "click", self._detail_click)
        dom.on(dom.by_id("skills-proposals"), "click", self._proposal_click)
        dom.on(dom.by_id("skills-reflect"), "click", lambda e: self.spawn(self.reflect()))
        dom.on(dom.by_id("skills-export"), "click", lambda e: self.spawn(self.export()))
        dom.on(dom.by_id("skills-import-folder"), "click", lambda e: self._pick("skills-folder"))
        dom.on(dom.by_id("skills-import-zip"), "click", lambda e: self._pick("skills-zip"))
        dom.on(dom.by_id("skills-folder"), "change", lambda e: self.spawn(self.import_folder()))
        dom.on(dom.by_id("skills-zip"), "change", lambda e: self.spawn(self.import_zip()))
        dom.on(dom.by_id("skills-install"), "submit", self._install_submit)
        dom.on(dom.by_id("skills-log"), "toggle", self._log_toggled)
        dom.on(dom.by_id("skills-settings"), "toggle", self._settings_toggled)
        dom.on(dom.by_id("skills-settings-form"), "submit", self._settings_submit)

    def spawn(self, coro):
        bridge.spawn(coro, lambda text: self.state("✗ " + text, True))

    def state(self, text, bad=False):
        box = dom.by_id("skills-state")
        box.textContent = text
        box.classList.toggle("bad", bad)
        box.classList.toggle("ok", bool(text) and not bad)

    # -- open, close -------------------------------------------------------------------------
    def show(self):
        """Open the panel with the cursor in the search box."""
        if not self.dialog.open:
            self.opener = dom.active()
            self.dialog.showModal()
        self.query.focus()
        self.query.select()
        self.spawn(self.refresh())

    def show_skill(self, name):
        """Open the panel on one skill (a sync brought it for review)."""
        self.show()
        self.spawn(self.view(name))

    def _restore_focus(self):
        if self.opener:
            self.opener.focus()
            self.opener = None

    async def start(self):
        """The OS is ready: show how many proposals wait (the badge)."""
        try:
            await self.load_proposals()
        except bridge.OsError:
            return  # learning is unavailable: the panel says so when opened

    async def refresh(self):
        self.traces_fresh = False
        await self.load_list()
        await self.load_proposals()
        if dom.by_id("skills-log").open:
            await self.load_log()

    # -- the list ----------------------------------------------------------------------------
    async def load_list(self):
        reply = await bridge.call("skills.list")
        self.skills = reply.get("skills") or []
        self.show_list()

    def matching(self):
        words = str(self.query.value).strip().lower().split()
        found = []
        for skill in self.skills:
            hay = (str(skill.get("name")) + " " + str(skill.get("description") or "")).lower()
            if all(word in hay for word in words):
                found.append(skill)
        return found

    def show_list(self):
        found = self.matching()
        shown = self.shown["name"] if self.shown else None
        self.list.innerHTML = ""
        for skill in found:
            self.list.append(skill_row(skill, skill.get("name") == shown))
        if not found:
            self.list.append(dom.element("li", self.empty_text(), "memory-empty"))

    def empty_text(self):
        if not self.skills:
            return (
                "No skills yet. After a few similar successful tasks LLMos proposes one; "
                "you can also import or install skills."
            )
        return "No skills match “" + str(self.query.value).strip() + "”."

    def _rows(self):
        return list(self.list.querySelectorAll(".skill-hit"))

    def _focus_row(self, index):
        rows = self._rows()
        if rows:
            rows[max(0, min(index, len(rows) - 1))].focus()

    def _query_key(self, event):
        if event.key == "Escape":
            event.preventDefault()
            self.dialog.close()
        elif event.key == "ArrowDown":
            event.preventDefault()
            self._focus_row(0)
        elif event.key == "Enter":
            event.preventDefault()
            found = self.matching()
            if found:
                self.spawn(self.view(found[0]["name"]))

    def _list_click(self, event):
        hit = event.target.closest(".skill-hit")
        if hit:
            self.spawn(self.view(hit.closest("[data-name]").getAttribute("data-name")))

    def _list_key(self, event):
        if not event.target.classList.contains("skill-hit"):
            return
        name = event.target.closest("[data-name]").getAttribute("data-name")
        names = [row.getAttribute("data-name") for row in self.list.querySelectorAll("[data-name]")]
        index = names.index(name)
        if event.key == "ArrowDown":
            event.preventDefault()
            self._focus_row(index + 1)
        elif event.key == "ArrowUp":
            event.preventDefault()
            if index == 0:
                self.query.focus()
            else:
                self._focus_row(index - 1)

    # -- one skill ---------------------------------------------------------------------------
    async def view(self, name):
        try:
            skill = await bridge.call("skills.get", name=name)
        except bridge.OsError as error:
            self.shown = None
            self._detail_text("The skill " + name + " cannot be read: " + str(error))
            return
        self.shown = skill
        await self.load_traces(source_ids(skill.get("metadata")))
        self.detail.innerHTML = ""
        self.detail.append(skill_view(skill, self.traces))
        for row in self.list.querySelectorAll("[data-name]"):
            row.classList.toggle("shown", row.getAttribute("data-name") == skill["name"])

    def _detail_text(self, text):
        self.detail.innerHTML = ""
        self.detail.append(dom.element("p", text, "muted"))

    def _detail_click(self, event):
        button = event.target.closest("[data-action]")
        if not button or not self.shown:
            return
        action = button.getAttribute("data-action")
        name = self.shown["name"]
        if action == "edit":
            self.start_edit()
        elif action == "cancel":
            self.spawn(self.view(name))
        elif action == "save":
            self.spawn(self.save())
        elif action == "enable":
            self.spawn(self.enable(name, True))
        elif action == "disable":
            self.spawn(self.enable(name, False))
        elif action == "delete":
            self.spawn(self.delete(name))
        elif action == "open-run":
            self._open_run(button.getAttribute("data-trace"))

    def start_edit(self):
        text = self.detail.querySelector(".skill-markdown")
        box = dom.element("textarea", "", "skill-edit")
        box.value = self.shown.get("markdown") or ""
        box.rows = 16
        box.spellcheck = False
        box.setAttribute("aria-label", "SKILL.md of " + self.shown["name"])
        text.replaceWith(box)
        tools = self.detail.querySelector(".skill-actions")
        tools.innerHTML = ""
        tools.append(action("Save", "save", "primary"))
        tools.append(action("Cancel", "cancel"))
        box.focus()

    async def save(self):
        box = self.detail.querySelector(".skill-edit")
        name = self.shown["name"]
        problem = self.detail.querySelector(".skill-problem")
        try:
            reply = await bridge.call("skills.save", name=name, markdown=str(box.value))
        except bridge.OsError as error:
            problem.textContent = "Not saved: " + str(error)
            problem.hidden = False
            box.focus()
            return
        name = str(reply.get("name") or name)  # a new ``name:`` renames the skill
        self.state("Saved " + name + ".")
        await self.refresh()
        await self.view(name)

    async def enable(self, name, enabled):
        skill = self.shown if self.shown and self.shown["name"] == name else None
        untrusted = enabled and skill and not skill.get("trusted", True)
        if untrusted and not dom.confirm(trust_question(skill)):
            self.state("Not enabled: " + name + " stays off.")
            return
        await bridge.call("skills.enable", name=name, enabled=enabled)
        self.state(("Enabled " if enabled else "Disabled ") + name + ".")
        await self.refresh()
        await self.view(name)

    async def delete(self, name):
        if not dom.confirm("Delete the skill " + name + "? This cannot be undone."):
            return
        await bridge.call("skills.delete", name=name)
        self.shown = None
        self._detail_text("Deleted " + name + ".")
        self.state("Deleted " + name + ".")
        await self.refresh()
        self.query.focus()

    # -- import, export, install -------------------------------------------------------------
    def _pick(self, input_id):
        dom.by_id(input_id).click()

    async def import_folder(self):
        chooser = dom.by_id("skills-folder")
        if not chooser.files.length:
            return
        self.state("Importing the folder…")
        reply = bridge.checked(await window.llmosSkillFiles.importFolder(chooser.files))
        chooser.value = ""
        await self.after_import(reply)

    async def import_zip(self):
        chooser = dom.by_id("skills-zip")
        if not chooser.files.length:
            return
        file = chooser.files.item(0)
        self.state("Importing " + str(file.name) + "…")
        reply = bridge.checked(await window.llmosSkillFiles.importZip(file))
        chooser.value = ""
        await self.after_import(reply)

    async def after_import(self, reply, verb="Imported"):
        """Say what came in (disabled until the user enables it) and what did not."""
        names = reply.get("imported") or []
        problems = reply.get("problems") or []
        text = verb + " " + plural(len(names), "skill", "skills")
        if names:
            text += ": " + ", ".join(str(n) for n in names) + " (disabled until you enable it)"
        if problems:
            text += "; " + plural(len(problems), "problem", "problems") + " below"
        self.state(text + ".", bool(problems) or not names)
        show_problems(problems)
        await self.refresh()
        if len(names) == 1:
            await self.view(names[0])

    async def export(self):
        self.state("Exporting…")
        result = bridge.checked(await window.llmosSkillFiles.exportDownload())
        count = plural(len(self.skills), "skill", "skills")
        self.state("Exported " + count + " to " + str(result["name"]) + ".")

    def _install_submit(self, event):
        event.preventDefault()
        self.spawn(self.install())

    async def install(self):
        url = str(dom.by_id("skills-url").value).strip()
        self.state("Installing from " + url + "…")
        reply = await bridge.call("skills.install", url=url)
        await self.after_import(reply, "Installed")

    # -- proposals ---------------------------------------------------------------------------
    async def load_proposals(self):
        reply = await bridge.call("learning.proposals")
        self.proposals = [p for p in reply.get("proposals") or [] if p.get("status") == "pending"]
        self.show_badge()
        if self.dialog.open:
            ids = []
            for proposal in self.proposals:
                ids.extend(proposal.get("sources") or [])
            await self.load_traces(ids)
            self.show_proposals()

    def show_badge(self):
        badge = dom.by_id("skills-badge")
        count = len(self.proposals)
        badge.textContent = str(count)
        badge.hidden = not count
        label = "Skills: " + plural(count, "proposal waits", "proposals wait") if count else ""
        button = dom.by_id("skills-open")
        if label:
            button.setAttribute("aria-label", label)
        else:
            button.removeAttribute("aria-label")

    def show_proposals(self):
        box = dom.by_id("skills-proposals")
        editing = {}
        for area in box.querySelectorAll(".proposal-edit"):  # keep the user's unsaved edits
            editing[area.closest("[data-id]").getAttribute("data-id")] = str(area.value)
        box.innerHTML = ""
        box.hidden = not self.proposals
        if not self.proposals:
            return
        box.append(dom.element("h3", plural(len(self.proposals), "proposal", "proposals")))
        for proposal in self.proposals:
            card = proposal_card(proposal, self.traces)
            box.append(card)
            if proposal["id"] in editing:
                edit_proposal(card, editing[proposal["id"]])

    def _proposal_click(self, event):
        button = event.target.closest("[data-action]")
        if not button:
            return
        card = button.closest("[data-id]")
        proposal_id = card.getAttribute("data-id")
        name = button.getAttribute("data-action")
        if name == "accept":
            self.spawn(self.accept(proposal_id, None))
        elif name == "edit":
            found = [p for p in self.proposals if p["id"] == proposal_id]
            if found:
                edit_proposal(card, found[0].get("markdown") or "").focus()
        elif name == "accept-edit":
            text = str(card.querySelector(".proposal-edit").value)
            self.spawn(self.accept(proposal_id, text, card))
        elif name == "reject":
            self.spawn(self.reject(proposal_id))
        elif name == "open-run":
            self._open_run(button.getAttribute("data-trace"))

    async def accept(self, proposal_id, markdown, card=None):
        params = {"id": proposal_id}
        if markdown is not None:
            params["markdown"] = markdown
        try:
            reply = await bridge.call("learning.accept", **params)
        except bridge.OsError as error:
            if card is None:
                raise
            problem = card.querySelector(".skill-problem")
            problem.textContent = "Not accepted: " + str(error)
            problem.hidden = False
            return
        name = proposal_skill(reply, self.proposals, proposal_id)
        self.state("Accepted: the skill " + name + " is saved and enabled.")
        await self.refresh()
        if name:
            await self.view(name)

    async def reject(self, proposal_id):
        await bridge.call("learning.reject", id=proposal_id)
        self.state("Rejected: this will not be proposed again.")
        await self.load_proposals()

    async def reflect(self):
        self.state("Reflecting on recent runs…")
        button = dom.by_id("skills-reflect")
        button.disabled = True
        try:
            reply = await bridge.call("learning.reflect")
        finally:
            button.disabled = False
        count = len([p for p in reply.get("proposals") or [] if p.get("status") == "pending"])
        text = "Reflection done: " + plural(count, "proposal", "proposals") + " waiting."
        self.state(text)
        self.show_log(reply.get("log") or [])
        await self.refresh()

    # -- source runs -------------------------------------------------------------------------
    async def load_traces(self, ids):
        """Learn where the runs ``ids`` happened (their chat and turn), once."""
        if self.traces_fresh or all(trace_id in self.traces for trace_id in ids):
            return  # a run that is still unknown has no trace any more
        try:
            reply = await bridge.call("learning.traces")
        except bridge.OsError:
            return  # the runs are listed by id only
        self.traces_fresh = True
        for trace in reply.get("traces") or []:
            self.traces[trace.get("id")] = {
                "chat": trace.get("chat"),
                "turn": trace.get("turn"),
                "request": trace.get("request") or "",
                "outcome": trace.get("outcome") or "",
            }

    def _open_run(self, trace_id):
        where = self.traces.get(trace_id)
        if not where or not where.get("chat"):
            return
        self.opener = None
        self.dialog.close()
        self.open_chat(where["chat"], where.get("turn"))

    # -- the reflection log ------------------------------------------------------------------
    def _log_toggled(self, event):
        if event.target.open:
            self.spawn(self.load_log())

    async def load_log(self):
        reply = await bridge.call("learning.log")
        self.show_log(reply.get("log") or [])

    def show_log(self, entries):
        listing = dom.by_id("skills-log-list")
        listing.innerHTML = ""
        for entry in entries:
            listing.append(dom.element("li", log_text(entry)))
        if not entries:
            listing.append(dom.element("li", "Reflection has not run yet.", "muted"))

    # -- reflection settings -----------------------------------------------------------------
    def _settings_toggled(self, event):
        if event.target.open:
            self.spawn(self.load_settings())

    def _settings_submit(self, event):
        event.preventDefault()
        self.spawn(self.save_settings())

    async def load_settings(self):
        fill_settings(await bridge.call("learning.settings.get"))

    async def save_settings(self):
        values = {
            "auto": bool(dom.by_id("learn-auto").checked),
            "idle_s": int(float(dom.by_id("learn-idle").value)),
            "min_cluster": int(float(dom.by_id("learn-min").value)),
        }
        fill_settings(await bridge.call("learning.settings.set", values=values))
        self.state("Reflection settings saved.")

    def on_event(self, name, data):
        if name == "skills.changed":
            if self.dialog.open:  # the agent, a sync or another tab changed skills
                self.spawn(self.load_list())
        elif name == "learning.proposal":
            self.spawn(self.load_proposals())
        elif name == "learning.log":
            listing = dom.by_id("skills-log-list")
            empty = listing.querySelector(".muted")
            if empty:
                empty.remove()
            listing.append(dom.element("li", log_text(data.get("entry") or data)))


# -- rendering (module functions: they need no panel state) ---------------------------------
def action(text, name, cls=""):
    button = dom.element("button", text, cls)
    button.type = "button"
    button.setAttribute("data-action", name)
    return button


def source_ids(metadata):
    text = str((metadata or {}).get("llmos-sources") or "")
    return [part.strip() for part in text.split(",") if part.strip()]


def skill_flags(skill):
    """``["disabled", "untrusted"]``: what the list and the detail say about a skill."""
    flags = []
    if skill.get("problem"):
        flags.append("invalid")
    if not skill.get("enabled"):
        flags.append("disabled")
    if not skill.get("trusted", True):
        flags.append("untrusted")
    return flags


def skill_row(skill, shown):
    row = dom.element("li", "", "skill-row" + (" shown" if shown else ""))
    row.setAttribute("data-name", str(skill.get("name")))
    hit = dom.element("button", "", "skill-hit")
    hit.type = "button"
    head = dom.element("span", "", "skill-head")
    head.append(dom.element("span", str(skill.get("name")), "skill-name"))
    for flag in skill_flags(skill):
        head.append(dom.element("span", flag, "skill-flag " + flag))
    rate = usage_text(skill)
    if rate:
        head.append(dom.element("span", rate, "skill-rate"))
    hit.append(head)
    hit.append(dom.element("span", str(skill.get("description") or ""), "skill-desc"))
    row.append(hit)
    return row


def usage_text(skill):
    """``"3 uses · 67% success"`` (empty before its first use)."""
    uses = int(skill.get("uses") or 0)
    if not uses:
        return ""
    rate = int(round(100 * int(skill.get("successes") or 0) / uses))
    return plural(uses, "use", "uses") + " · " + str(rate) + "% success"


def rate_text(skill):
    """``"75% (3 of 4 uses)"``."""
    uses, successes = int(skill.get("uses") or 0), int(skill.get("successes") or 0)
    rate = str(int(round(100 * successes / uses))) + "%"
    return rate + " (" + str(successes) + " of " + plural(uses, "use", "uses") + ")"


def origin_text(origin):
    origin = str(origin or "")
    if origin == "learned":
        return "learned from your runs"
    if origin.startswith("imported:"):
        return "imported from " + origin[len("imported:") :]
    if origin == "user":
        return "written by you"
    return origin or "unknown"


def created_text(created):
    return str(window.Date.new(str(created)).toLocaleString()) if created else ""


def skill_view(skill, traces):
    metadata = skill.get("metadata") or {}
    node = dom.element("article", "", "skill-item")
    node.setAttribute("data-name", str(skill["name"]))
    node.append(dom.element("h3", str(skill["name"])))
    node.append(dom.element("p", str(skill.get("description") or ""), "skill-desc"))
    flags = skill_flags(skill)
    if flags:
        node.append(dom.element("p", "This skill is " + ", ".join(flags) + ".", "skill-flags"))
    if skill.get("problem"):
        node.append(dom.element("p", str(skill["problem"]), "bad"))
    facts = dom.element("dl", "", "memory-facts skill-facts")
    uses = int(skill.get("uses") or 0)
    rows = (
        ("Origin", origin_text(metadata.get("llmos-origin"))),
        ("Version", str(metadata.get("llmos-version") or "1")),
        ("Created", created_text(metadata.get("llmos-created"))),
        ("Successes when learned", str(metadata.get("llmos-successes") or "")),
        ("Uses", str(uses)),
        ("Success rate", rate_text(skill) if uses else "not used yet"),
        ("Files", ", ".join(str(f) for f in skill.get("files") or []) or "SKILL.md"),
    )
    for label, value in rows:
        if value:
            facts.append(dom.element("dt", label))
            facts.append(dom.element("dd", value))
    node.append(facts)
    sources = source_ids(metadata)
    if sources:
        node.append(dom.element("h4", "Learned from " + plural(len(sources), "run", "runs")))
        node.append(runs_list(sources, traces))
    node.append(dom.element("h4", "SKILL.md"))
    node.append(dom.element("pre", str(skill.get("markdown") or ""), "memory-text skill-markdown"))
    problem = dom.element("p", "", "skill-problem bad")
    problem.setAttribute("role", "alert")
    problem.hidden = True
    node.append(problem)
    tools = dom.element("div", "", "row skill-actions")
    tools.append(action("Edit", "edit"))
    if skill.get("enabled"):
        tools.append(action("Disable", "disable"))
    else:
        tools.append(action("Enable", "enable", "primary"))
    tools.append(action("Delete", "delete", "danger"))
    node.append(tools)
    return node


def runs_list(ids, traces):
    """The runs a skill or a proposal came from: a button to each one's chat when known."""
    listing = dom.element("ul", "", "skill-runs")
    for trace_id in ids:
        item = dom.element("li")
        where = traces.get(trace_id)
        if where and where.get("chat"):
            text = str(where.get("request") or trace_id)
            if where.get("outcome"):
                text += " (" + str(where["outcome"]) + ")"
            button = action(text, "open-run", "link")
            button.setAttribute("data-trace", trace_id)
            button.title = "Open the conversation of run " + trace_id
            item.append(button)
        else:
            item.append(dom.element("span", trace_id, "muted"))
        listing.append(item)
    return listing


def trust_question(skill):
    scripts = [str(f) for f in skill.get("files") or [] if str(f).startswith("scripts/")]
    text = "The skill " + str(skill["name"]) + " was imported and is not trusted yet. "
    text += "Once enabled, the agent follows its instructions"
    if scripts:
        text += " and may run its scripts in the Python sandbox:\n  " + "\n  ".join(scripts)
    else:
        text += " (it has no scripts)"
    return text + "\n\nRead it first. Enable and trust it?"


def proposal_card(proposal, traces):
    card = dom.element("article", "", "proposal")
    card.setAttribute("data-id", str(proposal["id"]))
    kind = str(proposal.get("kind") or "new")
    title = KIND_TITLES.get(kind, kind) + " " + str(proposal.get("skill") or "")
    card.append(dom.element("h4", title))
    if proposal.get("reason"):
        card.append(dom.element("p", str(proposal["reason"]), "proposal-reason"))
    sources = proposal.get("sources") or []
    if sources:
        card.append(dom.element("p", "From " + plural(len(sources), "run", "runs") + ":", "muted"))
        card.append(runs_list(sources, traces))
    if proposal.get("markdown"):
        details = dom.element("details", "", "proposal-text")
        details.append(dom.element("summary", "What it learned (SKILL.md)"))
        details.append(dom.element("pre", str(proposal["markdown"]), "memory-text"))
        card.append(details)
    problem = dom.element("p", "", "skill-problem bad")
    problem.setAttribute("role", "alert")
    problem.hidden = True
    card.append(problem)
    tools = dom.element("div", "", "row proposal-actions")
    tools.append(action("Accept", "accept", "primary"))
    if kind != "retire":
        tools.append(action("Edit, then accept", "edit"))
    tools.append(action("Reject", "reject"))
    card.append(tools)
    return card


def edit_proposal(card, markdown):
    """Turn a proposal card into an editor of its SKILL.md; returns the text box."""
    details = card.querySelector(".proposal-text")
    box = dom.element("textarea", "", "skill-edit proposal-edit")
    box.value = markdown
    box.rows = 14
    box.spellcheck = False
    box.setAttribute("aria-label", "Edit the proposed SKILL.md")
    if details:
        details.replaceWith(box)
    else:
        card.insertBefore(box, card.querySelector(".skill-problem"))
    tools = card.querySelector(".proposal-actions")
    tools.innerHTML = ""
    tools.append(action("Accept edited", "accept-edit", "primary"))
    tools.append(action("Reject", "reject"))
    return box


def proposal_skill(reply, proposals, proposal_id):
    """The name of the skill an accepted proposal saved."""
    if isinstance(reply, dict):
        for key in ("name", "skill"):
            if reply.get(key):
                return str(reply[key])
    found = [p for p in proposals if p["id"] == proposal_id]
    return str(found[0].get("skill") or "") if found else ""


def log_text(entry):
    """One reflection step as a line: its time, step and message (or the raw entry)."""
    if not isinstance(entry, dict):
        return str(entry)
    parts = []
    when = entry.get("time") or entry.get("at") or entry.get("created")
    if when:
        parts.append(date_text(when) if isinstance(when, (int, float)) else created_text(when))
    for key in ("step", "stage", "event"):
        if entry.get(key):
            parts.append(str(entry[key]))
            break
    message = entry.get("message") or entry.get("text") or entry.get("detail")
    if message:
        parts.append(str(message))
    if len(parts) <= 1:
        parts.append(json.dumps(entry))
    return " · ".join(parts)


def fill_settings(values):
    dom.by_id("learn-auto").checked = bool(values.get("auto"))
    dom.by_id("learn-idle").value = str(values.get("idle_s", ""))
    dom.by_id("learn-min").value = str(values.get("min_cluster", ""))


def show_problems(problems):
    listing = dom.by_id("skills-report")
    listing.innerHTML = ""
    for problem in problems[:MAX_REPORTED]:
        listing.append(dom.element("li", problem_text(problem)))
    if len(problems) > MAX_REPORTED:
        listing.append(dom.element("li", "… and " + str(len(problems) - MAX_REPORTED) + " more."))


def problem_text(problem):
    if isinstance(problem, dict):
        where = problem.get("path") or problem.get("name") or problem.get("skill") or ""
        message = problem.get("message") or problem.get("problem") or json.dumps(problem)
        return (str(where) + ": " if where else "") + str(message)
    return str(problem)
