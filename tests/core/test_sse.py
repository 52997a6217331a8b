"""The SSE decoder: the event-stream framing rules, whatever the chunk boundaries."""

from __future__ import annotations

import pytest
from llmos.llm.sse import SseDecoder, SseEvent


def decode(*chunks: bytes) -> list[SseEvent]:
    decoder = SseDecoder()
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    return events + decoder.close()


def every_split(data: bytes) -> list[list[SseEvent]]:
    """Decode ``data`` cut in two at every position, and one byte at a time."""
    results = [decode(data[:at], data[at:]) for at in range(len(data) + 1)]
    results.append(decode(*(data[i : i + 1] for i in range(len(data)))))
    return results


STREAM = (
    "\ufeff: a comment\r\n"
    "event: note\r\n"
    "data: first line\r\n"
    "data:second line\r\n"
    "id: 7\r\n"
    "\r\n"
    'data: {"x": "h\u00e9llo \u2603"}\r'
    "\r"
    "data: [DONE]\n"
    "\n"
).encode()


def test_fields_comments_and_line_endings() -> None:
    """The last event id carries over to later events, as the standard says."""
    assert decode(STREAM) == [
        SseEvent("first line\nsecond line", "note", "7"),
        SseEvent('{"x": "h\u00e9llo \u2603"}', "message", "7"),
        SseEvent("[DONE]", "message", "7"),
    ]


def test_chunk_boundaries_anywhere_give_the_same_events() -> None:
    expected = decode(STREAM)
    for events in every_split(STREAM):
        assert events == expected


def test_crlf_split_between_cr_and_lf_is_one_line_end() -> None:
    decoder = SseDecoder()
    assert decoder.feed(b"data: a\r") == []
    assert decoder.feed(b"\n") == []
    assert decoder.feed(b"\r") == [SseEvent("a")]
    assert decoder.feed(b"\ndata: b\n\n") == [SseEvent("b")]


@pytest.mark.parametrize(
    ("stream", "data"),
    [
        (b"data\n\n", ""),
        (b"data:\n\n", ""),
        (b"data:  two spaces\n\n", " two spaces"),
        (b"data: a\ndata:\ndata: b\n\n", "a\n\nb"),
        (b"data: x: y\n\n", "x: y"),
    ],
)
def test_data_field_values(stream: bytes, data: str) -> None:
    assert decode(stream) == [SseEvent(data)]


def test_unknown_fields_comments_and_empty_events_are_ignored() -> None:
    stream = b": keep-alive\n\nretry: 100\nfoo: bar\n\nevent: lonely\n\ndata: real\n\n"
    assert decode(stream) == [SseEvent("real")]


def test_event_name_applies_to_one_event_only() -> None:
    assert decode(b"event: error\ndata: a\n\ndata: b\n\n") == [
        SseEvent("a", "error"),
        SseEvent("b"),
    ]


def test_close_dispatches_finished_lines_and_drops_a_cut_line() -> None:
    assert decode(b"data: complete\n") == [SseEvent("complete")]
    assert decode(b'data: complete\ndata: {"cut') == []
    assert decode(b'data: {"cut') == []


def test_invalid_utf8_is_replaced_not_raised() -> None:
    assert decode(b"data: \xff\xfe ok\n\n") == [SseEvent("\ufffd\ufffd ok")]
