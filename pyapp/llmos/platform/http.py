"""The HTTP seam: one streaming request interface that LLM clients use, with an httpx
implementation natively (:mod:`llmos.platform.native_http`) and a ``fetch`` one in the browser
(:mod:`llmos.platform.browser.http`).

Usage::

    async with http.stream("POST", url, headers=headers, body=data, timeout=60) as response:
        if response.status != 200:
            text = await response.read()
        async for chunk in response.aiter_bytes():
            ...

A failure to get or read a response (refused, unreachable, timed out, dropped) raises
:class:`llmos.errors.LlmError` with code ``network``. HTTP error statuses are responses, not
errors. Leaving the ``async with`` early, including by cancellation of the task, aborts the
request and closes the connection.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from llmos.errors import LlmError

DEFAULT_TIMEOUT = 60.0
"""Seconds to wait for the connection, and then between two pieces of the response body."""


class HttpResponse(Protocol):
    """A response whose body has not been read yet. ``headers`` has lower-cased names."""

    status: int
    headers: dict[str, str]

    def aiter_bytes(self) -> AsyncGenerator[bytes, None]:
        """The body, piece by piece as the network delivers it."""
        ...

    async def read(self) -> bytes:
        """The whole body (instead of :meth:`aiter_bytes`, not after it)."""
        ...


class Http(Protocol):
    """Sends HTTP requests. ``timeout`` bounds the wait for a response and for each body piece,
    not the whole transfer, so a long stream that keeps talking is never cut."""

    def stream(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> AbstractAsyncContextManager[HttpResponse]:
        """Send the request; the context yields the response once its headers arrived."""
        ...


def display_url(url: str) -> str:
    """``url`` safe to show: without credentials in the authority, query or fragment."""
    from urllib.parse import urlsplit, urlunsplit  # ~70 ms to import in Pyodide: not at boot

    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, host, parts.path, "", "")) if host else url.split("?", 1)[0]


def excerpt(data: bytes | str, limit: int = 300) -> str:
    """The start of what a peer sent, quoted on one line, for an error message."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    text = " ".join(text.split())
    return json.dumps(text[:limit] + ("..." if len(text) > limit else ""), ensure_ascii=False)


def network_error(url: str, reason: str) -> LlmError:
    """The error both transports raise when a request gets no response."""
    return LlmError(f"Could not reach {display_url(url)}: {reason}", code="network")


def dropped_error(url: str, reason: str) -> LlmError:
    """The error both transports raise when a response body stops arriving."""
    return LlmError(f"The connection to {display_url(url)} dropped: {reason}", code="network")
