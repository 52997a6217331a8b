"""The MCP server behind ``llmos mcp``: LLMos's tools and workspace files on the official SDK.

Tools come from the agent's registry (:data:`llmos.agent.tools.TOOLS`): their names, descriptions
and input schemas are listed as they are, and every call goes through ``TOOLS.call``, so argument
checking and error results are the ones the agent gets. Files of the user volume are resources
(``llmos://user/<path>``); each enabled skill is a resource (``llmos://skills/<name>/SKILL.md``)
and a prompt named after it, whose message is the skill's body. Each html applet (the user's
and the shipped ones) is an MCP App (the ``io.modelcontextprotocol/ui`` extension, SEP-1865):
a resource ``ui://llmos/<name>`` of type ``text/html;profile=mcp-app`` holding its page, and a
tool ``show_applet_<name>`` whose ``_meta.ui.resourceUri`` names it, so any MCP Apps host
renders the applet when the tool is called. Over HTTP the server binds
127.0.0.1 by default, refuses requests from browser origins that were not allowed explicitly
(DNS-rebinding protection), sends CORS headers to allowed origins only, and can require a
bearer token.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import anyio
from anyio.streams.memory import MemoryObjectSendStream
from mcp.server.apps import Apps, client_supports_apps
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.server.stdio import stdio_server
from mcp.server.transport_security import (
    DEFAULT_MAX_REQUEST_BODY_SIZE,
    TransportSecuritySettings,
)
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage
from mcp.types import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    PARSE_ERROR,
    CallToolResult,
    ErrorData,
    GetPromptResult,
    InputRequiredResult,
    JSONRPCError,
    JSONRPCRequest,
    PromptMessage,
    TextContent,
)
from mcp.types import Prompt as MCPPrompt
from mcp.types import Resource as MCPResource
from mcp.types import Tool as MCPTool
from pydantic import AnyUrl
from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

import llmos
import llmos.tools  # registers the built-in tools
from llmos.agent.tools import TOOLS, ToolContext
from llmos.applets.model import Manifest, manifest_from
from llmos.applets.store import AppletStore
from llmos.errors import BinaryFileError, LlmosError

if TYPE_CHECKING:
    from mcp.shared._stream_protocols import ReadStream, WriteStream

    from llmos.skills.spec import Skill

# Not exposed: ``delete_file`` asks the user in the app before deleting, and an MCP client
# offers no such question here, so it would always be declined; ``delegate`` needs an LLM.
# ``execute_python`` is added by ``llmos mcp`` when its Pyodide-under-Node sandbox is found.
FILE_TOOLS = ("read_file", "write_file", "list_files")
MEMORY_TOOLS = ("recall", "remember")
RESOURCE_PREFIX = "llmos://user/"
SKILL_PREFIX = "llmos://skills/"
SKILL_SUFFIX = "/SKILL.md"
MAX_RESOURCE_BYTES = 1_000_000  # bigger files are left out of the resource list
APPLET_PREFIX = "ui://llmos/"
APPLET_TOOL_PREFIX = "show_applet_"
MCP_APP_MIME = "text/html;profile=mcp-app"  # @modelcontextprotocol/ext-apps RESOURCE_MIME_TYPE
NO_ARGUMENTS: dict[str, Any] = {"type": "object", "properties": {}}
# An applet's ``_meta.ui`` (resource and contents): it reaches no other origin (an empty ``csp``
# keeps the spec's no-network default explicit for hosts that audit it) and, having no frame of
# its own, asks the host for a border.
APPLET_UI_META: dict[str, Any] = {"csp": {}, "prefersBorder": True}
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
# One message's cap on stdio: the SDK's cap on an HTTP request body (answered there with 413).
MAX_MESSAGE_CHARS = DEFAULT_MAX_REQUEST_BODY_SIZE


def exposed_tools(memory: bool) -> list[str]:
    """The registry tools an MCP client gets: the file tools, and memory's when it is on."""
    return [*FILE_TOOLS, *(MEMORY_TOOLS if memory else ())]


class LlmosMcpServer(MCPServer[Any]):
    """An :class:`MCPServer` whose tools and resources are LLMos's, served from a tool context."""

    def __init__(self, ctx: ToolContext, tool_names: Sequence[str]) -> None:
        self._ctx = ctx
        self._tool_names = list(tool_names)
        super().__init__(
            name="llmos",
            version=llmos.__version__,
            instructions="LLMos's tools on the user's workspace: read, write and list files"
            + (", recall and remember by meaning" if "recall" in tool_names else "")
            + (", run Python in a sandbox" if "execute_python" in tool_names else "")
            + (". The user's Agent Skills are prompts and resources" if ctx.skills else "")
            + ".",
            log_level="WARNING",
            extensions=[Apps()],  # advertises io.modelcontextprotocol/ui; applets are ours
        )

    async def run_stdio_async(self) -> None:
        """Serve stdio; unlike the SDK's, a line that is not JSON-RPC gets a parse error back
        (the SDK drops it silently, which leaves a client waiting for an answer), and a request
        bigger than HTTP allows is refused with an error instead of being run."""
        async with stdio_server() as (incoming, outgoing):
            checked_in, checked = anyio.create_memory_object_stream[SessionMessage | Exception]()
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(_answer_parse_errors, incoming, checked_in, outgoing)
                lowlevel = self._lowlevel_server
                await lowlevel.run(checked, outgoing, lowlevel.create_initialization_options())

    async def list_tools(self) -> list[MCPTool]:
        """Our registry's specs, unchanged, then one tool per html applet that shows it."""
        registry = [
            MCPTool(name=spec.name, description=spec.description, input_schema=spec.input_schema)
            for spec in TOOLS.specs(self._tool_names)
        ]
        return registry + [_applet_tool(applet) for applet in await self._html_applets()]

    def _tool_input_schema(self, name: str) -> dict[str, Any] | None:
        if name.startswith(APPLET_TOOL_PREFIX):
            return NO_ARGUMENTS
        specs = TOOLS.specs([name] if name in self._tool_names else [])
        return specs[0].input_schema if specs else None

    async def _html_applets(self) -> list[Manifest]:
        """The valid html applets of the workspace and the shipped ones, by name."""
        listed = await AppletStore(self._ctx.vfs).list()
        found = [manifest_from(i.manifest) for i in listed if i.manifest and i.problem is None]
        return [manifest for manifest in found if manifest.kind == "html"]

    async def _html_applet(self, name: str) -> Manifest | None:
        return next((a for a in await self._html_applets() if a.name == name), None)

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        """Run the tool through ``TOOLS.call``; every failure is an ``isError`` result. An
        applet's tool only says what the host shows: the host renders its ``ui://`` resource."""
        applet = None
        if name.startswith(APPLET_TOOL_PREFIX):
            applet = await self._html_applet(name.removeprefix(APPLET_TOOL_PREFIX))
        if applet is not None:
            shown = context is not None and client_supports_apps(context)
            return CallToolResult.model_validate({"content": [_applet_text(applet, shown)]})
        if name not in self._tool_names:
            known = ", ".join(self._tool_names)
            text = f"There is no tool named '{name}' here. Available: {known}."
            return CallToolResult.model_validate(
                {"content": [{"type": "text", "text": text}], "isError": True}
            )
        result = await TOOLS.call(name, arguments, self._ctx)
        return CallToolResult.model_validate(result.to_mcp())

    async def _enabled_skills(self) -> list[Skill]:
        """The enabled, valid skills of the workspace (none when skills are not served)."""
        store = self._ctx.skills
        if store is None:
            return []
        infos = [i for i in await store.list() if i.enabled and i.problem is None]
        return [await store.get(info.name) for info in infos]

    async def _enabled_skill(self, name: str) -> Skill | None:
        return next((s for s in await self._enabled_skills() if s.name == name), None)

    async def list_prompts(self) -> list[MCPPrompt]:
        """One prompt per enabled skill: its name and description."""
        return [
            MCPPrompt(name=skill.name, description=skill.description)
            for skill in await self._enabled_skills()
        ]

    async def get_prompt(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        context: Context[Any, Any] | None = None,
    ) -> GetPromptResult | InputRequiredResult:
        """The skill's body as a user message; an unknown (or disabled) skill is an
        invalid-params error, not a logged server exception."""
        skill = await self._enabled_skill(name)
        if skill is None:
            raise MCPError(INVALID_PARAMS, f"Unknown prompt '{name}': no enabled skill has it.")
        message = PromptMessage(role="user", content=TextContent(type="text", text=skill.body))
        return GetPromptResult(description=skill.description, messages=[message])

    async def list_resources(self) -> list[MCPResource]:
        """Every text file of the user volume, except saved chats and hidden folders, and
        every enabled skill's SKILL.md."""
        files = [
            MCPResource(uri=_uri(path), name=path, mime_type="text/plain")
            for path in await self._text_files()
        ]
        skills = [
            MCPResource(
                uri=f"{SKILL_PREFIX}{skill.name}{SKILL_SUFFIX}",
                name=f"{skill.name}{SKILL_SUFFIX}",
                description=skill.description,
                mime_type="text/markdown",
            )
            for skill in await self._enabled_skills()
        ]
        applets = [
            MCPResource(
                uri=f"{APPLET_PREFIX}{applet.name}",
                name=applet.name,
                title=applet.title,
                description=applet.description,
                mime_type=MCP_APP_MIME,
                _meta={"ui": APPLET_UI_META},
            )
            for applet in await self._html_applets()
        ]
        return files + skills + applets

    async def _text_files(self) -> list[str]:
        found = []
        for entry in await self._ctx.vfs.walk("user"):
            inner = entry.path.removeprefix("user/")
            if entry.is_dir or not _shown(inner) or entry.size > MAX_RESOURCE_BYTES:
                continue
            try:
                await self._ctx.vfs.read_text(entry.path)
            except BinaryFileError:
                continue
            found.append(inner)
        return found

    async def read_resource(
        self, uri: AnyUrl | str, context: Context[Any, Any] | None = None
    ) -> Iterable[ReadResourceContents] | InputRequiredResult:
        """The text of ``llmos://user/<path>`` or of an enabled skill's SKILL.md; anything
        else is a resource error."""
        text_uri = str(uri)
        if text_uri.startswith(SKILL_PREFIX):
            return await self._read_skill(text_uri)
        if text_uri.startswith(APPLET_PREFIX):
            return await self._read_applet(text_uri)
        inner = text_uri.removeprefix(RESOURCE_PREFIX)
        if inner == text_uri or not _shown(inner):
            raise ResourceError(f"Unknown resource {text_uri}: use {RESOURCE_PREFIX}<path>.")
        try:
            text = await self._ctx.vfs.read_text(f"user/{inner}")
        except LlmosError as error:
            raise ResourceError(str(error)) from error
        return [ReadResourceContents(content=text, mime_type="text/plain")]

    async def _read_skill(self, uri: str) -> list[ReadResourceContents]:
        name = uri.removeprefix(SKILL_PREFIX).removesuffix(SKILL_SUFFIX)
        skill = await self._enabled_skill(name) if uri.endswith(SKILL_SUFFIX) else None
        if skill is None:
            raise ResourceError(f"Unknown resource {uri}: no enabled skill is there.")
        return [ReadResourceContents(content=skill.to_markdown(), mime_type="text/markdown")]

    async def _read_applet(self, uri: str) -> list[ReadResourceContents]:
        """An html applet's page, whole, with its ``_meta.ui``: what an MCP Apps host renders in
        its sandbox."""
        applet = await self._html_applet(uri.removeprefix(APPLET_PREFIX))
        if applet is None:
            raise ResourceError(f"Unknown resource {uri}: no html applet is called that.")
        page = (await AppletStore(self._ctx.vfs).get(applet.name)).entry
        meta = {"ui": APPLET_UI_META}
        return [ReadResourceContents(content=page, mime_type=MCP_APP_MIME, meta=meta)]


def _applet_tool(applet: Manifest) -> MCPTool:
    """The tool that shows ``applet`` in an MCP Apps host: ``_meta.ui.resourceUri`` names its
    page (and ``ui/resourceUri``, the extension's older key, for hosts that read only that)."""
    uri = f"{APPLET_PREFIX}{applet.name}"
    about = f": {applet.description}" if applet.description else ""
    return MCPTool(
        name=f"{APPLET_TOOL_PREFIX}{applet.name}",
        title=applet.title,
        description=f"Show the LLMos applet '{applet.title}'{about}",
        input_schema=NO_ARGUMENTS,
        _meta={"ui": {"resourceUri": uri}, "ui/resourceUri": uri},
    )


def _applet_text(applet: Manifest, shown: bool) -> dict[str, str]:
    """What an applet's tool answers: to a host that renders MCP Apps, that it shows the
    applet; to any other client, what the applet is and where it can be opened instead."""
    uri = f"{APPLET_PREFIX}{applet.name}"
    if shown:
        return {"type": "text", "text": f"Showing the applet '{applet.title}' ({uri})."}
    sentences = [
        f"'{applet.title}' is an interactive LLMos applet ({uri}), and this client does not "
        "render MCP Apps, so it cannot be shown here.",
        f"What it does: {applet.description.rstrip('.')}." if applet.description else "",
        "Open it on the LLMos desktop or in an MCP Apps host.",
    ]
    return {"type": "text", "text": " ".join(s for s in sentences if s)}


def _uri(path: str) -> str:
    return RESOURCE_PREFIX + path


def _shown(inner: str) -> bool:
    parts = inner.split("/")
    return parts[0] != "chats" and not any(part.startswith(".") for part in parts)


def http_app(
    server: MCPServer[Any], host: str, allowed_origins: Sequence[str], token: str | None
) -> ASGIApp:
    """The Streamable HTTP app at ``/mcp``: origin check, then CORS, then the bearer token."""
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*"]
    if host not in LOCAL_HOSTS:
        hosts.append(f"{host}:*")
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=hosts,
        # Our OriginGuard runs first and is stricter: here only its own-origin rule is mirrored.
        allowed_origins=[*allowed_origins, *(f"http://{h}:*" for h in _host_names(host))],
    )
    app: ASGIApp = server.streamable_http_app(transport_security=security, host=host)
    if token:
        app = BearerToken(app, token)
    app = CORSMiddleware(
        app,
        allow_origins=list(allowed_origins),
        allow_methods=["GET", "POST", "DELETE"],
        allow_headers=["*"],
        expose_headers=["Mcp-Session-Id", "Mcp-Protocol-Version", "WWW-Authenticate"],
    )
    return OriginGuard(app, allowed_origins, _host_names(host))


def _host_names(host: str) -> list[str]:
    """The names this server answers to, as they appear in ``Host`` and ``Origin``."""
    names = ["127.0.0.1", "localhost", "[::1]"]
    if host not in LOCAL_HOSTS:
        names.append(f"[{host}]" if ":" in host else host)
    return names


class OriginGuard:
    """Answers 403 to a request whose ``Origin`` was not allowed, preflights included.

    A browser page on any site can send requests to 127.0.0.1; refusing foreign origins before
    anything else is what keeps such a page away from the workspace. The server's own origin
    (``http://<Host>`` for a host name it answers to) is allowed: no other page has it, and a
    rebound name fails this check because it is not one of those names."""

    def __init__(
        self, app: ASGIApp, allowed_origins: Sequence[str], host_names: Sequence[str] = ()
    ) -> None:
        self.app = app
        self.allowed = set(allowed_origins)
        self.host_names = set(host_names)

    def _own_origin(self, origin: str, host: str) -> bool:
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return name in self.host_names and origin == f"http://{host}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else None
        origin = headers.get("origin") if headers else None
        host = headers.get("host", "") if headers else ""
        if origin and origin not in self.allowed and not self._own_origin(origin, host):
            response = PlainTextResponse(f"Origin {origin} is not allowed.", status_code=403)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class BearerToken:
    """Answers 401 unless the request carries ``Authorization: Bearer <token>``."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            supplied = Headers(scope=scope).get("authorization", "").encode()
            if not hmac.compare_digest(supplied, self.expected):
                response = PlainTextResponse(
                    "A valid bearer token is required.",
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def serve_stdio(server: MCPServer[Any]) -> None:
    """Serve one client on stdin/stdout until it closes them."""
    await server.run_stdio_async()


async def _answer_parse_errors(
    incoming: ReadStream[SessionMessage | Exception],
    checked: MemoryObjectSendStream[SessionMessage | Exception],
    outgoing: WriteStream[SessionMessage],
) -> None:
    async with checked:
        async for item in incoming:
            refusal = _refusal(item)
            if refusal is not None:
                await outgoing.send(SessionMessage(refusal))
            elif not isinstance(item, Exception):
                await checked.send(item)


def _refusal(item: SessionMessage | Exception) -> JSONRPCError | None:
    """The error answering a line that is not JSON-RPC or a request over the size cap."""
    if isinstance(item, Exception):
        error = ErrorData(code=PARSE_ERROR, message="Parse error: not JSON-RPC.")
        return JSONRPCError(jsonrpc="2.0", id=None, error=error)
    message = item.message
    if not isinstance(message, JSONRPCRequest):
        return None
    size = len(message.model_dump_json(by_alias=True, exclude_unset=True))
    if size <= MAX_MESSAGE_CHARS:
        return None
    text = f"Request too large: {size} characters; the limit is {MAX_MESSAGE_CHARS}."
    return JSONRPCError(
        jsonrpc="2.0", id=message.id, error=ErrorData(code=INVALID_REQUEST, message=text)
    )


async def serve_http(app: ASGIApp, host: str, port: int) -> None:
    """Serve Streamable HTTP on ``host:port`` until interrupted."""
    import uvicorn

    config = uvicorn.Config(app, host=host, port=port, log_level="warning")
    await uvicorn.Server(config).serve()
