"""The agent loop: route, plan, call the model, run the tools it asks for, repeat, answer.

One *turn* starts from the user's message (already in the conversation) and ends with a final
answer, the step limit, a repeated-call guard, an error, or the user's Stop (task
cancellation). Every step is recorded as a conversation item as it happens, so the UI streams
it and a crash mid-turn loses nothing. Failures of the model or a tool become readable items;
the user's message and the history are never touched.
"""

from __future__ import annotations

import base64
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from llmos.agent.chats import Conversation, Item
from llmos.agent.definitions import AgentDefinition
from llmos.agent.tools import ToolContext, ToolRegistry, ToolResult, parse_arguments
from llmos.errors import LlmError
from llmos.llm.router import Decision, Router, Task
from llmos.llm.types import (
    ChatRequest,
    Completion,
    LlmEngine,
    Message,
    TextDelta,
    ToolCall,
    ToolSpec,
    Usage,
)
from llmos.memory.recall import citation

if TYPE_CHECKING:
    from llmos.mcp.remote import RemoteServers

Status = Literal["final", "stopped", "step_limit", "error"]
Emit = Callable[[str, dict[str, Any]], None]
Pricing = Callable[[str, Usage], float | None]
MAX_SAME_CALL = 3
MAX_RESULT_CHARS = 20_000

PLAN_PROMPT = (
    "Before doing anything, write a short numbered plan (at most 5 steps) for the user's "
    "request: which tools you will use and in what order. Only the plan: no code, no answer."
)


MEMORY_PROMPT = (
    "Memories that may be relevant (from earlier conversations, code runs and the user's "
    "files). Use them only if they help, and cite each one you use as [m<id>]:"
)


def _stats(completion: Completion, started: float, first: float | None) -> dict[str, Any]:
    """Speed of one model call as the user felt it: time to first token and tokens/s."""
    ended = time.perf_counter()
    tokens = completion.usage.completion_tokens
    generating = ended - (first or started)
    return {
        "ms": round((ended - started) * 1000, 1),
        "first_token_ms": None if first is None else round((first - started) * 1000, 1),
        "completion_tokens": tokens,
        "tokens_per_s": round(tokens / generating, 1) if tokens and generating > 0 else None,
    }


def _memory_context(conversation: Conversation | None, limit: int) -> str:
    """The memories recalled for the current turn, as a block of the system prompt."""
    if conversation is None:
        return ""
    for item in reversed(conversation.items):
        if item["kind"] == "user":
            return ""
        if item["kind"] == "memories":
            lines = [citation(m) for m in item["items"][:limit]]
            return MEMORY_PROMPT + "\n" + "\n".join(lines)
    return ""


def _applied_skill(call: ToolCall, result: ToolResult) -> dict[str, str]:
    """``{"skill": name}`` for a successful ``load_skill`` call (the chat says "Applied skill
    X" and the trace counts the use)."""
    if call.name != "load_skill" or result.is_error:
        return {}
    parsed = parse_arguments(call.name, call.arguments)
    name = parsed.get("name") if isinstance(parsed, dict) else None
    return {"skill": name.strip()} if isinstance(name, str) else {}


def _first_sentence(text: str) -> str:
    line = text.strip().split("\n", 1)[0]
    return line.split(". ", 1)[0].rstrip(".") + "."


class Recorder:
    """Appends items to a conversation, tells the UI, and saves after every change."""

    def __init__(self, conversation: Conversation, emit: Emit, save: Callable[[], Awaitable[None]]):
        self.conversation = conversation
        self._emit = emit
        self._save = save

    async def add(self, item: Item) -> int:
        self.conversation.items.append(item)
        index = len(self.conversation.items) - 1
        self._emit("chat.item", {"chat": self.conversation.id, "index": index, "item": item})
        await self._save()
        return index

    def delta(self, index: int, text: str) -> None:
        self.conversation.items[index]["text"] += text
        self._emit("chat.delta", {"chat": self.conversation.id, "index": index, "text": text})

    async def update(self, index: int, **changes: Any) -> None:
        item = self.conversation.items[index]
        item.update(changes)
        self._emit("chat.update", {"chat": self.conversation.id, "index": index, "item": item})
        await self._save()


@dataclass
class Agent:
    """One agent definition at work with a set of engines and tools."""

    definition: AgentDefinition
    registry: ToolRegistry
    engines: Mapping[str, LlmEngine]
    router: Router
    ctx: ToolContext
    pricing: Pricing | None = None
    remote: RemoteServers | None = None

    async def run_turn(self, conversation: Conversation, rec: Recorder, task: Task) -> Status:
        """Work on the conversation's last user message until a final answer (or a limit)."""
        decision = self.router.decide(task, self.definition.prefer)
        await self._record_route(rec, decision)
        self._decision = decision
        self._task = task
        self._skills = await self._skills_block(conversation)
        try:
            if task == "tools" and self.definition.plan and not self._local:
                await self._plan(conversation, rec)
            return await self._steps(conversation, rec)
        except LlmError as error:
            await rec.add({"kind": "error", "message": str(error), "code": error.code})
            return "error"

    async def _steps(self, conversation: Conversation, rec: Recorder) -> Status:
        seen: Counter[tuple[str, str]] = Counter()
        for _ in range(self.definition.max_steps):
            completion = await self._complete(conversation, rec, self._tools())
            calls = completion.message.tool_calls
            if not calls:
                return "final"
            for call in calls:
                seen[(call.name, call.arguments.strip())] += 1
                await self._run_tool(call, rec)
            repeated = [name for (name, _), count in seen.items() if count >= MAX_SAME_CALL]
            if repeated:
                text = (
                    f"Stopped: the model called {repeated[0]} with the same arguments "
                    f"{MAX_SAME_CALL} times without making progress."
                )
                await rec.add({"kind": "notice", "text": text})
                return "step_limit"
        limit = self.definition.max_steps
        await rec.add({"kind": "notice", "text": f"Step limit reached ({limit} model calls)."})
        return "step_limit"

    @property
    def _local(self) -> bool:
        """The in-page model reads prompts at ~14 tokens/s on two cores: it gets a short system
        prompt, one-line tool descriptions, no tools for small talk, and no planning call."""
        return self._decision.engine == "local"

    def _tools(self) -> list[ToolSpec]:
        unavailable = {"delegate"} if self.ctx.delegate is None else set()
        if self.ctx.memory is None:
            unavailable |= {"recall", "remember"}
        if self.ctx.skills is None:
            unavailable.add("load_skill")
        names = [n for n in self.definition.tools if n not in unavailable]
        specs = self.registry.specs(names)
        if self.remote is not None:
            specs += [s for s in self.remote.offered() if self._grants_remote(s.name)]
        if not self._local:
            return specs
        if self._task == "chat":
            return []
        return [ToolSpec(s.name, _first_sentence(s.description), s.input_schema) for s in specs]

    def _grants_remote(self, name: str) -> bool:
        """The system agent gets every enabled MCP server tool; another agent gets those its
        definition lists by name, or all of them when it lists ``mcp``."""
        tools = self.definition.tools
        return self.definition.name == "system" or "mcp" in tools or name in tools

    async def _skills_block(self, conversation: Conversation) -> str:
        """The enabled skills for this turn's message (none for small talk, or when this agent
        cannot load skills); a failure to list them costs the skills, never the turn."""
        store = self.ctx.skills
        if store is None or "load_skill" not in self.definition.tools or self._task == "chat":
            return ""
        request = next(
            (str(i["text"]) for i in reversed(conversation.items) if i["kind"] == "user"), ""
        )
        from llmos.skills.context import LOCAL_LISTED, agent_skills_prompt

        limit = LOCAL_LISTED if self._local else None
        try:
            return await agent_skills_prompt(store, request, self.ctx.memory, limit)
        except Exception as error:
            return f"(Skills could not be listed: {error})"

    def _system(self, extra: str = "", conversation: Conversation | None = None) -> Message:
        prompt = self.definition.prompt
        if self._local:
            prompt = prompt.split("\n\n", 1)[0]
        memories = _memory_context(conversation, 2 if self._local else 8)
        parts = [prompt, self._skills, memories, extra]
        return Message("system", "\n\n".join(p for p in parts if p))

    async def _plan(self, conversation: Conversation, rec: Recorder) -> None:
        messages = [self._system(PLAN_PROMPT, conversation), *conversation.history()]
        index = await rec.add({"kind": "plan", "text": ""})
        completion = await self._stream(ChatRequest(messages), rec, index)
        await rec.update(index, text=completion.message.content.strip())

    async def _complete(
        self, conversation: Conversation, rec: Recorder, tools: list[ToolSpec]
    ) -> Completion:
        request = ChatRequest(
            [self._system(conversation=conversation), *conversation.history()],
            tools,
            temperature=self.definition.temperature,
        )
        index = await rec.add(
            {"kind": "assistant", "text": "", "model": self._decision.engine, "tool_calls": []}
        )
        completion = await self._stream(request, rec, index)
        calls = [
            {"id": c.id, "name": c.name, "arguments": c.arguments}
            for c in completion.message.tool_calls
        ]
        await rec.update(
            index, text=completion.message.content, tool_calls=calls, model=completion.model
        )
        return completion

    async def _stream(self, request: ChatRequest, rec: Recorder, index: int) -> Completion:
        """Stream one model call into item ``index``; falls back to local once if remote fails
        before any text arrived."""
        try:
            return await self._stream_once(request, rec, index)
        except LlmError as error:
            fallback = None
            if self._decision.engine == "remote" and not rec.conversation.items[index]["text"]:
                fallback = self.router.fallback(error)
            if fallback is None:
                raise
            self._decision = fallback
            await self._record_route(rec, fallback)
            return await self._stream_once(request, rec, index)

    async def _stream_once(self, request: ChatRequest, rec: Recorder, index: int) -> Completion:
        engine = self.engines[self._decision.engine]
        started = time.perf_counter()
        first: float | None = None
        stream = engine.stream(request)
        try:
            async for item in stream:
                if isinstance(item, TextDelta):
                    first = first or time.perf_counter()
                    rec.delta(index, item.text)
                    continue
                self._account(rec.conversation, engine.name, item.usage)
                rec.conversation.items[index]["stats"] = _stats(item, started, first)
                return item
        finally:  # close the HTTP stream (or local generation) now, not when collected
            close = getattr(stream, "aclose", None)
            if close is not None:
                await close()
        raise LlmError(f"The {engine.name} model ended without an answer.", "stream_cut")

    def _account(self, conversation: Conversation, engine: str, usage: Usage) -> None:
        conversation.usage.add(usage)
        cost = self.pricing(engine, usage) if self.pricing else None
        if cost is not None:
            conversation.cost_usd = (conversation.cost_usd or 0.0) + cost

    async def _run_tool(self, call: ToolCall, rec: Recorder) -> None:
        index = await rec.add(
            {
                "kind": "tool",
                "call_id": call.id,
                "name": call.name,
                "arguments": call.arguments,
                "status": "running",
                "result": "",
                "images": [],
                "duration_ms": 0,
            }
        )
        started = time.perf_counter()
        allowed = [spec.name for spec in self._tools()]
        if self._is_remote(call.name):
            result = await self._run_remote(call)
        elif call.name in allowed or call.name not in self.registry.names:
            result = await self.registry.call(call.name, call.arguments, self.ctx)
        else:  # advertised or not, an agent only ever runs the tools its definition grants
            names = ", ".join(allowed) or "none"
            result = ToolResult(f"{call.name} is not available here (tools: {names}).", True)
        text = result.text
        if len(text) > MAX_RESULT_CHARS:
            text = text[:MAX_RESULT_CHARS] + f"\n… [{len(result.text) - MAX_RESULT_CHARS} more]"
        await rec.update(
            index,
            status="error" if result.is_error else "ok",
            result=text,
            images=[base64.b64encode(png).decode("ascii") for png in result.images],
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
            **({"source": result.source, "untrusted": True} if result.source else {}),
            **_applied_skill(call, result),
        )

    def _is_remote(self, name: str) -> bool:
        """A call for a tool of an enabled MCP server (connected or not, so a server that went
        away gives a readable error result) that this agent may use."""
        return (
            self.remote is not None
            and name not in self.registry.names
            and self.remote.owns(name)
            and self._grants_remote(name)
        )

    async def _run_remote(self, call: ToolCall) -> ToolResult:
        assert self.remote is not None
        parsed = parse_arguments(call.name, call.arguments)
        if isinstance(parsed, ToolResult):
            return parsed
        return await self.remote.call(call.name, parsed)

    async def _record_route(self, rec: Recorder, decision: Decision) -> None:
        engine = self.engines.get(decision.engine)
        model = getattr(engine, "model", "") or (engine.name if engine else decision.engine)
        await rec.add(
            {
                "kind": "route",
                "engine": decision.engine,
                "model": model,
                "reason": decision.reason,
                "fallback": decision.fallback,
            }
        )
