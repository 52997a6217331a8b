"""Message, tool and streaming types shared by every LLM engine, the router and the agent.

The shapes follow OpenAI's Chat Completions (the lingua franca of remote endpoints); tools are
described in MCP's shape (name, description, JSON Schema input) and converted on the way out.
An engine streams :class:`TextDelta` items while the model writes and ends with exactly one
:class:`Completion` that holds the whole assistant message, its tool calls and the usage.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Role = Literal["system", "user", "assistant", "tool"]


@dataclass(frozen=True)
class ToolCall:
    """A call the model asked for. ``arguments`` is the raw JSON text the model wrote: the agent
    parses it, so malformed arguments reach the user as a readable error, not an exception."""

    id: str
    name: str
    arguments: str


@dataclass
class Message:
    role: Role
    content: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    tool_call_id: str | None = None

    def to_openai(self) -> dict[str, Any]:
        """This message in Chat Completions' wire format."""
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.tool_calls:
            out["tool_calls"] = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call in self.tool_calls
            ]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        return out


@dataclass(frozen=True)
class ToolSpec:
    """A tool as MCP lists it: ``inputSchema`` is a JSON Schema object."""

    name: str
    description: str
    input_schema: dict[str, Any]

    def to_mcp(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "inputSchema": self.input_schema,
        }

    def to_openai(self) -> dict[str, Any]:
        return {
            "type": "function",
            "function": {
                "name": self.name,
                "description": self.description,
                "parameters": self.input_schema,
            },
        }


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens


@dataclass
class ChatRequest:
    """One call to a model. ``model`` empty means the engine's configured default."""

    messages: list[Message]
    tools: list[ToolSpec] = field(default_factory=list)
    model: str = ""
    temperature: float | None = None
    max_tokens: int | None = None


@dataclass(frozen=True)
class TextDelta:
    """A piece of the assistant's text, as soon as it arrives."""

    text: str


@dataclass(frozen=True)
class Completion:
    """The end of a streamed answer: the full message, why it stopped, and what it cost."""

    message: Message
    finish_reason: str
    usage: Usage
    model: str


StreamItem = TextDelta | Completion


class LlmEngine(Protocol):
    """Anything that can answer a :class:`ChatRequest` as a stream.

    ``stream`` yields zero or more :class:`TextDelta` and then one :class:`Completion`. Failures
    raise :class:`llmos.errors.LlmError` (with a code such as ``auth`` or ``rate_limited``).
    Cancelling the consuming task cancels the request (the HTTP stream is closed, local
    generation is stopped).
    """

    name: str

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamItem]: ...
