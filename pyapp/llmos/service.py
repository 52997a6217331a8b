"""The OS service: the methods the UI calls on the OS worker, one handler per method.

Requests and replies follow :mod:`llmos.protocol`. Handlers are registered in ``METHODS`` by
name; errors become ``{code, message}`` replies, so a failing call never hangs the UI.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import importlib
import json
from collections.abc import Awaitable, Callable
from importlib import resources
from typing import TYPE_CHECKING, Any

import llmos
from llmos import protocol
from llmos.errors import ProtocolError
from llmos.platform import Entry, Storage
from llmos.platform.native import DirectoryStorage
from llmos.settings import Secrets, Settings
from llmos.vfs import Change, Vfs, Volume

if TYPE_CHECKING:  # plug-in types only: importing them costs boot time in Pyodide
    from llmos.kernel.sandbox import Sandbox
    from llmos.llm.types import LlmEngine
    from llmos.memory.embedder import EmbeddingEngine
    from llmos.memory.index import VectorIndex
    from llmos.platform.http import Http

Emit = Callable[[protocol.Event], None]
Handler = Callable[["OsService", dict[str, Any]], Awaitable[Any]]
METHODS: dict[str, Handler] = {}

WELCOME = """# Welcome to LLMos

This is your user volume: files here stay on this device and survive reloads.

- Edit this file and press Ctrl+S (Cmd+S on a Mac) to save.
- Run Python in the console below; press Stop to interrupt runaway code.
"""


def method(name: str) -> Callable[[Handler], Handler]:
    """Register an OS method under ``name`` (e.g. ``fs.read``)."""

    def register(handler: Handler) -> Handler:
        METHODS[name] = handler
        return handler

    return register


def system_storage() -> DirectoryStorage:
    """The read-only ``system`` volume: files shipped inside the llmos package."""
    return DirectoryStorage(str(resources.files("llmos") / "system"), read_only=True)


class OsService:
    """The OS core as the UI sees it: VFS, settings and secrets behind request handlers.

    The platform plugs in what it has: ``http`` for remote models, ``sandbox`` to run code,
    ``engines`` for models that need no endpoint (the in-page local model), and
    ``embedding_engine`` to make the embedder (given a backend preference) for memory.
    ``private`` is the OS-private storage: settings, secrets and the memory store.
    """

    def __init__(
        self,
        vfs: Vfs,
        settings: Settings,
        secrets: Secrets,
        emit: Emit,
        private: Storage | None = None,
    ) -> None:
        self.vfs = vfs
        self.settings = settings
        self.secrets = secrets
        self.emit = emit
        self.private = private
        self.http: Http | None = None
        self.sandbox: Sandbox | None = None
        self.engines: dict[str, LlmEngine] = {}
        self.remote_options: dict[str, Any] = {}  # extra OpenAIEngine options (tests: sleep)
        self.agent_host: object | None = None  # llmos.agent.methods.AgentHost, made on first use
        self.embedding_engine: Callable[[str], EmbeddingEngine] | None = None
        self.vector_index: Callable[[int], VectorIndex] | None = None  # None: the default
        self.memory_storage: Storage | None = None  # where memory lives; None: in ``private``
        self.memory_host: object | None = None  # llmos.memory.host.MemoryHost, made on first use
        self.mcp_servers: object | None = None  # llmos.mcp.remote.RemoteServers, made on first use
        vfs.subscribe(self._on_change)

    @classmethod
    async def create(cls, user: Storage, private: Storage, emit: Emit) -> OsService:
        """Mount the volumes, load settings, and seed a new user volume with a welcome file."""
        vfs = Vfs()
        vfs.mount(Volume("system", system_storage(), writable=False, description="Shipped"))
        vfs.mount(Volume("user", user, writable=True, description="Your files"))
        settings, secrets = Settings(private), Secrets(private)
        await settings.load()
        await secrets.load()
        service = cls(vfs, settings, secrets, emit, private)
        if not await user.list(""):
            await vfs.write_text("user/README.md", WELCOME)
        return service

    def _on_change(self, change: Change) -> None:
        self.emit(
            protocol.event("fs.changed", kind=change.kind, path=change.path, dest=change.dest)
        )
        if self.embedding_engine is not None:  # saved files are remembered by meaning
            from llmos.memory.methods import host

            host(self).on_file_change(change)

    async def handle(self, raw: str | dict[str, Any]) -> protocol.Reply:
        """Answer one request; always returns a reply, never raises."""
        decoded: Any = raw
        if isinstance(raw, str):  # decode first, so a malformed request still gets its id back
            with contextlib.suppress(ValueError):
                decoded = json.loads(raw)
        request_id = decoded.get("id", "") if isinstance(decoded, dict) else ""
        try:
            message = protocol.parse(decoded)
            if message["type"] != "request":
                raise ProtocolError(f"The OS takes requests, not '{message['type']}'.")
            handler = METHODS.get(message["method"]) or _load_handler(message["method"])
            if handler is None:
                raise ProtocolError(f"Unknown method '{message['method']}'.")
            return protocol.reply_ok(request_id, await handler(self, message["params"]))
        except Exception as error:
            return protocol.reply_error(str(request_id), error)


def _entry(entry: Entry) -> dict[str, Any]:
    return {
        "path": entry.path,
        "name": entry.name,
        "dir": entry.is_dir,
        "size": entry.size,
        "mtime": entry.mtime,
    }


def _param(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    if not isinstance(value, str):
        raise ProtocolError(f"The parameter '{name}' must be text.")
    return value


@method("os.info")
async def _info(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    warnings = [w for w in (service.settings.warning, service.secrets.warning) if w]
    return {
        "version": llmos.__version__,
        "volumes": [
            {"name": v.name, "writable": v.writable, "description": v.description}
            for v in service.vfs.volumes
        ],
        "warnings": warnings,
    }


@method("fs.list")
async def _list(service: OsService, params: dict[str, Any]) -> list[dict[str, Any]]:
    return [_entry(e) for e in await service.vfs.list(_param(params, "path"))]


@method("fs.read")
async def _read(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    """``{text}`` for UTF-8 files; with ``encoding: base64`` any file as ``{base64}``."""
    path = _param(params, "path")
    if params.get("encoding") == "base64":
        data = await service.vfs.read_bytes(path)
        return {"path": path, "base64": base64.b64encode(data).decode("ascii"), "size": len(data)}
    return {"path": path, "text": await service.vfs.read_text(path)}


@method("fs.write")
async def _write(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    path = _param(params, "path")
    if "base64" in params:
        try:
            data = base64.b64decode(_param(params, "base64"), validate=True)
        except binascii.Error as error:
            raise ProtocolError(f"The parameter 'base64' is not valid base64: {error}.") from error
    else:
        data = _param(params, "text").encode("utf-8")
    await service.vfs.write_bytes(path, data)
    return {"path": path, "size": len(data)}


@method("fs.mkdir")
async def _mkdir(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    path = _param(params, "path")
    await service.vfs.mkdir(path)
    return {"path": path}


@method("fs.rename")
async def _rename(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    src, dst = _param(params, "path"), _param(params, "dest")
    await service.vfs.rename(src, dst)
    return {"path": dst}


@method("fs.delete")
async def _delete(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    path = _param(params, "path")
    await service.vfs.delete(path)
    return {"path": path}


@method("settings.get")
async def _settings_get(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    return {"settings": service.settings.as_dict(), "secrets": service.secrets.keys()}


@method("settings.set")
async def _settings_set(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    await service.settings.set(_param(params, "key"), params.get("value"))
    return {"key": params["key"]}


# Methods that live with their subsystem register themselves when their module is imported, on
# the first request for them: the agent's modules cost ~0.2 s to import in Pyodide, which the
# OS's boot should not wait for.
PLUGINS = {"chat": "llmos.agent.methods", "llm": "llmos.agent.methods"}
PLUGINS |= {"kernel": "llmos.kernel.service_methods", "memory": "llmos.memory.methods"}
PLUGINS |= {"mcp": "llmos.mcp.methods", "skills": "llmos.skills.methods"}
PLUGINS |= {"learning": "llmos.learning.methods", "sync": "llmos.sync.methods"}
PLUGINS |= {"skills.install": "llmos.sync.methods"}  # a whole name wins over its family
PLUGINS |= {"applets": "llmos.applets.methods"}
PLUGINS |= {"applets.panel_page": "llmos.applets.panel"}


def _load_handler(name: str) -> Handler | None:
    module = PLUGINS.get(name) or PLUGINS.get(name.split(".", 1)[0])
    if module is None:
        return None
    importlib.import_module(module)
    return METHODS.get(name)
