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
from dataclasses import asdict, dataclass, field
from typing import Any

from llmos.learning.records import JsonRecords, known_fields
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
        return known_fields(cls, data)


def new_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(3)


class ProposalStore(JsonRecords[Proposal]):
    """Proposals as JSON files in the user volume, oldest first."""

    def __init__(self, vfs: Vfs, folder: str = FOLDER) -> None:
        super().__init__(
            vfs, folder, "proposal", Proposal.from_dict, lambda p: (p.created, p.id), indent=1
        )


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
