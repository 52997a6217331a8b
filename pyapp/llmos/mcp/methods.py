"""OS methods for the user's MCP servers (registered on import; ``PLUGINS["mcp"]``).

``mcp.servers.list``, ``mcp.servers.add`` (name, url, token, headers as ``Name: value`` lines),
``mcp.servers.update`` (id plus any of name, url, enabled, tools ``{name: bool}``, token,
headers, clear_secrets), ``mcp.servers.remove`` (id), ``mcp.servers.refresh`` (id, or every
server). Replies are server views: tokens and header values are never sent back. Status changes
arrive as ``mcp.status`` events.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from llmos.mcp.remote import servers
from llmos.protocol import text_param
from llmos.service import method

if TYPE_CHECKING:
    from llmos.service import OsService


@method("mcp.servers.list")
async def _list(service: OsService, params: dict[str, Any]) -> list[dict[str, Any]]:
    return servers(service).views()


@method("mcp.servers.add")
async def _add(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    return await servers(service).add(
        text_param(params, "name"),
        text_param(params, "url"),
        text_param(params, "token", required=False),
        text_param(params, "headers", required=False),
    )


@method("mcp.servers.update")
async def _update(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    changes = {k: v for k, v in params.items() if k != "id"}
    return await servers(service).update(text_param(params, "id"), changes)


@method("mcp.servers.remove")
async def _remove(service: OsService, params: dict[str, Any]) -> dict[str, Any]:
    server_id = text_param(params, "id")
    await servers(service).remove(server_id)
    return {"id": server_id}


@method("mcp.servers.refresh")
async def _refresh(service: OsService, params: dict[str, Any]) -> list[dict[str, Any]]:
    remote = servers(service)
    wanted = [params["id"]] if params.get("id") else [c["id"] for c in remote.configs()]
    await asyncio.gather(*(remote.connect(str(server_id)) for server_id in wanted))
    return remote.views()
