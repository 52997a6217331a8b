"""The ``llmos`` console script: the OS from a terminal, on a workspace folder.

A workspace has the same layout as the browser's user volume, so a clone of a user's synced
repository works. ``ls``, ``cat`` and ``put`` reach its files; ``chat`` asks the agent, which
runs Python in a child process and writes into the workspace. The API key comes from the
``LLMOS_API_KEY`` environment variable (never an argument, so it stays out of shell history
and process lists), is kept in memory only and is not passed to the child. The child runs as
you, though: natively it is a separate process, not a security boundary (it could read what you
can read, this process's start-up environment included), so give the CLI only code and keys you
would run and use yourself; the browser's kernel is the sandbox for untrusted code. ``mcp``
serves the workspace's file (and memory) tools to MCP clients over stdio or Streamable HTTP, and
``execute_python`` when Node.js >= 25 and the npm ``pyodide`` package are found: that code runs
in Pyodide under Node's permission model (see :mod:`llmos.platform.node_sandbox`), a real
sandbox: no files outside the workspace's copy, no network unless ``--allow-network``, a time
limit per call and a memory limit (``--python-memory``). ``--no-python`` leaves it out. The
workspace's html applets (and the shipped ones) are served as MCP Apps: ``ui://llmos/<name>``
resources with a ``show_applet_<name>`` tool each, which MCP Apps hosts render.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import llmos
from llmos.errors import LlmosError
from llmos.platform.memory import MemoryStorage
from llmos.platform.native import DirectoryStorage
from llmos.protocol import Event
from llmos.service import OsService, system_storage
from llmos.vfs import Vfs, Volume

if TYPE_CHECKING:
    from llmos.platform.node_sandbox import PyodideNodeSandbox


def open_vfs(workspace: str) -> Vfs:
    vfs = Vfs()
    vfs.mount(Volume("system", system_storage(), writable=False))
    vfs.mount(Volume("user", DirectoryStorage(workspace), writable=True))
    return vfs


async def _ls(vfs: Vfs, path: str) -> None:
    for entry in await vfs.list(path):
        print(f"{entry.path}/" if entry.is_dir else f"{entry.path}\t{entry.size}")


async def _cat(vfs: Vfs, path: str) -> None:
    sys.stdout.write(await vfs.read_text(path))


async def _put(vfs: Vfs, path: str) -> None:
    await vfs.write_bytes(path, sys.stdin.buffer.read())


COMMANDS = {"ls": _ls, "cat": _cat, "put": _put}
STATUS_CODES = {"final": 0, "error": 1, "step_limit": 2, "stopped": 3}


def _show(event: Event) -> None:
    """Print a turn as it happens: answer text on stdout, steps on stderr."""
    name, data = event["name"], event["data"]
    if name == "chat.delta" and data.get("index") is not None:
        sys.stdout.write(data["text"])
        sys.stdout.flush()
    elif name == "chat.item" and data["item"]["kind"] in ("route", "error", "notice"):
        item = data["item"]
        detail = item.get("reason") or item.get("message") or item.get("text")
        print(f"[{item['kind']}] {detail}", file=sys.stderr)
    elif name == "chat.update" and data["item"]["kind"] == "tool":
        item = data["item"]
        if item["status"] != "running":
            first = item["result"].splitlines()[0] if item["result"] else ""
            print(f"\n[{item['name']} {item['status']}] {first}", file=sys.stderr)


async def _chat(workspace: str, message: str, base_url: str, model: str) -> int:
    from llmos.platform.native_http import NativeHttp
    from llmos.platform.native_sandbox import SubprocessSandbox

    service = await OsService.create(DirectoryStorage(workspace), MemoryStorage(), _show)
    service.http = NativeHttp()
    _give_memory(service, workspace)
    with tempfile.TemporaryDirectory(prefix="llmos-kernel-") as kernel_dir:
        service.sandbox = sandbox = SubprocessSandbox(kernel_dir)
        try:
            endpoint = {"name": "cli", "base_url": base_url, "model": model}
            endpoint["api_key"] = os.environ.get("LLMOS_API_KEY", "")
            await _request(service, "llm.settings.set", endpoint=endpoint, mode="remote")
            chat = await _request(service, "chat.new")
            done = await _request(service, "chat.send", id=chat["id"], text=message)
        finally:
            await sandbox.close()
    if service.memory_host is not None:  # the turn is remembered before the process ends
        from llmos.memory.methods import host

        await host(service).idle()
    print()
    return STATUS_CODES.get(done["status"], 1)


def memory_folder(workspace: str) -> Path:
    """Where the memory of a workspace lives: ``$LLMOS_MEMORY``, else a folder per workspace
    under ``~/.local/share/llmos/memory`` (outside the workspace, so it never lands in git)."""
    explicit = os.environ.get("LLMOS_MEMORY")
    if explicit:
        return Path(explicit)
    key = hashlib.sha256(str(Path(workspace).resolve()).encode()).hexdigest()[:16]
    return Path.home() / ".local" / "share" / "llmos" / "memory" / key


def _give_memory(service: OsService, workspace: str) -> None:
    """Memory natively: onnxruntime and the embedding model, when installed."""
    try:
        from llmos.platform.native_embedder import OnnxEmbedder, find_model

        find_model()
        engine = OnnxEmbedder()
    except (ImportError, LlmosError) as error:
        print(f"[memory] off: {error}", file=sys.stderr)
        return
    service.memory_storage = DirectoryStorage(memory_folder(workspace))
    service.embedding_engine = lambda prefer: engine


async def _mcp(args: argparse.Namespace) -> int:
    from llmos.agent.tools import ToolContext
    from llmos.skills.store import skill_store

    try:
        from llmos.mcp import server as mcp
    except ImportError as error:
        raise LlmosError(
            f"llmos mcp needs the MCP SDK: pip install 'llmos[mcp]' ({error})"
        ) from None
    host_name, port = _host_port(args.http) if args.http else ("", 0)
    token = _token(args.token_env)
    service = await OsService.create(DirectoryStorage(args.workspace), MemoryStorage(), _ignore)
    _give_memory(service, args.workspace)
    memory = None
    if service.embedding_engine is not None:
        from llmos.memory.methods import host

        memory = host(service)
    sandbox = _python_sandbox(args)
    ctx = ToolContext(vfs=service.vfs, memory=memory, sandbox=sandbox, skills=skill_store(service))
    tool_names = mcp.exposed_tools(memory is not None)
    if sandbox is not None:
        tool_names.append("execute_python")
    server = mcp.LlmosMcpServer(ctx, tool_names)
    try:
        if args.http is None:
            await mcp.serve_stdio(server)
        else:
            app = mcp.http_app(server, host_name, args.allow_origin or [], token)
            print(f"llmos mcp: serving http://{host_name}:{port}/mcp", file=sys.stderr)
            await mcp.serve_http(app, host_name, port)
    finally:
        if sandbox is not None:
            await sandbox.close()
    if memory is not None:  # what was written is remembered before the process ends
        await memory.idle()
    return 0


def _python_sandbox(args: argparse.Namespace) -> PyodideNodeSandbox | None:
    """``execute_python``'s sandbox (started on the first call), or None with one line saying
    why on stderr."""
    from llmos.platform.node_sandbox import PyodideNodeSandbox, find_runtime

    if args.no_python:
        return None
    runtime = find_runtime()
    if isinstance(runtime, str):
        print(f"llmos mcp: execute_python is off: {runtime}", file=sys.stderr)
        return None
    return PyodideNodeSandbox(
        runtime, allow_network=args.allow_network, memory_mb=args.python_memory
    )


def _ignore(event: Event) -> None:
    """The MCP server shows no OS events: its client sees tool results only."""


def _host_port(value: str) -> tuple[str, int]:
    """``--http``'s address; a bare port binds 127.0.0.1 (this machine only)."""
    host_name, _, port = value.rpartition(":")
    if not port.isdigit() or int(port) > 65535:
        raise LlmosError(f"--http takes [HOST:]PORT, e.g. 127.0.0.1:8765, not '{value}'.")
    return host_name.strip("[]") or "127.0.0.1", int(port)


def _token(env_name: str | None) -> str | None:
    """The bearer token from the named environment variable (never argv, never logged)."""
    if env_name is None:
        return None
    token = os.environ.get(env_name, "")
    if not token:
        raise LlmosError(f"--token-env {env_name}: that environment variable is empty or unset.")
    return token


async def _request(service: OsService, method: str, **params: Any) -> Any:
    reply = await service.handle(
        {"type": "request", "id": "cli", "method": method, "params": params}
    )
    if not reply["ok"]:
        raise LlmosError(reply["error"]["message"])
    return reply["result"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="llmos", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=f"llmos {llmos.__version__}")
    parser.add_argument("--workspace", default=".", help="folder used as the user volume")
    parser.add_argument(
        "command",
        choices=[*sorted(COMMANDS), "chat", "mcp"],
        help="ls, cat, put (from stdin), chat, mcp (serve the tools and applets to MCP clients)",
    )
    parser.add_argument(
        "path", nargs="?", default="user", help="a VFS path (user/notes.md), or chat's message"
    )
    parser.add_argument("--base-url", default="https://api.openai.com/v1", help="chat: endpoint")
    parser.add_argument("--model", default="gpt-4o-mini", help="chat: model name")
    parser.add_argument("--http", metavar="[HOST:]PORT", help="mcp: Streamable HTTP, not stdio")
    parser.add_argument(
        "--allow-origin", action="append", metavar="ORIGIN", help="mcp --http: a browser origin"
    )
    parser.add_argument("--token-env", metavar="NAME", help="mcp --http: bearer token variable")
    parser.add_argument(
        "--allow-network",
        action="store_true",
        help="mcp: let execute_python's sandbox reach the network (off by default)",
    )
    parser.add_argument(
        "--python-memory",
        type=int,
        default=1024,
        metavar="MB",
        help="mcp: execute_python's memory limit (1024)",
    )
    parser.add_argument("--no-python", action="store_true", help="mcp: do not offer execute_python")
    args = parser.parse_args(argv)
    try:
        if args.command == "chat":
            return asyncio.run(_chat(args.workspace, args.path, args.base_url, args.model))
        if args.command == "mcp":
            return asyncio.run(_mcp(args))
        asyncio.run(COMMANDS[args.command](open_vfs(args.workspace), args.path))
    except LlmosError as error:
        print(f"llmos: {error}", file=sys.stderr)
        return 1
    return 0
