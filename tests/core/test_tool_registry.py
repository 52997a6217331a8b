"""The tool registry: MCP-shaped specs, and every bad call turned into a readable result."""

from __future__ import annotations

from typing import Any

import llmos.tools  # noqa: F401
from llmos.agent.tools import TOOLS, ToolContext, ToolRegistry, ToolResult
from llmos.platform.memory import MemoryStorage
from llmos.tools.files import vfs_path
from llmos.vfs import Vfs, Volume


def context() -> ToolContext:
    vfs = Vfs()
    vfs.mount(Volume("user", MemoryStorage(), writable=True))
    return ToolContext(vfs)


def test_built_in_tools_are_listed_in_mcp_shape() -> None:
    names = TOOLS.names
    for name in (
        "execute_python",
        "read_file",
        "write_file",
        "list_files",
        "delete_file",
        "delegate",
    ):
        assert name in names
    for spec in TOOLS.specs():
        listed = spec.to_mcp()
        assert set(listed) == {"name", "description", "inputSchema"}
        assert listed["inputSchema"]["type"] == "object"
        assert spec.to_openai()["function"]["parameters"] is spec.input_schema


async def test_bad_calls_become_error_results() -> None:
    ctx = context()
    unknown = await TOOLS.call("fly", "{}", ctx)
    assert unknown.is_error
    assert "no tool named 'fly'" in unknown.text
    not_json = await TOOLS.call("read_file", '{"path": ', ctx)
    assert not_json.is_error
    assert "not valid JSON" in not_json.text
    not_object = await TOOLS.call("read_file", '["a.md"]', ctx)
    assert "must be a JSON object, not list" in not_object.text
    wrong = await TOOLS.call("write_file", {"path": 3, "content": True}, ctx)
    assert wrong.text == (
        "Invalid arguments for write_file: 'path' must be a string, not an integer; "
        "'content' must be a string, not a boolean."
    )
    missing = await TOOLS.call("read_file", "{}", ctx)
    assert "arguments is missing 'path'" in missing.text


async def test_a_failing_tool_is_reported_not_raised() -> None:
    registry = ToolRegistry()

    @registry.tool("boom", "Always fails", {"type": "object"})
    async def boom(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
        raise ValueError("kaput")

    result = await registry.call("boom", "", context())
    assert result.is_error
    assert result.text == "boom failed unexpectedly: ValueError: kaput"
    missing = await TOOLS.call("read_file", '{"path": "nope.md"}', context())
    assert missing.is_error
    assert "nope.md" in missing.text


async def test_file_tools_work_in_the_user_volume() -> None:
    ctx = context()
    wrote = await TOOLS.call("write_file", {"path": "docs/a.md", "content": "héllo"}, ctx)
    assert wrote.text == "Wrote user/docs/a.md (6 bytes)."
    assert (await TOOLS.call("read_file", {"path": "user/docs/a.md"}, ctx)).text == "héllo"
    listing = await TOOLS.call("list_files", {}, ctx)
    assert listing.text == "user:\ndocs/"
    declined = await TOOLS.call("delete_file", {"path": "docs/a.md"}, ctx)
    assert "declined" in declined.text
    assert await ctx.vfs.exists("user/docs/a.md")


def test_tool_paths_default_to_the_user_volume() -> None:
    assert vfs_path("notes.md") == "user/notes.md"
    assert vfs_path("/user/x/y.md") == "user/x/y.md"
    assert vfs_path("system/docs/welcome.md") == "system/docs/welcome.md"
    assert vfs_path("") == "user"


def test_results_convert_to_mcp_content() -> None:
    result = ToolResult("a chart", images=[b"\x89PNG"]).to_mcp()
    assert result == {
        "content": [
            {"type": "text", "text": "a chart"},
            {"type": "image", "data": "iVBORw==", "mimeType": "image/png"},
        ],
        "isError": False,
    }
