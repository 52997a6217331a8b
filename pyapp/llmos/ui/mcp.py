"""Settings > MCP servers: add a server by URL (token, headers), see its status and tools,
turn it and each tool on or off, refresh, remove.

Tokens and header values only travel one way: typed here, sent to the OS, never shown back (the
OS answers ``has_token`` and header names). Everything a server said (tool names, descriptions,
error messages) is put in the page as text, never as HTML.
"""

from llmos.ui import bridge, dom


class McpPanel:
    def __init__(self):
        self.servers = []
        dom.on(dom.by_id("mcp-form"), "submit", self._submit)
        listing = dom.by_id("mcp-servers")
        dom.on(listing, "click", self._click)
        dom.on(listing, "change", self._change)

    def spawn(self, coro):
        bridge.spawn(coro, lambda text: self.verdict("✗ " + text, False))

    def verdict(self, text, ok):
        box = dom.by_id("mcp-verdict")
        box.textContent = text
        box.classList.toggle("ok", ok is True)
        box.classList.toggle("bad", ok is False)

    async def refresh(self):
        self.fill(await bridge.call("mcp.servers.list"))

    def fill(self, servers):
        self.servers = servers
        listing = dom.by_id("mcp-servers")
        opened = opened_tools(listing)
        listing.innerHTML = ""
        for server in servers:
            listing.append(server_row(server, server["id"] in opened))
        if not servers:
            listing.append(dom.element("li", "No MCP servers yet: add one below.", "muted"))

    def on_event(self, name, data):
        if name != "mcp.status":
            return
        server = data["server"]
        found = [i for i, s in enumerate(self.servers) if s["id"] == server["id"]]
        if not found:
            return
        self.servers[found[0]] = server
        old = dom.by_id("mcp-servers").querySelector("[data-id='" + server["id"] + "']")
        if old:
            focused = dom.active()
            focus_id = focused.id if focused and old.contains(focused) else ""
            old.replaceWith(server_row(server, server["id"] in opened_tools(old.parentNode)))
            if focus_id and dom.by_id(focus_id):
                dom.by_id(focus_id).focus()

    # -- actions -------------------------------------------------------------------------------
    def _submit(self, event):
        event.preventDefault()
        self.spawn(self.add())

    async def add(self):
        name = value("mcp-name")
        self.verdict("Connecting to " + name + "…", None)
        server = await bridge.call(
            "mcp.servers.add",
            name=name,
            url=value("mcp-url"),
            token=value("mcp-token"),
            headers=str(dom.by_id("mcp-headers").value),
        )
        for field in ("mcp-name", "mcp-url", "mcp-token", "mcp-headers"):
            dom.by_id(field).value = ""
        await self.refresh()
        if server["status"] == "connected":
            self.verdict("Added " + server["name"] + ": " + status_text(server), True)
        else:
            self.verdict("Added " + server["name"] + ", but " + status_text(server), False)

    async def update(self, server_id, **changes):
        server = await bridge.call("mcp.servers.update", id=server_id, **changes)
        await self.refresh()
        self.verdict(server["name"] + ": " + status_text(server), server["status"] != "error")

    async def reconnect(self, server_id):
        self.verdict("Reconnecting…", None)
        self.fill(await bridge.call("mcp.servers.refresh", id=server_id))
        server = [s for s in self.servers if s["id"] == server_id]
        if server:
            self.verdict(server[0]["name"] + ": " + status_text(server[0]), None)

    async def remove(self, server_id):
        names = [s["name"] for s in self.servers if s["id"] == server_id]
        name = names[0] if names else server_id
        if not dom.confirm("Remove the MCP server " + name + "?"):
            return
        await bridge.call("mcp.servers.remove", id=server_id)
        await self.refresh()
        self.verdict("Removed " + name + ".", True)
        dom.by_id("mcp-name").focus()

    def _click(self, event):
        button = event.target.closest("button[data-action]")
        if not button:
            return
        server_id = button.closest("[data-id]").getAttribute("data-id")
        if button.getAttribute("data-action") == "refresh":
            self.spawn(self.reconnect(server_id))
        elif button.getAttribute("data-action") == "remove":
            self.spawn(self.remove(server_id))

    def _change(self, event):
        box = event.target
        row = box.closest("[data-id]")
        if not row or box.type != "checkbox":
            return
        server_id = row.getAttribute("data-id")
        tool = box.getAttribute("data-tool")
        if tool:
            self.spawn(self.update(server_id, tools={tool: bool(box.checked)}))
        else:
            self.spawn(self.update(server_id, enabled=bool(box.checked)))


def value(field):
    return str(dom.by_id(field).value).strip()


def status_text(server):
    status = server.get("status")
    if status == "connected":
        count = len([t for t in server.get("tools") or [] if not t.get("note")])
        return "connected, " + str(count) + (" tool" if count == 1 else " tools")
    if status == "error":
        return "error: " + str(server.get("message") or "unknown")
    if status == "connecting":
        return "connecting…"
    return "disabled"


def checkbox(label_text, checked, element_id):
    label = dom.element("label")
    box = dom.element("input")
    box.type = "checkbox"
    box.checked = bool(checked)
    box.id = element_id
    label.append(box)
    label.append(dom.element("span", " " + label_text))
    return label, box


def opened_tools(listing):
    """The ids of the servers whose tool list is unfolded (kept across a redraw)."""
    return [
        box.closest("[data-id]").getAttribute("data-id")
        for box in listing.querySelectorAll("details.mcp-tools[open]")
    ]


def server_row(server, tools_open=False):
    row = dom.element("li")
    row.setAttribute("data-id", server["id"])
    info = dom.element("span", server["name"], "ep-info")
    secrets = "token set" if server.get("has_token") else "no token"
    if server.get("header_names"):
        secrets += " · headers: " + ", ".join(server["header_names"])
    info.append(dom.element("small", str(server.get("url")) + " · " + secrets))
    state = dom.element("small", status_text(server), "mcp-status " + str(server.get("status")))
    info.append(state)
    row.append(info)
    label, _ = checkbox("Enabled", server.get("enabled"), "mcp-on-" + server["id"])
    label.setAttribute("aria-label", "Enable " + server["name"])
    row.append(label)
    for text, action in (("Refresh", "refresh"), ("Remove", "remove")):
        button = dom.element("button", text)
        button.type = "button"
        button.setAttribute("data-action", action)
        button.setAttribute("aria-label", text + " " + server["name"])
        row.append(button)
    if server.get("tools"):
        row.append(tools_box(server, tools_open))
    return row


def tools_box(server, tools_open):
    box = dom.element("details", "", "mcp-tools")
    box.open = tools_open
    count = str(len(server["tools"]))
    box.append(dom.element("summary", "Tools of " + server["name"] + " (" + count + ")"))
    listing = dom.element("ul")
    for index, tool in enumerate(server["tools"]):
        item = dom.element("li")
        element_id = "mcp-tool-" + server["id"] + "-" + str(index)
        label, box_input = checkbox(tool["qualified"], tool.get("enabled"), element_id)
        box_input.setAttribute("data-tool", tool["name"])
        if tool.get("note"):
            box_input.disabled = True
            box_input.checked = False
        item.append(label)
        if tool.get("note"):
            item.append(dom.element("small", tool["note"], "note"))
        elif tool.get("description"):
            item.append(dom.element("small", tool["description"]))
        listing.append(item)
    box.append(listing)
    return box
