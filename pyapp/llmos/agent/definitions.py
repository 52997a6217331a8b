"""Agent definitions: markdown files with YAML front matter, in the system or user volume.

    ---
    name: coder
    description: Writes and runs Python for data tasks
    model:
      prefer: remote          # local | remote | any
      temperature: 0.2
    tools: [execute_python, read_file, write_file]
    max_steps: 8
    ---
    You are a careful Python programmer...

The body is the system prompt. Agents live in ``system/agents/*.md`` (shipped) and
``user/agents/*.md`` (the user's own; a user agent with a shipped agent's name replaces it).
Front matter is the small YAML subset above (scalars, flow lists, block lists, one level of
nested mapping), parsed here so the browser needs no YAML package.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from llmos.errors import LlmosError, NotFoundError
from llmos.vfs import Vfs

AGENT_FOLDERS = ("system/agents", "user/agents")
DEFAULT_TOOLS = [
    "execute_python",
    "read_file",
    "write_file",
    "list_files",
    "delete_file",
    "load_skill",
    "create_applet",
    "update_applet",
]


class AgentDefinitionError(LlmosError):
    code = "bad_agent"


@dataclass
class AgentDefinition:
    name: str
    description: str
    prompt: str
    tools: list[str] = field(default_factory=lambda: list(DEFAULT_TOOLS))
    prefer: str = "any"
    temperature: float | None = None
    max_steps: int = 12
    plan: bool = True
    source: str = ""


def parse_agent(text: str, source: str = "") -> AgentDefinition:
    """Parse one agent file; raises :class:`AgentDefinitionError` naming the problem."""
    meta, body = split_front_matter(text, source)
    name = meta.get("name")
    if not isinstance(name, str) or not name.strip():
        raise AgentDefinitionError(
            f"{source or 'The agent file'} needs a 'name' in its front matter."
        )
    model: dict[str, Any] = meta["model"] if isinstance(meta.get("model"), dict) else {}
    tools = meta.get("tools", DEFAULT_TOOLS)
    if not isinstance(tools, list) or not all(isinstance(t, str) for t in tools):
        raise AgentDefinitionError(f"{source}: 'tools' must be a list of tool names.")
    prefer = str(model.get("prefer", "any"))
    if prefer not in ("local", "remote", "any"):
        raise AgentDefinitionError(f"{source}: model.prefer must be local, remote or any.")
    temperature = model.get("temperature")
    return AgentDefinition(
        name=name.strip(),
        description=str(meta.get("description", "")),
        prompt=body.strip(),
        tools=list(tools),
        prefer=prefer,
        temperature=float(temperature) if isinstance(temperature, int | float) else None,
        max_steps=_positive_int(meta.get("max_steps", 12), "max_steps", source),
        plan=bool(meta.get("plan", True)),
        source=source,
    )


async def load_agents(vfs: Vfs) -> tuple[dict[str, AgentDefinition], list[str]]:
    """Every agent by name, and a readable problem for each file that could not be used."""
    agents: dict[str, AgentDefinition] = {}
    problems: list[str] = []
    for folder in AGENT_FOLDERS:
        try:
            entries = await vfs.list(folder)
        except NotFoundError:
            continue
        for entry in entries:
            if entry.is_dir or not entry.name.endswith(".md"):
                continue
            try:
                agent = parse_agent(await vfs.read_text(entry.path), entry.path)
            except LlmosError as error:
                problems.append(str(error))
                continue
            agents[agent.name] = agent
    return agents, problems


def split_front_matter(text: str, source: str = "") -> tuple[dict[str, Any], str]:
    """``(metadata, body)``; a file without front matter has empty metadata."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, text
    for end in range(1, len(lines)):
        if lines[end].strip() == "---":
            return _parse_block(lines[1:end], source), "\n".join(lines[end + 1 :])
    raise AgentDefinitionError(f"{source}: the front matter has no closing '---'.")


def _parse_block(lines: list[str], source: str) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    key = ""
    for number, raw in enumerate(lines, start=2):
        line = _strip_comment(raw).rstrip()
        if not line.strip():
            continue
        if raw.startswith((" ", "\t")) and key:
            _nested(meta, key, line.strip(), f"{source}:{number}")
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise AgentDefinitionError(f"{source}:{number}: expected 'key: value', got {raw!r}.")
        key = name.strip()
        meta[key] = _scalar(value.strip()) if value.strip() else None
    return meta


def _nested(meta: dict[str, Any], key: str, line: str, where: str) -> None:
    if line.startswith("- "):
        if meta[key] is None:
            meta[key] = []
        if not isinstance(meta[key], list):
            raise AgentDefinitionError(f"{where}: a list item under '{key}', which is not a list.")
        meta[key].append(_scalar(line[2:].strip()))
        return
    name, sep, value = line.partition(":")
    if not sep:
        raise AgentDefinitionError(f"{where}: expected 'key: value' under '{key}'.")
    if meta[key] is None:
        meta[key] = {}
    if not isinstance(meta[key], dict):
        raise AgentDefinitionError(f"{where}: a mapping under '{key}', which is not a mapping.")
    meta[key][name.strip()] = _scalar(value.strip())


def _strip_comment(line: str) -> str:
    quote = ""
    for index, char in enumerate(line):
        if char in "'\"" and not quote:
            quote = char
        elif char == quote:
            quote = ""
        elif char == "#" and not quote and (index == 0 or line[index - 1] in " \t"):
            return line[:index]
    return line


_KEYWORDS: dict[str, Any] = {"true": True, "yes": True, "false": False, "no": False}
_KEYWORDS |= {"null": None, "~": None, "": None}


def _scalar(value: str) -> Any:
    if value.startswith("[") and value.endswith("]"):
        inner = value[1:-1].strip()
        return [_scalar(item.strip()) for item in inner.split(",")] if inner else []
    if value[:1] in "'\"" and value[-1:] == value[:1] and len(value) >= 2:
        return value[1:-1]
    if value.lower() in _KEYWORDS:
        return _KEYWORDS[value.lower()]
    if value[0].isdigit() or value[0] == "-":
        try:
            return json.loads(value)
        except ValueError:
            pass
    return value


def _positive_int(value: Any, name: str, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise AgentDefinitionError(f"{source}: '{name}' must be a positive whole number.")
    return value
