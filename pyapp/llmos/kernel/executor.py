"""Run a cell of Python like a console does: stream output, keep state, value of the last line.

Shared by the browser kernel (Pyodide in a sandboxed worker) and native code. Top-level
``await`` works. Interrupts arrive as ``KeyboardInterrupt`` (Pyodide's interrupt buffer, or
SIGINT natively) and are reported like any other error.
"""

from __future__ import annotations

import ast
import contextlib
import io
import linecache
import sys
import traceback
from collections.abc import Callable
from types import CodeType, TracebackType
from typing import Any, Literal, Protocol, TextIO, cast

from llmos.protocol import ExecError, Result

StreamName = Literal["stdout", "stderr"]
OnStream = Callable[[StreamName, str], None]

_FLAGS = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


class _StreamWriter(io.TextIOBase):
    """A text stream that forwards each write to a callback and keeps a copy."""

    def __init__(self, name: StreamName, on_stream: OnStream) -> None:
        self._name: StreamName = name
        self._on_stream = on_stream
        self.parts: list[str] = []

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if text:
            self.parts.append(text)
            self._on_stream(self._name, text)
        return len(text)

    def getvalue(self) -> str:
        return "".join(self.parts)


class Interrupts(Protocol):
    """Turns interrupt delivery on and off. The executor arms it only inside the ``try`` that
    reports errors, so a ``KeyboardInterrupt`` can never escape into the caller's machinery
    (in Pyodide that would be fatal to the interpreter)."""

    def arm(self) -> None: ...

    def disarm(self) -> None: ...


class _NoInterrupts:
    def arm(self) -> None:
        return None

    def disarm(self) -> None:
        return None


class Executor:
    """One namespace that successive cells share, as in a console."""

    def __init__(
        self, namespace: dict[str, Any] | None = None, interrupts: Interrupts | None = None
    ) -> None:
        self.interrupts = interrupts or _NoInterrupts()
        self.namespace: dict[str, Any] = namespace if namespace is not None else {}
        self.namespace.setdefault("__name__", "__main__")
        self._count = 0
        self.last_value: Any = None  # the last cell's value, for callers that show images

    async def run(self, code: str, on_stream: OnStream | None = None, id: str = "") -> Result:
        """Execute ``code``; never raises for errors in the code itself."""
        self._count += 1
        filename = f"<cell-{self._count}>"
        out = _StreamWriter("stdout", on_stream or _ignore)
        err = _StreamWriter("stderr", on_stream or _ignore)
        shown: str | None = None
        error: ExecError | None = None
        self.last_value = None
        with _redirect(cast(TextIO, out), cast(TextIO, err)):
            try:
                self.interrupts.arm()
                try:
                    body, last = _compile(code, filename)
                    await _eval(body, self.namespace)
                    if last is not None:
                        value = self.last_value = await _eval(last, self.namespace)
                        # inside the try: a __repr__ may print, or be interrupted
                        shown = None if value is None else _safe_repr(value)
                finally:
                    self.interrupts.disarm()
            except BaseException as exc:  # user code may raise anything, SystemExit included
                error = _describe(exc, filename)
                err.write(error["traceback"])
        return {
            "type": "result",
            "id": id,
            "stdout": out.getvalue(),
            "stderr": err.getvalue(),
            "result": shown,
            "error": error,
        }


def _ignore(name: StreamName, text: str) -> None:
    return None


@contextlib.contextmanager
def _redirect(out: TextIO, err: TextIO) -> Any:
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def _compile(code: str, filename: str) -> tuple[CodeType, CodeType | None]:
    """Compile all but a trailing expression as statements, the expression for its value."""
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    tree = ast.parse(code, filename, "exec", type_comments=False)
    last: CodeType | None = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        expr = ast.Expression(tree.body.pop().value)  # type: ignore[attr-defined]
        last = compile(expr, filename, "eval", flags=_FLAGS)
    return compile(tree, filename, "exec", flags=_FLAGS), last


async def _eval(code: CodeType, namespace: dict[str, Any]) -> Any:
    outcome = eval(code, namespace)
    if code.co_flags & 0x80:  # CO_COROUTINE: the cell used top-level await
        outcome = await outcome
    return outcome


def _describe(exc: BaseException, filename: str) -> ExecError:
    tb = _user_frames(exc.__traceback__, filename)
    lines = traceback.format_exception(type(exc), exc, tb)
    try:
        message = str(exc)
    except Exception as error:  # a broken __str__ must not hide the original error
        message = f"<str failed: {type(error).__name__}: {error}>"
    return {"type": type(exc).__name__, "message": message, "traceback": "".join(lines)}


def _user_frames(tb: TracebackType | None, filename: str) -> TracebackType | None:
    """Drop the executor's own frames so a traceback starts at the user's cell."""
    while tb is not None and tb.tb_frame.f_code.co_filename != filename:
        tb = tb.tb_next
    return tb


def _safe_repr(value: Any, limit: int = 100_000) -> str:
    try:
        text = repr(value)
    except Exception as error:  # a broken __repr__ must not break the console
        text = f"<repr failed: {type(error).__name__}: {error}>"
    return text if len(text) <= limit else text[:limit] + f"... [{len(text) - limit} more chars]"
