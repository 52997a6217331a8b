"""Which values a cell shows as images: PNG bytes, ``_repr_png_()``, show() and matplotlib."""

from __future__ import annotations

import base64
import sys
from typing import Any

import pytest
from llmos.kernel import display, png

PNG = png.bar_chart([1, 2]).data


class Picture:
    def __init__(self, data: Any) -> None:
        self.data = data

    def _repr_png_(self) -> Any:
        return self.data


class Broken:
    def _repr_png_(self) -> bytes:
        raise RuntimeError("no picture today")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (PNG, PNG),
        (bytearray(PNG), PNG),
        (memoryview(PNG), PNG),
        (b"GIF89a...", None),
        (png.line_chart([1]), png.line_chart([1]).data),
        (Picture(PNG), PNG),
        (Picture(base64.b64encode(PNG).decode()), PNG),  # IPython's base64 form
        (Picture(b"not a png"), None),
        (Picture(None), None),
        (Picture, None),  # the class itself, not an instance
        ("text", None),
        (None, None),
    ],
)
def test_png_of(value: Any, expected: bytes | None) -> None:
    assert display.png_of(value) == expected


def test_a_failing_repr_png_raises_for_the_caller_to_report() -> None:
    with pytest.raises(RuntimeError, match="no picture today"):
        display.png_of(Broken())


def test_show_collects_images_until_taken() -> None:
    display.take_shown()
    display.show(PNG)
    display.show(png.line_chart([3, 1]))
    taken = display.take_shown()
    assert taken[0] == PNG
    assert display.is_png(taken[1])
    assert display.take_shown() == []


def test_show_refuses_what_is_not_an_image() -> None:
    with pytest.raises(TypeError, match="show"):
        display.show("a string")


def test_no_figures_unless_the_code_imported_pyplot() -> None:
    if "matplotlib.pyplot" in sys.modules:
        pytest.skip("another test imported pyplot")
    assert display.matplotlib_figures() == []
