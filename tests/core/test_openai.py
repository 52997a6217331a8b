"""The OpenAI-compatible engine and the endpoint check, over real HTTP against the scripted
server: httpx natively, ``fetch`` inside Pyodide (see ``tests/core/conftest.py``)."""

from __future__ import annotations

import asyncio
import email.utils
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from llmos.errors import LlmError
from llmos.llm.openai import OpenAIEngine, check_endpoint
from llmos.llm.types import ChatRequest, Completion, Message, TextDelta, ToolCall, ToolSpec
from llmos.platform.http import Http

from tests.llm_server import (
    MODEL,
    RemoteScriptedLLM,
    ScriptedLLM,
    cut,
    html,
    raw,
    status,
    text,
    tool_calls,
)

Server = ScriptedLLM | RemoteScriptedLLM
KEY = "sk-test-0123456789abcdef"
HELLO = ChatRequest([Message("system", "Be brief."), Message("user", "Hi")])


class Recorder:
    """Stands in for ``asyncio.sleep``: remembers the delays instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def engine_for(
    server: Server, http: Http, *, retries: int = 0, sleep: Recorder | None = None, **kw: Any
) -> OpenAIEngine:
    return OpenAIEngine(
        http,
        server.url,
        "test-model",
        KEY,
        max_retries=retries,
        sleep=sleep or Recorder(),
        rng=lambda: 0.5,
        **kw,
    )


async def answer(
    engine: OpenAIEngine, request: ChatRequest = HELLO
) -> tuple[list[str], Completion]:
    deltas: list[str] = []
    completions: list[Completion] = []
    async for item in engine.stream(request):
        if isinstance(item, TextDelta):
            assert not completions, "text after the completion"
            deltas.append(item.text)
        else:
            completions.append(item)
    assert len(completions) == 1
    return deltas, completions[0]


async def failure(engine: OpenAIEngine, request: ChatRequest = HELLO) -> LlmError:
    with pytest.raises(LlmError) as raised:
        await answer(engine, request)
    assert KEY not in str(raised.value)
    return raised.value


async def eventually(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


# --- streaming ------------------------------------------------------------------------------------


async def test_streams_text_deltas_then_one_completion(llm_server: Server, http: Http) -> None:
    llm_server.queue(text("Hello there, world!", chunk_size=3))
    deltas, done = await answer(engine_for(llm_server, http))
    assert deltas == ["Hel", "lo ", "the", "re,", " wo", "rld", "!"]
    assert done.message == Message("assistant", "Hello there, world!")
    assert done.finish_reason == "stop"
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (12, 5)
    assert done.model == MODEL


async def test_request_body_and_headers(llm_server: Server, http: Http) -> None:
    tool = ToolSpec("read_file", "Read a file", {"type": "object", "properties": {}})
    history = [
        Message("user", "Read a.md"),
        Message("assistant", "", [ToolCall("call_1", "read_file", '{"path": "a.md"}')]),
        Message("tool", "# A", tool_call_id="call_1"),
    ]
    request = ChatRequest(history, [tool], model="other-model", temperature=0.2, max_tokens=50)
    llm_server.queue(text("ok"))
    engine = engine_for(llm_server, http, extra_headers={"X-Title": "LLMos"})
    await answer(engine, request)
    [seen] = llm_server.requests
    assert seen["path"] == "/v1/chat/completions"
    assert seen["body"] == {
        "model": "other-model",
        "messages": [message.to_openai() for message in history],
        "stream": True,
        "stream_options": {"include_usage": True},
        "tools": [tool.to_openai()],
        "temperature": 0.2,
        "max_tokens": 50,
    }
    assert seen["headers"]["authorization"] == f"Bearer {KEY}"
    assert seen["headers"]["x-title"] == "LLMos"


async def test_no_key_sends_no_authorization(llm_server: Server, http: Http) -> None:
    llm_server.queue(text("ok"))
    await answer(OpenAIEngine(http, llm_server.url + "/", "m"))
    [seen] = llm_server.requests
    assert "authorization" not in seen["headers"]
    assert seen["body"]["model"] == "m"
    assert seen["path"] == "/v1/chat/completions"


async def test_parallel_tool_calls_assembled_from_interleaved_fragments(
    llm_server: Server, http: Http
) -> None:
    calls = [
        ("write_file", '{"path": "a.md", "content": "x"}'),
        ("read_file", '{"path": "notes/today.md"}'),
        ("list_dir", "{}"),
    ]
    llm_server.queue(tool_calls(calls, chunk_size=3))
    deltas, done = await answer(engine_for(llm_server, http))
    assert deltas == []
    assert done.finish_reason == "tool_calls"
    assert done.message.tool_calls == [
        ToolCall(f"call_{index}_scripted", name, arguments)
        for index, (name, arguments) in enumerate(calls)
    ]
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (20, 9)


async def test_text_and_a_tool_call_together(llm_server: Server, http: Http) -> None:
    llm_server.queue(tool_calls([("read_file", '{"path": "a"}')], content="Let me look."))
    deltas, done = await answer(engine_for(llm_server, http))
    assert deltas == ["Let me look."]
    assert done.message.content == "Let me look."
    assert [call.name for call in done.message.tool_calls] == ["read_file"]


async def test_malformed_tool_arguments_pass_through_raw(llm_server: Server, http: Http) -> None:
    broken = '{"path": "a.md", "content": "unterminated'
    llm_server.queue(tool_calls([("write_file", broken)]))
    _, done = await answer(engine_for(llm_server, http))
    assert done.message.tool_calls[0].arguments == broken


async def test_missing_usage_counts_as_zero(llm_server: Server, http: Http) -> None:
    llm_server.queue(text("Hi", usage=None))
    _, done = await answer(engine_for(llm_server, http))
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (0, 0)


def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    return json.dumps({"model": "framed", "choices": [choice]})


async def test_sse_framing_edge_cases_over_the_wire(llm_server: Server, http: Http) -> None:
    """CRLF, comments, named events, JSON split over two data lines, tiny network pieces."""
    split = chunk({"content": " world"}).replace(', "choices"', ',\r\ndata: "choices"')
    body = (
        ": keep-alive\r\n\r\n"
        f"data: {chunk({'role': 'assistant', 'content': 'Hello'})}\r\n\r\n"
        f"event: message\r\nid: 2\r\ndata: {split}\r\n\r\n"
        f"data: {chunk({}, 'stop')}\r\n\r\n"
        'data: {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2}}\n\n'
        "data: [DONE]\n\n"
    )
    llm_server.queue(raw(body, chunk_size=5))
    deltas, done = await answer(engine_for(llm_server, http))
    assert deltas == ["Hello", " world"]
    assert done.model == "framed"
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (3, 2)


async def test_finish_reason_without_done_still_completes(llm_server: Server, http: Http) -> None:
    body = f"data: {chunk({'content': 'Hi'})}\n\ndata: {chunk({}, 'length')}\n\n"
    llm_server.queue(raw(body))
    deltas, done = await answer(engine_for(llm_server, http))
    assert deltas == ["Hi"]
    assert done.finish_reason == "length"


async def test_a_plain_json_completion_is_accepted(llm_server: Server, http: Http) -> None:
    """Some servers ignore ``stream: true`` and answer with one JSON object."""
    whole = {
        "model": "plain",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi!"}}],
        "usage": {"prompt_tokens": 4, "completion_tokens": 1},
    }
    llm_server.queue(status(200, json.dumps(whole)))
    deltas, done = await answer(engine_for(llm_server, http))
    assert deltas == ["Hi!"]
    assert (done.message.content, done.finish_reason, done.model) == ("Hi!", "stop", "plain")


# --- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [401, 403])
async def test_refused_key_is_an_auth_error(llm_server: Server, http: Http, code: int) -> None:
    llm_server.queue(status(code))
    error = await failure(engine_for(llm_server, http, retries=3))
    assert (error.code, error.status) == ("auth", code)
    assert "refused the API key" in str(error)
    assert f'"scripted status {code}"' in str(error)
    assert len(llm_server.requests) == 1


async def test_missing_key_says_so(llm_server: Server, http: Http) -> None:
    llm_server.reset(require_key=KEY)
    error = await failure(OpenAIEngine(http, llm_server.url, "m"))
    assert error.code == "auth"
    assert "needs an API key" in str(error)
    assert "Incorrect API key provided." in str(error)


async def test_not_found_names_the_base_url_and_model(llm_server: Server, http: Http) -> None:
    llm_server.queue(status(404, json.dumps({"error": {"message": "model 'test-model' absent"}})))
    error = await failure(engine_for(llm_server, http))
    assert error.code == "not_found"
    assert f"{llm_server.url}/chat/completions" in str(error)
    assert "'test-model'" in str(error)
    assert "model 'test-model' absent" in str(error)


@pytest.mark.parametrize(
    ("reply", "code"),
    [
        (status(429), "rate_limited"),
        (status(500), "server"),
        (status(503, "upstream overloaded", content_type="text/plain"), "server"),
        (html(502), "server"),
    ],
)
async def test_status_codes(llm_server: Server, http: Http, reply: Any, code: str) -> None:
    llm_server.queue(reply)
    error = await failure(engine_for(llm_server, http))
    assert error.code == code
    assert error.retryable
    assert f"HTTP {reply.status}" in str(error)


async def test_error_json_is_quoted(llm_server: Server, http: Http) -> None:
    message = "This model's maximum context length is 8192 tokens."
    body = json.dumps({"error": {"message": message, "code": "context_length_exceeded"}})
    llm_server.queue(status(400, body))
    error = await failure(engine_for(llm_server, http))
    assert error.code == "context_length"
    assert f'"{message}"' in str(error)


async def test_an_html_page_is_a_bad_response(llm_server: Server, http: Http) -> None:
    llm_server.queue(html(200))
    error = await failure(engine_for(llm_server, http))
    assert error.code == "bad_response"
    assert "an HTML page, not an OpenAI-compatible API" in str(error)


@pytest.mark.parametrize(
    ("reply", "says"),
    [
        (raw("Hello, I am a web server.", content_type="text/plain"), "neither an event stream"),
        (raw('{"object": "list"}', content_type="application/json"), "not a chat completion"),
        (raw("data: {not json\n\n"), "not JSON"),
        (raw("", content_type="text/plain"), "an empty body"),
    ],
)
async def test_other_bodies_are_bad_responses(
    llm_server: Server, http: Http, reply: Any, says: str
) -> None:
    llm_server.queue(reply)
    error = await failure(engine_for(llm_server, http))
    assert error.code == "bad_response"
    assert says in str(error)


async def test_an_error_inside_the_stream_is_quoted(llm_server: Server, http: Http) -> None:
    llm_server.queue(raw('data: {"error": {"message": "Overloaded", "type": "server_error"}}\n\n'))
    error = await failure(engine_for(llm_server, http))
    assert error.code == "server"
    assert '"Overloaded"' in str(error)


@pytest.mark.parametrize("abrupt", [True, False])
async def test_a_cut_stream_is_stream_cut_and_not_retried(
    llm_server: Server, http: Http, abrupt: bool
) -> None:
    llm_server.queue(cut("Half an ans", abrupt=abrupt, delay=0.05), text("never sent"))
    deltas: list[str] = []
    sleep = Recorder()

    async def consume() -> None:
        async for item in engine_for(llm_server, http, retries=3, sleep=sleep).stream(HELLO):
            assert isinstance(item, TextDelta)
            deltas.append(item.text)

    with pytest.raises(LlmError) as raised:
        await consume()
    assert raised.value.code == "stream_cut"
    assert "stopped partway" in str(raised.value)
    assert "".join(deltas) == "Half an ans"
    assert len(llm_server.requests) == 1
    assert sleep.delays == []


async def test_a_slow_endpoint_times_out_as_a_network_error(llm_server: Server, http: Http) -> None:
    llm_server.queue(text("late", delay=2.0))
    started = time.monotonic()
    error = await failure(engine_for(llm_server, http, timeout=0.3))
    assert error.code == "network"
    assert time.monotonic() - started < 1.8


async def test_an_unreachable_endpoint_is_a_network_error(llm_server: Server, http: Http) -> None:
    sleep = Recorder()
    engine = OpenAIEngine(http, llm_server.dead_url, "m", KEY, sleep=sleep, rng=lambda: 1.0)
    error = await failure(engine)
    assert error.code == "network"
    assert llm_server.dead_url in str(error)
    assert sleep.delays == [0.5, 1.0, 2.0]


# --- retries --------------------------------------------------------------------------------------


async def test_retries_honour_retry_after_then_succeed(llm_server: Server, http: Http) -> None:
    when = email.utils.formatdate(time.time() + 5, usegmt=True)
    llm_server.queue(
        status(429, headers={"Retry-After": "2"}),
        status(503, headers={"Retry-After": when}),
        status(500),
        text("Finally"),
    )
    sleep = Recorder()
    deltas, _ = await answer(engine_for(llm_server, http, retries=3, sleep=sleep))
    assert deltas == ["Fina", "lly"]
    assert len(llm_server.requests) == 4
    assert sleep.delays[0] == 2.0
    assert 3.0 <= sleep.delays[1] <= 5.0
    assert sleep.delays[2] == 0.5 * 0.5 * 2**2


async def test_retry_after_is_capped(llm_server: Server, http: Http) -> None:
    llm_server.queue(status(429, headers={"Retry-After": "86400"}), text("ok"))
    sleep = Recorder()
    await answer(engine_for(llm_server, http, retries=1, sleep=sleep))
    assert sleep.delays == [30.0]


async def test_a_drop_before_any_text_is_retried(llm_server: Server, http: Http) -> None:
    llm_server.queue(cut("", abrupt=True), text("ok"))
    sleep = Recorder()
    deltas, _ = await answer(engine_for(llm_server, http, retries=1, sleep=sleep))
    assert deltas == ["ok"]
    assert len(sleep.delays) == 1


async def test_retries_run_out(llm_server: Server, http: Http) -> None:
    llm_server.queue(*[status(500) for _ in range(3)])
    sleep = Recorder()
    error = await failure(engine_for(llm_server, http, retries=2, sleep=sleep))
    assert error.code == "server"
    assert len(llm_server.requests) == 3
    assert len(sleep.delays) == 2


# --- cancellation and secrets ---------------------------------------------------------------------


async def test_cancelling_the_consumer_closes_the_connection(
    llm_server: Server, http: Http
) -> None:
    llm_server.queue(text("x" * 400, chunk_size=1, delay=0.02))
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in engine_for(llm_server, http).stream(HELLO):
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 5)
    task.cancel()
    started = time.monotonic()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - started < 1.0
    await eventually(lambda: llm_server.disconnects >= 1, timeout=3.0)


async def test_the_key_never_leaks(llm_server: Server, http: Http) -> None:
    echo = json.dumps({"error": {"message": f"Incorrect API key provided: {KEY}."}})
    llm_server.queue(status(401, echo), status(500, echo))
    engine = engine_for(llm_server, http)
    assert KEY not in repr(engine)
    assert KEY not in str(vars(engine).get("api_key", ""))
    for _ in range(2):
        error = await failure(engine)
        assert "[redacted]" in str(error)
        assert KEY not in repr(error)
    llm_server.queue_models(status(401, echo))
    verdict = await check_endpoint(http, llm_server.url, "test-model", KEY)
    assert KEY not in json.dumps(verdict)
    in_url = f"https://me:{KEY}@api.example/v1?key={KEY}"
    assert KEY not in repr(OpenAIEngine(http, in_url, "m", KEY))


async def test_placeholder_keys_are_not_redacted_into_nonsense(
    llm_server: Server, http: Http
) -> None:
    llm_server.queue(status(401))
    error = await failure(OpenAIEngine(http, llm_server.url, "m", "x"))
    assert "refused the API key" in str(error)


# --- check_endpoint -------------------------------------------------------------------------------


async def test_check_ok_and_model_listed(llm_server: Server, http: Http) -> None:
    llm_server.reset(models=["a-model", "test-model"], require_key=KEY)
    verdict = await check_endpoint(http, llm_server.url, "test-model", KEY)
    assert verdict["ok"] is True
    assert verdict["code"] == "ok"
    assert verdict["model_listed"] is True
    assert verdict["models"] == ["a-model", "test-model"]
    assert "'test-model' is available" in verdict["message"]
    assert llm_server.requests[0]["path"] == "/v1/models"


async def test_check_ok_but_model_not_listed(llm_server: Server, http: Http) -> None:
    llm_server.reset(models=["a-model", "b-model"])
    verdict = await check_endpoint(http, llm_server.url, "test-model", "")
    assert (verdict["ok"], verdict["code"], verdict["model_listed"]) == (True, "ok", False)
    assert "does not list the model 'test-model'" in verdict["message"]
    assert "it lists 2: a-model, b-model" in verdict["message"]


@pytest.mark.parametrize(
    ("reply", "code", "says"),
    [
        (status(401), "auth", "refused the API key"),
        (status(404, "Not Found", content_type="text/plain"), "not_found", "/models (HTTP 404)"),
        (html(200), "bad_response", "HTML page"),
        (status(200, '{"hello": 1}'), "bad_response", "not a model list"),
        (status(502), "server", "HTTP 502"),
        (status(429), "rate_limited", "HTTP 429"),
    ],
)
async def test_check_verdicts(
    llm_server: Server, http: Http, reply: Any, code: str, says: str
) -> None:
    llm_server.queue_models(reply)
    verdict = await check_endpoint(http, llm_server.url, "test-model", KEY)
    assert (verdict["ok"], verdict["code"]) == (False, code)
    assert says in verdict["message"]


async def test_check_unreachable(llm_server: Server, http: Http) -> None:
    verdict = await check_endpoint(http, llm_server.dead_url, "test-model", KEY, timeout=5)
    assert (verdict["ok"], verdict["code"]) == (False, "network")
    assert "server is running" in verdict["message"]
