"""e2e fixtures: the built dist/ in real Chromium, clicked as a user would.

Every test is guarded: a request from the page (or its workers, iframe and service worker) to
anything but the test server fails the test, which proves the build uses no CDN.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Playwright

import build
from conftest import chromium_launch_args

READY_TIMEOUT_MS = 60_000
LOCAL_PREFIXES = ("http://127.0.0.1", "data:", "blob:", "about:", "chrome-extension:")


class OffsiteGuard:
    """Records requests that leave 127.0.0.1 and aborts them. A request the page's CSP blocked
    (Playwright still reports it, failed with "csp") never reached the network, so it is not
    counted: that block is the applet sandbox doing its job."""

    def __init__(self) -> None:
        self._issued: list[Any] = []
        self._routed: list[str] = []

    @property
    def offsite(self) -> list[str]:
        issued = [r.url for r in self._issued if r.failure != "csp"]
        return issued + [url for url in self._routed if url not in issued]

    def watch(self, context: BrowserContext) -> BrowserContext:
        def on_request(request: Any) -> None:
            if not request.url.startswith(LOCAL_PREFIXES):
                self._issued.append(request)

        context.on("request", on_request)
        context.route("**/*", self._route)
        return context

    def _route(self, route: Any) -> None:
        if route.request.url.startswith(LOCAL_PREFIXES):
            route.continue_()
        else:
            self._routed.append(route.request.url)
            route.abort()


@pytest.fixture
def guard() -> Iterator[OffsiteGuard]:
    watcher = OffsiteGuard()
    yield watcher
    assert not watcher.offsite, f"requests left the origin: {watcher.offsite}"


@pytest.fixture
def context(context: BrowserContext, guard: OffsiteGuard) -> BrowserContext:
    """pytest-playwright's fresh context per test, with the offsite guard attached."""
    return guard.watch(context)


def wait_ready(page: Page) -> dict[str, Any]:
    """Wait until Python is ready and the UI has shown it; returns llmos.ready's info."""
    # boot.mjs is a module script: it runs after the document is parsed, so wait for it too
    page.wait_for_function("window.llmos !== undefined", timeout=READY_TIMEOUT_MS)
    info: dict[str, Any] = page.evaluate("window.llmos.ready")
    page.wait_for_selector("body[data-ready='1']", timeout=READY_TIMEOUT_MS)
    return info


@pytest.fixture
def app(page: Page, app_server: build.Background) -> Page:
    """The app, booted, in a fresh browser profile."""
    page.goto(app_server.url + "/")
    wait_ready(page)
    return page


@pytest.fixture
def headerless_server(dist: Path) -> Iterator[build.Background]:
    """dist/ on a static host that cannot send COOP/COEP headers, like GitHub Pages."""
    server = build.serve_in_background(root=dist, port=0, isolation=False)
    yield server
    server.stop()


@pytest.fixture
def persistent(
    playwright: Playwright, tmp_path: Path, guard: OffsiteGuard
) -> Iterator[Callable[[], BrowserContext]]:
    """Launch a browser with a persistent profile (as a user's Chromium); call again to
    relaunch on the same profile after closing the previous one."""
    opened: list[BrowserContext] = []

    def launch() -> BrowserContext:
        for ctx in opened:
            ctx.close()
        opened.clear()
        ctx = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), **chromium_launch_args()
        )
        opened.append(guard.watch(ctx))
        return ctx

    yield launch
    for ctx in opened:
        ctx.close()


def run_in_console(page: Page, code: str) -> None:
    """Type code in the console and press Ctrl+Enter, as a user would."""
    box = page.locator("#console-in")
    box.fill(code)
    box.press("Control+Enter")


def editor_text(page: Page) -> str:
    return str(page.locator("#editor-text").input_value())


def tree_item(page: Page, path: str) -> Any:
    return page.locator(f"#tree li[data-path='{path}']")
