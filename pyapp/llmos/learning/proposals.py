"""Skill proposals (``user/learning/proposals/<id>.json``) and the reflection log
(``user/learning/reflection.jsonl``, one JSON object per step, newest last).

A proposal is written whole (the volume's writes are atomic), so a crash leaves either the
old file or the new one. Only the user's accept turns a proposal into a skill.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from llmos.errors import NotFoundError, StorageError
from llmos.vfs import Vfs

FOLDER = "user/learning/proposals"
LOG = "user/learning/reflection.jsonl"
LOG_LINES = 1_000  # the log keeps its newest lines
KINDS = ("new", "revise", "retire")
STATUSES = ("pending", "accepted", "rejected")


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


@dataclass
class Proposal:
    id: str
    kind: str  # "new" | "revise" | "retire"
    skill: str
    markdown: str
    sources: list[str]
    reason: str
    status: str = "pending"
    created: str = field(default_factory=now)
    decided: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Proposal:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def new_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


class ProposalStore:
    def __init__(self, vfs: Vfs, folder: str = FOLDER) -> None:
        self.vfs = vfs
        self.folder = folder

    def _path(self, proposal_id: str) -> str:
        if not proposal_id or "/" in proposal_id or proposal_id.startswith("."):
            raise NotFoundError(f"There is no proposal '{proposal_id}'.")
        return f"{self.folder}/{proposal_id}.json"

    async def save(self, proposal: Proposal) -> None:
        text = json.dumps(proposal.to_dict(), ensure_ascii=False, indent=1)
        await self.vfs.write_text(self._path(proposal.id), text)

    async def get(self, proposal_id: str) -> Proposal:
        path = self._path(proposal_id)
        if not await self.vfs.exists(path):
            raise NotFoundError(f"There is no proposal '{proposal_id}'.")
        try:
            return Proposal.from_dict(json.loads(await self.vfs.read_text(path)))
        except (ValueError, TypeError) as error:
            raise StorageError(f"The proposal {path} is damaged ({error}).") from error

    async def list(self) -> list[Proposal]:
        """Every readable proposal, oldest first."""
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
            except StorageError:
                continue
        return sorted(found, key=lambda p: (p.created, p.id))


class ReflectionLog:
    """Appends steps to the log file and announces each one (``learning.log`` events)."""

    def __init__(self, vfs: Vfs, announce: Callable[[dict[str, Any]], None]) -> None:
        self.vfs = vfs
        self.announce = announce

    async def add(self, step: str, message: str, **data: Any) -> dict[str, Any]:
        entry = {"time": now(), "step": step, "message": message, **data}
        lines = (await self.read_lines())[-(LOG_LINES - 1) :]
        lines.append(json.dumps(entry, ensure_ascii=False))
        await self.vfs.write_text(LOG, "\n".join(lines) + "\n")
        self.announce(entry)
        return entry

    async def read_lines(self) -> list[str]:
        if not await self.vfs.exists(LOG):
            return []
        return [line for line in (await self.vfs.read_text(LOG)).splitlines() if line.strip()]

    async def entries(self, limit: int = 200) -> list[dict[str, Any]]:
        out = []
        for line in (await self.read_lines())[-limit:]:
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                out.append(value)
        return out
