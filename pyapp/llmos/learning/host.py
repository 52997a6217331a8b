"""Learning inside the OS service: a trace per agent turn, user signals on traces, and
reflection on demand or once the agent has been idle for ``idle_s`` seconds.

The agent's turn calls :meth:`LearningHost.on_user_message` when the user's message arrives
(it may say the previous turn worked or not) and :meth:`LearningHost.on_turn` when the turn
ends. Neither can break a turn: a failure is logged. Settings live under the ``learning`` key.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

from llmos import protocol
from llmos.errors import InputError
from llmos.learning.cluster import word_vectors
from llmos.learning.proposals import Proposal, ProposalStore, ReflectionLog
from llmos.learning.traces import Trace, TraceStore, build_trace, said_outcome, scrub

if TYPE_CHECKING:
    from llmos.agent.chats import Conversation
    from llmos.learning.reflect import Reflector
    from llmos.llm.types import LlmEngine, Message
    from llmos.memory.host import MemoryHost
    from llmos.service import OsService

SETTINGS_KEY = "learning"
DEFAULTS: dict[str, Any] = {"min_cluster": 3, "auto": True, "idle_s": 120}
MAX_CACHED = 5_000  # request vectors kept between reflections
LIMITS = {"min_cluster": (2, 50), "idle_s": (5, 86_400)}
Embed = Callable[[Sequence[str]], Awaitable[Sequence[Sequence[float]]]]
Sleep = Callable[[float], Awaitable[object]]

_HOSTS: weakref.WeakKeyDictionary[OsService, LearningHost] = weakref.WeakKeyDictionary()
_ARMED: dict[str, asyncio.Task[None]] = {}


def learning(service: OsService) -> LearningHost:
    """The service's learning host, created on first use."""
    found = _HOSTS.get(service)
    if found is None:
        found = _HOSTS[service] = LearningHost(service)
    return found


class LearningHost:
    def __init__(self, service: OsService) -> None:
        self.service = service
        self.traces = TraceStore(service.vfs)
        self.proposals = ProposalStore(service.vfs)
        self.log = ReflectionLog(service.vfs, self._announce_log)
        self.sleep: Sleep = asyncio.sleep  # tests wait on an event instead of the clock
        self.embed: Embed | None = None  # None: the memory's embedder (or words without one)
        self._turns = 0
        self._idle: asyncio.Task[None] | None = None
        self._reflecting = asyncio.Lock()
        self._vectors: tuple[Embed | None, dict[str, Sequence[float]]] = (None, {})

    # --- settings ----------------------------------------------------------------------------
    def settings(self) -> dict[str, Any]:
        saved = self.service.settings.get(SETTINGS_KEY) or {}
        return {**DEFAULTS, **{k: v for k, v in saved.items() if k in DEFAULTS}}

    async def set_settings(self, values: dict[str, Any]) -> dict[str, Any]:
        settings = self.settings()
        for key, value in values.items():
            if key not in DEFAULTS:
                raise InputError(f"There is no learning setting '{key}'.")
            if key == "auto":
                if not isinstance(value, bool):
                    raise InputError("'auto' must be true or false.")
            else:
                low, high = LIMITS[key]
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise InputError(f"'{key}' must be a number from {low} to {high}.")
                if not low <= value <= high or (key == "min_cluster" and value != int(value)):
                    raise InputError(f"'{key}' must be a number from {low} to {high}.")
            settings[key] = int(value) if key == "min_cluster" else value
        await self.service.settings.set(SETTINGS_KEY, settings)
        return settings

    # --- observing turns -----------------------------------------------------------------------
    async def on_user_message(self, chat: str, items: list[dict[str, Any]], start: int) -> None:
        """A message saying the previous turn worked (or did not) is a signal on its trace."""
        self._turns += 1  # a turn is running: not idle
        signal = said_outcome(str(items[start].get("text", "")))
        before = [n for n in range(start) if items[n]["kind"] == "user"]
        if signal is None or not before:
            return
        try:
            trace = await self.traces.signal(chat, before[-1], signal)
        except Exception as error:
            await self._failed("signal", error)
            return
        if trace is not None:
            self._outcome_changed(trace)

    async def on_turn(
        self,
        conversation: Conversation,
        start: int,
        status: str,
        *,
        tokens: dict[str, int],
        duration_ms: float,
        memory: MemoryHost | None,
    ) -> Trace | None:
        """Save the turn's trace, remember it, and start the idle clock for reflection."""
        try:
            trace = build_trace(conversation, start, status, tokens=tokens, duration_ms=duration_ms)
            trace = _scrubbed(trace, self._secrets())
            await self.traces.save(trace)
        except Exception as error:
            await self._failed("trace", error)
            return None
        if memory is not None:
            memory.schedule("an execution trace", lambda: _remember(memory, trace))
        self._announce_trace(trace)
        self._turns += 1
        self._arm_idle()
        return trace

    async def feedback(self, chat: str, turn: int, value: str) -> Trace:
        trace = await self.traces.feedback(chat, turn, value)
        self._outcome_changed(trace)
        return trace

    def _outcome_changed(self, trace: Trace) -> None:
        """Tell the UI, and keep the trace's memory (which states the outcome) up to date."""
        from llmos.agent.methods import host as agent_host

        self._announce_trace(trace)
        memory = agent_host(self.service).memory()
        if memory is not None:
            memory.schedule("an execution trace", lambda: _remember(memory, trace))

    def _secrets(self) -> list[str]:
        return [v for v in self.service.secrets.as_dict().values() if isinstance(v, str)]

    # --- reflection ----------------------------------------------------------------------------
    def _arm_idle(self) -> None:
        settings = self.settings()
        if not settings["auto"]:
            return
        # One idle clock per process: a worker runs one OS, and an OS left behind (tests make
        # many on one loop) must not reflect, and call its model, long after.
        for job in (self._idle, _ARMED.get("job")):
            if job is not None and not job.done():
                job.cancel()
        self._idle = asyncio.ensure_future(self._when_idle(self._turns, settings["idle_s"]))
        _ARMED["job"] = self._idle

    async def _when_idle(self, turns: int, seconds: float) -> None:
        await self.sleep(seconds)
        running = getattr(self.service.agent_host, "turns", {})
        if turns != self._turns or running:
            return  # another turn came: its end arms the clock again
        try:
            await self.reflect("idle")
        except Exception as error:
            await self._failed("reflect", error)

    @property
    def idle_job(self) -> asyncio.Task[None] | None:
        """The idle clock and the reflection it starts (tests wait on it)."""
        return self._idle

    async def reflect(self, trigger: str = "on demand") -> list[Proposal]:
        async with self._reflecting:
            return await (await self._reflector()).run(trigger)

    async def _reflector(self) -> Reflector:
        from llmos.learning.reflect import Reflector
        from llmos.skills.store import skill_store

        return Reflector(
            self.traces,
            self.proposals,
            self.log,
            skill_store(self.service),
            self._cached(self.embed or await self._default_embed()),
            self._completer(),
            self._announce_proposal,
            min_cluster=int(self.settings()["min_cluster"]),
        )

    def _cached(self, embed: Embed) -> Embed:
        """``embed`` remembering its vectors: each run embeds every trace's request again."""

        async def cached(texts: Sequence[str]) -> Sequence[Sequence[float]]:
            if self._vectors[0] != embed:  # another model: its vectors do not compare
                self._vectors = (embed, {})
            cache = self._vectors[1]
            missing = list(dict.fromkeys(t for t in texts if t not in cache))
            if missing:
                if len(cache) + len(missing) > MAX_CACHED:
                    cache.clear()
                cache.update(zip(missing, await embed(missing), strict=True))
            return [cache[t] for t in texts]

        return cached

    async def _default_embed(self) -> Embed:
        """The memory's embedding model when memory is on, else hashed words."""
        from llmos.agent.methods import host as agent_host

        memory = agent_host(self.service).memory()
        if memory is None:
            return _words
        embedder = await memory.embedder()
        return embedder.embed_texts

    def _completer(self) -> Callable[[list[Message]], Awaitable[str]] | None:
        from llmos.agent.methods import host as agent_host

        engines = agent_host(self.service).engines()
        engine = engines.get("remote") or engines.get("local")
        if engine is None:
            return None

        async def complete(messages: list[Message]) -> str:
            return await _complete(engine, messages)

        return complete

    # --- events ------------------------------------------------------------------------------
    def _announce_log(self, entry: dict[str, Any]) -> None:
        self.service.emit(protocol.event("learning.log", entry=entry))

    def _announce_proposal(self, proposal: Proposal) -> None:
        self.service.emit(protocol.event("learning.proposal", proposal=proposal.to_dict()))

    def _announce_trace(self, trace: Trace) -> None:
        summary = {k: getattr(trace, k) for k in ("id", "chat", "turn", "outcome", "signals")}
        self.service.emit(protocol.event("learning.trace", **summary))

    async def _failed(self, step: str, error: Exception) -> None:
        message = protocol.error_info(error)["message"]
        try:
            await self.log.add("error", f"Learning could not record the {step}: {message}")
        except Exception:
            self._announce_log({"step": "error", "message": message})


async def _words(texts: Sequence[str]) -> Sequence[Sequence[float]]:
    return word_vectors(texts)


def _scrubbed(trace: Trace, secrets: list[str]) -> Trace:
    return Trace.from_dict(scrub(trace.to_dict(), secrets))


async def _remember(memory: MemoryHost, trace: Trace) -> None:
    """The trace as one memory (kind ``trace``): what was asked, done, and how it went."""
    from llmos.memory.store import Source

    tools = " -> ".join(trace.tools) or "no tools"
    text = (
        f"Task: {trace.request}\nTools: {tools}\n"
        f"Outcome: {trace.outcome} ({', '.join(trace.signals) or 'no signal'})\n"
        f"Answer: {trace.answer[:1_000]}"
    )
    await memory.forget_source(trace.id, "trace")
    meta = {"outcome": trace.outcome, "chat": trace.chat, "skills": trace.skills_applied}
    await memory.remember("trace", text, Source("trace", trace.id, trace.title), meta)


async def _complete(engine: LlmEngine, messages: list[Message]) -> str:
    from llmos.errors import LlmError
    from llmos.llm.types import ChatRequest, Completion

    stream = engine.stream(ChatRequest(messages, temperature=0.2))
    try:
        async for item in stream:
            if isinstance(item, Completion):
                return item.message.content
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:
            await close()
    raise LlmError(f"The {engine.name} model ended without an answer.", "stream_cut")
