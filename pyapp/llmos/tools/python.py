"""The ``execute_python`` tool: runs model-written code in the sandbox (never in the OS).

The sandbox's working directory mirrors the user volume: files the user has are sent before
the code runs (only those changed since the sandbox last saw them), and files the code writes
come back into the user volume, where the explorer shows them at once.
"""

from __future__ import annotations

from typing import Any

from llmos.agent.tools import TOOLS, ToolContext, ToolResult
from llmos.kernel.sandbox import PROTECTED, ExecOutcome, Sandbox, save_outputs

DEFAULT_TIMEOUT_S = 60.0
MAX_TIMEOUT_S = 600.0
MAX_SYNC_BYTES = 5_000_000  # per file: bigger user files are not copied into the sandbox
MAX_SYNC_TOTAL = 50_000_000  # per run: the rest waits for a later run
MAX_STREAM_CHARS = 8_000

DESCRIPTION = """Run Python 3 code in a sandboxed kernel and return its output.
Variables persist between calls. The working directory holds the user's files: read them with
open(), and files you write there are saved to the user's files. The value of the last
expression is returned. The kernel has no network access unless the user allowed it. To show
a chart, make the last expression an image: matplotlib figures are shown when matplotlib is
available; otherwise use `from llmos.kernel.png import line_chart, bar_chart` and end with
`line_chart(values)`."""


@TOOLS.tool(
    "execute_python",
    DESCRIPTION,
    {
        "type": "object",
        "properties": {
            "code": {"type": "string", "description": "Python source to run"},
            "timeout": {"type": "number", "description": "Seconds before it is stopped (60)"},
        },
        "required": ["code"],
    },
)
async def execute_python(args: dict[str, Any], ctx: ToolContext) -> ToolResult:
    if ctx.sandbox is None:
        return ToolResult("Python is not available here: no sandbox is running.", True)
    timeout = min(max(float(args.get("timeout") or DEFAULT_TIMEOUT_S), 1.0), MAX_TIMEOUT_S)
    files = await _files_to_send(ctx, ctx.sandbox)
    outcome = await ctx.sandbox.execute(args["code"], files, ctx.on_output, timeout)
    saved, notes = await _save_files(ctx, outcome)
    if notes:
        outcome.stderr += notes
    return ToolResult(_report(outcome, saved), outcome.error is not None, list(outcome.images))


async def _files_to_send(ctx: ToolContext, sandbox: Sandbox) -> dict[str, bytes]:
    state = ctx.kernel_state
    if state.get("generation") != sandbox.generation:
        state.update(generation=sandbox.generation, sent={})
    sent: dict[str, tuple[int, float]] = state["sent"]
    files: dict[str, bytes] = {}
    total = 0
    for entry in await ctx.vfs.walk("user"):
        rel = entry.path.removeprefix("user/")
        if entry.is_dir or entry.size > MAX_SYNC_BYTES:
            continue
        if rel.startswith(PROTECTED) and not _enabled_skill_file(ctx, rel):
            continue
        if total + entry.size > MAX_SYNC_TOTAL:
            break
        if sent.get(rel) != (entry.size, entry.mtime):
            files[rel] = await ctx.vfs.read_bytes(entry.path)
            sent[rel] = (entry.size, entry.mtime)
            total += entry.size
    return files


def _enabled_skill_file(ctx: ToolContext, rel: str) -> bool:
    """A file of an enabled skill (its scripts run here); disabled and untrusted skills stay
    out of the sandbox."""
    parts = rel.split("/")
    return (
        ctx.skills is not None
        and len(parts) > 2
        and parts[0] == "skills"
        and ctx.skills.is_enabled(parts[1])
    )


async def _save_files(ctx: ToolContext, outcome: ExecOutcome) -> tuple[list[str], str]:
    saved, notes = await save_outputs(ctx.vfs, outcome.files)
    sent: dict[str, tuple[int, float]] = ctx.kernel_state.setdefault("sent", {})
    for path in saved:  # the sandbox has these already: do not send them back
        entry = await ctx.vfs.stat(path)
        if entry is not None:
            sent[path.removeprefix("user/")] = (entry.size, entry.mtime)
    return saved, notes


def _clip(text: str) -> str:
    if len(text) <= MAX_STREAM_CHARS:
        return text
    return text[:MAX_STREAM_CHARS] + f"\n… [{len(text) - MAX_STREAM_CHARS} more characters]"


def _report(outcome: ExecOutcome, saved: list[str]) -> str:
    parts: list[str] = []
    if outcome.stdout:
        parts.append("stdout:\n" + _clip(outcome.stdout))
    if outcome.stderr and outcome.error is None:
        parts.append("stderr:\n" + _clip(outcome.stderr))
    if outcome.error is not None:
        detail = outcome.error.get("traceback") or outcome.error["message"]
        parts.append(f"error: {outcome.error['type']}: {outcome.error['message']}\n{_clip(detail)}")
    if outcome.result is not None:
        parts.append("result: " + _clip(outcome.result))
    if saved:
        parts.append("files written: " + ", ".join(saved))
    if outcome.images:
        parts.append(f"images shown to the user: {len(outcome.images)}")
    return "\n\n".join(parts) or "(no output)"
