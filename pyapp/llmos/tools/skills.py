"""The ``load_skill`` tool: the body of an enabled skill, loaded only when the agent uses it.

A disabled skill, or one imported and not yet enabled by the user (untrusted), is refused
before its SKILL.md is even read: its text never reaches the model.
"""

from __future__ import annotations

from typing import Any

from llmos.agent.tools import TOOLS, ToolContext, ToolResult
from llmos.errors import NotFoundError
from llmos.skills.spec import SKILL_FILE

DESCRIPTION = (
    "Load a skill listed in your instructions: its instructions (SKILL.md), its files, and how "
    "to run its scripts. Call it before following a skill."
)


@TOOLS.tool(
    "load_skill",
    DESCRIPTION,
    {
        "type": "object",
        "properties": {"name": {"type": "string", "description": "The skill's name"}},
        "required": ["name"],
    },
)
async def load_skill(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    store = ctx.skills
    if store is None:
        return ToolResult("Skills are not available here.", True)
    name = str(args["name"]).strip()
    plain = name and "/" not in name and not name.startswith(".")
    if not plain or not await store.vfs.exists(f"user/skills/{name}/{SKILL_FILE}"):
        enabled = [i.name for i in await store.list() if i.enabled and i.problem is None]
        known = ", ".join(enabled) or "none"
        return ToolResult(f"There is no skill '{name}' (enabled skills: {known}).", True)
    if not store.is_trusted(name):
        return ToolResult(
            f"The skill '{name}' was imported and is not trusted yet: the user must review and "
            "enable it in the Skills panel before it can be used. Do the task without it.",
            True,
        )
    if not store.is_enabled(name):
        return ToolResult(
            f"The skill '{name}' is disabled: the user must enable it in the Skills panel "
            "before it can be used. Do the task without it.",
            True,
        )
    try:
        skill = await store.get(name)
    except NotFoundError as error:
        return ToolResult(str(error), True)
    files = [f for f in await store.files(name) if f != SKILL_FILE]
    return ToolResult(_instructions(name, skill.body, files))


def _instructions(name: str, body: str, files: list[str]) -> str:
    folder = f"skills/{name}"
    parts = [f"# Skill {name}\n\n{body}"]
    if files:
        listed = "\n".join(f"- {folder}/{f}" for f in files)
        parts.append(f"Its files (in the working directory of execute_python):\n{listed}")
    scripts = [f for f in files if f.startswith("scripts/")]
    if scripts:
        example = f"{folder}/{scripts[0]}"
        parts.append(
            "Run a script with execute_python, e.g. "
            f"`import runpy, sys; sys.argv = [{example!r}]; runpy.run_path({example!r}, "
            'run_name="__main__")`; it runs in the sandboxed kernel, like any code you run.'
        )
    return "\n\n".join(parts)
