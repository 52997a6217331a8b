"""The skills in the user volume (``user/skills/<name>/``) and whether each may be used.

A skill is saved whole or not at all: its files are written to a staging folder, checked, and
only then renamed into place (the previous version is moved aside first and put back if that
rename fails). Enable and trust state lives in the ``skills`` setting, not in the volume, so a
synced or imported folder can never enable itself: imported skills stay disabled and untrusted
until the user enables them.
"""

from __future__ import annotations

import asyncio
import builtins
import io
import weakref
import zipfile
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from llmos.errors import NotFoundError, PathError
from llmos.skills.spec import (
    MAX_SKILL_BYTES,
    ORIGIN,
    SKILL_FILE,
    SKILLS_DIR,
    Skill,
    SkillError,
    check_size,
    load_reference,
    parse_skill,
)
from llmos.vfs import paths
from llmos.vfs.folders import FolderSwap

if TYPE_CHECKING:
    from llmos.service import OsService
    from llmos.settings import Settings
    from llmos.vfs import Vfs

SETTINGS_KEY = "skills"
MAX_FILES = 500  # per skill
MAX_ZIP_ENTRIES = 5_000
MAX_ZIP_BYTES = 50_000_000  # uncompressed, the whole archive
EXPORT_NAME = "llmos-skills.zip"
_ZIP_TIME = (2026, 1, 1, 0, 0, 0)  # fixed, so an export of the same skills is the same bytes


@dataclass
class SkillInfo:
    """A skill as the panel lists it; a folder that fails validation comes with ``problem``."""

    name: str
    description: str
    enabled: bool
    trusted: bool
    metadata: dict[str, str]
    files: list[str]
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Imported(list[str]):
    """The names of the skills imported; ``problems`` says which were not, and why."""

    def __init__(self, names: list[str], problems: list[str]) -> None:
        super().__init__(names)
        self.problems = problems


@dataclass
class _Candidate:
    """One skill folder found in an import: where it was and its files (relative to it)."""

    root: str
    files: dict[str, bytes] = field(default_factory=dict)


class SkillStore:
    """Every skill of one user volume, with its enable/trust state."""

    def __init__(self, vfs: Vfs, settings: Settings) -> None:
        self.vfs = vfs
        self.settings = settings
        self._lock = asyncio.Lock()  # one save/delete at a time: they share the staging folder
        self._folders = FolderSwap(vfs, SKILLS_DIR)

    # --- state -------------------------------------------------------------------------------
    def _state(self) -> dict[str, list[str]]:
        saved = self.settings.get(SETTINGS_KEY) or {}
        return {
            key: [n for n in saved.get(key, []) if isinstance(n, str)]
            for key in ("disabled", "untrusted")
        }

    async def _set_state(self, name: str, *, disabled: bool, untrusted: bool) -> None:
        state = self._state()
        for key, on in (("disabled", disabled), ("untrusted", untrusted)):
            names = [n for n in state[key] if n != name]
            state[key] = sorted([*names, name] if on else names)
        await self.settings.set(SETTINGS_KEY, state)

    def is_trusted(self, name: str) -> bool:
        return name not in self._state()["untrusted"]

    def is_enabled(self, name: str) -> bool:
        state = self._state()
        return name not in state["disabled"] and name not in state["untrusted"]

    # --- reading -----------------------------------------------------------------------------
    async def list(self) -> list[SkillInfo]:
        """Every skill folder, valid or not, by name."""
        await load_reference()
        if not await self.vfs.exists(SKILLS_DIR):
            return []
        await self._recover()
        found = []
        for entry in await self.vfs.list(SKILLS_DIR):
            if entry.is_dir and not entry.name.startswith("."):
                found.append(await self._info(entry.name))
        return found

    async def _info(self, name: str) -> SkillInfo:
        files = await self.files(name)
        try:
            skill = await self.get(name)
        except (SkillError, NotFoundError) as error:
            return SkillInfo(name, "", False, self.is_trusted(name), {}, files, str(error))
        return SkillInfo(
            name,
            skill.description,
            self.is_enabled(name),
            self.is_trusted(name),
            skill.metadata,
            files,
        )

    async def files(self, name: str) -> builtins.list[str]:
        """The skill's files, relative to its folder (``SKILL.md``, ``scripts/run.py``...)."""
        folder = _folder(name)
        inside = len(folder) + 1
        return sorted(e.path[inside:] for e in await self.vfs.walk(folder) if not e.is_dir)

    async def get(self, name: str) -> Skill:
        """The skill called ``name``: :class:`NotFoundError` or :class:`SkillError`."""
        await load_reference()
        folder = _folder(name)
        path = f"{folder}/{SKILL_FILE}"
        if not await self.vfs.exists(path):
            raise NotFoundError(f"There is no skill '{name}' ({path} does not exist).")
        entry = await self.vfs.stat(path)
        if entry is not None:
            check_size(path, entry.size)
        return parse_skill(await self.vfs.read_text(path), folder)

    async def read_file(self, name: str, path: str) -> bytes:
        """One file of a skill, e.g. ``scripts/run.py``."""
        return await self.vfs.read_bytes(f"{_folder(name)}/{_relative(path)}")

    # --- writing -----------------------------------------------------------------------------
    async def save(
        self, skill: Skill, files: dict[str, bytes] | None = None, *, trusted: bool = True
    ) -> None:
        """Save ``skill`` (and, when given, replace its other files with ``files``). Everything
        is validated first; a failure leaves the previous version as it was."""
        await load_reference()
        folder = _folder(skill.name)
        markdown = skill.to_markdown()
        parse_skill(markdown, folder)  # what we write must read back as valid
        others = _checked_files(skill.name, files or {}, len(markdown.encode("utf-8")))
        async with self._lock:
            if files is None and await self.vfs.exists(folder):
                await self.vfs.write_text(f"{folder}/{SKILL_FILE}", markdown)  # atomic
            else:
                await self._folders.replace(
                    skill.name, {SKILL_FILE: markdown.encode("utf-8"), **others}
                )
        if trusted:
            await self._set_state(
                skill.name, disabled=skill.name in self._state()["disabled"], untrusted=False
            )
        else:
            await self._set_state(skill.name, disabled=True, untrusted=True)

    async def _recover(self) -> None:
        """Put back a previous version that a crash left aside mid-save."""
        if await self._folders.needs_recovery():
            async with self._lock:
                await self._folders.recover()

    async def delete(self, name: str) -> None:
        folder = _folder(name)
        if not await self.vfs.exists(folder):
            raise NotFoundError(f"There is no skill '{name}'.")
        async with self._lock:
            await self.vfs.delete(folder)
        state = self._state()
        await self.settings.set(
            SETTINGS_KEY, {key: [n for n in names if n != name] for key, names in state.items()}
        )

    async def set_enabled(self, name: str, enabled: bool) -> None:
        """Enable or disable ``name``; enabling an untrusted (imported) skill trusts it."""
        if not await self.vfs.exists(f"{_folder(name)}/{SKILL_FILE}"):
            raise NotFoundError(f"There is no skill '{name}'.")
        untrusted = False if enabled else not self.is_trusted(name)
        await self._set_state(name, disabled=not enabled, untrusted=untrusted)

    # --- import / export ---------------------------------------------------------------------
    async def import_files(self, files: dict[str, bytes], origin: str) -> Imported:
        """Import every skill folder found in ``files`` (paths like ``<name>/SKILL.md``, any
        prefix before it). Valid skills are saved disabled and untrusted; the others are left
        out and described in ``problems``. Raises :class:`SkillError` when there is no skill."""
        await load_reference()
        candidates = _candidates(files)
        names: list[str] = []
        problems: list[str] = []
        for candidate in candidates:
            try:
                names.append(await self._import_one(candidate, origin))
            except (SkillError, PathError) as error:
                problems.append(str(error))
        return Imported(names, problems)

    async def _import_one(self, candidate: _Candidate, origin: str) -> str:
        where = candidate.root or "(the top folder)"
        raw = candidate.files.pop(SKILL_FILE)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise SkillError(f"{where}/{SKILL_FILE}: not UTF-8 text ({error}).") from error
        folder_name = paths.basename(candidate.root)
        skill = parse_skill(text, f"{SKILLS_DIR}/{folder_name}" if folder_name else None)
        if ORIGIN not in skill.metadata:
            skill.metadata[ORIGIN] = f"imported:{origin}"
        await self.save(skill, candidate.files, trusted=False)
        return skill.name

    async def import_zip(self, data: bytes, origin: str) -> Imported:
        """Import the skills in a zip archive (see :meth:`import_files`)."""
        return await self.import_files(read_zip(data), origin)

    async def export_zip(self) -> bytes:
        """Every valid skill as ``<name>/SKILL.md`` (+ its files) at the archive's root: the
        layout of ``~/.claude/skills/`` and of the Agent Skills spec's skill folders."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for info in await self.list():
                if info.problem is not None:
                    continue
                for path in info.files:
                    entry = zipfile.ZipInfo(f"{info.name}/{path}", _ZIP_TIME)
                    entry.compress_type = zipfile.ZIP_DEFLATED
                    entry.external_attr = 0o644 << 16
                    archive.writestr(entry, await self.read_file(info.name, path))
        return buffer.getvalue()


def _folder(name: str) -> str:
    """The folder of skill ``name``; refuses anything that is not one plain folder name."""
    if not isinstance(name, str) or not name or "/" in name or name.startswith("."):
        raise SkillError(f"'{name}' is not a skill name.")
    try:
        clean = paths.normalize(name)
    except PathError as error:
        raise SkillError(f"'{name}' is not a skill name: {error}") from error
    return f"{SKILLS_DIR}/{clean}"


def _relative(path: str) -> str:
    """A file path inside a skill folder, checked: no climbing out, no hidden helpers."""
    try:
        clean = paths.normalize(path)
    except PathError as error:
        raise SkillError(f"{path}: {error}") from error
    if not clean:
        raise SkillError(f"'{path}' names the skill folder itself, not a file in it.")
    return clean


def _checked_files(name: str, files: dict[str, bytes], used: int) -> dict[str, bytes]:
    """The files besides SKILL.md, with their paths normalised; refuses too many or too big."""
    if len(files) > MAX_FILES:
        raise SkillError(f"{name}: {len(files)} files; a skill may hold at most {MAX_FILES}.")
    checked: dict[str, bytes] = {}
    for path, data in files.items():
        clean = _relative(path)
        if clean.lower() == SKILL_FILE.lower():
            continue  # the skill's own SKILL.md is written from the Skill
        checked[clean] = data
        used += len(data)
    if used > MAX_SKILL_BYTES:
        raise SkillError(
            f"{name}: its files hold {used:,} bytes; a skill may hold at most {MAX_SKILL_BYTES:,}."
        )
    return checked


def _candidates(files: dict[str, bytes]) -> list[_Candidate]:
    """The skill folders in an import: each folder holding a SKILL.md, with its files."""
    clean: dict[str, bytes] = {}
    for path, data in files.items():
        normal = _relative(path)
        clean[normal] = data
    roots = sorted(
        (paths.parent(p) for p in clean if paths.basename(p) == SKILL_FILE),
        key=lambda r: (-r.count("/"), r),  # deepest first: a nested skill keeps its files
    )
    if not roots:
        raise SkillError(f"No {SKILL_FILE} in what was given: a skill is a folder with one.")
    found: list[_Candidate] = []
    taken: set[str] = set()
    for root in roots:
        prefix = f"{root}/" if root else ""
        candidate = _Candidate(root)
        for path, data in clean.items():
            if path.startswith(prefix) and path not in taken:
                candidate.files[path[len(prefix) :]] = data
                taken.add(path)
        found.append(candidate)
    return sorted(found, key=lambda c: c.root)


def read_zip(data: bytes, max_bytes: int | None = None) -> dict[str, bytes]:
    """The files of a zip archive, refusing what could escape or explode: paths with ``..`` or
    absolute ones, links, more than :data:`MAX_ZIP_ENTRIES` entries or
    ``max_bytes`` (default :data:`MAX_ZIP_BYTES`) unpacked (counted while reading, not trusted
    from the headers)."""
    max_bytes = MAX_ZIP_BYTES if max_bytes is None else max_bytes
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as error:
        raise SkillError(f"The file is not a zip archive ({error}).") from error
    with archive:
        entries = archive.infolist()
        if len(entries) > MAX_ZIP_ENTRIES:
            raise SkillError(
                f"The zip holds {len(entries):,} entries; at most {MAX_ZIP_ENTRIES:,} are read."
            )
        files: dict[str, bytes] = {}
        budget = max_bytes
        for entry in entries:
            if entry.is_dir() or entry.filename.startswith("__MACOSX/"):
                continue
            _check_entry(entry)
            content = _read_entry(archive, entry, budget, max_bytes)
            budget -= len(content)
            files[entry.filename] = content
    return files


def _check_entry(entry: zipfile.ZipInfo) -> None:
    name = entry.filename
    if "\\" in name or name.startswith("/") or ".." in name.split("/"):
        raise SkillError(f"{name}: a zip entry may not leave its folder; nothing was imported.")
    if (entry.external_attr >> 16) & 0o170000 == 0o120000:
        raise SkillError(f"{name}: the zip holds a symbolic link; nothing was imported.")


def _read_entry(
    archive: zipfile.ZipFile, entry: zipfile.ZipInfo, budget: int, max_bytes: int
) -> bytes:
    try:
        with archive.open(entry) as stream:
            content = stream.read(budget + 1)
    except (zipfile.BadZipFile, RuntimeError, ValueError, OSError) as error:
        raise SkillError(f"{entry.filename}: unreadable in the zip ({error}).") from error
    if len(content) > budget:
        raise SkillError(
            f"{entry.filename}: the zip unpacks to more than {max_bytes:,} bytes; "
            "nothing was imported."
        )
    return content


_STORES: weakref.WeakKeyDictionary[OsService, SkillStore] = weakref.WeakKeyDictionary()


def skill_store(service: OsService) -> SkillStore:
    """The service's skill store, made on first use."""
    store = _STORES.get(service)
    if store is None:
        store = _STORES[service] = SkillStore(service.vfs, service.settings)
    return store
