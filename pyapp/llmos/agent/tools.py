"""The one tool registry: every tool the agent (and, later, MCP clients) can call.

A tool is an MCP tool description (name, description, JSON Schema input) plus an async handler.
``ToolRegistry.call`` never raises: unknown names, arguments that are not JSON or do not match
the schema, and handlers that fail all come back as an error :class:`ToolResult` whose text says
what went wrong, so the model can correct itself and the user sees it.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from llmos.agent import schema
from llmos.errors import LlmosError
from llmos.llm.types import ToolSpec

if TYPE_CHECKING:
    from llmos.kernel.sandbox import OnOutput, Sandbox
    from llmos.skills.store import SkillStore
    from llmos.vfs import Vfs

Ask = Callable[[str, str, dict[str, Any]], Awaitable[bool]]
Delegate = Callable[[str, str], Awaitable[str]]


class MemoryAccess(Protocol):
    """What the memory tools need (the OS's :class:`llmos.memory.host.MemoryHost`)."""

    async def recall_for_tool(self, query: str, k: int, kinds: list[str] | None) -> str:
        """Matching memories as text for the model, each with ``[m<id>]`` and its source."""
        ...

    async def remember_note(self, text: str, title: str) -> list[int]:
        """Store a note the agent (or user) asked to remember; returns its record ids."""
        ...


@dataclass
class ToolResult:
    """What a tool gives back: text for the model, PNG images for the user (and the model).
    ``source`` names the MCP server a remote tool's result came from: untrusted, external data.
    """

    text: str
    is_error: bool = False
    images: list[bytes] = field(default_factory=list)
    source: str = ""

    def to_mcp(self) -> dict[str, Any]:
        """The result as an MCP ``tools/call`` result."""
        content: list[dict[str, Any]] = [{"type": "text", "text": self.text}]
        content += [
            {
                "type": "image",
                "data": base64.b64encode(png).decode("ascii"),
                "mimeType": "image/png",
            }
            for png in self.images
        ]
        return {"content": content, "isError": self.is_error}


async def _always_no(question: str, tool: str, arguments: dict[str, Any]) -> bool:
    return False


@dataclass
class ToolContext:
    """What tools may touch. ``ask`` asks the user a yes/no question (declined by default);
    ``delegate`` runs a sub-agent; ``sandbox`` runs Python away from the OS's secrets;
    ``memory`` recalls and remembers by meaning; ``skills`` are the user's Agent Skills."""

    vfs: Vfs
    sandbox: Sandbox | None = None
    ask: Ask = _always_no
    delegate: Delegate | None = None
    on_output: OnOutput | None = None
    kernel_state: dict[str, Any] = field(default_factory=dict)
    memory: MemoryAccess | None = None
    skills: SkillStore | None = None


Handler = Callable[[dict[str, Any], ToolContext], Awaitable[ToolResult]]


@dataclass(frozen=True)
class Tool:
    spec: ToolSpec
    handler: Handler


class ToolRegistry:
    """Tools by name, in registration order."""

    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}

    def tool(
        self, name: str, description: str, input_schema: dict[str, Any]
    ) -> Callable[[Handler], Handler]:
        """Register the decorated async handler as tool ``name``."""

        def register(handler: Handler) -> Handler:
            self._tools[name] = Tool(ToolSpec(name, description, input_schema), handler)
            return handler

        return register

    @property
    def names(self) -> list[str]:
        return list(self._tools)

    def specs(self, names: Iterable[str] | None = None) -> list[ToolSpec]:
        """The specs of ``names`` (all tools when None); unknown names are left out."""
        wanted = self.names if names is None else [n for n in names if n in self._tools]
        return [self._tools[name].spec for name in wanted]

    async def call(
        self, name: str, arguments: str | dict[str, Any], ctx: ToolContext
    ) -> ToolResult:
        """Run a tool on the model's raw arguments; every failure becomes an error result."""
        tool = self._tools.get(name)
        if tool is None:
            known = ", ".join(self.names)
            return ToolResult(f"There is no tool named '{name}'. Available: {known}.", True)
        parsed = parse_arguments(name, arguments)
        if isinstance(parsed, ToolResult):
            return parsed
        found = schema.problems(parsed, tool.spec.input_schema)
        if found:
            return ToolResult(f"Invalid arguments for {name}: {'; '.join(found)}.", True)
        try:
            return await tool.handler(parsed, ctx)
        except LlmosError as error:
            return ToolResult(f"{name} failed: {error}", True)
        except Exception as error:  # a tool bug must reach the chat, not kill the turn
            return ToolResult(f"{name} failed unexpectedly: {type(error).__name__}: {error}", True)


def parse_arguments(name: str, arguments: str | dict[str, Any]) -> dict[str, Any] | ToolResult:
    if isinstance(arguments, dict):
        return arguments
    if not arguments.strip():
        return {}
    try:
        value = json.loads(arguments)
    except ValueError as error:
        shown = arguments if len(arguments) <= 200 else arguments[:200] + "…"
        return ToolResult(
            f"The arguments for {name} are not valid JSON ({error}). Received: {shown}", True
        )
    if not isinstance(value, dict):
        kind = type(value).__name__
        return ToolResult(f"The arguments for {name} must be a JSON object, not {kind}.", True)
    return value


TOOLS = ToolRegistry()
"""The built-in tools; ``llmos.tools`` fills it on import."""
