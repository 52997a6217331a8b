"""The Python console: runs code in the kernel worker, streams output, interrupts runaway code."""

import asyncio

from llmos.ui import bridge, dom


class Console:
    def __init__(self):
        self.out = dom.by_id("console-out")
        self.input = dom.by_id("console-in")
        self.run_button = dom.by_id("run")
        self.stop_button = dom.by_id("stop")
        self.running = False
        self.history = []
        self.history_index = 0
        dom.on(self.run_button, "click", lambda e: self.submit())
        dom.on(self.stop_button, "click", lambda e: asyncio.create_task(self.stop()))
        dom.on(dom.by_id("clear"), "click", lambda e: self.clear())
        dom.on(self.input, "keydown", self._key)

    def enable(self):
        self.run_button.disabled = False

    def write(self, text, cls=""):
        span = dom.element("span", text, cls)
        self.out.append(span)
        self.out.scrollTop = self.out.scrollHeight

    def clear(self):
        self.out.innerHTML = ""

    def _key(self, event):
        if event.key == "Enter" and (event.ctrlKey or event.metaKey):
            event.preventDefault()
            self.submit()
        elif event.key == "ArrowUp" and event.altKey and self.history:
            self.history_index = max(0, self.history_index - 1)
            self.input.value = self.history[self.history_index]

    def submit(self):
        code = self.input.value
        if not code.strip() or self.running:
            return
        self.history.append(code)
        self.history_index = len(self.history)
        self.input.value = ""
        asyncio.create_task(self.run(code))

    async def run(self, code):
        self.running = True
        self.run_button.disabled = True
        self.stop_button.disabled = False
        lines = code.rstrip("\n").split("\n")
        self.write(">>> " + "\n... ".join(lines) + "\n", "input")

        def stream(name, text):
            self.write(str(text), "stderr" if str(name) == "stderr" else "")

        try:
            result = await bridge.execute(code, stream)
        finally:
            self.running = False
            self.run_button.disabled = False
            self.stop_button.disabled = True
        error = result.get("error")
        if error and not result.get("stderr"):
            self.write(error.get("message", "") + "\n", "stderr")
        if result.get("result") is not None:
            self.write(result["result"] + "\n", "result")

    async def stop(self):
        if not self.running:
            return
        how = await bridge.interrupt()
        if how == "interrupted":
            self.write(
                "Interrupted: KeyboardInterrupt raised in the kernel; variables kept.\n", "info"
            )
        elif how == "restarted":
            self.write(
                "Kernel restarted to stop the code (it could not be interrupted in place). "
                "Your files are safe; variables were reset.\n",
                "info",
            )
