"""Startup benchmark: how fast LLMos boots in headless Chromium, cold and warm.

    .venv/bin/python bench/startup.py [--runs N]        (default N=5)

Builds dist/ once (``build.build()``, whose report gives the payload per part), serves it on a
local port with COOP/COEP and loads it N times per scenario:

* cold: a fresh browser profile per load (no HTTP cache, no service worker, empty OPFS);
* warm: one profile reloaded N times after a first visit whose service worker has installed
  (cache filled) and controls the page, and whose OS worker has saved its interpreter snapshot.

Per load it reads, in ms since navigation start: shell painted (first-contentful-paint), UI
interactive (``llmosTimings.uiReady``), OS ready, kernel ready, Python ready, and first console
output (``llmos.exec("print('hi')")`` called as soon as ``llmos.ready`` resolves; the page's
``performance.now()`` when it resolves). As a reference measured in the same run, a bare page that
loads Pyodide from dist/pyodide and prints (cold: fresh profile; warm: reloads, HTTP cache only).

Writes bench/results/startup.json (medians, min/max, samples, payload, machine, targets and
whether each was met) and prints a compact table. Nothing sleeps: every wait is on a page
condition.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Page, Playwright, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import build  # noqa: E402  (the repo root is not on sys.path when this runs as a script)
import conftest  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "startup.json"
WAIT_MS = 120_000  # a load that takes longer than this is broken, not slow
MB = 1_000_000

# Result key -> label, in boot order. Every value is ms since navigation start.
METRICS = {
    "shell_painted": "shell painted (FCP)",
    "ui_interactive": "UI interactive",
    "os_ready": "OS ready",
    "kernel_ready": "kernel ready",
    "python_ready": "Python ready",
    "first_output": "first console output",
}

STAGE_PREFIX = "stage "

# Runs right after llmos.ready: the first console output, timed in the page.
FIRST_OUTPUT_JS = """async () => {
  await window.llmos.ready;
  const called = performance.now();
  const reply = await window.llmos.exec("print('hi')");
  return { called, resolved: performance.now(), stdout: reply.stdout, error: reply.error };
}"""

MILESTONES_JS = """() => {
  const paints = performance.getEntriesByType("paint");
  const fcp = paints.find((e) => e.name === "first-contentful-paint");
  const nav = performance.getEntriesByType("navigation")[0];
  return { ...window.llmosTimings, fcp: fcp?.startTime, viaServiceWorker: nav.workerStart > 0 };
}"""

# Records when each boot.progress stage (OS worker and kernel) is first seen by the page. Events
# emitted before this subscribes are replayed to it (the latest per room), so those are late.
RECORD_STAGES_JS = """() => {
  const stages = (window.benchStages = {});
  window.llmosBridge.subscribe((json) => {
    const { name, data } = JSON.parse(json);
    if (name === "boot.progress") stages[`${data.room}: ${data.stage}`] ??= performance.now();
  });
}"""

UI_AND_PAINT_DONE_JS = """() => window.llmosTimings?.uiReady !== undefined
  && performance.getEntriesByType("paint").some((e) => e.name === "first-contentful-paint")"""

SW_CONTROLS_JS = "navigator.serviceWorker.ready.then(() => true)"
SNAPSHOT_SAVED_JS = "!!(window.llmosTimings.snapshotSaved || window.llmosTimings.snapshotRestored)"

BARE_PYODIDE_HTML = """<!doctype html>
<meta charset="utf-8">
<title>bare Pyodide</title>
<script type="module">
import { loadPyodide } from "./pyodide/pyodide.mjs";
const pyodide = await loadPyodide({ indexURL: new URL("./pyodide/", location.href).href });
let stdout = "";
pyodide.setStdout({ batched: (text) => { stdout += text; } });
pyodide.runPython("print('hi')");
window.bareFirstOutput = { ms: performance.now(), stdout };
</script>
"""


# --- one load ----------------------------------------------------------------------------------
Sample = dict[str, float]
Measure = Callable[[Page], Sample]


def measure_llmos(page: Page) -> Sample:
    """The milestones of the load that ``page`` has just committed."""
    page.wait_for_function("() => window.llmos !== undefined", timeout=WAIT_MS)
    page.evaluate(RECORD_STAGES_JS)
    first = page.evaluate(FIRST_OUTPUT_JS)
    if first["error"] or "hi" not in first["stdout"]:
        raise RuntimeError(f"print('hi') failed: {first}")
    page.wait_for_function(UI_AND_PAINT_DONE_JS, timeout=WAIT_MS)
    marks = page.evaluate(MILESTONES_JS)
    stages = page.evaluate("window.benchStages")
    return {
        **{STAGE_PREFIX + name: ms for name, ms in stages.items()},
        "shell_painted": marks["fcp"],
        "ui_interactive": marks["uiReady"],
        "os_ready": marks["osReady"],
        "kernel_ready": marks["kernelReady"],
        "python_ready": marks["ready"],
        "first_output": first["resolved"],
        "exec_called": first["called"],
        "via_service_worker": float(marks["viaServiceWorker"]),
    }


def measure_bare_pyodide(page: Page) -> Sample:
    page.wait_for_function("() => window.bareFirstOutput !== undefined", timeout=WAIT_MS)
    result = page.evaluate("window.bareFirstOutput")
    if "hi" not in result["stdout"]:
        raise RuntimeError(f"bare Pyodide printed {result['stdout']!r}")
    return {"first_output": result["ms"]}


# --- scenarios ---------------------------------------------------------------------------------
@contextmanager
def fresh_profile(pw: Playwright) -> Iterator[BrowserContext]:
    """A persistent context in a new, empty user-data dir, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="llmos-bench-profile-") as user_data:
        context = pw.chromium.launch_persistent_context(
            user_data, **conftest.chromium_launch_args()
        )
        try:
            yield context
        finally:
            context.close()


def cold_loads(pw: Playwright, url: str, runs: int, measure: Measure) -> list[Sample]:
    samples = []
    for _ in range(runs):
        with fresh_profile(pw) as context:
            page = context.new_page()
            page.goto(url, wait_until="commit")
            samples.append(measure(page))
    return samples


def warm_loads(
    pw: Playwright, url: str, runs: int, measure: Measure, service_worker: bool
) -> list[Sample]:
    """Reloads of one profile after a first visit (not counted) has filled its caches."""
    with fresh_profile(pw) as context:
        page = context.new_page()
        page.goto(url, wait_until="commit")
        measure(page)
        if service_worker:
            page.evaluate(SW_CONTROLS_JS)
            page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=WAIT_MS)
            # The first visit is complete once the OS has saved its interpreter snapshot.
            page.wait_for_function(SNAPSHOT_SAVED_JS, timeout=WAIT_MS)
        samples = []
        for _ in range(runs):
            page.reload(wait_until="commit")
            samples.append(measure(page))
    if service_worker and not all(s["via_service_worker"] for s in samples):
        raise RuntimeError("a warm load was not served by the service worker")
    return samples


def bare_pyodide_site(tmp: Path) -> Path:
    """A minimal page next to a symlink of dist/pyodide."""
    (tmp / "pyodide").symlink_to(build.DIST / "pyodide", target_is_directory=True)
    (tmp / "index.html").write_text(BARE_PYODIDE_HTML)
    return tmp


# --- statistics and report ---------------------------------------------------------------------
def summarize(samples: list[Sample], keys: list[str]) -> dict[str, dict[str, Any]]:
    summary: dict[str, dict[str, Any]] = {}
    for key in keys:
        values = [s[key] for s in samples]
        summary[key] = {
            "median_ms": round(statistics.median(values), 1),
            "min_ms": round(min(values), 1),
            "max_ms": round(max(values), 1),
            "samples_ms": [round(v, 1) for v in values],
        }
    return summary


def stage_summary(samples: list[Sample]) -> dict[str, dict[str, Any]]:
    """When each boot stage began, for the stages seen in every load, in order."""
    names = [k for k in samples[0] if k.startswith(STAGE_PREFIX) and all(k in s for s in samples)]
    ordered = sorted(summarize(samples, names).items(), key=lambda item: item[1]["median_ms"])
    return {name.removeprefix(STAGE_PREFIX): summary for name, summary in ordered}


def kernel_after_os(samples: list[Sample]) -> float:
    """Median of kernel ready minus OS ready, per load (negative: the kernel was first)."""
    return statistics.median(s["kernel_ready"] - s["os_ready"] for s in samples)


def sizes(raw: int, gz: int) -> dict[str, Any]:
    return {
        "raw_bytes": raw,
        "gzip_bytes": gz,
        "raw_mb": round(raw / MB, 2),
        "gzip_mb": round(gz / MB, 2),
    }


def payload_report(parts: list[build.Part]) -> dict[str, Any]:
    rows: list[dict[str, Any]] = [
        {"name": p.name, "files": len(p.files)} | sizes(p.raw(), p.gzipped()) for p in parts
    ]
    first = [r for r in rows if r["name"] not in build.ON_DEMAND_PARTS]
    raw = sum(r["raw_bytes"] for r in first)
    gz = sum(r["gzip_bytes"] for r in first)
    note = (
        "what the service worker precaches on the first visit; "
        + ", ".join(build.ON_DEMAND_PARTS)
        + " are fetched on first use"
    )
    return {"parts": rows, "first_visit": {"note": note} | sizes(raw, gz)}


def target(name: str, measured_ms: float, limit_ms: float) -> dict[str, Any]:
    return {
        "target": name,
        "limit_ms": limit_ms,
        "measured_ms": round(measured_ms, 1),
        "met": measured_ms < limit_ms,
    }


def targets(report: dict[str, Any], cold: list[Sample], warm: list[Sample]) -> list[dict[str, Any]]:
    """The issue's targets, each checked against the medians of this run."""
    medians = {
        load: {k: v["median_ms"] for k, v in report["llmos"][load].items()}
        for load in ("cold", "warm")
    }
    payload_mb = report["payload"]["first_visit"]["raw_mb"]
    return [
        target("shell painted, cold < 0.3 s", medians["cold"]["shell_painted"], 300),
        target("shell painted, warm < 0.3 s", medians["warm"]["shell_painted"], 300),
        target("UI interactive, cold < 0.8 s", medians["cold"]["ui_interactive"], 800),
        target("UI interactive, warm < 0.8 s", medians["warm"]["ui_interactive"], 800),
        target("OS ready, cold < 3.5 s", medians["cold"]["os_ready"], 3500),
        target("OS ready, warm < 2 s", medians["warm"]["os_ready"], 2000),
        target("kernel ready < 1 s after the OS, cold", kernel_after_os(cold), 1000),
        target("kernel ready < 1 s after the OS, warm", kernel_after_os(warm), 1000),
        {
            "target": "first-visit payload (without models) < 25 MB raw",
            "limit_mb": 25,
            "measured_mb": payload_mb,
            "met": payload_mb < 25,
        },
    ]


def machine_info(pw: Playwright) -> dict[str, Any]:
    browser = pw.chromium.launch(**conftest.chromium_launch_args())
    try:
        chromium = browser.version
    finally:
        browser.close()
    return {
        "cpu_count": os.cpu_count(),
        "load_average_1m_at_start": round(os.getloadavg()[0], 2),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "chromium": chromium,
        "chromium_executable": conftest.chromium_launch_args().get("executable_path", "playwright"),
    }


def seconds(ms: float) -> str:
    return f"{ms / 1000:6.2f}"


def spread(summary: dict[str, Any]) -> str:
    low, high = seconds(summary["min_ms"]).strip(), seconds(summary["max_ms"]).strip()
    return f"{seconds(summary['median_ms'])} ({low}-{high})"


def print_timings(report: dict[str, Any]) -> None:
    print(f"\nLLMos startup, median (min-max) of {report['runs']} loads, s since navigation start")
    print(f"{'':24} {'cold':>22} {'warm':>22}")
    for key, label in METRICS.items():
        cold, warm = report["llmos"]["cold"][key], report["llmos"]["warm"][key]
        print(f"{label:24} {spread(cold):>22} {spread(warm):>22}")
    bare = {load: report["pyodide_baseline"][load]["first_output"] for load in ("cold", "warm")}
    print(f"{'bare Pyodide print':24} {spread(bare['cold']):>22} {spread(bare['warm']):>22}")
    ratios = report["ratios"]["first_output_vs_bare_pyodide"]
    print(f"{'ratio LLMos / bare':24} {ratios['cold']:>22.2f} {ratios['warm']:>22.2f}")


def print_stages(report: dict[str, Any]) -> None:
    print("\nboot stages, median start (s)            cold   warm")
    stages = report["boot_stages"]
    for name, cold in stages["cold"].items():
        warm = stages["warm"].get(name)
        print(
            f"  {name:38} {seconds(cold['median_ms'])} {seconds(warm['median_ms']) if warm else ''}"
        )


def print_payload(report: dict[str, Any]) -> None:
    print("\npayload (MB)             raw    gzip")
    first_visit = {"name": "first visit"} | report["payload"]["first_visit"]
    for part in [*report["payload"]["parts"], first_visit]:
        print(f"  {part['name']:20} {part['raw_mb']:7.2f} {part['gzip_mb']:7.2f}")


def print_targets(report: dict[str, Any]) -> None:
    print("\ntargets")
    for item in report["targets"]:
        if "measured_ms" in item:
            measured = f"{item['measured_ms'] / 1000:.2f} s"
        else:
            measured = f"{item['measured_mb']:.1f} MB"
        print(f"  {'met   ' if item['met'] else 'MISSED'} {item['target']:50} {measured:>9}")


def print_machine(machine: dict[str, Any]) -> None:
    start, end = machine["load_average_1m_at_start"], machine["load_average_1m_at_end"]
    print(
        f"\n{machine['cpu_count']} CPUs, {machine['platform']}, Chromium {machine['chromium']}, "
        f"Python {machine['python']}; load average {start} -> {end}"
    )
    if start > (machine["cpu_count"] or 1):  # at the end it counts this run's own browser too
        print("warning: other work kept the CPUs busy as this run began; timings may be inflated")
    print(f"written to {RESULTS.relative_to(ROOT)}")


def print_table(report: dict[str, Any]) -> None:
    print_timings(report)
    print_stages(report)
    print_payload(report)
    print_targets(report)
    print_machine(report["machine"])


# --- main --------------------------------------------------------------------------------------
@dataclass
class Measurements:
    """Every load of one run: LLMos and the bare Pyodide baseline, cold and warm."""

    machine: dict[str, Any]
    llmos: dict[str, list[Sample]]
    bare: dict[str, list[Sample]]


def measure_all(runs: int) -> Measurements:
    with sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="llmos-bare-") as tmp:
        machine = machine_info(pw)
        app = build.serve_in_background(root=build.DIST, port=0, isolation=True)
        bare = build.serve_in_background(root=bare_pyodide_site(Path(tmp)), port=0, isolation=True)
        try:
            url, bare_url = app.url + "/", bare.url + "/"
            return Measurements(
                machine,
                llmos={
                    "cold": cold_loads(pw, url, runs, measure_llmos),
                    "warm": warm_loads(pw, url, runs, measure_llmos, service_worker=True),
                },
                bare={
                    "cold": cold_loads(pw, bare_url, runs, measure_bare_pyodide),
                    "warm": warm_loads(pw, bare_url, runs, measure_bare_pyodide, False),
                },
            )
        finally:
            app.stop()
            bare.stop()


def make_report(runs: int, parts: list[build.Part], m: Measurements) -> dict[str, Any]:
    llmos = {load: summarize(samples, list(METRICS)) for load, samples in m.llmos.items()}
    bare = {load: summarize(samples, ["first_output"]) for load, samples in m.bare.items()}
    ratios = {
        load: round(
            llmos[load]["first_output"]["median_ms"] / bare[load]["first_output"]["median_ms"], 2
        )
        for load in ("cold", "warm")
    }
    every_load = m.llmos["cold"] + m.llmos["warm"]
    report: dict[str, Any] = {
        "generated": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "runs": runs,
        "units": "ms since navigation start; payload in MB of 1,000,000 bytes",
        "machine": m.machine | {"load_average_1m_at_end": round(os.getloadavg()[0], 2)},
        "payload": payload_report(parts),
        "llmos": llmos,
        "boot_stages": {
            "note": "when the page first saw each boot.progress stage of the OS and the kernel",
            "cold": stage_summary(m.llmos["cold"]),
            "warm": stage_summary(m.llmos["warm"]),
        },
        "exec_call_delay_after_ready_ms": round(
            max(s["exec_called"] - s["python_ready"] for s in every_load), 1
        ),
        "pyodide_baseline": {
            "page": "a minimal page: loadPyodide from dist/pyodide, then print('hi')",
            "warm_note": "reloads of one profile; no service worker, so the HTTP cache only",
            **bare,
        },
        "ratios": {"first_output_vs_bare_pyodide": ratios},
    }
    report["targets"] = targets(report, m.llmos["cold"], m.llmos["warm"])
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--runs", type=int, default=5, help="loads per scenario (default 5)")
    args = parser.parse_args()
    parts = build.build()
    report = make_report(args.runs, parts, measure_all(args.runs))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=1) + "\n")
    print_table(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
