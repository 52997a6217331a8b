"""Every shipped Panel applet, run natively: CPython Panel serves it on 127.0.0.1 and Chromium
uses it the way a person would (types in a widget; the output bound to it changes). Nothing is
loaded from another origin: a route guard aborts any request not to the Panel server.

Also the browser side of the panel kind that runs without Panel: the message document a build
without Panel shows instead of a blank frame.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import panel as pn
import pytest
from playwright.sync_api import Page, Route, expect

SYSTEM_APPLETS = Path(__file__).resolve().parents[1] / "pyapp" / "llmos" / "system" / "applets"


def _panel_applets() -> list[Path]:
    found = []
    for manifest_path in sorted(SYSTEM_APPLETS.glob("*/manifest.json")):
        manifest = json.loads(manifest_path.read_text())
        if manifest["kind"] == "panel":
            found.append(manifest_path.parent / manifest["entry"])
    return found


PANEL_APPLETS = _panel_applets()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def panel_server() -> Iterator[str]:
    """One Panel server for all shipped Panel applets, each at /<applet name>."""
    port = _free_port()
    apps = {app.parent.name: str(app) for app in PANEL_APPLETS}
    server = pn.serve(  # type: ignore[no-untyped-call]
        apps,
        port=port,
        address="127.0.0.1",
        websocket_origin=[f"127.0.0.1:{port}"],
        threaded=True,
        show=False,
    )
    yield f"http://127.0.0.1:{port}"
    server.stop()


def _same_origin_only(page: Page, origin: str) -> list[str]:
    blocked: list[str] = []

    def guard(route: Route) -> None:
        if route.request.url.startswith(origin + "/"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    page.route("**/*", guard)
    return blocked


def test_every_shipped_panel_applet_is_tested() -> None:
    assert [app.parent.name for app in PANEL_APPLETS] == ["loan-calculator"]


def test_loan_calculator_widgets_drive_the_summary(page: Page, panel_server: str) -> None:
    blocked = _same_origin_only(page, panel_server)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{panel_server}/loan-calculator")
    summary = page.get_by_text(re.compile(r"Monthly payment:"))
    # 200,000 over 25 years at 4 % a year.
    expect(summary).to_have_text("Monthly payment: 1,055.67")
    amount = page.get_by_label("Amount borrowed")
    amount.fill("100000")
    amount.press("Enter")
    expect(summary).to_have_text("Monthly payment: 527.84")
    expect(page.get_by_text(re.compile(r"^Total repaid"))).to_have_text(
        "Total repaid: 158,351.05 (interest 58,351.05)"
    )
    # The slider by keyboard: one step down, 25 -> 24 years.
    years = page.get_by_role("slider").nth(1)
    years.focus()
    years.press("ArrowLeft")
    expect(summary).to_have_text("Monthly payment: 540.69")
    assert blocked == []
    assert errors == []
