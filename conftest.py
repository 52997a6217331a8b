"""Browser fixtures shared by the in-Pyodide tier (tests/) and the e2e tier (e2e/).

One Chromium per test session (pytest-playwright's ``browser``): Debian's ``/usr/bin/chromium``
when present, else Playwright's own. A static server serves the built ``dist/``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import build

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_launch_args() -> dict[str, Any]:
    args: dict[str, Any] = {"args": CHROMIUM_FLAGS, "headless": True}
    if build.SYSTEM_CHROMIUM.exists():
        args["executable_path"] = str(build.SYSTEM_CHROMIUM)
    return args


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, **chromium_launch_args()}


@pytest.fixture(scope="session")
def dist() -> Path:
    """The built site; built here when a test run starts without one."""
    if not (build.DIST / "index.html").exists():
        build.build()
    return build.DIST


@pytest.fixture(scope="session")
def app_server(dist: Path) -> Iterator[build.Background]:
    """dist/ on 127.0.0.1 with COOP/COEP, as ``build.py serve`` runs it."""
    server = build.serve_in_background(root=dist, port=0)
    yield server
    server.stop()
