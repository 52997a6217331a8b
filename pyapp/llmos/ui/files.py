"""File explorer and editor: tree, open, edit, save, rename, delete, new, upload, download."""

from llmos.ui import bridge, dom


class Files:
    def __init__(self):
        self.open_path = ""
        self.selected = "user"
        self.saved_text = ""
        self.expanded = {"user": True, "system": False}
        self.tree = dom.by_id("tree")
        self.text = dom.by_id("editor-text")
        self.buttons = {
            name: dom.by_id(name)
            for name in ("save", "rename", "download", "delete", "new-file", "new-folder", "upload")
        }
        self._wire()

    # -- wiring ------------------------------------------------------------------------------
    def _wire(self):
        b = self.buttons
        dom.on(b["save"], "click", lambda e: self.spawn(self.save()))
        dom.on(b["rename"], "click", lambda e: self.spawn(self.rename()))
        dom.on(b["delete"], "click", lambda e: self.spawn(self.delete()))
        dom.on(b["download"], "click", lambda e: self.spawn(self.download()))
        dom.on(b["new-file"], "click", lambda e: self.spawn(self.create(False)))
        dom.on(b["new-folder"], "click", lambda e: self.spawn(self.create(True)))
        dom.on(b["upload"], "click", lambda e: dom.by_id("upload-input").click())
        dom.on(dom.by_id("upload-input"), "change", lambda e: self.spawn(self.upload(e.target)))
        dom.on(self.text, "input", lambda e: self._mark_dirty())
        dom.on(self.tree, "keydown", self._tree_key)

    def spawn(self, coro):
        bridge.spawn(coro, dom.notice)

    def enable(self):
        for name in ("new-file", "new-folder", "upload"):
            self.buttons[name].disabled = False

    # -- tree --------------------------------------------------------------------------------
    async def refresh(self):
        items = []
        for volume in ("user", "system"):
            items.append((volume, volume, True, 0))
            if self.expanded.get(volume):
                await self._collect(volume, 1, items)
        self.tree.innerHTML = ""
        for path, name, is_dir, depth in items:
            self.tree.append(self._row(path, name, is_dir, depth))

    async def _collect(self, folder, depth, items):
        for entry in await bridge.call("fs.list", path=folder):
            items.append((entry["path"], entry["name"], entry["dir"], depth))
            if entry["dir"] and self.expanded.get(entry["path"]):
                await self._collect(entry["path"], depth + 1, items)

    def _row(self, path, name, is_dir, depth):
        mark = ("▾ " if self.expanded.get(path) else "▸ ") if is_dir else "  "
        row = dom.element("li", mark + name)
        row.setAttribute("role", "treeitem")
        row.setAttribute("data-path", path)
        row.setAttribute("data-dir", "1" if is_dir else "0")
        row.setAttribute("tabindex", "0")
        row.style.paddingLeft = str(8 + depth * 14) + "px"
        if path == self.selected:
            row.classList.add("selected")
        dom.on(row, "click", lambda e: self.spawn(self.activate(path, is_dir)))
        return row

    async def activate(self, path, is_dir):
        self.selected = path
        if is_dir:
            self.expanded[path] = not self.expanded.get(path)
            await self.refresh()
        else:
            await self.open(path)
            await self.refresh()
        self._focus(path)

    def _focus(self, path):
        for row in self.tree.querySelectorAll("li"):
            if row.getAttribute("data-path") == path:
                row.focus()

    def _tree_key(self, event):
        rows = list(self.tree.querySelectorAll("li[data-path]"))
        paths = [r.getAttribute("data-path") for r in rows]
        if not paths:
            return
        focused = event.target.getAttribute("data-path") if event.target.getAttribute else None
        if focused in paths:
            self.selected = focused
        index = paths.index(self.selected) if self.selected in paths else 0
        key = event.key
        if key in ("ArrowDown", "ArrowUp"):
            event.preventDefault()
            index = min(len(paths) - 1, index + 1) if key == "ArrowDown" else max(0, index - 1)
            self.selected = paths[index]
            for row in rows:
                row.classList.toggle("selected", row.getAttribute("data-path") == self.selected)
            rows[index].focus()
        elif key == "Enter":
            event.preventDefault()
            self.spawn(self.activate(paths[index], rows[index].getAttribute("data-dir") == "1"))
        elif key == "Delete":
            event.preventDefault()
            self.spawn(self.delete())

    # -- editor ------------------------------------------------------------------------------
    async def open(self, path):
        if self.dirty() and not dom.confirm("Discard unsaved changes to " + self.open_path + "?"):
            return
        try:
            result = await bridge.call("fs.read", path=path)
        except bridge.OsError as error:
            if error.code == "binary":
                self._show("", "")
                dom.notice(str(error))
                self.open_path = path
                self._enable_editor(False, path)
                return
            raise
        dom.notice("")
        self._show(path, result["text"])

    def _show(self, path, text):
        self.open_path = path
        self.saved_text = text
        self.text.value = text
        dom.by_id("editor-path").textContent = path or "No file open"
        self._enable_editor(bool(path), path)
        self._mark_dirty()

    def _enable_editor(self, editable, path):
        writable = path.startswith("user/")
        self.text.disabled = not editable
        self.text.readOnly = not writable
        self.buttons["save"].disabled = not (editable and writable)
        for name in ("rename", "delete"):
            self.buttons[name].disabled = not writable
        self.buttons["download"].disabled = not path

    def dirty(self):
        return bool(self.open_path) and self.text.value != self.saved_text

    def _mark_dirty(self):
        dom.by_id("editor-dirty").hidden = not self.dirty()

    async def save(self):
        if not self.open_path or self.text.disabled:
            return
        text = self.text.value
        await bridge.call("fs.write", path=self.open_path, text=text)
        self.saved_text = text
        self._mark_dirty()
        dom.notice("")
        dom.status("Saved " + self.open_path)

    # -- file operations ---------------------------------------------------------------------
    def _target(self):
        """The file or folder the toolbar acts on: the open file, else the selection."""
        return self.open_path or self.selected

    def _folder(self):
        path = self.selected if self.selected else "user"
        rows = [r for r in self.tree.querySelectorAll("li") if r.getAttribute("data-path") == path]
        is_dir = bool(rows) and rows[0].getAttribute("data-dir") == "1"
        if not path.startswith("user"):
            return "user"
        return path if is_dir else path.rsplit("/", 1)[0]

    async def create(self, folder):
        base = self._folder()
        name = dom.prompt(
            "Name of the new " + ("folder" if folder else "file") + " in " + base + ":"
        )
        if not name:
            return
        path = base + "/" + name
        if folder:
            await bridge.call("fs.mkdir", path=path)
        else:
            await bridge.call("fs.write", path=path, text="")
        self.expanded[base] = True
        self.selected = path
        await self.refresh()
        if not folder:
            await self.open(path)

    async def rename(self):
        path = self._target()
        if not path.startswith("user/"):
            return
        old_name = path.rsplit("/", 1)[-1]
        name = dom.prompt("Rename " + path + " to:", old_name)
        if not name or name == old_name:
            return
        dest = path.rsplit("/", 1)[0] + "/" + name
        await bridge.call("fs.rename", path=path, dest=dest)
        if self.open_path == path:
            self.open_path = dest
            dom.by_id("editor-path").textContent = dest
        self.selected = dest
        await self.refresh()

    async def delete(self):
        path = self._target()
        if not path.startswith("user/"):
            return
        if not dom.confirm("Delete " + path + "? This cannot be undone."):
            return
        await bridge.call("fs.delete", path=path)
        if self.open_path == path or self.open_path.startswith(path + "/"):
            self._show("", "")
        self.selected = path.rsplit("/", 1)[0]
        dom.status("Deleted " + path)
        await self.refresh()

    async def download(self):
        await bridge.download(self._target())

    async def upload(self, input_element):
        folder = self._folder()
        files = [input_element.files.item(i) for i in range(input_element.files.length)]
        input_element.value = ""
        for file in files:
            await bridge.upload(folder, file)
        self.expanded[folder] = True
        await self.refresh()
        dom.status("Uploaded " + str(len(files)) + " file(s) to " + folder)

    def on_change(self, data):
        """A file changed elsewhere (the console, later the agent): redraw the tree."""
        self.spawn(self.refresh())
