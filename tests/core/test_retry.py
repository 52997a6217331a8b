"""Retry rules: Retry-After parsing, backoff with full jitter, and never restarting a stream
that has produced output. Sleeps are recorded, never slept."""

from __future__ import annotations

import email.utils
from collections.abc import AsyncGenerator

import pytest
from llmos.errors import LlmError
from llmos.llm.retry import Backoff, RetryableError, parse_retry_after, retrying

NOW = 1_800_000_000.0


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("2", 2.0),
        (" 1.5 ", 1.5),
        ("0", 0.0),
        ("-3", 0.0),
        (email.utils.formatdate(NOW + 42, usegmt=True), 42.0),
        (email.utils.formatdate(NOW - 42, usegmt=True), 0.0),
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds


def test_backoff_is_full_jitter_growing_and_capped() -> None:
    backoff = Backoff(base=0.5, cap=30.0)
    assert [backoff.delay(n, lambda: 1.0, None) for n in range(8)] == [
        0.5,
        1.0,
        2.0,
        4.0,
        8.0,
        16.0,
        30.0,
        30.0,
    ]
    assert backoff.delay(3, lambda: 0.25, None) == 1.0
    assert backoff.delay(3, lambda: 0.0, None) == 0.0


def test_retry_after_wins_over_jitter_but_is_capped() -> None:
    backoff = Backoff(base=0.5, cap=30.0)
    assert backoff.delay(0, lambda: 1.0, 7.0) == 7.0
    assert backoff.delay(0, lambda: 1.0, 3600.0) == 30.0


class Script:
    """A fake stream source: each call to ``start`` plays the next plan (items, then error)."""

    def __init__(self, *plans: tuple[list[str], LlmError | None]) -> None:
        self.plans = list(plans)
        self.starts = 0
        self.delays: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)

    async def start(self) -> AsyncGenerator[str, None]:
        items, error = self.plans[self.starts]
        self.starts += 1
        for item in items:
            yield item
        if error is not None:
            raise error

    async def run(self, max_retries: int = 3) -> list[str]:
        stream = retrying(self.start, max_retries=max_retries, sleep=self.sleep, rng=lambda: 1.0)
        return [item async for item in stream]


def throttled(after: float | None = None) -> LlmError:
    return RetryableError("slow down", "rate_limited", 429, retry_after=after)


async def test_retries_until_success_with_recorded_delays() -> None:
    script = Script(
        ([], throttled(after=2.0)),
        ([], LlmError("down", "server", 503)),
        ([], LlmError("unreachable", "network")),
        (["a", "b"], None),
    )
    assert await script.run() == ["a", "b"]
    assert script.starts == 4
    assert script.delays == [2.0, 1.0, 2.0]


async def test_gives_up_after_max_retries() -> None:
    script = Script(*[([], LlmError("down", "server", 500)) for _ in range(4)])
    with pytest.raises(LlmError) as raised:
        await script.run(max_retries=3)
    assert raised.value.code == "server"
    assert script.starts == 4
    assert len(script.delays) == 3


@pytest.mark.parametrize("code", ["auth", "not_found", "bad_response", "stream_cut"])
async def test_other_errors_are_not_retried(code: str) -> None:
    script = Script(([], LlmError("no", code)), (["never"], None))
    with pytest.raises(LlmError):
        await script.run()
    assert script.starts == 1
    assert script.delays == []


async def test_no_retry_once_something_was_yielded() -> None:
    script = Script((["partial"], LlmError("down", "server", 502)), (["again"], None))
    seen: list[str] = []

    async def consume() -> None:
        async for item in retrying(script.start, max_retries=3, sleep=script.sleep, rng=lambda: 1):
            seen.append(item)

    with pytest.raises(LlmError):
        await consume()
    assert seen == ["partial"]
    assert script.starts == 1
