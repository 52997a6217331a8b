"""What the agent is told about skills: progressive disclosure.

The system prompt lists only enabled skills, by name and description, capped at
:data:`MAX_LISTED`: the ones relevant to the user's message first (by meaning, through memory,
where every enabled skill is remembered as a ``skill`` memory; by shared words otherwise).
The body of a skill reaches the model only when it calls ``load_skill``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Protocol

from llmos.skills.store import SkillInfo, SkillStore

if TYPE_CHECKING:
    from llmos.memory.host import Hit, MemoryHost

MAX_LISTED = 20
LOCAL_LISTED = 3  # the in-page model reads ~14 tokens/s: a short list
MEMORY_KIND = "skill"
SKILLS_PROMPT = (
    "Skills: instructions (and scripts) that worked before for tasks like these. When one fits "
    "the request, call load_skill with its name before you start and follow it; run its "
    "scripts with execute_python (they are at skills/<name>/scripts/ in the working "
    "directory). Enabled skills, most relevant first:"
)
_WORD = re.compile(r"\w+")


class SkillRecall(Protocol):
    """What ordering by meaning needs from memory (:class:`llmos.memory.host.MemoryHost`)."""

    async def recall_if_ready(self, query: str, k: int, kinds: Iterable[str]) -> list[Hit]: ...


async def skills_prompt(
    store: SkillStore, request: str, memory: SkillRecall | None = None, limit: int = MAX_LISTED
) -> str:
    """The skills block of the system prompt for ``request`` ("" when no skill is enabled)."""
    enabled = [info for info in await store.list() if info.enabled and info.problem is None]
    if not enabled:
        return ""
    ranked = await rank(enabled, request, memory)
    lines = [f"- {info.name}: {' '.join(info.description.split())}" for info in ranked[:limit]]
    if len(ranked) > limit:
        lines.append(f"({len(ranked) - limit} more enabled skills are not listed.)")
    return SKILLS_PROMPT + "\n" + "\n".join(lines)


async def agent_skills_prompt(
    store: SkillStore, request: str, memory: object | None, limit: int | None = None
) -> str:
    """:func:`skills_prompt` for an agent turn: with the OS's memory, skills are ranked by
    meaning and (in the background, for the next turns) remembered as they are now."""
    host = None
    if memory is not None:
        from llmos.memory.host import MemoryHost

        host = memory if isinstance(memory, MemoryHost) else None
    if host is not None:
        host.schedule("the skills", lambda: remember_skills(store, host))
    return await skills_prompt(store, request, host, limit or MAX_LISTED)


async def rank(infos: list[SkillInfo], request: str, memory: SkillRecall | None) -> list[SkillInfo]:
    """``infos`` most relevant first: recalled by meaning, then by words shared with the
    request, then by name."""
    by_name = {info.name: info for info in infos}
    recalled: list[str] = []
    if memory is not None and request.strip():
        for hit in await memory.recall_if_ready(request, len(infos), [MEMORY_KIND]):
            name = hit.record.source.ref
            if name in by_name and name not in recalled:
                recalled.append(name)
    words = set(_WORD.findall(request.lower()))
    rest = sorted(
        (info for info in infos if info.name not in recalled),
        key=lambda i: (-len(words & _words(i)), i.name),
    )
    return [by_name[name] for name in recalled] + rest


def _words(info: SkillInfo) -> set[str]:
    return set(_WORD.findall(f"{info.name.replace('-', ' ')} {info.description}".lower()))


def memory_text(info: SkillInfo) -> str:
    return f"Skill {info.name}: {info.description}"


async def remember_skills(store: SkillStore, memory: MemoryHost) -> None:
    """Bring the ``skill`` memories in line with the enabled skills: one memory per skill
    (its name and description), none for a disabled, untrusted or deleted one."""
    from llmos.memory.store import Filter, Source

    wanted = {
        info.name: memory_text(info)
        for info in await store.list()
        if info.enabled and info.problem is None
    }
    vectors = await memory.store()
    ids = vectors.ids(Filter(kinds=frozenset([MEMORY_KIND]), source_type=MEMORY_KIND))
    stale: list[int] = []
    have: set[str] = set()
    for record in await vectors.records(ids):
        name = record.source.ref
        if wanted.get(name) == record.text and name not in have:
            have.add(name)
        else:
            stale.append(record.id)
    if stale:
        await memory.forget(stale)
    for name, text in wanted.items():
        if name not in have:
            await memory.remember(MEMORY_KIND, text, Source(MEMORY_KIND, name, name))
