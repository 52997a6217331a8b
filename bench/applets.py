"""Applet benchmark: how soon an applet the agent creates is on screen, and what a window costs.

    .venv/bin/python bench/applets.py [--runs N] [--windows W]      (defaults 5 and 6)

Builds dist/, serves it with COOP/COEP on a local port and boots LLMos once in headless Chromium,
connected to the scripted OpenAI-compatible server (tests/llm_server.py), with memory indexing
turned off (else saving an applet loads the embedding model mid-measurement). Then:

* create -> first paint, N times: the scripted model calls ``create_applet`` (a new applet each
  time, the shipped memory-explorer page); measured in the page from the OS's ``applets.open``
  event (sent the moment the applet is saved, before the tool waits for the render report) to
  the applet's first paint (its frame's load, then one animation frame: the desktop host's
  ``painted`` notification, seen as the window's ``data-painted-ms``). Split into the desktop's
  part (event -> its frame is created: fetching the page from the OS, drawing the window) and the
  frame's (created -> painted; the host's own ``painted_ms``).
* baseline, N times, same page, same HTML: a bare ``<iframe sandbox="allow-scripts" srcdoc>``
  appended to the page, timed to the same paint signal.
* memory per window (first, before any timing): the proportional set size (PSS,
  /proc/<pid>/smaps_rollup) of every Chromium process, by process type, with no applet window
  open (after one was opened and closed, so first-use code does not count), with W windows open
  (copies of memory-explorer made with ``applets.duplicate``, each painted), and after closing
  them; per window = (W open - none) / W. The renderer count shows whether each window gets its
  own process.

Writes bench/results/applets.json and prints a table. Nothing sleeps: every wait is on a page
condition; memory is read after a forced garbage collection in the page (CDP).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import build  # noqa: E402  (the repo root is not on sys.path when this runs as a script)
import conftest  # noqa: E402
from e2e.conftest import wait_ready  # noqa: E402
from e2e.test_agent import connect, send  # noqa: E402
from tests.llm_server import ScriptedLLM, text, tool_calls  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "applets.json"
WAIT_MS = 60_000
TARGET_MS = 300
APPLET = "memory-explorer"
PAGE_HTML = (resources.files("llmos") / "system" / "applets" / APPLET / "index.html").read_text()

# Marks, in the page's ms: when each applets.open event arrived and when each window painted.
RECORD_JS = """() => {
  const marks = (window.benchApplets = { opened: {}, painted: {}, frame: {} });
  window.llmosBridge.subscribe((json) => {
    const { name, data } = JSON.parse(json);
    if (name === "applets.open") marks.opened[`${data.name}@${data.version}`] ??= performance.now();
  });
  new MutationObserver((records) => {
    for (const { target } of records) {
      const key = `${target.dataset.applet}@${target.dataset.version}`;
      if (target.dataset.paintedMs && !(key in marks.painted)) {
        marks.painted[key] = performance.now();
        marks.frame[key] = Number(target.dataset.paintedMs);
      }
    }
  }).observe(document.body, { subtree: true, attributeFilter: ["data-painted-ms"] });
}"""

# One bare sandboxed srcdoc frame with the same page, timed to the same paint signal as the host's.
BASELINE_JS = """async (html) => {
  const probe = '<script>addEventListener("load", () => requestAnimationFrame(() => '
    + 'setTimeout(() => parent.postMessage("bench-painted", "*"))));<' + '/script>';
  const frame = document.createElement("iframe");
  frame.setAttribute("sandbox", "allow-scripts");
  frame.style.cssText = "position:fixed;left:0;top:0;width:480px;height:360px;border:0";
  const painted = new Promise((resolve) => addEventListener("message", function seen(event) {
    if (event.source !== frame.contentWindow || event.data !== "bench-painted") return;
    removeEventListener("message", seen);
    resolve(performance.now());
  }));
  const start = performance.now();
  document.body.append(frame);
  frame.srcdoc = html.replace(/<head>/i, "<head>" + probe);
  const end = await painted;
  frame.remove();
  return end - start;
}"""

OPEN_ALL_JS = """async (names) => {
  for (const name of names) {
    const reply = JSON.parse(await window.llmosApplets.open(name));
    if (!reply.ok) throw new Error(`${name}: ${reply.error.message}`);
  }
}"""
CLOSE_ALL_JS = """() => JSON.parse(window.llmosApplets.openNames())
  .forEach((name) => window.llmosApplets.close(name))"""
ALL_PAINTED_JS = """(names) => names.every((name) =>
  document.querySelector(`[data-applet="${name}"]`)?.dataset.paintedMs)"""


# --- create -> first paint ---------------------------------------------------------------------
def create_and_paint(page: Page, llm: ScriptedLLM, name: str) -> dict[str, float]:
    """One create_applet turn; the marks of its version 1."""
    arguments = {"name": name, "title": f"Bench {name}", "description": "A benchmark applet."}
    arguments |= {"kind": "html", "html": PAGE_HTML}
    plan, done = text(f"1. Create the {name} applet."), text("Done.")
    llm.queue(plan, tool_calls([("create_applet", json.dumps(arguments))]), done)
    send(page, f"Make the {name} applet")
    key = f"{name}@1"
    page.wait_for_function("(key) => key in window.benchApplets.painted", arg=key, timeout=WAIT_MS)
    send_ready = "() => document.querySelector('#chat-send')?.textContent === 'Send'"
    page.wait_for_function(send_ready, timeout=WAIT_MS)
    marks = page.evaluate(
        "(key) => ({ opened: window.benchApplets.opened[key], "
        "painted: window.benchApplets.painted[key], "
        "frame: window.benchApplets.frame[key] })",
        key,
    )
    tool_results = [
        m["content"] for m in llm.requests[-1]["body"]["messages"] if m["role"] == "tool"
    ]
    if not tool_results or "rendered" not in tool_results[-1]:
        raise RuntimeError(f"create_applet did not report a clean render: {tool_results[-1:]}")
    total = marks["painted"] - marks["opened"]
    return {
        "saved_to_paint": total,
        "frame_to_paint": marks["frame"],
        "desktop": total - marks["frame"],
    }


# --- memory --------------------------------------------------------------------------------------
def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found += children.get(pid, [])
        todo += children.get(pid, [])
    return found


def chromium_memory() -> dict[str, Any]:
    """PSS in MB of this run's Chromium processes, in all and by process type."""
    by_type: dict[str, float] = {}
    renderers = 0
    for pid in descendants(os.getpid()):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        if b"chrom" not in cmdline.split(b"\0")[0].split(b" ")[0]:
            continue
        found = re.search(rb"--type=([a-z-]+)", cmdline)
        kind = found.group(1).decode() if found else "browser"
        renderers += kind == "renderer"
        pss_kb = next(
            int(line.split()[1]) for line in rollup.splitlines() if line.startswith("Pss:")
        )
        by_type[kind] = by_type.get(kind, 0) + pss_kb / 1024
    return {
        "pss_mb": round(sum(by_type.values()), 1),
        "by_type_mb": {kind: round(mb, 1) for kind, mb in sorted(by_type.items())},
        "renderer_processes": renderers,
    }


def settled_memory(page: Page) -> dict[str, Any]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("HeapProfiler.collectGarbage")
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => setTimeout(done)))")
    cdp.detach()
    return chromium_memory()


def open_painted(page: Page, names: list[str]) -> None:
    page.evaluate(OPEN_ALL_JS, names)
    page.wait_for_function(ALL_PAINTED_JS, arg=names, timeout=WAIT_MS)


def memory_per_window(page: Page, windows: int) -> dict[str, Any]:
    """Chromium's memory with no window, ``windows`` windows, and after closing them; one window
    is opened and closed first, so code paths the first use loads do not count as a window."""
    names = []
    for _ in range(windows):
        reply = page.evaluate("(name) => window.llmos.request('applets.duplicate', {name})", APPLET)
        if not reply["ok"]:
            raise RuntimeError(f"applets.duplicate failed: {reply}")
        names.append(reply["result"]["name"])
    open_painted(page, names[:1])
    page.evaluate(CLOSE_ALL_JS)
    none = settled_memory(page)
    open_painted(page, names)
    opened = settled_memory(page)
    page.evaluate(CLOSE_ALL_JS)
    closed = settled_memory(page)
    return {
        "windows": windows,
        "applet": APPLET,
        "none_open": none,
        "all_open": opened,
        "after_closing": closed,
        "per_window_mb": round((opened["pss_mb"] - none["pss_mb"]) / windows, 2),
        "renderer_processes_added": opened["renderer_processes"] - none["renderer_processes"],
    }


# --- report --------------------------------------------------------------------------------------
def summary(values: list[float]) -> dict[str, Any]:
    return {
        "median_ms": round(statistics.median(values), 1),
        "min_ms": round(min(values), 1),
        "max_ms": round(max(values), 1),
        "samples_ms": [round(v, 1) for v in values],
    }


def measure(runs: int, windows: int) -> dict[str, Any]:
    with sync_playwright() as pw, ScriptedLLM() as llm:
        app = build.serve_in_background(root=build.DIST, port=0, isolation=True)
        browser = pw.chromium.launch(**conftest.chromium_launch_args())
        try:
            page = browser.new_context().new_page()
            page.goto(app.url + "/")
            wait_ready(page)
            connect(page, llm)
            memory_off = {"values": {"enabled": False}}
            reply = page.evaluate(
                "(p) => window.llmos.request('memory.settings.set', p)", memory_off
            )
            if not reply["ok"]:
                raise RuntimeError(f"memory.settings.set failed: {reply}")
            memory = memory_per_window(page, windows)
            page.evaluate(RECORD_JS)
            created = [create_and_paint(page, llm, f"bench-{i + 1}") for i in range(runs)]
            bare = [page.evaluate(BASELINE_JS, PAGE_HTML) for _ in range(runs)]
            chromium = browser.version
        finally:
            browser.close()
            app.stop()
    created_ms = {key: summary([c[key] for c in created]) for key in created[0]}
    median = created_ms["saved_to_paint"]["median_ms"]
    return {
        "generated": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "runs": runs,
        "page": f"system/applets/{APPLET}/index.html ({len(PAGE_HTML.encode())} bytes)",
        "create_to_first_paint": {
            "note": "ms from the OS's applets.open event (the applet is saved) to first paint; "
            "desktop = event -> frame created, frame_to_paint = frame created -> painted",
            **created_ms,
        },
        "bare_srcdoc_baseline": {
            "note": "a bare sandbox=allow-scripts srcdoc iframe, same page, same paint signal",
            **summary(bare),
        },
        "memory": memory,
        "targets": [
            {
                "target": "html applet: create -> first paint < 300 ms",
                "limit_ms": TARGET_MS,
                "measured_ms": median,
                "met": median < TARGET_MS,
            },
        ],
        "machine": {
            "cpu_count": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),  # at the end of the run
            "platform": platform.platform(),
            "python": platform.python_version(),
            "chromium": chromium,
        },
    }


def print_table(report: dict[str, Any]) -> None:
    created, bare = report["create_to_first_paint"], report["bare_srcdoc_baseline"]
    print(f"\napplet on screen, median (min-max) of {report['runs']}, ms")
    for key, label in (
        ("saved_to_paint", "create_applet saved -> painted"),
        ("desktop", "  desktop: event -> frame"),
        ("frame_to_paint", "  frame -> painted"),
    ):
        row = created[key]
        print(f"  {label:34} {row['median_ms']:7.1f} ({row['min_ms']}-{row['max_ms']})")
    print(
        f"  {'bare srcdoc iframe -> painted':34} {bare['median_ms']:7.1f} "
        f"({bare['min_ms']}-{bare['max_ms']})"
    )
    memory = report["memory"]
    print(
        f"\nChromium PSS: none open {memory['none_open']['pss_mb']} MB, "
        f"{memory['windows']} open {memory['all_open']['pss_mb']} MB, after closing "
        f"{memory['after_closing']['pss_mb']} MB -> {memory['per_window_mb']} MB per window "
        f"({memory['renderer_processes_added']} renderer processes added)"
    )
    for kind, mb in memory["all_open"]["by_type_mb"].items():
        print(f"  {kind:12} {memory['none_open']['by_type_mb'].get(kind, 0):8.1f} -> {mb:8.1f} MB")
    for item in report["targets"]:
        print(f"{'met   ' if item['met'] else 'MISSED'} {item['target']}: {item['measured_ms']} ms")
    machine = report["machine"]
    if machine["load_average_1m"] > (machine["cpu_count"] or 1):
        print(
            f"warning: load average {machine['load_average_1m']} on {machine['cpu_count']} CPUs "
            "(other work was running): timings may be inflated"
        )
    print(f"written to {RESULTS.relative_to(ROOT)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--runs", type=int, default=5, help="applets created (default 5)")
    parser.add_argument("--windows", type=int, default=6, help="windows for memory (default 6)")
    args = parser.parse_args()
    build.build()
    report = measure(args.runs, args.windows)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n")
    print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
