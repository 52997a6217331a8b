"""OS methods for GitHub sync (registered on import; ``PLUGINS["sync"]``).

``sync.settings.get`` -> ``{repo, branch, folders, has_token, api}`` (the token is never sent
back); ``sync.settings.set {repo?, branch?, token?, folders?, api?}``; ``sync.run`` -> ``{status:
synced|queued|conflicts|error, commit, pushed, pulled, conflicts, message}``; ``sync.status`` ->
``{pending, last, message}``; ``skills.install {url}`` -> ``{imported, problems}``. Changes
arrive as ``sync.status`` events.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from llmos.errors import ProtocolError
from llmos.service import method
from llmos.sync.sync import sync_engine

if TYPE_CHECKING:
    from llmos.service import OsService


@method("sync.settings.get")
async def _settings_get(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    return sync_engine(service).view()


@method("sync.settings.set")
async def _settings_set(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    return await sync_engine(service).configure(params)


@method("sync.run")
async def _run(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    return await sync_engine(service).run()


@method("sync.status")
async def _status(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    return await sync_engine(service).status()


@method("skills.install")
async def _install(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    url = params.get("url")
    if not isinstance(url, str) or not url.strip():
        raise ProtocolError("The parameter 'url' must be a GitHub repository URL.")
    return await sync_engine(service).install(url)
