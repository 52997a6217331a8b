"""Checks tool arguments against the JSON Schema subset our tools declare.

Tools describe their input with JSON Schema (MCP's shape). Models, small ones especially, send
arguments that miss a field or have the wrong type; this turns that into one readable sentence
the model and the user can act on, before any tool code runs.
"""

from __future__ import annotations

from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


def problems(value: Any, schema: dict[str, Any], where: str = "arguments") -> list[str]:
    """Everything wrong with ``value`` under ``schema``; empty when it conforms."""
    expected = schema.get("type")
    if isinstance(expected, str) and not _is_type(value, expected):
        return [f"{where} must be {_article(expected)}, not {_describe(value)}"]
    if "enum" in schema and value not in schema["enum"]:
        choices = ", ".join(repr(choice) for choice in schema["enum"])
        return [f"{where} must be one of {choices}"]
    if isinstance(value, dict):
        return _object_problems(value, schema, where)
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        found: list[str] = []
        for index, item in enumerate(value):
            found += problems(item, schema["items"], f"{where}[{index}]")
        return found
    return []


def _object_problems(value: dict[str, Any], schema: dict[str, Any], where: str) -> list[str]:
    properties: dict[str, Any] = schema.get("properties", {})
    found = [
        f"{where} is missing '{name}'" for name in schema.get("required", []) if name not in value
    ]
    for name, item in value.items():
        if name in properties:
            found += problems(item, properties[name], f"'{name}'")
        elif schema.get("additionalProperties") is False:
            known = ", ".join(sorted(properties)) or "none"
            found.append(f"{where} has an unknown field '{name}' (known: {known})")
    return found


def _is_type(value: Any, expected: str) -> bool:
    if expected in ("integer", "number") and isinstance(value, bool):
        return False
    if expected == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(expected, (object,)))


def _article(name: str) -> str:
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    for name, types in _TYPES.items():
        if isinstance(value, types):
            return _article(name)
    return type(value).__name__
