"""The pure-Python PNG encoder and the charts that work without matplotlib."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import pytest
from llmos.kernel import png


def decode(data: bytes) -> tuple[int, int, bytes]:
    """(width, height, RGB bytes) of an 8-bit RGB PNG; checks every chunk's CRC."""
    assert data.startswith(png.SIGNATURE)
    at, idat, size = len(png.SIGNATURE), b"", (0, 0)
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        tag, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(tag + body) & 0xFFFFFFFF, tag
        if tag == b"IHDR":
            width, height, depth, kind = struct.unpack(">IIBB", body[:10])
            assert (depth, kind) == (8, 2)
            size = (width, height)
        elif tag == b"IDAT":
            idat += body
        at += 12 + length
    raw, stride = zlib.decompress(idat), size[0] * 3 + 1
    assert all(raw[y * stride] == 0 for y in range(size[1]))  # filter "none" on every row
    pixels = b"".join(raw[y * stride + 1 : (y + 1) * stride] for y in range(size[1]))
    return size[0], size[1], pixels


def pixel(rgb: bytes, width: int, x: int, y: int) -> tuple[int, ...]:
    return tuple(rgb[(y * width + x) * 3 : (y * width + x) * 3 + 3])


def colours(chart: png.Chart) -> set[tuple[int, ...]]:
    _, _, rgb = decode(chart.data)
    return {tuple(rgb[i : i + 3]) for i in range(0, len(rgb), 3)}


def test_encode_round_trips_the_pixels() -> None:
    rgb = bytes(range(256))[: 4 * 3 * 3] + bytes(4 * 3 * 2 * 3 - 36)
    width, height, back = decode(png.encode(4, 6, rgb))
    assert (width, height, back) == (4, 6, rgb)


def test_encode_refuses_a_wrong_size() -> None:
    with pytest.raises(ValueError, match="2x2"):
        png.encode(2, 2, b"\x00" * 11)


def test_canvas_draws_lines_rects_and_digits() -> None:
    canvas = png.Canvas(20, 10)
    canvas.line(0, 0, 19, 9, png.BLUE)
    canvas.rect(15, 0, 40, 2, png.AXIS)  # clipped at the edge
    canvas.text(0, 4, "7x", png.AXIS, scale=1)  # "x" has no glyph: skipped
    width, _, rgb = decode(canvas.png())
    assert pixel(rgb, width, 0, 0) == png.BLUE
    assert pixel(rgb, width, 19, 9) == png.BLUE
    assert pixel(rgb, width, 19, 2) == png.AXIS
    assert pixel(rgb, width, 0, 4) == png.AXIS  # top-left of the 7
    assert pixel(rgb, width, 5, 5) == png.WHITE


def test_line_chart_of_the_first_primes() -> None:
    primes = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71]
    chart = png.line_chart(primes, width=300, height=200)
    assert chart._repr_png_() == chart.data
    width, height, _ = decode(chart.data)
    assert (width, height) == (300, 200) == (chart.width, chart.height)
    assert png.BLUE in colours(chart)
    assert png.line_chart(primes[::-1], width=300, height=200).data != chart.data
    assert repr(chart).startswith("<Chart 300x200 PNG")


def test_bar_chart_draws_negative_bars_below_zero() -> None:
    chart = png.bar_chart([3, -2], width=200, height=120)
    width, height, rgb = decode(chart.data)
    blue_rows = [
        y for y in range(height) if any(pixel(rgb, width, x, y) == png.BLUE for x in range(width))
    ]
    zero_row = [y for y in range(height) if pixel(rgb, width, width - 15, y) == png.AXIS]
    assert blue_rows[0] < zero_row[0] < blue_rows[-1]


def test_constant_values_and_single_values_still_draw() -> None:
    assert png.BLUE in colours(png.line_chart([5]))
    assert png.BLUE in colours(png.bar_chart([0, 0]))


@pytest.mark.parametrize("values", [[], [1.0, float("nan")], [float("inf")]])
def test_charts_refuse_values_they_cannot_show(values: list[float]) -> None:
    with pytest.raises(ValueError, match="chart"):
        png.line_chart(values)


def test_a_chart_saves_its_png(tmp_path: Path) -> None:
    chart = png.bar_chart([1, 2, 3])
    chart.save(tmp_path / "bars.png")
    assert (tmp_path / "bars.png").read_bytes() == chart.data
