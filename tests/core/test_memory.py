"""Memory in the OS, with the real embedding model (onnxruntime natively, onnxruntime-web in
Pyodide): what gets remembered, hybrid recall with sources, the agent's use of it, the panel's
methods, export/import, and bad input that must leave the memory intact."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from llmos.memory.methods import host
from llmos.platform.http import Http
from llmos.platform.memory import MemoryStorage

from tests.conftest import run
from tests.core.agent_support import API_KEY, Os, Server, kinds, make_os
from tests.llm_server import text, tool_calls

NOTES = {
    "garden": "The tomatoes in the back garden need watering every morning in July.",
    "tax": "Tax return: the deadline for filing is the 31st of January; keep receipts.",
    "python": "To read a CSV file with pandas use pd.read_csv('data.csv') and df.head().",
    "bike": "My bicycle tyres should be inflated to 4.5 bar; the chain needs oil monthly.",
}


@pytest.fixture
def os_(tmp_path: Path, llm_server: Server, http: Http, embedding_engine: Any) -> Os:
    return run(make_os(tmp_path, llm_server, http, embedder=embedding_engine))


async def remember_notes(os_: Os) -> dict[str, int]:
    memory = host(os_.service)
    ids = {}
    for name, note in NOTES.items():
        ids[name] = (await memory.remember_note(note, name))[0]
    return ids


async def test_recall_finds_by_meaning_with_sources(os_: Os) -> None:
    ids = await remember_notes(os_)
    found = await os_.call("memory.search", query="when must I file my taxes?", k=3)
    top = found["items"][0]
    assert top["id"] == ids["tax"]
    assert top["source"]["type"] == "note"
    assert top["source"]["title"] == "tax"
    assert top["scores"]["vector"] > found["items"][1]["scores"]["vector"]
    # a query that shares no keyword with the note still finds it by meaning
    plants = await os_.call("memory.search", query="irrigating vegetables in summer", k=1)
    assert plants["items"][0]["id"] == ids["garden"]
    stats = await os_.call("memory.stats")
    assert stats["count"] == 4
    assert stats["bytes"] > 4 * 384 * 4


async def test_exact_keywords_win_over_vague_meaning(os_: Os) -> None:
    memory = host(os_.service)
    await remember_notes(os_)
    [code] = await memory.remember_note("Deploy failed with error E4711 on the staging box.", "e")
    found = await os_.call("memory.search", query="E4711", k=3)
    assert found["items"][0]["id"] == code
    assert found["items"][0]["scores"]["keyword"] == 1.0


async def test_saved_files_are_remembered_replaced_and_forgotten(os_: Os) -> None:
    memory = host(os_.service)
    vfs = os_.service.vfs
    await vfs.write_text("user/trips/japan.md", "Kyoto temples in autumn: book the ryokan early.")
    await memory.idle()
    found = await os_.call("memory.search", query="travel to Japan", k=1)
    assert found["items"][0]["source"] == {
        "type": "file",
        "ref": "user/trips/japan.md",
        "title": "japan.md",
    }
    await vfs.write_text("user/trips/japan.md", "Osaka street food: takoyaki and okonomiyaki.")
    await memory.idle()
    texts = [i["text"] for i in (await os_.call("memory.search", query="Japan", k=5))["items"]]
    assert any("takoyaki" in t for t in texts)
    assert not any("ryokan" in t for t in texts), "the old version of the file is forgotten"
    await vfs.rename("user/trips", "user/travel")
    await memory.idle()
    moved = await os_.call("memory.search", query="takoyaki", k=1)
    assert moved["items"][0]["source"]["ref"] == "user/travel/japan.md"
    await vfs.delete("user/travel")
    await memory.idle()
    assert (await os_.call("memory.stats"))["count"] == 0


async def test_long_files_are_chunked_and_chunks_point_into_the_file(os_: Os) -> None:
    memory = host(os_.service)
    paragraphs = [f"Paragraph {n} is about topic number {n} and nothing else." for n in range(300)]
    paragraphs[217] = "The secret ingredient of grandma's soup is smoked paprika."
    body = "\n\n".join(paragraphs)
    await os_.service.vfs.write_text("user/long.md", body)
    await memory.idle()
    assert (await os_.call("memory.stats"))["count"] > 5
    found = await os_.call("memory.search", query="what is in grandma's soup?", k=1)
    item = await os_.call("memory.get", id=found["items"][0]["id"])
    assert "smoked paprika" in item["text"]
    start, end = item["metadata"]["start"], item["metadata"]["end"]
    assert body[start:end] == item["text"]


async def test_binary_and_oversized_files_are_skipped_with_a_notice(os_: Os) -> None:
    memory = host(os_.service)
    await remember_notes(os_)
    await os_.service.vfs.write_bytes("user/photo.png", b"\x89PNG\r\n\x1a\n\x00\xff" * 100)
    await os_.service.vfs.write_text("user/huge.txt", "lorem ipsum " * 500_000)
    await memory.idle()
    assert (await os_.call("memory.stats"))["count"] == len(NOTES)
    notices = [e["text"] for e in os_.named("memory.notice")]
    assert any("user/huge.txt is 6.0 MB" in n for n in notices), notices


async def test_bad_input_gets_clear_errors_and_changes_nothing(os_: Os) -> None:
    memory = host(os_.service)
    await remember_notes(os_)
    with pytest.raises(ValueError, match="nothing to remember"):
        await memory.remember_note("   ", "empty")
    with pytest.raises(ValueError, match="at most 200,000"):
        await memory.remember_note("x" * 5_000_000, "huge")
    with pytest.raises(ValueError, match="at most 200,000"):
        await memory.remember_note("\x00\x01\x02garbage\xff" * 100_000, "binary")
    assert (await os_.call("memory.search", query="", k=5))["items"] == []
    assert (await os_.fails("memory.search", query="x", k=0))["code"] == "protocol"
    assert (await os_.fails("memory.get", id=10**9))["code"] == "not_found"
    bad = await os_.fails("memory.settings.set", values={"weights": {"vector": -1}})
    assert bad["code"] == "invalid"
    assert "vector" in bad["message"]
    for values in ({"inject": "3"}, {"remember": {"files": "yes"}}, {"backend": "gpu"}):
        refused = await os_.fails("memory.settings.set", values=values)
        assert refused["code"] == "invalid", values
        assert next(iter(values)) in refused["message"]
    assert (await os_.call("memory.settings.get"))["inject"] == 3, "nothing bad was saved"
    assert (await os_.fails("memory.import", jsonl=""))["code"] == "invalid"
    assert (await os_.call("memory.stats"))["count"] == len(NOTES)


async def test_delete_one_or_many(os_: Os) -> None:
    ids = await remember_notes(os_)
    assert (await os_.call("memory.delete", ids=[ids["tax"], ids["bike"]]))["deleted"] == 2
    found = await os_.call("memory.search", query="tax deadline bicycle tyres", k=10)
    assert {i["id"] for i in found["items"]} == {ids["garden"], ids["python"]}


async def test_export_import_round_trip_keeps_vectors(
    os_: Os, tmp_path: Path, http: Http, embedding_engine: Any
) -> None:
    await remember_notes(os_)
    exported = await os_.call("memory.export")
    assert exported["name"].endswith(".jsonl")
    other = await make_os(tmp_path / "other", None, http, embedder=embedding_engine)
    report = await other.call("memory.import", jsonl=exported["jsonl"])
    assert report == {"imported": 4, "reembedded": 0, "errors": []}
    query = "what pressure for my bike?"
    before = await os_.call("memory.search", query=query, k=4)
    after = await other.call("memory.search", query=query, k=4)
    assert [i["text"] for i in after["items"]] == [i["text"] for i in before["items"]]
    assert after["items"][0]["scores"]["vector"] == pytest.approx(
        before["items"][0]["scores"]["vector"], abs=1e-6
    )


async def test_import_from_another_model_recomputes_and_reports_bad_lines(
    os_: Os, tmp_path: Path, http: Http, embedding_engine: Any
) -> None:
    lines = [
        json.dumps({"llmos-memory": 1, "model": "some-other-model", "dim": 768, "count": 3}),
        json.dumps({"kind": "note", "text": "Sourdough needs a ripe starter.", "vector": "AAAA"}),
        "{not json",
        json.dumps({"kind": "note", "text": ""}),
        json.dumps({"kind": "note", "text": "Backups run every night at 2 am."}),
    ]
    report = await os_.call("memory.import", jsonl="\n".join(lines))
    assert report["imported"] == 2
    assert report["reembedded"] == 2
    assert report["errors"] == ["line 3: not a JSON object", "line 4: no text"]
    found = await os_.call("memory.search", query="bread baking", k=1)
    assert "Sourdough" in found["items"][0]["text"]
    newer = json.dumps({"llmos-memory": 99, "model": "x", "dim": 384})
    error = await os_.fails("memory.import", jsonl=newer + "\n")
    assert "newer LLMos" in error["message"]
    assert "not an LLMos memory export" in (await os_.fails("memory.import", jsonl="hi"))["message"]


async def test_a_full_disk_during_import_keeps_what_was_there(
    os_: Os, tmp_path: Path, http: Http, embedding_engine: Any
) -> None:
    await remember_notes(os_)
    many = "\n".join(
        json.dumps({"kind": "note", "text": f"Fact number {n}: " + "detail " * 40})
        for n in range(600)
    )
    exported = (await os_.call("memory.export"))["jsonl"]
    header = exported.splitlines()[0]
    private = MemoryStorage()
    small = await make_os(
        tmp_path / "small", None, http, embedder=embedding_engine, private=private
    )
    await small.call("memory.import", jsonl=exported)
    private.quota_bytes = private._used() + 300_000
    error = await small.fails("memory.import", jsonl=header + "\n" + many)
    assert error["code"] == "quota"
    assert "everything remembered before are kept" in error["message"]
    reopened = await make_os(
        tmp_path / "again", None, http, embedder=embedding_engine, private=private
    )
    found = await reopened.call("memory.search", query="garden tomatoes", k=1)
    assert "tomatoes" in found["items"][0]["text"]


async def test_the_agent_sees_relevant_memories_and_cites_them(os_: Os, llm_server: Server) -> None:
    ids = await remember_notes(os_)
    llm_server.queue(text(f"Water them every morning [m{ids['garden']}]."))
    done, chat = await os_.chat("How often should I water the tomatoes?")
    assert done["status"] == "final"
    assert kinds(chat)[:2] == ["user", "memories"]
    cited = chat["items"][1]["items"]
    assert cited[0]["id"] == ids["garden"]
    assert cited[0]["source"]["title"] == "garden"
    system = llm_server.requests[-1]["body"]["messages"][0]["content"]
    assert f"[m{ids['garden']}]" in system
    assert NOTES["garden"] in system
    assert NOTES["tax"] not in system, "only relevant memories reach the model"


async def test_turns_and_tool_runs_are_remembered(os_: Os, llm_server: Server) -> None:
    await os_.service.vfs.write_text("user/todo.md", "- call the plumber about the leak\n")
    llm_server.queue(
        text("1. Read todo.md."),
        tool_calls([("read_file", json.dumps({"path": "todo.md"}))]),
        text("Your todo list says to call the plumber."),
    )
    done, chat = await os_.chat("Read my todo list and tell me what is on it, from todo.md")
    assert done["status"] == "final"
    memory = host(os_.service)
    await memory.idle()
    conversation = await memory.recall("plumber", 10, ["conversation"])
    assert conversation[0].record.source.ref == chat["id"]
    assert "call the plumber" in conversation[0].record.text
    executions = await memory.recall("read todo.md", 10, ["execution"])
    run = executions[0].record
    assert run.metadata["tool"] == "read_file"
    assert run.metadata["success"] is True
    assert run.source.type == "trace"
    assert run.source.ref.startswith(chat["id"] + "#")


async def test_recall_and_remember_tools(os_: Os, llm_server: Server) -> None:
    await remember_notes(os_)
    llm_server.queue(  # a conversational turn: no plan call
        tool_calls([("remember", json.dumps({"text": "The wifi password is on the fridge."}))]),
        tool_calls([("recall", json.dumps({"query": "bicycle maintenance", "k": 2}))]),
        text("Done."),
    )
    await os_.call("memory.settings.set", values={"inject": 0})
    done, chat = await os_.chat("Remember where the wifi password is, then recall bike notes")
    assert done["status"] == "final"
    tools = [i for i in chat["items"] if i["kind"] == "tool"]
    assert tools[0]["status"] == "ok"
    assert tools[0]["result"].startswith("Remembered as [m")
    assert tools[1]["status"] == "ok"
    assert "4.5 bar" in tools[1]["result"].splitlines()[0]
    found = await os_.call("memory.search", query="where is the wifi password?", k=1)
    assert "fridge" in found["items"][0]["text"]


async def test_memory_survives_a_restart(
    os_: Os, tmp_path: Path, http: Http, embedding_engine: Any
) -> None:
    ids = await remember_notes(os_)
    await host(os_.service).idle()
    again = await make_os(tmp_path, None, http, embedder=embedding_engine)
    found = await again.call("memory.search", query="oil the chain", k=1)
    assert found["items"][0]["id"] == ids["bike"]
    assert (await again.call("memory.stats"))["count"] == len(NOTES)


async def test_a_stale_or_damaged_keyword_snapshot_is_brought_up_to_date(
    os_: Os, tmp_path: Path, http: Http, embedding_engine: Any
) -> None:
    from llmos.memory.host import KEYWORD_SNAPSHOT
    from llmos.memory.store import NewRecord, Source

    ids = await remember_notes(os_)
    memory = host(os_.service)
    await memory.idle()
    store = await memory.store()
    # changes the snapshot never saw (as after a crash): one record gone, one new
    await store.delete([ids["tax"]])
    [vector] = await (await memory.embedder()).embed_texts(["Zeppelin rides over Lake Constance"])
    await store.add(
        [NewRecord("note", "Zeppelin rides over Lake Constance", {}, Source("note", "z"), vector)]
    )
    again = await make_os(tmp_path, None, http, embedder=embedding_engine)
    found = await again.call("memory.search", query="Zeppelin", k=3)
    assert found["items"][0]["scores"]["keyword"] == 1.0
    assert all(
        i["id"] != ids["tax"]
        for i in (await again.call("memory.search", query="tax", k=5))["items"]
    )
    await os_.service.private.write(KEYWORD_SNAPSHOT, b"garbage")  # type: ignore[union-attr]
    third = await make_os(tmp_path, None, http, embedder=embedding_engine)
    found = await third.call("memory.search", query="receipts deadline", k=1)
    assert all(i["id"] != ids["tax"] for i in found["items"])
    found = await third.call("memory.search", query="Zeppelin", k=1)
    assert found["items"][0]["scores"]["keyword"] == 1.0


async def test_deleting_most_of_the_memory_gives_the_space_back(os_: Os) -> None:
    from llmos.memory.store import NewRecord, Source

    memory = host(os_.service)
    ids = await remember_notes(os_)
    store = await memory.store()
    vector = (await store.get(ids["garden"], with_vectors=True)).vector
    assert vector is not None
    extra = await memory.forget([])  # nothing to forget is fine
    assert extra == 0
    added = await store.add(
        [NewRecord("note", f"Filler {n}", {}, Source("note", f"f{n}"), vector) for n in range(300)]
    )
    full = (await os_.call("memory.stats"))["bytes"]
    assert (await os_.call("memory.delete", ids=added))["deleted"] == 300
    await memory.idle()
    stats = await os_.call("memory.stats")
    assert stats["count"] == len(NOTES)
    assert stats["bytes"] < full / 4, "the deleted records' space was reclaimed"
    found = await os_.call("memory.search", query="tyre pressure", k=1)
    assert found["items"][0]["id"] == ids["bike"], "ids survive the compaction"


async def test_a_pasted_api_key_never_reaches_memory_or_its_export(
    os_: Os, llm_server: Server
) -> None:
    llm_server.queue(text("Please do not share keys; I will not keep it."))
    await os_.chat(f"my key is {API_KEY} keep it safe")
    memory = host(os_.service)
    await memory.idle()
    exported = (await os_.call("memory.export"))["jsonl"]
    assert "[secret removed]" in exported
    assert API_KEY not in exported
    stored = [p for p in (os_.home / "private" / "memory").rglob("*") if p.is_file()]
    assert stored
    assert not [p for p in stored if API_KEY.encode() in p.read_bytes()]
    lines = exported.splitlines()
    pasted = json.dumps({"kind": "note", "text": f"token {API_KEY} here"})
    await os_.call("memory.import", jsonl=lines[0] + "\n" + pasted)
    assert API_KEY not in (await os_.call("memory.export"))["jsonl"]


async def test_a_damaged_vector_file_is_reported_and_the_rest_still_recalled(
    os_: Os, tmp_path: Path, http: Http, embedding_engine: Any
) -> None:
    ids = await remember_notes(os_)
    await host(os_.service).idle()
    [segment] = (os_.home / "private" / "memory").glob("vectors-*.f32")
    data = bytearray(segment.read_bytes())
    data[4 : 4 + 64] = b"\xff" * 64  # the first record's vector: garbage
    segment.write_bytes(bytes(data))
    again = await make_os(tmp_path, None, http, embedder=embedding_engine)
    found = await again.call("memory.search", query="bicycle tyre pressure", k=1)
    assert found["items"][0]["id"] == ids["bike"]
    await host(again.service).idle()  # the background check of the vectors
    stats = await again.call("memory.stats")
    assert any("damaged" in p for p in stats["problems"]), stats
    assert stats["count"] == len(NOTES) - 1
    assert segment.read_bytes() == bytes(data), "nothing was deleted"


async def test_a_store_from_a_newer_llmos_is_left_untouched(
    os_: Os, tmp_path: Path, http: Http, embedding_engine: Any
) -> None:
    await remember_notes(os_)
    await host(os_.service).idle()
    folder = os_.home / "private" / "memory"
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").write_text(json.dumps({**manifest, "format": 2}))
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    again = await make_os(tmp_path, None, http, embedder=embedding_engine)
    error = await again.fails("memory.search", query="tomatoes")
    assert "newer" in error["message"]
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
