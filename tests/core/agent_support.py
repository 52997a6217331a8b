"""Support for the agent tests: a real OS service over real files, talking real HTTP (httpx
natively, fetch in Pyodide) to a scripted OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from llmos.platform.http import Http
from llmos.platform.native import DirectoryStorage
from llmos.protocol import Event
from llmos.service import OsService

from tests.llm_server import RemoteScriptedLLM, ScriptedLLM

Server = ScriptedLLM | RemoteScriptedLLM

API_KEY = "sk-test-CANARY-4242"


@dataclass
class Os:
    """An OS service plus everything a test wants to look at."""

    service: OsService
    home: Path
    events: list[Event] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)

    async def call(self, method: str, **params: Any) -> Any:
        reply = await self.service.handle(
            {"type": "request", "id": "t", "method": method, "params": params}
        )
        if not reply["ok"]:
            raise AssertionError(f"{method} failed: {reply['error']}")
        return reply["result"]

    async def fails(self, method: str, **params: Any) -> dict[str, Any]:
        reply = await self.service.handle(
            {"type": "request", "id": "t", "method": method, "params": params}
        )
        assert not reply["ok"], reply
        return dict(reply["error"])

    def named(self, name: str) -> list[dict[str, Any]]:
        return [e["data"] for e in self.events if e["name"] == name]

    async def chat(self, text: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Send ``text`` in a new chat; returns (the send reply, the conversation after)."""
        chat = await self.call("chat.new")
        done = await self.call("chat.send", id=chat["id"], text=text)
        return done, await self.call("chat.get", id=chat["id"])


async def make_os(
    home: Path,
    server: Server | None,
    http: Http,
    sandbox: Any = None,
    *,
    embedder: Any = None,
    private: Any = None,
) -> Os:
    """An OS over real folders in ``home`` (``private`` may replace its private storage);
    ``embedder`` is an embedding engine to give it memory."""
    (home / "user").mkdir(parents=True, exist_ok=True)
    (home / "private").mkdir(parents=True, exist_ok=True)
    os_ = Os(service=None, home=home)  # type: ignore[arg-type]
    os_.service = await OsService.create(
        DirectoryStorage(str(home / "user")),
        private or DirectoryStorage(str(home / "private")),
        os_.events.append,
    )
    if embedder is not None:
        os_.service.embedding_engine = lambda prefer: embedder
    os_.service.http = http
    os_.service.sandbox = sandbox

    async def record(seconds: float) -> None:
        os_.sleeps.append(seconds)

    os_.service.remote_options = {"sleep": record}
    if server is not None:
        endpoint = {
            "name": "scripted",
            "base_url": server.url,
            "model": "scripted-1",
            "api_key": API_KEY,
        }
        await os_.call("llm.settings.set", endpoint=endpoint)
    return os_


def kinds(conversation: dict[str, Any]) -> list[str]:
    return [item["kind"] for item in conversation["items"]]


def leaked(home: Path, events: list[Event], secret: str = API_KEY) -> list[str]:
    """Every place outside secrets.json where ``secret`` shows up."""
    places = [
        str(path)
        for path in home.rglob("*")
        if path.is_file() and path.name != "secrets.json" and secret.encode() in path.read_bytes()
    ]
    return places + [e["name"] for e in events if secret in json.dumps(e)]
