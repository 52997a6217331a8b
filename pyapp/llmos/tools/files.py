"""File tools: read, write, list and delete files in the user's volumes.

Paths are VFS paths (``user/notes.md``, ``system/docs/welcome.md``); a path without a volume
is taken to be in the user volume, because that is what a model means by ``notes.md``.
"""

from __future__ import annotations

from typing import Any

from llmos.agent.tools import TOOLS, ToolContext, ToolResult
from llmos.errors import BinaryFileError

MAX_READ_CHARS = 60_000
_PATH = {"type": "string", "description": "File path, e.g. notes.md or user/data/x.csv"}


def vfs_path(path: str) -> str:
    """The VFS path a tool argument names (``notes.md`` → ``user/notes.md``)."""
    path = path.strip().lstrip("/")
    if path in ("", "."):
        return "user"
    if path.split("/", 1)[0] in ("user", "system"):
        return path
    return f"user/{path}"


@TOOLS.tool(
    "read_file",
    "Read a text file and return its contents.",
    {"type": "object", "properties": {"path": _PATH}, "required": ["path"]},
)
async def read_file(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    path = vfs_path(args["path"])
    try:
        text = await ctx.vfs.read_text(path)
    except BinaryFileError:
        size = len(await ctx.vfs.read_bytes(path))
        return ToolResult(f"{path} is a binary file ({size} bytes); use execute_python to read it.")
    if len(text) > MAX_READ_CHARS:
        rest = len(text) - MAX_READ_CHARS
        return ToolResult(f"{text[:MAX_READ_CHARS]}\n… [{rest} more characters not shown]")
    return ToolResult(text)


@TOOLS.tool(
    "write_file",
    "Create or overwrite a text file with the given content. Folders are created as needed.",
    {
        "type": "object",
        "properties": {"path": _PATH, "content": {"type": "string"}},
        "required": ["path", "content"],
    },
)
async def write_file(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    path = vfs_path(args["path"])
    if path.startswith("user/chats/"):
        return ToolResult(f"{path} is a saved conversation: the agent may not write it.", True)
    kind = "agent" if path.startswith("user/agents/") else "skill"
    question = f"Allow the agent to change the {kind} file {path}?"
    if path.startswith(("user/agents/", "user/skills/")) and not await ctx.ask(
        question, "write_file", {"path": path}
    ):
        return ToolResult(f"The user declined: {path} was not written.")
    await ctx.vfs.write_text(path, args["content"])
    return ToolResult(f"Wrote {path} ({len(args['content'].encode('utf-8'))} bytes).")


@TOOLS.tool(
    "list_files",
    "List the files and folders in a folder (default: the user's home folder).",
    {"type": "object", "properties": {"path": {**_PATH, "description": "Folder path"}}},
)
async def list_files(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    path = vfs_path(args.get("path", ""))
    entries = await ctx.vfs.list(path)
    if not entries:
        return ToolResult(f"{path} is empty.")
    lines = [f"{e.name}/" if e.is_dir else f"{e.name} ({e.size} bytes)" for e in entries]
    return ToolResult(f"{path}:\n" + "\n".join(lines))


@TOOLS.tool(
    "delete_file",
    "Delete a file or an empty folder. The user is asked to confirm first.",
    {"type": "object", "properties": {"path": _PATH}, "required": ["path"]},
)
async def delete_file(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    path = vfs_path(args["path"])
    if not await ctx.vfs.exists(path):
        return ToolResult(f"{path} does not exist.", True)
    if not await ctx.ask(f"Delete {path}?", "delete_file", {"path": path}):
        return ToolResult(f"The user declined: {path} was not deleted.")
    await ctx.vfs.delete(path)
    return ToolResult(f"Deleted {path}.")
