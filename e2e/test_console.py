"""The Python console: streamed output, tracebacks, interrupting runaway code, surviving crashes."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect

import build
from e2e.conftest import run_in_console, wait_ready


def test_output_streams_while_code_still_runs(app: Page) -> None:
    code = "print('first line')\nimport time\nt = time.time()\nwhile time.time() - t < 3: pass\n"
    run_in_console(app, code + "print('fin' + 'ished')")
    out = app.locator("#console-out")
    expect(out).to_contain_text("first line")
    assert "finished" not in (out.text_content() or "")  # seen before the cell finished
    expect(out).to_contain_text("finished", timeout=15_000)


def test_values_tracebacks_and_state_between_cells(app: Page) -> None:
    run_in_console(app, "x = 20\nx + 1")
    expect(app.locator("#console-out .result")).to_have_text("21")
    run_in_console(app, "def boom():\n    raise ValueError('bad value')\nboom()")
    err = app.locator("#console-out .stderr")
    expect(err).to_contain_text("ValueError: bad value")
    expect(err).to_contain_text('File "<cell-2>", line 3')
    run_in_console(app, "x * 2")
    expect(app.locator("#console-out .result").last).to_have_text("40")


def stop_runaway_code(page: Page, code: str, expected: str) -> None:
    """Save a file, run ``code`` (which never ends), press Stop, and check that the console
    says ``expected`` within 2 s and that the file is untouched."""
    page.evaluate("window.llmos.request('fs.write', {path: 'user/keep.md', text: 'precious'})")
    run_in_console(page, code)
    expect(page.locator("#kernel-state")).to_have_text("kernel: busy")
    started = time.monotonic()
    page.click("#stop")
    expect(page.locator("#console-out .info")).to_contain_text(expected, timeout=2_000)
    assert time.monotonic() - started < 2.0
    reply = page.evaluate("window.llmos.request('fs.read', {path: 'user/keep.md'})")
    assert reply["result"]["text"] == "precious"


def test_stop_interrupts_runaway_code_within_two_seconds(app: Page) -> None:
    stop_runaway_code(app, "kept = 'yes'\nwhile True: pass", "Interrupted")
    expect(app.locator("#console-out")).to_contain_text("KeyboardInterrupt")
    run_in_console(app, "kept")  # cross-origin isolated: interrupted in place, state kept
    expect(app.locator("#console-out .result")).to_have_text("'yes'")


def test_escape_key_also_stops_code(app: Page) -> None:
    run_in_console(app, "while True: pass")
    expect(app.locator("#kernel-state")).to_have_text("kernel: busy")
    app.keyboard.press("Escape")
    expect(app.locator("#console-out .info")).to_contain_text("Interrupted", timeout=2_000)


def test_without_isolation_stop_restarts_the_kernel_and_says_so(
    page: Page, headerless_server: build.Background
) -> None:
    page.goto(headerless_server.url + "/")
    info = wait_ready(page)
    assert info["isolated"] is False
    stop_runaway_code(page, "while True: pass", "Kernel restarted")
    # The restarted kernel works again.
    result = page.evaluate("window.llmos.exec('1 + 1')")
    assert result["result"] == "2"


def test_a_crashed_kernel_is_reported_and_replaced(app: Page) -> None:
    app.evaluate("window.llmos.request('fs.write', {path: 'user/keep.md', text: 'precious'})")
    crashed = app.evaluate("window.llmos.exec('import os\\nos.abort()')")
    assert crashed["error"]["type"] == "KernelCrashed"
    assert "crashed" in crashed["error"]["message"]
    assert "files are safe" in crashed["error"]["message"]
    assert app.evaluate("window.llmos.exec('6 * 7')")["result"] == "42"
    reply = app.evaluate("window.llmos.request('fs.read', {path: 'user/keep.md'})")
    assert reply["result"]["text"] == "precious"


def test_import_of_a_package_missing_from_this_build_says_how_to_add_it(app: Page) -> None:
    run_in_console(app, "import numpy")
    err = app.locator("#console-out .stderr")
    expect(err).to_contain_text("does not include the Pyodide package 'numpy'")
    expect(err).to_contain_text("--pyodide-packages")


def test_stop_pressed_as_code_starts_is_still_an_interrupt(app: Page) -> None:
    """Stop racing the start of a run (the signal lands before Python runs the cell)."""
    outcomes = app.evaluate(
        """async () => {
          const outcomes = [];
          for (let i = 0; i < 5; i++) {
            const run = window.llmos.exec("while True: pass");
            await new Promise((resolve) => setTimeout(resolve, i * 20));
            const how = await window.llmos.interrupt();
            outcomes.push([how, (await run).error.type]);
          }
          return outcomes;
        }"""
    )
    assert outcomes == [["interrupted", "KeyboardInterrupt"]] * 5
