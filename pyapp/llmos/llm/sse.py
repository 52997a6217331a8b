"""An incremental Server-Sent Events decoder (the ``text/event-stream`` framing LLM endpoints
stream in), following the WHATWG parsing rules.

Bytes may be split anywhere, including inside a UTF-8 character or between ``\\r`` and ``\\n``.
Lines end in LF, CRLF or CR; ``:`` lines are comments; ``data:`` lines of one event are joined
with ``\\n``; a blank line dispatches the event.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

_EOL = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class SseEvent:
    """One dispatched event. ``event`` is ``"message"`` unless the stream named it."""

    data: str
    event: str = "message"
    id: str = ""


class SseDecoder:
    """Feed it bytes as they arrive; it returns the events those bytes completed."""

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""
        self._skip_lf = False
        self._at_start = True
        self._data: list[str] = []
        self._event = ""
        self._id = ""

    def feed(self, chunk: bytes) -> list[SseEvent]:
        """Decode ``chunk`` and return every event it completed, in order."""
        return self._lines(self._text.decode(chunk))

    def close(self) -> list[SseEvent]:
        """End of stream: an event whose lines all ended but that lacks the final blank line is
        still dispatched; a half-received line is dropped (the stream was cut inside it)."""
        events = self._lines(self._text.decode(b"", final=True))
        if self._data and not self._pending:
            events.extend(self._dispatch())
        self._pending = ""
        return events

    def _lines(self, text: str) -> list[SseEvent]:
        if not text:
            return []
        if self._at_start:
            text = text.removeprefix("\ufeff")
            self._at_start = False
        if self._skip_lf:
            text = text.removeprefix("\n")
            self._skip_lf = False
        buffer = self._pending + text
        events: list[SseEvent] = []
        start = 0
        for end in _EOL.finditer(buffer):
            events.extend(self._line(buffer[start : end.start()]))
            start = end.end()
        self._pending = buffer[start:]
        self._skip_lf = buffer.endswith("\r") and not self._pending
        return events

    def _line(self, line: str) -> list[SseEvent]:
        if not line:
            return self._dispatch()
        if line.startswith(":"):
            return []
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        return []

    def _dispatch(self) -> list[SseEvent]:
        if not self._data:
            self._event = ""
            return []
        event = SseEvent("\n".join(self._data), self._event or "message", self._id)
        self._data = []
        self._event = ""
        return [event]
