"""The routing policy: which model answers, and the reason shown to the user."""

from __future__ import annotations

import pytest
from llmos.errors import LlmError
from llmos.llm.router import Router, classify_turn


@pytest.mark.parametrize(
    ("text", "task"),
    [
        ("hi there", "chat"),
        ("What is the capital of France?", "chat"),
        ("Write notes.md with a summary of X", "tools"),
        ("plot the first 20 primes", "tools"),
        ("open data.csv and tell me the mean", "tools"),
        ("tell me a story " * 30, "tools"),
    ],
)
def test_turns_are_classified(text: str, task: str) -> None:
    assert classify_turn(text) == task


def test_auto_sends_simple_jobs_local_and_tool_work_remote() -> None:
    router = Router("auto", has_local=True, has_remote=True)
    for task in ("title", "summary", "classify", "memory_query", "chat"):
        assert router.decide(task).engine == "local", task
    decision = router.decide("tools")
    assert decision.engine == "remote"
    assert "tool work" in decision.reason
    assert router.decide("chat", prefer="remote").engine == "remote"


def test_user_modes_win_over_auto() -> None:
    assert Router("local", has_local=True, has_remote=True).decide("tools").engine == "local"
    remote = Router("remote", has_local=True, has_remote=True).decide("title")
    assert remote.engine == "remote"
    assert "always use the remote" in remote.reason


def test_what_is_missing_decides_first() -> None:
    decision = Router("remote", has_local=True, has_remote=False).decide("tools")
    assert decision.engine == "local"
    assert "no remote endpoint" in decision.reason
    assert Router("local", has_local=False, has_remote=True).decide("chat").engine == "remote"


@pytest.mark.parametrize(
    ("code", "falls_back"),
    [
        ("network", True),
        ("server", True),
        ("rate_limited", True),
        ("auth", False),
        ("not_found", False),
    ],
)
def test_fallback_to_local_only_when_the_remote_is_unreachable(code: str, falls_back: bool) -> None:
    router = Router("auto", has_local=True, has_remote=True)
    decision = router.fallback(LlmError("down", code))
    assert (decision is not None) is falls_back
    if decision is not None:
        assert decision.engine == "local"
        assert decision.fallback
        assert "fell back" in decision.reason


def test_no_fallback_when_the_user_insists_on_remote() -> None:
    router = Router("remote", has_local=True, has_remote=True)
    assert router.fallback(LlmError("down", "network")) is None
