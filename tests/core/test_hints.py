"""Import hints: a package this build lacks is named, with how to add it; real imports work."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from llmos.kernel import hints
from llmos.kernel.executor import Executor

MISSING = "llmos_test_missing_pkg"


@pytest.fixture(autouse=True)
def clean_meta_path() -> Iterator[None]:
    """Each test starts and ends without a MissingPackageFinder installed."""
    saved = list(sys.meta_path)
    sys.meta_path[:] = [f for f in saved if not isinstance(f, hints.MissingPackageFinder)]
    yield
    sys.meta_path[:] = saved


def test_known_missing_package_raises_with_how_to_add_it() -> None:
    hints.install({MISSING: "missing-dist"})
    with pytest.raises(ModuleNotFoundError) as caught:
        importlib.import_module(MISSING)
    message = str(caught.value)
    assert message.startswith(f"No module named '{MISSING}'")
    assert "does not include the Pyodide package 'missing-dist'" in message
    assert "python3 build.py build --pyodide-packages" in message
    assert "--packages missing-dist" in message
    assert caught.value.name == MISSING
    assert MISSING not in sys.modules


def test_import_statement_and_submodules_get_the_hint() -> None:
    hints.install({MISSING: "missing-dist"})
    with pytest.raises(ModuleNotFoundError, match="missing-dist"):
        exec(f"import {MISSING}.sub.deeper", {})
    with pytest.raises(ModuleNotFoundError, match="missing-dist"):
        exec(f"from {MISSING} import thing", {})


def test_import_name_and_package_name_may_differ() -> None:
    hints.install({"llmos_test_pil": "pillow"})
    with pytest.raises(ModuleNotFoundError, match="Pyodide package 'pillow'") as caught:
        importlib.import_module("llmos_test_pil.Image")
    assert "No module named 'llmos_test_pil'" in str(caught.value)


def test_unlisted_missing_modules_keep_the_plain_error() -> None:
    hints.install({MISSING: "missing-dist"})
    with pytest.raises(ModuleNotFoundError) as caught:
        importlib.import_module("llmos_test_other_missing")
    assert "build.py" not in str(caught.value)
    assert caught.value.name == "llmos_test_other_missing"


def test_real_modules_still_import_even_when_listed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "llmos_test_present.py").write_text("ANSWER = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "llmos_test_present", raising=False)
    monkeypatch.delitem(sys.modules, "colorsys", raising=False)
    hints.install({"llmos_test_present": "present-dist", "colorsys": "colorsys", "json": "json"})

    module = importlib.import_module("llmos_test_present")
    assert module.ANSWER == 42
    assert importlib.import_module("colorsys").rgb_to_hsv(1.0, 0.0, 0.0) == (0.0, 1.0, 1.0)
    assert importlib.import_module("json").loads("[1]") == [1]


def test_install_keeps_a_single_finder_last_on_meta_path() -> None:
    hints.install({MISSING: "first-dist"})
    finder = hints.install({"llmos_test_second": "second-dist"})
    finders = [f for f in sys.meta_path if isinstance(f, hints.MissingPackageFinder)]
    assert finders == [finder]
    assert sys.meta_path[-1] is finder
    with pytest.raises(ModuleNotFoundError, match="second-dist"):
        importlib.import_module("llmos_test_second")
    with pytest.raises(ModuleNotFoundError) as caught:
        importlib.import_module(MISSING)  # the old mapping is gone
    assert "first-dist" not in str(caught.value)


def test_install_copies_the_mapping() -> None:
    mapping = {MISSING: "missing-dist"}
    finder = hints.install(mapping)
    mapping.clear()
    assert finder.imports_to_package == {MISSING: "missing-dist"}


async def test_console_users_see_the_hint() -> None:
    hints.install({MISSING: "missing-dist"})
    result = await Executor().run(f"import {MISSING}")
    assert result["error"] is not None
    assert result["error"]["type"] == "ModuleNotFoundError"
    assert "build.py build --pyodide-packages" in result["error"]["message"]
    assert "build.py build --pyodide-packages" in result["stderr"]
