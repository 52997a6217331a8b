"""Vendoring packages from an official Pyodide distribution (``build.py --pyodide-packages``).

The real distribution is hundreds of MB, so these tests build a tiny one: a pyodide-lock.json
whose ``info`` is this build's own, and three pure-Python wheels (``tinyplot`` needs ``tinyfmt``
and ``Tiny_Base``; ``tinyfmt`` needs ``Tiny_Base``, whose lock key ``tiny-base`` is not its
name, like Pillow's).
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser

import build

# lock key -> (name, imports, depends, {path in the wheel: source})
FIXTURE_PACKAGES: dict[str, tuple[str, list[str], list[str], dict[str, str]]] = {
    "tiny-base": ("Tiny_Base", ["tinybase"], [], {"tinybase/__init__.py": "BASE = 40\n"}),
    "tinyfmt": (
        "tinyfmt",
        ["tinyfmt"],
        ["tiny-base"],
        {"tinyfmt/__init__.py": 'from tinybase import BASE\n\nVALUE = f"tinyfmt {BASE + 2}"\n'},
    ),
    "tinyplot": (
        "tinyplot",
        ["tinyplot"],
        ["tinyfmt", "Tiny.Base"],
        {"tinyplot/__init__.py": "import tinyfmt\n"},
    ),
}
EXPECTED_VALUE = "'tinyfmt 42'"


def _wheel(folder: Path, name: str, files: dict[str, str], depends: list[str]) -> Path:
    """A reproducible pure-Python wheel."""
    dist_info = f"{name}-1.0.0.dist-info"
    requires = "".join(f"Requires-Dist: {dep}\n" for dep in depends)
    entries = {
        **files,
        f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0.0\n{requires}",
        f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    entries[f"{dist_info}/RECORD"] = "".join(
        f"{path},,\n" for path in [*entries, f"{dist_info}/RECORD"]
    )
    path = folder / f"{name.lower().replace('-', '_')}-1.0.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, text in entries.items():
            archive.writestr(zipfile.ZipInfo(member, build.FIXED_ZIP_TIME), text)
    return path


def lock_entry(wheel: Path, name: str, imports: list[str], depends: list[str]) -> dict[str, Any]:
    """The entry of a Pyodide lock for ``wheel``, version 1.0.0."""
    return {
        "name": name,
        "version": "1.0.0",
        "file_name": wheel.name,
        "install_dir": "site",
        "sha256": build.sha256_of(wheel),
        "package_type": "package",
        "imports": imports,
        "depends": depends,
        "unvendored_tests": False,
    }


def make_distribution(folder: Path) -> Path:
    """A minimal Pyodide distribution: this build's lock ``info`` and the fixture wheels."""
    folder.mkdir(parents=True, exist_ok=True)
    upstream = json.loads((build.NODE / "pyodide" / "pyodide-lock.json").read_text())
    packages: dict[str, Any] = {}
    for key, (name, imports, depends, files) in FIXTURE_PACKAGES.items():
        packages[key] = lock_entry(_wheel(folder, name, files, depends), name, imports, depends)
    lock = {"info": upstream["info"], "packages": packages}
    (folder / "pyodide-lock.json").write_text(json.dumps(lock, indent=1))
    return folder


def edit_lock(folder: Path, edit: Any) -> None:
    lock = json.loads((folder / "pyodide-lock.json").read_text())
    edit(lock)
    (folder / "pyodide-lock.json").write_text(json.dumps(lock))


@pytest.fixture(scope="module")
def distribution(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_distribution(tmp_path_factory.mktemp("pyodide-dist"))


@pytest.fixture
def distribution_copy(distribution: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(distribution, tmp_path / "dist-copy"))


def test_dependencies_come_first_and_names_match_as_pyodide_matches_them(
    distribution: Path,
) -> None:
    lock = json.loads((distribution / "pyodide-lock.json").read_text())
    assert build.resolve_pyodide_packages(lock, ["tinyfmt"]) == ["tiny-base", "tinyfmt"]
    assert build.resolve_pyodide_packages(lock, ["TinyPlot", "Tiny_Base"]) == [
        "tiny-base",
        "tinyfmt",
        "tinyplot",
    ]


def test_vendoring_from_a_folder_copies_verified_files(distribution: Path, tmp_path: Path) -> None:
    entries = build.vendor_pyodide_packages(str(distribution), ["tinyfmt"], tmp_path)
    assert [e["name"] for e in entries] == ["tiny-base", "tinyfmt"]
    for entry in entries:
        assert build.sha256_of(tmp_path / entry["file_name"]) == entry["sha256"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(e["file_name"] for e in entries)


def test_a_file_failing_its_sha256_check_is_refused(
    distribution_copy: Path, tmp_path: Path
) -> None:
    wheel = next(distribution_copy.glob("tiny_base-*.whl"))
    wheel.write_bytes(wheel.read_bytes() + b"tampered")
    out = tmp_path / "out"
    with pytest.raises(SystemExit, match=rf"{wheel.name} .*fails its sha256 check"):
        build.vendor_pyodide_packages(str(distribution_copy), ["tinyfmt"], out)
    assert not (out / wheel.name).exists()


def test_a_distribution_for_another_python_is_refused(
    distribution_copy: Path, tmp_path: Path
) -> None:
    edit_lock(distribution_copy, lambda lock: lock["info"].update(python="3.12.7"))
    with pytest.raises(SystemExit, match=r"is for Python 3\.12\.7, but this build's Pyodide runs"):
        build.vendor_pyodide_packages(str(distribution_copy), ["tinyfmt"], tmp_path)


def test_an_unknown_package_or_dependency_is_refused(
    distribution_copy: Path, tmp_path: Path
) -> None:
    with pytest.raises(SystemExit, match="has no package 'nosuchpkg'"):
        build.vendor_pyodide_packages(str(distribution_copy), ["nosuchpkg"], tmp_path)
    edit_lock(distribution_copy, lambda lock: lock["packages"].pop("tiny-base"))
    with pytest.raises(SystemExit, match=r"no package 'tiny-base' \(a dependency of 'tinyfmt'\)"):
        build.vendor_pyodide_packages(str(distribution_copy), ["tinyfmt"], tmp_path)


def test_packages_without_a_distribution_are_refused() -> None:
    with pytest.raises(SystemExit, match="--packages needs --pyodide-packages"):
        build.main(["build", "--packages", "numpy"])


def test_vendoring_from_a_url(distribution: Path, tmp_path: Path) -> None:
    server = build.serve_in_background(root=distribution, port=0)
    try:
        entries = build.vendor_pyodide_packages(server.url + "/", ["tinyplot"], tmp_path)
        assert [e["name"] for e in entries] == ["tiny-base", "tinyfmt", "tinyplot"]
        for entry in entries:
            assert build.sha256_of(tmp_path / entry["file_name"]) == entry["sha256"]
        with pytest.raises(SystemExit, match=r"Cannot read pyodide-lock\.json from"):
            build.vendor_pyodide_packages(server.url + "/missing/", ["tinyfmt"], tmp_path)
    finally:
        server.stop()


# --- a whole build with vendored packages ------------------------------------------------------
@pytest.fixture(scope="module")
def site(distribution: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A full build (not the shared dist/) with ``tinyfmt`` vendored from the fixture."""
    out = tmp_path_factory.mktemp("site")
    build.build(out=out, pyodide_packages=str(distribution), packages=["tinyfmt"])
    return out


def test_build_ships_the_vendored_wheels_in_its_lock(site: Path, distribution: Path) -> None:
    lock = json.loads((site / "pyodide" / "pyodide-lock.json").read_text())
    source = json.loads((distribution / "pyodide-lock.json").read_text())["packages"]
    for key in ("tiny-base", "tinyfmt"):
        assert lock["packages"][key]["sha256"] == source[key]["sha256"]
        assert (site / "pyodide" / source[key]["file_name"]).is_file()
    assert "tinyplot" not in lock["packages"]
    assert not (site / "pyodide" / source["tinyplot"]["file_name"]).exists()
    assert {"llmos", "micropip"} <= set(lock["packages"])
    for key, entry in lock["packages"].items():
        file = site / "pyodide" / entry["file_name"]
        assert hashlib.sha256(file.read_bytes()).hexdigest() == entry["sha256"], key
        for dep in entry["depends"]:  # Pyodide looks dependencies up by lock key
            assert re.sub(r"[-_.]+", "-", dep).lower() in lock["packages"], (key, dep)
    build_info = (site / "bridges" / "build-info.mjs").read_text()
    assert '"numpy": "numpy"' in build_info  # still missing, so the kernel explains it


@pytest.fixture(scope="module")
def site_server(site: Path) -> Iterator[build.Background]:
    server = build.serve_in_background(root=site, port=0)
    yield server
    server.stop()


def test_the_kernel_imports_a_vendored_package_and_explains_a_missing_one(
    browser: Browser, site_server: build.Background
) -> None:
    context = browser.new_context()
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(site_server.url + "/")
        page.evaluate("window.llmos.ready")
        found = page.evaluate("window.llmos.exec('import tinyfmt\\ntinyfmt.VALUE')")
        missing = page.evaluate("window.llmos.exec('import numpy')")
    finally:
        context.close()
    assert found["error"] is None, found["error"]
    assert found["result"] == EXPECTED_VALUE
    assert missing["error"]["type"] == "ModuleNotFoundError"
    assert "does not include the Pyodide package 'numpy'" in missing["error"]["message"]
    assert "--pyodide-packages" in missing["error"]["message"]
    assert not errors, errors
    assert any(url.endswith(".whl") and "tinyfmt" in url for url in requests), requests
    outside = [
        url
        for url in requests
        if urlsplit(url).scheme not in ("data", "blob", "about")
        and urlsplit(url).hostname != "127.0.0.1"
    ]
    assert not outside, outside
