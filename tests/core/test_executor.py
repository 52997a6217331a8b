"""The executor behind the Python console: output, values, state, await and errors."""

from __future__ import annotations

import sys
import textwrap

from llmos.kernel.executor import Executor, StreamName
from llmos.protocol import ExecError, Result


class Streams:
    """Records ``on_stream`` calls, merging consecutive writes to the same stream."""

    def __init__(self) -> None:
        self.calls: list[tuple[StreamName, str]] = []

    def __call__(self, name: StreamName, text: str) -> None:
        self.calls.append((name, text))

    def merged(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for name, text in self.calls:
            if out and out[-1][0] == name:
                out[-1] = (name, out[-1][1] + text)
            else:
                out.append((name, text))
        return out


async def run(executor: Executor, code: str, streams: Streams | None = None) -> Result:
    return await executor.run(textwrap.dedent(code), streams)


def error_of(result: Result) -> ExecError:
    assert result["error"] is not None, result
    return result["error"]


# --- output -------------------------------------------------------------------------------------


async def test_stdout_and_stderr_are_streamed_in_order() -> None:
    streams = Streams()
    result = await run(
        Executor(),
        """
        import sys
        print("one")
        print("two", file=sys.stderr)
        print("three", end="")
        sys.stdout.write("!\\n")
        """,
        streams,
    )
    assert streams.merged() == [("stdout", "one\n"), ("stderr", "two\n"), ("stdout", "three!\n")]
    assert result["stdout"] == "one\nthree!\n"
    assert result["stderr"] == "two\n"
    assert result["error"] is None


async def test_output_is_streamed_while_the_cell_runs() -> None:
    streams = Streams()
    executor = Executor({"streams": streams})
    await run(executor, 'print("early")\nseen_during_run = len(streams.calls)', streams)
    assert executor.namespace["seen_during_run"] >= 1


async def test_no_stream_callback_still_captures_output() -> None:
    result = await Executor().run("print('quiet')")
    assert result["stdout"] == "quiet\n"


async def test_sys_stdout_and_stderr_are_restored() -> None:
    before = sys.stdout, sys.stderr
    executor = Executor()
    await executor.run("print('x')")
    assert (sys.stdout, sys.stderr) == before
    await executor.run("raise ValueError('boom')")
    assert (sys.stdout, sys.stderr) == before
    await executor.run("import sys\nsys.stdout = None")
    assert (sys.stdout, sys.stderr) == before


async def test_result_carries_the_request_id() -> None:
    result = await Executor().run("1", id="cell-42")
    assert result["type"] == "result"
    assert result["id"] == "cell-42"


# --- values and state ---------------------------------------------------------------------------


async def test_value_of_the_last_expression_is_its_repr() -> None:
    executor = Executor()
    assert (await executor.run("1 + 1"))["result"] == "2"
    assert (await executor.run("'hi'"))["result"] == "'hi'"
    assert (await executor.run("a = 3\nb = 4\na * b"))["result"] == "12"
    assert (await executor.run("[1, 'two', None]"))["result"] == "[1, 'two', None]"


async def test_statements_and_none_have_no_value() -> None:
    executor = Executor()
    for code in ("x = 1", "None", "print('p')", "", "# only a comment", "def f():\n    return 1"):
        result = await executor.run(code)
        assert result["result"] is None, code
        assert result["error"] is None, code


async def test_state_is_kept_between_cells() -> None:
    executor = Executor()
    await executor.run("x = 41")
    await executor.run("def inc(v):\n    return v + 1")
    await executor.run("import math")
    assert (await executor.run("inc(x)"))["result"] == "42"
    assert (await executor.run("math.floor(2.5)"))["result"] == "2"
    assert executor.namespace["x"] == 41


async def test_separate_executors_do_not_share_state() -> None:
    first, second = Executor(), Executor()
    await first.run("secret = 1")
    error = error_of(await second.run("secret"))
    assert error["type"] == "NameError"


async def test_cells_run_as_main() -> None:
    assert (await Executor().run("__name__"))["result"] == "'__main__'"


async def test_long_values_are_truncated() -> None:
    text = (await Executor().run("'x' * 200_000"))["result"]
    assert text is not None
    assert len(text) < 100_100
    assert text.endswith("more chars]")


# --- top-level await ----------------------------------------------------------------------------


async def test_top_level_await_as_the_value() -> None:
    result = await Executor().run("import asyncio\nawait asyncio.sleep(0, result='done')")
    assert result["result"] == "'done'"
    assert result["error"] is None


async def test_top_level_await_in_statements_keeps_state() -> None:
    executor = Executor()
    await executor.run(
        textwrap.dedent(
            """
            import asyncio

            async def twice(v):
                await asyncio.sleep(0)
                return v * 2

            value = await twice(21)
            """
        )
    )
    assert executor.namespace["value"] == 42
    result = await executor.run(
        "async def agen():\n    yield 1\n    yield 2\nitems = [x async for x in agen()]\nitems"
    )
    assert result["result"] == "[1, 2]"


# --- errors -------------------------------------------------------------------------------------


async def test_syntax_error_is_reported_without_executor_frames() -> None:
    executor = Executor()
    streams = Streams()
    result = await executor.run("x = 1\ny = (", streams)
    error = error_of(result)
    assert error["type"] == "SyntaxError"
    assert "never closed" in error["message"] or "unexpected EOF" in error["message"]
    assert 'File "<cell-1>", line 2' in error["traceback"]
    assert "executor.py" not in error["traceback"]
    assert "ast.py" not in error["traceback"]
    assert result["stderr"] == error["traceback"]
    assert streams.merged() == [("stderr", error["traceback"])]
    assert "x" not in executor.namespace  # nothing of a cell that does not compile runs


async def test_exception_traceback_starts_at_the_users_cell() -> None:
    executor = Executor()
    await executor.run("def divide(a, b):\n    return a / b\n")
    result = await executor.run("total = 10\n\ndivide(total, 0)")
    error = error_of(result)
    assert error["type"] == "ZeroDivisionError"
    assert error["message"] == "division by zero"
    lines = error["traceback"].splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[1] == '  File "<cell-2>", line 3, in <module>'
    assert 'File "<cell-1>", line 2, in divide' in error["traceback"]
    assert "return a / b" in error["traceback"]  # the user's source line is shown
    assert lines[-1] == "ZeroDivisionError: division by zero"
    assert "executor.py" not in error["traceback"]
    assert "llmos" not in error["traceback"]
    assert result["stderr"].endswith(error["traceback"])


async def test_output_before_an_error_is_kept_and_state_survives() -> None:
    executor = Executor()
    streams = Streams()
    result = await executor.run(
        "before = 1\nprint('printed')\nraise ValueError('bad input')", streams
    )
    assert result["stdout"] == "printed\n"
    assert error_of(result)["message"] == "bad input"
    assert [name for name, _ in streams.merged()] == ["stdout", "stderr"]
    assert (await executor.run("before"))["result"] == "1"


async def test_error_in_the_last_expression_is_reported() -> None:
    result = await Executor().run("x = {}\nx['missing']")
    error = error_of(result)
    assert error["type"] == "KeyError"
    assert result["result"] is None
    assert 'File "<cell-1>", line 2' in error["traceback"]


async def test_system_exit_is_reported_not_raised() -> None:
    executor = Executor()
    result = await executor.run("import sys\nsys.exit(3)")
    error = error_of(result)
    assert error["type"] == "SystemExit"
    assert error["message"] == "3"
    assert (await executor.run("'still alive'"))["result"] == "'still alive'"


async def test_keyboard_interrupt_is_reported_not_raised() -> None:
    executor = Executor()
    result = await executor.run("print('working')\nraise KeyboardInterrupt")
    error = error_of(result)
    assert error["type"] == "KeyboardInterrupt"
    assert result["stdout"] == "working\n"
    assert error["traceback"].rstrip().endswith("KeyboardInterrupt")
    assert (await executor.run("1"))["result"] == "1"


async def test_broken_repr_does_not_break_the_console() -> None:
    executor = Executor()
    result = await executor.run(
        "class Broken:\n    def __repr__(self):\n        raise RuntimeError('no repr')\nBroken()"
    )
    assert result["error"] is None
    assert result["result"] == "<repr failed: RuntimeError: no repr>"
    assert (await executor.run("2 + 2"))["result"] == "4"


async def test_interrupt_during_repr_is_reported_not_raised() -> None:
    executor = Executor()
    for raised in ("KeyboardInterrupt", "SystemExit"):
        code = f"class Slow:\n    def __repr__(self):\n        raise {raised}\nSlow()"
        result = await executor.run(code)
        assert error_of(result)["type"] == raised
        assert result["result"] is None


async def test_repr_output_goes_to_the_cell_output() -> None:
    result = await Executor().run(
        "class Chatty:\n    def __repr__(self):\n        print('side effect')\n"
        "        return 'Chatty()'\nChatty()"
    )
    assert result["result"] == "Chatty()"
    assert result["stdout"] == "side effect\n"


async def test_exception_with_a_broken_str_is_still_reported() -> None:
    executor = Executor()
    result = await executor.run(
        "class Odd(Exception):\n    def __str__(self):\n        raise RuntimeError('no str')\n"
        "raise Odd()"
    )
    error = error_of(result)
    assert error["type"] == "Odd"
    assert "Odd" in error["traceback"]
    assert (await executor.run("'ok'"))["result"] == "'ok'"


async def test_import_of_a_missing_module_is_an_ordinary_error() -> None:
    result = await Executor().run("import llmos_surely_not_a_module")
    error = error_of(result)
    assert error["type"] == "ModuleNotFoundError"
    assert "llmos_surely_not_a_module" in error["message"]


class _Recorder:
    """Records when interrupts are armed, and what the cell saw at that moment."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def arm(self) -> None:
        self.events.append("arm")

    def disarm(self) -> None:
        self.events.append("disarm")


async def test_interrupts_are_armed_only_around_the_users_code() -> None:
    recorder = _Recorder()
    executor = Executor(interrupts=recorder)
    ok = await executor.run("print('in cell')")
    assert ok["stdout"] == "in cell\n"
    failed = await executor.run("raise KeyboardInterrupt")
    assert failed["error"] is not None
    assert failed["error"]["type"] == "KeyboardInterrupt"
    assert recorder.events == ["arm", "disarm", "arm", "disarm"]


async def test_a_syntax_error_is_reported_with_interrupts_disarmed() -> None:
    recorder = _Recorder()
    result = await Executor(interrupts=recorder).run("1 +")
    assert result["error"] is not None
    assert result["error"]["type"] == "SyntaxError"
    assert recorder.events == ["arm", "disarm"]
