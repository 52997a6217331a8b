"""The agent loop against a scripted OpenAI-compatible server over real HTTP and SSE: natively
with httpx, and inside Pyodide with fetch (tests/core runs in both)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from llmos.llm.openai import OpenAIEngine
from llmos.platform.http import Http

from tests.conftest import run
from tests.core.agent_support import API_KEY, Os, Server, kinds, leaked, make_os
from tests.llm_server import cut, html, status, text, tool_calls


@pytest.fixture
def llm(llm_server: Server) -> Server:
    return llm_server


@pytest.fixture
def os_(tmp_path: Path, llm: Server, http: Http) -> Os:
    return run(make_os(tmp_path, llm, http))


def write(path: str, content: str) -> tuple[str, str]:
    return ("write_file", json.dumps({"path": path, "content": content}))


async def test_agent_plans_writes_a_file_and_answers(os_: Os, llm: Server) -> None:
    llm.queue(
        text("1. Write notes.md with write_file.\n2. Confirm."),
        tool_calls([write("notes.md", "# Primes\n2, 3, 5\n")]),
        text("I wrote **notes.md**."),
    )
    done, chat = await os_.chat("Write notes.md with a summary of the first primes")

    assert done["status"] == "final"
    assert (os_.home / "user" / "notes.md").read_text() == "# Primes\n2, 3, 5\n"
    assert kinds(chat) == ["user", "route", "plan", "assistant", "tool", "assistant"]
    route, plan, _, tool, answer = chat["items"][1:]
    assert route["engine"] == "remote"
    assert route["reason"] == "the local model is not available in this build"
    assert plan["text"].startswith("1. Write notes.md")
    assert tool["status"] == "ok"
    assert tool["name"] == "write_file"
    assert tool["duration_ms"] >= 0
    assert answer["text"] == "I wrote **notes.md**."
    changed = [e["path"] for e in os_.named("fs.changed")]
    assert "user/notes.md" in changed
    # the model saw the tool result, answering the right call id, and was offered the tools
    last = llm.requests[-1]["body"]
    tool_message = next(m for m in last["messages"] if m["role"] == "tool")
    assert tool_message["tool_call_id"] == chat["items"][3]["tool_calls"][0]["id"]
    assert "Wrote user/notes.md" in tool_message["content"]
    offered = {t["function"]["name"] for t in last["tools"]}
    assert {"execute_python", "write_file", "read_file", "list_files", "delete_file"} <= offered
    assert llm.requests[-1]["headers"]["authorization"] == f"Bearer {API_KEY}"
    assert os_.named("chat.done")[-1]["status"] == "final"


async def test_streamed_text_arrives_as_deltas_and_usage_is_counted(os_: Os, llm: Server) -> None:
    llm.queue(text("Hello there, how can I help?", chunk_size=5))
    done, chat = await os_.chat("hi")
    deltas = [d["text"] for d in os_.named("chat.delta")]
    assert len(deltas) >= 3
    assert "".join(deltas) == "Hello there, how can I help?"
    assert done["usage"]["prompt_tokens"] > 0
    assert done["usage"]["completion_tokens"] > 0
    assert chat["usage"] == done["usage"]
    stats = chat["items"][-1]["stats"]
    assert stats["completion_tokens"] == done["usage"]["completion_tokens"]
    assert stats["first_token_ms"] is not None
    assert stats["tokens_per_s"] > 0


async def test_cost_is_counted_from_endpoint_prices(os_: Os, llm: Server) -> None:
    settings = await os_.call("llm.settings.get")
    endpoint = {**settings["endpoints"][0], "input_cost_per_mtok": 1.0, "output_cost_per_mtok": 2.0}
    await os_.call("llm.settings.set", endpoint=endpoint)
    llm.queue(text("ok"))
    done, _ = await os_.chat("hi")
    usage = done["usage"]
    expected = (usage["prompt_tokens"] * 1.0 + usage["completion_tokens"] * 2.0) / 1e6
    assert usage["cost_usd"] == expected > 0


async def test_parallel_tool_calls_all_run(os_: Os, llm: Server) -> None:
    llm.queue(
        text("1. write both"), tool_calls([write("a.md", "A"), write("b.md", "B")]), text("done")
    )
    done, chat = await os_.chat("write a.md and b.md")
    assert done["status"] == "final"
    assert (os_.home / "user/a.md").read_text() == "A"
    assert (os_.home / "user/b.md").read_text() == "B"
    assert [i["status"] for i in chat["items"] if i["kind"] == "tool"] == ["ok", "ok"]


async def test_malformed_arguments_unknown_tool_and_failing_tool_are_reported(
    os_: Os, llm: Server
) -> None:
    llm.queue(
        text("1. try"),
        tool_calls([("write_file", '{"path": "a.md", "content": ')]),
        tool_calls([("launch_rocket", "{}")]),
        tool_calls([("read_file", '{"path": "missing.md"}')]),
        tool_calls([("write_file", '{"path": 7}')]),
        text("Sorry, those failed."),
    )
    done, chat = await os_.chat("write a.md please")
    tools = [i for i in chat["items"] if i["kind"] == "tool"]
    assert [t["status"] for t in tools] == ["error"] * 4
    assert "not valid JSON" in tools[0]["result"]
    assert "no tool named 'launch_rocket'" in tools[1]["result"]
    assert "missing.md" in tools[2]["result"]
    assert "'path' must be a string" in tools[3]["result"]
    assert "missing 'content'" in tools[3]["result"]
    assert done["status"] == "final"
    assert chat["items"][0] == {"kind": "user", "text": "write a.md please"}


async def test_a_model_that_repeats_a_call_is_stopped(os_: Os, llm: Server) -> None:
    same = tool_calls([("list_files", "{}")])
    llm.queue(text("1. list"), same, same, same, same, same)
    done, chat = await os_.chat("list my files")
    assert done["status"] == "step_limit"
    assert "same arguments 3 times" in chat["items"][-1]["text"]
    assert len(llm.requests) == 4  # plan + three calls, then stopped


async def test_step_limit_ends_an_endless_tool_loop(os_: Os, llm: Server) -> None:
    calls = [tool_calls([("list_files", json.dumps({"path": f"d{n}"}))]) for n in range(20)]
    llm.queue(text("1. explore"), *calls)
    done, chat = await os_.chat("list every folder")
    assert done["status"] == "step_limit"
    assert chat["items"][-1] == {"kind": "notice", "text": "Step limit reached (12 model calls)."}


async def test_endpoint_errors_are_shown_and_history_survives(
    tmp_path: Path, llm: Server, http: Http
) -> None:
    os_ = await make_os(tmp_path, llm, http)
    cases = [
        (status(401, body='{"error": {"message": "bad key"}}'), "auth"),
        (status(404, body='{"error": {"message": "no such model"}}'), "not_found"),
        (html(200), "bad_response"),
        (status(500), "server"),  # still failing after every retry
    ]
    chat = await os_.call("chat.new")
    for reply, code in cases:
        llm.queue(*[reply] * (4 if code == "server" else 1))
        done = await os_.call("chat.send", id=chat["id"], text="hi")
        assert done["status"] == "error"
        error = (await os_.call("chat.get", id=chat["id"]))["items"][-1]
        assert error["kind"] == "error", error
        assert error["code"] == code, error
        assert API_KEY not in error["message"]
    items = (await os_.call("chat.get", id=chat["id"]))["items"]
    assert [i["text"] for i in items if i["kind"] == "user"] == ["hi"] * len(cases)
    assert not leaked(tmp_path, os_.events)


async def test_rate_limits_and_server_errors_are_retried_with_backoff(os_: Os, llm: Server) -> None:
    llm.queue(status(429, headers={"Retry-After": "2"}), status(503), text("Fine now."))
    done, chat = await os_.chat("hi")
    assert done["status"] == "final"
    assert chat["items"][-1]["text"] == "Fine now."
    assert os_.sleeps[0] == 2.0
    assert len(os_.sleeps) == 2


async def test_a_stream_cut_half_way_keeps_the_partial_answer(os_: Os, llm: Server) -> None:
    llm.queue(cut("The answer is forty", delay=0.05))
    done, chat = await os_.chat("hi")
    assert done["status"] == "error"
    assert chat["items"][-2]["text"] == "The answer is forty"
    assert chat["items"][-1]["code"] == "stream_cut"


async def test_unreachable_remote_falls_back_to_the_local_model(
    tmp_path: Path, llm: Server, http: Http
) -> None:
    os_ = await make_os(tmp_path, None, http)
    dead = {"name": "down", "base_url": llm.dead_url, "model": "m", "api_key": API_KEY}
    await os_.call("llm.settings.set", endpoint=dead, mode="remote")
    os_.service.engines["local"] = OpenAIEngine(http, llm.url, "tiny", name="local", max_retries=0)
    await os_.call("llm.settings.set", mode="auto")
    llm.queue(text("1. write"), tool_calls([write("x.md", "x")]), text("Wrote x.md locally."))
    done, chat = await os_.chat("write x.md")
    assert done["status"] == "final"
    routes = [i for i in chat["items"] if i["kind"] == "route"]
    assert routes[0]["engine"] == "remote"
    assert routes[1]["engine"] == "local"
    assert routes[1]["fallback"]
    assert "fell back" in routes[1]["reason"]
    assert (tmp_path / "user/x.md").read_text() == "x"


async def test_routing_modes_are_applied_and_explained(
    tmp_path: Path, llm: Server, http: Http
) -> None:
    os_ = await make_os(tmp_path, llm, http)
    os_.service.engines["local"] = OpenAIEngine(http, llm.url, "tiny", name="local")
    llm.queue(text("hello!"))
    _, chat = await os_.chat("hi there")
    assert chat["items"][1]["engine"] == "local"
    assert "conversational" in chat["items"][1]["reason"]
    await os_.call("llm.settings.set", mode="remote")
    llm.queue(text("hello!"))
    _, chat = await os_.chat("hi there")
    assert chat["items"][1]["engine"] == "remote"
    assert "your setting" in chat["items"][1]["reason"]


async def test_edit_and_resend_replaces_the_rest_of_the_conversation(os_: Os, llm: Server) -> None:
    llm.queue(text("first answer"), text("second answer"))
    chat = await os_.call("chat.new")
    await os_.call("chat.send", id=chat["id"], text="question one")
    await os_.call("chat.send", id=chat["id"], text="question two", edit_index=0)
    items = (await os_.call("chat.get", id=chat["id"]))["items"]
    assert [i.get("text") for i in items if i["kind"] in ("user", "assistant")] == [
        "question two",
        "second answer",
    ]
    bad = await os_.fails("chat.send", id=chat["id"], text="x", edit_index=1)
    assert "cannot be edited" in bad["message"]


async def test_deleting_a_file_asks_the_user_first(os_: Os, llm: Server) -> None:
    (os_.home / "user/keep.md").write_text("precious")
    llm.queue(text("1. delete"), tool_calls([("delete_file", '{"path": "keep.md"}')]), text("ok"))
    chat = await os_.call("chat.new")
    sending = asyncio.ensure_future(os_.call("chat.send", id=chat["id"], text="delete keep.md"))
    while not os_.named("chat.ask"):
        await asyncio.sleep(0.01)
    ask = os_.named("chat.ask")[0]
    assert ask["question"] == "Delete user/keep.md?"
    assert ask["chat"] == chat["id"]
    await os_.call("chat.confirm", ask_id=ask["ask_id"], allow=False)
    await sending
    assert (os_.home / "user/keep.md").read_text() == "precious"
    items = (await os_.call("chat.get", id=chat["id"]))["items"]
    assert "declined" in next(i for i in items if i["kind"] == "tool")["result"]


async def test_delegating_to_a_sub_agent(os_: Os, llm: Server) -> None:
    task = {"agent": "writer", "task": "Write haiku.md with a haiku about the sea."}
    llm.queue(
        text("1. delegate to writer"),
        tool_calls([("delegate", json.dumps(task))]),
        tool_calls([write("haiku.md", "waves")]),  # the writer agent (plan: false)
        text("Wrote haiku.md: a haiku about the sea."),
        text("The writer made haiku.md."),
    )
    done, chat = await os_.chat("write haiku.md with a sea haiku")
    assert done["status"] == "final"
    assert (os_.home / "user/haiku.md").read_text() == "waves"
    card = next(i for i in chat["items"] if i["kind"] == "tool")
    assert card["status"] == "ok"
    assert card["result"] == (
        "Wrote haiku.md: a haiku about the sea.\n\n(The writer agent's tool calls: write_file: ok.)"
    )
    sub_agent_tokens = sum(r["body"]["messages"] is not None for r in llm.requests[2:4])
    assert sub_agent_tokens == 2
    assert done["usage"]["completion_tokens"] >= 5 * 1  # all five model calls are counted
    writer_request = llm.requests[2]["body"]
    assert writer_request["messages"][0]["content"].startswith("You are a precise technical writer")
    assert {t["function"]["name"] for t in writer_request["tools"]} == {
        "read_file",
        "write_file",
        "list_files",
    }


async def test_a_user_agent_file_is_usable(os_: Os, llm: Server) -> None:
    agent = "---\nname: poet\ndescription: Writes poems\ntools: []\nplan: false\n---\nYou rhyme."
    (os_.home / "user/agents").mkdir()
    (os_.home / "user/agents/poet.md").write_text(agent)
    llm.queue(
        text("1. ask the poet"),
        tool_calls([("delegate", '{"agent": "poet", "task": "a rhyme"}')]),
        text("moon, soon"),
        text("Here: moon, soon"),
    )
    done, _ = await os_.chat("write me a rhyme file")
    assert done["status"] == "final"
    assert llm.requests[2]["body"]["messages"][0]["content"] == "You rhyme."


async def test_conversations_persist_and_keys_stay_secret(
    tmp_path: Path, llm: Server, http: Http
) -> None:
    os_ = await make_os(tmp_path, llm, http)
    llm.queue(text("Hello!"))
    _, chat = await os_.chat("Say hello")
    again = await make_os(tmp_path, None, http)  # a reload: a new OS over the same files
    assert [c["id"] for c in await again.call("chat.list")] == [chat["id"]]
    assert (await again.call("chat.get", id=chat["id"]))["items"] == chat["items"]
    settings = await again.call("llm.settings.get")
    assert settings["endpoints"][0]["has_key"] is True
    assert API_KEY not in json.dumps(settings)
    assert not leaked(tmp_path, os_.events + again.events)


async def test_test_connection_verdicts(os_: Os, llm: Server) -> None:
    endpoint_id = (await os_.call("llm.settings.get"))["endpoints"][0]["id"]
    verdict = await os_.call("llm.test", id=endpoint_id)
    assert verdict["ok"] is True
    dead = await os_.call("llm.test", base_url=llm.dead_url, model="m")
    assert dead["ok"] is False
    assert dead["code"] == "network"


async def test_the_chosen_endpoint_is_used_and_saving_another_does_not_switch(
    os_: Os, llm: Server
) -> None:
    first = (await os_.call("llm.settings.get"))["endpoints"][0]
    other = {"name": "other", "base_url": llm.dead_url, "model": "x", "api_key": "sk-other-key-1"}
    settings = await os_.call("llm.settings.set", endpoint=other)
    assert settings["active"] == first["id"]
    assert [e["name"] for e in settings["endpoints"]] == ["scripted", "other"]
    llm.queue(text("from the first"))
    _, chat = await os_.chat("hi")
    assert chat["items"][-1]["text"] == "from the first"
    second = settings["endpoints"][1]["id"]
    assert (await os_.call("llm.settings.set", active=second))["active"] == second
    done, _ = await os_.chat("hi")
    assert done["status"] == "error"  # the dead endpoint is now the one in use
    missing = await os_.fails("llm.settings.set", active="nope")
    assert "no endpoint 'nope'" in missing["message"]


async def test_testing_edits_before_saving_uses_the_stored_key(os_: Os, llm: Server) -> None:
    endpoint_id = (await os_.call("llm.settings.get"))["endpoints"][0]["id"]
    dead = await os_.call("llm.test", id=endpoint_id, base_url=llm.dead_url)
    assert dead["code"] == "network"
    assert (await os_.call("llm.test", id=endpoint_id))["ok"] is True
    assert llm.requests[-1]["headers"]["authorization"] == f"Bearer {API_KEY}"


async def test_the_local_model_gets_a_short_prompt_and_no_planning_call(
    tmp_path: Path, llm: Server, http: Http
) -> None:
    os_ = await make_os(tmp_path, None, http)  # no remote endpoint: everything is local
    os_.service.engines["local"] = OpenAIEngine(http, llm.url, "tiny", name="local")
    llm.queue(text("Hello!"))
    await os_.chat("hi there")
    small_talk = llm.requests[-1]["body"]
    assert "tools" not in small_talk
    assert small_talk["messages"][0]["content"] == (
        "You are LLMos, an AI operating system running entirely in the user's browser."
    )
    llm.queue(tool_calls([write("a.md", "A")]), text("Wrote a.md."))
    done, chat = await os_.chat("write a.md")
    assert done["status"] == "final"
    assert "plan" not in kinds(chat)
    offered = {
        t["function"]["name"]: t["function"]["description"]
        for t in llm.requests[-1]["body"]["tools"]
    }
    assert (
        offered["execute_python"]
        == "Run Python 3 code in a sandboxed kernel and return its output."
    )
    assert all("\n" not in description for description in offered.values())


async def test_an_agent_only_runs_the_tools_it_is_granted(os_: Os, llm: Server) -> None:
    agent = "---\nname: reader\ndescription: Reads\ntools: [read_file]\nplan: false\n---\nRead."
    (os_.home / "user/agents").mkdir()
    (os_.home / "user/agents/reader.md").write_text(agent)
    llm.queue(
        text("1. ask the reader"),
        tool_calls([("delegate", '{"agent": "reader", "task": "look around"}')]),
        tool_calls([write("pwned.md", "x")]),  # the reader tries a tool it was not given
        text("I could not write."),
        text("The reader could not write."),
    )
    done, chat = await os_.chat("ask the reader agent to look at my files")
    assert done["status"] == "final"
    assert not (os_.home / "user/pwned.md").exists()
    card = next(i for i in chat["items"] if i["kind"] == "tool")
    assert "write_file: error" in card["result"]
    refused = [m for m in llm.requests[3]["body"]["messages"] if m["role"] == "tool"]
    assert refused[0]["content"] == "write_file is not available here (tools: read_file)."


async def test_agent_files_need_consent_and_chats_are_off_limits(os_: Os, llm: Server) -> None:
    llm.queue(
        text("1. write"),
        tool_calls([write("chats/x.json", "{}")]),
        tool_calls([write("agents/system.md", "---\nname: system\n---\nObey me.")]),
        text("done"),
    )
    chat = await os_.call("chat.new")
    sending = asyncio.ensure_future(os_.call("chat.send", id=chat["id"], text="write files"))
    while not os_.named("chat.ask"):
        await asyncio.sleep(0.01)
    ask = os_.named("chat.ask")[0]
    assert ask["question"] == "Allow the agent to change the agent file user/agents/system.md?"
    await os_.call("chat.confirm", ask_id=ask["ask_id"], allow=False)
    await sending
    assert not (os_.home / "user/agents/system.md").exists()
    assert not (os_.home / "user/chats/x.json").exists()
    cards = [i for i in (await os_.call("chat.get", id=chat["id"]))["items"] if i["kind"] == "tool"]
    assert "saved conversation" in cards[0]["result"]
    assert "declined" in cards[1]["result"]


async def test_a_key_is_never_sent_to_another_host(os_: Os, llm: Server) -> None:
    endpoint = (await os_.call("llm.settings.get"))["endpoints"][0]
    other = llm.dead_url.replace("/v1", "/elsewhere/v1")
    verdict = await os_.call("llm.test", id=endpoint["id"], base_url=llm.url + "/../v1")
    assert verdict["ok"] is True  # same host: the stored key is used
    moved = {**endpoint, "base_url": other}
    settings = await os_.call("llm.settings.set", endpoint=moved)
    assert settings["endpoints"][0]["has_key"] is False  # a key belongs to its host
    assert not leaked(os_.home, os_.events)


async def test_stopping_twice_and_deleting_a_running_chat(
    tmp_path: Path, llm: Server, http: Http
) -> None:
    os_ = await make_os(tmp_path, llm, http)
    llm.queue(text("1. delete"), tool_calls([("delete_file", '{"path": "README.md"}')]))
    chat = await os_.call("chat.new")
    sending = asyncio.ensure_future(os_.call("chat.send", id=chat["id"], text="delete README.md"))
    while not os_.named("chat.ask"):
        await asyncio.sleep(0.01)
    first, second = await asyncio.gather(
        os_.call("chat.stop", id=chat["id"]), os_.call("chat.stop", id=chat["id"])
    )
    assert first == second == {"stopped": True}
    done = await sending
    assert done["status"] == "stopped"
    assert [d["status"] for d in os_.named("chat.done")] == ["stopped"]
    assert (tmp_path / "user/README.md").exists()
    llm.queue(text("1. delete"), tool_calls([("delete_file", '{"path": "README.md"}')]))
    sending = asyncio.ensure_future(os_.call("chat.send", id=chat["id"], text="delete it again"))
    while len(os_.named("chat.ask")) < 2:
        await asyncio.sleep(0.01)
    await os_.call("chat.delete", id=chat["id"])
    await sending
    assert await os_.call("chat.list") == []


def test_history_answers_every_call_even_after_a_reload_mid_tool() -> None:
    from llmos.agent.chats import INTERRUPTED, NOT_FINISHED, Conversation

    calls = [{"id": "call_0", "name": "list_files", "arguments": "{}"}]
    conversation = Conversation(
        id="c",
        items=[
            {"kind": "user", "text": "list"},
            {"kind": "assistant", "text": "", "tool_calls": calls},
            {"kind": "tool", "call_id": "call_0", "name": "list_files", "status": "running"},
            {"kind": "user", "text": "again"},
            {"kind": "assistant", "text": "", "tool_calls": calls},  # the same id, a new call
            {"kind": "tool", "call_id": "call_0", "status": "ok", "result": "a.md"},
        ],
    )
    roles = [(m.role, m.content) for m in conversation.history()]
    assert roles == [
        ("user", "list"),
        ("assistant", ""),
        ("tool", NOT_FINISHED),
        ("user", "again"),
        ("assistant", ""),
        ("tool", "a.md"),
    ]
    assert conversation.close_interrupted() == [2]
    assert conversation.items[2]["result"] == INTERRUPTED
