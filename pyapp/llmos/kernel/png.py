"""Charts without matplotlib: a tiny pure-Python PNG encoder and line and bar charts.

The browser kernel ships without compiled packages, so "plot the first 20 primes" must work with
the standard library alone: :func:`line_chart` and :func:`bar_chart` draw on a :class:`Canvas`
and return a :class:`Chart` whose ``_repr_png_()`` the kernel shows as an image.
"""

from __future__ import annotations

import itertools
import math
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SIGNATURE = b"\x89PNG\r\n\x1a\n"
Color = tuple[int, int, int]
WHITE: Color = (255, 255, 255)
AXIS: Color = (60, 60, 60)
GRID: Color = (225, 225, 225)
BLUE: Color = (31, 119, 180)

# 3x5 glyphs for axis labels, row by row ("1" = ink).
_FONT = {
    "0": "111101101101111",
    "1": "010110010010111",
    "2": "111001111100111",
    "3": "111001111001111",
    "4": "101101111001001",
    "5": "111100111001111",
    "6": "111100111101111",
    "7": "111001001001001",
    "8": "111101111101111",
    "9": "111101111001111",
    "-": "000000111000000",
    "+": "000010111010000",
    ".": "000000000000010",
    "e": "000111111100111",
    " ": "000000000000000",
}


def encode(width: int, height: int, rgb: bytes) -> bytes:
    """PNG bytes of an 8-bit RGB image given as ``width * height * 3`` bytes, row by row."""
    stride = width * 3
    if width < 1 or height < 1 or len(rgb) != stride * height:
        raise ValueError(f"{len(rgb)} bytes is not a {width}x{height} RGB image.")
    raw = b"".join(b"\x00" + rgb[y * stride : (y + 1) * stride] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw, 9))
        + _chunk(b"IEND", b"")
    )


def _chunk(tag: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(tag + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


class Canvas:
    """An RGB raster with just enough drawing for charts. (0, 0) is the top-left pixel."""

    def __init__(self, width: int, height: int, background: Color = WHITE) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(bytes(background) * (width * height))

    def point(self, x: int, y: int, color: Color) -> None:
        if 0 <= x < self.width and 0 <= y < self.height:
            at = (y * self.width + x) * 3
            self.pixels[at : at + 3] = bytes(color)

    def rect(self, x0: int, y0: int, x1: int, y1: int, color: Color) -> None:
        """Fill the rectangle between two corners, both included."""
        left, right = max(0, min(x0, x1)), min(self.width - 1, max(x0, x1))
        top, bottom = max(0, min(y0, y1)), min(self.height - 1, max(y0, y1))
        if left > right or top > bottom:
            return
        row = bytes(color) * (right - left + 1)
        for y in range(top, bottom + 1):
            at = (y * self.width + left) * 3
            self.pixels[at : at + len(row)] = row

    def line(self, x0: int, y0: int, x1: int, y1: int, color: Color, *, width: int = 1) -> None:
        """Bresenham's line; ``width`` > 1 draws a square pen of that size."""
        dx, dy = abs(x1 - x0), -abs(y1 - y0)
        sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
        err, half = dx + dy, (width - 1) // 2
        while True:
            self.rect(x0 - half, y0 - half, x0 - half + width - 1, y0 - half + width - 1, color)
            if x0 == x1 and y0 == y1:
                return
            double = 2 * err
            if double >= dy:
                err, x0 = err + dy, x0 + sx
            if double <= dx:
                err, y0 = err + dx, y0 + sy

    def text(self, x: int, y: int, text: str, color: Color, scale: int = 2) -> None:
        """Draw digits, ``-+.e`` and spaces (other characters are skipped) from (x, y)."""
        for char in text:
            glyph = _FONT.get(char)
            if glyph is None:
                continue
            for i, bit in enumerate(glyph):
                if bit == "1":
                    gx, gy = x + (i % 3) * scale, y + (i // 3) * scale
                    self.rect(gx, gy, gx + scale - 1, gy + scale - 1, color)
            x += 4 * scale

    def png(self) -> bytes:
        return encode(self.width, self.height, bytes(self.pixels))


@dataclass(frozen=True)
class Chart:
    """A finished chart: PNG bytes in ``data``, shown as an image when it is a cell's value."""

    data: bytes
    width: int
    height: int

    def _repr_png_(self) -> bytes:
        return self.data

    def save(self, path: str | Path) -> None:
        Path(path).write_bytes(self.data)

    def __repr__(self) -> str:
        return f"<Chart {self.width}x{self.height} PNG, {len(self.data)} bytes>"


@dataclass(frozen=True)
class _Frame:
    """The plot area inside the margins and the value range it maps to pixel rows."""

    left: int
    top: int
    right: int
    bottom: int
    low: float
    high: float

    def y(self, value: float) -> int:
        share = (value - self.low) / (self.high - self.low)
        return round(self.bottom - share * (self.bottom - self.top))


def _values(values: Iterable[float]) -> list[float]:
    found = [float(v) for v in values]
    if not found:
        raise ValueError("A chart needs at least one value.")
    if not all(math.isfinite(v) for v in found):
        raise ValueError("A chart can only show finite numbers (no NaN or infinity).")
    return found


def _label(value: float) -> str:
    return str(int(value)) if value == int(value) and abs(value) < 1e15 else f"{value:.3g}"


def _frame(canvas: Canvas, low: float, high: float, count: int) -> _Frame:
    """Draw axes, grid lines and min/max labels; return the plot area."""
    if low == high:
        low, high = low - 1, high + 1
    labels = [_label(high), _label(low)]
    left = 16 + 8 * max(len(t) for t in labels)
    frame = _Frame(left, 14, canvas.width - 14, canvas.height - 30, low, high)
    for value, label in zip((high, low), labels, strict=True):
        y = frame.y(value)
        canvas.line(frame.left, y, frame.right, y, GRID)
        canvas.text(frame.left - 8 - 8 * len(label), y - 5, label, AXIS)
    canvas.line(frame.left, frame.top, frame.left, frame.bottom, AXIS)
    canvas.line(frame.left, frame.bottom, frame.right, frame.bottom, AXIS)
    canvas.text(frame.left, frame.bottom + 8, "0", AXIS)
    last = str(count - 1)
    canvas.text(frame.right - 8 * len(last) + 2, frame.bottom + 8, last, AXIS)
    return frame


def line_chart(
    values: Iterable[float], width: int = 480, height: int = 320, color: Color = BLUE
) -> Chart:
    """A line through ``values`` (x is the index), with a dot on each point."""
    found = _values(values)
    canvas = Canvas(width, height)
    frame = _frame(canvas, min(found), max(found), len(found))
    step = (frame.right - frame.left - 8) / max(1, len(found) - 1)
    points = [(round(frame.left + 4 + i * step), frame.y(v)) for i, v in enumerate(found)]
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        canvas.line(x0, y0, x1, y1, color, width=2)
    for x, y in points:
        canvas.rect(x - 2, y - 2, x + 2, y + 2, color)
    return Chart(canvas.png(), width, height)


def bar_chart(
    values: Iterable[float], width: int = 480, height: int = 320, color: Color = BLUE
) -> Chart:
    """One bar per value, drawn from zero (or from the range's edge when zero is outside it)."""
    found = _values(values)
    canvas = Canvas(width, height)
    frame = _frame(canvas, min(0.0, *found), max(0.0, *found), len(found))
    slot = (frame.right - frame.left - 2) / len(found)
    base = frame.y(min(max(0.0, frame.low), frame.high))
    canvas.line(frame.left, base, frame.right, base, AXIS)
    for i, value in enumerate(found):
        x0 = round(frame.left + 2 + i * slot + slot * 0.1)
        x1 = max(x0, round(frame.left + 2 + (i + 1) * slot - slot * 0.1) - 1)
        canvas.rect(x0, base, x1, frame.y(value), color)
    return Chart(canvas.png(), width, height)
