"""Applets at work: the ``applets.*`` methods the desktop calls, the bridge's permission and
grant checks (files confined to the applet's data folder, never a secret), and the agent
building an applet with a scripted model: create -> the desktop reports an error -> update ->
a clean report, the desktop's reports driven through ``applets.report`` as the UI sends them."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest
from llmos.agent.tools import TOOLS, ToolContext
from llmos.applets.methods import applet_host
from llmos.platform.http import Http
from llmos.platform.memory import MemoryStorage
from llmos.protocol import Event
from llmos.vfs import Vfs, Volume

from tests.conftest import run
from tests.core.agent_support import API_KEY, Os, Server, leaked, make_os
from tests.llm_server import text, tool_calls

GOOD = "<!doctype html><title>Units</title><p id=out>1 km = 0.621 mi</p>"
BROKEN = "<!doctype html><title>Units</title><script>convert(</script>"


@pytest.fixture
def os_(tmp_path: Path, llm_server: Server, http: Http) -> Os:
    return run(make_os(tmp_path, llm_server, http))


def desktop(os_: Os, errors_for: dict[str, list[str]] | None = None) -> list[dict[str, Any]]:
    """Stand in for the desktop: each ``applets.open`` is answered with ``applets.report``,
    with the errors of ``errors_for[html]`` (the page's text at that version), as the UI does
    once the frame painted. Returns the opens seen."""
    opened: list[dict[str, Any]] = []
    answers: set[asyncio.Future[None]] = set()

    def emit(event: Event) -> None:
        os_.events.append(event)
        if event["name"] != "applets.open":
            return
        opened.append(event["data"])
        answering = asyncio.ensure_future(answer(event["data"]))
        answers.add(answering)
        answering.add_done_callback(answers.discard)

    async def answer(data: dict[str, Any]) -> None:
        applet = await os_.call("applets.get", name=data["name"])
        page = applet.get("html", applet.get("code"))
        errors = (errors_for or {}).get(page, [])
        await os_.call("applets.report", **data, errors=errors, painted_ms=12.5)

    os_.service.emit = emit
    return opened


async def create(os_: Os, name: str, html: str = GOOD, permissions: list[str] | None = None) -> Any:
    args = {"name": name, "title": name.title(), "description": "test", "html": html}
    ctx = ToolContext(os_.service.vfs)
    return await TOOLS.call("create_applet", args | {"permissions": permissions or []}, ctx)


async def bridge(os_: Os, name: str, tool: str, **arguments: Any) -> dict[str, Any]:
    result: dict[str, Any] = await os_.call(
        "applets.call", name=name, tool=tool, arguments=arguments
    )
    return result


def said(result: dict[str, Any]) -> str:
    return "\n".join(c["text"] for c in result["content"] if c["type"] == "text")


# --- the tools and the desktop's report ----------------------------------------------------------


async def test_create_waits_for_the_render_report_and_returns_the_frames_errors(os_: Os) -> None:
    opened = desktop(os_, {BROKEN: ["SyntaxError: Unexpected end of input (line 1)"]})
    await os_.call("applets.list")  # the desktop's first call connects the OS to it
    clean = await create(os_, "units")
    assert not clean.is_error
    assert "'units' (version 1): rendered on the desktop, no errors (first paint 12 ms)" in (
        clean.text
    )
    ctx = ToolContext(os_.service.vfs)
    broken = await TOOLS.call("update_applet", {"name": "units", "html": BROKEN}, ctx)
    assert broken.is_error
    assert "version 2" in broken.text
    assert "- SyntaxError: Unexpected end of input (line 1)" in broken.text
    assert opened == [{"name": "units", "version": 1}, {"name": "units", "version": 2}]
    assert os_.named("applets.changed")[-1] == {"names": ["units"]}


async def test_no_report_in_time_says_so_honestly_and_the_applet_is_saved(os_: Os) -> None:
    await os_.call("applets.list")
    applet_host(os_.service.vfs).report_timeout_s = 0.05  # no desktop answers in this test
    result = await create(os_, "units", permissions=["files"])
    assert not result.is_error
    assert "saved" not in result.text or "did not report" in result.text
    assert "the desktop did not report a render (is it open?)" in result.text
    assert "It asks for files: the user allows each on the desktop" in result.text
    assert [e["data"] for e in os_.events if e["name"] == "applets.open"] == [
        {"name": "units", "version": 1}
    ]
    assert (await os_.call("applets.get", name="units"))["html"] == GOOD
    late = await os_.call("applets.report", name="units", version=1, errors=[], painted_ms=3)
    assert late == {"name": "units", "version": 1}  # a late report harms nothing


async def test_a_panel_applet_gets_longer_to_report_than_an_html_one(os_: Os) -> None:
    desktop(os_)  # answers every open, a few steps of the event loop later
    await os_.call("applets.list")
    applet_host(os_.service.vfs).report_timeout_s = 0  # html: only a report already there counts
    html = await create(os_, "units")
    assert "the desktop did not report a render" in html.text
    ctx = ToolContext(os_.service.vfs)
    code = "import panel as pn\npn.Column('hi').servable()\n"
    args = {"name": "hello", "title": "Hello", "description": "test", "kind": "panel", "code": code}
    panel = await TOOLS.call("create_applet", args, ctx)
    assert "rendered on the desktop, no errors" in panel.text, panel.text


async def test_without_a_desktop_the_tool_says_it_saved_and_bad_input_is_refused() -> None:
    vfs = Vfs()
    vfs.mount(Volume("user", MemoryStorage(), writable=True))
    ctx = ToolContext(vfs)
    args: dict[str, Any] = {"name": "units", "title": "Units", "description": "d", "html": GOOD}
    done = await TOOLS.call("create_applet", args, ctx)
    assert (
        done.text == "Created applet 'units' (version 1); no desktop is connected here to show it."
    )
    again = await TOOLS.call("create_applet", args, ctx)
    assert (again.is_error, again.text) == (
        True,
        "An applet named 'units' exists already: use update_applet.",
    )
    refused: list[tuple[dict[str, Any], str]] = [
        ({"name": "Units!"}, "is not an applet name"),
        ({"name": "huge", "html": "x" * 10_000_000}, "at most 5 MB"),
        ({"name": "empty", "html": " "}, "Give 'html' for a html applet"),
        ({"name": "py", "kind": "panel"}, "Give 'code' for a panel applet"),
        ({"name": "net", "permissions": ["network"]}, "must be one of"),
    ]
    for bad, says in refused:
        result = await TOOLS.call("create_applet", args | bad, ctx)
        assert result.is_error, result.text
        assert says in result.text
    missing = await TOOLS.call("update_applet", {"name": "nope", "html": GOOD}, ctx)
    assert missing.is_error
    assert "There is no applet 'nope'" in missing.text
    assert [e.name for e in await vfs.list("user/applets")] == ["units"]


async def test_agent_creates_sees_the_error_updates_and_gets_a_clean_report(
    os_: Os, llm_server: Server
) -> None:
    desktop(os_, {BROKEN: ["ReferenceError: convert is not defined"]})
    await os_.call("applets.list")
    create_args = {"name": "units", "title": "Units", "description": "km to mi", "html": BROKEN}
    llm_server.queue(
        text("1. Create the applet. 2. Fix what the desktop reports."),
        tool_calls([("create_applet", json.dumps(create_args))]),
        tool_calls([("update_applet", json.dumps({"name": "units", "html": GOOD}))]),
        text("Your unit converter is on the desktop."),
    )
    done, chat = await os_.chat("Make me a unit converter")
    assert done["status"] == "final"
    offered = {t["function"]["name"] for t in llm_server.requests[1]["body"]["tools"]}
    assert {"create_applet", "update_applet"} <= offered
    cards = [i for i in chat["items"] if i["kind"] == "tool"]
    assert [(c["name"], c["status"]) for c in cards] == [
        ("create_applet", "error"),
        ("update_applet", "ok"),
    ]
    assert "ReferenceError: convert is not defined" in cards[0]["result"]
    assert "version 2): rendered on the desktop, no errors" in cards[1]["result"]
    tool_messages = [m for m in llm_server.requests[2]["body"]["messages"] if m["role"] == "tool"]
    assert "ReferenceError: convert is not defined" in tool_messages[0]["content"]
    served = await os_.call("applets.get", name="units")
    assert (served["html"], served["manifest"]["version"]) == (GOOD, 2)
    assert served["manifest"]["created_by"] == "agent"


# --- the desktop's methods -----------------------------------------------------------------------


async def test_list_get_rename_duplicate_export_import_delete(os_: Os) -> None:
    await create(os_, "units")
    await os_.service.vfs.write_text("user/applets/broken/manifest.json", "{}")
    listed = {a["name"]: a for a in (await os_.call("applets.list"))["applets"]}
    assert listed["units"]["problem"] is None
    assert listed["units"]["manifest"]["title"] == "Units"
    assert "the field 'name' is missing" in listed["broken"]["problem"]
    await os_.call("applets.grant", name="units", tool="files", allow=True)
    await os_.call("applets.rename", name="units", new="converter")
    assert os_.service.settings.get("applets.grants") == {"converter": ["files"]}
    copy = await os_.call("applets.duplicate", name="converter")
    assert copy["name"] == "converter-copy"
    exported = await os_.call("applets.export", name="converter")
    assert exported["name"] == "converter.zip"
    imported = await os_.call("applets.import", zip=exported["zip"])
    assert imported["name"] == "converter-2"
    await os_.call("applets.delete", name="converter")
    assert os_.service.settings.get("applets.grants") == {}
    listed = (await os_.call("applets.list"))["applets"]
    names = sorted(a["name"] for a in listed if a["volume"] == "user")
    assert names == ["broken", "converter-2", "converter-copy"]
    error = await os_.fails("applets.get", name="converter")
    assert error["message"] == "There is no applet 'converter'."
    bad = await os_.fails("applets.import", zip=base64.b64encode(b"nope").decode())
    assert "not a zip archive" in bad["message"]
    assert "not valid base64" in (await os_.fails("applets.import", zip="%%"))["message"]


# --- the bridge: permissions, grants, confinement ------------------------------------------------


async def test_a_tool_needs_the_manifest_permission_and_the_users_grant(os_: Os) -> None:
    await create(os_, "notes", permissions=["files"])
    unasked = await bridge(os_, "notes", "execute_python", code="1")
    assert unasked["isError"]
    assert "did not ask for the 'execute_python' permission" in said(unasked)
    assert "needsGrant" not in unasked
    ungranted = await bridge(os_, "notes", "write_file", path="a.txt", content="x")
    assert ungranted["isError"]
    assert ungranted["needsGrant"] == "files"
    assert "may use write_file only when you allow it" in said(ungranted)
    unknown = await bridge(os_, "notes", "delete_file", path="a.txt")
    assert unknown["isError"]
    assert "Applets cannot call 'delete_file'" in said(unknown)
    await os_.call("applets.grant", name="notes", tool="write_file", allow=True)
    assert os_.service.settings.get("applets.grants") == {"notes": ["files"]}
    wrote = await bridge(os_, "notes", "write_file", path="lists/todo.txt", content="milk")
    assert wrote == {
        "content": [{"type": "text", "text": "Wrote lists/todo.txt (4 bytes)."}],
        "isError": False,
    }
    assert (os_.home / "user/applets/notes/data/lists/todo.txt").read_text() == "milk"
    assert said(await bridge(os_, "notes", "read_file", path="lists/todo.txt")) == "milk"
    assert said(await bridge(os_, "notes", "list_files")) == "lists/"
    await os_.call("applets.grant", name="notes", tool="files", allow=False)
    again = await bridge(os_, "notes", "read_file", path="lists/todo.txt")
    assert again["isError"]
    assert again["needsGrant"] == "files"
    refused = await os_.fails("applets.grant", name="notes", tool="network", allow=True)
    assert "'network' is not a tool applets can use" in refused["message"]


async def test_files_stay_in_the_data_folder_and_no_secret_is_reachable(os_: Os) -> None:
    await create(os_, "notes", permissions=["files", "execute_python", "recall"])
    for tool in ("files", "execute_python", "recall"):
        await os_.call("applets.grant", name="notes", tool=tool, allow=True)
    (os_.home / "user/private.txt").write_text("the user's own file")
    for path in ("../private.txt", "../../../private/secrets.json", "/etc/passwd", "a/../../x"):
        result = await bridge(os_, "notes", "read_file", path=path)
        assert result["isError"], path
        assert "data folder" in said(result) or "is absolute" in said(result), said(result)
    escape = await bridge(os_, "notes", "write_file", path="../index.html", content="<p>pwned")
    assert escape["isError"]
    assert (await os_.call("applets.get", name="notes"))["html"] == GOOD
    python = await bridge(os_, "notes", "execute_python", code="print(1)")
    assert python["isError"]
    assert "no sandbox is running" in said(python)
    recall = await bridge(os_, "notes", "recall", query="secrets")
    assert recall["isError"]
    assert "Memory is not available here" in said(recall)
    assert leaked(os_.home, os_.events, API_KEY) == []


async def test_read_files_reads_any_user_or_shipped_file_and_never_writes(os_: Os) -> None:
    await create(os_, "viewer", permissions=["read_files"])
    await os_.call("applets.grant", name="viewer", tool="read_files", allow=True)
    (os_.home / "user/notes.md").write_text("# Notes\n")
    assert said(await bridge(os_, "viewer", "read_file", path="user/notes.md")) == "# Notes\n"
    shipped = await bridge(os_, "viewer", "list_files", path="system/agents")
    assert "system.md" in said(shipped)
    write = await bridge(os_, "viewer", "write_file", path="user/notes.md", content="gone")
    assert write["isError"]
    assert "did not ask for the 'files' permission" in said(write)
    assert (os_.home / "user/notes.md").read_text() == "# Notes\n"


async def test_report_and_call_refuse_malformed_params(os_: Os) -> None:
    await create(os_, "units")
    malformed: list[tuple[dict[str, Any], str]] = [
        ({"name": "units", "version": "1"}, "'version' must be a whole number"),
        ({"name": "units", "version": 1, "errors": "boom"}, "'errors' must be a list"),
    ]
    for params, says in malformed:
        assert says in (await os_.fails("applets.report", **params))["message"]
    bad = await os_.fails("applets.call", name="units", tool="read_file", arguments=[1])
    assert "'arguments' must be an object" in bad["message"]
    assert (
        "There is no applet 'nope'"
        in (await os_.fails("applets.call", name="nope", tool="read_file"))["message"]
    )
