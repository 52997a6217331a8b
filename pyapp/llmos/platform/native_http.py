"""The :class:`~llmos.platform.http.Http` seam in CPython, over an httpx ``AsyncClient``."""

from __future__ import annotations

import functools
import ssl
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import certifi
import httpx

from llmos.errors import LlmError
from llmos.platform.http import DEFAULT_TIMEOUT, HttpResponse, dropped_error, network_error

CONNECT_TIMEOUT = 15.0
"""Seconds to wait for a TCP/TLS connection, however patient the caller is for an answer."""


def _reason(error: Exception, timeout: float) -> str:
    if isinstance(error, httpx.TimeoutException):
        return f"no answer within {timeout:g} s."
    if isinstance(error, httpx.ConnectError):
        return f"could not connect ({error or 'refused'})."
    if isinstance(error, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return f"this is not an http(s) URL ({error})."
    return f"{error or type(error).__name__}."


class _Response:
    def __init__(self, response: httpx.Response, url: str, timeout: float) -> None:
        self._response = response
        self._url = url
        self._timeout = timeout
        self.status = response.status_code
        self.headers = {name.lower(): value for name, value in response.headers.items()}

    def _failed(self, error: Exception) -> LlmError:
        return dropped_error(self._url, _reason(error, self._timeout))

    async def aiter_bytes(self) -> AsyncGenerator[bytes, None]:
        try:
            async for chunk in self._response.aiter_bytes():
                yield chunk
        except (httpx.TransportError, httpx.DecodingError) as error:
            raise self._failed(error) from error

    async def read(self) -> bytes:
        try:
            return await self._response.aread()
        except (httpx.TransportError, httpx.DecodingError) as error:
            raise self._failed(error) from error


class NativeHttp:
    """HTTP through httpx. Without ``client`` each request gets a fresh connection (so an object
    works across event loops, as tests and the CLI use them); pass a long-lived
    ``httpx.AsyncClient`` to pool connections, or to set proxies or a mock transport."""

    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        self._client = client

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
        async with AsyncExitStack() as stack:
            client = self._client
            if client is None:
                client = await stack.enter_async_context(httpx.AsyncClient(verify=_tls_context()))
            try:
                response = await stack.enter_async_context(
                    client.stream(
                        method, url, headers=headers, content=body, timeout=_limits(timeout)
                    )
                )
            except (httpx.TransportError, httpx.InvalidURL) as error:
                raise network_error(url, _reason(error, timeout)) from error
            yield _Response(response, url, timeout)


def _limits(timeout: float) -> httpx.Timeout:
    """``timeout`` for every phase, except that connecting gives up sooner."""
    return httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT))


@functools.cache
def _tls_context() -> ssl.SSLContext:
    return ssl.create_default_context(cafile=certifi.where())
