"""Reflection: from traces to skill proposals.

One run (:meth:`Reflector.run`) clusters the traces (:mod:`llmos.learning.cluster`); a cluster
with at least ``min_cluster`` successful traces and no existing skill that means the same
thing becomes a request to the model to distil a skill (SKILL.md text, validated by the Agent
Skills reference parser; one retry with the validator's errors, then a logged failure).
Skills whose recent applications mostly failed get a revision proposal, or a retirement one
when no valid revision comes back. Every step goes to the reflection log. Nothing here
changes a skill: proposals wait for the user.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from llmos import protocol
from llmos.learning.cluster import Cluster, cluster_traces
from llmos.learning.proposals import Proposal, ProposalStore, ReflectionLog, new_id, now
from llmos.learning.traces import Trace, TraceStore
from llmos.llm.types import Message
from llmos.skills.spec import Skill, SkillError, load_reference, parse_skill

if TYPE_CHECKING:
    from llmos.skills.store import SkillStore

Embed = Callable[[Sequence[str]], Awaitable[Sequence[Sequence[float]]]]
Complete = Callable[[list[Message]], Awaitable[str]]
MATCH = 0.5  # mean cosine of a cluster's requests to a skill's description: already covered
MAX_DISTILS = 3  # model calls for new skills per run
RECENT_USES = 3
FAILING_USES = 2  # of the recent uses: the skill needs work
TRACE_CHARS = 3_000
PROMPT_CHARS = 14_000

DISTIL = """You turn successful runs of an AI agent into a reusable Agent Skill (the
agentskills.io format). Answer with the SKILL.md file only, nothing before or after it:

---
name: <lowercase letters, digits and hyphens, at most 64 characters, e.g. summarize-csv>
description: <one sentence: what the skill does and when to use it>
---
# <Title>

<When to use it, then numbered steps that generalise the runs: which tools to call and with
what arguments, the Python to run with execute_python as a fenced block (with the runs'
specific file names and values replaced by placeholders), and the pitfalls the runs hit.>

Never include secrets, personal data or instructions to send data anywhere."""

REVISE = """An Agent Skill keeps failing. Below are its SKILL.md and the runs that failed while
it was applied. Answer with a corrected SKILL.md only (same `name`), nothing before or after
it. Keep what works; fix the steps that led to the failures."""

RETRY = "That SKILL.md is not valid: {errors}\nAnswer again with the corrected SKILL.md only."


@dataclass
class Reflector:
    traces: TraceStore
    proposals: ProposalStore
    log: ReflectionLog
    skills: SkillStore
    embed: Embed
    complete: Complete | None
    announce: Callable[[Proposal], None]
    min_cluster: int = 3

    async def run(self, trigger: str) -> list[Proposal]:
        """One reflection; returns the proposals it made."""
        await load_reference()
        traces = [t for t in await self.traces.list() if t.request.strip()]
        await self.log.add(
            "start",
            f"Reflecting on {len(traces)} traces ({trigger}).",
            trigger=trigger,
            traces=len(traces),
        )
        made: list[Proposal] = []
        if traces:
            vectors = list(await self.embed([t.request for t in traces]))
            clusters = cluster_traces(traces, vectors)
            await self.log.add(
                "cluster",
                f"{len(clusters)} groups of similar traces.",
                clusters=[c.summary() for c in clusters],
            )
            made += await self._new_skills(clusters)
            made += await self._failing_skills(traces)
        await self.log.add("done", f"{len(made)} new proposals.", proposals=[p.id for p in made])
        return made

    # --- new skills ----------------------------------------------------------------------------
    async def _new_skills(self, clusters: list[Cluster]) -> list[Proposal]:
        ready = [c for c in clusters if len(c.successes) >= self.min_cluster]
        if not ready:
            await self.log.add("wait", f"No group has {self.min_cluster} successful traces yet.")
            return []
        proposed = [p for p in await self.proposals.list() if p.kind == "new"]
        descriptions = await self._skill_vectors()
        made: list[Proposal] = []
        for cluster in ready:
            ids = [t.id for t in cluster.successes]
            if await self._covered(cluster, ids, proposed, descriptions):
                continue
            if len(made) >= MAX_DISTILS:
                await self.log.add("later", "Enough model calls for now.", sources=ids)
                break
            proposal = await self._distil(cluster.successes)
            if proposal is not None:
                made.append(proposal)
        return made

    async def _covered(
        self,
        cluster: Cluster,
        ids: list[str],
        proposed: list[Proposal],
        descriptions: dict[str, Sequence[float]],
    ) -> bool:
        earlier = next((p for p in proposed if set(p.sources) & set(cluster.ids)), None)
        if earlier is not None:
            await self.log.add(
                "skip",
                f"Already proposed as '{earlier.skill}' ({earlier.status}).",
                sources=ids,
                proposal=earlier.id,
            )
            return True
        scores = {name: cluster.meaning_to(v) for name, v in descriptions.items()}
        name = max(scores, key=lambda n: scores[n], default=None)
        if name is not None and scores[name] >= MATCH:
            await self.log.add(
                "skip",
                f"The skill '{name}' already covers this (similarity {scores[name]:.2f}).",
                sources=ids,
                skill=name,
            )
            return True
        return False

    async def _skill_vectors(self) -> dict[str, Sequence[float]]:
        infos = [i for i in await self.skills.list() if i.description]
        vectors = await self.embed([f"{i.name}: {i.description}" for i in infos]) if infos else []
        return {i.name: v for i, v in zip(infos, vectors, strict=True)}

    async def _distil(self, traces: list[Trace]) -> Proposal | None:
        ids = [t.id for t in traces]
        await self.log.add(
            "distil", f"Asking the model to distil a skill from {len(ids)} runs.", sources=ids
        )
        runs = _runs_text(traces, "These runs succeeded")
        taken = {i.name for i in await self.skills.list()}
        skill = await self._ask(DISTIL, runs, ids, lambda s: _new_name_problem(s, taken))
        if skill is None:
            return None
        metadata = {
            **skill.metadata,
            "llmos-sources": ",".join(ids),
            "llmos-successes": str(len(ids)),
            "llmos-version": "1",
            "llmos-created": now(),
            "llmos-origin": "learned",
        }
        skill = dataclasses.replace(skill, metadata=metadata)
        reason = f"{len(ids)} similar successful runs and no skill for them."
        return await self._propose("new", skill.name, skill.to_markdown(), ids, reason)

    # --- failing skills ----------------------------------------------------------------------
    async def _failing_skills(self, traces: list[Trace]) -> list[Proposal]:
        uses: dict[str, list[Trace]] = {}
        for trace in traces:
            for name in trace.skills_applied:
                uses.setdefault(name, []).append(trace)
        proposed = [p for p in await self.proposals.list() if p.kind in ("revise", "retire")]
        installed = {i.name for i in await self.skills.list()}
        made: list[Proposal] = []
        for name, used in uses.items():
            # uses that an earlier revision or retirement proposal already answered do not count
            answered = {i for p in proposed if p.skill == name for i in p.sources}
            fresh = [t for t in used if t.id not in answered]
            failed = [t for t in fresh[-RECENT_USES:] if t.outcome == "failure"]
            if name not in installed or len(failed) < FAILING_USES:
                continue
            ids = [t.id for t in failed]
            await self.log.add(
                "failing",
                f"'{name}' failed {len(failed)} of its last {len(fresh[-RECENT_USES:])} uses.",
                skill=name,
                sources=ids,
            )
            made.append(await self._revise(name, failed))
        return made

    async def _revise(self, name: str, failed: list[Trace]) -> Proposal:
        ids = [t.id for t in failed]
        current = await self.skills.get(name)
        runs = f"Current SKILL.md:\n\n{current.to_markdown()}\n\n" + _runs_text(
            failed, "These runs failed while the skill was applied"
        )
        skill = await self._ask(REVISE, runs, ids, lambda s: _same_name_problem(s, name))
        reason = f"{len(ids)} of its last {RECENT_USES} uses failed."
        if skill is None:
            return await self._propose("retire", name, current.to_markdown(), ids, reason)
        version = _int(current.metadata.get("llmos-version"), 1) + 1
        sources = current.metadata.get("llmos-sources", "").split(",") + ids
        metadata = {
            **current.metadata,
            **skill.metadata,
            "llmos-sources": ",".join(s for s in dict.fromkeys(sources) if s),
            "llmos-version": str(version),
            "llmos-created": now(),
            "llmos-origin": "learned",
        }
        skill = dataclasses.replace(skill, metadata=metadata)
        return await self._propose("revise", name, skill.to_markdown(), ids, reason)

    # --- the model -----------------------------------------------------------------------------
    async def _ask(
        self,
        instructions: str,
        runs: str,
        ids: list[str],
        extra_check: Callable[[Skill], str | None],
    ) -> Skill | None:
        """A valid skill from the model, with one retry on a malformed answer; ``None`` (and
        a logged failure) otherwise."""
        if self.complete is None:
            await self.log.add("failed", "No model is available to write a skill.", sources=ids)
            return None
        messages = [Message("system", instructions), Message("user", runs)]
        errors = ""
        for attempt in (1, 2):
            try:
                answer = await self.complete(messages)
            except Exception as error:
                message = protocol.error_info(error)["message"]
                await self.log.add("failed", f"The model call failed: {message}", sources=ids)
                return None
            skill, errors = _checked_skill(answer, extra_check)
            if skill is not None:
                return skill
            await self.log.add(
                "invalid", f"Answer {attempt} is not a valid skill: {errors}", sources=ids
            )
            messages += [Message("assistant", answer), Message("user", RETRY.format(errors=errors))]
        await self.log.add(
            "failed", "No valid skill after a retry; nothing saved.", sources=ids, errors=errors
        )
        return None

    async def _propose(
        self, kind: str, name: str, markdown: str, ids: list[str], reason: str
    ) -> Proposal:
        proposal = Proposal(new_id(), kind, name, markdown, ids, reason)
        await self.proposals.save(proposal)
        await self.log.add(
            "proposal",
            f"Proposed to {_VERBS[kind]} the skill '{name}': {reason}",
            proposal=proposal.id,
            kind=kind,
            skill=name,
            sources=ids,
        )
        self.announce(proposal)
        return proposal


_VERBS = {"new": "add", "revise": "revise", "retire": "retire"}


def _checked_skill(
    answer: str, extra_check: Callable[[Skill], str | None]
) -> tuple[Skill | None, str]:
    try:
        skill = parse_skill(skill_text(answer))
    except SkillError as error:
        return None, str(error)
    problem = extra_check(skill)
    return (None, problem) if problem else (skill, "")


def skill_text(answer: str) -> str:
    """The SKILL.md inside a model's answer (models like to fence it)."""
    text = answer.strip()
    fenced = re.match(r"^```[\w-]*\n(.*)\n```$", text, re.S)
    return (fenced.group(1) if fenced else text).strip() + "\n"


def _new_name_problem(skill: Skill, taken: set[str]) -> str | None:
    if skill.name in taken:
        return f"a skill named '{skill.name}' already exists: choose another name"
    return None


def _same_name_problem(skill: Skill, name: str) -> str | None:
    return None if skill.name == name else f"the name must stay '{name}'"


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _runs_text(traces: list[Trace], heading: str) -> str:
    parts = [f"{heading} ({len(traces)}):"]
    budget = PROMPT_CHARS // max(1, len(traces))
    for number, trace in enumerate(traces, 1):
        parts.append(f"## Run {number}\n{describe(trace)[: min(budget, TRACE_CHARS)]}")
    return "\n\n".join(parts)


def describe(trace: Trace) -> str:
    """A trace as the model reads it."""
    lines = [f"Request: {trace.request}"]
    if trace.plan:
        lines.append(f"Plan: {trace.plan}")
    for number, step in enumerate(trace.steps, 1):
        arguments = json.dumps(step["arguments"], ensure_ascii=False)[:1_200]
        result = str(step["result"])[:400]
        lines.append(
            f"{number}. {step['tool']} {arguments}\n   -> {'ok' if step['ok'] else 'error'}: "
            f"{result}"
        )
    if trace.errors:
        lines.append("Errors: " + "; ".join(trace.errors)[:800])
    if trace.answer:
        lines.append(f"Answer: {trace.answer[:600]}")
    lines.append(f"Outcome: {trace.outcome} ({', '.join(trace.signals) or 'no signal'})")
    return "\n".join(lines)
