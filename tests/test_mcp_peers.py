"""``llmos mcp`` against peers we did not write: the official MCP conformance suite over Streamable
HTTP (with ``tests/mcp-conformance-baseline.yml`` as its expected failures) and the MCP Inspector
CLI over stdio and HTTP. Both are npm dev tools run with the repository's Node."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.test_mcp_server import (
    EXPECTED_TOOLS,
    LAUNCH,
    TOKEN,
    _env,
    _free_port,
    _wait_until_listening,
    file_and_memory_tools,
)

ROOT = Path(__file__).resolve().parent.parent
NODE = str(ROOT / "node_modules" / ".bin" / "node")
CONFORMANCE = str(ROOT / "node_modules" / ".bin" / "conformance")
INSPECTOR = str(ROOT / "node_modules" / ".bin" / "mcp-inspector")
BASELINE = ROOT / "tests" / "mcp-conformance-baseline.yml"
ENTRY = re.compile(r"^  - (?P<name>[a-z0-9-]+)  # (?P<kind>excluded|fixture): (?P<why>\S.*)$")


def _baseline() -> dict[str, str]:
    """Scenario -> justification; every entry line must carry one (no silent exceptions)."""
    lines = BASELINE.read_text().splitlines()
    entries = [line for line in lines if line.startswith("  - ")]
    parsed = [ENTRY.match(line) for line in entries]
    assert all(parsed), [line for line, match in zip(entries, parsed, strict=True) if not match]
    return {m["name"]: f"{m['kind']}: {m['why']}" for m in parsed if m}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("peers") / "ws"
    folder.mkdir()
    (folder / "notes.md").write_text("# Notes\nbuy milk\n")
    return folder


def _serve_http(workspace: Path, *options: str, **env: str) -> Iterator[str]:
    port = _free_port()
    command = [sys.executable, "-c", LAUNCH, "mcp", "--workspace", str(workspace)]
    command += ["--http", f"127.0.0.1:{port}", *options]
    server = subprocess.Popen(command, env=_env(workspace.parent, **env), stderr=subprocess.PIPE)
    try:
        _wait_until_listening(server, port)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.terminate()
        _, stderr = server.communicate(timeout=10)
        assert b"Traceback" not in stderr, stderr.decode()[-2000:]


@pytest.fixture(scope="module")
def open_server(workspace: Path) -> Iterator[str]:
    """No token: the conformance suite cannot send one."""
    yield from _serve_http(workspace)


@pytest.fixture(scope="module")
def token_server(workspace: Path) -> Iterator[str]:
    yield from _serve_http(
        workspace, "--token-env", "LLMOS_TEST_MCP_TOKEN", LLMOS_TEST_MCP_TOKEN=TOKEN
    )


def _scenario_outcomes(results: Path) -> dict[str, bool]:
    """Scenario -> passed, from the suite's ``server-<scenario>-<timestamp>/checks.json``."""
    outcomes = {}
    for checks_file in results.glob("server-*/checks.json"):
        scenario = re.sub(r"^server-|-\d{4}-\d\d-\d\dT.*$", "", checks_file.parent.name)
        checks = json.loads(checks_file.read_text())
        outcomes[scenario] = bool(checks) and all(c["status"] == "SUCCESS" for c in checks)
    return outcomes


def test_conformance_suite_passes_all_but_the_justified_baseline(
    open_server: str, tmp_path: Path
) -> None:
    baseline = _baseline()
    results = tmp_path / "results"
    command = [NODE, CONFORMANCE, "server", "--url", open_server]
    command += ["--expected-failures", str(BASELINE), "-o", str(results)]
    run = subprocess.run(
        command, check=False, capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    outcomes = _scenario_outcomes(results)
    assert set(baseline) <= set(outcomes), "baseline names a scenario the suite no longer has"
    failed = {name for name, passed in outcomes.items() if not passed}
    unexpected = sorted(failed - set(baseline))
    stale = sorted(set(baseline) - failed)
    assert (unexpected, stale) == ([], []), run.stdout[-4000:]
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    passed = set(outcomes) - failed
    # The scenarios for what we claim: initialize, ping, tools, tool errors, resources, origin.
    assert {"server-initialize", "ping", "tools-list", "tools-call-error"} <= passed
    assert {"resources-list", "dns-rebinding-protection", "server-sse-multiple-streams"} <= passed


def _inspect(target: list[str], tmp_path: Path, *request: str, status: int = 0) -> Any:
    """One Inspector CLI call; its JSON answer (exit status 5: the tool answered ``isError``)."""
    command = [NODE, INSPECTOR, "--cli", *target, *request]
    env = {**_env(tmp_path), "MCP_CATALOG_PATH": str(tmp_path / "inspector-catalog.json")}
    run = subprocess.run(command, check=False, capture_output=True, text=True, timeout=60, env=env)
    assert run.returncode == status, run.stdout[-2000:] + run.stderr[-2000:]
    return json.loads(run.stdout)


def _round_trip(target: list[str], workspace: Path, tmp_path: Path, name: str) -> None:
    """What a user does with the Inspector: list tools, write and read a file, list resources."""
    tools = _inspect(target, tmp_path, "--method", "tools/list")["tools"]
    assert file_and_memory_tools([tool["name"] for tool in tools]) == EXPECTED_TOOLS
    text = f"written through the Inspector over {name}"
    call = ["--method", "tools/call", "--tool-name"]
    path = f"path=inspector/{name}.md"
    wrote = _inspect(target, tmp_path, *call, "write_file", "--tool-arg", path, status=5)
    assert wrote["isError"] is True  # content is missing: the tool's own argument check answers
    assert "missing 'content'" in wrote["content"][0]["text"]
    args = ["--tool-arg", path, f"content={text}"]
    wrote = _inspect(target, tmp_path, *call, "write_file", *args)
    assert wrote["isError"] is False, wrote
    assert (workspace / "inspector" / f"{name}.md").read_text() == text
    read = _inspect(target, tmp_path, *call, "read_file", "--tool-arg", path)
    assert (read["content"][0]["text"], read["isError"]) == (text, False)
    uris = [r["uri"] for r in _inspect(target, tmp_path, "--method", "resources/list")["resources"]]
    assert {"llmos://user/notes.md", f"llmos://user/inspector/{name}.md"} <= set(uris)


def test_inspector_cli_over_stdio(workspace: Path, tmp_path: Path) -> None:
    memory = f"LLMOS_MEMORY={workspace.parent / 'memory'}"
    target = ["-e", memory, sys.executable, "-c", LAUNCH, "mcp", "--workspace", str(workspace)]
    _round_trip(target, workspace, tmp_path, "stdio")


def test_inspector_cli_over_http_with_token(
    token_server: str, workspace: Path, tmp_path: Path
) -> None:
    target = [token_server, "--header", f"Authorization: Bearer {TOKEN}"]
    _round_trip(target, workspace, tmp_path, "http")
