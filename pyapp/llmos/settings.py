"""Settings and secrets: two separate JSON documents in OS-private storage.

Neither lives in a VFS volume, so neither reaches user code, memory, traces, exports or git.
A corrupt document is set aside (``*.corrupt``) and the defaults are used, with a warning the
UI shows; nothing is silently discarded.
"""

from __future__ import annotations

import json
from typing import Any

from llmos.errors import NotFoundError
from llmos.platform import Storage


class JsonDocument:
    """A JSON object persisted as one file, written atomically by the storage."""

    def __init__(self, storage: Storage, name: str) -> None:
        self._storage = storage
        self._name = name
        self._data: dict[str, Any] = {}
        self.warning = ""

    async def load(self) -> None:
        try:
            raw = await self._storage.read(self._name)
        except NotFoundError:
            self._data = {}
            return
        try:
            data = json.loads(raw.decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except (ValueError, UnicodeDecodeError) as error:
            await self._storage.write(f"{self._name}.corrupt", raw)
            self._data = {}
            self.warning = (
                f"{self._name} was unreadable ({error}); defaults are in use and the old "
                f"contents were kept as {self._name}.corrupt."
            )
            return
        self._data = data

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def keys(self) -> list[str]:
        return sorted(self._data)

    def as_dict(self) -> dict[str, Any]:
        return dict(self._data)

    async def set(self, key: str, value: Any) -> None:
        json.dumps(value)  # refuse what cannot be stored before changing anything
        self._data[key] = value
        await self._save()

    async def delete(self, key: str) -> None:
        self._data.pop(key, None)
        await self._save()

    async def _save(self) -> None:
        text = json.dumps(self._data, indent=2, sort_keys=True)
        await self._storage.write(self._name, text.encode("utf-8"))


class Settings(JsonDocument):
    """User preferences (theme, model choices...). Safe to show in the UI."""

    def __init__(self, storage: Storage) -> None:
        super().__init__(storage, "settings.json")


class Secrets(JsonDocument):
    """API keys and tokens. Only the OS worker reads them; the UI sees names, never values."""

    def __init__(self, storage: Storage) -> None:
        super().__init__(storage, "secrets.json")
