"""The user's MCP servers, seen from the OS: their settings, secrets, connections and tools.

A server is configured in settings (``mcp``: id, name, url, enabled, disabled tools); its bearer
token and extra headers live only in :class:`~llmos.settings.Secrets` (``mcp.headers.<id>``), so
views say ``has_token`` and header names, never values. Each tool reaches the agent as
``<server>__<tool>``; a name that is not a valid function name, or that collides with a built-in
tool or another tool, is refused with a note the UI shows, never overriding anything.

What a server returns is untrusted data: it is size-capped, images and other content are
summarized as text, nothing in it is executed, and the result carries its server as ``source``
so the chat and the model's context mark it as external.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from llmos.agent.tools import ToolResult
from llmos.errors import LlmosError, NotFoundError, ProtocolError
from llmos.llm.types import ToolSpec
from llmos.mcp.client import McpClient, McpError
from llmos.platform.http import display_url

if TYPE_CHECKING:
    from llmos.service import OsService

Json = dict[str, Any]
Status = Literal["disabled", "connecting", "connected", "error"]

SETTINGS_KEY = "mcp"
SEPARATOR = "__"
MAX_RESULT_CHARS = 20_000
"""Characters of one remote tool result that reach the model and the chat."""
REQUEST_TIMEOUT_S = 20.0
"""Seconds to wait for a server's answer (and between two pieces of a streamed one)."""
CALL_TIMEOUT_S = 120.0
"""Seconds one remote tool call may take in all."""
_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def secret_key(server_id: str) -> str:
    return f"mcp.headers.{server_id}"


def server_name(raw: str) -> str:
    """``raw`` as a tool-name prefix: lower case ``[a-z0-9_-]``, no ``__``, at most 24 chars."""
    name = re.sub(r"[^a-z0-9_-]+", "-", raw.strip().lower())
    name = re.sub(r"_{2,}", "_", name).strip("-_")[:24].strip("-_")
    if not name:
        raise ProtocolError("The server name needs at least one letter or digit.")
    return name


def parse_headers(text: str) -> dict[str, str]:
    """``Name: value`` lines as headers; a line without a colon is refused."""
    headers: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not re.fullmatch(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+", name.strip()):
            raise ProtocolError(f"Header line {number} is not 'Name: value'.")
        headers[name.strip()] = value.strip()
    return headers


@dataclass
class Connection:
    """One server's live state: its client, status, tools and the notes about refused tools."""

    status: Status = "disabled"
    message: str = ""
    tools: list[Json] = field(default_factory=list)
    client: McpClient | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


@dataclass(frozen=True)
class RemoteTool:
    qualified: str
    server_id: str
    server: str
    name: str
    spec: ToolSpec


class RemoteServers:
    """The user's MCP servers inside one OS service."""

    def __init__(self, service: OsService, builtin: Callable[[], Iterable[str]]) -> None:
        self.service = service
        self._builtin = builtin
        self._connections: dict[str, Connection] = {}
        self.request_timeout_s = REQUEST_TIMEOUT_S
        self.call_timeout_s = CALL_TIMEOUT_S

    # --- configuration ------------------------------------------------------------------------
    def configs(self) -> list[Json]:
        return [dict(c) for c in self.service.settings.get(SETTINGS_KEY) or []]

    def config(self, server_id: str) -> Json:
        for config in self.configs():
            if config["id"] == server_id:
                return config
        raise NotFoundError(f"There is no MCP server '{server_id}'.")

    async def add(self, name: str, url: str, token: str = "", headers: str = "") -> Json:
        server_id = secrets.token_hex(4)
        config: Json = {
            "id": server_id,
            "name": self._unique_name(server_name(name), None),
            "url": _checked_url(url),
            "enabled": True,
            "disabled_tools": [],
        }
        await self._save_secret(server_id, token, headers)
        await self._save([*self.configs(), config])
        await self.connect(server_id)
        return self.view(server_id)

    async def update(self, server_id: str, changes: Json) -> Json:
        config = self.config(server_id)
        reconnect = False
        if "name" in changes:
            config["name"] = self._unique_name(server_name(str(changes["name"])), server_id)
        if "url" in changes:
            config["url"], reconnect = _checked_url(str(changes["url"])), True
        if "enabled" in changes:
            config["enabled"], reconnect = bool(changes["enabled"]), True
        if isinstance(changes.get("tools"), dict):
            disabled = set(config.get("disabled_tools", []))
            for tool, enabled in changes["tools"].items():
                (disabled.discard if enabled else disabled.add)(str(tool))
            config["disabled_tools"] = sorted(disabled)
        if {"token", "headers", "clear_secrets"} & changes.keys():
            await self._update_secret(server_id, changes)
            reconnect = True
        await self._save([config if c["id"] == server_id else c for c in self.configs()])
        if reconnect:
            await self.connect(server_id)
        return self.view(server_id)

    async def remove(self, server_id: str) -> None:
        self.config(server_id)
        await self._save([c for c in self.configs() if c["id"] != server_id])
        await self.service.secrets.delete(secret_key(server_id))
        connection = self._connections.pop(server_id, None)
        if connection is not None and connection.client is not None:
            await connection.client.close()

    def _unique_name(self, name: str, server_id: str | None) -> str:
        taken = {c["name"] for c in self.configs() if c["id"] != server_id}
        if name in taken:
            raise ProtocolError(f"There is already an MCP server named '{name}'.")
        return name

    async def _save(self, configs: list[Json]) -> None:
        await self.service.settings.set(SETTINGS_KEY, configs)

    async def _save_secret(self, server_id: str, token: str, headers: str) -> None:
        values = parse_headers(headers)
        if token.strip():
            values["Authorization"] = f"Bearer {token.strip()}"
        if values:
            await self.service.secrets.set(secret_key(server_id), values)
        else:
            await self.service.secrets.delete(secret_key(server_id))

    async def _update_secret(self, server_id: str, changes: Json) -> None:
        """A blank token or headers field keeps what is stored (the UI never sees it);
        ``clear_secrets`` forgets both."""
        stored = dict(self.service.secrets.get(secret_key(server_id)) or {})
        if changes.get("clear_secrets"):
            stored = {}
        if str(changes.get("headers") or "").strip():
            token = stored.get("Authorization")
            stored = parse_headers(str(changes["headers"]))
            if token:
                stored["Authorization"] = token
        if str(changes.get("token") or "").strip():
            stored["Authorization"] = f"Bearer {str(changes['token']).strip()}"
        await self.service.secrets.set(secret_key(server_id), stored)

    # --- connections --------------------------------------------------------------------------
    def _connection(self, server_id: str) -> Connection:
        return self._connections.setdefault(server_id, Connection())

    async def connect(self, server_id: str) -> None:
        """(Re)connect and list the server's tools; a failure becomes its status message."""
        config = self.config(server_id)
        connection = self._connection(server_id)
        async with connection.lock:
            if connection.client is not None:
                await connection.client.close()
                connection.client = None
            if not config.get("enabled", True):
                self._set(server_id, connection, "disabled", "", [])
                return
            if self.service.http is None:
                self._set(
                    server_id, connection, "error", "This platform cannot make HTTP requests."
                )
                return
            self._set(server_id, connection, "connecting", "")
            headers = dict(self.service.secrets.get(secret_key(server_id)) or {})
            client = McpClient(
                self.service.http,
                config["url"],
                headers,
                self.request_timeout_s,
                max_result_chars=MAX_RESULT_CHARS,
            )
            try:
                await client.connect()
                tools = await client.list_tools()
            except LlmosError as error:
                self._set(server_id, connection, "error", _readable(error))
                return
            connection.client = client
            self._set(server_id, connection, "connected", "", tools)

    async def prepare(self) -> None:
        """Connect every enabled server not connected yet (first use, or a retry after a
        failure), all at once."""
        waiting = [
            c["id"]
            for c in self.configs()
            if c.get("enabled", True) and self._connection(c["id"]).status != "connected"
        ]
        await asyncio.gather(*(self.connect(server_id) for server_id in waiting))

    def _set(
        self,
        server_id: str,
        connection: Connection,
        status: Status,
        message: str,
        tools: list[Json] | None = None,
    ) -> None:
        connection.status, connection.message = status, message
        if tools is not None:
            connection.tools = tools
        from llmos import protocol

        self.service.emit(protocol.event("mcp.status", server=self.view(server_id)))

    # --- tools --------------------------------------------------------------------------------
    def catalog(self) -> tuple[dict[str, RemoteTool], dict[tuple[str, str], str]]:
        """Every tool of every connected server by qualified name, and a note for each
        (server id, tool) refused."""
        taken = set(self._builtin())
        tools: dict[str, RemoteTool] = {}
        refused: dict[tuple[str, str], str] = {}
        for config in self.configs():
            for raw in self._connection(config["id"]).tools:
                name = str(raw.get("name", ""))
                qualified = f"{config['name']}{SEPARATOR}{name}"
                note = _refusal(qualified, taken | set(tools))
                if note:
                    refused[(config["id"], name)] = note
                    continue
                spec = ToolSpec(qualified, _description(config["name"], raw), _schema(raw))
                tools[qualified] = RemoteTool(qualified, config["id"], config["name"], name, spec)
        return tools, refused

    def offered(self) -> list[ToolSpec]:
        """The specs of the tools the agent may call: enabled tools of enabled, connected
        servers."""
        tools, _ = self.catalog()
        return [t.spec for t in tools.values() if self._usable(t)]

    def owns(self, qualified: str) -> bool:
        """Whether ``qualified`` names a tool of one of the enabled servers (connected or not)."""
        prefix = qualified.split(SEPARATOR, 1)[0]
        return SEPARATOR in qualified and any(
            c["name"] == prefix and c.get("enabled", True) for c in self.configs()
        )

    def _usable(self, tool: RemoteTool) -> bool:
        config = self.config(tool.server_id)
        connected = self._connection(tool.server_id).status == "connected"
        return connected and tool.name not in config.get("disabled_tools", [])

    async def call(self, qualified: str, arguments: Json) -> ToolResult:
        """Run a remote tool; every failure is an error result saying which server failed."""
        server = qualified.split(SEPARATOR, 1)[0]
        config = next((c for c in self.configs() if c["name"] == server), None)
        if config is None:
            return ToolResult(f"There is no MCP server named '{server}'.", True, source=server)
        connection = self._connection(config["id"])
        if connection.status != "connected":
            await self.connect(config["id"])  # retried on use
        tools, _ = self.catalog()
        tool = tools.get(qualified)
        if connection.status != "connected":
            text = f"The MCP server '{server}' is unavailable: {connection.message}"
            return ToolResult(text, True, source=server)
        if tool is None or not self._usable(tool):
            return ToolResult(
                f"{qualified} is not an enabled tool of '{server}'.", True, source=server
            )
        return await self._call(config["id"], tool, arguments)

    async def _call(self, server_id: str, tool: RemoteTool, arguments: Json) -> ToolResult:
        connection = self._connection(server_id)
        client = connection.client
        assert client is not None
        try:
            result = await asyncio.wait_for(
                client.call_tool(tool.name, arguments), timeout=self.call_timeout_s
            )
        except TimeoutError:
            text = (
                f"The MCP server '{tool.server}' did not answer within {self.call_timeout_s:g} s."
            )
            return ToolResult(text, True, source=tool.server)
        except McpError as error:
            if error.code != "rpc":  # the connection itself failed: reconnect on next use
                connection.client = None
                self._set(server_id, connection, "error", _readable(error))
            return ToolResult(
                f"{tool.qualified} failed: {_readable(error)}", True, source=tool.server
            )
        return ToolResult(content_text(result), bool(result.get("isError")), source=tool.server)

    # --- views --------------------------------------------------------------------------------
    def view(self, server_id: str) -> Json:
        """What the UI shows: config, status, tools with their notes; secrets only as names."""
        config = self.config(server_id)
        connection = self._connection(server_id)
        stored = dict(self.service.secrets.get(secret_key(server_id)) or {})
        _, refused = self.catalog()
        disabled = set(config.get("disabled_tools", []))
        tools = [
            {
                "name": str(raw.get("name", "")),
                "qualified": f"{config['name']}{SEPARATOR}{raw.get('name', '')}",
                "description": str(raw.get("description") or "")[:300],
                "enabled": raw.get("name") not in disabled,
                "note": refused.get((server_id, str(raw.get("name", ""))), ""),
            }
            for raw in connection.tools
        ]
        return {
            "id": server_id,
            "name": config["name"],
            "url": display_url(config["url"]),
            "enabled": bool(config.get("enabled", True)),
            "status": connection.status if config.get("enabled", True) else "disabled",
            "message": connection.message,
            "tools": tools,
            "has_token": "Authorization" in stored,
            "header_names": sorted(n for n in stored if n != "Authorization"),
        }

    def views(self) -> list[Json]:
        return [self.view(c["id"]) for c in self.configs()]


def _checked_url(url: str) -> str:
    url = url.strip()
    if not url.startswith(("http://", "https://")):
        raise ProtocolError("The MCP server URL must start with http:// or https://.")
    if "@" in url.split("/", 3)[2]:  # settings are no place for credentials
        raise ProtocolError("Put credentials in the token or headers fields, not in the URL.")
    return url


def _refusal(qualified: str, taken: set[str]) -> str:
    if not _FUNCTION_NAME.match(qualified):
        return f"Not offered: '{qualified}' is not a valid tool name (letters, digits, _ and -)."
    if qualified in taken:
        return f"Not offered: '{qualified}' is already the name of another tool."
    return ""


def _description(server: str, raw: Json) -> str:
    text = str(raw.get("description") or "")[:1000]
    return f"[MCP server '{server}', external] {text}".strip()


def _schema(raw: Json) -> Json:
    schema = raw.get("inputSchema")
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return {"type": "object", "properties": {}}
    return schema


def content_text(result: Json) -> str:
    """A ``tools/call`` result as plain text: text items verbatim, others summarized."""
    parts: list[str] = []
    content = result.get("content")
    for item in content if isinstance(content, list) else []:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind == "text":
            parts.append(str(item.get("text", "")))
        elif kind in ("image", "audio"):
            size = len(str(item.get("data", ""))) * 3 // 4
            parts.append(f"[{kind} {item.get('mimeType', '?')}, {size:,} bytes, not shown]")
        elif kind == "resource_link":
            parts.append(f"[resource link {item.get('uri', '')}: {item.get('name', '')}]")
        elif kind == "resource":
            found = item.get("resource")
            resource: Json = found if isinstance(found, dict) else {}
            body = resource.get("text") if isinstance(resource.get("text"), str) else None
            uri = resource.get("uri", "")
            parts.append(body if body is not None else f"[embedded resource {uri}, not shown]")
        else:
            parts.append(f"[{kind} content, not shown]")
    if not parts and "structuredContent" in result:
        parts.append(json.dumps(result["structuredContent"], ensure_ascii=False)[:MAX_RESULT_CHARS])
    text = "\n".join(parts)
    if len(text) > MAX_RESULT_CHARS:
        text = (
            text[:MAX_RESULT_CHARS] + f"\n[cut: {len(text) - MAX_RESULT_CHARS:,} more characters]"
        )
    return text


def _readable(error: Exception) -> str:
    return str(error) or type(error).__name__


def servers(service: OsService) -> RemoteServers:
    """The service's MCP servers, made on first use."""
    existing = getattr(service, "mcp_servers", None)
    if isinstance(existing, RemoteServers):
        return existing
    from llmos.agent.tools import TOOLS

    made = RemoteServers(service, lambda: TOOLS.names)
    service.mcp_servers = made
    return made
