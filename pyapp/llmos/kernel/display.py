"""Images a cell produces: PNG values, objects with ``_repr_png_()``, ``show()`` calls and
matplotlib figures.

The kernel session asks this module, after each cell, which images to hand back. User code may
call :func:`show` to display more than one image per cell.
"""

from __future__ import annotations

import base64
import io
import sys
from typing import Any

from llmos.kernel.png import SIGNATURE

_shown: list[bytes] = []


def is_png(data: bytes) -> bool:
    return data.startswith(SIGNATURE)


def png_of(value: Any) -> bytes | None:
    """The PNG bytes ``value`` stands for (PNG bytes themselves, or ``_repr_png_()``), else
    None. A failing ``_repr_png_`` raises, so the caller can say what went wrong."""
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        return data if is_png(data) else None
    if isinstance(value, type):  # a class's _repr_png_ is an unbound function
        return None
    method = getattr(value, "_repr_png_", None)
    if not callable(method):
        return None
    data = method()
    if isinstance(data, str):  # IPython also accepts base64 text
        data = base64.b64decode(data)
    return bytes(data) if isinstance(data, bytes | bytearray) and is_png(bytes(data)) else None


def show(value: Any) -> None:
    """Display ``value`` (PNG bytes, a chart, anything with ``_repr_png_()``) after the cell."""
    data = png_of(value)
    if data is None:
        raise TypeError(f"show() takes PNG bytes or an object with _repr_png_(), not {value!r}.")
    _shown.append(data)


def take_shown() -> list[bytes]:
    """The images :func:`show` collected since the last call."""
    taken = list(_shown)
    _shown.clear()
    return taken


def matplotlib_figures() -> list[bytes]:
    """Every open matplotlib figure as PNG, then closes them all; [] unless the code imported
    ``matplotlib.pyplot`` (never imports it here: that takes seconds)."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return []
    images = []
    try:
        for number in pyplot.get_fignums():
            buffer = io.BytesIO()
            pyplot.figure(number).savefig(buffer, format="png")
            images.append(buffer.getvalue())
    finally:
        pyplot.close("all")
    return images
