"""The ``skills.*`` OS methods the Skills panel calls (registered on import; ``PLUGINS``).

``skills.list`` -> ``{skills: [info + uses, successes]}``; ``skills.get {name}`` -> info +
``markdown``; ``skills.save {name, markdown}`` (create or edit; a new ``name:`` in the
markdown renames the skill, its files and state going along); ``skills.delete {name}``;
``skills.enable {name, enabled}``; ``skills.import {files: {path: base64}} | {zip: base64}``
-> ``{imported, problems}``; ``skills.export`` -> ``{zip: base64, name}``. Every change is
announced as a ``skills.changed`` event.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Any

from llmos import protocol
from llmos.errors import NotFoundError, ProtocolError
from llmos.protocol import text_param
from llmos.service import method
from llmos.skills.spec import SKILL_FILE, load_reference, parse_skill
from llmos.skills.store import EXPORT_NAME, SkillInfo, SkillStore, skill_store

if TYPE_CHECKING:
    from llmos.service import OsService


def _bytes(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise ProtocolError(f"{what} must be base64 text.")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as error:
        raise ProtocolError(f"{what} is not valid base64: {error}.") from error


def _changed(service: OsService, *names: str) -> None:
    service.emit(protocol.event("skills.changed", names=list(names)))


async def _stats(service: OsService) -> dict[str, dict[str, int]]:
    """Uses and successes per skill, from the execution traces (none when there are none)."""
    try:
        from llmos.learning.traces import TraceStore
    except ImportError:
        return {}
    try:
        return await TraceStore(service.vfs).skill_stats()
    except NotFoundError:
        return {}


def _view(info: SkillInfo, stats: dict[str, dict[str, int]]) -> dict[str, Any]:
    counts = stats.get(info.name, {})
    return info.to_dict() | {
        "uses": counts.get("uses", 0),
        "successes": counts.get("successes", 0),
    }


@method("skills.list")
async def _list(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    stats = await _stats(service)
    return {"skills": [_view(info, stats) for info in await skill_store(service).list()]}


@method("skills.get")
async def _get(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    store = skill_store(service)
    name = text_param(params, "name")
    info = next((i for i in await store.list() if i.name == name), None)
    if info is None:
        raise NotFoundError(f"There is no skill '{name}'.")
    markdown = (await store.read_file(name, SKILL_FILE)).decode("utf-8", "replace")
    return _view(info, await _stats(service)) | {"markdown": markdown}


@method("skills.save")
async def _save(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    store = skill_store(service)
    name, markdown = text_param(params, "name"), text_param(params, "markdown")
    await load_reference()
    skill = parse_skill(markdown)
    existed = await store.vfs.exists(f"user/skills/{name}/{SKILL_FILE}")
    if not existed or skill.name == name:
        await store.save(skill, trusted=store.is_trusted(name) if existed else True)
        _changed(service, skill.name)
        return {"name": skill.name}
    await _rename(store, name, markdown)
    _changed(service, name, skill.name)
    return {"name": skill.name}


async def _rename(store: SkillStore, old: str, markdown: str) -> None:
    """Save the skill under its new name with the old one's files and state, then drop the
    old one (after the new one is safely written)."""
    skill = parse_skill(markdown)
    if await store.vfs.exists(f"user/skills/{skill.name}"):
        raise ProtocolError(f"A skill named '{skill.name}' exists already: pick another name.")
    files = {p: await store.read_file(old, p) for p in await store.files(old) if p != SKILL_FILE}
    enabled, trusted = store.is_enabled(old), store.is_trusted(old)
    await store.save(skill, files, trusted=trusted)
    if trusted:
        await store.set_enabled(skill.name, enabled)
    await store.delete(old)


@method("skills.delete")
async def _delete(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    name = text_param(params, "name")
    await skill_store(service).delete(name)
    _changed(service, name)
    return {"name": name}


@method("skills.enable")
async def _enable(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    name = text_param(params, "name")
    enabled = params.get("enabled")
    if not isinstance(enabled, bool):
        raise ProtocolError("The parameter 'enabled' must be true or false.")
    await skill_store(service).set_enabled(name, enabled)
    _changed(service, name)
    return {"name": name, "enabled": enabled}


@method("skills.import")
async def _import(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    """Import skill folders (``files``: path -> base64) or a zip (``zip``: base64); each
    imported skill is disabled and untrusted until the user enables it."""
    store = skill_store(service)
    origin = str(params.get("origin") or "upload")
    if "zip" in params:
        imported = await store.import_zip(_bytes(params["zip"], "The zip"), origin)
    elif isinstance(params.get("files"), dict) and params["files"]:
        files = {str(p): _bytes(d, f"The file {p}") for p, d in params["files"].items()}
        imported = await store.import_files(files, origin)
    else:
        raise ProtocolError("Give 'files' ({path: base64}) or 'zip' (base64) to import.")
    if imported:
        _changed(service, *imported)
    return {"imported": list(imported), "problems": imported.problems}


@method("skills.export")
async def _export(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    data = await skill_store(service).export_zip()
    return {"zip": base64.b64encode(data).decode("ascii"), "name": EXPORT_NAME}
