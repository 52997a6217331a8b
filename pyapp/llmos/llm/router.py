"""Which model answers: a small, explicit routing policy with a reason for every decision.

The user picks a mode: ``local`` (always the in-page model), ``remote`` (always the configured
endpoint) or ``auto``. In auto, short simple jobs (titles, summaries, classification, memory
query rewriting, small talk) go to the local model and multi-step tool work goes to the remote
one; when the remote endpoint is unreachable the turn falls back to the local model. Every
:class:`Decision` carries a reason the UI shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from llmos.errors import LlmError

Mode = Literal["auto", "local", "remote"]
Task = Literal["chat", "tools", "title", "summary", "classify", "memory_query"]
MODES: tuple[Mode, ...] = ("auto", "local", "remote")
SIMPLE_TASKS: frozenset[Task] = frozenset({"title", "summary", "classify", "memory_query"})
FALLBACK_CODES = frozenset({"network", "server", "rate_limited"})

_ACTION = re.compile(
    r"\b(write|create|make|build|save|plot|chart|draw|run|execute|compute|calculate|analy[sz]e|"
    r"list|read|open|delete|remove|rename|edit|fix|convert|generate|download|file|files|python|"
    r"code|script|csv|json|table|notes?\.md|\w+\.(?:md|py|csv|txt|json|png))\b",
    re.IGNORECASE,
)
LONG_TURN_CHARS = 280


@dataclass(frozen=True)
class Decision:
    engine: Literal["local", "remote"]
    reason: str
    fallback: bool = False


def classify_turn(text: str) -> Task:
    """``tools`` when a user's message asks for work (files, code, charts) or is long;
    ``chat`` for short conversational turns."""
    if len(text) > LONG_TURN_CHARS or _ACTION.search(text):
        return "tools"
    return "chat"


class Router:
    """Routing for one request, given what is configured and available right now."""

    def __init__(self, mode: Mode, *, has_local: bool, has_remote: bool) -> None:
        self.mode = mode
        self.has_local = has_local
        self.has_remote = has_remote

    def decide(self, task: Task, prefer: str = "any") -> Decision:
        """Pick an engine for ``task``; ``prefer`` is the agent definition's preference."""
        if not self.has_remote:
            return Decision("local", "no remote endpoint is set up, so the local model answers")
        if not self.has_local:
            return Decision("remote", "the local model is not available in this build")
        if self.mode == "local":
            return Decision("local", "your setting: always use the local model")
        if self.mode == "remote":
            return Decision("remote", "your setting: always use the remote model")
        return _auto(task, prefer)

    def fallback(self, error: LlmError) -> Decision | None:
        """After the remote model failed with ``error``: the local model, if that makes sense."""
        if self.mode == "remote" or not self.has_local or error.code not in FALLBACK_CODES:
            return None
        return Decision("local", f"the remote model failed ({error}); fell back to local", True)


def _auto(task: Task, prefer: str) -> Decision:
    if task in SIMPLE_TASKS:
        return Decision(
            "local", f"auto: a short {task.replace('_', ' ')} job suits the local model"
        )
    if task == "tools":
        return Decision("remote", "auto: multi-step tool work goes to the stronger remote model")
    if prefer == "remote":
        return Decision("remote", "auto: this agent prefers the remote model")
    return Decision("local", "auto: a short conversational turn suits the local model")
