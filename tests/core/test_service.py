"""The OS service as the UI calls it: every method through ``handle()``, errors as replies."""

from __future__ import annotations

import base64
import json
from typing import Any

import llmos
import pytest
from llmos import protocol
from llmos.platform import Storage
from llmos.platform.memory import MemoryStorage
from llmos.service import METHODS, WELCOME, OsService


class Ui:
    """Stands in for the UI: holds the service, sends requests, collects events."""

    def __init__(self) -> None:
        self.events: list[protocol.Event] = []
        self._next = 0
        self.service: OsService

    async def start(self, user: Storage, private: Storage | None = None) -> Ui:
        self.service = await OsService.create(user, private or MemoryStorage(), self.events.append)
        return self

    async def call(self, method: str, **params: Any) -> protocol.Reply:
        self._next += 1
        request = {"type": "request", "id": f"r{self._next}", "method": method, "params": params}
        reply = await self.service.handle(request)
        assert reply["id"] == f"r{self._next}"
        assert reply["type"] == "reply"
        json.dumps(reply)  # every reply must survive postMessage as JSON
        return reply

    async def ok(self, method: str, **params: Any) -> Any:
        reply = await self.call(method, **params)
        assert reply["ok"], reply
        return reply["result"]

    async def fails(self, method: str, code: str, **params: Any) -> str:
        reply = await self.call(method, **params)
        assert reply["ok"] is False, reply
        assert "result" not in reply
        error = reply["error"]
        assert error["code"] == code, error
        assert error["message"]
        return error["message"]


async def start(storage: Storage, private: Storage | None = None) -> Ui:
    return await Ui().start(storage, private)


# --- start-up -----------------------------------------------------------------------------------


async def test_new_user_volume_gets_the_welcome_file(storage: Storage) -> None:
    ui = await start(storage)
    assert await storage.read("README.md") == WELCOME.encode("utf-8")
    listed = await ui.ok("fs.list", path="user")
    assert [e["path"] for e in listed] == ["user/README.md"]
    assert ui.events == [
        protocol.event("fs.changed", kind="created", path="user/README.md", dest="")
    ]


async def test_existing_user_files_are_not_touched_at_start(storage: Storage) -> None:
    await storage.write("mine.md", b"my notes")
    ui = await start(storage)
    assert await storage.stat("README.md") is None
    assert await ui.ok("fs.read", path="user/mine.md") == {
        "path": "user/mine.md",
        "text": "my notes",
    }
    assert ui.events == []


async def test_a_folder_alone_also_counts_as_not_empty(storage: Storage) -> None:
    await storage.mkdir("projects")
    await start(storage)
    assert await storage.stat("README.md") is None


async def test_restart_does_not_reseed_or_overwrite_the_welcome_file(storage: Storage) -> None:
    ui = await start(storage)
    await ui.ok("fs.write", path="user/README.md", text="edited by me")
    await start(storage)
    assert await storage.read("README.md") == b"edited by me"


async def test_os_info_reports_version_and_volumes(storage: Storage) -> None:
    ui = await start(storage)
    info = await ui.ok("os.info")
    assert info["version"] == llmos.__version__
    assert info["volumes"] == [
        {"name": "system", "writable": False, "description": "Shipped"},
        {"name": "user", "writable": True, "description": "Your files"},
    ]
    assert info["warnings"] == []


async def test_os_info_passes_on_settings_warnings(storage: Storage) -> None:
    private = MemoryStorage()
    await private.write("settings.json", b"{broken")
    await private.write("secrets.json", b"[]")
    ui = await start(storage, private)
    warnings = (await ui.ok("os.info"))["warnings"]
    assert len(warnings) == 2
    assert "settings.json.corrupt" in warnings[0]
    assert "secrets.json.corrupt" in warnings[1]
    assert await private.read("settings.json.corrupt") == b"{broken"


# --- the shipped system volume ------------------------------------------------------------------


async def test_system_volume_ships_docs_and_is_read_only(storage: Storage) -> None:
    ui = await start(storage)
    names = [e["name"] for e in await ui.ok("fs.list", path="system")]
    assert {"docs", "agents"} <= set(names)
    welcome = await ui.ok("fs.read", path="system/docs/welcome.md")
    assert welcome["text"].strip()
    message = await ui.fails("fs.write", "read_only", path="system/docs/welcome.md", text="x")
    assert "read-only 'system' volume" in message
    await ui.fails("fs.delete", "read_only", path="system/docs/welcome.md")
    assert (await ui.ok("fs.read", path="system/docs/welcome.md")) == welcome


# --- files --------------------------------------------------------------------------------------


async def test_write_read_list_rename_delete(storage: Storage) -> None:
    ui = await start(storage)
    assert await ui.ok("fs.write", path="user/notes/today.md", text="héllo") == {
        "path": "user/notes/today.md",
        "size": 6,
    }
    assert await ui.ok("fs.read", path="user/notes/today.md") == {
        "path": "user/notes/today.md",
        "text": "héllo",
    }
    [entry] = await ui.ok("fs.list", path="user/notes")
    assert {k: entry[k] for k in ("path", "name", "dir", "size")} == {
        "path": "user/notes/today.md",
        "name": "today.md",
        "dir": False,
        "size": 6,
    }
    assert isinstance(entry["mtime"], float)
    assert await ui.ok("fs.mkdir", path="user/archive") == {"path": "user/archive"}
    assert await ui.ok("fs.rename", path="user/notes/today.md", dest="user/archive/t.md") == {
        "path": "user/archive/t.md"
    }
    assert await ui.ok("fs.read", path="user/archive/t.md") == {
        "path": "user/archive/t.md",
        "text": "héllo",
    }
    assert await ui.ok("fs.delete", path="user/archive") == {"path": "user/archive"}
    listed = await ui.ok("fs.list", path="user")
    assert [(e["name"], e["dir"]) for e in listed] == [("notes", True), ("README.md", False)]


async def test_file_changes_reach_the_ui_as_events(storage: Storage) -> None:
    ui = await start(storage)
    ui.events.clear()
    await ui.ok("fs.write", path="user/a.md", text="1")
    await ui.ok("fs.rename", path="user/a.md", dest="user/b.md")
    await ui.ok("fs.delete", path="user/b.md")
    assert [(e["name"], e["data"]) for e in ui.events] == [
        ("fs.changed", {"kind": "created", "path": "user/a.md", "dest": ""}),
        ("fs.changed", {"kind": "moved", "path": "user/a.md", "dest": "user/b.md"}),
        ("fs.changed", {"kind": "deleted", "path": "user/b.md", "dest": ""}),
    ]


async def test_binary_data_round_trips_through_base64(storage: Storage) -> None:
    ui = await start(storage)
    data = bytes(range(256)) + b"\x00\xff" * 100
    encoded = base64.b64encode(data).decode("ascii")
    assert await ui.ok("fs.write", path="user/blob.bin", base64=encoded) == {
        "path": "user/blob.bin",
        "size": len(data),
    }
    assert await storage.read("blob.bin") == data
    read = await ui.ok("fs.read", path="user/blob.bin", encoding="base64")
    assert read == {"path": "user/blob.bin", "base64": encoded, "size": len(data)}
    assert base64.b64decode(read["base64"]) == data


async def test_text_files_can_be_downloaded_as_base64_too(storage: Storage) -> None:
    ui = await start(storage)
    await ui.ok("fs.write", path="user/a.md", text="plain")
    read = await ui.ok("fs.read", path="user/a.md", encoding="base64")
    assert base64.b64decode(read["base64"]) == b"plain"


async def test_reading_a_binary_file_as_text_says_to_download_it(storage: Storage) -> None:
    ui = await start(storage)
    await ui.ok(
        "fs.write", path="user/photo.jpg", base64=base64.b64encode(b"\xff\xd8\xff").decode()
    )
    message = await ui.fails("fs.read", "binary", path="user/photo.jpg")
    assert "download it" in message


async def test_invalid_base64_is_refused_and_writes_nothing(storage: Storage) -> None:
    ui = await start(storage)
    message = await ui.fails("fs.write", "protocol", path="user/x.bin", base64="not base64!")
    assert "base64" in message
    assert await storage.stat("x.bin") is None


async def test_a_full_volume_is_a_quota_reply_and_the_old_file_survives() -> None:
    user = MemoryStorage(quota_bytes=len(WELCOME.encode()) + 100)
    ui = await start(user)
    await ui.ok("fs.write", path="user/draft.md", text="old draft")
    ui.events.clear()
    message = await ui.fails("fs.write", "quota", path="user/draft.md", text="x" * 200)
    assert "not saved" in message
    assert await ui.ok("fs.read", path="user/draft.md") == {
        "path": "user/draft.md",
        "text": "old draft",
    }
    assert ui.events == []


@pytest.mark.parametrize(
    ("method", "params", "code", "shown"),
    [
        ("fs.read", {"path": "user/../secrets.json"}, "bad_path", "'..'"),
        ("fs.read", {"path": "/etc/passwd"}, "bad_path", "absolute"),
        ("fs.write", {"path": "user/a\x00b", "text": "x"}, "bad_path", "NUL byte"),
        ("fs.read", {"path": "user/missing.md"}, "not_found", "'user/missing.md' does not exist"),
        ("fs.list", {"path": "home"}, "not_found", "no volume 'home'"),
        ("fs.list", {"path": "user/missing"}, "not_found", "does not exist"),
        ("fs.delete", {"path": "user/missing.md"}, "not_found", "does not exist"),
        ("fs.rename", {"path": "user/README.md", "dest": "user/README.md"}, "exists", "exists"),
        ("fs.read", {"path": "user"}, "not_a_file", "is a folder"),
        ("fs.mkdir", {"path": "user/README.md"}, "exists", "already a file"),
        ("fs.delete", {"path": "user"}, "bad_path", "root of a volume"),
    ],
)
async def test_file_errors_become_error_replies(
    storage: Storage, method: str, params: dict[str, Any], code: str, shown: str
) -> None:
    ui = await start(storage)
    message = await ui.fails(method, code, **params)
    assert shown in message
    assert await storage.read("README.md") == WELCOME.encode()


@pytest.mark.parametrize(
    ("method", "params", "name"),
    [
        ("fs.read", {}, "path"),
        ("fs.read", {"path": 7}, "path"),
        ("fs.list", {"path": None}, "path"),
        ("fs.write", {"path": "user/a.md"}, "text"),
        ("fs.write", {"path": "user/a.md", "text": ["x"]}, "text"),
        ("fs.write", {"path": "user/a.md", "base64": 5}, "base64"),
        ("fs.rename", {"path": "user/README.md"}, "dest"),
        ("fs.mkdir", {"path": ["user", "x"]}, "path"),
        ("settings.set", {"value": 1}, "key"),
    ],
)
async def test_missing_or_wrong_parameters_are_named(
    storage: Storage, method: str, params: dict[str, Any], name: str
) -> None:
    ui = await start(storage)
    message = await ui.fails(method, "protocol", **params)
    assert message == f"The parameter '{name}' must be text."
    assert not await storage.stat("a.md")


# --- settings -----------------------------------------------------------------------------------


async def test_settings_set_then_get_and_persisted(storage: Storage) -> None:
    private = MemoryStorage()
    ui = await start(storage, private)
    assert await ui.ok("settings.set", key="theme", value="dark") == {"key": "theme"}
    assert await ui.ok("settings.set", key="font", value={"size": 14}) == {"key": "font"}
    got = await ui.ok("settings.get")
    assert got == {"settings": {"font": {"size": 14}, "theme": "dark"}, "secrets": []}
    restarted = await start(storage, private)
    assert (await restarted.ok("settings.get"))["settings"]["theme"] == "dark"


async def test_secrets_are_listed_by_name_only(storage: Storage) -> None:
    ui = await start(storage)
    await ui.service.secrets.set("OPENAI_API_KEY", "sk-live-123456")
    await ui.service.secrets.set("GITHUB_TOKEN", "ghp_abcdef")
    reply = await ui.call("settings.get")
    assert reply["ok"]
    assert reply["result"]["secrets"] == ["GITHUB_TOKEN", "OPENAI_API_KEY"]
    text = json.dumps(reply)
    assert "sk-live-123456" not in text
    assert "ghp_abcdef" not in text
    assert "sk-live-123456" not in json.dumps(await ui.ok("os.info"))


async def test_secrets_are_not_reachable_through_the_file_system(storage: Storage) -> None:
    private = MemoryStorage()
    ui = await start(storage, private)
    await ui.service.secrets.set("KEY", "sk-hidden")
    for path in ("user/secrets.json", "user/../secrets.json", "system/secrets.json"):
        reply = await ui.call("fs.read", path=path)
        assert reply["ok"] is False
    assert [v.name for v in ui.service.vfs.volumes] == ["system", "user"]


# --- malformed requests -------------------------------------------------------------------------


async def test_unknown_method_is_an_error_reply(storage: Storage) -> None:
    ui = await start(storage)
    message = await ui.fails("fs.format", "protocol")
    assert message == "Unknown method 'fs.format'."


async def test_malformed_json_is_an_error_reply(storage: Storage) -> None:
    ui = await start(storage)
    reply = await ui.service.handle('{"type": "request", "id": "1", "method"')
    assert reply["ok"] is False
    assert reply["id"] == ""
    assert reply["error"]["code"] == "protocol"
    assert "not valid JSON" in reply["error"]["message"]


async def test_json_text_requests_are_answered(storage: Storage) -> None:
    ui = await start(storage)
    raw = json.dumps(protocol.request("t1", "fs.read", {"path": "user/README.md"}))
    reply = await ui.service.handle(raw)
    assert reply["ok"]
    assert reply["id"] == "t1"
    assert reply["result"]["text"] == WELCOME


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "request", "id": "x9", "method": "fs.list"},
        '{"type": "request", "id": "x9", "method": "fs.list"}',
        '{"type": "request", "id": "x9", "params": {}}',
        {"type": "request", "id": "x9", "method": 5, "params": {}},
    ],
    ids=["dict-without-params", "json-without-params", "json-without-method", "method-not-text"],
)
async def test_bad_requests_are_answered_under_their_own_id(
    storage: Storage, raw: str | dict[str, Any]
) -> None:
    ui = await start(storage)
    reply = await ui.service.handle(raw)
    assert reply["ok"] is False
    assert reply["id"] == "x9"  # the UI can match the error to its call instead of hanging
    assert reply["error"]["code"] == "protocol"


@pytest.mark.parametrize(
    "raw",
    [
        {"type": "event", "name": "fs.changed", "data": {}},
        {"type": "reply", "id": "r1", "ok": True},
        {"type": "execute", "id": "e1", "code": "1"},
        {"type": "interrupt"},
    ],
)
async def test_other_message_types_are_refused(storage: Storage, raw: dict[str, Any]) -> None:
    ui = await start(storage)
    reply = await ui.service.handle(raw)
    assert reply["ok"] is False
    assert reply["error"]["code"] == "protocol"
    assert f"takes requests, not '{raw['type']}'" in reply["error"]["message"]
    assert reply["id"] == raw.get("id", "")


@pytest.mark.parametrize("raw", ["[]", "null", "42", [], None])
async def test_non_object_messages_are_refused(storage: Storage, raw: Any) -> None:
    ui = await start(storage)
    reply = await ui.service.handle(raw)
    assert reply == {
        "type": "reply",
        "id": "",
        "ok": False,
        "error": {"code": "protocol", "message": "A message must be a JSON object."},
    }


async def test_a_crashing_handler_becomes_an_internal_error(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(service: OsService, params: dict[str, Any]) -> None:
        raise RuntimeError("unexpected")

    monkeypatch.setitem(METHODS, "test.broken", broken)
    ui = await start(storage)
    reply = await ui.call("test.broken")
    assert reply["ok"] is False
    assert reply["error"] == {"code": "internal", "message": "RuntimeError: unexpected"}


def test_every_method_the_ui_uses_is_registered() -> None:
    assert {
        "os.info",
        "fs.list",
        "fs.read",
        "fs.write",
        "fs.mkdir",
        "fs.rename",
        "fs.delete",
        "settings.get",
        "settings.set",
    } <= set(METHODS)


async def test_subsystem_methods_load_on_first_use() -> None:
    ui = await Ui().start(MemoryStorage())
    assert (await ui.ok("chat.list")) == []
    assert {"chat.send", "chat.stop", "llm.settings.get", "llm.complete"} <= set(METHODS)
    unknown = await ui.call("chat.fly")
    assert unknown["error"]["message"] == "Unknown method 'chat.fly'."
