"""An applet's manifest (``manifest.json``): its fields, their checks, and the size limits.

A manifest that is not valid raises :class:`AppletError` naming the field, so the desktop can
list the applet with that problem instead of failing.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from llmos.errors import InputError

MANIFEST = "manifest.json"
MAX_APPLET_BYTES = 5_000_000  # an applet's UI files (its entry and assets), not its data
KINDS = {"html": "index.html", "panel": "app.py"}
CREATORS = ("agent", "user", "system")
PERMISSIONS = ("execute_python", "files", "read_files", "recall")
_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
_TEXT_LIMITS = {"title": 120, "description": 2_000, "icon": 200}


class AppletError(InputError):
    """An applet (its manifest, files or archive) cannot be used; the message says why."""

    code = "bad_applet"


@dataclass
class Manifest:
    name: str
    title: str
    description: str = ""
    icon: str = "🧩"
    version: int = 1
    created_by: str = "agent"
    kind: str = "html"
    entry: str = "index.html"
    permissions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"


def check_name(name: object) -> str:
    """``name`` if it is an applet name (a-z, 0-9 and '-', 1-64, not starting with '-')."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise AppletError(
            f"{name!r} is not an applet name: use 1-64 lowercase letters, digits and '-', "
            "starting with a letter or digit (e.g. 'unit-converter')."
        )
    return name


def parse_manifest(text: str | bytes, folder: str | None = None) -> Manifest:
    """The manifest in ``text``; ``folder`` (the applet folder's name) must equal its name."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as error:
        raise AppletError(f"{MANIFEST} is not valid JSON: {error}.") from error
    if not isinstance(data, dict):
        raise AppletError(f"{MANIFEST} must hold a JSON object, not {type(data).__name__}.")
    return manifest_from(data, folder)


def manifest_from(data: dict[str, Any], folder: str | None = None) -> Manifest:
    """Check every field of ``data`` and build the :class:`Manifest`."""
    name = check_name(_field(data, "name", str))
    if folder is not None and folder != name:
        raise AppletError(f"{MANIFEST}: 'name' is {name!r} but the folder is {folder!r}.")
    texts = {key: _field(data, key, str, optional=key != "title") for key in _TEXT_LIMITS}
    for key, limit in _TEXT_LIMITS.items():
        if len(texts[key]) > limit:
            raise AppletError(f"{MANIFEST}: '{key}' is longer than {limit} characters.")
    kind = _choice(data, "kind", tuple(KINDS))
    entry = _field(data, "entry", str)
    if entry != KINDS[kind]:
        raise AppletError(f"{MANIFEST}: 'entry' must be {KINDS[kind]!r} for kind {kind!r}.")
    version = _field(data, "version", int)
    if isinstance(version, bool) or version < 1:
        raise AppletError(f"{MANIFEST}: 'version' must be a whole number from 1, not {version!r}.")
    return Manifest(
        name=name,
        title=texts["title"].strip() or name,
        description=texts["description"],
        icon=texts["icon"] or "🧩",
        version=version,
        created_by=_choice(data, "created_by", CREATORS),
        kind=kind,
        entry=entry,
        permissions=_permissions(data.get("permissions", [])),
    )


def _field(data: dict[str, Any], key: str, kind: type, optional: bool = False) -> Any:
    if key not in data:
        if optional:
            return kind()
        raise AppletError(f"{MANIFEST}: the field '{key}' is missing.")
    value = data[key]
    if not isinstance(value, kind):
        expected = "text" if kind is str else kind.__name__
        raise AppletError(
            f"{MANIFEST}: the field '{key}' must be {expected}, not {type(value).__name__}."
        )
    return value


def _choice(data: dict[str, Any], key: str, allowed: tuple[str, ...]) -> str:
    value = _field(data, key, str)
    if value not in allowed:
        choices = ", ".join(allowed)
        raise AppletError(f"{MANIFEST}: '{key}' must be one of {choices}, not {value!r}.")
    return str(value)


def _permissions(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        raise AppletError(f"{MANIFEST}: 'permissions' must be a list of names.")
    unknown = [p for p in value if p not in PERMISSIONS]
    if unknown:
        raise AppletError(
            f"{MANIFEST}: unknown permission {unknown[0]!r} (known: {', '.join(PERMISSIONS)})."
        )
    return sorted(set(value))


def check_ui_size(name: str, total: int) -> None:
    """Refuse UI files of ``total`` bytes over :data:`MAX_APPLET_BYTES`, naming the limit."""
    if total > MAX_APPLET_BYTES:
        raise AppletError(
            f"{name}: its files hold {total / 1e6:.1f} MB; an applet's HTML, code and assets "
            f"may hold at most {MAX_APPLET_BYTES / 1e6:.0f} MB (MAX_APPLET_BYTES). Keep data in "
            "files the applet reads, not inside its page."
        )
