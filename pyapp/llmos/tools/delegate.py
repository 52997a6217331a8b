"""The ``delegate`` tool: hand a self-contained task to another agent (a markdown agent file in
the system or user volume) and get its final answer back."""

from __future__ import annotations

from typing import Any

from llmos.agent.tools import TOOLS, ToolContext, ToolResult


@TOOLS.tool(
    "delegate",
    "Give a self-contained task to a specialised sub-agent and return its final answer. "
    "Describe the task fully: the sub-agent does not see this conversation.",
    {
        "type": "object",
        "properties": {
            "agent": {"type": "string", "description": "The sub-agent's name"},
            "task": {"type": "string", "description": "The complete task"},
        },
        "required": ["agent", "task"],
    },
)
async def delegate(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    if ctx.delegate is None:
        return ToolResult("Delegation is not available here (a sub-agent cannot delegate).", True)
    return ToolResult(await ctx.delegate(args["agent"], args["task"]))
