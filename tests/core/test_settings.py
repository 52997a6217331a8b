"""Settings and secrets: persisted JSON documents that never lose data and never leak secrets."""

from __future__ import annotations

import json

import pytest
from llmos.platform import Storage
from llmos.settings import Secrets, Settings


async def test_fresh_storage_gives_defaults_without_warning(storage: Storage) -> None:
    settings = Settings(storage)
    await settings.load()
    assert settings.as_dict() == {}
    assert settings.get("theme") is None
    assert settings.get("theme", "dark") == "dark"
    assert settings.warning == ""
    assert await storage.stat("settings.json") is None  # loading alone writes nothing


async def test_set_persists_across_reloads(storage: Storage) -> None:
    settings = Settings(storage)
    await settings.load()
    await settings.set("theme", "light")
    await settings.set("editor", {"tabs": 4, "wrap": True, "rulers": [80, 100]})

    reloaded = Settings(storage)
    await reloaded.load()
    assert reloaded.get("theme") == "light"
    assert reloaded.get("editor") == {"tabs": 4, "wrap": True, "rulers": [80, 100]}
    assert reloaded.keys() == ["editor", "theme"]
    stored = json.loads((await storage.read("settings.json")).decode("utf-8"))
    assert stored == reloaded.as_dict()


async def test_delete_removes_a_key_for_good(storage: Storage) -> None:
    settings = Settings(storage)
    await settings.load()
    await settings.set("a", 1)
    await settings.set("b", 2)
    await settings.delete("a")
    await settings.delete("never-set")  # deleting a missing key is harmless
    reloaded = Settings(storage)
    await reloaded.load()
    assert reloaded.as_dict() == {"b": 2}


async def test_as_dict_is_a_copy(storage: Storage) -> None:
    settings = Settings(storage)
    await settings.load()
    await settings.set("theme", "dark")
    settings.as_dict()["theme"] = "tampered"
    assert settings.get("theme") == "dark"


async def test_unstorable_value_is_refused_and_nothing_changes(storage: Storage) -> None:
    settings = Settings(storage)
    await settings.load()
    await settings.set("theme", "dark")
    before = await storage.read("settings.json")
    with pytest.raises(TypeError):
        await settings.set("theme", object())
    with pytest.raises(TypeError):
        await settings.set("other", {1, 2})
    assert settings.as_dict() == {"theme": "dark"}
    assert await storage.read("settings.json") == before


@pytest.mark.parametrize(
    "corrupt",
    [
        b'{"theme": "dark",',  # truncated by a crash
        b"[1, 2, 3]",  # valid JSON, but not an object
        b'"just a string"',
        b"",
        b"\xff\xfe\x00garbage",  # not UTF-8
    ],
)
async def test_corrupt_settings_are_set_aside_with_a_warning(
    storage: Storage, corrupt: bytes
) -> None:
    await storage.write("settings.json", corrupt)
    settings = Settings(storage)
    await settings.load()

    assert settings.as_dict() == {}
    assert "settings.json was unreadable" in settings.warning
    assert "defaults are in use" in settings.warning
    assert "settings.json.corrupt" in settings.warning
    assert await storage.read("settings.json.corrupt") == corrupt
    assert await storage.read("settings.json") == corrupt  # the original is not destroyed


async def test_settings_saved_after_corruption_keep_the_set_aside_copy(storage: Storage) -> None:
    await storage.write("settings.json", b"{oops")
    settings = Settings(storage)
    await settings.load()
    await settings.set("theme", "light")

    reloaded = Settings(storage)
    await reloaded.load()
    assert reloaded.get("theme") == "light"
    assert reloaded.warning == ""
    assert await storage.read("settings.json.corrupt") == b"{oops"


async def test_secrets_are_a_separate_document(storage: Storage) -> None:
    settings, secrets = Settings(storage), Secrets(storage)
    await settings.load()
    await secrets.load()
    await settings.set("theme", "dark")
    await secrets.set("OPENAI_API_KEY", "sk-very-secret")

    assert settings.as_dict() == {"theme": "dark"}
    assert secrets.keys() == ["OPENAI_API_KEY"]
    assert b"sk-very-secret" not in await storage.read("settings.json")
    reloaded = Secrets(storage)
    await reloaded.load()
    assert reloaded.get("OPENAI_API_KEY") == "sk-very-secret"


async def test_corrupt_secrets_are_set_aside_too(storage: Storage) -> None:
    await storage.write("secrets.json", b'{"KEY": "sk-')
    secrets = Secrets(storage)
    await secrets.load()
    assert secrets.keys() == []
    assert "secrets.json.corrupt" in secrets.warning
    assert await storage.read("secrets.json.corrupt") == b'{"KEY": "sk-'
    assert "sk-" not in secrets.warning  # the warning is shown in the UI
