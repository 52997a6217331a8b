"""An applet's ``execute_python`` through the bridge natively: the code runs in the real kernel
sandbox (a child Python process), never in the OS, and sees no secret."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import llmos.tools  # noqa: F401  (registers the tools)
from llmos.agent.tools import TOOLS, ToolContext
from llmos.platform.native_http import NativeHttp
from llmos.platform.native_sandbox import SubprocessSandbox

from tests.core.agent_support import API_KEY, leaked, make_os


async def test_execute_python_runs_in_the_kernel_sandbox_once_granted(tmp_path: Path) -> None:
    (tmp_path / "kernel").mkdir()
    sandbox = SubprocessSandbox(tmp_path / "kernel")
    os_ = await make_os(tmp_path / "home", None, NativeHttp(), sandbox)
    await os_.service.secrets.set("llm.api_key", API_KEY)
    try:
        page = "<!doctype html><title>Primes</title><p id=out></p>"
        args = {"name": "primes", "title": "Primes", "description": "d", "html": page}
        applet = args | {"permissions": ["execute_python"]}
        made = await TOOLS.call("create_applet", applet, ToolContext(os_.service.vfs))
        assert not made.is_error, made.text
        code = (
            "import os\n"
            "print([n for n in range(2, 30) if all(n % d for d in range(2, n))])\n"
            "print('pid', os.getpid())\n"
            "print('env', sorted(k for k in os.environ if 'KEY' in k or 'TOKEN' in k))"
        )
        call: dict[str, Any] = {"name": "primes", "tool": "execute_python"}
        before = await os_.call("applets.call", **call, arguments={"code": code})
        assert before["needsGrant"] == "execute_python"
        await os_.call("applets.grant", name="primes", tool="execute_python", allow=True)
        ran = await os_.call("applets.call", **call, arguments={"code": code})
        text = ran["content"][0]["text"]
        assert not ran["isError"], text
        assert "[2, 3, 5, 7, 11, 13, 17, 19, 23, 29]" in text
        assert f"pid {os.getpid()}" not in text  # not the OS's process
        assert "env []" in text
        assert API_KEY not in text
        assert leaked(os_.home, os_.events) == []
    finally:
        await sandbox.close()
