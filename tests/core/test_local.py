"""The local model's platform-free side: prompt and payload, streamed text vs tool calls, and
reading the model's raw output (malformed output is text, never an exception)."""

from __future__ import annotations

import json
import sys

import pytest
from llmos.llm import local
from llmos.llm.types import ChatRequest, Message, ToolCall, ToolSpec

WEATHER = ToolSpec(
    "get_weather",
    "Current weather for a city.\nMore details that the prompt leaves out.",
    {
        "type": "object",
        "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
        "required": ["city"],
    },
)
READ = ToolSpec(
    "read_file",
    "",
    {"type": "object", "properties": {"paths": {"type": "array", "items": {"type": "string"}}}},
)


def test_signatures_are_short() -> None:
    assert local.signature(WEATHER) == (
        '- get_weather(city: string, unit?: "c" | "f") - Current weather for a city.'
    )
    assert local.signature(READ) == "- read_file(paths?: string[])"
    assert local.signature(ToolSpec("odd", "x", {"properties": {"v": {"type": ["a", "b"]}}})) == (
        "- odd(v?: a | b) - x"
    )


def test_plain_chat_payload_has_no_grammar_and_no_system_turn() -> None:
    payload = local.build_payload(ChatRequest([Message("user", "Hi")]))
    assert payload["messages"] == [{"role": "user", "content": "Hi"}]
    assert "grammar" not in payload
    assert payload["max_tokens"] == local.DEFAULT_MAX_TOKENS
    assert payload["temperature"] == local.DEFAULT_TEMPERATURE
    assert payload["repeat_penalty"] > 1


def test_request_settings_win() -> None:
    request = ChatRequest([Message("user", "Hi")], temperature=0.0, max_tokens=12)
    payload = local.build_payload(request)
    assert (payload["temperature"], payload["max_tokens"]) == (0.0, 12)


def test_tools_go_into_the_system_turn_and_the_grammar() -> None:
    request = ChatRequest(
        [Message("system", "Be brief."), Message("user", "Weather in Oslo?")], tools=[WEATHER]
    )
    payload = local.build_payload(request)
    system = payload["messages"][0]
    assert system["role"] == "system"
    assert system["content"].startswith("Be brief.\n\nYou can call these tools:")
    assert "get_weather(city: string" in system["content"]
    assert '\\"tool\\"' in payload["grammar"]
    assert "root ::= text | tool-call" in payload["grammar"]


def test_tools_make_a_call_likelier_and_can_be_required() -> None:
    request = ChatRequest([Message("user", "Weather in Oslo?")], tools=[WEATHER])
    assert local.build_payload(request)["logit_bias"] == [['{"', local.TOOL_CALL_BIAS]]
    setattr(request, "tool_choice", "required")  # noqa: B010 (not a ChatRequest field yet)
    assert "text" not in local.build_payload(request)["grammar"].split("\n")[0]


def test_earlier_calls_and_results_use_roles_the_template_knows() -> None:
    call = ToolCall("call_1", "get_weather", '{"city": "Oslo"}')
    request = ChatRequest(
        [
            Message("user", "Weather in Oslo?"),
            Message("assistant", "", [call]),
            Message("tool", "-3 C, snow", tool_call_id="call_1"),
            Message("tool", "orphan", tool_call_id="nope"),
        ],
        tools=[WEATHER],
    )
    turns = local.chat_messages(request)[1:]
    assert [t["role"] for t in turns] == ["user", "assistant", "user", "user"]
    assert json.loads(turns[1]["content"]) == {"tool": "get_weather", "arguments": {"city": "Oslo"}}
    assert turns[2]["content"] == "Result of get_weather: -3 C, snow"
    assert turns[3]["content"] == "Result of the tool: orphan"


def test_long_conversations_fit_the_context() -> None:
    turns = [{"role": "system", "content": "S" * 300}]
    turns += [
        {"role": r, "content": f"{r} {i} " * 100} for i in range(12) for r in ("user", "assistant")
    ]
    turns.append({"role": "user", "content": "last question"})
    kept = local.fit_context(turns, budget=1000)
    assert local.estimated_tokens(kept) <= 1000
    assert kept[0] == turns[0]
    assert kept[-1] == turns[-1]
    assert kept[1:-1] == turns[-len(kept) + 1 : -1]  # the newest turns, unchanged


def test_a_huge_tool_result_loses_its_middle() -> None:
    result = "START " + "x" * 20_000 + " END"
    turns = [{"role": "user", "content": "read it"}, {"role": "user", "content": result}]
    (kept,) = local.fit_context(turns, budget=500)
    assert local.estimated_tokens([kept]) <= 500
    assert kept["content"].startswith("START ")
    assert kept["content"].endswith(" END")
    assert " […] " in kept["content"]


def test_the_payload_fits_the_context_with_room_to_answer() -> None:
    request = ChatRequest([Message("user", "y" * 50_000)], max_tokens=10_000)
    payload = local.build_payload(request)
    assert payload["max_tokens"] == local.CONTEXT_TOKENS // 2
    budget = local.CONTEXT_TOKENS - payload["max_tokens"]
    assert local.estimated_tokens(payload["messages"]) <= budget


def test_call_text_keeps_unparseable_arguments() -> None:
    assert json.loads(local.call_text(ToolCall("1", "t", "{oops"))) == {
        "tool": "t",
        "arguments": "{oops",
    }


# --- streaming ---------------------------------------------------------------------------------
def test_text_streams_through_when_no_tools() -> None:
    shown = local.DeltaFilter(tools_offered=False)
    assert [shown.feed(p) for p in ["{", "a", "}"]] == ["{", "a", "}"]


def test_text_streams_after_the_first_visible_character() -> None:
    shown = local.DeltaFilter(tools_offered=True)
    assert [shown.feed(p) for p in [" ", "\n", "Pa", "ris"]] == ["", "", " \nPa", "ris"]
    assert shown.mode == "text"


def test_a_tool_call_is_kept_back() -> None:
    shown = local.DeltaFilter(tools_offered=True)
    assert [shown.feed(p) for p in [" ", '{"tool"', ": ..."]] == ["", "", ""]
    assert shown.mode == "call"


# --- reading the output ------------------------------------------------------------------------
def result(text: str, finish: str = "stop") -> dict[str, object]:
    return {
        "text": text,
        "finish_reason": finish,
        "usage": {"prompt_tokens": 9, "completion_tokens": 4},
    }


def test_a_valid_call_becomes_a_tool_call() -> None:
    done = local.completion_from_result(
        result(' {"tool": "get_weather", "arguments": {"city": "Oslo"}}\n'), [WEATHER]
    )
    assert done.finish_reason == "tool_calls"
    assert done.message.content == ""
    (call,) = done.message.tool_calls
    assert call.name == "get_weather"
    assert json.loads(call.arguments) == {"city": "Oslo"}
    assert call.id.startswith("call_")
    assert (done.usage.prompt_tokens, done.usage.completion_tokens) == (9, 4)
    assert done.model == local.MODEL_NAME


def test_call_ids_are_unique() -> None:
    text = '{"tool": "get_weather", "arguments": {"city": "Oslo"}}'
    ids = {local.parse_tool_call(text, [WEATHER]).id for _ in range(20)}  # type: ignore[union-attr]
    assert len(ids) == 20


def test_a_name_key_is_accepted_too() -> None:
    call = local.parse_tool_call('{"name": "read_file", "arguments": {}}', [WEATHER, READ])
    assert call is not None
    assert call.name == "read_file"


@pytest.mark.parametrize(
    "text",
    [
        "Oslo is cold.",
        "",
        '{"tool": "get_weather", "arguments": {"city": "Os',  # cut off by max_tokens
        '{"tool": "delete_everything", "arguments": {}}',
        '{"tool": "get_weather", "arguments": "city=Oslo"}',
        '{"tool": "get_weather", "arguments": {}} and more',
        "[1, 2]",
        "{not json}",
    ],
)
def test_anything_else_is_plain_text(text: str) -> None:
    done = local.completion_from_result(result(text, "length"), [WEATHER])
    assert done.message.content == text
    assert done.message.tool_calls == []
    assert done.finish_reason == "length"


def test_a_call_without_tools_offered_stays_text() -> None:
    text = '{"tool": "get_weather", "arguments": {"city": "Oslo"}}'
    assert local.completion_from_result(result(text), []).message.content == text


def test_missing_fields_are_tolerated() -> None:
    done = local.completion_from_result({}, [])
    assert (done.message.content, done.finish_reason, done.usage.prompt_tokens) == ("", "stop", 0)


# --- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Error: [model_missing] This build has no local model.", "not_found"),
        (
            "Error: [out_of_memory] Not enough memory.\n    at start (local-llm.mjs:1)",
            "out_of_memory",
        ),
        ("[unsupported] No JSPI.", "unsupported"),
        ("[network] Offline.", "network"),
        ("[context_full] Too long.", "context_full"),
        ("[brand_new] Something.", "local_model"),
    ],
)
def test_bridge_errors_keep_their_message(text: str, code: str) -> None:
    error = local.error_from_bridge(text)
    assert error.code == code
    assert "[" not in str(error)
    assert "\n" not in str(error)


def test_unexpected_errors_are_readable() -> None:
    error = local.error_from_bridge("TypeError: x is undefined")
    assert error.code == "local_model"
    assert str(error) == "The local model failed: TypeError: x is undefined"


# --- the browser engine over a fake bridge (in Pyodide only: it is made of JS objects) --------
IN_BROWSER = sys.platform == "emscripten"
