"""Memory tools: ``recall`` searches what LLMos remembers, ``remember`` stores a note."""

from __future__ import annotations

from typing import Any

from llmos.agent.tools import TOOLS, ToolContext, ToolResult

KINDS = ["conversation", "execution", "file", "note"]
UNAVAILABLE = "Memory is not available here (no embedding model on this platform)."


@TOOLS.tool(
    "recall",
    "Search your long-term memory by meaning and keywords: past conversations, code you ran "
    "and its results, the user's files and notes. Cite what you use as [m<id>].",
    {
        "type": "object",
        "properties": {
            "query": {"type": "string", "description": "What to look for"},
            "k": {"type": "integer", "minimum": 1, "maximum": 20, "description": "How many"},
            "kind": {"type": "string", "enum": KINDS, "description": "Only this kind"},
        },
        "required": ["query"],
    },
)
async def recall(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    if ctx.memory is None:
        return ToolResult(UNAVAILABLE, is_error=True)
    kinds = [args["kind"]] if args.get("kind") else None
    return ToolResult(await ctx.memory.recall_for_tool(args["query"], int(args.get("k", 5)), kinds))


@TOOLS.tool(
    "remember",
    "Store a fact or note in long-term memory so it can be recalled in later conversations.",
    {
        "type": "object",
        "properties": {
            "text": {"type": "string", "description": "What to remember", "minLength": 1},
            "title": {"type": "string", "description": "A short title"},
        },
        "required": ["text"],
    },
)
async def remember(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    if ctx.memory is None:
        return ToolResult(UNAVAILABLE, is_error=True)
    try:
        ids = await ctx.memory.remember_note(args["text"], str(args.get("title", "")))
    except ValueError as error:
        return ToolResult(str(error), is_error=True)
    refs = ", ".join(f"[m{i}]" for i in ids)
    return ToolResult(f"Remembered as {refs}.")
