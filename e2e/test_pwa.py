"""PWA: works offline after one visit, is installable, announces and applies updates, asks for
persistent storage, and boots under a GitHub Pages style base path."""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

import build
from e2e.conftest import editor_text, tree_item, wait_ready

WAIT_CONTROLLED = """async () => {
  const registration = await navigator.serviceWorker.ready;
  if (!navigator.serviceWorker.controller) {
    await new Promise((resolve) =>
      navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true }));
  }
  return registration.active.scriptURL;
}"""


def test_offline_reload_boots_python_and_opens_files(app: Page, context: BrowserContext) -> None:
    app.evaluate(WAIT_CONTROLLED)
    app.evaluate("window.llmos.request('fs.write', {path: 'user/offline.md', text: 'still here'})")
    context.set_offline(True)
    app.reload()
    info = wait_ready(app)
    assert info["isolated"] is True  # the service worker re-applies COOP/COEP offline too
    assert app.evaluate("window.llmos.exec('sum(range(10))')")["result"] == "45"
    tree_item(app, "user/offline.md").click()
    expect(app.locator("#editor-path")).to_have_text("user/offline.md")
    assert editor_text(app) == "still here"


def test_chromium_finds_the_app_installable(
    persistent: Callable[[], BrowserContext], app_server: build.Background
) -> None:
    context = persistent()
    page = context.new_page()
    page.goto(app_server.url + "/")
    wait_ready(page)
    page.evaluate(WAIT_CONTROLLED)
    cdp = context.new_cdp_session(page)
    assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["errors"] == []


def test_persistent_storage_is_requested(page: Page, app_server: build.Background) -> None:
    page.add_init_script(
        """window.__persistCalls = 0;
        const original = navigator.storage.persist.bind(navigator.storage);
        navigator.storage.persist = () => { window.__persistCalls++; return original(); };"""
    )
    page.goto(app_server.url + "/")
    wait_ready(page)
    assert page.evaluate("window.__persistCalls") == 1


@pytest.fixture
def own_site(dist: Path, tmp_path: Path) -> Iterator[tuple[Path, build.Background]]:
    """A private copy of dist/ that a test may rebuild, served on its own port."""
    site = tmp_path / "site"
    shutil.copytree(dist, site)
    server = build.serve_in_background(root=site, port=0)
    yield site, server
    server.stop()


def publish_new_build(site: Path) -> str:
    """What a new build changes for the browser: a new build id in sw.js and build-info."""
    sw = (site / "sw.js").read_text()
    old_id = re.search(r'const BUILD_ID = "([0-9a-f]+)"', sw)
    assert old_id is not None
    new_id = "0" * 12
    (site / "sw.js").write_text(sw.replace(old_id.group(1), new_id))
    info = site / "bridges" / "build-info.mjs"
    info.write_text(info.read_text().replace(old_id.group(1), new_id))
    return new_id


def test_new_build_is_announced_and_applied(
    page: Page, own_site: tuple[Path, build.Background]
) -> None:
    site, server = own_site
    page.goto(server.url + "/")
    wait_ready(page)
    page.evaluate(WAIT_CONTROLLED)
    old_build = page.evaluate("window.llmos.build")
    new_id = publish_new_build(site)
    page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.update())")
    expect(page.locator("#update")).to_be_visible(timeout=30_000)
    expect(page.locator("#update")).to_contain_text("update")
    with page.expect_navigation():
        page.click("#update-apply")
    wait_ready(page)
    assert page.evaluate("window.llmos.build") == new_id != old_build
    expect(page.locator("#update")).to_be_hidden()


def test_the_build_boots_under_a_base_path(page: Page, dist: Path) -> None:
    server = build.serve_in_background(root=dist, port=0, prefix="/some-repo/")
    try:
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(server.url + "/some-repo/")
        wait_ready(page)
        assert page.evaluate("window.llmos.exec('print(40 + 2)')")["stdout"] == "42\n"
        scope = page.evaluate("navigator.serviceWorker.ready.then((r) => r.scope)")
        assert scope == server.url + "/some-repo/"
        http = [u for u in requests if u.startswith("http")]
        assert http
        assert all(u.startswith(server.url + "/some-repo/") for u in http), http
    finally:
        server.stop()


def test_service_worker_isolates_the_app_on_a_host_without_headers(
    page: Page, headerless_server: build.Background
) -> None:
    page.goto(headerless_server.url + "/")
    assert wait_ready(page)["isolated"] is False
    page.evaluate(WAIT_CONTROLLED)
    page.reload()
    assert wait_ready(page)["isolated"] is True
    assert page.evaluate("window.llmos.exec('1 + 1')")["result"] == "2"
