"""The local model's side of a chat, free of any platform: what to send and how to read the answer.

SmolLM2-135M has no native tool calling, so tools are described in the system prompt as short
signatures and the output is constrained by a GBNF grammar (:mod:`llmos.llm.grammar`): either
plain text or one JSON call ``{"tool": ..., "arguments": {...}}``. The GGUF's own chat template
formats the turns (wllama applies it), so messages here use only the roles it knows: tool results
come back as user turns, earlier calls as the assistant's JSON.

:func:`build_payload` makes the request the browser bridge (``web/bridges/local-llm.mjs``) passes
to wllama; :class:`DeltaFilter` decides which streamed pieces are text for the user;
:func:`completion_from_result` turns the bridge's result into a :class:`Completion` (malformed
calls become plain text, never an exception); :func:`error_from_bridge` maps the bridge's
``[code] message`` errors to :class:`LlmError`.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Sequence
from typing import Any

from llmos.errors import LlmError
from llmos.llm.grammar import tool_call_grammar
from llmos.llm.types import ChatRequest, Completion, Message, ToolCall, ToolSpec, Usage

MODEL_NAME = "SmolLM2-135M-Instruct"
CONTEXT_TOKENS = 2048  # the context local-llm.mjs loads the model with (config.nCtx)
CHARS_PER_TOKEN = 3  # SmolLM2's tokenizer averages ~4 on English, ~3 on code and JSON
DEFAULT_MAX_TOKENS = 256
DEFAULT_TEMPERATURE = 0.2
# llama.cpp sampling for a 135M model: without a repeat penalty it loops on a phrase.
SAMPLING = {"top_k": 40, "top_p": 0.9, "min_p": 0.05, "repeat_penalty": 1.15, "repeat_last_n": 64}
# The model almost never starts an answer with '{"' by itself, so with tools offered it never
# called one. Biasing that token (measured on 4 tool and 4 plain questions, greedy): 6 gave 3
# calls and 4 texts, 7 gave 4 calls and 4 texts, 8 turned 2 plain questions into calls. Which
# tool it picks is another matter: a 135M model often picks the first one.
TOOL_CALL_BIAS = 7.0

TOOL_INSTRUCTIONS = (
    "You can call these tools:\n{tools}\n"
    'To call a tool, reply with only JSON: {{"tool": "<name>", "arguments": {{...}}}}\n'
    "Otherwise answer in plain text."
)

# Bridge error codes (see local-llm.mjs) -> LlmError codes.
ERROR_CODES = {
    "model_missing": "not_found",
    "network": "network",
    "out_of_memory": "out_of_memory",
    "unsupported": "unsupported",
    "context_full": "context_full",
    "local_model": "local_model",
}


# --- the request -------------------------------------------------------------------------------
def signature(tool: ToolSpec) -> str:
    """``name(arg: type, opt?: type) - description``: a tool in few tokens."""
    schema = tool.input_schema if isinstance(tool.input_schema, dict) else {}
    raw: Any = schema.get("properties")
    props: dict[str, Any] = raw if isinstance(raw, dict) else {}
    required = set(schema.get("required") or [])
    args = ", ".join(
        f"{key}{'' if key in required else '?'}: {_type_name(sub)}" for key, sub in props.items()
    )
    description = tool.description.strip().split("\n")[0]
    return f"- {tool.name}({args})" + (f" - {description}" if description else "")


def _type_name(schema: Any) -> str:
    if not isinstance(schema, dict):
        return "any"
    if isinstance(schema.get("enum"), list):
        return " | ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type")
    if kind == "array":
        return f"{_type_name(schema.get('items'))}[]"
    if isinstance(kind, list):
        return " | ".join(str(k) for k in kind)
    return str(kind) if kind else "any"


def tool_prompt(tools: Sequence[ToolSpec]) -> str:
    return TOOL_INSTRUCTIONS.format(tools="\n".join(signature(t) for t in tools))


def call_text(call: ToolCall) -> str:
    """A call as the model would have written it (for earlier turns in the conversation)."""
    try:
        arguments = json.loads(call.arguments or "{}")
    except ValueError:
        arguments = call.arguments
    return json.dumps({"tool": call.name, "arguments": arguments}, ensure_ascii=False)


def chat_messages(request: ChatRequest) -> list[dict[str, str]]:
    """The conversation in the roles the model's template knows (system, user, assistant)."""
    systems = [m.content for m in request.messages if m.role == "system" and m.content]
    if request.tools:
        systems.append(tool_prompt(request.tools))
    out = [{"role": "system", "content": "\n\n".join(systems)}] if systems else []
    names: dict[str, str] = {}
    for message in request.messages:
        if message.role == "assistant":
            names.update({call.id: call.name for call in message.tool_calls})
            parts = [message.content, *(call_text(c) for c in message.tool_calls)]
            out.append({"role": "assistant", "content": "\n".join(p for p in parts if p)})
        elif message.role == "tool":
            name = names.get(message.tool_call_id or "", "the tool")
            out.append({"role": "user", "content": f"Result of {name}: {message.content}"})
        elif message.role == "user":
            out.append({"role": "user", "content": message.content})
    return out


def estimated_tokens(messages: list[dict[str, str]]) -> int:
    return sum(len(m["content"]) // CHARS_PER_TOKEN + 5 for m in messages)


def fit_context(messages: list[dict[str, str]], budget: int) -> list[dict[str, str]]:
    """The conversation cut to about ``budget`` tokens: the oldest turns go first (the system
    turn and the last turn stay), then the longest contents lose their middle (tool results)."""
    head = messages[:1] if messages and messages[0]["role"] == "system" else []
    body = messages[len(head) :]
    while len(body) > 1 and estimated_tokens(head + body) > budget:
        body.pop(0)
    kept = [dict(m) for m in head + body]
    while (excess := estimated_tokens(kept) - budget) > 0:
        longest = max(kept, key=lambda m: len(m["content"]))
        cut = min(len(longest["content"]), excess * CHARS_PER_TOKEN + 16)
        if cut <= 16:
            break
        longest["content"] = without_middle(longest["content"], len(longest["content"]) - cut)
    return kept


def without_middle(text: str, keep: int) -> str:
    """``text`` shortened to about ``keep`` characters, its start and end kept."""
    head = keep // 2
    return f"{text[:head]} […] {text[len(text) - (keep - head) :]}"


def build_payload(request: ChatRequest) -> dict[str, Any]:
    """What the bridge hands to wllama's ``createChatCompletion`` (llama-server's parameters)."""
    max_tokens = min(request.max_tokens or DEFAULT_MAX_TOKENS, CONTEXT_TOKENS // 2)
    payload: dict[str, Any] = {
        "messages": fit_context(chat_messages(request), CONTEXT_TOKENS - max_tokens),
        "max_tokens": max_tokens,
        "temperature": DEFAULT_TEMPERATURE if request.temperature is None else request.temperature,
        "cache_prompt": True,
        **SAMPLING,
    }
    if request.tools:
        # OpenAI's tool_choice, should ChatRequest carry it: "required" forbids a text answer.
        choice = getattr(request, "tool_choice", "auto")
        payload["grammar"] = tool_call_grammar(request.tools, allow_text=choice != "required")
        payload["logit_bias"] = [['{"', TOOL_CALL_BIAS]]
    return payload


# --- the answer --------------------------------------------------------------------------------
class DeltaFilter:
    """Streams text, keeps back a tool call: the first visible character decides (the grammar
    lets text start with anything but ``{``)."""

    def __init__(self, tools_offered: bool) -> None:
        self.mode = "undecided" if tools_offered else "text"
        self._pending = ""

    def feed(self, piece: str) -> str:
        """The part of ``piece`` to show the user now."""
        if self.mode == "text":
            return piece
        if self.mode == "call":
            return ""
        self._pending += piece
        visible = self._pending.lstrip()
        if not visible:
            return ""
        self.mode = "call" if visible.startswith("{") else "text"
        shown, self._pending = self._pending, ""
        return shown if self.mode == "text" else ""


def parse_tool_call(text: str, tools: Sequence[ToolSpec]) -> ToolCall | None:
    """The call in ``text`` if it is exactly one JSON call of an offered tool, else None."""
    body = text.strip()
    if not body.startswith("{"):
        return None
    try:
        value, end = json.JSONDecoder().raw_decode(body)
    except ValueError:
        return None
    if body[end:].strip() or not isinstance(value, dict):
        return None
    name = value.get("tool", value.get("name"))
    arguments = value.get("arguments", {})
    if name not in {t.name for t in tools} or not isinstance(arguments, dict):
        return None
    encoded = json.dumps(arguments, ensure_ascii=False)
    return ToolCall(id=f"call_{uuid.uuid4().hex[:24]}", name=name, arguments=encoded)


def completion_from_result(result: dict[str, Any], tools: Sequence[ToolSpec]) -> Completion:
    """The bridge's ``{text, finish_reason, usage}`` as a Completion."""
    text = str(result.get("text") or "")
    usage = result.get("usage") or {}
    counts = Usage(int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0))
    call = parse_tool_call(text, tools) if tools else None
    if call is not None:
        message = Message("assistant", "", [call])
        return Completion(message, "tool_calls", counts, MODEL_NAME)
    finish = str(result.get("finish_reason") or "stop")
    return Completion(Message("assistant", text), finish, counts, MODEL_NAME)


def error_from_bridge(text: str) -> LlmError:
    """An LlmError for a bridge failure; its ``[code] message`` may sit inside a longer text."""
    found = re.search(r"\[([a-z_]+)\] (.+)", text)
    if found is None:
        return LlmError(f"The local model failed: {text.strip()}", "local_model")
    code, message = found.groups()
    return LlmError(message.strip(), ERROR_CODES.get(code, "local_model"))
