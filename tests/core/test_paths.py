"""Path rules: every path is normalised or refused before any storage is touched."""

from __future__ import annotations

from typing import Any

import pytest
from llmos.errors import PathError
from llmos.vfs import paths


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("", ""),
        (".", ""),
        ("notes.md", "notes.md"),
        ("a/b/c.txt", "a/b/c.txt"),
        ("a//b///c.txt", "a/b/c.txt"),
        ("./a/./b/", "a/b"),
        ("a/b/", "a/b"),
        ("My Notes/draft v2.md", "My Notes/draft v2.md"),
        ("café/日本語.txt", "café/日本語.txt"),
        (".hidden/.gitignore", ".hidden/.gitignore"),
        ("a..b/c...d.txt", "a..b/c...d.txt"),
    ],
)
def test_valid_paths_are_normalised(raw: str, clean: str) -> None:
    assert paths.normalize(raw) == clean


@pytest.mark.parametrize("raw", ["..", "../x", "a/../b", "a/b/..", "user/../../etc/passwd", "./.."])
def test_parent_traversal_is_refused(raw: str) -> None:
    with pytest.raises(PathError, match=r"leaves its folder with '\.\.'"):
        paths.normalize(raw)


@pytest.mark.parametrize(
    "raw", ["/etc/passwd", "/", "//server/share", "~/secrets", "~", "C:/Windows", "c:x", "Z:"]
)
def test_absolute_paths_and_drive_letters_are_refused(raw: str) -> None:
    with pytest.raises(PathError, match="is absolute: use a path inside the volume"):
        paths.normalize(raw)


@pytest.mark.parametrize("raw", ["a\x00b", "notes.md\x00.txt", "\x00"])
def test_nul_byte_is_refused(raw: str) -> None:
    with pytest.raises(PathError, match="NUL byte"):
        paths.normalize(raw)


@pytest.mark.parametrize(
    ("raw", "bad"),
    [
        ("a\\b", "\\"),
        ("..\\..\\windows", "\\"),
        ("ab:c", ":"),
        ("what?.txt", "?"),
        ("star*.md", "*"),
        ('say "hi".txt', '"'),
        ("<tag>.html", "<>"),
        ("pipe|name", "|"),
        ("tab\there", "\t"),
        ("line\nbreak", "\n"),
        ("bell\x07", "\x07"),
    ],
)
def test_forbidden_characters_are_refused_and_named(raw: str, bad: str) -> None:
    with pytest.raises(PathError, match="characters a file name cannot hold") as caught:
        paths.normalize(raw)
    for char in bad:
        assert repr(char) in str(caught.value)


@pytest.mark.parametrize("raw", ["name.", "folder./x", " lead", "trail ", "a/ b/c", "dots..."])
def test_leading_or_trailing_spaces_and_trailing_dots_are_refused(raw: str) -> None:
    with pytest.raises(PathError, match="starts or ends with a space or ends with a dot"):
        paths.normalize(raw)


def test_overlong_names_and_paths_are_refused() -> None:
    assert paths.normalize("n" * paths.MAX_NAME_LENGTH) == "n" * paths.MAX_NAME_LENGTH
    with pytest.raises(PathError, match="longer than 255 characters"):
        paths.normalize("n" * (paths.MAX_NAME_LENGTH + 1))
    deep = "/".join(["abcdefghi"] * 102)  # 1019 characters
    assert paths.normalize(deep) == deep
    with pytest.raises(PathError, match="longer than 1024 characters"):
        paths.normalize(deep + "/abcdef")


@pytest.mark.parametrize("raw", [None, b"notes.md", 42, ["a"]])
def test_non_text_paths_are_refused(raw: Any) -> None:
    with pytest.raises(PathError, match="must be text"):
        paths.normalize(raw)


def test_path_error_has_a_stable_code() -> None:
    with pytest.raises(PathError) as caught:
        paths.normalize("../x")
    assert caught.value.code == "bad_path"


def test_join_normalises_and_still_refuses_traversal() -> None:
    assert paths.join("a", "", "b/", "./c.txt") == "a/b/c.txt"
    assert paths.join() == ""
    with pytest.raises(PathError):
        paths.join("a", "..", "b")
    with pytest.raises(PathError):
        paths.join("/etc", "passwd")


@pytest.mark.parametrize(
    ("path", "parent", "name"),
    [("a/b/c.txt", "a/b", "c.txt"), ("a/b", "a", "b"), ("top.txt", "", "top.txt"), ("", "", "")],
)
def test_parent_and_basename(path: str, parent: str, name: str) -> None:
    assert paths.parent(path) == parent
    assert paths.basename(path) == name
