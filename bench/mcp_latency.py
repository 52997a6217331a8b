"""MCP benchmark: tool-call latency and cold start of ``llmos mcp`` against the SDK's minimal
example server (its README's ``MCPServer`` with one ``add`` tool, served by this file with
``--serve-minimal [--http PORT]``), both measured in the same run.

    .venv/bin/python bench/mcp_latency.py [--calls N] [--starts N]      (defaults 200 and 5)

(Not named bench/mcp.py: bench/ files are top-level modules for mypy, so that name would shadow
the SDK package ``mcp`` for every file mypy checks.)

For each server (ours, minimal) and transport (stdio, Streamable HTTP) it starts the server as a
subprocess, connects with the official SDK client, warms up, then makes N sequential tool calls
(ours: ``read_file`` of a small file and ``list_files``, plus ``execute_python`` ``print(1)`` when
the server lists it; minimal: ``add``) and reports p50, p95 and mean in ms. Cold start is process
spawn -> first answered request (initialize + tools/list), median over several starts. Ratios are
ours / minimal. Writes bench/results/mcp.json and prints a compact table.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client
from mcp.server import MCPServer

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "mcp.json"
LAUNCH = "import sys; from llmos.cli import main; sys.exit(main(sys.argv[1:]))"
TOKEN_ENV = "LLMOS_BENCH_MCP_TOKEN"
TOKEN = "bench-token-not-secret"
WARMUP = 10
LISTEN_TIMEOUT_S = 60.0
HTTP_TIMEOUT_S = 120.0  # the first execute_python boots Pyodide; httpx2 gives up after 5 s
POLL_S = 0.005  # bounds the HTTP cold-start resolution; a spawn takes hundreds of ms

# Server name -> tool name -> arguments of the call measured.
CALLS: dict[str, dict[str, dict[str, Any]]] = {
    "ours": {
        "read_file": {"path": "notes.md"},
        "list_files": {"path": ""},
        "execute_python": {"code": "print(1)"},
    },
    "minimal": {"add": {"a": 1, "b": 2}},
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _command(server: str, workspace: Path, port: int | None) -> list[str]:
    if server == "minimal":
        http = ["--http", str(port)] if port is not None else []
        return [sys.executable, __file__, "--serve-minimal", *http]
    command = [sys.executable, "-c", LAUNCH, "mcp", "--workspace", str(workspace)]
    if port is not None:
        command += ["--http", str(port), "--token-env", TOKEN_ENV]
    return command


def _env(workspace: Path) -> dict[str, str]:
    pythonpath = os.pathsep.join([str(ROOT / "pyapp"), os.environ.get("PYTHONPATH", "")])
    memory = str(workspace.parent / "memory")
    return {**os.environ, "PYTHONPATH": pythonpath, TOKEN_ENV: TOKEN, "LLMOS_MEMORY": memory}


@asynccontextmanager
async def _stdio_client(server: str, workspace: Path) -> AsyncIterator[Client]:
    command = _command(server, workspace, None)
    params = StdioServerParameters(command=command[0], args=command[1:], env=_env(workspace))
    async with Client(params) as client:
        yield client


async def _wait_until_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    """Returns once the server accepts TCP connections (a failed MCP connect is far slower)."""
    deadline = time.monotonic() + LISTEN_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(POLL_S)


@asynccontextmanager
async def _http_client(server: str, workspace: Path) -> AsyncIterator[Client]:
    port = _free_port()
    quiet = subprocess.DEVNULL  # uvicorn logs every request
    command = _command(server, workspace, port)
    process = subprocess.Popen(command, env=_env(workspace), stdout=quiet, stderr=quiet)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    try:
        await _wait_until_listening(port, process)
        async with httpx2.AsyncClient(headers=headers, timeout=HTTP_TIMEOUT_S) as http:
            transport = streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)
            async with Client(transport) as client:
                yield client
    finally:
        process.terminate()
        process.wait(timeout=10)


def _client(server: str, transport: str, workspace: Path) -> Any:
    opener = _stdio_client if transport == "stdio" else _http_client
    return opener(server, workspace)


def _summary(samples_ms: list[float]) -> dict[str, float | int]:
    ordered = sorted(samples_ms)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "p50_ms": round(statistics.median(ordered), 3),
        "p95_ms": round(p95, 3),
        "mean_ms": round(statistics.fmean(ordered), 3),
    }


async def _latencies(server: str, transport: str, workspace: Path, calls: int) -> dict[str, Any]:
    measured: dict[str, Any] = {}
    async with _client(server, transport, workspace) as client:
        listed = {tool.name for tool in (await client.list_tools()).tools}
        for tool, arguments in CALLS[server].items():
            if tool not in listed:
                continue
            for _ in range(WARMUP):
                await client.call_tool(tool, arguments)
            samples = []
            for _ in range(calls):
                start = time.perf_counter()
                result = await client.call_tool(tool, arguments)
                samples.append((time.perf_counter() - start) * 1000)
                if result.is_error:
                    raise RuntimeError(f"{server} {tool} failed: {result.content}")
            measured[tool] = _summary(samples)
    return measured


async def _cold_start_ms(server: str, transport: str, workspace: Path) -> float:
    start = time.perf_counter()
    async with _client(server, transport, workspace) as client:
        await client.list_tools()
        return (time.perf_counter() - start) * 1000


async def _cold_starts(server: str, transport: str, workspace: Path, starts: int) -> Any:
    samples = [await _cold_start_ms(server, transport, workspace) for _ in range(starts)]
    return {**_summary(samples), "samples_ms": [round(s, 1) for s in samples]}


def _ratio(ours: float, minimal: float) -> float:
    return round(ours / minimal, 2)


def _ratios(results: dict[str, Any]) -> dict[str, Any]:
    ratios: dict[str, Any] = {}
    for transport in ("stdio", "http"):
        reference = results["minimal"][transport]
        ours = results["ours"][transport]
        ratios[transport] = {
            f"{tool}_p50_vs_add": _ratio(stats["p50_ms"], reference["calls"]["add"]["p50_ms"])
            for tool, stats in ours["calls"].items()
        }
        cold = _ratio(ours["cold_start"]["p50_ms"], reference["cold_start"]["p50_ms"])
        ratios[transport]["cold_start_p50"] = cold
    return ratios


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _machine() -> dict[str, Any]:
    return {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "mcp_sdk": version("mcp"),
    }


def _workspace(root: Path) -> Path:
    folder = root / "ws"
    (folder / "docs").mkdir(parents=True)
    (folder / "notes.md").write_text("# Notes\nbuy milk\n")
    (folder / "docs" / "a.md").write_text("a\n")
    return folder


async def _run(calls: int, starts: int) -> dict[str, Any]:
    results: dict[str, Any] = {"ours": {}, "minimal": {}}
    with tempfile.TemporaryDirectory() as tmp:
        workspace = _workspace(Path(tmp))
        for server, by_transport in results.items():
            for transport in ("stdio", "http"):
                print(f"measuring {server} over {transport}", flush=True)
                by_transport[transport] = {
                    "calls": await _latencies(server, transport, workspace, calls),
                    "cold_start": await _cold_starts(server, transport, workspace, starts),
                }
    return results


def _print_table(results: dict[str, Any]) -> None:
    for server, transports in results.items():
        for transport, measured in transports.items():
            for tool, stats in measured["calls"].items():
                print(
                    f"{server:8} {transport:6} {tool:15} p50 {stats['p50_ms']:8.2f} ms"
                    f"  p95 {stats['p95_ms']:8.2f} ms"
                )
            cold = measured["cold_start"]
            print(f"{server:8} {transport:6} {'cold start':15} p50 {cold['p50_ms']:8.1f} ms")


def _serve_minimal(port: int | None) -> None:
    """The SDK README's minimal server, verbatim but for the name."""
    server = MCPServer("Demo")

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    if port is None:
        server.run()
    else:
        server.run("streamable-http", host="127.0.0.1", port=port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--serve-minimal", action="store_true", help="be the reference server")
    parser.add_argument("--http", type=int, metavar="PORT", help="--serve-minimal over HTTP")
    args = parser.parse_args()
    if args.serve_minimal:
        _serve_minimal(args.http)
        return
    machine = _machine()
    started = time.perf_counter()
    results = asyncio.run(_run(args.calls, args.starts))
    machine["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    report = {
        "generated": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "units": "ms; calls are sequential over one session after warm-up; cold start is "
        "process spawn -> initialize + tools/list answered",
        "machine": machine,
        "warmup_calls": WARMUP,
        "results": results,
        "ratios_ours_vs_minimal": _ratios(results),
        "bench_seconds": round(time.perf_counter() - started, 1),
    }
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    _print_table(results)
    print(f"wrote {RESULTS.relative_to(ROOT)} in {report['bench_seconds']} s")


if __name__ == "__main__":
    main()
