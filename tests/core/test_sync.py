"""GitHub sync over this platform's HTTP: httpx natively, ``fetch`` inside Pyodide (CORS and all),
against tests/github_server.py. Natively the server runs here; in Pyodide it runs on the host
(tests/test_core_in_pyodide.py announces it in ``llmosTest.githubServer``) and is driven
through its ``/_control/`` endpoints with blocking XHR."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import llmos.sync.methods  # noqa: F401  (registers the sync.* methods)
import pytest
from llmos import protocol
from llmos.platform.http import Http
from llmos.platform.memory import MemoryStorage
from llmos.service import OsService
from llmos.settings import Secrets, Settings
from llmos.vfs import Vfs

IN_BROWSER = sys.platform == "emscripten"
TOKEN = "github_pat_test_write_0123456789abcdef"  # tests/github_server.py's WRITE_TOKEN
REPO = "octo/core-sync"
SKILL = b"---\nname: csv-summary\ndescription: Summarize a CSV file.\n---\n\nSteps.\n"


def _post_native(url: str, body: bytes) -> bytes:
    import urllib.request

    with urllib.request.urlopen(urllib.request.Request(url, body, method="POST")) as answer:
        data: bytes = answer.read()
        return data


def _post_browser(url: str, body: bytes) -> bytes:
    from js import XMLHttpRequest

    request = XMLHttpRequest.new()
    request.open("POST", url, False)
    request.setRequestHeader("Content-Type", "text/plain")  # a simple request: no preflight
    request.send(body.decode("utf-8"))
    return str(request.responseText).encode("utf-8")


class Control:
    """The test server's controls over HTTP: ``control("push", name=..., files=...)``."""

    def __init__(self, url: str, dead_url: str, post: Callable[[str, bytes], bytes]) -> None:
        self.url = url
        self.dead_url = dead_url
        self._post = post

    def __call__(self, action: str, **args: Any) -> Any:
        answer = self._post(f"{self.url}/_control/{action}", json.dumps(args).encode())
        return json.loads(answer)["result"]

    def files(self, name: str) -> dict[str, bytes]:
        return {k: base64.b64decode(v) for k, v in self("files", name=name).items()}


def encoded(files: Mapping[str, bytes | None]) -> dict[str, str | None]:
    return {k: None if v is None else base64.b64encode(v).decode() for k, v in files.items()}


@pytest.fixture(scope="module")
def control() -> Iterator[Control]:
    if IN_BROWSER:
        from js import llmosTest

        announced = llmosTest.githubServer
        yield Control(str(announced.root), str(announced.deadUrl), _post_browser)
        return
    from tests.github_server import GithubServer

    with GithubServer() as server:
        yield Control(server.url, server.dead_url, _post_native)


class Os:
    def __init__(self, service: OsService) -> None:
        self.service = service

    async def ok(self, method: str, **params: Any) -> Any:
        request = {"type": "request", "id": "1", "method": method, "params": params}
        reply = await self.service.handle(request)
        assert reply["ok"], reply
        assert TOKEN not in json.dumps(reply)
        return reply["result"]


async def make_os(vfs: Vfs, http: Http, control: Control) -> Os:
    events: list[protocol.Event] = []
    private = MemoryStorage()
    service = OsService(vfs, Settings(private), Secrets(private), events.append)
    service.http = http
    os_ = Os(service)
    await os_.ok("sync.settings.set", repo=REPO, token=TOKEN, api=control.url)
    return os_


async def test_sync_pushes_pulls_and_keeps_both_sides_of_a_conflict(
    vfs: Vfs, http: Http, control: Control
) -> None:
    control("reset")
    control("create_repo", name=REPO, files=encoded({"README.md": b"hi\n"}))
    os_ = await make_os(vfs, http, control)
    await vfs.write_bytes("user/skills/csv-summary/SKILL.md", SKILL)
    first = await os_.ok("sync.run")
    assert first["status"] == "synced", first
    assert control.files(REPO)["skills/csv-summary/SKILL.md"] == SKILL
    log = control("log", name=REPO)
    assert log[0]["sha"] == first["commit"]
    assert log[0]["parents"] == [log[1]["sha"]]
    # Another device edits the skill and adds a file; we edit the same skill here.
    theirs = SKILL.replace(b"Steps.", b"Their steps.")
    ours = SKILL.replace(b"Steps.", b"Our steps.")
    files = {"skills/csv-summary/SKILL.md": theirs, "skills/csv-summary/notes.md": b"n"}
    control("push", name=REPO, files=encoded(files), message="Another device")
    await vfs.write_bytes("user/skills/csv-summary/SKILL.md", ours)
    merged = await os_.ok("sync.run")
    assert merged["status"] == "conflicts", merged
    assert merged["pulled"][0].startswith("user/skills/csv-summary/SKILL.conflict-")
    assert merged["pulled"][1:] == ["user/skills/csv-summary/notes.md"]
    assert await vfs.read_bytes("user/skills/csv-summary/SKILL.md") == ours
    assert await vfs.read_bytes(merged["pulled"][0]) == theirs
    remote = control.files(REPO)
    assert remote["skills/csv-summary/SKILL.md"] == ours
    assert remote[merged["pulled"][0].removeprefix("user/")] == theirs
    assert (await os_.ok("sync.status"))["pending"] is False


async def test_a_connection_cut_mid_sync_queues_it_and_loses_nothing(
    http: Http, control: Control
) -> None:
    from llmos.platform.memory import MemoryStorage as Storage
    from llmos.vfs import Volume

    vfs = Vfs()
    vfs.mount(Volume("user", Storage(), writable=True, description="Your files"))
    control("reset")
    control("create_repo", name=REPO, files=encoded({"README.md": b"hi\n"}))
    os_ = await make_os(vfs, http, control)
    await vfs.write_bytes("user/skills/csv-summary/SKILL.md", SKILL)
    # Chromium resends a request once when a reused connection drops before any answer: the
    # cut must outlast that, until the connection is "back".
    control("fail", kind="drop", method="POST", path="/git/commits", times=5)
    cut = await os_.ok("sync.run")
    assert cut["status"] == "queued", cut
    assert "not changed" in cut["message"]
    assert set(control.files(REPO)) == {"README.md"}
    assert await vfs.read_bytes("user/skills/csv-summary/SKILL.md") == SKILL
    assert (await os_.ok("sync.status"))["pending"] is True
    control("heal")
    done = await os_.ok("sync.run")
    assert done["status"] == "synced"
    assert control.files(REPO)["skills/csv-summary/SKILL.md"] == SKILL
