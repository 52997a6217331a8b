"""The desktop's applets: the cards (``llmos.ui.applets``) and their windows, which
``window.llmosApplets`` (``web/bridges/applet-host.mjs``) draws, moves, restores and hosts as
MCP Apps. Here: opening windows, restoring the last session's, and the OS's ``applets.*`` events
(``applets.open`` after the agent's create_applet/update_applet opens or reloads the window).
"""

from js import window

from llmos.ui import bridge, dom
from llmos.ui.applets import AppletCards


class Desktop:
    def __init__(self):
        self.host = window.llmosApplets
        self.cards = AppletCards(self.open, self.close)
        self.started = False
        self.host.onClosed(self._closed)

    def spawn(self, coro):
        self.cards.spawn(coro)

    async def start(self):
        """The OS is ready: list the applets, then reopen the windows open at the last visit."""
        await self.cards.refresh()
        self.started = True
        await self.host.restore()

    def open(self, name):
        self.spawn(self.show(name))

    async def show(self, name):
        reply = bridge.checked(await self.host.open(name))
        dom.status("Opened the applet " + str(reply["manifest"]["title"] or name) + ".")

    def close(self, name):
        """Close before a delete: the applet gets no teardown in which to save its state."""
        self.host.close(name, "", False)

    def _closed(self, name, message):
        if message:
            dom.notice(str(message))

    def on_event(self, name, data):
        if not self.started:
            return
        if name == "applets.open":
            self.spawn(self.cards.refresh())
            self.open(data["name"])
        elif name == "applets.changed":
            self.spawn(self.cards.refresh())
