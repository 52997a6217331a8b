"""The ``memory.*`` OS methods (the memory panel's API) and the service's memory host.

- ``memory.search {query, k?, kinds?}`` -> ``{items, ms}``, hybrid recall, best first
- ``memory.get {id}`` -> the whole record with its source and metadata
- ``memory.delete {ids}`` -> ``{deleted}``
- ``memory.stats`` -> count, bytes, model, backend, problems, notices
- ``memory.export`` -> ``{name, jsonl}``; ``memory.import {jsonl}`` -> a report
- ``memory.settings.get`` / ``memory.settings.set {values}``
- ``memory.embed {texts}`` -> vectors and where they were computed (parity tests, benchmarks)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from llmos.errors import InputError, ProtocolError
from llmos.memory.host import DEFAULTS, SETTINGS_KEY, MemoryHost
from llmos.memory.recall import RecallWeights
from llmos.service import method

if TYPE_CHECKING:
    from llmos.service import OsService

MAX_RESULTS = 100


def host(service: OsService) -> MemoryHost:
    """The service's memory host, created on first use."""
    if service.memory_host is None:
        service.memory_host = MemoryHost(service)
    assert isinstance(service.memory_host, MemoryHost)
    return service.memory_host


def _int(params: dict[str, Any], name: str, default: int, low: int, high: int) -> int:
    value = params.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ProtocolError(f"'{name}' must be a whole number from {low} to {high}.")
    return value


@method("memory.search")
async def _search(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    query = params.get("query", "")
    if not isinstance(query, str):
        raise ProtocolError("'query' must be text.")
    k = _int(params, "k", 20, 1, MAX_RESULTS)
    kinds = params.get("kinds") or None
    if kinds is not None and not (
        isinstance(kinds, list) and all(isinstance(k, str) for k in kinds)
    ):
        raise ProtocolError("'kinds' must be a list of kinds.")
    started = time.perf_counter()
    hits = await host(service).recall(query, k, kinds)
    ms = round((time.perf_counter() - started) * 1000, 1)
    return {"items": [h.to_dict() for h in hits], "ms": ms}


@method("memory.get")
async def _get(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    record_id = _int(params, "id", -1, 0, 2**63 - 1)
    store = await host(service).store()
    return (await store.get(record_id)).to_dict()


@method("memory.delete")
async def _delete(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    ids = params.get("ids")
    if not isinstance(ids, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in ids
    ):
        raise ProtocolError("'ids' must be a list of memory ids.")
    return {"deleted": await host(service).forget(ids)}


@method("memory.stats")
async def _stats(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    return await host(service).stats()


@method("memory.export")
async def _export(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return {"name": f"llmos-memory-{stamp}.jsonl", "jsonl": await host(service).export_jsonl()}


@method("memory.import")
async def _import(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    text = params.get("jsonl")
    if not isinstance(text, str):
        raise ProtocolError("'jsonl' must be the text of an export.")
    try:
        return await host(service).import_jsonl(text)
    except ValueError as error:
        raise InputError(str(error)) from error


@method("memory.settings.get")
async def _settings_get(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    return _settings_view(service)


def _settings_view(service: OsService) -> dict[str, Any]:
    settings = host(service).settings()
    weights = RecallWeights.from_settings(settings["weights"])
    return {
        **settings,
        "weights": {
            "vector": weights.vector,
            "keyword": weights.keyword,
            "recency": weights.recency,
            "half_life_days": weights.half_life_days,
        },
    }


@method("memory.settings.set")
async def _settings_set(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    values = params.get("values")
    if not isinstance(values, dict) or not set(values) <= set(DEFAULTS):
        raise ProtocolError(f"'values' must be an object with keys among {sorted(DEFAULTS)}.")
    merged = {**(service.settings.get(SETTINGS_KEY) or {}), **values}
    _check_settings(merged)  # refuse bad values before saving anything
    await service.settings.set(SETTINGS_KEY, merged)
    if "backend" in values:
        host(service).reset_embedder()
    return _settings_view(service)


def _is_number(value: Any, low: float, high: float, whole: bool = False) -> bool:
    kinds = (int,) if whole else (int, float)
    return isinstance(value, kinds) and not isinstance(value, bool) and low <= value <= high


def _is_switches(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and set(value) <= set(DEFAULTS["remember"])
        and all(isinstance(v, bool) for v in value.values())
    )


def _check_settings(values: dict[str, Any]) -> None:
    """Refuse settings that memory could not use, with a message naming the setting."""
    try:
        RecallWeights.from_settings(values.get("weights", {}))
    except ValueError as error:
        raise InputError(str(error)) from error
    problems: dict[str, tuple[str, Callable[[Any], bool]]] = {
        "enabled": ("on or off", lambda v: isinstance(v, bool)),
        "backend": ("auto, wasm or webgpu", lambda v: v in ("auto", "wasm", "webgpu")),
        "inject": ("a whole number from 0 to 20", lambda v: _is_number(v, 0, 20, whole=True)),
        "min_score": ("a number from -1 to 1", lambda v: _is_number(v, -1, 1)),
        "remember": (f"switches among {sorted(DEFAULTS['remember'])}", _is_switches),
    }
    for name, (wanted, valid) in problems.items():
        if name in values and not valid(values[name]):
            raise InputError(f"The memory setting '{name}' must be {wanted}.")


@method("memory.embed")
async def _embed(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    texts = params.get("texts")
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise ProtocolError("'texts' must be a list of texts.")
    embedder = await host(service).embedder()
    started = time.perf_counter()
    vectors = await embedder.embed_texts(texts)
    return {
        "vectors": [list(v) for v in vectors],
        "backend": embedder.engine.backend,
        "engine": dict(getattr(embedder.engine, "info", {})),
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }
