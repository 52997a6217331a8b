"""The native sandbox process: ``python -m llmos.kernel.stdio_main`` in its workspace folder.

Speaks :mod:`llmos.protocol` as JSON lines: ``execute`` messages (with ``files``, {path:
base64}) in on stdin; ``status``, ``stream`` and ``result`` messages out on stdout. Both are
moved to private descriptors at start, so user code that reads stdin, prints at the descriptor
level or starts programs cannot corrupt the channel: fd 0 becomes /dev/null and fd 1 joins
stderr, which the parent forwards as output. SIGINT interrupts the running cell only.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any, BinaryIO

from llmos.kernel import workspace
from llmos.kernel.executor import Executor, StreamName
from llmos.kernel.session import Session, SessionResult, refused

Send = Callable[[dict[str, Any]], None]


class SignalInterrupts:
    """SIGINT raises ``KeyboardInterrupt`` only while a cell runs. One that lands between
    reading a request and running its cell is kept and raised as the cell starts; one left
    over from an earlier run is dropped when the next request is read."""

    def __init__(self) -> None:
        self.pending = False
        self.disarm()

    def _keep(self, signum: int, frame: FrameType | None) -> None:
        self.pending = True

    def clear(self) -> None:
        self.pending = False

    def arm(self) -> None:
        # Python's own handler raises from C, so tracebacks end in the user's code.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        if self.pending:
            self.pending = False
            raise KeyboardInterrupt

    def disarm(self) -> None:
        signal.signal(signal.SIGINT, self._keep)


def claim_channel() -> tuple[BinaryIO, BinaryIO]:
    """Move the protocol off fds 0 and 1 (see the module docstring); returns (reader, writer)."""
    reader = os.fdopen(os.dup(0), "rb")
    writer = os.fdopen(os.dup(1), "wb")
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    return reader, writer


def sender(writer: BinaryIO) -> Send:
    """A thread-safe writer of one JSON message per line (threads in user code may print)."""
    lock = threading.Lock()

    def send(message: dict[str, Any]) -> None:
        line = json.dumps(message).encode("utf-8") + b"\n"
        with lock:
            writer.write(line)
            writer.flush()

    return send


def run_one(
    loop: asyncio.AbstractEventLoop, session: Session, message: dict[str, Any], send: Send
) -> SessionResult:
    """Run one ``execute`` message to its result, streaming output as it is printed."""
    id = str(message.get("id", ""))

    def on_stream(name: StreamName, text: str) -> None:
        send({"type": "stream", "id": id, "name": name, "text": text})

    try:
        files = workspace.decode_files(message.get("files") or {})
    except ValueError as error:
        return refused(id, error, on_stream)
    task = loop.create_task(session.run(str(message["code"]), files, on_stream, id=id))
    interrupted = False
    while True:
        try:
            result = loop.run_until_complete(task)
            break
        except KeyboardInterrupt:
            # The signal landed in the event loop while the cell awaited: cancel the cell.
            interrupted = True
            task.cancel()
    if interrupted and result["error"] and result["error"]["type"] == "CancelledError":
        result["error"]["type"] = "KeyboardInterrupt"
    return result


def serve(reader: BinaryIO, send: Send) -> None:
    """Answer ``execute`` messages until stdin closes."""
    interrupts = SignalInterrupts()
    session = Session(os.getcwd(), Executor(interrupts=interrupts))
    sys.path.insert(0, os.getcwd())  # user modules in the workspace import like a script's
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    send({"type": "status", "state": "idle", "detail": "ready", "pid": os.getpid()})
    for line in reader:
        message = json.loads(line)
        if message.get("type") != "execute":
            continue
        interrupts.clear()
        send(dict(run_one(loop, session, message, send)))


def main() -> None:
    reader, writer = claim_channel()
    serve(reader, sender(writer))


if __name__ == "__main__":
    main()
