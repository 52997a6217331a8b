"""The engine for OpenAI-compatible Chat Completions endpoints (OpenAI, OpenRouter, Ollama,
llama.cpp, vLLM, LM Studio...) over the :class:`~llmos.platform.http.Http` seam, and the
"test connection" check of such an endpoint.

It owns the request body, the reading of the streamed answer (text deltas, tool calls
assembled from fragments, usage) and the translation of every way an endpoint can fail into an
:class:`~llmos.errors.LlmError` a user can act on. The API key goes into the
``Authorization`` header and nowhere else: not into messages, reprs or logs.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any, TypeVar

from llmos.errors import LlmError
from llmos.llm.retry import (
    DEFAULT_BACKOFF,
    Backoff,
    RetryableError,
    Sleep,
    parse_retry_after,
    retrying,
)
from llmos.llm.sse import SseDecoder
from llmos.llm.types import (
    ChatRequest,
    Completion,
    Message,
    StreamItem,
    TextDelta,
    ToolCall,
    Usage,
)
from llmos.platform.http import Http, HttpResponse, display_url, excerpt

DEFAULT_TIMEOUT = 120.0
"""Seconds to wait for the first byte, and then between two pieces of a streamed answer: local
models on a CPU can think for a long while before their first token."""

T = TypeVar("T")

_ERROR_BODY_LIMIT = 64 * 1024
_WHOLE_BODY_LIMIT = 8 * 1024 * 1024
_SHORTEST_SECRET = 8
_SSE_STARTS = (b"data:", b":", b"event:", b"id:", b"retry:")


class OpenAIEngine:
    """An :class:`~llmos.llm.types.LlmEngine` for one OpenAI-compatible endpoint and model.

    ``base_url`` is the API root (for example ``https://api.openai.com/v1`` or
    ``http://localhost:11434/v1``). Rate limits, server errors and network failures are retried
    up to ``max_retries`` times while no text has been streamed; ``sleep`` and ``rng`` are the
    waiting and the jitter, injectable for tests.
    """

    def __init__(
        self,
        http: Http,
        base_url: str,
        model: str,
        api_key: str = "",
        *,
        name: str = "remote",
        max_retries: int = 3,
        sleep: Sleep = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        extra_headers: dict[str, str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        backoff: Backoff = DEFAULT_BACKOFF,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.max_retries = max_retries
        self.timeout = timeout
        self._http = http
        self._api_key = api_key
        self._sleep = sleep
        self._rng = rng
        self._extra_headers = dict(extra_headers or {})
        self._backoff = backoff

    def __repr__(self) -> str:
        url = display_url(self.base_url)
        return f"OpenAIEngine(name={self.name!r}, base_url={url!r}, model={self.model!r})"

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamItem]:
        """Stream the answer to ``request``: :class:`TextDelta` items, then one
        :class:`Completion`. Cancelling the consuming task closes the connection."""
        return retrying(
            lambda: self._attempt(request),
            max_retries=self.max_retries,
            sleep=self._sleep,
            rng=self._rng,
            backoff=self._backoff,
        )

    def payload(self, request: ChatRequest) -> dict[str, Any]:
        """The JSON body sent for ``request``."""
        body: dict[str, Any] = {
            "model": request.model or self.model,
            "messages": [message.to_openai() for message in request.messages],
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.tools:
            body["tools"] = [tool.to_openai() for tool in request.tools]
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        return body

    async def _attempt(self, request: ChatRequest) -> AsyncGenerator[StreamItem, None]:
        url = f"{self.base_url}/chat/completions"
        body = json.dumps(self.payload(request)).encode("utf-8")
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        headers |= _auth_headers(self._api_key, self._extra_headers)
        explain = _Explainer(self.base_url, request.model or self.model, self._api_key)
        async with self._http.stream(
            "POST", url, headers=headers, body=body, timeout=self.timeout
        ) as response:
            if not 200 <= response.status < 300:
                raise explain.status(response.status, response.headers, await _head(response))
            answer = _Answer(request.model or self.model, explain)
            async for item in _read_answer(response, answer):
                yield item


def _auth_headers(api_key: str, extra: dict[str, str]) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return headers | extra


async def _head(response: HttpResponse) -> bytes:
    """Up to the first 64 KiB of an error body (nothing if it cannot be read)."""
    try:
        async with aclosing(response.aiter_bytes()) as pieces:
            data = await _rest(pieces, _ERROR_BODY_LIMIT)
    except LlmError:
        return b""
    return data[:_ERROR_BODY_LIMIT]


async def _read_answer(response: HttpResponse, answer: _Answer) -> AsyncGenerator[StreamItem, None]:
    async with aclosing(response.aiter_bytes()) as pieces:
        async for item in _read_body(response, pieces, answer):
            yield item


async def _read_body(
    response: HttpResponse, pieces: AsyncIterator[bytes], answer: _Answer
) -> AsyncGenerator[StreamItem, None]:
    first = await answer.guarded(anext(pieces, b""))
    content_type = response.headers.get("content-type", "")
    if "event-stream" in content_type or first.lstrip().startswith(_SSE_STARTS):
        async for item in _read_sse(first, pieces, answer):
            yield item
        return
    rest = first + await answer.guarded(_rest(pieces, _WHOLE_BODY_LIMIT - len(first)))
    for item in answer.whole(rest, content_type):
        yield item


async def _rest(pieces: AsyncIterator[bytes], limit: int) -> bytes:
    data = b""
    async for piece in pieces:
        data += piece
        if len(data) >= limit:
            break
    return data


async def _read_sse(
    first: bytes, pieces: AsyncIterator[bytes], answer: _Answer
) -> AsyncGenerator[StreamItem, None]:
    decoder = SseDecoder()
    piece: bytes | None = first
    while piece is not None:
        for event in decoder.feed(piece):
            for item in answer.event(event.event, event.data):
                yield item
            if answer.done:
                return
        piece = await answer.guarded(anext(pieces, None))
    for event in decoder.close():
        for item in answer.event(event.event, event.data):
            yield item
    if not answer.done:
        yield answer.ended_without_done()


@dataclass
class _CallParts:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class _Answer:
    """The answer as it builds up from stream chunks."""

    def __init__(self, model: str, explain: _Explainer) -> None:
        self.model = model
        self.explain = explain
        self.text: list[str] = []
        self.calls: dict[int, _CallParts] = {}
        self.finish_reason = ""
        self.usage = Usage()
        self.done = False

    @property
    def started(self) -> bool:
        return bool(self.text or self.calls)

    async def guarded(self, pending: Awaitable[T]) -> T:
        """Await a body read; a dropped connection mid-answer becomes ``stream_cut``."""
        try:
            return await pending
        except LlmError as error:
            if self.started:
                raise self.explain.cut(str(error)) from error
            raise

    def event(self, kind: str, data: str) -> list[StreamItem]:
        """Apply one SSE event; returns what to yield (a delta, or the final completion)."""
        if data.strip() == "[DONE]":
            self.done = True
            return [self.completion()]
        chunk = self.explain.json_event(data)
        if kind == "error" or "error" in chunk:
            raise self.explain.body_error(chunk.get("error", chunk))
        text = self.apply(chunk)
        return [TextDelta(text)] if text else []

    def apply(self, chunk: dict[str, Any]) -> str:
        """Fold one ``chat.completion.chunk`` in; returns its new text."""
        self.model = str(chunk.get("model") or self.model)
        if isinstance(chunk.get("usage"), dict):
            self.usage = _usage(chunk["usage"])
        text = ""
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, dict) or choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or choice.get("message") or {}
            if isinstance(delta.get("content"), str):
                text += delta["content"]
            for call in delta.get("tool_calls") or []:
                self._tool_delta(call)
            if choice.get("finish_reason"):
                self.finish_reason = str(choice["finish_reason"])
        if text:
            self.text.append(text)
        return text

    def _tool_delta(self, delta: dict[str, Any]) -> None:
        index = delta.get("index")
        if not isinstance(index, int):
            index = self._index_of(str(delta.get("id") or ""))
        parts = self.calls.setdefault(index, _CallParts())
        parts.id = parts.id or str(delta.get("id") or "")
        function = delta.get("function") or {}
        parts.name = parts.name or str(function.get("name") or "")
        arguments = function.get("arguments")
        if isinstance(arguments, str):
            parts.arguments.append(arguments)
        elif arguments is not None:
            parts.arguments.append(json.dumps(arguments))

    def _index_of(self, call_id: str) -> int:
        for index, parts in self.calls.items():
            if call_id and parts.id == call_id:
                return index
        return max(self.calls, default=-1) + 1

    def completion(self) -> Completion:
        calls = [
            ToolCall(parts.id or f"call_{index}", parts.name, "".join(parts.arguments))
            for index, parts in sorted(self.calls.items())
        ]
        message = Message("assistant", "".join(self.text), tool_calls=calls)
        reason = self.finish_reason or ("tool_calls" if calls else "stop")
        return Completion(message, reason, self.usage, self.model)

    def ended_without_done(self) -> Completion:
        """The stream closed without ``[DONE]``: fine after a finish reason, else cut."""
        if not self.finish_reason:
            raise self.explain.cut("The endpoint ended the stream before the answer was finished.")
        self.done = True
        return self.completion()

    def whole(self, body: bytes, content_type: str) -> list[StreamItem]:
        """A body that is not an event stream: a plain JSON completion, or an error."""
        chunk = self.explain.json_body(body, content_type)
        if "error" in chunk:
            raise self.explain.body_error(chunk["error"])
        if not isinstance(chunk.get("choices"), list):
            raise self.explain.bad(f"JSON that is not a chat completion: {excerpt(body)}")
        text = self.apply(chunk)
        self.done = True
        return [*([TextDelta(text)] if text else []), self.completion()]


def _usage(data: dict[str, Any]) -> Usage:
    def count(key: str) -> int:
        value = data.get(key)
        return value if isinstance(value, int) else 0

    return Usage(count("prompt_tokens"), count("completion_tokens"))


def _looks_html(body: bytes, content_type: str) -> bool:
    return "html" in content_type or body.lstrip().startswith(b"<")


def _server_message(error: Any) -> str:
    if isinstance(error, dict):
        for key in ("message", "detail", "error"):
            if isinstance(error.get(key), str | dict):
                return _server_message(error[key])
        return json.dumps(error)
    return str(error)


class _Explainer:
    """Turns what an endpoint sent into readable :class:`LlmError` s, with the key redacted."""

    def __init__(self, base_url: str, model: str, api_key: str) -> None:
        self.base_url = display_url(base_url)
        self.model = model
        self._api_key = api_key

    def redact(self, text: str) -> str:
        """``text`` with the API key, should an endpoint echo it, replaced. Placeholders shorter
        than real keys (``"x"``, ``"ollama"``) are left alone: they would mangle every word."""
        if len(self._api_key) < _SHORTEST_SECRET:
            return text
        return text.replace(self._api_key, "[redacted]")

    def _error(self, message: str, code: str, status: int | None = None) -> LlmError:
        return LlmError(self.redact(message), code=code, status=status)

    def detail(self, body: bytes, content_type: str = "") -> str:
        """What the endpoint said, quoted, for the end of a message ("" if nothing)."""
        if not body.strip():
            return ""
        if _looks_html(body, content_type):
            return " The endpoint sent an HTML page, not an OpenAI-compatible API error."
        try:
            parsed = json.loads(body)
        except ValueError:
            return f" The endpoint said: {excerpt(body)}."
        found = parsed.get("error", parsed) if isinstance(parsed, dict) else parsed
        return f" The endpoint said: {excerpt(_server_message(found))}."

    def status(
        self, status: int, headers: dict[str, str], body: bytes, path: str = "/chat/completions"
    ) -> LlmError:
        """The error for an HTTP error status from ``path`` under the base URL."""
        said = self.detail(body, headers.get("content-type", ""))
        if status in (401, 403):
            return self._error(self._auth_message(status) + said, "auth", status)
        if status == 404:
            return self._error(self._not_found_message(path) + said, "not_found", status)
        if status == 429 or status >= 500:
            return self._retryable(status, headers, said)
        return self._client_error(status, body, said)

    def _auth_message(self, status: int) -> str:
        if not self._api_key:
            return f"The endpoint needs an API key (HTTP {status}) and none is set."
        return (
            f"The endpoint refused the API key (HTTP {status}): check the key in Settings, and "
            "that it is for this endpoint."
        )

    def _not_found_message(self, path: str) -> str:
        check = "the base URL (it usually ends in /v1)"
        if path == "/chat/completions":
            check += f" and that the model '{self.model}' exists"
        return f"Nothing found at {self.base_url}{path} (HTTP 404): check {check}."

    def _retryable(self, status: int, headers: dict[str, str], said: str) -> LlmError:
        wait = parse_retry_after(headers.get("retry-after"))
        if status == 429:
            code, message = "rate_limited", "The endpoint is rate-limiting requests (HTTP 429)."
        else:
            code, message = "server", f"The endpoint failed with a server error (HTTP {status})."
        if wait is not None:
            message += f" It asked to retry after {wait:g} s."
        return RetryableError(self.redact(message + said), code, status, retry_after=wait)

    def _client_error(self, status: int, body: bytes, said: str) -> LlmError:
        code = "bad_request"
        if b"context_length_exceeded" in body or b"maximum context length" in body:
            code = "context_length"
        return self._error(
            f"The endpoint rejected the request (HTTP {status}).{said}", code, status
        )

    def body_error(self, error: Any) -> LlmError:
        """An ``{"error": ...}`` object sent with a 200 or inside the stream (retryable: such
        errors are mostly overload)."""
        kind = json.dumps(error).lower() if isinstance(error, dict) else ""
        code = "rate_limited" if "rate" in kind and "limit" in kind else "server"
        message = f"The endpoint reported an error: {excerpt(_server_message(error))}."
        return RetryableError(self.redact(message), code)

    def bad(self, what: str) -> LlmError:
        return self._error(
            f"The endpoint at {self.base_url} answered with {what}, not an OpenAI-compatible "
            "API. Check the base URL (it usually ends in /v1).",
            "bad_response",
        )

    def cut(self, why: str) -> LlmError:
        return self._error(f"The answer stopped partway. {why}", "stream_cut")

    def json_event(self, data: str) -> dict[str, Any]:
        try:
            chunk = json.loads(data)
        except ValueError:
            raise self.bad(f"a stream event that is not JSON ({excerpt(data, 120)})") from None
        if not isinstance(chunk, dict):
            raise self.bad(f"a stream event that is not a JSON object ({excerpt(data, 120)})")
        return chunk

    def json_body(self, body: bytes, content_type: str) -> dict[str, Any]:
        if not body.strip():
            raise self.bad("an empty body")
        if _looks_html(body, content_type):
            raise self.bad("an HTML page")
        try:
            chunk = json.loads(body)
        except ValueError:
            what = f"text that is neither an event stream nor JSON: {excerpt(body, 120)}"
            raise self.bad(what) from None
        if not isinstance(chunk, dict):
            raise self.bad(f"JSON that is not a chat completion: {excerpt(body, 120)}")
        return chunk


async def check_endpoint(
    http: Http, base_url: str, model: str, api_key: str, *, timeout: float = 15.0
) -> dict[str, Any]:
    """Test the connection: ask the endpoint for its model list and return a verdict
    ``{"ok", "code", "message", "models", "model_listed"}`` where ``code`` is ``ok``, ``auth``,
    ``not_found``, ``network``, ``bad_response``, ``rate_limited``, ``server`` or
    ``bad_request``, and ``message`` says what to do about it."""
    explain = _Explainer(base_url.rstrip("/"), model, api_key)
    headers = {"Accept": "application/json"} | _auth_headers(api_key, {})
    try:
        async with http.stream(
            "GET", f"{base_url.rstrip('/')}/models", headers=headers, timeout=timeout
        ) as response:
            status, got, body = response.status, response.headers, await response.read()
    except LlmError as error:
        hint = " Check that the server is running and that the base URL is right."
        return _verdict("network", explain.redact(str(error)) + hint)
    if not 200 <= status < 300:
        failure = explain.status(status, got, body[:_ERROR_BODY_LIMIT], path="/models")
        return _verdict(failure.code, str(failure))
    return _models_verdict(explain, body, got.get("content-type", ""))


def _verdict(
    code: str, message: str, models: list[str] | None = None, listed: bool | None = None
) -> dict[str, Any]:
    return {
        "ok": code == "ok",
        "code": code,
        "message": message,
        "models": models or [],
        "model_listed": listed,
    }


def _models_verdict(explain: _Explainer, body: bytes, content_type: str) -> dict[str, Any]:
    try:
        listing = explain.json_body(body, content_type)
        models = [str(item["id"]) for item in listing["data"]]
    except LlmError as error:
        return _verdict(error.code, str(error))
    except (KeyError, TypeError):
        failure = explain.bad(f"JSON that is not a model list: {excerpt(body, 120)}")
        return _verdict(failure.code, str(failure))
    where = f"Connected to {explain.base_url}"
    if explain.model in models:
        return _verdict("ok", f"{where}: the model '{explain.model}' is available.", models, True)
    shown = ", ".join(models[:8]) + (", ..." if len(models) > 8 else "")
    listed = f"it lists {len(models)}: {shown}" if models else "it lists none"
    message = f"{where}, but it does not list the model '{explain.model}' ({listed})."
    return _verdict("ok", message, models, False)
