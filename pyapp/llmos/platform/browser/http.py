"""The :class:`~llmos.platform.http.Http` seam in the browser: ``fetch`` with an
``AbortController``, the body read piece by piece from ``response.body.getReader()``.

Works on a page and in a Web Worker. Leaving the request's context (finished, failed or
cancelled) always calls ``abort()``, which closes the connection when the body was not read
to the end.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from js import AbortController, Object, fetch
from pyodide.ffi import JsException, to_js

from llmos.errors import LlmError
from llmos.platform.http import DEFAULT_TIMEOUT, HttpResponse, dropped_error, network_error

T = TypeVar("T")

_UNREACHABLE = (
    "the request failed ({error}). The server may be down or the URL wrong, or the endpoint "
    "does not allow requests from web pages (CORS)."
)


async def _within(
    awaitable: Awaitable[T], timeout: float, url: str, failed: Callable[[str, str], LlmError]
) -> T:
    try:
        return await asyncio.wait_for(awaitable, timeout)
    except TimeoutError:
        raise failed(url, f"nothing arrived within {timeout:g} s.") from None
    except JsException as error:
        reason = _UNREACHABLE.format(error=error) if failed is network_error else f"{error}."
        raise failed(url, reason) from error


class _Response:
    def __init__(self, response: Any, url: str, timeout: float) -> None:
        self._response = response
        self._url = url
        self._timeout = timeout
        self.status = int(response.status)
        self.headers = {str(pair[0]).lower(): str(pair[1]) for pair in response.headers.entries()}

    async def aiter_bytes(self) -> AsyncGenerator[bytes, None]:
        if self._response.body is None:
            return
        reader = self._response.body.getReader()
        while True:
            piece = await _within(reader.read(), self._timeout, self._url, dropped_error)
            if piece.done:
                return
            yield bytes(piece.value.to_bytes())

    async def read(self) -> bytes:
        return b"".join([piece async for piece in self.aiter_bytes()])


class FetchHttp:
    """HTTP through the browser's ``fetch`` (CORS rules apply: the endpoint must allow this
    origin, and expose ``Retry-After`` for it to be readable)."""

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> AsyncIterator[HttpResponse]:
        """See :class:`~llmos.platform.http.Http`."""
        controller = AbortController.new()
        options: dict[str, Any] = {
            "method": method,
            "headers": headers or {},
            "signal": controller.signal,
        }
        if body is not None:
            options["body"] = to_js(body)
        try:
            pending = fetch(url, to_js(options, dict_converter=Object.fromEntries))
            response = await _within(pending, timeout, url, network_error)
            yield _Response(response, url, timeout)
        finally:
            controller.abort()
