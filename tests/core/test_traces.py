"""Execution traces of agent turns and their outcome signals (status, tool errors, thumbs, the
user's next message), through the real OS service and a scripted endpoint over HTTP."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from llmos.learning.traces import USER_FAILED, USER_WORKED, said_outcome
from llmos.platform.http import Http

from tests.conftest import run
from tests.core.agent_support import API_KEY, Os, Server, make_os
from tests.llm_server import text, tool_calls

CSV = "region,amount\nnorth,10\nsouth,32\n"


@pytest.fixture
def os_(tmp_path: Path, llm_server: Server, http: Http) -> Os:
    return run(make_os(tmp_path, llm_server, http))


def trace_file(os_: Os, chat: str, turn: int) -> dict[str, Any]:
    path = os_.home / "user" / "learning" / "traces" / f"{chat}-{turn}.json"
    return json.loads(path.read_text())  # type: ignore[no-any-return]


async def send(os_: Os, chat: str, message: str) -> dict[str, Any]:
    return await os_.call("chat.send", id=chat, text=message)  # type: ignore[no-any-return]


async def test_a_turn_leaves_a_trace_with_everything_it_did(os_: Os, llm_server: Server) -> None:
    await os_.service.vfs.write_text("user/sales.csv", CSV)
    llm_server.queue(
        text("1. Read sales.csv.\n2. Summarize."),
        tool_calls([("read_file", json.dumps({"path": "sales.csv"}))], usage=(40, 10)),
        text("2 rows; amount totals 42.", usage=(60, 7)),
    )
    done, chat = await os_.chat("Summarize this CSV: sales.csv")
    assert done["status"] == "final"
    trace = trace_file(os_, chat["id"], 0)
    assert trace["id"] == f"{chat['id']}-0"
    assert trace["request"] == "Summarize this CSV: sales.csv"
    assert trace["plan"].startswith("1. Read sales.csv.")
    [step] = trace["steps"]
    assert step["tool"] == "read_file"
    assert step["arguments"] == {"path": "sales.csv"}
    assert "north,10" in step["result"]
    assert step["ok"] is True
    assert trace["status"] == "final"
    assert (trace["outcome"], trace["signals"]) == ("success", ["tools ok"])
    assert trace["answer"] == "2 rows; amount totals 42."
    assert trace["tokens"] == {"prompt": 12 + 40 + 60, "completion": 5 + 10 + 7}
    assert trace["duration_ms"] > 0
    assert trace["model"] == "scripted-model"
    assert trace["skills_applied"] == []
    assert [e["outcome"] for e in os_.named("learning.trace")] == ["success"]
    listed = (await os_.call("learning.traces", chat=chat["id"]))["traces"]
    assert [t["id"] for t in listed] == [trace["id"]]


async def test_failures_come_from_tool_errors_and_the_turn_status(
    os_: Os, llm_server: Server
) -> None:
    llm_server.queue(
        text("1. Read it."),
        tool_calls([("read_file", json.dumps({"path": "missing.csv"}))]),
        text("I could not find it."),
    )
    _, failed = await os_.chat("Summarize missing.csv")
    trace = trace_file(os_, failed["id"], 0)
    assert (trace["outcome"], trace["signals"]) == ("failure", ["tool error"])
    assert "missing.csv" in trace["errors"][0]
    # a failed call that a later call of the same tool made good is not a failure
    await os_.service.vfs.write_text("user/b.csv", CSV)
    llm_server.queue(
        text("1. Read it."),
        tool_calls([("read_file", json.dumps({"path": "a.csv"}))]),
        tool_calls([("read_file", json.dumps({"path": "b.csv"}))]),
        text("Found it in b.csv."),
    )
    _, recovered = await os_.chat("Summarize a.csv or b.csv")
    trace = trace_file(os_, recovered["id"], 0)
    assert trace["outcome"] == "success"
    assert trace["signals"] == ["tool error (recovered)", "tools ok"]
    # the endpoint failing ends the turn with an error: a failure
    done, broken = await os_.chat("Summarize c.csv")  # nothing queued: the server answers 500
    assert done["status"] == "error"
    trace = trace_file(os_, broken["id"], 0)
    assert (trace["status"], trace["outcome"], trace["signals"]) == ("error", "failure", ["error"])
    assert trace["errors"]
    # a chat without tools is neither: nothing says whether it worked
    llm_server.queue(text("Hello!"))
    _, talk = await os_.chat("hi")
    assert trace_file(os_, talk["id"], 0)["outcome"] == "unknown"


async def test_thumbs_up_and_down_decide_the_outcome(os_: Os, llm_server: Server) -> None:
    llm_server.queue(
        text("1. Read it."),
        tool_calls([("read_file", json.dumps({"path": "nope.csv"}))]),
        text("It is empty."),
    )
    _, chat = await os_.chat("Summarize nope.csv")
    assert trace_file(os_, chat["id"], 0)["outcome"] == "failure"
    up = await os_.call("chat.feedback", chat=chat["id"], index=0, value="up")
    assert up == {"trace": f"{chat['id']}-0", "outcome": "success", "feedback": "up"}
    trace = trace_file(os_, chat["id"], 0)
    assert trace["signals"] == ["tool error", "thumbs up"]
    shown = await os_.call("chat.get", id=chat["id"])
    assert shown["items"][0]["feedback"] == "up"
    down = await os_.call("chat.feedback", chat=chat["id"], index=0, value="down")
    assert down["outcome"] == "failure"
    assert trace_file(os_, chat["id"], 0)["signals"] == ["tool error", "thumbs down"]
    back = await os_.call("chat.feedback", chat=chat["id"], index=0, value="none")
    assert back["outcome"] == "failure"  # the tool error again
    assert (await os_.call("chat.get", id=chat["id"]))["items"][0]["feedback"] is None
    # bad input: a clear error and nothing changed
    wrong = await os_.fails("chat.feedback", chat=chat["id"], index=0, value="meh")
    assert "'up', 'down' or 'none'" in wrong["message"]
    missing = await os_.fails("chat.feedback", chat=chat["id"], index=3, value="up")
    assert missing["code"] == "not_found"
    assert trace_file(os_, chat["id"], 0)["signals"] == ["tool error"]


async def test_the_next_message_saying_it_worked_or_not_is_a_signal(
    os_: Os, llm_server: Server
) -> None:
    chat = (await os_.call("chat.new"))["id"]
    llm_server.queue(text("Here is a haiku."))
    await send(os_, chat, "tell me a haiku about rain")
    assert trace_file(os_, chat, 0)["outcome"] == "unknown"
    llm_server.queue(text("Glad it helped!"))
    await send(os_, chat, "That worked, thanks!")
    first = trace_file(os_, chat, 0)
    assert (first["outcome"], first["signals"]) == ("success", [USER_WORKED])
    items = (await os_.call("chat.get", id=chat))["items"]
    turns = [n for n, item in enumerate(items) if item["kind"] == "user"]
    llm_server.queue(text("Sorry about that."))
    await send(os_, chat, "Hmm, it didn't work at all")
    assert trace_file(os_, chat, turns[1])["outcome"] == "failure"
    assert trace_file(os_, chat, turns[1])["signals"] == [USER_FAILED]
    assert trace_file(os_, chat, 0)["outcome"] == "success", "only the turn just before"


@pytest.mark.parametrize(
    ("message", "signal"),
    [
        ("That worked, thanks!", USER_WORKED),
        ("it works now", USER_WORKED),
        ("Perfect — exactly what I wanted.", USER_WORKED),
        ("That didn\u2019t work.", USER_FAILED),
        ("It does not work: same error", USER_FAILED),
        ("nope, that's wrong", USER_FAILED),
        ("how does it work?", None),
        ("make it work for tsv files too", None),
        ("summarize orders.csv", None),
    ],
)
def test_the_phrase_lists(message: str, signal: str | None) -> None:
    assert said_outcome(message) == signal


async def test_secrets_never_reach_a_trace(os_: Os, llm_server: Server) -> None:
    await os_.service.secrets.set("github.token", "ghp_TOKENCANARY77777")
    llm_server.queue(
        text("1. Save it."),
        tool_calls([("write_file", json.dumps({"path": "k.txt", "content": API_KEY}))]),
        text(f"Saved {API_KEY} and ghp_TOKENCANARY77777."),
    )
    _, chat = await os_.chat(f"store my key {API_KEY} and token ghp_TOKENCANARY77777 in k.txt")
    raw = (os_.home / "user" / "learning" / "traces" / f"{chat['id']}-0.json").read_text()
    assert API_KEY not in raw
    assert "ghp_TOKENCANARY77777" not in raw
    assert raw.count("[secret removed]") >= 4
    events = json.dumps([e for e in os_.events if e["name"].startswith("learning.")])
    assert API_KEY not in events
