"""Settings > GitHub sync: the repository, branch, token and folders; "Sync now" and what the
last sync did (synced, queued while offline, conflicts, errors), with both versions of each
conflicting file side by side, and the skills a pull brought that wait for the user's review
(each opens in the Skills panel). A sync queued while offline runs again by itself as soon as
the browser is back online.

The token only travels one way: typed here, sent to the OS, never shown back (the OS answers
``has_token``). What GitHub or a file says is put in the page as text, never as HTML.
"""

from js import window

from llmos.ui import bridge, dom

USER = "user/"


class SyncPanel:
    def __init__(self):
        self.open_skill = None  # ``open_skill(name)``: set by the page once the Skills panel exists
        self.conflicts = []
        self.review = []
        self.queued = False  # the last sync could not reach GitHub
        dom.on(dom.by_id("sync-form"), "submit", self._submit)
        dom.on(dom.by_id("sync-run"), "click", lambda e: self.spawn(self.run()))
        dom.on(dom.by_id("sync-forget"), "click", lambda e: self.spawn(self.forget_token()))
        dom.on(dom.by_id("sync-conflicts"), "click", self._conflict_click)
        dom.on(window, "online", self._online)

    def spawn(self, coro):
        bridge.spawn(coro, lambda text: self.verdict("✗ " + text, False))

    def verdict(self, text, ok):
        box = dom.by_id("sync-verdict")
        box.textContent = text
        box.classList.toggle("ok", ok is True)
        box.classList.toggle("bad", ok is False)

    def unloaded(self):
        """The dialog opens: its fields are about to be refilled."""
        dom.by_id("sync-form").removeAttribute("data-loaded")

    async def refresh(self):
        self.unloaded()
        self.fill(await bridge.call("sync.settings.get"))
        dom.by_id("sync-form").setAttribute("data-loaded", "1")  # the saved settings are in
        self.show_status(await bridge.call("sync.status"))

    def fill(self, data):
        dom.by_id("sync-repo").value = str(data.get("repo") or "")
        dom.by_id("sync-branch").value = str(data.get("branch") or "")
        dom.by_id("sync-folders").value = ", ".join(str(f) for f in data.get("folders") or [])
        token = dom.by_id("sync-token")
        token.value = ""
        token.placeholder = (
            "A token is set; leave empty to keep it" if data.get("has_token") else "Not set"
        )
        dom.by_id("sync-forget").disabled = not data.get("has_token")

    # -- actions -------------------------------------------------------------------------------
    def _submit(self, event):
        event.preventDefault()
        self.spawn(self.save())

    async def save(self):
        params = {"repo": value("sync-repo"), "folders": folders(value("sync-folders"))}
        if value("sync-branch"):
            params["branch"] = value("sync-branch")
        if value("sync-token"):
            params["token"] = value("sync-token")
        self.fill(await bridge.call("sync.settings.set", **params))
        self.verdict("Saved: " + params["repo"] + ".", True)

    async def forget_token(self):
        if not dom.confirm("Delete the GitHub token stored in this browser?"):
            return
        self.fill(await bridge.call("sync.settings.set", token=""))
        self.verdict("The token is deleted.", True)

    async def run(self):
        button = dom.by_id("sync-run")
        button.disabled = True
        self.verdict("Syncing…", None)
        try:
            result = await bridge.call("sync.run")
        finally:
            button.disabled = False
        self.show_result(result)

    def _online(self, event):
        if self.queued:
            self.spawn(self.run())

    def show_result(self, result):
        status = str(result.get("status") or "error")
        self.queued = status == "queued"
        self.verdict(result_text(result), VERDICT_OK.get(status, False))
        dom.by_id("sync-verdict").setAttribute("data-status", status)
        self.conflicts = [conflict_path(c) for c in result.get("conflicts") or []]
        self.review = [str(name) for name in result.get("review") or []]
        self.show_conflicts()

    def show_status(self, status):
        last = status.get("last")
        if isinstance(last, dict):
            self.queued = last.get("status") == "queued"
        parts = []
        if status.get("pending"):
            parts.append("Changes wait to be synced.")
        if isinstance(last, dict) and last.get("status"):
            parts.append("Last sync: " + result_text(last))
        elif last:
            parts.append("Last sync: " + str(last))
        if status.get("message") and not parts:
            parts.append(str(status["message"]))
        dom.by_id("sync-last").textContent = " ".join(parts)

    def on_event(self, name, data):
        if name == "sync.status":
            self.show_status(data)

    # -- conflicts -----------------------------------------------------------------------------
    def show_conflicts(self):
        box = dom.by_id("sync-conflicts")
        box.innerHTML = ""
        if self.review:
            box.append(review_list(self.review))
        if not self.conflicts:
            return
        box.append(dom.element("h4", "Conflicts: both versions were kept"))
        listing = dom.element("ul")
        for path in self.conflicts:
            item = dom.element("li")
            item.setAttribute("data-path", path)
            item.append(dom.element("span", path, "path"))
            button = dom.element("button", "Compare both versions")
            button.type = "button"
            button.setAttribute("data-action", "compare")
            button.setAttribute("aria-label", "Compare both versions of " + path)
            item.append(button)
            listing.append(item)
        box.append(listing)

    def _conflict_click(self, event):
        review = event.target.closest("[data-action='review']")
        if review and self.open_skill:
            self.open_skill(review.getAttribute("data-skill"))
            return
        button = event.target.closest("[data-action='compare']")
        if button:
            path = button.closest("[data-path]").getAttribute("data-path")
            self.spawn(self.compare(path, button.closest("li")))

    async def compare(self, path, row):
        """Show the local file and GitHub's version (written next to it) side by side."""
        local = vfs_path(path)
        copy = await conflict_copy(local)
        old = row.querySelector(".sync-compare")
        if old:
            old.remove()
        view = dom.element("div", "", "sync-compare")
        view.append(await version_box("Yours: " + local, local))
        if copy:
            view.append(await version_box("From GitHub: " + copy, copy))
        else:
            view.append(dom.element("p", "GitHub's version is no longer next to it.", "muted"))
        row.append(view)


def review_list(names):
    """The skills a pull changed: they stay off until the user has read and enabled them."""
    box = dom.element("div", "", "sync-review")
    box.append(dom.element("h4", "From GitHub, waiting for your review before they run"))
    listing = dom.element("ul")
    for name in names:
        item = dom.element("li")
        button = dom.element("button", "Review " + name)
        button.type = "button"
        button.setAttribute("data-action", "review")
        button.setAttribute("data-skill", name)
        item.append(button)
        listing.append(item)
    box.append(listing)
    return box


def value(field):
    return str(dom.by_id(field).value).strip()


def folders(text):
    return [part.strip().strip("/") for part in text.split(",") if part.strip().strip("/")]


VERDICT_OK = {"synced": True, "conflicts": None, "queued": None}  # None: neither ok nor bad
MARKS = {"synced": "✓ ", "conflicts": "⚠ ", "queued": "Queued: "}
FALLBACK = {
    "synced": "Synced.",
    "conflicts": "Synced; both versions of each conflicting file were kept.",
    "queued": "it syncs when GitHub can be reached again.",
}


def result_text(result):
    """The OS's own message, marked by status, with the commit it made."""
    status = str(result.get("status") or "error")
    text = str(result.get("message") or "").strip() or FALLBACK.get(status, "The sync failed.")
    if status in ("synced", "conflicts") and result.get("commit"):
        text = text.rstrip(".") + " (commit " + str(result["commit"])[:7] + ")."
    return MARKS.get(status, "✗ ") + text


def conflict_path(conflict):
    if isinstance(conflict, dict):
        return str(conflict.get("path") or conflict.get("local") or "")
    return str(conflict)


def vfs_path(path):
    """A repository path (``skills/x/SKILL.md``) as a path in the user volume."""
    return path if path.startswith(USER) else USER + path.lstrip("/")


async def conflict_copy(local):
    """GitHub's version of ``local``: the file next to it whose name says conflict."""
    folder, _, name = local.rpartition("/")
    stem = name.rsplit(".", 1)[0]
    entries = await bridge.call("fs.list", path=folder)
    for entry in entries:
        other = str(entry.get("name"))
        if other != name and "conflict" in other and other.startswith(stem):
            return folder + "/" + other
    return None


async def version_box(title, path):
    box = dom.element("section", "", "sync-version")
    box.append(dom.element("h5", title))
    try:
        text = str((await bridge.call("fs.read", path=path))["text"])
    except bridge.OsError as error:
        text = "Cannot read it: " + str(error)
    box.append(dom.element("pre", text, "memory-text"))
    return box
