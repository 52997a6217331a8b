"""OS methods for chatting with the agent and setting up models (registered on import).

Requests: ``chat.list``, ``chat.new``, ``chat.get``, ``chat.send`` (resolves when the turn ends),
``chat.stop``, ``chat.delete``, ``chat.rename``, ``chat.confirm``, ``chat.feedback`` (in
:mod:`llmos.learning.methods`: every turn leaves a trace there); ``llm.settings.get``,
``llm.settings.set``, ``llm.test``, ``llm.complete`` (one raw model call, for tools and
benchmarks). Events while a turn runs: ``chat.item``, ``chat.delta``, ``chat.update``,
``chat.ask``, ``chat.done``. API keys live only in :class:`~llmos.settings.Secrets`; replies
say whether a key is set, never what it is.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from llmos import protocol
from llmos.agent.chats import Conversation, ConversationStore
from llmos.agent.definitions import AgentDefinition, load_agents
from llmos.agent.loop import Agent, Recorder, Status
from llmos.agent.tools import TOOLS, Ask, Delegate, ToolContext
from llmos.errors import LlmError, NotFoundError, ProtocolError
from llmos.llm.router import MODES, Mode, Router, classify_turn
from llmos.llm.types import ChatRequest, LlmEngine, Message, TextDelta, ToolSpec, Usage
from llmos.protocol import text_param

if TYPE_CHECKING:
    from llmos.memory.host import MemoryHost
    from llmos.service import OsService

import llmos.learning.methods  # registers chat.feedback
import llmos.tools  # noqa: F401  (registers the built-in tools)
from llmos.learning.host import learning
from llmos.service import method
from llmos.skills.store import skill_store

LLM_SETTINGS = "llm"
TITLE_CHARS = 60
MAX_DELEGATION_DEPTH = 1


def _key_name(endpoint_id: str) -> str:
    return f"llm.key.{endpoint_id}"


class AgentHost:
    """The agent's state inside the OS service: running turns, pending questions, kernels."""

    def __init__(self, service: OsService) -> None:
        self.service = service
        self.store = ConversationStore(service.vfs)
        self.turns: dict[str, asyncio.Task[dict[str, Any]]] = {}
        self.stopping: set[str] = set()
        self.asks: dict[str, asyncio.Future[bool]] = {}
        self.kernel_state: dict[str, Any] = {}

    # --- settings ----------------------------------------------------------------------------
    def llm_settings(self) -> dict[str, Any]:
        saved = self.service.settings.get(LLM_SETTINGS) or {}
        return {
            "mode": saved.get("mode", "auto"),
            "endpoints": list(saved.get("endpoints", [])),
            "active": saved.get("active"),
        }

    def endpoint(self) -> dict[str, Any] | None:
        """The endpoint in use: the one the user chose, else the first one added."""
        settings = self.llm_settings()
        endpoints = settings["endpoints"]
        chosen = [e for e in endpoints if e["id"] == settings["active"]]
        return chosen[0] if chosen else (endpoints[0] if endpoints else None)

    def remote_engine(self) -> LlmEngine | None:
        endpoint = self.endpoint()
        if endpoint is None or self.service.http is None:
            return None
        from llmos.llm.openai import OpenAIEngine

        key = self.service.secrets.get(_key_name(endpoint["id"]), "")
        return OpenAIEngine(
            self.service.http,
            endpoint["base_url"],
            endpoint["model"],
            key,
            **self.service.remote_options,
        )

    def engines(self) -> dict[str, LlmEngine]:
        engines = dict(self.service.engines)
        remote = self.remote_engine()
        if remote is not None:
            engines["remote"] = remote
        return engines

    def router(self, engines: dict[str, LlmEngine]) -> Router:
        mode: Mode = self.llm_settings()["mode"]
        return Router(mode, has_local="local" in engines, has_remote="remote" in engines)

    def pricing(self, engine: str, usage: Usage) -> float | None:
        if engine != "remote":
            return 0.0  # the local model runs on the user's own machine
        endpoint = self.endpoint() or {}
        prices = endpoint.get("input_cost_per_mtok"), endpoint.get("output_cost_per_mtok")
        if prices[0] is None or prices[1] is None:
            return None
        return float(usage.prompt_tokens * prices[0] + usage.completion_tokens * prices[1]) / 1e6

    # --- agents ------------------------------------------------------------------------------
    async def agent(self, name: str, chat_id: str, parent: Conversation, depth: int = 0) -> Agent:
        """Agent ``name`` at work in chat ``chat_id``; a sub-agent's usage counts in ``parent``."""
        agents, _ = await load_agents(self.service.vfs)
        definition = agents.get(name)
        if definition is None:
            known = ", ".join(sorted(agents)) or "none"
            raise NotFoundError(f"There is no agent named '{name}' (agents: {known}).")
        engines = self.engines()
        can_delegate = depth < MAX_DELEGATION_DEPTH
        ctx = ToolContext(
            self.service.vfs,
            self.service.sandbox,
            ask=self._asker(chat_id),
            delegate=self._delegator(chat_id, parent, depth) if can_delegate else None,
            kernel_state=self.kernel_state,
            memory=self.memory(),
            skills=skill_store(self.service),
        )
        remote = None
        if self.service.settings.get("mcp"):
            from llmos.mcp.remote import servers

            remote = servers(self.service)
            await remote.prepare()
        return Agent(definition, TOOLS, engines, self.router(engines), ctx, self.pricing, remote)

    def _delegator(self, chat_id: str, parent: Conversation, depth: int) -> Delegate:
        async def delegate(name: str, task: str) -> str:
            agent = await self.agent(name, chat_id, parent, depth + 1)
            work = Conversation(id=f"delegate-{secrets.token_hex(3)}")
            work.items.append({"kind": "user", "text": task})
            try:
                status = await agent.run_turn(work, Recorder(work, _ignore, _nothing), "tools")
            finally:  # the sub-agent's tokens are the user's tokens too
                parent.usage.add(work.usage)
                if work.cost_usd is not None:
                    parent.cost_usd = (parent.cost_usd or 0.0) + work.cost_usd
            answers = [str(i["text"]) for i in work.items if i["kind"] == "assistant" and i["text"]]
            problems = [i["message"] for i in work.items if i["kind"] == "error"]
            if status == "error" or not answers:
                return f"The {name} agent did not finish ({status}): " + "; ".join(problems)
            steps = [f"{i['name']}: {i['status']}" for i in work.items if i["kind"] == "tool"]
            done = f"\n\n(The {name} agent's tool calls: {', '.join(steps)}.)" if steps else ""
            return answers[-1] + done

        return delegate

    def _asker(self, chat_id: str) -> Ask:
        async def ask(question: str, tool: str, arguments: dict[str, Any]) -> bool:
            ask_id = secrets.token_hex(6)
            future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
            self.asks[ask_id] = future
            event = protocol.event(
                "chat.ask",
                chat=chat_id,
                ask_id=ask_id,
                question=question,
                tool=tool,
                arguments=arguments,
            )
            self.service.emit(event)
            try:
                return await future
            finally:
                self.asks.pop(ask_id, None)

        return ask

    def memory(self) -> MemoryHost | None:
        """The OS's memory, when this platform has an embedder and the user has it on."""
        if self.service.embedding_engine is None:
            return None
        from llmos.memory.methods import host as memory_host

        memory = memory_host(self.service)
        return memory if memory.enabled else None

    # --- turns -------------------------------------------------------------------------------
    async def send(self, chat_id: str, text: str, edit_index: int | None) -> dict[str, Any]:
        """Run one turn to its end; the turn is registered before anything awaits, so two sends
        to one chat cannot both start."""
        if chat_id in self.turns:
            raise ProtocolError("The agent is still working in this chat: stop it or wait.")
        task = asyncio.ensure_future(self._turn(chat_id, text, edit_index))
        self.turns[chat_id] = task
        try:
            await asyncio.wait([task])
        finally:
            self.turns.pop(chat_id, None)
            self.stopping.discard(chat_id)
        if task.cancelled():  # stopped before the turn began: nothing was recorded
            self._emit("chat.done", {"chat": chat_id, "status": "stopped", "usage": None})
            return {"status": "stopped", "usage": None}
        return task.result()

    async def _turn(self, chat_id: str, text: str, edit_index: int | None) -> dict[str, Any]:
        conversation = await self.store.load(chat_id)
        if edit_index is not None:
            _check_edit(conversation, edit_index)
            del conversation.items[edit_index:]
        conversation.close_interrupted()
        if conversation.title == "New chat":
            conversation.title = _title(text)
        rec = Recorder(conversation, self._emit, lambda: self.store.save(conversation))
        start = await rec.add({"kind": "user", "text": text})
        began, used = time.perf_counter(), Usage()
        used.add(conversation.usage)
        observer = learning(self.service)
        await observer.on_user_message(chat_id, conversation.items, start)
        status: Status
        memory = self.memory()
        try:
            if memory is not None:
                await _recall_into(memory, rec, text, chat_id)
            agent = await self.agent("system", chat_id, conversation)
            status = await agent.run_turn(conversation, rec, classify_turn(text))
        except asyncio.CancelledError:
            await _mark_stopped(conversation, rec)
            status = "stopped"
        except Exception as error:  # a bug must end the turn with a message, not hang the chat
            await rec.add({"kind": "error", "message": protocol.error_info(error)["message"]})
            status = "error"
        await self.store.save(conversation)
        if memory is not None:
            memory.on_turn(chat_id, conversation.title, conversation.items, start)
        tokens = {
            "prompt": conversation.usage.prompt_tokens - used.prompt_tokens,
            "completion": conversation.usage.completion_tokens - used.completion_tokens,
        }
        elapsed = (time.perf_counter() - began) * 1000
        await observer.on_turn(
            conversation, start, status, tokens=tokens, duration_ms=elapsed, memory=memory
        )
        usage = conversation.usage_dict()
        self._emit("chat.done", {"chat": chat_id, "status": status, "usage": usage})
        return {"status": status, "usage": usage}

    async def stop(self, chat_id: str) -> bool:
        """Stop the chat's turn (once: a second Stop while it winds down changes nothing).
        The kernel is one interpreter, so the code it is running is interrupted too."""
        task = self.turns.get(chat_id)
        if task is None:
            return False
        if chat_id not in self.stopping:
            self.stopping.add(chat_id)
            if self.service.sandbox is not None:
                await self.service.sandbox.interrupt()
            task.cancel()
        return True

    async def delete(self, chat_id: str) -> None:
        """Stop the chat's turn, let it finish saving, then delete the conversation."""
        task = self.turns.get(chat_id)
        if task is not None:
            await self.stop(chat_id)
            await asyncio.wait([task])
        await self.store.delete(chat_id)

    def _emit(self, name: str, data: dict[str, Any]) -> None:
        self.service.emit(protocol.event(name, **data))


async def _recall_into(memory: MemoryHost, rec: Recorder, text: str, chat_id: str) -> None:
    """Add the memories relevant to the user's message to the turn (the model sees them in
    its system prompt; the chat shows them as citations). Memory failing is a notice."""
    try:
        hits = await memory.context_for(text, exclude_ref=chat_id)
    except Exception as error:
        message = protocol.error_info(error)["message"]
        await rec.add({"kind": "notice", "text": f"Memory is unavailable: {message}"})
        return
    if hits:
        await rec.add({"kind": "memories", "items": [h.to_dict() for h in hits]})


def _ignore(name: str, data: dict[str, Any]) -> None:
    return None


async def _nothing() -> None:
    return None


async def _mark_stopped(conversation: Conversation, rec: Recorder) -> None:
    for index, item in enumerate(conversation.items):
        if item["kind"] == "tool" and item["status"] == "running":
            await rec.update(index, status="error", result="Stopped by you before it finished.")
    await rec.add({"kind": "notice", "text": "Stopped by you."})


def _check_edit(conversation: Conversation, index: int) -> None:
    items = conversation.items
    if not 0 <= index < len(items) or items[index]["kind"] != "user":
        raise ProtocolError(f"Item {index} is not one of your messages, so it cannot be edited.")


def _title(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= TITLE_CHARS else line[: TITLE_CHARS - 1] + "…"


def host(service: OsService) -> AgentHost:
    """The service's agent host, created on first use."""
    if service.agent_host is None:
        service.agent_host = AgentHost(service)
    assert isinstance(service.agent_host, AgentHost)
    return service.agent_host


# --- chat methods ------------------------------------------------------------------------------
@method("chat.list")
async def _chat_list(service: OsService, params: dict[str, Any]) -> list[dict[str, Any]]:
    return await host(service).store.list()


@method("chat.new")
async def _chat_new(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    store = host(service).store
    conversation = store.new()
    await store.save(conversation)
    return conversation.to_dict()


@method("chat.get")
async def _chat_get(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    agent_host = host(service)
    conversation = await agent_host.store.load(text_param(params, "id"))
    if conversation.id not in agent_host.turns:
        conversation.close_interrupted()  # shown as interrupted; saved so by the next turn
    return conversation.to_dict()


@method("chat.send")
async def _chat_send(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    edit = params.get("edit_index")
    if edit is not None and (isinstance(edit, bool) or not isinstance(edit, int)):
        raise ProtocolError("The parameter 'edit_index' must be a whole number.")
    return await host(service).send(text_param(params, "id"), text_param(params, "text"), edit)


@method("chat.stop")
async def _chat_stop(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    return {"stopped": await host(service).stop(text_param(params, "id"))}


@method("chat.delete")
async def _chat_delete(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    chat_id = text_param(params, "id")
    await host(service).delete(chat_id)
    return {"id": chat_id}


@method("chat.rename")
async def _chat_rename(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    store = host(service).store
    conversation = await store.load(text_param(params, "id"))
    conversation.title = _title(text_param(params, "title"))
    await store.save(conversation)
    return conversation.summary()


@method("chat.confirm")
async def _chat_confirm(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    future = host(service).asks.get(text_param(params, "ask_id"))
    if future is None or future.done():
        raise ProtocolError("That question is no longer waiting for an answer.")
    future.set_result(bool(params.get("allow")))
    return {"ok": True}


# --- model settings ----------------------------------------------------------------------------
def _settings_view(service: OsService) -> dict[str, Any]:
    agent_host = host(service)
    settings = agent_host.llm_settings()
    endpoints = [
        {**e, "has_key": bool(service.secrets.get(_key_name(e["id"])))}
        for e in settings["endpoints"]
    ]
    local = service.engines.get("local")
    active = agent_host.endpoint()
    return {
        "mode": settings["mode"],
        "endpoints": endpoints,
        "active": active["id"] if active else None,
        "local": {
            "available": local is not None,
            "model": getattr(local, "model", "") if local else "",
            "loaded": bool(getattr(local, "loaded", False)),
        },
    }


@method("llm.settings.get")
async def _llm_settings_get(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    return _settings_view(service)


@method("llm.settings.set")
async def _llm_settings_set(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    settings = host(service).llm_settings()
    if "mode" in params:
        if params["mode"] not in MODES:
            raise ProtocolError(f"The routing mode must be one of {', '.join(MODES)}.")
        settings["mode"] = params["mode"]
    if params.get("endpoint") is not None:
        await _save_endpoint(service, settings, params["endpoint"])
    if params.get("active") is not None:
        if params["active"] not in [e["id"] for e in settings["endpoints"]]:
            raise NotFoundError(f"There is no endpoint '{params['active']}'.")
        settings["active"] = params["active"]
    if params.get("delete_endpoint"):
        gone = str(params["delete_endpoint"])
        settings["endpoints"] = [e for e in settings["endpoints"] if e["id"] != gone]
        await service.secrets.delete(_key_name(gone))
    await service.settings.set(LLM_SETTINGS, settings)
    return _settings_view(service)


async def _save_endpoint(service: OsService, settings: dict[str, Any], raw: Any) -> None:
    if not isinstance(raw, dict):
        raise ProtocolError("The endpoint must be an object.")
    base_url, model = (
        text_param(raw, "base_url").strip().rstrip("/"),
        text_param(raw, "model").strip(),
    )
    if not base_url.startswith(("http://", "https://")):
        raise ProtocolError("The base URL must start with http:// or https://.")
    endpoint_id = str(raw.get("id") or secrets.token_hex(4))
    endpoint = {
        "id": endpoint_id,
        "name": str(raw.get("name") or base_url),
        "base_url": base_url,
        "model": model,
        "input_cost_per_mtok": _price(raw.get("input_cost_per_mtok")),
        "output_cost_per_mtok": _price(raw.get("output_cost_per_mtok")),
    }
    ids = [e["id"] for e in settings["endpoints"]]
    if endpoint_id in ids:  # edited in place: saving must not change which endpoint is in use
        before = settings["endpoints"][ids.index(endpoint_id)]
        settings["endpoints"][ids.index(endpoint_id)] = endpoint
        if _origin(before["base_url"]) != _origin(base_url):
            await service.secrets.delete(_key_name(endpoint_id))  # a key is for its own host
    else:
        settings["endpoints"].append(endpoint)
    if raw.get("api_key"):
        await service.secrets.set(_key_name(endpoint_id), str(raw["api_key"]))


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _price(value: Any) -> float | None:
    if value in (None, ""):
        return None
    try:
        price = float(value)
    except (TypeError, ValueError) as error:
        raise ProtocolError(f"A price must be a number (got {value!r}).") from error
    if price < 0:
        raise ProtocolError("A price cannot be negative.")
    return price


@method("llm.test")
async def _llm_test(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    from llmos.llm.openai import check_endpoint

    if service.http is None:
        return {"ok": False, "code": "network", "message": "This OS has no network access."}
    if params.get("id"):
        found = [e for e in host(service).llm_settings()["endpoints"] if e["id"] == params["id"]]
        if not found:
            raise NotFoundError(f"There is no endpoint '{params['id']}'.")
        endpoint = found[0]
        key = str(service.secrets.get(_key_name(endpoint["id"]), ""))
        # the form may hold edits not saved yet: test those with the stored key
        base_url = str(params.get("base_url") or endpoint["base_url"])
        model = str(params.get("model") or endpoint["model"])
        if _origin(base_url) != _origin(endpoint["base_url"]):
            key = str(params.get("api_key") or "")  # never send a key to another host
    else:
        base_url, model = text_param(params, "base_url"), str(params.get("model", ""))
        key = str(params.get("api_key") or "")
    return await check_endpoint(service.http, base_url, model, key)


@method("llm.complete")
async def _llm_complete(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    """One model call, streamed as ``llm.delta`` events; replies with the whole answer."""
    engines = host(service).engines()
    name = params.get("engine") or "local"
    if name not in engines:
        raise NotFoundError(
            f"No '{name}' model is available (have: {', '.join(engines) or 'none'})."
        )
    raw_messages = params.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise ProtocolError("The parameter 'messages' must be a non-empty list.")
    messages = [Message(m["role"], str(m.get("content", ""))) for m in raw_messages]
    tools = [
        ToolSpec(t["name"], t.get("description", ""), t["inputSchema"])
        for t in params.get("tools", [])
    ]
    temperature = params.get("temperature")
    if temperature is not None and not isinstance(temperature, int | float):
        raise ProtocolError("The parameter 'temperature' must be a number.")
    request = ChatRequest(
        messages, tools, max_tokens=params.get("max_tokens"), temperature=temperature
    )
    started = time.perf_counter()
    first: float | None = None
    async for item in engines[name].stream(request):
        if isinstance(item, TextDelta):
            first = first or time.perf_counter()
            service.emit(protocol.event("llm.delta", text=item.text))
            continue
        calls = [
            {"id": c.id, "name": c.name, "arguments": c.arguments} for c in item.message.tool_calls
        ]
        return {
            "text": item.message.content,
            "tool_calls": calls,
            "finish_reason": item.finish_reason,
            "usage": {
                "prompt_tokens": item.usage.prompt_tokens,
                "completion_tokens": item.usage.completion_tokens,
            },
            "model": item.model,
            "ms": (time.perf_counter() - started) * 1000,
            "first_token_ms": None if first is None else (first - started) * 1000,
            "stats": dict(getattr(engines[name], "stats", {}) or {}),
        }
    raise LlmError(f"The {name} model ended without an answer.", "stream_cut")


__all__ = ["AgentDefinition", "AgentHost", "host"]
