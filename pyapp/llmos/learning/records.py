"""JSON records in the user volume, one ``<folder>/<id>.json`` file each (traces, proposals).

A record is written whole (the volume's writes are atomic), so a crash leaves the old file or
the new one. A damaged file is an error from ``get`` and left out of ``list``, never deleted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import fields, is_dataclass
from typing import Any, Generic, Protocol, TypeVar

from llmos.errors import NotFoundError, StorageError
from llmos.vfs import Vfs


class Record(Protocol):
    id: str

    def to_dict(self) -> dict[str, Any]: ...


R = TypeVar("R", bound=Record)
T = TypeVar("T")


def known_fields(cls: type[T], data: dict[str, Any]) -> T:
    """A dataclass from a dict, ignoring keys it does not know (files from a newer LLMos)."""
    assert is_dataclass(cls)
    known = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in known})


class JsonRecords(Generic[R]):
    """The records of one kind (``noun``) in ``folder``; ``list`` orders them by ``order``."""

    def __init__(
        self,
        vfs: Vfs,
        folder: str,
        noun: str,
        load: Callable[[dict[str, Any]], R],
        order: Callable[[R], Any],
        *,
        indent: int | None = None,
    ) -> None:
        self.vfs = vfs
        self.folder = folder
        self._noun = noun
        self._load = load
        self._order = order
        self._indent = indent

    def _path(self, record_id: str) -> str:
        if not record_id or "/" in record_id or record_id.startswith("."):
            raise NotFoundError(f"There is no {self._noun} '{record_id}'.")
        return f"{self.folder}/{record_id}.json"

    async def save(self, record: R) -> None:
        separators = None if self._indent else (",", ":")
        text = json.dumps(
            record.to_dict(), ensure_ascii=False, indent=self._indent, separators=separators
        )
        await self.vfs.write_text(self._path(record.id), text)

    async def get(self, record_id: str) -> R:
        path = self._path(record_id)
        if not await self.vfs.exists(path):
            raise NotFoundError(f"There is no {self._noun} '{record_id}'.")
        try:
            return self._load(json.loads(await self.vfs.read_text(path)))
        except (ValueError, TypeError) as error:
            raise StorageError(f"The {self._noun} {path} is damaged ({error}).") from error

    async def list(self) -> list[R]:
        """Every readable record in order (damaged files are left out)."""
        try:
            entries = await self.vfs.list(self.folder)
        except NotFoundError:
            return []
        found = []
        for entry in entries:
            if entry.is_dir or not entry.name.endswith(".json"):
                continue
            try:
                found.append(await self.get(entry.name[:-5]))
            except (StorageError, NotFoundError):
                continue
        return sorted(found, key=self._order)
