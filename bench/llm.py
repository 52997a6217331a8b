"""LLM benchmark: the local model in Chromium, and the agent's own overhead per tool round trip.

Local-model part: SmolLM2-135M through wllama in headless Chromium, on dist/.

    .venv/bin/python bench/llm.py [--runs N]        (default N=3)

Builds dist/ once, serves it with COOP/COEP (so wllama may use threads) and, per run and per
thread count (1 and 2, alternating so both see the same machine), in a fresh browser profile:

* cold load: the app boots, the OS worker's bridge (``globalThis.llmosLocalLlm``) is set to that
  many threads, and the first chat downloads the model into the origin-private file system;
* generation: the first chat and two more of 64 tokens each (``ignore_eos``) give time to first
  token (prompt evaluation included, model load excluded; the first chat has nothing in llama.cpp's
  prompt cache, the next ones share the template's system turn with it), tokens/s while
  generating, and prompt tokens/s;
* tool call: one chat with two tools, constrained by the tool-call grammar;
* cached load: the page reloads (a new OS worker, same profile) and the first chat reads the
  model from disk; it must say ``cached`` and fetch no .gguf.

Requests are built by ``llmos.llm.local.build_payload``, as the engine sends them, and go to the
bridge directly (no agent, no OS request).

Agent part (``bench/agent_overhead.py``): natively, a chat turn with ten tool round trips against
the scripted OpenAI-compatible server, minus a turn without tools and minus one bare model call,
per round trip (target < 30 ms). Writes bench/results/llm.json and prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import statistics
import sys
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, Playwright, Worker, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import agent_overhead  # noqa: E402  (bench/ is on sys.path when this runs)
from llmos.llm import local  # noqa: E402
from llmos.llm.types import ChatRequest, Message, ToolSpec  # noqa: E402
from startup import fresh_profile, machine_info  # noqa: E402

import build  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "llm.json"
WAIT_MS = 300_000
THREADS = (1, 2)
GENERATED_TOKENS = 64
LOAD_PROMPT = "Write a short story about a robot who learns to paint."
PROMPTS = ["Explain how a rainbow forms, step by step.", "Describe a busy harbour at dawn."]
WEATHER = ToolSpec(
    "get_weather",
    "Get the current weather for a city.",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
READ = ToolSpec(
    "read_file",
    "Read a file of the user.",
    {"type": "object", "properties": {"path": {"type": "string"}}, "required": ["path"]},
)

CHAT_JS = """async ([payload, threads]) => {
  const bridge = globalThis.llmosLocalLlm;
  await bridge.configure({ nThreads: threads });
  return JSON.parse(await bridge.chat(payload, () => {}, () => {}));
}"""

Sample = dict[str, float]


# --- one measurement each ----------------------------------------------------------------------
def os_worker(page: Page) -> Worker:
    """The OS worker of the page's current load."""
    page.evaluate("window.llmos.ready")
    workers = [w for w in page.workers if "os-worker" in w.url]
    if not workers:
        raise RuntimeError("no OS worker on the page")
    return workers[-1]


def chat(page: Page, threads: int, request: ChatRequest) -> dict[str, Any]:
    payload = local.build_payload(request)
    if not request.tools:
        payload["ignore_eos"] = True  # always GENERATED_TOKENS tokens: comparable tokens/s
    result: dict[str, Any] = os_worker(page).evaluate(CHAT_JS, [json.dumps(payload), threads])
    return result


def text_request(prompt: str) -> ChatRequest:
    return ChatRequest([Message("user", prompt)], temperature=0.0, max_tokens=GENERATED_TOKENS)


def measure_load(page: Page, threads: int, expect_cached: bool) -> Sample:
    """Load the model (the first chat of this page load); returns load time and generation."""
    stats = chat(page, threads, text_request(LOAD_PROMPT))["stats"]
    if bool(stats["cached"]) != expect_cached:
        raise RuntimeError(f"expected cached={expect_cached}, the bridge says {stats}")
    if stats["n_threads"] != threads:
        raise RuntimeError(f"asked for {threads} threads, wllama runs {stats['n_threads']}")
    return {"load_ms": stats["load_ms"], **generation_sample(stats)}


def measure_generation(page: Page, threads: int, prompt: str) -> Sample:
    """One plain chat on a loaded model."""
    return generation_sample(chat(page, threads, text_request(prompt))["stats"])


def measure_tool_call(page: Page, threads: int) -> Sample:
    """One grammar-constrained chat with two tools; 1.0 in ``called`` when it made a call."""
    request = ChatRequest(
        [Message("user", "Is it raining in Oslo today?")], tools=[WEATHER, READ], temperature=0.0
    )
    result = chat(page, threads, request)
    called = bool(local.completion_from_result(result, request.tools).message.tool_calls)
    return {**generation_sample(result["stats"]), "called": float(called)}


def generation_sample(stats: dict[str, Any]) -> Sample:
    return {
        "ttft_ms": stats["ttft_ms"],
        "tokens_per_s": stats["tokens_per_s"],
        "prompt_tokens_per_s": stats["prompt_tokens_per_s"],
    }


# --- one run -----------------------------------------------------------------------------------
def run_once(pw: Playwright, url: str, threads: int) -> dict[str, list[Sample]]:
    """Cold load, generations, a tool call, then a cached load, in one fresh profile."""
    with fresh_profile(pw) as context:
        gguf_requests: list[str] = []
        context.on("request", lambda r: gguf_requests.append(r.url) if ".gguf" in r.url else None)
        page = context.new_page()
        page.goto(url)
        cold = measure_load(page, threads, expect_cached=False)
        generations = [measure_generation(page, threads, p) for p in PROMPTS]
        tool = measure_tool_call(page, threads)
        gguf_requests.clear()
        page.reload()
        cached = measure_load(page, threads, expect_cached=True)
        if gguf_requests:
            raise RuntimeError(f"the cached load fetched the model: {gguf_requests}")
    return {"cold": [cold], "cached": [cached], "generation": generations, "tool_call": [tool]}


# --- report ------------------------------------------------------------------------------------
def summary(values: list[float]) -> dict[str, Any]:
    return {
        "median": round(statistics.median(values), 1),
        "min": round(min(values), 1),
        "max": round(max(values), 1),
        "samples": [round(v, 1) for v in values],
    }


def threads_report(samples: dict[str, list[Sample]]) -> dict[str, Any]:
    chats = samples["cold"] + samples["generation"]
    return {
        "load_cold_ms": summary([s["load_ms"] for s in samples["cold"]]),
        "load_cached_ms": summary([s["load_ms"] for s in samples["cached"]]),
        "ttft_first_chat_ms": summary([s["ttft_ms"] for s in samples["cold"]]),
        "ttft_next_chats_ms": summary([s["ttft_ms"] for s in samples["generation"]]),
        "tokens_per_s": summary([s["tokens_per_s"] for s in chats]),
        "prompt_tokens_per_s": summary([s["prompt_tokens_per_s"] for s in chats]),
        "tool_call": {
            "ttft_ms": summary([s["ttft_ms"] for s in samples["tool_call"]]),
            "tokens_per_s": summary([s["tokens_per_s"] for s in samples["tool_call"]]),
            "calls_made": f"{sum(int(s['called']) for s in samples['tool_call'])} of "
            f"{len(samples['tool_call'])}",
        },
    }


def measure_local(pw: Playwright, runs: int) -> dict[str, dict[str, list[Sample]]]:
    server = build.serve_in_background(root=build.DIST, port=0, isolation=True)
    merged: dict[str, dict[str, list[Sample]]] = {str(t): {} for t in THREADS}
    try:
        for _ in range(runs):
            for threads in THREADS:
                for key, values in run_once(pw, server.url + "/", threads).items():
                    merged[str(threads)].setdefault(key, []).extend(values)
    finally:
        server.stop()
    return merged


def local_report(parts: list[build.Part], samples: dict[str, dict[str, list[Sample]]]) -> Any:
    sizes = {p.name: p.raw() for p in parts if p.name in ("wllama", "model")}
    return {
        "model": local.MODEL_NAME,
        "download_bytes": sizes,
        "generated_tokens_per_chat": GENERATED_TOKENS,
        "threads": {t: threads_report(s) for t, s in samples.items()},
        "notes": {
            "load": "from the first chat's start to the model ready in wllama (download or disk "
            "read, wasm compile, weights into memory)",
            "ttft": "from the chat request to the first token: prompt evaluation, no load; the "
            "first chat of a load has an empty prompt cache, the next ones reuse the template's "
            "default system turn",
            "tokens_per_s": "llama.cpp's own generation rate (predicted_per_second)",
        },
    }


def print_table(report: dict[str, Any]) -> None:
    rows = [
        ("load, cold (s)", "load_cold_ms", 1000),
        ("load, cached (s)", "load_cached_ms", 1000),
        ("first token, first chat (s)", "ttft_first_chat_ms", 1000),
        ("first token, next chats (s)", "ttft_next_chats_ms", 1000),
        ("tokens/s generating", "tokens_per_s", 1),
        ("tokens/s prompt", "prompt_tokens_per_s", 1),
    ]
    local_part = report["local"]["threads"]
    print(f"\nlocal model ({report['local']['model']}), median (min-max) of {report['runs']} runs")
    print(f"{'':26}" + "".join(f"{f'{t} thread(s)':>24}" for t in local_part))
    for label, key, scale in rows:
        cells = []
        for per in local_part.values():
            s = per[key]
            cells.append(
                f"{s['median'] / scale:.2f} ({s['min'] / scale:.2f}-{s['max'] / scale:.2f})"
            )
        print(f"{label:26}" + "".join(f"{c:>24}" for c in cells))
    calls = ", ".join(f"{t}: {per['tool_call']['calls_made']}" for t, per in local_part.items())
    print(f"tool calls made (threads: calls): {calls}")
    machine = report["machine"]
    print(
        f"\n{machine['cpu_count']} CPUs, {machine['platform']}, Chromium {machine['chromium']}; "
        f"load average {machine['load_average_1m_at_start']} -> {machine['load_average_1m_at_end']}"
    )
    agent = report["agent"]
    print(
        f"agent overhead per tool round trip: {agent['agent_overhead_per_round_trip_ms']} ms "
        f"(round trip {agent['round_trip_ms']} ms, scripted model call "
        f"{agent['scripted_model_call_ms']} ms; target < {agent['target_ms']} ms)"
    )
    print(f"written to {RESULTS.relative_to(ROOT)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--runs", type=int, default=3, help="runs per thread count (default 3)")
    args = parser.parse_args()
    parts = build.build()
    with sync_playwright() as pw:
        machine = machine_info(pw)
        samples = measure_local(pw, args.runs)
    agent = asyncio.run(agent_overhead.measure())
    report = {
        "generated": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "runs": args.runs,
        "machine": machine | {"load_average_1m_at_end": round(os.getloadavg()[0], 2)},
        "local": local_report(parts, samples),
        "agent": agent,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
