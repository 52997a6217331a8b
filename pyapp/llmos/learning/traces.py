"""Execution traces: what one agent turn did, and whether it worked.

A trace is built from the turn's conversation items (request, plan, tool calls with arguments
and results, code, errors, answer) plus what the loop knows (status, tokens, duration, model)
and saved as ``user/learning/traces/<chat>-<turn>.json``. Its outcome is derived from signals
only: the turn's status and tool results, the user's thumbs, and the user's next message when
it plainly says that it worked or did not (:data:`WORKED` / :data:`FAILED`). Secrets the OS
holds are removed before anything is written.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from llmos.errors import NotFoundError
from llmos.learning.records import JsonRecords, known_fields
from llmos.vfs import Vfs

if TYPE_CHECKING:
    from llmos.agent.chats import Conversation

FOLDER = "user/learning/traces"
RESULT_CHARS = 2_000  # of each tool result kept in a trace
ERROR_CHARS = 500
MIN_SECRET_CHARS = 8

# The user's next message, matched as whole phrases (negative ones first: "it does not work"
# must never count as "it works").
FAILED = (
    "that didn't work",
    "that did not work",
    "it didn't work",
    "it did not work",
    "this didn't work",
    "didn't work",
    "did not work",
    "doesn't work",
    "does not work",
    "not working",
    "that's wrong",
    "that is wrong",
    "that was wrong",
    "wrong answer",
    "it failed",
    "that failed",
)
WORKED = (
    "that worked",
    "it worked",
    "this worked",
    "that works",
    "it works",
    "works now",
    "worked perfectly",
    "worked great",
    "exactly what i wanted",
    "that's right, thanks",
    "that is right, thanks",
)
USER_WORKED, USER_FAILED = "user: that worked", "user: that did not work"
THUMBS_UP, THUMBS_DOWN = "thumbs up", "thumbs down"
USER_SIGNALS = (USER_WORKED, USER_FAILED, THUMBS_UP, THUMBS_DOWN)
FAILING_SIGNALS = ("error", "stopped", "step limit", "tool error")
FEEDBACK = {"up": THUMBS_UP, "down": THUMBS_DOWN}


@dataclass
class Trace:
    """One agent turn, as the learning loop sees it."""

    id: str
    chat: str
    turn: int  # the index of the turn's user item in its conversation
    created: str
    request: str
    plan: str
    steps: list[dict[str, Any]]  # {"tool", "arguments", "result" (capped), "ok", "duration_ms"}
    code: list[str]
    errors: list[str]
    status: str
    outcome: str  # "success" | "failure" | "unknown"
    signals: list[str]
    tokens: dict[str, int]
    duration_ms: float
    model: str
    skills_applied: list[str]
    answer: str = ""
    title: str = ""
    created_ts: float = field(default_factory=time.time)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trace:
        return known_fields(cls, data)

    @property
    def tools(self) -> list[str]:
        """The tool names in call order (the trace's shape, for clustering)."""
        return [str(step["tool"]) for step in self.steps]

    def with_signal(self, signal: str) -> None:
        """Add a user signal (the newest one wins over the others) and recompute the outcome."""
        self.signals = [s for s in self.signals if s not in USER_SIGNALS] + [signal]
        self.outcome = outcome_of(self.signals)

    def without_user_signals(self) -> None:
        self.signals = [s for s in self.signals if s not in USER_SIGNALS]
        self.outcome = outcome_of(self.signals)


def outcome_of(signals: Iterable[str]) -> str:
    """Success or failure from signals; ``unknown`` when nothing says either."""
    signals = list(signals)
    said = [s for s in signals if s in USER_SIGNALS]
    if said:
        return "success" if said[-1] in (USER_WORKED, THUMBS_UP) else "failure"
    if any(s in FAILING_SIGNALS for s in signals):
        return "failure"
    return "success" if "tools ok" in signals else "unknown"


def said_outcome(text: str) -> str | None:
    """The user signal in a message (``USER_WORKED`` / ``USER_FAILED``) or ``None``."""
    words = " " + re.sub(r"[^a-z' ,]+", " ", text.lower().replace("\u2019", "'")) + " "
    words = re.sub(r"\s+", " ", words)
    for phrases, signal in ((FAILED, USER_FAILED), (WORKED, USER_WORKED)):
        if any(f" {p} " in words or f" {p}," in words for p in phrases):
            return signal
    return None


def build_trace(
    conversation: Conversation,
    start: int,
    status: str,
    *,
    tokens: dict[str, int],
    duration_ms: float,
) -> Trace:
    """The trace of the turn whose user item is ``conversation.items[start]``."""
    chat, items = conversation.id, conversation.items
    turn = items[start:]
    steps, code, errors, applied = [], [], [], []
    for item in turn:
        if item["kind"] == "tool" and item.get("status") in ("ok", "error"):
            step = _step(item)
            steps.append(step)
            if item["name"] == "execute_python" and isinstance(step["arguments"], dict):
                code.append(str(step["arguments"].get("code", "")))
            if not step["ok"]:
                errors.append(f"{item['name']}: {str(item.get('result', ''))[:ERROR_CHARS]}")
            elif item["name"] == "load_skill":
                applied.append(str(item.get("skill") or _argument(step, "name")))
        elif item["kind"] == "error":
            errors.append(str(item.get("message", ""))[:ERROR_CHARS])
    answers = [str(i["text"]) for i in turn if i["kind"] == "assistant" and i.get("text")]
    models = [str(i.get("model") or "") for i in turn if i["kind"] in ("assistant", "route")]
    signals = _turn_signals(status, steps)
    return Trace(
        id=f"{chat}-{start}",
        chat=chat,
        turn=start,
        created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        request=str(items[start].get("text", "")),
        plan=next((str(i["text"]) for i in turn if i["kind"] == "plan"), ""),
        steps=steps,
        code=code,
        errors=errors,
        status=status,
        outcome=outcome_of(signals),
        signals=signals,
        tokens=tokens,
        duration_ms=round(duration_ms, 1),
        model=next((m for m in reversed(models) if m), ""),
        skills_applied=[s for s in dict.fromkeys(applied) if s],
        answer=answers[-1] if answers else "",
        title=conversation.title,
    )


def _step(item: dict[str, Any]) -> dict[str, Any]:
    raw = str(item.get("arguments", ""))
    try:
        arguments: Any = json.loads(raw) if raw.strip() else {}
    except ValueError:
        arguments = raw
    result = str(item.get("result", ""))
    step = {
        "tool": str(item["name"]),
        "arguments": arguments,
        "result": result if len(result) <= RESULT_CHARS else result[:RESULT_CHARS] + " …",
        "ok": item.get("status") == "ok",
        "duration_ms": item.get("duration_ms", 0),
    }
    if item.get("source"):
        step["server"] = str(item["source"])
    return step


def _argument(step: dict[str, Any], name: str) -> str:
    arguments = step["arguments"]
    return str(arguments.get(name, "")) if isinstance(arguments, dict) else ""


def _turn_signals(status: str, steps: list[dict[str, Any]]) -> list[str]:
    signals = {"error": ["error"], "stopped": ["stopped"], "step_limit": ["step limit"]}.get(
        status, []
    )
    if any(not s["ok"] for s in steps):
        # a failed call that a later call of the same tool made good is a recovered error
        last = {s["tool"]: s["ok"] for s in steps}
        signals.append("tool error" if not all(last.values()) else "tool error (recovered)")
    if steps and status == "final" and "tool error" not in signals:
        signals.append("tools ok")
    return signals


def scrub(value: Any, secrets: Iterable[str]) -> Any:
    """``value`` (JSON-like) with every secret the OS holds replaced."""
    hidden = [s for s in secrets if isinstance(s, str) and len(s) >= MIN_SECRET_CHARS]
    if not hidden:
        return value

    def clean(node: Any) -> Any:
        if isinstance(node, str):
            for secret in hidden:
                node = node.replace(secret, "[secret removed]")
            return node
        if isinstance(node, list):
            return [clean(n) for n in node]
        if isinstance(node, dict):
            return {clean(k): clean(v) for k, v in node.items()}
        return node

    return clean(value)


class TraceStore(JsonRecords[Trace]):
    """Traces as JSON files in the user volume, oldest first."""

    def __init__(self, vfs: Vfs, folder: str = FOLDER) -> None:
        super().__init__(vfs, folder, "trace", Trace.from_dict, lambda t: (t.created_ts, t.id))

    async def feedback(self, chat: str, turn: int, value: str) -> Trace:
        """Thumbs up / down (or ``none`` to take them back) on one turn."""
        if value not in ("up", "down", "none"):
            raise ValueError("Feedback must be 'up', 'down' or 'none'.")
        trace = await self.get(f"{chat}-{turn}")
        if value == "none":
            trace.signals = [s for s in trace.signals if s not in (THUMBS_UP, THUMBS_DOWN)]
            trace.outcome = outcome_of(trace.signals)
        else:
            trace.with_signal(FEEDBACK[value])
        await self.save(trace)
        return trace

    async def signal(self, chat: str, turn: int, signal: str) -> Trace | None:
        """Record a user signal on a turn's trace; ``None`` when that turn left no trace."""
        try:
            trace = await self.get(f"{chat}-{turn}")
        except NotFoundError:
            return None
        trace.with_signal(signal)
        await self.save(trace)
        return trace

    async def skill_stats(self) -> dict[str, dict[str, int]]:
        """For each applied skill: how many turns used it and how many of them succeeded."""
        return stats_of(await self.list())


def stats_of(traces: Iterable[Trace]) -> dict[str, dict[str, int]]:
    stats: dict[str, dict[str, int]] = {}
    for trace in traces:
        for name in trace.skills_applied:
            entry = stats.setdefault(name, {"uses": 0, "successes": 0, "failures": 0})
            entry["uses"] += 1
            entry["successes"] += trace.outcome == "success"
            entry["failures"] += trace.outcome == "failure"
    return stats
