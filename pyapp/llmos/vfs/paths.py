"""Path rules for the virtual file system: one normaliser that every entry point goes through.

A path inside a volume is relative and ``/``-separated. Anything that could climb out of the
volume or confuse a storage backend is refused with a message that says what was wrong.
"""

from __future__ import annotations

from llmos.errors import PathError

MAX_PATH_LENGTH = 1024
MAX_NAME_LENGTH = 255
_FORBIDDEN_CHARS = set('\\:*?"<>|')


def normalize(path: str) -> str:
    """Return the canonical form of ``path`` ("" for the root) or raise :class:`PathError`."""
    if not isinstance(path, str):
        raise PathError(f"A path must be text, not {type(path).__name__}.")
    if "\x00" in path:
        raise PathError("The path contains a NUL byte, which no file name may hold.")
    if len(path) > MAX_PATH_LENGTH:
        raise PathError(f"The path is longer than {MAX_PATH_LENGTH} characters.")
    if path.startswith("/") or path.startswith("~") or (len(path) > 1 and path[1] == ":"):
        raise PathError(f"'{path}' is absolute: use a path inside the volume, e.g. 'notes.md'.")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            raise PathError(f"'{path}' leaves its folder with '..', which is not allowed.")
        _check_name(part, path)
        parts.append(part)
    return "/".join(parts)


def _check_name(name: str, path: str) -> None:
    if len(name) > MAX_NAME_LENGTH:
        raise PathError(f"A name in '{path}' is longer than {MAX_NAME_LENGTH} characters.")
    bad = sorted(c for c in set(name) if c in _FORBIDDEN_CHARS or ord(c) < 32)
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        raise PathError(f"'{path}' contains characters a file name cannot hold: {shown}.")
    if name != name.strip() or name.endswith("."):
        raise PathError(f"'{name}' starts or ends with a space or ends with a dot.")


def join(*parts: str) -> str:
    """Join already-valid path pieces and normalise the result."""
    return normalize("/".join(p for p in parts if p))


def parent(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else ""


def basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]
