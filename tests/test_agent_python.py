"""The agent's execute_python tool natively: code runs in a real child Python process, sees the
user's files, saves what it writes, returns images, and a runaway loop is stopped."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from llmos.platform.native_http import NativeHttp
from llmos.platform.native_sandbox import SubprocessSandbox

from tests.core.agent_support import Os, make_os
from tests.llm_server import ScriptedLLM, text, tool_calls

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    with ScriptedLLM() as server:
        yield server


def python(code: str, **extra: object) -> tuple[str, str]:
    return ("execute_python", json.dumps({"code": code, **extra}))


async def run_os(tmp_path: Path, llm: ScriptedLLM) -> tuple[Os, SubprocessSandbox]:
    (tmp_path / "kernel").mkdir(exist_ok=True)
    sandbox = SubprocessSandbox(tmp_path / "kernel")
    return await make_os(tmp_path / "home", llm, NativeHttp(), sandbox), sandbox


async def test_python_reads_user_files_writes_new_ones_and_shows_a_chart(
    tmp_path: Path, llm: ScriptedLLM
) -> None:
    os_, sandbox = await run_os(tmp_path, llm)
    try:
        (os_.home / "user/data.csv").write_text("x\n3\n4\n")
        code = (
            "rows = open('data.csv').read().split()[1:]\n"
            "total = sum(map(int, rows))\n"
            "open('out/total.txt', 'w').write(str(total)) if __import__('os').makedirs('out', "
            "exist_ok=True) is None else None\n"
            "print('total', total)\n"
            "from llmos.kernel.png import line_chart\n"
            "line_chart([1, 4, 9])"
        )
        llm.queue(text("1. run"), tool_calls([python(code)]), text("The total is 7."))
        done, chat = await os_.chat("compute the total of data.csv with python")
        assert done["status"] == "final"
        card = next(i for i in chat["items"] if i["kind"] == "tool")
        assert card["status"] == "ok", card
        assert "total 7" in card["result"]
        assert "user/out/total.txt" in card["result"]
        assert (os_.home / "user/out/total.txt").read_text() == "7"
        assert len(card["images"]) == 1
        assert base64.b64decode(card["images"][0]).startswith(PNG)
        assert "user/out/total.txt" in [e["path"] for e in os_.named("fs.changed")]
    finally:
        await sandbox.close()


async def test_state_persists_and_errors_are_reported(tmp_path: Path, llm: ScriptedLLM) -> None:
    os_, sandbox = await run_os(tmp_path, llm)
    try:
        llm.queue(
            text("1. run"),
            tool_calls([python("x = 41")]),
            tool_calls([python("x + 1")]),
            tool_calls([python("1 / 0")]),
            text("done"),
        )
        _, chat = await os_.chat("run some python")
        cards = [i for i in chat["items"] if i["kind"] == "tool"]
        assert [c["status"] for c in cards] == ["ok", "ok", "error"]
        assert "result: 42" in cards[1]["result"]
        assert "ZeroDivisionError" in cards[2]["result"]
    finally:
        await sandbox.close()


async def test_runaway_code_is_stopped_by_its_timeout(tmp_path: Path, llm: ScriptedLLM) -> None:
    os_, sandbox = await run_os(tmp_path, llm)
    try:
        llm.queue(
            text("1. loop"),
            tool_calls([python("while True: pass", timeout=1)]),
            tool_calls([python("'still alive'")]),
            text("The loop was stopped."),
        )
        done, chat = await os_.chat("run an endless loop in python")
        cards = [i for i in chat["items"] if i["kind"] == "tool"]
        assert cards[0]["status"] == "error"
        assert "KeyboardInterrupt" in cards[0]["result"] or "timed out" in cards[0]["result"]
        assert cards[1]["status"] == "ok"
        assert "still alive" in cards[1]["result"]
        assert done["status"] == "final"
    finally:
        await sandbox.close()


async def test_stop_interrupts_running_code_and_keeps_the_chat(
    tmp_path: Path, llm: ScriptedLLM
) -> None:
    os_, sandbox = await run_os(tmp_path, llm)
    try:
        llm.queue(text("1. loop"), tool_calls([python("while True: pass")]))
        chat = await os_.call("chat.new")
        sending = asyncio.ensure_future(os_.call("chat.send", id=chat["id"], text="loop in python"))
        while not [u for u in os_.named("chat.item") if u["item"]["kind"] == "tool"]:
            await asyncio.sleep(0.02)
        await os_.call("chat.stop", id=chat["id"])
        done = await sending
        assert done["status"] == "stopped"
        items = (await os_.call("chat.get", id=chat["id"]))["items"]
        card = next(i for i in items if i["kind"] == "tool")
        assert card["status"] == "error"
        assert card["result"] == "Stopped by you before it finished."
        assert items[-1] == {"kind": "notice", "text": "Stopped by you."}
        assert items[0] == {"kind": "user", "text": "loop in python"}
        # the next turn works, and the model sees the stopped call answered
        llm.queue(text("ok"))
        again = await os_.call("chat.send", id=chat["id"], text="are you there?")
        assert again["status"] == "final"
        tool_messages = [m for m in llm.requests[-1]["body"]["messages"] if m["role"] == "tool"]
        assert tool_messages[0]["content"] == "Stopped by you before it finished."
    finally:
        await sandbox.close()
