"""The ``applets.*`` OS methods (registered on import; ``PLUGINS``) and the host side of the
bridge an applet uses to call LLMos tools.

``applets.list`` -> ``{applets: [info]}`` (broken ones with their ``problem``, an .svg icon as
``icon_url``); ``applets.get {name}`` -> ``{manifest, volume, icon_url, html | code}``;
``applets.rename {name, new}``; ``applets.duplicate {name}``; ``applets.delete {name}``;
``applets.export {name}`` -> ``{zip, name}``; ``applets.import {zip}``; ``applets.grant {name,
tool, allow}``; ``applets.call {name, tool, arguments}`` -> an MCP ``CallToolResult``;
``applets.report {name, version, errors, painted_ms}`` (the desktop, after rendering a version).
Changes are announced as ``applets.changed``; ``applets.open {name, version}`` asks the desktop
to show a version.

An applet may call a tool only when its manifest asks for the permission AND the user granted
it (setting ``applets.grants`` ``{name: [permission]}``); shipped applets have what their
manifest asks for. ``files`` reads and writes only the applet's data folder; ``read_files``
reads (never writes) the user's and shipped files by VFS path, as the agent's file tools do;
``execute_python`` runs in the kernel sandbox, which holds no secret; ``recall`` only reads
memory.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from llmos import protocol
from llmos.applets.model import PERMISSIONS, AppletError, Manifest
from llmos.applets.store import Applet, AppletStore
from llmos.errors import LlmosError, NotFoundError, PathError, ProtocolError
from llmos.protocol import text_param
from llmos.service import method
from llmos.vfs import Vfs, paths

if TYPE_CHECKING:
    from llmos.service import Emit, OsService

GRANTS = "applets.grants"
TOOL_PERMISSION = {
    "execute_python": "execute_python",
    "read_file": "files",
    "write_file": "files",
    "list_files": "files",
    "recall": "recall",
}
READ_TOOLS = ("read_file", "list_files")  # with 'read_files': any user or shipped file
REPORT_TIMEOUT_S = 8.0
# A Panel page boots Pyodide and loads numpy, pandas, Bokeh and Panel in its frame before it
# paints; the wait ends as soon as the report comes, so a long limit costs nothing.
PANEL_REPORT_TIMEOUT_S = 60.0
MAX_REPORT_ERRORS = 20


@dataclass
class Report:
    """What the desktop saw when it rendered one version of an applet."""

    name: str
    version: int
    errors: list[str]
    painted_ms: float | None


@dataclass
class AppletHost:
    """The applets of one VFS, the desktop's render reports, and (with a service) the bridge."""

    store: AppletStore
    service: OsService | None = None
    report_timeout_s: float = REPORT_TIMEOUT_S
    panel_report_timeout_s: float = PANEL_REPORT_TIMEOUT_S
    reports: dict[str, Report] = field(default_factory=dict)
    _waiting: dict[tuple[str, int], list[asyncio.Future[Report]]] = field(default_factory=dict)
    kernel_state: dict[str, Any] = field(default_factory=dict)

    @property
    def emit(self) -> Emit | None:
        return self.service.emit if self.service is not None else None

    def changed(self, *names: str) -> None:
        if self.emit is not None:
            self.emit(protocol.event("applets.changed", names=list(names)))

    async def show(self, manifest: Manifest) -> Report | None:
        """Ask the desktop to open this version and wait for its report; None when no desktop
        is connected or none answered within :attr:`report_timeout_s` (for a Panel applet,
        :attr:`panel_report_timeout_s`)."""
        self.changed(manifest.name)
        if self.emit is None:
            return None
        key = (manifest.name, manifest.version)
        future: asyncio.Future[Report] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        try:
            data = {"name": manifest.name, "version": manifest.version}  # 'name' is event()'s
            self.emit({"type": "event", "name": "applets.open", "data": data})
            panel = manifest.kind == "panel"
            limit = self.panel_report_timeout_s if panel else self.report_timeout_s
            return await asyncio.wait_for(future, limit)
        except TimeoutError:
            return None
        finally:
            waiters = self._waiting.get(key, [])
            if future in waiters:
                waiters.remove(future)
            if not waiters:
                self._waiting.pop(key, None)

    def report(self, report: Report) -> None:
        self.reports[report.name] = report
        for future in self._waiting.pop((report.name, report.version), []):
            if not future.done():
                future.set_result(report)


_HOST_ATTRIBUTE = "_llmos_applet_host"  # on the Vfs: a cycle the GC frees with it, no registry


def applet_host(vfs: Vfs) -> AppletHost:
    """The applets of ``vfs``: the tools reach the desktop through the host the OS made."""
    found = getattr(vfs, _HOST_ATTRIBUTE, None)
    if not isinstance(found, AppletHost):
        found = AppletHost(AppletStore(vfs))
        setattr(vfs, _HOST_ATTRIBUTE, found)
    return found


def host(service: OsService) -> AppletHost:
    """The service's applet host, connected to its events, settings and sandbox."""
    found = applet_host(service.vfs)
    found.service = service
    return found


# --- the desktop's methods ---------------------------------------------------------------------
@method("applets.list")
async def _list(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    return {"applets": [info.to_dict() for info in await host(service).store.list()]}


@method("applets.get")
async def _get(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    applet = await host(service).store.get(text_param(params, "name"))
    key = "html" if applet.manifest.kind == "html" else "code"
    return {
        "manifest": applet.manifest.to_dict(),
        "volume": applet.volume,
        "icon_url": applet.icon_url,
        key: applet.entry,
    }


@method("applets.rename")
async def _rename(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    applets = host(service)
    old, new = text_param(params, "name"), text_param(params, "new")
    manifest = await applets.store.rename(old, new)
    grants = _grants(service)
    if old in grants:
        grants[new] = grants.pop(old)
        await service.settings.set(GRANTS, grants)
    applets.changed(old, new)
    return {"name": new, "manifest": manifest.to_dict()}


@method("applets.duplicate")
async def _duplicate(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    applets = host(service)
    manifest = await applets.store.duplicate(text_param(params, "name"))
    applets.changed(manifest.name)
    return {"name": manifest.name, "manifest": manifest.to_dict()}


@method("applets.delete")
async def _delete(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    applets, name = host(service), text_param(params, "name")
    await applets.store.delete(name)
    grants = _grants(service)
    if grants.pop(name, None) is not None:
        await service.settings.set(GRANTS, grants)
    applets.changed(name)
    return {"name": name}


@method("applets.export")
async def _export(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    name = text_param(params, "name")
    data = await host(service).store.export_zip(name)
    return {"zip": base64.b64encode(data).decode("ascii"), "name": f"{name}.zip"}


@method("applets.import")
async def _import(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    try:
        data = base64.b64decode(text_param(params, "zip"), validate=True)
    except binascii.Error as error:
        raise ProtocolError(f"The parameter 'zip' is not valid base64: {error}.") from error
    applets = host(service)
    manifest = await applets.store.import_zip(data)
    applets.changed(manifest.name)
    return {"name": manifest.name, "manifest": manifest.to_dict()}


@method("applets.report")
async def _report(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    name, version = text_param(params, "name"), params.get("version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise ProtocolError("The parameter 'version' must be a whole number.")
    errors = params.get("errors") or []
    if not isinstance(errors, list):
        raise ProtocolError("The parameter 'errors' must be a list of messages.")
    painted = params.get("painted_ms")
    painted_ms = float(painted) if isinstance(painted, int | float) else None
    shown = [str(e)[:2_000] for e in errors[:MAX_REPORT_ERRORS]]
    host(service).report(Report(name, version, shown, painted_ms))
    return {"name": name, "version": version}


# --- permissions and the bridge ----------------------------------------------------------------
def _grants(service: OsService) -> dict[str, list[str]]:
    saved = service.settings.get(GRANTS) or {}
    if not isinstance(saved, dict):
        return {}
    return {
        str(name): [p for p in allowed if p in PERMISSIONS]
        for name, allowed in saved.items()
        if isinstance(allowed, list)
    }


def _permission(tool: str) -> str:
    permission = TOOL_PERMISSION.get(tool, tool)
    if permission not in PERMISSIONS:
        known = ", ".join(sorted(TOOL_PERMISSION))
        raise ProtocolError(f"'{tool}' is not a tool applets can use (they can use {known}).")
    return permission


@method("applets.grant")
async def _grant(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    """Allow (or stop allowing) applet ``name`` to use ``tool`` (a tool or permission name)."""
    name, allow = text_param(params, "name"), params.get("allow")
    if not isinstance(allow, bool):
        raise ProtocolError("The parameter 'allow' must be true or false.")
    permission = _permission(text_param(params, "tool"))
    await host(service).store.locate(name)
    grants = _grants(service)
    allowed = set(grants.get(name, []))
    allowed = allowed | {permission} if allow else allowed - {permission}
    grants[name] = sorted(allowed)
    await service.settings.set(GRANTS, grants)
    return {"name": name, "granted": grants[name]}


def _refused(text: str, permission: str | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"content": [{"type": "text", "text": text}], "isError": True}
    if permission is not None:
        result["needsGrant"] = permission  # the desktop can offer to allow it
    return result


def _needed(applet: Applet, tool: str) -> str | dict[str, Any]:
    """The permission ``tool`` needs, or the refusal when the manifest did not ask for it."""
    if tool not in TOOL_PERMISSION:
        known = ", ".join(sorted(TOOL_PERMISSION))
        return _refused(f"Applets cannot call '{tool}'; they can call {known}.")
    permission = TOOL_PERMISSION[tool]
    if tool in READ_TOOLS and "read_files" in applet.manifest.permissions:
        permission = "read_files"
    if permission not in applet.manifest.permissions:
        return _refused(
            f"The applet '{applet.manifest.name}' did not ask for the '{permission}' permission "
            f"in its manifest, so it cannot call {tool}."
        )
    return permission


@method("applets.call")
async def _call(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    name, tool = text_param(params, "name"), text_param(params, "tool")
    arguments = params.get("arguments") or {}
    if not isinstance(arguments, dict):
        raise ProtocolError("The parameter 'arguments' must be an object.")
    applets = host(service)
    applet = await applets.store.get(name)
    permission = _needed(applet, tool)
    if isinstance(permission, dict):
        return permission
    shipped = applet.volume == "system"
    if not shipped and permission not in _grants(service).get(name, []):
        return _refused(
            f"The applet '{name}' may use {tool} only when you allow it: allow "
            f"'{permission}' for it on the desktop.",
            permission,
        )
    try:
        if permission == "read_files":
            return await _tool(service, applets, tool, arguments)
        if permission == "files":
            folder = applets.store.data_folder(name, applet.volume)
            return await _files(service, folder, tool, arguments)
        return await _tool(service, applets, tool, arguments)
    except LlmosError as error:
        return _refused(f"{tool} failed: {error}")


async def _files(
    service: OsService, folder: str, tool: str, arguments: dict[str, Any]
) -> dict[str, Any]:
    """The file tools, confined to the applet's data folder (``path`` is relative to it)."""
    raw = arguments.get("path", "")
    if not isinstance(raw, str):
        return _refused(f"{tool}: 'path' must be text.")
    try:
        inner = paths.normalize(raw.strip())
    except PathError as error:
        return _refused(f"{tool}: {error} An applet's files stay in its own data folder.")
    if tool == "list_files":
        return await _list_data(service.vfs, f"{folder}/{inner}" if inner else folder)
    if not inner:
        return _refused(f"{tool}: name a file, e.g. 'notes.txt'.")
    if tool == "read_file":
        return await _read_data(service.vfs, folder, inner)
    return await _write_data(service.vfs, folder, inner, arguments.get("content"))


async def _write_data(vfs: Vfs, folder: str, inner: str, content: object) -> dict[str, Any]:
    if not isinstance(content, str):
        return _refused("write_file: 'content' must be text.")
    await vfs.write_text(f"{folder}/{inner}", content)
    return _ok(f"Wrote {inner} ({len(content.encode('utf-8'))} bytes).")


async def _read_data(vfs: Vfs, folder: str, inner: str) -> dict[str, Any]:
    if not await vfs.exists(f"{folder}/{inner}"):
        return _refused(f"read_file: there is no file '{inner}' yet.")
    return _ok(await vfs.read_text(f"{folder}/{inner}"))


async def _list_data(vfs: Vfs, path: str) -> dict[str, Any]:
    entries = await vfs.list(path) if await vfs.exists(path) else []
    return _ok("\n".join(f"{e.name}/" if e.is_dir else e.name for e in entries))


def _ok(text: str) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": text}], "isError": False}


async def _tool(
    service: OsService, applets: AppletHost, tool: str, arguments: dict[str, Any]
) -> dict[str, Any]:
    """``execute_python`` (the kernel sandbox), ``recall`` or the read-only file tools, as the
    agent runs them; nothing here can reach settings or secrets."""
    import llmos.tools  # noqa: F401  (registers the tools)
    from llmos.agent.tools import TOOLS, ToolContext

    memory = None
    if tool == "recall" and service.embedding_engine is not None:
        from llmos.memory.methods import host as memory_host

        found = memory_host(service)
        memory = found if found.enabled else None
    ctx = ToolContext(
        service.vfs, service.sandbox, kernel_state=applets.kernel_state, memory=memory
    )
    result: dict[str, Any] = (await TOOLS.call(tool, arguments, ctx)).to_mcp()
    return result


__all__ = ["AppletError", "AppletHost", "NotFoundError", "Report", "applet_host", "host"]
