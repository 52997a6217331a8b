"""The settings dialog: routing mode, OpenAI-compatible endpoints, connection tests, the
MCP servers (:mod:`llmos.ui.mcp`) and GitHub sync (:mod:`llmos.ui.sync`).

API keys only travel one way: typed here, sent to the OS, never shown back (the OS answers
``has_key``). Leaving the key field empty when editing keeps the stored key.
"""

from llmos.ui import bridge, dom
from llmos.ui.mcp import McpPanel
from llmos.ui.sync import SyncPanel

# ``llm.test`` codes (see ``llmos.llm.openai.check_endpoint``) as the user reads them.
VERDICTS = {
    "auth": "Authentication refused",
    "not_found": "Not found",
    "network": "Unreachable",
    "bad_response": "Not an OpenAI-compatible API",
    "rate_limited": "Rate-limited",
    "server": "Server error",
    "bad_request": "Request rejected",
}
FIELDS = ("ep-id", "ep-name", "ep-url", "ep-model", "ep-key", "ep-in-cost", "ep-out-cost")


class SettingsPanel:
    def __init__(self):
        self.dialog = dom.by_id("settings")
        self.endpoints = []
        self.opener = None
        self.mcp = McpPanel()
        self.sync = SyncPanel()
        dom.on(dom.by_id("settings-open"), "click", lambda e: self.show())
        dom.on(dom.by_id("settings-close"), "click", lambda e: self.dialog.close())
        dom.on(self.dialog, "close", lambda e: self._restore_focus())
        dom.on(dom.by_id("endpoint-form"), "submit", self._submit)
        dom.on(dom.by_id("ep-test"), "click", lambda e: self.spawn(self.test_form()))
        dom.on(dom.by_id("ep-clear"), "click", lambda e: self.edit(None))
        dom.on(dom.by_id("endpoints"), "click", self._list_click)
        for radio in self.dialog.querySelectorAll("input[name='llm-mode']"):
            dom.on(radio, "change", lambda e: self.spawn(self.set_mode(e.target.value)))

    def spawn(self, coro):
        bridge.spawn(coro, lambda text: self.verdict("✗ " + text, False))

    def verdict(self, text, ok):
        box = dom.by_id("ep-verdict")
        box.textContent = text
        box.classList.toggle("ok", ok is True)
        box.classList.toggle("bad", ok is False)

    # -- open, fill ----------------------------------------------------------------------------
    def show(self):
        self.sync.unloaded()
        self.spawn(self.open())

    async def open(self):
        if not self.dialog.open:
            self.opener = dom.active()
            self.edit(None)
            self.dialog.showModal()
        self.fill(await bridge.call("llm.settings.get"))
        self.mcp.spawn(self.mcp.refresh())
        self.sync.spawn(self.sync.refresh())
        checked = self.dialog.querySelector("input[name='llm-mode']:checked")
        if checked:
            checked.focus()

    def _restore_focus(self):
        if self.opener:
            self.opener.focus()
            self.opener = None

    def fill(self, data):
        for radio in self.dialog.querySelectorAll("input[name='llm-mode']"):
            radio.checked = radio.value == data.get("mode", "auto")
        local = data.get("local") or {}
        if local.get("available"):
            state = "loaded" if local.get("loaded") else "loads on first use"
            text = "Local model: " + str(local.get("model") or "?") + " (" + state + ")"
        else:
            text = "No local model is available in this browser."
        dom.by_id("local-model").textContent = text
        self.endpoints = data.get("endpoints") or []
        listing = dom.by_id("endpoints")
        listing.innerHTML = ""
        for endpoint in self.endpoints:
            listing.append(endpoint_row(endpoint, endpoint["id"] == data.get("active")))
        if not self.endpoints:
            listing.append(dom.element("li", "No endpoints yet: add one below.", "muted"))

    def edit(self, endpoint):
        """Fill the form with ``endpoint`` (``None``: a blank form for a new one)."""
        endpoint = endpoint or {}
        values = (
            endpoint.get("id"),
            endpoint.get("name"),
            endpoint.get("base_url"),
            endpoint.get("model"),
            "",
            endpoint.get("input_cost_per_mtok"),
            endpoint.get("output_cost_per_mtok"),
        )
        for i, name in enumerate(FIELDS):
            dom.by_id(name).value = "" if values[i] is None else str(values[i])
        key = dom.by_id("ep-key")
        key.placeholder = (
            "A key is set; leave empty to keep it" if endpoint.get("has_key") else "Not set"
        )
        title = "Edit " + endpoint["name"] if endpoint.get("id") else "Add an endpoint"
        dom.by_id("endpoint-form-title").textContent = title
        self.verdict("", None)

    # -- actions -------------------------------------------------------------------------------
    async def set_mode(self, mode):
        self.fill(await bridge.call("llm.settings.set", mode=mode))
        self.verdict("Routing: " + mode, True)

    def _submit(self, event):
        event.preventDefault()
        self.spawn(self.save())

    async def save(self):
        endpoint = self.form_endpoint()
        data = await bridge.call("llm.settings.set", endpoint=endpoint)
        self.fill(data)
        saved = [e for e in self.endpoints if e.get("name") == endpoint["name"]]
        self.edit(saved[0] if saved else None)
        self.verdict("Saved " + endpoint["name"] + ".", True)

    def form_endpoint(self):
        endpoint = {
            "name": value("ep-name"),
            "base_url": value("ep-url"),
            "model": value("ep-model"),
            "input_cost_per_mtok": number("ep-in-cost"),
            "output_cost_per_mtok": number("ep-out-cost"),
        }
        if value("ep-id"):
            endpoint["id"] = value("ep-id")
        if value("ep-key"):
            endpoint["api_key"] = value("ep-key")
        return endpoint

    async def test_form(self):
        """Test what the form says; a saved endpoint whose key is kept is tested by id."""
        endpoint = self.form_endpoint()
        if endpoint.get("id") and "api_key" not in endpoint:
            await self.test(
                id=endpoint["id"], base_url=endpoint["base_url"], model=endpoint["model"]
            )
        else:
            await self.test(
                base_url=endpoint["base_url"],
                model=endpoint["model"],
                api_key=endpoint.get("api_key", ""),
            )

    async def test(self, **target):
        self.verdict("Testing the connection…", None)
        result = await bridge.call("llm.test", **target)
        self.verdict(verdict_text(result), bool(result.get("ok")))

    async def use(self, endpoint_id):
        self.fill(await bridge.call("llm.settings.set", active=endpoint_id))
        names = [e["name"] for e in self.endpoints if e["id"] == endpoint_id]
        self.verdict("Now using " + (names[0] if names else endpoint_id) + ".", True)

    async def delete(self, endpoint_id):
        names = [e["name"] for e in self.endpoints if e["id"] == endpoint_id]
        if not dom.confirm("Delete the endpoint " + (names[0] if names else endpoint_id) + "?"):
            return
        self.fill(await bridge.call("llm.settings.set", delete_endpoint=endpoint_id))
        if value("ep-id") == endpoint_id:
            self.edit(None)
        dom.by_id("settings-close").focus()

    def _list_click(self, event):
        button = event.target.closest("[data-action]")
        if not button:
            return
        endpoint_id = button.closest("[data-id]").getAttribute("data-id")
        action = button.getAttribute("data-action")
        matches = [e for e in self.endpoints if e["id"] == endpoint_id]
        if action == "edit" and matches:
            self.edit(matches[0])
            dom.by_id("ep-name").focus()
        elif action == "use":
            self.spawn(self.use(endpoint_id))
        elif action == "test":
            self.spawn(self.test(id=endpoint_id))
        elif action == "delete":
            self.spawn(self.delete(endpoint_id))


def value(field):
    return str(dom.by_id(field).value).strip()


def number(field):
    text = value(field)
    return float(text) if text else None


def verdict_text(result):
    message = str(result.get("message") or "")
    if result.get("ok"):
        label = "✓ OK"
    else:
        code = str(result.get("code") or "failed")
        label = "✗ " + VERDICTS.get(code, code)
    return label + (": " + message if message else "")


def endpoint_row(endpoint, active):
    row = dom.element("li", "", "active" if active else "")
    row.setAttribute("data-id", endpoint["id"])
    name = (endpoint.get("name") or endpoint["id"]) + (" (in use)" if active else "")
    info = dom.element("span", name, "ep-info")
    key = "key set" if endpoint.get("has_key") else "no key"
    detail = str(endpoint.get("model")) + " · " + str(endpoint.get("base_url")) + " · " + key
    info.append(dom.element("small", detail))
    row.append(info)
    actions = (("Edit", "edit"), ("Test", "test"), ("Delete", "delete"))
    if not active:
        actions = (("Use", "use"),) + actions
    for text, action in actions:
        button = dom.element("button", text)
        button.type = "button"
        button.setAttribute("data-action", action)
        button.setAttribute("aria-label", text + " " + (endpoint.get("name") or ""))
        row.append(button)
    return row
