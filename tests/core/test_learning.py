"""Reflection: clustering traces, distilling skills with a scripted model (retry on a malformed
answer, a logged failure after), accept / reject, revising or retiring failing skills, the
idle trigger, and the whole loop end to end with the real embedding model: three similar
successful CSV summaries become a skill that the fourth request loads and applies."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from llmos.errors import QuotaError
from llmos.learning.cluster import cluster_traces, sequence_similarity, word_vectors
from llmos.learning.host import learning
from llmos.learning.traces import Trace
from llmos.memory.methods import host as memory_host
from llmos.platform.http import Http
from llmos.skills.spec import Skill, load_reference, parse_skill
from llmos.skills.store import skill_store

from tests.conftest import run
from tests.core.agent_support import Os, Server, make_os
from tests.llm_server import text, tool_calls

SKILL_MD = """---
name: summarize-csv
description: Summarize a CSV file (rows, columns, totals). Use when the user asks to summarize
  or describe a CSV file.
---
# Summarize a CSV file

1. Read the file with read_file.
2. Count the rows, name the columns and total the numeric ones.
3. Answer with a short summary.
"""
BAD_MD = "---\nname: Summarize CSV!\n---\nno description here\n"
CSV = "region,amount\nnorth,10\nsouth,32\n"


def trace(n: int, request: str, tools: list[str], outcome: str = "success", **more: Any) -> Trace:
    steps = [
        {"tool": t, "arguments": {}, "result": "ok", "ok": True, "duration_ms": 1} for t in tools
    ]
    signals = ["tools ok"] if outcome == "success" else ["tool error"]
    return Trace(
        id=f"c{n}-0", chat=f"c{n}", turn=0, created="2026-12-04T00:00:00Z", request=request,
        plan="", steps=steps, code=[], errors=[], status="final", outcome=outcome,
        signals=signals, tokens={"prompt": 1, "completion": 1}, duration_ms=1.0, model="m",
        skills_applied=more.get("skills_applied", []), answer="done", created_ts=float(n),
    )  # fmt: skip


async def words(texts: Sequence[str]) -> Sequence[Sequence[float]]:
    return word_vectors(texts)


@pytest.fixture
def os_(tmp_path: Path, llm_server: Server, http: Http) -> Os:
    """An OS without memory: reflection gets an injected (bag-of-words) embedding."""
    made = run(make_os(tmp_path, llm_server, http))
    learning(made.service).embed = words
    return made


async def save_traces(os_: Os, *traces: Trace) -> None:
    for item in traces:
        await learning(os_.service).traces.save(item)


CSV_RUNS = [
    trace(1, "Summarize the CSV file sales.csv", ["read_file"]),
    trace(2, "Summarize the CSV file orders.csv", ["read_file", "read_file"]),
    trace(3, "Please summarize the CSV file stock.csv", ["list_files", "read_file"]),
]


# --- clustering ---------------------------------------------------------------------------------
def test_tool_sequence_similarity() -> None:
    assert sequence_similarity(["read_file"], ["read_file", "read_file"]) == 1.0  # a retry
    assert sequence_similarity(["recall", "read_file"], ["read_file"]) == 1.0  # bookkeeping
    assert sequence_similarity(["list_files", "read_file"], ["read_file"]) == pytest.approx(2 / 3)
    assert sequence_similarity(["write_file"], ["execute_python"]) == 0.0
    assert sequence_similarity([], []) == 1.0


def test_clusters_need_both_similar_requests_and_similar_tools() -> None:
    traces = [
        *CSV_RUNS,
        trace(4, "Summarize the CSV file sales.csv", ["write_file"]),  # same words, other work
        trace(5, "Plot the temperature series in weather.json", ["read_file"]),  # other words
    ]
    clusters = cluster_traces(traces, word_vectors([t.request for t in traces]))
    assert [c.ids for c in clusters] == [["c1-0", "c2-0", "c3-0"], ["c4-0"], ["c5-0"]]
    assert len(clusters[0].successes) == 3


# --- distilling -----------------------------------------------------------------------------------
async def test_a_malformed_answer_is_retried_with_the_validator_errors(
    os_: Os, llm_server: Server
) -> None:
    await save_traces(os_, *CSV_RUNS, trace(4, "Tell me a joke", []))
    llm_server.queue(text(BAD_MD), text(f"```markdown\n{SKILL_MD}```"))
    result = await os_.call("learning.reflect")
    [proposal] = result["proposals"]
    assert (proposal["kind"], proposal["skill"], proposal["status"]) == (
        "new",
        "summarize-csv",
        "pending",
    )
    assert proposal["sources"] == ["c1-0", "c2-0", "c3-0"]
    skill = parse_skill(proposal["markdown"])
    assert skill.metadata["llmos-sources"] == "c1-0,c2-0,c3-0"
    assert skill.metadata["llmos-successes"] == "3"
    assert skill.metadata["llmos-version"] == "1"
    assert skill.metadata["llmos-origin"] == "learned"
    assert skill.metadata["llmos-created"].startswith("20")
    first, retry = (r["body"]["messages"] for r in llm_server.requests)
    assert "Summarize the CSV file orders.csv" in first[1]["content"]
    assert "Tell me a joke" not in first[1]["content"]
    assert retry[2] == {"role": "assistant", "content": BAD_MD}
    assert "not valid" in retry[3]["content"]
    assert "description" in retry[3]["content"]
    steps = [e["step"] for e in result["log"]]
    assert steps == ["start", "cluster", "distil", "invalid", "proposal", "done"]
    assert [e["entry"]["step"] for e in os_.named("learning.log")] == steps
    assert [e["proposal"]["id"] for e in os_.named("learning.proposal")] == [proposal["id"]]
    saved = os_.home / "user" / "learning" / "proposals" / f"{proposal['id']}.json"
    assert json.loads(saved.read_text())["markdown"] == proposal["markdown"]
    logged = (os_.home / "user" / "learning" / "reflection.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in logged] == steps
    assert not (os_.home / "user" / "skills" / "summarize-csv").exists(), "nothing until accepted"


async def test_two_malformed_answers_are_a_logged_failure_and_nothing_is_saved(
    os_: Os, llm_server: Server
) -> None:
    await save_traces(os_, *CSV_RUNS)
    llm_server.queue(text(BAD_MD), text("Sure! Here is a skill about CSV files."))
    result = await os_.call("learning.reflect")
    assert result["proposals"] == []
    assert [e["step"] for e in result["log"]][-3:] == ["invalid", "failed", "done"]
    assert not (os_.home / "user" / "learning" / "proposals").exists()
    assert not (os_.home / "user" / "skills").exists()


async def test_a_rejected_cluster_is_not_proposed_again(os_: Os, llm_server: Server) -> None:
    await save_traces(os_, *CSV_RUNS)
    llm_server.queue(text(SKILL_MD))
    [proposal] = (await os_.call("learning.reflect"))["proposals"]
    rejected = await os_.call("learning.reject", id=proposal["id"])
    assert rejected["status"] == "rejected"
    await save_traces(os_, trace(9, "Summarize the CSV file users.csv", ["read_file"]))
    again = await os_.call("learning.reflect")
    assert again["proposals"] == []
    assert "Already proposed as 'summarize-csv' (rejected)" in again["log"][-2]["message"]
    assert len(llm_server.requests) == 1, "no model call for a rejected cluster"
    listed = (await os_.call("learning.proposals"))["proposals"]
    assert [p["status"] for p in listed] == ["rejected"]
    twice = await os_.fails("learning.accept", id=proposal["id"])
    assert "already rejected" in twice["message"]


async def test_accepting_an_edited_proposal_saves_a_trusted_enabled_skill(
    os_: Os, llm_server: Server
) -> None:
    await save_traces(os_, *CSV_RUNS)
    llm_server.queue(text(SKILL_MD))
    [proposal] = (await os_.call("learning.reflect"))["proposals"]
    broken = await os_.fails("learning.accept", id=proposal["id"], markdown=BAD_MD)
    assert broken["code"] == "invalid"
    assert "description" in broken["message"]
    assert not (os_.home / "user" / "skills" / "summarize-csv").exists()
    edited = SKILL_MD.replace("name: summarize-csv", "name: csv-summary").replace(
        "3. Answer", "3. Mention empty cells.\n4. Answer"
    )
    accepted = await os_.call("learning.accept", id=proposal["id"], markdown=edited)
    assert accepted["status"] == "accepted"
    store = skill_store(os_.service)
    skill = await store.get("csv-summary")
    assert "Mention empty cells" in skill.body
    assert skill.metadata["llmos-sources"] == "c1-0,c2-0,c3-0", "provenance survives the edit"
    [info] = [i for i in await store.list() if i.name == "csv-summary"]
    assert (info.enabled, info.trusted) == (True, True)
    # the skill now covers the cluster's meaning: the next reflection proposes nothing new
    await save_traces(os_, trace(9, "Summarize the CSV file users.csv", ["read_file"]))
    assert (await os_.call("learning.reflect"))["proposals"] == []


@pytest.mark.parametrize("failing", ["write_bytes", "rename"])
async def test_a_save_that_fails_half_way_leaves_no_skill_and_the_proposal_pending(
    os_: Os, llm_server: Server, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    await save_traces(os_, *CSV_RUNS)
    llm_server.queue(text(SKILL_MD))
    [proposal] = (await os_.call("learning.reflect"))["proposals"]
    vfs = os_.service.vfs
    real = getattr(vfs, failing)

    async def full_disk(path: str, *rest: Any) -> None:
        if path.startswith("user/skills"):
            raise QuotaError("The disk is full.")
        await real(path, *rest)

    monkeypatch.setattr(vfs, failing, full_disk)
    error = await os_.fails("learning.accept", id=proposal["id"])
    assert "disk is full" in error["message"]
    monkeypatch.undo()
    assert not (os_.home / "user" / "skills" / "summarize-csv").exists()
    assert [i.name for i in await skill_store(os_.service).list()] == []
    [pending] = (await os_.call("learning.proposals"))["proposals"]
    assert pending["status"] == "pending"
    assert (await os_.call("learning.accept", id=proposal["id"]))["status"] == "accepted"


# --- failing skills -------------------------------------------------------------------------------
async def test_a_failing_skill_gets_a_revision_then_a_retirement(
    os_: Os, llm_server: Server
) -> None:
    store = skill_store(os_.service)
    await load_reference()
    base = parse_skill(SKILL_MD)
    await store.save(Skill(base.name, base.description, base.body, metadata={"llmos-version": "1"}))
    used = {"skills_applied": ["summarize-csv"]}
    await save_traces(
        os_,
        trace(1, "Summarize the CSV file a.csv", ["read_file"], "success", **used),
        trace(2, "Summarize the CSV file b.csv", ["read_file"], "failure", **used),
        trace(3, "Summarize the CSV file c.csv", ["read_file"], "failure", **used),
    )
    stats = await learning(os_.service).traces.skill_stats()
    assert stats["summarize-csv"] == {"uses": 3, "successes": 1, "failures": 2}
    revised_md = SKILL_MD.replace("1. Read", "1. Check the file exists with list_files.\n2. Read")
    llm_server.queue(text(revised_md))
    [revise] = (await os_.call("learning.reflect"))["proposals"]
    assert (revise["kind"], revise["skill"], revise["sources"]) == (
        "revise",
        "summarize-csv",
        ["c2-0", "c3-0"],
    )
    assert "Current SKILL.md" in llm_server.requests[-1]["body"]["messages"][1]["content"]
    await os_.call("learning.accept", id=revise["id"])
    skill = await store.get("summarize-csv")
    assert "list_files" in skill.body
    assert skill.metadata["llmos-version"] == "2"
    # the same failures are not proposed twice; two new failures and no valid revision: retire
    assert (await os_.call("learning.reflect"))["proposals"] == []
    await save_traces(
        os_,
        trace(4, "Summarize the CSV file d.csv", ["read_file"], "failure", **used),
        trace(5, "Summarize the CSV file e.csv", ["read_file"], "failure", **used),
    )
    llm_server.queue(text(BAD_MD), text(BAD_MD))
    [retire] = (await os_.call("learning.reflect"))["proposals"]
    assert (retire["kind"], retire["skill"]) == ("retire", "summarize-csv")
    await os_.call("learning.accept", id=retire["id"])
    [info] = [i for i in await store.list() if i.name == "summarize-csv"]
    assert info.enabled is False


# --- settings and the idle trigger ----------------------------------------------------------------
async def test_settings_are_checked(os_: Os) -> None:
    assert await os_.call("learning.settings.get") == {
        "min_cluster": 3,
        "auto": True,
        "idle_s": 120,
    }
    changed = await os_.call("learning.settings.set", values={"min_cluster": 2, "idle_s": 30})
    assert changed == {"min_cluster": 2, "auto": True, "idle_s": 30}
    for bad in ({"min_cluster": 1}, {"auto": "yes"}, {"idle_s": -1}, {"colour": 1}):
        error = await os_.fails("learning.settings.set", values=bad)
        assert error["code"] == "invalid", bad
    assert (await os_.call("learning.settings.get"))["min_cluster"] == 2


async def test_reflection_runs_once_the_agent_has_been_idle(os_: Os, llm_server: Server) -> None:
    host = learning(os_.service)
    gate = asyncio.Event()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        await gate.wait()

    host.sleep = sleep
    await os_.call("learning.settings.set", values={"idle_s": 30})
    chat = (await os_.call("chat.new"))["id"]
    llm_server.queue(text("Hello!"), text("Hello again!"))
    await os_.call("chat.send", id=chat, text="hi")
    first = host.idle_job
    await os_.call("chat.send", id=chat, text="hi again")  # a turn restarts the idle clock
    assert first is not None
    assert first.cancelled()
    assert slept == [30, 30]
    assert os_.named("learning.log") == [], "nothing while the clock runs"
    gate.set()
    job = host.idle_job
    assert job is not None
    await job
    starts = [e["entry"] for e in os_.named("learning.log") if e["entry"]["step"] == "start"]
    assert [s["trigger"] for s in starts] == ["idle"]
    await os_.call("learning.settings.set", values={"auto": False})
    llm_server.queue(text("Bye!"))
    await os_.call("chat.send", id=chat, text="bye")
    assert host.idle_job is job, "auto off: no idle reflection armed"


async def test_an_os_left_behind_never_reflects_later(
    os_: Os, llm_server: Server, tmp_path: Path, http: Http
) -> None:
    llm_server.queue(text("Hello!"), text("Hello there!"))
    await os_.chat("hi")
    old = learning(os_.service).idle_job
    newer = await make_os(tmp_path / "newer", llm_server, http)
    await newer.chat("hi")
    assert old is not None
    assert old.cancelled(), "one idle clock per process: the newest OS's"


# --- end to end ---------------------------------------------------------------------------------
async def test_three_csv_summaries_become_a_skill_the_fourth_request_applies(
    tmp_path: Path, llm_server: Server, http: Http, embedding_engine: Any
) -> None:
    os_ = await make_os(tmp_path, llm_server, http, embedder=embedding_engine)
    await os_.call("learning.settings.set", values={"auto": False})
    requests = [
        "Summarize this CSV: sales.csv",
        "Please summarize the CSV file orders.csv",
        "Give me a short summary of the CSV in stock.csv",
    ]
    for request in requests:
        name = request.rsplit(" ", 1)[-1]
        await os_.service.vfs.write_text(f"user/{name}", CSV)
        llm_server.queue(
            text("1. Read the file.\n2. Summarize it."),
            tool_calls([("read_file", json.dumps({"path": name}))]),
            text(f"{name}: 2 rows, columns region and amount; amount totals 42."),
        )
        done, _ = await os_.chat(request)
        assert done["status"] == "final"
    memory = memory_host(os_.service)
    await memory.idle()
    remembered = await memory.recall("summarize a csv", 10, ["trace"])
    assert len(remembered) == 3
    assert remembered[0].record.source.type == "trace"

    llm_server.queue(text(SKILL_MD))
    [proposal] = (await os_.call("learning.reflect"))["proposals"]
    assert proposal["skill"] == "summarize-csv"
    assert len(proposal["sources"]) == 3
    await load_reference()
    from skills_ref import validate

    folder = tmp_path / "check" / "summarize-csv"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(proposal["markdown"])
    assert validate(folder) == []
    await os_.call("learning.accept", id=proposal["id"])

    await os_.service.vfs.write_text("user/regions.csv", CSV)
    llm_server.queue(
        text("1. Load the summarize-csv skill.\n2. Follow it."),
        tool_calls([("load_skill", json.dumps({"name": "summarize-csv"}))]),
        tool_calls([("read_file", json.dumps({"path": "regions.csv"}))]),
        text("regions.csv: 2 rows; amount totals 42."),
    )
    before = len(llm_server.requests)
    done, chat = await os_.chat("Summarize this CSV: regions.csv")
    assert done["status"] == "final"
    system = llm_server.requests[before]["body"]["messages"][0]["content"]
    # listed as "name: description" (the SKILL.md file's own text folds the description)
    assert "summarize-csv: Summarize a CSV file (rows, columns, totals). Use when" in system
    loaded = next(i for i in chat["items"] if i["kind"] == "tool" and i["name"] == "load_skill")
    assert loaded["status"] == "ok"
    assert "Count the rows" in loaded["result"]
    [fourth] = (await os_.call("learning.traces", chat=chat["id"]))["traces"]
    assert fourth["skills_applied"] == ["summarize-csv"]
    assert fourth["outcome"] == "success"
    skills = (await os_.call("skills.list"))["skills"]
    [info] = [s for s in skills if s["name"] == "summarize-csv"]
    assert (info["uses"], info["successes"]) == (1, 1)
    assert info["metadata"]["llmos-origin"] == "learned"
    again = await os_.call("learning.reflect")  # covered now: no model call, nothing proposed
    assert again["proposals"] == []
    assert len(llm_server.requests) == before + 4
