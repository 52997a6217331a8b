"""``create_applet`` and ``update_applet``: the agent builds a small app for the desktop.

Each saves a new version, asks the desktop to open it, and waits (event-driven, a few seconds
at most) for the desktop's report of that version: the tool result says it rendered cleanly or
gives the errors caught inside the applet's frame, so the agent can fix them.
"""

from __future__ import annotations

from typing import Any

from llmos.agent.tools import TOOLS, ToolContext, ToolResult
from llmos.applets.model import KINDS, PERMISSIONS, Manifest, manifest_from

_SOURCE = {
    "html": {
        "type": "string",
        "description": "For kind html: the whole HTML document (inline CSS and JS, no network)",
    },
    "code": {
        "type": "string",
        "description": "For kind panel: Python code of a Panel app ending in .servable()",
    },
}
_PERMISSIONS = {
    "type": "array",
    "items": {"type": "string", "enum": list(PERMISSIONS)},
    "description": "Tools the applet may call through the bridge once the user allows them",
}
CREATE = (
    "Create an applet: a small interactive app that opens in a window on the user's desktop "
    "and stays there. Waits until the desktop has rendered it and returns the errors it hit, "
    "if any. Use update_applet to change an existing one."
)
UPDATE = (
    "Replace the HTML (or Panel code) of an existing applet with a new version; returns the "
    "errors the desktop saw when rendering it, if any."
)


@TOOLS.tool(
    "create_applet",
    CREATE,
    {
        "type": "object",
        "properties": {
            "name": {
                "type": "string",
                "description": "Folder name: lowercase letters, digits, '-' (unit-converter)",
            },
            "title": {"type": "string", "description": "Shown under its icon"},
            "description": {"type": "string", "description": "What it does, one sentence"},
            "kind": {"type": "string", "enum": list(KINDS), "description": "html (default)"},
            **_SOURCE,
            "icon": {"type": "string", "description": "One emoji"},
            "permissions": _PERMISSIONS,
        },
        "required": ["name", "title", "description"],
    },
)
async def create_applet(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    from llmos.applets.methods import applet_host

    applets = applet_host(ctx.vfs)
    kind = str(args.get("kind") or "html")
    if kind not in KINDS:
        return ToolResult(f"'kind' must be html or panel, not {kind!r}.", True)
    source = _source(args, kind)
    if isinstance(source, ToolResult):
        return source
    name = str(args["name"])
    if await applets.store.exists(name):
        return ToolResult(f"An applet named '{name}' exists already: use update_applet.", True)
    fields = {"name": name, "title": args["title"], "description": args["description"]}
    manifest = manifest_from(
        fields
        | {"icon": args.get("icon") or "🧩", "version": 1, "created_by": "agent", "kind": kind}
        | {"entry": KINDS[kind], "permissions": args.get("permissions") or []}
    )
    await applets.store.save(manifest, {manifest.entry: source.encode("utf-8")})
    return await _rendered(ctx, manifest, "Created")


@TOOLS.tool(
    "update_applet",
    UPDATE,
    {
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "The applet's name"},
            **_SOURCE,
            "description": {"type": "string", "description": "A new description"},
            "permissions": _PERMISSIONS,
        },
        "required": ["name"],
    },
)
async def update_applet(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    from llmos.applets.methods import applet_host

    applets = applet_host(ctx.vfs)
    name = str(args["name"])
    applet = await applets.store.get(name)
    manifest = applet.manifest
    source = _source(args, manifest.kind)
    if isinstance(source, ToolResult):
        return source
    files = await applets.store.ui_files(name)
    files.pop("manifest.json", None)
    files[manifest.entry] = source.encode("utf-8")
    changes = {k: args[k] for k in ("description", "permissions") if k in args}
    manifest = manifest_from(manifest.to_dict() | changes | {"version": manifest.version + 1})
    await applets.store.save(manifest, files)
    return await _rendered(ctx, manifest, "Updated")


def _source(args: dict[str, Any], kind: str) -> str | ToolResult:
    key = "html" if kind == "html" else "code"
    value = args.get(key)
    if not isinstance(value, str) or not value.strip():
        return ToolResult(f"Give '{key}' for a {kind} applet: its whole source.", True)
    return value


async def _rendered(ctx: ToolContext, manifest: Manifest, done: str) -> ToolResult:
    from llmos.applets.methods import applet_host

    applets = applet_host(ctx.vfs)
    saved = f"{done} applet '{manifest.name}' (version {manifest.version})"
    asks = _permissions_note(manifest)
    if applets.emit is None:
        return ToolResult(f"{saved}; no desktop is connected here to show it.{asks}")
    report = await applets.show(manifest)
    if report is None:
        return ToolResult(f"{saved}; the desktop did not report a render (is it open?).{asks}")
    if report.errors:
        listed = "\n".join(f"- {e}" for e in report.errors)
        return ToolResult(
            f"{saved}, but rendering it on the desktop hit errors:\n{listed}\n"
            "Fix them with update_applet.",
            True,
        )
    painted = f" (first paint {report.painted_ms:.0f} ms)" if report.painted_ms else ""
    return ToolResult(f"{saved}: rendered on the desktop, no errors{painted}.{asks}")


def _permissions_note(manifest: Manifest) -> str:
    if not manifest.permissions:
        return ""
    return (
        f" It asks for {', '.join(manifest.permissions)}: the user allows each on the desktop "
        "before the applet can use it."
    )
