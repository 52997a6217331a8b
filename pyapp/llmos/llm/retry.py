"""Retrying a streamed model call: which failures are retried, how long to wait, and the rule
that a stream is never restarted once it has produced output.

Waits use exponential backoff with full jitter (a random delay between 0 and ``base * 2**n``,
capped) unless the endpoint said how long to wait with ``Retry-After``. Sleeping and randomness
are injected, so tests record the delays instead of waiting.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from typing import TypeVar

from llmos.errors import LlmError

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[object]]


class RetryableError(LlmError):
    """A rate-limit or server :class:`LlmError` that also carries the endpoint's ``Retry-After``
    in seconds (``None`` when it sent none)."""

    def __init__(
        self, message: str, code: str, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, code, status)
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds or an HTTP date.
    ``None`` when the header is missing or unreadable; never negative."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


@dataclass(frozen=True)
class Backoff:
    """How long to wait before retry number ``attempt`` (0 for the first retry)."""

    base: float = 0.5
    cap: float = 30.0

    def delay(self, attempt: int, rng: Callable[[], float], retry_after: float | None) -> float:
        """``Retry-After`` when the endpoint gave one, else full jitter; both capped."""
        if retry_after is not None:
            return min(self.cap, retry_after)
        return rng() * min(self.cap, self.base * 2.0**attempt)


DEFAULT_BACKOFF = Backoff()


async def retrying(
    start: Callable[[], AsyncGenerator[T, None]],
    *,
    max_retries: int,
    sleep: Sleep,
    rng: Callable[[], float],
    backoff: Backoff = DEFAULT_BACKOFF,
) -> AsyncIterator[T]:
    """Yield the items of ``start()``. While nothing has been yielded yet, a retryable
    :class:`LlmError` (rate limit, server error, network) waits and calls ``start()`` again, up
    to ``max_retries`` times; after the first item every error propagates unchanged."""
    attempt = 0
    while True:
        yielded = False
        try:
            async with aclosing(start()) as items:
                async for item in items:
                    yielded = True
                    yield item
        except LlmError as error:
            if yielded or not error.retryable or attempt >= max_retries:
                raise
            retry_after = error.retry_after if isinstance(error, RetryableError) else None
            await sleep(backoff.delay(attempt, rng, retry_after))
            attempt += 1
        else:
            return
