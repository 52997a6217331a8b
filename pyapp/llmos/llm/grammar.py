"""JSON Schema to llama.cpp GBNF grammars, so a small local model can only write valid tool calls.

:func:`schema_to_gbnf` covers what tool schemas use: objects (properties, required), strings
(min/max length), integers, numbers, booleans, null, enum/const, arrays (items, min/max items),
nested objects, ``anyOf``/``oneOf`` and lists of types. Anything else (``$ref``, ``not``...)
becomes a generic JSON value: the output stays valid JSON, the agent checks the rest.
:func:`tool_call_grammar` lets the model answer in plain text *or* write one call
``{"tool": "<name>", "arguments": {...}}`` whose arguments follow that tool's schema.

Output is compact JSON (at most one space where JSON allows whitespace): unbounded whitespace
lets a small model loop on newlines until it runs out of tokens.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from llmos.llm.types import ToolSpec

MAX_DEPTH = 12  # deeper schemas become generic JSON values

# Generic JSON, for schemas (or parts) that say nothing more specific.
BASE_RULES = {
    "ws": '" "?',
    "json-char": r'[^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4})',
    "json-string": r'"\"" json-char* "\""',
    "json-integer": '"-"? ("0" | [1-9] [0-9]{0,15})',
    "json-number": 'json-integer ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,3})?',
    "json-boolean": '"true" | "false"',
    "json-null": '"null"',
    "json-value": "json-object | json-array | json-string | json-number | json-boolean | json-null",
    "json-object": '"{" ws (json-string ws ":" ws json-value ("," ws json-string ws ":" ws '
    'json-value)*)? ws "}"',
    "json-array": '"[" ws (json-value ("," ws json-value)*)? ws "]"',
}
PRIMITIVES = {
    "string": "json-string",
    "integer": "json-integer",
    "number": "json-number",
    "boolean": "json-boolean",
    "null": "json-null",
}


def literal(text: str) -> str:
    """``text`` as a GBNF string literal."""
    escaped = []
    for char in text:
        if char in '"\\':
            escaped.append("\\" + char)
        elif char in "\n\r\t":
            escaped.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            escaped.append(f"\\x{ord(char):02X}")
        else:
            escaped.append(char)
    return '"' + "".join(escaped) + '"'


def json_literal(value: Any) -> str:
    """A GBNF literal that matches exactly the compact JSON of ``value``."""
    return literal(json.dumps(value, ensure_ascii=False, separators=(",", ":")))


def value_expr(value: Any) -> str:
    """A GBNF expression for the JSON ``value`` itself, with the whitespace JSON allows."""
    if isinstance(value, dict):
        pairs = [f'{json_literal(str(k))} ws ":" ws {value_expr(v)}' for k, v in value.items()]
        return '("{" ws ' + ' "," ws '.join(pairs) + (" ws" if pairs else "") + ' "}")'
    if isinstance(value, list):
        items = [value_expr(v) for v in value]
        return '("[" ws ' + ' "," ws '.join(items) + (" ws" if items else "") + ' "]")'
    return json_literal(value)


def rule_name(text: str) -> str:
    """A valid GBNF rule name (letters, digits, dashes) derived from ``text``."""
    name = re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-").lower()
    return name or "x"


class GrammarBuilder:
    """Collects named rules; each schema part becomes an expression or a rule of its own."""

    def __init__(self) -> None:
        self.rules: dict[str, str] = {}

    def add(self, name: str, body: str) -> str:
        """Add rule ``name ::= body`` (renamed if taken by another body); returns its name."""
        base, name, n = rule_name(name), rule_name(name), 1
        while (name in self.rules and self.rules[name] != body) or name in BASE_RULES:
            n += 1
            name = f"{base}-{n}"
        self.rules[name] = body
        return name

    def expr(self, schema: Any, name: str, depth: int = 0) -> str:
        """A GBNF expression matching JSON valid against ``schema``."""
        if not isinstance(schema, dict) or depth > MAX_DEPTH:
            return "json-value"
        if "const" in schema:
            return value_expr(schema["const"])
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self.add(name, " | ".join(value_expr(v) for v in schema["enum"]))
        for key in ("anyOf", "oneOf"):
            if isinstance(schema.get(key), list) and schema[key]:
                options = [
                    self.expr(s, f"{name}-{i}", depth + 1) for i, s in enumerate(schema[key])
                ]
                return self.add(name, " | ".join(options))
        kind = schema.get("type")
        if isinstance(kind, list) and kind:
            options = [self.expr({**schema, "type": k}, f"{name}-{k}", depth) for k in kind]
            return self.add(name, " | ".join(options))
        return self._typed(schema, kind, name, depth)

    def _typed(self, schema: dict[str, Any], kind: Any, name: str, depth: int) -> str:
        if kind == "object" or (kind is None and "properties" in schema):
            return self.object(schema, name, depth)
        if kind == "array" or (kind is None and "items" in schema):
            return self.array(schema, name, depth)
        if kind == "string":
            return self.string(schema, name)
        if isinstance(kind, str) and kind in PRIMITIVES:
            return PRIMITIVES[kind]
        return "json-value"

    def string(self, schema: dict[str, Any], name: str) -> str:
        low, high = schema.get("minLength"), schema.get("maxLength")
        if not isinstance(low, int) and not isinstance(high, int):
            return "json-string"
        low = low if isinstance(low, int) and low > 0 else 0
        bound = f"{{{low},{high}}}" if isinstance(high, int) else f"{{{low},}}"
        return self.add(name, r'"\"" json-char' + bound + r' "\""')

    def array(self, schema: dict[str, Any], name: str, depth: int) -> str:
        item = self.expr(schema.get("items"), f"{name}-item", depth + 1)
        low: int = schema["minItems"] if isinstance(schema.get("minItems"), int) else 0
        high: int | None = schema["maxItems"] if isinstance(schema.get("maxItems"), int) else None
        more_low = max(low - 1, 0)
        more = f"{{{more_low},{high - 1}}}" if high is not None else f"{{{more_low},}}"
        items = item if high == 1 else f'{item} ("," ws {item}){more}'
        if high == 0:
            body = '"[" ws "]"'
        elif low > 0:
            body = f'"[" ws {items} ws "]"'
        else:
            body = f'"[" ws ({items})? ws "]"'
        return self.add(name, body)

    def object(self, schema: dict[str, Any], name: str, depth: int) -> str:
        props = schema.get("properties")
        if not isinstance(props, dict) or not props:
            closed = schema.get("additionalProperties") is False
            return self.add(name, '"{" ws "}"') if closed else "json-object"
        required = [k for k in props if k in set(schema.get("required") or [])]
        pairs = {key: self.pair(key, props[key], f"{name}-{key}", depth) for key in props}
        needed = [pairs[k] for k in required]
        optional = [pairs[k] for k in props if k not in required]
        return self.add(name, f'"{{" ws {_members(needed, optional)} ws "}}"')

    def pair(self, key: str, schema: Any, name: str, depth: int) -> str:
        value = self.expr(schema, name, depth + 1)
        return self.add(f"{name}-kv", f'{json_literal(key)} ws ":" ws {value}')

    def render(self, root: str) -> str:
        """The grammar text: ``root ::= root`` (unless that rule exists), our rules, then the
        generic JSON ones (llama.cpp ignores rules that nothing uses)."""
        lines = [] if root == "root" else [f"root ::= {root}"]
        lines += [f"{name} ::= {body}" for name, body in {**self.rules, **BASE_RULES}.items()]
        return "\n".join(lines) + "\n"


def _members(needed: list[str], optional: list[str]) -> str:
    """Object members: every required pair, then each optional one or not, comma-separated."""
    if needed:
        parts = [' "," ws '.join(needed)]
        parts += [f'("," ws {pair})?' for pair in optional]
        return " ".join(parts)
    starts = []
    for i, first in enumerate(optional):
        rest = " ".join(f'("," ws {pair})?' for pair in optional[i + 1 :])
        starts.append(f"{first} {rest}".strip())
    return "(" + " | ".join(f"({s})" for s in starts) + ")?"


def schema_to_gbnf(schema: Any) -> str:
    """A grammar whose root matches JSON valid against ``schema`` (see the module doc)."""
    builder = GrammarBuilder()
    root = builder.expr(schema, "root")
    return builder.render(root)


def tool_call_grammar(tools: Sequence[ToolSpec], allow_text: bool = True) -> str:
    """A root that is plain text (not starting with ``{``), or, if ``allow_text`` is false only,
    a call ``{"tool": "<name>", "arguments": {...}}`` of one of ``tools`` with valid arguments."""
    if not tools:
        raise ValueError("tool_call_grammar needs at least one tool")
    builder = GrammarBuilder()
    calls = []
    for tool in tools:
        args = builder.expr(_as_object(tool.input_schema), f"{tool.name}-args")
        body = f'{json_literal(tool.name)} ws "," ws "\\"arguments\\"" ws ":" ws {args}'
        calls.append(builder.add(f"call-{tool.name}", body))
    call = builder.add("tool-call", f'"{{" ws "\\"tool\\"" ws ":" ws ({" | ".join(calls)}) ws "}}"')
    if allow_text:
        return builder.render(f"{builder.add('text', '[^{] .*')} | {call}")
    return builder.render(call)


def _as_object(schema: Any) -> dict[str, Any]:
    """Tool arguments are always an object, even when a schema forgets to say so."""
    if isinstance(schema, dict) and schema.get("type") in ("object", None):
        return {**schema, "type": "object"}
    return {"type": "object"}
