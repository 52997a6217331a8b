"""The ``llmos`` console script, run as a user would from a terminal."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import llmos

from tests.llm_server import ScriptedLLM, text, tool_calls


def llmos_cmd(
    *args: str, stdin: bytes = b"", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    code = "import sys; from llmos.cli import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        input=stdin,
        capture_output=True,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_version() -> None:
    out = llmos_cmd("--version")
    assert out.stdout.decode().strip() == f"llmos {llmos.__version__}"


def test_put_ls_cat_round_trip_on_a_workspace(tmp_path: Path) -> None:
    ws = str(tmp_path)
    assert llmos_cmd("--workspace", ws, "put", "user/notes/a.md", stdin=b"hello").returncode == 0
    assert (tmp_path / "notes" / "a.md").read_bytes() == b"hello"
    listing = llmos_cmd("--workspace", ws, "ls", "user/notes").stdout.decode()
    assert listing == "user/notes/a.md\t5\n"
    assert llmos_cmd("--workspace", ws, "cat", "user/notes/a.md").stdout == b"hello"


def test_errors_are_readable_and_nothing_escapes_the_workspace(tmp_path: Path) -> None:
    out = llmos_cmd("--workspace", str(tmp_path), "put", "user/../escape", stdin=b"x")
    assert out.returncode == 1
    assert "'..'" in out.stderr.decode()
    assert "Traceback" not in out.stderr.decode()
    assert not (tmp_path.parent / "escape").exists()
    readonly = llmos_cmd("--workspace", str(tmp_path), "put", "system/x", stdin=b"x")
    assert "read-only" in readonly.stderr.decode()


def test_chat_runs_the_agent_on_the_workspace_with_the_key_from_the_environment(
    tmp_path: Path,
) -> None:
    code = "open('squares.txt', 'w').write(str([n * n for n in range(5)]))"
    with ScriptedLLM(require_key="sk-cli-secret") as llm:
        llm.queue(
            text("1. run python"),
            tool_calls([("execute_python", json.dumps({"code": code}))]),
            text("Wrote squares.txt."),
        )
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from llmos.cli import main; sys.exit(main())",
                "--workspace",
                str(tmp_path),
                "--base-url",
                llm.url,
                "--model",
                "m",
                "chat",
                "write squares.txt with python",
            ],
            capture_output=True,
            check=False,
            env={
                **os.environ,
                "LLMOS_API_KEY": "sk-cli-secret",
                "LLMOS_MEMORY": str(tmp_path / "memory"),
            },
        )
    assert out.returncode == 0, out.stderr.decode()
    assert (tmp_path / "squares.txt").read_text() == "[0, 1, 4, 9, 16]"
    assert out.stdout.decode().strip().endswith("Wrote squares.txt.")
    assert "[execute_python ok]" in out.stderr.decode()
    assert not [
        p for p in tmp_path.rglob("*") if p.is_file() and b"sk-cli-secret" in p.read_bytes()
    ], "the key is in no file, memory included"


def test_chat_remembers_across_runs_outside_the_workspace(tmp_path: Path) -> None:
    workspace, memory = tmp_path / "ws", tmp_path / "memory"
    workspace.mkdir()
    env = {"LLMOS_API_KEY": "sk-k", "LLMOS_MEMORY": str(memory)}
    args = ["--workspace", str(workspace), "--model", "m"]
    with ScriptedLLM() as llm:
        llm.queue(text("Noted: your locker number is 4711."))
        first = llmos_cmd(*args, "--base-url", llm.url, "chat", "my locker number is 4711", env=env)
        assert first.returncode == 0, first.stderr.decode()
        llm.queue(text("It is 4711."))
        question = "what is my locker number?"
        second = llmos_cmd(*args, "--base-url", llm.url, "chat", question, env=env)
        assert second.returncode == 0, second.stderr.decode()
        system = llm.requests[-1]["body"]["messages"][0]["content"]
    assert "my locker number is 4711" in system, "the first run's turn was recalled"
    assert (memory / "memory" / "manifest.json").exists()
    kept = {p.relative_to(workspace).parts[0] for p in workspace.rglob("*")}
    # The memory store stays out of the workspace; traces (learning/) are the user's files.
    assert kept == {"chats", "learning", "README.md"}, "memory stays out of the workspace"
    assert not list(workspace.rglob("vectors-*")), "no vector files in the workspace"


def test_chat_reports_a_refused_key_readably(tmp_path: Path) -> None:
    with ScriptedLLM(require_key="sk-right") as llm:
        out = llmos_cmd("--workspace", str(tmp_path), "--base-url", llm.url, "chat", "hi")
    assert out.returncode == 1
    assert "[error]" in out.stderr.decode()
    assert "Traceback" not in out.stderr.decode()
