"""The file explorer and editor, clicked as a user would; files persist and bad input is handled."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import BrowserContext, Dialog, Page, expect

import build
from e2e.conftest import editor_text, tree_item, wait_ready


def answer_dialogs(page: Page, *answers: str) -> None:
    """Answer the next prompt()/confirm() dialogs in order (accepting confirms)."""
    queue = list(answers)

    def handle(dialog: Dialog) -> None:
        reply = queue.pop(0)
        if queue:
            page.once("dialog", handle)
        if dialog.type == "prompt":
            dialog.accept(reply)
        else:
            dialog.accept()

    page.once("dialog", handle)


def read_file(page: Page, path: str) -> dict[str, object]:
    reply: dict[str, object] = page.evaluate(
        "(p) => window.llmos.request('fs.read', {path: p})", path
    )
    return reply


def test_edit_save_with_ctrl_s_survives_reload(app: Page) -> None:
    expect(app.locator("#editor-path")).to_have_text("user/README.md")
    editor = app.locator("#editor-text")
    editor.fill("# My notes\n\nsaved with the keyboard\n")
    expect(app.locator("#editor-dirty")).to_be_visible()
    editor.press("Control+s")
    expect(app.locator("#status")).to_contain_text("Saved user/README.md")
    expect(app.locator("#editor-dirty")).to_be_hidden()
    app.reload()
    wait_ready(app)
    expect(app.locator("#editor-path")).to_have_text("user/README.md")
    assert editor_text(app) == "# My notes\n\nsaved with the keyboard\n"


def test_create_rename_delete_through_the_explorer(app: Page) -> None:
    answer_dialogs(app, "projects")
    app.click("#new-folder")
    expect(tree_item(app, "user/projects")).to_be_visible()
    tree_item(app, "user/projects").click()
    answer_dialogs(app, "plan.md")
    app.click("#new-file")
    expect(app.locator("#editor-path")).to_have_text("user/projects/plan.md")
    app.locator("#editor-text").fill("step 1")
    app.click("#save")
    expect(app.locator("#status")).to_contain_text("Saved")
    answer_dialogs(app, "roadmap.md")
    app.click("#rename")
    expect(tree_item(app, "user/projects/roadmap.md")).to_be_visible()
    expect(tree_item(app, "user/projects/plan.md")).to_have_count(0)
    assert read_file(app, "user/projects/roadmap.md")["result"] == {
        "path": "user/projects/roadmap.md",
        "text": "step 1",
    }
    answer_dialogs(app, "")  # the confirm
    app.click("#delete")
    expect(tree_item(app, "user/projects/roadmap.md")).to_have_count(0)
    assert read_file(app, "user/projects/roadmap.md")["ok"] is False


def test_delete_asks_first_and_cancel_keeps_the_file(app: Page) -> None:
    app.once("dialog", lambda dialog: dialog.dismiss())
    app.click("#delete")
    expect(app.locator("#editor-path")).to_have_text("user/README.md")
    assert read_file(app, "user/README.md")["ok"] is True


def test_keyboard_navigation_opens_files(app: Page) -> None:
    tree_item(app, "user").focus()
    app.keyboard.press("ArrowDown")
    app.keyboard.press("ArrowDown")  # user -> README.md -> system
    app.keyboard.press("Enter")  # expand system
    expect(tree_item(app, "system/docs")).to_be_visible()
    tree_item(app, "system/docs").press("Enter")
    tree_item(app, "system/docs/welcome.md").press("Enter")
    expect(app.locator("#editor-path")).to_have_text("system/docs/welcome.md")
    assert "system volume" in editor_text(app)
    expect(app.locator("#save")).to_be_disabled()  # read-only volume


def test_upload_and_download_round_trip_binary_bytes(app: Page, tmp_path: Path) -> None:
    data = bytes(range(256)) * 40
    source = tmp_path / "blob.bin"
    source.write_bytes(data)
    app.set_input_files("#upload-input", str(source))
    expect(tree_item(app, "user/blob.bin")).to_be_visible()
    tree_item(app, "user/blob.bin").click()
    # A binary file is not opened as text: the user is told why, and the bytes are intact.
    expect(app.locator("#notice")).to_contain_text("binary file")
    expect(app.locator("#editor-text")).to_be_disabled()
    with app.expect_download() as download:
        app.click("#download")
    assert Path(download.value.path()).read_bytes() == data


def test_path_traversal_is_refused_with_a_message(app: Page) -> None:
    answer_dialogs(app, "../../escape.txt")
    app.click("#new-file")
    expect(app.locator("#notice")).to_contain_text("'..'")
    reply = app.evaluate("window.llmos.request('fs.write', {path: 'user/../x', text: 'a'})")
    assert reply["ok"] is False
    assert reply["error"]["code"] == "bad_path"
    absolute = app.evaluate("window.llmos.request('fs.write', {path: '/etc/passwd', text: 'a'})")
    assert "absolute" in absolute["error"]["message"]
    nul = app.evaluate("window.llmos.request('fs.write', {path: 'user/a\\u0000b', text: 'a'})")
    assert "NUL" in nul["error"]["message"]


def test_quota_error_reaches_the_user_and_keeps_old_data(
    page: Page, context: BrowserContext, app_server: build.Background, tmp_path: Path
) -> None:
    cdp = context.new_cdp_session(page)
    # Smaller than the build itself: the service worker cannot cache it, and the app still runs.
    cdp.send("Storage.overrideQuotaForOrigin", {"origin": app_server.url, "quotaSize": 5_000_000})
    page.goto(app_server.url + "/")
    wait_ready(page)
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 8_000_000)
    page.set_input_files("#upload-input", str(big))
    expect(page.locator("#notice")).to_contain_text("quota", timeout=30_000)
    assert read_file(page, "user/README.md")["ok"] is True
    listing = page.evaluate("window.llmos.request('fs.list', {path: 'user'})")["result"]
    assert [e["name"] for e in listing] == ["README.md"]  # no empty or torn big.bin left


def test_files_survive_a_browser_restart(
    persistent: Callable[[], BrowserContext], app_server: build.Background
) -> None:
    page = persistent().new_page()
    page.goto(app_server.url + "/")
    wait_ready(page)
    page.evaluate("window.llmos.request('fs.write', {path: 'user/diary.md', text: 'day one'})")
    page = persistent().new_page()  # closes the browser, launches it again on the same profile
    page.goto(app_server.url + "/")
    wait_ready(page)
    expect(tree_item(page, "user/diary.md")).to_be_visible()
    assert read_file(page, "user/diary.md")["result"] == {
        "path": "user/diary.md",
        "text": "day one",
    }


def test_indexeddb_backend_when_opfs_is_not_used(page: Page, app_server: build.Background) -> None:
    page.goto(app_server.url + "/?storage=indexeddb")
    info = wait_ready(page)
    assert info["storage"] == "indexeddb"
    page.evaluate("window.llmos.request('fs.write', {path: 'user/idb.md', text: 'kept'})")
    page.reload()
    wait_ready(page)
    assert read_file(page, "user/idb.md")["result"] == {"path": "user/idb.md", "text": "kept"}


def test_corrupt_settings_are_set_aside_and_the_os_still_boots(app: Page) -> None:
    app.evaluate("window.llmos.request('settings.set', {key: 'theme', value: 'dark'})")
    app.evaluate(
        """async () => {
          const root = await navigator.storage.getDirectory();
          const dir = await root.getDirectoryHandle("os-private");
          const w = await (await dir.getFileHandle("settings.json")).createWritable();
          await w.write(new Uint8Array([0xff, 0x00, 0x7b])); await w.close();
        }"""
    )
    app.reload()
    wait_ready(app)
    expect(app.locator("#notice")).to_contain_text("settings.json.corrupt")
    assert editor_text(app).startswith("# Welcome")  # user files untouched
    raw = app.evaluate(
        """async () => {
          const root = await navigator.storage.getDirectory();
          const dir = await root.getDirectoryHandle("os-private");
          const f = await (await dir.getFileHandle("settings.json.corrupt")).getFile();
          return Array.from(new Uint8Array(await f.arrayBuffer()));
        }"""
    )
    assert raw == [0xFF, 0x00, 0x7B]


def test_base64_of_a_binary_file_is_available_for_download(app: Page) -> None:
    payload = base64.b64encode(b"\x89PNG\r\n\x1a\n\x00").decode()
    app.evaluate(
        "(b) => window.llmos.request('fs.write', {path: 'user/x.png', base64: b})", payload
    )
    reply = app.evaluate("window.llmos.request('fs.read', {path: 'user/x.png'})")
    assert reply["error"]["code"] == "binary"
    raw = app.evaluate("window.llmos.request('fs.read', {path: 'user/x.png', encoding: 'base64'})")
    assert raw["result"]["base64"] == payload


def test_reload_in_the_middle_of_a_save_leaves_old_or_new_file(app: Page) -> None:
    old = "a" * 1000
    app.evaluate("(t) => window.llmos.request('fs.write', {path: 'user/doc.txt', text: t})", old)
    # Start a 30 MB save and reload the page before it can finish.
    app.evaluate(
        "window.llmos.request('fs.write', {path: 'user/doc.txt', text: 'b'.repeat(30_000_000)})"
        ".then(() => {}); 0"
    )
    app.reload()
    wait_ready(app)
    size = app.evaluate(
        """async () => {
          const r = await window.llmos.request('fs.read', {path: 'user/doc.txt'});
          const t = r.result.text;
          return {length: t.length, kinds: [...new Set(t)].join('')};
        }"""
    )
    assert size in ({"length": 1000, "kinds": "a"}, {"length": 30_000_000, "kinds": "b"}), size
