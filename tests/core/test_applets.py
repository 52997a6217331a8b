"""Applets in the user volume: manifest checks that name the bad field, whole saves (a refused
or failed save leaves the previous version), the applet's data kept across versions, shipped
applets read-only, rename/duplicate/delete, and zip export/import refusing escapes and bombs.
A broken applet is listed with its problem and never hides the others."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from llmos.applets.model import MAX_APPLET_BYTES, AppletError, Manifest, parse_manifest
from llmos.applets.store import AppletStore
from llmos.errors import ExistsError, NotFoundError, ReadOnlyError
from llmos.platform import Storage
from llmos.platform.memory import MemoryStorage
from llmos.vfs import Vfs, Volume

from tests.conftest import run, zip_of

PAGE = b"<!doctype html><title>Units</title><p>km to miles</p>"
VALID: dict[str, Any] = {
    "name": "unit-converter",
    "title": "Unit converter",
    "description": "Converts km to miles.",
    "icon": "📏",
    "version": 1,
    "created_by": "agent",
    "kind": "html",
    "entry": "index.html",
    "permissions": ["files"],
}


def manifest(**fields: Any) -> Manifest:
    return parse_manifest(json.dumps(VALID | fields))


def new_store(user: Storage | None = None, system: Storage | None = None) -> AppletStore:
    vfs = Vfs()
    vfs.mount(Volume("user", user or MemoryStorage(), writable=True))
    if system is not None:
        vfs.mount(Volume("system", system, writable=False))
    return AppletStore(vfs)


async def shipped() -> MemoryStorage:
    """A system volume holding one shipped applet, 'file-viewer'."""
    storage = MemoryStorage()
    shipped_manifest = VALID | {"name": "file-viewer", "created_by": "system", "title": "Files"}
    for path in ("applets", "applets/file-viewer"):
        await storage.mkdir(path)
    await storage.write("applets/file-viewer/manifest.json", json.dumps(shipped_manifest).encode())
    await storage.write("applets/file-viewer/index.html", b"<p>files</p>")
    return storage


# --- the manifest --------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["name", "title", "version", "created_by", "kind", "entry"])
def test_a_missing_field_is_named(missing: str) -> None:
    data = {k: v for k, v in VALID.items() if k != missing}
    with pytest.raises(AppletError, match=f"the field '{missing}' is missing"):
        parse_manifest(json.dumps(data))


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("version", "2", "'version' must be int, not str"),
        ("version", True, "'version' must be a whole number"),
        ("version", 0, "'version' must be a whole number"),
        ("title", 5, "'title' must be text, not int"),
        ("kind", "react", "'kind' must be one of html, panel"),
        ("entry", "main.html", "'entry' must be 'index.html' for kind 'html'"),
        ("created_by", "hacker", "'created_by' must be one of agent, user, system"),
        ("permissions", "files", "'permissions' must be a list"),
        ("permissions", ["network"], "unknown permission 'network'"),
        ("description", "x" * 2001, "'description' is longer than 2000"),
    ],
)
def test_a_wrong_type_or_value_is_named(field: str, value: Any, says: str) -> None:
    with pytest.raises(AppletError, match=says):
        manifest(**{field: value})


@pytest.mark.parametrize("name", ["Units", "../etc", "", "-lead", "a" * 65, "a b", "a/b", "é"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(AppletError, match="is not an applet name"):
        manifest(name=name)


def test_not_json_and_not_an_object() -> None:
    with pytest.raises(AppletError, match=r"manifest\.json is not valid JSON"):
        parse_manifest("{name: 1")
    with pytest.raises(AppletError, match="must hold a JSON object, not list"):
        parse_manifest("[1]")


def test_panel_kind_and_defaults_round_trip() -> None:
    panel = manifest(kind="panel", entry="app.py", permissions=["recall", "files", "recall"])
    assert panel.permissions == ["files", "recall"]
    assert parse_manifest(panel.to_json()) == panel


# --- saving and listing --------------------------------------------------------------------------


async def test_save_get_and_list_on_every_backend(storage: Storage) -> None:
    store = new_store(storage, await shipped())
    await store.save(manifest(), {"index.html": PAGE, "assets/logo.svg": b"<svg/>"})
    applet = await store.get("unit-converter")
    assert applet.entry == PAGE.decode()
    assert applet.volume == "user"
    listed = {i.name: i for i in await store.list()}
    assert set(listed) == {"unit-converter", "file-viewer"}
    assert listed["unit-converter"].manifest == manifest().to_dict()
    assert listed["file-viewer"].volume == "system"
    assert await store.ui_files("unit-converter") == {
        "manifest.json": manifest().to_json().encode(),
        "index.html": PAGE,
        "assets/logo.svg": b"<svg/>",
    }
    assert [e.name for e in await store.vfs.list("user/applets")] == ["unit-converter"]


async def test_an_svg_icon_file_is_listed_as_an_image_url_an_emoji_or_missing_one_is_not() -> None:
    import base64

    from llmos.applets.store import MAX_ICON_BYTES

    store = new_store()
    logo = b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="4"/></svg>'
    await store.save(
        manifest(icon="assets/logo.svg"), {"index.html": PAGE, "assets/logo.svg": logo}
    )
    for name, icon, files in (
        ("emoji", "📏", {}),
        ("gone", "assets/none.svg", {}),
        ("huge", "big.svg", {"big.svg": b"<svg>" + b" " * MAX_ICON_BYTES + b"</svg>"}),
        ("climbs", "../unit-converter/assets/logo.svg", {}),
    ):
        await store.save(manifest(name=name, icon=icon), {"index.html": PAGE, **files})
    urls = {i.name: i.to_dict()["icon_url"] for i in await store.list()}
    expected = "data:image/svg+xml;base64," + base64.b64encode(logo).decode()
    assert urls == {
        "unit-converter": expected,
        "emoji": None,
        "gone": None,
        "huge": None,
        "climbs": None,
    }
    assert (await store.get("unit-converter")).icon_url == expected


async def test_a_broken_applet_is_listed_with_its_problem_the_rest_unaffected() -> None:
    store = new_store()
    await store.save(manifest(), {"index.html": PAGE})
    vfs = store.vfs
    await vfs.write_text(
        "user/applets/no-title/manifest.json", json.dumps(VALID | {"name": "no-title", "title": 3})
    )
    await vfs.write_text("user/applets/half/index.html", "<p>")
    await vfs.write_text("user/applets/garbled/manifest.json", "{")
    other = VALID | {"name": "other"}
    await vfs.write_text("user/applets/wrong-folder/manifest.json", json.dumps(other))
    listed = {i.name: i.problem for i in await store.list()}
    assert listed["unit-converter"] is None
    assert "'title' must be text, not int" in str(listed["no-title"])
    assert "user/applets/half/manifest.json is missing" in str(listed["half"])
    assert "not valid JSON" in str(listed["garbled"])
    assert "'name' is 'other' but the folder is 'wrong-folder'" in str(listed["wrong-folder"])
    with pytest.raises(AppletError, match="'title' must be text"):
        await store.get("no-title")


async def test_ten_megabytes_of_html_are_refused_naming_the_limit_nothing_written() -> None:
    store = new_store()
    await store.save(manifest(), {"index.html": PAGE})
    huge = b"<p>" + b"x" * 10_000_000
    with pytest.raises(AppletError, match=r"10\.0 MB; .* at most 5 MB") as refused:
        await store.save(manifest(version=2), {"index.html": huge})
    assert "MAX_APPLET_BYTES" in str(refused.value)
    assert MAX_APPLET_BYTES == 5_000_000
    assert (await store.get("unit-converter")).entry == PAGE.decode()
    assert (await store.get("unit-converter")).manifest.version == 1
    with pytest.raises(AppletError, match="at most 5 MB"):
        await store.save(manifest(name="big"), {"index.html": huge})
    assert [i.name for i in await store.list()] == ["unit-converter"]
    assert [e.name for e in await store.vfs.list("user/applets")] == ["unit-converter"]


async def test_ui_files_that_climb_out_or_hide_data_are_refused() -> None:
    store = new_store()
    for path in ("../escape.html", "/abs.html", "data/x.json", "manifest.json", ""):
        with pytest.raises(AppletError):
            await store.save(manifest(), {"index.html": PAGE, path: b"x"})
    with pytest.raises(AppletError, match=r"its entry index\.html is not among its files"):
        await store.save(manifest(), {"main.html": PAGE})
    assert not await store.vfs.exists("user/applets")


async def test_a_new_version_keeps_the_data_and_a_failed_write_keeps_the_old_version() -> None:
    class Failing(MemoryStorage):
        fail = False

        async def write(self, path: str, data: bytes) -> None:
            if self.fail and path.startswith("applets/.staging/") and path.endswith("b.css"):
                raise OSError("disk full")
            await super().write(path, data)

    user = Failing()
    store = new_store(user)
    await store.save(manifest(), {"index.html": PAGE})
    await store.vfs.write_text("user/applets/unit-converter/data/history.json", "[1]")
    await store.save(manifest(version=2), {"index.html": b"<p>v2</p>"})
    assert (await store.get("unit-converter")).entry == "<p>v2</p>"
    assert await store.vfs.read_text("user/applets/unit-converter/data/history.json") == "[1]"
    user.fail = True
    with pytest.raises(OSError, match="disk full"):
        await store.save(manifest(version=3), {"index.html": b"<p>v3</p>", "b.css": b""})
    applet = await store.get("unit-converter")
    assert (applet.entry, applet.manifest.version) == ("<p>v2</p>", 2)
    assert await store.vfs.read_text("user/applets/unit-converter/data/history.json") == "[1]"
    assert [e.name for e in await store.vfs.list("user/applets")] == ["unit-converter"]


async def test_a_save_interrupted_after_moving_the_old_version_aside_is_recovered() -> None:
    store = new_store()
    await store.save(manifest(), {"index.html": PAGE})
    await store.vfs.rename("user/applets/unit-converter", "user/applets/.previous/unit-converter")
    assert [i.name for i in await store.list()] == ["unit-converter"]
    assert not await store.vfs.exists("user/applets/.previous")


async def test_rename_duplicate_delete_and_shipped_applets_stay_read_only() -> None:
    store = new_store(system=await shipped())
    await store.save(manifest(), {"index.html": PAGE})
    await store.vfs.write_text("user/applets/unit-converter/data/x.txt", "kept")
    renamed = await store.rename("unit-converter", "units")
    assert renamed.name == "units"
    assert (await store.get("units")).manifest.name == "units"
    assert await store.vfs.read_text("user/applets/units/data/x.txt") == "kept"
    with pytest.raises(NotFoundError, match="There is no applet 'unit-converter'"):
        await store.get("unit-converter")
    with pytest.raises(ExistsError, match="'file-viewer' exists already"):
        await store.rename("units", "file-viewer")
    with pytest.raises(AppletError, match="is not an applet name"):
        await store.rename("units", "../x")
    copy = await store.duplicate("units")
    assert (copy.name, copy.title, copy.version, copy.created_by) == (
        "units-copy",
        "Unit converter (copy)",
        1,
        "user",
    )
    assert not await store.vfs.exists("user/applets/units-copy/data")
    assert (await store.duplicate("units")).name == "units-copy-2"
    viewer = await store.duplicate("file-viewer")
    assert (await store.get(viewer.name)).volume == "user"
    for change in (store.delete("file-viewer"), store.rename("file-viewer", "mine")):
        with pytest.raises(ReadOnlyError, match="'file-viewer' is a shipped applet"):
            await change
    with pytest.raises(ReadOnlyError, match="duplicate it to change it"):
        await store.save(manifest(name="file-viewer"), {"index.html": PAGE})
    await store.delete("units")
    names = [i.name for i in await store.list()]
    assert names == ["file-viewer", "file-viewer-copy", "units-copy", "units-copy-2"]


# --- zip export and import -----------------------------------------------------------------------


async def test_export_then_import_gives_a_copy_under_a_free_name_without_data() -> None:
    store = new_store()
    await store.save(manifest(), {"index.html": PAGE})
    await store.vfs.write_text("user/applets/unit-converter/data/secret.txt", "mine")
    exported = await store.export_zip("unit-converter")
    assert exported == await store.export_zip("unit-converter")  # same bytes each time
    with zipfile.ZipFile(io.BytesIO(exported)) as archive:
        assert archive.namelist() == ["unit-converter/index.html", "unit-converter/manifest.json"]
    imported = await store.import_zip(exported)
    assert imported.name == "unit-converter-2"
    assert (await store.get("unit-converter-2")).entry == PAGE.decode()
    from_finder = {"__MACOSX/x/._index.html": b"junk", "x/index.html": PAGE}
    finder = zip_of(from_finder | {"x/manifest.json": json.dumps(VALID).encode()})
    assert (await store.import_zip(finder)).name == "unit-converter-3"
    flat = zip_of(
        {"manifest.json": json.dumps(VALID | {"name": "flat"}).encode(), "index.html": PAGE}
    )
    assert (await store.import_zip(flat)).name == "flat"


@pytest.mark.parametrize(
    ("files", "says"),
    [
        ({"../evil/manifest.json": b"{}", "../evil/index.html": PAGE}, "may not leave its folder"),
        ({"index.html": PAGE}, "holds no manifest.json"),
        ({"manifest.json": b"{", "index.html": PAGE}, "not valid JSON"),
        ({"manifest.json": json.dumps(VALID).encode()}, "its entry index.html is not among"),
    ],
)
async def test_a_bad_zip_is_refused_and_nothing_is_written(
    files: dict[str, bytes], says: str
) -> None:
    store = new_store()
    with pytest.raises(AppletError, match=says):
        await store.import_zip(zip_of(files))
    assert not await store.vfs.exists("user/applets") or not await store.list()


async def test_a_zip_bomb_and_non_zips_are_refused() -> None:
    store = new_store()
    bomb = zip_of({"manifest.json": json.dumps(VALID).encode(), "index.html": b"\0" * 11_000_000})
    assert len(bomb) < 50_000
    with pytest.raises(
        AppletError, match="unpacks to more than 10,000,000 bytes; nothing was imported"
    ):
        await store.import_zip(bomb)
    with pytest.raises(AppletError, match="not a zip archive"):
        await store.import_zip(b"not a zip")
    big = zip_of({"manifest.json": json.dumps(VALID).encode(), "index.html": b"x" * 6_000_000})
    with pytest.raises(AppletError, match="at most 5 MB"):
        await store.import_zip(big)
    assert not await store.vfs.exists("user/applets") or not await store.list()


def test_store_is_usable_from_sync_code() -> None:
    store = new_store()
    run(store.save(manifest(), {"index.html": PAGE}))
    assert [i.name for i in run(store.list())] == ["unit-converter"]
