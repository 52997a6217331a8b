"""storage.mjs inside a dedicated worker, as the OS worker runs it: OPFS appends go through
sync access handles there (the in-Pyodide core tier runs on the main thread, where they do
not exist), so the exclusive lock each one takes must never make another call fail."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

import build

ROOT = Path(__file__).resolve().parent.parent

WORKER = """
import { openStorage } from "./bridges/storage.mjs";
const enc = (text) => new TextEncoder().encode(text);
const dec = (bytes) => new TextDecoder().decode(bytes);
try {
  const namespace = `worker-${crypto.randomUUID()}`;
  const { kind, user: s } = await openStorage({ prefer: "opfs", namespace });
  const root = await (await navigator.storage.getDirectory()).getDirectoryHandle(namespace);
  const probe = await root.getFileHandle("probe", { create: true });
  const out = { kind, syncAccess: typeof probe.createSyncAccessHandle === "function" };
  out.offsets = [await s.append("log.bin", enc("first"))];
  out.offsets.push(await s.append("log.bin", enc("-second")));
  out.read = dec(await s.read("log.bin"));
  out.range = dec(await s.readRange("log.bin", 2, 5));
  const tail = (at) => s.readRange("log.bin", at, 50).then(dec);
  out.pastEnd = [await tail(10), await tail(20)];
  await s.truncate("log.bin", 5);
  await s.truncate("log.bin", 50);
  out.truncated = dec(await s.read("log.bin"));

  const pieces = Array.from({ length: 8 }, (_, n) => new Uint8Array(100 + n).fill(n));
  const calls = [
    ...pieces.map((piece) => s.append("c.bin", piece)),
    s.stat("c.bin"), s.list(""), s.readRange("c.bin", 0, 10), s.read("log.bin"),
  ];
  const results = await Promise.all(calls);
  const all = await s.read("c.bin");
  out.concurrentSize = all.length;
  out.concurrentWhole = pieces.every((piece, n) =>
    all.slice(results[n], results[n] + piece.length).every((v) => v === n));

  await Promise.all([s.append("w.bin", enc("x")), s.write("w.bin", enc("replaced")),
                     s.append("w.bin", enc("y")), s.move("log.bin", "moved.bin")]);
  out.mixed = dec(await s.read("w.bin"));
  out.moved = dec(await s.read("moved.bin"));
  postMessage(out);
} catch (error) {
  postMessage({ error: `${error.name}: ${error.message}` });
}
"""

PAGE = """<!doctype html><meta charset="utf-8"><script type="module">
const worker = new Worker("./worker.mjs", { type: "module" });
worker.onmessage = (event) => { window.workerResult = JSON.stringify(event.data); };
worker.onerror = (event) => { window.workerResult = JSON.stringify({ error: event.message }); };
</script>"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("storage-worker")
    (root / "bridges").symlink_to(ROOT / "web" / "bridges")
    (root / "worker.mjs").write_text(WORKER)
    (root / "index.html").write_text(PAGE)
    server = build.serve_in_background(root=root, port=0)
    yield server.url + "/"
    server.stop()


def test_opfs_in_a_worker_appends_reads_and_truncates_without_lock_errors(
    page: Page, site: str
) -> None:
    page.goto(site)
    page.wait_for_function("window.workerResult !== undefined", timeout=30_000)
    result: dict[str, Any] = json.loads(page.evaluate("window.workerResult"))
    assert "error" not in result, result.get("error")
    assert (result["kind"], result["syncAccess"]) == ("opfs", True)
    assert result["offsets"] == [0, 5]
    assert (result["read"], result["range"]) == ("first-second", "rst-s")
    assert result["pastEnd"] == ["nd", ""]
    assert result["truncated"] == "first"
    assert result["concurrentSize"] == sum(100 + n for n in range(8))
    assert result["concurrentWhole"]
    assert result["mixed"] == "replacedy"
    assert result["moved"] == "first"
