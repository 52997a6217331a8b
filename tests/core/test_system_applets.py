"""The applets shipped in the ``system`` volume: valid manifests, pages that cannot reach the
network, accessible controls, and only tools their manifests ask for.

They double as examples for the agent, so a regression here teaches it bad habits too.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from importlib import resources
from typing import Any

import pytest
from llmos.applets.model import parse_manifest
from llmos.platform.memory import MemoryStorage

from tests.core.test_service import start

SHIPPED = resources.files("llmos") / "system" / "applets"
FOLDERS = sorted(p.name for p in SHIPPED.iterdir() if p.joinpath("manifest.json").is_file())
HTML_APPLETS = [
    name
    for name in FOLDERS
    if json.loads(SHIPPED.joinpath(name, "manifest.json").read_text("utf-8"))["kind"] == "html"
]
# Anything that could send or fetch, open a window or navigate away, or run text as code.
FORBIDDEN_JS = [
    r"\bfetch\s*\(",
    r"XMLHttpRequest",
    r"WebSocket",
    r"EventSource",
    r"sendBeacon",
    r"\bimport\s*\(",
    r"\beval\s*\(",
    r"new\s+Function",
    r"window\.open",
    r"\btop\.",
    r"parent\.document",
    r"\blocation\s*=",
    r"localStorage|sessionStorage|indexedDB|document\.cookie",
    r"innerHTML|outerHTML|insertAdjacentHTML|document\.write",  # text stays text
]
REQUIRED_CSP = {
    "default-src": "'none'",
    "connect-src": "'none'",
    "frame-src": "'none'",
    "form-action": "'none'",
    "base-uri": "'none'",
}


class Page(HTMLParser):
    """The parts of an HTML page these checks look at."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: list[str] = []
        self.title = ""
        self._open: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._open = tag

    def handle_endtag(self, tag: str) -> None:
        self._open = None

    def handle_data(self, data: str) -> None:
        if self._open == "script":
            self.scripts.append(data)
        elif self._open == "title":
            self.title += data.strip()

    def all(self, tag: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.tags if name == tag]

    def csp(self) -> dict[str, str]:
        metas = [
            m
            for m in self.all("meta")
            if m.get("http-equiv", "").lower() == "content-security-policy"
        ]
        assert len(metas) == 1, "one Content-Security-Policy meta"
        directives = (d.strip().split(None, 1) for d in metas[0]["content"].split(";") if d.strip())
        return dict(directives)


def shipped_file(name: str, file: str) -> str:
    return SHIPPED.joinpath(name, file).read_text("utf-8")


def test_the_system_volume_ships_the_example_applets() -> None:
    assert {"memory-explorer", "skill-browser", "file-viewer"} <= set(HTML_APPLETS)


@pytest.mark.parametrize("name", FOLDERS)
def test_each_manifest_is_valid_and_made_by_the_system(name: str) -> None:
    manifest = parse_manifest(shipped_file(name, "manifest.json"), name)
    assert manifest.created_by == "system"
    assert manifest.title
    assert manifest.description
    assert manifest.icon
    assert SHIPPED.joinpath(name, manifest.entry).is_file()


@pytest.mark.parametrize("name", HTML_APPLETS)
def test_each_page_has_a_strict_csp_and_nothing_that_reaches_out(name: str) -> None:
    html = shipped_file(name, "index.html")
    page = Page(html)
    csp = page.csp()
    for directive, value in REQUIRED_CSP.items():
        assert csp.get(directive) == value, f"{name}: {directive} {csp.get(directive)!r}"
    assert "'unsafe-eval'" not in " ".join(csp.values())
    assert not re.search(r"https?:|//[a-z0-9.-]+\.[a-z]{2,}/", html, re.I), f"{name}: a URL"
    # no <form> either: the host's sandbox (no allow-forms) blocks its submission, submit event
    # and all, so a form would silently do nothing
    for tag in ("iframe", "object", "embed", "base", "form", "link", "img", "audio", "video"):
        assert not page.all(tag), f"{name}: <{tag}>"
    assert all("src" not in s for s in page.all("script")), f"{name}: an external script"
    code = "\n".join(page.scripts)
    for pattern in FORBIDDEN_JS:
        assert not re.search(pattern, code), f"{name}: {pattern}"


@pytest.mark.parametrize("name", HTML_APPLETS)
def test_each_page_is_labelled_for_keyboard_and_screen_readers(name: str) -> None:
    page = Page(shipped_file(name, "index.html"))
    assert page.all("html")[0].get("lang") == "en"
    assert page.title == parse_manifest(shipped_file(name, "manifest.json"), name).title
    assert page.all("h1"), f"{name}: a heading names the page"
    labelled = {label["for"] for label in page.all("label") if "for" in label}
    for tag in ("input", "select", "textarea"):
        for control in page.all(tag):
            assert control.get("id") in labelled or control.get("aria-label"), (name, control)
    live = [p for p in page.all("p") if p.get("role") == "status"]
    assert live, f"{name}: a status line says what happened"
    assert live[0].get("aria-live") == "polite", f"{name}: results are announced"


async def test_the_os_lists_and_serves_every_shipped_applet_without_a_problem() -> None:
    ui = await start(MemoryStorage())
    listed = {a["name"]: a for a in (await ui.ok("applets.list"))["applets"]}
    for name in FOLDERS:
        assert listed[name]["volume"] == "system"
        assert listed[name]["problem"] is None, listed[name]["problem"]
    for name in HTML_APPLETS:
        served: dict[str, Any] = await ui.ok("applets.get", name=name)
        assert served["manifest"]["name"] == name
        assert "<title>" in served["html"]


@pytest.mark.parametrize("name", HTML_APPLETS)
async def test_each_applet_calls_only_tools_its_manifest_allows(name: str) -> None:
    """Every ``callTool("x", ...)`` in the page goes through ``applets.call``: none may be
    refused for a permission the manifest forgot."""
    called = set(re.findall(r'callTool\("([a-z_]+)"', shipped_file(name, "index.html")))
    assert called, f"{name} shows the bridge: it calls at least one tool"
    ui = await start(MemoryStorage())
    for tool in sorted(called):
        result = await ui.ok("applets.call", name=name, tool=tool, arguments={})
        text = result["content"][0]["text"]
        assert "permission" not in text, (tool, text)
        assert "cannot call" not in text, (tool, text)


SKILL_MD = "---\nname: csv-stats\ndescription: Sums the columns of a CSV file.\n---\nUse csv.\n"


async def test_the_viewers_read_files_and_skills_in_the_shapes_their_pages_parse() -> None:
    """skill-browser and file-viewer parse list_files' "folder:" + "name/" lines and show
    read_file's text as it is; ``read_files`` never writes."""
    ui = await start(MemoryStorage())
    await ui.ok("fs.write", path="user/skills/csv-stats/SKILL.md", text=SKILL_MD)

    async def call(applet: str, tool: str, **arguments: Any) -> dict[str, Any]:
        result: dict[str, Any] = await ui.ok(
            "applets.call", name=applet, tool=tool, arguments=arguments
        )
        return result

    listing = await call("skill-browser", "list_files", path="user/skills")
    assert listing["content"][0]["text"].splitlines() == ["user/skills:", "csv-stats/"]
    skill = await call("skill-browser", "read_file", path="user/skills/csv-stats/SKILL.md")
    assert skill == {"content": [{"type": "text", "text": SKILL_MD}], "isError": False}
    home = (await call("file-viewer", "list_files", path="user"))["content"][0]["text"]
    assert home.splitlines()[0] == "user:"
    assert "skills/" in home.splitlines()
    assert (await call("file-viewer", "read_file", path="system/docs/welcome.md"))[
        "isError"
    ] is False
    refused = await call("file-viewer", "write_file", path="user/x.md", content="x")
    assert refused["isError"]
    assert await ui.fails("fs.read", "not_found", path="user/x.md")
