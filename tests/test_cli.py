"""The ``llmos`` console script, run as a user would from a terminal."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import llmos


def llmos_cmd(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    code = "import sys; from llmos.cli import main; sys.exit(main())"
    return subprocess.run(
        [sys.executable, "-c", code, *args], input=stdin, capture_output=True, check=False
    )


def test_version() -> None:
    out = llmos_cmd("--version")
    assert out.stdout.decode().strip() == f"llmos {llmos.__version__}"


def test_put_ls_cat_round_trip_on_a_workspace(tmp_path: Path) -> None:
    ws = str(tmp_path)
    assert llmos_cmd("--workspace", ws, "put", "user/notes/a.md", stdin=b"hello").returncode == 0
    assert (tmp_path / "notes" / "a.md").read_bytes() == b"hello"
    listing = llmos_cmd("--workspace", ws, "ls", "user/notes").stdout.decode()
    assert listing == "user/notes/a.md\t5\n"
    assert llmos_cmd("--workspace", ws, "cat", "user/notes/a.md").stdout == b"hello"


def test_errors_are_readable_and_nothing_escapes_the_workspace(tmp_path: Path) -> None:
    out = llmos_cmd("--workspace", str(tmp_path), "put", "user/../escape", stdin=b"x")
    assert out.returncode == 1
    assert "'..'" in out.stderr.decode()
    assert "Traceback" not in out.stderr.decode()
    assert not (tmp_path.parent / "escape").exists()
    readonly = llmos_cmd("--workspace", str(tmp_path), "put", "system/x", stdin=b"x")
    assert "read-only" in readonly.stderr.decode()
