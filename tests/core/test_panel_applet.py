"""The panel kind's pages (llmos.applets.panel): whether this build can run Panel, the page that
says how to enable it when it cannot, and the page that runs the app when it can.

Runs natively (where the dev tools install Panel) and inside Pyodide (whose default build has no
Panel): the OS's answer follows what each one really has.
"""

from __future__ import annotations

import ast
import json
import re
from html.parser import HTMLParser
from importlib import resources

from llmos.applets.model import Manifest, parse_manifest
from llmos.applets.panel import (
    ENABLE_COMMAND,
    PANEL_PACKAGES,
    RUN_APP,
    app_page,
    build_packages,
    missing_for_panel,
    panel_page,
    unavailable_page,
)
from llmos.platform import in_browser
from llmos.platform.memory import MemoryStorage

from tests.core.test_service import start

LOAN = resources.files("llmos") / "system" / "applets" / "loan-calculator"
HOSTILE_CODE = 'print("</script><script>parent.document.title=1</script></pre><b>")\n'


class Parsed(HTMLParser):
    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._in_script: dict[str, str | None] | None = None
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            self.scripts.append((self._in_script, data))
        else:
            self.text.append(data)

    def csp(self) -> dict[str, str]:
        content = next(
            a["content"] or ""
            for t, a in self.tags
            if t == "meta" and a.get("http-equiv") == "Content-Security-Policy"
        )
        return dict(part.strip().split(" ", 1) for part in content.split(";"))


def loan() -> tuple[Manifest, str]:
    manifest = parse_manifest(LOAN.joinpath("manifest.json").read_text("utf-8"), "loan-calculator")
    return manifest, LOAN.joinpath("app.py").read_text("utf-8")


def test_missing_names_what_panel_needs_as_pyodide_names_it() -> None:
    assert missing_for_panel(["numpy", "Pandas"]) == ["panel", "bokeh", "param", "pyviz-comms"]
    assert missing_for_panel(["panel", "bokeh", "param", "pyviz_comms", "numpy", "pandas"]) == []
    assert missing_for_panel([]) == list(PANEL_PACKAGES)


def test_build_packages_come_from_the_build_lock_or_the_installed_python() -> None:
    packages = build_packages()
    if in_browser():  # this build's pyodide-lock.json: our wheels, no Panel
        assert {"llmos", "micropip"} <= packages
        assert "panel" not in packages
    else:  # the dev tools install Panel for tests/test_panel_applets.py
        assert {"panel", "bokeh", "pytest"} <= packages
    assert missing_for_panel() == missing_for_panel(packages)


def test_without_panel_the_page_says_how_to_enable_it_and_runs_nothing() -> None:
    manifest, code = loan()
    page = panel_page(manifest, HOSTILE_CODE, missing=["numpy", "pandas"])
    parsed = Parsed(page)
    assert page == unavailable_page(manifest, HOSTILE_CODE, ["numpy", "pandas"])
    assert ("main", {"data-llmos-panel": "unavailable"}) in parsed.tags
    text = " ".join("".join(parsed.text).split())
    assert "Panel is not in this build" in text
    assert "it lacks numpy, pandas" in text
    assert ENABLE_COMMAND in text
    assert "--pyodide-packages DIR_OR_URL --packages panel" in ENABLE_COMMAND
    assert HOSTILE_CODE.strip() in "".join(parsed.text)  # shown as text
    assert not any(tag == "script" for tag, _ in parsed.tags)
    csp = parsed.csp()
    assert csp["default-src"] == "'none'"
    assert "script-src" not in csp
    assert code  # the shipped app reads as code too


def test_with_panel_the_page_carries_the_code_as_data_and_reaches_nothing() -> None:
    manifest, _ = loan()
    page = app_page(manifest, HOSTILE_CODE)
    parsed = Parsed(page)
    data = [text for attrs, text in parsed.scripts if attrs.get("type") == "application/json"]
    assert json.loads(data[0]) == {"name": "loan-calculator", "code": HOSTILE_CODE}
    assert [a.get("type") for t, a in parsed.tags if t == "script"] == [
        "application/json",
        "module",
    ]
    assert not any("src" in a for t, a in parsed.tags if t == "script")
    csp = parsed.csp()
    for directive in ("default-src", "connect-src", "frame-src", "base-uri", "form-action"):
        assert csp[directive] == "'none'", directive
    # The only URL is the fake base its fetch shim answers from the host's files.
    urls = set(re.findall(r"https?://[^\s\"'`)]+", page))
    assert urls == {"https://panel.invalid/"}
    # Bokeh's and Panel's JavaScript come from their wheels, as blob: URLs.
    assert "bokeh.min.js" in page
    assert "panel.min.js" in page


async def test_the_os_serves_the_page_this_build_can_show() -> None:
    ui = await start(MemoryStorage())
    served = await ui.ok("applets.panel_page", name="loan-calculator")
    assert served["missing"] == missing_for_panel()
    assert served["enable"] == ENABLE_COMMAND
    manifest, code = loan()
    assert served["html"] == panel_page(manifest, code, served["missing"])
    expected = "unavailable" if served["missing"] else "app"
    assert f'data-llmos-panel="{expected}"' in served["html"]
    if in_browser():
        assert served["missing"] == list(PANEL_PACKAGES)
    message = await ui.fails("applets.panel_page", "protocol", name="memory-explorer")
    assert "not a Panel one" in message


def test_the_python_the_page_runs_compiles_as_pyodide_runs_it() -> None:
    """runPythonAsync: top-level await allowed."""
    compile(RUN_APP, "<panel page>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    assert "inline_stylesheets(pn.state.curdoc)" in RUN_APP
