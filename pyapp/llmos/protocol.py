"""The one message protocol between the three rooms (UI, OS worker, kernel worker).

Every message is a JSON object with a ``type``. Requests carry an ``id`` that their reply echoes.

- ``request``  {id, method, params}            UI -> OS: call a method of the OS service
- ``reply``    {id, ok, result | error}         OS -> UI
- ``event``    {name, data}                     OS -> UI: progress, file changes, ...
- ``execute``  {id, code, files?}               anyone -> kernel: run Python; ``files`` maps
                                                relative paths to base64, written first
- ``stream``   {id, name: stdout|stderr, text}  kernel -> caller, while code runs
- ``result``   {id, stdout, stderr, result, error, files?, images?}  kernel -> caller, once per
                                                execute: files the code wrote (base64) and PNGs

The OS worker reaches the kernel through the page (``kernel.execute``/``kernel.result``, with
a ``generation`` that changes when the kernel restarted); the page never forwards anything from
the kernel to the OS as a request.
- ``interrupt``{id?}                            caller -> kernel host: stop the running code
- ``status``   {state, detail}                  kernel -> callers: booting, idle, busy, restarted

Errors inside replies are ``{code, message}`` with a user-readable ``message``.
"""

from __future__ import annotations

import json
from typing import Any, Literal, NotRequired, TypedDict

from llmos.errors import LlmosError, ProtocolError

PROTOCOL_VERSION = 1


class ErrorInfo(TypedDict):
    code: str
    message: str
    traceback: NotRequired[str]


class Request(TypedDict):
    type: Literal["request"]
    id: str
    method: str
    params: dict[str, Any]


class Reply(TypedDict):
    type: Literal["reply"]
    id: str
    ok: bool
    result: NotRequired[Any]
    error: NotRequired[ErrorInfo]


class Event(TypedDict):
    type: Literal["event"]
    name: str
    data: dict[str, Any]


class Execute(TypedDict):
    type: Literal["execute"]
    id: str
    code: str


class Stream(TypedDict):
    type: Literal["stream"]
    id: str
    name: Literal["stdout", "stderr"]
    text: str


class ExecError(TypedDict):
    type: str
    message: str
    traceback: str


class Result(TypedDict):
    type: Literal["result"]
    id: str
    stdout: str
    stderr: str
    result: str | None
    error: ExecError | None


Message = Request | Reply | Event | Execute | Stream | Result

_REQUIRED: dict[str, dict[str, type | tuple[type, ...]]] = {
    "request": {"id": str, "method": str, "params": dict},
    "reply": {"id": str, "ok": bool},
    "event": {"name": str, "data": dict},
    "execute": {"id": str, "code": str},
    "stream": {"id": str, "name": str, "text": str},
    "result": {"id": str, "stdout": str, "stderr": str},
    "interrupt": {},
    "status": {"state": str},
}


def parse(raw: str | dict[str, Any]) -> dict[str, Any]:
    """Check a message's shape (from JSON text or an already-decoded dict) and return it."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as error:
            raise ProtocolError(f"A message was not valid JSON: {error.msg}.") from error
    if not isinstance(raw, dict):
        raise ProtocolError("A message must be a JSON object.")
    kind = raw.get("type")
    if kind not in _REQUIRED:
        raise ProtocolError(f"Unknown message type {kind!r}.")
    for field, expected in _REQUIRED[kind].items():
        if not isinstance(raw.get(field), expected):
            raise ProtocolError(f"A '{kind}' message needs a '{field}' field.")
    return raw


def text_param(params: dict[str, Any], name: str, required: bool = True) -> str:
    """The method parameter ``name``: text, non-empty unless not ``required`` (then "" when
    absent)."""
    value = params.get(name, None if required else "")
    if not isinstance(value, str) or (required and not value.strip()):
        raise ProtocolError(f"The parameter '{name}' must be non-empty text.")
    return value


def request(id: str, method: str, params: dict[str, Any] | None = None) -> Request:
    return {"type": "request", "id": id, "method": method, "params": params or {}}


def reply_ok(id: str, result: Any) -> Reply:
    return {"type": "reply", "id": id, "ok": True, "result": result}


def reply_error(id: str, error: BaseException) -> Reply:
    return {"type": "reply", "id": id, "ok": False, "error": error_info(error)}


def error_info(error: BaseException) -> ErrorInfo:
    """Turn any exception into the ``{code, message}`` the UI shows."""
    if isinstance(error, LlmosError):
        return {"code": error.code, "message": str(error)}
    return {"code": "internal", "message": f"{type(error).__name__}: {error}"}


def event(name: str, **data: Any) -> Event:
    return {"type": "event", "name": name, "data": data}


def execute(id: str, code: str) -> Execute:
    return {"type": "execute", "id": id, "code": code}
