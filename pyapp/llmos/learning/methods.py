"""The ``learning.*`` OS methods and ``chat.feedback`` (registered on import).

- ``chat.feedback {chat, index, value}``: thumbs ``up`` / ``down`` / ``none`` on the turn whose
  user message is item ``index``; -> ``{trace, outcome, feedback}``
- ``learning.traces {chat?}`` -> ``{traces}``, newest first
- ``learning.reflect`` -> ``{proposals, log}`` (runs reflection now)
- ``learning.proposals`` -> ``{proposals}``; ``learning.accept {id, markdown?}``;
  ``learning.reject {id}``
- ``learning.log`` -> ``{log}``; ``learning.settings.get`` / ``learning.settings.set {values}``

Events: ``learning.log`` (each reflection step), ``learning.proposal`` (a new proposal),
``learning.trace`` (a trace saved or its outcome changed).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmos.errors import InputError, NotFoundError, ProtocolError
from llmos.learning.host import learning
from llmos.learning.proposals import Proposal, now
from llmos.protocol import text_param
from llmos.service import method

if TYPE_CHECKING:
    from llmos.service import OsService

MAX_TRACES = 500
PROVENANCE = ("llmos-sources", "llmos-successes", "llmos-version", "llmos-created", "llmos-origin")


@method("chat.feedback")
async def _feedback(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    chat, index, value = text_param(params, "chat"), params.get("index"), params.get("value")
    if isinstance(index, bool) or not isinstance(index, int):
        raise ProtocolError("The parameter 'index' must be the index of your message.")
    if value not in ("up", "down", "none"):
        raise ProtocolError("The parameter 'value' must be 'up', 'down' or 'none'.")
    try:
        trace = await learning(service).feedback(chat, index, value)
    except NotFoundError as error:
        raise NotFoundError(f"Item {index} of chat '{chat}' is not a finished turn.") from error
    await _mark_item(service, chat, index, value)
    return {"trace": trace.id, "outcome": trace.outcome, "feedback": value}


async def _mark_item(service: OsService, chat: str, index: int, value: str) -> None:
    """Show the thumbs on the message too (unless a turn is writing the chat right now)."""
    from llmos.agent.methods import host as agent_host

    agents = agent_host(service)
    if chat in agents.turns:
        return
    conversation = await agents.store.load(chat)
    if 0 <= index < len(conversation.items) and conversation.items[index]["kind"] == "user":
        conversation.items[index]["feedback"] = None if value == "none" else value
        await agents.store.save(conversation)


@method("learning.traces")
async def _traces(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    traces = await learning(service).traces.list()
    chat = params.get("chat")
    if chat is not None:
        traces = [t for t in traces if t.chat == chat]
    return {"traces": [t.to_dict() for t in reversed(traces[-MAX_TRACES:])]}


@method("learning.reflect")
async def _reflect(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    host = learning(service)
    made = await host.reflect("on demand")
    return {"proposals": [p.to_dict() for p in made], "log": await host.log.entries(50)}


@method("learning.proposals")
async def _proposals(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    found = await learning(service).proposals.list()
    return {"proposals": [p.to_dict() for p in reversed(found)]}


@method("learning.accept")
async def _accept(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    host = learning(service)
    proposal = await _pending(service, text_param(params, "id"))
    edited = params.get("markdown")
    if edited is not None and not isinstance(edited, str):
        raise ProtocolError("The parameter 'markdown' must be the SKILL.md text.")
    await _apply(service, proposal, edited)
    proposal.status, proposal.decided = "accepted", now()
    await host.proposals.save(proposal)
    await host.log.add(
        "accepted",
        f"You accepted the proposal to {proposal.kind} '{proposal.skill}'.",
        proposal=proposal.id,
        skill=proposal.skill,
        edited=edited is not None,
    )
    return proposal.to_dict()


async def _apply(service: OsService, proposal: Proposal, edited: str | None) -> None:
    """Save (or retire) the skill through the skill store; it validates everything first."""
    import dataclasses

    from llmos.skills.spec import SkillError, load_reference, parse_skill
    from llmos.skills.store import skill_store

    await load_reference()
    store = skill_store(service)
    if proposal.kind == "retire":
        await store.set_enabled(proposal.skill, False)
        return
    try:
        skill = parse_skill(edited if edited is not None else proposal.markdown)
    except SkillError as error:
        raise InputError(f"The skill is not valid, so nothing was saved: {error}") from error
    names = {i.name for i in await store.list()}
    if proposal.kind == "new" and skill.name in names:
        raise InputError(
            f"A skill named '{skill.name}' already exists: give this one another name."
        )
    if proposal.kind == "revise" and skill.name != proposal.skill:
        raise InputError(f"A revision must keep the name '{proposal.skill}'.")
    original = parse_skill(proposal.markdown).metadata
    kept = {k: original[k] for k in PROVENANCE if k in original}  # the edit keeps provenance
    skill = dataclasses.replace(skill, metadata={**skill.metadata, **kept})
    await store.save(skill, trusted=True)
    await store.set_enabled(skill.name, True)


@method("learning.reject")
async def _reject(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    host = learning(service)
    proposal = await _pending(service, text_param(params, "id"))
    proposal.status, proposal.decided = "rejected", now()
    await host.proposals.save(proposal)
    await host.log.add(
        "rejected",
        f"You rejected the proposal to {proposal.kind} '{proposal.skill}'; these runs will "
        "not be proposed again.",
        proposal=proposal.id,
        skill=proposal.skill,
    )
    return proposal.to_dict()


async def _pending(service: OsService, proposal_id: str) -> Proposal:
    proposal = await learning(service).proposals.get(proposal_id)
    if proposal.status != "pending":
        raise InputError(f"This proposal was already {proposal.status}.")
    return proposal


@method("learning.log")
async def _log(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    limit = params.get("limit", 200)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1_000:
        raise ProtocolError("'limit' must be a whole number from 1 to 1000.")
    return {"log": await learning(service).log.entries(limit)}


@method("learning.settings.get")
async def _settings_get(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    return learning(service).settings()


@method("learning.settings.set")
async def _settings_set(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    values = params.get("values", {k: v for k, v in params.items() if k != "values"})
    if not isinstance(values, dict):
        raise ProtocolError("'values' must be an object.")
    return await learning(service).set_settings(values)
