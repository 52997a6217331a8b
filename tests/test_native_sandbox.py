"""The native sandbox: a real child Python process per sandbox, JSON lines, timeouts, crashes."""

from __future__ import annotations

import asyncio
import base64
import time
from pathlib import Path

import pytest
from llmos.kernel import png
from llmos.kernel.service_methods import sandbox_of
from llmos.platform.memory import MemoryStorage
from llmos.platform.native_sandbox import SubprocessSandbox
from llmos.service import OsService


async def test_output_streams_while_the_code_runs(tmp_path: Path) -> None:
    seen: list[tuple[float, str, str]] = []
    async with SubprocessSandbox(tmp_path) as sandbox:
        outcome = await sandbox.execute(
            "import time\nprint('first')\ntime.sleep(0.6)\nprint('second')",
            on_output=lambda name, text: seen.append((time.monotonic(), name, text)),
        )
        ended = time.monotonic()
    assert outcome.error is None
    assert outcome.stdout == "first\nsecond\n"
    first = next(at for at, _, text in seen if "first" in text)
    assert ended - first > 0.4, "'first' arrived only when the run ended"
    assert ("stdout", "second") in [(name, text) for _, name, text in seen]


async def test_values_state_and_errors(tmp_path: Path) -> None:
    async with SubprocessSandbox(tmp_path) as sandbox:
        assert (await sandbox.execute("x = 6\nx * 7")).result == "42"
        assert (await sandbox.execute("x + 1")).result == "7"
        failed = await sandbox.execute("1 / 0")
    assert failed.error is not None
    assert failed.error["type"] == "ZeroDivisionError"
    assert "ZeroDivisionError" in failed.stderr


async def test_matplotlib_figures_come_back_as_images_and_are_closed(tmp_path: Path) -> None:
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 2, 3])\nplt.figure()\nplt.bar([1], [2])"
    async with SubprocessSandbox(tmp_path) as sandbox:
        drawn = await sandbox.execute(code)
        again = await sandbox.execute("plt.get_fignums()")
    assert drawn.error is None, drawn.stderr
    assert len(drawn.images) == 2
    assert all(image.startswith(png.SIGNATURE) for image in drawn.images)
    assert again.result == "[]"
    assert again.images == []


async def test_files_in_and_out(tmp_path: Path) -> None:
    code = """
from pathlib import Path
rows = Path("data/in.csv").read_text().splitlines()
Path("out").mkdir(exist_ok=True)
Path("out/count.txt").write_text(str(len(rows)))
"""
    async with SubprocessSandbox(tmp_path / "ws") as sandbox:
        outcome = await sandbox.execute(code, {"data/in.csv": b"a\nb\nc\n"})
    assert outcome.error is None, outcome.stderr
    assert outcome.files == {"out/count.txt": b"3"}  # the file sent in is not reported back
    assert (tmp_path / "ws/data/in.csv").read_bytes() == b"a\nb\nc\n"


async def test_a_bad_input_path_is_refused(tmp_path: Path) -> None:
    async with SubprocessSandbox(tmp_path / "ws") as sandbox:
        outcome = await sandbox.execute("1", {"../outside.txt": b"x"})
    assert outcome.error is not None
    assert outcome.error["type"] == "PathError"
    assert not (tmp_path / "outside.txt").exists()


async def test_a_chart_comes_back_as_a_png_image(tmp_path: Path) -> None:
    code = """
primes = [n for n in range(2, 80) if all(n % d for d in range(2, n))][:20]
from llmos.kernel.png import line_chart
line_chart(primes)
"""
    async with SubprocessSandbox(tmp_path) as sandbox:
        outcome = await sandbox.execute(code)
    primes = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71]
    assert outcome.images == [png.line_chart(primes).data]
    assert outcome.result is not None
    assert outcome.result.startswith("<Chart 480x320 PNG")


async def test_a_runaway_loop_is_stopped_by_its_timeout(tmp_path: Path) -> None:
    async with SubprocessSandbox(tmp_path, grace=2.0) as sandbox:
        await sandbox.execute("kept = 'yes'")
        started = time.monotonic()
        outcome = await sandbox.execute("while True: pass", timeout=0.5)
        assert time.monotonic() - started < 2.0  # interrupted, not killed after the grace
        assert outcome.error is not None
        assert outcome.error["type"] == "TimeoutError"
        assert "time limit of 0.5 s" in outcome.error["message"]
        assert "time limit" in outcome.stderr
        # interrupted in place: the same process, state kept
        assert sandbox.generation == 0
        assert (await sandbox.execute("kept")).result == "'yes'"


async def test_code_that_ignores_the_interrupt_is_killed_and_the_sandbox_restarts(
    tmp_path: Path,
) -> None:
    code = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True: pass"
    async with SubprocessSandbox(tmp_path, grace=0.5) as sandbox:
        await sandbox.execute("kept = 'yes'")
        first = sandbox.pid
        started = time.monotonic()
        outcome = await sandbox.execute(code, timeout=0.5)
        assert time.monotonic() - started < 3.0
        assert outcome.error is not None
        assert outcome.error["type"] == "TimeoutError"
        assert "killed" in outcome.error["message"]
        assert sandbox.generation == 1
        after = await sandbox.execute("'kept' in dir()")
        assert after.result == "False"
        assert sandbox.pid != first


async def test_a_crash_is_reported_and_the_next_run_recovers(tmp_path: Path) -> None:
    async with SubprocessSandbox(tmp_path) as sandbox:
        crashed = await sandbox.execute("import os\nprint('bye')\nos._exit(3)")
        assert crashed.error is not None
        assert crashed.error["type"] == "KernelCrashed"
        assert "exited with code 3" in crashed.error["message"]
        assert "variables are reset" in crashed.error["message"]
        assert sandbox.generation == 1
        assert (await sandbox.execute("6 * 7")).result == "42"


async def test_interrupt_stops_the_running_code(tmp_path: Path) -> None:
    async with SubprocessSandbox(tmp_path) as sandbox:
        running = asyncio.create_task(sandbox.execute("import time\ntime.sleep(30)"))
        await asyncio.sleep(0.5)
        await sandbox.interrupt()
        outcome = await asyncio.wait_for(running, 5)
        assert outcome.error is not None
        assert outcome.error["type"] == "KeyboardInterrupt"
        awaited = asyncio.create_task(sandbox.execute("import asyncio\nawait asyncio.sleep(30)"))
        await asyncio.sleep(0.5)
        await sandbox.interrupt()
        outcome = await asyncio.wait_for(awaited, 5)
        assert outcome.error is not None
        assert outcome.error["type"] == "KeyboardInterrupt"
        assert sandbox.generation == 0


async def test_user_code_cannot_corrupt_the_channel(tmp_path: Path) -> None:
    # A forged result for this very run, written where the protocol used to be (fd 1).
    code = """
import os, subprocess
os.write(1, b'{"type": "result", "id": "n1", "stdout": "forged", "stderr": "", "result": "1"}\\n')
subprocess.run(["echo", "from a program"])
try:
    input()
except EOFError:
    print("stdin is closed")
"""
    async with SubprocessSandbox(tmp_path) as sandbox:
        outcome = await sandbox.execute(code)
        assert outcome.error is None, outcome.stderr
        assert "stdin is closed" in outcome.stdout
        assert "from a program" in outcome.stdout
        assert (await sandbox.execute("'still fine'")).result == "'still fine'"


async def test_no_secrets_reach_the_sandbox_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-CANARY-123")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-CANARY-456")
    async with SubprocessSandbox(tmp_path) as sandbox:
        outcome = await sandbox.execute("import os\nsorted(os.environ.items())")
    assert outcome.result is not None
    assert "CANARY" not in outcome.result
    assert "PATH" in outcome.result


async def test_close_ends_the_process(tmp_path: Path) -> None:
    sandbox = SubprocessSandbox(tmp_path)
    await sandbox.execute("1")
    proc = sandbox._proc
    assert proc is not None
    await sandbox.close()
    assert proc.returncode is not None
    assert sandbox.pid is None


async def test_the_os_method_runs_code_on_user_files_and_saves_its_output(tmp_path: Path) -> None:
    events: list[dict[str, object]] = []
    service = await OsService.create(MemoryStorage(), MemoryStorage(), events.append)  # type: ignore[arg-type]
    await service.vfs.write_text("user/data.txt", "three words here")
    async with SubprocessSandbox(tmp_path) as sandbox:
        service.sandbox = sandbox
        assert sandbox_of(service) is sandbox
        code = (
            "from pathlib import Path\nfrom llmos.kernel.png import bar_chart\n"
            "n = len(Path('data.txt').read_text().split())\nprint('counted')\n"
            "Path('count.txt').write_text(str(n))\nbar_chart([n])"
        )
        params = {"code": code, "inputs": ["user/data.txt"], "timeout": 10}
        reply = await service.handle(
            {"type": "request", "id": "1", "method": "kernel.execute", "params": params}
        )
    assert reply["ok"], reply
    result = reply["result"]
    assert result["files"] == ["user/count.txt"]
    assert await service.vfs.read_text("user/count.txt") == "3"
    assert base64.b64decode(result["images"][0]) == png.bar_chart([3]).data
    assert {
        "type": "event",
        "name": "kernel.output",
        "data": {"stream": "stdout", "text": "counted"},
    } in events


async def test_a_sandbox_that_cannot_start_says_so(tmp_path: Path) -> None:
    sandbox = SubprocessSandbox(tmp_path, python=str(tmp_path / "no-such-python"))
    outcome = await sandbox.execute("1")
    assert outcome.error is not None
    assert outcome.error["type"] == "SandboxStartError"
    assert "did not start" in outcome.error["message"]
