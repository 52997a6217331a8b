"""The agent's own cost per tool round trip, natively, against the scripted model server.

    .venv/bin/python bench/agent_overhead.py [--rounds N] [--runs R]

A turn where the scripted model asks for N cheap tool calls (``list_files``) one after another
is timed against a turn where it answers at once; the difference divided by N is the cost of
one round trip: parsing the streamed tool call, checking its arguments, running the tool,
recording and saving the conversation items, and building the next request. The model's own
time is the scripted server's, which answers at once over local HTTP; that HTTP exchange is
measured separately (one bare completion) and subtracted, so the figure is the agent's own
overhead. Target: < 30 ms. Used by ``bench/llm.py``; runs alone too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from llmos.llm.openai import OpenAIEngine  # noqa: E402
from llmos.llm.types import ChatRequest, Message  # noqa: E402
from llmos.platform.native import DirectoryStorage  # noqa: E402
from llmos.platform.native_http import NativeHttp  # noqa: E402
from llmos.service import OsService  # noqa: E402

from tests.llm_server import ScriptedLLM, text, tool_calls  # noqa: E402

TARGET_MS = 30.0


async def _service(home: Path, llm: ScriptedLLM) -> OsService:
    for part in ("user", "private"):
        (home / part).mkdir(parents=True, exist_ok=True)
    service = await OsService.create(
        DirectoryStorage(str(home / "user")),
        DirectoryStorage(str(home / "private")),
        lambda e: None,
    )
    service.http = NativeHttp()
    endpoint = {"name": "bench", "base_url": llm.url, "model": "scripted", "api_key": "sk-bench"}
    params = {"endpoint": endpoint, "mode": "remote"}
    await service.handle(
        {"type": "request", "id": "s", "method": "llm.settings.set", "params": params}
    )
    return service


async def _turn(service: OsService, llm: ScriptedLLM, rounds: int) -> float:
    """Seconds for one chat turn with ``rounds`` tool round trips (no plan: a chat turn)."""
    calls = [tool_calls([("list_files", json.dumps({"path": f"r{n}"}))]) for n in range(rounds)]
    llm.queue(*calls, text("done"))
    new = await service.handle({"type": "request", "id": "n", "method": "chat.new", "params": {}})
    params = {"id": new["result"]["id"], "text": "hello"}
    started = time.perf_counter()
    reply = await service.handle(
        {"type": "request", "id": "c", "method": "chat.send", "params": params}
    )
    elapsed = time.perf_counter() - started
    if not reply["ok"] or reply["result"]["status"] != "final":
        raise RuntimeError(f"the benchmark turn did not finish: {reply}")
    return elapsed


async def _bare_completion(llm: ScriptedLLM) -> float:
    engine = OpenAIEngine(NativeHttp(), llm.url, "scripted")
    llm.queue(tool_calls([("list_files", "{}")]))
    started = time.perf_counter()
    async for _ in engine.stream(ChatRequest([Message("user", "hi")])):
        pass
    return time.perf_counter() - started


async def measure(rounds: int = 10, runs: int = 5) -> dict[str, Any]:
    """Median overhead per tool round trip in ms, with the parts it is computed from."""
    per_round, model = [], []
    with ScriptedLLM() as llm, tempfile.TemporaryDirectory() as tmp:
        service = await _service(Path(tmp), llm)
        await _turn(service, llm, 1)  # warm-up: imports, first connection
        for _ in range(runs):
            base = await _turn(service, llm, 0)
            loaded = await _turn(service, llm, rounds)
            per_round.append((loaded - base) / rounds * 1000)
            model.append(await _bare_completion(llm) * 1000)
    round_ms = statistics.median(per_round)
    model_ms = statistics.median(model)
    overhead = round_ms - model_ms
    return {
        "rounds_per_turn": rounds,
        "runs": runs,
        "round_trip_ms": round(round_ms, 2),
        "scripted_model_call_ms": round(model_ms, 2),
        "agent_overhead_per_round_trip_ms": round(overhead, 2),
        "target_ms": TARGET_MS,
        "met": overhead < TARGET_MS,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.rounds, args.runs)), indent=1))


if __name__ == "__main__":
    main()
