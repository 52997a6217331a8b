"""Does learning make the next run better? The task suite run twice, before and after reflection.

    LLMOS_API_KEY=sk-... .venv/bin/python bench/learning.py --base-url URL --model NAME
        [--tasks csv-summary,json-1,...] [--min-cluster 3] [--no-memory] [--no-feedback]
        [--timeout 300] [--keep DIR] [--out bench/results/learning.json]

Run 1 sends each task of ``bench/learning_tasks.py`` (all 24 by default, or the ids and
families given) to the LLMos agent with no skills, natively: the OS service on a fresh workspace
folder per task (as ``llmos chat`` does), Python in the native sandbox (a child process), memory
when onnxruntime and the embedding model are installed. Each task's checker decides success from
the files left in its workspace; the checker's verdict is also given to the agent as the user's
thumbs up or down (unless ``--no-feedback``), as an attentive user would. Then reflection
(``learning.reflect``) runs over run 1's traces and every proposal is accepted. Run 2 sends the
same tasks again, each in a fresh workspace holding the accepted skills (and a fresh memory, so
what differs from run 1 is the skills, not remembered conversations).

Per task: success (and the checker's reason), steps (model calls, the plan included), tool calls,
tokens, seconds and the skills the agent loaded; per family, the two runs side by side. Written to
``--out`` with the machine, the llmos version, the endpoint's URL and model (never its key) and
the reflection's proposals and log. The API key comes from ``LLMOS_API_KEY`` only (none for a
local server such as Ollama) and is kept in memory: it is never printed or written.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import llmos  # noqa: E402
from learning_tasks import Task, families, suite  # noqa: E402
from llmos.errors import LlmosError  # noqa: E402
from llmos.platform.memory import MemoryStorage  # noqa: E402
from llmos.platform.native import DirectoryStorage  # noqa: E402
from llmos.platform.native_http import NativeHttp  # noqa: E402
from llmos.platform.native_sandbox import SubprocessSandbox  # noqa: E402
from llmos.protocol import Event  # noqa: E402
from llmos.service import OsService  # noqa: E402

OUT = BENCH / "results" / "learning.json"
RUNS = ("without_skills", "with_skills")
ANSWER_CHARS = 400
MAX_REFLECTIONS = 6  # each proposes at most 3 skills (llmos.learning.reflect)


@dataclass
class Endpoint:
    base_url: str
    model: str
    key: str = field(repr=False, default="")

    def public(self) -> dict[str, Any]:
        """What the report may say: the URL without credentials or query (some gateways take
        a key there), the model, and whether a key was given."""
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        netloc = f"[{host}]" if ":" in host else host
        if parts.port is not None:
            netloc += f":{parts.port}"
        url = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
        return {"base_url": url, "model": self.model, "key_set": bool(self.key)}


@dataclass
class Options:
    endpoint: Endpoint
    tasks: list[Task]
    min_cluster: int = 3
    memory: bool = True
    feedback: bool = True
    timeout_s: float = 300.0


@dataclass
class TaskResult:
    """One task in one run, as the JSON records it."""

    id: str
    family: str
    success: bool
    reason: str
    status: str
    steps: int
    tool_calls: int
    tool_errors: int
    prompt_tokens: int
    completion_tokens: int
    tokens: int
    seconds: float
    skills_applied: list[str]
    answer: str
    traces: list[str]


class Bench:
    """The OS services of one benchmark: one per task workspace, one for reflection. They share
    the OS-private storage (settings, the key among the secrets), kept in memory only."""

    def __init__(self, options: Options, root: Path, embedder: Any | None) -> None:
        self.options = options
        self.root = root
        self.private = MemoryStorage()
        self.embedder = embedder
        self.home = root / "home"  # where run 1's traces meet for reflection and skills are kept
        self.home.mkdir(parents=True)
        self._pending: set[asyncio.Task[Any]] = set()

    async def service(self, workspace: Path, memory_dir: Path) -> OsService:
        service = await OsService.create(DirectoryStorage(str(workspace)), self.private, _ignore)
        service.emit = self._emitter(service)
        service.http = NativeHttp()
        if self.embedder is not None:
            engine = self.embedder
            service.memory_storage = DirectoryStorage(str(memory_dir))
            service.embedding_engine = lambda prefer: engine
        return service

    def _emitter(self, service: OsService) -> Callable[[Event], None]:
        """Questions the agent asks (delete a file, change an agent) are declined: no task needs
        them, and the bench never grants what a user was not there to see."""

        def emit(event: Event) -> None:
            if event["name"] == "chat.ask":
                answer = {"ask_id": event["data"]["ask_id"], "allow": False}
                task = asyncio.ensure_future(_call(service, "chat.confirm", **answer))
                self._pending.add(task)
                task.add_done_callback(self._pending.discard)

        return emit

    async def configure(self) -> None:
        """Endpoint, key and learning settings, once, in the shared private storage."""
        service = await self.service(self.home, self.root / "memory-setup")
        endpoint = self.options.endpoint
        settings = {"name": "bench", "base_url": endpoint.base_url, "model": endpoint.model}
        settings["api_key"] = endpoint.key
        await _call(service, "llm.settings.set", endpoint=settings, mode="remote")
        learning = {"min_cluster": self.options.min_cluster, "auto": False}
        await _call(service, "learning.settings.set", **learning)

    async def run(self, name: str) -> list[TaskResult]:
        folder = self.root / name
        memory_dir = self.root / f"memory-{name}"
        skills = self.home / "skills" if name == "with_skills" else None
        results = []
        for task in self.options.tasks:
            result = await self.task(task, folder, memory_dir, skills)
            results.append(result)
            mark = "ok  " if result.success else "FAIL"
            print(
                f"[{name}] {mark} {task.id:9} steps {result.steps:2} tokens {result.tokens:6} "
                f"{result.seconds:6.1f} s  skills {','.join(result.skills_applied) or '-'}"
                + ("" if result.success else f"  ({result.reason})"),
                file=sys.stderr,
                flush=True,
            )
        return results

    async def task(
        self, task: Task, folder: Path, memory_dir: Path, skills: Path | None
    ) -> TaskResult:
        workspace = folder / task.id
        workspace.mkdir(parents=True)
        task.write_inputs(workspace)
        if skills is not None and skills.is_dir():
            shutil.copytree(skills, workspace / "skills")
        service = await self.service(workspace, memory_dir)
        chat = await _call(service, "chat.new")
        sandbox = SubprocessSandbox(str(folder / f".kernel-{task.id}"))
        service.sandbox = sandbox
        started = time.perf_counter()
        try:
            done = await self._send(service, chat["id"], task.prompt)
        finally:
            seconds = time.perf_counter() - started
            await sandbox.close()
        conversation = await _call(service, "chat.get", id=chat["id"])
        verdict = task.check(workspace)
        if self.options.feedback and done["status"] != "timeout":
            value = "up" if verdict[0] else "down"
            await _call(service, "chat.feedback", chat=chat["id"], index=0, value=value)
        await _settle(service)
        traces = _move_traces(workspace, self.home)
        return _result(
            task, verdict, done=done, conversation=conversation, seconds=seconds, traces=traces
        )

    async def _send(self, service: OsService, chat_id: str, text: str) -> dict[str, Any]:
        send = asyncio.ensure_future(_call(service, "chat.send", id=chat_id, text=text))
        try:
            return dict(await asyncio.wait_for(asyncio.shield(send), self.options.timeout_s))
        except TimeoutError:
            await _call(service, "chat.stop", id=chat_id)
            with contextlib.suppress(LlmosError):
                await send
            return {"status": "timeout", "usage": None}

    async def reflect(self) -> dict[str, Any]:
        """Reflection over run 1's traces, then every pending proposal accepted. One reflection
        distils a few skills at most, so it is repeated until a round proposes nothing."""
        service = await self.service(self.home, self.root / "memory-without_skills")
        started = time.perf_counter()
        rounds = 0
        while rounds < MAX_REFLECTIONS:
            rounds += 1
            if not (await _call(service, "learning.reflect"))["proposals"]:
                break
        seconds = time.perf_counter() - started
        proposals = (await _call(service, "learning.proposals"))["proposals"]
        accepted, problems = [], []
        for proposal in proposals:
            if proposal.get("status") != "pending":
                continue
            try:
                await _call(service, "learning.accept", id=proposal["id"])
                accepted.append(proposal["skill"])
            except LlmosError as error:  # e.g. two proposals chose one name: reported
                problems.append(f"{proposal['skill']}: {error}")
        proposals = (await _call(service, "learning.proposals"))["proposals"]  # decided now
        skills = (await _call(service, "skills.list"))["skills"]
        log = (await _call(service, "learning.log", limit=1000))["log"]
        await _settle(service)
        return {
            "rounds": rounds,
            "seconds": round(seconds, 2),
            "proposals": [_proposal(p) for p in proposals],
            "accepted": accepted,
            "problems": problems,
            "skills": [{"name": s["name"], "description": s["description"]} for s in skills],
            "log": log,
        }


class _Failed(LlmosError):
    code = "bench"


async def _call(service: OsService, method: str, **params: Any) -> Any:
    reply = await service.handle({"type": "request", "id": "b", "method": method, "params": params})
    if not reply["ok"]:
        raise _Failed(f"{method}: {reply['error']['message']}")
    return reply["result"]


async def _settle(service: OsService) -> None:
    """Let the memory finish embedding what the turn left before the service goes away."""
    if service.memory_host is not None:
        from llmos.memory.methods import host

        await host(service).idle()


def _ignore(event: Event) -> None:
    return None


def _move_traces(workspace: Path, home: Path) -> list[str]:
    """Copy the task's execution traces to where reflection reads them; returns their ids."""
    found = sorted((workspace / "learning" / "traces").glob("*.json"))
    target = home / "learning" / "traces"
    target.mkdir(parents=True, exist_ok=True)
    for trace in found:
        shutil.copy2(trace, target / trace.name)
    return [trace.stem for trace in found]


def _result(
    task: Task,
    verdict: tuple[bool, str],
    *,
    done: dict[str, Any],
    conversation: dict[str, Any],
    seconds: float,
    traces: list[str],
) -> TaskResult:
    success, reason = verdict
    items = conversation["items"]
    tools = [i for i in items if i["kind"] == "tool"]
    answers = [str(i["text"]) for i in items if i["kind"] == "assistant" and i["text"].strip()]
    usage = done.get("usage") or conversation.get("usage") or {}
    prompt, completion = (
        int(usage.get("prompt_tokens") or 0),
        int(usage.get("completion_tokens") or 0),
    )
    return TaskResult(
        id=task.id,
        family=task.family,
        success=success,
        reason=reason,
        status=str(done["status"]),
        steps=sum(1 for i in items if i["kind"] in ("plan", "assistant")),
        tool_calls=len(tools),
        tool_errors=sum(1 for i in tools if i["status"] == "error"),
        prompt_tokens=prompt,
        completion_tokens=completion,
        tokens=prompt + completion,
        seconds=round(seconds, 2),
        skills_applied=_skills_applied(tools),
        answer=answers[-1][:ANSWER_CHARS] if answers else "",
        traces=traces,
    )


def _skills_applied(tools: list[dict[str, Any]]) -> list[str]:
    """Skills the agent loaded successfully (a load_skill tool item carries ``skill``)."""
    names = []
    for item in tools:
        if item["name"] != "load_skill" or item["status"] != "ok":
            continue
        name = item.get("skill")
        if not name:
            with contextlib.suppress(ValueError, AttributeError):
                name = json.loads(item["arguments"]).get("name")
        if name and name not in names:
            names.append(str(name))
    return names


def _proposal(proposal: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "kind", "skill", "sources", "reason", "status")
    return {key: proposal.get(key) for key in keys} | {"markdown": proposal.get("markdown", "")}


# --- summary ---------------------------------------------------------------------------------
def _totals(results: list[TaskResult]) -> dict[str, Any]:
    if not results:
        return {"tasks": 0}
    return {
        "tasks": len(results),
        "successes": sum(r.success for r in results),
        "success_rate": round(sum(r.success for r in results) / len(results), 3),
        "mean_steps": round(statistics.fmean(r.steps for r in results), 2),
        "mean_tokens": round(statistics.fmean(r.tokens for r in results), 1),
        "mean_seconds": round(statistics.fmean(r.seconds for r in results), 2),
        "skills_applied": sum(1 for r in results if r.skills_applied),
        "skills": sorted({name for r in results for name in r.skills_applied}),
    }


def summarize(runs: dict[str, list[TaskResult]], tasks: list[Task]) -> dict[str, Any]:
    """Per family (and in all), the two runs side by side."""
    by_family: dict[str, Any] = {}
    for family in [*families(tasks), "all"]:
        by_family[family] = {
            run: _totals([r for r in results if family in ("all", r.family)])
            for run, results in runs.items()
        }
    return by_family


def table(summary: dict[str, Any]) -> str:
    header = f"{'family':18} {'success':>13} {'steps':>13} {'tokens':>17} {'seconds':>15} skills"
    lines = [header, "-" * len(header)]
    for family, runs in summary.items():
        before, after = runs.get(RUNS[0], {}), runs.get(RUNS[1], {})
        if not before.get("tasks"):
            continue

        def pair(key: str, row: dict[str, Any] = before, later: dict[str, Any] = after) -> str:
            return f"{row.get(key, '-')} -> {later.get(key, '-')}"

        rate = f"{before['successes']}/{before['tasks']} -> {after.get('successes', '-')}/"
        rate += str(after.get("tasks", "-"))
        lines.append(
            f"{family:18} {rate:>13} {pair('mean_steps'):>13} {pair('mean_tokens'):>17} "
            f"{pair('mean_seconds'):>15} {after.get('skills_applied', 0)}"
        )
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "llmos": llmos.__version__,
    }


# --- the whole benchmark ---------------------------------------------------------------------
def _embedder(wanted: bool) -> Any | None:
    """The memory's embedder when asked for and installed (``pip install '.[memory]'``)."""
    if not wanted:
        return None
    try:
        from llmos.platform.native_embedder import OnnxEmbedder, find_model

        find_model()
        return OnnxEmbedder()
    except (ImportError, LlmosError) as error:
        print(f"[memory] off: {error}", file=sys.stderr)
        return None


async def run_bench(options: Options, root: Path) -> dict[str, Any]:
    embedder = _embedder(options.memory)
    bench = Bench(options, root, embedder)
    await bench.configure()
    started = time.time()
    runs: dict[str, list[TaskResult]] = {}
    runs[RUNS[0]] = await bench.run(RUNS[0])
    reflection = await bench.reflect()
    print(
        f"[reflection] {len(reflection['proposals'])} proposals, accepted: "
        f"{', '.join(reflection['accepted']) or 'none'} ({reflection['seconds']} s)",
        file=sys.stderr,
        flush=True,
    )
    runs[RUNS[1]] = await bench.run(RUNS[1])
    summary = summarize(runs, options.tasks)
    return {
        "bench": "learning",
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "machine": machine(),
        "endpoint": options.endpoint.public(),
        "settings": {
            "tasks": [task.id for task in options.tasks],
            "min_cluster": options.min_cluster,
            "memory": embedder is not None,
            "feedback": options.feedback,
            "timeout_s": options.timeout_s,
        },
        "runs": {name: [asdict(r) for r in results] for name, results in runs.items()},
        "reflection": reflection,
        "summary": summary,
        "wall_seconds": round(time.time() - started, 1),
    }


def pick(tasks: list[Task], wanted: str | None) -> list[Task]:
    """The tasks named by id or family (comma-separated), in suite order; all when None."""
    if not wanted:
        return tasks
    names = {name.strip() for name in wanted.split(",") if name.strip()}
    unknown = names - {t.id for t in tasks} - {t.family for t in tasks}
    if unknown:
        raise SystemExit(f"unknown tasks or families: {', '.join(sorted(unknown))}")
    return [t for t in tasks if t.id in names or t.family in names]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", default=os.environ.get("LLMOS_BASE_URL"))
    parser.add_argument("--model", default=os.environ.get("LLMOS_MODEL"))
    parser.add_argument("--tasks", help="comma-separated task ids or families (default: all)")
    parser.add_argument("--min-cluster", type=int, default=3, help="traces per learned skill")
    parser.add_argument("--no-memory", action="store_true", help="run without the embedder")
    parser.add_argument("--no-feedback", action="store_true", help="no thumbs up/down")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per task")
    parser.add_argument("--keep", type=Path, help="keep the workspaces in this new folder")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if args.keep is not None and args.keep.exists():
        parser.error(f"--keep {args.keep}: give a folder that does not exist yet")
    if not args.base_url or not args.model:
        print(
            "bench/learning.py needs a model: --base-url URL --model NAME (or LLMOS_BASE_URL and "
            "LLMOS_MODEL), with the key in LLMOS_API_KEY; nothing was run.",
            file=sys.stderr,
        )
        return 0 if argv is None and not sys.argv[1:] else 2
    endpoint = Endpoint(args.base_url, args.model, os.environ.get("LLMOS_API_KEY", ""))
    options = Options(
        endpoint,
        pick(suite(), args.tasks),
        min_cluster=args.min_cluster,
        memory=not args.no_memory,
        feedback=not args.no_feedback,
        timeout_s=args.timeout,
    )
    try:
        if args.keep is not None:
            args.keep.mkdir(parents=True)
            report = asyncio.run(run_bench(options, args.keep))
        else:
            with tempfile.TemporaryDirectory(prefix="llmos-learning-") as tmp:
                report = asyncio.run(run_bench(options, Path(tmp)))
    except LlmosError as error:
        print(f"bench/learning.py: {error}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table(report["summary"]))
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
