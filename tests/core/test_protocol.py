"""The message protocol between UI, OS worker and kernel: shapes are checked at the border."""

from __future__ import annotations

import json
from typing import Any

import pytest
from llmos import protocol
from llmos.errors import NotFoundError, ProtocolError, QuotaError


@pytest.mark.parametrize(
    "message",
    [
        {"type": "request", "id": "1", "method": "fs.list", "params": {"path": "user"}},
        {"type": "reply", "id": "1", "ok": True, "result": []},
        {"type": "reply", "id": "1", "ok": False, "error": {"code": "x", "message": "y"}},
        {"type": "event", "name": "fs.changed", "data": {}},
        {"type": "execute", "id": "2", "code": "1 + 1"},
        {"type": "stream", "id": "2", "name": "stdout", "text": "hi\n"},
        {"type": "result", "id": "2", "stdout": "", "stderr": "", "result": "2", "error": None},
        {"type": "interrupt"},
        {"type": "status", "state": "idle", "detail": ""},
    ],
)
def test_well_formed_messages_pass_as_dicts_and_as_json(message: dict[str, Any]) -> None:
    assert protocol.parse(message) == message
    assert protocol.parse(json.dumps(message)) == message


@pytest.mark.parametrize("raw", ["{not json", "", '{"type": "request",', "nul\x00"])
def test_invalid_json_is_a_protocol_error(raw: str) -> None:
    with pytest.raises(ProtocolError, match="not valid JSON"):
        protocol.parse(raw)


@pytest.mark.parametrize("raw", ["[1, 2]", "42", '"request"', "null", "true"])
def test_json_that_is_not_an_object_is_refused(raw: str) -> None:
    with pytest.raises(ProtocolError, match="must be a JSON object"):
        protocol.parse(raw)


@pytest.mark.parametrize("raw", [[], None, 3, "[]"])
def test_non_dict_values_are_refused(raw: Any) -> None:
    with pytest.raises(ProtocolError, match="must be a JSON object"):
        protocol.parse(raw)


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ({}, "None"),
        ({"id": "1"}, "None"),
        ({"type": "bogus", "id": "1"}, "'bogus'"),
        ({"type": 7}, "7"),
        ({"type": "REQUEST", "id": "1", "method": "m", "params": {}}, "'REQUEST'"),
    ],
)
def test_unknown_or_missing_type_is_refused(message: dict[str, Any], shown: str) -> None:
    with pytest.raises(ProtocolError, match="Unknown message type") as caught:
        protocol.parse(message)
    assert shown in str(caught.value)


@pytest.mark.parametrize(
    ("message", "field"),
    [
        ({"type": "request", "method": "fs.list", "params": {}}, "id"),
        ({"type": "request", "id": 1, "method": "fs.list", "params": {}}, "id"),
        ({"type": "request", "id": "1", "params": {}}, "method"),
        ({"type": "request", "id": "1", "method": "fs.list"}, "params"),
        ({"type": "request", "id": "1", "method": "fs.list", "params": []}, "params"),
        ({"type": "request", "id": "1", "method": "fs.list", "params": None}, "params"),
        ({"type": "reply", "id": "1", "ok": "yes"}, "ok"),
        ({"type": "reply", "id": "1", "ok": 1}, "ok"),
        ({"type": "event", "name": "x"}, "data"),
        ({"type": "execute", "id": "1", "code": b"print()"}, "code"),
        ({"type": "stream", "id": "1", "name": "stdout"}, "text"),
        ({"type": "result", "id": "1", "stdout": ""}, "stderr"),
        ({"type": "status"}, "state"),
    ],
)
def test_missing_or_mistyped_fields_are_named(message: dict[str, Any], field: str) -> None:
    kind = message["type"]
    with pytest.raises(ProtocolError, match=f"A '{kind}' message needs a '{field}' field"):
        protocol.parse(message)


def test_protocol_errors_have_a_stable_code() -> None:
    with pytest.raises(ProtocolError) as caught:
        protocol.parse("{")
    assert caught.value.code == "protocol"


def test_request_builder_fills_in_params() -> None:
    built = protocol.request("9", "os.info")
    assert built == {"type": "request", "id": "9", "method": "os.info", "params": {}}
    assert protocol.parse(dict(built)) == built
    assert protocol.request("9", "fs.list", {"path": "user"})["params"] == {"path": "user"}


def test_reply_and_event_builders_produce_valid_json_messages() -> None:
    for message in (
        protocol.reply_ok("1", {"size": 3}),
        protocol.reply_error("1", NotFoundError("'user/x' does not exist.")),
        protocol.event("fs.changed", kind="created", path="user/a.md"),
        protocol.execute("2", "print(1)"),
    ):
        assert protocol.parse(json.dumps(message)) == message


def test_reply_error_carries_code_and_user_message() -> None:
    reply = protocol.reply_error("5", QuotaError("Storage is full: the file was not saved."))
    assert reply == {
        "type": "reply",
        "id": "5",
        "ok": False,
        "error": {"code": "quota", "message": "Storage is full: the file was not saved."},
    }


def test_unexpected_exceptions_become_internal_errors_with_their_type() -> None:
    info = protocol.error_info(KeyError("boom"))
    assert info == {"code": "internal", "message": "KeyError: 'boom'"}
    assert protocol.error_info(ValueError("bad value"))["message"] == "ValueError: bad value"


def test_event_builder_keeps_its_data() -> None:
    built = protocol.event("progress", step=2, of=5)
    assert built == {"type": "event", "name": "progress", "data": {"step": 2, "of": 5}}
