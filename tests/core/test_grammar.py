"""JSON Schema -> GBNF: generated grammars are checked by a tiny GBNF matcher written here (the
subset llama.cpp's parser reads that grammar.py emits), against valid and invalid samples.
The real llama.cpp accepts them too: e2e/test_local_model.py runs one on the model."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest
from llmos.llm.grammar import literal, rule_name, schema_to_gbnf, tool_call_grammar
from llmos.llm.types import ToolSpec


# --- a tiny GBNF matcher -----------------------------------------------------------------------
@dataclass(frozen=True)
class Node:
    kind: str  # lit, cls, any, ref, seq, alt, rep
    value: Any = None
    items: tuple[Node, ...] = ()
    low: int = 0
    high: int | None = None


ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "]": "]", "[": "[", "-": "-"}
ESCAPES |= {"^": "^", "/": "/"}


class Parser:
    """Recursive descent over one rule body."""

    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def peek(self) -> str:
        self.skip()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos] == " ":
            self.pos += 1

    def char(self) -> str:
        c = self.text[self.pos]
        self.pos += 1
        if c != "\\":
            return c
        c = self.text[self.pos]
        self.pos += 1
        if c in "xu":
            width = 2 if c == "x" else 4
            code = int(self.text[self.pos : self.pos + width], 16)
            self.pos += width
            return chr(code)
        return ESCAPES[c]

    def alternatives(self) -> Node:
        options = [self.sequence()]
        while self.peek() == "|":
            self.pos += 1
            options.append(self.sequence())
        return options[0] if len(options) == 1 else Node("alt", items=tuple(options))

    def sequence(self) -> Node:
        items = []
        while self.peek() not in ("", "|", ")"):
            items.append(self.quantified(self.item()))
        return Node("seq", items=tuple(items))

    def item(self) -> Node:
        c = self.peek()
        if c == '"':
            self.pos += 1
            out = ""
            while self.text[self.pos] != '"':
                out += self.char()
            self.pos += 1
            return Node("lit", out)
        if c == "[":
            return self.char_class()
        if c == "(":
            self.pos += 1
            inner = self.alternatives()
            assert self.peek() == ")", self.text
            self.pos += 1
            return inner
        if c == ".":
            self.pos += 1
            return Node("any")
        start = self.pos
        while self.pos < len(self.text) and (
            self.text[self.pos].isalnum() or self.text[self.pos] == "-"
        ):
            self.pos += 1
        assert self.pos > start, f"unexpected {self.text[self.pos :]!r}"
        return Node("ref", self.text[start : self.pos])

    def char_class(self) -> Node:
        self.pos += 1
        negated = self.text[self.pos] == "^"
        self.pos += negated
        ranges = []
        while self.text[self.pos] != "]":
            low = self.char()
            high = low
            if self.text[self.pos] == "-" and self.text[self.pos + 1] != "]":
                self.pos += 1
                high = self.char()
            ranges.append((low, high))
        self.pos += 1
        return Node("cls", (negated, tuple(ranges)))

    def quantified(self, node: Node) -> Node:
        c = self.text[self.pos] if self.pos < len(self.text) else ""
        bounds = {"*": (0, None), "+": (1, None), "?": (0, 1)}
        if c in bounds:
            self.pos += 1
            return Node("rep", items=(node,), low=bounds[c][0], high=bounds[c][1])
        if c == "{":
            end = self.text.index("}", self.pos)
            low_text, _, high_text = self.text[self.pos + 1 : end].partition(",")
            comma = "," in self.text[self.pos : end]
            self.pos = end + 1
            low = int(low_text)
            high = (int(high_text) if high_text else None) if comma else low
            return Node("rep", items=(node,), low=low, high=high)
        return node


def parse_grammar(text: str) -> dict[str, Node]:
    rules = {}
    for line in text.strip().splitlines():
        name, _, body = line.partition(" ::= ")
        assert name == rule_name(name), f"bad rule name {name!r}"
        parser = Parser(body)
        rules[name] = parser.alternatives()
        assert parser.pos == len(body), f"{name}: trailing {body[parser.pos :]!r}"
    for node in rules.values():
        _check_refs(node, rules)
    return rules


def _check_refs(node: Node, rules: dict[str, Node]) -> None:
    assert node.kind != "ref" or node.value in rules, f"undefined rule {node.value}"
    for item in node.items:
        _check_refs(item, rules)


def matches(grammar: str, text: str) -> bool:
    """Whether ``text`` is exactly derivable from the grammar's root."""
    rules = parse_grammar(grammar)

    @cache
    def ends(node: Node, pos: int) -> frozenset[int]:
        if node.kind == "lit":
            return (
                frozenset([pos + len(node.value)])
                if text.startswith(node.value, pos)
                else frozenset()
            )
        if node.kind in ("cls", "any"):
            return (
                frozenset([pos + 1])
                if pos < len(text) and _in_class(node, text[pos])
                else frozenset()
            )
        if node.kind == "ref":
            return ends(rules[node.value], pos)
        if node.kind == "alt":
            return frozenset().union(*(ends(item, pos) for item in node.items))
        if node.kind == "seq":
            current = frozenset([pos])
            for item in node.items:
                current = frozenset().union(*(ends(item, p) for p in current))
            return current
        return repeat(node, pos)

    def repeat(node: Node, pos: int) -> frozenset[int]:
        found = {pos} if node.low == 0 else set()
        current, count = {pos}, 0
        while current and (node.high is None or count < node.high):
            count += 1
            current = {e for p in current for e in ends(node.items[0], p) if e > p}
            if count >= node.low:
                found |= current
        return frozenset(found)

    return len(text) in ends(rules["root"], 0)


def _in_class(node: Node, char: str) -> bool:
    if node.kind == "any":
        return True
    negated, ranges = node.value
    inside = any(low <= char <= high for low, high in ranges)
    return bool(inside != negated)


def test_the_matcher_itself() -> None:
    grammar = 'root ::= "a" [0-9]{2,3} ("x" | "y")* [^b]?\n'
    assert matches(grammar, "a12")
    assert matches(grammar, "a123xyx")
    assert matches(grammar, "a12c")
    assert not matches(grammar, "a1")
    assert not matches(grammar, "a12b")
    with pytest.raises(AssertionError, match="undefined rule"):
        matches("root ::= nothing\n", "")


# --- schemas -----------------------------------------------------------------------------------
def valid(schema: Any, *values: Any) -> None:
    grammar = schema_to_gbnf(schema)
    for value in values:
        for text in (
            json.dumps(value, ensure_ascii=False),
            json.dumps(value, separators=(",", ":"), ensure_ascii=False),
        ):
            assert matches(grammar, text), f"{text} should match\n{grammar}"


def invalid(schema: Any, *texts: str) -> None:
    grammar = schema_to_gbnf(schema)
    for text in texts:
        assert not matches(grammar, text), f"{text} should not match\n{grammar}"


def test_strings_with_escapes_and_lengths() -> None:
    valid({"type": "string"}, "", "plain", 'say "hi"\n', "back\\slash", "héllo ☃")
    invalid({"type": "string"}, "plain", '"unterminated', '"raw\nnewline"', "'single'")
    valid({"type": "string", "minLength": 2, "maxLength": 3}, "ab", "abc")
    invalid({"type": "string", "minLength": 2, "maxLength": 3}, '"a"', '"abcd"')


def test_numbers_booleans_null() -> None:
    valid({"type": "integer"}, 0, 7, -42, 1234567)
    invalid({"type": "integer"}, "1.5", "01", "+3", "1e3", '"1"')
    valid({"type": "number"}, 0, -1.5, 3.25, 1e-7, 10)
    invalid({"type": "number"}, "1.", ".5", "NaN")
    valid({"type": "boolean"}, True, False)
    invalid({"type": "boolean"}, "1", '"true"', "null")
    valid({"type": "null"}, None)


def test_enum_and_const() -> None:
    valid({"enum": ["celsius", "fahrenheit", 3, None]}, "celsius", "fahrenheit", 3, None)
    invalid({"enum": ["celsius", "fahrenheit"]}, '"kelvin"', "celsius")
    valid({"const": {"a": 1}}, {"a": 1})
    invalid({"const": "x"}, '"y"')


def test_object_required_and_optional_properties() -> None:
    schema = {
        "type": "object",
        "properties": {
            "path": {"type": "string"},
            "limit": {"type": "integer"},
            "recursive": {"type": "boolean"},
        },
        "required": ["path"],
    }
    valid(
        schema,
        {"path": "a.txt"},
        {"path": "a", "limit": 3},
        {"path": "a", "recursive": True},
        {"path": "a", "limit": 3, "recursive": False},
    )
    invalid(
        schema, "{}", '{"limit": 3}', '{"path": 3}', '{"path": "a", "other": 1}', '{"path": "a",}'
    )


def test_object_with_no_required_properties() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}
    valid(schema, {}, {"a": 1}, {"b": 2}, {"a": 1, "b": 2})
    invalid(schema, '{"b": 2, "a": 1}', '{,"a": 1}', '{"a": 1,}')


def test_nested_objects_and_arrays() -> None:
    schema = {
        "type": "object",
        "properties": {
            "edits": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"line": {"type": "integer"}, "text": {"type": "string"}},
                    "required": ["line", "text"],
                },
            },
            "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
        },
        "required": ["edits", "tags"],
    }
    valid(
        schema,
        {"edits": [], "tags": ["x"]},
        {"edits": [{"line": 1, "text": "a"}, {"line": 2, "text": "b"}], "tags": ["x", "y"]},
    )
    invalid(
        schema,
        '{"edits": [], "tags": []}',
        '{"edits": [], "tags": ["a", "b", "c"]}',
        '{"edits": [{"line": 1}], "tags": ["x"]}',
    )


def test_unknown_schemas_become_any_json_value() -> None:
    schemas: list[Any] = [{}, {"$ref": "#/defs/x"}, {"type": "mystery"}, True, {"not": {}}]
    for schema in schemas:
        valid(schema, 1, "s", None, [1, {"a": [True]}], {"k": {"n": -2.5}})
        invalid(schema, "{", "[1,]", "undefined")


def test_type_lists_and_any_of() -> None:
    valid({"type": ["string", "null"]}, "x", None)
    invalid({"type": ["string", "null"]}, "1")
    valid({"anyOf": [{"type": "integer"}, {"type": "boolean"}]}, 5, True)
    invalid({"anyOf": [{"type": "integer"}, {"type": "boolean"}]}, '"5"')


def test_awkward_property_names_and_literals() -> None:
    schema = {"type": "object", "properties": {'we"ird\\key': {"type": "integer"}, "ünï": {}}}
    valid(schema, {'we"ird\\key': 1}, {"ünï": [1]})
    assert literal('a"b\\c\n\x01') == '"a\\"b\\\\c\\n\\x01"'
    assert rule_name("get_weather.v2") == "get-weather-v2"
    assert rule_name("___") == "x"


# --- tool calls --------------------------------------------------------------------------------
TOOLS = [
    ToolSpec(
        "get_weather",
        "Weather for a city.",
        {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
            "required": ["city"],
        },
    ),
    ToolSpec("list_files", "List files.", {"type": "object", "properties": {}}),
    ToolSpec("text", "A tool whose name clashes with a rule.", {}),
]


def test_tool_call_grammar_accepts_text_or_a_valid_call() -> None:
    grammar = tool_call_grammar(TOOLS)
    for text in (
        "Paris is the capital of France.",
        " {not a call, starts with a space}",
        "x",
        '{"tool": "get_weather", "arguments": {"city": "Paris"}}',
        '{"tool":"get_weather","arguments":{"city":"Paris","unit":"c"}}',
        '{"tool": "list_files", "arguments": {}}',
        '{"tool": "text", "arguments": {"anything": [1, 2]}}',
    ):
        assert matches(grammar, text), text
    for text in (
        "",
        '{"tool": "rm_rf", "arguments": {}}',
        '{"tool": "get_weather", "arguments": {}}',
        '{"tool": "get_weather", "arguments": {"city": 3}}',
        '{"tool": "get_weather", "arguments": {"city": "P"}} trailing',
        '{"tool": "get_weather"}',
        "{plain text that starts with a brace",
    ):
        assert not matches(grammar, text), text


def test_tool_call_grammar_can_require_a_call() -> None:
    grammar = tool_call_grammar(TOOLS[:1], allow_text=False)
    assert matches(grammar, '{"tool": "get_weather", "arguments": {"city": "Oslo"}}')
    assert not matches(grammar, "Oslo is cold.")


def test_tool_call_grammar_needs_tools() -> None:
    with pytest.raises(ValueError, match="at least one tool"):
        tool_call_grammar([])


def test_every_rule_name_is_unique_and_valid() -> None:
    tools = [ToolSpec("a-b", "", {}), ToolSpec("a_b", "", {}), ToolSpec("A.B", "", {})]
    names = [line.partition(" ::= ")[0] for line in tool_call_grammar(tools).splitlines()]
    assert len(names) == len(set(names))
    assert all(name == rule_name(name) for name in names)
