"""The kernel's workspace and session: files in before a run, changed files and images after."""

from __future__ import annotations

import base64
import os
import textwrap
from pathlib import Path

import pytest
from llmos.errors import PathError
from llmos.kernel import display, png, workspace
from llmos.kernel.session import Session
from llmos.kernel.workspace import Limits, Workspace


@pytest.mark.parametrize("path", ["../x", "a/../../b", "/etc/passwd", "", ".", "a/.."])
def test_paths_outside_the_workspace_are_refused(path: str) -> None:
    with pytest.raises(PathError):
        workspace.relative(path)


def test_paths_are_normalised() -> None:
    assert workspace.relative("a//b/./c.txt") == "a/b/c.txt"


def test_write_creates_folders_and_checks_every_path_first(tmp_path: Path) -> None:
    space = Workspace(tmp_path / "ws")
    space.write({"data/in.csv": b"1,2\n"})
    assert (tmp_path / "ws/data/in.csv").read_bytes() == b"1,2\n"
    with pytest.raises(PathError):
        space.write({"fine.txt": b"x", "../escape.txt": b"x"})
    assert not (tmp_path / "ws/fine.txt").exists()
    assert not (tmp_path / "escape.txt").exists()


def test_changes_are_new_or_modified_files_only(tmp_path: Path) -> None:
    space = Workspace(tmp_path)
    space.write({"same.txt": b"old", "edited.txt": b"aaa", "deep/kept.txt": b"k"})
    before = space.scan()
    stamp = (tmp_path / "edited.txt").stat()
    (tmp_path / "edited.txt").write_bytes(b"bbb")
    # Same size and, as with a coarse clock (ms in the browser), the same mtime: found by hash.
    os.utime(tmp_path / "edited.txt", ns=(stamp.st_atime_ns, stamp.st_mtime_ns))
    (tmp_path / "deep/new.bin").write_bytes(b"\x00\x01")
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__/mod.pyc").write_bytes(b"pyc")
    assert space.changed(before) == ["deep/new.bin", "edited.txt"]


def test_symlinks_are_not_followed_out_of_the_workspace(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("outside")
    space = Workspace(tmp_path / "ws")
    before = space.scan()
    os.symlink(tmp_path / "secret.txt", tmp_path / "ws/link.txt")
    assert space.changed(before) == []


def test_collect_leaves_out_big_files_and_says_so(tmp_path: Path) -> None:
    space = Workspace(tmp_path)
    space.write({"a.bin": b"a" * 40, "b.bin": b"b" * 40, "big.bin": b"c" * 101, "c.txt": b"c"})
    files, notes = space.collect(["a.bin", "b.bin", "big.bin", "c.txt"], Limits(100, 60))
    assert files == {"a.bin": b"a" * 40, "c.txt": b"c"}
    assert len(notes) == 2
    assert "b.bin not returned" in notes[0]
    assert "in all" in notes[0]
    assert "big.bin not returned" in notes[1]
    assert "per-file limit" in notes[1]


def test_files_cross_the_protocol_as_base64() -> None:
    files = {"x.bin": bytes(range(256))}
    assert workspace.decode_files(workspace.encode_files(files)) == files
    with pytest.raises(ValueError, match="base64"):
        workspace.decode_files({"x": "not base64!"})


# --- session ------------------------------------------------------------------------------------


@pytest.fixture
def session(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Session:
    monkeypatch.chdir(tmp_path)
    return Session(tmp_path, limits=Limits(file_bytes=10_000, total_bytes=50_000))


async def test_code_reads_files_sent_in_and_its_own_files_come_back(session: Session) -> None:
    code = """
    import pathlib
    text = pathlib.Path("data/in.txt").read_text()
    pathlib.Path("out").mkdir()
    pathlib.Path("out/upper.txt").write_text(text.upper())
    len(text)
    """
    result = await session.run(textwrap.dedent(code), {"data/in.txt": b"hello"})
    assert result["error"] is None, result["stderr"]
    assert result["result"] == "5"
    assert result["files"] == {"out/upper.txt": base64.b64encode(b"HELLO").decode()}
    assert result["images"] == []


async def test_a_chart_as_last_value_is_an_image(session: Session) -> None:
    result = await session.run("from llmos.kernel.png import line_chart\nline_chart([2, 3, 5, 7])")
    assert result["result"] is not None
    assert result["result"].startswith("<Chart")
    [image] = result["images"]
    assert base64.b64decode(image) == png.line_chart([2, 3, 5, 7]).data


async def test_shown_images_and_png_files_are_images_once_each(session: Session) -> None:
    code = """
    from llmos.kernel.display import show
    from llmos.kernel.png import bar_chart
    show(bar_chart([1]))
    bar_chart([2]).save("two.png")
    bar_chart([2])
    """
    result = await session.run(textwrap.dedent(code))
    images = [base64.b64decode(i) for i in result["images"]]
    assert images == [png.bar_chart([1]).data, png.bar_chart([2]).data]
    assert list(result["files"]) == ["two.png"]


async def test_left_out_files_and_broken_images_are_noted_in_stderr(session: Session) -> None:
    streamed: list[tuple[str, str]] = []
    code = """
    __import__("pathlib").Path("huge.bin").write_bytes(b"x" * 20_000)
    class Broken:
        def _repr_png_(self):
            raise RuntimeError("no picture")
    Broken()
    """
    result = await session.run(
        textwrap.dedent(code), on_stream=lambda n, t: streamed.append((n, t))
    )
    assert result["files"] == {}
    assert "[llmos] huge.bin not returned: 0.0 MB is over the per-file limit" in result["stderr"]
    assert "the value's image not shown: RuntimeError: no picture" in result["stderr"]
    assert ("stderr", result["stderr"]) in streamed


async def test_a_failed_cell_still_returns_its_files_but_not_its_value(session: Session) -> None:
    code = "import pathlib\npathlib.Path('part.txt').write_text('so far')\nraise ValueError('x')"
    result = await session.run(code)
    assert result["error"] is not None
    assert result["error"]["type"] == "ValueError"
    assert list(result["files"]) == ["part.txt"]


async def test_a_bad_path_is_refused_and_the_code_does_not_run(session: Session) -> None:
    result = await session.run(
        "import pathlib\npathlib.Path('ran.txt').touch()", {"../up.txt": b"x"}
    )
    assert result["error"] is not None
    assert result["error"]["type"] == "PathError"
    assert "did not run" in result["stderr"]
    assert not (session.workspace.root / "ran.txt").exists()


async def test_images_shown_outside_a_run_are_not_reported(session: Session) -> None:
    display.show(png.bar_chart([9]))
    result = await session.run("1")
    assert result["images"] == []
