"""The desktop's applet cards: one card per applet (the user's and the shipped system ones),
click (or Enter) opens it in a window; each card's menu renames, duplicates, exports (zip
download), deletes (after asking) it; Import adds an applet from a zip.

Names, titles, descriptions and problems came from the agent or another person: they are set as
text, never as HTML. Zip bytes go through ``window.llmosApplets`` (``web/bridges/applet-host.mjs``),
never through this MicroPython heap.
"""

from js import window

from llmos.ui import bridge, dom

MENU_ACTIONS = ("open", "rename", "duplicate", "export", "delete")


class AppletCards:
    def __init__(self, open_applet, closed):
        """``open_applet(name)`` shows an applet in its window; ``closed(name)`` closes it."""
        self.open_applet = open_applet
        self.closed = closed
        self.list = dom.by_id("applet-cards")
        self.menu = dom.by_id("applet-menu")
        self.applets = {}  # name -> applets.list's info
        self.menu_for = None
        self.menu_opener = None
        dom.on(self.list, "click", self._click)
        dom.on(self.list, "keydown", self._list_key)
        dom.on(self.menu, "click", self._menu_click)
        dom.on(self.menu, "keydown", self._menu_key)
        dom.on(self.menu, "focusout", self._menu_focusout)
        dom.on(dom.by_id("applet-import"), "click", lambda e: dom.by_id("applet-zip").click())
        dom.on(dom.by_id("applet-zip"), "change", lambda e: self.spawn(self.import_zip()))

    def spawn(self, coro):
        bridge.spawn(coro, lambda text: self.state("✗ " + text, True))

    def state(self, text, bad=False):
        box = dom.by_id("applet-state")
        box.textContent = text
        box.classList.toggle("bad", bad)

    # -- the cards ---------------------------------------------------------------------------
    async def refresh(self):
        reply = await bridge.call("applets.list")
        self.applets = {info["name"]: info for info in reply.get("applets") or []}
        self.render()

    def render(self):
        self.list.innerHTML = ""
        for name in sorted(self.applets, key=lambda n: (self.applets[n]["volume"] != "user", n)):
            self.list.append(card(self.applets[name]))
        if not self.applets:
            self.list.append(dom.element("li", "No applets yet: ask the agent for one.", "muted"))

    def _click(self, event):
        target = event.target.closest("button")
        if not target:
            return
        name = str(target.closest("li").getAttribute("data-name"))
        if target.classList.contains("applet-more"):
            self.show_menu(name, target)
        else:
            self.open_applet(name)

    def _list_key(self, event):
        """Left/Right move between the cards."""
        if event.key not in ("ArrowLeft", "ArrowRight"):
            return
        cards = list(self.list.querySelectorAll(".applet-card"))
        if not cards:
            return
        current = event.target.closest("li")
        index = next((i for i, c in enumerate(cards) if c.closest("li") == current), -1)
        step = 1 if event.key == "ArrowRight" else -1
        event.preventDefault()
        cards[max(0, min(len(cards) - 1, index + step))].focus()

    # -- the menu ----------------------------------------------------------------------------
    def show_menu(self, name, opener):
        info = self.applets.get(name) or {}
        system = info.get("volume") != "user"
        self.menu_for = name
        self.menu_opener = opener
        self.menu.setAttribute("aria-label", "Applet " + name)
        for action in MENU_ACTIONS:
            item = self.menu.querySelector("[data-action='" + action + "']")
            item.disabled = (system and action in ("rename", "delete")) or (
                action == "open" and bool(info.get("problem"))
            )
        rect = opener.getBoundingClientRect()
        self.menu.style.left = str(int(rect.left)) + "px"
        self.menu.style.top = str(int(rect.bottom + 2)) + "px"
        self.menu.hidden = False
        opener.setAttribute("aria-expanded", "true")
        first = self.menu.querySelector("button:not([disabled])")
        if first:
            first.focus()

    def hide_menu(self, refocus=True):
        if self.menu.hidden:
            return
        self.menu.hidden = True
        if self.menu_opener:
            self.menu_opener.setAttribute("aria-expanded", "false")
            if refocus:
                self.menu_opener.focus()

    def _menu_focusout(self, event):
        if event.relatedTarget is None or not self.menu.contains(event.relatedTarget):
            self.hide_menu(refocus=False)

    def _menu_key(self, event):
        items = [b for b in self.menu.querySelectorAll("button") if not b.disabled]
        if event.key == "Escape":
            event.preventDefault()
            event.stopPropagation()
            self.hide_menu()
        elif event.key in ("ArrowDown", "ArrowUp") and items:
            event.preventDefault()
            index = next((i for i, b in enumerate(items) if b == event.target), 0)
            step = 1 if event.key == "ArrowDown" else -1
            items[(index + step) % len(items)].focus()

    def _menu_click(self, event):
        target = event.target.closest("button")
        if not target or target.disabled or not self.menu_for:
            return
        action = str(target.getAttribute("data-action"))
        name = self.menu_for
        self.hide_menu()
        if action == "open":
            self.open_applet(name)
        elif action == "rename":
            self.spawn(self.rename(name))
        elif action == "duplicate":
            self.spawn(self.duplicate(name))
        elif action == "export":
            self.spawn(self.export(name))
        elif action == "delete":
            self.spawn(self.delete(name))

    # -- actions -----------------------------------------------------------------------------
    async def rename(self, name):
        new = dom.prompt("New name for the applet " + name + " (a-z, 0-9 and -):", name)
        if not new or new.strip() == name:
            return
        reply = await bridge.call("applets.rename", name=name, new=new.strip())
        window.llmosApplets.renamed(name, reply["name"])
        self.state("Renamed " + name + " to " + reply["name"] + ".")
        await self.refresh()

    async def duplicate(self, name):
        reply = await bridge.call("applets.duplicate", name=name)
        self.state("Made " + reply["name"] + ", a copy of " + name + ".")
        await self.refresh()

    async def delete(self, name):
        if not dom.confirm("Delete the applet " + name + " and its files? This cannot be undone."):
            return
        self.closed(name)
        await bridge.call("applets.delete", name=name)
        self.state("Deleted " + name + ".")
        await self.refresh()

    async def export(self, name):
        reply = bridge.checked(await window.llmosApplets.exportDownload(name))
        self.state("Downloaded " + reply["name"] + " (" + str(reply["bytes"]) + " bytes).")

    async def import_zip(self):
        picker = dom.by_id("applet-zip")
        files = picker.files
        if not files.length:
            return
        reply = bridge.checked(await window.llmosApplets.importZip(files.item(0)))
        picker.value = ""
        self.state("Imported " + reply["name"] + ".")
        await self.refresh()


def icon(info, cls):
    """The applet's icon: its .svg file as an image (``icon_url``, a data: URL: an SVG image
    runs no script and loads nothing), else its emoji; 🧩 when it has neither."""
    text = str((info.get("manifest") or {}).get("icon") or "🧩")
    url = info.get("icon_url")
    if url:
        glyph = dom.element("img", "", cls)
        glyph.src = url
        glyph.alt = ""
    else:
        glyph = dom.element("span", "🧩" if text.lower().endswith(".svg") else text, cls)
        glyph.setAttribute("aria-hidden", "true")
    return glyph


def card(info):
    """One applet's card: a button that opens it and a menu button."""
    manifest = info.get("manifest") or {}
    name = info["name"]
    row = dom.element("li", "", "applet-card-row")
    row.setAttribute("data-name", name)
    row.setAttribute("data-volume", info.get("volume") or "")
    problem = info.get("problem")
    button = dom.element("button", "", "applet-card")
    button.type = "button"
    glyph = icon(info, "applet-card-icon")
    title = dom.element("span", str(manifest.get("title") or name), "applet-card-title")
    button.append(glyph, title)
    if info.get("volume") != "user":
        button.append(dom.element("span", "system", "applet-card-flag"))
    if problem:
        row.classList.add("broken")
        button.append(dom.element("span", "problem", "applet-card-flag bad"))
        button.title = "This applet cannot open: " + str(problem)
    else:
        button.title = str(manifest.get("description") or name)
    more = dom.element("button", "⋯", "applet-more")
    more.type = "button"
    more.setAttribute("aria-haspopup", "menu")
    more.setAttribute("aria-expanded", "false")
    more.setAttribute("aria-label", "More for " + name)
    row.append(button, more)
    return row
